"""``run.device``: the torch device a run or a loaded model uses."""
from __future__ import annotations

import torch

from vaereg.core.common.errors import VaeregError


def resolve_device(name: str) -> torch.device:
    """``"auto"``: CUDA when available, else the CPU; ``"cuda"`` without CUDA is refused."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise VaeregError("run.device = 'cuda' but no CUDA device is available; "
                          "use 'auto' or 'cpu'")
    return torch.device(name)
