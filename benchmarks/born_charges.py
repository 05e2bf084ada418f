"""Born effective charges Z*: grouped 5-fold cross-validation, the shipped committee, and its card.

Usage (from the repository root; one fold per call so folds can run in parallel processes)::

    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python benchmarks/born_charges.py run --fold 0 --epochs 40
    .venv/bin/python benchmarks/born_charges.py report          # out-of-fold + test metrics, baseline
    .venv/bin/python benchmarks/born_charges.py ship            # committee -> gmtnet/resources/weights/born

* ``run``: member *k* trains from scratch (``gmtnet.train.train`` with ``group_cv_fold=k``: the
  one training loop, per-atom loss, site symmetry and the exact acoustic sum rule in the forward
  pass) on the non-test DFPT rows outside grouped fold *k* (one chemical system per fold), keeps
  its last weights; wall time, threads and load average go to ``runs/born/fold-<k>/wall.json``.
* ``report``: each member predicts its own held-out fold (out-of-fold, OOF); the committee mean
  predicts the fixed test split, which no member saw. Metrics (:func:`gmtnet.metrics.per_atom_metrics`):
  MAE per component (e), EwT25 per atom (||ΔZ*_κ||_F / ||Z*_κ||_F ≤ 0.25) and per crystal, beside
  the trivial baseline: formal oxidation states on the diagonal, shifted to obey the sum rule
  (:func:`gmtnet.ionic.formal_born_charges`; crystals it cannot assign are scored with all zeros,
  and counted). Writes ``benchmarks/results/born-charges.json`` and ``BORN_CHARGES.md`` and prints
  the table and the median errors.
* ``ship``: copies the members into ``gmtnet/resources/weights/born`` with ``ensemble.json``
  (σ scale fitted out of fold) and writes its ``MODEL_CARD.md`` from the report.

Runs go to ``runs/born/fold-<k>/`` (not in git).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

RUNS = REPO / "runs" / "born"
RESULTS = REPO / "benchmarks" / "results"
WEIGHTS = REPO / "gmtnet" / "resources" / "weights" / "born"
KIND = "born"
N_FOLDS = 5


def run_fold(fold: int, epochs: int, options: dict, lr: float, batch_size: int) -> None:
    import torch

    from gmtnet.train import TrainConfig, train

    torch.set_num_threads(1)
    out = RUNS / f"fold-{fold}"
    cfg = TrainConfig(kind=KIND, epochs=epochs, device="cpu", seed=fold, group_cv_fold=fold, lr=lr,
                      batch_size=batch_size, model_options=options)
    command = "benchmarks/born_charges.py " + " ".join(sys.argv[1:])
    t0 = time.perf_counter()
    summary = train(cfg, out, progress=False, command=command)
    wall = time.perf_counter() - t0
    info = {"fold": fold, "wall_seconds": round(wall, 1), "train_seconds": summary["train_seconds"],
            "epochs_run": summary["epochs_run"], "train_crystals": summary["train_crystals"],
            "parameters": summary["parameters"], "threads": torch.get_num_threads(),
            "load_average_end": os.getloadavg(), "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores ({platform.system()})",
            "command": command}
    (out / "wall.json").write_text(json.dumps(info, indent=2) + "\n")
    print(json.dumps(info))


BASELINE_CACHE = RUNS / "formal-baseline.json"


def _baseline(structures, ids) -> tuple[list[np.ndarray], list[bool]]:
    """Formal-charge Z* per crystal (zeros where no oxidation states can be assigned) and, per
    crystal, whether it fell back to zeros. Cached by material id in ``runs/born`` (bond-valence
    analysis costs ~0.1 s a crystal; the labels' frames never change)."""
    from gmtnet.ionic import formal_born_charges

    cache = json.loads(BASELINE_CACHE.read_text()) if BASELINE_CACHE.is_file() else {}
    out, failed = [], []
    for s, mid in zip(structures, ids, strict=True):
        if mid not in cache:
            try:
                cache[mid] = formal_born_charges(s).z.tolist()
            except ValueError:
                cache[mid] = None
        z = cache[mid]
        failed.append(z is None)
        out.append(np.zeros((len(s), 3, 3)) if z is None else np.asarray(z))
    BASELINE_CACHE.parent.mkdir(parents=True, exist_ok=True)
    BASELINE_CACHE.write_text(json.dumps(cache))
    return out, failed


def _keep(pred, true, failed):
    keep = [i for i, f in enumerate(failed) if not f]
    return [pred[i] for i in keep], [true[i] for i in keep]


def _members() -> list[Path]:
    dirs = [RUNS / f"fold-{k}" for k in range(N_FOLDS)]
    return [d for d in dirs if (d / "model.safetensors").is_file() and (d / "summary.json").is_file()]


def _bootstrap(values: np.ndarray, seed: int = 0) -> list[float]:
    from gmtnet.metrics import bootstrap_ci

    return [float(x) for x in bootstrap_ci(values.astype(float), seed=seed)]


def report() -> dict:
    import torch

    from gmtnet.metrics import per_atom_metrics
    from gmtnet.models.network import load_model
    from gmtnet.train import predict_atom_examples, prepare_atom_examples

    torch.set_num_threads(1)
    members = _members()
    if not members:
        raise SystemExit(f"no finished fold under {RUNS}")
    models = {int(d.name.split("-")[1]): load_model(d, "cpu") for d in members}
    nn = next(iter(models.values())).config.num_neighbors
    oof_pred, oof_true, oof_base, oof_spread, failed, per_fold = [], [], [], [], [], {}
    for k, model in sorted(models.items()):
        ex = prepare_atom_examples(KIND, "train", nn, progress=False, folds=(k,), fold_column="group_fold")
        every = [predict_atom_examples(m, ex) for m in models.values()]
        pred = every[list(models).index(k)]  # the member that never saw fold k
        base, f = _baseline(ex.structures, ex.material_ids)
        per_fold[k] = {"model": per_atom_metrics(pred, ex.targets), "baseline": per_atom_metrics(base, ex.targets)}
        oof_pred += pred
        oof_true += ex.targets
        oof_base += base
        # raw σ: the whole committee's spread on the crystal (as scripts/ship_ensembles.py --committee)
        oof_spread += [np.std([e[i] for e in every], axis=0, ddof=1) for i in range(len(ex))]
        failed += f
    test = prepare_atom_examples(KIND, "test", nn, progress=False)
    test_every = [predict_atom_examples(m, test) for m in models.values()]
    test_pred = [np.mean([e[i] for e in test_every], axis=0) for i in range(len(test))]
    test_spread = [np.std([e[i] for e in test_every], axis=0, ddof=1) for i in range(len(test))]
    test_base, test_failed = _baseline(test.structures, test.material_ids)
    # σ scale fitted out of fold: 68.3 % of the OOF components within ±σ (σ = scale × spread)
    ratio = np.abs(np.concatenate(oof_pred) - np.concatenate(oof_true)).ravel() / np.maximum(np.concatenate(oof_spread).ravel(), 1e-12)
    std_scale = float(np.quantile(ratio, 0.683))
    within = np.abs(np.concatenate(test_pred) - np.concatenate(test.targets)) <= std_scale * np.concatenate(test_spread)
    calibration = {"oof_within_1sigma": 0.683, "test_within_1sigma": float(within.mean())}

    def crystal_ok(pred, true):
        return np.array([np.linalg.norm(p - t) / np.linalg.norm(t) <= 0.25 for p, t in zip(pred, true)])

    result = {
        "meta": {"kind": KIND, "members": [str(d.relative_to(REPO)) for d in members], "unit": "e",
                 "ewt": "||ΔZ||_F / ||Z||_F ≤ 0.25, per atom (atom_ewt25) and per crystal over its stacked atoms (crystal_ewt25)",
                 "baseline": "formal oxidation states on the diagonal, shifted to Σ_κ Z*_κ = 0 (gmtnet.ionic.formal_born_charges); all zeros where none can be assigned",
                 "threads": 1, "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores ({platform.system()})"},
        "oof": {"model": per_atom_metrics(oof_pred, oof_true), "baseline": per_atom_metrics(oof_base, oof_true),
                "baseline_unassigned": int(sum(failed)),
                # the fair comparison: only the crystals that have formal oxidation states
                "model_assigned": per_atom_metrics(*_keep(oof_pred, oof_true, failed)),
                "baseline_assigned": per_atom_metrics(*_keep(oof_base, oof_true, failed)),
                "model_crystal_ewt25_ci": _bootstrap(crystal_ok(oof_pred, oof_true)),
                "baseline_crystal_ewt25_ci": _bootstrap(crystal_ok(oof_base, oof_true))},
        "per_fold": per_fold,
        "test": {"model": per_atom_metrics(test_pred, test.targets), "baseline": per_atom_metrics(test_base, test.targets),
                 "baseline_unassigned": int(sum(test_failed)),
                 "model_assigned": per_atom_metrics(*_keep(test_pred, test.targets, test_failed)),
                 "baseline_assigned": per_atom_metrics(*_keep(test_base, test.targets, test_failed)),
                 "model_crystal_ewt25_ci": _bootstrap(crystal_ok(test_pred, test.targets)),
                 "baseline_crystal_ewt25_ci": _bootstrap(crystal_ok(test_base, test.targets))},
        "std_scale": std_scale,
        "calibration": calibration,
        "wall": [json.loads((d / "wall.json").read_text()) for d in members if (d / "wall.json").is_file()],
    }
    atom_err = np.concatenate([np.linalg.norm((p - t).reshape(len(t), -1), axis=1) for p, t in zip(oof_pred, oof_true)])
    result["oof"]["median_atom_error"] = float(np.median(atom_err))
    base_err = np.concatenate([np.linalg.norm((p - t).reshape(len(t), -1), axis=1) for p, t in zip(oof_base, oof_true)])
    result["oof"]["median_atom_error_baseline"] = float(np.median(base_err))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "born-charges.json").write_text(json.dumps(result, indent=2) + "\n")
    md = markdown(result)
    (RESULTS / "BORN_CHARGES.md").write_text(md)
    print(md)
    return result


