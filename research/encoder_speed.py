"""End-to-end speed of the SevenNet-0 + head path against the shipped from-scratch GMTNet, interleaved.

    python -m research.encoder_speed [--heads runs/heads] [--repeats 15] [--threads 1]

For a ~6-atom and a ~20-atom test crystal and each kind with trained heads: warm medians of
``HeadEnsemble.predict_structures`` (SevenNet features of the structure and its inverted copy,
spglib projector, heads, float64 projection) with one head and with the whole ensemble, and of
``Predictor.predict`` with the shipped GMTNet, run alternately in one loop so that both see the
same machine load; reports the ratios. Writes ``benchmarks/results/encoder-speed-cpu-<n>thread.json``.
Needs ``sevenn``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from gmtnet.data import load_dataset
from research.encoder import SevenNetEncoder
from research.head_training import HeadEnsemble
from gmtnet.predict import Predictor
from gmtnet.symmetry import clear_symmetry_cache


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--heads", default="runs/heads")
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--kinds", nargs="+", default=["dielectric", "elastic"])
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    encoder = SevenNetEncoder.load("7net-0")
    predictor = Predictor.load(kinds=args.kinds, device="cpu")
    out = {"machine": platform.processor() or platform.machine(), "torch_threads": args.threads, "repeats": args.repeats,
           "note": "warm medians in ms, spglib cache cleared before every call; 2-core machine shared with other jobs", "rows": []}
    for kind in args.kinds:
        ens_dir = Path(args.heads) / kind
        if not (ens_dir / "ensemble.json").is_file():
            print(f"skip {kind}: no ensemble in {ens_dir}")
            continue
        ens = HeadEnsemble.load(ens_dir)
        single = HeadEnsemble(ens.heads[:2], ens.std_scale)  # the encoder pass dominates; 2 is the minimum ensemble
        df = load_dataset(kind, include_flagged=False)
        test = df[df["split"] == "test"]
        for target in (6, 20):
            row = test.loc[(test["nsites"] - target).abs().sort_values(kind="stable").index[0]]
            s = row["structure"]
            fns = {"gmtnet_scratch": lambda: predictor.predict(s, kind),
                   "encoder_2_heads": lambda: single.predict_structures(encoder, [s]),
                   f"encoder_{len(ens.heads)}_heads": lambda: ens.predict_structures(encoder, [s])}
            times = {k: [] for k in fns}
            for f in fns.values():
                f()  # warm
            for _ in range(args.repeats):
                for name, f in fns.items():  # interleaved
                    clear_symmetry_cache()
                    t0 = time.perf_counter()
                    f()
                    times[name].append(time.perf_counter() - t0)
            med = {k: 1e3 * statistics.median(v) for k, v in times.items()}
            r = {"kind": kind, "atoms": len(s), "material_id": row["material_id"], "median_ms": med,
                 "ratio_to_gmtnet": {k: v / med["gmtnet_scratch"] for k, v in med.items() if k != "gmtnet_scratch"}}
            out["rows"].append(r)
            print(json.dumps(r))
    path = Path("benchmarks/results") / f"encoder-speed-cpu-{args.threads}thread.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path}")
    return out


if __name__ == "__main__":
    main()
