"""Relaxed-ion elastic tensor from any stress calculator by finite strains (stress–strain fit).

Conventions (the ones that go wrong):

* Voigt order IEEE/pymatgen (xx, yy, zz, yz, xz, xy) for stresses, strains and C; the shear
  strains are engineering strains (γ_yz = 2 ε_yz), so ``σ_I = Σ_J C_IJ ε_J`` with ``C_IJ`` equal
  to the full-rank ``C_ijkl`` (:func:`gmtnet.tensors.from_voigt` fills it in).
* Stress sign: positive in tension, as ASE's ``Atoms.get_stress`` (ASE's stress is
  ``(1/V) ∂E/∂ε``; VASP's is the opposite sign). ASE's ``get_stress(voigt=True)`` is already in
  IEEE order. Units are the caller's: pass ``stress_unit=ase.units.GPa`` to get C in GPa from
  ASE's eV/Å³.
* Frame: the Cartesian frame of the cell given (a strain ``E`` maps the cell rows ``A`` to
  ``A (I + E)ᵀ``, atoms follow in fractional coordinates); the result is in that frame.
* Each strained cell is relaxed at fixed cell by the caller's ``relax`` (relaxed-ion tensor);
  C[:, J] is the slope of a straight-line fit (with intercept, so a residual stress of the
  reference cell cancels) of the stress against the strain magnitude.

With the crystal's :class:`~gmtnet.symmetry.SymmetryConstraints`, the fit is a least-squares fit
of the allowed form (Neumann's principle) to the measured columns, so only the strain columns
needed to determine it, well conditioned, are computed (:func:`strain_components_needed`:
2 of 6 for a cubic crystal in its cubic axes); with all six columns this is the orthogonal projection onto the allowed form in the
Voigt-column metric, followed by the exact projector.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from gmtnet.tensors import VOIGT_PAIRS, from_voigt, to_voigt

__all__ = [
    "DEFAULT_MAGNITUDES",
    "voigt_strain",
    "strained_cell",
    "fit_column",
    "MIN_SINGULAR_VALUE",
    "voigt_basis",
    "min_singular_value_of",
    "strain_components_needed",
    "fit_elastic",
    "finite_strain_stresses",
]

#: Strain magnitudes applied to each Voigt component (engineering strain, dimensionless).
DEFAULT_MAGNITUDES = (-0.01, -0.005, 0.005, 0.01)


def voigt_strain(component: int, magnitude: float) -> np.ndarray:
    """The symmetric 3x3 strain tensor of one IEEE Voigt strain component.

    ``component`` 0..5 is xx, yy, zz, yz, xz, xy; a shear ``magnitude`` is the engineering strain
    (the tensor gets ``magnitude / 2`` in both off-diagonal places).
    """
    if not 0 <= component < 6:
        raise ValueError(f"Voigt component must be 0..5, got {component}")
    i, j = VOIGT_PAIRS["ieee"][component]
    e = np.zeros((3, 3))
    if i == j:
        e[i, i] = magnitude
    else:
        e[i, j] = e[j, i] = magnitude / 2
    return e


def strained_cell(cell: np.ndarray, strain: np.ndarray) -> np.ndarray:
    """Cell rows (lattice vectors, Å) deformed by the symmetric strain: ``A (I + E)ᵀ``."""
    return np.asarray(cell, dtype=float) @ (np.eye(3) + np.asarray(strain, dtype=float)).T


def fit_column(magnitudes: Sequence[float], stresses: np.ndarray) -> np.ndarray:
    """Slope of each stress component against the strain magnitude, ``(6,)``.

    Args:
        magnitudes: ``(n,)`` strain magnitudes of one component, n ≥ 2 distinct values.
        stresses: ``(n, 6)`` IEEE Voigt stresses (positive in tension), any unit.
    """
    x = np.asarray(magnitudes, dtype=float)
    y = np.asarray(stresses, dtype=float)
    if y.shape != (len(x), 6) or len(np.unique(x)) < 2:
        raise ValueError(f"need ≥ 2 distinct magnitudes and (n, 6) stresses, got {x.shape} and {y.shape}")
    design = np.stack([x, np.ones_like(x)], axis=1)
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return coef[0]


def voigt_basis(constraints) -> np.ndarray:
    """The allowed elastic forms as IEEE Voigt matrices, ``(n_independent, 6, 6)``."""
    return to_voigt(constraints.basis(), "elastic", order="ieee")


#: Smallest singular value of the fit's design matrix, relative to that of all six strain
#: columns, before fewer columns are used. The noise of the measured stresses reaches C amplified
#: by 1/σ_min, so this caps the amplification at twice that of the six-column fit; with the bare
#: rank criterion one column of a cubic crystal in a general frame "determined" C at σ_min ~ 1e-5.
MIN_SINGULAR_VALUE = 0.5


def min_singular_value_of(basis: np.ndarray, components: Sequence[int]) -> float:
    """Smallest singular value of the fit's design matrix when the strain ``components`` (Voigt
    0..5, IEEE order) are applied, for the allowed forms ``basis`` (:func:`voigt_basis`); 0 when
    they give fewer equations than unknowns."""
    design = np.concatenate([basis[:, :, c].T for c in components])  # (6·|J|, n_independent)
    if design.shape[0] < design.shape[1]:  # fewer equations than unknowns: singular
        return 0.0
    return float(np.linalg.svd(design, compute_uv=False)[-1]) if len(basis) else 1.0


def strain_components_needed(constraints=None, min_singular_value: float = MIN_SINGULAR_VALUE) -> list[int]:
    """Voigt strain components (0..5) whose columns determine C of the allowed form, well conditioned.

    Greedy: add the component that most raises the smallest singular value of the fit's design
    matrix (lowest index on ties) until it reaches ``min_singular_value`` times that of all six
    columns, or all six. All six
    without ``constraints``. Two (one normal, one shear) for a cubic crystal in its cubic axes.
    """
    if constraints is None:
        return list(range(6))
    basis = voigt_basis(constraints)
    target = min_singular_value * min_singular_value_of(basis, range(6))
    chosen: list[int] = []
    while len(chosen) < 6:
        candidates = [j for j in range(6) if j not in chosen]
        values = [min_singular_value_of(basis, chosen + [j]) for j in candidates]
        chosen.append(candidates[int(np.argmax(np.round(values, 9)))])
        if max(values) >= target:
            break
    return sorted(chosen)


def fit_elastic(columns: dict[int, np.ndarray], constraints=None) -> np.ndarray:
    """C from measured Voigt columns, full rank ``(3, 3, 3, 3)``, in the columns' unit and frame.

    Args:
        columns: Voigt strain component J -> ``(6,)`` slope dσ/dε_J (:func:`fit_column`), IEEE
            order, engineering shear strains.
        constraints: the crystal's :class:`~gmtnet.symmetry.SymmetryConstraints` for elastic
            tensors in the same frame; the allowed form is fitted (least squares) to the columns
            and projected exactly. Without it all six columns are needed and C is only made
            symmetric (C_IJ = C_JI).

    Raises:
        ValueError: columns missing to determine C.
    """
    given = sorted(columns)
    if constraints is None:
        if given != list(range(6)):
            raise ValueError(f"without symmetry all six strain columns are needed, got {given}")
        c = np.stack([np.asarray(columns[j], dtype=float) for j in range(6)], axis=1)
        return from_voigt(0.5 * (c + c.T), "elastic", order="ieee")
    basis = voigt_basis(constraints)
    design = np.concatenate([basis[:, :, j].T for j in given])  # (6·|J|, n_independent)
    target = np.concatenate([np.asarray(columns[j], dtype=float) for j in given])
    if np.linalg.matrix_rank(design, tol=1e-8) < len(basis):
        raise ValueError(f"strain columns {given} do not determine the {len(basis)} independent constants")
    theta, *_ = np.linalg.lstsq(design, target, rcond=None)
    return constraints.project(from_voigt(np.tensordot(theta, basis, axes=1), "elastic", order="ieee"))


def finite_strain_stresses(
    atoms,
    relax: Callable,
    components: Sequence[int],
    magnitudes: Sequence[float] = DEFAULT_MAGNITUDES,
    stress_unit: float = 1.0,
) -> dict[int, np.ndarray]:
    """Strain a relaxed ASE ``atoms`` and fit one Voigt column of C per strain component.

    Args:
        atoms: ASE Atoms with a calculator, relaxed (cell and ions) by the caller; not modified.
        relax: called on each strained copy (same calculator, constraints cleared: a symmetry
            constraint of the unstrained cell would be wrong for the strained one) to relax the
            ions at fixed cell; return value ignored.
        components: Voigt strain components (IEEE, 0..5) to apply.
        magnitudes: engineering strain magnitudes per component.
        stress_unit: the calculator's stress unit in the wanted unit (``ase.units.GPa`` for GPa).

    Returns:
        Component J -> ``(6,)`` dσ/dε_J in stress units / ``stress_unit``, IEEE Voigt order.
    """
    cell = np.asarray(atoms.get_cell(), dtype=float)
    columns = {}
    for j in components:
        stresses = []
        for m in magnitudes:
            strained = atoms.copy()
            strained.set_constraint()
            strained.calc = atoms.calc
            strained.set_cell(strained_cell(cell, voigt_strain(j, m)), scale_atoms=True)
            relax(strained)
            stresses.append(np.asarray(strained.get_stress(voigt=True), dtype=float) / stress_unit)
        columns[int(j)] = fit_column(magnitudes, np.array(stresses))
    return columns
