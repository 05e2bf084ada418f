"""Finite-strain elastic fit (research.elastic_fit): signs, Voigt order, engineering shear, units.

A fake ASE calculator with a known linear stress–strain response checks the fit exactly; ASE's EMT
potential checks the stress sign and units against the energy curvature, independently of stress.
"""

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.calculator import Calculator, all_changes
from ase.calculators.emt import EMT
from ase.units import GPa
from pymatgen.core import Lattice, Structure

from research.elastic_fit import (
    MIN_SINGULAR_VALUE,
    min_singular_value_of,
    voigt_basis,
    fit_column,
    fit_elastic,
    finite_strain_stresses,
    strain_components_needed,
    strained_cell,
    voigt_strain,
)
from gmtnet.symmetry import symmetry_constraints
from gmtnet.tensors import from_voigt, rotate, to_voigt


class LinearElastic(Calculator):
    """σ = C : ε + σ₀ for the small strain of the current cell from a reference cell (eV/Å³)."""

    implemented_properties = ["energy", "forces", "stress"]

    def __init__(self, reference_cell, c_full_gpa, residual_voigt_gpa=np.zeros(6)):
        super().__init__()
        self.reference = np.asarray(reference_cell, dtype=float)
        self.c = np.asarray(c_full_gpa)
        self.residual = np.asarray(residual_voigt_gpa)

    def calculate(self, atoms=None, properties=None, system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        f_t = np.linalg.solve(self.reference, np.asarray(self.atoms.get_cell()))  # A = A0 Fᵀ
        eps = 0.5 * (f_t + f_t.T) - np.eye(3)
        sigma = np.einsum("ijkl,kl->ij", self.c, eps)
        voigt = np.array([sigma[0, 0], sigma[1, 1], sigma[2, 2], sigma[1, 2], sigma[0, 2], sigma[0, 1]])
        self.results = {"energy": 0.0, "forces": np.zeros((len(self.atoms), 3)), "stress": (voigt + self.residual) * GPa}


def _random_rotation(seed):
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def _no_relax(atoms):
    pass


def test_voigt_strain_uses_ieee_order_and_engineering_shear():
    assert voigt_strain(0, 0.01)[0, 0] == 0.01
    e = voigt_strain(3, 0.02)  # yz
    assert e[1, 2] == e[2, 1] == 0.01 and np.count_nonzero(e) == 2
    assert voigt_strain(5, 0.02)[0, 1] == 0.01  # xy last (IEEE), not fourth (VASP)
    with pytest.raises(ValueError):
        voigt_strain(6, 0.01)
    cell = np.diag([2.0, 3.0, 4.0])
    np.testing.assert_allclose(strained_cell(cell, voigt_strain(0, 0.01)), np.diag([2.02, 3.0, 4.0]))


def test_fit_column_slope_cancels_residual_stress():
    x = np.array([-0.01, -0.005, 0.005, 0.01])
    col = np.arange(6.0)
    np.testing.assert_allclose(fit_column(x, 3.0 + x[:, None] * col), col, atol=1e-12)
    with pytest.raises(ValueError):
        fit_column([0.01, 0.01], np.zeros((2, 6)))


def test_general_tensor_recovered_from_all_six_columns():
    rng = np.random.default_rng(1)
    m = rng.normal(size=(6, 6))
    c_voigt = m @ m.T * 20 + 100 * np.eye(6)  # triclinic-like, positive definite, GPa
    c_full = from_voigt(c_voigt, "elastic")
    atoms = bulk("Cu", "fcc", a=3.6) * (1, 1, 1)
    atoms.calc = LinearElastic(atoms.get_cell(), c_full, residual_voigt_gpa=np.array([1.0, -2.0, 0.5, 0.3, 0.0, -0.7]))
    columns = finite_strain_stresses(atoms, _no_relax, range(6), stress_unit=GPa)
    np.testing.assert_allclose(to_voigt(fit_elastic(columns), "elastic"), c_voigt, rtol=1e-8, atol=1e-8)
    with pytest.raises(ValueError, match="all six"):
        fit_elastic({0: columns[0]})


def test_symmetric_form_fitted_from_fewer_columns_in_a_rotated_frame():
    # hcp Mg in a random frame: 5 independent constants, fewer than six strain columns needed.
    mg = Structure(Lattice.hexagonal(3.21, 5.21), ["Mg", "Mg"], [[1 / 3, 2 / 3, 0.25], [2 / 3, 1 / 3, 0.75]])
    rot = _random_rotation(3)
    mg_rot = Structure(Lattice(mg.lattice.matrix @ rot.T), mg.species, mg.frac_coords)
    hex_voigt = np.array([[59.0, 26, 21, 0, 0, 0], [26, 59, 21, 0, 0, 0], [21, 21, 62, 0, 0, 0],
                          [0, 0, 0, 16, 0, 0], [0, 0, 0, 0, 16, 0], [0, 0, 0, 0, 0, 16.5]])
    c_true = rotate(from_voigt(hex_voigt, "elastic"), rot)
    cons = symmetry_constraints(mg_rot, "elastic")
    assert cons.n_independent == 5
    np.testing.assert_allclose(cons.project(c_true), c_true, atol=1e-8)
    needed = strain_components_needed(cons)
    assert len(needed) < 6
    from pymatgen.io.ase import AseAtomsAdaptor

    atoms = AseAtomsAdaptor.get_atoms(mg_rot)
    atoms.calc = LinearElastic(atoms.get_cell(), c_true)
    c = fit_elastic(finite_strain_stresses(atoms, _no_relax, needed, stress_unit=GPa), cons)
    np.testing.assert_allclose(c, c_true, atol=1e-6)
    # A cubic crystal needs one normal and one shear column.
    nacl = Structure(Lattice.cubic(5.6), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    assert strain_components_needed(symmetry_constraints(nacl, "elastic")) == [0, 3]
    with pytest.raises(ValueError, match="do not determine"):
        fit_elastic({0: np.zeros(6)}, symmetry_constraints(nacl, "elastic"))


def test_strain_columns_are_well_conditioned_in_a_general_frame():
    # One strain column of a cubic crystal in a general frame has rank 3, formally enough, but
    # determines C11, C12, C44 only through tiny differences: more columns are taken.
    rot = _random_rotation(5)
    nacl = Structure(Lattice(5.6 * rot.T), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    cons = symmetry_constraints(nacl, "elastic")
    needed = strain_components_needed(cons)
    full = min_singular_value_of(voigt_basis(cons), range(6))
    assert min_singular_value_of(voigt_basis(cons), needed) >= MIN_SINGULAR_VALUE * full
    assert min_singular_value_of(voigt_basis(cons), needed[:1]) < MIN_SINGULAR_VALUE * full
    # Triclinic (P1): all 21 constants, all six columns.
    p1 = Structure(Lattice.from_parameters(3, 4, 5, 80, 85, 95), ["Na", "Cl"], [[0, 0, 0], [0.3, 0.45, 0.6]])
    assert strain_components_needed(symmetry_constraints(p1, "elastic")) == list(range(6))


def test_stress_sign_and_units_match_energy_curvature_with_emt():
    # Independent of the stress: E(ε)/V₀ = E₀/V₀ + ½ C₁₁ ε² (uniaxial xx) and ½ C₄₄ γ² (engineering yz).
    atoms = bulk("Cu", "fcc", a=3.59, cubic=True)
    atoms.calc = EMT()
    cell, v0 = np.asarray(atoms.get_cell()), atoms.get_volume()

    def curvature(component):
        h = 0.002
        e = []
        for m in (-h, 0.0, h):
            a = atoms.copy()
            a.calc = EMT()
            a.set_cell(strained_cell(cell, voigt_strain(component, m)), scale_atoms=True)
            e.append(a.get_potential_energy())
        return (e[0] - 2 * e[1] + e[2]) / h**2 / v0 / GPa

    columns = finite_strain_stresses(atoms, _no_relax, [0, 3], magnitudes=(-0.002, -0.001, 0.001, 0.002), stress_unit=GPa)
    c11, c44 = columns[0][0], columns[3][3]
    assert c11 > 100 and c44 > 20  # positive: tension gives positive ASE stress
    # Not exactly equal: the reference cell is not at zero stress and the strains are finite.
    assert c11 == pytest.approx(curvature(0), rel=0.05)
    assert c44 == pytest.approx(curvature(3), rel=0.05)
