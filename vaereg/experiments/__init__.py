"""Experiments built from many runs: ``compare`` (recipes over seeds, with confidence
intervals) and ``sweep`` (an Optuna study over recipe keys)."""
