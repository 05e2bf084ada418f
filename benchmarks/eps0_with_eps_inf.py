"""Does a new ε∞ ensemble change the shipped ε₀ predictions for the worse?

ε₀ is made admissible against ε∞ (ε₀ ⪰ ε∞, :mod:`gmtnet.admissible`), so replacing the ε∞
ensemble moves some ε₀ predictions. This grades the shipped ε₀ ensemble on its fixed test split
twice, through the same :class:`gmtnet.predict.Predictor` path and scoring as
``scripts/ship_ensembles.py`` (closest label candidate, 95 % bootstrap intervals over crystals),
once with each ε∞ ensemble, and counts the crystals whose ε₀ changed::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/eps0_with_eps_inf.py \\
        --before runs/previous/dielectric_electronic [--after gmtnet/resources/weights/dielectric_electronic]

Writes ``benchmarks/results/eps0-with-eps-inf.json`` and prints a Markdown table. ε dimensionless,
structure frames.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

RESULTS = REPO / "benchmarks" / "results"


def grade(electronic: Path) -> dict:
    from ship_ensembles import predict_split, scored

    from gmtnet.data import load_dataset
    from gmtnet.models.ensemble import calibration, load_ensemble
    from gmtnet.predict import Predictor
    from gmtnet.weights import shipped_model_dir

    models = {"dielectric": load_ensemble(shipped_model_dir("dielectric"), "cpu"),
              "dielectric_electronic": load_ensemble(electronic, "cpu")}
    df = load_dataset("dielectric", include_flagged=False)
    test_df = df[df.split == "test"]
    t0 = time.perf_counter()
    out = predict_split(Predictor(models, torch.device("cpu")), "dielectric", test_df)
    seconds = time.perf_counter() - t0
    m = scored("dielectric", test_df, out)["overall"]
    cal = calibration(out["mean"], out["std"], out["true"], "dielectric", models["dielectric"].std_scale)
    where = Path(electronic).resolve()
    name = str(where.relative_to(REPO)) if where.is_relative_to(REPO) else str(electronic)
    return {"electronic": name, "n": m["n"], "ewt25": m["ewt25"], "ewt25_ci95": list(m["ewt25_ci95"]),
            "fnorm": m["fnorm"], "fnorm_ci95": list(m["fnorm_ci95"]), "within_1sigma": cal["within_1sigma"],
            "spearman": cal["spearman"], "predict_seconds": round(seconds, 1), "_mean": out["mean"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", required=True, help="the ε∞ ensemble directory shipped before")
    ap.add_argument("--after", default=None, help="the new ε∞ ensemble directory (default: the shipped one)")
    args = ap.parse_args(argv)
    from gmtnet.weights import shipped_model_dir

    torch.set_num_threads(1)
    before = grade(Path(args.before))
    after = grade(Path(args.after) if args.after else shipped_model_dir("dielectric_electronic"))
    diff = np.abs(after.pop("_mean") - before.pop("_mean")).reshape(before["n"], -1).max(axis=1)
    doc = {"before": before, "after": after, "crystals_changed": int((diff > 1e-9).sum()),
           "largest_change": float(diff.max()), "threads": torch.get_num_threads(),
           "load_average": list(os.getloadavg())}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "eps0-with-eps-inf.json").write_text(json.dumps(doc, indent=2) + "\n")
    print("| ε∞ paired with the shipped ε₀ | n | ε₀ EwT25 | ε₀ Fnorm | ±1σ coverage | Spearman |\n|---|---|---|---|---|---|")
    for name, g in (("before", before), ("after", after)):
        print(f"| {name}: `{g['electronic']}` | {g['n']} | {100 * g['ewt25']:.1f} % [{100 * g['ewt25_ci95'][0]:.1f}, "
              f"{100 * g['ewt25_ci95'][1]:.1f}] | {g['fnorm']:.3f} [{g['fnorm_ci95'][0]:.3f}, {g['fnorm_ci95'][1]:.3f}] "
              f"| {100 * g['within_1sigma']:.1f} % | {g['spearman']:.2f} |")
    print(f"\nε₀ changed on {doc['crystals_changed']} of {before['n']} test crystals (largest component change "
          f"{doc['largest_change']:.3g}); load average {', '.join(f'{x:.2f}' for x in doc['load_average'])}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
