"""Which structure-frame tensors a label given in the IEEE-176 frame is compatible with.

numpy + spglib only (importing this module does not import torch).

Sources such as the Materials Project piezoelectric set give a tensor T_ieee in the IEEE frame of
the crystal: R maps the structure's Cartesian frame to that frame (pymatgen
``Tensor.get_ieee_rotation``), and the label in the structure frame is T = ρ(Rᵀ) T_ieee. R is built
from the lattice vectors of spglib's conventional cell alone, and is always a proper rotation
(pymatgen re-orthogonalises it with a cross product). Where the lattice has more symmetry than the
crystal, several conventional cells are equally valid and round-off (or another spglib version)
decides which one is used. Two such choices R₁, R₂ differ by h = R₁ᵀR₂, a *proper* operation of
the lattice's point group (holohedry) H⁺. So the tensor the source computed is one of

    candidates = { ρ(h) T : h ∈ H⁺ },  keeping only images that obey the crystal's point group G,

merged where two images agree to :data:`MERGE_TOL`. Because T obeys G, ρ(hg) T = ρ(h) T for g in G,
so only the cosets h G matter; images of h outside the normaliser of G break G and are dropped
(the DFT tensor obeys G). The set is the same whichever candidate the back-rotation happened to
give (it is an orbit), so two settings of one crystal whose labels differ by a lost operation get
the same candidate set, never a silently flipped label.

A row is :data:`UNIQUE` when one candidate is left, :data:`AMBIGUOUS` otherwise; labels the source
gave in the structure's own frame (POSCAR-frame sources) are :data:`STRUCTURE_FRAME` and have only
themselves as candidate. Rows whose label obeys no image of G (a frame error the lattice cannot
explain) are :data:`UNRESOLVED`. The ambiguity-aware loss and metrics (``gmtnet.train``,
``gmtnet.metrics``) take, per row, the candidate closest to the prediction.
"""

from __future__ import annotations

import numpy as np
import spglib

from gmtnet.symmetry import DEFAULT_SYMPREC, symmetry_residual, tensor_representation

__all__ = [
    "STRUCTURE_FRAME",
    "UNIQUE",
    "AMBIGUOUS",
    "UNRESOLVED",
    "ORIENTATIONS",
    "MERGE_TOL",
    "OBEY_TOL",
    "lattice_rotations",
    "source_ieee_rotation",
    "frame_candidates",
    "orientation_class",
    "pad_candidates",
    "source_frame_operations",
    "sign_candidates",
    "choose_candidates",
    "PHYSICS_MARGIN",
    "PHYSICS_MIN_NORM",
]

#: The label is in the structure's frame as computed (POSCAR-frame source): one candidate, itself.
STRUCTURE_FRAME = "structure"
#: IEEE-frame source, and the lattice leaves one structure-frame tensor obeying the point group.
UNIQUE = "unique"
#: IEEE-frame source, several structure-frame tensors possible (listed in ``candidates``).
AMBIGUOUS = "ambiguous"
#: IEEE-frame source, and no image of the label under the lattice's rotations obeys the point
#: group: the label's frame is wrong in a way the IEEE convention does not explain.
UNRESOLVED = "unresolved"
#: Every value of the ``orientation`` column, with its meaning.
ORIENTATIONS: dict[str, str] = {
    STRUCTURE_FRAME: "label given in the structure's own frame by the source; no frame choice",
    UNIQUE: "IEEE-frame label; the lattice leaves one structure-frame tensor that obeys the point group",
    AMBIGUOUS: "IEEE-frame label; several structure-frame tensors obey the point group (all in `candidates`)",
    UNRESOLVED: "IEEE-frame label; no image under the lattice's rotations obeys the point group",
}

#: Two images whose difference is below this fraction of the label's Frobenius norm are one
#: candidate. Above the 1 % symmetry threshold (images under the crystal's own operations differ
#: by up to the label's residual), far below the distance of distinct images (a sign flip is 200 %).
MERGE_TOL = 0.05
#: An image obeys the point group when its symmetry residual is at most this (relative); the same
#: 1 % as ``gmtnet.data.RESIDUAL_THRESHOLD``.
OBEY_TOL = 0.01


