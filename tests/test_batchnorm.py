import pytest
import torch
from torch import nn

from vaereg import load_recipe, variance_shift
from vaereg.plugins.batchnorm import inject_batchnorm
from vaereg.plugins.dropout import inject_dropout
from vaereg.testing import check_conformance, make_trainer, tiny_recipe

P = 0.5


def layers(model):
    return [(name, repr(module)) for name, module in model.named_modules()]


@pytest.mark.parametrize("position", ["before", "after"])
@pytest.mark.parametrize("blocks", ["all", "last"])
def test_recipe_order_does_not_change_the_network(tmp_path, position, blocks):
    dropout = {"p": 0.3, "blocks": blocks}
    batchnorm = {"position": position}
    first = make_trainer(tiny_recipe(plugins={"dropout": dropout, "batchnorm": batchnorm}), tmp_path)
    second = make_trainer(tiny_recipe(plugins={"batchnorm": batchnorm, "dropout": dropout}), tmp_path)
    assert layers(first.model) == layers(second.model)
    slot = "pre_norm" if position == "before" else "post_norm"
    block = first.model.encoder[1]
    assert isinstance(getattr(block, slot), nn.BatchNorm1d)
    assert list(block._modules) == ["linear", "pre_norm", "activation", "post_norm", "dropout"]


def test_conv_blocks_get_2d_norms_with_the_options():
    spec = load_recipe(table=tiny_recipe(model={"backbone": "conv", "hidden_dims": [4, 8]})).model
    model = inject_batchnorm(spec.cls(spec.options, (1, 28, 28)), where="decoder",
                             momentum=0.3, eps=1e-3)
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert [type(m) for m in norms] == [nn.BatchNorm1d, nn.BatchNorm2d]  # linear, then conv block
    assert all(m.momentum == 0.3 and m.eps == 1e-3 for m in norms)
    assert all(name.startswith("decoder.") for name, m in model.named_modules() if m in norms)


@pytest.fixture(scope="module")
def real_batch():
    """512 real Fashion-MNIST training images."""
    spec = load_recipe(table=tiny_recipe(data={"name": "fashion_mnist", "train_size": 512,
                                               "val_size": 100})).data
    return spec.cls(spec.options).load(0).train.x


def shifts(x, blocks, where):
    """Variance shift per BN (by part.index) of an MLP VAE with BN after each activation."""
    torch.manual_seed(0)
    spec = load_recipe(table=tiny_recipe(model={"hidden_dims": [128, 64]})).model
    model = inject_batchnorm(spec.cls(spec.options, (1, 28, 28)), position="after")
    inject_dropout(model, p=P, blocks=blocks, where=where)
    ratios = variance_shift(model, x, passes=16)
    return {name.rsplit(".", 1)[0]: ratio for name, ratio in ratios.items()}


def test_variance_shift_of_dropout_in_every_block_is_one_over_one_minus_p(real_batch):
    ratios = shifts(real_batch, "all", "both")
    # encoder.1: first block, no dropout upstream; encoder.2: fed by one dropout.
    assert ratios["encoder.1"] == pytest.approx(1.0, abs=1e-6)
    assert ratios["encoder.2"] == pytest.approx(1 / (1 - P), rel=0.05)
    assert ratios["decoder.1"] > 1 / (1 - P) * 1.5  # shifts compound downstream


def test_remedy_placement_has_no_variance_shift(real_batch):
    ratios = shifts(real_batch, "last", "decoder")  # dropout after every batch norm
    for name, ratio in ratios.items():
        assert ratio == pytest.approx(1.0, abs=0.05), name
    shifted = shifts(real_batch, "all", "decoder")
    assert shifted["decoder.1"] == pytest.approx(1 / (1 - P), rel=0.1)


def test_last_block_encoder_dropout_still_reaches_decoder_norms_through_z(real_batch):
    ratios = shifts(real_batch, "last", "both")
    assert ratios["encoder.1"] == pytest.approx(1.0, abs=1e-6)
    assert ratios["encoder.2"] == pytest.approx(1.0, abs=0.01)  # n/(n-1) from upstream BN only
    assert ratios["decoder.0"] > 1.2 and ratios["decoder.1"] > 1.2


def test_variance_shift_leaves_the_model_untouched(real_batch):
    spec = load_recipe(table=tiny_recipe()).model
    model = inject_dropout(inject_batchnorm(spec.cls(spec.options, (1, 28, 28))), p=P)
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    variance_shift(model, real_batch[:32], passes=2)
    assert model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_conformance(tmp_path):
    check_conformance(tiny_recipe(plugins={"batchnorm": {"momentum": 0.2},
                                           "dropout": {"blocks": "last"}}), tmp_path)
