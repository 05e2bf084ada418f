"""Frozen SevenNet encoder + GMTNet tensor head vs the shipped from-scratch GMTNet, with a deep ensemble.

    python -m research.encoder_heads train  --kinds dielectric_electronic --members 5 [--epochs 60]
    python -m research.encoder_heads report

``train`` (per kind): loads the cached node features (``research/encode_datasets.py`` first), trains
``--members`` heads with seeds 0, 1, … on the fixed split's train rows, each keeping its best EMA
weights on the validation rows, and evaluates on the test rows (unflagged, the rows of
``benchmarks/results/accuracy.json``):

* ``single``: member 0 alone, and the mean ± std of every member's own metrics;
* ``ensemble``: the members' mean; its per-component std calibrated on the validation rows (one
  factor, :func:`gmtnet.models.ensemble.fit_std_scale`) and measured on the test rows (share of
  components within ±1σ, reliability curve, Spearman of uncertainty vs error per crystal).

It writes ``runs/heads/<kind>/`` (members, ``result.json``). ``report`` gathers every kind's
``result.json`` with the shipped GMTNet rows of ``accuracy.json`` into
``benchmarks/results/encoder-heads.json`` and ``ENCODER_HEADS.md``.
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

KINDS = ("dielectric", "dielectric_electronic", "piezoelectric", "elastic")
RESULTS = Path("benchmarks/results")


def _metrics_row(m: dict) -> dict:
    o = m["overall"]
    return {k: o[k] for k in ("n", "fnorm", "ewt25", "ewt10", "ewt5", "zero_success", "equality_success", "mean_label_norm")}


def train_kind(kind: str, args) -> dict:
    from research.encoder import FeatureCache
    from gmtnet.models.ensemble import calibration, ensemble_statistics, fit_std_scale
    from research.head_training import HeadEnsemble, HeadTrainConfig, evaluate_predictions, fit_head, predict_head, prepare_head_examples, save_head

    irreps = json.loads(Path(args.encoder_cost).read_text())["irreps"]
    cache = FeatureCache(args.cache, args.encoder, irreps)
    t0 = time.perf_counter()
    ex = prepare_head_examples(kind, cache, progress=False)
    prep = time.perf_counter() - t0
    tr, va, te = ex.indices("train"), ex.indices("val"), ex.indices("test")
    out = Path(args.runs) / kind
    heads, summaries, val_preds, test_preds, member_metrics = [], [], [], [], []
    for seed in range(args.members):
        cfg = HeadTrainConfig(epochs=args.epochs, lr=args.lr, seed=seed, time_limit=args.time_limit, batch_size=args.batch_size,
                              scalars=args.scalars, hidden_mul=args.hidden_mul, product_mul=args.product_mul)
        head, summary = fit_head(ex, tr, va, cfg, progress=False)
        save_head(head, out / f"member-{seed}", {"summary": {k: v for k, v in summary.items() if k != "log"}, "command": " ".join(sys.argv)})
        heads.append(head)
        summaries.append(summary)
        val_preds.append(predict_head(head, ex, va))
        test_preds.append(predict_head(head, ex, te))
        member_metrics.append(_metrics_row(evaluate_predictions(test_preds[-1], ex, te)))
        print(f"{kind} seed {seed}: best epoch {summary['best_epoch']}/{summary['epochs_run']}, val Fnorm {summary['best_val_fnorm']:.4g}, "
              f"test Fnorm {member_metrics[-1]['fnorm']:.4g} EwT25 {100 * member_metrics[-1]['ewt25']:.1f} %, {summary['seconds']:.0f} s", flush=True)
    result = {"kind": kind, "encoder": args.encoder, "members": args.members, "feature_prep_seconds": round(prep, 1),
              "train_crystals": len(tr), "val_crystals": len(va), "test_crystals": len(te),
              "single": member_metrics[0],
              "members_mean": {k: float(np.mean([m[k] for m in member_metrics])) for k in ("fnorm", "ewt25", "ewt10", "ewt5")},
              "members_std": {k: float(np.std([m[k] for m in member_metrics], ddof=1)) if len(member_metrics) > 1 else 0.0
                              for k in ("fnorm", "ewt25", "ewt10", "ewt5")},
              "member_summaries": [{k: v for k, v in s.items() if k != "log"} for s in summaries],
              "parameters": summaries[0]["parameters"],
              "train_seconds_per_member": float(np.mean([s["seconds"] for s in summaries]))}
    if args.members >= 2:
        val_stats = ensemble_statistics(np.stack(val_preds), kind)
        test_stats = ensemble_statistics(np.stack(test_preds), kind)
        scale = fit_std_scale(val_stats.mean, val_stats.std, ex.targets[va], kind)
        result["ensemble"] = _metrics_row(evaluate_predictions(test_stats.mean, ex, te))
        result["calibration_test_raw"] = calibration(test_stats.mean, test_stats.std, ex.targets[te], kind)
        result["calibration_test"] = calibration(test_stats.mean, test_stats.std, ex.targets[te], kind, std_scale=scale)
        result["calibration_val_raw"] = calibration(val_stats.mean, val_stats.std, ex.targets[va], kind)
        HeadEnsemble(heads, std_scale=scale).save(out, {"encoder": args.encoder})
        print(f"{kind} ensemble: test Fnorm {result['ensemble']['fnorm']:.4g} EwT25 {100 * result['ensemble']['ewt25']:.1f} %; "
              f"±1σ share {100 * result['calibration_test']['within_1sigma']:.1f} % (scale {scale:.3g}), "
              f"Spearman {result['calibration_test']['spearman']:.3f}", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def _shipped() -> dict:
    acc = json.loads((RESULTS / "accuracy.json").read_text())
    rows = {(r["kind"], r["model"]): r for r in acc["results"]}
    return {"models": rows, "zero": acc["all_zero_predictor"]}


def report(args) -> None:
    shipped = _shipped()
    results = {}
    for kind in KINDS:
        f = Path(args.runs) / kind / "result.json"
        if f.is_file():
            results[kind] = json.loads(f.read_text())
    also = {}
    for spec in args.also:
        label, _, directory = spec.partition("=")
        for kind in KINDS:
            f = Path(directory) / kind / "result.json"
            if f.is_file():
                r = json.loads(f.read_text())
                also.setdefault(kind, []).append({"label": label, "single": r["single"], "members": r["members"],
                                                  "members_mean": r["members_mean"], "members_std": r["members_std"],
                                                  "ensemble": r.get("ensemble"), "calibration_test": r.get("calibration_test"),
                                                  "val_fnorm": [m["best_val_fnorm"] for m in r["member_summaries"]]})
    cost_file = Path(args.encoder_cost)
    cost = json.loads(cost_file.read_text()) if cost_file.is_file() else {}
    doc = {
        "hardware": f"{platform.machine()} {platform.processor()}, torch {torch.__version__}, 1 thread, 2-core machine shared with other jobs",
        "commands": args.commands,
        "encoder_cost": {k: v for k, v in cost.items() if k != "note"},
        "results": results,
        "other_settings": also,
        "shipped_gmtnet_and_baselines": {f"{k}/{m}": {key: r[key] for key in ("fnorm", "ewt25", "ewt10", "ewt5", "n")}
                                         for (k, m), r in shipped["models"].items()},
        "all_zero_predictor": shipped["zero"],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "encoder-heads.json").write_text(json.dumps(doc, indent=2) + "\n")
    (RESULTS / "ENCODER_HEADS.md").write_text(markdown(doc))
    print(f"wrote {RESULTS / 'encoder-heads.json'} and {RESULTS / 'ENCODER_HEADS.md'}")


def _fmt(x, unit=""):
    return f"{x:.4g}{(' ' + unit) if unit else ''}"


def markdown(doc: dict) -> str:
    from gmtnet.kinds import get_kind
    from gmtnet.models.config import ARCHITECTURES

    lines = ["# Frozen SevenNet-0 features + GMTNet tensor head (fixed test split, unflagged rows)", "",
             "Same test rows as `ACCURACY.md`. Fnorm in the kind's unit (ε 3x3, e 3x6 Voigt, C 6x6 Voigt), EwT = share of "
             "crystals with relative Frobenius error under 25/10/5 %. *head (seed 0)*: one head; *heads mean ± sd*: "
             "the metric of each member on its own, averaged over the seeds; *ensemble*: the members' mean tensor. "
             "Every prediction is re-projected with the exact Neumann projector (zero / equality checks of the paper).", "",
             "| target | model | Fnorm | EwT25 | EwT10 | EwT5 | zero / equality |", "|---|---|---|---|---|---|---|"]
    for kind, r in doc["results"].items():
        unit = get_kind(kind).unit
        for model in ARCHITECTURES:
            s = doc["shipped_gmtnet_and_baselines"].get(f"{kind}/{model}")
            if s:
                name = "GMTNet from scratch (shipped)" if model == "gmtnet" else f"{model} baseline (shipped)"
                lines.append(f"| {kind} | {name} | {_fmt(s['fnorm'], unit)} | {100 * s['ewt25']:.1f} % | {100 * s['ewt10']:.1f} % | {100 * s['ewt5']:.1f} % | |")
        z = doc["all_zero_predictor"].get(kind)
        if z:
            lines.append(f"| {kind} | all zeros | {_fmt(z['fnorm'], unit)} | {100 * z['ewt25']:.1f} % | | | |")
        s = r["single"]
        lines.append(f"| {kind} | SevenNet-0 + head (seed 0) | {_fmt(s['fnorm'], unit)} | {100 * s['ewt25']:.1f} % | {100 * s['ewt10']:.1f} % | "
                     f"{100 * s['ewt5']:.1f} % | {100 * s['zero_success']:.0f} % / {100 * s['equality_success']:.0f} % |")
        m, sd = r["members_mean"], r["members_std"]
        lines.append(f"| {kind} | SevenNet-0 + head, {r['members']} seeds mean ± sd | {m['fnorm']:.4g} ± {sd['fnorm']:.2g} | "
                     f"{100 * m['ewt25']:.1f} ± {100 * sd['ewt25']:.1f} % | {100 * m['ewt10']:.1f} ± {100 * sd['ewt10']:.1f} % | "
                     f"{100 * m['ewt5']:.1f} ± {100 * sd['ewt5']:.1f} % | |")
        if "ensemble" in r:
            e = r["ensemble"]
            lines.append(f"| {kind} | SevenNet-0 + head, ensemble of {r['members']} | {_fmt(e['fnorm'], unit)} | {100 * e['ewt25']:.1f} % | "
                         f"{100 * e['ewt10']:.1f} % | {100 * e['ewt5']:.1f} % | {100 * e['zero_success']:.0f} % / {100 * e['equality_success']:.0f} % |")
    lines += ["", "## Uncertainty of the ensemble (test rows)", "",
              "±1σ share: reference components (paper form, σ > 0) within ±1σ of the ensemble mean; target 60–76 %. "
              "Raw: the members' spread as it is; calibrated: times one factor fitted on the validation rows so that 68.3 % of "
              "their components fall within ±1σ. Spearman: rank correlation of the scalar uncertainty (Frobenius norm of σ, "
              "kind's unit) with the actual Frobenius error per crystal; target ≥ 0.4.", "",
              "| target | members | ±1σ share raw | scale (val) | ±1σ share calibrated | Spearman (p) | mean uncertainty | mean error |",
              "|---|---|---|---|---|---|---|---|"]
    for kind, r in doc["results"].items():
        if "calibration_test" not in r:
            continue
        raw, cal = r["calibration_test_raw"], r["calibration_test"]
        unit = get_kind(kind).unit
        lines.append(f"| {kind} | {r['members']} | {100 * raw['within_1sigma']:.1f} % | {cal['std_scale']:.3g} | {100 * cal['within_1sigma']:.1f} % | "
                     f"{cal['spearman']:.3f} ({cal['spearman_p']:.1g}) | {_fmt(cal['mean_uncertainty'], unit)} | {_fmt(cal['mean_error'], unit)} |")
    lines += ["", "Reliability (calibrated, test rows): observed share of components within the Gaussian interval of each nominal level.", "",
              "| target | " + " | ".join(f"{p['nominal']:.2f}" for p in next(iter(doc["results"].values()))["calibration_test"]["reliability"]) + " |"
              if any("calibration_test" in r for r in doc["results"].values()) else ""]
    if any("calibration_test" in r for r in doc["results"].values()):
        n = len(next(r for r in doc["results"].values() if "calibration_test" in r)["calibration_test"]["reliability"])
        lines.append("|---|" + "---|" * n)
        for kind, r in doc["results"].items():
            if "calibration_test" in r:
                lines.append(f"| {kind} | " + " | ".join(f"{p['observed']:.2f}" for p in r["calibration_test"]["reliability"]) + " |")
    if doc.get("other_settings"):
        lines += ["", "## Other settings (same split)", "",
                  "| target | setting | members | val Fnorm per member | test Fnorm heads mean | test EwT25 heads mean | ensemble Fnorm / EwT25 | ±1σ share (cal.) / Spearman |",
                  "|---|---|---|---|---|---|---|---|"]
        for kind, rows in doc["other_settings"].items():
            for r in rows:
                e, c = r.get("ensemble"), r.get("calibration_test")
                lines.append(f"| {kind} | {r['label']} | {r['members']} | {', '.join(f'{v:.3g}' for v in r['val_fnorm'])} | "
                             f"{r['members_mean']['fnorm']:.4g} | {100 * r['members_mean']['ewt25']:.1f} % | "
                             + (f"{e['fnorm']:.4g} / {100 * e['ewt25']:.1f} % | " if e else "| ")
                             + (f"{100 * c['within_1sigma']:.1f} % / {c['spearman']:.3f} |" if c else "|"))
    c = doc.get("encoder_cost") or {}
    if c:
        lines += ["", "## Encoder cost", "",
                  f"SevenNet `{c.get('encoder')}` node features (irreps `{c.get('irreps')}`; cutoff {c.get('cutoff_angstrom')} Å), "
                  f"one pass over a structure and its inverted copy, no forces/stress, {c.get('threads')} thread: median "
                  f"{1e3 * c['seconds_per_crystal']['median']:.0f} ms per crystal over {c.get('encoded')} structures "
                  f"(linear fit {c['linear_fit_ms']['per_atom']:.1f} ms per atom + {c['linear_fit_ms']['intercept']:.0f} ms); model load "
                  f"{c.get('model_load_seconds')} s; total {c.get('total_seconds', 0) / 60:.1f} min.", "",
                  "| atoms | crystals | median ms | median edges (of one copy; the pass runs on twice as many) |", "|---|---|---|---|"]
        lines += [f"| {b['atoms']} | {b['n']} | {b['median_ms']:.0f} | {b['median_edges']:.0f} |" for b in c.get("by_atoms", [])]
    lines += ["", "## Training", ""]
    for kind, r in doc["results"].items():
        lines.append(f"- {kind}: {r['train_crystals']} train / {r['val_crystals']} val / {r['test_crystals']} test crystals, "
                     f"{r['parameters']:,} parameters per head, {r['train_seconds_per_member']:.0f} s per member (CPU, 1 thread), best epochs "
                     + ", ".join(str(s["best_epoch"]) for s in r["member_summaries"]) + f" of {r['member_summaries'][0]['epochs_run']}.")
    lines += ["", "Commands:", ""] + [f"- `{c}`" for c in doc["commands"]] + ["", f"Hardware: {doc['hardware']}.", ""]
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("phase", choices=("train", "report"))
    ap.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    ap.add_argument("--members", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--scalars", type=int, default=32)
    ap.add_argument("--hidden-mul", type=int, default=16)
    ap.add_argument("--product-mul", type=int, default=8)
    ap.add_argument("--time-limit", type=float, default=None, help="seconds per member")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--encoder", default="7net-0")
    ap.add_argument("--cache", default="runs/features")
    ap.add_argument("--runs", default="runs/heads")
    ap.add_argument("--encoder-cost", default="benchmarks/results/encoder-cost-7net-0.json")
    ap.add_argument("--also", nargs="*", default=[], help="report: LABEL=RUNS_DIR of other settings to list")
    ap.add_argument("--commands", nargs="*", default=[], help="report: the commands that made the runs")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.phase == "train":
        for kind in args.kinds:
            train_kind(kind, args)
    else:
        report(args)


if __name__ == "__main__":
    main()
