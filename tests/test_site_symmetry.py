"""Per-atom tensors under the crystal's space group: site symmetry, equivalent atoms, sum rule.

Physical references: Born effective charges of rock salt are isotropic (site group m-3m); a
wurtzite cation's are diag(Z⊥, Z⊥, Z∥) with c along z (site group 3m); in cubic SrTiO3 every O
has one value along its Ti–O bond and another across it (site group 4/mmm), the textbook
anomalous Z*_O∥ (Zhong, King-Smith and Vanderbilt, PRL 72, 3618 (1994)).
"""

import numpy as np
import pytest

from helpers import (
    perovskite_srtio3,
    random_orthogonal,
    rattled_perovskite,
    rocksalt_nacl,
    supercell,
    transform_structure,
    triclinic_cell,
    wurtzite_zno,
)
from gmtnet.symmetry import analyze_site_symmetry, project_per_atom, tensor_representation

STRUCTURES = {
    "NaCl": rocksalt_nacl,
    "NaCl-conventional": lambda: rocksalt_nacl(conventional=True),
    "ZnO": wurtzite_zno,
    "SrTiO3": perovskite_srtio3,
    "SrTiO3-2x1x1": lambda: supercell(perovskite_srtio3(), (2, 1, 1)),
    # 3 mÅ off the ideal positions: spglib (symprec 10 mÅ) still finds Pm-3m, the operations must
    # still act exactly (orthogonal R, a permutation of the atoms).
    "SrTiO3-jiggled": lambda: rattled_perovskite(seed=1, amplitude=0.003),
    "rattled": rattled_perovskite,
    "triclinic": triclinic_cell,
}


