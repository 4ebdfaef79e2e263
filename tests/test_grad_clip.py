"""grad_clip rescales gradients to the global norm it allows, logs the norm before."""
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from vaereg import hookimpl
from vaereg.plugins.grad_clip import clip_gradients
from vaereg.testing import check_conformance, make_trainer, tiny_recipe


def test_clipping_scales_all_gradients_to_the_largest_norm_allowed():
    a, b = torch.zeros(3, requires_grad=True), torch.zeros(4, requires_grad=True)
    a.grad, b.grad = torch.full((3,), 3.0), torch.full((4,), 4.0)
    before = clip_gradients([a, b], max_norm=1.0)
    assert float(before) == pytest.approx((9 * 3 + 16 * 4) ** 0.5)
    assert float(torch.cat([a.grad, b.grad]).norm()) == pytest.approx(1.0, rel=1e-5)


class GradientNorms:
    """Records the global gradient norm the optimizer step sees (after grad_clip)."""

    def __init__(self):
        self.norms = []

    @hookimpl
    def on_before_optimizer_step(self, optimizer):
        grads = [p.grad for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        self.norms.append(float(torch.cat([g.flatten() for g in grads]).norm()))


def test_in_a_run_every_step_is_clipped_and_the_norm_before_is_logged(tmp_path):
    probe = GradientNorms()
    trainer = make_trainer(tiny_recipe(plugins={"grad_clip": {"max_norm": 0.5}}), tmp_path,
                           extra_plugins=(("probe", probe),))
    trainer.fit()
    assert len(probe.norms) == 8 and max(probe.norms) <= 0.5 + 1e-5
    events = EventAccumulator(str(trainer.run_dir))
    events.Reload()
    logged = [e.value for e in events.Scalars("grad_clip/norm")]
    assert len(logged) == 8 and min(logged) > 0.5  # an untrained VAE's gradients are large


def test_conformance(tmp_path):
    check_conformance(tiny_recipe(plugins={"grad_clip": {"max_norm": 1.0}}), tmp_path)
