"""Cartesian tensor utilities: Voigt forms in both orders, rotations, the IEEE frame.

Pure numpy. Every function works on a single tensor or on a batch (leading axes), with the
Cartesian indices last.

Voigt orders (named in every signature):

* ``"ieee"``: IEEE 176 / pymatgen / Materials Project, pairs (xx, yy, zz, yz, xz, xy).
* ``"vasp"``: VASP OUTCAR / JARVIS / GMTNet, pairs (xx, yy, zz, xy, yz, xz).

For the kinds in :mod:`gmtnet.kinds` the Voigt map has no numerical factors (stress-type piezo
constants e_iJ = e_ijk and stiffness C_IJ = C_ijkl), so it is a pure relabelling.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from gmtnet.kinds import TensorKind, get_kind

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
]

VoigtOrder = Literal["ieee", "vasp"]

#: Index pairs of each Voigt position, per order.
VOIGT_PAIRS: dict[str, tuple[tuple[int, int], ...]] = {
    "ieee": ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)),
    "vasp": ((0, 0), (1, 1), (2, 2), (0, 1), (1, 2), (0, 2)),
}


def _pairs(order: str) -> tuple[tuple[int, int], ...]:
    try:
        return VOIGT_PAIRS[order]
    except KeyError:
        raise ValueError(f"unknown Voigt order {order!r}; use 'ieee' or 'vasp'") from None


def _check_shape(t: np.ndarray, shape: tuple[int, ...], what: str) -> None:
    if t.shape[t.ndim - len(shape) :] != shape:
        raise ValueError(f"{what} must end in shape {shape}, got array of shape {t.shape}")


def to_voigt(tensor: np.ndarray, kind: str | TensorKind, order: VoigtOrder = "ieee") -> np.ndarray:
    """Full-rank Cartesian tensor -> Voigt matrix.

    Args:
        tensor: ``(..., 3, 3)``, ``(..., 3, 3, 3)`` or ``(..., 3, 3, 3, 3)`` for the kind's rank,
            in the kind's units.
        kind: tensor kind (name or :class:`~gmtnet.kinds.TensorKind`).
        order: Voigt order of the result, ``"ieee"`` or ``"vasp"``.

    Returns:
        ``(..., 3, 3)`` (rank 2, unchanged), ``(..., 3, 6)`` (rank 3) or ``(..., 6, 6)`` (rank 4).
        The symmetric part is read off: index pairs are taken as (i, j) with i <= j as listed.
    """
    k = get_kind(kind)
    t = np.asarray(tensor)
    _check_shape(t, k.shape, f"{k.name} tensor")
    if k.rank == 2:
        return t.copy()
    p = _pairs(order)
    a = np.array([i for i, _ in p])
    b = np.array([j for _, j in p])
    if k.rank == 3:
        return t[..., :, a, b]
    return t[..., a[:, None], b[:, None], a[None, :], b[None, :]]


def from_voigt(voigt: np.ndarray, kind: str | TensorKind, order: VoigtOrder = "ieee") -> np.ndarray:
    """Voigt matrix -> full-rank Cartesian tensor with the kind's index symmetry filled in.

    Args:
        voigt: ``(..., 3, 3)``, ``(..., 3, 6)`` or ``(..., 6, 6)`` in the kind's units and the
            given Voigt ``order``.

    Returns:
        ``(..., 3, ..., 3)`` full-rank tensor (rank of the kind).
    """
    k = get_kind(kind)
    v = np.asarray(voigt)
    _check_shape(v, k.voigt_shape, f"{k.name} Voigt matrix")
    if k.rank == 2:
        return v.copy()
    # Voigt index of each Cartesian pair (i, j), symmetric in i, j.
    idx = np.empty((3, 3), dtype=int)
    for n, (i, j) in enumerate(_pairs(order)):
        idx[i, j] = idx[j, i] = n
    if k.rank == 3:
        return v[..., :, idx]
    return v[..., idx[:, :, None, None], idx[None, None, :, :]]


def voigt_labels(kind: str | TensorKind, order: VoigtOrder = "ieee") -> np.ndarray:
    """Component names of the Voigt matrix (``C11`` ... ``C66``, ``e11`` ... ``e36``, ``ε11`` ...).

    Voigt indices are 1-based in the given order; for rank 2 the labels are Cartesian (``εxy``).
    """
    k = get_kind(kind)
    if k.rank == 2:
        xyz = "xyz"
        return np.array([[f"{k.voigt_prefix}{xyz[i]}{xyz[j]}" for j in range(3)] for i in range(3)])
    rows, cols = k.voigt_shape
    return np.array([[f"{k.voigt_prefix}{i + 1}{j + 1}" for j in range(cols)] for i in range(rows)])


def rotate(tensor: np.ndarray, rotation: np.ndarray, rank: int | None = None) -> np.ndarray:
    """Rotate (or reflect) a Cartesian tensor on every index: T'_{ij..} = R_ia R_jb .. T_{ab..}.

    Args:
        tensor: ``(..., 3, ..., 3)``; the last ``rank`` axes are Cartesian, any before are batch axes.
        rotation: ``(3, 3)`` orthogonal matrix (det +1 or -1) mapping the old frame to the new one.
        rank: number of trailing Cartesian axes; default ``tensor.ndim`` (a single tensor).

    Returns:
        The rotated tensor, same shape and units. The dielectric, piezoelectric and elastic tensors
        are polar tensors, so an improper ``rotation`` acts on them in the same way.
    """
    t = np.asarray(tensor, dtype=float)
    r = np.asarray(rotation, dtype=float)
    if r.shape != (3, 3):
        raise ValueError(f"rotation must be 3x3, got shape {r.shape}")
    rank = t.ndim if rank is None else rank
    if rank < 1 or t.shape[t.ndim - rank :] != (3,) * rank:
        raise ValueError(f"expected {rank} trailing Cartesian axes of length 3, got shape {t.shape}")
    for axis in range(t.ndim - rank, t.ndim):
        # Contract R's second index with this axis, then put the new axis back in place.
        t = np.moveaxis(np.tensordot(r, t, axes=([1], [axis])), 0, axis)
    return t


def symmetrize_indices(tensor: np.ndarray, kind: str | TensorKind) -> np.ndarray:
    """Average a full-rank tensor over its kind's intrinsic index permutations.

    ε: ij=ji; e: ijk=ikj; C: ijkl=jikl=ijlk=klij. Leading batch axes are kept.
    """
    k = get_kind(kind)
    t = np.asarray(tensor, dtype=float)
    _check_shape(t, k.shape, f"{k.name} tensor")
    n = t.ndim
    if k.rank == 2:
        return 0.5 * (t + np.swapaxes(t, n - 1, n - 2))
    if k.rank == 3:
        return 0.5 * (t + np.swapaxes(t, n - 1, n - 2))
    t = 0.5 * (t + np.swapaxes(t, n - 4, n - 3))
    t = 0.5 * (t + np.swapaxes(t, n - 2, n - 1))
    perm = list(range(n - 4)) + [n - 2, n - 1, n - 4, n - 3]
    return 0.5 * (t + np.transpose(t, perm))


def ieee_rotation(structure, refine_rotation: bool = True) -> np.ndarray:
    """Rotation from the structure's Cartesian frame to the IEEE 176 standard frame.

    Uses pymatgen's :meth:`pymatgen.core.tensors.Tensor.get_ieee_rotation` (the convention Materials
    Project uses). A tensor in the structure frame is brought to the IEEE frame with
    ``rotate(T, R)`` and back with ``rotate(T_ieee, R.T)``.

    Returns:
        ``(3, 3)`` proper rotation matrix.
    """
    from pymatgen.core.tensors import Tensor

    return np.asarray(Tensor.get_ieee_rotation(structure, refine_rotation=refine_rotation), dtype=float)


def to_ieee_frame(tensor: np.ndarray, structure) -> np.ndarray:
    """Rotate a tensor given in ``structure``'s Cartesian frame into the IEEE 176 frame."""
    return rotate(tensor, ieee_rotation(structure))


def from_ieee_frame(tensor: np.ndarray, structure) -> np.ndarray:
    """Rotate a tensor given in the IEEE 176 frame into ``structure``'s Cartesian frame."""
    return rotate(tensor, ieee_rotation(structure).T)