def lattice_rotations(lattice: np.ndarray, symprec: float = DEFAULT_SYMPREC, proper: bool = True) -> np.ndarray:
    """Point group (holohedry) of a lattice, as Cartesian operations in its own frame.

    Args:
        lattice: ``(3, 3)`` lattice vectors a, b, c as rows, Å, Cartesian frame of the structure.
        symprec: spglib distance tolerance, Å (the lattice alone: one atom at the origin).
        proper: keep only the rotations (det +1); the IEEE rotation is always proper, so two
            choices of it differ by a proper operation.

    Returns:
        ``(n, 3, 3)`` exactly orthogonal matrices (nearest orthogonal matrix of A W A⁻¹).
    """
    rows = np.asarray(lattice, dtype=float)
    if rows.shape != (3, 3) or abs(np.linalg.det(rows)) < 1e-8:
        raise ValueError(f"lattice must be a non-singular 3x3 matrix of row vectors, got {rows.tolist()}")
    cell = (rows, np.zeros((1, 3)), np.array([1], dtype=np.intc))
    found = spglib.get_symmetry(cell, symprec=symprec)
    if found is None:
        raise ValueError(f"spglib found no lattice symmetry at symprec={symprec}: {spglib.get_error_message()}")
    w = np.unique(np.asarray(found["rotations"], dtype=float), axis=0)
    a = rows.T
    r = np.einsum("ij,gjk,kl->gil", a, w, np.linalg.inv(a))
    # Polar decomposition: the metric is invariant only to within symprec, R exactly orthogonal.
    u, _, vt = np.linalg.svd(r)
    r = u @ vt
    if proper:
        r = r[np.linalg.det(r) > 0]
    return r


def source_ieee_rotation(structure, rotation: np.ndarray) -> tuple[np.ndarray, bool]:
    """The IEEE rotation the 2015 Materials Project (matminer) files used, from pymatgen's one.

    pymatgen's ``get_ieee_rotation`` (2026.10 checked) compares the *unsorted* lengths of a
    tetragonal cell when it picks the unique axis, so for c < a it puts the 4-fold axis along x1
    instead of x3. The matminer files did not: for their 1,181 elastic rows, which carry both the
    POSCAR-frame and the IEEE-frame tensor, back-rotating with pymatgen's R reproduces the
    POSCAR-frame tensor for 1,077 rows, and with x3 along the 4-fold axis for 1,148 (every
    tetragonal row with c < a); the 32 tetragonal piezo rows with c < a all break their point group
    with pymatgen's R and all obey it with this one. A later (legacy API) elastic query used
    pymatgen's rule, so this is a property of the source, not a universal fix (the checks are in
    ``scripts/build_datasets.py`` and the data card).

    Args:
        structure: pymatgen Structure (the row's cell).
        rotation: ``(3, 3)`` pymatgen's R for it (structure frame -> IEEE frame).

    Returns:
        ``(R, changed)``: for a tetragonal crystal whose R does not put the conventional c (the
        4-fold axis) along x3, R with rows (a, c x a, c) of spglib's conventional cell (as IEEE
        176 asks: c along x3, a along x1) and True; otherwise ``rotation`` unchanged and False.
    """
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    r = np.asarray(rotation, dtype=float)
    sga = SpacegroupAnalyzer(structure)  # pymatgen's defaults, as get_ieee_rotation uses
    if sga.get_crystal_system() != "tetragonal":
        return r, False
    dataset = sga.get_symmetry_dataset()
    conv = (structure.lattice.matrix.T @ np.linalg.inv(dataset.transformation_matrix)).T
    c = conv[2] / np.linalg.norm(conv[2])
    if abs(r[2] @ c) > 0.99:
        return r, False
    a = conv[0] - (conv[0] @ c) * c
    a /= np.linalg.norm(a)
    return np.array([a, np.cross(c, a), c]), True