def _row(name: str, m: dict, n_note: str = "") -> str:
    return (f"| {name} | {m['n_crystals']}{n_note} | {m['n_atoms']} | {m['mae']:.3f} | {m['fnorm']:.3f} | "
            f"{100 * m['atom_ewt25']:.1f} % | {100 * m['crystal_ewt25']:.1f} % |")


def table(result: dict) -> str:
    head = ("| set, predictor | crystals | atoms | MAE per component (e) | mean ‖ΔZ*‖_F per atom (e) | EwT25 per atom | EwT25 per crystal |\n"
            "|---|---|---|---|---|---|---|")
    oof, test = result["oof"], result["test"]
    lines = [head,
             _row("grouped CV out-of-fold, network", oof["model"]),
             _row("grouped CV out-of-fold, formal charges", oof["baseline"]),
             _row("grouped CV out-of-fold, network, crystals with formal charges", oof["model_assigned"]),
             _row("grouped CV out-of-fold, formal charges, crystals with formal charges", oof["baseline_assigned"]),
             _row("fixed test split, committee mean", test["model"]),
             _row("fixed test split, formal charges", test["baseline"]),
             _row("fixed test split, committee mean, crystals with formal charges", test["model_assigned"]),
             _row("fixed test split, formal charges, crystals with formal charges", test["baseline_assigned"])]
    ci = (f"\nEwT25 per crystal, 95 % bootstrap intervals: OOF network {100 * oof['model_crystal_ewt25_ci'][0]:.1f}–"
          f"{100 * oof['model_crystal_ewt25_ci'][1]:.1f} %, formal {100 * oof['baseline_crystal_ewt25_ci'][0]:.1f}–"
          f"{100 * oof['baseline_crystal_ewt25_ci'][1]:.1f} %; test network {100 * test['model_crystal_ewt25_ci'][0]:.1f}–"
          f"{100 * test['model_crystal_ewt25_ci'][1]:.1f} %, formal {100 * test['baseline_crystal_ewt25_ci'][0]:.1f}–"
          f"{100 * test['baseline_crystal_ewt25_ci'][1]:.1f} %.\n"
          f"Median ‖ΔZ*_κ‖_F per atom, OOF: network {oof['median_atom_error']:.3f} e, formal charges "
          f"{oof['median_atom_error_baseline']:.3f} e. Formal charges could not be assigned (scored as zeros) for "
          f"{oof['baseline_unassigned']} OOF and {test['baseline_unassigned']} test crystals.\n")
    return "\n".join(lines) + "\n" + ci


