"""The training loop: the Trainer, the class a recipe names, and what its checkpoints hold."""
