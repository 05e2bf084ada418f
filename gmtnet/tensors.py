"""Cartesian tensor utilities by kind name: Voigt forms in both orders, the index-permutation
average; and (re-exported from :mod:`gmtnet.frames`, where they live) rotations and the IEEE frame.

Pure numpy. Every function works on a single tensor or on a batch (leading axes), with the
Cartesian indices last.

Voigt orders (named in every signature):

* ``"ieee"``: IEEE 176 / pymatgen / Materials Project, pairs (xx, yy, zz, yz, xz, xy).
* ``"vasp"``: VASP OUTCAR / JARVIS / GMTNet, pairs (xx, yy, zz, xy, yz, xz).

For the kinds in :mod:`gmtnet.kinds` the Voigt map has no numerical factors (stress-type piezo
constants e_iJ = e_ijk and stiffness C_IJ = C_ijkl), so it is a pure relabelling. The Voigt
functions here are the public entry points; the kind does the work (:class:`gmtnet.kinds.TensorKind`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from gmtnet.frames import cell_rotation, from_ieee_frame, ieee_rotation, rotate, to_ieee_frame
from gmtnet.kinds import VOIGT_PAIRS, TensorKind, get_kind

__all__ = [
    "VOIGT_PAIRS",
    "VoigtOrder",
    "to_voigt",
    "from_voigt",
    "voigt_labels",
    "rotate",
    "symmetrize_indices",
    "ieee_rotation",
    "to_ieee_frame",
    "from_ieee_frame",
    "cell_rotation",
]

VoigtOrder = Literal["ieee", "vasp"]


def to_voigt(tensor: np.ndarray, kind: str | TensorKind, order: VoigtOrder = "ieee") -> np.ndarray:
    """Full-rank Cartesian tensor -> Voigt matrix (:meth:`TensorKind.to_voigt`).

    Args:
        tensor: ``(..., 3, ..., 3)`` with the kind's rank last, in the kind's units.
        kind: tensor kind (name or :class:`~gmtnet.kinds.TensorKind`).
        order: Voigt order of the result, ``"ieee"`` or ``"vasp"``.

    Returns:
        ``(..., *kind.voigt_shape)``: 3x3 for ε (unchanged), 3x6 for e, 6x6 for C. The symmetric
        part is read off: index pairs are taken as (i, j) with i <= j as listed.
    """
    return get_kind(kind).to_voigt(tensor, order)


def from_voigt(voigt: np.ndarray, kind: str | TensorKind, order: VoigtOrder = "ieee") -> np.ndarray:
    """Voigt matrix ``(..., *kind.voigt_shape)`` in the kind's units and the given Voigt ``order``
    -> full-rank Cartesian tensor with the kind's index symmetry filled in."""
    return get_kind(kind).from_voigt(voigt, order)


def voigt_labels(kind: str | TensorKind, order: VoigtOrder = "ieee") -> np.ndarray:
    """Component names of the Voigt matrix (``C11`` ... ``C66``, ``e11`` ... ``e36``, ``εxy`` ...).

    Voigt indices are 1-based in the given order; a plain matrix form (rank 2) has Cartesian labels.
    """
    return get_kind(kind).voigt_labels(order)




def symmetrize_indices(tensor: np.ndarray, kind: str | TensorKind) -> np.ndarray:
    """Average a full-rank tensor over its kind's intrinsic index permutations (from its formula:
    ε ij=ji; e ijk=ikj; C ijkl=jikl=ijlk=klij). Leading batch axes are kept."""
    return get_kind(kind).symmetrize(tensor)
