"""The malloc settings every vaereg command applies: batch-sized tensors come from the heap,
which keeps freed memory for the next pass, instead of fresh mappings the kernel must zero
on every pass. Read back from glibc's own accounting (``mallinfo2``)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from vaereg.core.scale.host_memory import USER_SETTINGS, reuse_freed_memory

PROBE = """
import ctypes, json, sys
import torch

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "cli":
    from vaereg.cli import main
    main(["plugins"], standalone_mode=False)
mapped_before = libc.mallinfo2().hblkhd
batch = torch.ones(1024, 1024)  # 4 MiB, a decoder's output for a batch
mapped = libc.mallinfo2().hblkhd - mapped_before
heap_with_batch = libc.mallinfo2().arena
del batch
print(json.dumps({"mapped": mapped, "heap_kept": libc.mallinfo2().arena >= heap_with_batch}))
"""
BATCH_BYTES = 1024 * 1024 * 4


def allocation(mode: str, **user_settings: str) -> dict:
    env = {name: value for name, value in os.environ.items() if name not in USER_SETTINGS}
    env.update(user_settings)
    done = subprocess.run([sys.executable, "-c", PROBE, mode], env=env, check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_a_vaereg_command_serves_batches_from_the_heap_and_keeps_it():
    default = allocation("plain python")
    assert default["mapped"] >= BATCH_BYTES  # glibc's default: a fresh mapping per batch
    after_cli = allocation("cli")
    assert after_cli == {"mapped": 0, "heap_kept": True}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_a_users_own_malloc_settings_are_left_alone(monkeypatch):
    """A user who sets any of glibc's malloc parameters keeps glibc's behaviour for the
    rest: after a vaereg command a batch is still mapped afresh, as in plain Python."""
    monkeypatch.setenv("MALLOC_ARENA_MAX", "2")
    assert reuse_freed_memory() is False
    assert allocation("cli", MALLOC_ARENA_MAX="2")["mapped"] >= BATCH_BYTES
