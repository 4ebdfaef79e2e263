"""Measurements on trained or untrained models, usable without the trainer."""
