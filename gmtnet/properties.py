"""Derived quantities of a predicted tensor: principal values, moduli, extremal directions.

numpy + scipy + pymatgen only (no torch, no plotting). Every function takes a **full-rank** tensor
in the structure's Cartesian frame, in the kind's units (ε dimensionless, e in C/m², C in GPa), and
every direction it returns is a unit vector in that same frame. Rotating the input tensor with
:func:`gmtnet.tensors.rotate` leaves every scalar here unchanged and rotates every direction, except
:func:`piezo_eij_max`, which is defined on the IEEE Voigt matrix and so depends on the frame (see
its docstring).

Two Voigt scalings appear:

* Voigt (IEEE order xx, yy, zz, yz, xz, xy, no factors: ``C_IJ = C_ijkl``, ``e_iJ = e_ijk``) is what
  pymatgen, Materials Project and :func:`gmtnet.tensors.to_voigt` use.
* Mandel (Kelvin) scaling multiplies each shear row/column by √2. It makes the 6-vector basis of
  symmetric tensors orthonormal, so the eigenvalues of the 6x6 stiffness (the Kelvin moduli) and the
  singular values of the 3x6 piezo matrix are invariant under rotation. The Voigt 6x6 matrix is
  congruent to the Mandel one, so its positive-definiteness (Born stability) is the same.

:func:`derived_properties` collects the quantities of one kind for display (the kind decides
what). The physics functions live with the kind that owns them and are re-exported here, so that
``from gmtnet.properties import compliance`` keeps working: ε in :mod:`gmtnet.kinds.dielectric`,
e in :mod:`gmtnet.kinds.piezoelectric`, C in :mod:`gmtnet.kinds.elastic`, and the sphere search
(:class:`Extremum`, :func:`fibonacci_sphere`, :func:`canonical_sign`) in :mod:`gmtnet.sphere`.
"""

from __future__ import annotations

import numpy as np

from gmtnet.kinds import TensorKind, get_kind
from gmtnet.kinds.base import DerivedValue
from gmtnet.kinds.dielectric import (average_dielectric, average_refractive_index, birefringence, dielectric_along,
                                     dielectric_principal, refractive_indices)
from gmtnet.kinds.elastic import (ELASTIC, MANDEL_SCALE, TPA_PER_GPA, compliance, elastic_extrema, elastic_moduli,
                                  is_mechanically_stable, linear_compressibility, poisson_ratio, shear_modulus,
                                  stiffness_eigenvalues, young_modulus)
from gmtnet.kinds.elastic import to_mandel as _mandel
from gmtnet.kinds.piezoelectric import (longitudinal_piezo, max_longitudinal_piezo, piezo_eij_max,
                                        piezo_operator_norm, piezo_strain_coefficients)
from gmtnet.sphere import Extremum, canonical_sign, fibonacci_sphere, principal_axes

__all__ = [
    # defined here
    "derived_properties", "properties_table", "to_mandel",
    # re-exported, by the module that defines them
    "DerivedValue",  # gmtnet.kinds.base
    "Extremum", "fibonacci_sphere", "canonical_sign", "principal_axes",  # gmtnet.sphere
    "dielectric_principal", "average_dielectric", "refractive_indices", "average_refractive_index",  # gmtnet.kinds.dielectric
    "birefringence", "dielectric_along",
    "longitudinal_piezo", "piezo_eij_max", "piezo_operator_norm", "max_longitudinal_piezo",  # gmtnet.kinds.piezoelectric
    "piezo_strain_coefficients",
    "TPA_PER_GPA", "MANDEL_SCALE", "compliance", "stiffness_eigenvalues", "is_mechanically_stable",  # gmtnet.kinds.elastic
    "elastic_moduli", "young_modulus", "linear_compressibility", "shear_modulus", "poisson_ratio", "elastic_extrema",
]


def to_mandel(c: np.ndarray) -> np.ndarray:
    """``(6, 6)`` Mandel (Kelvin) stiffness in GPa, IEEE order, of one ``(3, 3, 3, 3)`` C:
    Voigt C_IJ · w_I · w_J, w = (1,1,1,√2,√2,√2) (:func:`gmtnet.kinds.elastic.to_mandel`, which also
    takes batches)."""
    return _mandel(ELASTIC.check_single(c))


def derived_properties(tensor: np.ndarray, kind: str | TensorKind, structure=None,
                       extrema: bool = True) -> dict[str, DerivedValue]:
    """All derived quantities of one tensor, for display.

    Args:
        tensor: full-rank tensor of ``kind`` in the structure's Cartesian frame, kind's units.
        kind: a registered kind (name or object); the kind decides what is derived
            (:meth:`gmtnet.kinds.TensorKind.derived_properties`).
        structure: optional pymatgen Structure the tensor belongs to; only used to evaluate the
            piezoelectric "e_ij max" in the IEEE frame, as Materials Project does.

        extrema: for an elastic tensor, include the directional extrema of E, β, G and ν
            (:func:`elastic_extrema`, a search over directions: 0.2-0.5 s per tensor on one core,
            most of the cost of this function); False leaves those eight rows out.
    Returns:
        name → :class:`DerivedValue` (value, unit, directions as unit vectors in the structure
        frame). An unstable or singular stiffness gives ``"mechanically stable" = 0`` and NaN for
        what needs the compliance; it never raises.
    """
    k = get_kind(kind)
    return k.derived_properties(k.check_single(tensor), structure, extrema=extrema)


def _fmt_vector(v: np.ndarray | None) -> str:
    if v is None:
        return ""
    v = np.asarray(v)
    if v.ndim == 1:
        return "[" + ", ".join(f"{x:+.3f}" for x in v) + "]"
    return "; ".join(_fmt_vector(row) for row in v)


def properties_table(props: dict[str, DerivedValue], digits: int = 4) -> list[dict[str, str]]:
    """Rows ``{"quantity", "value", "unit", "direction", "note"}`` of strings, for a table widget.

    Vectors are printed as structure-frame unit vectors; for pair quantities the direction reads
    ``n ⟂ m``.
    """
    rows = []
    for name, d in props.items():
        val = np.atleast_1d(np.asarray(d.value, dtype=float))
        text = ("yes" if d.value else "no") if isinstance(d.value, bool) else ", ".join("NaN" if not np.isfinite(x) else f"{x:.{digits}g}" for x in val)
        direction = _fmt_vector(d.direction)
        if d.direction2 is not None:
            direction = f"n = {direction} ⟂ m = {_fmt_vector(d.direction2)}"
        rows.append({"quantity": name, "value": text, "unit": d.unit, "direction": direction, "note": d.note})
    return rows
