"""grad_normalize divides each gradient by its own norm; with Adam it is the AdamNormGrad
the VampPrior and Exemplar VAE code train with."""
import math

import pytest
import torch

from vaereg import hookimpl
from vaereg.plugins.grad_normalize import normalize_gradients
from vaereg.testing import check_conformance, make_trainer, tiny_recipe


def test_each_gradient_gets_unit_norm_and_a_zero_gradient_stays_zero():
    a, b, c = (torch.zeros(n, requires_grad=True) for n in (3, 4, 2))
    a.grad, b.grad, c.grad = torch.full((3,), 3.0), torch.tensor([0.0, 40.0, 0.0, 30.0]), \
        torch.zeros(2)
    normalize_gradients([a, b, c], eps=1e-7)
    assert float(a.grad.norm()) == pytest.approx(1.0, abs=1e-6)
    assert b.grad.tolist() == pytest.approx([0.0, 0.8, 0.0, 0.6], abs=1e-7)
    assert c.grad.tolist() == [0.0, 0.0]


def adam_norm_grad_step(p, grad, state, lr, betas=(0.9, 0.999), eps=1e-8):
    """AdamNormGrad's step as Tomczak & Welling's code writes it (utils/optimizer.py)."""
    grad = grad / (grad.norm(2) + 1e-7)
    state["step"] += 1
    state["m"].mul_(betas[0]).add_(grad, alpha=1 - betas[0])
    state["v"].mul_(betas[1]).addcmul_(grad, grad, value=1 - betas[1])
    denom = state["v"].sqrt().add_(eps)
    step_size = lr * math.sqrt(1 - betas[1] ** state["step"]) / (1 - betas[0] ** state["step"])
    p.addcdiv_(state["m"], denom, value=-step_size)


def test_adam_after_grad_normalize_takes_adam_norm_grads_steps():
    torch.manual_seed(0)
    start = torch.randn(5, 7, dtype=torch.float64)
    ours, plain = start.clone().requires_grad_(), start.clone().requires_grad_()
    theirs = start.clone()
    optimizers = [torch.optim.Adam([p], lr=5e-4, eps=1e-14) for p in (ours, plain)]
    state = {"step": 0, "m": torch.zeros_like(start), "v": torch.zeros_like(start)}
    for scale in (1e-3, 10.0, 1e4):  # steps that differ by orders of magnitude
        grad = scale * torch.randn(5, 7, dtype=torch.float64)
        ours.grad, plain.grad = grad.clone(), grad.clone()
        normalize_gradients([ours])
        for optimizer in optimizers:
            optimizer.step()
        adam_norm_grad_step(theirs, grad, state, lr=5e-4, eps=1e-14)
    # the same steps (the codes add Adam's eps in different places: it is tiny here)
    assert torch.allclose(ours.detach() - start, theirs - start, rtol=1e-9, atol=0)
    # plain Adam's moments weigh the 1e4 gradient 1e7 times the first: other steps
    assert (plain.detach() - theirs).abs().max() > 1e-5


class GradientNorms:
    """Records each parameter's gradient norm the optimizer step sees."""

    def __init__(self):
        self.norms = []

    @hookimpl
    def on_before_optimizer_step(self, optimizer):
        self.norms += [float(p.grad.norm()) for g in optimizer.param_groups for p in g["params"]
                       if p.grad is not None]


def test_in_a_run_every_parameters_gradient_reaches_the_step_with_unit_norm(tmp_path):
    probe = GradientNorms()
    trainer = make_trainer(tiny_recipe(plugins={"grad_normalize": {}}), tmp_path,
                           extra_plugins=(("probe", probe),))
    trainer.fit()
    tensors = len(list(trainer.model.parameters()))
    assert len(probe.norms) == 8 * tensors
    assert probe.norms == pytest.approx([1.0] * len(probe.norms), abs=1e-5)


def test_conformance(tmp_path):
    check_conformance(tiny_recipe(plugins={"grad_normalize": {}}), tmp_path)
