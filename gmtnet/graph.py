"""Crystal graphs with complete neighbour shells, and their batching for the model.

numpy + pymatgen; importing this module does not import torch (only :func:`collate` and
:meth:`GraphBatch.to` need it, and import it when called).

Graph convention
----------------
One directed edge per (centre atom, neighbour image) pair: ``edge_src`` is the centre atom,
``edge_dst`` the neighbour atom (its index in the cell) and ``edge_vec`` the Cartesian vector in Å,
in the structure's own frame, from the centre atom to that periodic image of the neighbour.
Messages flow dst → src: an atom's new features are built from its neighbours.

Complete shells
---------------
Each atom keeps every neighbour whose distance is ≤ d_k + ``tie_tolerance``, where d_k is the
distance of its k-th nearest neighbour (k = ``num_neighbors``; periodic images of the atom itself
count, the atom itself at distance 0 does not). No tie is broken by sort order, so symmetry-related
neighbours are always all in or all out and the graph carries the crystal's full point symmetry,
which the equivariant model then inherits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = [
    "DEFAULT_NUM_NEIGHBORS",
    "DEFAULT_TIE_TOLERANCE",
    "MAX_ATOMS",
    "MIN_DISTANCE",
    "MAX_NEIGHBOR_SEARCH_BYTES",
    "CrystalGraph",
    "GraphBatch",
    "build_graph",
    "validate_structure",
    "check_cell_numbers",
    "check_neighbor_search",
    "neighbor_search_bytes",
    "collate",
]

#: Default k: every atom gets at least its 16 nearest neighbours (then the rest of the k-th shell).
DEFAULT_NUM_NEIGHBORS = 16
#: Default shell tolerance in Å. Two neighbour distances closer than this are one shell. It is
#: 5 × :data:`gmtnet.symmetry.DEFAULT_SYMPREC` (1e-2 Å): spglib calls atoms up to symprec from
#: their symmetric positions equivalent, so bond lengths it treats as equal may differ by up to
#: ~2 × symprec; 0.05 Å keeps such bonds together with margin while staying far below the spacing
#: of genuinely different shells (tenths of Å).
DEFAULT_TIE_TOLERANCE = 0.05
#: Largest cell (number of sites) :func:`build_graph` accepts.
MAX_ATOMS = 500
#: Two distinct atoms (or an atom and its own image) closer than this (Å) are reported as overlapping.
MIN_DISTANCE = 0.1

#: Most memory (bytes) one neighbour search may need, by :func:`neighbor_search_bytes`; a search
#: that would need more is refused before anything is allocated. A 500-atom crystal needs a few MB;
#: 1 GiB leaves room for unusual but real cells and stays far below what would take a server down.
MAX_NEIGHBOR_SEARCH_BYTES = 1 << 30

# Radius search: the first radius holds ~(k + 1) atoms at the average density, times this margin.
_RADIUS_MARGIN = 1.25
_RADIUS_GROWTH = 1.5
_MAX_TRIES = 12


@dataclass(frozen=True)
class CrystalGraph:
    """The neighbour graph of one crystal (numpy, structure frame).

    Attributes:
        atomic_numbers: ``(n,)`` int64, Z of each site in structure order.
        edge_src: ``(E,)`` int64, centre atom of each edge (receives the message).
        edge_dst: ``(E,)`` int64, neighbour atom (index in the cell) of each edge.
        edge_vec: ``(E, 3)`` float64, Cartesian vector in Å from the centre atom to the
            neighbour's periodic image, in the structure's Cartesian frame.

    Edges are sorted by centre atom, then by distance.
    """

    atomic_numbers: np.ndarray
    edge_src: np.ndarray
    edge_dst: np.ndarray
    edge_vec: np.ndarray

    @property
    def num_atoms(self) -> int:
        return int(self.atomic_numbers.shape[0])

    @property
    def num_edges(self) -> int:
        return int(self.edge_src.shape[0])

    @property
    def edge_length(self) -> np.ndarray:
        """``(E,)`` float64 edge lengths in Å."""
        return np.linalg.norm(self.edge_vec, axis=1)

    def __repr__(self) -> str:
        return f"CrystalGraph(num_atoms={self.num_atoms}, num_edges={self.num_edges})"


def validate_structure(structure, max_atoms: int = MAX_ATOMS):
    """Check that a structure can be turned into a graph (and so predicted); returns it unchanged.

    Raises:
        ValueError: not a periodic pymatgen Structure, no sites, more than ``max_atoms`` sites,
            partial occupancies, a non-periodic axis or a degenerate cell, naming the offending value.
    """
    from pymatgen.core import Structure

    if not isinstance(structure, Structure):
        raise ValueError(f"expected a periodic pymatgen Structure, got {type(structure).__name__}")
    n = len(structure)
    if n == 0:
        raise ValueError("the structure has no atoms")
    if n > max_atoms:
        raise ValueError(f"the structure has {n} atoms; the limit is {max_atoms}")
    if not structure.is_ordered:
        raise ValueError(
            f"the structure ({structure.composition.reduced_formula}) is disordered (partial occupancies); "
            "tensor prediction needs an ordered structure"
        )
    pbc = getattr(structure.lattice, "pbc", (True, True, True))
    if not all(pbc):
        raise ValueError(f"the structure must be periodic along all three axes, got pbc={tuple(pbc)}")
    check_cell_numbers(structure.lattice.matrix, structure.frac_coords)
    if structure.lattice.volume <= 1e-3:
        raise ValueError(f"the cell volume is {structure.lattice.volume:.3g} Å³; the lattice is degenerate")
    for i, site in enumerate(structure):
        z = getattr(site.specie, "Z", None)
        if type(site.specie).__name__ == "DummySpecies" or not isinstance(z, int) or not 1 <= z <= 118:
            raise ValueError(f"site {i} is {site.specie}, not a chemical element")
    return structure


def check_cell_numbers(lattice_matrix, frac_coords) -> None:
    """Raise ``ValueError`` unless the lattice (3×3, Å) and fractional coordinates are finite and
    the lattice is not singular.

    Why separate: spglib and the neighbour search crash the interpreter (segfault) or loop on NaN,
    infinite or zero-volume cells, so every path to them calls this first; it is cheap.
    """
    m = np.asarray(lattice_matrix, dtype=float)
    if m.shape != (3, 3) or not np.isfinite(m).all():
        raise ValueError("the lattice has non-finite (NaN or infinite) entries")
    f = np.asarray(frac_coords, dtype=float)
    if not np.isfinite(f).all():
        raise ValueError("an atomic coordinate is not finite (NaN or infinite)")
    volume = abs(float(np.linalg.det(m)))
    if not volume > 1e-3 or not np.isfinite(volume):
        raise ValueError(f"the cell volume is {volume:.3g} Å³; the lattice is degenerate")


def neighbor_search_bytes(structure, radius: float) -> int:
    """Memory in bytes that ``structure.get_neighbor_list(radius)`` will allocate, estimated
    before calling it.

    Why an estimate of pymatgen's own algorithm (``pymatgen.optimization.neighbors.
    find_points_in_spheres``) rather than a limit on the lattice lengths: its cost is set by a
    grid of cubes of edge ``max(radius, 1 Å)`` laid over the box that holds the atoms' Cartesian
    coordinates widened by ``radius`` on every side, with 28 int64 per cube (a head index and a
    27-entry neighbour map; 32 × 8 bytes per cube matches the peak RSS measured for 100-300 Å cells). A 1000 Å cell with atoms at its corner and centre needs 502³ cubes,
    27 GB, for a 0.5 Å overlap check, while the same cell with all atoms near one corner, or a
    30 Å cell of 500 atoms, needs a few MB. On top of the grid: the periodic images inside the
    box (7 numbers each) and the neighbour pairs found (5 numbers each, about ``n² × sphere
    volume / cell volume``), times 2 for the copies pymatgen and this package make of them.
    """
    r = max(float(radius), 1.0)  # pymatgen searches at least 1 Å and filters afterwards
    n = len(structure)
    cart = np.asarray(structure.cart_coords, dtype=float)
    span = cart.max(axis=0) - cart.min(axis=0) + 2.0 * r
    cubes = float(np.prod(np.ceil(span / r)))
    volume = float(structure.lattice.volume)
    images = n * (float(np.prod(span)) / volume + 1.0)
    pairs = n * (n * (4.0 / 3.0) * math.pi * r**3 / volume + 1.0)
    return int(32 * 8 * cubes + 7 * 8 * images + 2 * 5 * 8 * pairs)


def check_neighbor_search(structure, radius: float, limit: int = MAX_NEIGHBOR_SEARCH_BYTES) -> None:
    """Raise ``ValueError`` when the neighbour search within ``radius`` Å would need more than
    ``limit`` bytes (:func:`neighbor_search_bytes`); call it before ``get_neighbor_list``."""
    need = neighbor_search_bytes(structure, radius)
    if need > limit:
        a, b, c = structure.lattice.abc
        raise ValueError(
            f"the neighbour search within {radius:.3g} Å of this cell ({len(structure)} atoms, "
            f"{a:.4g} × {b:.4g} × {c:.4g} Å, {structure.lattice.volume:.4g} Å³) would need about "
            f"{need / 2**30:.3g} GiB of memory; the limit is {limit / 2**30:.3g} GiB (the atoms are "
            "spread over a cell far larger or sparser than a crystal's)"
        )


def build_graph(
    structure,
    num_neighbors: int = DEFAULT_NUM_NEIGHBORS,
    tie_tolerance: float = DEFAULT_TIE_TOLERANCE,
) -> CrystalGraph:
    """Periodic neighbour graph with complete shells (see the module docstring).

    Args:
        structure: ordered, 3D-periodic :class:`pymatgen.core.Structure` with at most
            :data:`MAX_ATOMS` sites.
        num_neighbors: k, the minimum number of neighbours per atom (≥ 1).
        tie_tolerance: shell tolerance in Å (≥ 0): neighbours up to d_k + tie_tolerance are kept.

    Returns:
        :class:`CrystalGraph` in the structure's Cartesian frame.

    Raises:
        ValueError: empty, disordered, non-periodic or too large structure, overlapping atoms,
            a neighbour search that would need more than :data:`MAX_NEIGHBOR_SEARCH_BYTES`,
            or invalid ``num_neighbors`` / ``tie_tolerance``.
    """
    k = int(num_neighbors)
    if k < 1 or k != num_neighbors:
        raise ValueError(f"num_neighbors must be a positive integer, got {num_neighbors!r}")
    if not (tie_tolerance >= 0 and math.isfinite(tie_tolerance)):
        raise ValueError(f"tie_tolerance must be a finite distance ≥ 0 in Å, got {tie_tolerance!r}")
    validate_structure(structure)
    n = len(structure)
    volume = float(structure.lattice.volume)
    # Sphere expected to hold k + 1 atoms at the cell's average density, with a margin.
    radius = _RADIUS_MARGIN * (3.0 * (k + 1) * volume / (4.0 * math.pi * n)) ** (1.0 / 3.0) + tie_tolerance

    for _ in range(_MAX_TRIES):
        check_neighbor_search(structure, radius)
        src, dst, images, dist = structure.get_neighbor_list(radius)
        counts = np.bincount(src, minlength=n)
        if counts.min() < k:
            radius *= _RADIUS_GROWTH
            continue
        order = np.lexsort((dist, src))  # by centre atom, then distance
        src, dst, images, dist = src[order], dst[order], images[order], dist[order]
        start = np.concatenate(([0], np.cumsum(counts)[:-1]))
        cutoff = dist[start + k - 1] + tie_tolerance  # (n,) d_k + tolerance per atom
        if cutoff.max() > radius:
            # The shell may extend past the searched sphere: search again just wide enough.
            radius = float(cutoff.max()) * (1.0 + 1e-6) + 1e-6
            continue
        keep = dist <= cutoff[src]
        src, dst, images, dist = src[keep], dst[keep], images[keep], dist[keep]
        break
    else:  # pragma: no cover - only for pathological cells
        raise ValueError(f"could not find {k} neighbours per atom within {radius:.1f} Å")

    if dist.min() < MIN_DISTANCE:
        i = int(np.argmin(dist))
        raise ValueError(
            f"atoms {int(src[i])} and {int(dst[i])} overlap: distance {dist[i]:.3g} Å < {MIN_DISTANCE} Å"
        )
    cart = structure.cart_coords
    edge_vec = cart[dst] + images @ structure.lattice.matrix - cart[src]
    return CrystalGraph(
        atomic_numbers=np.fromiter((site.specie.Z for site in structure), dtype=np.int64, count=n),
        edge_src=src.astype(np.int64, copy=False),
        edge_dst=dst.astype(np.int64, copy=False),
        edge_vec=edge_vec,
    )


# --------------------------------------------------------------------------- batching (torch)


@dataclass
class GraphBatch:
    """Several crystal graphs as one disjoint graph of torch tensors (the model's input).

    Attributes:
        atomic_numbers: ``(N,)`` int64, Z of every atom of every crystal (crystals concatenated).
        edge_index: ``(2, E)`` int64, global [src, dst] atom indices (messages go dst → src).
        edge_vec: ``(E, 3)`` float32, Å, src → dst image, each crystal in its own structure frame.
        node_graph: ``(N,)`` int64, index of the crystal each atom belongs to (0 … B-1).
        num_graphs: B, the number of crystals.
        projector: ``(B, 3**rank, 3**rank)`` float32 Neumann projectors (see
            :func:`gmtnet.symmetry.symmetry_constraints`), or ``None``.
        site_index: ``(2, P)`` int64 global atom indices [receiving atom, source atom] of the
            per-atom site-symmetry projector blocks (per-atom kinds), or ``None``.
        site_blocks: ``(P, 3**rank, 3**rank)`` float32 blocks of that projector (see
            :meth:`gmtnet.symmetry.SiteSymmetry.projector_blocks`), or ``None``.
        atom_targets: ``(N, 3, ..., 3)`` float32 per-atom labels aligned with the atoms (kind's
            unit, each crystal's structure frame), or ``None``.
    """

    atomic_numbers: "torch.Tensor"
    edge_index: "torch.Tensor"
    edge_vec: "torch.Tensor"
    node_graph: "torch.Tensor"
    num_graphs: int
    projector: "torch.Tensor | None" = None
    site_index: "torch.Tensor | None" = None
    site_blocks: "torch.Tensor | None" = None
    atom_targets: "torch.Tensor | None" = None

    def to(self, device) -> "GraphBatch":
        """A copy with every tensor on ``device`` (a ``torch.device`` or string)."""
        import torch

        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = v.to(device) if isinstance(v, torch.Tensor) else v
        return GraphBatch(**out)

    @property
    def num_nodes(self) -> int:
        return int(self.atomic_numbers.shape[0])

    @property
    def num_edges(self) -> int:
        return int(self.edge_index.shape[1])


def collate(
    graphs: Sequence[CrystalGraph],
    projectors: Sequence[np.ndarray] | np.ndarray | None = None,
    site_projectors: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
    atom_targets: Sequence[np.ndarray] | None = None,
) -> GraphBatch:
    """Batch crystal graphs (and optionally their projectors and per-atom labels) into one :class:`GraphBatch`.

    Args:
        graphs: B ≥ 1 :class:`CrystalGraph` objects.
        projectors: ``None`` or B matrices ``(3**rank, 3**rank)`` (a sequence or a ``(B, d, d)``
            array), e.g. ``symmetry_constraints(structure, kind).projector``; cast to float32.
        site_projectors: ``None`` or, per crystal, the ``(index (2, P_b), blocks (P_b, d, d))`` of
            :meth:`gmtnet.symmetry.SiteSymmetry.projector_blocks` (indices local to the crystal);
            concatenated with the atom offsets, blocks cast to float32.
        atom_targets: ``None`` or, per crystal, ``(n_b, 3, ..., 3)`` per-atom labels in site order;
            concatenated to ``(N, 3, ..., 3)`` float32.

    Returns:
        :class:`GraphBatch` on the CPU.
    """
    import torch

    if len(graphs) == 0:
        raise ValueError("collate needs at least one graph")
    sizes = np.array([g.num_atoms for g in graphs])
    offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    src = np.concatenate([g.edge_src + o for g, o in zip(graphs, offsets)])
    dst = np.concatenate([g.edge_dst + o for g, o in zip(graphs, offsets)])
    proj = None
    if projectors is not None:
        p = np.asarray(projectors if isinstance(projectors, np.ndarray) else np.stack(list(projectors)))
        if p.ndim != 3 or p.shape[0] != len(graphs) or p.shape[1] != p.shape[2]:
            raise ValueError(f"projectors must have shape ({len(graphs)}, d, d), got {p.shape}")
        proj = torch.from_numpy(np.ascontiguousarray(p, dtype=np.float32))
    site_index = site_blocks = targets = None
    if site_projectors is not None:
        site_index, site_blocks = _collate_site_projectors(graphs, site_projectors, offsets)
    if atom_targets is not None:
        targets = torch.from_numpy(_collate_atom_targets(graphs, atom_targets))
    return GraphBatch(
        atomic_numbers=torch.from_numpy(np.concatenate([g.atomic_numbers for g in graphs]).astype(np.int64)),
        edge_index=torch.from_numpy(np.stack([src, dst]).astype(np.int64)),
        edge_vec=torch.from_numpy(np.concatenate([g.edge_vec for g in graphs]).astype(np.float32)),
        node_graph=torch.from_numpy(np.repeat(np.arange(len(graphs), dtype=np.int64), sizes)),
        num_graphs=len(graphs),
        projector=proj,
        site_index=site_index,
        site_blocks=site_blocks,
        atom_targets=targets,
    )


def _collate_site_projectors(graphs, site_projectors, offsets):
    import torch

    if len(site_projectors) != len(graphs):
        raise ValueError(f"site_projectors must have one entry per graph ({len(graphs)}), got {len(site_projectors)}")
    indices, blocks = [], []
    for b, ((index, block), g, o) in enumerate(zip(site_projectors, graphs, offsets)):
        index, block = np.asarray(index), np.asarray(block)
        if index.ndim != 2 or index.shape[0] != 2 or block.ndim != 3 or len(block) != index.shape[1]:
            raise ValueError(
                f"site projector {b} must be (index (2, P), blocks (P, d, d)), got {index.shape} and {block.shape}"
            )
        if index.size and (index.min() < 0 or index.max() >= g.num_atoms):
            raise ValueError(f"site projector {b} refers to atom {int(index.max())}; the crystal has {g.num_atoms}")
        indices.append(index.astype(np.int64) + o)
        blocks.append(block)
    dims = {blk.shape[1:] for blk in blocks}
    if len(dims) != 1:
        raise ValueError(f"site projector blocks of one batch must share their size, got {sorted(dims)}")
    return (
        torch.from_numpy(np.concatenate(indices, axis=1)),
        torch.from_numpy(np.ascontiguousarray(np.concatenate(blocks), dtype=np.float32)),
    )


def _collate_atom_targets(graphs, atom_targets) -> np.ndarray:
    if len(atom_targets) != len(graphs):
        raise ValueError(f"atom_targets must have one entry per graph ({len(graphs)}), got {len(atom_targets)}")
    arrays = [np.asarray(t, dtype=np.float32) for t in atom_targets]
    for b, (t, g) in enumerate(zip(arrays, graphs)):
        if t.ndim < 2 or t.shape[0] != g.num_atoms or set(t.shape[1:]) != {3}:
            raise ValueError(
                f"atom_targets[{b}] must have shape ({g.num_atoms}, 3, ..., 3) for its {g.num_atoms}-atom crystal, "
                f"got {t.shape}"
            )
    if len({t.shape[1:] for t in arrays}) != 1:
        raise ValueError(f"atom_targets of one batch must share their rank, got {sorted({t.shape[1:] for t in arrays})}")
    return np.ascontiguousarray(np.concatenate(arrays))
