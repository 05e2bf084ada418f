"""Label orientation of IEEE-frame sources (gmtnet.orientation) on hand-made crystals."""

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from gmtnet.data import RESIDUAL_THRESHOLD
from gmtnet.orientation import (
    AMBIGUOUS,
    OBEY_TOL,
    STRUCTURE_FRAME,
    UNIQUE,
    UNRESOLVED,
    frame_candidates,
    lattice_rotations,
    orientation_class,
    pad_candidates,
    source_ieee_rotation,
)
from gmtnet.symmetry import analyze_symmetry, neumann_constraints, symmetry_residual
from gmtnet.tensors import ieee_rotation, rotate


def _wurtzite() -> Structure:
    """ZnO, P6_3mc (point group 6mm): polar along c; the hexagonal lattice is 6/mmm."""
    return Structure.from_spacegroup(
        "P6_3mc", Lattice.hexagonal(3.25, 5.21), ["Zn", "O"], [[1 / 3, 2 / 3, 0.0], [1 / 3, 2 / 3, 0.382]]
    )


def _allowed(structure: Structure, kind: str, seed: int = 0) -> np.ndarray:
    """A generic tensor of ``kind`` obeying the structure's point group (random, projected)."""
    sym = analyze_symmetry(structure)
    c = neumann_constraints(sym.rotations, kind)
    rng = np.random.default_rng(seed)
    return c.project(rng.normal(size=c.kind.shape))


def _same_set(a: np.ndarray, b: np.ndarray, tol: float = 1e-8) -> bool:
    return len(a) == len(b) and all(min(np.abs(x - y).max() for y in b) < tol for x in a)


def test_tolerance_is_the_data_threshold():
    assert OBEY_TOL == RESIDUAL_THRESHOLD


def test_lattice_rotations_are_the_proper_holohedry():
    hexagonal = lattice_rotations(Lattice.hexagonal(3.25, 5.21).matrix)
    cubic = lattice_rotations(Lattice.cubic(4.0).matrix)
    triclinic = lattice_rotations(Lattice.from_parameters(3, 4, 5, 80, 85, 95).matrix)
    assert (len(hexagonal), len(cubic), len(triclinic)) == (12, 24, 1)  # 622, 432, 1
    for ops in (hexagonal, cubic):
        np.testing.assert_allclose(np.einsum("gij,gkj->gik", ops, ops), np.broadcast_to(np.eye(3), ops.shape), atol=1e-12)
        np.testing.assert_allclose(np.linalg.det(ops), 1.0)
    with pytest.raises(ValueError, match="non-singular"):
        lattice_rotations(np.zeros((3, 3)))


def test_polar_crystal_in_two_settings_gives_one_candidate_set():
    """6mm wurtzite: a source that lost the 2-fold axis normal to c reports e flipped (the other
    setting of the polar axis). Both labels must give the same candidate set, holding both."""
    s = _wurtzite()
    sym = analyze_symmetry(s)
    assert sym.point_group == "6mm"
    ops = lattice_rotations(s.lattice.matrix)
    e = _allowed(s, "piezoelectric")
    c2x = np.diag([1.0, -1.0, -1.0])  # a proper lattice operation outside 6mm
    flipped = rotate(e, c2x)
    np.testing.assert_allclose(flipped, -e, atol=1e-12)  # the lost operation flips e
    assert symmetry_residual(flipped, sym.rotations) < 1e-10  # and the flip still obeys 6mm
    a = frame_candidates(e, sym.rotations, ops)
    b = frame_candidates(flipped, sym.rotations, ops)
    assert len(a) == 2 and _same_set(a, b)
    np.testing.assert_allclose(a[0], e)  # the label itself comes first
    assert orientation_class(len(a), structure_frame_source=False) == AMBIGUOUS
    # The elastic tensor of the same crystal is blind to the flip: one candidate.
    c = _allowed(s, "elastic")
    assert len(frame_candidates(c, sym.rotations, ops)) == 1


def test_zincblende_sign_of_e14_is_ambiguous():
    """-43m in an m-3m lattice: the 4-fold rotation (not in -43m) maps e14 to -e14."""
    s = Structure.from_spacegroup("F-43m", Lattice.cubic(5.65), ["Ga", "As"], [[0, 0, 0], [0.25, 0.25, 0.25]])
    sym = analyze_symmetry(s)
    e = _allowed(s, "piezoelectric")
    cands = frame_candidates(e, sym.rotations, lattice_rotations(s.lattice.matrix))
    assert _same_set(cands, np.stack([e, -e]))


