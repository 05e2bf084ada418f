"""The unit sphere: sampling, axis signs, principal axes, and the search for the extremum of a
directional quantity f(n) or f(n, m ⟂ n) (dense sampling, then BFGS refinement).

Shared by the kinds' extrema and surfaces (:mod:`gmtnet.kinds`) and by :mod:`gmtnet.properties`;
numpy at import (scipy when a search refines), nothing from the rest of the package. Directions are
``(..., 3)`` unit vectors in the frame of the tensor they belong to; values are in the quantity's unit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Extremum",
    "fibonacci_sphere",
    "canonical_sign",
    "principal_axes",
    "perpendicular_directions",
    "N_STARTS",
    "sphere_extremum",
    "pair_extremum",
]


@dataclass(frozen=True)
class Extremum:
    """A minimum or maximum of a directional quantity.

    Attributes:
        value: the extremal value, in the quantity's unit.
        n: ``(3,)`` unit vector (structure frame) where it is reached; ``-n`` is equivalent for the
            even quantities (E, β, G, ν), not for the odd longitudinal piezo response.
        m: ``(3,)`` second unit vector, ⟂ ``n`` (shear modulus, Poisson ratio), else ``None``.
    """

    value: float
    n: np.ndarray
    m: np.ndarray | None = None


def fibonacci_sphere(n: int) -> np.ndarray:
    """``(n, 3)`` nearly uniform unit vectors on the sphere (golden-angle spiral)."""
    if n < 1:
        raise ValueError(f"n must be a positive number of points, got {n}")
    i = np.arange(n) + 0.5
    z = 1.0 - 2.0 * i / n
    r = np.sqrt(1.0 - z * z)
    phi = math.pi * (3.0 - math.sqrt(5.0)) * i
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=-1)


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def canonical_sign(v: np.ndarray) -> np.ndarray:
    """±v with its largest-magnitude component positive: a stable choice for axes (v ≡ −v)."""
    v = np.asarray(v, dtype=float)
    return v if v[np.argmax(np.abs(v))] >= 0 else -v


def _cross3(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """u × v for two ``(3,)`` vectors: np.cross's own formula without its axis handling, which was a
    third of the extremum searches' time (thousands of calls on single vectors)."""
    return np.array([u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]])


