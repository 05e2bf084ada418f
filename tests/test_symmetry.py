import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from helpers import random_orthogonal, rocksalt_nacl, transform_structure, wurtzite_zno
from gmtnet.kinds import KINDS
from gmtnet.pointgroups import POINT_GROUPS, point_group_operations
from gmtnet.symmetry import (
    analyze_symmetry,
    crystal_system_from_number,
    is_group,
    neumann_constraints,
    symmetry_constraints,
    symmetry_residual,
    tensor_representation,
)
from gmtnet.tensors import rotate, symmetrize_indices

# Standard tables (Nye, "Physical Properties of Crystals"): independent components per point group.
DIELECTRIC = {"triclinic": 6, "monoclinic": 4, "orthorhombic": 3, "tetragonal": 2, "trigonal": 2, "hexagonal": 2, "cubic": 1}
PIEZO = {
    "1": 18, "2": 8, "m": 10, "222": 3, "mm2": 5, "4": 4, "-4": 4, "422": 1, "4mm": 3, "-42m": 2,
    "3": 6, "32": 2, "3m": 4, "6": 4, "-6": 2, "622": 1, "6mm": 3, "-6m2": 1, "23": 1, "-43m": 1,
    "432": 0,
}  # the 11 centrosymmetric classes: 0
ELASTIC = {"triclinic": 21, "monoclinic": 13, "orthorhombic": 9, "hexagonal": 5, "cubic": 3}
ELASTIC_LOW = {"4": 7, "-4": 7, "4/m": 7, "3": 7, "-3": 7}  # otherwise tetragonal/trigonal: 6
CENTROSYMMETRIC = {"-1", "2/m", "mmm", "4/m", "4/mmm", "-3", "-3m", "6/m", "6/mmm", "m-3", "m-3m"}


def expected_count(symbol: str, kind: str) -> int:
    system = POINT_GROUPS[symbol][0]
    if kind.startswith("dielectric"):
        return DIELECTRIC[system]
    if kind == "piezoelectric":
        return 0 if symbol in CENTROSYMMETRIC else PIEZO[symbol]
    if system in ("tetragonal", "trigonal"):
        return ELASTIC_LOW.get(symbol, 6)
    return ELASTIC[system]


def test_there_are_32_point_groups_with_their_orders():
    orders = {s: len(point_group_operations(s)) for s in POINT_GROUPS}
    assert len(orders) == 32
    assert orders["1"] == 1 and orders["m-3m"] == 48 and orders["6/mmm"] == 24 and orders["-43m"] == 24
    assert all(is_group(point_group_operations(s)) for s in POINT_GROUPS)


@pytest.mark.parametrize("symbol", list(POINT_GROUPS))
@pytest.mark.parametrize("kind", ["dielectric", "piezoelectric", "elastic"])
def test_independent_components_match_tables(symbol, kind):
    c = neumann_constraints(point_group_operations(symbol), kind)
    assert c.n_independent == expected_count(symbol, kind)
    assert len(c.basis()) == c.n_independent


def assert_exact_projector(c, rotations):
    p = c.projector
    np.testing.assert_allclose(p @ p, p, atol=1e-12)
    np.testing.assert_allclose(p, p.T, atol=1e-12)
    rng = np.random.default_rng(0)
    t = c.project(rng.normal(size=c.kind.shape))
    for r in rotations:  # Neumann: invariant under every operation
        np.testing.assert_allclose(rotate(t, r), t, atol=1e-12)
    np.testing.assert_allclose(symmetrize_indices(t, c.kind), t, atol=1e-12)
    np.testing.assert_allclose(c.project(t), t, atol=1e-12)
    if c.n_independent:  # (a projected-to-zero tensor is round-off, with no meaningful residual)
        assert symmetry_residual(t, rotations) < 1e-12
    checks = c.check(t)
    assert checks["zero_ok"] and checks["equality_ok"]