def markdown(result: dict) -> str:
    folds = "\n".join(
        f"| {k} | {v['model']['n_crystals']} | {v['model']['mae']:.3f} | {v['baseline']['mae']:.3f} | "
        f"{100 * v['model']['atom_ewt25']:.1f} % | {100 * v['baseline']['atom_ewt25']:.1f} % |"
        for k, v in sorted(result["per_fold"].items(), key=lambda kv: int(kv[0])))
    wall = "\n".join(f"- fold {w['fold']}: {w['wall_seconds'] / 60:.1f} min wall ({w['train_seconds'] / 60:.1f} min training, "
                     f"{w['epochs_run']} epochs, {w['train_crystals']} crystals, {w['threads']} thread, load average at the end "
                     f"{w['load_average_end'][0]:.1f}); `{w['command']}`" for w in result["wall"])
    return (
        "# Born effective charges Z*: grouped cross-validation and the shipped committee\n\n"
        "Written by `benchmarks/born_charges.py report` (data: `gmtnet.data.load_dfpt`, unflagged rows, "
        "ABINIT/PBEsol DFPT, Petretto et al. 2018). Grouped folds: chemical system (`group_fold`); member *k* never saw "
        "fold *k* nor the fixed test split. Z* in e, structure frame, field index first.\n\n"
        + table(result)
        + "\n## Per fold (out of fold)\n\n| fold | crystals | MAE network (e) | MAE formal (e) | EwT25/atom network | EwT25/atom formal |\n"
        "|---|---|---|---|---|---|\n" + folds + "\n\n## Members\n\n" + wall + "\n"
    )


