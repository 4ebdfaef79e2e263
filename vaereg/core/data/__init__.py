"""The glue between any dataset and the loop: the batch, the ``[data]`` keys the core owns,
class subsets, preparing splits for the device, and what the data is (images or not)."""
