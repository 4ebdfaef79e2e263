"""Real ``torchrun`` jobs of 2 CPU processes (gloo) on a Fashion-MNIST subset.

A job whose rank 1 dies mid-run is reported by torchrun and leaves loadable checkpoints;
resumed under torchrun, it matches one uninterrupted process with the same global batch
up to float summation order (the tolerance docs/scale.md states); only rank 0 writes;
dropout and sparsity's proximal step keep the ranks' weights equal; a NaN on one rank
stops every rank."""
from __future__ import annotations

import json

import pytest
import torch

import vaereg
from torchrun_helpers import torchrun, write_recipe
from vaereg.core.run_folder.checkpoint import load_checkpoint
from vaereg.testing import make_trainer

FASHION = {"name": "fashion_mnist", "train_size": 200, "val_size": 50, "batch_size": 32,
           "test_classes": [0]}  # 7 steps an epoch, the last of 8 images; 1,000 test images
SPARSITY = {"sparsity": {"l1": 0.01, "proximal": True}}


def recipe(out_dir, epochs: int = 3, model: str = "torchrun_helpers:MeanCodeVAE",
           plugins: dict | None = None) -> dict:
    return {"run": {"name": "job", "epochs": epochs, "device": "cpu", "progress": False,
                    "out_dir": str(out_dir)},
            "data": dict(FASHION),
            "model": {"name": model, "hidden_dims": [32], "latent_dim": 4},
            "logging": {"histograms": False, "images": False},
            "checkpoint": {"min_seconds": 0},
            "plugins": {"dump": {"use": "torchrun_helpers:DumpParameters"},
                        **(plugins or {})}}


def dumped(folder):
    return [torch.load(folder / f"rank{rank}.pt") for rank in (0, 1)]


@pytest.fixture(scope="module")
def crashed(tmp_path_factory):
    """A model without random draws and proximal sparsity; rank 1 dies after step 10
    (epoch 2 of 3), then the job is resumed under torchrun."""
    folder = tmp_path_factory.mktemp("crash")
    (folder / "dump").mkdir()
    write_recipe(folder, recipe(folder / "runs", plugins={
        **SPARSITY, "die": {"use": "torchrun_helpers:DieAt", "step": 10}}))
    env = {"VAEREG_TEST_DUMP": str(folder / "dump")}
    died = torchrun(folder, "run", "recipe.toml", env={**env, "VAEREG_TEST_DIE": "1"})
    run_dir = folder / "runs/job/version_0"
    loaded = vaereg.load_run(run_dir, checkpoint="last")  # before the resume overwrites it
    resumed = torchrun(folder, "run", "--resume", str(run_dir), env=env)
    return folder, run_dir, died, loaded, resumed


def test_a_dead_rank_is_reported_and_checkpoints_stay_loadable(crashed):
    _, _, died, loaded, _ = crashed
    assert died.returncode != 0
    assert "Root Cause" in died.stderr and "local_rank: 1" in died.stderr
    assert (loaded.checkpoint_info["epoch"], loaded.checkpoint_info["step"]) == (1, 7)


def test_the_resumed_job_matches_one_process_up_to_float_order(crashed, tmp_path):
    folder, run_dir, _, _, resumed = crashed
    assert resumed.returncode == 0, resumed.stderr
    job = json.loads((run_dir / "metrics.json").read_text())
    (tmp_path / "dump").mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VAEREG_TEST_DUMP", str(tmp_path / "dump"))
        single = make_trainer(recipe(tmp_path, plugins=SPARSITY), tmp_path)
        alone = single.fit()
    assert job["steps"] == alone["steps"] == 3 * 7
    for name, value in single.model.state_dict().items():
        torch.testing.assert_close(dumped(folder / "dump")[0][name], value,
                                   rtol=1e-5, atol=1e-5)
    for key in ("test/neg_elbo", "val/neg_elbo", "train/neg_elbo"):
        assert job[key] == pytest.approx(alone[key], rel=1e-5)
    for mine, theirs in zip(job["history"], alone["history"], strict=True):
        assert mine.keys() == theirs.keys()
        for key in mine:  # validation and train_running/ are reduced over the ranks
            assert mine[key] == pytest.approx(theirs[key], rel=1e-5), key


def test_only_rank_0_writes(crashed):
    folder, run_dir, _, _, resumed = crashed
    assert [p.name for p in (folder / "runs/job").iterdir()] == ["version_0"]
    assert len(list(run_dir.glob("events.out.tfevents.*"))) == 2  # the first start, the resume
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["best.pt", "last.pt"]
    assert resumed.stdout.count("run directory:") == 1
    assert len(load_checkpoint(run_dir / "checkpoints/last.pt")["ranks"]) == 2


def test_ranks_stay_equal_with_dropout_and_proximal_sparsity(tmp_path):
    (tmp_path / "dump").mkdir()
    write_recipe(tmp_path, recipe(tmp_path / "runs", epochs=1, model="vanilla",
                                  plugins={**SPARSITY, "dropout": {"p": 0.3}}))
    result = torchrun(tmp_path, "run", "recipe.toml",
                      env={"VAEREG_TEST_DUMP": str(tmp_path / "dump")})
    assert result.returncode == 0, result.stderr
    ranks = dumped(tmp_path / "dump")
    for name, value in ranks[0].items():
        assert torch.equal(value, ranks[1][name]), name
    assert sum(int((v == 0).sum()) for v in ranks[0].values()) > 0  # the prox made zeros
    state = load_checkpoint(tmp_path / "runs/job/version_0/checkpoints/last.pt")
    assert not torch.equal(*(r["rng"]["torch"] for r in state["ranks"]))  # own masks


def test_a_nan_loss_on_one_rank_stops_every_rank(tmp_path):
    # "stop" checks only the loss, which is NaN on rank 1 alone: rank 0 must stop too,
    # not take the update and then wait for rank 1 in the next collective for ever
    write_recipe(tmp_path, recipe(tmp_path / "runs", epochs=1, plugins={
        "nan": {"use": "torchrun_helpers:NaNOnRank1", "step": 3}}))
    result = torchrun(tmp_path, "run", "recipe.toml")
    assert result.returncode != 0
    assert result.stderr.count("non-finite value at step 3 (epoch 1/1, batch 3)") == 2
