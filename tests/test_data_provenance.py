"""Data provenance (issue 14): a data.root the user set is the only place read, the run
folder records what was read, and data.seed varies the data apart from run.seed."""
import json
from pathlib import Path

import pytest
import tomli_w
import tomllib
import torch

from cli_process import vaereg
from vaereg import Trainer, load_recipe
from vaereg.data.fashion_mnist import SYSTEM_DIR
from vaereg.data.idx_dataset import FILES
from vaereg.testing import SyntheticImages, SyntheticOptions, tiny_recipe

ROOT = Path(__file__).resolve().parents[1]
SMALL = ("--set", "data.train_size=128", "--set", "data.val_size=64", "--set", "run.epochs=1",
         "--set", "run.out_dir='runs'")


def test_a_root_without_the_data_is_an_error_not_the_system_copy(tmp_path):
    result = vaereg("run", str(ROOT / "recipes" / "vanilla.toml"), *SMALL,
                    "--set", "data.root=/nonexistent", "--set", "data.download=false",
                    cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "under data.root = /nonexistent" in result.stderr
    assert "not searched, because data.root is set" in result.stderr
    assert not any((tmp_path / "runs").glob("*/version_*"))  # no half-made run folder


@pytest.mark.skipif(not SYSTEM_DIR.is_dir(), reason="apt-get install dataset-fashion-mnist")
def test_the_run_folder_records_the_files_read(tmp_path):
    result = vaereg("run", str(ROOT / "recipes" / "vanilla.toml"), *SMALL, "--quiet",
                    cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    source = json.loads((tmp_path / "runs/vanilla/version_0/data_source.json").read_text())
    assert Path(source["path"], FILES[0]).is_file()
    assert sorted(source["sha256"]) == sorted(FILES)


def test_data_seed_varies_the_data_and_not_the_initialization(tmp_path):
    def trainer(data_seed: int) -> Trainer:
        return Trainer(load_recipe(table=tiny_recipe(data={"seed": data_seed})), quiet=True)

    a, b = trainer(5), trainer(6)
    assert torch.equal(a.splits.train.x, SyntheticImages(SyntheticOptions()).load(5).train.x)
    assert not torch.equal(a.splits.train.x, b.splits.train.x)
    assert all(torch.equal(p, q) for p, q in zip(a.model.parameters(), b.model.parameters()))


def test_data_seed_is_recorded_and_checked(tmp_path):
    (tmp_path / "r.toml").write_text(tomli_w.dumps(tiny_recipe(data={"seed": 3})))
    assert vaereg("run", "r.toml", cwd=tmp_path).returncode == 0
    recorded = tomllib.loads((tmp_path / "runs/test/version_0/recipe.toml").read_text())
    assert recorded["data"]["seed"] == 3
    bad = vaereg("validate", "r.toml", "--set", "data.seed=-1", cwd=tmp_path)
    assert bad.returncode == 2 and "--set: data.seed: expected a non-negative integer" in bad.stderr
