"""What a plugin author needs to test a plugin in a few lines.

* ``SyntheticImages``: a tiny, learnable image dataset; recipes name it by its import
  path, ``SYNTHETIC`` (a test fixture, not an installed dataset entry point).
* ``tiny_recipe(**sections)``: a recipe table for a fast run on it, deep-merged with yours.
* ``make_trainer(table, tmp_path)``: a quiet :class:`vaereg.Trainer` writing under tmp_path.
* ``HookRecorder``: a plugin that records every hook call, in order.
* ``registered(name, cls)``: use a plugin (or model, dataset) class in recipes before it
  is installed, for the duration of a ``with`` block.
* ``check_conformance(table, tmp_path)``: train -> checkpoint -> resume, as the built-ins.
* ``check_model_contract(model, x)``: a model does what its class declares.

docs/writing-plugins.md shows them at work.
"""
from __future__ import annotations

import os
import signal
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Literal

import attrs
import torch

from vaereg.core.common.errors import RunInterrupted
from vaereg.core.common.options import in_range, option, positive
from vaereg.core.hooks.hookspecs import hookimpl
from vaereg.core.hooks.plugin_manager import hook_names
from vaereg.core.loop.trainer import Trainer
from vaereg.core.recipes.recipe import load_recipe
from vaereg.core.recipes.recipe_files import deep_merge
from vaereg.core.recipes.registry import PLUGINS, Registry
from vaereg.data.tensor_split import Splits, TensorSplit


SYNTHETIC = "vaereg.testing:SyntheticImages"  # data.name for it, in any process


@attrs.frozen
class SyntheticOptions:
    train_size: int = option(64, "training images", check=positive)
    val_size: int = option(32, "validation images", check=positive)
    test_size: int = option(32, "test images", check=positive)
    image_size: int = option(28, "the length of every side", check=positive)
    spatial_dims: Literal[1, 2, 3] = option(2, "spatial axes: 1 (signals [1, L]), 2 (images "
                                           "[1, H, W]) or 3 (volumes [1, D, H, W])")
    noise: float = option(0.1, "pixel noise around the class prototypes", check=in_range(0))
    binarize: Literal["none", "dynamic"] = option("none", "as for fashion_mnist")


class SyntheticImages:
    """Ten random prototype images (or signals, or volumes) plus noise, in [0, 1]; labels
    are the prototype."""

    Options = SyntheticOptions
    num_classes = 10

    def __init__(self, options: SyntheticOptions):
        self.options = options
        self.input_shape = (1, *(options.image_size,) * options.spatial_dims)

    def load(self, seed: int) -> Splits:
        o = self.options
        generator = torch.Generator().manual_seed(seed)
        prototypes = (torch.rand(10, *self.input_shape, generator=generator) > 0.6).float()

        def make(n: int, binarize: bool = False) -> TensorSplit:
            y = torch.randint(0, 10, (n,), generator=generator)
            noise = o.noise * torch.randn(n, *self.input_shape, generator=generator)
            return TensorSplit((prototypes[y] + noise).clamp(0, 1), y, binarize=binarize,
                               seed=seed)

        return Splits(make(o.train_size, o.binarize == "dynamic"),
                               make(o.val_size), make(o.test_size))


def tiny_recipe(**sections: dict[str, Any]) -> dict[str, Any]:
    """A 2-epoch MLP run on 64 synthetic images; keyword tables are deep-merged in.

    Checkpoints and images are written after every epoch (no ``min_seconds`` wait), so
    what a test sees does not depend on the machine's speed.

    Runs on the CPU unless ``VAEREG_TEST_DEVICE`` says otherwise (``cuda`` runs a test
    suite's trainers on a GPU).
    """
    base = {
        "run": {"name": "test", "seed": 0, "epochs": 2,
                "device": os.environ.get("VAEREG_TEST_DEVICE", "cpu"),
                "log_every_n_steps": 1, "progress": False},
        "logging": {"histograms": False, "min_seconds": 0},
        "checkpoint": {"min_seconds": 0},
        "data": {"name": SYNTHETIC, "batch_size": 16},
        "model": {"name": "vanilla", "hidden_dims": [32, 16], "latent_dim": 4},
        "optimizer": {"name": "adam", "lr": 1e-3},
        "plugins": {},
    }
    return deep_merge(base, sections)


def make_trainer(table: dict[str, Any], tmp_path: str | Path, *, cls: type = Trainer,
                 overrides: tuple[str, ...] = (), extra_plugins: tuple = ()) -> Trainer:
    """A quiet trainer for ``table`` whose runs go under ``tmp_path``."""
    table = deep_merge(table, {"run": {"out_dir": str(tmp_path)}})
    return cls(load_recipe(table=table, overrides=overrides), quiet=True,
               extra_plugins=extra_plugins)


@contextmanager
def registered(name: str, cls: type, registry: Registry = PLUGINS) -> Iterator[type]:
    """Make ``cls`` usable as ``name`` in recipes inside the block (default: as a plugin;
    pass ``vaereg.MODELS`` or ``vaereg.DATASETS`` for the others)."""
    registry.register(name, cls)
    try:
        yield cls
    finally:
        registry.unregister(name)


