"""This process's place in a ``torchrun`` job, and the few things its processes agree on.

``torchrun --nproc_per_node N -m vaereg run RECIPE`` starts N copies of ``vaereg run``
with ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK`` set; :func:`join_job` reads them and joins
the process group (``gloo`` on the CPU, ``nccl`` on CUDA, each process on the GPU of its
local rank). Without torchrun the job is one process and every helper here is a no-op,
so the single-process trainer pays nothing.

What the processes must agree on, since one that takes another branch would leave the
others waiting in a collective for ever: whether a step is taken, skipped or stops the
run (the most severe verdict of any process, :meth:`Job.largest`), a Ctrl-C or SIGTERM seen by any of them (:meth:`Job.agreed_signal`),
early stopping and checkpoint cadence (:meth:`Job.any`), the run folder and the resumed
checkpoint (rank 0 decides, :meth:`Job.from_main`: an error there is raised everywhere).
Validation figures are reduced (:meth:`Job.mean`) from per-rank sums, so they equal a
single process's up to float summation order.
"""
from __future__ import annotations

import os
import random
from datetime import timedelta
from typing import Any, Callable, TypeVar

import torch
import torch.distributed as dist
from torch import nn

from vaereg.core.common.errors import VaeregError

T = TypeVar("T")


class Job:
    def __init__(self, rank: int = 0, world_size: int = 1, local_rank: int = 0):
        self.rank, self.world_size, self.local_rank = rank, world_size, local_rank

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes the run folder, logs and prints."""
        return self.rank == 0

    def device(self, device: torch.device) -> torch.device:
        """Each process on its own GPU (its local rank)."""
        return torch.device("cuda", self.local_rank) if device.type == "cuda" and self.active \
            else device

    def _reduce(self, values: list[float], op: dist.ReduceOp) -> list[float]:
        tensor = torch.tensor(values, dtype=torch.float64, device=self._comm_device)
        dist.all_reduce(tensor, op=op)
        return tensor.tolist()

    @property
    def _comm_device(self) -> torch.device:
        return torch.device("cuda", self.local_rank) if dist.get_backend() == "nccl" \
            else torch.device("cpu")

    def any(self, flag: bool) -> bool:
        return flag if not self.active else self._reduce([float(flag)], dist.ReduceOp.MAX)[0] > 0

    def largest(self, value: int) -> int:
        """The largest of the processes' values."""
        return value if not self.active else int(self._reduce([float(value)],
                                                               dist.ReduceOp.MAX)[0])

    def agreed_signal(self, signum: int | None) -> int | None:
        """The signal any process received (the largest number, if several)."""
        return self.largest(signum or 0) or None

    def mean(self, metrics: dict[str, float], weight: float) -> dict[str, float]:
        """Weighted mean over processes of per-process averages (weight: examples)."""
        if not self.active:
            return metrics
        names = sorted(metrics)
        sums = self._reduce([metrics[n] * weight for n in names] + [weight], dist.ReduceOp.SUM)
        return {name: value / sums[-1] for name, value in zip(names, sums)}

    def from_main(self, make: Callable[[], T]) -> T:
        """``make()`` on rank 0, its result (or its :class:`VaeregError`) on every rank."""
        if not self.active:
            return make()
        box: list[Any] = [None]
        if self.is_main:
            try:
                box[0] = ("ok", make())
            except VaeregError as error:  # sent as text: not every error class pickles
                box[0] = ("error", (str(error), error.exit_code))
        dist.broadcast_object_list(box, src=0, device=self._comm_device)
        kind, value = box[0]
        if kind == "error":
            error = VaeregError(value[0])
            error.exit_code = value[1]
            raise error
        return value

    def gather(self, value: T) -> list[T] | None:
        """Every process's ``value``, in rank order (None for one process)."""
        if not self.active:
            return None
        gathered: list[Any] = [None] * self.world_size
        dist.all_gather_object(gathered, value)
        return gathered

    def rank_seed(self, seed: int, step: int = 0) -> int:
        """The seed of rank r's own random stream (dropout masks): rank 0 keeps the run
        seed, so a one-process job is unchanged; the others derive theirs from (seed,
        rank), never equal to another run's seed + rank. ``step``: a resume that has no
        saved stream for this rank (the job had another size) starts a fresh one."""
        if self.rank == 0 and step == 0:
            return seed
        return random.Random(f"{seed}/{self.rank}/{step}").getrandbits(63)

    def wrap(self, model: nn.Module) -> nn.Module:
        """The model under DistributedDataParallel (gradients averaged in backward)."""
        if not self.active:
            return model
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.local_rank] if next(model.parameters()).is_cuda else None
        return DistributedDataParallel(model, device_ids=ids)

    def leave(self) -> None:
        if self.active and dist.is_initialized():
            dist.destroy_process_group()


class SilentLog:
    """What ranks other than 0 (and a trainer without a run folder) get for
    ``trainer.tensorboard``: calls that write nothing."""

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: None


def job_from_environment(device: torch.device) -> Job:
    """Join the torchrun job this process belongs to (a one-process job without one)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Job()
    job = Job(int(os.environ["RANK"]), world_size, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        cuda = device.type == "cuda"
        if cuda:
            torch.cuda.set_device(job.local_rank)
        dist.init_process_group("nccl" if cuda else "gloo",
                                timeout=timedelta(minutes=30))
    return job


def check_global_batch(batch_size: int, job: Job) -> None:
    """``data.batch_size`` is the global batch: it must split evenly over the processes."""
    if batch_size % job.world_size:
        raise VaeregError(f"data.batch_size = {batch_size} is the global batch, split over "
                          f"the {job.world_size} processes of this torchrun job, but it is "
                          f"not divisible by {job.world_size}; use a multiple of "
                          f"{job.world_size} (each process takes batch_size / "
                          f"{job.world_size})")
