"""An exported scorer gives the eager scorer's numbers: for every model `vaereg score`
serves and every backbone, onnxruntime's scores and maps equal the eager ones on real
Fashion-MNIST test images at batch sizes 1 and 64; TorchScript too; a model the exporter
cannot handle is refused, saying why."""
from __future__ import annotations

import json

import numpy as np
import onnxruntime
import pytest
import torch
from torch import nn

from vaereg.core.common.errors import VaeregError
from vaereg.core.recipes.recipe import load_recipe
from vaereg.evaluation.run_loading import build_model
from vaereg.data.tensor_split import TensorSplit
from vaereg.evaluation.baseline_maps import PixelGaussian
from vaereg.evaluation.exported_scorer import ExportedScorer
from vaereg.evaluation.image_scoring import score_images, scorer_results
from vaereg.evaluation.scorer_export import METADATA_KEY, save_scorer
from vaereg.evaluation.scorer_graph import GRAPH_LACKS, ScorerGraph, aggregate_names
from vaereg.models.vanilla import VanillaOptions, VanillaVAE
from vaereg.testing import tiny_recipe

from image_fixtures import fashion_mnist_files, fashion_mnist_images

BETA = {"kl_schedule": {"schedule": "constant", "beta": 4.0}, "dropout": {"p": 0.15}}
CASES = [  # (model, backbone, likelihood, plugins): every model score serves, each backbone
    ("vanilla", "mlp", "bernoulli", {}),
    ("vanilla", "gated_mlp", "bernoulli", {"grad_normalize": {}}),
    ("vanilla", "conv", "gaussian", {"batchnorm": {}}),
    ("vanilla", "conv64", "bernoulli", {}),
    ("beta", "conv", "bernoulli", BETA),
    ("infovae", "mlp", "gaussian", {}),
    ("infovae", "conv", "bernoulli", {"dropout": {"p": 0.2}}),
    ("infovae", "conv64", "gaussian", {}),
]


@pytest.fixture(scope="module")
def train_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fashion") / "train"
    fashion_mnist_files(folder, 32, split="train")
    return folder


def fresh_model(train_folder, model: str, backbone: str, likelihood: str, plugins: dict):
    """A freshly initialized model as a run of that recipe builds it (layer plugins
    applied), in eval mode, and the images' side (28, or 64 for conv64)."""
    size = 64 if backbone == "conv64" else 28
    table = tiny_recipe(
        model={"name": "vanilla" if model == "beta" else model, "backbone": backbone,
               "likelihood": likelihood, "hidden_dims": [8, 16], "latent_dim": 4},
        data={"name": "image_folder", "root": str(train_folder), "size": size},
        plugins=plugins)
    built, _ = build_model(load_recipe(table=table), torch.device("cpu"))
    return built.eval(), size


def real_images(count: int, size: int) -> torch.Tensor:
    x = torch.from_numpy(fashion_mnist_images(count).copy()).float().div(255).unsqueeze(1)
    return x if size == 28 else nn.functional.interpolate(x, size=size, mode="bilinear")


def assert_close(exported: torch.Tensor, eager: torch.Tensor, name: str) -> None:
    """Within 1e-4 of each value, with a floor of 1e-6 of the output's largest value for
    values near 0 (a residual of 1e-7 differs in its last bits)."""
    exported, eager = exported.double(), eager.double()
    assert exported.shape == eager.shape, name
    tolerance = 1e-4 * eager.abs() + 1e-6 * eager.abs().max()
    worst = ((exported - eager).abs() - tolerance).max()
    assert worst <= 0, f"{name}: {float(worst)} beyond the tolerance"


def exported_scorer(graph: ScorerGraph, shape, path) -> ExportedScorer:
    save_scorer(graph, shape, "onnx", {"test": True}, path)
    return ExportedScorer(path, onnxruntime.InferenceSession(str(path)), {})


@pytest.mark.parametrize("model, backbone, likelihood, plugins", CASES,
                         ids=[f"{m}-{b}" for m, b, _, _ in CASES])