def _perpendicular_basis(n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors a, b with (a, b, n) right-handed and orthonormal."""
    helper = np.eye(3)[np.argmin(np.abs(n))]
    a = _unit(_cross3(n, helper))
    return a, _cross3(n, a)


def _refine_direction(f: Callable[[np.ndarray], float], n0: np.ndarray, sign: float) -> tuple[float, np.ndarray]:
    """Polish a sampled extremum of f on the unit sphere; returns (f, n).

    f is evaluated on v/|v|, so the search is unconstrained in 3D (the radial direction is flat).
    """
    from scipy.optimize import minimize  # scipy only when a search runs: the kinds import this module

    res = minimize(lambda v: sign * f(_unit(v)), n0, method="BFGS", options={"gtol": 1e-10})
    n = _unit(res.x)
    best = f(n)
    # The sample can already be the better point when the optimiser wanders off a flat region.
    return (best, n) if sign * best <= sign * f(n0) else (f(n0), n0)


#: Starting points refined per extremum search: the best samples from separate basins (3: the
#: fewest that find every extremum of the dense-grid test; one start missed 9 of 464 tensor ×
#: quantity cases of the test split, e.g. Cu E_min, and each start costs ~50 ms per quantity).
N_STARTS = 3
#: Two samples closer than this angle (degrees) count as one basin.
_BASIN_DEG = 20.0


def _distinct_best(order: np.ndarray, dirs: np.ndarray, k: int, axis: bool = True) -> list[int]:
    """Indices of up to ``k`` best samples (``order``: best first) at least :data:`_BASIN_DEG`
    apart; with ``axis`` n and −n count as the same direction."""
    cos_max = math.cos(math.radians(_BASIN_DEG))
    picked: list[int] = []
    for i in order:
        d = dirs[i]
        if all((abs(float(d @ dirs[j])) if axis else float(d @ dirs[j])) < cos_max for j in picked):
            picked.append(int(i))
            if len(picked) == k:
                break
    return picked


def sphere_extremum(f_batch: Callable[[np.ndarray], np.ndarray], sign: float, n_samples: int, axis: bool = True) -> Extremum:
    """min (sign=+1) or max (sign=-1) of a directional function: dense sampling, then BFGS from
    the best samples of :data:`N_STARTS` separate basins; the best refined point wins."""
    pts = fibonacci_sphere(n_samples)
    vals = f_batch(pts)
    order = np.argsort(sign * vals, kind="stable")[: max(50, 10 * N_STARTS)]
    best = None
    for i in _distinct_best(order, pts, N_STARTS, axis=axis):
        value, n = _refine_direction(lambda v: float(f_batch(v[None])[0]), pts[i], sign)
        if best is None or sign * value < sign * best[0]:
            best = (value, n)
    value, n = best
    return Extremum(float(value), canonical_sign(n) if axis else n)


def perpendicular_directions(ns: np.ndarray, psi: np.ndarray) -> np.ndarray:
    """``(len(ns), len(psi), 3)`` unit vectors m ⟂ n at angles ``psi`` (radians) around each of the
    ``(k, 3)`` unit vectors ``ns``, measured from a basis vector built with the axis least aligned
    with n (vectorised over n: the same arithmetic for every row)."""
    a = _unit(np.cross(ns, np.eye(3)[np.argmin(np.abs(ns), axis=1)]))
    b = np.cross(ns, a)
    return np.cos(psi)[None, :, None] * a[:, None, :] + np.sin(psi)[None, :, None] * b[:, None, :]


def pair_extremum(
    f_pairs: Callable[[np.ndarray, np.ndarray], np.ndarray], sign: float, n_dirs: int, n_angles: int
) -> Extremum:
    """Extremum of f(n, m) over perpendicular unit pairs: sample n and m's angle, then refine.

    f must be even in n and in m (true for shear modulus and Poisson ratio), so the angle of m
    around n is sampled on [0, π) only.
    """
    ns = fibonacci_sphere(n_dirs)
    psi = np.linspace(0.0, math.pi, n_angles, endpoint=False)
    ms = perpendicular_directions(ns, psi)  # (n_dirs, n_angles, 3)
    nn = np.broadcast_to(ns[:, None, :], ms.shape)
    vals = f_pairs(nn.reshape(-1, 3), ms.reshape(-1, 3)).reshape(n_dirs, n_angles)
    # Best angle per direction, then the best directions from separate basins as starts.
    j_best = np.argmin(sign * vals, axis=1)
    per_dir = vals[np.arange(n_dirs), j_best]
    order = np.argsort(sign * per_dir, kind="stable")[: max(50, 10 * N_STARTS)]
    best = None
    for i in _distinct_best(order, ns, N_STARTS):
        j = j_best[i]
        value, n, m = _refine_pair(f_pairs, sign, ns[i], psi[j], ms[i, j], float(vals[i, j]))
        if best is None or sign * value < sign * best[0]:
            best = (value, n, m)
    value, n, m = best
    return Extremum(value, canonical_sign(n), canonical_sign(m))


def _refine_pair(f_pairs, sign: float, n0: np.ndarray, psi0: float, m0: np.ndarray, v0: float):
    """BFGS on (n, angle of m around n) from one start; returns ``(value, n, m)``."""
    a0, _ = _perpendicular_basis(n0)

    def pair(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # m is kept ⟂ n by building it in the plane ⟂ n from a basis that follows n smoothly.
        n = _unit(x[:3])
        a = _unit(a0 - np.dot(a0, n) * n)
        b = _cross3(n, a)
        return n, math.cos(x[3]) * a + math.sin(x[3]) * b

    def objective(x: np.ndarray) -> float:
        n, m = pair(x)
        return sign * float(f_pairs(n[None], m[None])[0])

    from scipy.optimize import minimize

    res = minimize(objective, np.append(n0, psi0), method="BFGS", options={"gtol": 1e-10})
    n, m = pair(res.x)
    if res.fun > sign * v0:  # res.fun is already sign·f
        n, m = n0, m0
    return float(f_pairs(n[None], m[None])[0]), n, m


def principal_axes(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending, the matrix's unit) and unit eigenvectors as **rows** of a symmetric
    ``(3, 3)`` matrix (sign chosen with the largest component positive), structure frame."""
    w, v = np.linalg.eigh(0.5 * (matrix + matrix.T))
    return w, np.stack([canonical_sign(v[:, i]) for i in range(3)])
