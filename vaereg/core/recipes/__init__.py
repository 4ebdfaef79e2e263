"""Recipes: loading, merging and validating them, their sections (optimizer, scheduler,
logging, checkpoint cadence), and the registries their names resolve through."""
