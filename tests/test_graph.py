"""Tests of gmtnet.graph: complete neighbour shells, periodic images, batching."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
from helpers import (
    bcc_fe,
    permuted,
    perovskite_srtio3,
    rattled_perovskite,
    rocksalt_nacl,
    supercell,
    triclinic_cell,
    wurtzite_zno,
)
from pymatgen.core import Lattice, Structure

from gmtnet.graph import DEFAULT_TIE_TOLERANCE, MAX_ATOMS, CrystalGraph, build_graph, collate

A_FE = 2.87


def _per_atom_distances(g: CrystalGraph, decimals: int = 6) -> list[tuple[float, ...]]:
    d = g.edge_length
    return [tuple(np.round(np.sort(d[g.edge_src == i]), decimals)) for i in range(g.num_atoms)]


def _reference_shells(structure: Structure, k: int, tol: float) -> list[np.ndarray]:
    """Brute force: per atom, all neighbour distances ≤ d_k + tol from a generous radius search."""
    src, _, _, dist = structure.get_neighbor_list(12.0)
    out = []
    for i in range(len(structure)):
        d = np.sort(dist[src == i])
        out.append(d[d <= d[k - 1] + tol])
    return out


# --------------------------------------------------------------------------- complete shells


@pytest.mark.parametrize(
    "k, n_edges, shells",
    [
        (1, 8, [A_FE * np.sqrt(3) / 2]),  # k = 1 still takes the whole first shell
        (8, 8, [A_FE * np.sqrt(3) / 2]),
        (9, 14, [A_FE * np.sqrt(3) / 2, A_FE]),  # 8 < 9 <= 14: the 6-atom second shell is complete
        (14, 14, [A_FE * np.sqrt(3) / 2, A_FE]),
        (15, 26, [A_FE * np.sqrt(3) / 2, A_FE, A_FE * np.sqrt(2)]),
    ],
)
def test_bcc_shells_are_complete(k, n_edges, shells):
    g = build_graph(bcc_fe(), num_neighbors=k)
    assert g.num_atoms == 1 and g.num_edges == n_edges
    assert (g.edge_src == 0).all() and (g.edge_dst == 0).all()  # only self-images in a 1-atom cell
    np.testing.assert_allclose(np.unique(np.round(g.edge_length, 6)), shells, rtol=1e-6)
    # Complete shells of a centrosymmetric lattice: the edge vectors sum to zero.
    np.testing.assert_allclose(g.edge_vec.sum(axis=0), 0.0, atol=1e-9)


@pytest.mark.parametrize("make", [triclinic_cell, rattled_perovskite, wurtzite_zno, rocksalt_nacl])
@pytest.mark.parametrize("k", [4, 12, 16])
def test_matches_brute_force_shells(make, k):
    s = make()
    g = build_graph(s, num_neighbors=k)
    ref = _reference_shells(s, k, DEFAULT_TIE_TOLERANCE)
    for i in range(len(s)):
        d = np.sort(g.edge_length[g.edge_src == i])
        assert len(d) >= k
        np.testing.assert_allclose(d, ref[i], atol=1e-9)


def test_edge_vectors_point_to_periodic_images():
    s = triclinic_cell(3)
    g = build_graph(s)
    assert g.edge_vec.dtype == np.float64 and g.edge_vec.shape == (g.num_edges, 3)
    for arr in (g.atomic_numbers, g.edge_src, g.edge_dst):
        assert arr.dtype == np.int64
    np.testing.assert_array_equal(g.atomic_numbers, [site.specie.Z for site in s])
    # edge_vec = r_dst + T - r_src with T a lattice vector (integer fractional coordinates).
    t = g.edge_vec - (s.cart_coords[g.edge_dst] - s.cart_coords[g.edge_src])
    frac = s.lattice.get_fractional_coords(t)
    np.testing.assert_allclose(frac, np.round(frac), atol=1e-8)
    # Sorted by centre atom, then distance.
    assert (np.diff(g.edge_src) >= 0).all()
    for i in range(len(s)):
        assert (np.diff(g.edge_length[g.edge_src == i]) >= -1e-12).all()


def test_symmetric_crystal_has_symmetric_neighbourhoods():
    # Conventional rocksalt: every atom sees 6 unlike neighbours, then 12 like ones, ...
    g = build_graph(rocksalt_nacl(conventional=True), num_neighbors=16)
    per_atom = _per_atom_distances(g)
    assert len(set(per_atom)) == 1
    assert len(per_atom[0]) == 6 + 12  # k = 16 lies in the second (12-atom) shell


@pytest.mark.parametrize(
    "lattice",
    [
        Lattice.cubic(3.0),
        Lattice.from_parameters(2.5, 2.5, 40.0, 90, 90, 120),  # very flat (a slab-like cell)
        Lattice.from_parameters(30.0, 30.0, 1.5, 90, 90, 90),  # needle
        Lattice.from_parameters(3.1, 3.4, 3.9, 60, 70, 80),  # skewed triclinic
    ],
)
def test_one_atom_cells(lattice):
    s = Structure(lattice, ["C"], [[0.1, 0.2, 0.3]])
    for k in (1, 6, 16):
        g = build_graph(s, num_neighbors=k)
        assert g.num_edges >= k
        np.testing.assert_allclose(g.edge_vec.sum(axis=0), 0.0, atol=1e-8)  # ±T pairs
        ref = _reference_shells(s, k, DEFAULT_TIE_TOLERANCE)[0]
        np.testing.assert_allclose(np.sort(g.edge_length), ref, atol=1e-9)


def test_needle_cell_neighbours():
    s = Structure(Lattice.from_parameters(30.0, 30.0, 1.5, 90, 90, 90), ["H"], [[0, 0, 0]])
    g = build_graph(s, num_neighbors=16)
    np.testing.assert_allclose(np.sort(g.edge_length), np.repeat(1.5 * np.arange(1, 9), 2))


@pytest.mark.parametrize("make", [wurtzite_zno, triclinic_cell, perovskite_srtio3])
def test_supercell_has_same_neighbourhoods(make):
    s = make()
    g1 = build_graph(s)
    g2 = build_graph(supercell(s, (2, 1, 1)))
    c1 = Counter(_per_atom_distances(g1))
    c2 = Counter(_per_atom_distances(g2))
    assert c2 == Counter({key: 2 * n for key, n in c1.items()})


def test_permutation_permutes_graph():
    s = triclinic_cell(1)
    perm = np.array([3, 0, 4, 2, 1])
    g = build_graph(s)
    gp = build_graph(permuted(s, perm))
    np.testing.assert_array_equal(gp.atomic_numbers, g.atomic_numbers[perm])

    def edges_of(graph, i, relabel):
        sel = graph.edge_src == i
        return sorted(
            (int(relabel[d]), *np.round(v, 6)) for d, v in zip(graph.edge_dst[sel], graph.edge_vec[sel])
        )

    identity = np.arange(len(s))
    for i_new, i_old in enumerate(perm):
        assert edges_of(gp, i_new, perm) == edges_of(g, i_old, identity)


def test_tie_tolerance_keeps_near_degenerate_shell():
    # Displace one O slightly: its Ti-O bonds split by ~0.02 Å, within the default tolerance.
    s = perovskite_srtio3()
    s.translate_sites([2], [0.0, 0.0, 0.005], frac_coords=True)
    g = build_graph(s, num_neighbors=1)
    ti = 1
    d = np.sort(g.edge_length[g.edge_src == ti])
    assert len(d) == 6 and d[-1] - d[0] > 0.01  # the split octahedron is kept whole
    g0 = build_graph(s, num_neighbors=1, tie_tolerance=0.0)
    assert (g0.edge_src == ti).sum() < 6


# --------------------------------------------------------------------------- errors


def test_disordered_structure_raises():
    s = Structure(Lattice.cubic(4.0), [{"Fe": 0.5, "Ni": 0.5}], [[0, 0, 0]])
    with pytest.raises(ValueError, match="disordered"):
        build_graph(s)


def test_too_many_atoms_raises():
    s = Structure(
        Lattice.cubic(1.0 * (MAX_ATOMS + 1)),
        ["H"] * (MAX_ATOMS + 1),
        [[i / (MAX_ATOMS + 1), 0, 0] for i in range(MAX_ATOMS + 1)],
    )
    with pytest.raises(ValueError, match=str(MAX_ATOMS + 1)):
        build_graph(s)


@pytest.mark.parametrize("kwargs", [{"num_neighbors": 0}, {"num_neighbors": 2.5}, {"tie_tolerance": -0.1}])
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        build_graph(wurtzite_zno(), **kwargs)


def test_overlapping_atoms_raise():
    s = Structure(Lattice.cubic(4.0), ["Na", "Cl"], [[0, 0, 0], [0.001, 0, 0]])
    with pytest.raises(ValueError, match="overlap"):
        build_graph(s)


# --------------------------------------------------------------------------- batching


def test_collate_offsets_and_dtypes():
    import torch

    from gmtnet.symmetry import symmetry_constraints

    structures = [wurtzite_zno(), bcc_fe(), triclinic_cell()]
    graphs = [build_graph(s) for s in structures]
    projectors = [symmetry_constraints(s, "dielectric").projector for s in structures]
    b = collate(graphs, projectors)
    n = sum(g.num_atoms for g in graphs)
    e = sum(g.num_edges for g in graphs)
    assert b.num_graphs == 3 and b.num_nodes == n and b.num_edges == e
    assert b.atomic_numbers.dtype == torch.int64 and b.atomic_numbers.shape == (n,)
    assert b.edge_index.dtype == torch.int64 and b.edge_index.shape == (2, e)
    assert b.edge_vec.dtype == torch.float32 and b.edge_vec.shape == (e, 3)
    assert b.node_graph.tolist() == [0] * 4 + [1] + [2] * 5
    assert b.projector.dtype == torch.float32 and b.projector.shape == (3, 9, 9)
    # Edges of crystal 2 point at its own atoms (offset 5).
    e0 = graphs[0].num_edges + graphs[1].num_edges
    assert b.edge_index[:, e0:].min() == 5 and b.edge_index[:, e0:].max() == 9
    assert (b.node_graph[b.edge_index[0]] == b.node_graph[b.edge_index[1]]).all()
    moved = b.to("cpu")
    assert moved.num_graphs == 3 and torch.equal(moved.edge_vec, b.edge_vec)
    assert collate(graphs).projector is None
    with pytest.raises(ValueError):
        collate(graphs, projectors[:2])
    with pytest.raises(ValueError):
        collate([])


def test_import_is_light():
    code = "import sys, gmtnet.graph; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