@pytest.mark.parametrize("symbol", list(POINT_GROUPS))
@pytest.mark.parametrize("kind", ["dielectric", "piezoelectric", "elastic"])
def test_projector_is_exact_in_any_orientation(symbol, kind, rng):
    ops = point_group_operations(symbol)
    c = neumann_constraints(ops, kind)
    assert_exact_projector(c, ops)
    # The same group seen in a randomly rotated frame: counts kept, pattern rotated with it.
    q = random_orthogonal(rng)
    ops_q = np.einsum("ij,gjk,lk->gil", q, ops, q)
    cq = neumann_constraints(ops_q, kind)
    assert cq.n_independent == c.n_independent
    assert_exact_projector(cq, ops_q)
    rho_q = tensor_representation(q[None], c.kind.rank)[0]
    np.testing.assert_allclose(cq.projector, rho_q @ c.projector @ rho_q.T, atol=1e-12)


def test_known_forms():
    zno = symmetry_constraints(wurtzite_zno(), "piezoelectric")
    assert (zno.point_group, zno.crystal_system, zno.spacegroup_number) == ("6mm", "hexagonal", 186)
    assert zno.n_independent == 3
    assert set(zno.voigt_equalities()) == {("e15", "e24", 1), ("e31", "e32", 1)}
    allowed = ~zno.voigt_zero_mask("ieee")
    assert {tuple(x) for x in np.argwhere(allowed)} == {(0, 4), (1, 3), (2, 0), (2, 1), (2, 2)}
    # VASP order puts yz at position 5 and xz at 6: e15 (IEEE) is e16 (VASP).
    assert set(np.argwhere(~zno.voigt_zero_mask("vasp"))[:, 1]) == {0, 1, 2, 4, 5}
    nacl = symmetry_constraints(rocksalt_nacl(conventional=True), "elastic")
    assert nacl.n_independent == 3 and nacl.point_group == "m-3m"
    assert {("C11", "C22", 1), ("C44", "C66", 1), ("C12", "C13", 1)} <= set(nacl.voigt_equalities())
    assert symmetry_constraints(rocksalt_nacl(conventional=True), "piezoelectric").n_independent == 0


@pytest.mark.parametrize("proper", [True, False])
@pytest.mark.parametrize("kind", ["dielectric", "piezoelectric", "elastic"])
def test_structure_in_random_frame(kind, proper, rng):
    s = wurtzite_zno()
    q = random_orthogonal(rng, reflection=not proper)
    c, cq = symmetry_constraints(s, kind), symmetry_constraints(transform_structure(s, q), kind)
    assert (cq.n_independent, cq.point_group) == (c.n_independent, c.point_group)
    t = c.project(rng.normal(size=c.kind.shape))
    np.testing.assert_allclose(cq.project(rotate(t, q)), rotate(t, q), atol=1e-10)
    assert_exact_projector(cq, cq.symmetry.rotations)


def test_non_standard_settings():
    # Rocksalt as its 2-atom primitive (rhombohedral-looking) cell, and an orthorhombic cell with
    # permuted axes: same point group and counts as the standard settings.
    prim = rocksalt_nacl(conventional=True).get_primitive_structure()
    assert len(prim) == 2
    c = symmetry_constraints(prim, "elastic")
    assert (c.point_group, c.n_independent) == ("m-3m", 3)
    assert_exact_projector(c, c.symmetry.rotations)
    ortho = Structure(Lattice.orthorhombic(3, 4, 5), ["Ga", "N", "N"], [[0, 0, 0.1], [0.5, 0, 0.3], [0, 0.5, 0.7]])
    swapped = Structure(Lattice.orthorhombic(5, 3, 4), ["Ga", "N", "N"], [[0.1, 0, 0], [0.3, 0.5, 0], [0.7, 0, 0.5]])
    a, b = symmetry_constraints(ortho, "piezoelectric"), symmetry_constraints(swapped, "piezoelectric")
    assert a.point_group == b.point_group == "mm2"
    assert a.n_independent == b.n_independent == 5
    # The polar axis is z in one cell and x in the other: the allowed e_x.. components differ.
    assert a.zero_mask[0, 0, 0] and not b.zero_mask[0, 0, 0]


def test_slightly_distorted_input_gives_exact_projector(rng):
    s = wurtzite_zno()
    s.perturb(1e-3)  # well inside the default tolerance
    c = symmetry_constraints(s, "elastic")
    assert c.point_group == "6mm" and c.n_independent == 5
    assert_exact_projector(c, c.symmetry.rotations)
    # A strict tolerance sees the distortion.
    assert symmetry_constraints(s, "elastic", symprec=1e-5).n_independent == 21