def test_onnxruntime_gives_the_eager_scores_and_maps(train_folder, tmp_path, model, backbone,
                                                      likelihood, plugins):
    built, size = fresh_model(train_folder, model, backbone, likelihood, plugins)
    x = real_images(64, size)
    gaussian = PixelGaussian.fit(TensorSplit(real_images(32, size), None))
    scores, maps, reconstructions = score_images(built, TensorSplit(x, None), gaussian,
                                                 batch_size=64)
    scorer = exported_scorer(ScorerGraph(built, gaussian), tuple(x.shape[1:]),
                             tmp_path / "scorer.onnx")
    for batch_size in (1, 64):
        held_scores, held_maps, held_reconstructions = scorer_results(
            scorer.outputs(TensorSplit(x, None), batch_size))
        # every score and map but those the graph cannot hold, with the eager numbers
        lacking = {score for name in GRAPH_LACKS for score in aggregate_names(name)}
        assert set(scores) - set(held_scores) == lacking
        assert list(held_scores) == [name for name in scores if name not in lacking]
        assert set(maps) - set(held_maps) == set(GRAPH_LACKS)
        assert "neg_elbo" in held_scores and "nll" in held_maps
        for name, values in held_scores.items():
            assert_close(values, scores[name], name)
        for name, values in held_maps.items():
            assert values.shape == (64, size, size)
            assert_close(values, maps[name], name)
        assert_close(held_reconstructions, reconstructions, "reconstruction")


def test_a_scored_image_gets_the_same_numbers_in_any_batch(train_folder):
    """At the posterior mean an image's scores do not depend on its batch or the random
    state (sampled scores would: z differs with every draw)."""
    built, size = fresh_model(train_folder, "vanilla", "mlp", "bernoulli", {})
    x = real_images(8, size)
    gaussian = PixelGaussian.fit(TensorSplit(x, None))
    together, _, _ = score_images(built, TensorSplit(x, None), gaussian, batch_size=8)
    torch.manual_seed(123)
    alone, maps, _ = score_images(built, TensorSplit(x[3:4], None), gaussian, batch_size=1)
    for name, values in alone.items():
        assert values.item() == pytest.approx(together[name][3].item(), rel=1e-5), name
    assert set(maps) == set(GRAPH_LACKS) | {"nll", "residual", "hyperintensity", "intensity",
                                            "intensity_inverted", "gaussian"}


def test_torchscript_gives_the_eager_outputs_and_carries_the_metadata(train_folder, tmp_path):
    built, size = fresh_model(train_folder, "vanilla", "conv", "bernoulli", {})
    x = real_images(64, size)
    graph = ScorerGraph(built, PixelGaussian.fit(TensorSplit(x, None)))
    save_scorer(graph, (1, size, size), "torchscript", {"input": "images"},
                tmp_path / "scorer.pt")
    files = {f"{METADATA_KEY}.json": ""}
    loaded = torch.jit.load(str(tmp_path / "scorer.pt"), _extra_files=files)
    assert json.loads(files[f"{METADATA_KEY}.json"]) == {"input": "images"}
    with torch.no_grad():
        eager = graph(x)
        for batch_size in (1, 64):
            parts = [loaded(x[start:start + batch_size]) for start in range(0, 64, batch_size)]
            for name, values in eager.items():
                assert_close(torch.cat([part[name] for part in parts]), values, name)


class BranchingVAE(VanillaVAE):
    """Decodes differently by the sign of its code's sum: a branch on the data, which a
    graph of fixed operations cannot hold."""

    def decode(self, z, y=None):
        output = super().decode(z, y)
        return output if z.sum() > 0 else -output


def test_a_model_the_exporter_cannot_handle_is_refused_saying_why(tmp_path):
    model = BranchingVAE(VanillaOptions(hidden_dims=(8,), latent_dim=2), (1, 6, 6)).eval()
    graph = ScorerGraph(model, PixelGaussian(torch.zeros(1, 6, 6), torch.ones(1, 6, 6)))
    with pytest.raises(VaeregError, match="model BranchingVAE cannot be exported to onnx: "):
        save_scorer(graph, (1, 6, 6), "onnx", {}, tmp_path / "scorer.onnx")
    assert not (tmp_path / "scorer.onnx").exists()
