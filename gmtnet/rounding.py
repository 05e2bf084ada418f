"""Symmetry checks of reference tensors whose source rounded its values.

A source that stores C to whole GPa (the legacy Materials Project elastic set, 41 % of its rows)
leaves every stored component up to half a GPa from the value it rounded, so the paper's absolute
checks (forbidden components ≤ 1e-5, forced pairs within 1e-4, :meth:`gmtnet.symmetry.
SymmetryConstraints.check`) fail on it although nothing but rounding is wrong. Here the tolerance
is derived from the rounding instead:

* :func:`rounding_step`: the coarsest decimal step (1, 0.1, 0.01, ...) of which every stored Voigt
  component is a whole multiple; ``None`` for full-precision values;
* :func:`rounding_tolerances`: each stored component is within step/2 of the unrounded one. In the
  source's own frame a forbidden component may thus reach step/2 and a forced pair differ by one
  step. After a rotation into another frame each component of the rounding error is bounded by
  the error's Frobenius norm, ≤ (step/2)·√(3^rank) (all 3^rank full-rank components within
  step/2), and a pair by twice that;
* :func:`check_within_rounding`: the check at those tolerances.

A frame mistake (a tensor rotated against its crystal) breaks the allowed form by a sizeable
fraction of the tensor (tens of GPa for C), far beyond these tolerances, so it still fails.
"""

from __future__ import annotations

import numpy as np

from gmtnet.symmetry import SymmetryConstraints

__all__ = ["ROUNDING_STEPS", "rounding_step", "rounding_tolerances", "check_within_rounding", "reference_verdicts"]

#: Decimal steps tried, coarsest first.
ROUNDING_STEPS = (1.0, 0.1, 0.01, 0.001, 1e-4)


def rounding_step(values: np.ndarray) -> float | None:
    """The coarsest step in :data:`ROUNDING_STEPS` of which every value (e.g. a Voigt matrix as
    stored by its source, in its units) is a whole multiple, or ``None``. An all-zero array gives
    ``None`` (nothing tells how it was rounded)."""
    v = np.asarray(values, dtype=float).ravel()
    if not v.size or not np.isfinite(v).all() or not np.any(v):
        return None
    for step in ROUNDING_STEPS:
        q = v / step
        if np.all(np.abs(q - np.round(q)) <= 1e-6 * np.maximum(1.0, np.abs(q))):
            return step
    return None


def rounding_tolerances(step: float, rank: int, rotated: bool) -> tuple[float, float]:
    """``(zero_tol, equality_tol)`` for values rounded to ``step`` (see the module docstring);
    ``rotated``: whether the tensor was rotated out of the frame its source rounded it in."""
    half = 0.5 * float(step)
    bound = half * np.sqrt(3.0**rank) if rotated else half
    return float(bound), float(2.0 * bound)


def check_within_rounding(constraints: SymmetryConstraints, tensor: np.ndarray, step: float, rotated: bool) -> dict:
    """:meth:`SymmetryConstraints.check` at the tolerances of :func:`rounding_tolerances`; the
    returned dict also holds ``step``, ``zero_tol`` and ``equality_tol`` (kind's units)."""
    zero_tol, equality_tol = rounding_tolerances(step, constraints.kind.rank, rotated)
    out = constraints.check(tensor, zero_tol=zero_tol, equality_tol=equality_tol)
    return {**out, "step": float(step), "zero_tol": zero_tol, "equality_tol": equality_tol}


def _step_text(step: float, unit: str) -> str:
    return f"{step:g}" + (f" {unit}" if unit else "")


def reference_verdicts(constraints: SymmetryConstraints, tensor: np.ndarray, step: float | None, rotated: bool) -> dict:
    """The zero and equality verdicts for a reference tensor, in words.

    ``tensor``: full rank, in the frame of ``constraints``; ``step``: the source's rounding
    (:func:`rounding_step` of the values as stored), ``rotated``: whether ``tensor`` was rotated
    out of the frame it was stored in. Returns the strict check's dict (the paper's tolerances)
    with ``"zero"`` and ``"equality"`` set to ``"pass"``, ``"pass within the source's rounding of
    1 GPa"`` (a strict failure that the rounding explains), ``"fail (beyond the source's rounding
    of 0.001 GPa)"`` (one it does not) or ``"fail"`` (no rounding detected), and
    ``"rounding"``: the :func:`check_within_rounding` dict or ``None``.
    """
    strict = constraints.check(tensor)
    rounded = None if step is None else check_within_rounding(constraints, tensor, step, rotated)
    unit = constraints.kind.unit
    out = {**strict, "rounding": rounded}
    for name in ("zero", "equality"):
        if strict[f"{name}_ok"]:
            out[name] = "pass"
        elif rounded is not None and rounded[f"{name}_ok"]:
            out[name] = f"pass within the source's rounding of {_step_text(step, unit)}"
        elif rounded is not None:
            out[name] = f"fail (beyond the source's rounding of {_step_text(step, unit)})"
        else:
            out[name] = "fail"
    return out
