from vaereg.evaluation.iwae import iwae_nll
from vaereg.evaluation.active_units import active_units
from vaereg.evaluation.mutual_information import mutual_information
