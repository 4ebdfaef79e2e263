"""The core: everything a run needs that is not a model, a dataset or a regularizer.

Its subsystems, from the bottom up; each imports only those below it (declared and
checked in tests/test_import_direction.py):

- ``common``: errors, validated options, atomic files, import paths, seeds.
- ``model``: the model contract, a step's objective, building a model that fits memory.
- ``data``: the glue between any dataset and the loop: batches, ``[data]`` core keys,
  class subsets, split preparation, what the data is (images or not).
- ``scale``: devices, precision, torchrun processes and their shards.
- ``recipes``: loading and validating recipes, their sections, the name registries.
- ``hooks``: the hook specification and the plugin manager that calls it.
- ``run_folder``: run folders, checkpoints, resuming, TensorBoard files.
- ``reliability``: the step guard, non-finite checks, stop signals, how a run ends.
- ``builtin``: the core's own plugins (run record, pictures, scalars, best checkpoint).
- ``loop``: the Trainer and its checkpointed state.
"""
