"""The ionic piezo/dielectric response from physics (gmtnet.ionic): signs, units, symmetry.

The harmonic toy crystal (pair springs at rest in the reference structure) has K and Λ in closed
form and lets a strained cell be relaxed exactly, which checks the sign of Γ = K⁺Λ independently
of the formulas. The SevenNet-0 tests need ``sevenn`` (a project requirement) and are skipped
with a reason without it.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.neighborlist import neighbor_list
from pymatgen.core import Lattice, Structure
from pymatgen.io.ase import AseAtomsAdaptor

from gmtnet import ionic

HAS_SEVENN = importlib.util.find_spec("sevenn") is not None
needs_sevenn = pytest.mark.skipif(not HAS_SEVENN, reason="sevenn (SevenNet-0) is not installed: pip install sevenn==0.13.0")


def wurtzite(cation: str, anion: str, a: float, c: float, u: float, flip: bool = False) -> Structure:
    """Wurtzite with the c-parallel bond from the cation (z = 0) to the anion (z = u c): +c points
    from cation to anion (Bernardini, Fiorentini & Vanderbilt 1997). ``flip`` reverses it."""
    z = -u if flip else u
    return Structure(
        Lattice.hexagonal(a, c),
        [cation, cation, anion, anion],
        [[1 / 3, 2 / 3, 0], [2 / 3, 1 / 3, 0.5], [1 / 3, 2 / 3, z % 1], [2 / 3, 1 / 3, (0.5 + z) % 1]],
    )


WURTZITES = {  # experimental a, c (Å) and u
    "ZnO": ("Zn", "O", 3.250, 5.207, 0.382),
    "GaN": ("Ga", "N", 3.189, 5.185, 0.377),
    "AlN": ("Al", "N", 3.112, 4.982, 0.382),
}


class Springs(Calculator):
    """Harmonic pair springs, fixed topology, each at rest in the reference structure.

    E = ½ Σ_pairs k_ij (r_ij − r⁰_ij)²; stiffness ``k_unlike`` between different elements,
    ``k_like`` between equal ones (eV/Å²). Pairs within ``cutoff`` Å of the reference.
    """

    implemented_properties = ["energy", "forces"]

    def __init__(self, reference: Atoms, cutoff: float = 3.4, k_unlike: float = 6.0, k_like: float = 1.5):
        super().__init__()
        i, j, shift = neighbor_list("ijS", reference, cutoff)
        self.i, self.j, self.shift = i, j, shift
        z = reference.get_atomic_numbers()
        self.k = np.where(z[i] == z[j], k_like, k_unlike)
        self.r0 = np.linalg.norm(self._vectors(reference), axis=1)

    def _vectors(self, atoms):
        pos = atoms.get_positions()
        return pos[self.j] - pos[self.i] + self.shift @ np.asarray(atoms.get_cell())

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        d = self._vectors(self.atoms)
        r = np.linalg.norm(d, axis=1)
        stretch = r - self.r0
        # Ordered pairs: every bond appears twice, hence the halves.
        energy = 0.25 * np.sum(self.k * stretch**2)
        pull = (0.5 * self.k * stretch / r)[:, None] * d  # force on i towards j
        forces = np.zeros((len(self.atoms), 3))
        np.add.at(forces, self.i, pull)
        np.add.at(forces, self.j, -pull)
        self.results = {"energy": energy, "forces": forces}

    def analytic_k(self, reference: Atoms) -> np.ndarray:
        n = len(reference)
        k = np.zeros((3 * n, 3 * n))
        d = self._vectors(reference)
        for a, b, kk, v in zip(self.i, self.j, self.k, d):
            nn = 0.5 * kk * np.outer(v, v) / (v @ v)
            for p, q, s in ((a, a, 1), (b, b, 1), (a, b, -1), (b, a, -1)):
                k[3 * p : 3 * p + 3, 3 * q : 3 * q + 3] += s * nn
        return k

    def analytic_lambda(self, reference: Atoms) -> np.ndarray:
        n = len(reference)
        lam = np.zeros((3 * n, 6))
        d = self._vectors(reference)
        for col in range(6):
            eps = ionic.strain_matrix(col, 1.0)
            for a, b, kk, v in zip(self.i, self.j, self.k, d):
                r = np.linalg.norm(v)
                unit = v / r
                dr = r * unit @ eps @ unit  # bond stretch per unit strain
                lam[3 * a : 3 * a + 3, col] += 0.5 * kk * dr * unit
                lam[3 * b : 3 * b + 3, col] -= 0.5 * kk * dr * unit
        return lam


@pytest.fixture(scope="module")
def zno_toy():
    atoms = AseAtomsAdaptor.get_atoms(wurtzite(*WURTZITES["ZnO"]))
    return atoms, Springs(atoms)


def test_toy_force_constants_and_strain_coupling_match_closed_form(zno_toy):
    atoms, springs = zno_toy
    k = ionic.force_constants(atoms, springs, delta=1e-3)
    k_exact = ionic.project_out_translations(springs.analytic_k(atoms), both_sides=True)
    assert np.abs(k - k_exact).max() < 1e-5 * np.abs(k_exact).max()
    lam = ionic.strain_coupling(atoms, springs, eta=1e-4)
    lam_exact = springs.analytic_lambda(atoms)
    assert np.abs(lam_exact).max() > 0.1  # the test has something to compare
    assert np.abs(lam - lam_exact).max() < 1e-5 * np.abs(lam_exact).max()


@pytest.mark.parametrize("col", [0, 2, 3])
def test_internal_strain_sign_by_relaxing_a_strained_cell(zno_toy, col):
    """Γη must be the displacement the atoms actually make when relaxed in the strained cell."""
    from ase.optimize import BFGS

    atoms, springs = zno_toy
    gamma = ionic.internal_strain(ionic.force_constants(atoms, springs, 1e-3), ionic.strain_coupling(atoms, springs, 1e-4))
    eta = 1e-4
    strained = atoms.copy()
    strained.set_cell(np.asarray(atoms.get_cell()) @ (np.eye(3) + ionic.strain_matrix(col, eta)), scale_atoms=True)
    start = strained.get_positions()
    strained.calc = springs
    BFGS(strained, logfile=None).run(fmax=1e-9, steps=500)
    u = (strained.get_positions() - start).reshape(-1)
    u = ionic.project_out_translations(u[:, None], both_sides=False)[:, 0]
    expected = gamma[:, col] * eta
    assert np.linalg.norm(expected) > 1e-7  # wurtzite has internal strain in these columns
    assert np.dot(u, expected) > 0
    np.testing.assert_allclose(u, expected, atol=2e-3 * np.abs(expected).max())


def test_toy_wurtzite_sign_and_rotation_inversion_equivariance(zno_toy, rng):
    from scipy.spatial.transform import Rotation

    atoms, springs = zno_toy
    s = AseAtomsAdaptor.get_structure(atoms)
    born = ionic.formal_born_charges(s)
    r0 = ionic.ionic_response(s, Springs(atoms), born=born)
    assert r0.born_source == "formal" and r0.point_group == "6mm"
    # Springs, not the real bonding: the sign is the toy's own; the real one is tested with SevenNet-0.
    assert abs(r0.e_ion[2, 2, 2]) > 0.05 and abs(r0.e_ion[2, 0, 0]) > 0.01

    rot = Rotation.random(random_state=1234).as_matrix()
    turned = atoms.copy()
    turned.set_cell(np.asarray(atoms.get_cell()) @ rot.T, scale_atoms=True)
    r1 = ionic.ionic_response(turned, Springs(turned), born=ionic.BornCharges(np.einsum("ab,kbc,dc->kad", rot, born.z, rot), "formal"))
    np.testing.assert_allclose(r1.e_ion, np.einsum("ia,jb,kc,abc->ijk", rot, rot, rot, r0.e_ion), atol=2e-5)  # finite differences along other axes
    np.testing.assert_allclose(r1.eps_ion, rot @ r0.eps_ion @ rot.T, atol=1e-4)

    inverted = atoms.copy()
    inverted.set_positions(-atoms.get_positions())
    r2 = ionic.ionic_response(inverted, Springs(inverted), born=born)
    np.testing.assert_allclose(r2.e_ion, -r0.e_ion, atol=1e-6)
    np.testing.assert_allclose(r2.eps_ion, r0.eps_ion, atol=1e-6)


def test_units_of_one_charge_on_one_spring():
    """Two ions (±1 e) on one spring k along x, Ω = 1000 Å³: K = k [[1, -1], [-1, 1]] on x, its
    pseudo-inverse is [[1, -1], [-1, 1]] / (4k), so Z K⁺ Zᵀ = 1/k and ε_ion,xx = e²/(ε₀ Ω k)."""
    k = 2.0  # eV/Å²
    kmat = np.zeros((6, 6))
    kmat[0, 0] = kmat[3, 3] = k
    kmat[0, 3] = kmat[3, 0] = -k
    # Make y, z stiff so that only x responds.
    for p in (1, 2, 4, 5):
        kmat[p, p] += 50.0
    kmat[1, 4] = kmat[4, 1] = kmat[2, 5] = kmat[5, 2] = -50.0
    z = np.array([np.eye(3), -np.eye(3)])
    eps = ionic.ionic_dielectric(z, kmat, 1000.0)
    assert eps[0, 0] == pytest.approx(ionic.EPS_ION_FACTOR / (1000.0 * k), rel=1e-10)
    assert ionic.EPS_ION_FACTOR == pytest.approx(180.95, rel=1e-4)
    assert ionic.E_PER_A2_TO_C_PER_M2 == pytest.approx(16.0218, rel=1e-4)


def test_bad_input_is_refused(zno_toy):
    atoms, springs = zno_toy
    with pytest.raises(ValueError, match="delta"):
        ionic.force_constants(atoms, springs, delta=0.0)
    with pytest.raises(ValueError, match="eta"):
        ionic.strain_coupling(atoms, springs, eta=-1e-3)
    with pytest.raises(ValueError, match="Λ"):
        ionic.internal_strain(np.eye(12), np.zeros((9, 6)))
    with pytest.raises(ValueError, match="Born charges"):
        ionic.ionic_piezo(np.zeros((3, 3, 3)), np.zeros((12, 6)), 10.0)
    with pytest.raises(ValueError, match="volume"):
        ionic.ionic_dielectric(np.zeros((4, 3, 3)), np.eye(12), 0.0)


def test_formal_born_charges_obey_the_sum_rule():
    b = ionic.formal_born_charges(wurtzite(*WURTZITES["GaN"]))
    assert b.source == "formal"
    np.testing.assert_allclose(b.z.sum(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(np.diagonal(b.z, axis1=1, axis2=2)[:, 0], [3, 3, -3, -3])
    with pytest.raises(ValueError, match="oxidation state"):
        ionic.formal_born_charges(Structure(Lattice.cubic(2.9), ["Fe", "Fe"], [[0, 0, 0], [0.5, 0.5, 0.5]]))


def _c_bond_direction(s: Structure, cation: str) -> float:
    """+1 when the c-parallel bond of a wurtzite cell points along +z from cation to anion."""
    cat = next(i for i, site in enumerate(s) if site.specie.symbol == cation)
    best = None
    for nb in s.get_neighbors(s[cat], 2.5):
        v = nb.coords - s[cat].coords
        if abs(v[2]) > 0.9 * np.linalg.norm(v):
            best = np.sign(v[2])
    assert best is not None
    return float(best)


@pytest.mark.parametrize("mid,formula,cation", [("mp-2133", "ZnO", "Zn"), ("mp-804", "GaN", "Ga"), ("mp-661", "AlN", "Al")])
def test_dft_born_charges_map_onto_the_bundled_cell(mid, formula, cation):
    from gmtnet.data import load_dataset

    df = load_dataset("piezoelectric")
    s = df.loc[df["material_id"] == mid, "structure"].iloc[0]
    b = ionic.dft_born_charges(s, mid)
    assert b is not None and b.source.startswith("dft:")
    np.testing.assert_allclose(b.z.sum(axis=0), 0, atol=1e-6)
    zc = b.z[[site.specie.symbol == cation for site in s]][0]
    # Wurtzite nitrides/oxides: Z*_zz of the cation ≈ 2.1-2.9 e, diagonal in the c-axis frame.
    assert 1.8 < zc[2, 2] < 3.2
    assert abs(zc[0, 2]) < 1e-6 and abs(zc[1, 2]) < 1e-6
    assert ionic.dft_born_charges(s, "mp-0") is None


# --------------------------------------------------------------------------- SevenNet-0


@pytest.fixture(scope="module")
def seven():
    if not HAS_SEVENN:
        pytest.skip("sevenn (SevenNet-0) is not installed: pip install sevenn==0.13.0")
    import torch

    torch.set_num_threads(1)
    return ionic.load_potential()


@needs_sevenn
@pytest.mark.parametrize("name", sorted(WURTZITES))
def test_wurtzite_signs_with_formal_charges(seven, name):
    """e33 > 0 and e31 < 0 with +c from cation to anion (BFV 1997); reversed polarity flips both."""
    r = ionic.ionic_response(wurtzite(*WURTZITES[name]), seven, prefer_dft=False)
    assert r.born_source == "formal" and r.point_group == "6mm"
    assert r.e_ion[2, 2, 2] > 0.3 and r.e_ion[2, 0, 0] < -0.1
    assert np.all(np.linalg.eigvalsh(r.eps_ion) > 0)
    assert r.n_unstable == 0 and r.max_force_before < ionic.RELAX_FORCE and not r.relaxed  # auto: left as given
    flipped = ionic.ionic_response(wurtzite(*WURTZITES[name], flip=True), seven, prefer_dft=False)
    np.testing.assert_allclose(flipped.e_ion[2, 2, 2], -r.e_ion[2, 2, 2], rtol=1e-3)
    np.testing.assert_allclose(flipped.e_ion[2, 0, 0], -r.e_ion[2, 0, 0], rtol=1e-3)


@needs_sevenn
@pytest.mark.parametrize("name", sorted(WURTZITES))
def test_wurtzite_signs_with_predicted_charges(seven, name):
    """The shipped Born-charge model's Z* (the default source for a crystal outside the DFPT set)
    gives the published signs too, and follows the polarity."""
    from gmtnet.predict import installed_kinds

    if ionic.BORN_KIND not in installed_kinds():
        pytest.skip("the Born-charge weights are not installed")
    r = ionic.ionic_response(wurtzite(*WURTZITES[name]), seven)
    assert r.born_source == f"predicted:{ionic.BORN_KIND}"
    assert r.e_ion[2, 2, 2] > 0.3 and r.e_ion[2, 0, 0] < -0.1
    flipped = ionic.ionic_response(wurtzite(*WURTZITES[name], flip=True), seven)
    assert flipped.e_ion[2, 2, 2] < -0.3 and flipped.e_ion[2, 0, 0] > 0.1


@needs_sevenn
@pytest.mark.parametrize("mid,cation", [("mp-2133", "Zn"), ("mp-804", "Ga")])
def test_bundled_wurtzite_with_dft_charges_matches_its_polarity(seven, mid, cation):
    from gmtnet.data import load_dataset

    df = load_dataset("piezoelectric")
    s = df.loc[df["material_id"] == mid, "structure"].iloc[0]
    r = ionic.ionic_response(s, seven, material_id=mid)
    assert r.born_source.startswith("dft:")
    direction = _c_bond_direction(s, cation)  # +1: the cell's +z runs from cation to anion
    assert direction * r.e_ion[2, 2, 2] > 0.3
    assert direction * r.e_ion[2, 0, 0] < -0.1


@needs_sevenn
def test_centrosymmetric_crystal_has_no_ionic_piezo_before_projection(seven):
    """Fluorite CaF2 (m-3m): under shear the two F atoms move in opposite directions (internal
    strain), and Σ Z* Γ cancels by symmetry in the raw finite-difference result, not only after
    the point-group projection."""
    s = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.46), ["Ca", "F"], [[0, 0, 0], [0.25, 0.25, 0.25]]).get_primitive_structure()
    atoms = AseAtomsAdaptor.get_atoms(s)
    k = ionic.force_constants(atoms, seven)
    gamma = ionic.internal_strain(k, ionic.strain_coupling(atoms, seven))
    assert np.abs(gamma).max() > 0.1  # the F atoms do move under shear
    z = ionic.formal_born_charges(s).z
    e = ionic.ionic_piezo(z, gamma, s.volume)
    assert np.abs(e).max() < 1e-4
    eps = ionic.ionic_dielectric(z, k, s.volume)
    # Cubic and positive, of the size of the measured ionic part of CaF2 (a few units).
    np.testing.assert_allclose(eps, eps[0, 0] * np.eye(3), atol=1e-3)
    assert 2.0 < eps[0, 0] < 10.0


def test_force_constants_from_one_atom_per_orbit_equal_the_full_ones():
    """Chalcopyrite CdSiP2 (I-42d, 16-atom conventional cell, 3 orbits) on toy springs:
    displacing one atom per orbit and mapping by the space group gives the K of displacing all."""
    from gmtnet.symmetry import analyze_site_symmetry

    s = Structure.from_spacegroup("I-42d", Lattice.tetragonal(5.68, 10.43), ["Cd", "Si", "P"], [[0, 0, 0], [0, 0, 0.5], [0.28, 0.25, 0.125]])
    atoms = AseAtomsAdaptor.get_atoms(s)
    springs = Springs(atoms, cutoff=4.2)
    sym = analyze_site_symmetry(s)
    assert len(set(sym.equivalent_atoms)) == 3 and len(s) == 16
    full = ionic.force_constants(atoms, springs, 1e-3)
    fast = ionic.force_constants(atoms, springs, 1e-3, symmetry=sym)
    assert np.abs(full).max() > 1.0
    np.testing.assert_allclose(fast, full, atol=1e-6 * np.abs(full).max())
    with pytest.raises(ValueError, match="symmetry"):
        ionic.force_constants(atoms[:8], springs, symmetry=sym)


@needs_sevenn
def test_cli_ionic_prints_and_writes_the_result(tmp_path, capsys):
    import json

    from gmtnet.cli import main

    cif = tmp_path / "aln.cif"
    wurtzite(*WURTZITES["AlN"]).to(filename=str(cif))
    out = tmp_path / "aln.json"
    assert main(["ionic", str(cif), "--formal", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "point group 6mm" in text and "C/m²" in text and "Born charges: formal" in text and "structure's Cartesian frame" in text
    doc = json.loads(out.read_text())
    e = np.array(doc["e_ion_voigt_ieee_C_per_m2"])
    assert e.shape == (3, 6) and e[2, 2] > 0.3 and e[2, 0] < -0.1
    assert doc["born_source"] == "formal" and doc["frame"] == "structure" and doc["n_calls"] == 1 + 6 * 2 + 12
    # ε₀ estimate: the installed ε∞ network's prediction plus ε_ion, printed and written
    from gmtnet.predict import Predictor

    eps_inf = Predictor.load(["dielectric_electronic"], device="cpu").predict(wurtzite(*WURTZITES["AlN"]), "dielectric_electronic").tensor
    assert "ε₀ estimate = ε∞ (network) + ε_ion" in text
    assert np.allclose(doc["eps0_estimate_epsinf_network_plus_eps_ion"], eps_inf + np.array(doc["eps_ion"]), atol=1e-6)
    bad = tmp_path / "bad.cif"
    bad.write_text("not a structure")
    assert main(["ionic", str(bad)]) == 1


def test_dft_born_charges_follow_a_rotation_of_the_structure():
    """The DFPT → structure mapping finds the rotation: Z* of a rotated cell is R Z* Rᵀ."""
    from scipy.spatial.transform import Rotation

    from gmtnet.data import load_dataset

    df = load_dataset("piezoelectric")
    s = df.loc[df["material_id"] == "mp-2133", "structure"].iloc[0]
    base = ionic.dft_born_charges(s, "mp-2133")
    rot = Rotation.random(random_state=7).as_matrix()
    turned = Structure(Lattice(s.lattice.matrix @ rot.T), s.species, s.frac_coords)
    got = ionic.dft_born_charges(turned, "mp-2133")
    np.testing.assert_allclose(got.z, np.einsum("ab,kbc,dc->kad", rot, base.z, rot), atol=1e-6)
    # ZnO's Z* is anisotropic enough that the inverse rotation would fail the comparison.
    wrong = np.einsum("ba,kbc,cd->kad", rot, base.z, rot)
    assert np.abs(got.z - wrong).max() > 1e-2


# --------------------------------------------------------------------------- the Z* source order


PER_ATOM_NAME = "born_source_order_test"


def _per_atom_kind(weights):
    from gmtnet.kinds import TensorKind

    return TensorKind(name=PER_ATOM_NAME, title="Born effective charge (source-order test)", symbol="Z*", rank=2,
                      formula="ij", unit="e", per_atom=True, weights=None if weights is None else str(weights))


@pytest.fixture(scope="module")
def random_born_kind(tmp_path_factory):
    """A per-atom rank-2 kind with a small random two-network ensemble that imposes Σ_κ Z*_κ = 0:
    stands in for the shipped "born" kind, which may or may not be installed."""
    import torch
    from helpers import register_with_random_weights
    from test_model import SMALL

    from gmtnet.kinds import unregister_kind

    torch.set_num_threads(1)
    kind = register_with_random_weights(_per_atom_kind, tmp_path_factory.mktemp("born_kind"), sum_rule=True, **SMALL)
    yield kind
    unregister_kind(kind)


def test_without_an_installed_born_kind_the_charges_are_formal(monkeypatch, tmp_path):
    from gmtnet.kinds import register_kind, unregister_kind

    gan = wurtzite(*WURTZITES["GaN"])
    monkeypatch.setattr(ionic, "BORN_KIND", "no_such_kind")
    assert ionic.predicted_born_charges(gan) is None
    assert ionic.born_charges(gan).source == "formal"
    # registered, but its weights are not there (the state before the kind ships)
    kind = register_kind(_per_atom_kind(tmp_path / "missing"))
    try:
        monkeypatch.setattr(ionic, "BORN_KIND", PER_ATOM_NAME)
        assert ionic.predicted_born_charges(gan) is None
        b = ionic.born_charges(gan)
        assert b.source == "formal" and b.detail.startswith("bond valence")
    finally:
        unregister_kind(kind)


def test_an_installed_born_kind_comes_after_dft_and_before_formal(random_born_kind, monkeypatch):
    from gmtnet.data import load_dataset
    from gmtnet.predict import Predictor
    from gmtnet.symmetry import analyze_site_symmetry

    monkeypatch.setattr(ionic, "BORN_KIND", PER_ATOM_NAME)
    gan = wurtzite(*WURTZITES["GaN"])
    b = ionic.born_charges(gan)  # no DFT match without a material id: the model's Z*
    assert b.source == f"predicted:{PER_ATOM_NAME}" and "ensemble uncertainty" in b.detail
    assert b.z.shape == (4, 3, 3) and np.abs(b.z).max() > 0
    np.testing.assert_allclose(b.z.sum(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(analyze_site_symmetry(gan).project(b.z), b.z, atol=1e-10)
    # Ga on a 3m site: Z_xx = Z_yy, no off-diagonal part (c along z)
    assert abs(b.z[0, 0, 0] - b.z[0, 1, 1]) < 1e-10 and np.abs(b.z[0] - np.diag(np.diag(b.z[0]))).max() < 1e-10
    # the app's cached predictor gives the same charges without loading the ensemble again
    predictor = Predictor.load(kinds=[random_born_kind], device="cpu")
    np.testing.assert_allclose(ionic.born_charges(gan, predictor=predictor).z, b.z, rtol=1e-6, atol=1e-8)
    # a predictor without the kind, or the prediction switched off: formal
    other = Predictor({}, predictor.device)
    assert ionic.born_charges(gan, predictor=other).source == "formal"
    assert ionic.born_charges(gan, use_predicted=False).source == "formal"
    # a bundled crystal of the DFPT set keeps its DFT charges first
    df = load_dataset("piezoelectric")
    zno = df.loc[df["material_id"] == "mp-2133", "structure"].iloc[0]
    assert ionic.born_charges(zno, "mp-2133").source.startswith("dft:")
    assert ionic.born_charges(zno, "mp-2133", prefer_dft=False).source == f"predicted:{PER_ATOM_NAME}"


def test_a_refusing_born_model_falls_back_to_formal_and_says_why(random_born_kind, monkeypatch):
    monkeypatch.setattr(ionic, "BORN_KIND", PER_ATOM_NAME)

    class Refusing:
        kinds = [PER_ATOM_NAME]

        def predict(self, structure, kind):
            raise ValueError("structure has 900 atoms, more than the limit")

    b = ionic.born_charges(wurtzite(*WURTZITES["GaN"]), predictor=Refusing())
    assert b.source == "formal" and "no predicted Z*: structure has 900 atoms" in b.detail
