"""The hook reference: every moment of a run at which a plugin may act.

This file *is* the reference documentation (``docs/hooks.md`` is generated from it and a
test keeps the two in step).

Calling conventions, for every hook:

* Every hook receives the running :class:`vaereg.Trainer` as ``trainer``; its public
  state (``model``, ``optimizer``, ``recipe``, ``epoch``, ``step``, ``device``,
  ``monitor``, ``should_stop``, ``log(name, value)``, ...) is documented in docs/api.md,
  "Trainer". A plugin declares only the arguments it uses; pluggy passes those.
* Order: implementations run in the order the plugins appear in the recipe (the core
  registers them in reverse, because pluggy calls the last registered first), then the
  core's built-in plugins (``vaereg.core.builtin``: the run folder's recipe.toml,
  data_source.json and metrics.json, TensorBoard pictures, best.pt, TensorBoard step,
  epoch and final scalars). The core's own work at that moment (building the optimizer,
  stepping it) comes after every plugin answered.
* Every implementation of every hook runs (no hook stops at a first result); return
  values are collected (``None`` results are dropped).
* Mutable arguments (``batch``, ``objective``, ``param_groups``, ``metrics``) are shared: a
  plugin sees what earlier plugins did to them.

One step of training calls, in order: ``on_batch_start``, ``transform_batch``, the
forward pass and model loss (``Trainer.training_step``), ``transform_objective``,
``compute_penalties``, the sum of the objective, ``on_before_backward``, backward,
``on_after_backward``, the learning-rate schedule, ``on_before_optimizer_step``, the
optimizer step, ``on_batch_end``. Right after ``on_after_backward`` one step guard
(``vaereg/core/reliability/step_guard.py``) decides whether the update is taken: not when
the loss (or, under ``run.on_nonfinite = "skip"``, a gradient) is non-finite, nor when the
fp16 gradient scaler found an overflow. For an update not taken no later hook of that step
runs, so it changes neither weights nor optimizer state, in every precision.
"""
from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("vaereg")
hookimpl = pluggy.HookimplMarker("vaereg")


@hookspec
def build_layers(trainer: Any, model: Any) -> None:
    """Insert or replace layers while the model is built.

    When: once per run, right after the model's default layers exist and before it moves
    to the device and before the optimizer is created (model surgery never happens under
    a live optimizer). On resume the model is rebuilt the same way, then the checkpoint's
    weights are loaded into it.

    ``model`` exposes ``hidden_blocks()``: the hidden :class:`vaereg.Block` s of encoder
    and decoder. A block has named slots filled in any order and always run in one
    canonical order: ``linear``, ``pre_norm``, ``activation``, ``post_norm``, ``dropout``.
    Fill or replace a slot by assigning a module (``block.dropout = nn.Dropout(0.2)``).
    Because the order is fixed by the block, not by the plugins, composing plugins that
    fill different slots gives the same model whatever their order in the recipe.

    Returns: nothing.
    """


@hookspec
def configure_optimizer(trainer: Any, model: Any, param_groups: list[dict]) -> None:
    """Shape the parameter groups before the optimizer is built.

    When: once per run, after ``build_layers`` and after the model moved to its device.

    ``param_groups`` is a list of dicts, initially one group holding every trainable
    parameter: ``{"params": [tensors], "names": [qualified names]}``. Plugins may split
    groups (keep ``params`` and ``names`` aligned) and set per-group optimizer options
    (``weight_decay``, ``lr``, ...). Extra keys are kept in the optimizer's groups, so
    later hooks can find them in ``trainer.optimizer.param_groups``. The core then builds
    the recipe's ``[optimizer]`` from the groups.

    Returns: nothing.
    """


@hookspec
def on_train_start(trainer: Any) -> None:
    """Training is about to start (after the optimizer exists, after a resume loaded).

    Returns: nothing.
    """


@hookspec
def on_train_end(trainer: Any) -> None:
    """Training finished all epochs (or a plugin stopped it), before the final evaluation
    on the test set.

    Returns: nothing.
    """


@hookspec
def on_train_epoch_start(trainer: Any, epoch: int) -> None:
    """A training epoch begins; ``epoch`` is 0-based. The model is in train mode.

    A run resumed from a mid-epoch checkpoint (after Ctrl-C or SIGTERM) does not call it
    again for the half-done epoch: it ran before the checkpoint, which holds its effects.

    Returns: nothing.
    """


