"""What a run's checkpoint holds, declared once: :class:`CheckpointState`.

``Trainer.state_dict()`` builds one and ``Trainer.load_state_dict()`` reads one back
through :meth:`CheckpointState.from_dict`, which names a missing entry instead of failing
deep inside the restore. Entries later versions added have defaults, so checkpoints
written before them still load. Stored as a plain dict (``to_dict``): checkpoints are
read with ``weights_only=True`` and hold tensors, numbers, strings, lists and dicts only.
"""
from __future__ import annotations

from typing import Any

import attrs
from torch import Tensor

from vaereg.core.common.errors import VaeregError
from vaereg.core.common.seeding import rng_state
from vaereg.core.loop.epoch_progress import EpochProgress


@attrs.define(kw_only=True)
class CheckpointState:
    recipe: dict[str, Any]  # the resolved recipe: a resume is checked against it
    epoch: int  # epochs done
    step: int  # updates taken
    should_stop: bool  # a plugin ended the run (early stopping)
    history: list[dict[str, float]]  # the per-epoch metrics so far
    model: dict[str, Tensor]
    optimizer: dict[str, Any]
    rng: dict[str, Any]  # Python's, NumPy's, torch's (and CUDA's) random streams
    data_generator: Tensor  # at the start of epoch ``epoch``: it draws that epoch's order
    lr_schedule: dict[str, Any]
    epoch_progress: dict[str, Any] | None = None  # how far epoch ``epoch`` got; None between
    skipped_steps: int = 0  # non-finite steps skipped (run.on_nonfinite = "skip")
    precision: dict[str, Any] | None = None  # the fp16 gradient scaler
    pending_logs: dict[str, float] = attrs.Factory(dict)  # logged, not yet written
    plugins: dict[str, Any] = attrs.Factory(dict)  # {recipe name: on_save_checkpoint state}
    extra_plugins: list[Any] = attrs.Factory(list)  # plugins passed in code, by class path
    ranks: list[dict[str, Any]] | None = None  # each process's rank_state(), in a job

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self, recurse=False)

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> CheckpointState:
        fields = attrs.fields(cls)
        missing = [f.name for f in fields if f.default is attrs.NOTHING and f.name not in state]
        if missing:
            raise VaeregError(f"checkpoint does not fit this recipe's model and optimizer: "
                              f"it lacks {', '.join(missing)}")
        return cls(**{f.name: state[f.name] for f in fields if f.name in state})

    def progress(self) -> EpochProgress | None:
        """The epoch in progress when the checkpoint was written (None between epochs)."""
        return (EpochProgress.from_state(self.data_generator, self.epoch_progress)
                if self.epoch_progress else None)


def rank_state(progress: EpochProgress | None) -> dict[str, Any]:
    """What differs between the processes of a job: random streams, epoch sums."""
    return {"rng": rng_state(), "epoch_progress": progress.state_dict() if progress else None}
