"""Every backbone is made of Blocks, so every layer plugin works on every backbone, and
every decoder's images land in the data's [0, 1] range."""
import pytest
import torch
from torch import nn

import vaereg
from vaereg import BACKBONES, RecipeError, load_recipe
from vaereg.models.vanilla import VanillaOptions, VanillaVAE
from vaereg.testing import make_trainer, registered, tiny_recipe

#: backbone -> (image size, hidden dims): small, but every layer kind is there
SHAPES = {"mlp": (8, [16, 8]), "conv": (8, [4, 8]), "conv64": (64, [2, 2, 2, 2, 2])}


def filled(slot):
    return lambda trainer, metrics: all(getattr(b, slot) is not None
                                        for b in trainer.model.hidden_blocks())


def spatial_dropout(trainer, metrics):
    return all(isinstance(b.dropout, nn.Dropout2d) == b.spatial
               for b in trainer.model.hidden_blocks())


def batch_norm(trainer, metrics):
    return all(isinstance(b.post_norm, nn.BatchNorm2d if b.spatial else nn.BatchNorm1d)
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


@pytest.mark.parametrize("plugin", sorted(PLUGINS))
@pytest.mark.parametrize("backbone", sorted(SHAPES))
def test_every_layer_plugin_on_every_backbone(tmp_path, backbone, plugin):
    size, dims = SHAPES[backbone]
    plugins, holds = PLUGINS[plugin]
    table = tiny_recipe(run={"epochs": 1}, plugins=plugins,
                        data={"image_size": size, "train_size": 32},
                        model={"backbone": backbone, "hidden_dims": dims})
    trainer = make_trainer(table, tmp_path)
    metrics = trainer.fit()
    assert len(trainer.model.hidden_blocks()) == 2 * len(dims)
    assert holds(trainer, metrics)


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
@pytest.mark.parametrize("backbone", sorted(SHAPES))
def test_decoded_images_are_in_the_data_range_whatever_the_weights(backbone, likelihood):
    size, dims = SHAPES[backbone]
    torch.manual_seed(0)
    model = VanillaVAE(VanillaOptions(backbone=backbone, hidden_dims=tuple(dims),
                                      likelihood=likelihood), (1, size, size))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_(30.0)  # push the decoder's raw output far outside [0, 1]
    x = torch.rand(3, 1, size, size)
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
    with pytest.raises(ValueError, match="multiples of 8"):
        VanillaVAE(VanillaOptions(backbone="conv", hidden_dims=(8, 8, 8)), (1, 28, 28))


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