@hookspec
def on_train_epoch_end(trainer: Any, epoch: int, metrics: dict[str, float]) -> None:
    """A training epoch ended, after its validation pass (if ``run.validate_every_n_epochs``
    asked for one this epoch).

    ``metrics`` holds this epoch's averages as floats: ``train_running/<term>`` (the
    training steps' running averages, training mode) and ``val/<term>`` when validated.
    Plugins may add entries (e.g. ``sparsity/zero_fraction``); every entry is logged to
    TensorBoard for the epoch. ``trainer.is_last_epoch`` tells whether training ends
    after it; a plugin may end it by setting ``trainer.should_stop = True``.

    Returns: nothing.
    """


@hookspec
def on_batch_start(trainer: Any, batch: Any, batch_idx: int) -> None:
    """A training batch is about to be processed; ``batch`` is on the device.

    Returns: nothing.
    """


@hookspec
def transform_batch(trainer: Any, batch: Any) -> None:
    """Change the batch before the forward pass (adversarial examples, input noise).

    When: every training step, after ``on_batch_start``.

    ``batch`` is a mutable :class:`vaereg.Batch` with ``x`` (inputs in the data's range,
    [0, 1] for images), ``target`` (what the reconstruction is scored against; the same
    tensor as ``x`` unless a plugin sets it) and ``y`` (labels or None). Assign a new
    tensor to ``batch.x``; keep ``batch.target`` clean to train a denoising objective.

    Returns: nothing.
    """


@hookspec
def transform_objective(trainer: Any, objective: Any, batch: Any) -> None:
    """Change how the model's terms form the objective (KL schedules, free bits, an MMD
    term on the aggregate posterior).

    When: every training step, after the forward pass and the model's loss.

    ``objective`` is a :class:`vaereg.Objective`: ``terms`` (per-example tensors
    ``[batch]`` or ``[batch, ...]``, e.g. ``recon`` and ``kl`` per latent dimension, in
    nats), ``weights`` (the model's defaults, as changed by earlier plugins), ``outputs``
    (the model's forward pass: ``posterior``, a ``torch.distributions`` object, ``z``,
    ``output``) and ``penalties``. Change it only through its methods:
    ``scale(term, factor)`` multiplies a weight (two plugins scaling one term compose by
    multiplication); ``reduce_with(term, fn, owner)`` replaces the batch mean of one term
    by ``fn(term)`` (one owner per term); ``add_term(name, values, weight)``;
    ``add_penalty(name, scalar)``. The loss is then
    ``sum_t weight_t * reduce_t(term_t) + sum of penalties``; terms stay as measured, so
    logs stay comparable.

    Returns: nothing.
    """


@hookspec
def compute_penalties(trainer: Any, model: Any, batch: Any,
                      objective: Any) -> dict[str, Any] | None:
    """Return named penalty terms to add to the objective (explicit L2, sparsity).

    When: every training step, after ``transform_objective``.

    Returns: a dict ``{name: scalar tensor}`` or None. All results are collected; each
    penalty is added to the loss as it is and logged per step as ``penalty/<name>``.
    Two plugins returning the same name is an error.
    """


@hookspec
def on_before_backward(trainer: Any, loss: Any) -> None:
    """The total objective (loss plus penalties) is about to be back-propagated.

    Returns: nothing.
    """


@hookspec
def on_after_backward(trainer: Any) -> None:
    """Gradients are in ``.grad``; the optimizer has not stepped yet.

    It may change gradients (the step guard checks them after it), not weights.

    Returns: nothing.
    """


@hookspec
def on_before_optimizer_step(trainer: Any, optimizer: Any) -> None:
    """The optimizer is about to step (gradient clipping, decoupled decay).

    When: after the learning-rate schedule set this step's rates; only for an update the
    step guard took (not for a non-finite step, nor an fp16 overflow).

    Returns: nothing.
    """


