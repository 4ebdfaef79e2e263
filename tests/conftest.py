import os

import pytest
import torch

# Two cores: one intra-op thread per test process keeps timings and results stable.
torch.set_num_threads(1)
os.environ.setdefault("VAEREG_TEST", "1")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Decompressed dataset copies go to a per-session cache, not the user's home."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "cache"))
