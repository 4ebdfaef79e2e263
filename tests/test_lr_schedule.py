"""[scheduler]: closed-form rates per step and epoch, the plateau rule, logged, resumable."""

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from vaereg import RecipeError, load_recipe
from vaereg.core.recipes.lr_schedule import LRSchedule, SchedulerOptions
from vaereg.testing import check_conformance, make_trainer, tiny_recipe


def schedule(run_epochs=10, **options):
    optimizer = torch.optim.SGD([{"params": [torch.zeros(1)], "lr": 0.1},
                                 {"params": [torch.zeros(1)], "lr": 0.01}], lr=0.1)
    return LRSchedule(SchedulerOptions(**options), optimizer, run_epochs), optimizer


@pytest.mark.parametrize("options, epoch, factor", [
    ({"name": "exponential", "gamma": 0.95}, 3, 0.95 ** 3),
    ({"name": "step", "gamma": 0.5, "step_size": 4}, 9, 0.25),
    ({"name": "cosine"}, 5, 0.5),
    ({"name": "cosine", "min_factor": 0.1}, 10, 0.1),
    ({"name": "cosine", "total_epochs": 4}, 8, 0.0),
    ({"name": "none"}, 7, 1.0),
])
def test_each_schedule_sets_every_group_from_its_base_rate(options, epoch, factor):
    lr, optimizer = schedule(**options)
    lr.apply(step=1000, epoch=epoch)
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([0.1 * factor, 0.01 * factor])


def test_warmup_is_linear_in_steps_and_multiplies_the_decay():
    lr, optimizer = schedule(name="exponential", gamma=0.5, warmup_steps=4)
    assert [lr.factor(step, 0) for step in range(6)] == pytest.approx([0.25, 0.5, 0.75, 1, 1, 1])
    assert lr.factor(1, 2) == pytest.approx(0.5 * 0.25)


def test_plateau_reduces_after_patience_validations_without_improvement():
    lr, _ = schedule(name="plateau", factor=0.5, patience=1, min_delta=0.1)
    for value in (10.0, 9.0, 8.95, 8.95):  # the last two improve by less than min_delta
        lr.on_validation(value)
    assert lr.decay(0) == 0.5
    restored, _ = schedule(name="plateau", factor=0.5, patience=1, min_delta=0.1)
    restored.load_state_dict(lr.state_dict())
    restored.on_validation(8.9)
    lr.on_validation(8.9)
    assert restored.decay(0) == lr.decay(0)


def test_the_rate_in_force_is_logged_every_step(tmp_path):
    table = tiny_recipe(optimizer={"lr": 0.01}, scheduler={"name": "exponential", "gamma": 0.5})
    trainer = make_trainer(table, tmp_path)
    trainer.fit()  # 2 epochs x 4 steps
    events = EventAccumulator(str(trainer.run_dir))
    events.Reload()
    assert [e.value for e in events.Scalars("lr")] == pytest.approx([0.01] * 4 + [0.005] * 4)


@pytest.mark.parametrize("scheduler", [{"name": "cosine", "warmup_steps": 3},
                                       {"name": "plateau", "patience": 0}])
def test_schedules_resume_bit_exactly(tmp_path, scheduler):
    check_conformance(tiny_recipe(run={"epochs": 3}, scheduler=scheduler), tmp_path)


def test_resuming_with_more_epochs_keeps_the_cosine_length(tmp_path):
    """T = run.epochs = 2 when the run starts; continued to 3 epochs, the third epoch
    runs at the final rate, as a 3-epoch run with total_epochs = 2 does, instead of the
    curve restarting with T = 3."""
    table = tiny_recipe(optimizer={"lr": 0.01}, scheduler={"name": "cosine", "min_factor": 0.1})
    first = make_trainer(table, tmp_path)
    first.fit()  # 2 epochs x 4 steps
    resumed = make_trainer(table, tmp_path, overrides=("run.epochs=3",))
    resumed.fit(run_dir=first.run_dir, resume=True)
    events = EventAccumulator(str(first.run_dir))
    events.Reload()
    rates = [e.value for e in events.Scalars("lr")]
    assert rates == pytest.approx([0.01] * 4 + [0.0055] * 4 + [0.001] * 4)
    planned = make_trainer(table, tmp_path, overrides=("run.epochs=3",
                                                       "scheduler.total_epochs=2"))
    planned.fit()
    for name, value in planned.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name


def test_a_non_finite_or_non_positive_learning_rate_is_refused():
    for value in ("inf", "nan", "-1e-3", "0.0"):
        with pytest.raises(RecipeError, match="optimizer.lr: expected a positive finite number"):
            load_recipe(table=tiny_recipe(), overrides=[f"optimizer.lr={value}"])
