"""Every backbone is made of Blocks, so every layer plugin works on every backbone, and
every decoder's images land in the data's [0, 1] range."""
import pytest
import torch
from torch import nn

import vaereg
from vaereg import BACKBONES, RecipeError, load_recipe
from vaereg.models.vanilla import VanillaOptions, VanillaVAE
from vaereg.testing import make_trainer, registered, tiny_recipe

#: case -> (backbone, side, hidden dims, spatial axes): small, but every layer kind is there
SHAPES = {"mlp": ("mlp", 8, [16, 8], 2), "gated_mlp": ("gated_mlp", 8, [16, 8], 2),
          "conv": ("conv", 8, [4, 8], 2),
          "conv64": ("conv64", 64, [2, 2, 2, 2, 2], 2),
          "conv_signals": ("conv", 16, [4, 8], 1), "conv_volumes": ("conv", 8, [2, 4], 3),
          "conv3d": ("conv3d", 8, [2, 4], 3), "mlp_volumes": ("mlp", 4, [16, 8], 3)}
#: the layers expected in a block with that many spatial axes (0: a linear block)
DROPOUT = {0: nn.Dropout, 1: nn.Dropout1d, 2: nn.Dropout2d, 3: nn.Dropout3d}
NORM = {0: nn.BatchNorm1d, 1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}


def filled(slot):
    return lambda trainer, metrics: all(getattr(b, slot) is not None
                                        for b in trainer.model.hidden_blocks())


def spatial_dropout(trainer, metrics):
    return all(type(b.dropout) is DROPOUT[b.spatial_dims]
               for b in trainer.model.hidden_blocks())


def batch_norm(trainer, metrics):
    return all(type(b.post_norm) is NORM[b.spatial_dims]
               for b in trainer.model.hidden_blocks())


def sparsity(trainer, metrics):
    blocks = trainer.model.hidden_blocks()
    return {k for k in metrics if k.startswith("sparsity/dead/")} == \
        {f"sparsity/dead/{b.part}.{b.index}" for b in blocks}


def max_norm(trainer, metrics):
    return metrics["maxnorm/largest_norm"] <= 0.5 + 1e-5


#: plugin table -> what must hold after training with it
PLUGINS = {
    "dropout": ({"dropout": {"p": 0.2}}, filled("dropout")),
    "spatial_dropout": ({"dropout": {"p": 0.2, "kind": "spatial"}}, spatial_dropout),
    "batchnorm": ({"batchnorm": {"position": "after"}}, batch_norm),
    "sparsity": ({"sparsity": {"l1": 1.0, "group": 1.0, "proximal": True}}, sparsity),
    "maxnorm": ({"maxnorm": {"max_norm": 0.5}}, max_norm),
}


def shaped_recipe(case, **sections):
    """A tiny recipe on synthetic data of the case's shape (no TensorBoard pictures for
    signals and volumes: pictures are for images)."""
    backbone, side, dims, spatial_dims = SHAPES[case]
    data = {"image_size": side, "train_size": 32, "spatial_dims": spatial_dims}
    return tiny_recipe(**{"run": {"epochs": 1}, "data": data,
                          "logging": {"images": spatial_dims == 2},
                          "model": {"backbone": backbone, "hidden_dims": dims}, **sections})


def conv_blocks_follow_the_data(trainer, spatial_dims):
    """Every conv block is told the data's spatial axes, every linear block none."""
    return all(b.spatial_dims == (spatial_dims if isinstance(b.linear, nn.modules.conv._ConvNd)
                                  else 0) for b in trainer.model.hidden_blocks())


@pytest.mark.parametrize("plugin", sorted(PLUGINS))
@pytest.mark.parametrize("case", sorted(SHAPES))
def test_every_layer_plugin_on_every_backbone_and_data_dimension(tmp_path, case, plugin):
    _, _, dims, spatial_dims = SHAPES[case]
    plugins, holds = PLUGINS[plugin]
    trainer = make_trainer(shaped_recipe(case, plugins=plugins), tmp_path)
    metrics = trainer.fit()
    assert len(trainer.model.hidden_blocks()) == 2 * len(dims)
    assert conv_blocks_follow_the_data(trainer, spatial_dims)
    assert holds(trainer, metrics)


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
@pytest.mark.parametrize("case", sorted(SHAPES))
def test_decoded_images_are_in_the_data_range_whatever_the_weights(case, likelihood):
    backbone, side, dims, spatial_dims = SHAPES[case]
    shape = (1, *(side,) * spatial_dims)
    torch.manual_seed(0)
    model = VanillaVAE(VanillaOptions(backbone=backbone, hidden_dims=tuple(dims),
                                      likelihood=likelihood), shape)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_(30.0)  # push the decoder's raw output far outside [0, 1]
    x = torch.rand(3, *shape)
    raw = model.decode(torch.randn(3, model.latent_dim))
    assert raw.shape == x.shape and (raw.min() < 0 or raw.max() > 1)
    for images in (model.reconstruct(x), model.sample(3)):
        assert images.shape == x.shape and images.min() >= 0 and images.max() <= 1


