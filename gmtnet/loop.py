"""The one training loop: optimiser, learning-rate schedule, one epoch of gradient steps.

Everything that trains a network in this project (:func:`gmtnet.train.train`; experiments outside
the package, such as the encoder heads in ``research/``) sets up its optimiser with
:func:`make_optimizer` and runs its epochs with :func:`run_epoch`, so the optimiser, the schedule
and the order of a step's operations are written once:

* AdamW on the given parameter groups (a group may override ``weight_decay``);
* the learning rate ``lr * lr_factor(epoch)``: linear warm-up over ``warmup_epochs`` epochs, then
  cosine decay to ``min_lr`` at ``epochs`` (the scheduler steps once per epoch);
* per batch: loss, zero the gradients, backward, clip the gradient norm of the clipped
  parameters to ``grad_clip``, optimiser step, then the caller's ``after_step`` (e.g. an EMA
  update).

What differs between callers stays with them: the batches (order and content), the loss, the
weight averaging, validation and what is saved.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields

import torch

__all__ = ["OptimConfig", "lr_factor", "make_optimizer", "run_epoch", "ema_model"]


@dataclass(frozen=True)
class OptimConfig:
    """Optimiser and schedule settings (learning rates in the optimiser's units, per epoch).

    :meth:`of` takes them from any config object with these attribute names
    (:class:`gmtnet.train.TrainConfig` and the research configs have them all).
    """

    epochs: int
    lr: float
    min_lr: float
    weight_decay: float
    warmup_epochs: int
    grad_clip: float

    def __post_init__(self) -> None:
        if not (self.lr > 0 and self.min_lr >= 0 and self.weight_decay >= 0 and self.grad_clip > 0):
            raise ValueError(f"lr must be > 0, min_lr and weight_decay ≥ 0, grad_clip > 0; got {self}")
        if self.epochs < 0 or self.warmup_epochs < 0:
            raise ValueError(f"epochs and warmup_epochs must be ≥ 0; got {self}")

    @classmethod
    def of(cls, config) -> "OptimConfig":
        """The optimiser settings held by ``config`` (attributes of the same names)."""
        return cls(**{f.name: getattr(config, f.name) for f in fields(cls)})


def lr_factor(epoch: float, cfg: OptimConfig) -> float:
    """Multiplier of ``cfg.lr`` at ``epoch``: linear warm-up, then cosine decay to ``min_lr``."""
    if epoch < cfg.warmup_epochs:
        return (epoch + 1) / (cfg.warmup_epochs + 1)
    progress = (epoch - cfg.warmup_epochs) / max(1, cfg.epochs - cfg.warmup_epochs)
    floor = cfg.min_lr / cfg.lr
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def make_optimizer(param_groups: Sequence[dict] | Iterable[torch.nn.Parameter], cfg: OptimConfig):
    """``(optimizer, scheduler)``: AdamW with ``cfg.lr`` and ``cfg.weight_decay`` on
    ``param_groups`` and the per-epoch :func:`lr_factor` schedule."""
    opt = torch.optim.AdamW(param_groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda e: lr_factor(e, cfg))
    return opt, sched


def run_epoch(
    batches: Iterable,
    loss_of: Callable[[object], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    clipped: Callable[[], Iterable[torch.nn.Parameter]],
    grad_clip: float,
    after_step: Callable[[], None] | None = None,
) -> list[float]:
    """One epoch: a gradient step per batch, then one scheduler step.

    Args:
        batches: whatever ``loss_of`` takes, one per step (e.g. index arrays into the examples).
        loss_of: the scalar loss of one batch (the model in train mode is the caller's business).
        clipped: the parameters whose gradient norm is clipped (a callable, evaluated per step).
        after_step: called after each optimiser step (weight averaging).

    Returns:
        the loss of each step (floats).
    """
    losses = []
    for batch in batches:
        loss = loss_of(batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(clipped(), grad_clip)
        optimizer.step()
        if after_step is not None:
            after_step()
        losses.append(loss.item())
    scheduler.step()
    return losses


def ema_model(model: torch.nn.Module, decay: float):
    """Exponential moving average of ``model``'s weights, updated with ``.update_parameters(model)``
    after each step and read from ``.module`` (``None`` when ``decay`` is 0)."""
    if not decay:
        return None
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay))
