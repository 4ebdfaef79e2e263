"""Dropout: where it goes, and that it acts in training only."""
import pytest
import torch
from torch import nn

from vaereg.models.vanilla import VanillaOptions, VanillaVAE
from vaereg.plugins.dropout import inject_dropout
from vaereg.testing import make_trainer, tiny_recipe


def mlp(**options):
    return VanillaVAE(VanillaOptions(**options), (1, 28, 28))


def dropout_positions(model):
    """(qualified name of the module a dropout follows, p) for every dropout."""
    positions = []
    for name, module in model.named_modules():
        if isinstance(module, (nn.Dropout, nn.Dropout2d)):
            positions.append(name)
    return positions


def test_dropout_follows_every_hidden_activation_and_nothing_else(tmp_path):
    trainer = make_trainer(tiny_recipe(plugins={"dropout": {"p": 0.2}}), tmp_path)
    model = trainer.model
    assert dropout_positions(model) == ["encoder.1.dropout", "encoder.2.dropout",
                                        "decoder.0.dropout", "decoder.1.dropout"]
    for block in model.hidden_blocks():
        assert isinstance(block.activation, nn.ReLU) and block.dropout.p == 0.2
    # heads and output layer are plain linears, nothing inserted after them
    assert isinstance(model.mu_head, nn.Linear) and isinstance(model.logvar_head, nn.Linear)
    assert [type(m) for m in model.decoder[-2:]] == [nn.Linear, nn.Unflatten]
    assert str(model).count("Dropout(p=0.2") == 4


@pytest.mark.parametrize("where, expected", [("encoder", ["encoder.1.dropout", "encoder.2.dropout"]),
                                             ("decoder", ["decoder.0.dropout", "decoder.1.dropout"])])
def test_where_restricts_the_part(where, expected):
    assert dropout_positions(inject_dropout(mlp(), p=0.5, where=where)) == expected


def test_last_puts_one_dropout_per_part_in_the_last_block():
    model = inject_dropout(mlp(hidden_dims=(64, 32, 16)), p=0.5, blocks="last")
    assert dropout_positions(model) == ["encoder.3.dropout", "decoder.2.dropout"]


def test_dropout_is_active_in_training_and_inactive_in_eval():
    torch.manual_seed(0)
    model = inject_dropout(mlp(hidden_dims=(256,)), p=0.5)
    block = model.hidden_blocks()[0]
    h = torch.randn(64, 784).abs() + 0.1
    model.train()
    out = block(h)
    active = block.activation(block.linear(h)) > 0
    dropped_fraction = (out[active] == 0).float().mean().item()
    assert 0.45 < dropped_fraction < 0.55
    kept = block.activation(block.linear(h))
    assert torch.allclose(out[out != 0], (kept * 2)[out != 0])  # scaled by 1/(1-p)
    model.eval()
    assert torch.equal(block(h), block.activation(block.linear(h)))
    x = torch.rand(8, 1, 28, 28)
    plain = mlp(hidden_dims=(256,))
    plain.load_state_dict(model.state_dict())
    plain.eval()
    assert torch.equal(model.encode(x).mean, plain.encode(x).mean)


def test_spatial_kind_uses_dropout2d_in_conv_blocks_only():
    model = inject_dropout(mlp(backbone="conv"), p=0.3, kind="spatial")
    kinds = {f"{b.part}{b.index}": type(b.dropout) for b in model.hidden_blocks()}
    assert kinds == {"encoder0": nn.Dropout2d, "encoder1": nn.Dropout2d,
                     "decoder0": nn.Dropout, "decoder1": nn.Dropout2d}
    model.train()
    features = model.encoder[0].activation(model.encoder[0].linear(torch.rand(4, 1, 28, 28))) + 1
    dropped = model.encoder[0].dropout(features)
    per_channel = (dropped == 0).flatten(2).all(2) | (dropped != 0).flatten(2).all(2)
    assert per_channel.all()  # whole channels are dropped or kept


def test_invalid_options_are_rejected_by_the_function():
    with pytest.raises(ValueError, match=r"p: expected a number in \[0, 1\)"):
        inject_dropout(mlp(), p=1.0)
    with pytest.raises(ValueError, match="where: expected one of"):
        inject_dropout(mlp(), where="middle")
