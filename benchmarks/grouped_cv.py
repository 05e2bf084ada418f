"""Grouped 5-fold cross-validation of ε∞ training recipes (chemical-system folds, ``group_fold``).

Usage (from the repository root; one fold per call so folds can run in parallel processes)::

    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python benchmarks/grouped_cv.py run --variant union --fold 0 \\
        --epochs 30 --option hidden_mul=8 ... [--loss relative]
    .venv/bin/python benchmarks/grouped_cv.py report      # aggregate every finished fold

Variants (same architecture, epochs and seed per fold; only the data / loss differ):

* ``mp``: the bundled Materials Project ε∞ rows only (the shipped recipe's data);
* ``union``: plus the DFPT rows, with a learned per-source scale (``TrainConfig.add_dfpt``);
* any variant with ``--loss relative`` is stored as ``<variant>-relative``.

Each fold trains from scratch on the non-test rows outside the grouped fold (``group_cv_fold``)
and keeps its last weights; it is then scored on the held-out fold's Materials Project rows
(the comparable, PBE-level labels) and, separately, on the held-out fold's DFPT rows (labels
divided by the median PBEsol/PBE offset). ``report`` pools the out-of-fold predictions: EwT25 with
a 95 % bootstrap interval over crystals, the mean of the five per-fold EwT25 with a t interval,
Fnorm, and the strongly anisotropic subset (largest/smallest DFT eigenvalue > 2).
Runs go to ``runs/grouped_cv/<variant>/fold-<k>/`` (not in git); results to
``benchmarks/results/grouped-cv.json`` and the table in ``GROUPED_CV.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

RUNS = REPO / "runs" / "grouped_cv"
RESULTS = REPO / "benchmarks" / "results"
KIND = "dielectric_electronic"
N_FOLDS = 5


def _eig(t):
    return np.linalg.eigvalsh(0.5 * (t + np.swapaxes(t, -1, -2)))


def run_fold(variant: str, fold: int, epochs: int, options: dict, loss: str, lr: float) -> None:
    import torch

    from gmtnet.train import REPROJECTED, _evaluate_examples, prepare_examples, train, union_frame, TrainConfig
    from gmtnet.weights import load_model

    torch.set_num_threads(1)
    name = variant + ("-relative" if loss == "relative" else "")
    out = RUNS / name / f"fold-{fold}"
    cfg = TrainConfig(kind=KIND, epochs=epochs, device="cpu", seed=fold, group_cv_fold=fold, add_dfpt=variant == "union",
                      loss=loss, lr=lr, model_options=options)
    t0 = time.perf_counter()
    summary = train(cfg, out, progress=False, command=" ".join(sys.argv))
    wall = time.perf_counter() - t0
    model = load_model(out, "cpu").eval()
    frame = union_frame(KIND)
    preds = {}
    for source, label in ((0, "mp"), (1, "dfpt")):
        ex = prepare_examples(KIND, "train", model.config.num_neighbors, folds=(fold,), progress=False,
                              frame=frame[frame["label_source"] == source], fold_column="group_fold")
        pred, _ = _evaluate_examples(model, ex, model.config.architecture in REPROJECTED)
        preds[label] = {"ids": ex.material_ids, "pred": pred, "true": ex.targets}
    np.savez_compressed(out / "oof.npz", **{f"{k}_{f}": np.asarray(v[f]) for k, v in preds.items() for f in ("ids", "pred", "true")})
    (out / "wall.json").write_text(json.dumps({
        "wall_seconds": round(wall, 1), "train_seconds": summary["train_seconds"], "epochs_run": summary["epochs_run"],
        "train_crystals": summary["train_crystals"], "source_scales": summary["source_scales"],
        "parameters": summary["parameters"], "load_average": list(os.getloadavg()), "threads": 1,
    }, indent=2) + "\n")
    print(json.dumps({"variant": name, "fold": fold, "wall_seconds": round(wall, 1), "train_crystals": summary["train_crystals"],
                      "source_scales": summary["source_scales"]}))


def test_split() -> dict:
    """Fixed test split (the Materials Project test rows, comparable with the shipped card): the
    shipped ε∞ ensemble and, per variant, the committee of its finished folds (members' mean)."""
    import tempfile

    from gmtnet.models.ensemble import save_ensemble
    from gmtnet.train import evaluate_model
    from gmtnet.weights import shipped_model_dir

    def graded(model_dir, tmp):
        path = Path(tmp) / "pred.npz"
        evaluate_model(model_dir, split="test", device="cpu", progress=False, predictions_path=path)
        with np.load(path) as z:
            pred, true = z["pred"], z["candidates"][:, 0]
        ratio = _eig(true)[:, -1] / _eig(true)[:, 0]
        return _grade(pred, true) | {"anisotropic": _grade(pred[ratio > 2], true[ratio > 2])}

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        out["shipped"] = graded(shipped_model_dir(KIND), tmp) | {"members": 5}
        for vdir in sorted(p for p in RUNS.glob("*") if p.is_dir()):
            members = sorted(d for d in vdir.glob("fold-*") if (d / "oof.npz").is_file())
            if members:
                ens = save_ensemble(members, Path(tmp) / vdir.name, {"std_scale": 1.0})
                out[vdir.name] = graded(ens, tmp) | {"members": len(members)}
    return out


def _shipped_recipe() -> str:
    """How the shipped ε∞ ensemble was made, from its ``ensemble.json`` (the table's "shipped" row
    changes meaning when a committee of these runs is shipped)."""
    from gmtnet.weights import shipped_model_dir

    meta = json.loads((shipped_model_dir(KIND) / "ensemble.json").read_text())
    if meta.get("recipe") == "committee":
        return "i.e. the union committee itself"
    return "fine-tuned copies of one network trained on all folds"


def _grade(pred, true) -> dict:
    from gmtnet.metrics import bootstrap_ci

    err = np.linalg.norm((pred - true).reshape(len(true), -1), axis=1)
    rel = err / np.linalg.norm(true.reshape(len(true), -1), axis=1)
    hit = (rel <= 0.25).astype(float)
    lo, hi = bootstrap_ci(hit)
    return {"n": int(len(true)), "ewt25": float(hit.mean()), "ewt25_ci95": [float(lo), float(hi)], "fnorm": float(err.mean())}


def report() -> dict:
    from scipy import stats

    offset = json.loads((REPO / "gmtnet/resources/data/build_report.json").read_text())[
        "dielectric_dfpt"]["functional_offset"]["mean_eigenvalue_ratio"]["median"]
    out = {"offset_pbesol_over_pbe": offset, "variants": {}}
    for vdir in sorted(p for p in RUNS.glob("*") if p.is_dir()):
        folds = sorted(vdir.glob("fold-*/oof.npz"))
        if not folds:
            continue
        entry = {"folds": [], "per_fold_ewt25": []}
        pooled = {"mp": ([], []), "dfpt": ([], [])}
        for f in folds:
            z = np.load(f)
            meta = json.loads((f.parent / "wall.json").read_text())
            for label in ("mp", "dfpt"):
                true = z[f"{label}_true"] / (offset if label == "dfpt" else 1.0)
                pooled[label][0].append(z[f"{label}_pred"])
                pooled[label][1].append(true)
            g = _grade(z["mp_pred"], z["mp_true"])
            entry["per_fold_ewt25"].append(g["ewt25"])
            entry["folds"].append({"fold": int(f.parent.name.split("-")[1]), **meta, "mp": g})
        for label in ("mp", "dfpt"):
            pred, true = np.concatenate(pooled[label][0]), np.concatenate(pooled[label][1])
            ratio = _eig(true)[:, -1] / _eig(true)[:, 0]
            entry[label] = {"all": _grade(pred, true), "anisotropic": _grade(pred[ratio > 2], true[ratio > 2])}
        per = np.array(entry["per_fold_ewt25"])
        if len(per) > 1:
            half = stats.t.ppf(0.975, len(per) - 1) * per.std(ddof=1) / np.sqrt(len(per))
            entry["fold_mean_ewt25"] = [float(per.mean()), float(per.mean() - half), float(per.mean() + half)]
        out["variants"][vdir.name] = entry
    out["test_split"] = test_split()
    out["shipped_recipe"] = _shipped_recipe()
    out["markdown"] = _markdown(out)
    (RESULTS / "grouped-cv.json").write_text(json.dumps(out, indent=2) + "\n")
    import external_dfpt

    external_dfpt.render_markdown()
    return out


def _pct(x):
    return f"{100 * x:.1f}"


def _markdown(out: dict) -> str:
    rows = []
    for name, e in out["variants"].items():
        fm = e.get("fold_mean_ewt25")
        fm_text = f"{_pct(fm[0])} [{_pct(fm[1])}, {_pct(fm[2])}]" if fm else "-"
        cells = []
        for label in ("mp", "dfpt"):
            for sub in ("all", "anisotropic"):
                g = e[label][sub]
                cells.append(f"{_pct(g['ewt25'])} [{_pct(g['ewt25_ci95'][0])}, {_pct(g['ewt25_ci95'][1])}] (n={g['n']})")
        walls = [f["wall_seconds"] for f in e["folds"]]
        per_epoch = np.median([f["train_seconds"] / max(f["epochs_run"], 1) for f in e["folds"]])
        scales = [f["source_scales"]["dfpt_pbesol"] for f in e["folds"] if f.get("source_scales")]
        scale_text = f"{np.median(scales):.3f}" if scales else "-"
        rows.append(f"| {name} | {len(e['folds'])} | {fm_text} | {' | '.join(cells)} | {e['mp']['all']['fnorm']:.3f} "
                    f"| {scale_text} | {e['folds'][0]['epochs_run']} | {per_epoch:.1f} | {np.median(walls) / 60:.1f} |")
    t = out.get("test_split", {})
    trows = "\n".join(
        f"| {name} | {v['members']} | {v['n']} | {_pct(v['ewt25'])} [{_pct(v['ewt25_ci95'][0])}, {_pct(v['ewt25_ci95'][1])}]"
        f" | {v['fnorm']:.3f} | {_pct(v['anisotropic']['ewt25'])} (n={v['anisotropic']['n']}) |"
        for name, v in t.items()
    )
    return f"""## Grouped 5-fold cross-validation (chemical-system folds)

Generated by `benchmarks/grouped_cv.py report`. Each fold trained from scratch on the non-test
rows outside the held-out grouped fold (1 CPU thread, `nice -n 19`, shared 2-core machine), last
weights kept. "MP" = the held-out fold's Materials Project rows (PBE labels, the level the model
predicts); "DFPT" = the held-out fold's DFPT rows, labels divided by {out["offset_pbesol_over_pbe"]:.3f}.
EwT25 in %, pooled over the out-of-fold crystals with a 95 % bootstrap interval; "fold mean" =
mean of the per-fold MP EwT25 with a t interval. Anisotropic = largest/smallest DFT eigenvalue > 2.
Architecture, epochs and commands: `runs/grouped_cv/<variant>/fold-k/config.json` (recorded in
`grouped-cv.json`).

| variant | folds | MP EwT25 fold mean | MP EwT25 pooled | MP anisotropic | DFPT EwT25 | DFPT anisotropic | MP Fnorm | learned DFPT scale | epochs | s/epoch | minutes per fold |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
{chr(10).join(rows)}

Fixed test split (Materials Project test rows, unchanged; the committee = the mean of the
variant's finished fold models; "shipped" = the ε∞ ensemble shipped when the report ran, {out.get("shipped_recipe", "fine-tuned copies of one network trained on all folds")}):

| model | members | n | EwT25 | Fnorm | EwT25 anisotropic |
| --- | --- | --- | --- | --- | --- |
{trows}
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--variant", choices=("mp", "union"), required=True)
    r.add_argument("--fold", type=int, required=True)
    r.add_argument("--epochs", type=int, default=30)
    r.add_argument("--lr", type=float, default=2e-3)
    r.add_argument("--loss", choices=("fnorm", "relative"), default="fnorm")
    r.add_argument("--option", action="append", default=[], metavar="NAME=VALUE")
    sub.add_parser("report")
    sub.add_parser("markdown", help="re-render GROUPED_CV.md from grouped-cv.json without re-grading")
    args = parser.parse_args(argv)
    if args.cmd == "run":
        options = {k: json.loads(v) for k, v in (o.split("=", 1) for o in args.option)}
        run_fold(args.variant, args.fold, args.epochs, options, args.loss, args.lr)
    elif args.cmd == "markdown":
        out = json.loads((RESULTS / "grouped-cv.json").read_text())
        out["markdown"] = _markdown(out)
        (RESULTS / "grouped-cv.json").write_text(json.dumps(out, indent=2) + "\n")
        import external_dfpt

        external_dfpt.render_markdown()
        print(out["markdown"])
    else:
        print(report()["markdown"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
