"""How often the network's symmetric output is physically admissible, before and after clipping.

    python benchmarks/admissibility.py [--split all|train|val|test] [--out benchmarks/results/admissibility.json]

For every usable bundled crystal and every kind with a constraint (ε₀, ε∞: eigenvalues ≥ 1 and
ε₀ ⪰ ε∞; C: Mandel matrix positive definite), with the shipped weights on the CPU:

* ``raw``: share of the predictions whose every ensemble member's projected output was already
  admissible (the prediction's ``admissible_shift`` is 0; for ε₀ this includes ε₀ ⪰ ε∞);
* ``final``: share of the returned predictions that are admissible (the goal is 100 %), and that
  still pass the exact zero and equality checks of Neumann's principle;
* the size of the change where one was made (median and max Frobenius norm, kind's units), and
  the DFT labels' own smallest eigenvalues (the elastic floor is chosen below them).

Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from gmtnet.admissible import is_admissible, min_eigenvalue
from gmtnet.data import load_dataset
from gmtnet.kinds import get_kind
from gmtnet.predict import PredictionError, Predictor

KINDS_CHECKED = ("dielectric", "dielectric_electronic", "elastic")


def measure(predictor: Predictor, kind: str, split: str) -> dict:
    k = get_kind(kind)
    df = load_dataset(kind, include_flagged=False)
    if split != "all":
        df = df[df["split"] == split]
    labels = np.stack(df[k.column].to_numpy())
    preds = predictor.predict_many(list(df["structure"]), kind)
    ok = [p for p in preds if not isinstance(p, PredictionError)]
    shifts = np.array([p.admissible_shift for p in ok])
    tensors = np.stack([p.tensor for p in ok])
    changed = shifts > 0
    out = {
        "crystals": len(df),
        "predicted": len(ok),
        "raw_admissible_share": float(np.mean(~changed)),
        "final_admissible_share": float(np.mean(is_admissible(tensors, k))),
        "final_neumann_share": float(np.mean([p.symmetry.zero_ok and p.symmetry.equality_ok for p in ok])),
        "changed": int(changed.sum()),
        "shift_median_changed": float(np.median(shifts[changed])) if changed.any() else 0.0,
        "shift_max": float(shifts.max(initial=0.0)),
        "unit": k.unit_label,
        "dft_admissible_share": float(np.mean(is_admissible(labels, k))),
        "dft_min_eigenvalue_percentiles": dict(
            zip(("min", "p1", "p5", "median"), np.percentile(min_eigenvalue(labels, k), [0, 1, 5, 50]).round(4).tolist())
        ),
    }
    if kind == "dielectric":
        eps_inf = np.stack(
            [p.tensor for p in predictor.predict_many(list(df["structure"]), "dielectric_electronic")
             if not isinstance(p, PredictionError)]
        )
        out["final_static_above_electronic_share"] = float(np.mean(np.linalg.eigvalsh(tensors - eps_inf)[:, 0] >= -1e-9))
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="all", choices=("all", "train", "val", "test"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="benchmarks/results/admissibility.json")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    predictor = Predictor.load(device="cpu")
    t0 = time.perf_counter()
    results = {"split": args.split, "usable_rows_only": True, "machine": platform.machine(),
               "torch_threads": torch.get_num_threads(), "kinds": {}}
    for kind in KINDS_CHECKED:
        r = results["kinds"][kind] = measure(predictor, kind, args.split)
        print(f"{kind:24s} n={r['predicted']:5d}  raw admissible {100 * r['raw_admissible_share']:6.2f} %  "
              f"final {100 * r['final_admissible_share']:6.2f} %  Neumann {100 * r['final_neumann_share']:6.2f} %  "
              f"changed {r['changed']:4d} (median shift {r['shift_median_changed']:.3g} {r['unit']})")
    results["wall_s"] = round(time.perf_counter() - t0, 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out} ({results['wall_s']} s)")
    return results


if __name__ == "__main__":
    main()
