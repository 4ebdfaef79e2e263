"""SIGKILL during checkpoint saves never costs the previous checkpoint.

Real child processes save checkpoints and are killed with SIGKILL: once
deterministically in the middle of writing the bytes, then at random moments. After every
kill the checkpoint file must load and be whole. The children are forked (no import cost
per kill) and call the real ``save_checkpoint`` on tensors the parent built: creating
large tensors in a forked child would start torch's thread pool there, which deadlocks.

Run as a script for the figures in docs/reliability.md:
``python tests/test_checkpoint_kill.py 1000``.
"""
from __future__ import annotations

import io
import multiprocessing
import os
import random
import signal
import sys
import time
from pathlib import Path

import torch

from vaereg.core.common.atomic_file import atomic_write, remove_leftovers
from vaereg.core.run_folder.checkpoint import FORMAT, load_checkpoint, save_checkpoint

SIZE = 250_000  # 1 MB of float32
BATCH = 4  # checkpoints a child may write before it is killed
FORK = multiprocessing.get_context("fork")


def state(counter: int) -> dict:
    """A checkpoint whose payload tells whether it is whole: every entry equals counter."""
    return {"counter": counter, "payload": torch.full((SIZE,), float(counter))}


def assert_whole(path: Path) -> int:
    loaded = load_checkpoint(path)
    assert torch.equal(loaded["payload"], torch.full((SIZE,), float(loaded["counter"])))
    return loaded["counter"]


def save_each(path: Path, states: list[dict], saved) -> None:
    for one in states:
        save_checkpoint(one, path)
        saved.value += 1


def kill_at_random_moments(folder: Path, kills: int, seed: int = 0,
                           max_delay: float = 0.03) -> dict[str, int]:
    """Kill a saving child ``kills`` times, each once it has saved a random number of
    checkpoints (0 to BATCH - 1: a state, whatever the machine's load) and a random
    delay more, most often in the middle of the next save; check the checkpoint after
    each kill: whole, and no older than the saves the child had finished."""
    path = folder / "last.pt"
    save_checkpoint(state(0), path)
    rng = random.Random(seed)
    counter, mid_write = 0, 0
    for _ in range(kills):
        states = [state(counter + i) for i in range(1, BATCH + 1)]
        saved, target = FORK.Value("i", 0), rng.randrange(BATCH)
        child = FORK.Process(target=save_each, args=(path, states, saved))
        child.start()
        while saved.value < target:
            assert child.is_alive() or saved.value >= target, "the child died on its own"
            time.sleep(0.001)
        time.sleep(rng.uniform(0, max_delay))
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        loaded = assert_whole(path)
        assert loaded >= counter + target
        counter = loaded
        mid_write += len(remove_leftovers(folder))
    return {"kills": kills, "saves_completed": counter, "kills_mid_write": mid_write}


def write_half_then_wait(path: Path, raw: bytes, ready) -> None:
    """``atomic_write`` as ``save_checkpoint`` calls it, stopped half-way through."""
    def write(handle) -> None:
        handle.write(raw[:len(raw) // 2])
        handle.flush()
        ready.set()
        time.sleep(600)  # SIGKILLed here

    atomic_write(path, write)


def test_kill_in_the_middle_of_writing_keeps_the_previous_checkpoint(tmp_path):
    path = tmp_path / "last.pt"
    save_checkpoint(state(0), path)
    ready = FORK.Event()
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, **state(1)}, buffer)
    child = FORK.Process(target=write_half_then_wait, args=(path, buffer.getvalue(), ready))
    child.start()
    assert ready.wait(timeout=120), "the child never started writing"
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    assert child.exitcode == -signal.SIGKILL
    assert assert_whole(path) == 0
    leftovers = remove_leftovers(tmp_path)
    assert len(leftovers) == 1 and leftovers[0].name.startswith(".last.pt.")
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_kills_at_random_moments_always_leave_a_whole_checkpoint(tmp_path):
    figures = kill_at_random_moments(tmp_path, kills=15)
    assert figures["saves_completed"] > 0  # the kills waited for saves (seeded: some did)


if __name__ == "__main__":
    import tempfile
    with tempfile.TemporaryDirectory() as folder:
        print(kill_at_random_moments(Path(folder), kills=int(sys.argv[1])))