def rotate_all(tensors: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Per-atom tensors ``(N, 3, ..., 3)`` in the frame rotated by ``q`` (every index)."""
    t = np.asarray(tensors)
    rho = tensor_representation(q[None], t.ndim - 1)[0]
    return (t.reshape(len(t), -1) @ rho.T).reshape(t.shape)


def test_rock_salt_charges_are_isotropic(rng):
    for s in (rocksalt_nacl(), rocksalt_nacl(conventional=True)):
        z = project_per_atom(s, rng.normal(size=(len(s), 3, 3)))
        for zk in z:
            assert abs(zk[0, 0]) > 1e-3
            np.testing.assert_allclose(zk, zk[0, 0] * np.eye(3), atol=1e-12)
    sites = analyze_site_symmetry(rocksalt_nacl())
    assert sites.site_symmetry_symbols == ("m-3m", "m-3m")
    assert len(sites.site_group(0)) == 48


def test_wurtzite_cation_is_uniaxial_along_c(rng):
    s = wurtzite_zno()
    sites = analyze_site_symmetry(s)
    assert set(sites.site_symmetry_symbols) == {"3m."}
    assert len(sites.site_group(0)) == 6
    z = sites.project(rng.normal(size=(4, 3, 3)))
    for zk in z:
        a, b = zk[0, 0], zk[2, 2]
        np.testing.assert_allclose(zk, np.diag([a, a, b]), atol=1e-12)
        assert abs(a - b) > 1e-3  # uniaxial, not isotropic: 3m allows two values
    # The two Zn are related by the 6_3 screw axis; their charges agree.
    np.testing.assert_allclose(z[0], z[1], atol=1e-12)


def test_perovskite_oxygens_are_rotated_copies_along_their_bonds(rng):
    s = perovskite_srtio3()
    z = project_per_atom(s, rng.normal(size=(5, 3, 3)))
    # O at (½,½,0), (½,0,½), (0,½,½): Ti–O bonds along z, y, x.
    values = []
    for atom, axis in ((2, 2), (3, 1), (4, 0)):
        np.testing.assert_allclose(z[atom], np.diag(np.diag(z[atom])), atol=1e-12)
        along = z[atom][axis, axis]
        across = [z[atom][i, i] for i in range(3) if i != axis]
        assert across[0] == pytest.approx(across[1], abs=1e-12)
        assert abs(along - across[0]) > 1e-3
        values.append((along, across[0]))
    np.testing.assert_allclose(values, [values[0]] * 3, atol=1e-12)


@pytest.mark.parametrize("name", list(STRUCTURES))
def test_equivalent_atoms_are_related_by_the_operations(name, rng):
    s = STRUCTURES[name]()
    sites = analyze_site_symmetry(s)
    z = sites.project(rng.normal(size=(len(s), 3, 3)))
    rho = tensor_representation(sites.rotations, 2)
    flat = z.reshape(len(s), 9)
    for g in range(sites.num_operations):
        mapped = flat @ rho[g].T  # ρ(R_g) T_κ, to be found at atom g(κ)
        np.testing.assert_allclose(flat[sites.permutations[g]], mapped, atol=1e-12)


@pytest.mark.parametrize("name", list(STRUCTURES))
def test_projection_is_idempotent_and_exact_in_any_frame(name, rng):
    s = STRUCTURES[name]()
    t = rng.normal(size=(len(s), 3, 3))
    p = project_per_atom(s, t, acoustic_sum_rule=True)
    np.testing.assert_allclose(project_per_atom(s, p, acoustic_sum_rule=True), p, atol=1e-12)
    for reflection in (False, True):
        q = random_orthogonal(rng, reflection=reflection)
        rotated = project_per_atom(transform_structure(s, q), rotate_all(t, q), acoustic_sum_rule=True)
        np.testing.assert_allclose(rotated, rotate_all(p, q), atol=1e-10)


@pytest.mark.parametrize("name", list(STRUCTURES))
def test_sum_rule_is_exact_and_keeps_the_symmetry(name, rng):
    s = STRUCTURES[name]()
    sites = analyze_site_symmetry(s)
    t = 3.0 * rng.normal(size=(len(s), 3, 3))
    z = sites.project(t, acoustic_sum_rule=True)
    assert np.abs(z.sum(axis=0)).max() < 1e-12
    # Still symmetric after subtracting the mean: the mean is point-group invariant.
    np.testing.assert_allclose(sites.project(z), z, atol=1e-12)
    # And the two projections commute (so their product is the projector onto both).
    neutral = t - t.mean(axis=0)
    np.testing.assert_allclose(sites.project(neutral), z, atol=1e-12)


def test_the_sum_rule_is_what_changes_a_non_neutral_set(rng):
    s = wurtzite_zno()
    t = rng.normal(size=(4, 3, 3)) + 2.0 * np.eye(3)
    assert np.abs(project_per_atom(s, t).sum(axis=0)).max() > 1.0
    assert np.abs(project_per_atom(s, t, acoustic_sum_rule=True).sum(axis=0)).max() < 1e-12


def test_axial_vectors_differ_from_polar_ones(rng):
    s = wurtzite_zno()
    v = rng.normal(size=(4, 3))
    polar = project_per_atom(s, v)
    axial = project_per_atom(s, v, axial=True)
    # At a 3m site a polar vector may point along c; an axial one is reversed by the mirrors.
    np.testing.assert_allclose(polar[:, :2], 0.0, atol=1e-12)
    assert np.abs(polar[:, 2]).min() > 1e-3
    np.testing.assert_allclose(axial, 0.0, atol=1e-12)


def test_a_triclinic_cell_changes_nothing(rng):
    s = triclinic_cell()
    t = rng.normal(size=(len(s), 3, 3))
    np.testing.assert_allclose(project_per_atom(s, t), t, atol=1e-12)


def test_bad_shapes_are_refused_naming_the_shape():
    sites = analyze_site_symmetry(wurtzite_zno())
    with pytest.raises(ValueError, match=r"\(5, 3, 3\)"):
        sites.project(np.zeros((5, 3, 3)))
    with pytest.raises(ValueError, match=r"\(4, 3, 2\)"):
        sites.project(np.zeros((4, 3, 2)))
    with pytest.raises(ValueError, match="atom index"):
        sites.site_group(4)
