"""The GMTNet paper's evaluation metrics, overall and per crystal system.

All inputs are full-rank Cartesian tensors in the kind's units (ε dimensionless, e C/m², C GPa),
prediction and reference in the same frame. Errors are measured in the forms the paper uses:
ε as the 3x3 matrix, e as the 3x6 Voigt matrix, C as the 6x6 Voigt matrix (Voigt order does not
change a Frobenius norm; IEEE order is used).

Labels known only up to a set of candidates (``gmtnet.orientation``: IEEE-frame sources) are
scored against the candidate closest to the prediction (:func:`closest_candidates`); results are
reported over all rows that way (ambiguity-aware) and strictly over the rows with one candidate.
Confidence intervals: :func:`bootstrap_ci` resamples crystals.
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
    "closest_candidates",
    "relative_errors",
    "bootstrap_ci",
    "evaluate",
    "per_atom_metrics",
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


def closest_candidates(
    pred: np.ndarray, candidates: np.ndarray, mask: np.ndarray, kind: str | TensorKind
) -> tuple[np.ndarray, np.ndarray]:
    """Per crystal the candidate label closest to the prediction (Frobenius, paper form).

    Args:
        pred: ``(N, 3, ..., 3)``; candidates: ``(N, K, 3, ..., 3)``, kind's units, same frame;
        mask: ``(N, K)`` bool, True for real candidates (padding is never chosen).

    Returns:
        ``(N, 3, ..., 3)`` the chosen labels and ``(N,)`` their index.
    """
    k = get_kind(kind)
    p = paper_form(pred, k).reshape(len(pred), 1, -1)
    c = np.asarray(candidates, dtype=float)
    cf = to_voigt(c, k, order="ieee").reshape(len(c), c.shape[1], -1)
    dist = np.linalg.norm(cf - p, axis=2)
    dist = np.where(np.asarray(mask, dtype=bool), dist, np.inf)
    idx = dist.argmin(axis=1)
    return c[np.arange(len(c)), idx], idx


def relative_errors(pred: np.ndarray, true: np.ndarray, kind: str | TensorKind) -> np.ndarray:
    """Per-crystal ||pred − true||_F / ||true||_F in the paper's form, ``(N,)`` (inf for a zero
    reference unless the prediction is exactly zero, then 0)."""
    k = get_kind(kind)
    norms = np.linalg.norm(paper_form(true, k).reshape(len(_batch(true, k)), -1), axis=1)
    err = frobenius_errors(pred, true, k)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = err / norms
    return np.where(norms == 0, np.where(err == 0, 0.0, np.inf), rel)


def bootstrap_ci(values: np.ndarray, statistic=np.mean, n_resamples: int = 2000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` over crystals (rows of ``values``).

    Args:
        values: ``(N, ...)`` per-crystal quantities (e.g. errors, or 0/1 for EwT hits).
        statistic: reduces axis 0 of a resample (called on ``(n_resamples, N, ...)`` with ``axis=1``
            when it accepts ``axis``, as numpy reductions do).

    Returns:
        ``(low, high)`` of the central ``level`` interval.
    """
    v = np.asarray(values, dtype=float)
    if len(v) == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(v), size=(n_resamples, len(v)))
    stats = statistic(v[idx], axis=1)
    a = (1 - level) / 2
    return float(np.quantile(stats, a)), float(np.quantile(stats, 1 - a))


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
    candidates: np.ndarray | None = None,
    candidate_mask: np.ndarray | None = None,
    point_groups: Sequence[str] | None = None,
) -> dict:
    """All metrics, overall, per crystal system and (with ``point_groups``) per point-group class.

    Args:
        pred, true: ``(N, 3, ..., 3)`` full-rank tensors, kind's units, same frame.
        kind: tensor kind.
        constraints: each crystal's :class:`~gmtnet.symmetry.SymmetryConstraints` (for the
            zero-element and equality success rates).
        crystal_systems: each crystal's crystal system.
        candidates, candidate_mask: ``(N, K, 3, ..., 3)`` and ``(N, K)``: every label each row
            may be (``true`` among them). When given, each row is scored against the candidate
            closest to its prediction.
        point_groups: each crystal's Hermann-Mauguin point group (for ``per_point_group_class``).

    Returns:
        ``{"overall": {...}, "unique_rows": {...}, "per_crystal_system": {system: {...}},
        "per_point_group_class": {class: {...}}}``. ``overall`` and the breakdowns are over all
        rows (ambiguity-aware when candidates are given); ``unique_rows`` is strict, over the
        rows with a single candidate (all rows without candidates). Each entry has ``n``,
        ``fnorm`` (kind's units), ``ewt25``/``ewt10``/``ewt5`` and the success rates as shares
        0..1, and ``mean_label_norm``; ``overall`` also ``n_ambiguous``.
    """
    k = get_kind(kind)
    p, t = _batch(pred, k), _batch(true, k)
    systems = np.asarray(crystal_systems)
    if not (len(p) == len(t) == len(systems)):
        raise ValueError(f"lengths differ: {len(p)} predictions, {len(t)} references, {len(systems)} systems")
    if candidates is None:
        unique = np.ones(len(p), dtype=bool)
    else:
        mask = np.ones(np.shape(candidates)[:2], dtype=bool) if candidate_mask is None else np.asarray(candidate_mask)
        if len(mask) != len(p):
            raise ValueError(f"{len(p)} predictions but {len(mask)} candidate sets")
        t, _ = closest_candidates(p, candidates, mask, k)
        unique = mask.sum(axis=1) == 1
    zero_ok, eq_ok = symmetry_success(p, constraints)
    result = {
        "overall": _summary(p, t, k, zero_ok, eq_ok) | {"n_ambiguous": int((~unique).sum())},
        "unique_rows": _summary(p[unique], t[unique], k, zero_ok[unique], eq_ok[unique]) if unique.any() else {"n": 0},
        "per_crystal_system": {},
    }
    for system in sorted(set(systems.tolist())):
        m = systems == system
        result["per_crystal_system"][system] = _summary(p[m], t[m], k, zero_ok[m], eq_ok[m])
    if point_groups is not None:
        from gmtnet.data import point_group_class

        classes = np.array([point_group_class(g) for g in point_groups])
        result["per_point_group_class"] = {
            c: _summary(p[classes == c], t[classes == c], k, zero_ok[classes == c], eq_ok[classes == c])
            for c in ("centrosymmetric", "polar", "other")
            if (classes == c).any()
        }
    return result