@hookspec
def on_batch_end(trainer: Any, batch: Any, objective: Any, batch_idx: int,
                 scalars: dict[str, Any]) -> None:
    """The optimizer stepped (``trainer.step`` already counts it).

    Use it for proximal steps and constraints on the weights (run under ``torch.no_grad``
    by the plugin), and for per-step bookkeeping. ``objective`` is this step's
    :class:`vaereg.Objective`; ``scalars`` what the step reports, as detached tensors:
    ``loss``, each term's batch mean, ``neg_elbo`` when the model has one,
    ``penalty/<name>``. Every ``run.log_every_n_steps`` steps ``on_log_step`` follows,
    with them as ``train_step/<name>`` and what ``trainer.log`` received.
    Not called for an update the step guard did not take (a non-finite step skipped
    under ``run.on_nonfinite = "skip"``, an fp16 overflow).

    Returns: nothing.
    """


@hookspec
def on_log_step(trainer: Any, scalars: dict[str, float], step: int) -> None:
    """This step's figures are logged: the built-in scalars plugin writes them to
    TensorBoard, a tracking plugin (``mlflow``) sends them on.

    When: every ``run.log_every_n_steps`` optimizer steps, right after that step's
    ``on_batch_end``, in every process of a job (each with its own batch's figures;
    TensorBoard shows rank 0's). ``scalars`` maps names to floats: ``train_step/<name>``
    for each of ``on_batch_end``'s scalars, and what ``trainer.log`` received since the
    last logged step (``lr``, ...). ``step`` is ``trainer.step``.

    Returns: nothing.
    """


@hookspec
def on_validation_start(trainer: Any) -> None:
    """A validation pass begins; the model is in eval mode, gradients are off.

    Returns: nothing.
    """


@hookspec
def on_validation_end(trainer: Any, metrics: dict[str, float]) -> None:
    """A validation pass ended; ``metrics`` holds its ``val/...`` averages (mutable).

    The model is back in training mode. After every plugin answered, the core reads
    ``metrics[trainer.monitor]`` (an error if it is missing) for the plateau schedule;
    the built-in best.pt keeper and early stopping read it too.

    Returns: nothing.
    """


@hookspec
def on_test_end(trainer: Any, metrics: dict[str, float]) -> None:
    """The final evaluation ended; ``metrics`` is what ``metrics.json`` will hold and
    ``Trainer.fit`` returns (the figures, ``epochs``, ``steps``, ``history`` ...).

    Plugins may add entries (e.g. ``robust/neg_elbo``) that are saved with the rest; the
    built-in best.pt keeper adds ``best/...``, the best-validation weights' figures. The
    built-in run record answers last: it adds the timings and writes ``metrics.json``.

    Returns: nothing.
    """


@hookspec
def on_before_save_checkpoint(trainer: Any, path: Any) -> None:
    """A checkpoint is about to be written to ``path`` (a ``pathlib.Path``): write the files
    it refers to now (the built-in best.pt keeper writes best.pt here), so that a crash
    never leaves a checkpoint naming a file not yet written.

    When: before each checkpoint write, in the process that writes it (rank 0 of a job),
    before ``on_save_checkpoint`` collects the states; see there for when that is.

    Returns: nothing.
    """


@hookspec
def on_save_checkpoint(trainer: Any) -> dict | None:
    """Return this plugin's state to store in a checkpoint (counters, schedules, RNGs).

    When: every time the trainer's state is taken (``Trainer.state_dict()``): for each
    ``checkpoints/last.pt`` write, at ``[checkpoint]``'s cadence (``every_n_epochs``, at
    most every ``min_seconds``) and after the last epoch, and mid-epoch (after a batch's
    ``on_batch_end``) when SIGINT/SIGTERM stops the run. It must not write files (that is
    ``on_before_save_checkpoint``'s moment). The core calls each plugin's implementation on
    its own and stores the result under the plugin's recipe name, so two instances of one
    plugin keep separate states. The state must be made of tensors, numbers, strings,
    lists and dicts (checkpoints are loaded with ``weights_only``).

    Returns: the state dict, or None for nothing to store.
    """


@hookspec
def on_load_checkpoint(trainer: Any, state: dict) -> None:
    """Restore what ``on_save_checkpoint`` returned, when a run resumes.

    When: on resume, after the model and optimizer are restored, before
    ``on_train_start``. Called only for plugins that stored a state.

    Returns: nothing.
    """
