"""Same recipe, same seed, CPU: bit-identical weights; another seed: different ones."""
import torch

from vaereg.testing import assert_same_state, make_trainer, tiny_recipe


def test_same_seed_gives_bit_identical_weights(tmp_path):
    table = tiny_recipe(plugins={"dropout": {"p": 0.3}}, data={"binarize": "dynamic"})
    a = make_trainer(table, tmp_path / "a")
    a.fit()
    b = make_trainer(table, tmp_path / "b")
    b.fit()
    assert_same_state(a, b)
    assert a.history == b.history
    c = make_trainer(table, tmp_path / "c", overrides=("run.seed=1",))
    c.fit()
    assert not torch.equal(a.model.mu_head.weight, c.model.mu_head.weight)
