"""Crystal symmetry and Neumann's principle: where a tensor's symmetry is enforced.

numpy + spglib only (importing this module does not import torch).

Neumann's principle: a property tensor T of a crystal is invariant under every operation g of the
crystal's point group G, ρ(g) T = T, where ρ(g) = R ⊗ R ⊗ ... (one R per index) and R is the
operation as a Cartesian matrix in the structure's frame. The exact orthogonal projector onto the
allowed subspace is

    P = S · (1/|G|) Σ_g ρ(g),

with S the average over the kind's intrinsic index permutations (ε ij=ji, e ijk=ikj,
C ijkl=jikl=klij). Both factors are orthogonal projectors that commute, so P is one too. It is
applied as a matrix on the flattened tensor, which is what :meth:`SymmetryConstraints.project`
does. (The GMTNet paper's code zeroes negative Wigner-D entries before averaging; that is not a
projection for axes off x, y, z, so it is not used here.)

Per-atom tensors (Born effective charges): :func:`analyze_site_symmetry` gives the space-group
operations with the atom each maps every atom onto (:class:`SiteSymmetry`), and
:meth:`SiteSymmetry.project` the orbit average T'_κ = (1/|G|) Σ_g ρ(R_g) T_{g⁻¹(κ)}: each atom's
tensor invariant under its site-symmetry group and equivalent atoms rotated copies of each other,
optionally with the acoustic sum rule Σ_κ T_κ = 0.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import spglib
import spglib.error

from gmtnet.graph import check_cell_numbers
from gmtnet.kinds import TensorKind, get_kind
from gmtnet.tensors import VoigtOrder

__all__ = [
    "DEFAULT_SYMPREC",
    "DEFAULT_ANGLE_TOLERANCE",
    "PointSymmetry",
    "SymmetryConstraints",
    "Equality",
    "analyze_symmetry",
    "symmetry_constraints",
    "neumann_constraints",
    "neumann_projector",
    "tensor_representation",
    "crystal_system_from_number",
    "symmetry_residual",
    "is_group",
    "clear_symmetry_cache",
    "SiteSymmetry",
    "analyze_site_symmetry",
    "project_per_atom",
]

#: Default spglib distance tolerance in Å, chosen by measurement on the 3,178 bundled Materials
#: Project structures (``gmtnet/resources/data/DATA_CARD.md``): the detected space group equals the
#: Materials Project label for 86 % of rows at 1e-5 Å (the paper's value, too strict for relaxed
#: DFT cells), 95 % at 1e-3, 97.5 % at 1e-2 and 99.9 % at 1e-1. 1e-1 is not used: it finds
#: operations that more of the DFT tensors break (fewer consistent rows), and it would hide the
#: symmetry breaking of a 2 % strain of a 4 Å cell (0.08 Å), the app's what-if case.
DEFAULT_SYMPREC = 1e-2
#: Default spglib angle tolerance in degrees (spglib's own default, -1, picks it from symprec).
DEFAULT_ANGLE_TOLERANCE = -1.0

_CRYSTAL_SYSTEMS = (
    (2, "triclinic"),
    (15, "monoclinic"),
    (74, "orthorhombic"),
    (142, "tetragonal"),
    (167, "trigonal"),
    (194, "hexagonal"),
    (230, "cubic"),
)


def crystal_system_from_number(spacegroup_number: int) -> str:
    """Crystal system of an international space-group number (1-230)."""
    n = int(spacegroup_number)
    for last, name in _CRYSTAL_SYSTEMS:
        if 1 <= n <= last:
            return name
    raise ValueError(f"space-group number must be in 1..230, got {spacegroup_number}")


@dataclass(frozen=True)
class PointSymmetry:
    """The point-group part of a crystal's symmetry, in the structure's Cartesian frame.

    Attributes:
        rotations: ``(n_ops, 3, 3)`` orthogonal matrices (det ±1), Cartesian, structure frame;
            an exact group (closed under products, no duplicates).
        spacegroup_number: international number (1-230).
        spacegroup_symbol: Hermann-Mauguin symbol, e.g. ``"Fm-3m"``.
        point_group: Hermann-Mauguin point-group symbol, e.g. ``"m-3m"``.
        crystal_system: ``"triclinic"`` ... ``"cubic"``.
        symprec: distance tolerance (Å) used for the detection.
        frame_tilt: ‖L A⁻¹ − I‖₂, the stretch between the stored lattice L and the symmetrised
            one A the operations are exact for; bounds (in rad) how far a symmetry element can sit
            from where the stored cell puts it (~1e-7 for a cell stored to 6 decimals).
    """

    rotations: np.ndarray
    spacegroup_number: int
    spacegroup_symbol: str
    point_group: str
    crystal_system: str
    symprec: float
    frame_tilt: float = 0.0


def _cell(structure) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """spglib cell tuple of an ordered pymatgen Structure; raises ValueError otherwise."""
    if len(structure) == 0:
        raise ValueError("the structure has no sites")
    if not structure.is_ordered:
        raise ValueError(
            f"disordered structure ({structure.composition.reduced_formula}): partial occupancies "
            "have no single point group; order the structure first"
        )
    # Guards: spglib segfaults on NaN/infinite or singular cells, and a dummy species' Z does not
    # fit spglib's int32 atom types.
    check_cell_numbers(structure.lattice.matrix, structure.frac_coords)
    zs = []
    for i, site in enumerate(structure):
        z = getattr(site.specie, "Z", None)
        if type(site.specie).__name__ == "DummySpecies" or not isinstance(z, int) or not 1 <= z <= 118:
            raise ValueError(f"site {i} is {site.specie}, not a chemical element")
        zs.append(z)
    numbers = np.array(zs, dtype=np.intc)
    return structure.lattice.matrix, structure.frac_coords, numbers


def _invariant_frame(lattice_rows: np.ndarray, rotations_frac: np.ndarray) -> np.ndarray:
    """Column lattice matrix A, closest to L, whose metric is exactly invariant under the W's.

    Why: with a loose tolerance spglib accepts operations W that are only approximately
    isometries of the given (slightly distorted) lattice, so L W L⁻¹ is not exactly orthogonal
    and the averaged representation would not be an exact projector. Averaging the metric
    G = LᵀL over the group gives an invariant metric G'; A = polar(L G'^-1/2) G'^1/2 has metric G'
    and keeps L's orientation, so A W A⁻¹ are exact orthogonal matrices in (to within symprec) the
    structure's own Cartesian frame.
    """
    L = lattice_rows.T
    G = L.T @ L
    Gs = np.einsum("gai,ab,gbj->ij", rotations_frac, G, rotations_frac) / len(rotations_frac)
    w, v = np.linalg.eigh(Gs)
    g_half = (v * np.sqrt(w)) @ v.T
    g_mhalf = (v / np.sqrt(w)) @ v.T
    u, _, vt = np.linalg.svd(L @ g_mhalf)
    return (u @ vt) @ g_half


#: Entries a Cartesian point operation has when its symmetry elements lie along x, y, z and the
#: hexagonal/trigonal a axis along x or y: 0, ±1/2, ±√3/2, ±1.
_AXIS_ENTRIES = np.array([0.0, 0.5, math.sqrt(3.0) / 2.0, 1.0])
#: Largest entry change (≈ tilt in rad) accepted when snapping the operations onto the axes.
SNAP_TOLERANCE = 1e-3


def _snap_to_axes(rotations: np.ndarray, w: np.ndarray, tol: float = SNAP_TOLERANCE) -> np.ndarray:
    """The operations (``w``: the same as integer matrices) with their symmetry elements exactly
    on the coordinate axes, when they are within ``tol`` of them (else unchanged).

    Why: the operations come from the symmetrised lattice, which differs from the stored one by a
    small stretch (a 6-decimal CIF, a relaxed cell, a what-if strain). That tilts a mirror meant
    to be ⟂ x by ~1e-7 to 1e-3 rad, so the components it forbids come out as 1e-7 × |T| instead
    of 0 and the forced pairs differ in the 7th digit. The ideal structure has them on the axes
    (the tilt is far inside the detection tolerance), so snap every entry to 0, ±1/2, ±√3/2, ±1
    when all entries of all operations are that close, and keep the snap only if the result is
    still an orthogonal group. A structure in a general orientation is left as it is (its
    operations are then exact to round-off and it has no components forbidden by the frame).
    """
    r = np.asarray(rotations, dtype=float)
    mag = np.abs(r)
    nearest = _AXIS_ENTRIES[np.argmin(np.abs(mag[..., None] - _AXIS_ENTRIES), axis=-1)]
    if np.abs(mag - nearest).max() > tol:
        return r
    snapped = np.sign(r) * nearest
    if np.abs(np.einsum("gij,gkj->gik", snapped, snapped) - np.eye(3)).max() > 1e-12:
        return r
    # Closure through the group's exact multiplication table, from the integer matrices W
    # (n² products; is_group would compare n³).
    wp = np.einsum("aij,bjk->abik", w, w).reshape(-1, 9)
    lo = min(int(w.min()), int(wp.min()))
    base = max(int(w.max()), int(wp.max())) - lo + 1
    weights = base ** np.arange(9, dtype=np.int64)
    keys = (w.reshape(-1, 9) - lo) @ weights
    order = np.argsort(keys)
    table = order[np.searchsorted(keys[order], (wp - lo) @ weights)]
    snapped_products = np.einsum("aij,bjk->abik", snapped, snapped).reshape(-1, 9)
    if np.abs(snapped_products - snapped.reshape(-1, 9)[table]).max() > 1e-12:
        return r
    return snapped


def _is_integer_group(w: np.ndarray) -> bool:
    """Exact closure test for distinct integer matrices (spglib's fractional rotations)."""
    products = np.einsum("aij,bjk->abik", w, w).reshape(-1, 9)
    # One integer key per matrix (entries offset to be non-negative, base larger than any entry).
    lo = min(int(w.min()), int(products.min()))
    base = max(int(w.max()), int(products.max())) - lo + 1
    weights = base ** np.arange(9, dtype=np.int64)
    return bool(np.isin((products - lo) @ weights, (w.reshape(-1, 9) - lo) @ weights).all())


def is_group(rotations: np.ndarray, atol: float = 1e-6) -> bool:
    """True when the ``(n, 3, 3)`` matrices are closed under products and contain the identity."""
    r = np.asarray(rotations, dtype=float)
    products = np.einsum("aij,bjk->abik", r, r).reshape(-1, 1, 9)
    dist = np.abs(products - r.reshape(1, -1, 9)).max(axis=2)
    has_identity = np.abs(r - np.eye(3)).reshape(len(r), 9).max(axis=1).min() < atol
    return bool(has_identity and (dist.min(axis=1) < atol).all())


def analyze_symmetry(
    structure,
    symprec: float = DEFAULT_SYMPREC,
    angle_tolerance: float = DEFAULT_ANGLE_TOLERANCE,
) -> PointSymmetry:
    """Detect the space group and the Cartesian point operations of a structure with spglib.

    Args:
        structure: ordered, periodic :class:`pymatgen.core.Structure`.
        symprec: spglib distance tolerance in Å (default :data:`DEFAULT_SYMPREC`).
        angle_tolerance: spglib angle tolerance in degrees (-1: spglib's choice).

    Returns:
        :class:`PointSymmetry` with R = L·W·L⁻¹ (L = lattice vectors as columns, W the integer
        rotations in that basis; here the basis of spglib's standardized cell, so that supercells
        get the whole point group), duplicates removed and group closure checked.

    Raises:
        ValueError: for an empty or disordered structure, a non-positive ``symprec``, or when
            spglib finds no symmetry (e.g. overlapping atoms).
    """
    _check_tolerances(symprec, angle_tolerance)
    cell = _cell(structure)
    # Predicting several kinds for one structure (the app, `predict --kind` repeated) analyses the
    # same cell again and again; spglib is the slow step (up to ~25 ms for cubic cells), so cache.
    key = (cell[0].tobytes(), cell[1].tobytes(), cell[2].tobytes(), float(symprec), float(angle_tolerance))
    cached = _SYMMETRY_CACHE.get(key)
    if cached is not None:
        return cached
    result = _analyze_cell(cell, structure.composition.reduced_formula, symprec, angle_tolerance)
    if len(_SYMMETRY_CACHE) >= _SYMMETRY_CACHE_SIZE:
        _SYMMETRY_CACHE.pop(next(iter(_SYMMETRY_CACHE)))  # oldest first (dicts keep insertion order)
    _SYMMETRY_CACHE[key] = result
    return result


_SYMMETRY_CACHE: dict[tuple, PointSymmetry] = {}
_SYMMETRY_CACHE_SIZE = 512


def clear_symmetry_cache() -> None:
    """Forget cached :func:`analyze_symmetry` results and the constraints built on them
    (benchmarks time the spglib call and the projector)."""
    _SYMMETRY_CACHE.clear()
    _CONSTRAINTS_CACHE.clear()


def _check_tolerances(symprec: float, angle_tolerance: float) -> None:
    if not (symprec > 0 and np.isfinite(symprec)):
        raise ValueError(f"symprec must be a positive distance in Å, got {symprec}")
    if not np.isfinite(angle_tolerance):
        raise ValueError(f"angle_tolerance must be finite (degrees, or -1), got {angle_tolerance}")


def _spglib_dataset(cell, formula: str, symprec: float, angle_tolerance: float):
    """spglib's symmetry dataset of ``cell``; a ``ValueError`` saying why when it finds none."""
    # spglib reports failure by returning None (its default, "old" error handling) or by raising
    # SpglibError (when a user opted into the new handling); treat both alike.
    try:
        dataset = spglib.get_symmetry_dataset(cell, symprec=symprec, angle_tolerance=angle_tolerance)
        reason = "" if dataset is not None else spglib.get_error_message()
    except spglib.error.SpglibError as err:
        dataset, reason = None, str(err)
    if dataset is None:
        reason = reason.strip() or "no symmetry found"
        if reason.lower() in ("no error", "spglib_success"):
            reason = "no symmetry found"
        raise ValueError(
            f"spglib could not analyse {formula} at symprec={symprec}: {reason} (atoms too close for this "
            "tolerance, or a distorted cell: try a smaller symprec)"
        )
    return dataset


def _analyze_cell(cell, formula: str, symprec: float, angle_tolerance: float) -> PointSymmetry:
    dataset = _spglib_dataset(cell, formula, symprec, angle_tolerance)
    # Why not dataset.rotations: those are only the operations that map the *input* lattice onto
    # itself, which misses part of the point group for a supercell whose cell breaks the lattice
    # symmetry (ZnO 2x1x1 gives 4 of 12). The standardized cell carries the whole point group:
    # take its rotations from spglib's database (integer, standard basis) and its basis vectors in
    # the input's Cartesian frame, (a_s b_s c_s) = (a b c) P⁻¹ (spglib's transformation_matrix).
    db = spglib.get_symmetry_from_database(dataset.hall_number)
    w = np.unique(np.asarray(db["rotations"], dtype=np.int64), axis=0)
    if not _is_integer_group(w):
        # Cannot happen for spglib output; guard against silent garbage in the projector.
        raise RuntimeError(f"point operations of {formula} do not form a group")
    std_rows = (cell[0].T @ np.linalg.inv(dataset.transformation_matrix)).T
    a = _invariant_frame(std_rows, w.astype(float))
    rotations = _snap_to_axes(np.einsum("ij,gjk,kl->gil", a, w, np.linalg.inv(a)), w)
    tilt = float(np.linalg.norm(std_rows.T @ np.linalg.inv(a) - np.eye(3), 2))
    rotations.setflags(write=False)  # shared through the cache
    return PointSymmetry(
        rotations=rotations,
        spacegroup_number=int(dataset.number),
        spacegroup_symbol=str(dataset.international),
        point_group=str(dataset.pointgroup),
        crystal_system=crystal_system_from_number(dataset.number),
        symprec=float(symprec),
        frame_tilt=tilt,
    )


# --------------------------------------------------------------------------- representations


def tensor_representation(rotations: np.ndarray, rank: int) -> np.ndarray:
    """ρ(g) = R ⊗ ... ⊗ R (``rank`` factors) acting on row-major flattened tensors.

    Args:
        rotations: ``(n, 3, 3)`` Cartesian operations.
        rank: tensor rank.

    Returns:
        ``(n, 3**rank, 3**rank)``.
    """
    r = np.asarray(rotations, dtype=float)
    rho = r
    for _ in range(rank - 1):
        n, d, _ = rho.shape
        rho = np.einsum("gai,gbj->gabij", rho, r).reshape(n, d * 3, d * 3)
    return rho


def neumann_projector(rotations: np.ndarray, kind: str | TensorKind) -> np.ndarray:
    """Exact orthogonal projector onto tensors of ``kind`` invariant under ``rotations``.

    Args:
        rotations: ``(n, 3, 3)`` Cartesian point operations forming a group.
        kind: tensor kind.

    Returns:
        ``(3**rank, 3**rank)`` symmetric idempotent matrix acting on row-major flattened tensors.
    """
    k = get_kind(kind)
    orbits, weights = _orbit_matrices(k)
    # S·A with S = Oᵀ·diag(1/|orbit|)·O: two thin products instead of a dense (3^r)² one.
    return orbits.T @ (weights[:, None] * (orbits @ _group_average(rotations, k.rank)))


def _group_average(rotations: np.ndarray, rank: int) -> np.ndarray:
    """(1/|G|) Σ_g ρ(g), equal to ``tensor_representation(rotations, rank).mean(axis=0)``.

    Why not that: for rank 4 it builds |G| matrices of 81x81 (17 ms for 48 operations on a busy
    core), the slowest step of a prediction. The average of a Kronecker product is one matrix
    product: Σ_g A_g[x, y] B_g[z, w] = (Aᵀ B)[(x, y), (z, w)], reordered to [(x, z), (y, w)].
    """
    r = np.asarray(rotations, dtype=float)
    n = len(r)
    if not 2 <= rank <= 4:
        return tensor_representation(r, rank).mean(axis=0)
    pair = np.einsum("gai,gbj->gabij", r, r).reshape(n, 9, 9) if rank > 2 else r  # R ⊗ R
    left, right = {2: (r, r), 3: (pair, r), 4: (pair, pair)}[rank]
    dl, dr = left.shape[1], right.shape[1]
    m = left.reshape(n, dl * dl).T @ right.reshape(n, dr * dr) / n
    return m.reshape(dl, dl, dr, dr).transpose(0, 2, 1, 3).reshape(dl * dr, dl * dr)


@lru_cache(maxsize=None)
def _orbit_matrices(k: TensorKind) -> tuple[np.ndarray, np.ndarray]:
    """0/1 matrix O ``(n_orbits, 3**rank)`` of the intrinsic index orbits (:attr:`TensorKind.index_orbits`,
    from the kind's formula) and 1/|orbit|: S = Oᵀ diag(w) O. Cached per kind object."""
    orbits = k.index_orbits
    o = np.zeros((len(orbits), 3**k.rank))
    for i, orbit in enumerate(orbits):
        o[i, list(orbit)] = 1.0
    w = 1.0 / o.sum(axis=1)
    o.setflags(write=False)
    w.setflags(write=False)
    return o, w


def symmetry_residual(tensor: np.ndarray, rotations: np.ndarray) -> float:
    """max_g ||ρ(g)T − T||_F / ||T||_F: how far a tensor is from obeying the operations.

    Returns 0 for a zero tensor. About 2 means the tensor is in another frame than the rotations.
    """
    t = np.asarray(tensor, dtype=float)
    norm = np.linalg.norm(t)
    if norm == 0:
        return 0.0
    rho = tensor_representation(rotations, t.ndim)
    flat = t.reshape(-1)
    return float(np.linalg.norm(rho @ flat - flat, axis=1).max() / norm)


# --------------------------------------------------------------------------- constraints


@dataclass(frozen=True)
class Equality:
    """Two tensor components forced equal (``sign=+1``) or opposite (``sign=-1``).

    ``a`` and ``b`` are full Cartesian index tuples (0-based), one representative of each class
    of components related by the intrinsic index symmetry.
    """

    a: tuple[int, ...]
    b: tuple[int, ...]
    sign: int


@dataclass(frozen=True)
class SymmetryConstraints:
    """The form a tensor of one kind must take in one crystal (Neumann's principle).

    Attributes:
        kind: the tensor kind.
        projector: ``(3**rank, 3**rank)`` exact orthogonal projector on flattened tensors.
        symmetry: the crystal's point symmetry (``None`` when built from bare operations).
        n_independent: dimension of the allowed subspace.
        zero_mask: bool array of the full tensor shape, True where a component is forbidden.
        equalities: components forced equal or opposite (see :class:`Equality`).
    """

    kind: TensorKind
    projector: np.ndarray
    symmetry: PointSymmetry | None = None
    n_independent: int = field(init=False)
    zero_mask: np.ndarray = field(init=False)
    equalities: tuple[Equality, ...] = field(init=False)
    _reduced: tuple[np.ndarray, np.ndarray] = field(init=False, repr=False, compare=False)

    # Classification of components from the averaged projector P: a component whose row of P has
    # norm below the tolerance is forbidden, rows that agree (up to sign) within it are forced
    # equal, and the projector actually used is built on that pattern, so the allowed form shown
    # and the numbers agree exactly. The tolerance is on the rows (linear in a tilt of the
    # operations), not on the diagonal of P (quadratic: a 1e-7 tilt gave diagonal 1e-14 and a
    # "forbidden" component of 1e-7 × |T|, the 6e-8 "zeros" the app used to show). It follows the
    # frame tilt of the detection (10×, at least round-off 1e-9) but stays ≤ 1e-5: larger, an
    # allowed component of a general frame that is small by chance would be forced to zero.
    _MIN_ATOL = 1e-9
    _MAX_ATOL = 1e-5

    @property
    def tolerance(self) -> float:
        """Row tolerance used to classify components as forbidden or forced equal."""
        tilt = 0.0 if self.symmetry is None else self.symmetry.frame_tilt
        return min(self._MAX_ATOL, max(self._MIN_ATOL, 10.0 * tilt))

    def __post_init__(self) -> None:
        p = np.asarray(self.projector, dtype=float)
        k = self.kind
        orbits = k.index_orbits
        tol = self.tolerance
        row_norm = np.linalg.norm(p, axis=1)
        zero = np.zeros(p.shape[0], dtype=bool)
        for o in orbits:
            zero[list(o)] = row_norm[o[0]] < tol
        object.__setattr__(self, "zero_mask", zero.reshape(k.shape))
        reps = [o for o in orbits if not zero[o[0]]]
        eqs: list[Equality] = []
        # Union-find over orbit representatives: root index and the sign relating each to it.
        root = {o[0]: (o[0], 1) for o in reps}

        def find(i: int) -> tuple[int, int]:
            r, s = root[i]
            if r == i:
                return r, s
            rr, ss = find(r)
            root[i] = (rr, s * ss)
            return rr, s * ss

        for oi, oj in itertools.combinations(reps, 2):
            i, j = oi[0], oj[0]
            for sign in (1, -1):
                if np.abs(p[i] - sign * p[j]).max() < tol:
                    a = tuple(int(x) for x in np.unravel_index(i, k.shape))
                    b = tuple(int(x) for x in np.unravel_index(j, k.shape))
                    eqs.append(Equality(a, b, sign))
                    (ri, si), (rj, sj) = find(i), find(j)
                    if ri != rj:
                        root[rj] = (ri, si * sign * sj)
                    break
        object.__setattr__(self, "equalities", tuple(eqs))
        d, m = _pattern_exact_projector(p, reps, find)
        clean = d @ m @ d.T
        for a in (d, m, clean):
            a.setflags(write=False)
        object.__setattr__(self, "_reduced", (d, m))
        object.__setattr__(self, "projector", clean)
        object.__setattr__(self, "n_independent", int(round(np.trace(clean))))

    # ------------------------------------------------------------------ convenience
    @property
    def point_group(self) -> str | None:
        return None if self.symmetry is None else self.symmetry.point_group

    @property
    def crystal_system(self) -> str | None:
        return None if self.symmetry is None else self.symmetry.crystal_system

    @property
    def spacegroup_number(self) -> int | None:
        return None if self.symmetry is None else self.symmetry.spacegroup_number

    def project(self, tensor: np.ndarray) -> np.ndarray:
        """Project a full-rank tensor (or a batch, leading axes) onto the allowed form.

        Units, frame and shape are those of the input (the structure's Cartesian frame).
        """
        t = np.asarray(tensor, dtype=float)
        if t.shape[t.ndim - self.kind.rank :] != self.kind.shape:
            raise ValueError(f"{self.kind.name} tensor must end in shape {self.kind.shape}, got {t.shape}")
        d, m = self._reduced
        flat = t.reshape(-1, 3**self.kind.rank)
        return (((flat @ d) @ m.T) @ d.T).reshape(t.shape)

    def basis(self) -> np.ndarray:
        """Orthonormal basis of the allowed subspace, ``(n_independent, 3, ..., 3)``."""
        w, v = np.linalg.eigh(self.projector)
        return v[:, w > 0.5].T.reshape((-1, *self.kind.shape))

    def residual(self, tensor: np.ndarray) -> float:
        """||T − P T||_F / ||T||_F (0 for a zero tensor)."""
        t = np.asarray(tensor, dtype=float)
        norm = np.linalg.norm(t)
        return 0.0 if norm == 0 else float(np.linalg.norm(t - self.project(t)) / norm)

    def check(self, tensor: np.ndarray, zero_tol: float = 1e-5, equality_tol: float = 1e-4) -> dict:
        """The paper's per-crystal checks of a tensor against this form.

        Args:
            tensor: full-rank tensor in the kind's units, in the structure's frame.
            zero_tol: a forbidden component above this magnitude fails the zero check.
            equality_tol: a forced pair differing (after the sign) by more fails the equality check.

        Returns:
            dict with ``zero_ok``, ``equality_ok``, ``max_forbidden`` and ``max_equality_violation``
            (absolute, in the kind's units).
        """
        t = np.asarray(tensor, dtype=float)
        if t.shape != self.kind.shape:
            raise ValueError(f"{self.kind.name} tensor must have shape {self.kind.shape}, got {t.shape}")
        max_forbidden = float(np.abs(t[self.zero_mask]).max()) if self.zero_mask.any() else 0.0
        max_eq = max((abs(t[e.a] - e.sign * t[e.b]) for e in self.equalities), default=0.0)
        return {
            "zero_ok": max_forbidden <= zero_tol,
            "equality_ok": float(max_eq) <= equality_tol,
            "max_forbidden": max_forbidden,
            "max_equality_violation": float(max_eq),
        }

    # ------------------------------------------------------------------ Voigt views
    def _voigt_position(self, idx: tuple[int, ...], order: VoigtOrder) -> tuple[int, int]:
        return self.kind.voigt_position(idx, order)

    def voigt_zero_mask(self, order: VoigtOrder = "ieee") -> np.ndarray:
        """Bool Voigt matrix (3x3, 3x6 or 6x6) in the given order, True where forbidden."""
        from gmtnet.tensors import to_voigt

        return to_voigt(self.zero_mask.astype(float), self.kind, order) > 0.5

    def voigt_equalities(self, order: VoigtOrder = "ieee") -> list[tuple[str, str, int]]:
        """Equalities as Voigt component names (1-based, e.g. ``("C11", "C22", +1)``)."""
        from gmtnet.tensors import voigt_labels

        labels = voigt_labels(self.kind, order)
        pairs = []
        for e in self.equalities:
            a, b = sorted((self._voigt_position(e.a, order), self._voigt_position(e.b, order)))
            pairs.append((a, b, e.sign))
        return [(str(labels[a]), str(labels[b]), sign) for a, b, sign in sorted(pairs)]

    def __repr__(self) -> str:
        pg = self.point_group or "?"
        return (
            f"SymmetryConstraints(kind={self.kind.name!r}, point_group={pg!r}, "
            f"n_independent={self.n_independent}, n_zero={int(self.zero_mask.sum())}, "
            f"n_equalities={len(self.equalities)})"
        )


def _pattern_exact_projector(p: np.ndarray, reps, find) -> tuple[np.ndarray, np.ndarray]:
    """``(D, M)`` with D M Dᵀ the orthogonal projector onto range(P) ∩ C, so that its output is exact.

    C is the subspace of the detected pattern: forbidden components zero, each class of forced-equal
    components (with the intrinsic index orbits) equal up to its sign. D (columns: one unit vector
    per class, entries ±1/√size on its members, disjoint supports) is an orthonormal basis of C;
    with U an orthonormal basis of Dᵀ·range(P) the projector is D U Uᵀ Dᵀ. Its rows are exactly
    zero for forbidden components and exactly equal (±) within a class, so P'T has exact zeros
    and exact equalities for any T, whatever round-off or ~1e-7 frame mismatch P carries;
    :meth:`SymmetryConstraints.project` applies it as D (M (Dᵀ T)), where every output component
    is one product d·y (no sum of differently rounded terms).
    """
    classes: dict[int, list[tuple[tuple[int, ...], int]]] = {}
    for o in reps:
        r, sign = find(o[0])
        classes.setdefault(r, []).append((o, sign))
    d = np.zeros((p.shape[0], len(classes)))
    for col, members in enumerate(classes.values()):
        size = sum(len(o) for o, _ in members)
        for o, sign in members:
            d[list(o), col] = sign / math.sqrt(size)
    w, v = np.linalg.eigh(0.5 * (p + p.T))
    basis = v[:, w > 0.5]
    if basis.shape[1] == 0 or d.shape[1] == 0:
        return d, np.zeros((d.shape[1], d.shape[1]))
    u, s, _ = np.linalg.svd(d.T @ basis, full_matrices=False)
    u = u[:, s > 0.5]
    return d, u @ u.T


def neumann_constraints(
    rotations: np.ndarray, kind: str | TensorKind, symmetry: PointSymmetry | None = None
) -> SymmetryConstraints:
    """:class:`SymmetryConstraints` from bare Cartesian operations (e.g. a textbook point group)."""
    k = get_kind(kind)
    return SymmetryConstraints(kind=k, projector=neumann_projector(rotations, k), symmetry=symmetry)


def symmetry_constraints(
    structure,
    kind: str | TensorKind,
    symprec: float = DEFAULT_SYMPREC,
    angle_tolerance: float = DEFAULT_ANGLE_TOLERANCE,
) -> SymmetryConstraints:
    """The allowed form of a ``kind`` tensor for ``structure``, in its Cartesian frame.

    Args:
        structure: ordered, periodic :class:`pymatgen.core.Structure`.
        kind: a registered kind (name or :class:`~gmtnet.kinds.TensorKind`).
        symprec: spglib distance tolerance in Å.
        angle_tolerance: spglib angle tolerance in degrees.

    Example:
        >>> c = symmetry_constraints(structure, "elastic")
        >>> c.n_independent, c.point_group          # e.g. (3, 'm-3m')
        >>> c.project(C)                            # C: (3, 3, 3, 3) in GPa, structure frame
    """
    sym = analyze_symmetry(structure, symprec=symprec, angle_tolerance=angle_tolerance)
    k = get_kind(kind)
    # Every kind of a crystal, and every repeated prediction, shares the cached analysis; its
    # constraints (immutable: read-only arrays) are kept with it so the projector is built once too.
    key = (id(sym), k)
    cached = _CONSTRAINTS_CACHE.get(key)
    if cached is not None and cached.symmetry is sym:
        return cached
    result = neumann_constraints(sym.rotations, k, symmetry=sym)
    if len(_CONSTRAINTS_CACHE) >= _CONSTRAINTS_CACHE_SIZE:
        _CONSTRAINTS_CACHE.pop(next(iter(_CONSTRAINTS_CACHE)))
    _CONSTRAINTS_CACHE[key] = result
    return result


_CONSTRAINTS_CACHE: dict[tuple[int, TensorKind], SymmetryConstraints] = {}
#: Small: an elastic projector with its factors is ~0.1 MB, and the use is a few crystals asked
#: for again (the app, every kind of one structure); batch screening goes kind by kind anyway.
_CONSTRAINTS_CACHE_SIZE = 64


# --------------------------------------------------------------------------- per-atom tensors


@dataclass(frozen=True)
class SiteSymmetry:
    """The space-group operations of a crystal acting on its atoms, for per-atom tensors.

    A per-atom property T_κ (Born effective charge Z*_κ, a site's chemical-shielding tensor...)
    obeys Neumann's principle site by site: for every space-group operation g = {R_g | t_g} that
    maps atom κ onto atom g(κ) (modulo a lattice vector), T_{g(κ)} = ρ(R_g) T_κ. This holds for
    each atom's own site-symmetry group (g(κ) = κ) and relates symmetry-equivalent atoms.

    Attributes:
        rotations: ``(n_ops, 3, 3)`` exact orthogonal Cartesian matrices R_g (structure frame),
            one per space-group operation of the given cell (pure lattice translations of a
            supercell included, so a rotation may repeat).
        translations: ``(n_ops, 3)`` fractional translations t_g, in [0, 1).
        permutations: ``(n_ops, N)`` int64, ``permutations[g, κ]`` is the atom g maps κ onto.
        site_symmetry_symbols: per atom, the oriented Hermann–Mauguin symbol of its site-symmetry
            group as spglib gives it (e.g. ``"m-3m"``, ``"3m."``), for display.
        wyckoffs: per atom, its Wyckoff letter.
        equivalent_atoms: ``(N,)`` int64, the representative of each atom's orbit (spglib).
        spacegroup_number: international number (1-230).
        spacegroup_symbol: Hermann–Mauguin symbol.
        symprec: distance tolerance (Å) used for the detection.

    Only operations of the given cell are used: a supercell whose lattice breaks part of the point
    group (ZnO 2x1x1) gets the subgroup its lattice keeps, so its projection is correct but less
    constrained than that of the primitive cell.
    """

    rotations: np.ndarray
    translations: np.ndarray
    permutations: np.ndarray
    site_symmetry_symbols: tuple[str, ...]
    wyckoffs: tuple[str, ...]
    equivalent_atoms: np.ndarray
    spacegroup_number: int
    spacegroup_symbol: str
    symprec: float
    _blocks: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def num_atoms(self) -> int:
        return int(self.permutations.shape[1])

    @property
    def num_operations(self) -> int:
        return int(self.permutations.shape[0])

    def site_group(self, atom: int) -> np.ndarray:
        """``(n, 3, 3)`` distinct Cartesian rotations of atom ``atom``'s site-symmetry group."""
        if not 0 <= atom < self.num_atoms:
            raise ValueError(f"atom index must be in 0..{self.num_atoms - 1}, got {atom}")
        r = self.rotations[self.permutations[:, atom] == atom]
        return np.unique(np.round(r, 12), axis=0)

    def projector_blocks(self, rank: int, axial: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """The orbit-average projector on per-atom tensors as sparse 3^r x 3^r blocks.

        The projector is T'_κ = (1/|G|) Σ_g ρ(R_g) T_{g⁻¹(κ)} (times det R_g for an axial
        tensor): it is nonzero only between symmetry-equivalent atoms, so it is stored as one block
        per pair, B_{κκ'} = (1/|G|) Σ_{g: g(κ') = κ} ρ(R_g).

        Args:
            rank: tensor rank r of the per-atom tensors (≥ 1).
            axial: an axial (pseudo-)tensor, which picks up det R under improper operations.

        Returns:
            ``(index, blocks)``: ``index`` ``(2, P)`` int64 rows [κ (receiving), κ' (source)],
            ``blocks`` ``(P, 3**r, 3**r)`` float64 acting on row-major flattened tensors, read-only.
            T'_κ = Σ_{p: index[0, p] = κ} blocks[p] @ T_{index[1, p]}.
        """
        if not (isinstance(rank, (int, np.integer)) and rank >= 1):
            raise ValueError(f"rank must be a positive integer, got {rank!r}")
        key = (int(rank), bool(axial))
        cached = self._blocks.get(key)
        if cached is not None:
            return cached
        from scipy import sparse

        n, g = self.num_atoms, self.num_operations
        # Distinct rotations: a supercell repeats each one once per pure lattice translation.
        rots, rot_index = np.unique(np.round(self.rotations, 12), axis=0, return_inverse=True)
        rot_index = rot_index.reshape(-1)
        rots = self.rotations[np.array([np.flatnonzero(rot_index == i)[0] for i in range(len(rots))])]
        rho = tensor_representation(rots, rank)
        if axial:
            rho = rho * np.linalg.det(rots)[:, None, None]
        pairs = self.permutations.astype(np.int64) * n + np.arange(n, dtype=np.int64)  # (G, N): κ·N + κ'
        keys, inverse = np.unique(pairs.reshape(-1), return_inverse=True)
        # Count matrix (pair, distinct rotation) / |G|, then one product with the ρ's: never a
        # (G·N, 3^r, 3^r) array (that is 10 GB for a 500-atom cubic supercell at rank 4).
        counts = sparse.coo_matrix(
            (np.full(g * n, 1.0 / g), (inverse.reshape(-1), np.repeat(rot_index, n))),
            shape=(len(keys), len(rots)),
        ).tocsr()
        d = 3**rank
        blocks = np.asarray(counts @ rho.reshape(len(rots), d * d)).reshape(-1, d, d)
        index = np.stack([keys // n, keys % n])
        for a in (index, blocks):
            a.setflags(write=False)
        self._blocks[key] = (index, blocks)
        return index, blocks

    def project(self, tensors: np.ndarray, axial: bool = False, acoustic_sum_rule: bool = False) -> np.ndarray:
        """Project per-atom tensors onto the symmetry-allowed set (and the sum rule).

        Args:
            tensors: ``(N, 3, ..., 3)`` per-atom Cartesian tensors in structure site order, in the
                structure's Cartesian frame (any unit; Z* in e).
            axial: axial tensors pick up det R under improper operations.
            acoustic_sum_rule: also impose Σ_κ T_κ = 0 (charge neutrality of Z*) by subtracting
                the mean over atoms. The mean of a symmetric set is invariant under the point
                group, so the result stays symmetric: the two projections commute and their
                product is the orthogonal projector onto both constraints.

        Returns:
            ``(N, 3, ..., 3)`` float64, same unit and frame; idempotent.
        """
        t = np.asarray(tensors, dtype=float)
        n = self.num_atoms
        if t.ndim < 2 or t.shape[0] != n or t.shape[1:] != (3,) * (t.ndim - 1):
            raise ValueError(f"per-atom tensors must have shape ({n}, 3, ..., 3) for this {n}-atom structure, got {t.shape}")
        rank = t.ndim - 1
        index, blocks = self.projector_blocks(rank, axial)
        flat = t.reshape(n, -1)
        out = np.zeros_like(flat)
        np.add.at(out, index[0], np.einsum("pxy,py->px", blocks, flat[index[1]]))
        if acoustic_sum_rule:
            out -= out.mean(axis=0)
        return out.reshape(t.shape)


def analyze_site_symmetry(
    structure,
    symprec: float = DEFAULT_SYMPREC,
    angle_tolerance: float = DEFAULT_ANGLE_TOLERANCE,
) -> SiteSymmetry:
    """Space-group operations of ``structure`` with the atom each maps every atom onto.

    Args and errors as :func:`analyze_symmetry`.

    Returns:
        :class:`SiteSymmetry`; rotations R = A·W·A⁻¹ with W spglib's integer rotations of the
        given cell and A its lattice (columns) made exactly invariant under them (as in
        :func:`analyze_symmetry`), so each R is orthogonal to round-off in the structure's frame.

    Raises:
        ValueError: also when an operation does not map the atoms onto atoms of the same element
            within 2 × ``symprec`` (which spglib should never return).
    """
    _check_tolerances(symprec, angle_tolerance)
    lattice, frac, numbers = _cell(structure)
    formula = structure.composition.reduced_formula
    dataset = _spglib_dataset((lattice, frac, numbers), formula, symprec, angle_tolerance)
    w_all = np.asarray(dataset.rotations, dtype=np.int64)
    t_all = np.asarray(dataset.translations, dtype=float) % 1.0
    w, w_index = np.unique(w_all, axis=0, return_inverse=True)
    a = _invariant_frame(lattice, w.astype(float))
    r = _snap_to_axes(np.einsum("ij,gjk,kl->gil", a, w, np.linalg.inv(a)), w)[w_index.reshape(-1)]
    perms = _atom_mapping(lattice, frac, numbers, w_all, t_all, 2.0 * symprec, formula)
    for arr in (r, t_all, perms):
        arr.setflags(write=False)
    equivalent = np.asarray(dataset.equivalent_atoms, dtype=np.int64)
    equivalent.setflags(write=False)
    return SiteSymmetry(
        rotations=r,
        translations=t_all,
        permutations=perms,
        site_symmetry_symbols=tuple(str(s) for s in dataset.site_symmetry_symbols),
        wyckoffs=tuple(str(s) for s in dataset.wyckoffs),
        equivalent_atoms=equivalent,
        spacegroup_number=int(dataset.number),
        spacegroup_symbol=str(dataset.international),
        symprec=float(symprec),
    )


def _atom_mapping(lattice, frac, numbers, w, t, tol: float, formula: str) -> np.ndarray:
    """``(n_ops, N)``: the atom each operation {W|t} maps each atom onto (within ``tol`` Å, periodically).

    Why a k-d tree on fractional coordinates (scipy's periodic ``cKDTree``) rather than all
    pairwise distances: a supercell has |G| ∝ N operations, so the pairwise search is O(N³)
    (30 s for a 320-atom SrTiO3 supercell); the tree makes it O(|G| N log N). The tree's
    fractional metric only proposes the nearest atom; the Cartesian distance then decides.
    """
    from scipy.spatial import cKDTree

    n = len(frac)

    def wrap(x):
        x = x % 1.0
        return np.where(x >= 1.0, 0.0, x)  # -1e-17 % 1.0 == 1.0, outside the periodic box

    images = np.einsum("gij,nj->gni", w, frac) + t[:, None, :]  # (G, N, 3) fractional
    _, target = cKDTree(wrap(frac), boxsize=1.0).query(wrap(images).reshape(-1, 3))
    target = target.reshape(len(w), n)
    diff = images - frac[target]
    diff -= np.round(diff)
    dist = np.linalg.norm(diff @ lattice, axis=2)  # (G, N) Å
    bad = (dist > tol) | (numbers[target] != numbers[None, :])
    bad |= np.sort(target, axis=1) != np.arange(n)  # not a permutation
    if bad.any():
        g, atom = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"space-group operation {g} of {formula} does not map the atoms onto atoms of the same "
            f"element within {tol:.3g} Å (atom {atom} lands {dist[g, atom]:.3g} Å from atom {target[g, atom]})"
        )
    return target.astype(np.int64)


def project_per_atom(
    structure,
    tensors: np.ndarray,
    axial: bool = False,
    acoustic_sum_rule: bool = False,
    symprec: float = DEFAULT_SYMPREC,
    angle_tolerance: float = DEFAULT_ANGLE_TOLERANCE,
) -> np.ndarray:
    """Per-atom tensors ``(N, 3, ..., 3)`` (structure site order and Cartesian frame) projected onto
    the form the crystal's space group allows, optionally with Σ_κ T_κ = 0; see
    :meth:`SiteSymmetry.project`.

    Example:
        >>> z = project_per_atom(structure, z_raw, acoustic_sum_rule=True)   # Born charges, e
    """
    sites = analyze_site_symmetry(structure, symprec=symprec, angle_tolerance=angle_tolerance)
    return sites.project(tensors, axial=axial, acoustic_sum_rule=acoustic_sum_rule)
