"""The accuracy benchmark: 4 targets x 3 models, cross-validated and on the fixed split.

    python benchmarks/accuracy.py cv       [--epochs 20] [--time-limit 300] [--runs runs_cv]
    python benchmarks/accuracy.py cv-report
    python benchmarks/accuracy.py train    [--epochs 200] [--jobs 4] [--device auto]
    python benchmarks/accuracy.py evaluate [--device auto]
    python benchmarks/accuracy.py all      (train + evaluate)

``cv`` trains and evaluates every (model, kind, fold) of the 5 fixed cross-validation folds (the
``fold`` column of the bundled data: the non-test material ids; the test split is never touched),
one run at a time, in the order GMTNet first, then ETGNN, then MEGNet, each target's 5 folds in
turn. It is resumable: a run whose ``predictions.npz`` exists is skipped, so the command can be
restarted and extended. Each run writes ``RUNS/KIND-MODEL/foldK/`` (weights, log, summary,
out-of-fold predictions with their label candidates). ``cv-report`` (also run at the end of
``cv``) pools the out-of-fold predictions of every finished (model, kind) over the 5 folds (each
non-test crystal predicted once, by the model that did not see it) and writes
``benchmarks/results/cv.json`` and ``benchmarks/results/CV.md``: Fnorm and EwT with 95 %
bootstrap intervals over crystals, ambiguity-aware over all rows and strict over the rows whose
label orientation is unique, per crystal system and per point-group class, with the all-zero
predictor on the same rows, the hardware and the wall time.

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

# The checkout's gmtnet, installed or not (the runs below are `python -m gmtnet` from the root).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gmtnet.models.config import ARCHITECTURES as MODELS  # noqa: E402 (after the path set-up)

KINDS = ("dielectric", "dielectric_electronic", "piezoelectric", "elastic")
RESULTS = Path("benchmarks/results")
#: Order of the cross-validation runs: the model first, then the cheap targets.
CV_MODELS = ("gmtnet", "etgnn", "megnet")
CV_KINDS = ("piezoelectric", "dielectric", "elastic", "dielectric_electronic")
BOOTSTRAP = 2000


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


# --------------------------------------------------------------------------- cross-validation


def _hardware() -> dict:
    import torch

    return {"machine": platform.machine(), "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
            "torch": torch.__version__, "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def cv_run(args) -> None:
    """Train + evaluate every missing (model, kind, fold), sequentially; resumable."""
    from gmtnet.data import N_FOLDS

    t_start = time.perf_counter()
    progress_file = Path(args.runs) / "cv_progress.json"
    progress_file.parent.mkdir(parents=True, exist_ok=True)
    done = json.loads(progress_file.read_text()) if progress_file.is_file() else {"runs": {}}
    for model in args.models:
        for kind in args.kinds:
            for fold in range(N_FOLDS):
                out = Path(args.runs) / f"{kind}-{model}" / f"fold{fold}"
                if (out / "predictions.npz").is_file():
                    continue
                epochs = _kind_epochs(args).get(kind, args.epochs)
                cmd = [sys.executable, "-m", "gmtnet", "train", "--kind", kind, "--model", model, "--cv-fold", str(fold),
                       "--epochs", str(epochs), "--out", str(out), "--device", args.device, "--quiet", "--resume"]
                if args.time_limit:
                    cmd += ["--time-limit", str(args.time_limit)]
                if args.lr:
                    cmd += ["--lr", str(args.lr)]
                if args.warmup_epochs is not None:
                    cmd += ["--warmup-epochs", str(args.warmup_epochs)]
                rc, sec_train = _run(cmd, out / "train.log")
                if rc != 0:
                    print(f"FAIL train {out} (see {out}/train.log)", flush=True)
                    continue
                ev = [sys.executable, "-m", "gmtnet", "evaluate", "--kind", kind, "--model", model, "--checkpoint", str(out),
                      "--fold", str(fold), "--device", args.device, "--json", str(out / "metrics.json"),
                      "--predictions", str(out / "predictions.npz")]
                rc, sec_eval = _run(ev, out / "evaluate.log")
                if rc != 0:
                    print(f"FAIL evaluate {out} (see {out}/evaluate.log)", flush=True)
                    continue
                m = json.loads((out / "metrics.json").read_text())["overall"]
                done["runs"][f"{kind}-{model}-fold{fold}"] = {"train_wall_s": round(sec_train, 1), "eval_wall_s": round(sec_eval, 1)}
                progress_file.write_text(json.dumps(done, indent=2) + "\n")
                print(f"{kind:22s} {model:7s} fold {fold}: Fnorm {m['fnorm']:.4g}  EwT25 {100 * m['ewt25']:.1f} %  "
                      f"({sec_train:.0f} s train, {sec_eval:.0f} s eval)", flush=True)
                cv_report(args)  # results grow with every finished run
    print(f"cv: {time.perf_counter() - t_start:.0f} s this session", flush=True)


def _kind_epochs(args) -> dict[str, int]:
    """``--kind-epochs KIND=N`` overrides of ``--epochs``."""
    out = {}
    for pair in args.kind_epochs:
        kind, _, n = pair.partition("=")
        out[kind] = int(n)
    return out


def _pooled(args, kind: str, model: str):
    """Out-of-fold predictions of one (kind, model) over all folds, or None if a fold is missing."""
    from gmtnet.data import N_FOLDS

    parts = []
    for fold in range(N_FOLDS):
        f = Path(args.runs) / f"{kind}-{model}" / f"fold{fold}" / "predictions.npz"
        if not f.is_file():
            return None
        with np.load(f) as z:
            parts.append({k: z[k] for k in z.files} | {"fold": np.full(len(z["pred"]), fold)})
    k_max = max(p["candidates"].shape[1] for p in parts)
    for p in parts:  # different folds may pad to different candidate counts
        pad = k_max - p["candidates"].shape[1]
        if pad:
            p["candidates"] = np.concatenate([p["candidates"], np.repeat(p["candidates"][:, :1], pad, axis=1)], axis=1)
            p["candidate_mask"] = np.concatenate([p["candidate_mask"], np.zeros((len(p["pred"]), pad), bool)], axis=1)
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _scores(pred, candidates, mask, kind) -> dict:
    """Per-crystal absolute and relative errors against the closest candidate."""
    from gmtnet.metrics import closest_candidates, frobenius_errors, relative_errors

    true, _ = closest_candidates(pred, candidates, mask, kind)
    return {"abs": frobenius_errors(pred, true, kind), "rel": relative_errors(pred, true, kind)}


def _with_ci(sc: dict, rows: np.ndarray, seed: int) -> dict:
    from gmtnet.metrics import EWT_THRESHOLDS, bootstrap_ci

    out = {"n": int(rows.sum())}
    if not rows.any():
        return out
    a, r = sc["abs"][rows], sc["rel"][rows]
    out["fnorm"] = float(a.mean())
    out["fnorm_ci95"] = bootstrap_ci(a, n_resamples=BOOTSTRAP, seed=seed)
    for th in EWT_THRESHOLDS:
        hits = (r < th).astype(float)
        out[f"ewt{round(th * 100)}"] = float(hits.mean())
        out[f"ewt{round(th * 100)}_ci95"] = bootstrap_ci(hits, n_resamples=BOOTSTRAP, seed=seed)
    return out


def _breakdowns(sc: dict, meta, unique: np.ndarray, seed: int) -> dict:
    from gmtnet.data import CRYSTAL_SYSTEMS, point_group_class

    systems = meta["crystal_system"].to_numpy()
    classes = np.array([point_group_class(g) for g in meta["point_group"]])
    return {
        "all_rows": _with_ci(sc, np.ones(len(unique), bool), seed),
        "unique_rows": _with_ci(sc, unique, seed),
        "per_crystal_system": {c: _with_ci(sc, systems == c, seed) for c in CRYSTAL_SYSTEMS if (systems == c).any()},
        "per_point_group_class": {c: _with_ci(sc, classes == c, seed) for c in ("centrosymmetric", "polar", "other") if (classes == c).any()},
    }


def _paired(a: np.ndarray, b: np.ndarray, rel_a: np.ndarray, rel_b: np.ndarray, seed: int) -> dict:
    """Paired bootstrap over crystals of model minus reference: Fnorm and EwT25 differences."""
    from gmtnet.metrics import bootstrap_ci

    d_abs = a - b
    d_hit = (rel_a < 0.25).astype(float) - (rel_b < 0.25).astype(float)
    return {"n": int(len(a)), "fnorm_diff": float(d_abs.mean()), "fnorm_diff_ci95": bootstrap_ci(d_abs, n_resamples=BOOTSTRAP, seed=seed),
            "ewt25_diff": float(d_hit.mean()), "ewt25_diff_ci95": bootstrap_ci(d_hit, n_resamples=BOOTSTRAP, seed=seed)}


def cv_report(args) -> None:
    """Pool every finished (model, kind) over the folds; write cv.json and CV.md."""
    from gmtnet.data import N_FOLDS, TEST_FOLD, label_candidates, load_dataset
    from gmtnet.kinds import get_kind
    from gmtnet.orientation import pad_candidates

    results, zeros = [], {}
    for kind in args.kinds:
        k = get_kind(kind)
        frame = load_dataset(kind, include_flagged=False)
        meta = frame.set_index("material_id")
        # The all-zero predictor on every cross-validated row (each model below sees the same rows).
        cv_rows = frame[frame["fold"] != TEST_FOLD]
        cands, mask = pad_candidates(label_candidates(cv_rows, k), k.shape)
        zsc = _scores(np.zeros((len(cv_rows), *k.shape)), cands, mask, k)
        zero_by_id = {m: i for i, m in enumerate(cv_rows["material_id"])}
        per_model = {}
        zeros[kind] = {"unit": k.unit_label, **_breakdowns(zsc, cv_rows, mask.sum(axis=1) == 1, 0),
                       "n_ambiguous": int((mask.sum(axis=1) > 1).sum())}
        for model in args.models:
            pooled = _pooled(args, kind, model)
            if pooled is None:
                continue
            rows = meta.loc[pooled["material_ids"]]
            unique = pooled["candidate_mask"].sum(axis=1) == 1
            sc = _scores(pooled["pred"], pooled["candidates"], pooled["candidate_mask"], k)
            summaries = [json.loads((Path(args.runs) / f"{kind}-{model}" / f"fold{f}" / "summary.json").read_text()) for f in range(N_FOLDS)]
            per_fold = [_with_ci(sc, pooled["fold"] == f, 0) for f in range(N_FOLDS)]
            # Paired differences on the same crystals: against the all-zero predictor and, for the
            # baselines, against GMTNet (negative Fnorm difference = the model is better).
            zi = np.array([zero_by_id[m] for m in pooled["material_ids"]])
            order = np.argsort(pooled["material_ids"])
            per_model[model] = (pooled["material_ids"][order], sc["abs"][order], sc["rel"][order], unique[order])
            paired = {}
            for name, sub in (("all_rows", np.ones(len(unique), bool)), ("unique_rows", unique)):
                paired[f"vs_all_zero_{name}"] = _paired(sc["abs"][sub], zsc["abs"][zi][sub], sc["rel"][sub], zsc["rel"][zi][sub], 0)
                if model != "gmtnet" and "gmtnet" in per_model:
                    ids_g, abs_g, rel_g, _ = per_model["gmtnet"]
                    u = unique[order] if name == "unique_rows" else np.ones(len(unique), bool)
                    assert (ids_g == per_model[model][0]).all()
                    paired[f"vs_gmtnet_{name}"] = _paired(sc["abs"][order][u], abs_g[u], sc["rel"][order][u], rel_g[u], 0)
            results.append({"kind": kind, "model": model, "unit": k.unit_label, **_breakdowns(sc, rows, unique, 0),
                             "n_ambiguous": int((~unique).sum()), "paired": paired,
                             "per_fold": [{key: pf[key] for key in ("n", "fnorm", "ewt25")} for pf in per_fold],
                             "epochs": summaries[0]["epochs"], "epochs_run": [s["epochs_run"] for s in summaries],
                             "train_seconds": [s["train_seconds"] for s in summaries], "parameters": summaries[0]["parameters"],
                             "train_device": summaries[0]["device"], "train_crystals": [s["train_crystals"] for s in summaries]})
    progress = Path(args.runs) / "cv_progress.json"
    walls = json.loads(progress.read_text())["runs"] if progress.is_file() else {}
    report = {
        "protocol": (f"{N_FOLDS}-fold cross-validation over the non-test material ids (the `fold` column, same folds "
                     "for every kind and model); each fold's model trained on the other 4 folds for a fixed epoch budget, "
                     "last (EMA) weights, no selection; out-of-fold predictions pooled; 95 % intervals: percentile "
                     f"bootstrap over crystals ({BOOTSTRAP} resamples). 'all rows': each label scored against its "
                     "orientation candidate closest to the prediction; 'unique rows': only labels with one candidate (strict)."),
        "command": "python benchmarks/accuracy.py cv " + " ".join(
            f"--{a} {getattr(args, a.replace('-', '_'))}" for a in ("epochs", "warmup-epochs", "time-limit", "runs") if getattr(args, a.replace("-", "_")) is not None)
            + "".join(f" --kind-epochs {p}" for p in args.kind_epochs),
        "hardware": _hardware(),
        "wall_seconds_total": round(sum(v["train_wall_s"] + v["eval_wall_s"] for v in walls.values()), 1),
        "wall_seconds_per_run": walls,
        "results": results,
        "all_zero_predictor": zeros,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "cv.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "CV.md").write_text(cv_markdown(report))


def _fmt(m: dict, key: str, pct: bool) -> str:
    if key not in m:
        return "-"
    lo, hi = m[f"{key}_ci95"]
    if pct:
        return f"{100 * m[key]:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]"
    return f"{m[key]:.3g} [{lo:.3g}, {hi:.3g}]"


def cv_markdown(report: dict) -> str:
    lines = ["# Cross-validated accuracy (5 fixed folds, 95 % bootstrap intervals)", "", report["protocol"], "",
             f"Command: `{report['command']}`; hardware: {report['hardware']['processor']}, "
             f"{report['hardware']['torch_threads']} torch thread(s) (GPU: {report['hardware']['gpu']}); "
             f"total wall time {report['wall_seconds_total'] / 60:.0f} min.", "",
             "| target | model | rows (ambiguous) | Fnorm, all rows | EwT25 %, all rows | EwT10 %, all rows | Fnorm, unique rows | EwT25 %, unique rows | epochs | train time / fold |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    entries = [(r["kind"], r["model"], r) for r in report["results"]]
    entries += [(kind, "all-zero", z) for kind, z in report["all_zero_predictor"].items()]
    order = {k: i for i, k in enumerate(CV_KINDS)}
    for kind, model, r in sorted(entries, key=lambda e: (order.get(e[0], 9), e[1] != "all-zero", e[1])):
        a, u = r["all_rows"], r["unique_rows"]
        amb = "" if r.get("n_ambiguous") is None else f" ({r['n_ambiguous']})"
        epochs = f"{r['epochs']}" if "epochs" in r else "-"
        tt = f"{np.mean(r['train_seconds']) / 60:.1f} min" if "train_seconds" in r else "-"
        lines.append(f"| {kind} | {model} | {a['n']}{amb} | {_fmt(a, 'fnorm', False)} | {_fmt(a, 'ewt25', True)} | "
                     f"{_fmt(a, 'ewt10', True)} | {_fmt(u, 'fnorm', False)} | {_fmt(u, 'ewt25', True)} | {epochs} | {tt} |")
    lines += ["", "Fnorm in the target's unit (ε dimensionless, e C/m², C GPa), paper forms (ε 3x3, e 3x6, C 6x6 Voigt).", "",
              "## Paired differences (same crystals, bootstrap over crystals)", "",
              "Model minus reference; a difference is resolved when its 95 % interval excludes 0.", "",
              "| target | model | reference | rows | ΔFnorm | ΔEwT25 (points) |", "|---|---|---|---|---|---|"]
    for r in report["results"]:
        for key, d in r["paired"].items():
            ref = "all-zero" if key.startswith("vs_all_zero") else "gmtnet"
            rows = "unique_rows" if key.endswith("unique_rows") else "all_rows"
            if not d["n"]:
                continue
            lo, hi = d["fnorm_diff_ci95"]
            elo, ehi = d["ewt25_diff_ci95"]
            lines.append(f"| {r['kind']} | {r['model']} | {ref} | {rows.replace('_', ' ')} ({d['n']}) | {d['fnorm_diff']:+.3g} [{lo:+.3g}, {hi:+.3g}] | "
                         f"{100 * d['ewt25_diff']:+.1f} [{100 * elo:+.1f}, {100 * ehi:+.1f}] |")
    lines.append("")
    for title, key in (("crystal system", "per_crystal_system"), ("point-group class", "per_point_group_class")):
        lines += [f"## EwT25 % (all rows) per {title}", ""]
        groups = sorted({g for r in report["results"] for g in r[key]} | {g for z in report["all_zero_predictor"].values() for g in z[key]},
                        key=lambda g: list(("triclinic", "monoclinic", "orthorhombic", "tetragonal", "trigonal", "hexagonal", "cubic",
                                            "centrosymmetric", "polar", "other")).index(g))
        lines += ["| target | model | " + " | ".join(groups) + " |", "|---|---|" + "---|" * len(groups)]
        for kind, model, r in sorted(entries, key=lambda e: (order.get(e[0], 9), e[1] != "all-zero", e[1])):
            cells = []
            for g in groups:
                m = r[key].get(g)
                cells.append("-" if not m or "ewt25" not in m else f"{100 * m['ewt25']:.0f} [{100 * m['ewt25_ci95'][0]:.0f}, {100 * m['ewt25_ci95'][1]:.0f}] (n {m['n']})")
            lines.append(f"| {kind} | {model} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("phase", choices=("cv", "cv-report", "train", "select", "evaluate", "report", "all"))
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
    ap.add_argument("--warmup-epochs", type=int, default=None, help="cv: learning-rate warm-up epochs (default: the trainer's)")
    ap.add_argument("--kind-epochs", action="append", default=[], metavar="KIND=N",
                    help="cv: epochs for one kind instead of --epochs (repeatable)")
    args = ap.parse_args(argv)
    if args.phase.startswith("cv"):
        if args.runs == "runs":
            args.runs = "runs_cv"
        # Cross-validation order: GMTNet first, piezo first (see CV_MODELS / CV_KINDS).
        args.models = [m for m in CV_MODELS if m in args.models]
        args.kinds = [k for k in CV_KINDS if k in args.kinds]
        if args.epochs == 200:
            args.epochs = 20
    if args.phase == "cv":
        cv_run(args)
    if args.phase == "cv-report":
        cv_report(args)
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
