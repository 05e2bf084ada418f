"""The GMTNet paper's evaluation metrics, overall and per crystal system.

All inputs are full-rank Cartesian tensors in the kind's units (ε dimensionless, e C/m², C GPa),
prediction and reference in the same frame. Errors are measured in the forms the paper uses:
ε as the 3x3 matrix, e as the 3x6 Voigt matrix, C as the 6x6 Voigt matrix (Voigt order does not
change a Frobenius norm; IEEE order is used).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gmtnet.kinds import TensorKind, get_kind
from gmtnet.symmetry import SymmetryConstraints
from gmtnet.tensors import to_voigt

__all__ = [
    "EWT_THRESHOLDS",
    "ZERO_TOL",
    "EQUALITY_TOL",
    "paper_form",
    "frobenius_errors",
    "fnorm",
    "ewt",
    "symmetry_success",
    "evaluate",
]

#: EwT thresholds (relative Frobenius error) reported by the paper.
EWT_THRESHOLDS = (0.25, 0.10, 0.05)
#: A symmetry-forbidden component above this magnitude (kind's units) fails the zero check.
ZERO_TOL = 1e-5
#: A pair of components forced equal/opposite that differs by more fails the equality check.
EQUALITY_TOL = 1e-4


def _batch(tensors, k: TensorKind) -> np.ndarray:
    t = np.asarray(tensors, dtype=float)
    if t.ndim == k.rank:
        t = t[None]
    if t.shape[1:] != k.shape:
        raise ValueError(f"{k.name} tensors must have shape (N, {', '.join(['3'] * k.rank)}), got {t.shape}")
    return t


def paper_form(tensors: np.ndarray, kind: str | TensorKind) -> np.ndarray:
    """``(N, 3, ..., 3)`` full-rank tensors -> ``(N, rows, cols)`` in the paper's matrix form."""
    k = get_kind(kind)
    return to_voigt(_batch(tensors, k), k, order="ieee")


def frobenius_errors(pred: np.ndarray, true: np.ndarray, kind: str | TensorKind) -> np.ndarray:
    """Per-crystal ||pred − true||_F in the paper's form, ``(N,)``, in the kind's units."""
    k = get_kind(kind)
    p, t = paper_form(pred, k), paper_form(true, k)
    if p.shape != t.shape:
        raise ValueError(f"prediction shape {p.shape} does not match reference shape {t.shape}")
    return np.linalg.norm((p - t).reshape(len(p), -1), axis=1)


def fnorm(pred: np.ndarray, true: np.ndarray, kind: str | TensorKind) -> float:
    """The paper's Fnorm: mean Frobenius error over crystals, in the kind's units."""
    return float(frobenius_errors(pred, true, kind).mean())


def ewt(pred: np.ndarray, true: np.ndarray, kind: str | TensorKind, threshold: float) -> float:
    """Energy-within-threshold analogue: share (0..1) of crystals with ||pred−true||_F/||true||_F < threshold."""
    k = get_kind(kind)
    norms = np.linalg.norm(paper_form(true, k).reshape(len(_batch(true, k)), -1), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = frobenius_errors(pred, true, k) / norms
    # A zero reference (allowed for piezo) is matched only by an exactly zero prediction.
    rel = np.where(norms == 0, np.where(frobenius_errors(pred, true, k) == 0, 0.0, np.inf), rel)
    return float((rel < threshold).mean())


def symmetry_success(
    pred: np.ndarray,
    constraints: Sequence[SymmetryConstraints],
    zero_tol: float = ZERO_TOL,
    equality_tol: float = EQUALITY_TOL,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-crystal zero-element and equality checks of predictions against each crystal's form.

    Returns:
        Two bool arrays ``(N,)``: no forbidden component above ``zero_tol``; no forced pair
        differing by more than ``equality_tol`` (absolute, kind's units).
    """
    if len(pred) != len(constraints):
        raise ValueError(f"{len(pred)} predictions but {len(constraints)} constraint sets")
    checks = [c.check(p, zero_tol, equality_tol) for p, c in zip(pred, constraints)]
    return np.array([c["zero_ok"] for c in checks]), np.array([c["equality_ok"] for c in checks])


def _summary(pred, true, k, zero_ok, eq_ok) -> dict:
    out = {"n": int(len(pred)), "fnorm": fnorm(pred, true, k)}
    for th in EWT_THRESHOLDS:
        out[f"ewt{round(th * 100)}"] = ewt(pred, true, k, th)
    out["mean_label_norm"] = float(np.linalg.norm(paper_form(true, k).reshape(len(pred), -1), axis=1).mean())
    out["zero_success"] = float(zero_ok.mean())
    out["equality_success"] = float(eq_ok.mean())
    return out


def evaluate(
    pred: np.ndarray,
    true: np.ndarray,
    kind: str | TensorKind,
    constraints: Sequence[SymmetryConstraints],
    crystal_systems: Sequence[str],
) -> dict:
    """All metrics, overall and per crystal system.

    Args:
        pred, true: ``(N, 3, ..., 3)`` full-rank tensors, kind's units, same frame.
        kind: tensor kind.
        constraints: each crystal's :class:`~gmtnet.symmetry.SymmetryConstraints` (for the
            zero-element and equality success rates).
        crystal_systems: each crystal's crystal system.

    Returns:
        ``{"overall": {...}, "per_crystal_system": {system: {...}}}``; each entry has ``n``,
        ``fnorm`` (kind's units), ``ewt25``/``ewt10``/``ewt5`` and the success rates as shares 0..1,
        and ``mean_label_norm``.
    """
    k = get_kind(kind)
    p, t = _batch(pred, k), _batch(true, k)
    systems = np.asarray(crystal_systems)
    if not (len(p) == len(t) == len(systems)):
        raise ValueError(f"lengths differ: {len(p)} predictions, {len(t)} references, {len(systems)} systems")
    zero_ok, eq_ok = symmetry_success(p, constraints)
    result = {"overall": _summary(p, t, k, zero_ok, eq_ok), "per_crystal_system": {}}
    for system in sorted(set(systems.tolist())):
        m = systems == system
        result["per_crystal_system"][system] = _summary(p[m], t[m], k, zero_ok[m], eq_ok[m])
    return result
