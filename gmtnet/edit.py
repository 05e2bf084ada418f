"""What-if edits of a crystal: pure functions that return a *new* pymatgen Structure.

Nothing here relaxes the structure: atoms keep their fractional coordinates under a strain, and a
substitution keeps every position. The edits are meant to show how symmetry (and with it the
allowed form of each tensor) changes, not to model the relaxed material.

Strain convention (:func:`strain`)
----------------------------------
Small-strain tensor ε (symmetric, dimensionless) in the **Cartesian frame of the structure**; the
lattice vectors (rows, Å) become ``a' = (I + ε) a``, fractional coordinates are kept.
``percent`` is the strain in %, positive = tension:

* ``"uniaxial"``, ``axis`` in x/y/z: ε_aa = p/100;
* ``"biaxial"``, ``plane`` in xy/xz/yz: ε_ii = ε_jj = p/100 for the two in-plane axes;
* ``"shear"``, ``plane`` in xy/xz/yz: engineering shear γ_ij = p/100, i.e. ε_ij = ε_ji = p/200;
* ``"hydrostatic"``: ε = (p/100) I.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pymatgen.core import Element, Lattice, Structure

from gmtnet.graph import MAX_ATOMS
from gmtnet.symmetry import SymmetryConstraints
from gmtnet.tensors import voigt_labels

__all__ = [
    "STRAIN_MODES",
    "AXES",
    "PLANES",
    "MAX_STRAIN_PERCENT",
    "strain_tensor",
    "strain",
    "substitute",
    "suggested_substitute",
    "substitution_warnings",
    "rattle",
    "displace",
    "make_supercell",
    "newly_allowed",
    "released_equalities",
    "change_statement",
]

#: Strain modes understood by :func:`strain`.
STRAIN_MODES: tuple[str, ...] = ("uniaxial", "biaxial", "shear", "hydrostatic")
#: Cartesian axes (structure frame) for uniaxial strain.
AXES: tuple[str, ...] = ("x", "y", "z")
#: Cartesian planes (structure frame) for biaxial and shear strain.
PLANES: tuple[str, ...] = ("xy", "xz", "yz")
#: Largest |strain| accepted, in %.
MAX_STRAIN_PERCENT = 20.0
#: Largest rattle / displacement accepted, in Å.
MAX_DISPLACEMENT_ANGSTROM = 1.0


def _check_structure(structure) -> None:
    if not isinstance(structure, Structure):
        raise ValueError(f"expected a pymatgen Structure, got {type(structure).__name__}")
    if len(structure) == 0:
        raise ValueError("the structure has no atoms")


def strain_tensor(mode: str, percent: float, axis: str = "x", plane: str = "xy") -> np.ndarray:
    """The ``(3, 3)`` small-strain tensor (dimensionless, structure frame) of the module's convention.

    Raises:
        ValueError: naming a bad mode, axis, plane or a percentage outside ±:data:`MAX_STRAIN_PERCENT`.
    """
    if mode not in STRAIN_MODES:
        raise ValueError(f"strain mode must be one of {STRAIN_MODES}, got {mode!r}")
    p = float(percent)
    if not np.isfinite(p) or abs(p) > MAX_STRAIN_PERCENT:
        raise ValueError(f"strain must be within ±{MAX_STRAIN_PERCENT:g} %, got {percent!r}")
    eps = np.zeros((3, 3))
    if mode == "uniaxial":
        if axis not in AXES:
            raise ValueError(f"axis must be one of {AXES}, got {axis!r}")
        a = AXES.index(axis)
        eps[a, a] = p / 100
    elif mode in ("biaxial", "shear"):
        if plane not in PLANES:
            raise ValueError(f"plane must be one of {PLANES}, got {plane!r}")
        i, j = AXES.index(plane[0]), AXES.index(plane[1])
        if mode == "biaxial":
            eps[i, i] = eps[j, j] = p / 100
        else:
            eps[i, j] = eps[j, i] = p / 200
    else:
        eps = np.eye(3) * p / 100
    return eps


def strain(structure: Structure, mode: str, percent: float, axis: str = "x", plane: str = "xy") -> Structure:
    """Strain the lattice (see the module docstring for the convention); fractional coords kept.

    Args:
        structure: the crystal (not modified).
        mode: one of :data:`STRAIN_MODES`.
        percent: strain in % (|percent| ≤ :data:`MAX_STRAIN_PERCENT`); engineering shear for ``"shear"``.
        axis: x, y or z (uniaxial only), Cartesian axis of the structure frame.
        plane: xy, xz or yz (biaxial and shear only).

    Returns:
        A new Structure with lattice rows ``a' = (I + ε) a`` (Å).
    """
    _check_structure(structure)
    eps = strain_tensor(mode, percent, axis=axis, plane=plane)
    f = np.eye(3) + eps
    lattice = Lattice(structure.lattice.matrix @ f.T)
    return Structure(lattice, structure.species, structure.frac_coords, site_properties=structure.site_properties)


def substitute(structure: Structure, old: str, new: str) -> Structure:
    """Replace every site of element ``old`` by element ``new`` (positions and lattice kept).

    Raises:
        ValueError: an unknown symbol, or ``old`` not present in the structure.
    """
    _check_structure(structure)
    for sym in (old, new):
        if not isinstance(sym, str) or not Element.is_valid_symbol(sym):
            raise ValueError(f"unknown element symbol {sym!r}")
    present = sorted(structure.symbol_set)
    if old not in present:
        raise ValueError(f"element {old!r} is not in the structure (it has {', '.join(present)})")
    out = structure.copy()
    out.replace_species({old: new})
    return out


def suggested_substitute(element: str) -> str:
    """A chemically sensible default replacement for ``element``: its neighbour in the same group
    of the periodic table (the next heavier one, or the lighter one for the heaviest), e.g.
    O → S, Zn → Cd, Sr → Ba, Ti → Zr. Hydrogen and the noble gases fall back to the element itself."""
    el = Element(element)
    same_group = [e for e in Element if e.group == el.group and e.Z <= 86 and not e.is_noble_gas and e.symbol != "H"]
    same_group.sort(key=lambda e: e.Z)
    symbols = [e.symbol for e in same_group]
    if el.symbol not in symbols or len(symbols) < 2:
        return el.symbol
    i = symbols.index(el.symbol)
    return symbols[i + 1] if i + 1 < len(symbols) else symbols[i - 1]


def substitution_warnings(structure: Structure, old: str, new: str) -> list[str]:
    """Reasons an ``old`` → ``new`` substitution may be unphysical (empty when none is seen).

    Checks (heuristic, no relaxation): the oxidation state ``old`` most plausibly has in the
    structure (pymatgen's bond-valence-free guess from the composition) against the common
    oxidation states of ``new``, e.g. O²⁻ → Cd (Cd is found as +2 only); and a change of the
    atomic radius by more than 25 %.
    """
    out = []
    e_old, e_new = Element(old), Element(new)
    try:
        guesses = structure.composition.oxi_state_guesses(max_sites=-50)
    except Exception:  # pymatgen can fail on odd compositions: skip the check
        guesses = []
    if guesses and old in guesses[0]:
        ox = guesses[0][old]
        common = tuple(e_new.common_oxidation_states)
        if ox and common and not any(np.sign(c) == np.sign(ox) for c in common):
            out.append(f"{old} is {ox:+g} here but {new} is not found with that sign of oxidation state "
                       f"(common: {', '.join(f'{c:+d}' for c in common)}): the substituted crystal is unlikely to exist.")
    r_old, r_new = e_old.atomic_radius, e_new.atomic_radius
    if r_old and r_new and abs(float(r_new) / float(r_old) - 1) > 0.25:
        out.append(f"{new} is {100 * (float(r_new) / float(r_old) - 1):+.0f} % different in atomic radius from {old}: "
                   "the kept positions and lattice are far from what a relaxation would give.")
    return out


def rattle(structure: Structure, amplitude_angstrom: float, seed: int = 0) -> Structure:
    """Move every atom by a random Cartesian vector with components uniform in ±amplitude (Å).

    Raises:
        ValueError: amplitude negative, not finite or over :data:`MAX_DISPLACEMENT_ANGSTROM`.
    """
    _check_structure(structure)
    amp = float(amplitude_angstrom)
    if not np.isfinite(amp) or amp < 0 or amp > MAX_DISPLACEMENT_ANGSTROM:
        raise ValueError(f"rattle amplitude must be in [0, {MAX_DISPLACEMENT_ANGSTROM:g}] Å, got {amplitude_angstrom!r}")
    rng = np.random.default_rng(int(seed))
    shift = rng.uniform(-amp, amp, size=(len(structure), 3))
    return Structure(
        structure.lattice,
        structure.species,
        structure.cart_coords + shift,
        coords_are_cartesian=True,
        site_properties=structure.site_properties,
    )


def displace(structure: Structure, site_index: int, vector_angstrom: Sequence[float]) -> Structure:
    """Move one site by a Cartesian vector (Å, structure frame).

    Raises:
        ValueError: a site index out of range, or a vector that is not 3 finite numbers with norm
            ≤ :data:`MAX_DISPLACEMENT_ANGSTROM`.
    """
    _check_structure(structure)
    n = len(structure)
    if not isinstance(site_index, (int, np.integer)) or not 0 <= int(site_index) < n:
        raise ValueError(f"site index must be an integer in 0..{n - 1}, got {site_index!r}")
    v = np.asarray(vector_angstrom, dtype=float)
    if v.shape != (3,) or not np.all(np.isfinite(v)):
        raise ValueError(f"displacement must be 3 finite numbers (Å), got {vector_angstrom!r}")
    if np.linalg.norm(v) > MAX_DISPLACEMENT_ANGSTROM:
        raise ValueError(f"displacement |{np.linalg.norm(v):.3g}| Å exceeds {MAX_DISPLACEMENT_ANGSTROM:g} Å")
    cart = structure.cart_coords.copy()
    cart[int(site_index)] += v
    return Structure(
        structure.lattice, structure.species, cart, coords_are_cartesian=True, site_properties=structure.site_properties
    )


def make_supercell(structure: Structure, repeats: Sequence[int], max_atoms: int = MAX_ATOMS) -> Structure:
    """Repeat the cell ``(na, nb, nc)`` times along a, b, c.

    Raises:
        ValueError: repeats not three positive integers, or a result over ``max_atoms`` sites.
    """
    _check_structure(structure)
    reps = tuple(repeats)
    if len(reps) != 3 or not all(isinstance(r, (int, np.integer)) and r >= 1 for r in reps):
        raise ValueError(f"supercell repeats must be three positive integers, got {repeats!r}")
    n = len(structure) * int(np.prod(reps))
    if n > max_atoms:
        raise ValueError(f"a {reps} supercell would have {n} atoms; the limit is {max_atoms}")
    return structure.make_supercell([int(r) for r in reps], in_place=False)


def newly_allowed(before: SymmetryConstraints, after: SymmetryConstraints, order: str = "ieee") -> list[str]:
    """Voigt component names forbidden (zero) before an edit and allowed after it.

    Both constraints must be of the same kind and (for a meaningful answer) in the same Cartesian
    frame, which holds for every edit in this module. Names are as in
    :func:`gmtnet.tensors.voigt_labels` (``"C14"``, ``"e15"``, ``"εxy"``); for rank 2 only the
    upper triangle is listed.

    Raises:
        ValueError: if the two constraints are of different kinds.
    """
    if before.kind.name != after.kind.name:
        raise ValueError(f"cannot compare {before.kind.name!r} with {after.kind.name!r} constraints")
    was_zero = before.voigt_zero_mask(order)
    now_zero = after.voigt_zero_mask(order)
    labels = voigt_labels(before.kind, order)
    mask = was_zero & ~now_zero
    if before.kind.voigt_symmetric:  # symmetric Voigt matrix: list each component once
        mask = np.triu(mask)
    return [str(labels[i, j]) for i, j in zip(*np.nonzero(mask))]


def released_equalities(
    before: SymmetryConstraints, after: SymmetryConstraints, order: str = "ieee"
) -> list[tuple[str, str, int]]:
    """Voigt equalities (``("C11", "C33", +1)``) forced before an edit and no longer forced after it.

    A strain along z of a cubic crystal forbids no new components and allows none, but releases
    C11 = C33: such components became independent.

    Raises:
        ValueError: if the two constraints are of different kinds.
    """
    if before.kind.name != after.kind.name:
        raise ValueError(f"cannot compare {before.kind.name!r} with {after.kind.name!r} constraints")
    after_eqs = set(after.voigt_equalities(order))
    return [e for e in before.voigt_equalities(order) if e not in after_eqs]


def change_statement(size: float, sigma: float, unit: str, edited: bool = True, detail: str = "") -> str:
    """The What-if sentence about a predicted change and its uncertainty (Markdown).

    Args:
        size: ‖after − before‖ in the paper's form, ``unit``
            (:func:`gmtnet.models.ensemble.change_uncertainty`).
        sigma: its 1σ uncertainty from the paired ensemble members, same unit.
        unit: the kind's unit label.
        edited: False when no edit was applied: then there is no change and nothing to compare,
            and the sentence says so instead of quoting 0 ± 0.
        detail: shown in parentheses after the numbers (where σ comes from).

    σ is printed to 2 significant digits and the size to the same last digit; the verdict compares
    the numbers *as printed*, so it never contradicts them: "larger than its uncertainty" only when the printed size is strictly
    larger than the printed σ, "within its uncertainty" when it is not, "does not change" when the
    printed size is 0.
    """
    if not edited:
        return "No edit applied yet: the structure and its prediction are unchanged, so there is no change to compare."
    sigma_text = f"{sigma:.2g}"
    if sigma > 0 and np.isfinite(sigma):
        # The size to the uncertainty's last printed digit (2 significant digits of σ).
        decimals = 1 - int(np.floor(np.log10(float(sigma_text))))
        size_text = f"{round(size, decimals):.{max(decimals, 0)}f}"
    else:
        size_text = f"{size:.3g}"
    shown_size, shown_sigma = float(size_text), float(sigma_text)
    head = f"Predicted change ‖after − before‖ = **{size_text} ± {sigma_text}**" + (f" {unit}" if unit else "")
    head += f" ({detail})" if detail else ""
    if shown_size == 0.0:
        verdict = "The edit does not change the prediction."
    elif shown_size > shown_sigma:
        verdict = "The change is larger than its uncertainty (1σ)."
    else:
        verdict = "The change is within its uncertainty (1σ): the model cannot tell it from noise."
    return f"{head}. {verdict}"
