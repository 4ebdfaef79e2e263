"""The glue between any dataset and the loop: the batch, the ``[data]`` keys the core owns,
class subsets, and preparing splits for the device."""
