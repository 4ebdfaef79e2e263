"""A plugin that holds the first trial of a sweep to reach a given hook until the test lets
it go, so that a test can signal a sweep at an exact moment, whatever the machine's speed:
the trial writes its run folder to ``FOLDER/reached`` and waits for ``FOLDER/gate``; the
test waits for ``reached``, sends its signal, then creates ``gate``.

A recipe names it by file (``use = "<this file>:Gate"``), so sweep workers, which do not
import the tests, load it too.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Literal

import attrs

from vaereg import hookimpl, option


@attrs.frozen
class GateOptions:
    folder: str = option("", "where the reached and gate files are")
    hook: Literal["on_train_start", "on_train_epoch_end", "on_train_end"] = option(
        "on_train_epoch_end", "where the trial is held")
    only_stopping: bool = option(False, "hold only a trial that should stop (pruned)")
    epoch: int = option(-1, "on_train_epoch_end: the epoch (from 0) to hold at; -1 = any")


class Gate:
    Options = GateOptions

    def __init__(self, options: GateOptions):
        self.options = options

    def _hold(self, trainer, hook: str) -> None:
        if hook != self.options.hook or (self.options.only_stopping and not trainer.should_stop):
            return
        if hook == "on_train_epoch_end" and self.options.epoch not in (-1, trainer.epoch):
            return
        folder = Path(self.options.folder)
        try:  # the first trial only, whichever worker runs it
            handle = os.open(folder / "reached.tmp", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.write(handle, str(trainer.run_dir).encode())
        os.close(handle)
        os.rename(folder / "reached.tmp", folder / "reached")
        while not (folder / "gate").exists():
            time.sleep(0.02)

    @hookimpl
    def on_train_start(self, trainer):
        self._hold(trainer, "on_train_start")

    @hookimpl(trylast=True)  # after the sweep's pruning, which may stop the trial
    def on_train_epoch_end(self, trainer):
        self._hold(trainer, "on_train_epoch_end")

    @hookimpl
    def on_train_end(self, trainer):
        self._hold(trainer, "on_train_end")