class HookRecorder:
    """Records the name of every hook call, in order, in ``calls``; register it through
    ``make_trainer(..., extra_plugins=(("recorder", HookRecorder()),))``. It runs after
    the recipe's plugins, so it sees what they did."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def names(self) -> list[str]:
        return list(self.calls)


def _recording(name: str):
    def record(self: HookRecorder) -> None:
        self.calls.append(name)
    record.__name__ = name
    return hookimpl(record)


for _name in hook_names():
    setattr(HookRecorder, _name, _recording(_name))


def assert_same_state(a: Trainer, b: Trainer) -> None:
    """Weights and optimizer state of two trainers are bit-identical."""
    for (name, x), (_, y) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert torch.equal(x, y), f"model tensor {name} differs"
    sa, sb = a.optimizer.state_dict()["state"], b.optimizer.state_dict()["state"]
    assert sa.keys() == sb.keys(), "optimizer state keys differ"
    for key in sa:
        for field in sa[key]:
            assert torch.equal(torch.as_tensor(sa[key][field]), torch.as_tensor(sb[key][field])), \
                f"optimizer state {key}.{field} differs"


class _StopInSecondEpoch:
    """Asks the trainer to stop, as a SIGTERM would, after the first batch of epoch 2."""

    @hookimpl
    def on_batch_end(self, trainer: Trainer, batch_idx: int) -> None:
        if trainer.epoch == 1 and batch_idx == 0:
            trainer._stop.signum = signal.SIGTERM


def check_conformance(table: dict[str, Any], tmp_path: str | Path, *,
                      cls: type = Trainer) -> dict[str, Any]:
    """Train -> checkpoint -> resume, the cycle every plugin must survive.

    Trains ``table`` (e.g. ``tiny_recipe(plugins={"mine": {...}})``) for its epochs
    straight through, and again with the same recipe stopped mid-epoch (after the first
    batch of the second epoch, as a SIGTERM stops a run: ``last.pt`` is written) then
    resumed in a fresh trainer; asserts finite metrics and bit-identical weights,
    optimizer state and history. Returns the uninterrupted run's metrics. ``cls``: a
    Trainer subclass to check instead.
    """
    tmp_path = Path(tmp_path)
    epochs = table["run"]["epochs"]
    assert epochs >= 2, "the conformance check needs at least 2 epochs"
    straight = make_trainer(table, tmp_path / "straight", cls=cls)
    metrics = straight.fit()
    first = make_trainer(table, tmp_path / "resumed", cls=cls,
                         extra_plugins=(("stop", _StopInSecondEpoch()),))
    try:
        first.fit()
    except RunInterrupted:
        pass
    else:
        raise AssertionError("the run was not stopped in its second epoch")
    resumed = make_trainer(table, tmp_path / "resumed", cls=cls)
    resumed.fit(run_dir=first.run_dir, resume=True)
    assert_same_state(straight, resumed)
    assert straight.history == resumed.history, "per-epoch metrics differ after resume"
    for key, value in metrics.items():
        if isinstance(value, float):
            assert value == value and abs(value) != float("inf"), f"{key} is not finite"
    return metrics


def check_model_contract(model: torch.nn.Module, x: torch.Tensor,
                         y: torch.Tensor | None = None) -> None:
    """Assert that ``model`` does what its class declares (``vaereg.core.model.model_contract``)
    on images ``x`` (labels ``y`` for a conditional model): its loss returns exactly its
    ``loss_terms`` per example, and each declared capability holds."""
    from vaereg.core.model import model_contract as contract

    assert not contract.declaration_problems(model), contract.declaration_problems(model)
    outputs = model(x, y)
    terms = model.loss(outputs, x)
    assert tuple(terms) == tuple(model.loss_terms), f"loss returned {tuple(terms)}"
    assert all(values.shape[0] == len(x) for values in terms.values())
    assert set(model.term_weights) <= set(model.loss_terms)
    assert model.sample(3, y=None if y is None else int(y[0])).shape[1:] == x.shape[1:]
    assert model.reconstruct(x, y).shape == x.shape
    assert isinstance(model.likelihood_name, str) and model.likelihood_name
    if contract.has(model, contract.POSTERIOR):
        posterior = model.encode(x, y)
        assert posterior.mean.shape == (len(x), model.latent_dim)
        assert outputs["z"].shape == (len(x), model.latent_dim) and "posterior" in outputs
        assert model.decode(posterior.mean, y).shape[0] == len(x)
        assert model.prior().event_shape == (model.latent_dim,)
    if contract.has(model, contract.POSTERIOR_DENSITY):
        assert torch.isfinite(model.encode(x, y).log_prob(outputs["z"])).all()
    if contract.has(model, contract.PER_ELEMENT_LIKELIHOOD):
        per_element = model.recon_per_element(outputs, x)
        assert per_element.shape == x.shape, f"recon_per_element gave {tuple(per_element.shape)}"
        assert torch.allclose(per_element.flatten(1).sum(1),
                              model.likelihood.nll(outputs["output"], x), rtol=1e-4)
    if contract.has(model, contract.ENCODER_FEATURES):
        features = model.features(x, y)
        assert features.dim() == 2 and len(features) == len(x), (
            f"features gave {tuple(features.shape)}, not one row per image")
        assert torch.isfinite(features).all()
        assert outputs.get("features") is not None and outputs["features"].shape == \
            features.shape, "forward's dict lacks the encoder's features"
    if contract.has(model, contract.HIDDEN_BLOCKS):
        assert model.hidden_blocks(), "declares hidden_blocks but has none"
    if contract.has(model, contract.PARTS):
        assert set(model.parts) == {"encoder", "decoder"}, f"parts: {set(model.parts)}"
        absent = [m for part in model.parts.values() for m in part if not hasattr(model, m)]
        assert not absent, f"parts names submodules the model lacks: {absent}"
    if contract.has(model, contract.CONDITIONAL):
        assert y is not None, "a conditional model is checked with labels y"
