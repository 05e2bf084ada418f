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


# --------------------------------------------------------------------------- DFPT Born charges

#: Two crystals of the DFPT phonon database (Petretto et al., Sci. Data 5, 180065 (2018); ABINIT,
#: PBEsol), copied from ``shared/data/raw/petretto_phonon_becs_eps/phonon_becs_epsilon.xyz``
#: (frames 390 and 1214; 8 decimals as stored): lattice rows (Å), species, Cartesian positions
#: (Å), Z* (e) row-major. Both have Z* that are not symmetric matrices.
DFPT = {
    # GaPO4, I-4: Ga and P on -4 sites, the four O on general positions related by -4 and 2.
    "GaPO4": (
        [[-2.4669168986, 2.4669168986, 3.7063803219], [2.4669168986, -2.4669168986, 3.7063803219],
         [2.4669168986, 2.4669168986, -3.7063803219]],
        ["Ga", "P", "O", "O", "O", "O"],
        [[0.0, 0.0, 0.0], [2.4669169, 0.0, 1.85319016], [1.79966948, 1.09099615, 2.7094416],
         [0.66724742, 1.37592075, -0.99693872], [3.55791305, 0.66724742, 0.99693872],
         [-1.09099615, 1.79966948, 4.70331905]],
        [[2.8672088, -0.39256456, 0.0, 0.39256456, 2.8672088, 0.0, 0.0, 0.0, 3.00780562],
         [3.52879432, 0.87510167, 0.0, -0.87510167, 3.52879432, 0.0, 0.0, 0.0, 3.68360383],
         [-1.05979221, 0.0566504, 0.11796003, 0.29791896, -2.13820935, -0.92315537, 0.21413534, -0.91452471, -1.67285236],
         [-1.05979221, 0.0566504, -0.11796003, 0.29791896, -2.13820935, 0.92315537, -0.21413534, 0.91452471, -1.67285236],
         [-2.13820935, -0.29791896, 0.92315537, -0.0566504, -1.05979221, 0.11796003, 0.91452471, 0.21413534, -1.67285236],
         [-2.13820935, -0.29791896, -0.92315537, -0.0566504, -1.05979221, -0.11796003, -0.91452471, -0.21413534, -1.67285236]],
    ),
    # NaNO2, Imm2 (ferroelectric, polar along the lattice's 2-fold axis): Na and N on mm2 sites, O on m.
    "NaNO2": (
        [[-1.782105731, 2.7073580265, 2.7627089396], [1.782105731, -2.7073580265, 2.7627089396],
         [1.782105731, 2.7073580265, -2.7627089396]],
        ["Na", "N", "O", "O"],
        [[0.0, 2.70735803, 2.28960677], [1.78210573, 0.0, 2.07597299], [1.78210573, 1.05962261, 2.75942017],
         [1.78210573, -1.05962261, 2.75942017]],
        [[1.04032364, 0.0, 0.0, 0.0, 1.22701503, 0.0, 0.0, 0.0, 1.07411712],
         [-0.13643621, 0.0, 0.0, 0.0, 2.59933024, 0.0, 0.0, 0.0, 0.1665934],
         [-0.45194372, 0.0, 0.0, 0.0, -1.91317263, -0.89746164, 0.0, 0.01302926, -0.62035526],
         [-0.45194372, 0.0, 0.0, 0.0, -1.91317263, 0.89746164, 0.0, -0.01302926, -0.62035526]],
    ),
}


def dfpt_crystal(name):
    from pymatgen.core import Lattice, Structure

    lattice, species, cart, z = DFPT[name]
    s = Structure(Lattice(lattice), species, cart, coords_are_cartesian=True)
    return s, np.array(z).reshape(-1, 3, 3)


@pytest.mark.parametrize("name", list(DFPT))
def test_dfpt_born_charges_obey_the_projection(name, rng):
    s, z = dfpt_crystal(name)
    sites = analyze_site_symmetry(s, symprec=1e-3)
    assert np.linalg.norm(z - z.transpose(0, 2, 1)) > 0.1 * np.linalg.norm(z)  # not symmetric matrices
    # DFPT already has the symmetry and the sum rule, to the 8 stored decimals...
    kept = sites.project(z, acoustic_sum_rule=True)
    assert np.abs(kept - z).max() < 1e-7
    # ...which a tensor in the wrong frame, or random numbers, do not have.
    q = random_orthogonal(rng)
    wrong_frame = rotate_all(z, q)
    assert np.linalg.norm(sites.project(wrong_frame) - wrong_frame) > 0.05 * np.linalg.norm(z)
    noise = rng.normal(size=z.shape)
    assert np.linalg.norm(sites.project(noise) - noise) > 0.5 * np.linalg.norm(noise)


def test_a_minus_4_site_allows_an_antisymmetric_born_charge(rng):
    # Ga in GaPO4 sits on -4: Z*_xy = −Z*_yx ≠ 0 is allowed (the antisymmetric part, an axial
    # vector along the -4 axis, is invariant under it), so the projection keeps it.
    s, _ = dfpt_crystal("GaPO4")
    sites = analyze_site_symmetry(s, symprec=1e-3)
    assert sites.site_symmetry_symbols[:2] == ("-4..", "-4..")
    ga = sites.project(rng.normal(size=(6, 3, 3)))[0]
    assert abs(ga[0, 1] + ga[1, 0]) < 1e-12 and abs(ga[0, 1]) > 1e-3
    np.testing.assert_allclose(ga[:2, 2], 0.0, atol=1e-12)
