"""The minimal trainer: builds the model, runs the loop, calls the hooks.

Template methods (``build_model``, ``training_step``, ``compute_loss``,
``validation_step``, ``configure_optimizer``, ``backward``, ``optimizer_step``) are plain
methods a subclass may override; the hooks are called by the loop around them, so an
override never drops a plugin.

Scale is delegated: ``vaereg.core.scale.precision`` (autocast, the fp16 gradient scaler),
``vaereg.core.scale.distributed`` (a torchrun job: what its processes agree on) and
``vaereg.core.scale.shard`` (each process's slice of every global batch); see docs/scale.md.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor, nn

from vaereg.core.builtin import builtin_plugins
from vaereg.core.common.atomic_file import remove_leftovers
from vaereg.core.common.errors import NonFiniteError, VaeregError, first_line
from vaereg.core.common.eval_mode import eval_mode
from vaereg.core.common.import_path import class_path
from vaereg.core.common.seeding import (EVALUATION_SEED, rng_state, seed_everything, seeded,
                                        set_rng_state)
from vaereg.core.data.batch import Batch
from vaereg.core.data.split_preparation import prepare_anomalies, prepare_splits
from vaereg.core.hooks.extra_plugins import recorded, resume_extras
from vaereg.core.hooks.hook_relay import HookRelay
from vaereg.core.hooks.plugin_manager import (call_each, call_one, make_plugin_manager,
                                              reject_hook_methods)
from vaereg.core.loop.checkpoint_state import CheckpointState, rank_state
from vaereg.core.loop.epoch_progress import EpochProgress
from vaereg.core.loop.progress import Progress
from vaereg.core.loop.trainer_class import with_trainer
from vaereg.core.model.model_size import construct_model
from vaereg.core.model.objective import Objective, batch_scalars, default_monitor, headline_figure
from vaereg.core.recipes.lr_schedule import LRSchedule
from vaereg.core.recipes.optimizers import build_optimizer, parameter_groups
from vaereg.core.recipes.recipe import Recipe
from vaereg.core.recipes.run_cadence import Cadence
from vaereg.core.reliability.nonfinite import (describe_nonfinite, nonfinite_weights,
                                               tensors_are_finite)
from vaereg.core.reliability.step_guard import (StepGuard, Verdict, step_place, stop_error,
                                                warn_skipped)
from vaereg.core.reliability.stop_signals import StopRequests, interrupted
from vaereg.core.run_folder.checkpoint import load_checkpoint, save_checkpoint
from vaereg.core.run_folder.resume import check_resumable
from vaereg.core.run_folder.run_dir import new_run_dir
from vaereg.core.run_folder.run_lock import RunFolderLock
from vaereg.core.scale.device import resolve_device
from vaereg.core.scale.distributed import SilentLog, check_global_batch, job_from_environment
from vaereg.core.scale.precision import Precision
from vaereg.core.scale.shard import check_last_batch, shard_of


class Trainer:
    """Train one recipe. ``fit()`` runs it and returns the final metrics.

    Its public state (``model``, ``optimizer``, ``epoch``, ``step``, ``monitor``,
    ``should_stop``, ``log`` ...) is documented in one place: docs/api.md, "Trainer".

    ``extra_plugins``: (name, object) pairs registered after the recipe's plugins.
    ``trace_hooks``: a callable that receives one line per hook call (``--trace-hooks``).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        reject_hook_methods(cls, Trainer)

    def __init__(self, recipe: Recipe, *, quiet: bool = False,
                 extra_plugins: tuple[tuple[str, Any], ...] = (),
                 trace_hooks: Callable[[str], None] | None = None):
        self.recipe = with_trainer(recipe, type(self))  # recorded: a resume rebuilds this class
        self.quiet = quiet
        self.epoch = 0
        self.step = 0
        self.run_dir: Path | None = None
        self._run_lock: RunFolderLock | None = None
        self.history: list[dict[str, float]] = []
        self.skipped_steps = 0
        self.should_stop = False
        self._extra_plugins, self._trace_hooks = tuple(extra_plugins), trace_hooks  # recorded
        device = resolve_device(recipe.run.device)
        self.job = job_from_environment(device)  # one process unless started by torchrun
        self.device = self.job.device(device)
        check_global_batch(recipe.data.loader.batch_size, self.job)
        self.precision = Precision(recipe.run.precision, self.device)
        self._guard = StepGuard(recipe.run.on_nonfinite, self.precision, self.job)
        self.plugin_manager = make_plugin_manager(
            recipe, extra_plugins, trace_hooks, builtins=builtin_plugins(recipe))
        self.hook = HookRelay(self.plugin_manager, always_call=trace_hooks is not None)
        seed_everything(recipe.run.seed)
        self.data_generator = torch.Generator().manual_seed(recipe.run.seed)
        self.dataset = recipe.data.cls(recipe.data.options)
        self.model = self.build_model()
        self.monitor = (default_monitor(self.model) if recipe.run.monitor == "auto"
                        else recipe.run.monitor)
        self.optimizer = self.configure_optimizer()
        if self.job.rank:  # the same initial weights, but dropout masks of its own
            seed_everything(self.job.rank_seed(recipe.run.seed))
        self._forward: nn.Module | None = None
        self.lr_schedule = LRSchedule(recipe.scheduler, self.optimizer, recipe.run.epochs)
        self._checkpoint_cadence = Cadence(recipe.checkpoint.every_n_epochs,
                                           recipe.checkpoint.min_seconds)
        self._splits = None
        self._tensorboard = None
        self._tensorboard_purge_step: int | None = None
        self._pending_logs: dict[str, Tensor | float] = {}
        self._progress: EpochProgress | None = None  # None between epochs
        self._stop = StopRequests()

    # ----- template methods: override in a subclass -------------------------------------
    def build_model(self) -> nn.Module:
        """Construct the recipe's model, let plugins edit its layers, move it to the device."""
        model = construct_model(self.recipe.model, self.dataset.input_shape,
                                self.dataset.num_classes, self.device)
        self.hook.build_layers(trainer=self, model=model)
        return model.to(self.device)

    def configure_optimizer(self) -> torch.optim.Optimizer:
        """One parameter group, shaped by ``configure_optimizer`` hooks, then the optimizer."""
        groups = parameter_groups(self.model)
        self.hook.configure_optimizer(trainer=self, model=self.model, param_groups=groups)
        groups = [g for g in groups if g["params"]]
        spec = self.recipe.optimizer
        return build_optimizer(spec.name, spec.options, groups)

    def compute_loss(self, batch: Batch, outputs: dict[str, Any]) -> Objective:
        """The model's per-example terms for a batch, with its default weights."""
        return Objective.from_model(self.model, outputs, batch.target)

    def training_step(self, batch: Batch) -> Objective:
        """Forward pass and the model's objective, before plugins adjust it."""
        return self.compute_loss(batch, self.forward_model(batch.x, batch.y))

    def validation_step(self, batch: Batch) -> Objective:
        return self.compute_loss(batch, self.model(batch.x, batch.y))

    def backward(self, loss: Tensor) -> None:
        self.precision.scale(loss).backward()

    def optimizer_step(self) -> None:
        """The update (called only for a step the step guard took)."""
        self.precision.step(self.optimizer)
        self.optimizer.zero_grad(set_to_none=True)

    def forward_model(self, x: Tensor, y: Tensor | None = None) -> Any:
        """The training forward pass: ``model`` under DistributedDataParallel in a torchrun
        job and ``torch.compile`` with ``run.compile``. ``model`` itself stays the plain
        module (its own methods, plain parameter names in checkpoints)."""
        if self._forward is None:  # built at first use: DDP's start is a collective
            forward = self.job.wrap(self.model)
            self._forward = torch.compile(forward) if self.recipe.run.compile else forward
        return self._forward(x, y)

    # ----- services for plugins ----------------------------------------------------------
    def log(self, name: str, value: Tensor | float) -> None:
        """Log a per-step scalar (written every ``run.log_every_n_steps`` steps)."""
        self._pending_logs[name] = value

    def take_logs(self) -> dict[str, float]:
        """What ``log`` received since the last call, as floats (the loop passes them to
        ``on_log_step`` every ``run.log_every_n_steps`` steps)."""
        logs = {name: float(value) for name, value in self._pending_logs.items()}
        self._pending_logs.clear()
        return logs

    @property
    def splits(self):
        """The dataset's train/val/test splits, on the device (loaded on first use)."""
        if self._splits is None:
            self._splits = prepare_splits(self.dataset, self.recipe.seed_for_data,
                                          self.recipe.data.loader, self.device)
        return self._splits

    # ----- the loop ----------------------------------------------------------------------
    def _train_batch(self, batch: Batch, batch_idx: int) -> dict[str, Tensor] | None:
        """One step; returns its detached scalars (None for an update not taken).

        The step guard decides after ``on_after_backward``, before the schedule and any
        hook that writes weights, so an update not taken leaves weights and optimizer
        state exactly as they were.
        """
        hook = self.hook
        hook.on_batch_start(trainer=self, batch=batch, batch_idx=batch_idx)
        with self.precision.autocast():
            hook.transform_batch(trainer=self, batch=batch)
            objective = self.training_step(batch)
            hook.transform_objective(trainer=self, objective=objective, batch=batch)
            for penalties in hook.compute_penalties(trainer=self, model=self.model,
                                                    batch=batch, objective=objective):
                for name, value in penalties.items():
                    objective.add_penalty(name, value)
            loss = objective.loss().float()
        hook.on_before_backward(trainer=self, loss=loss)
        # a process's share of an uneven global batch; one process: the loss itself
        self.backward(loss if batch.shard_weight == 1.0 else loss * batch.shard_weight)
        self.precision.unscale(self.optimizer)  # before any hook reads a gradient
        hook.on_after_backward(trainer=self)
        verdict = self._guard.decide(loss, self._parameters(), self.optimizer)
        if verdict is not Verdict.TAKE:
            return self._refuse_step(verdict, objective, loss, batch_idx)
        if self.lr_schedule.active:
            self.lr_schedule.apply(self.step, self.epoch)
            self.log("lr", self.optimizer.param_groups[0]["lr"])
        hook.on_before_optimizer_step(trainer=self, optimizer=self.optimizer)
        self.optimizer_step()
        self.step += 1
        scalars = batch_scalars(objective, loss)
        hook.on_batch_end(trainer=self, batch=batch, objective=objective, batch_idx=batch_idx,
                          scalars=scalars)
        if self.step % self.recipe.run.log_every_n_steps == 0:  # (reading them syncs)
            logged = {f"train_step/{name}": float(value) for name, value in scalars.items()}
            hook.on_log_step(trainer=self, scalars={**logged, **self.take_logs()},
                             step=self.step)
        return scalars

    def _parameters(self) -> list[Tensor]:
        return [p for group in self.optimizer.param_groups for p in group["params"]]

    def _refuse_step(self, verdict: Verdict, objective: Objective, loss: Tensor,
                     batch_idx: int) -> None:
        """An update not taken: the scaler's overflow, or a non-finite step that stops the
        run (checkpoints untouched) or is skipped, as the recipe says."""
        if verdict is not Verdict.OVERFLOW:
            terms = {**objective.terms, "loss": loss,
                     **{f"penalty/{k}": v for k, v in objective.penalties.items()}}
            what = describe_nonfinite(terms, self.model)  # (reads the gradients)
            where = step_place(self.step, self.epoch, self.recipe.run.epochs, batch_idx)
            if verdict is Verdict.STOP:
                raise stop_error(where, what, self.run_dir)
            self.skipped_steps += 1
            warn_skipped(where, what)
        self.optimizer.zero_grad(set_to_none=True)
        self.precision.skip(overflow=verdict is Verdict.OVERFLOW)
        if verdict is Verdict.OVERFLOW:
            self.log("scaler/skipped_steps", self.precision.skipped_steps)

    def _train_epoch(self, progress: Progress) -> dict[str, float]:
        """Train the rest of the epoch that ``self._progress`` describes."""
        state = self._progress
        batch_size = self.recipe.data.loader.batch_size
        every = self.recipe.run.log_every_n_steps
        batches = shard_of(self.splits.train, self.job).batches(
            batch_size, self.data_generator, start=state.batches_done)
        for batch_idx, batch in enumerate(batches, start=state.batches_done):
            scalars = self._train_batch(batch, batch_idx)
            state.batches_done += 1
            if scalars is not None:
                state.add(scalars, len(batch))
            shown = scalars is not None and self.step % every == 0  # (reading it syncs)
            progress.update(1, loss=float(scalars["loss"]) if shown else None)
            self._stop_if_requested(checkpointed=False)
        return self.job.mean(state.averages(), weight=sum(state.sizes.get("loss", ())))

    def _stop_if_requested(self, checkpointed: bool) -> None:
        """After a SIGINT/SIGTERM: write ``last.pt`` (unless just written) and stop."""
        signum = self.job.agreed_signal(self._stop.signum)  # a signal to any process stops all
        if signum is None:
            return
        path = self.run_dir / "checkpoints" / "last.pt"
        if not checkpointed:
            self.save("last.pt")
        where = (f"after batch {self._progress.batches_done} of epoch {self.epoch + 1}"
                 if self._progress else f"after epoch {self.epoch}")
        raise interrupted(signum, f"{where} (step {self.step})", path, self.run_dir)

    @torch.no_grad()
    def evaluate(self, split: Any, prefix: str) -> dict[str, float]:
        """Average terms over a split (``<prefix>/loss`` at the model's own weights), model
        in eval mode (restored afterwards), drawn as ``vaereg eval`` draws them (seeded)."""
        sums: dict[str, Tensor] = {}
        count = 0
        with eval_mode(self.model), seeded(EVALUATION_SEED, self.device):
            for batch in split.batches(self.recipe.data.loader.batch_size):
                with self.precision.autocast():
                    objective = self.validation_step(batch)
                    scalars = batch_scalars(objective, objective.loss())
                for name, value in scalars.items():
                    sums[name] = sums.get(name, 0.0) + value.float() * len(batch)
                count += len(batch)
        return {f"{prefix}/{name}": float(value) / count for name, value in sums.items()}

    def evaluate_splits(self) -> dict[str, float]:
        """train/, val/ and test/ averages of the current weights, and the gap; the test
        split is normal images only, a dataset's labelled defects are ``test_anomalies/``."""
        splits = self.splits
        metrics: dict[str, float] = {}
        for prefix, split in (("train", splits.train), ("val", splits.val), ("test", splits.test)):
            metrics.update(self.evaluate(split, prefix))
        defects = prepare_anomalies(self.dataset, self.recipe.seed_for_data,
                                    self.recipe.data.loader, self.device)
        if defects is not None and len(defects.split):
            metrics.update(self.evaluate(defects.split, "test_anomalies"))
        figure = headline_figure(metrics)
        metrics[f"gap/{figure}"] = metrics[f"test/{figure}"] - metrics[f"train/{figure}"]
        return metrics

    def validate(self) -> dict[str, float]:
        """A validation pass; ``on_validation_start`` sees the model in eval mode and
        gradients off."""
        with eval_mode(self.model), torch.no_grad():
            self.hook.on_validation_start(trainer=self)
            metrics = self._evaluate_shards(self.splits.val, "val")
        self.hook.on_validation_end(trainer=self, metrics=metrics)
        if self.monitor not in metrics:
            raise VaeregError(f"run.monitor = {self.monitor!r} is not a validation metric of "
                              f"this run; it has {', '.join(sorted(metrics))}")
        self.lr_schedule.on_validation(metrics[self.monitor])
        return metrics

    def _evaluate_shards(self, split: Any, prefix: str) -> dict[str, float]:
        """``evaluate`` with each process of a job taking its part, reduced over all."""
        shard = shard_of(split, self.job)
        local = self.evaluate(shard, prefix)
        size = shard.local_size(self.recipe.data.loader.batch_size) if self.job.active \
            else len(split)
        return self.job.mean(local, weight=size)

    @property
    def tensorboard(self):
        """The run's TensorBoard log; a silent one on ranks above 0 and before ``fit``
        has made a run folder (a trainer driven by hand has nowhere to write)."""
        if not self.job.is_main or self.run_dir is None:
            return SilentLog()
        if self._tensorboard is None:
            from vaereg.core.run_folder.tensorboard_log import TensorBoardLog
            self._tensorboard = TensorBoardLog(self.run_dir, self._tensorboard_purge_step)
        return self._tensorboard

    # ----- checkpoints -------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything an exact resume needs, between epochs or in the middle of one: a
        :class:`~vaereg.core.loop.checkpoint_state.CheckpointState` as a dict. It writes no
        file (``save`` does)."""
        progress = self._progress
        return CheckpointState(
            recipe=self.recipe.to_table(), epoch=self.epoch, step=self.step,
            should_stop=self.should_stop, history=self.history,
            model=self.model.state_dict(), optimizer=self.optimizer.state_dict(),
            rng=rng_state(), data_generator=progress.generator_state if progress
            else self.data_generator.get_state(),
            lr_schedule=self.lr_schedule.state_dict(),
            epoch_progress=progress.state_dict() if progress else None,
            skipped_steps=self.skipped_steps, precision=self.precision.state_dict(),
            pending_logs={name: float(value) for name, value in self._pending_logs.items()},
            plugins=call_each(self.plugin_manager, "on_save_checkpoint", trainer=self),
            extra_plugins=recorded(self._extra_plugins),
        ).to_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        saved = CheckpointState.from_dict(state)
        try:
            self.model.load_state_dict(saved.model)
            self.optimizer.load_state_dict(saved.optimizer)
            self.epoch, self.step = int(saved.epoch), int(saved.step)
            self.should_stop = bool(saved.should_stop)
            self.history = list(saved.history)
            self.lr_schedule.load_state_dict(saved.lr_schedule)
            set_rng_state(saved.rng)
            self.data_generator.set_state(saved.data_generator)
            self._progress = saved.progress()
            self.skipped_steps = int(saved.skipped_steps)
            self._pending_logs = dict(saved.pending_logs)
            self.precision.load_state_dict(saved.precision)
            self._load_rank_state(saved.ranks)
        except (KeyError, IndexError, AttributeError, RuntimeError, ValueError, TypeError,
                OverflowError) as error:  # what a damaged or foreign state raises
            raise VaeregError(f"checkpoint does not fit this recipe's model and optimizer: "
                              f"{type(error).__name__}: {first_line(error)}") from None
        for name, plugin_state in saved.plugins.items():
            call_one(self.plugin_manager, "on_load_checkpoint", name, trainer=self,
                     state=plugin_state)

    def _load_rank_state(self, ranks: list[dict[str, Any]] | None) -> None:
        """This process's streams and epoch sums from a job of the same size; else (the
        job changed size) rank 0 keeps the main ones, the others start fresh streams."""
        if ranks and len(ranks) == self.job.world_size:
            mine = ranks[self.job.rank]
            set_rng_state(mine["rng"])
            if mine["epoch_progress"] and self._progress:
                self._progress = EpochProgress.from_state(self._progress.generator_state,
                                                          mine["epoch_progress"])
        elif self.job.rank:
            seed_everything(self.job.rank_seed(self.recipe.run.seed, self.step))

    def save(self, name: str) -> Path:
        """Write a checkpoint (rank 0 of a job, with every rank's random streams);
        TensorBoard events logged so far are flushed to disk first, so that a process
        killed later keeps every event up to its last checkpoint."""
        if not tensors_are_finite(self.model.parameters()):
            raise NonFiniteError(
                f"the weights {', '.join(nonfinite_weights(self.model))} became non-finite by "
                f"step {self.step} (epoch {self.epoch}); {name} was not written, the "
                f"checkpoints written before are kept")
        ranks = self.job.gather(rank_state(self._progress))
        path = self.run_dir / "checkpoints" / name
        if not self.job.is_main:
            return path
        if self._tensorboard is not None:
            self._tensorboard.flush()
        self.hook.on_before_save_checkpoint(trainer=self, path=path)
        state = self.state_dict()
        if ranks is not None:
            state["ranks"] = ranks
        save_checkpoint(state, path, run_dir=self.run_dir)
        return path

    # ----- the run -----------------------------------------------------------------------
    def fit(self, run_dir: str | Path | None = None, resume: bool = False) -> dict[str, Any]:
        """Train ``run.epochs`` epochs, evaluate, and write the run folder.

        ``run_dir``: an existing run folder to use; with ``resume=True`` training
        continues from its ``checkpoints/last.pt`` exactly where it stopped (between epochs
        or mid-epoch). The first SIGINT/SIGTERM during training writes ``last.pt`` after
        the batch in progress and raises :class:`vaereg.RunInterrupted`; a second one
        raises ``KeyboardInterrupt`` at once. A non-finite loss or gradient raises
        :class:`vaereg.NonFiniteError` unless ``run.on_nonfinite = "skip"``.
        """
        run = self.recipe.run
        self.run_dir = self.job.from_main(
            lambda: Path(run_dir) if run_dir else new_run_dir(run.out_dir, run.name))
        self.job.from_main(self._lock_run_dir)  # before last.pt is read
        try:
            if resume:
                self._resume()
            check_last_batch(len(self.splits.train), self.recipe.data.loader.batch_size,
                             self.job)
            self.model.train()
            self.hook.on_train_start(trainer=self)
            with self._stop:
                self._train_epochs()
            self.hook.on_train_end(trainer=self)
            return self.final_metrics()
        finally:
            if self._tensorboard is not None:
                self._tensorboard.close()
            if self._run_lock is not None:
                self._run_lock.release()
            self.job.leave()

    def _lock_run_dir(self) -> None:
        """Rank 0 holds the run folder's lock until ``fit`` ends (VaeregError: in use)."""
        self._run_lock = RunFolderLock(self.run_dir)

    def _resume(self) -> None:
        """Load ``last.pt`` after checking it came from this recipe (up to CHANGEABLE keys)."""
        folder = self.run_dir / "checkpoints"
        # on the CPU: RNG states must stay there; load_state_dict moves weights and
        # optimizer state to the model's device
        def checked() -> dict[str, Any]:
            state = load_checkpoint(folder / "last.pt", map_location="cpu")
            check_resumable(state, self.recipe, self.run_dir, class_path(Trainer))
            return state

        state = self.job.from_main(checked)  # rank 0 reads, sends to all
        resume_extras(self, state)  # rebuilt, or the resume refused: never dropped
        self.load_state_dict(state)
        if self.job.is_main:
            remove_leftovers(folder)
        # steps logged after this checkpoint by a killed process are hidden in TensorBoard
        self._tensorboard_purge_step = self.step + 1

    def _train_epochs(self) -> None:
        """Epochs from ``self.epoch`` (possibly half done) to ``run.epochs``, checkpointing
        after each; a mid-epoch resume does not call ``on_train_epoch_start`` again."""
        run = self.recipe.run
        steps_per_epoch = self.splits.train.num_batches(self.recipe.data.loader.batch_size)
        done = self._progress.batches_done if self._progress else 0
        with Progress(total=steps_per_epoch * (run.epochs - self.epoch) - done,
                      enabled=run.progress and not self.quiet and self.job.is_main) as progress:
            for epoch in range(self.epoch, run.epochs):
                if self.should_stop:
                    break
                self.epoch = epoch
                progress.describe(f"epoch {epoch + 1}/{run.epochs}")
                if self._progress is None:
                    self._progress = EpochProgress(self.data_generator.get_state())
                    self.hook.on_train_epoch_start(trainer=self, epoch=epoch)
                metrics = self._train_epoch(progress)
                if (epoch + 1) % run.validate_every_n_epochs == 0 or epoch + 1 == run.epochs:
                    metrics.update(self.validate())
                self.hook.on_train_epoch_end(trainer=self, epoch=epoch, metrics=metrics)
                self.history.append(metrics)
                progress.end_epoch(metrics)
                self.epoch = epoch + 1
                self._progress = None
                self.should_stop = self.job.any(self.should_stop)
                checkpoint = self.job.any(  # (a cadence in seconds: each clock differs)
                    self._checkpoint_cadence.due(self.epoch, self.is_last_epoch))
                if checkpoint:
                    self.save("last.pt")
                    self._checkpoint_cadence.done(self.epoch)
                self._stop_if_requested(checkpointed=checkpoint)

    @property
    def is_last_epoch(self) -> bool:
        """Whether the epoch that just ended (or is ending) is the run's last: the
        recipe's epochs are done, or a plugin set ``should_stop``."""
        progress_epoch = self.epoch if self._progress is None else self.epoch + 1
        return self.should_stop or progress_epoch >= self.recipe.run.epochs

    def final_metrics(self) -> dict[str, Any]:
        """train/val/test averages of the final model (eval mode), what ran, the per-epoch
        history, and what plugins add in ``on_test_end``."""
        metrics: dict[str, Any] = self.evaluate_splits()
        metrics["monitor"] = self.monitor
        metrics["epochs"] = self.epoch
        metrics["steps"] = self.step
        metrics["skipped_steps"] = self.skipped_steps
        metrics["scaler_skipped_steps"] = self.precision.skipped_steps
        metrics["plugins"] = self.recipe.to_table()["plugins"]
        metrics["history"] = self.history
        self.hook.on_test_end(trainer=self, metrics=metrics)
        return metrics
