"""A downloaded checkpoint or recipe cannot run code or write outside the output folder."""
from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from vaereg import RecipeError, VaeregError
from vaereg.cli import main
from vaereg.core.loop.trainer import Trainer
from vaereg.core.recipes.recipe import load_recipe
from vaereg.core.run_folder.checkpoint import FORMAT, load_checkpoint, save_checkpoint
from vaereg.core.run_folder.run_dir import new_run_dir, write_recipe
from vaereg.testing import SYNTHETIC, tiny_recipe


class Payload:
    """Unpickling this calls ``open(marker, "w")``: code run by merely loading a file."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def evil_run(tmp_path) -> tuple[Path, Path]:
    """A run folder whose last.pt carries the payload; and the payload's marker file."""
    marker = tmp_path / "code-ran"
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    torch.save({"format": FORMAT, "model": Payload(marker)}, run / "checkpoints" / "last.pt")
    write_recipe(run, load_recipe(table=tiny_recipe()))
    return run, marker


def test_checkpoint_with_code_is_refused_and_the_code_never_runs(evil_run):
    run, marker = evil_run
    with pytest.raises(VaeregError, match="refusing to load .* could run code"):
        load_checkpoint(run / "checkpoints" / "last.pt")
    result = CliRunner().invoke(main, ["run", "--resume", str(run)])
    assert result.exit_code == 2 and "refusing to load" in result.output
    assert "Traceback" not in result.output
    assert not marker.exists()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("damaged") / "last.pt"
    table = tiny_recipe(model={"hidden_dims": [8], "latent_dim": 2})
    save_checkpoint(Trainer(load_recipe(table=table), quiet=True).state_dict(), path)
    return path


def loads_or_raises_a_clear_error(path: Path, content: bytes) -> None:
    path.write_bytes(content)
    try:
        assert isinstance(load_checkpoint(path), dict)
    except VaeregError as error:
        assert str(path) in str(error)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_damaged_checkpoints_load_or_raise_a_clear_error(checkpoint, data):
    """Truncation, bit flips and zeroed runs anywhere (disk errors, killed plain copies)."""
    raw = bytearray(checkpoint.read_bytes())
    where = data.draw(st.integers(0, len(raw) - 1))
    damage = data.draw(st.sampled_from(["truncate", "flip", "zero"]))
    if damage == "truncate":
        raw = raw[:where]
    elif damage == "flip":
        raw[where] ^= 1 << data.draw(st.integers(0, 7))
    else:
        raw[where:where + 256] = bytes(len(raw[where:where + 256]))
    loads_or_raises_a_clear_error(checkpoint.with_name("damaged.pt"), bytes(raw))


def test_a_bit_flipped_in_the_weights_is_detected(checkpoint, tmp_path):
    raw = bytearray(checkpoint.read_bytes())
    raw[len(raw) // 2] ^= 1  # tensor data fill the middle of the file
    (tmp_path / "flipped.pt").write_bytes(bytes(raw))
    with pytest.raises(VaeregError, match="fails its CRC-32 check"):
        load_checkpoint(tmp_path / "flipped.pt")


def test_a_checkpoint_the_disk_cannot_read_is_a_clear_error(checkpoint, monkeypatch):
    """Root reads past permissions, so the failing read is staged: an OSError while
    reading the file is refused by name (exit 2), not a traceback."""
    read_bytes = Path.read_bytes

    def failing(path):
        if path == checkpoint:
            raise OSError(5, "Input/output error")
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", failing)
    with pytest.raises(VaeregError, match=f"cannot read checkpoint {checkpoint}: .*"
                                          f"OSError: \\[Errno 5\\] Input/output error"):
        load_checkpoint(checkpoint)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_every_bit_flip_at_the_start_of_the_pickle_is_handled(checkpoint):
    """Damage to the pickle stream makes torch's reader raise IndexError, KeyError,
    TypeError, AssertionError...: each must become the clear error."""
    raw = checkpoint.read_bytes()
    member = next(i for i in zipfile.ZipFile(io.BytesIO(raw)).infolist()
                  if i.filename.endswith("data.pkl"))
    name_length, extra_length = struct.unpack("<HH", raw[member.header_offset + 26:
                                                         member.header_offset + 30])
    start = member.header_offset + 30 + name_length + extra_length
    for where in range(start, start + 32):
        for bit in range(8):
            flipped = bytearray(raw)
            flipped[where] ^= 1 << bit
            loads_or_raises_a_clear_error(checkpoint.with_name("flipped.pt"), bytes(flipped))


def test_set_values_are_literals_never_evaluated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = "__import__('pathlib').Path('code-ran').touch()"
    with pytest.raises(RecipeError, match="data.noise: expected a number, found string"):
        load_recipe(table=tiny_recipe(), overrides=[f"data.noise={code}"])
    assert not (tmp_path / "code-ran").exists()


@pytest.mark.parametrize("name", ["../escape", "..", "/etc/cron.d", "a/b", "a\\b", "a\0b",
                                  ".hidden", "", "a/../../b"])
def test_run_name_cannot_leave_out_dir(name):
    with pytest.raises(RecipeError, match="run.name: expected a plain folder name"):
        load_recipe(table=tiny_recipe(run={"name": name}))


def test_cli_refuses_an_escaping_run_name_before_creating_anything(tmp_path, monkeypatch):
    (tmp_path / "out").mkdir()
    monkeypatch.chdir(tmp_path / "out")
    (tmp_path / "out" / "r.toml").write_text(f'[data]\nname = "{SYNTHETIC}"\n')
    result = CliRunner().invoke(main, ["run", "r.toml", "--set", "run.name=../../escape"])
    assert result.exit_code == 2 and "run.name" in result.output
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["out", "r.toml"]


@pytest.mark.parametrize("absolute", [True, False])
def test_out_dir_may_be_any_folder(tmp_path, monkeypatch, absolute):
    monkeypatch.chdir(tmp_path)
    out_dir = tmp_path / "elsewhere" / "runs" if absolute else Path("../rel/runs")
    run_dir = new_run_dir(out_dir, "name")
    assert run_dir.resolve() == (tmp_path / out_dir / "name" / "version_0").resolve()
    assert run_dir.is_dir()
