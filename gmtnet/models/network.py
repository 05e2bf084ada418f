"""Building, saving, loading and running the from-scratch networks (GMTNet and the baselines).

:func:`build_model` is the one builder (``ModelConfig.architecture`` → class);
:func:`save_model` / :func:`load_model` put a network and its :class:`~gmtnet.models.ModelConfig`
on disk through :mod:`gmtnet.weights` (safetensors + JSON, no unpickling); :func:`run_model` runs one
in batches of crystal graphs. Outputs are full rank, in each structure's Cartesian frame and the
kind's unit (ε dimensionless, e C/m², C GPa).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from gmtnet.graph import CrystalGraph, collate
from gmtnet.models.config import ARCHITECTURES, ModelConfig
from gmtnet.models.etgnn import ETGNNBaseline
from gmtnet.models.gmtnet import GMTNet
from gmtnet.models.megnet import MEGNetBaseline
from gmtnet.models.output import TensorModel
from gmtnet.weights import read_weights, write_weights

__all__ = ["BUILDERS", "build_model", "count_parameters", "resolve_device", "save_model", "load_model", "run_model"]

#: Class of each architecture of :data:`gmtnet.models.config.ARCHITECTURES` (same keys, same order).
BUILDERS = {"gmtnet": GMTNet, "megnet": MEGNetBaseline, "etgnn": ETGNNBaseline}
if tuple(BUILDERS) != ARCHITECTURES:  # the config validates against ARCHITECTURES: keep them one list
    raise ImportError(f"gmtnet.models.network.BUILDERS {tuple(BUILDERS)} != ARCHITECTURES {ARCHITECTURES}")


def build_model(config: ModelConfig | dict) -> TensorModel:
    """Build the model described by ``config`` (a :class:`ModelConfig` or its dict).

    Returns:
        a :class:`TensorModel` (``model.config`` is the resolved config); float32, CPU, train mode.
    """
    if isinstance(config, dict):
        config = ModelConfig.from_dict(config)
    elif not isinstance(config, ModelConfig):
        raise ValueError(f"config must be a ModelConfig or a dict, got {type(config).__name__}")
    return BUILDERS[config.architecture](config)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` → CUDA when a GPU is visible, else CPU; ``"cuda"`` without a GPU → ValueError."""
    if isinstance(device, torch.device):
        device = str(device)
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but no CUDA GPU is available; use 'cpu' or 'auto'")
    try:
        return torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"unknown device {device!r}: {err}") from None


def save_model(model: torch.nn.Module, directory: str | Path, extra: dict | None = None) -> Path:
    """Write ``model.safetensors`` and ``config.json`` (``{"model": config, **extra}``) to ``directory``."""
    return write_weights(directory, model.state_dict(), {"model": model.config.to_dict(), **(extra or {})})


def load_model(directory: str | Path, device: str | torch.device = "auto") -> torch.nn.Module:
    """Rebuild a network from its ``config.json`` and load ``model.safetensors`` (no unpickling).

    Returns:
        The model in eval mode on the resolved device.
    """
    config, state = read_weights(directory)
    dev = resolve_device(device)
    model = build_model(ModelConfig.from_dict(config["model"]))
    model.load_state_dict(state)
    return model.to(dev).eval()


def run_model(model: torch.nn.Module, graphs: Sequence[CrystalGraph], projectors: np.ndarray | None,
              batch_size: int = 64, members: int | None = None) -> np.ndarray:
    """Run ``model`` over graphs in batches; returns ``(N, 3, ..., 3)`` float64 in the kind's units,
    or ``(members, N, 3, ..., 3)`` for a model that evaluates several members at once
    (:class:`~gmtnet.models.stacked.StackedGMTNet`, ``members`` its member count).

    ``projectors``: ``(N, d, d)`` Neumann projectors handed to the model (or ``None``).
    """
    device = next(model.parameters()).device
    out = []
    with torch.inference_mode():
        for start in range(0, len(graphs), batch_size):
            stop = start + batch_size
            proj = None if projectors is None else projectors[start:stop]
            batch = collate(graphs[start:stop], proj).to(device)
            out.append((model.traced(batch) if members else model(batch)).double().cpu().numpy())
    axis = 0 if members is None else 1
    if out:
        return np.concatenate(out, axis=axis)
    shape = model.kind.shape  # every TensorModel and StackedGMTNet carries its kind object
    return np.zeros((0, *shape) if members is None else (members, 0, *shape))

