"""The one training loop (gmtnet.loop): schedule values, optimiser set-up, the order of a step."""

from __future__ import annotations

import math

import pytest
import torch

from gmtnet.loop import OptimConfig, ema_model, lr_factor, make_optimizer, run_epoch
from gmtnet.train import TrainConfig

CFG = OptimConfig(epochs=10, lr=1e-2, min_lr=1e-4, weight_decay=1e-6, warmup_epochs=3, grad_clip=1.0)


def test_schedule_warms_up_linearly_then_decays_to_min_lr():
    assert [lr_factor(e, CFG) for e in range(3)] == pytest.approx([0.25, 0.5, 0.75])
    assert lr_factor(3, CFG) == pytest.approx(1.0)
    assert lr_factor(10, CFG) == pytest.approx(CFG.min_lr / CFG.lr)
    assert lr_factor(50, CFG) == pytest.approx(CFG.min_lr / CFG.lr)  # stays at the floor
    mid = 3 + 3.5  # half-way through the cosine
    assert lr_factor(mid, CFG) == pytest.approx(0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * 0.5)))


def test_optim_config_is_read_from_a_training_config():
    t = TrainConfig(kind="dielectric", epochs=7, lr=3e-3, min_lr=1e-6, weight_decay=0.0, warmup_epochs=2, grad_clip=5.0)
    assert OptimConfig.of(t) == OptimConfig(epochs=7, lr=3e-3, min_lr=1e-6, weight_decay=0.0, warmup_epochs=2, grad_clip=5.0)


@pytest.mark.parametrize("bad", [dict(lr=0.0), dict(min_lr=-1.0), dict(grad_clip=0.0), dict(epochs=-1), dict(warmup_epochs=-2)])
def test_bad_optim_config_is_refused(bad):
    with pytest.raises(ValueError):
        OptimConfig(**{**CFG.__dict__, **bad})


def test_epoch_steps_per_batch_clips_and_steps_the_schedule_once():
    torch.manual_seed(0)
    w = torch.nn.Parameter(torch.tensor([3.0, -4.0]))
    opt, sched = make_optimizer([{"params": [w]}], CFG)
    assert opt.param_groups[0]["lr"] == pytest.approx(CFG.lr * 0.25)  # epoch 0 of the warm-up
    seen_norms, after = [], []

    def loss_of(scale: float) -> torch.Tensor:
        return scale * (w**2).sum()

    def record() -> None:
        after.append(w.detach().clone())
        seen_norms.append(float(w.grad.norm()))

    losses = run_epoch([1.0, 10.0, 100.0], loss_of, opt, sched, lambda: [w], CFG.grad_clip, record)
    assert len(losses) == 3 and len(after) == 3
    assert max(seen_norms) <= CFG.grad_clip + 1e-6  # gradients clipped before the step
    assert opt.param_groups[0]["lr"] == pytest.approx(CFG.lr * 0.5)  # one scheduler step per epoch
    assert not torch.equal(after[0], after[1])


def test_ema_is_none_without_decay_and_averages_with_it():
    net = torch.nn.Linear(2, 1)
    assert ema_model(net, 0.0) is None
    ema = ema_model(net, 0.5)
    ema.update_parameters(net)
    with torch.no_grad():
        net.weight.add_(2.0)
    ema.update_parameters(net)
    assert torch.allclose(ema.module.weight, net.weight - 1.0)
