"""docs/plugins.md: a plugin's section names every one of its options."""
import re
from pathlib import Path

import attrs
import pytest

from vaereg import PLUGINS

DOCS = (Path(__file__).resolve().parents[1] / "docs" / "plugins.md").read_text()
SECTIONS = dict(re.findall(r"^## (\w+)\n(.*?)(?=^## |\Z)", DOCS, flags=re.M | re.S))


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_section_documents_every_option(name):
    options = attrs.fields(PLUGINS.load(name).Options)
    missing = [f.name for f in options if f"`{f.name}`" not in SECTIONS[name]]
    assert not missing, f"docs/plugins.md ## {name} lacks options {missing}"


def test_every_builtin_plugin_has_a_section():
    builtins = {name for name, entry in PLUGINS.entries().items() if entry.distribution == "vaereg"}
    assert builtins >= {"adversarial", "batchnorm", "dropout", "early_stopping", "grad_clip",
                        "kl_schedule", "mmd", "sparsity", "weight_decay"}
    assert builtins <= set(SECTIONS), builtins - set(SECTIONS)
