"""Is this crystal likely a metal? The gate in front of ε₀, ε∞ and e.

The static dielectric tensor and the piezoelectric tensor are defined for insulators: in a metal
free carriers screen any static field (ε₀ diverges, e vanishes), and every crystal the models were
trained on is an insulator (Materials Project DFPT runs, band gap > 0). A prediction for copper is a
number without a meaning, so :class:`gmtnet.predict.Predictor` attaches :func:`metal_warning` to
it.

The rule (from the composition alone, no model; a median 0.08 ms per bundled crystal, ≤ 10 ms for a
500-atom cell):

* a **single element** is flagged when pymatgen calls it a metal (``Element.is_metal``: alkali,
  alkaline-earth, transition, post-transition metals, lanthanides, actinides; not B, C, Si, Ge,
  As, Se, Sb, Te, ...);
* a **compound** is flagged when no assignment of oxidation states balances its charge. Each atom
  takes one state of its element, atoms of one element may take different states (mixed valence,
  Fe₃O₄), and the cell's total must be 0. Which states count depends on the compound:

  - with a non-metal or metalloid (O, S, N, Cl, Sb, Te, ...): every state pymatgen knows
    (``Element.oxidation_states``: peroxides O⁻¹, Au⁺¹ halides), and 0 for the group 8-10 metals
    (the 18-electron half-Heusler semiconductors, YNiSb, NbFeSb, hold them neutral);
  - of metals only: the common and ICSD states (``common_oxidation_states`` ∪
    ``icsd_oxidation_states``), and a negative state only for an element at least
    :data:`ANION_GAP` more electronegative (Pauling) than the most electropositive element: a
    Zintl salt whose anion state pymatgen lists (Mg₂Sn, Ca₂Sn: Sn⁻⁴) can balance, an alloy of
    similar metals (Cu₃Au, Cu₃Sn, NiAl) cannot. Aurides and bismuthides (CsAu, Li₃Bi) cannot
    either (no Au⁻¹ or Bi⁻³ in those lists): they are most of the insulators wrongly flagged.

Why not ``Composition.oxi_state_guesses``: it enumerates every combination of states atom by atom
(``combinations_with_replacement`` per element) and ranks them, which is exponential in the number
of atoms (0.5 s for CuAu, far longer for a 100-atom cell); whether *some* combination balances is a
subset-sum question answered exactly by a dynamic programme over reachable charges (numpy
convolutions with binary doubling).

Measured on the bundled data by ``benchmarks/insulator_gate.py`` (``benchmarks/results/
insulator_gate.json``): the share of dielectric/piezoelectric crystals (insulators) flagged and the
share of the elastic set's elemental metals and intermetallics flagged: 1.89 % of 1,795 (target
≤ 2 %) and 95.9 % of 1,087 (target ≥ 95 %; intermetallics alone 95.6 %). The two choices above
(which states, and the gap, Pauling's 0.4 boundary between non-polar and polar bonds) were made
looking at those numbers, so they are in-sample. Known misses: metallic compounds that do balance
(TiN, ReO₃, hydrides), and stannide alloys that look like Zintl salts (Mg₂Sn and Ca₂Sn really are
semiconductors; LiSn, Ti₆Sn₅ are not).
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np
from pymatgen.core import Composition, Element

from gmtnet.kinds import SHIPPED

__all__ = ["ANION_GAP", "GATED_KINDS", "charge_balances", "is_likely_metal", "metal_reason", "metal_warning"]

#: The shipped kinds whose tensor is defined only for insulators (the gate applies to them, not
#: to C); defined for insulators only (a kind says so itself: ``insulators_only``).
GATED_KINDS = tuple(k.name for k in SHIPPED if k.insulators_only)
#: Least Pauling electronegativity difference to the most electropositive element for an element
#: of an all-metal compound to take a negative state (0.4: the usual non-polar/polar boundary).
ANION_GAP = 0.4
# Group 8-10 metals may be neutral in a compound with a non-metal (18-electron half-Heuslers).
_NEUTRAL_ALLOWED = frozenset({"Fe", "Co", "Ni", "Ru", "Rh", "Pd", "Os", "Ir", "Pt"})


@lru_cache(maxsize=None)
def _states(symbol: str, all_metal: bool, may_be_anion: bool) -> tuple[int, ...]:
    el = Element(symbol)
    if all_metal:
        states = {s for s in set(el.common_oxidation_states) | set(el.icsd_oxidation_states) if s > 0 or may_be_anion}
    else:
        states = set(el.oxidation_states) | ({0} if symbol in _NEUTRAL_ALLOWED else set())
    return tuple(sorted(int(s) for s in states)) or (0,)  # noble gases: neutral


def _achievable(states: tuple[int, ...], count: int) -> tuple[int, np.ndarray]:
    """Charges reachable by ``count`` atoms each taking one of ``states``: ``(offset, mask)`` with
    ``mask[q - offset]`` True when the total charge q is reachable."""
    lo, hi = min(states), max(states)
    offset, size = count * lo, count * (hi - lo) + 1
    base = np.zeros(hi - lo + 1, dtype=np.int64)
    base[[s - lo for s in states]] = 1
    result = np.ones(1, dtype=np.int64)
    # Binary doubling: the set for 2m atoms is the set for m atoms added to itself.
    while count:
        if count & 1:
            result = (np.convolve(result, base)[:size] > 0).astype(np.int64)
        count >>= 1
        if count:
            base = (np.convolve(base, base)[:size] > 0).astype(np.int64)
    return offset, result > 0


@lru_cache(maxsize=None)
def _electronegativity(symbol: str) -> float:
    """Pauling electronegativity, NaN where pymatgen has none (noble gases, superheavy elements:
    such an element never takes a negative state here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pymatgen warns for every element without a value
        return float(Element(symbol).X)


def charge_balances(composition: Composition) -> bool:
    """True when some assignment of oxidation states (the sets in the module docstring) to the
    atoms of ``composition`` sums to 0 (non-integer amounts are scaled to integers first)."""
    amounts = composition.get_el_amt_dict()
    counts = _integer_counts(list(amounts.values()))
    elements = [Element(e) for e in amounts]
    all_metal = all(el.is_metal for el in elements)
    chi = [_electronegativity(el.symbol) for el in elements]
    chi_min = min((x for x in chi if np.isfinite(x)), default=np.nan)
    offset, mask = 0, np.ones(1, dtype=np.int64)
    for el, x, count in zip(elements, chi, counts):
        o, m = _achievable(_states(el.symbol, all_metal, bool(x - chi_min >= ANION_GAP)), count)
        offset += o
        mask = (np.convolve(mask, m.astype(np.int64)) > 0).astype(np.int64)
    return 0 <= -offset < len(mask) and bool(mask[-offset])


def _integer_counts(amounts: list[float]) -> list[int]:
    for scale in range(1, 101):
        scaled = [a * scale for a in amounts]
        if all(abs(x - round(x)) < 1e-6 for x in scaled):
            return [int(round(x)) for x in scaled]
    raise ValueError(f"the composition amounts {amounts} are not close to a ratio of small integers")


def metal_reason(structure_or_composition) -> str | None:
    """Why the crystal is likely metallic (a plain sentence), or ``None`` when the rule does not
    flag it. Accepts a pymatgen ``Structure``, ``Composition`` or formula string."""
    comp = structure_or_composition
    if hasattr(comp, "composition"):
        comp = comp.composition
    comp = Composition(comp)
    elements = [el.symbol for el in comp.elements]
    formula = comp.reduced_formula
    if len(elements) == 1:
        if Element(elements[0]).is_metal:
            return f"{formula} is an elemental metal"
        return None
    if not charge_balances(comp):
        what = "an intermetallic" if all(Element(e).is_metal for e in elements) else "a metallic compound"
        return (f"no combination of the oxidation states of {', '.join(sorted(elements))} balances the "
                f"charge of {formula}, so it is likely {what}")
    return None


def is_likely_metal(structure_or_composition) -> bool:
    """True when :func:`metal_reason` flags the crystal."""
    return metal_reason(structure_or_composition) is not None


def metal_warning(structure_or_composition, kind_title: str) -> str | None:
    """The warning that goes with a ``kind_title`` prediction (e.g. "static dielectric tensor") for
    a likely metal, or ``None``."""
    reason = metal_reason(structure_or_composition)
    if reason is None:
        return None
    return (f"Likely a metal: {reason}. The {kind_title} is defined for insulators only (free carriers screen "
            "a static field) and the model was trained on insulators only, so this value has no physical "
            "meaning here.")
