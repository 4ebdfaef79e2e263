"""early_stopping ends the run at the `patience`-th validation in a row without
improvement (as Keras and Lightning do); best.pt and its test metrics are the
early-stopping baseline."""
import json

import pytest

from vaereg.testing import check_conformance, make_trainer, tiny_recipe


def test_a_run_that_stops_improving_stops_early_and_reports_the_best_epoch(tmp_path):
    # lr 0.05 with Adam overshoots after the first epochs: validation worsens
    table = tiny_recipe(run={"epochs": 20}, optimizer={"lr": 0.05},
                        plugins={"early_stopping": {"patience": 1}})
    trainer = make_trainer(table, tmp_path)
    metrics = trainer.fit()
    values = [epoch["val/neg_elbo"] for epoch in trainer.history]
    best = values.index(min(values))
    assert metrics["epochs"] == len(values) < 20
    assert metrics["early_stopping/stopped_epoch"] == len(values) == best + 2
    assert metrics["best/epoch"] == best + 1
    assert metrics["best/monitored"] == min(values)
    saved = json.loads((trainer.run_dir / "metrics.json").read_text())
    assert saved["best/test/neg_elbo"] == metrics["best/test/neg_elbo"]
    assert saved["test/neg_elbo"] != saved["best/test/neg_elbo"]


@pytest.mark.parametrize("patience, last_epoch", [(0, 2), (1, 2), (3, 4)])
def test_the_run_stops_at_the_patience_th_validation_without_improvement(
        tmp_path, patience, last_epoch):
    # min_delta: no gain is a million nats, so every validation after the first counts
    table = tiny_recipe(run={"epochs": 8}, plugins={"early_stopping": {
        "patience": patience, "min_delta": 1e6}})
    metrics = make_trainer(table, tmp_path).fit()
    assert metrics["epochs"] == metrics["early_stopping/stopped_epoch"] == last_epoch


def test_conformance(tmp_path):
    check_conformance(tiny_recipe(run={"epochs": 3}, plugins={"early_stopping": {
        "patience": 0, "min_delta": 1e6}}), tmp_path)


def test_a_monitor_the_run_does_not_have_is_a_clear_error(tmp_path):
    from vaereg import VaeregError
    trainer = make_trainer(tiny_recipe(run={"monitor": "val/iwae"}), tmp_path)
    with pytest.raises(VaeregError, match="run.monitor = 'val/iwae' is not a validation metric"
                                          ".*val/neg_elbo"):
        trainer.fit()
