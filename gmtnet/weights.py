"""Saving and loading trained models: safetensors weights + the resolved config as JSON.

A model directory holds ``model.safetensors`` (the weights, no pickled code), ``config.json``
(``{"model": ModelConfig.to_dict(), "train": ..., "command": ...}``), and for shipped models a
``MODEL_CARD.md``. The shipped directories are package resources (``gmtnet/resources/weights/<kind>``),
found with :mod:`importlib.resources` so they work from an installed package too.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from gmtnet.kinds import get_kind

__all__ = ["WEIGHTS_FILE", "CONFIG_FILE", "resolve_device", "shipped_model_dir", "save_model", "load_model"]

WEIGHTS_FILE = "model.safetensors"
#: Marks an ensemble directory (kept here, not imported from gmtnet.models.ensemble, to keep this module light).
ENSEMBLE_FILE = "ensemble.json"
CONFIG_FILE = "config.json"


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


def shipped_model_dir(kind: str) -> Path:
    """Directory of the shipped GMTNet weights for ``kind`` (inside the installed package): an
    ensemble directory (``ensemble.json`` + ``member-<i>/``, see :mod:`gmtnet.models.ensemble`)."""
    k = get_kind(kind)
    path = Path(str(resources.files("gmtnet.resources").joinpath("weights", k.name)))
    if not (path / WEIGHTS_FILE).is_file() and not (path / ENSEMBLE_FILE).is_file():
        raise FileNotFoundError(f"no shipped weights for {k.name!r} at {path}")
    return path


def save_model(model: torch.nn.Module, directory: str | Path, extra: dict | None = None) -> Path:
    """Write ``model.safetensors`` and ``config.json`` (model config plus ``extra``) to ``directory``."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out / WEIGHTS_FILE))
    config = {"model": model.config.to_dict(), **(extra or {})}
    (out / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return out


def load_model(directory: str | Path, device: str | torch.device = "auto") -> torch.nn.Module:
    """Rebuild a model from its ``config.json`` and load ``model.safetensors`` (no unpickling).

    Returns:
        The model in eval mode on the resolved device.
    """
    from gmtnet.models import ModelConfig, build_model

    path = Path(directory)
    cfg_file, w_file = path / CONFIG_FILE, path / WEIGHTS_FILE
    if not cfg_file.is_file() or not w_file.is_file():
        raise FileNotFoundError(f"{path} must contain {CONFIG_FILE} and {WEIGHTS_FILE}")
    config = ModelConfig.from_dict(json.loads(cfg_file.read_text())["model"])
    dev = resolve_device(device)
    model = build_model(config)
    model.load_state_dict(load_file(str(w_file), device="cpu"))
    return model.to(dev).eval()
