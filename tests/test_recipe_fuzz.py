"""Property: whatever table a recipe file or --set can produce, validation returns a
Recipe or raises RecipeError (which the CLI prints with exit code 2), nothing else."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings, strategies as st

from vaereg import Recipe, RecipeError
from vaereg.core.recipes.recipe import SECTIONS, load_recipe
from vaereg.testing import tiny_recipe

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

keys = st.one_of(st.sampled_from(["name", "p", "epochs", "seed", "lr", "use", "dropout",
                                  "batch_size", "hidden_dims", "latent_dim", "where"]),
                 st.text(max_size=8))
scalars = st.one_of(
    st.booleans(), st.integers(-2**63, 2**63 - 1), st.floats(), st.text(max_size=12),
    st.sampled_from(["synthetic", "vanilla", "adam", "dropout", "cpu", "both", "../x"]),
    st.datetimes(), st.dates(), st.times())
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(keys, inner, max_size=4), max_leaves=12)
tables = st.dictionaries(st.one_of(st.sampled_from(SECTIONS), keys), values, max_size=6)


def entries(table: dict) -> list[tuple[dict, str]]:
    """Every (parent table, key) pair in a nested table."""
    found = []
    for key, value in table.items():
        found.append((table, key))
        if isinstance(value, dict):
            found.extend(entries(value))
    return found


@st.composite
def mutated_recipes(draw) -> dict:
    """A valid recipe with a few entries replaced, deleted or added."""
    table = tiny_recipe(plugins={"dropout": {"p": 0.2}})
    for _ in range(draw(st.integers(1, 4))):
        parent, key = draw(st.sampled_from(entries(table)))
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[key] = draw(values)
        elif action == "delete":
            del parent[key]
        else:
            parent[draw(keys)] = draw(values)
    return table


def validates_or_raises_recipe_error(table: dict, overrides: list[str] = ()) -> None:
    try:
        assert isinstance(load_recipe(table=table, overrides=overrides), Recipe)
    except RecipeError as error:
        assert error.problems


@FUZZ
@given(tables)
def test_random_tables(table):
    validates_or_raises_recipe_error(table)


@FUZZ
@given(mutated_recipes())
def test_mutated_recipes(table):
    validates_or_raises_recipe_error(table)


@FUZZ
@given(st.lists(st.one_of(st.text(max_size=20),
                          st.from_regex(r"\A(run|data|model|plugins\.dropout)\.[a-z_]{1,10}=.{0,10}\Z")),
                max_size=3))
def test_random_overrides(overrides):
    validates_or_raises_recipe_error(tiny_recipe(), overrides)
