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

Each kind computes its own columns (:meth:`gmtnet.kinds.TensorKind.scalars`); the closed-form
functions live with the kind that owns them and are re-exported here: :func:`vrh_moduli` in
:mod:`gmtnet.kinds.elastic`, :func:`max_longitudinal` and :func:`piezo_strain_tensor` in
:mod:`gmtnet.kinds.piezoelectric`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from gmtnet.kinds import KINDS, RegistryView, TensorKind, get_kind, scalar_column_table
from gmtnet.kinds.elastic import vrh_moduli
from gmtnet.kinds.piezoelectric import PC_PER_N_PER_C_M2_GPA, max_longitudinal, piezo_strain_tensor

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


def scalar_columns(kind: str | TensorKind, tensor: np.ndarray, elastic: np.ndarray | None = None,
                   partners: Mapping[str, np.ndarray | None] | None = None) -> dict[str, float | bool]:
    """The :data:`SCALAR_COLUMNS` of one predicted tensor that apply to ``kind``.

    Args:
        kind: tensor kind (name or object).
        tensor: full-rank tensor of that kind (structure frame, kind's units; per atom
            ``(n_atoms, 3, ..., 3)``).
        elastic: the predicted ``(3, 3, 3, 3)`` stiffness (GPa, same frame) of the same crystal,
            for a kind that pairs with ``"elastic"`` (e: ``d_long_max``); None leaves it NaN.
        partners: the same crystal's tensors of the kinds in ``kind.scalar_partners`` by name
            (``elastic`` is shorthand for ``{"elastic": ...}``).
    """
    k = get_kind(kind)
    t = k.check_single(tensor)
    given = dict(partners or {})
    if elastic is not None:
        given.setdefault("elastic", elastic)
    return k.scalars(t, {p: given.get(p) for p in k.scalar_partners})
