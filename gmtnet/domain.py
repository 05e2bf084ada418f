"""Out-of-domain signals: is a structure like the crystals a model was trained on?

A model trained on ~1,000–2,000 Materials Project crystals knows nothing about an element it never
saw and little about a bond it never saw; the ensemble's spread (:mod:`gmtnet.models.ensemble`) often
misses this, because every member is equally ignorant in the same way. So each shipped model
carries a :class:`TrainingDomain` (in ``ensemble.json``), a description of its training crystals,
and :meth:`TrainingDomain.warnings` compares a new structure with it:

- elements absent from the training crystals, or present in fewer than :data:`RARE_COUNT` of them;
- nearest-neighbour element pairs (first coordination shell, see :func:`bonded_pairs`) that no
  training crystal has;
- more sites in the cell than any training crystal, or a volume per atom outside the training range;
- (in :mod:`gmtnet.predict`) an ensemble uncertainty above the 95th percentile of the validation
  crystals' uncertainties.

The pairs come from the model's own neighbour graph, so they cost nothing extra at prediction time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from pymatgen.core import Element

from gmtnet.graph import CrystalGraph

__all__ = ["RARE_COUNT", "SHELL_TOLERANCE", "TrainingDomain", "bonded_pairs"]

#: An element in fewer training crystals than this is reported as rare.
RARE_COUNT = 5
#: A neighbour is in an atom's first shell when it is at most this factor farther than its nearest.
SHELL_TOLERANCE = 1.15


def bonded_pairs(graph: CrystalGraph) -> set[tuple[int, int]]:
    """Unordered (Z₁ ≤ Z₂) element pairs in first coordination shells.

    An atom's first shell is its neighbours within :data:`SHELL_TOLERANCE` times its nearest
    neighbour distance (a size-independent notion of "bonded" that works for metals, ionic and
    covalent crystals alike; the graph's edges are sorted by centre atom, then distance).
    """
    if not len(graph.edge_src):
        return set()
    dist = np.linalg.norm(graph.edge_vec, axis=1)
    nearest = np.full(len(graph.atomic_numbers), np.inf)
    np.minimum.at(nearest, graph.edge_src, dist)
    shell = dist <= SHELL_TOLERANCE * nearest[graph.edge_src]
    z = graph.atomic_numbers
    a, b = z[graph.edge_src[shell]], z[graph.edge_dst[shell]]
    return {(int(min(x, y)), int(max(x, y))) for x, y in zip(a, b)}


@dataclass(frozen=True)
class TrainingDomain:
    """What a model's training crystals contain.

    Attributes:
        n_crystals: number of training crystals.
        element_counts: element symbol → number of training crystals containing it.
        pairs: first-shell element pairs seen in training, as ``"Si-O"`` strings (sorted by Z).
        max_sites: most sites in a training cell.
        volume_per_atom: (min, max) over training crystals, Å³ per atom.
    """

    n_crystals: int
    element_counts: dict[str, int]
    pairs: frozenset[str]
    max_sites: int
    volume_per_atom: tuple[float, float]
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_training(cls, structures: Iterable, graphs: Iterable[CrystalGraph]) -> "TrainingDomain":
        counts: Counter[str] = Counter()
        pairs: set[tuple[int, int]] = set()
        sites, vpa, n = [], [], 0
        for s, g in zip(structures, graphs, strict=True):
            n += 1
            counts.update({el.symbol for el in s.composition.elements})
            pairs |= bonded_pairs(g)
            sites.append(len(s))
            vpa.append(s.volume / len(s))
        if not n:
            raise ValueError("a training domain needs at least one crystal")
        return cls(n, dict(sorted(counts.items())), frozenset(_pair_name(p) for p in pairs), max(sites), (min(vpa), max(vpa)))

    def to_dict(self) -> dict:
        return {
            "n_crystals": self.n_crystals,
            "element_counts": self.element_counts,
            "pairs": sorted(self.pairs),
            "max_sites": self.max_sites,
            "volume_per_atom": list(self.volume_per_atom),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "TrainingDomain":
        return cls(
            int(d["n_crystals"]), {str(k): int(v) for k, v in d["element_counts"].items()},
            frozenset(str(p) for p in d["pairs"]), int(d["max_sites"]), tuple(float(v) for v in d["volume_per_atom"]),
        )

    def warnings(self, structure, graph: CrystalGraph | None = None) -> tuple[str, ...]:
        """Plain-language reasons to distrust a prediction for ``structure`` (empty when none).

        ``graph`` (the model's neighbour graph of ``structure``) enables the bonded-pair check.
        """
        out = []
        symbols = sorted({el.symbol for el in structure.composition.elements}, key=lambda s: Element(s).Z)
        unseen = [s for s in symbols if s not in self.element_counts]
        if unseen:
            out.append(f"{_join(unseen)} {'is' if len(unseen) == 1 else 'are'} in none of the "
                       f"{self.n_crystals} training crystals: the model has not learned {'it' if len(unseen) == 1 else 'them'}.")
        rare = [f"{s} ({self.element_counts[s]})" for s in symbols if 0 < self.element_counts.get(s, 0) < RARE_COUNT]
        if rare:
            out.append(f"Rare in training (number of training crystals): {_join(rare)}.")
        if graph is not None and not unseen:
            new = sorted(_pair_name(p) for p in bonded_pairs(graph) if _pair_name(p) not in self.pairs)
            if new:
                out.append(f"Bonds no training crystal has: {_join(new[:6])}{' …' if len(new) > 6 else ''}.")
        if len(structure) > self.max_sites:
            out.append(f"{len(structure)} sites in the cell, more than any training crystal ({self.max_sites}).")
        v = structure.volume / len(structure)
        lo, hi = self.volume_per_atom
        if not lo <= v <= hi:
            out.append(f"Volume per atom {v:.1f} Å³ is outside the training range {lo:.1f}–{hi:.1f} Å³.")
        return tuple(out)


def _pair_name(pair: tuple[int, int]) -> str:
    return f"{Element.from_Z(pair[0]).symbol}-{Element.from_Z(pair[1]).symbol}"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
