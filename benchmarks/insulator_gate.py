"""How well the metal rule (:mod:`gmtnet.insulator`) separates the bundled insulators from metals.

    python benchmarks/insulator_gate.py [--out benchmarks/results/insulator_gate.json]

Two measurements on the bundled data (every row, flagged rows included; one row per material):

* **wrongly flagged insulators**: the share of the dielectric and piezoelectric crystals (all of
  them insulators: Materials Project DFPT needs a band gap) that the rule calls likely metals
  (target ≤ 2 %);
* **metals caught**: the share of the elastic set's elemental metals and intermetallics that the
  rule flags (target ≥ 95 %). Defined independently of the rule: every element of the formula is a
  metal by pymatgen's ``Element.is_metal`` (alkali, alkaline-earth, transition, post-transition,
  lanthanide, actinide); one element = elemental metal, two or more = intermetallic. For elemental
  metals the rule uses the same test, so their 100 % holds by construction; the intermetallics are
  the real test (the rule looks at oxidation states, not at this list).

Also: the share of the rest of the elastic set flagged (its compounds with a non-metal, for
context: no band gaps ship with the elastic set, so no truth is known there), the formulas of
every wrongly flagged insulator and missed intermetallic, and the rule's cost per crystal.
Prints a summary and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
from pymatgen.core import Element

from gmtnet.data import load_dataset
from gmtnet.insulator import metal_reason

OUT = Path(__file__).resolve().parent / "results" / "insulator_gate.json"


def _all_metal(structure) -> bool:
    return all(Element(el.symbol).is_metal for el in structure.composition.elements)


def _rows(dataset: str):
    df = load_dataset(dataset)
    return list(zip(df["material_id"], df["formula"], df["structure"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()

    times: list[float] = []

    def flag(structure) -> str | None:
        t = time.perf_counter()
        reason = metal_reason(structure)
        times.append(time.perf_counter() - t)
        return reason

    insulators: dict[str, tuple[str, str | None]] = {}
    for dataset in ("dielectric", "piezoelectric"):
        for mid, formula, s in _rows(dataset):
            if mid not in insulators:
                insulators[mid] = (formula, flag(s))
    wrongly = sorted({f for f, r in insulators.values() if r is not None})
    n_wrong = sum(r is not None for _, r in insulators.values())

    elemental, intermetallic, others = [], [], []
    for mid, formula, s in _rows("elastic"):
        reason = flag(s)
        n_el = len(s.composition.elements)
        group = (elemental if n_el == 1 else intermetallic) if _all_metal(s) else others
        group.append((formula, reason is not None))
    metals = elemental + intermetallic
    missed = sorted({f for f, flagged in metals if not flagged})

    def share(rows) -> float:
        return float(np.mean([flagged for _, flagged in rows])) if rows else float("nan")

    report = {
        "rule": "gmtnet.insulator.metal_reason: elemental metal (Element.is_metal), or no charge-balancing "
                "assignment of common ∪ ICSD oxidation states (mixed valence allowed)",
        "insulators": {
            "crystals": len(insulators),
            "wrongly_flagged": n_wrong,
            "wrongly_flagged_share": n_wrong / len(insulators),
            "target_max_share": 0.02,
            "formulas": wrongly,
        },
        "elastic_metals": {
            "definition": "every element has pymatgen Element.is_metal; 1 element = elemental, >= 2 = intermetallic",
            "crystals": len(metals),
            "flagged_share": share(metals),
            "target_min_share": 0.95,
            "elemental": {"crystals": len(elemental), "flagged_share": share(elemental)},
            "intermetallic": {"crystals": len(intermetallic), "flagged_share": share(intermetallic)},
            "missed_formulas": missed,
        },
        "elastic_other": {"crystals": len(others), "flagged_share": share(others),
                          "note": "compounds with a non-metal or metalloid; no band gap ships, so no truth"},
        "cost_per_crystal_ms": {"median": 1e3 * float(np.median(times)), "max": 1e3 * float(np.max(times))},
        "machine": platform.platform(),
        "python": platform.python_version(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    ins, met = report["insulators"], report["elastic_metals"]
    print(f"insulators wrongly flagged: {ins['wrongly_flagged']}/{ins['crystals']} = {100 * ins['wrongly_flagged_share']:.2f} % "
          f"(target ≤ 2 %): {', '.join(wrongly[:30])}")
    print(f"elastic metals flagged: {100 * met['flagged_share']:.1f} % of {met['crystals']} (target ≥ 95 %); elemental "
          f"{100 * met['elemental']['flagged_share']:.1f} % of {met['elemental']['crystals']}, intermetallic "
          f"{100 * met['intermetallic']['flagged_share']:.1f} % of {met['intermetallic']['crystals']}; missed: {', '.join(missed)}")
    print(f"other elastic compounds flagged: {100 * report['elastic_other']['flagged_share']:.1f} % of {len(others)}")
    print(f"cost per crystal: median {report['cost_per_crystal_ms']['median']:.2f} ms, max {report['cost_per_crystal_ms']['max']:.2f} ms")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