def test_detection_details():
    sym = analyze_symmetry(rocksalt_nacl(conventional=True))
    assert (sym.spacegroup_number, sym.spacegroup_symbol, sym.crystal_system) == (225, "Fm-3m", "cubic")
    assert len(sym.rotations) == 48 and is_group(sym.rotations)
    assert np.allclose(np.einsum("gij,gkj->gik", sym.rotations, sym.rotations), np.eye(3))
    assert [crystal_system_from_number(n) for n in (1, 3, 16, 75, 143, 168, 195)] == [
        "triclinic", "monoclinic", "orthorhombic", "tetragonal", "trigonal", "hexagonal", "cubic"]


def test_residual_detects_a_frame_mismatch(rng):
    ops = point_group_operations("6mm")
    c = neumann_constraints(ops, "piezoelectric")
    t = c.project(rng.normal(size=(3, 3, 3)))
    assert symmetry_residual(t, ops) < 1e-12
    swapped_frame = rotate(t, point_group_operations("m-3m")[5])  # a 90-degree relabelling of axes
    assert symmetry_residual(swapped_frame, ops) > 0.5
    assert symmetry_residual(np.zeros((3, 3, 3)), ops) == 0.0


def test_bad_input_raises():
    with pytest.raises(ValueError, match="disordered"):
        symmetry_constraints(Structure(Lattice.cubic(4), [{"Fe": 0.5, "Ni": 0.5}], [[0, 0, 0]]), "dielectric")
    with pytest.raises(ValueError, match="symprec"):
        analyze_symmetry(rocksalt_nacl(conventional=True), symprec=0)
    with pytest.raises(ValueError, match="unknown tensor kind"):
        symmetry_constraints(rocksalt_nacl(conventional=True), "thermal")
    c = symmetry_constraints(rocksalt_nacl(conventional=True), "dielectric")
    with pytest.raises(ValueError, match="shape"):
        c.project(np.zeros((3, 6)))
    with pytest.raises(ValueError, match="shape"):
        c.check(np.zeros((3, 3, 3)))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_check_flags_forbidden_and_unequal_components(kind):
    c = symmetry_constraints(wurtzite_zno(), kind)
    t = c.project(np.ones(c.kind.shape))
    assert c.check(t)["zero_ok"] and c.check(t)["equality_ok"]
    if c.zero_mask.any():
        bad = t.copy()
        bad[tuple(np.argwhere(c.zero_mask)[0])] = 1e-3
        assert not c.check(bad)["zero_ok"]
    e = c.equalities[0]
    bad = t.copy()
    bad[e.a] += 1e-3
    assert not c.check(bad)["equality_ok"]


@pytest.mark.parametrize("make, pg, n_elastic", [(wurtzite_zno, "6mm", 5), (rocksalt_nacl, "m-3m", 3)])
def test_supercells_keep_the_whole_point_group(make, pg, n_elastic, rng):
    # A 2x1x1 supercell's cell breaks the lattice symmetry, but the crystal does not.
    s = make() * (2, 1, 1)
    c = symmetry_constraints(s, "elastic")
    assert (c.point_group, c.n_independent) == (pg, n_elastic)
    assert len(c.symmetry.rotations) == len(point_group_operations(pg))
    assert_exact_projector(c, c.symmetry.rotations)
    q = random_orthogonal(rng)
    cq = symmetry_constraints(transform_structure(s, q), "elastic")
    assert cq.n_independent == n_elastic


def test_repeated_analysis_is_cached_but_edits_are_not():
    s = wurtzite_zno()
    a, b = analyze_symmetry(s), analyze_symmetry(s.copy())
    assert a is b  # same cell, same tolerance: one spglib call
    assert not a.rotations.flags.writeable
    assert analyze_symmetry(s, symprec=1e-3) is not a
    strained = s.copy()
    strained.apply_strain([0.02, 0, 0])
    lowered = analyze_symmetry(strained)  # a new cell: analysed afresh, symmetry lowered
    assert lowered.point_group != "6mm" and len(lowered.rotations) < len(a.rotations)
