"""One torch thread per test process: the models here are tiny, and on a shared 2-core
machine more threads only contend (measured: 77 s for this suite with the default,
30 s with one thread)."""
import torch

torch.set_num_threads(1)
