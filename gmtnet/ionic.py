"""The ionic (internal-strain) piezoelectric and dielectric response from physics (issue 17).

A learned model cannot tell which of two polar-axis orientations a piezoelectric label has (the
source's IEEE frame leaves it open, :mod:`gmtnet.orientation`), but the sign of a polar crystal's
e is a fact of its structure. This module estimates the *ionic* part of e and of ε from an
interatomic potential (SevenNet-0 by default, offline from the ``sevenn`` wheel) and Born
effective charges, by the textbook harmonic formulas; it is a physics estimate, not a DFT
replacement (no clamped-ion/electronic part, the potential's force constants, approximate Z*).

Conventions (SI; Å, eV, e inside; results in C/m² and dimensionless):

* Atoms κ = 0..N−1 in the structure's site order; displacement vector u (3N), index 3κ + β,
  Cartesian components in the **structure's own frame** (no IEEE rotation anywhere here).
* Strain η in **IEEE Voigt order** (xx, yy, zz, yz, xz, xy) with engineering shears (η₄ = 2ε_yz,
  ...), applied to the cell at fixed fractional coordinates: L' = L (I + ε) with lattice
  vectors as the rows of L. With engineering shears e_iJ = ∂P_i/∂η_J equals the full tensor's
  e_ijk (the Voigt map of :mod:`gmtnet.tensors` has no factors for e).
* Energy per cell near the reference (u = 0, η = 0), to second order:
  E(u, η) = E₀ + ½ uᵀ K u − uᵀ Λ η + ½ ηᵀ C₀ η Ω, so the forces are
  F(u, η) = −∂E/∂u = −K u + Λ η, i.e. **K = −∂F/∂u** (eV/Å², symmetric, the Γ-point force
  constants) and **Λ = +∂F/∂η at u = 0** (eV/Å per unit strain: the forces that appear when the
  cell is strained with the atoms carried along at fixed fractional coordinates). Relaxing the
  atoms in the strained cell, F = 0, gives u = K⁺ Λ η: the **internal-strain tensor
  Γ = du/dη = K⁺ Λ** (Å per unit strain), with the three rigid translations projected out of
  K and Λ (K's null space; the pseudo-inverse ignores it). Sign check: a harmonic toy crystal
  relaxed in a strained cell moves by +Γη (``tests/test_ionic.py``).
* Born charges Z*_κ,αβ = Ω ∂P_α/∂u_κβ (units of e; first index the polarisation/field
  direction α, second the displacement β; ABINIT's and :func:`gmtnet.data.load_dfpt`'s
  convention), obeying the acoustic sum rule Σ_κ Z*_κ = 0.
* Ionic piezo: e_ion,αJ = (e/Ω) Σ_κβ Z*_κ,αβ Γ_κβ,J (C/m²; 1 e/Å² = 16.02 C/m²).
* Ionic dielectric: ε_ion,αβ = (e²/(ε₀Ω)) Σ Z*_κ,αγ (K⁺)_κγ,κ'δ Z*_κ',βδ (dimensionless;
  e/(ε₀ · 1 V · 1 Å) = 180.95). It equals ε₀ − ε∞ where the harmonic model holds.

Literature sign convention checked by the tests: for wurtzite AlN, GaN and ZnO with the +c axis
pointing from the cation to the anion along the c-parallel bond, e₃₃ > 0 and e₃₁ < 0
(Bernardini, Fiorentini & Vanderbilt, Phys. Rev. B 56, R10024 (1997), Table I; the internal-strain
term dominates both and has their sign, cf. Dal Corso et al., Phys. Rev. B 50, 10715 (1994)).

Born charges, in this order of preference: the DFT Z* of :func:`gmtnet.data.load_dfpt` where
the crystal is there (matched by ``mp_material_id``; rotated into the structure's frame and site
order with pymatgen's StructureMatcher); else the Z* predicted by the installed per-atom kind
:data:`BORN_KIND` when its weights exist (:func:`predicted_born_charges`); else a formal
baseline: Z*_κ = q_κ I with q_κ the bond-valence oxidation state (pymatgen ``BVAnalyzer``,
falling back to the composition's first oxidation-state guess), shifted by the mean so that
Σ_κ Z*_κ = 0. Either way Z* is projected onto the form the space
group allows (:func:`gmtnet.symmetry.project_per_atom`) and the outputs e_ion, ε_ion onto the
form the crystal's point group allows (:func:`gmtnet.symmetry.neumann_projector`); the result
records both.

Weights: the SevenNet checkpoint is read with ``torch.load(weights_only=True)`` (numpy's array
reconstruction allow-listed), never with sevenn's own unpickling loader. Importing this module
imports neither torch nor sevenn.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "E_PER_A2_TO_C_PER_M2",
    "EPS_ION_FACTOR",
    "RELAX_FORCE",
    "IonicResponse",
    "BornCharges",
    "load_potential",
    "load_checkpoint",
    "force_constants",
    "strain_coupling",
    "internal_strain",
    "project_out_translations",
    "strain_matrix",
    "ionic_piezo",
    "ionic_dielectric",
    "formal_born_charges",
    "dft_born_charges",
    "predicted_born_charges",
    "born_charges",
    "BORN_KIND",
    "PIEZO_KIND",
    "STATIC_KIND",
    "ELECTRONIC_KIND",
    "max_force",
    "n_evaluations",
    "relax_positions",
    "ionic_response",
]

_E = 1.602176634e-19  # C
_EPS0 = 8.8541878128e-12  # F/m
#: 1 e/Å² in C/m².
E_PER_A2_TO_C_PER_M2 = _E / 1e-20
#: e²/(ε₀ Ω) · Z K⁺ Zᵀ with Z in e, K in eV/Å², Ω in Å³ → dimensionless: e / (ε₀ · 1 V · 1 Å).
EPS_ION_FACTOR = _E / (_EPS0 * 1e-10)

#: Largest residual force (eV/Å) above which :func:`ionic_response` relaxes the positions by default.
RELAX_FORCE = 0.05

#: The per-atom tensor kind whose prediction is the second Born-charge source (after DFT, before the
#: formal charges); used only when it is registered and its weights are installed.
BORN_KIND = "born"

#: The kinds of the tensors this module computes: e_ion is a piezoelectric (stress) tensor, ε_ion the
#: ionic part of the static dielectric tensor, to be compared with ε₀ − ε∞ (the electronic kind).
PIEZO_KIND = "piezoelectric"
STATIC_KIND = "dielectric"
ELECTRONIC_KIND = "dielectric_electronic"

#: IEEE Voigt pairs (xx, yy, zz, yz, xz, xy).
_IEEE_PAIRS = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))


# --------------------------------------------------------------------------- the potential


def _safe_checkpoint_load(path: str) -> dict:
    """``torch.load(weights_only=True)`` of a SevenNet checkpoint; only numpy's array
    reconstruction is allow-listed (the training config holds a few arrays), no other global."""
    import torch

    safe = [
        (np._core.multiarray._reconstruct, "numpy.core.multiarray._reconstruct"),
        np.ndarray,
        np.dtype,
        np.dtypes.Float32DType,
        np.dtypes.Float64DType,
        np.dtypes.Int64DType,
    ]
    with torch.serialization.safe_globals(safe):
        return torch.load(path, weights_only=True, map_location="cpu")


def load_checkpoint(name: str = "7net-0"):
    """A SevenNet checkpoint shipped in the ``sevenn`` wheel, read weights-only (never downloaded,
    never unpickled with code); the one loader of the project (the research encoder uses it too).

    Raises:
        ImportError: ``sevenn`` is missing; FileNotFoundError: the checkpoint is not in the wheel.
    """
    try:
        import sevenn.checkpoint as sc
        import sevenn.util as su
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(f"SevenNet needs the 'sevenn' package (pip install sevenn==0.13.0): {err}") from None
    path = su.pretrained_name_to_path(name)
    if not os.path.isfile(path):  # pretrained_name_to_path would download; we never do
        raise FileNotFoundError(f"{name}: checkpoint {path} is not in the installed sevenn wheel")
    raw = _safe_checkpoint_load(path)
    cp = sc.SevenNetCheckpoint(path)
    # Fill the checkpoint object from the safe load instead of its own (weights_only=False) _load().
    cp._config_original = raw.get("config", {})
    cp._model_state_dict = raw["model_state_dict"]
    cp._optimizer_state_dict, cp._scheduler_state_dict = {}, {}
    cp._epoch, cp._time, cp._hash = raw.get("epoch"), raw.get("time", ""), raw.get("hash", "")
    cp._config = sc._config_cp_routine(cp._config_original)
    cp._loaded = True
    return cp


def load_potential(name: str = "7net-0", device: str = "cpu"):
    """SevenNet's pretrained potential as an ASE calculator, offline and without unpickling code.

    Args:
        name: a checkpoint shipped in the ``sevenn`` wheel (``"7net-0"``: SevenNet-0, trained on
            MPtrj, PBE/PBE+U like the Materials Project labels).
        device: torch device (``"cpu"`` or ``"cuda"``).

    Raises:
        ImportError: ``sevenn`` is missing (naming the pin); FileNotFoundError: the checkpoint is
        not in the installed wheel (it is never downloaded).
    """
    try:
        from sevenn.calculator import SevenNetCalculator
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(f"the ionic response needs the 'sevenn' package (pip install sevenn==0.13.0): {err}") from None
    cp = load_checkpoint(name)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no tensor product accelerator": none exists on CPU
        return SevenNetCalculator(model=cp.build_model(), file_type="model_instance", device=device)


# --------------------------------------------------------------------------- the harmonic model


def _forces(atoms, calc) -> np.ndarray:
    a = atoms.copy()
    a.calc = calc
    return np.asarray(a.get_forces(), dtype=float)


def _translations(n: int) -> np.ndarray:
    """(3N, 3) orthonormal rigid translations of N atoms."""
    t = np.zeros((3 * n, 3))
    for b in range(3):
        t[b::3, b] = 1.0 / np.sqrt(n)
    return t


def project_out_translations(m: np.ndarray, both_sides: bool) -> np.ndarray:
    """``m`` (3N rows) with the three rigid translations projected out of its rows (and of its
    columns when ``both_sides``): the acoustic modes carry no internal strain."""
    t = _translations(m.shape[0] // 3)
    p = np.eye(m.shape[0]) - t @ t.T
    return p @ m @ p if both_sides else p @ m


def force_constants(atoms, calc, delta: float = 0.01, symmetry=None) -> np.ndarray:
    """Γ-point force constants K = −∂F/∂u (3N × 3N, eV/Å², index 3κ + β, structure frame).

    Central differences: atoms moved by ±``delta`` Å along x, y, z (6 force calls per atom).
    With ``symmetry`` (a :class:`gmtnet.symmetry.SiteSymmetry` of the same structure, same site
    order) only one atom per orbit is displaced and the other columns follow from
    K_{g(a), g(ρ)} = R_g K_{a, ρ} R_gᵀ (6 calls per orbit instead of per atom: 2-6x fewer for
    the symmetric crystals). Symmetrised, (K + Kᵀ)/2, and the acoustic sum rule imposed by
    projecting the three rigid translations out on both sides (K ← P K P), which keeps K
    symmetric.

    Raises:
        ValueError: a non-positive ``delta``, an empty structure, or a ``symmetry`` of another
        number of atoms.
    """
    if not delta > 0:
        raise ValueError(f"delta must be a positive displacement in Å, got {delta!r}")
    n = len(atoms)
    if n == 0:
        raise ValueError("force_constants needs at least one atom")
    if symmetry is not None and symmetry.num_atoms != n:
        raise ValueError(f"symmetry is for {symmetry.num_atoms} atoms, the structure has {n}")
    k = np.empty((3 * n, 3 * n))
    pos = atoms.get_positions()
    reps = range(n) if symmetry is None else sorted({int(x) for x in symmetry.equivalent_atoms})
    for kappa in reps:
        for b in range(3):
            col = []
            for sign in (1.0, -1.0):
                a = atoms.copy()
                p = pos.copy()
                p[kappa, b] += sign * delta
                a.set_positions(p)
                col.append(_forces(a, calc).reshape(-1))
            k[:, 3 * kappa + b] = -(col[0] - col[1]) / (2.0 * delta)
    if symmetry is not None:
        perms, rots = symmetry.permutations, symmetry.rotations
        for kappa in range(n):
            rho = int(symmetry.equivalent_atoms[kappa])
            if rho == kappa:
                continue
            g = int(np.flatnonzero(perms[:, rho] == kappa)[0])
            r = rots[g]
            block = k[:, 3 * rho : 3 * rho + 3].reshape(n, 3, 3)  # [a, α, β] = K_{aα, ρβ}
            moved = np.einsum("ij,ajk,lk->ail", r, block, r)  # R K_{a,ρ} Rᵀ, lands on row g(a)
            out = np.empty_like(moved)
            out[perms[g]] = moved
            k[:, 3 * kappa : 3 * kappa + 3] = out.reshape(3 * n, 3)
    return project_out_translations(0.5 * (k + k.T), both_sides=True)


def strain_matrix(j: int, eta: float) -> np.ndarray:
    """Symmetric strain ε for IEEE Voigt component j (0..5) of engineering size η."""
    e = np.zeros((3, 3))
    a, b = _IEEE_PAIRS[j]
    if a == b:
        e[a, a] = eta
    else:
        e[a, b] = e[b, a] = 0.5 * eta
    return e


def strain_coupling(atoms, calc, eta: float = 0.005) -> np.ndarray:
    """Strain coupling Λ = ∂F/∂η at fixed fractional coordinates (3N × 6, eV/Å per unit strain).

    Columns in IEEE Voigt order (xx, yy, zz, yz, xz, xy), engineering shears; the cell is
    strained as L' = L (I + ε) (rows of L are the lattice vectors), atoms carried along at fixed
    fractional coordinates; central differences ±``eta`` (12 force calls), so a residual force of
    the reference cancels. The rigid translations are projected out (Σ_κ Λ_κ = 0).

    Raises:
        ValueError: a non-positive ``eta``.
    """
    if not eta > 0:
        raise ValueError(f"eta must be a positive strain, got {eta!r}")
    n = len(atoms)
    lam = np.empty((3 * n, 6))
    cell = np.asarray(atoms.get_cell())
    for j in range(6):
        f = []
        for sign in (1.0, -1.0):
            a = atoms.copy()
            a.set_cell(cell @ (np.eye(3) + strain_matrix(j, sign * eta)), scale_atoms=True)
            f.append(_forces(a, calc).reshape(-1))
        lam[:, j] = (f[0] - f[1]) / (2.0 * eta)
    return project_out_translations(lam, both_sides=False)


def _pinv(k: np.ndarray, rcond: float = 1e-8) -> np.ndarray:
    return np.linalg.pinv(k, rcond=rcond, hermitian=True)


def internal_strain(k: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Internal strain Γ = du/dη = K⁺ Λ (3N × 6, Å per unit strain, IEEE Voigt columns).

    From F = −K u + Λ η = 0 (module docstring). The rigid translations are projected out of both
    K and Λ first; the pseudo-inverse (relative cut 1e-8 of the largest eigenvalue) then leaves
    them out of Γ. Unstable modes (negative eigenvalues of K) are kept: they are reported by
    :func:`ionic_response` and make the harmonic estimate unreliable.

    Raises:
        ValueError: shapes that do not fit (K must be 3N × 3N, Λ 3N × 6).
    """
    k = np.asarray(k, dtype=float)
    lam = np.asarray(lam, dtype=float)
    if k.ndim != 2 or k.shape[0] != k.shape[1] or k.shape[0] % 3 or lam.shape != (k.shape[0], 6):
        raise ValueError(f"K must be (3N, 3N) and Λ (3N, 6); got {k.shape} and {lam.shape}")
    kp = project_out_translations(0.5 * (k + k.T), both_sides=True)
    return _pinv(kp) @ project_out_translations(lam, both_sides=False)


