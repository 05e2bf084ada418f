"""Derived scalars of one prediction as flat table columns: what a screening table filters on.

numpy only (no torch, no pymatgen on the hot path). :mod:`gmtnet.properties` computes the same
quantities for one crystal at a time and with directions (pymatgen's ``ElasticTensor``, BFGS
refinement); screening needs them for every row at a fraction of a millisecond, so the elastic
averages here are the closed-form Voigt/Reuss/Hill formulas and the longitudinal maxima use a
shifted symmetric power iteration. ``tests/test_screen.py`` checks both against
:mod:`gmtnet.properties`.

Every input tensor is full rank, in the structure's Cartesian frame and the kind's units
(ε dimensionless, e C/m², C GPa). Every column below is rotation-invariant, so the frame does not
matter for the values. :data:`SCALAR_COLUMNS` names each column with its unit and meaning.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from gmtnet.kinds import KINDS, RegistryView, TensorKind, get_kind, scalar_column_table
from gmtnet.kinds.elastic import from_mandel, to_mandel
from gmtnet.kinds.piezoelectric import PC_PER_N_PER_C_M2_GPA, strain_tensor
from gmtnet.properties import fibonacci_sphere
from gmtnet.tensors import to_voigt

__all__ = [
    "SCALAR_COLUMNS",
    "boolean_columns",
    "PC_PER_N_PER_C_M2_GPA",
    "vrh_moduli",
    "max_longitudinal",
    "piezo_strain_tensor",
    "scalar_columns",
]


#: column → (unit, description, kinds whose rows fill it; NaN/None elsewhere); every registered
#: kind's :attr:`~gmtnet.kinds.TensorKind.scalar_columns`.
SCALAR_COLUMNS: Mapping[str, tuple[str, str, tuple[str, ...]]] = RegistryView(scalar_column_table)


def boolean_columns() -> tuple[str, ...]:
    """The yes/no columns of :data:`SCALAR_COLUMNS` (stored as nullable booleans)."""
    return tuple(dict.fromkeys(c.name for k in KINDS.values() for c in k.scalar_columns if c.boolean))


def vrh_moduli(c: np.ndarray) -> dict[str, float]:
    """Voigt, Reuss and Hill averages of a stiffness tensor in closed form.

    Args:
        c: ``(3, 3, 3, 3)`` stiffness in GPa (any frame: the averages are invariant).

    Returns:
        The keys of :func:`gmtnet.properties.elastic_moduli` (``k_voigt, g_voigt, k_reuss, g_reuss,
        k_vrh, g_vrh, young_vrh, poisson_vrh, universal_anisotropy``, GPa except the last two) and
        ``born_stable`` (bool). Everything that needs the compliance is NaN when C is not positive
        definite, as there.
    """
    c = np.asarray(c, dtype=float)
    v = to_voigt(c, "elastic", "ieee")
    d, off, shear = np.trace(v[:3, :3]), v[0, 1] + v[1, 2] + v[0, 2], v[3, 3] + v[4, 4] + v[5, 5]
    kv = (d + 2.0 * off) / 9.0
    gv = (d - off + 3.0 * shear) / 15.0
    mandel = to_mandel(c)
    stable = bool(np.linalg.eigvalsh(0.5 * (mandel + mandel.T))[0] > 1e-8)
    out = {"k_voigt": float(kv), "g_voigt": float(gv), "born_stable": stable}
    nan_keys = ("k_reuss", "g_reuss", "k_vrh", "g_vrh", "young_vrh", "poisson_vrh", "universal_anisotropy")
    if not stable:
        return out | dict.fromkeys(nan_keys, math.nan)
    # Voigt compliance with the engineering-strain factors (S44 = 4 s_2323 ...), 1/GPa.
    s = np.linalg.inv(v)
    sd, soff, sshear = np.trace(s[:3, :3]), s[0, 1] + s[1, 2] + s[0, 2], s[3, 3] + s[4, 4] + s[5, 5]
    kr = 1.0 / (sd + 2.0 * soff)
    gr = 15.0 / (4.0 * sd - 4.0 * soff + 3.0 * sshear)
    k, g = 0.5 * (kv + kr), 0.5 * (gv + gr)
    return out | {
        "k_reuss": float(kr),
        "g_reuss": float(gr),
        "k_vrh": float(k),
        "g_vrh": float(g),
        "young_vrh": float(9.0 * k * g / (3.0 * k + g)),
        "poisson_vrh": float((3.0 * k - 2.0 * g) / (2.0 * (3.0 * k + g))),
        "universal_anisotropy": float(5.0 * gv / gr + kv / kr - 6.0),
    }


_SPHERE = fibonacci_sphere(512)


def max_longitudinal(t: np.ndarray, iterations: int = 200) -> float:
    """max over unit vectors n of t_ijk n_i n_j n_k for a ``(3, 3, 3)`` tensor (its unit).

    The cubic form only sees the fully symmetric part of t. Dense sampling picks starting points,
    then the shifted symmetric higher-order power method (Kolda & Mayo 2011), which increases the
    form monotonically to a local maximum, polishes the best few. Same value as
    :func:`gmtnet.properties.max_longitudinal_piezo` (sampling + BFGS) at ~1/50 of the cost.
    The form is odd in n, so the maximum is ≥ 0.
    """
    t = np.asarray(t, dtype=float)
    sym = (t + t.transpose(0, 2, 1) + t.transpose(1, 0, 2) + t.transpose(1, 2, 0)
           + t.transpose(2, 0, 1) + t.transpose(2, 1, 0)) / 6.0
    scale = float(np.linalg.norm(sym))
    if scale == 0.0:
        return 0.0
    vals = np.einsum("ijk,ni,nj,nk->n", sym, _SPHERE, _SPHERE, _SPHERE)
    n = _SPHERE[np.argsort(vals)[-4:]]
    # Shift above (m − 1)·max ρ(t·n) (≤ 2‖t‖_F for m = 3): then no step decreases the form.
    alpha = 2.0 * scale
    for _ in range(iterations):
        g = np.einsum("ijk,nj,nk->ni", sym, n, n) + alpha * n
        new = g / np.linalg.norm(g, axis=1, keepdims=True)
        if np.abs(new - n).max() < 1e-12:
            n = new
            break
        n = new
    best = np.einsum("ijk,ni,nj,nk->n", sym, n, n, n).max()
    return float(max(best, vals.max(), 0.0))


def piezo_strain_tensor(e: np.ndarray, c: np.ndarray) -> np.ndarray | None:
    """d_ijk = e_ilm s_lmjk in pC/N from e (C/m²) and C (GPa), same frame; None if C is singular
    or not positive definite."""
    v = to_mandel(np.asarray(c, dtype=float))
    w = np.linalg.eigvalsh(0.5 * (v + v.T))
    if w[0] <= 1e-8:
        return None
    # Mandel inverse is the plain inverse; from_mandel undoes the √2 weights to give s_ijkl.
    return strain_tensor(e, from_mandel(np.linalg.inv(v)))


def scalar_columns(kind: str | TensorKind, tensor: np.ndarray, elastic: np.ndarray | None = None,
                   partners: Mapping[str, np.ndarray | None] | None = None) -> dict[str, float | bool]:
    """The :data:`SCALAR_COLUMNS` of one predicted tensor that apply to ``kind``.

    Args:
        kind: tensor kind (name or object).
        tensor: full-rank tensor of that kind (structure frame, kind's units).
        elastic: the predicted ``(3, 3, 3, 3)`` stiffness (GPa, same frame) of the same crystal,
            for a kind that pairs with ``"elastic"`` (e: ``d_long_max``); None leaves it NaN.
        partners: the same crystal's tensors of the kinds in ``kind.scalar_partners`` by name
            (``elastic`` is shorthand for ``{"elastic": ...}``).
    """
    k = get_kind(kind)
    t = np.asarray(tensor, dtype=float)
    if t.shape != k.shape and not (k.per_atom and t.shape[1:] == k.shape):
        raise ValueError(f"{k.name} tensor must have shape {k.shape}, got {t.shape}")
    given = dict(partners or {})
    if elastic is not None:
        given.setdefault("elastic", elastic)
    return k.scalars(t, {p: given.get(p) for p in k.scalar_partners})
