"""The two elastic recipes compared on held-out crystals that are not the test split.

    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/elastic_recipe_validation.py --committee DIR \
        [--previous DIR] [--out benchmarks/results/elastic-recipe-validation.json]

The grouped-CV comparison of the fine-tuned recipe is leaky (its starting model trained on every
held-out crystal, see GROUPED_CV.md), and the ship decision must not be taken on the test split. The
validation split is the remaining fair ground:

* shipped ensemble (``--previous``, default the shipped weights: fine-tuned copies of one network): no member and not its starting
  model trained on a validation crystal; each member's best epoch was chosen on this split, so the
  comparison leans in its favour;
* grouped-CV committee (``--committee``: ``scripts/ship_ensembles.py --kind elastic --committee`` output): each validation crystal is predicted by the member whose run held out
  that crystal's grouped fold (it saw neither the crystal nor its chemical system).

Scored like ``benchmarks/grouped_cv.py`` (EwT25, Fnorm in GPa, K_VRH and G_VRH MAE in GPa of the
admissible prediction); bootstrap intervals over crystals.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

import numpy as np
import torch


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--committee", required=True, help="directory of the grouped-CV elastic committee (ensemble.json with member_folds)")
    ap.add_argument("--previous", default=None, help="directory of the fine-tuned ensemble (default: the shipped one)")
    ap.add_argument("--out", default="benchmarks/results/elastic-recipe-validation.json")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)

    from benchmarks.grouped_cv import grade_elastic
    from gmtnet.data import label_candidates, load_dataset
    from gmtnet.kinds import get_kind
    from gmtnet.orientation import pad_candidates
    from gmtnet.predict import Predictor

    kind = get_kind("elastic")
    df = load_dataset(kind, include_flagged=False)
    val = df[df["split"] == "val"]
    structures = list(val["structure"])
    cands, mask = pad_candidates(label_candidates(val, kind), kind.shape)

    committee = Predictor.load([kind], device="cpu", model_dirs={kind.name: args.committee})
    ens = committee.models[kind.name]
    member_of = {int(f): i for i, f in enumerate(ens.meta["member_folds"])}
    preds = committee.predict_many(structures, kind)
    oof = np.stack([p.members[member_of[int(f)]] for p, f in zip(preds, val["group_fold"], strict=True)])

    previous = Predictor.load([kind], device="cpu", **({"model_dirs": {kind.name: args.previous}} if args.previous else {}))
    prev = np.stack([p.tensor for p in previous.predict_many(structures, kind)])

    doc = {
        "command": "OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/elastic_recipe_validation.py --committee "
        + args.committee + (f" --previous {args.previous}" if args.previous else ""),
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} CPUs",
        "loadavg": os.getloadavg(),
        "n_validation_crystals": len(val),
        "committee_out_of_fold": grade_elastic(oof, cands, mask),
        "previous_ensemble": grade_elastic(prev, cands, mask),
        "note": "validation split; the previous members chose their best epoch on it (in its favour)",
    }
    Path(args.out).write_text(json.dumps(doc, indent=1) + "\n")
    for name in ("committee_out_of_fold", "previous_ensemble"):
        g = doc[name]
        print(f"{name:24s} n={g['n']} EwT25 {g['ewt25']:.3f} {g['ewt25_ci95']} Fnorm {g['fnorm']:.1f} GPa "
              f"K_VRH MAE {g['k_vrh_mae']:.1f} G_VRH MAE {g['g_vrh_mae']:.1f} GPa")


if __name__ == "__main__":
    main()