def _born_matrix(z: np.ndarray, n: int) -> np.ndarray:
    z = np.asarray(z, dtype=float)
    if z.shape != (n, 3, 3):
        raise ValueError(f"Born charges must be (N, 3, 3) = ({n}, 3, 3) in e, got {z.shape}")
    # (3, 3N): row α, column 3κ + β holds Z*_κ,αβ.
    return z.transpose(1, 0, 2).reshape(3, 3 * n)


def ionic_piezo(z: np.ndarray, gamma: np.ndarray, volume: float) -> np.ndarray:
    """Ionic piezoelectric stress tensor e_ion (3, 3, 3), C/m², frame of the structure.

    e_ion,αJ = (e/Ω) Σ_κβ Z*_κ,αβ Γ_κβ,J with Γ in IEEE Voigt columns (engineering shears),
    expanded to the full tensor e_αjk (symmetric in j, k; no Voigt factors).

    Args:
        z: Born charges (N, 3, 3), e, Z*_κ,αβ = Ω ∂P_α/∂u_κβ.
        gamma: internal strain (3N, 6), Å per unit strain.
        volume: cell volume Ω, Å³.
    """
    from gmtnet.tensors import from_voigt

    gamma = np.asarray(gamma, dtype=float)
    if gamma.ndim != 2 or gamma.shape[1] != 6 or gamma.shape[0] % 3:
        raise ValueError(f"internal strain must be (3N, 6), got {gamma.shape}")
    if not volume > 0:
        raise ValueError(f"volume must be positive (Å³), got {volume!r}")
    voigt = _born_matrix(z, gamma.shape[0] // 3) @ gamma / volume * E_PER_A2_TO_C_PER_M2
    return from_voigt(voigt, PIEZO_KIND, "ieee")


def ionic_dielectric(z: np.ndarray, k: np.ndarray, volume: float) -> np.ndarray:
    """Ionic dielectric contribution ε_ion (3, 3), dimensionless, frame of the structure.

    ε_ion = (e²/(ε₀Ω)) Z K⁺ Zᵀ with Z the (3, 3N) Born-charge matrix (e), K (eV/Å²) with the
    rigid translations projected out, Ω in Å³. Symmetrised.
    """
    k = np.asarray(k, dtype=float)
    if k.ndim != 2 or k.shape[0] != k.shape[1] or k.shape[0] % 3:
        raise ValueError(f"K must be (3N, 3N), got {k.shape}")
    if not volume > 0:
        raise ValueError(f"volume must be positive (Å³), got {volume!r}")
    zm = _born_matrix(z, k.shape[0] // 3)
    kp = project_out_translations(0.5 * (k + k.T), both_sides=True)
    eps = zm @ _pinv(kp) @ zm.T * EPS_ION_FACTOR / volume
    return 0.5 * (eps + eps.T)


# --------------------------------------------------------------------------- Born charges


@dataclass(frozen=True)
class BornCharges:
    """Born effective charges in a structure's frame and site order.

    Attributes:
        z: (N, 3, 3), e, Z*_κ,αβ = Ω ∂P_α/∂u_κβ, projected onto the space group's form with
            Σ_κ Z*_κ = 0.
        source: ``"dft:<dfpt id>"`` (DFPT, ABINIT PBEsol, :func:`gmtnet.data.load_dfpt`),
            ``"predicted:<kind>"`` (the shipped per-atom Born-charge model, :data:`BORN_KIND`) or
            ``"formal"`` (oxidation states, isotropic).
        detail: how they were obtained (the oxidation states, or the mapping's residuals).
    """

    z: np.ndarray
    source: str
    detail: str = ""


def formal_born_charges(structure) -> BornCharges:
    """Isotropic Z*_κ = q_κ I from formal oxidation states, shifted to Σ_κ Z*_κ = 0.

    q_κ from pymatgen's bond-valence analysis of the structure (site-resolved), else the
    composition's most likely oxidation-state guess.

    Raises:
        ValueError: when no oxidation states can be assigned (metals, unusual chemistry) or all
        are 0 (elemental crystals).
    """
    from pymatgen.analysis.bond_valence import BVAnalyzer

    try:
        q = np.asarray(BVAnalyzer().get_valences(structure), dtype=float)
        how = "bond valence"
    except ValueError:
        guesses = structure.composition.oxi_state_guesses(max_sites=-50)
        if not guesses:
            raise ValueError(f"no formal oxidation states for {structure.composition.reduced_formula}") from None
        q = np.array([guesses[0][site.specie.symbol] for site in structure], dtype=float)
        how = "composition guess"
    if not np.any(q):
        raise ValueError(
            f"no ionic charges for {structure.composition.reduced_formula}: every formal oxidation state is 0 "
            "(an elemental or metallic crystal has no Born charges to estimate)"
        )
    shift = q.mean()
    z = (q - shift)[:, None, None] * np.eye(3)[None]
    states = ", ".join(f"{s.specie.symbol}{v:+g}" for s, v in zip(structure, q))
    return BornCharges(z=z, source="formal", detail=f"{how}: {states}; ASR shift {shift:+.3g} e")


def dft_born_charges(structure, material_id: str | None) -> BornCharges | None:
    """The DFPT Born charges of ``material_id`` (via ``load_dfpt()['mp_material_id']``) in the
    frame and site order of ``structure``; None where the crystal is not in the DFPT set or the
    cells cannot be mapped site by site.

    The DFPT cell (PBEsol) is mapped onto ``structure`` with StructureMatcher (volume scaled,
    same cell size). With row vectors x_mp = x_dfpt M (M maps the lattices; its singular values
    are the PBE/PBEsol stretch), the orthogonal polar factor Q of M gives column vectors
    v_mp = R v_dfpt with R = Qᵀ, and Z*_mp,κ = R Z*_dfpt,m(κ) Rᵀ (m the site mapping; Z* is a
    polar rank-2 tensor, so an improper R is handled too). The result is projected onto the space group's form with
    the acoustic sum rule.
    """
    if material_id is None:
        return None
    from pymatgen.analysis.structure_matcher import StructureMatcher

    from gmtnet.data import load_dfpt
    from gmtnet.symmetry import project_per_atom

    dfpt = load_dfpt()
    rows = dfpt[dfpt["mp_material_id"] == material_id]
    if rows.empty:
        return None
    rows = rows.assign(_n_flags=rows["flags"].map(len)).sort_values("_n_flags")
    matcher = StructureMatcher(ltol=0.2, stol=0.3, angle_tol=5.0, primitive_cell=False, scale=True, attempt_supercell=False)
    for row in rows.itertuples():
        s2 = row.structure
        if len(s2) != len(structure):
            continue
        found = matcher.get_transformation(structure, s2)
        if found is None:
            continue
        supercell, _, mapping = found
        mapping = list(mapping[: len(structure)])
        if any(m is None for m in mapping) or sorted(mapping) != list(range(len(structure))):
            continue
        if any(structure[i].specie != s2[m].specie for i, m in enumerate(mapping)):
            continue
        m = np.linalg.solve(np.asarray(supercell, dtype=float) @ s2.lattice.matrix, structure.lattice.matrix)
        u, sv, vt = np.linalg.svd(m)
        rot = (u @ vt).T  # column vectors: v_mp = rot @ v_dfpt
        z2 = np.asarray(row.born_charges, dtype=float)[mapping]
        z = np.einsum("ab,kbc,dc->kad", rot, z2, rot)
        zp = project_per_atom(structure, z, acoustic_sum_rule=True)
        resid = float(np.linalg.norm(zp - z) / max(np.linalg.norm(z), 1e-12))
        return BornCharges(
            z=zp,
            source=f"dft:{row.material_id}",
            detail=f"DFPT (ABINIT PBEsol) {row.material_id}; cell stretch {sv.max() / sv.min() - 1:.3f}; symmetrisation residual {resid:.3g}",
        )
    return None


def predicted_born_charges(structure, predictor=None, kind: str | None = None) -> BornCharges | None:
    """Z* predicted by the per-atom Born-charge kind (``kind``, default :data:`BORN_KIND`), in the
    structure's frame and site order; None when that kind is not registered or its weights are not
    installed (so this works before and after the kind ships).

    Args:
        structure: pymatgen Structure.
        predictor: a loaded :class:`gmtnet.predict.Predictor` holding the kind (the app passes its
            cached one); None loads the kind's ensemble on the CPU for this call.
        kind: the kind's name.

    Raises:
        ValueError: the model refuses the structure (its message), or the kind is not per-atom
        rank 2 (its output is not one 3 × 3 tensor per atom).
    """
    from gmtnet.kinds import KINDS
    from gmtnet.symmetry import project_per_atom

    name = BORN_KIND if kind is None else kind
    if name not in KINDS:
        return None
    if predictor is None:
        from gmtnet.predict import Predictor, installed_kinds

        if name not in installed_kinds():
            return None
        predictor = Predictor.load(kinds=[name], device="cpu")
    elif name not in predictor.kinds:
        return None
    p = predictor.predict(structure, name)
    z = np.asarray(p.tensor, dtype=float)
    if z.shape != (len(structure), 3, 3):
        raise ValueError(f"kind {name!r} gives tensors of shape {z.shape}, not one 3x3 Born charge per atom ({len(structure)}, 3, 3)")
    # The model already imposes site symmetry (and the sum rule when trained with it); projecting
    # again makes the sum rule exact for any per-atom kind and leaves a symmetric Z* unchanged.
    zp = project_per_atom(structure, z, acoustic_sum_rule=True)
    spread = "" if p.uncertainty is None else f", ensemble uncertainty {p.uncertainty:.3g} e"
    return BornCharges(z=zp, source=f"predicted:{name}", detail=f"predicted by the shipped {name!r} model{spread}")


def born_charges(structure, material_id: str | None = None, prefer_dft: bool = True, predictor=None,
                 use_predicted: bool = True) -> BornCharges:
    """Born charges from the best source available, projected onto the space group's form with
    Σ_κ Z*_κ = 0: DFT where the crystal is in the DFPT set (and ``prefer_dft``), else predicted by
    the installed :data:`BORN_KIND` model (and ``use_predicted``; ``predictor`` as in
    :func:`predicted_born_charges`), else the formal baseline. ``source`` says which was used;
    when the model refuses the structure, the formal ``detail`` says why."""
    from gmtnet.symmetry import project_per_atom

    if prefer_dft:
        found = dft_born_charges(structure, material_id)
        if found is not None:
            return found
    why = ""
    if use_predicted:
        try:
            found = predicted_born_charges(structure, predictor=predictor)
        except ValueError as err:
            found, why = None, f"; no predicted Z*: {err}"
        if found is not None:
            return found
    formal = formal_born_charges(structure)
    return BornCharges(z=project_per_atom(structure, formal.z, acoustic_sum_rule=True), source=formal.source,
                       detail=formal.detail + why)


# --------------------------------------------------------------------------- the whole estimate


def n_evaluations(structure, symprec: float = 1e-2) -> int:
    """Potential evaluations :func:`ionic_response` makes without relaxation: 1 (residual force)
    + 6 per symmetry orbit of atoms (K) + 12 (Λ)."""
    from gmtnet.symmetry import analyze_site_symmetry

    orbits = len(set(int(x) for x in analyze_site_symmetry(structure, symprec=symprec).equivalent_atoms))
    return 1 + 6 * orbits + 12


def max_force(atoms, calc) -> float:
    """Largest force on any atom, eV/Å."""
    return float(np.linalg.norm(_forces(atoms, calc), axis=1).max())


def relax_positions(atoms, calc, fmax: float = 0.005, steps: int = 200):
    """Atoms relaxed at fixed cell (BFGS, ASE's FixSymmetry keeps the space group), a copy;
    returns ``(atoms, steps_taken, final_max_force)``."""
    from ase.constraints import FixSymmetry
    from ase.optimize import BFGS

    a = atoms.copy()
    a.calc = calc
    a.set_constraint(FixSymmetry(a))
    opt = BFGS(a, logfile=None)
    opt.run(fmax=fmax, steps=steps)
    a.set_constraint()
    f = float(np.linalg.norm(a.get_forces(), axis=1).max())
    out = a.copy()
    return out, int(opt.nsteps), f


@dataclass(frozen=True)
class IonicResponse:
    """The ionic response of one crystal (see the module docstring for conventions).

    Attributes:
        e_ion: (3, 3, 3) ionic piezoelectric stress tensor, C/m², structure frame, point-group
            projected.
        eps_ion: (3, 3) ionic dielectric contribution, dimensionless, structure frame,
            point-group projected.
        born_source: ``"dft:<dfpt id>"``, ``"predicted:<kind>"`` or ``"formal"``; ``born_detail``
            says more.
        point_group: the point group the outputs were projected with (spglib, symprec 0.01 Å).
        projection_residual: relative change of (e_ion, eps_ion) under the projection (what the
            finite differences broke).
        max_force_before: largest force on the given structure, eV/Å (the potential's).
        relaxed: whether the positions were relaxed at fixed cell first; ``max_force_after``
            (eV/Å) the largest force on the structure the response was computed on.
        n_unstable: eigenvalues of K below −0.01 eV/Å² (unstable modes make the estimate
            unreliable); ``min_eigenvalue`` of K without the translations, eV/Å².
        cost_s: wall time, seconds; ``n_calls``: potential evaluations.
        frame: ``"structure"`` (the Cartesian frame of the input).
    """

    e_ion: np.ndarray
    eps_ion: np.ndarray
    born_source: str
    born_detail: str
    point_group: str
    projection_residual: tuple[float, float]
    max_force_before: float
    max_force_after: float
    relaxed: bool
    n_unstable: int
    min_eigenvalue: float
    cost_s: float
    n_calls: int
    frame: str = "structure"
    gamma: np.ndarray = field(default=None, repr=False)

    @property
    def e_voigt(self) -> np.ndarray:
        """e_ion as a 3 × 6 matrix, IEEE Voigt order (xx, yy, zz, yz, xz, xy), C/m²."""
        from gmtnet.tensors import to_voigt

        return to_voigt(self.e_ion, PIEZO_KIND, "ieee")


class _Counting:
    """Counts the calls of an ASE calculator (for the cost)."""

    def __init__(self, calc, callback=None):
        self.calc, self.calls, self.callback = calc, 0, callback
        self._calculate = calc.calculate
        calc.calculate = self._wrapped

    def _wrapped(self, *args, **kwargs):
        self.calls += 1
        out = self._calculate(*args, **kwargs)
        if self.callback is not None:
            self.callback()
        return out

    def restore(self):
        self.calc.calculate = self._calculate


def ionic_response(
    structure,
    calc=None,
    material_id: str | None = None,
    relax: bool | None = None,
    delta: float = 0.01,
    eta: float = 0.005,
    prefer_dft: bool = True,
    born: BornCharges | None = None,
    symprec: float = 1e-2,
    progress=None,
) -> IonicResponse:
    """e_ion and ε_ion of a crystal from a potential and Born charges, in its own frame.

    Args:
        structure: pymatgen Structure or ASE Atoms (ordered, periodic).
        calc: ASE calculator; default :func:`load_potential` (SevenNet-0, CPU).
        material_id: Materials Project id, to find DFT Born charges in :func:`gmtnet.data.load_dfpt`.
        relax: relax positions at fixed cell with the potential first (the cell is kept, so the
            frame and the volume are the structure's); None (default): only when the largest
            residual force exceeds :data:`RELAX_FORCE` (measured on the unique piezo rows:
            median residual 0.10 eV/Å, and relaxing changed e_ion by a median 70 %; well
            converged cells such as the wurtzites, < 0.01 eV/Å, are left as given).
        delta: finite displacement, Å; eta: finite strain.
        prefer_dft: the best Z* available (:func:`born_charges`: DFT, else predicted, else
            formal); False: always the formal baseline (``gmtnet ionic --formal``).
        born: explicit Born charges (overrides the lookup).
        symprec: spglib tolerance for the point group the outputs are projected with, Å.
        progress: called with no argument after every potential evaluation (a progress bar);
            :func:`n_evaluations` says how many to expect without relaxation.

    Raises:
        ValueError: a structure that is not an ordered periodic crystal, or without Born charges
        (no DFT match and no formal oxidation states).
    """
    from pymatgen.io.ase import AseAtomsAdaptor

    from gmtnet.interop import as_structure
    from gmtnet.symmetry import analyze_site_symmetry, analyze_symmetry, neumann_projector

    t0 = time.perf_counter()
    structure = as_structure(structure)
    if calc is None:
        calc = load_potential()
    counter = _Counting(calc, progress)
    try:
        atoms = AseAtomsAdaptor.get_atoms(structure)
        f_before = max_force(atoms, calc)
        f_after = f_before
        if relax is None:
            relax = f_before > RELAX_FORCE
        if relax:
            atoms, _, f_after = relax_positions(atoms, calc)
        if born is None:
            born = born_charges(structure, material_id, prefer_dft=prefer_dft, use_predicted=prefer_dft)
        k = force_constants(atoms, calc, delta, symmetry=analyze_site_symmetry(AseAtomsAdaptor.get_structure(atoms), symprec=symprec))
        lam = strain_coupling(atoms, calc, eta)
    finally:
        counter.restore()
    gamma = internal_strain(k, lam)
    volume = float(atoms.get_volume())
    e = ionic_piezo(born.z, gamma, volume)
    eps = ionic_dielectric(born.z, k, volume)
    sym = analyze_symmetry(structure, symprec=symprec)
    ep = (neumann_projector(sym.rotations, PIEZO_KIND) @ e.reshape(-1)).reshape(3, 3, 3)
    dp = (neumann_projector(sym.rotations, STATIC_KIND) @ eps.reshape(-1)).reshape(3, 3)

    def rel(a, b):
        return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-12))

    evals = np.linalg.eigvalsh(project_out_translations(k, both_sides=True))
    # The three translations sit at exactly 0 after the projection; drop the 3 closest to 0.
    inner = np.delete(evals, np.argsort(np.abs(evals))[:3])
    return IonicResponse(
        e_ion=ep,
        eps_ion=dp,
        born_source=born.source,
        born_detail=born.detail,
        point_group=sym.point_group,
        projection_residual=(rel(e, ep) if np.linalg.norm(ep) > 0 else float(np.linalg.norm(e)), rel(eps, dp)),
        max_force_before=f_before,
        max_force_after=f_after,
        relaxed=bool(relax),
        n_unstable=int((inner < -0.01).sum()),
        min_eigenvalue=float(inner.min()) if inner.size else 0.0,
        cost_s=time.perf_counter() - t0,
        n_calls=counter.calls,
        gamma=gamma,
    )
