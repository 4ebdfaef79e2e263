"""`vaereg interpolate`, the embedding projector written by `vaereg eval`, and `--device`,
on run folders made by short real runs (synthetic 28x28 images: vanilla with batch norm,
and the conditional VAE)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import vaereg
from vaereg.cli import main
from vaereg.evaluation.pictures import interpolation
from vaereg.testing import make_trainer, tiny_recipe


def invoke(*args):
    return CliRunner().invoke(main, [str(arg) for arg in args])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs")
    made = {}
    for name, table in (("vanilla", tiny_recipe(plugins={"batchnorm": {}})),
                        ("cvae", tiny_recipe(model={"name": "cvae"}))):
        trainer = make_trainer(table, folder / name)
        trainer.fit()
        made[name] = trainer.run_dir
    return made


def grid_columns(path, count, size=28, padding=2):
    """The ``count`` images of a one-row grid PNG (torchvision's make_grid layout), [0, 1]."""
    pixels = np.asarray(Image.open(path).convert("L"), dtype=np.float64) / 255
    assert pixels.shape == (size + 2 * padding, count * (size + padding) + padding)
    return [pixels[padding:padding + size, padding + k * (size + padding):][:, :size]
            for k in range(count)]


def decode_mean(loaded, position, label=None):
    x, y = vaereg.split_images(loaded.splits.test, index=torch.tensor([position]))
    with torch.no_grad():
        mean = loaded.model.encode(x, y).mean
        decoder_y = y if label is None else torch.tensor([label])
        return loaded.model.likelihood.mean(loaded.model.decode(mean, decoder_y))[0, 0].numpy()


def test_interpolate_writes_a_row_whose_ends_decode_the_two_means(runs, tmp_path):
    out = tmp_path / "line.png"
    result = invoke("interpolate", runs["vanilla"], "--from", 3, "--to", 11, "--steps", 7,
                    "--out", out, "--device", "cpu")
    assert result.exit_code == 0, result.output
    columns = grid_columns(out, 7)
    loaded = vaereg.load_run(runs["vanilla"])
    assert np.abs(columns[0] - decode_mean(loaded, 3)).max() <= 1 / 255 + 1e-9
    assert np.abs(columns[-1] - decode_mean(loaded, 11)).max() <= 1 / 255 + 1e-9
    assert np.abs(columns[0] - columns[-1]).max() > 2 / 255  # two different images


def test_the_conditional_vae_keeps_the_label_of_from_or_takes_class(runs):
    loaded = vaereg.load_run(runs["cvae"])
    _, labels = vaereg.split_images(loaded.splits.test, index=torch.tensor([0, 1]))
    line = interpolation(loaded, 0, 1, steps=3)
    assert np.allclose(line[0, 0].numpy(), decode_mean(loaded, 0), atol=1e-6)
    other = (int(labels[0]) + 1) % 10
    chosen = interpolation(loaded, 0, 1, steps=3, label=other)
    assert np.allclose(chosen[0, 0].numpy(), decode_mean(loaded, 0, label=other), atol=1e-6)
    assert not torch.allclose(line, chosen)


@pytest.mark.parametrize("args, message", [
    (("--from", 0, "--to", 99), "--to 99: the test split has images 0..31"),
    (("--from", 0, "--to", 1, "--steps", 1), "--steps must be at least 2"),
    (("--from", 0, "--to", 1, "--class", 2), "is not conditional"),
])
def test_bad_interpolation_requests_exit_2(runs, args, message):
    result = invoke("interpolate", runs["vanilla"], *args)
    assert result.exit_code == 2 and message in result.output, result.output


def test_eval_writes_the_embedding_projector_capped_and_on_the_cpu(runs):
    run_dir = runs["vanilla"]
    for _ in range(2):  # a second evaluation replaces the entry, it does not add one
        result = invoke("eval", run_dir, "--metrics", "elbo", "--projector-points", 20,
                        "--device", "cpu")
        assert result.exit_code == 0, result.output
    record = json.loads((run_dir / "eval" / "best-test-none" / "eval.json").read_text())
    assert record["device"] == "cpu"
    config = (run_dir / "projector_config.pbtxt").read_text()
    assert config.count("embeddings {") == 1
    folder = run_dir / config.split('tensor_path: "')[1].split('"')[0].rsplit("/", 1)[0]
    assert {"tensors.tsv", "metadata.tsv", "sprite.png"} <= {p.name for p in folder.iterdir()}
    points = np.loadtxt(folder / "tensors.tsv", delimiter="\t")
    loaded = vaereg.load_run(run_dir)
    x, y = vaereg.split_images(loaded.splits.test, 20)
    with torch.no_grad():
        means = loaded.model.encode(x, y).mean.numpy()
    assert points.shape == (20, 4) and np.allclose(points, means, atol=1e-5)
    assert (folder / "metadata.tsv").read_text().split() == [str(k) for k in y.tolist()]
    assert Image.open(folder / "sprite.png").size == (5 * 28, 5 * 28)  # ceil(sqrt(20)) = 5


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_cuda_asked_for_without_a_cuda_device_exits_2(runs):
    result = invoke("sample", runs["vanilla"], "--device", "cuda")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "device 'cuda' was asked for, but no CUDA device is available" in result.output
