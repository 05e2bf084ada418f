"""Piezoelectric signs: is the physics orientation rule right, and does training on it help? (issue 17)

Three steps, each writing into ``benchmarks/results/piezo-orientation.json`` and
``PIEZO_ORIENTATION.md``:

``validate`` shows how the orientation rule (``scripts/orient_piezo.py``: the ionic estimate
e_ion = (e/Ω) Σ Z*·Γ of :mod:`gmtnet.ionic` picks the candidate it points to) against what is
known independently of it:

* the **unique-orientation rows** as the issue asked: sign agreement of the label's largest
  |component| with e_ion, per point-group class, and which frame change of the label best
  explains the disagreements (inversion; the 2-fold rotation about a rhombohedral 3-fold axis,
  the obverse/reverse choice the IEEE rule for trigonal crystals leaves open);
* **published signs**: wurtzite AlN, GaN and ZnO with +c from cation to anion along the
  c-parallel bond have e33 > 0 and e31 < 0 (Bernardini, Fiorentini & Vanderbilt, PRB 56, R10024
  (1997), Table I);
* **polar ABO3 oxides**: e along the polar axis follows the off-centring of the B cation from
  its O6 cage (the longitudinal e is positive along the direction B is displaced, as in tetragonal
  BaTiO3 and LiNbO3); crystals with two possible B cations, or B shifts < 0.05 Å, are left out.

``run --labels lattice|physics --fold k`` trains one grouped-CV fold from scratch (chemical-system
folds, seed k, shipped architecture) on the labels oriented as given (``lattice``: every candidate
the IEEE back-rotation leaves, trained against the closest) or physics-oriented
(:func:`gmtnet.data.orient_labels`), and saves its out-of-fold predictions.

``report`` pools the out-of-fold predictions of both recipes, beside all zeros and the physics
estimate itself: Fnorm against the closest sign-open candidate (magnitudes; every row), and against
the physics-decided label (strict: Fnorm, EwT25, sign of the largest component); the reference
crystals' signs; the unique rows as given.

    PYTHONPATH=. python benchmarks/piezo_orientation.py validate
    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/piezo_orientation.py run --labels physics --fold 0 --epochs 40
    PYTHONPATH=. python benchmarks/piezo_orientation.py report
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from orient_piezo import WURTZITES, largest_sign_agrees, reference_right, reference_rows  # noqa: E402

RESULTS = Path("benchmarks/results")
OUT_JSON = RESULTS / "piezo-orientation.json"
OUT_MD = RESULTS / "PIEZO_ORIENTATION.md"
#: How grouped CV chooses between the two label recipes (stated before the folds ran).
SHIP_RULE = ("the physics-oriented committee replaces the shipped piezo ensemble if, on the same out-of-fold crystals, it "
             "gets more reference signs right than the lattice recipe, its sign agreement on the decided rows is higher, "
             "and its Fnorm against the closest sign-open candidate is no more than 5 % worse; otherwise nothing ships.")
RUNS = Path(os.environ.get("GMTNET_RUNS", "runs")) / "piezo_orientation"
# --------------------------------------------------------------------------- run


#: Epochs of the pre-registered pair (lattice vs physics); other epoch counts are ablations.
EPOCHS = 40
#: The epochs ablation replaces the physics recipe's 40 epochs only under this rule (stated before it ran).
EPOCHS_RULE = ("a physics recipe with other epochs replaces the 40-epoch one if its out-of-fold Fnorm against the closest "
               "sign-open candidate is lower and its sign agreement on the decided rows is not lower.")


def run_name(labels: str, epochs: int) -> str:
    """Run folder of a recipe: the label orientation, with ``-<N>ep`` when not :data:`EPOCHS`."""
    return labels if epochs == EPOCHS else f"{labels}-{epochs}ep"


def run_fold(labels: str, fold: int, epochs: int) -> None:
    import torch

    from gmtnet.data import load_dataset
    from gmtnet.models.network import load_model
    from gmtnet.train import REPROJECTED, TrainConfig, evaluate_examples, prepare_examples, train

    torch.set_num_threads(1)
    out = RUNS / run_name(labels, epochs) / f"fold-{fold}"
    cfg = TrainConfig(kind="piezoelectric", epochs=epochs, device="cpu", seed=fold, group_cv_fold=fold, label_orientation=labels)
    t0 = time.perf_counter()
    summary = train(cfg, out, progress=False, command=" ".join(["python", *sys.argv]))
    wall = time.perf_counter() - t0
    model = load_model(out, "cpu").eval()
    frame = load_dataset("piezoelectric", include_flagged=False)
    ex = prepare_examples("piezoelectric", "train", model.config.num_neighbors, folds=(fold,), progress=False, frame=frame,
                          fold_column="group_fold")
    pred, _ = evaluate_examples(model, ex, model.config.architecture in REPROJECTED)
    np.savez_compressed(out / "oof.npz", ids=np.asarray(ex.material_ids), pred=pred)
    (out / "wall.json").write_text(json.dumps({
        "wall_seconds": round(wall, 1), "train_seconds": summary["train_seconds"], "epochs_run": summary["epochs_run"],
        "train_crystals": summary["train_crystals"], "load_average": list(os.getloadavg()), "threads": 1,
        "machine": f"{platform.machine()} {os.cpu_count()} CPUs",
    }, indent=2) + "\n")
    print(json.dumps({"labels": labels, "fold": fold, "wall_seconds": round(wall, 1)}))


# --------------------------------------------------------------------------- report


def _validation() -> dict:
    """The rule's checks as ``scripts/orient_piezo.py`` recorded them with the shipped file."""
    from importlib import resources

    path = resources.files("gmtnet.resources.data").joinpath("piezoelectric_orientation.json")
    summary = json.loads(path.read_text())
    return summary.pop("validation") | {"rule": summary}