def frame_candidates(
    tensor: np.ndarray,
    crystal_rotations: np.ndarray,
    lattice_ops: np.ndarray,
    obey_tol: float = OBEY_TOL,
    merge_tol: float = MERGE_TOL,
) -> np.ndarray:
    """Distinct images ρ(h)T (h in ``lattice_ops``) that obey the crystal's point group.

    Args:
        tensor: ``(3, ..., 3)`` label in the structure frame (rank 2-4, any units).
        crystal_rotations: ``(n, 3, 3)`` the crystal's point operations, Cartesian, same frame.
        lattice_ops: ``(m, 3, 3)`` candidate frame changes, e.g. :func:`lattice_rotations`.
        obey_tol: largest symmetry residual of an image that is kept.
        merge_tol: images closer than this (relative to ||T||_F) are one candidate.

    Returns:
        ``(k, 3, ..., 3)`` in the tensor's units and frame; ``k = 0`` when no image obeys the point
        group. The given tensor comes first when it obeys the point group; the rest are in the
        order of ``lattice_ops``.
    """
    t = np.asarray(tensor, dtype=float)
    rank = t.ndim
    norm = np.linalg.norm(t)
    if norm == 0:
        return t[None].copy()
    rho = tensor_representation(np.asarray(lattice_ops, dtype=float), rank)
    images = (rho @ t.reshape(-1)).reshape((-1, *t.shape))
    # The identity first, so that an obeying label is its own first candidate.
    images = np.concatenate([t[None], images])
    kept: list[np.ndarray] = []
    for image in images:
        if symmetry_residual(image, crystal_rotations) > obey_tol:
            continue
        if any(np.linalg.norm(image - k) < merge_tol * norm for k in kept):
            continue
        kept.append(image)
    return np.stack(kept) if kept else np.zeros((0, *t.shape))


def orientation_class(n_candidates: int, structure_frame_source: bool) -> str:
    """The ``orientation`` value of a row (see :data:`ORIENTATIONS`)."""
    if structure_frame_source:
        return STRUCTURE_FRAME
    if n_candidates == 0:
        return UNRESOLVED
    return UNIQUE if n_candidates == 1 else AMBIGUOUS


