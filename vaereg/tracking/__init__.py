"""Experiment tracking outside the run folder: the built-in ``[plugins.mlflow]`` and what
``compare`` and ``sweep`` send to the same MLflow server. Imported only when used: the
``mlflow`` package is an extra (``pip install vaereg[mlflow]``)."""