def _oof(labels: str) -> tuple[dict[str, np.ndarray], list[dict]]:
    preds, walls = {}, []
    for k in range(5):
        path = RUNS / labels / f"fold-{k}" / "oof.npz"
        if not path.exists():
            continue
        z = np.load(path)
        preds.update({str(m): p for m, p in zip(z["ids"], z["pred"])})
        walls.append(json.loads((path.parent / "wall.json").read_text()) | {"fold": k})
    return preds, walls


def _boot(x: np.ndarray, seed: int = 0, n: int = 2000) -> list[float]:
    rng = np.random.default_rng(seed)
    if len(x) == 0:
        return [float("nan")] * 2
    means = [x[rng.integers(0, len(x), len(x))].mean() for _ in range(n)]
    return [float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))]


def grade(predict, df, table, refs, ids) -> dict:
    """Metrics of a predictor (material id -> (3,3,3) C/m², structure frame) on ``ids``."""
    from gmtnet.data import orient_labels

    phys = orient_labels(df.loc[ids].reset_index(drop=True), "physics").set_index("material_id")
    closest, zeros, strict, ewt, sign, uniq_sign = [], [], [], [], [], []
    for mid in ids:
        p = predict(mid)
        cands = phys.loc[mid, "candidates"]
        d = [np.linalg.norm(p - c) for c in cands]
        closest.append(min(d))
        zeros.append(min(np.linalg.norm(c) for c in cands))
        if len(cands) == 1 and mid in table.index:  # physics-decided
            t = cands[0]
            strict.append(np.linalg.norm(p - t))
            ewt.append(np.linalg.norm(p - t) / max(np.linalg.norm(t), 1e-12) <= 0.25)
            sign.append(largest_sign_agrees(p, t))
        if mid in table.index and table.loc[mid, "orientation"] == "unique":
            uniq_sign.append(largest_sign_agrees(p, np.asarray(df.loc[mid, "tensor"])))
    ref_right = {r["material_id"]: reference_right(predict(r["material_id"]), r) for r in refs if r["material_id"] in set(ids)}
    strict_a = np.asarray(strict)
    return {
        "n": len(ids),
        "fnorm_closest_sign_open": float(np.mean(closest)), "fnorm_zeros": float(np.mean(zeros)),
        "fnorm_ratio_to_zeros": float(np.mean(closest) / np.mean(zeros)),
        "decided_n": len(strict), "fnorm_strict_decided": float(np.mean(strict_a)) if len(strict) else float("nan"),
        "ewt25_strict_decided": float(np.mean(ewt)) if ewt else float("nan"), "ewt25_interval": _boot(np.asarray(ewt, float)),
        "sign_largest_decided": float(np.mean(sign)) if sign else float("nan"), "sign_interval": _boot(np.asarray(sign, float)),
        "unique_rows_as_given_n": len(uniq_sign), "unique_rows_as_given_sign": float(np.mean(uniq_sign)) if uniq_sign else float("nan"),
        "references_n": len(ref_right), "references_right": int(sum(ref_right.values())),
        "references_published_right": f"{sum(v for m, v in ref_right.items() if m in WURTZITES)}/{sum(1 for m in ref_right if m in WURTZITES)}",
        "references_detail": {m: bool(v) for m, v in sorted(ref_right.items())},
    }


