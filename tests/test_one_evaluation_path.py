"""The trainer's final figures and `vaereg eval` are one evaluation path: the same weights
give the same test/neg_elbo; and a run trained by a Trainer subclass that builds its own
model is evaluated with that model (real subprocesses, small real Fashion-MNIST subsets)."""
import json
from pathlib import Path

import pytest

from cli_process import vaereg
from vaereg.data.fashion_mnist import SYSTEM_DIR

ROOT = Path(__file__).resolve().parents[1]
SMALL = ("--set", "data.train_size=300", "--set", "data.val_size=100", "--set",
         "run.epochs=1", "--set", "data.classes=[0, 1]", "--set", "model.hidden_dims=[64]",
         "--set", "data.batch_size=64", "--quiet")
DEEPER_DECODER = '''
from torch import nn

import vaereg


class DeeperDecoderTrainer(vaereg.Trainer):
    """The recipe's model with one more layer before its decoder: weights the plain model
    cannot take."""

    def build_model(self):
        model = super().build_model()
        model.decoder = nn.Sequential(nn.Linear(model.latent_dim, model.latent_dim),
                                      model.decoder).to(self.device)
        return model
'''


def trained(folder: Path, *extra: str) -> Path:
    result = vaereg("run", ROOT / "recipes" / "vanilla_dropout.toml", *SMALL, *extra,
                        "--set", f"run.out_dir='{folder}'", cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder / "vanilla_dropout" / "version_0"


def evaluated(run_dir: Path) -> dict:
    result = vaereg("eval", run_dir, "--checkpoint", "last", "--metrics", "elbo",
                        "--projector-points", "0", cwd=run_dir)
    assert result.returncode == 0, result.stderr
    return json.loads((run_dir / "eval" / "last-test-none" / "eval.json").read_text())["metrics"]


@pytest.fixture
def fmnist(tmp_path):
    if not SYSTEM_DIR.is_dir():
        pytest.skip("apt-get install dataset-fashion-mnist")
    return tmp_path


def test_eval_of_the_last_checkpoint_reproduces_the_trainers_test_figures(fmnist):
    """Dynamic binarization and z are drawn as the trainer drew them: the same numbers,
    not merely close ones (two draws differ by about a nat here)."""
    run_dir = trained(fmnist, "--set", "data.binarize='dynamic'")
    final = json.loads((run_dir / "metrics.json").read_text())
    figures = evaluated(run_dir)
    for name in ("test/neg_elbo", "test/recon", "test/kl"):
        assert figures[name] == pytest.approx(final[name], rel=1e-6, abs=1e-5), name


def test_a_run_whose_trainer_builds_its_own_model_is_evaluated_with_that_model(fmnist):
    (fmnist / "deeper.py").write_text(DEEPER_DECODER)
    run_dir = trained(fmnist, "--trainer", f"{fmnist / 'deeper.py'}:DeeperDecoderTrainer")
    final = json.loads((run_dir / "metrics.json").read_text())
    assert evaluated(run_dir)["test/neg_elbo"] == pytest.approx(final["test/neg_elbo"],
                                                                rel=1e-6, abs=1e-5)
    (fmnist / "deeper.py").unlink()  # the class the run records is gone: exit 2, named
    gone = vaereg("eval", run_dir, "--checkpoint", "last", cwd=fmnist)
    assert gone.returncode == 2 and "Traceback" not in gone.stderr
    assert "deeper.py" in gone.stderr
