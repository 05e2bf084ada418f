"""Cartesian frames: rotating a tensor, the IEEE 176 frame of a crystal, and the rotation between
two cells of one crystal.

numpy at import (pymatgen inside :func:`ieee_rotation` and :func:`cell_rotation`); nothing from the
rest of the package, so that the kind modules (:mod:`gmtnet.kinds`) can use it. Every function works
on a single tensor or on a batch (leading axes), with the Cartesian indices last; a rotation ``R``
maps the old frame to the new one, ``T'_{ij..} = R_ia R_jb .. T_{ab..}``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["rotate", "ieee_rotation", "to_ieee_frame", "from_ieee_frame", "cell_rotation"]


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


def _same_cell(source, target, atol: float = 1e-6) -> bool:
    """Same lattice matrix and the same atoms up to order and a common translation."""
    if len(source) != len(target) or not np.allclose(source.lattice.matrix, target.lattice.matrix, atol=atol):
        return False
    if sorted(map(str, source.species)) != sorted(map(str, target.species)):
        return False
    fs, ft = source.frac_coords, target.frac_coords
    spec_s = np.array([str(x) for x in source.species])
    spec_t = np.array([str(x) for x in target.species])
    for j in np.flatnonzero(spec_s == spec_t[0]):
        shift = ft[0] - fs[j]
        d = (fs + shift)[:, None, :] - ft[None, :, :]
        d -= np.round(d)
        close = (np.abs(d) < 1e-4).all(axis=2) & (spec_s[:, None] == spec_t[None, :])
        if close.any(axis=1).all() and close.any(axis=0).all():
            return True
    return False


def cell_rotation(source, target, max_stretch: float = 0.05) -> np.ndarray:
    """Orthogonal R taking ``source``'s Cartesian frame to ``target``'s, for two cells of one crystal.

    A tensor computed on ``source`` is brought into ``target``'s frame with ``rotate(T, R)``. The
    cells may differ by a supercell (primitive vs conventional), site order, origin and
    orientation: pymatgen's :class:`~pymatgen.analysis.structure_matcher.StructureMatcher` finds
    the integer cell mapping that also maps the atoms, and R is the orthogonal (polar) part of the
    Cartesian map between the matched lattices; det R = −1 when the match needs an inversion
    (which flips the sign of a rank-3 tensor, as it must). Identical cells (up to site order and
    a translation) give exactly the identity.

    Raises:
        ValueError: when the two structures are not one crystal (no match), or when the matched
            lattices differ by more than ``max_stretch`` (relative) beyond the rotation.
    """
    if _same_cell(source, target):
        return np.eye(3)
    from pymatgen.analysis.structure_matcher import StructureMatcher

    matcher = StructureMatcher(primitive_cell=False, scale=True, attempt_supercell=True)
    big_is_target = len(target) >= len(source)
    big, small = (target, source) if big_is_target else (source, target)
    found = matcher.get_transformation(big, small)
    if found is None and not (big_is_target and len(big) == len(small)):
        # Neither cell is a supercell of the other (e.g. an antiferromagnetic rhombohedral cell
        # and the cubic conventional one): go through primitive cells, which pymatgen builds from
        # lattice vectors of the input in the same Cartesian frame.
        big, small = big.get_primitive_structure(), small.get_primitive_structure()
        found = matcher.get_transformation(big, small) if len(big) >= len(small) else None
    if found is None:
        raise ValueError(
            f"the cells of {source.composition.reduced_formula} ({len(source)} sites) and "
            f"{target.composition.reduced_formula} ({len(target)} sites) are not the same crystal"
        )
    supercell = np.asarray(found[0], dtype=float)
    # Row lattices: big ≈ (supercell · small) · Q, Q orthogonal up to a small relaxation stretch.
    q, *_ = np.linalg.lstsq(supercell @ small.lattice.matrix, big.lattice.matrix, rcond=None)
    u, sv, vt = np.linalg.svd(q)
    if np.abs(sv - sv.mean()).max() > max_stretch * sv.mean():
        raise ValueError(f"the matched cells differ by a {100 * (sv.max() / sv.min() - 1):.1f} % stretch")
    q = u @ vt
    # Row vectors map as v_big = v_small · Q, i.e. columns x_big = Qᵀ x_small.
    return q.T if big_is_target else q
