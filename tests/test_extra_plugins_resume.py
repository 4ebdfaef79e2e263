"""Plugins passed to the Trainer in code are recorded in its checkpoints: `vaereg run
--resume` (a real subprocess) rebuilds one whose class imports and takes no arguments,
and continues exactly; it refuses, exit 2, with the call that resumes correctly, when
one cannot be rebuilt. It never continues without them."""
from __future__ import annotations

import torch

from cli_process import vaereg
from vaereg import Trainer, load_recipe
from vaereg.core.run_folder.checkpoint import load_checkpoint
from vaereg.testing import tiny_recipe

MODULE = '''
import vaereg

class L2Penalty:
    """Changes the objective: a resume without it would train other weights."""

    @vaereg.hookimpl
    def compute_penalties(self, model):
        return {"l2": 1e-2 * sum(p.pow(2).sum() for p in model.parameters())}

class Scaled(L2Penalty):
    def __init__(self, weight):
        self.weight = weight

class Layers:
    @vaereg.hookimpl
    def build_layers(self, model):
        pass
'''


def start(folder, epochs, *extra):
    table = tiny_recipe(run={"epochs": epochs, "out_dir": str(folder / "runs")})
    trainer = Trainer(load_recipe(table=table), quiet=True, extra_plugins=extra)
    trainer.fit()
    return trainer


def resume(run_dir, folder):
    threads = str(torch.get_num_threads())
    return vaereg("run", "--resume", str(run_dir), "--set", "run.epochs=2", "--quiet",
                  cwd=folder, env={"PYTHONPATH": str(folder), "OMP_NUM_THREADS": threads,
                                   "MKL_NUM_THREADS": threads})


def test_cli_resume_rebuilds_a_plugin_passed_in_code_and_continues_exactly(tmp_path, monkeypatch):
    (tmp_path / "code_plugins.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    from code_plugins import L2Penalty

    straight = start(tmp_path / "straight", 2, ("l2", L2Penalty()))
    first = start(tmp_path, 1, ("l2", L2Penalty()))
    assert load_checkpoint(first.run_dir / "checkpoints" / "last.pt")["extra_plugins"] == \
        [["l2", "code_plugins:L2Penalty"]]
    result = resume(first.run_dir, tmp_path)
    assert result.returncode == 0, result.stderr
    weights = load_checkpoint(first.run_dir / "checkpoints" / "last.pt")["model"]
    for name, tensor in straight.model.state_dict().items():
        assert torch.equal(weights[name], tensor), name
    without = start(tmp_path / "without", 2)
    assert not torch.equal(without.model.state_dict()[name], tensor)  # the plugin matters


def test_cli_resume_refuses_plugins_it_cannot_rebuild_and_says_how_to_resume(tmp_path, monkeypatch):
    (tmp_path / "code_plugins.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    from code_plugins import Layers, Scaled

    first = start(tmp_path, 1, ("scaled", Scaled(0.1)), ("layers", Layers()))
    last = first.run_dir / "checkpoints" / "last.pt"
    before = last.read_bytes()
    result = resume(first.run_dir, tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    message = result.stderr
    assert "this resume cannot rebuild 'scaled' (code_plugins:Scaled): code_plugins:Scaled() " \
           "failed: TypeError" in message
    assert "'layers' (code_plugins:Layers): it implements build_layers, which ran when the " \
           "trainer was built" in message
    assert (f"Trainer(load_run_recipe({str(first.run_dir)!r}), extra_plugins=[('scaled', "
            f"Scaled(...)), ('layers', Layers(...))]).fit({str(first.run_dir)!r}, "
            f"resume=True)") in message
    assert last.read_bytes() == before