@pytest.mark.parametrize(
    ("structure", "point_group"),
    [
        # Orthorhombic lattice (proper part 222) and crystal point group 222: nothing left to choose.
        (Structure.from_spacegroup("P222", Lattice.orthorhombic(3.0, 4.0, 5.0), ["Si"], [[0.1, 0.2, 0.3]]), "222"),
        # Triclinic P1: the only proper lattice operation is the identity.
        (Structure(Lattice.from_parameters(3, 4, 5, 80, 85, 95), ["Si", "O"], [[0, 0, 0], [0.3, 0.1, 0.6]]), "1"),
    ],
)
def test_lattice_symmetry_equal_to_crystal_symmetry_is_unique(structure, point_group):
    sym = analyze_symmetry(structure)
    assert sym.point_group == point_group
    e = _allowed(structure, "piezoelectric", seed=3)
    cands = frame_candidates(e, sym.rotations, lattice_rotations(structure.lattice.matrix))
    assert len(cands) == 1
    np.testing.assert_allclose(cands[0], e)
    assert orientation_class(len(cands), structure_frame_source=False) == UNIQUE


def test_label_that_breaks_the_point_group_under_every_frame_is_unresolved():
    s = _wurtzite()
    sym = analyze_symmetry(s)
    rng = np.random.default_rng(1)
    cands = frame_candidates(rng.normal(size=(3, 3, 3)), sym.rotations, lattice_rotations(s.lattice.matrix))
    assert len(cands) == 0
    assert orientation_class(0, structure_frame_source=False) == UNRESOLVED
    assert orientation_class(1, structure_frame_source=True) == STRUCTURE_FRAME


def test_candidates_follow_a_rotation_of_the_whole_crystal():
    """The candidate set is a property of the crystal: put it in another Cartesian frame Q and
    the candidates are the rotated ones."""
    s = _wurtzite()
    q = np.array([[0.0, -1.0, 0.0], [0.6, 0.0, -0.8], [0.8, 0.0, 0.6]])
    assert np.isclose(np.linalg.det(q), 1.0)
    sq = Structure(Lattice(s.lattice.matrix @ q.T), s.species, s.frac_coords)
    e = _allowed(s, "piezoelectric")
    a = frame_candidates(e, analyze_symmetry(s).rotations, lattice_rotations(s.lattice.matrix))
    b = frame_candidates(rotate(e, q), analyze_symmetry(sq).rotations, lattice_rotations(sq.lattice.matrix))
    assert _same_set(rotate(a, q, rank=3), b, tol=1e-6)


def test_tetragonal_c_shorter_than_a_gets_the_4_fold_axis_along_x3():
    """pymatgen's rule puts the 4-fold axis of a tetragonal cell with c < a along x1; the sources
    (and IEEE 176) put it along x3, which source_ieee_rotation restores."""
    s = Structure.from_spacegroup("P4mm", Lattice.tetragonal(5.0, 3.5), ["Ba", "Ti"], [[0, 0, 0.02], [0.5, 0.5, 0.5]])
    r_pm = ieee_rotation(s)
    r, corrected = source_ieee_rotation(s, r_pm)
    c_axis = s.lattice.matrix[2] / np.linalg.norm(s.lattice.matrix[2])
    assert corrected and abs(r_pm[2] @ c_axis) < 0.01
    np.testing.assert_allclose(r[2], c_axis, atol=1e-8)
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(r) == pytest.approx(1.0)
    # A 4mm tensor in the IEEE frame (polar axis x3) comes back obeying the crystal's point group.
    sym = analyze_symmetry(s)
    e = _allowed(s, "piezoelectric")
    e_ieee = rotate(e, r)
    assert symmetry_residual(rotate(e_ieee, r.T), sym.rotations) < 1e-10
    assert symmetry_residual(rotate(e_ieee, r_pm.T), sym.rotations) > 0.5
    # c > a: pymatgen's rotation is kept.
    tall = Structure.from_spacegroup("P4mm", Lattice.tetragonal(3.5, 5.0), ["Ba", "Ti"], [[0, 0, 0.02], [0.5, 0.5, 0.5]])
    r_tall = ieee_rotation(tall)
    kept, changed = source_ieee_rotation(tall, r_tall)
    assert not changed and np.array_equal(kept, r_tall)


def test_pad_candidates_repeats_the_first_and_masks():
    a = np.arange(27.0).reshape(1, 3, 3, 3)
    b = np.stack([a[0], -a[0], 2 * a[0]])
    padded, mask = pad_candidates([a, b], (3, 3, 3))
    assert padded.shape == (2, 3, 3, 3, 3)
    assert mask.tolist() == [[True, False, False], [True, True, True]]
    np.testing.assert_array_equal(padded[0, 1], a[0])
    with pytest.raises(ValueError, match="at least one"):
        pad_candidates([np.zeros((0, 3, 3, 3))], (3, 3, 3))
