"""vaereg.testing gives plugin authors a registry context, a recorder and a check that fails."""
from __future__ import annotations

import pytest

import vaereg
from vaereg.testing import check_conformance, make_trainer, registered, tiny_recipe

from fake_plugins import OptionlessPlugin


class ForgetfulSchedule(OptionlessPlugin):
    """Scales the KL by a warm-up counter it never checkpoints: a resume restarts it."""

    steps = 0

    @vaereg.hookimpl
    def transform_objective(self, objective):
        self.steps += 1
        objective.scale("kl", min(1.0, self.steps / 8))


def test_registered_makes_a_class_usable_by_name_only_inside_the_block(tmp_path):
    with registered("schedule", ForgetfulSchedule):
        assert vaereg.PLUGINS.entries()["schedule"].distribution == "registered in code"
        assert make_trainer(tiny_recipe(plugins={"schedule": {}}), tmp_path).recipe.plugins
    assert "schedule" not in vaereg.PLUGINS.names()


def test_conformance_check_catches_state_a_plugin_does_not_checkpoint(tmp_path):
    table = tiny_recipe(plugins={"schedule": {}})
    with registered("schedule", ForgetfulSchedule), pytest.raises(AssertionError, match="differs"):
        check_conformance(table, tmp_path)