def pad_candidates(candidates: list[np.ndarray], shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Stack per-row candidate sets of different sizes into one padded array and a mask.

    Args:
        candidates: per row a ``(k_i, *shape)`` array, ``k_i >= 1``.
        shape: the tensor shape ``(3,) * rank``.

    Returns:
        ``(N, K, *shape)`` float64 (K = max k_i; padding repeats the row's first candidate, so a
        padded slot can never be closer than a real one) and ``(N, K)`` bool, True for real slots.
    """
    if any(len(c) == 0 for c in candidates):
        raise ValueError("every row needs at least one candidate")
    n = len(candidates)
    k = max((len(c) for c in candidates), default=1)
    out = np.zeros((n, k, *shape))
    mask = np.zeros((n, k), dtype=bool)
    for i, c in enumerate(candidates):
        c = np.asarray(c, dtype=float).reshape((-1, *shape))
        out[i, : len(c)] = c
        out[i, len(c) :] = c[0]
        mask[i, : len(c)] = True
    return out, mask


# --------------------------------------------------------------------------- the sign of odd-rank labels
#
# Why the lattice analysis above is not enough for piezoelectric signs (issue 17, measured in
# ``benchmarks/piezo_orientation.py``): on the 146 "unique" rows the source's sign agrees with a
# physics estimate (ionic e from Born charges x internal strain) for only 37 %, and by class the
# disagreement has structure: every R32 row matches the physics after a 2-fold rotation about
# its 3-fold axis (median cosine -0.74 -> +0.97) and most C2 rows after inversion. The IEEE rules
# fix a trigonal crystal's x1 along a hexagonal axis a, but in a rhombohedral lattice a and -a are
# not related by a lattice operation (obverse/reverse setting); and whatever construction the
# 2015 source used for other cells, a frame it reached with an improper matrix flips every odd-rank
# component. So for an odd-rank label from such a source the sign is an open choice too.


def source_frame_operations(lattice: np.ndarray, symprec: float = DEFAULT_SYMPREC) -> np.ndarray:
    """Every frame change an IEEE-frame source may have applied to a label, up to the lattice.

    The lattice's full point group (proper and improper operations), and for a rhombohedral
    lattice (holohedry -3m, 12 operations) also its product with the 2-fold rotation about the
    3-fold axis, i.e. the hexagonal axes' 6/mmm that the IEEE rule for trigonal crystals refers
    to. For even-rank tensors the improper half changes nothing (inversion acts trivially); for
    odd rank it adds the sign-flipped images.

    Args:
        lattice: ``(3, 3)`` lattice vectors as rows, Å, structure frame.
        symprec: spglib distance tolerance, Å.

    Returns:
        ``(n, 3, 3)`` orthogonal matrices, structure frame.
    """
    ops = lattice_rotations(lattice, symprec, proper=False)
    if len(ops) == 12:
        threefold = [g for g in ops if np.linalg.det(g) > 0 and abs(np.trace(g)) < 1e-6]
        if threefold:
            w, v = np.linalg.eig(threefold[0])
            axis = np.real(v[:, np.argmin(np.abs(w - 1.0))])
            axis /= np.linalg.norm(axis)
            c2 = 2.0 * np.outer(axis, axis) - np.eye(3)
            ops = np.concatenate([ops, np.einsum("ij,gjk->gik", c2, ops)])
    return ops


def sign_candidates(
    tensor: np.ndarray, crystal_rotations: np.ndarray, lattice: np.ndarray, symprec: float = DEFAULT_SYMPREC
) -> np.ndarray:
    """Distinct structure-frame tensors an IEEE-frame label may be once its sign is open too.

    :func:`frame_candidates` under :func:`source_frame_operations`; the label itself first.
    Units and frame of ``tensor``; ``(k, 3, ..., 3)``.
    """
    return frame_candidates(tensor, crystal_rotations, source_frame_operations(lattice, symprec))


#: The physics rule's settings (``scripts/orient_piezo.py``; fixed before the rule was graded):
#: candidates within this cosine of the best one are kept ...
PHYSICS_MARGIN = 0.2
#: ... and an ionic estimate smaller than this (C/m², Frobenius) rules nothing out.
PHYSICS_MIN_NORM = 0.02


def choose_candidates(
    reference: np.ndarray, candidates: np.ndarray, margin: float = PHYSICS_MARGIN, min_norm: float = PHYSICS_MIN_NORM
) -> tuple[list[int], list[float]]:
    """The candidates that point the way an independent estimate (e.g. physics) does.

    Keeps every candidate whose cosine with ``reference`` is within ``margin`` of the best one:
    one candidate when the estimate decides, several when it only rules some out (e.g. it fixes
    the polar sign of a 3m crystal but not the sign of its e22), all of them when ``reference``
    is smaller than ``min_norm``.

    Args:
        reference: ``(3, ..., 3)`` the estimate, same frame and units as the candidates.
        candidates: ``(k, 3, ..., 3)``.
        margin: cosine lead over the best below which a candidate is kept (for a pair ±T the
            lead is twice the cosine).
        min_norm: smallest Frobenius norm of ``reference`` that may rule anything out (its units).

    Returns:
        ``(kept, cosines)``: indices into ``candidates`` in their order, and every cosine.
    """
    ref = np.asarray(reference, dtype=float).reshape(-1)
    cands = np.asarray(candidates, dtype=float).reshape(len(candidates), -1)
    nr = np.linalg.norm(ref)
    nc = np.linalg.norm(cands, axis=1)
    cos = [float(c @ ref / (n * nr)) if n > 0 and nr > 0 else 0.0 for c, n in zip(cands, nc)]
    if nr < min_norm:
        return list(range(len(cos))), cos
    best = max(cos)
    return [i for i, c in enumerate(cos) if c > best - margin], cos
