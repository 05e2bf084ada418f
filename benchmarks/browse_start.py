"""Browse page start: shipped catalogue predictions vs predicting the catalogue once on first use.

    python benchmarks/browse_start.py [--sample 100] [--repeats 5]

Measures (a) reading the shipped ``catalog_predictions.parquet`` into the Browse table, in a fresh
process as the app's first visit does and warm; (b) what computing it in the app would cost: the
models' load time plus in-process ``gmtnet screen`` (one process, the app's situation) of a
random sample of the catalogue for every kind, extrapolated to the whole catalogue; and (c) the
build's own ``gmtnet screen`` time on 2 workers, stored in the shipped file. Writes
``benchmarks/results/browse-start.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
_COLD = ("import time; t = time.perf_counter(); from gmtnet.browse import load_catalog_predictions; "
         "df = load_catalog_predictions(); print(time.perf_counter() - t, len(df))")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sample", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    import numpy as np
    import torch

    from gmtnet.browse import load_catalog_predictions, shipped_build_facts
    from gmtnet.catalog import build_catalog, reference_structure
    from gmtnet.kinds import KINDS
    from gmtnet.screen import screen_structures

    torch.set_num_threads(1)
    load0 = os.getloadavg()[0]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    cold = [float(subprocess.run([sys.executable, "-c", _COLD], capture_output=True, text=True, env=env, check=True)
                  .stdout.split()[0]) for _ in range(args.repeats)]
    warm = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        load_catalog_predictions()
        warm.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    from gmtnet.predict import Predictor

    predictor = Predictor.load(kinds=list(KINDS), device="cpu")
    model_load = time.perf_counter() - t0
    cat = build_catalog()
    rng = np.random.default_rng(0)
    ids = rng.choice(cat["material_id"].to_numpy(), size=min(args.sample, len(cat)), replace=False)
    items = [(mid, "", reference_structure(mid)) for mid in ids]
    t0 = time.perf_counter()
    screen_structures(predictor, items, list(KINDS))
    per_crystal = (time.perf_counter() - t0) / len(items)
    facts = shipped_build_facts()
    result = {
        "command": "python benchmarks/browse_start.py " + " ".join(argv or sys.argv[1:]),
        "crystals": len(cat),
        "shipped_read_cold_process_s_median": round(statistics.median(cold), 3),
        "shipped_read_warm_s_median": round(statistics.median(warm), 3),
        "compute_model_load_s": round(model_load, 2),
        "compute_per_crystal_all_kinds_s": round(per_crystal, 4),
        "compute_sample": len(items),
        "compute_whole_catalogue_s_extrapolated": round(model_load + per_crystal * len(cat), 1),
        "build_screen_seconds_2_workers": facts.get("screen_seconds"),
        "shipped_file_bytes": os.path.getsize(str(__import__("gmtnet.browse").browse.catalog_predictions_file())),
        "torch_threads": 1,
        "load_before": round(load0, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "note": "shared machine (other jobs running): times are upper bounds",
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "browse-start.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
