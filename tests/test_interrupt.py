"""A second Ctrl-C stops at once: no checkpoint, no traceback, exit code 130; the
handlers a library user had before ``fit`` are restored afterwards."""
from __future__ import annotations

import signal

import pytest

from cli_process import run_recipe
from vaereg.core.reliability.stop_signals import StopNow, StopRequests
from vaereg.core.run_folder.checkpoint import load_checkpoint
from vaereg.testing import tiny_recipe

def test_second_signal_raises_at_once_and_handlers_are_restored():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(StopNow) as stopped, StopRequests() as stop:
        signal.raise_signal(signal.SIGTERM)
        assert stop.signum == signal.SIGTERM
        signal.raise_signal(signal.SIGINT)
    assert stopped.value.exit_code == 130
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_signal_an_outer_request_recorded_is_seen_by_an_inner_one():
    """A sweep records a Ctrl-C between trials; the next trial's own handling sees it."""
    with StopRequests() as outer:
        signal.raise_signal(signal.SIGTERM)
        with StopRequests() as inner:
            assert inner.signum == signal.SIGTERM
        assert outer.signum == signal.SIGTERM
    with StopRequests() as quiet_outer, StopRequests() as inner:
        assert quiet_outer.signum is None and inner.signum is None


def test_double_ctrl_c_in_a_real_process_exits_at_once(tmp_path):
    table = tiny_recipe(run={"out_dir": "runs"},
                        plugins={"test_signal": {"step": 6, "signals": ["SIGINT", "SIGINT"]}})
    done = run_recipe(tmp_path, table)
    assert done.returncode == 130
    assert "interrupted: stopped at once" in done.stderr
    assert "Traceback" not in done.stderr
    state = load_checkpoint(tmp_path / "runs/test/version_0/checkpoints/last.pt")
    assert (state["epoch"], state["step"], state["epoch_progress"]) == (1, 4, None)
