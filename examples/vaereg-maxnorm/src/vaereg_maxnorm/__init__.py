"""vaereg-maxnorm: an example third-party vaereg package (see docs/writing-plugins.md)."""
from vaereg_maxnorm.bars import Bars, make_bars
from vaereg_maxnorm.maxnorm import MaxNorm, apply_max_norm, largest_unit_norm

__all__ = ["Bars", "MaxNorm", "apply_max_norm", "largest_unit_norm", "make_bars"]