def per_atom_metrics(pred, true) -> dict:
    """Accuracy of per-atom tensors (Born charges Z*), crystals given as lists of ``(n_b, 3, ..., 3)``
    arrays in the kind's units, same frames and site order.

    Returns:
        ``n_crystals``, ``n_atoms``; ``mae``: mean absolute error per component over all atoms'
        components (kind's unit); ``fnorm``: mean over crystals of the mean over their atoms of
        ||ΔT_κ||_F (the training loss, unscaled); ``atom_ewt25/10/5``: share (0..1) of atoms with
        ||ΔT_κ||_F / ||T_κ||_F ≤ 0.25 / 0.10 / 0.05; ``crystal_ewt25/10/5``: share of crystals
        whose stacked atoms satisfy it (||ΔT||_F / ||T||_F over all the crystal's components).
        ``≤`` (not ``<``): an exact prediction of a zero label counts as within.
    """
    if len(pred) != len(true):
        raise ValueError(f"{len(pred)} predicted crystals for {len(true)} labelled ones")
    if not len(pred):
        raise ValueError("no crystals to score")
    p = [np.asarray(a, dtype=float) for a in pred]
    t = [np.asarray(a, dtype=float) for a in true]
    for a, b in zip(p, t):
        if a.shape != b.shape:
            raise ValueError(f"prediction of shape {a.shape} for a label of shape {b.shape}")
    diff = np.concatenate([(a - b).reshape(len(b), -1) for a, b in zip(p, t)])
    ref = np.concatenate([b.reshape(len(b), -1) for b in t])
    atom_err = np.linalg.norm(diff, axis=1)
    atom_norm = np.linalg.norm(ref, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        atom_rel = np.where(atom_norm > 0, atom_err / atom_norm, np.where(atom_err > 0, np.inf, 0.0))
        crystal_rel = np.array([np.linalg.norm(a - b) / np.linalg.norm(b) if np.linalg.norm(b) > 0 else
                                (np.inf if np.linalg.norm(a - b) > 0 else 0.0) for a, b in zip(p, t)])
    fnorm_per_crystal = np.array([np.linalg.norm((a - b).reshape(len(b), -1), axis=1).mean() for a, b in zip(p, t)])
    out = {"n_crystals": len(t), "n_atoms": int(len(ref)), "mae": float(np.abs(diff).mean()),
           "fnorm": float(fnorm_per_crystal.mean())}
    for thr in EWT_THRESHOLDS:
        tag = int(round(thr * 100))
        out[f"atom_ewt{tag}"] = float(np.mean(atom_rel <= thr))
        out[f"crystal_ewt{tag}"] = float(np.mean(crystal_rel <= thr))
    return out
