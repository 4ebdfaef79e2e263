"""The network options a paper's code may need: gated dense layers (gated_mlp), He
initialization and a clipped encoder log-variance, each checked for its effect."""
import math

import pytest
import torch
from torch import nn

from vaereg import RecipeError, load_recipe
from vaereg.models.backbones import GatedLinear
from vaereg.models.vanilla import VanillaOptions, VanillaVAE
from vaereg.testing import tiny_recipe

SHAPE = (1, 28, 28)


def test_a_gated_layer_is_h_times_the_sigmoid_of_g():
    torch.manual_seed(0)
    layer = GatedLinear(6, 4)
    x = torch.randn(5, 6)
    h = x @ layer.weight.T + layer.bias
    g = x @ layer.gate.weight.T + layer.gate.bias
    assert torch.allclose(layer(x), h * torch.sigmoid(g), atol=1e-6)
    # h and g are four tensors, each normalized apart by grad_normalize (AdamNormGrad)
    assert [tuple(p.shape) for p in layer.parameters()] == [(4, 6), (4,), (4, 6), (4,)]


def test_gated_mlp_blocks_are_gated_layers_of_the_given_widths():
    model = VanillaVAE(VanillaOptions(backbone="gated_mlp", hidden_dims=(300, 200)), SHAPE)
    blocks = model.hidden_blocks()
    assert [type(b.linear) for b in blocks] == [GatedLinear] * 4
    assert [b.features for b in blocks] == [300, 200, 200, 300]
    assert all(isinstance(b.activation, nn.Identity) for b in blocks)
    assert model.encode(torch.rand(3, *SHAPE)).mean.shape == (3, 16)


def weight_std(layer):
    return float(layer.weight.detach().std())


def test_he_initialization_draws_weights_of_variance_2_over_fan_in():
    torch.manual_seed(0)
    he = VanillaVAE(VanillaOptions(backbone="gated_mlp", hidden_dims=(300, 300), init="he"),
                    SHAPE)
    default = VanillaVAE(VanillaOptions(backbone="gated_mlp", hidden_dims=(300, 300)), SHAPE)
    for part in (lambda m: m.encoder[1].linear, lambda m: m.encoder[1].linear.gate,
                 lambda m: m.mu_head, lambda m: m.decoder[2]):
        layer = part(he)
        assert weight_std(layer) == pytest.approx(math.sqrt(2 / layer.in_features), rel=0.03)
        # PyTorch's default: uniform on +-1/sqrt(fan_in), a third of that variance / 2
        assert weight_std(part(default)) == pytest.approx(
            math.sqrt(1 / (3 * layer.in_features)), rel=0.03)
        assert layer.bias.abs().max() <= 1 / math.sqrt(layer.in_features)  # default biases


def test_he_initialization_reaches_the_conditional_vaes_label_layer():
    from vaereg.models.cvae import ConditionalVAE

    torch.manual_seed(0)
    model = ConditionalVAE(VanillaOptions(init="he"), SHAPE, num_classes=100)
    assert weight_std(model.label_plane) == pytest.approx(math.sqrt(2 / 100), rel=0.03)


def test_he_initialization_reaches_layers_a_subclass_adds_after_the_base_class():
    class WithExtraLayer(VanillaVAE):
        def __init__(self, options, input_shape, num_classes=0):
            super().__init__(options, input_shape, num_classes)
            self.extra = torch.nn.Linear(400, 300)

    torch.manual_seed(0)
    assert weight_std(WithExtraLayer(VanillaOptions(init="he"), SHAPE).extra) == \
        pytest.approx(math.sqrt(2 / 400), rel=0.03)
    assert weight_std(WithExtraLayer(VanillaOptions(), SHAPE).extra) == \
        pytest.approx(math.sqrt(1 / (3 * 400)), rel=0.03)


def test_the_log_variance_is_clipped_to_its_range_and_has_no_gradient_beyond_it():
    model = VanillaVAE(VanillaOptions(latent_dim=2, logvar_range=(-6.0, 2.0)), SHAPE)
    unclipped = VanillaVAE(VanillaOptions(latent_dim=2), SHAPE)
    x = torch.rand(4, *SHAPE)
    for bias, logvar in ((50.0, 2.0), (-50.0, -6.0)):
        for m in (model, unclipped):
            with torch.no_grad():
                m.logvar_head.bias.fill_(bias)
        stddev = model.encode(x).stddev
        assert torch.allclose(stddev, torch.full_like(stddev, math.exp(logvar / 2)))
        assert unclipped.encode(x).stddev.min() > 10 or unclipped.encode(x).stddev.max() < 1e-8
        model.zero_grad()
        model.encode(x).stddev.sum().backward()
        assert float(model.logvar_head.weight.grad.abs().max()) == 0.0


@pytest.mark.parametrize("value", [[2.0, -6.0], [1.0], [0.0, float("inf")]])
def test_a_log_variance_range_that_is_not_low_below_high_is_refused(value):
    with pytest.raises(RecipeError, match="logvar_range"):
        load_recipe(table=tiny_recipe(model={"logvar_range": value}))


def test_a_log_variance_range_on_a_deterministic_wae_is_refused_not_ignored():
    with pytest.raises(RecipeError, match="deterministic encoder does not have"):
        load_recipe(table=tiny_recipe(model={"name": "wae_mmd", "logvar_range": [-6, 2]}))
    load_recipe(table=tiny_recipe(model={"name": "wae_mmd", "logvar_range": [-6, 2],
                                         "deterministic": False}))
