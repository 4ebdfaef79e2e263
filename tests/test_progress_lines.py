"""Batch jobs see progress (issue 14): off a terminal a plain line per epoch, and at most
one line every LINE_EVERY_SECONDS within an epoch; --quiet silences them."""
import io

import tomli_w

from cli_process import vaereg
from vaereg.core.loop.progress import LINE_EVERY_SECONDS, Progress
from vaereg.testing import tiny_recipe


def test_a_job_log_gets_one_line_per_epoch_and_quiet_silences_it(tmp_path):
    (tmp_path / "r.toml").write_text(tomli_w.dumps(tiny_recipe(run={"progress": True,
                                                                    "epochs": 3})))
    done = vaereg("run", "r.toml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in lines] == ["1/3", "2/3", "3/3"]
    assert all("train_running/loss " in line and "val/neg_elbo " in line and "elapsed " in line
               for line in lines)
    assert "\r" not in done.stderr
    quiet = vaereg("run", "r.toml", "--quiet", cwd=tmp_path)
    assert quiet.returncode == 0 and "epoch " not in quiet.stderr


def test_lines_within_an_epoch_come_at_most_every_interval():
    now = [0.0]
    log = io.StringIO()
    with Progress(total=100, enabled=True, stream=log, clock=lambda: now[0]) as progress:
        progress.describe("epoch 1/1")
        for step in range(100):
            now[0] = step * LINE_EVERY_SECONDS / 10  # ten steps per interval
            progress.update(1, loss=2.5)
    lines = log.getvalue().splitlines()
    assert len(lines) == 9  # at steps 11, 21, ..., 91
    assert lines[0] == f"epoch 1/1  step 11/100  loss 2.50  elapsed {LINE_EVERY_SECONDS:.0f} s"
