"""Precompute the frozen SevenNet node features of every bundled structure into a feature cache.

    python -m research.encode_datasets [--encoder 7net-0] [--cache runs/features] [--threads 1]

Unflagged rows first (the ones training uses), then the flagged ones; structures already in the
cache (same :func:`research.encoder.structure_hash`) are skipped, so re-running after new rows were
added only encodes those. Writes the measured cost per crystal (seconds, atoms, edges, one pass
over the structure and its inverted copy, forces not computed) to
``benchmarks/results/encoder-cost-<encoder>.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from gmtnet.data import load_dataset
from research.encoder import ENCODERS, SevenNetEncoder, structure_hash
from gmtnet.kinds import DATASETS


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--encoder", default="7net-0", choices=sorted(ENCODERS))
    ap.add_argument("--cache", default="runs/features")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--results", default="benchmarks/results")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    t0 = time.perf_counter()
    enc = SevenNetEncoder.load(args.encoder)
    load_seconds = time.perf_counter() - t0
    cache = enc.cache(args.cache)
    todo, seen = [], set()
    for flagged in (False, True):
        for dataset in DATASETS:
            df = load_dataset(dataset)
            mask = df["flags"].map(len) > 0
            for s in df[mask == flagged]["structure"]:
                key = structure_hash(s)
                if key not in seen:
                    seen.add(key)
                    todo.append((key, s))
    timings = []
    hits = 0
    for key, s in tqdm(todo, desc=f"{args.encoder} features", mininterval=10, file=sys.stdout):
        if cache.get(key) is not None:
            hits += 1
            continue
        t = time.perf_counter()
        f = enc.features(s)
        dt = time.perf_counter() - t
        g = enc.graph(s)  # outside the timing: only to count the edges
        cache.put(key, f)
        timings.append((len(s), int(g.edge_index.shape[1]), dt))
    report = {
        "encoder": args.encoder,
        "irreps": enc.irreps_out,
        "cutoff_angstrom": enc.cutoff,
        "structures": len(todo),
        "cache_hits": hits,
        "encoded": len(timings),
        "threads": args.threads,
        "model_load_seconds": round(load_seconds, 2),
        "hardware": f"{platform.machine()} {platform.processor()}, torch {torch.__version__}",
        "command": "python -m research.encode_datasets " + " ".join(argv if argv is not None else sys.argv[1:]),
        "note": "each timing is SevenNet's neighbour list plus one pass "
        "over the structure and its inverted copy, no forces or stress; measured while other jobs shared the 2-core machine",
    }
    if timings:
        a = np.array(timings, dtype=float)
        report["seconds_per_crystal"] = {"median": float(np.median(a[:, 2])), "mean": float(a[:, 2].mean()), "max": float(a[:, 2].max())}
        report["total_seconds"] = float(a[:, 2].sum())
        bins = [(1, 5), (6, 10), (11, 20), (21, 40), (41, 1000)]
        report["by_atoms"] = [
            {"atoms": f"{lo}-{hi}", "n": int(m.sum()), "median_ms": float(np.median(a[m, 2]) * 1e3), "median_edges": float(np.median(a[m, 1]))}
            for lo, hi in bins
            if (m := (a[:, 0] >= lo) & (a[:, 0] <= hi)).any()
        ]
        slope, intercept = np.polyfit(a[:, 0], a[:, 2], 1)
        report["linear_fit_ms"] = {"per_atom": float(slope * 1e3), "intercept": float(intercept * 1e3)}
    out = Path(args.results) / f"encoder-cost-{args.encoder}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    if timings:  # a run that only hit the cache measured nothing; keep the earlier report
        out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "by_atoms"}, indent=1))


if __name__ == "__main__":
    main()
