"""The core's [data] keys: valid for every dataset, validated beside the dataset's own."""
from __future__ import annotations

import attrs
import pytest

import vaereg
from vaereg.core.common.errors import RecipeError
from vaereg.core.recipes.recipe import load_recipe
from vaereg.testing import SyntheticImages, registered, tiny_recipe


def test_core_keys_go_to_the_loader_and_the_rest_to_the_dataset():
    recipe = load_recipe(table=tiny_recipe(data={"batch_size": 8, "num_workers": 2,
                                                  "noise": 0.3}))
    assert recipe.data.loader.batch_size == 8
    assert recipe.data.loader.num_workers == 2
    assert recipe.data.options.noise == 0.3
    table = recipe.to_table()["data"]
    assert table["batch_size"] == 8 and table["noise"] == 0.3 and table["classes"] == []


def test_problems_in_both_parts_are_collected_with_did_you_mean_over_both():
    with pytest.raises(RecipeError) as caught:
        load_recipe(table=tiny_recipe(data={"batch_sise": 8, "num_workers": -1,
                                            "noise": "x"}))
    text = str(caught.value)
    assert "3 problems" in text
    assert "data.batch_sise: unknown key (did you mean 'batch_size'?)" in text
    assert "data.num_workers: expected a number in [0, inf]" in text
    assert "data.noise: expected a number" in text


def test_a_dataset_that_declares_a_core_key_is_refused():
    @attrs.frozen
    class OldOptions:
        batch_size: int = vaereg.option(32, "old-style batch size")

    class OldDataset(SyntheticImages):
        Options = OldOptions

    with registered("old", OldDataset, vaereg.DATASETS):
        with pytest.raises(RecipeError) as caught:
            load_recipe(table=tiny_recipe(data={"name": "old"}))
    assert "declares batch_size in its Options, but the core owns" in str(caught.value)
