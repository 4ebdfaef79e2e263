import json
import math

import pytest
import torch
from torch import nn

from vaereg.plugins.sparsity import group_norms, kl_to_rate, proximal_step
from vaereg.testing import check_conformance, make_trainer, tiny_recipe


@pytest.mark.parametrize("layer, out_dim", [(nn.Linear(5, 4), 0), (nn.Conv2d(3, 4, 2), 0),
                                             (nn.ConvTranspose2d(3, 4, 2), 1)])
def test_group_soft_threshold_acts_on_output_units(layer, out_dim):
    with torch.no_grad():
        layer.weight.fill_(1.0).select(out_dim, 2).mul_(0.01)
    norms = group_norms(layer).detach()
    assert norms.shape == (4,)
    threshold = 1.5 * float(norms[2])
    proximal_step(layer, lr=0.5, group=2 * threshold)
    assert torch.count_nonzero(layer.weight.select(out_dim, 2)) == 0
    assert torch.allclose(group_norms(layer)[[0, 1, 3]], norms[[0, 1, 3]] - threshold)


def test_l1_soft_threshold():
    layer = nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.5, -0.05, -2.0]]))
    proximal_step(layer, lr=0.1, l1=1.0)
    assert torch.allclose(layer.weight, torch.tensor([[0.4, 0.0, -1.9]]))


def test_activity_kl_is_the_bernoulli_kl_of_mean_activity():
    activity = torch.tensor([[0.2, 0.5], [0.4, 0.5]])  # rho = 0.3, 0.5
    kl = lambda r, q: r * math.log(r / q) + (1 - r) * math.log((1 - r) / (1 - q))  # noqa: E731
    assert float(kl_to_rate(activity, 0.1)) == pytest.approx(kl(0.1, 0.3) + kl(0.1, 0.5))


def sparse_run(tmp_path, proximal):
    table = tiny_recipe(
        run={"epochs": 3}, model={"hidden_dims": [64, 32], "latent_dim": 8},
        data={"name": "fashion_mnist", "train_size": 1024, "val_size": 256, "batch_size": 128},
        optimizer={"lr": 3e-3}, plugins={"sparsity": {"group": 10.0, "proximal": proximal}})
    trainer = make_trainer(table, tmp_path)
    metrics = trainer.fit()
    return trainer, metrics


def dead_units(metrics):
    return {k: v for k, v in metrics.items() if k.startswith("sparsity/dead/")}


def test_proximal_group_lasso_zeroes_whole_units_and_still_trains(tmp_path):
    trainer, metrics = sparse_run(tmp_path, proximal=True)
    dead = dead_units(metrics)
    assert set(dead) == {"sparsity/dead/encoder.0", "sparsity/dead/encoder.1",
                         "sparsity/dead/decoder.0", "sparsity/dead/decoder.1"}
    units = 64 + 32 + 32 + 64
    assert 0 < sum(dead.values()) < units  # e.g. 81 of 192 units
    for layer in (b.linear for b in trainer.model.hidden_blocks()):
        zero_rows = (layer.weight == 0).all(dim=1)
        assert int(zero_rows.sum()) == dead[f"sparsity/dead/{layer_name(trainer, layer)}"]
    losses = [epoch["train_running/neg_elbo"] for epoch in trainer.history]
    assert all(math.isfinite(loss) for loss in losses) and math.isfinite(metrics["test/neg_elbo"])
    assert losses[0] > losses[1] > losses[2]
    assert metrics["sparsity/effective_params"] < sum(p.numel() for p in trainer.model.parameters())
    saved = json.loads((trainer.run_dir / "metrics.json").read_text())
    assert dead_units(saved) == dead and "sparsity/zero_fraction" in trainer.history[0]


def layer_name(trainer, layer):
    return next(f"{b.part}.{b.index}" for b in trainer.model.hidden_blocks() if b.linear is layer)


def test_group_lasso_as_a_loss_penalty_leaves_no_unit_exactly_zero(tmp_path):
    trainer, metrics = sparse_run(tmp_path, proximal=False)
    assert sum(dead_units(metrics).values()) == 0 and metrics["sparsity/zero_fraction"] == 0
    assert trainer.history[-1]["train_running/penalty/group_lasso"] > 0


def test_activation_penalty_lowers_hidden_activity(tmp_path):
    def activity(table_plugins, path):
        trainer = make_trainer(tiny_recipe(run={"epochs": 3}, plugins=table_plugins), path)
        trainer.fit()
        x = trainer.splits.val.x
        with torch.no_grad():
            hidden = trainer.model.encoder[:2](x)  # flatten, first hidden block
        return float(torch.tanh(hidden.abs()).mean()), trainer

    plain, _ = activity({}, tmp_path / "plain")
    sparse, trainer = activity({"sparsity": {"activation": 1.0, "target_rate": 0.05}},
                               tmp_path / "sparse")
    assert "train_running/penalty/activation_kl" in trainer.history[0]
    assert sparse < 0.5 * plain


def test_conformance(tmp_path):
    check_conformance(tiny_recipe(plugins={"sparsity": {
        "l1": 1.0, "group": 1.0, "proximal": True, "activation": 0.1}}), tmp_path)
