"""TensorBoard output of a run: scalars, weight histograms, image grids."""
from __future__ import annotations

import time
from pathlib import Path

import torch
from tensorboard.compat.proto.summary_pb2 import Summary
from torch import nn
from torchvision.utils import make_grid


class TensorBoardLog:
    def __init__(self, run_dir: Path, purge_step: int | None = None):
        """``purge_step``: on resume, the first step not yet checkpointed; TensorBoard
        hides events from that step on that an earlier, killed process wrote."""
        from torch.utils.tensorboard import SummaryWriter  # imports tensorboard: slow, lazy
        after_earlier_files(Path(run_dir))
        self.writer = SummaryWriter(log_dir=str(run_dir), purge_step=purge_step)

    def scalars(self, values: dict[str, float], step: int) -> None:
        """All values in one event: a quarter of the cost of one ``add_scalar`` each,
        which matters for per-step logging."""
        summary = Summary(value=[Summary.Value(tag=name, simple_value=float(value))
                                 for name, value in values.items()])
        self.writer._get_file_writer().add_summary(summary, step)  # add_scalar's own path

    def histograms(self, model: nn.Module, epoch: int) -> None:
        for name, parameter in model.named_parameters():
            self.writer.add_histogram(f"weights/{name}", parameter.detach().cpu(), epoch)

    def images(self, tag: str, images: torch.Tensor, epoch: int) -> None:
        grid = make_grid(images.detach().cpu().clamp(0, 1), nrow=8)
        self.writer.add_image(tag, grid, epoch)

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def after_earlier_files(run_dir: Path) -> None:
    """Wait (under a second) until a new event file's name sorts after the folder's others.

    TensorBoard reads a folder's event files in name order, and a name starts with the
    second it was made, then the host and the process id: a resume within the second its
    run stopped could sort before the earlier process's file (a lower pid), and TensorBoard
    would show the resumed steps first and purge the wrong ones."""
    stamps = [int(name.split(".")[3]) for name in
              (path.name for path in run_dir.glob("events.out.tfevents.*"))
              if name.split(".")[3].isdigit()]
    if stamps and max(stamps) >= int(time.time()):
        time.sleep(max(stamps) + 1 - time.time())