def test_conv64_is_the_32_to_512_encoder_for_64x64_images():
    model = VanillaVAE(VanillaOptions(backbone="conv64"), (3, 64, 64))
    encoder = [b.features for b in vaereg.hidden_blocks(model, "encoder")]
    decoder = [b.features for b in vaereg.hidden_blocks(model, "decoder")]
    assert encoder == [32, 64, 128, 256, 512]
    assert decoder == [512 * 2 * 2, 256, 128, 64, 32]
    assert model(torch.rand(2, 3, 64, 64))["output"].shape == (2, 3, 64, 64)
    with pytest.raises(ValueError, match="64x64"):
        VanillaVAE(VanillaOptions(backbone="conv64"), (1, 32, 32))


def test_conv_backbone_rejects_sizes_it_cannot_halve():
    with pytest.raises(ValueError, match="multiple of 8, got 28x28; give hidden_dims at most 2"):
        VanillaVAE(VanillaOptions(backbone="conv", hidden_dims=(8, 8, 8)), (1, 28, 28))
    with pytest.raises(ValueError, match="multiple of 8, got 16x16x12; give hidden_dims at "
                                         "most 2 .* data.size = 16"):
        VanillaVAE(VanillaOptions(backbone="conv3d", hidden_dims=(2, 2, 2)), (1, 16, 16, 12))


@pytest.mark.parametrize("spatial_dims, convolution", [(1, nn.Conv1d), (2, nn.Conv2d),
                                                       (3, nn.Conv3d)])
def test_conv_backbone_convolves_the_datas_spatial_axes(spatial_dims, convolution):
    shape = (2, *(8,) * spatial_dims)
    model = VanillaVAE(VanillaOptions(backbone="conv", hidden_dims=(4, 8)), shape)
    kinds = {type(m) for m in model.modules() if isinstance(m, nn.modules.conv._ConvNd)}
    assert kinds == {convolution, getattr(nn, f"ConvTranspose{spatial_dims}d")}
    features = model.encoder(torch.rand(5, *shape))
    assert features.shape == (5, 8 * 2 ** spatial_dims)  # 8 channels of 2^d cells
    assert model(torch.rand(5, *shape))["output"].shape == (5, *shape)


def test_conv3d_takes_volumes_only_and_says_which_backbone_takes_images():
    with pytest.raises(ValueError, match=r"conv3d backbone is for 3-D data \(volumes\), got "
                                         r"2-D data of size 8x8; use backbone = \"conv\""):
        VanillaVAE(VanillaOptions(backbone="conv3d"), (1, 8, 8))
    assert [b.features for b in vaereg.hidden_blocks(
        VanillaVAE(VanillaOptions(backbone="conv3d"), (1, 16, 16, 16)), "encoder")] == [16, 32, 64]


def test_a_block_refuses_spatial_axes_it_has_no_layers_for():
    with pytest.raises(ValueError, match="spatial_dims must be 0, 1, 2 or 3, got 4"):
        vaereg.Block(nn.Identity(), nn.ReLU(), part="encoder", index=0, features=1,
                     spatial_dims=4)


class Tiny:
    """A third-party backbone: one linear block each way."""
    default_dims = (8,)

    def encoder(self, input_shape, dims):
        return vaereg.BACKBONES.load("mlp")().encoder(input_shape, dims)

    def decoder(self, latent_width, input_shape, dims):
        return vaereg.BACKBONES.load("mlp")().decoder(latent_width, input_shape, dims)


def test_third_party_backbones_register_like_models(tmp_path):
    with registered("tiny", Tiny, BACKBONES):
        table = tiny_recipe(run={"epochs": 1}, model={"backbone": "tiny", "hidden_dims": None})
        trainer = make_trainer(table, tmp_path)
        assert [b.features for b in trainer.model.hidden_blocks()] == [8, 8]


def test_an_unknown_backbone_is_refused_when_the_recipe_loads():
    with pytest.raises(RecipeError, match="did you mean 'conv'"):
        load_recipe(table=tiny_recipe(model={"backbone": "cnv"}))


def test_a_few_steps_on_volumes_with_every_layer_plugin_lower_the_validation_elbo(tmp_path):
    """Real training on 16^3 volumes: conv3d with spatial dropout, batch norm, sparsity
    and weight decay all at once learns (validation -ELBO falls epoch after epoch)."""
    plugins = {"dropout": {"p": 0.1, "kind": "spatial"}, "batchnorm": {},
               "sparsity": {"l1": 1e-4}, "weight_decay": {"value": 1e-4}}
    table = tiny_recipe(run={"epochs": 3}, plugins=plugins, logging={"images": False},
                        optimizer={"lr": 1e-2, "weight_decay": 0.0},
                        data={"spatial_dims": 3, "image_size": 16, "train_size": 64},
                        model={"backbone": "conv3d", "hidden_dims": [4, 8]})
    trainer = make_trainer(table, tmp_path)
    metrics = trainer.fit()
    blocks = trainer.model.hidden_blocks()
    assert {type(b.dropout) for b in blocks if b.spatial} == {nn.Dropout3d}
    assert {type(b.pre_norm) for b in blocks if b.spatial} == {nn.BatchNorm3d}
    assert any(p.dim() == 5 and group["decay"] > 0 for group in trainer.optimizer.param_groups
               for p in group["params"])
    val = [epoch["val/neg_elbo"] for epoch in metrics["history"]]
    assert val[2] < val[1] < val[0], val
