"""`vaereg eval` on a model without an ELBO or a posterior density (WAE-MMD, trained by
`vaereg run` on a small real Fashion-MNIST subset): default metrics it cannot serve are
skipped by name, ones asked for are refused by name, and no figure is NaN; compare
reads its headline, the loss."""
import json
import math
from pathlib import Path

import pytest

from cli_process import vaereg
from vaereg.data.fashion_mnist import SYSTEM_DIR
from vaereg.experiments.run_figures import run_figures

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wae_run(tmp_path_factory):
    if not SYSTEM_DIR.is_dir():
        pytest.skip("apt-get install dataset-fashion-mnist")
    out = tmp_path_factory.mktemp("runs")
    result = vaereg("run", ROOT / "recipes" / "wae_mmd.toml",
                        "--set", "data.train_size=300", "--set", "data.val_size=100",
                        "--set", "run.epochs=1", "--set", "data.classes=[0, 1]",
                        "--set", "model.hidden_dims=[64]",
                        "--set", f"run.out_dir='{out}'", "--quiet", cwd=out)
    assert result.returncode == 0, result.stderr
    return out / "wae_mmd" / "version_0"


def test_default_metrics_the_model_cannot_serve_are_skipped_by_name(wae_run):
    result = vaereg("eval", wae_run, "--projector-points", "0", cwd=wae_run)
    assert result.returncode == 0, result.stderr
    assert ("skipped elbo: metric 'elbo' needs an ELBO (elbo_terms), which model 'wae_mmd' "
            "does not have") in result.stdout
    assert ("skipped mutual_information: metric 'mutual_information' needs a posterior with "
            "a density and a finite KL to the prior") in result.stdout
    record = json.loads((wae_run / "eval" / "best-test-none" / "eval.json").read_text())
    assert set(record["skipped"]) == {"elbo", "mutual_information"}
    figures = record["metrics"]
    assert {"test/mse", "test/ssim", "test/active_units"} <= set(figures)
    assert all(math.isfinite(value) for value in figures.values())
    assert not any("neg_elbo" in name or "mutual" in name for name in figures)


@pytest.mark.parametrize("args, metric", [
    (("--metrics", "reconstruction,iwae"), "iwae"),
    (("--iw-samples", "5"), "iwae"),
    (("--metrics", "mutual_information,complexity"), "complexity"),
    (("--metrics", "reconstruction,likelihood_regret"), "likelihood_regret"),
    (("--metrics", "likelihood_ratio"), "likelihood_ratio"),
])
def test_a_metric_asked_for_that_the_model_cannot_serve_is_refused(wae_run, args, metric):
    written = wae_run / "eval" / "best-test-none" / "eval.json"
    before = written.read_bytes() if written.exists() else None
    result = vaereg("eval", wae_run, *args, cwd=wae_run)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"metric '{metric}' needs" in result.stderr and "model 'wae_mmd'" in result.stderr
    assert (written.read_bytes() if written.exists() else None) == before


def test_compare_reads_the_loss_as_the_headline_of_a_model_without_an_elbo(wae_run):
    final = json.loads((wae_run / "metrics.json").read_text())
    figures = run_figures(wae_run, [])
    assert figures["test/loss"] == pytest.approx(final["test/loss"])
    assert figures["gap/loss"] == pytest.approx(final["test/loss"] - final["train/loss"])
    assert {"best/test/loss", "best/gap/loss"} <= set(figures)
