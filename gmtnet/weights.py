"""Model files on disk: safetensors weights + a JSON config, and where the shipped ones are.

A model directory holds ``model.safetensors`` (the weights, no pickled code), ``config.json``
(``{"model": ModelConfig.to_dict(), "train": ..., "command": ...}`` for a network; another
top-level key for other models) and, for shipped models, a ``MODEL_CARD.md``. The shipped
directories are package resources (``gmtnet/resources/weights/<kind>``), found with
:mod:`importlib.resources` so they work from an installed package too.

This module is file I/O only: it builds no model, so every model family (the networks of
:mod:`gmtnet.models.network`, experiments outside the package) saves and loads through the same
two functions, :func:`write_weights` and :func:`read_weights`.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from safetensors.torch import load_file, save_file

from gmtnet.kinds import get_kind

__all__ = ["WEIGHTS_FILE", "CONFIG_FILE", "ENSEMBLE_FILE", "shipped_model_dir", "write_weights", "read_weights"]

WEIGHTS_FILE = "model.safetensors"
#: Marks an ensemble directory (``ensemble.json`` + ``member-<i>/``, :mod:`gmtnet.models.ensemble`).
ENSEMBLE_FILE = "ensemble.json"
CONFIG_FILE = "config.json"


def shipped_model_dir(kind: str) -> Path:
    """Directory of the shipped GMTNet weights for ``kind`` (inside the installed package): an
    ensemble directory (``ensemble.json`` + ``member-<i>/``, see :mod:`gmtnet.models.ensemble`)."""
    k = get_kind(kind)
    path = Path(str(resources.files("gmtnet.resources").joinpath("weights", k.name)))
    if not (path / WEIGHTS_FILE).is_file() and not (path / ENSEMBLE_FILE).is_file():
        raise FileNotFoundError(f"no shipped weights for {k.name!r} at {path}")
    return path


def write_weights(directory: str | Path, state: dict, config: dict) -> Path:
    """Write ``state`` (name → tensor; copied to CPU, contiguous) as ``model.safetensors`` and
    ``config`` (JSON-serialisable) as ``config.json`` into ``directory`` (created if missing)."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().to("cpu").contiguous() for k, v in state.items()}, str(out / WEIGHTS_FILE))
    (out / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return out


def read_weights(directory: str | Path) -> tuple[dict, dict]:
    """``(config, state)`` of a model directory: the parsed ``config.json`` and the CPU tensors of
    ``model.safetensors`` (safetensors: no unpickling).

    Raises:
        FileNotFoundError: either file is missing (naming both).
    """
    path = Path(directory)
    cfg_file, w_file = path / CONFIG_FILE, path / WEIGHTS_FILE
    if not cfg_file.is_file() or not w_file.is_file():
        raise FileNotFoundError(f"{path} must contain {CONFIG_FILE} and {WEIGHTS_FILE}")
    return json.loads(cfg_file.read_text()), load_file(str(w_file), device="cpu")
