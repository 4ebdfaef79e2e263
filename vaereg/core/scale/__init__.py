"""Running bigger: the device, mixed precision, and torchrun's processes with their shards
of each batch."""