def report(args) -> None:
    from gmtnet.data import load_dataset, load_piezo_orientation

    doc = json.loads(OUT_JSON.read_text()) if OUT_JSON.exists() else {}
    df = load_dataset("piezoelectric", include_flagged=False).set_index("material_id", drop=False)
    doc["validate"] = _validation()
    table = load_piezo_orientation().set_index("material_id")
    refs = reference_rows(df.reset_index(drop=True))
    recipes = {}
    names = ["lattice", "physics", *sorted(d.name for d in RUNS.glob("*-*ep") if d.is_dir())] if RUNS.is_dir() else []
    for name in names:
        preds, walls = _oof(name)
        if len(walls) == 5:
            recipes[name] = (preds, walls)
    doc["grouped_cv"] = {}
    if recipes:
        ids = sorted(set.intersection(*(set(p) for p, _ in recipes.values())))
        rows = {}
        for labels, (preds, walls) in recipes.items():
            rows[labels] = grade(lambda m, p=preds: p[m], df, table, refs, ids) | {"walls": walls}
        with_e = [m for m in ids if m in table.index and table.loc[m, "born"] != "none"]
        rows["physics estimate alone (rows with one)"] = grade(lambda m: table.loc[m, "e_ion"], df, table, refs, with_e)
        if "physics" in recipes:
            # physics as a baseline without retraining: is the network better with the estimate mixed in?
            net = recipes["physics"][0]
            rows["physics network, same rows"] = grade(lambda m: net[m], df, table, refs, with_e)
            rows["mean of network and estimate, same rows"] = grade(lambda m: 0.5 * (net[m] + table.loc[m, "e_ion"]), df, table, refs, with_e)
        rows["all zeros"] = grade(lambda m: np.zeros((3, 3, 3)), df, table, refs, ids)
        if {"lattice", "physics"} <= set(recipes):
            lat, phy = rows["lattice"], rows["physics"]
            doc["grouped_cv"]["verdict"] = {
                "more_reference_signs_right": phy["references_right"] > lat["references_right"],
                "higher_sign_agreement_decided": phy["sign_largest_decided"] > lat["sign_largest_decided"],
                "fnorm_closest_within_5pct": phy["fnorm_closest_sign_open"] <= 1.05 * lat["fnorm_closest_sign_open"],
            }
            doc["grouped_cv"]["verdict"]["ship_physics"] = all(doc["grouped_cv"]["verdict"].values())
            for name in recipes:
                if name.startswith("physics-"):
                    r = rows[name]
                    doc["grouped_cv"][f"epochs_verdict_{name}"] = bool(
                        r["fnorm_closest_sign_open"] < phy["fnorm_closest_sign_open"] and r["sign_largest_decided"] >= phy["sign_largest_decided"])
        doc["grouped_cv"]["rows"] = rows
    doc["test_split"] = test_split(df, table, refs, args.previous)
    doc["command"] = "PYTHONPATH=. python benchmarks/piezo_orientation.py report" + (f" --previous {args.previous}" if args.previous else "")
    OUT_JSON.write_text(json.dumps(doc, indent=2, default=float) + "\n")
    OUT_MD.write_text(markdown(doc))
    print(OUT_MD.read_text())


def test_split(df, table, refs, previous: str | None) -> dict:
    """The fixed test split (never a criterion): the shipped ensemble, ``previous`` (another model
    directory, e.g. the ensemble shipped before) and all zeros, graded as the grouped-CV rows."""
    import torch

    from gmtnet.models.ensemble import load_ensemble
    from gmtnet.predict import Predictor
    from gmtnet.weights import shipped_model_dir

    ids = sorted(df.index[df["split"] == "test"])
    out = {}
    models = {"shipped": shipped_model_dir("piezoelectric")} | ({"previous": Path(previous)} if previous else {})
    for name, path in models.items():
        pred = Predictor({"piezoelectric": load_ensemble(path, "cpu")}, torch.device("cpu")).predict_many([df.loc[m, "structure"] for m in ids], "piezoelectric")
        tensors = {m: p.tensor for m, p in zip(ids, pred)}
        out[name] = grade(lambda m, t=tensors: t[m], df, table, refs, ids) | {"model_dir": str(path)}
    out["all zeros"] = grade(lambda m: np.zeros((3, 3, 3)), df, table, refs, ids)
    return out


def _pct(x) -> str:
    return "-" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{100 * x:.1f}"


