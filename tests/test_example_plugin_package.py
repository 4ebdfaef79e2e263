"""The separately installed example package (examples/vaereg-maxnorm) works end to end.

CI installs it (`pip install --no-deps examples/vaereg-maxnorm`); so must a developer.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata

import torch

import vaereg

from recipe_files import write_recipe

CAP = 0.3  # below the unit norms of the default initialization (about 0.58 here)
INSTALL = "pip install --no-deps examples/vaereg-maxnorm"


def test_entry_points_are_visible_with_their_distribution():
    plugins, datasets = vaereg.PLUGINS.entries(), vaereg.DATASETS.entries()
    assert "maxnorm" in plugins, f"the example package is not installed: {INSTALL}"
    assert plugins["maxnorm"].distribution == "vaereg-maxnorm"
    assert datasets["bars"].distribution == "vaereg-maxnorm"
    assert metadata.version("vaereg-maxnorm") == plugins["maxnorm"].version


def test_vaereg_run_trains_with_it_and_its_effect_shows(tmp_path):
    from vaereg_maxnorm import largest_unit_norm  # here, so a missing install fails clearly above

    recipe = write_recipe(tmp_path, plugins={"maxnorm": {"max_norm": CAP}})
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "vaereg", "run", str(recipe), "--quiet"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    (run_dir,) = (tmp_path / "runs" / "test").glob("version_*")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["plugins"] == {"maxnorm": {"max_norm": CAP, "where": "both"}}
    assert metrics["maxnorm/largest_norm"] <= CAP * (1 + 1e-5)
    weights = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)["model"]
    hidden = [w for name, w in weights.items() if name.endswith("linear.weight")]
    assert len(hidden) == 4  # two hidden blocks in the encoder, two in the decoder
    assert max(float(w.norm(dim=1).max()) for w in hidden) <= CAP * (1 + 1e-5)
    untrained = vaereg.Trainer(vaereg.load_recipe(recipe, disable=["maxnorm"])).model
    assert largest_unit_norm(untrained) > CAP  # so the cap did act
    assert "# vaereg-maxnorm 0.1.0" in (run_dir / "recipe.toml").read_text()