def ship() -> None:
    from gmtnet.models.ensemble import save_ensemble

    from gmtnet.data import load_dataset
    from gmtnet.domain import TrainingDomain
    from gmtnet.graph import build_graph
    from gmtnet.models.network import load_model

    result = json.loads((RESULTS / "born-charges.json").read_text())
    members = [REPO / m for m in result["meta"]["members"]]
    # the out-of-domain warnings: every non-test crystal some member trained on
    df = load_dataset(KIND, include_flagged=False)
    train_df = df[df["split"] != "test"]
    nn = load_model(members[0], "cpu").config.num_neighbors
    domain = TrainingDomain.from_training(train_df["structure"], [build_graph(s, num_neighbors=nn) for s in train_df["structure"]])
    save_ensemble(members, WEIGHTS, {"kind": KIND, "std_scale": result["std_scale"], "domain": domain.to_dict(),
                                     "calibration": result["calibration"],
                                     "note": "grouped-CV committee: member k trained without grouped fold k "
                                             "(benchmarks/born_charges.py)"})
    (WEIGHTS / "MODEL_CARD.md").write_text(model_card(result))
    print(f"shipped {len(members)} members to {WEIGHTS.relative_to(REPO)}")


def model_card(result: dict) -> str:
    """The committee's card: what it predicts, data, recipe with commands and wall times, accuracy."""
    cfg = json.loads((REPO / result["meta"]["members"][0] / "config.json").read_text())
    train, model = cfg["train"], cfg["model"]
    walls = result["wall"]
    total_h = sum(w["wall_seconds"] for w in walls) / 3600
    members = "\n".join(f"  - `{w['command']}`: {w['wall_seconds'] / 60:.1f} min wall ({w['train_seconds'] / 60:.1f} min training, "
                         f"{w['epochs_run']} epochs, {w['train_crystals']} crystals, load average at the end {w['load_average_end'][0]:.1f})"
                         for w in walls)
    n = len(result["meta"]["members"])
    cal = result["calibration"]
    return f"""# GMTNet model card: Born effective charges Z* (per atom), a grouped cross-validation committee

## What it predicts
- One 3x3 tensor per atom, Z*_κ,iα in units of **e** (the elementary charge), in the **Cartesian frame of the
  input structure**, sites in the structure's order, as the mean of {n} GMTNet networks.
  **Index convention: the first index i is the electric-field / polarisation direction, the second α the
  atomic displacement** (Z*_κ,iα = Ω/e ∂P_i/∂u_κα), the convention of the DFPT labels (ABINIT; see
  `gmtnet/resources/data/DATA_CARD.md`, "Index convention of Z*"). No Voigt contraction: the tensor has no
  index symmetry; `Prediction.voigt` is the same (n_atoms, 3, 3) array.
- **Exact by construction**, in any frame: every member's per-atom output is projected with the crystal's
  site symmetry (each Z*_κ invariant under its site-symmetry group; symmetry-equivalent atoms related by the
  operations that map them) and the **acoustic sum rule** Σ_κ Z*_κ = 0 (the crystal mean subtracted), and the
  committee mean is projected again in float64: both hold to ~1e-15 relative (`tests/test_born.py` checks
  1e-10 in random rotated and inverted frames).
- `Prediction.std`: per component, the committee's spread times a σ scale of {result['std_scale']:.3g} fitted out
  of fold (68.3 % of the out-of-fold components within ±σ; {100 * cal['test_within_1sigma']:.1f} % on the test split);
  `Prediction.sites`: site-symmetry symbols, Wyckoff letters and equivalent atoms.
- Defined for insulators: a likely metal gets a warning.

## Data, members and training
- Data: the 1,510 usable DFPT Z* sets of `gmtnet.data.load_dfpt` (Petretto et al. 2018, ABINIT/PBEsol; 10 rows
  flagged near-metallic left out), fixed test split (152 crystals) left out of every member. The other 1,358 are cut
  into 5 grouped folds by **chemical system** (`group_fold`), so a held-out fold is chemistry its member never saw.
- Member *k* is trained **from scratch** on the non-test rows outside grouped fold *k*
  (`gmtnet.train.train`, `TrainConfig(kind="born", group_cv_fold=k)`: the project's one training loop), loss
  `gmtnet.models.per_atom.per_atom_loss` (mean over crystals of the mean over atoms of ‖ΔZ*_κ‖_F / target scale),
  {train['epochs']} epochs, lr {train['lr']}, batch {train['batch_size']}, EMA {train['ema_decay']}, seed *k*; its last
  weights are kept (nothing chosen on held-out data). Architecture: GMTNet with the default widths
  (hidden_mul {model['hidden_mul']}, {model['num_equivariant_layers']} equivariant layers, lmax {model['lmax']}, {model['num_neighbors']} neighbours),
  `per_atom` and `sum_rule` on, target scale {model['target_scale']:.4g} e.
- Commands, from the repository root as `PYTHONPATH=. OMP_NUM_THREADS=1 .venv/bin/python <command>`
  (also in `member-k/config.json`), 1 CPU thread each, two members at a time, on {result['meta']['machine']}
  shared with other jobs:
{members}
  Total {total_h:.2f} CPU-thread hours.
- Out-of-fold metrics, test metrics and this card: `benchmarks/born_charges.py report` then
  `benchmarks/born_charges.py ship` (`benchmarks/results/BORN_CHARGES.md`, `born-charges.json`).

## Accuracy
Out of fold (each member on its own held-out grouped fold) and on the fixed test split (committee mean), beside the
trivial baseline: formal oxidation states on the diagonal, shifted to obey the sum rule
(`gmtnet.ionic.formal_born_charges`). EwT25: ‖ΔZ*‖_F / ‖Z*‖_F ≤ 0.25, per atom and per crystal (all its atoms stacked).

{table(result)}
## Limits
- PBEsol DFPT labels of semiconductors and insulators with 2–40 atoms per cell: larger cells, metals and
  chemistry outside the training domain (`Prediction.warnings`) are extrapolation.
- Only grouped-CV members ship: no member was selected on held-out data, and each member saw about 80 % of
  the non-test crystals.
- The antisymmetric part of Z* (allowed on sites with a 3-, 4- or 6-fold axis and no mirror through it) is learned
  in the data's field-first order; a user with displacement-first data must transpose it.
"""


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="train one grouped-CV member")
    r.add_argument("--fold", type=int, required=True)
    r.add_argument("--epochs", type=int, default=40)
    r.add_argument("--lr", type=float, default=2e-3)
    r.add_argument("--batch-size", type=int, default=32)
    r.add_argument("--option", action="append", default=[], metavar="NAME=VALUE")
    sub.add_parser("report", help="out-of-fold and test metrics beside the formal-charge baseline")
    sub.add_parser("ship", help="copy the members to gmtnet/resources/weights/born")
    args = ap.parse_args(argv)
    if args.cmd == "run":
        if not 0 <= args.fold < N_FOLDS:
            raise SystemExit(f"--fold must be in 0..{N_FOLDS - 1}")
        options = {}
        for item in args.option:
            name, _, value = item.partition("=")
            options[name] = json.loads(value)
        run_fold(args.fold, args.epochs, options, args.lr, args.batch_size)
    elif args.cmd == "report":
        report()
    else:
        ship()


if __name__ == "__main__":
    main()
