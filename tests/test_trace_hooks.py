"""--trace-hooks prints every hook call with the plugins that answered it, in order."""
from __future__ import annotations

from click.testing import CliRunner

import vaereg
from vaereg.cli import main
from vaereg.testing import HookRecorder, tiny_recipe

from recipe_files import write_recipe


def test_cli_traces_each_call_with_its_plugins_in_recipe_order(tmp_path):
    recipe = write_recipe(tmp_path, run={"epochs": 1},
                          plugins={"dropout": {}, "late_dropout": {"use": "dropout"}})
    result = CliRunner().invoke(main, ["run", str(recipe), "--trace-hooks"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("[hook]")]
    assert lines[0] == "[hook] epoch 0 step 0 build_layers: dropout, late_dropout"
    step_one = "[hook] epoch 0 step 1 on_log_step: core.tensorboard_scalars"
    assert step_one.replace("step 1", "step 0") not in lines  # step counted before the hook
    assert step_one in lines
    assert sum(" on_batch_end: " in line for line in lines) == 4  # 64 images / 16 per batch


def test_trace_lines_match_the_hook_calls_made(tmp_path):
    recorder = HookRecorder()
    lines: list[str] = []
    recipe = vaereg.load_recipe(table=tiny_recipe(run={"epochs": 1, "out_dir": str(tmp_path)},
                                                  logging={"images": False},
                                                  checkpoint={"best": False}))
    trainer = vaereg.Trainer(recipe, quiet=True, extra_plugins=(("recorder", recorder),),
                             trace_hooks=lines.append)
    trainer.fit()
    assert (trainer.run_dir / "recipe.toml").is_file()
    traced = [line.split()[5].rstrip(":") for line in lines]
    builtin = {"on_train_start": "core.run_record",  # the built-ins always on answer too
               "on_train_end": "core.run_record",
               "on_log_step": "core.tensorboard_scalars",
               "on_train_epoch_end": "core.tensorboard_scalars",
               "on_test_end": "core.tensorboard_scalars, core.run_record"}
    assert all(line.endswith(f": recorder, {builtin[hook]}" if hook in builtin
                             else ": recorder") for hook, line in zip(traced, lines))
    per_plugin = ("on_save_checkpoint", "on_load_checkpoint")  # called plugin by plugin, untraced
    assert traced == [name for name in recorder.calls if name not in per_plugin]
