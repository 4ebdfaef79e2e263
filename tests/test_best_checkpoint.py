"""The best-validation test metrics: evaluated from the copy of the best weights a run
holds in memory, or from best.pt by a resumed run that no longer holds it; both give
the same figures (the ELBO's z is drawn, so equal figures need the same weights and
the same random state, which an exact resume keeps)."""
from __future__ import annotations

import torch

import vaereg
from vaereg import Trainer
from vaereg.core.run_folder.checkpoint import load_checkpoint
from vaereg.core.run_folder.resume import load_run_recipe
from vaereg.testing import make_trainer, tiny_recipe

# lr 0.2 with Adam overshoots: the third epoch is the best of six
TABLE = tiny_recipe(run={"epochs": 6}, optimizer={"lr": 0.2})
BEST_KEYS = ("best/train/neg_elbo", "best/val/neg_elbo", "best/test/neg_elbo", "best/gap/neg_elbo")


def test_best_metrics_from_memory_and_from_best_pt_after_a_resume_are_those_of_best_pt(tmp_path):
    straight = make_trainer(TABLE, tmp_path / "straight")
    metrics = straight.fit()
    assert metrics["best/epoch"] <= 3 < metrics["epochs"]
    assert metrics["best/test/neg_elbo"] != metrics["test/neg_elbo"]
    best_pt = load_checkpoint(straight.run_dir / "checkpoints" / "best.pt")
    held = straight.plugin_manager.get_plugin("core.best_checkpoint").weights
    assert held.keys() == best_pt["model"].keys()
    assert all(torch.equal(held[name], best_pt["model"][name]) for name in held)

    first = make_trainer(TABLE, tmp_path / "resumed", overrides=("run.epochs=3",))
    first.fit()
    resumed = Trainer(load_run_recipe(first.run_dir, ["run.epochs=6"]), quiet=True)
    again = resumed.fit(run_dir=first.run_dir, resume=True)
    best = resumed.plugin_manager.get_plugin("core.best_checkpoint")
    assert best.weights is None  # no new best after the resume: best.pt was read back
    assert again["best/epoch"] == metrics["best/epoch"]
    assert {k: again[k] for k in BEST_KEYS} == {k: metrics[k] for k in BEST_KEYS}
    for name, tensor in load_checkpoint(first.run_dir / "checkpoints" / "best.pt")["model"].items():
        assert torch.equal(tensor, best_pt["model"][name]), name


def test_taking_the_state_writes_no_file_and_best_pt_comes_before_last_pt(tmp_path):
    trainer = make_trainer(tiny_recipe(), tmp_path)
    trainer.run_dir = tmp_path / "run"
    (trainer.run_dir / "checkpoints").mkdir(parents=True)
    trainer.validate()  # a first validation is a new best
    state = trainer.state_dict()
    assert state["plugins"]["core.best_checkpoint"]["epoch"] == 1
    assert not list(trainer.run_dir.rglob("*.pt"))
    written = []

    class Watch:
        @vaereg.hookimpl
        def on_save_checkpoint(self, trainer):
            written.append(sorted(p.name for p in trainer.run_dir.rglob("*.pt")))

    trainer.plugin_manager.register(Watch(), "watch")
    trainer.save("last.pt")
    assert written == [["best.pt"]]  # best.pt on disk before last.pt's state is taken
    assert sorted(p.name for p in trainer.run_dir.rglob("*.pt")) == ["best.pt", "last.pt"]
