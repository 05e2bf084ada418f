"""The accuracy benchmark: 4 targets x 3 models on the fixed split, as one command.

    python benchmarks/accuracy.py train    [--epochs 200] [--jobs 4] [--device auto]
    python benchmarks/accuracy.py evaluate [--device auto]
    python benchmarks/accuracy.py all      (both)

``train`` runs ``python -m gmtnet train`` for every (kind, model) pair into ``runs/KIND-MODEL``,
``--jobs`` at a time (each run is its own process; on a GPU they share the card). ``evaluate`` runs
``python -m gmtnet evaluate`` on the test split for each finished run, then writes
``benchmarks/results/accuracy.json`` and ``benchmarks/results/ACCURACY.md`` (the table, with the
commands, the hardware and the durations). An all-zero predictor is reported beside the models
for every kind, since for piezoelectric tensors "predict zero" is a strong baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

KINDS = ("dielectric", "dielectric_electronic", "piezoelectric", "elastic")
MODELS = ("gmtnet", "megnet", "etgnn")
RESULTS = Path("benchmarks/results")


def _run(cmd: list[str], log: Path) -> tuple[int, float]:
    t0 = time.perf_counter()
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as fh:
        rc = subprocess.call(cmd, stdout=fh, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    return rc, time.perf_counter() - t0


def train_all(args) -> None:
    jobs = []
    for kind in args.kinds:
        for model in args.models:
            out = Path(args.runs) / f"{kind}-{model}"
            cmd = [sys.executable, "-m", "gmtnet", "train", "--kind", kind, "--model", model, "--epochs", str(args.epochs),
                   "--out", str(out), "--device", args.device, "--quiet"]
            if args.resume:
                cmd.append("--resume")
            if args.time_limit:
                cmd += ["--time-limit", str(args.time_limit)]
            if args.lr:
                cmd += ["--lr", str(args.lr)]
            jobs.append((cmd, out / "train.log"))
    print(f"training {len(jobs)} models, {args.jobs} at a time")
    with ThreadPoolExecutor(args.jobs) as pool:
        for (cmd, log), (rc, sec) in zip(jobs, pool.map(lambda j: _run(*j), jobs)):
            print(f"{'ok  ' if rc == 0 else 'FAIL'} {sec:7.1f} s  {' '.join(cmd[2:])}")


def select_best(args) -> None:
    """For every (kind, model), copy the candidate run with the lowest *validation* Fnorm into
    ``--runs``: the same small sweep for every model, decided without looking at the test split."""
    import shutil

    chosen = {}
    for kind in args.kinds:
        for model in args.models:
            runs = [Path(c) / f"{kind}-{model}" for c in args.candidates]
            runs = [r for r in runs if (r / "summary.json").is_file()]
            if not runs:
                continue
            val = {str(r): json.loads((r / "summary.json").read_text())["best_val_fnorm"] for r in runs}
            best = min(runs, key=lambda r: val[str(r)])
            dest = Path(args.runs) / f"{kind}-{model}"
            if dest.resolve() != best.resolve():
                shutil.rmtree(dest, ignore_errors=True)
                shutil.copytree(best, dest, ignore=shutil.ignore_patterns("checkpoint.pt"))
            chosen[f"{kind}-{model}"] = {"chosen": str(best), "val_fnorm": val}
            print(f"{kind:22s} {model:7s} <- {best}  (val Fnorm {', '.join(f'{v:.4g}' for v in val.values())})")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "selection.json").write_text(json.dumps(chosen, indent=2) + "\n")


def _zero_baseline(kind: str) -> dict:
    from gmtnet.data import load_dataset
    from gmtnet.kinds import get_kind
    from gmtnet.metrics import ewt, fnorm

    k = get_kind(kind)
    df = load_dataset(kind, include_flagged=False)
    true = np.stack(df[df["split"] == "test"][k.column].to_numpy())
    zero = np.zeros_like(true)
    return {"fnorm": fnorm(zero, true, k), "ewt25": ewt(zero, true, k, 0.25), "n": len(true)}


def evaluate_all(args) -> None:
    from gmtnet.kinds import get_kind

    rows = []
    for kind in args.kinds:
        for model in args.models:
            run = Path(args.runs) / f"{kind}-{model}"
            if not (run / "model.safetensors").is_file():
                print(f"skip {run}: not trained")
                continue
            out = run / "metrics-test.json"
            cmd = [sys.executable, "-m", "gmtnet", "evaluate", "--kind", kind, "--model", model,
                   "--checkpoint", str(run), "--device", args.device, "--json", str(out)]
            rc, _ = _run(cmd, run / "evaluate.log")
            rotated = run / "metrics-test-random-frame.json"
            cmd_rot = cmd[:-1] + [str(rotated), "--random-frame", "0"]
            rc_rot, _ = _run(cmd_rot, run / "evaluate-random-frame.log")
            if rc != 0 or rc_rot != 0:
                print(f"FAIL evaluate {run} (see {run}/evaluate*.log)")
                continue
            metrics = json.loads(out.read_text())
            rot = json.loads(rotated.read_text())["overall"]
            summary = json.loads((run / "summary.json").read_text())
            rows.append({"kind": kind, "model": model, "unit": get_kind(kind).unit_label, **metrics["overall"],
                         "per_crystal_system": metrics["per_crystal_system"],
                         "random_frame": {key: rot[key] for key in ("fnorm", "ewt25", "zero_success", "equality_success")},
                         "parameters": summary["parameters"], "epochs": summary["epochs"], "epochs_run": summary["epochs_run"],
                         "best_epoch": summary["best_epoch"], "train_seconds": summary["train_seconds"],
                         "train_device": summary["device"], "train_command": summary["command"]})
            print(f"{kind:22s} {model:7s} Fnorm {metrics['overall']['fnorm']:.4g}  EwT25 {100 * metrics['overall']['ewt25']:.1f} %")
    zeros = {kind: _zero_baseline(kind) for kind in args.kinds}
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = {"hardware": {"machine": platform.machine(), "processor": platform.processor(), "python": platform.python_version()},
              "commands": {"train": "python benchmarks/accuracy.py train --epochs 300 --time-limit 420 --jobs 12 --device cuda --runs runs_lr2e-3; "
                                    "python benchmarks/accuracy.py train --epochs 200 --lr 1e-3 --time-limit 330 --jobs 12 --device cuda --runs runs_lr1e-3",
                           "select": "python benchmarks/accuracy.py select --candidates runs_lr2e-3 runs_lr1e-3 --runs runs",
                           "evaluate": "python benchmarks/accuracy.py evaluate --device cpu"},
              "results": rows, "all_zero_predictor": zeros}
    (RESULTS / "accuracy.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "ACCURACY.md").write_text(markdown(report))
    print(f"wrote {RESULTS / 'accuracy.json'} and {RESULTS / 'ACCURACY.md'}")


def markdown(report: dict) -> str:
    lines = ["# Accuracy on the fixed test split (unflagged rows)", "",
             "Fnorm: mean Frobenius error (ε 3x3, e 3x6 Voigt, C 6x6 Voigt) in the kind's unit; EwT: share of crystals "
             "with relative Frobenius error under 25/10/5 %; zero / equality: share of predictions whose "
             "symmetry-forbidden components are ≤ 1e-5 and whose forced pairs agree within 1e-4.", "",
             "Random frame: the same test crystals, each given in its own random rotated or reflected Cartesian "
             "frame (label rotated with it). For ε the 3x3 Fnorm of an equivariant model does not change; the paper's "
             "Voigt forms of e (3x6) and C (6x6) count each shear pair once, so their Frobenius norm is not rotation "
             "invariant and the random-frame Fnorm moves even for exactly equivariant models (GMTNet, ETGNN).", "",
             "| target | model | Fnorm | rel. Fnorm | EwT25 | EwT10 | EwT5 | zero | equality | random frame: Fnorm / zero / equality | params | best epoch / run | train time | trained on |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in report["results"]:
        lines.append(
            f"| {r['kind']} | {r['model']} | {r['fnorm']:.4g} {r['unit'] if r['unit'] != 'dimensionless' else ''} | "
            f"{r['fnorm'] / r['mean_label_norm']:.3f} | {100 * r['ewt25']:.1f} % | {100 * r['ewt10']:.1f} % | {100 * r['ewt5']:.1f} % | "
            f"{100 * r['zero_success']:.1f} % | {100 * r['equality_success']:.1f} % | "
            f"{r['random_frame']['fnorm']:.4g} / {100 * r['random_frame']['zero_success']:.1f} % / {100 * r['random_frame']['equality_success']:.1f} % | "
            f"{r['parameters']:,} | {r['best_epoch']} / {r['epochs_run']} | "
            f"{r['train_seconds'] / 60:.1f} min | {r['train_device']} |")
    lines += ["", "All-zero predictor on the same rows (a floor every model must clear):", "",
              "| target | n test | Fnorm | EwT25 |", "|---|---|---|---|"]
    for kind, z in report["all_zero_predictor"].items():
        lines.append(f"| {kind} | {z['n']} | {z['fnorm']:.4g} | {100 * z['ewt25']:.1f} % |")
    cmds = report["commands"]
    lines += ["", "How these numbers were made (every model got the same two learning rates; the one with the lower "
              "validation Fnorm was kept, see `selection.json`):", ""]
    lines += [f"- {name}: `{cmd}`" for name, cmd in cmds.items()]
    lines += ["", f"Evaluated on: {report['hardware']} (CPU). Each run's exact command is in `runs/KIND-MODEL/config.json` "
              "and, for the shipped models, in their model cards.", ""]
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("phase", choices=("train", "select", "evaluate", "report", "all"))
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--jobs", type=int, default=1, help="training processes at a time")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--runs", default="runs")
    ap.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--time-limit", type=float, default=None, help="per-run training time limit in seconds")
    ap.add_argument("--lr", type=float, default=None, help="learning rate for every run (default: the trainer's)")
    ap.add_argument("--candidates", nargs="+", default=[], help="select: run folders trained with different settings")
    args = ap.parse_args(argv)
    if args.phase in ("train", "all"):
        train_all(args)
    if args.phase == "select":
        select_best(args)
    if args.phase == "report":  # re-render the Markdown from the committed JSON
        (RESULTS / "ACCURACY.md").write_text(markdown(json.loads((RESULTS / "accuracy.json").read_text())))
    if args.phase in ("evaluate", "all"):
        evaluate_all(args)


if __name__ == "__main__":
    main()
