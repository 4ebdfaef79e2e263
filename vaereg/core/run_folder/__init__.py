"""A run's folder: creating it, its identity, checkpoints, TensorBoard files, and resuming
from it."""
