"""`vaereg sweep --objective val/anomaly/...` in real subprocesses: refused at start
(exit 2, why and which folders to make) unless the data has labelled validation
anomalies; with them, each trial's value is the AUROC on those images."""
from __future__ import annotations

import csv

import pytest
import tomli_w
import torch

from cli_process import vaereg
from image_fixtures import mvtec_folder, write_images
from vaereg.testing import tiny_recipe

OBJECTIVE = "val/anomaly/neg_elbo/auroc"


def write_recipe(folder, val_defects: bool):
    root = mvtec_folder(folder / "data", train=24, good=4, defects={"bright": 2}, size=8)
    write_images(root / "val" / "good", 5, size=8, mode="L", seed=7)
    if val_defects:
        write_images(root / "val" / "scratch", 3, size=8, mode="L", seed=8)
    data = {"name": "image_folder", "root": str(root), "batch_size": 8}
    (folder / "tiny.toml").write_text(tomli_w.dumps(tiny_recipe(run={"epochs": 1}, data=data)))


def sweep(folder, objective=OBJECTIVE):
    return vaereg("sweep", "tiny.toml", "--param", "optimizer.lr=1e-3,1e-2", "--objective",
                  objective, "--maximize", "--out", "sw", cwd=folder)


@pytest.mark.parametrize("objective", [OBJECTIVE, "anomaly/neg_elbo/auroc",
                                       "test+defects/anomaly/mse/auroc"])
def test_an_anomaly_objective_without_validation_anomalies_is_refused(tmp_path, objective):
    write_recipe(tmp_path, val_defects=False)
    refused = sweep(tmp_path, objective)
    assert refused.returncode == 2, refused.stderr
    assert "leakage" in refused.stderr and "Traceback" not in refused.stderr
    if objective == OBJECTIVE:
        assert "root/val/<defect type>/" in refused.stderr and "has no labelled" in refused.stderr
    assert not (tmp_path / "sw").exists()


def test_trials_are_ranked_on_the_validation_anomalies(tmp_path):
    from vaereg.evaluation.run_loading import load_run
    from vaereg.evaluation.defect_set import labelled_defects
    from vaereg.evaluation.run_evaluation import evaluate_run

    write_recipe(tmp_path, val_defects=True)
    result = sweep(tmp_path)
    assert result.returncode == 0, result.stderr
    with open(tmp_path / "sw" / "trials.csv", newline="") as handle:
        trials = list(csv.DictReader(handle))
    assert [trial["state"] for trial in trials] == ["COMPLETE", "COMPLETE"]
    for trial in trials:
        run = load_run(tmp_path / trial["run_dir"], "last")
        anomaly_set = labelled_defects(run, "val").anomaly_set
        assert anomaly_set.is_anomaly.tolist() == [0] * 5 + [1] * 3  # val/good, val/scratch
        scores = evaluate_run(run, anomaly_set=anomaly_set).scores["neg_elbo"]
        normal, anomalous = scores[:5], scores[5:]
        wins = (anomalous[:, None] > normal[None, :]).double()
        ties = (anomalous[:, None] == normal[None, :]).double()
        auroc = float((wins + ties / 2).mean())
        assert float(trial["value"]) == pytest.approx(auroc)
    assert torch.tensor([float(trial["value"]) for trial in trials]).le(1).all()
