"""early_stopping ends the run after `patience` validations without improvement; best.pt
and its test metrics are the early-stopping baseline."""
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
    assert metrics["early_stopping/stopped_epoch"] == len(values) == best + 3
    assert metrics["best/epoch"] == best + 1
    assert metrics["best/monitored"] == min(values)
    saved = json.loads((trainer.run_dir / "metrics.json").read_text())
    assert saved["best/test/neg_elbo"] == metrics["best/test/neg_elbo"]
    assert saved["test/neg_elbo"] != saved["best/test/neg_elbo"]


def test_min_delta_counts_small_gains_as_no_improvement(tmp_path):
    table = tiny_recipe(run={"epochs": 6}, plugins={"early_stopping": {
        "patience": 0, "min_delta": 1e6}})
    metrics = make_trainer(table, tmp_path).fit()
    assert metrics["epochs"] == 2  # the second validation cannot gain a million nats


def test_conformance(tmp_path):
    check_conformance(tiny_recipe(run={"epochs": 3}, plugins={"early_stopping": {
        "patience": 0, "min_delta": 1e6}}), tmp_path)


def test_a_monitor_the_run_does_not_have_is_a_clear_error(tmp_path):
    from vaereg import VaeregError
    trainer = make_trainer(tiny_recipe(run={"monitor": "val/iwae"}), tmp_path)
    with pytest.raises(VaeregError, match="run.monitor = 'val/iwae' is not a validation metric"
                                          ".*val/neg_elbo"):
        trainer.fit()
