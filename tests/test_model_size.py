"""A model too large for memory is refused before anything is allocated, naming the key
that made it so large and its size."""
import tomli_w

from cli_process import vaereg
from vaereg.core.model.model_size import COPIES, culprit, measure, too_large
from vaereg.core.recipes.recipe import load_recipe
from vaereg.testing import tiny_recipe


def spec_with(**model):
    return load_recipe(table=tiny_recipe(model=model)).model


def test_a_huge_latent_dim_exits_2_naming_it_and_the_size(tmp_path):
    (tmp_path / "tiny.toml").write_text(tomli_w.dumps(tiny_recipe(run={"out_dir": "runs"})))
    result = vaereg("run", "tiny.toml", "--set", "model.latent_dim=100000000", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "model.latent_dim = 100000000 makes model 'vanilla' too large" in result.stderr
    assert "parameters" in result.stderr and "GB of weights" in result.stderr
    assert not list((tmp_path / "runs").rglob("version_*"))


def test_the_culprit_is_the_option_whose_default_shrinks_the_model_most():
    shape = (1, 28, 28)
    wide = spec_with(hidden_dims=[4096, 4096], latent_dim=8)
    assert culprit(wide, shape, 0, measure(wide.cls, wide.options, shape, 0)[1]) == "hidden_dims"
    deep_latent = spec_with(hidden_dims=[32, 16], latent_dim=50000)
    size = measure(deep_latent.cls, deep_latent.options, shape, 0)[1]
    assert culprit(deep_latent, shape, 0, size) == "latent_dim"


def test_the_message_gives_parameters_bytes_and_the_memory_available():
    spec = spec_with(hidden_dims=[4096, 4096])
    count, size = measure(spec.cls, spec.options, (1, 28, 28), 0)
    real = sum(p.numel() for p in spec.cls(spec.options, (1, 28, 28), 0).parameters())
    assert count == real and size == 4 * real  # float32 weights, no buffers
    text = too_large(spec, (1, 28, 28), 0, (count, size), size, "cpu")
    assert text.startswith("model.hidden_dims = [4096, 4096] makes model 'vanilla' too large")
    assert f"{count:,} parameters" in text and f"{COPIES * size / 1e9:,.1f} GB with" in text