def _row(name: str, r: dict) -> str:
    return (f"| {name} | {r['n']} | {r['fnorm_closest_sign_open']:.3f} | {r['fnorm_ratio_to_zeros']:.2f} | {r['decided_n']} | "
            f"{r['fnorm_strict_decided']:.3f} | {_pct(r['ewt25_strict_decided'])} [{_pct(r['ewt25_interval'][0])}, {_pct(r['ewt25_interval'][1])}] | "
            f"{_pct(r['sign_largest_decided'])} [{_pct(r['sign_interval'][0])}, {_pct(r['sign_interval'][1])}] | "
            f"{_pct(r['unique_rows_as_given_sign'])} | {r['references_right']}/{r['references_n']} | {r['references_published_right']} |")


def markdown(doc: dict) -> str:
    v = doc["validate"]
    u = v["unique_rows"]
    lines = [
        "# Piezoelectric signs: the physics orientation rule and the retrained model (issue 17)",
        "",
        "Generated by `benchmarks/piezo_orientation.py validate|report`; edit the script, not this file.",
        "Physics estimate: the ionic piezo tensor e_ion = (e/Ω) Σ Z*·Γ (`gmtnet.ionic`, SevenNet-0 force constants and",
        "internal strain on the bundled cells, DFT Born charges where the crystal is in the DFPT set, else formal",
        "charges), cached in `ionic-physics-rows.jsonl` by `benchmarks/ionic_physics.py run`. The rule and the labels it",
        "writes (and where these checks run): `scripts/orient_piezo.py` → `gmtnet/resources/data/piezoelectric_orientation.parquet`.",
        "",
        "## 1. The unique-orientation rows as given",
        "",
        f"Sign of the label's largest |component| against e_ion: **{_pct(u['sign_agreement_largest_component'])} %** of {u['n']} rows",
        "(target ≥ 80 %: not met). By class, with the median cosine of e_ion with the label as given and with the best",
        "other sign-open candidate (`gmtnet.orientation.sign_candidates`: inversion, and for a rhombohedral lattice the",
        "2-fold rotation about its 3-fold axis):",
        "",
        "| point group | n | sign agrees | median cos(e_ion, label) | median cos(e_ion, best other candidate) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for pg, d in u["by_point_group"].items():
        lines.append(f"| {pg} | {d['n']} | {d['agree']} | {d['median_cos_label']:+.2f} | {d['median_cos_best_other_candidate']:+.2f} |")
    lines += [
        "",
        "The disagreement has structure, and it is the labels' frame, not noise in the physics: every unique row is",
        "in class 1, 2, 222 or 32, and all the 32 rows are R32 (rhombohedral). The IEEE rule puts a trigonal crystal's",
        "x1 along a hexagonal axis a, but in a rhombohedral lattice a and −a are not related by any lattice operation",
        "(obverse/reverse setting), so the lattice analysis called these rows unique while their sign is open; after",
        "that rotation e_ion and the label agree almost exactly. In class 2 the label matches −e_ion (an improper frame",
        "change). In 1 and 222 the estimate is uninformative (|cos| small): the clamped-ion part, which it omits, matters",
        "there. So the source's sign is not tied to the structure for these rows either, and every IEEE-frame row's sign",
        "is treated as open: `sign_candidates` lists every such tensor and the rule picks one where the physics decides.",
        "",
        "## 2. The rule against signs known independently of it",
        "",
        "Published: wurtzite AlN, GaN, ZnO with +c from cation to anion along the c-parallel bond have e33 > 0 and",
        "e31 < 0 (Bernardini, Fiorentini & Vanderbilt, PRB 56, R10024 (1997)). Off-centring: polar ABO3 oxides (perovskite and",
        "LiNbO3 types; one octahedral B cation of Ti, Nb, Ta, Fe, …, shifted ≥ 0.05 Å from its O6 centroid along the polar",
        "axis) have a positive longitudinal e along that shift: the criterion the issue grades polar perovskites by.",
        "",
        "| reference | n | label as given right | physics estimate right | rule decided the sign | rule right when decided |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for kind in ("published", "offcentring"):
        r = v["references"][kind]
        lines.append(f"| {kind} | {r['n']} | {r['label_as_given_right']} | {r['physics_estimate_right']}/{r['with_estimate']} | "
                     f"{r['decided']} | {r['rule_right_when_decided']}/{r['decided']} |")
    lines += ["", "| material | formula | reference | point group | off-centring Å | Z* | stable | candidates kept | label as given | estimate | rule |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in v["references"]["rows"]:
        yn = lambda x: "-" if x is None else ("right" if x else "wrong")
        lines.append(f"| {r['material_id']} | {r['formula']} | {r['kind']} | {r['point_group']} | {r['shift_A'] or '-'} | {r['born']} | "
                     f"{'yes' if r['stable'] else 'no'} | {r['n_kept']}/{r['n_candidates']} | {yn(r['label_as_given_right'])} | {yn(r['physics_right'])} | "
                     f"{yn(r['rule_right']) if r['decided'] else 'undecided'} |")
    rule = v["rule"]
    lines += ["", "A row's sign counts as decided when every candidate the rule keeps has the same verdict.", "", f"Rule (margin {rule['margin']} in cosine, ‖e_ion‖ ≥ {rule['min_norm_C_m2']} C/m², no unstable mode; fixed before grading): "
              f"{rule['decided']} of {rule['rows']} IEEE-frame rows decided ({rule['decided_label_as_given']} the label as given, "
              f"{rule['decided_other_candidate']} another candidate), {rule['narrowed']} narrowed to fewer candidates; {rule['rows'] - rule['with_estimate']} rows have no estimate "
              f"(more sites than the physics run took), {rule['undecided_unstable']} an unstable mode.", ""]
    g = doc.get("grouped_cv", {}).get("rows")
    if g:
        lines += [
            "## 3. Grouped 5-fold cross-validation: training on the physics-oriented labels",
            "",
            "Each fold trained from scratch on the non-test rows outside one chemical-system fold (`group_fold`), seed =",
            "fold, shipped architecture, last weights kept, 1 CPU thread; `lattice` = the labels as before (every",
            "candidate the IEEE back-rotation leaves, trained against the closest), `physics` = `orient_labels(…, 'physics')`",
            "(the decided candidate; every sign-open candidate where undecided). Out-of-fold, the same crystals for every",
            "row. Fnorm in C/m² (full 3x3x3 tensor). Closest = against the closest sign-open candidate (magnitude, every",
            "row); strict = against the physics-decided label; sign = the prediction's sign at the label's largest",
            "|component|; unique as given = the same on the unique rows' labels as the source gave them.",
            "",
            f"Ship rule, fixed before any fold finished: {SHIP_RULE} Epochs: {EPOCHS_RULE}",
            "",
            "| model | n | Fnorm closest | / all zeros | decided n | Fnorm strict | EwT25 strict % | sign % | unique as given sign % | references right | published |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for name, r in g.items():
            lines.append(_row(name, r))
        verdict = doc["grouped_cv"].get("verdict")
        if verdict:
            lines += ["", "Verdict: " + ", ".join(f"{k.replace('_', ' ')}: {'yes' if v else 'no'}" for k, v in verdict.items()) + "."]
        for key, v in doc["grouped_cv"].items():
            if key.startswith("epochs_verdict_"):
                lines += ["", f"Epochs ablation `{key.removeprefix('epochs_verdict_')}` replaces the 40-epoch physics recipe: {'yes' if v else 'no'}."]
        t = doc.get("test_split")
        if t:
            lines += ["", "Fixed test split (report only, never a criterion), same metrics; `shipped` = the ensemble shipped when the",
                      "report ran, `previous` = the one before:", "",
                      "| model | n | Fnorm closest | / all zeros | decided n | Fnorm strict | EwT25 strict % | sign % | unique as given sign % | references right | published |",
                      "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
            for name, r in t.items():
                lines.append(_row(name, r))
        walls = {k: r["walls"] for k, r in g.items() if "walls" in r}
        lines += ["", "Wall time per fold (min, 1 thread; load = 1-minute load average at the end): " + "; ".join(
            f"{k}: " + ", ".join(f"{w['wall_seconds'] / 60:.1f} (load {w['load_average'][0]:.1f})" for w in ws) for k, ws in walls.items()), ""]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("validate")
    r = sub.add_parser("run")
    r.add_argument("--labels", choices=("lattice", "physics"), required=True)
    r.add_argument("--fold", type=int, required=True)
    r.add_argument("--epochs", type=int, default=EPOCHS)
    rp = sub.add_parser("report")
    rp.add_argument("--previous", default=None, help="another piezo model directory to grade on the test split")
    args = ap.parse_args(argv)
    if args.cmd == "run":
        run_fold(args.labels, args.fold, args.epochs)
    elif args.cmd == "validate":
        doc = json.loads(OUT_JSON.read_text()) if OUT_JSON.exists() else {}
        doc["validate"] = _validation()
        OUT_JSON.write_text(json.dumps(doc, indent=2, default=float) + "\n")
        OUT_MD.write_text(markdown(doc))
        print(OUT_MD.read_text())
    else:
        report(args)


if __name__ == "__main__":
    main(sys.argv[1:])
