"""Prediction speed of the shipped models: prints medians and writes JSON.

    python benchmarks/speed.py [--device auto] [--repeats 30] [--out benchmarks/results/speed-<device>.json]

Measures, on bundled test-split crystals, warm and end to end (symmetry analysis + graph + forward
of every member + float64 projection + admissibility + mean/σ + domain warnings), the shipped
ensemble (``Predictor.load()``, with uncertainty) and its fast single network
(``Predictor.load(members=1)``, for screening) interleaved, call by call, with their ratio:
* ``predict`` for one crystal near the dataset's median size (6 atoms) and for the largest
  bundled crystals up to 20 and up to 40 atoms, per kind;
* the parts of one prediction (spglib + projector, graph, one network's forward) for the 6-atom crystal;
* ``predict_many`` throughput (crystals/s) on the whole dielectric test split.
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

from gmtnet.data import load_dataset
from gmtnet.graph import build_graph, collate
from gmtnet.kinds import KINDS
from gmtnet.predict import Predictor
from gmtnet.symmetry import clear_symmetry_cache, symmetry_constraints


def _interleaved_ms(fns: dict, repeats: int) -> dict:
    """Median ms of each function, timed in turn within every repeat (shared-machine noise hits
    all of them alike)."""
    for fn in fns.values():
        fn()  # warm
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            clear_symmetry_cache()
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: 1e3 * statistics.median(t) for name, t in times.items()}


def _median_ms(fn, repeats: int) -> float:
    fn()  # warm
    times = []
    for _ in range(repeats):
        clear_symmetry_cache()  # time the spglib analysis too, as for a new crystal
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def _pick(df, nsites: int):
    """The test crystal whose size is closest to ``nsites`` (largest first among ties)."""
    i = (df["nsites"] - nsites).abs().sort_values(kind="stable").index[0]
    return df.loc[i]


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (this machine has 2 cores)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    predictor = Predictor.load(device=args.device)
    fast = Predictor.load(device=args.device, members=1)
    results: dict = {"device": str(predictor.device), "machine": platform.processor() or platform.machine(),
                     "torch_threads": torch.get_num_threads(), "repeats": args.repeats, "single": {}, "parts_ms": {},
                     # The machine may be shared: with the load average the times read as upper bounds.
                     "load_before": round(os.getloadavg()[0], 2)}
    if predictor.device.type == "cuda":
        results["gpu"] = torch.cuda.get_device_name(predictor.device)
    for kind in KINDS:
        df = load_dataset(kind)
        df = df[df["split"] == "test"]
        members = len(predictor.models[kind])
        for label, n in (("median_6_atoms", 6), ("up_to_20_atoms", 20), ("up_to_40_atoms", 40)):
            sub = df[df["nsites"] <= n] if label.startswith("up_to") else df
            row = _pick(sub, n)
            s = row["structure"]
            ms = _interleaved_ms({"ensemble": lambda: predictor.predict(s, kind), "fast": lambda: fast.predict(s, kind)},
                                 args.repeats)
            results["single"].setdefault(kind, {})[label] = {
                "material_id": row["material_id"], "nsites": int(row["nsites"]), "members": members,
                "ensemble_ms": round(ms["ensemble"], 2), "fast_ms": round(ms["fast"], 2),
                "ratio": round(ms["ensemble"] / ms["fast"], 2)}
            print(f"predict {kind:22s} {row['material_id']:>11s} ({int(row['nsites']):2d} atoms): ensemble of {members} "
                  f"{ms['ensemble']:7.2f} ms, one network {ms['fast']:7.2f} ms ({ms['ensemble'] / ms['fast']:.2f}x)")

    # Where the time of one 6-atom dielectric prediction goes.
    df = load_dataset("dielectric")
    row = _pick(df[df["split"] == "test"], 6)
    s = row["structure"]
    model = predictor.models["dielectric"].members[0]
    c = symmetry_constraints(s, "dielectric")
    g = build_graph(s, num_neighbors=model.config.num_neighbors)

    def forward():
        with torch.inference_mode():
            model(collate([g], c.projector[None]).to(predictor.device)).cpu()

    parts = {"symmetry_ms": lambda: symmetry_constraints(s, "dielectric"),
             "graph_ms": lambda: build_graph(s, num_neighbors=model.config.num_neighbors),
             "forward_ms": forward}
    for name, fn in parts.items():
        results["parts_ms"][name] = round(_median_ms(fn, args.repeats), 2)
    print("parts of one 6-atom prediction (ms):", results["parts_ms"])

    # Throughput on the whole dielectric test split (all rows, flagged ones included).
    test = df[df["split"] == "test"]["structure"].tolist()
    rates: dict = {"ensemble": [], "fast": []}
    for p in (predictor, fast):
        p.predict_many(test[:64], "dielectric")
    for _ in range(3):
        for name, p in (("ensemble", predictor), ("fast", fast)):
            clear_symmetry_cache()
            t0 = time.perf_counter()
            out = p.predict_many(test, "dielectric")
            rates[name].append(len(test) / (time.perf_counter() - t0))
    results["predict_many_dielectric"] = {"crystals": len(test), "median_nsites": float(np.median([len(x) for x in test])),
                                          "ensemble_crystals_per_s": round(statistics.median(rates["ensemble"]), 1),
                                          "fast_crystals_per_s": round(statistics.median(rates["fast"]), 1),
                                          "failures": sum(not hasattr(r, "tensor") for r in out)}
    print(f"predict_many dielectric over {len(test)} crystals: ensemble {results['predict_many_dielectric']['ensemble_crystals_per_s']}"
          f" crystals/s, one network {results['predict_many_dielectric']['fast_crystals_per_s']} crystals/s")
    results["load_after"] = round(os.getloadavg()[0], 2)
    out_path = Path(args.out or f"benchmarks/results/speed-{predictor.device.type}.json")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(results, indent=2) + "\n")
    print("wrote", out_path)
    return results


if __name__ == "__main__":
    main()
