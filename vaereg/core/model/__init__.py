"""The model contract (what a model class declares), a training step's objective, and
building a model refused before it can exhaust memory."""
