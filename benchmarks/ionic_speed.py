"""What the physics route (SevenNet-0 + Born charges → e_ion, ε_ion) costs for 5-, 20- and 40-atom crystals.

    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/ionic_speed.py [--repeats 3] [--out benchmarks/results/ionic-speed.json]

Crystals: for each size, a bundled crystal (piezoelectric, dielectric or elastic set) of exactly
that many sites with Born charges available (DFT or formal) and the most symmetry orbits among
those — a real, low-symmetry crystal (the cost grows with the number of
atom orbits: 6 potential calls per orbit for the force constants, 12 for the strain coupling). Each
repeat times, back to back on the same crystal so that shared-machine noise hits both sides:

* ``ionic``: :func:`gmtnet.ionic.ionic_response` as a user calls it (default settings: positions
  relaxed at fixed cell only when the residual force exceeds ``RELAX_FORCE``), potential loaded once;
* ``network``: the default prediction path, ``Predictor.predict`` for the piezoelectric kind (the
  shipped ensemble, symmetry cache cleared), to show the scale of the two routes side by side.

Prints medians and their ratio; writes JSON with the load average beside every crystal.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

SIZES = (5, 20, 40)


def pick_crystals(sizes=SIZES):
    """One bundled crystal per size with Born charges: the one with the most symmetry orbits."""
    import pandas as pd

    from gmtnet.data import load_dataset
    from gmtnet.ionic import born_charges, n_evaluations

    rows = pd.concat([load_dataset(k, include_flagged=False)[["material_id", "formula", "nsites", "structure"]]
                      for k in ("piezoelectric", "dielectric", "elastic")]).drop_duplicates("material_id")
    picked = {}
    for n in sizes:
        ranked = sorted(rows[rows["nsites"] == n].itertuples(), key=lambda r: (-n_evaluations(r.structure), r.material_id))
        for r in ranked:
            try:
                born_charges(r.structure, r.material_id)
            except ValueError:  # no DFT match and no formal oxidation states (a metal)
                continue
            picked[n] = (r.material_id, r.formula, r.structure)
            break
        else:
            raise SystemExit(f"no bundled crystal with {n} sites and Born charges")
    return picked


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default="benchmarks/results/ionic-speed.json")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)

    from gmtnet.ionic import ionic_response, load_potential, n_evaluations
    from gmtnet.predict import Predictor
    from gmtnet.symmetry import clear_symmetry_cache

    calc = load_potential()
    predictor = Predictor.load(["piezoelectric"], device="cpu")
    picked = pick_crystals()
    for _, _, structure in picked.values():  # warm-up: the ensemble's trace on first use is not the steady cost
        predictor.predict(structure, kind="piezoelectric")
    results = []
    for n, (mid, formula, structure) in picked.items():
        ionic_t, net_t, calls, relaxed = [], [], [], []
        load = []
        for _ in range(args.repeats):
            load.append(os.getloadavg()[0])
            t0 = time.perf_counter()
            res = ionic_response(structure, calc=calc, material_id=mid)
            ionic_t.append(time.perf_counter() - t0)
            calls.append(res.n_calls)
            relaxed.append(res.relaxed)
            clear_symmetry_cache()
            t0 = time.perf_counter()
            predictor.predict(structure, kind="piezoelectric")
            net_t.append(time.perf_counter() - t0)
        row = {
            "nsites": n,
            "material_id": mid,
            "formula": formula,
            "born_source": res.born_source,
            "potential_calls": int(np.median(calls)),
            "calls_without_relaxation": n_evaluations(structure),
            "relaxed": bool(relaxed[0]),
            "ionic_s": ionic_t,
            "network_s": net_t,
            "ionic_median_s": statistics.median(ionic_t),
            "network_median_s": statistics.median(net_t),
            "ratio_ionic_over_network": statistics.median(ionic_t) / statistics.median(net_t),
            "loadavg_1min": load,
        }
        results.append(row)
        print(f"{n:3d} atoms {formula:>14s} ({mid}): ionic {row['ionic_median_s']:.2f} s "
              f"({row['potential_calls']} potential calls, relaxed={row['relaxed']}), network "
              f"{1e3 * row['network_median_s']:.1f} ms, ratio {row['ratio_ionic_over_network']:.0f}×, load {np.median(load):.1f}")
    doc = {
        "command": "OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/ionic_speed.py " + " ".join(argv or []),
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} CPUs",
        "torch_threads": torch.get_num_threads(),
        "repeats": args.repeats,
        "crystals": results,
    }
    Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
