"""Assemble trained ensemble members into the shipped weights: calibrate, measure, write the card.

    python scripts/ship_ensembles.py --kind elastic --members runs/ensemble/elastic/member-{0,1,2,3,4} \
        [--previous PREVIOUS_SHIPPED_DIR] [--out gmtnet/resources/weights/elastic]

Members are ``python -m gmtnet train --init-from … --exclude-fold i --seed i`` runs (their
``config.json`` records the exact command). Every number written here is measured in this run,
through the same :class:`gmtnet.predict.Predictor` path users get (projection, admissibility,
ensemble mean):

1. validation split (never trained on by any member): fit the σ calibration factor (68.3 % of
   reference components within ±1σ) and the 95th percentile of the scalar uncertainty;
2. training split: the :class:`~gmtnet.domain.TrainingDomain` (elements, bonds, sizes);
3. test split (never used for any choice): metrics of the ensemble mean, of its first member alone
   (``Predictor.load(members=1)``) and of ``--previous`` (the weights shipped before), with 95 %
   bootstrap intervals over crystals, per data source, and the calibration of σ.

Labels from IEEE-frame sources have several candidate orientations (:mod:`gmtnet.orientation`):
every row is scored against the candidate closest to the ensemble mean, as in training.
For ε₀, build ε∞ first: the ε₀ ensemble is calibrated with the ε∞ ensemble loaded (ε₀ ⪰ ε∞).

``--committee``: the members are the grouped cross-validation runs of one recipe
(``benchmarks/grouped_cv.py run --fold k``, member k trained from scratch without grouped fold k
and without the test rows). Step 1 then uses their out-of-fold predictions instead of the
validation split (which they trained on): every non-test Materials Project row is predicted by the
member that did not see its grouped fold, against σ = the whole committee's spread on that crystal
(what a user gets), and the σ scale, the 95th percentile and the coverage on the strongly
anisotropic rows are measured there. Step 2 covers every row the members trained on (the non-test
rows of :func:`gmtnet.train.union_frame` when they trained on the DFPT rows too). The card also
carries the grouped-CV table of ``benchmarks/results/grouped-cv.json`` and each run's wall time.

    python scripts/ship_ensembles.py --kind dielectric_electronic --committee \
        --members runs/grouped_cv/union/fold-{0,1,2,3,4} --previous runs/previous/dielectric_electronic
    python scripts/ship_ensembles.py --kind dielectric --committee \
        --members runs/grouped_cv/eps0-mp/fold-{0,1,2,3,4} --previous runs/previous/dielectric

The card quotes the grouped-CV rows of its own kind (``grouped-cv.json`` entries carry ``kind``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from gmtnet.data import N_FOLDS, label_candidates, load_dataset, orient_labels
from gmtnet.domain import TrainingDomain
from gmtnet.models.ensemble import ModelEnsemble, calibration, fit_std_scale, load_ensemble, save_ensemble, scalar_uncertainty
from gmtnet.graph import build_graph
from gmtnet.kinds import get_kind
from gmtnet.metrics import bootstrap_ci, closest_candidates, evaluate, frobenius_errors, relative_errors
from gmtnet.orientation import pad_candidates
from gmtnet.predict import Predictor
from gmtnet.models.network import load_model
from gmtnet.weights import shipped_model_dir

DEST = Path("gmtnet/resources/weights")
#: Largest / smallest eigenvalue of the DFT tensor above which a rank-2 crystal counts as strongly anisotropic.
ANISOTROPY_RATIO = 2.0


def committee_folds(member_dirs) -> list[int]:
    """Each member's held-out grouped fold (``config.json``: ``train.group_cv_fold``); a committee
    needs exactly one member per fold, so that every non-test crystal has one member that never saw it."""
    folds = []
    for d in member_dirs:
        fold = json.loads((Path(d) / "config.json").read_text()).get("train", {}).get("group_cv_fold")
        if fold is None:
            raise ValueError(f"{d}: not a grouped cross-validation run (config.json has no train.group_cv_fold); "
                             "--committee takes the runs of benchmarks/grouped_cv.py run --fold k")
        folds.append(int(fold))
    if sorted(folds) != list(range(N_FOLDS)):
        raise ValueError(f"--committee needs one member per grouped fold 0..{N_FOLDS - 1}, got folds {folds}")
    return folds


def anisotropic(true: np.ndarray, kind: str) -> np.ndarray:
    """Rows whose largest/smallest eigenvalue exceeds :data:`ANISOTROPY_RATIO` (rank 2 only)."""
    if get_kind(kind).rank != 2:
        return np.zeros(len(true), bool)
    eig = np.linalg.eigvalsh(0.5 * (true + np.swapaxes(true, -1, -2)))
    with np.errstate(divide="ignore", invalid="ignore"):
        return eig[:, -1] / eig[:, 0] > ANISOTROPY_RATIO


def label_orientation(member_dirs) -> str:
    """The members' ``train.label_orientation`` (``"lattice"`` for runs made before it existed);
    they must agree, since the ensemble is calibrated and graded on those labels."""
    from gmtnet.train import trained_label_orientation

    found = {trained_label_orientation(d) for d in member_dirs}
    if len(found) != 1:
        raise ValueError(f"members trained on differently oriented labels: {sorted(found)}")
    return found.pop()


def committee_oof(predictor: Predictor, kind: str, df, folds: list[int]) -> dict:
    """Out-of-fold predictions of a grouped-CV committee on the non-test rows of ``df``.

    Each crystal's tensor is that of the member whose run held out the crystal's grouped fold
    (admissible and projected, as in the ensemble); its raw σ is the whole committee's spread on
    that crystal, the quantity the calibrated σ scales at prediction time. Four of the five
    members trained on the crystal, so this spread is smaller than on a new crystal and the
    fitted scale errs on the large side (the test split shows by how much).
    """
    k = get_kind(kind)
    rows = df[df.split != "test"]
    member_of = {f: i for i, f in enumerate(folds)}
    preds = []
    for start in tqdm(range(0, len(rows), 64), desc=f"{kind}: out-of-fold {len(rows)} rows", leave=False):
        preds += predictor.predict_many(list(rows.structure.iloc[start : start + 64]), kind)
    bad = [p.message for p in preds if not hasattr(p, "tensor")]
    if bad:
        raise RuntimeError(f"{len(bad)} rows failed: {bad[:3]}")
    which = rows.group_fold.astype(int).map(member_of).to_numpy()
    mean = np.stack([p.members[i] for p, i in zip(preds, which, strict=True)])
    std = np.stack([p.std for p in preds]) / predictor.models[kind].std_scale
    cands, mask = pad_candidates(label_candidates(rows, k), k.shape)
    true, _ = closest_candidates(mean, cands, mask, k)
    return {"mean": mean, "std": std, "true": true, "anisotropic": anisotropic(true, kind)}


def _hits(mean, true, kind) -> dict:
    """n, EwT25 with its 95 % bootstrap interval and Fnorm of ``mean`` against ``true``."""
    err = frobenius_errors(mean, true, kind)
    hit = (relative_errors(mean, true, kind) < 0.25).astype(float)
    return {"n": int(len(hit)), "ewt25": float(hit.mean()), "ewt25_ci95": bootstrap_ci(hit), "fnorm": float(err.mean())}


def _committee_runs(member_dirs) -> list[dict]:
    """Each member run's ``wall.json`` (wall time, load average, threads, learned source scales)."""
    out = []
    for d in member_dirs:
        wall = Path(d) / "wall.json"
        out.append(json.loads(wall.read_text()) if wall.is_file() else {})
    return out


def grouped_cv_summary(kind: str = "dielectric_electronic", path: Path = Path("benchmarks/results/grouped-cv.json")) -> dict | None:
    """The grouped-CV figures of ``kind``'s recipes that the card quotes (``benchmarks/grouped_cv.py
    report``), or ``None``. Entries without a ``kind`` predate the ε₀ runs and are ε∞."""
    if not path.is_file():
        return None
    doc = json.loads(path.read_text())
    keep = ("fold_mean_ewt25", "mp", "dfpt", "epochs", "fold_mean_fnorm", "fold_mean_k_vrh_mae", "fold_mean_g_vrh_mae",
            "committee_calibration", "train")

    def mine(v):
        return v.get("kind", "dielectric_electronic") == kind

    variants = {name: {k: v[k] for k in keep if k in v} for name, v in doc["variants"].items() if mine(v)}
    if not variants:
        return None
    out = {"variants": variants, "test_split": {n: v for n, v in doc.get("test_split", {}).items() if mine(v)},
           "offset_pbesol_over_pbe": doc.get("offset_pbesol_over_pbe")}
    if kind == "dielectric_electronic":
        # the paired out-of-fold comparisons (LOSS_RULE) are between ε∞ recipes; shipped_recipe says which
        # ensemble the test table's "shipped" row is (after a committee ships, it is that committee)
        out |= {k: doc[k] for k in ("paired", "shipped_recipe") if doc.get(k)}
    return out


def predict_split(predictor: Predictor, kind: str, df) -> dict:
    """Ensemble predictions for the rows of ``df``: mean, raw (uncalibrated) std, candidates."""
    k = get_kind(kind)
    preds = []
    for start in tqdm(range(0, len(df), 64), desc=f"{kind}: predict {len(df)} rows", leave=False):
        preds += predictor.predict_many(list(df.structure.iloc[start : start + 64]), kind)
    bad = [p.message for p in preds if not hasattr(p, "tensor")]
    if bad:
        raise RuntimeError(f"{len(bad)} rows failed: {bad[:3]}")
    mean = np.stack([p.tensor for p in preds])
    scale = predictor.models[kind].std_scale
    std = None if preds[0].std is None else np.stack([p.std for p in preds]) / scale
    cands, mask = pad_candidates(label_candidates(df, k), k.shape)
    true, _ = closest_candidates(mean, cands, mask, k)
    return {"mean": mean, "std": std, "true": true, "candidates": cands, "mask": mask,
            "constraints": [p.constraints for p in preds], "warnings": [p.warnings for p in preds]}


def scored(kind: str, df, out: dict) -> dict:
    """Metrics (ambiguity-aware, with unique rows and breakdowns) plus 95 % bootstrap intervals."""
    m = evaluate(out["mean"], out["candidates"][:, 0], kind, out["constraints"], list(df.crystal_system),
                 candidates=out["candidates"], candidate_mask=out["mask"], point_groups=list(df.point_group))
    err = frobenius_errors(out["mean"], out["true"], kind)
    hit = relative_errors(out["mean"], out["true"], kind) < 0.25
    m["overall"]["fnorm_ci95"] = bootstrap_ci(err)
    m["overall"]["ewt25_ci95"] = bootstrap_ci(hit.astype(float))
    m["per_source"] = {}
    sources = df["source"] if "source" in df else pd.Series([get_kind(kind).dataset] * len(df), index=df.index)
    for src in sorted(sources.unique()):
        sel = (sources == src).to_numpy()
        m["per_source"][src] = {
            "n": int(sel.sum()), "fnorm": float(err[sel].mean()), "fnorm_ci95": bootstrap_ci(err[sel]),
            "ewt25": float(hit[sel].mean()), "ewt25_ci95": bootstrap_ci(hit[sel].astype(float)),
        }
    return m


def _warning_counts(warnings) -> dict:
    """How many crystals got each kind of warning (by its opening words)."""
    kinds = {"not learned": "unseen element", "Rare in training": "rare element", "Bonds no training": "unseen bond",
             "more than any training": "bigger cell", "Volume per atom": "volume per atom", "95 %": "high uncertainty"}
    return {label: int(sum(any(key in w for w in ws) for ws in warnings)) for key, label in kinds.items()}


def _electronic_note(path: Path) -> str:
    """Which ε∞ ensemble ε₀ was measured with: its path (relative to the repository when inside it) and recipe."""
    path = path.resolve()
    # the shipped weights may resolve into another checkout (editable install): show them by their package path
    parts = path.parts
    shown = Path(*parts[parts.index("gmtnet"):]) if "gmtnet" in parts else path
    meta_path = path / "ensemble.json"
    recipe = json.loads(meta_path.read_text()).get("recipe", "fine-tuned copies") if meta_path.is_file() else "single model"
    return f"`{shown}` ({'grouped-CV committee' if recipe == 'committee' else recipe})"


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def _row(name: str, m: dict, unit: str) -> str:
    lo, hi = m["fnorm_ci95"]
    elo, ehi = m["ewt25_ci95"]
    ewt10 = _pct(m["ewt10"]) if "ewt10" in m else "–"
    return (f"| {name} | {m['n']} | {m['fnorm']:.4g} [{lo:.4g}, {hi:.4g}] | {_pct(m['ewt25'])} "
            f"[{_pct(elo)}, {_pct(ehi)}] | {ewt10} |")


def _admissibility_and_speed(kind: str) -> str:
    """Admissibility (``benchmarks/admissibility.py``) and speed (``benchmarks/speed.py``) lines
    from their committed results, when present."""
    lines = []
    adm = Path("benchmarks/results/admissibility.json")
    if adm.is_file():
        row = json.loads(adm.read_text()).get("kinds", {}).get(kind)
        if row:
            lines.append(f"- Physically admissible: every member's output already was for {_pct(row['raw_admissible_share'])} "
                         f"of the {row['crystals']} usable bundled crystals; after clipping {_pct(row['final_admissible_share'])}, "
                         f"exact zeros and equalities kept in {_pct(row['final_neumann_share'])} "
                         "(`python benchmarks/admissibility.py`).")
    speed = Path("benchmarks/results/speed-cpu-1thread.json")
    if speed.is_file():
        cases = json.loads(speed.read_text()).get("single", {}).get(kind, {})
        if cases:
            by_size = {c["nsites"]: c for c in cases.values() if "ensemble_ms" in c}  # one line per crystal size
            lines.append("- Speed, one CPU thread, warm, end to end (`python benchmarks/speed.py --threads 1`): " + "; ".join(
                f"{n} atoms {c['ensemble_ms']:.1f} ms (one network {c['fast_ms']:.1f} ms)" for n, c in sorted(by_size.items())) + ".")
    return ("## Admissibility and speed\n" + "\n".join(lines) + "\n") if lines else ""


def _baselines_section(kind: str, mt: dict) -> str:
    """The baselines' test figures (``benchmarks/results/accuracy.json``: single networks trained
    on an H100 before the ensembles) beside the shipped ensemble, saying plainly who wins."""
    path = Path("benchmarks/results/accuracy.json")
    if not path.is_file():
        return ""
    doc = json.loads(path.read_text())
    rows = {r["model"]: r for r in doc["results"] if r["kind"] == kind}
    ens = mt["ensemble"]["overall"]
    same = kind in ("dielectric", "dielectric_electronic")
    # e and C rows changed with issue 9 (orientation candidates, the legacy elastic rows): compare
    # the ensemble on the rows the baselines were scored on where that subset exists.
    if kind == "elastic" and "matminer_elastic_tensor_2015" in mt["ensemble"].get("per_source", {}):
        ens = {**mt["ensemble"]["per_source"]["matminer_elastic_tensor_2015"]}
        scope = "the 89 original test rows (the baselines' rows)"
    else:
        scope = "the same 99 test rows" if same else "the test split, new labels (the baselines were scored on the labels before issue 9)"
    lines = [f"| {name} | {r['n']} | {r['fnorm']:.4g} | {_pct(r['ewt25'])} |" for name, r in rows.items()]
    wins = [name for name, r in rows.items() if name != "gmtnet" and ens["fnorm"] < r["fnorm"] and ens["ewt25"] > r["ewt25"]]
    loses = [name for name in rows if name != "gmtnet" and name not in wins]
    verdict = ("The ensemble beats both baselines on Fnorm and EwT25." if not loses else
               f"**The ensemble does not beat {' and '.join(f'{n}-style' for n in loses)} on both Fnorm and EwT25** here.")
    return f"""## Against the baselines
Single networks of each architecture trained on an H100 (`benchmarks/results/ACCURACY.md`), fixed test split;
the shipped ensemble on {scope}: Fnorm {ens['fnorm']:.4g}, EwT25 {_pct(ens['ewt25'])}. {verdict}

| model (single network, H100) | n | Fnorm | EwT25 |
|---|---|---|---|
{chr(10).join(lines)}
"""


def _elastic_grouped_cv_table(gcv: dict) -> str:
    """Elastic grouped-CV table (``benchmarks/grouped_cv.py report``): out-of-fold EwT25, Fnorm and
    K/G VRH errors, the test split through the Predictor, and the verdict of its pre-registered rule."""
    def ci(v, pct=False):
        if not v:
            return "–"
        f = _pct if pct else (lambda x: f"{x:.1f}")
        return f"{f(v[0])} [{f(v[1])}, {f(v[2])}]"

    rows = []
    for name, v in gcv["variants"].items():
        g = v["mp"]["all"]
        rows.append(f"| {name} | {v.get('epochs', '–')} | {ci(v.get('fold_mean_ewt25'), True)} | {_pct(g['ewt25'])} "
                    f"[{_pct(g['ewt25_ci95'][0])}, {_pct(g['ewt25_ci95'][1])}] (n = {g['n']}) | {g['fnorm']:.1f} "
                    f"| {g['k_vrh_mae']:.1f} [{g['k_vrh_mae_ci95'][0]:.1f}, {g['k_vrh_mae_ci95'][1]:.1f}] | {ci(v.get('fold_mean_k_vrh_mae'))} "
                    f"| {g['g_vrh_mae']:.1f} [{g['g_vrh_mae_ci95'][0]:.1f}, {g['g_vrh_mae_ci95'][1]:.1f}] | {ci(v.get('fold_mean_g_vrh_mae'))} |")
    tests = [f"| {n} | {v['members']} | {v['n']} | {_pct(v['ewt25'])} [{_pct(v['ewt25_ci95'][0])}, {_pct(v['ewt25_ci95'][1])}] "
             f"| {v['fnorm']:.1f} | {v['k_vrh_mae']:.1f} | {v['g_vrh_mae']:.1f} |" for n, v in gcv.get("test_split", {}).items()]
    verdicts = [f"- `{n}`: " + ", ".join(f"{c} {'passes' if ok else 'fails'}" for c, ok in v["verdict"]["checks"].items())
                + f" → {'ship the committee' if v['verdict']['ship'] else 'keep the fine-tuned ensemble'}."
                for n, v in gcv.get("test_split", {}).items() if "verdict" in v]
    return f"""Each fold's model trained **from scratch** on the non-test rows outside its grouped fold and scored on that
fold (`benchmarks/grouped_cv.py report`, `benchmarks/results/GROUPED_CV.md`); last weights kept. EwT25 (%) pooled
over the out-of-fold crystals with a 95 % bootstrap interval, and as the mean of the 5 folds with a t interval;
Fnorm in GPa (6x6 IEEE Voigt); K_VRH and G_VRH mean absolute errors in GPa of the admissible prediction
(`gmtnet.scalars.vrh_moduli`), pooled and as a fold mean.

| recipe | epochs | EwT25, fold mean | EwT25, pooled | Fnorm | K_VRH MAE, pooled | K_VRH MAE, fold mean | G_VRH MAE, pooled | G_VRH MAE, fold mean |
|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

Fixed test split through the user's path (`gmtnet.predict.Predictor`); "elastic-finetuned" = fine-tuned copies of one
network (the ensemble shipped before issue 22), "elastic-shipped" = the shipped ensemble when the report ran, if it is
no longer that one:

| model | members | n | EwT25 | Fnorm | K_VRH MAE | G_VRH MAE |
|---|---|---|---|---|---|---|
{chr(10).join(tests)}

Rule fixed before any fold finished (`ELASTIC_RULE`, `benchmarks/grouped_cv.py`): the committee replaces the
fine-tuned ensemble if, on the test split, its EwT25 is at most 5 points lower and its Fnorm, K_VRH MAE and G_VRH
MAE at most 1.10× higher. On the grouped folds the fine-tuned recipe is leaky (it starts from the previously
shipped single model, which saw every non-test crystal): its row there, if any, is for reference only.
{chr(10).join(verdicts)}
"""


def _domain_separation_section(kind: str, path: Path = Path("benchmarks/results/domain-separation.json")) -> str:
    """Card section: do the warnings separate worse predictions (``benchmarks/domain_separation.py``)?"""
    if not path.is_file():
        return ""
    e = json.loads(path.read_text())["kinds"].get(kind)
    if not e:
        return ""
    import importlib.util

    spec = importlib.util.spec_from_file_location("domain_separation", Path(__file__).resolve().parents[1] / "benchmarks" / "domain_separation.py")
    ds = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ds)

    def alt(part):
        sc = e[part]["scores"]
        return (f"the calibrated uncertainty as a score: AUC {sc['unc'].get('auc_ewt25_failure', float('nan')):.2f} for EwT25 failure "
                f"(σ/‖prediction‖: {sc['rel_unc'].get('auc_ewt25_failure', float('nan')):.2f})"
                + (", inflated out of fold since four of the five members saw each crystal" if part == "oof" else ""))

    return f"""## Do the warnings separate bad predictions?
Measured by `benchmarks/domain_separation.py` (`benchmarks/results/DOMAIN_SEPARATION.md`); AUC = probability that a
warned crystal's error exceeds an unwarned one's (0.5 = no information).
- Out of fold ({e['oof']['n']} crystals, each predicted by the member that did not see its chemical system and warned
  against that member's training crystals): {ds.verdict(e['oof'])}; {alt('oof')}.
- Fixed test split ({e['test']['n']} crystals, the shipped ensemble's own warnings): {ds.verdict(e['test'])}; {alt('test')}.
"""


def piezo_grouped_cv_summary(path: Path = Path("benchmarks/results/piezo-orientation.json")) -> dict | None:
    """The piezo label recipes' grouped-CV rows (``benchmarks/piezo_orientation.py report``), or None."""
    if not path.is_file():
        return None
    doc = json.loads(path.read_text()).get("grouped_cv") or {}
    if not doc.get("rows"):
        return None
    return {"piezo_rows": {name: {k: v for k, v in r.items() if k not in ("walls", "references_detail")} for name, r in doc["rows"].items()},
            "verdict": doc.get("verdict")}


def _piezo_grouped_cv_table(gcv: dict) -> str:
    lines = ["Out of fold (`benchmarks/piezo_orientation.py report`, [PIEZO_ORIENTATION.md](../../../../benchmarks/results/PIEZO_ORIENTATION.md)):",
             "each fold trained from scratch on the other chemical-system folds; `lattice` = the labels as the source gave",
             "them (every candidate the IEEE back-rotation leaves, trained against the closest), `physics` = the",
             "physics-oriented labels (shipped). Fnorm in C/m²; closest = against the closest sign-open candidate; strict",
             "= against the physics-decided label; sign = the prediction's sign at the label's largest |component|;",
             "references = published wurtzite signs and B-cation off-centring of polar ABO3 oxides.", "",
             "| model | n | Fnorm closest | / all zeros | Fnorm strict (decided) | EwT25 strict | sign | references right |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, r in gcv["piezo_rows"].items():
        lines.append(f"| {name} | {r['n']} | {r['fnorm_closest_sign_open']:.3f} | {r['fnorm_ratio_to_zeros']:.2f} | "
                     f"{r['fnorm_strict_decided']:.3f} (n = {r['decided_n']}) | {_pct(r['ewt25_strict_decided'])} | "
                     f"{_pct(r['sign_largest_decided'])} | {r['references_right']}/{r['references_n']} |")
    return "\n".join(lines) + "\n"


def _paired_lines(gcv: dict) -> str:
    """The paired out-of-fold comparisons of ``grouped-cv.json`` (``LOSS_RULE``), one line each ("" if none)."""
    lines = []
    for name, e in (gcv.get("paired") or {}).items():
        cells = []
        for label, sub, text in (("mp", "all", "MP"), ("mp", "anisotropic", "MP anisotropic"),
                                 ("dfpt", "all", "DFPT"), ("dfpt", "anisotropic", "DFPT anisotropic")):
            d = e[label][sub]
            lo, hi = d["difference_ci95"]
            cells.append(f"{text} {100 * d['difference']:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}] (n = {d['n']})")
        v = e["verdict"]
        cand = name.split(" vs ")[0]
        lines.append(f"- `{name}`, paired on the same out-of-fold crystals (EwT25 difference in points, 95 % bootstrap "
                     f"interval): {'; '.join(cells)}. Rule fixed before its folds were graded (`LOSS_RULE`, "
                     f"`benchmarks/grouped_cv.py`: higher pooled MP EwT25 and no anisotropic MP drop beyond "
                     f"{100 * v['anisotropic_allowed_drop']:.1f} points, that interval's half-width): "
                     + (f"`{cand}` ships." if v["ship"] else f"not met, `{e['reference']}` stays shipped."))
    return ("\n" + "\n".join(lines) + "\n") if lines else ""


def grouped_cv_table(gcv: dict | None, shipped: str | None = None) -> str:
    """Before/after grouped-CV table from ``meta['grouped_cv']`` (``grouped-cv.json``); ``shipped``: the
    variant whose committee the card describes (marked in the table), when known."""
    if not gcv:
        return "(no `benchmarks/results/grouped-cv.json` when this card was written)\n"
    if "piezo_rows" in gcv:
        return _piezo_grouped_cv_table(gcv)
    if any(v.get("mp", {}).get("all", {}).get("k_vrh_mae") is not None for v in gcv["variants"].values()):
        return _elastic_grouped_cv_table(gcv)

    def cell(g):
        return f"{_pct(g['ewt25'])} [{_pct(g['ewt25_ci95'][0])}, {_pct(g['ewt25_ci95'][1])}] (n = {g['n']})"

    label = {"mp": "before: Materials Project rows only", "union": "after: + DFPT rows, learned per-source scale",
             "union-relative": "+ DFPT rows, learned per-source scale, relative loss"}
    if shipped is None and "union" in gcv["variants"]:
        shipped = "union"  # cards written before the ε∞ table carried more than one union recipe
    rows = []
    fm_all = {}
    for name, v in gcv["variants"].items():
        fm = v.get("fold_mean_ewt25")
        fm_all[name] = f"{_pct(fm[0])} [{_pct(fm[1])}, {_pct(fm[2])}]" if fm else "–"
    tests = [f"| {name} | {v['n']} | {_pct(v['ewt25'])} [{_pct(v['ewt25_ci95'][0])}, {_pct(v['ewt25_ci95'][1])}] | {v['fnorm']:.3f} |"
             for name, v in gcv.get("test_split", {}).items()]
    epochs = sorted({str(v["epochs"]) for v in gcv["variants"].values() if "epochs" in v}) or ["20"]
    recipe = f"shipped architecture, {' or '.join(epochs)} epochs (see the recipe's name) from scratch, seed k for fold k"
    if not any("dfpt" in v for v in gcv["variants"].values()):
        # ε₀: Materials Project labels only, so no DFPT columns; the high-ε subset instead
        for name, v in gcv["variants"].items():
            rows.append(f"| {name} | {fm_all[name]} | {cell(v['mp']['all'])} | {cell(v['mp']['anisotropic'])} "
                        f"| {cell(v['mp']['high_eps'])} | {v['mp']['all']['fnorm']:.3f} |")
        return f"""Each member scored on its own held-out grouped fold (`benchmarks/grouped_cv.py report`,
`benchmarks/results/GROUPED_CV.md`); {recipe}; raw member output.
EwT25 with 95 % intervals: fold mean with a t interval over the 5 folds, pooled with a bootstrap over
crystals. Anisotropic = largest/smallest DFT eigenvalue > {ANISOTROPY_RATIO:g}; high ε = mean DFT eigenvalue > 20.

| recipe | EwT25, fold mean | EwT25, pooled | anisotropic | high ε | Fnorm |
|---|---|---|---|---|---|
{chr(10).join(rows)}

The same committees on the fixed test split as that script grades them (`gmtnet.train.evaluate_model`,
raw members' mean without admissibility against ε∞, so the figures differ slightly from the test table
above; "eps0-shipped" = the ensemble shipped before this one):

| model | n | EwT25 | Fnorm |
|---|---|---|---|
{chr(10).join(tests)}
"""
    for name, v in gcv["variants"].items():
        text = label.get(name, name) + (" (shipped)" if name == shipped else "")
        rows.append(f"| {text} | {fm_all[name]} | {cell(v['mp']['all'])} | {cell(v['mp']['anisotropic'])} "
                    f"| {cell(v['dfpt']['all'])} | {cell(v['dfpt']['anisotropic'])} | {v['mp']['all']['fnorm']:.3f} |")
    offset = gcv.get("offset_pbesol_over_pbe") or float("nan")
    shipped_words = (f"the ε∞ ensemble shipped when the report ran, {gcv['shipped_recipe']}" if gcv.get("shipped_recipe")
                     else "the ensemble shipped before this one")
    return f"""Each member scored on its own held-out grouped fold (`benchmarks/grouped_cv.py report`,
`benchmarks/results/GROUPED_CV.md`); every recipe: {recipe}.
EwT25 with 95 % intervals: fold mean with a t interval over the 5 folds, pooled with a bootstrap over
crystals. DFPT labels divided by {offset:.3f} (median PBEsol/PBE offset). Anisotropic = largest/smallest DFT
eigenvalue > {ANISOTROPY_RATIO:g}.

| recipe | MP EwT25, fold mean | MP EwT25, pooled | MP anisotropic | DFPT (PBE level) | DFPT anisotropic | MP Fnorm |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}
{_paired_lines(gcv)}
The same committees on the fixed test split as that script grades them (`gmtnet.train.evaluate_model`,
so the figures differ slightly from the test table above; "shipped" = {shipped_words}):

| model | n | EwT25 | Fnorm |
|---|---|---|---|
{chr(10).join(tests)}
"""


def _committee_data_section(k, meta: dict, counts: dict) -> str:
    """Card section: data, recipe, commands and each member run's wall time (committee mode)."""
    tr = meta["member_train"]
    rows = meta["train_rows"]
    runs = meta["member_runs"]
    walls = [r.get("wall_seconds") for r in runs]
    scales = [(r.get("source_scales") or {}).get("dfpt_pbesol") for r in runs]  # null when no DFPT rows
    per_run = "; ".join(
        f"fold {f}: {r['wall_seconds'] / 60:.1f} min wall ({r['train_seconds'] / 60:.1f} min training, {r['epochs_run']} epochs, "
        f"{r['train_crystals']} crystals, load average {r['load_average'][0]:.1f})"
        for f, r in zip(meta["member_folds"], runs, strict=True) if r)
    dfpt = tr.get("add_dfpt")
    source = (f" plus {rows['dfpt']} usable DFPT ε∞ rows (`gmtnet.data.load_dfpt`, ABINIT/PBEsol; their test rows left out too)"
              if dfpt else "")
    scale_line = (f"- Per-source scale: the loss compares a DFPT label with the prediction times a learned exp(s) (the Materials\n"
                  f"  Project rows' scale fixed at 1), so the network itself predicts the Materials Project (PBE) level and\n"
                  f"  the saved members are the plain architecture (the scale lives only in training). Learned DFPT/MP scale per\n"
                  f"  member: {', '.join(f'{x:.3f}' for x in scales if x is not None)}.\n" if dfpt else "")
    total = sum(w for w in walls if w)
    return f"""## Data, members and training (grouped cross-validation committee)
- Data: the unflagged bundled Materials Project rows outside the fixed test split ({rows['materials_project']} crystals:
  train {counts.get('train', 0)} + validation {counts.get('val', 0)}; test {counts.get('test', 0)}){source}. These
  non-test crystals are cut into {len(meta['member_folds'])} grouped folds by **chemical system** (the set of elements,
  `group_fold`; see the data card), so a held-out fold is chemistry its member never saw.
- Member *k* is trained **from scratch** for {tr['epochs']} epochs (shipped architecture, lr {tr['lr']:g}, batch {tr['batch_size']},
  loss {tr.get('loss', 'fnorm')}, seed *k*) on the non-test rows of the other grouped folds; its last weights are kept, so no
  epoch or model is chosen on held-out data. **No member trained on a test crystal.** Member *k* is also the
  grouped-CV model of fold *k*: the committee is both the cross-validation estimate and the shipped ensemble.
{scale_line}- Member commands, run from the repository root as `OMP_NUM_THREADS=1 nice .venv/bin/python <command>` (lowered priority)
  (also in `member-k/config.json`):
{chr(10).join(f'  - `{c}`' for c in meta['member_commands'])}
- Wall time, 1 CPU thread each, on {meta['machine']} shared with other jobs:
  {per_run}. Total {total / 3600:.2f} CPU-thread hours.
- Assembled, calibrated and measured by: `{meta['command']}` ({meta['build_seconds'] / 60:.1f} min).

## Grouped cross-validation (chemical-system folds), before and after
{grouped_cv_table(meta.get('grouped_cv'), committee_variant(meta))}"""


def committee_variant(meta: dict) -> str | None:
    """The grouped-CV variant a committee was assembled from (``runs/grouped_cv/<variant>/fold-k`` in its
    command), or ``None``."""
    import re

    m = re.search(r"runs/grouped_cv/([^/\s]+)/fold-", meta.get("command", ""))
    return m.group(1) if m else None


def _committee_calibration_section(k, meta: dict, rel: str, warn_line: str) -> str:
    """Card section: σ fitted on out-of-fold predictions, checked on the test split; the previous
    ensemble's figures beside it (committee mode)."""
    unit = k.unit_label
    co, ct = meta["calibration"]["oof"], meta["calibration"]["test"]
    ca = meta["calibration"].get("oof_anisotropic")
    om = meta["oof_metrics"]
    aniso = (f"- Strongly anisotropic out-of-fold crystals ({ca['n_crystals']}, {ca['n_components']} components): **{_pct(ca['within_1sigma'])}**\n"
             f"  within ±1σ; Spearman {ca['spearman']:.2f} (p = {ca['spearman_p']:.1g}); mean uncertainty {ca['mean_uncertainty']:.4g} against\n"
             f"  mean error {ca['mean_error']:.4g}. Their out-of-fold EwT25 is {_pct(om['anisotropic']['ewt25'])}.\n" if ca else "")
    prev = meta.get("previous") or {}
    pt = (prev.get("calibration") or {}).get("test")
    prev_words = (f"the grouped-CV committee `{committee_variant(prev)}`, σ scale {prev['std_scale']:.3g} fitted out of fold"
                  if prev.get("recipe") == "committee" else
                  f"fine-tuned copies of one network, σ scale {prev.get('std_scale', float('nan')):.3g} fitted on the validation split")
    prev_line = (f"- Previous ensemble ({prev_words}):\n"
                 f"  test split {_pct(pt['within_1sigma'])} within ±1σ, Spearman {pt['spearman']:.2f}, mean uncertainty {pt['mean_uncertainty']:.4g}\n"
                 f"  against mean error {pt['mean_error']:.4g}.\n" if pt else "")
    return f"""## Uncertainty calibration (out-of-fold)
- σ scale factor {meta['std_scale']:.3g}, fitted on the **out-of-fold** predictions of the {co['n_crystals']} non-test Materials Project
  crystals: each crystal predicted by the member that did not see its grouped fold (out-of-fold EwT25
  {_pct(om['all']['ewt25'])}, Fnorm {om['all']['fnorm']:.4g}), σ = the committee's spread on it. By construction 68.3 % of their
  {co['n_components']} components lie within ±1σ ({_pct(co['within_1sigma'])}); Spearman correlation of the scalar uncertainty
  with the Frobenius error per crystal {co['spearman']:.2f} (p = {co['spearman_p']:.1g}; target ≥ 0.4). This out-of-fold
  correlation is inflated: the spread includes the one member that did not see the crystal, whose deviation from
  the four that did is most of its error. The test split's figure below is the one to quote.
{aniso}- Test split ({ct['n_crystals']} crystals seen by no member, {ct['n_components']} components with σ > 0): **{_pct(ct['within_1sigma'])}** within ±1σ
  (target 60–76 %); Spearman **{ct['spearman']:.2f}** (p = {ct['spearman_p']:.1g}); mean uncertainty {ct['mean_uncertainty']:.4g} against mean
  error {ct['mean_error']:.4g} {unit}.
- Reliability (nominal → observed share within the Gaussian interval), test split: {rel}.
{prev_line}- Warnings: {warn_line} The shipped domain counts every non-test crystal the members trained on; the
  out-of-fold test of the warnings below uses each member's own training crystals instead.
"""


def ensemble_card(kind: str, meta: dict, df) -> str:
    """MODEL_CARD.md text; every number comes from ``meta`` (measured by this script)."""
    k = get_kind(kind)
    unit = k.unit_label
    counts = df["split"].value_counts().to_dict()
    mt = meta["metrics_test"]
    committee = meta.get("recipe") == "committee"
    prev_committee = (meta.get("previous") or {}).get("recipe") == "committee"
    names = {"ensemble": f"ensemble of {len(meta['member_commands'])} (shipped)", "first_member": "first member alone (`members=1`)",
             "previous": (f"previous shipped ensemble (grouped-CV committee `{committee_variant(meta['previous'])}`)" if prev_committee
                          else "previous shipped ensemble (fine-tuned copies)" if committee else "previous shipped single model")}
    rows = [_row(names[n], m["overall"], unit) for n, m in mt.items()]
    src_rows = [_row(f"{names[n]}, {src}", s, unit) for n, m in mt.items() for src, s in m["per_source"].items()] \
        if len(mt["ensemble"]["per_source"]) > 1 else []
    ens = mt["ensemble"]
    uniq = ens.get("unique_rows", {})
    systems = [f"| {sys} | {m['n']} | {m['fnorm']:.4g} | {_pct(m['ewt25'])} | {_pct(m['zero_success'])} | {_pct(m['equality_success'])} |"
               for sys, m in ens["per_crystal_system"].items()]
    ct = meta["calibration"]["test"]
    rel = " · ".join(f"{r['nominal']:.2f}→{r['observed']:.2f}" for r in ct["reliability"])
    d = meta["domain"]
    secs = [s for s in meta["member_train_seconds"] if s is not None]
    init_note = (f"; `--init-from gmtnet/resources/weights/{k.name}` is the single model shipped at commit "
                 f"`{meta['init_from_commit']}`" if meta.get("init_from_commit") else "")
    tw = meta["test_warnings"]
    warn_line = (f"{_pct(tw['share_warned'])} of test crystals get at least one warning "
                 f"({', '.join(f'{n} {w}' for w, n in tw['kinds_of_warning'].items() if n)}); their median relative "
                 f"error is {_pct(tw['median_relative_error_warned'] or float('nan'))} against "
                 f"{_pct(tw['median_relative_error_unwarned'] or float('nan'))} for the others.")
    if committee and meta["member_train"].get("add_dfpt"):
        label_line = ("- Label level: Materials Project DFT (PBE); the members also learned from the DFPT ε∞ set (ABINIT, PBEsol)\n"
                      "  through a learned per-source scale and predict the Materials Project level. See\n"
                      "  `gmtnet/resources/data/DATA_CARD.md`.")
    else:
        label_line = "- Label source: Materials Project DFT; see `gmtnet/resources/data/DATA_CARD.md`."
    if meta.get("label_orientation", "lattice") == "physics":
        label_line += ("\n- Labels' orientation and sign: physics-oriented (`gmtnet.data.orient_labels`, `scripts/orient_piezo.py`): where the\n"
                       "  ionic estimate (Born charges × SevenNet-0 internal strain) decides, the one structure-frame tensor it points to;\n"
                       "  elsewhere every sign-open candidate, scored against the closest. Every figure below uses these labels;\n"
                       "  the rule's check against published and off-centring signs: `benchmarks/results/PIEZO_ORIENTATION.md`.")
    if meta.get("electronic"):
        label_line += (f"\n- Made admissible against the ε∞ ensemble loaded beside it (ε₀ ⪰ ε∞): every figure in this card was\n"
                       f"  measured with {meta['electronic']} loaded.")
    if committee:
        data_section = _committee_data_section(k, meta, counts)
        calib_section = _committee_calibration_section(k, meta, rel, warn_line)
        limit_line = ("- Four of the five members trained on each out-of-fold crystal, so the committee's spread there is\n"
                      "  smaller than on a new crystal and the σ scale fitted there errs on the large side; the\n"
                      "  test split (seen by no member) measures the result.")
    else:
        cv = meta["calibration"]["val"]
        data_section = f"""## Data, members and training
- Unflagged rows of the bundled set, fixed seeded per-material split: train {counts.get('train', 0)},
  validation {counts.get('val', 0)}, test {counts.get('test', 0)} crystals. Member *i* is fine-tuned from the
  previously shipped weights on the training split **without cross-validation fold i**, with seed *i*; the best
  epoch is chosen on the validation split. No member ever trains on a validation or test crystal.
- Member commands (each also in `member-i/config.json`){init_note}:
{chr(10).join(f'  - `{c}`' for c in meta['member_commands'])}
- Member training time: {', '.join(f'{s / 60:.1f}' for s in secs)} min on {', '.join(meta['member_devices'])};
  best epochs {meta['member_best_epochs']}.
- Assembled, calibrated and measured by: `{meta['command']}` ({meta['build_seconds'] / 60:.1f} min).
"""
        calib_section = f"""## Uncertainty calibration
- σ scale factor {meta['std_scale']:.3g}, fitted on the validation split ({cv['n_crystals']} crystals) so that 68.3 % of
  components lie within ±1σ there.
- Test split ({ct['n_crystals']} crystals, {ct['n_components']} components with σ > 0): **{_pct(ct['within_1sigma'])}** within ±1σ
  (target 60–76 %); Spearman correlation of the scalar uncertainty with the Frobenius error per crystal
  **{ct['spearman']:.2f}** (p = {ct['spearman_p']:.1g}; target ≥ 0.4); mean uncertainty {ct['mean_uncertainty']:.4g} against mean
  error {ct['mean_error']:.4g} {unit}.
- Reliability (nominal → observed share within the Gaussian interval), test split: {rel}.
- Warnings: {warn_line}
"""
        limit_line = ("- The members share one starting point, so their spread under-states the error before calibration (the σ scale\n"
                      "  corrects the average, not every crystal).")
        live = grouped_cv_summary(k.name)
        if live:  # grouped CV was run for this kind but its committee was not shipped: show it anyway
            data_section += f"""
## Grouped cross-validation (chemical-system folds): a committee, not shipped
{grouped_cv_table(live)}"""
    p95_ref = meta.get("uncertainty_reference", "validation crystals")
    aniso_test = ens.get("anisotropic")
    aniso_line = (f"\nStrongly anisotropic test crystals (largest/smallest DFT eigenvalue > {ANISOTROPY_RATIO:g}, n = {aniso_test['n']}): "
                  f"EwT25 {_pct(aniso_test['ewt25'])} [{_pct(aniso_test['ewt25_ci95'][0])}, {_pct(aniso_test['ewt25_ci95'][1])}]; "
                  "too few for a verdict, see the grouped-CV table for the subset.\n" if aniso_test and aniso_test["n"] else "")
    return f"""# GMTNet model card: {k.title} ({k.symbol}), a deep ensemble

## What it predicts
- The full-rank {k.rank}-index tensor {k.symbol} ({k.formula}), in **{unit}**, in the **Cartesian frame of the
  input structure**, as the mean of {len(meta['member_commands'])} GMTNet networks; `Prediction.voigt` gives it as a
  {k.voigt_shape[0]}x{k.voigt_shape[1]} Voigt matrix in IEEE order (xx, yy, zz, yz, xz, xy).
- `Prediction.std` / `.std_voigt`: the calibrated per-component standard deviation (same frame, unit and order);
  `Prediction.uncertainty`: its Frobenius norm in the paper's form, {unit}, the ensemble's estimate of the
  Fnorm error; `Prediction.warnings`: out-of-domain signals (`gmtnet/domain.py`) and uncertainty above the
  95th percentile of the {p95_ref} ({meta['uncertainty_p95_val']:.4g} {unit}).
- Every member's output is projected onto the form allowed by the structure's point group and made physically
  admissible (`gmtnet/admissible.py`) before averaging, so the mean is both exactly symmetric and admissible.
{label_line}

{data_section}
## Test metrics (fixed test split, never used for a choice)
Fnorm in {unit} (ε as 3x3, e as 3x6 Voigt, C as 6x6 Voigt) and EwT25 with 95 % bootstrap intervals over
crystals; rows with several candidate orientations are scored against the candidate closest to the prediction.

| model | n | Fnorm | EwT25 | EwT10 |
|---|---|---|---|---|
{chr(10).join(rows + src_rows)}

Strict, on the {uniq.get('n', 0)} rows whose {'label the physics rule decided' if meta.get('label_orientation') == 'physics' else 'orientation is unique'}: Fnorm {uniq.get('fnorm', float('nan')):.4g}, EwT25 {_pct(uniq.get('ewt25', float('nan')))}.
{aniso_line}
| crystal system | n | Fnorm | EwT25 | zero-element success | equality success |
|---|---|---|---|---|---|
{chr(10).join(systems)}

{_baselines_section(k.name, mt)}
{_admissibility_and_speed(k.name)}

{calib_section}
{_domain_separation_section(k.name)}
## Training domain (for the warnings)
{d['n_crystals']} training crystals, {len(d['element_counts'])} elements, {len(d['pairs'])} first-shell element pairs,
at most {d['max_sites']} sites, {d['volume_per_atom'][0]:.1f}–{d['volume_per_atom'][1]:.1f} Å³ per atom.

## Known limits
- About {d['n_crystals']} training crystals: expect large errors for chemistries and structure types absent
  from Materials Project's DFPT/elastic sets; the warnings flag unseen elements and bonds, not every novelty.
{limit_line}
- The symmetry of the prediction is that of the structure as detected at the chosen tolerance.
- Structures up to 500 atoms; ordered, periodic only.
"""


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kind", required=True)
    ap.add_argument("--members", nargs="+", default=None, help="trained member run directories")
    ap.add_argument("--card-only", action="store_true",
                    help="only rewrite MODEL_CARD.md from the ensemble.json already in --out (no measuring)")
    ap.add_argument("--previous", default=None, help="the previously shipped single model, for comparison")
    ap.add_argument("--out", default=None, help=f"default: {DEST}/KIND")
    ap.add_argument("--init-commit", default=None,
                    help="git commit whose gmtnet/resources/weights/KIND the members were fine-tuned from")
    ap.add_argument("--electronic", default=None, help="ε∞ ensemble to pair with ε₀ (default: the shipped one)")
    ap.add_argument("--refresh-grouped-cv", action="store_true",
                    help="with --card-only: re-read benchmarks/results/grouped-cv.json into the committee's ensemble.json first")
    ap.add_argument("--committee", action="store_true",
                    help="members are grouped-CV fold runs (one per fold): calibrate on their out-of-fold predictions")
    args = ap.parse_args(argv)
    k = get_kind(args.kind)
    out_dir = Path(args.out or DEST / k.name)
    if args.card_only:
        meta = json.loads((out_dir / "ensemble.json").read_text())
        if args.refresh_grouped_cv:
            if meta.get("recipe") != "committee":
                ap.error("--refresh-grouped-cv is for a committee's card")
            # the committee may be assembled before `grouped_cv.py report` graded it: quote the report as it is now
            meta["grouped_cv"] = piezo_grouped_cv_summary() if k.name == "piezoelectric" else grouped_cv_summary(k.name)
            (out_dir / "ensemble.json").write_text(json.dumps(meta, indent=2) + "\n")
        df = orient_labels(load_dataset(k.name, include_flagged=False), meta.get("label_orientation", "lattice"))
        (out_dir / "MODEL_CARD.md").write_text(ensemble_card(k.name, meta, df))
        return
    if not args.members:
        ap.error("--members is required (unless --card-only)")
    command = "python scripts/ship_ensembles.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    t0 = time.perf_counter()

    members = [load_model(d, "cpu") for d in args.members]
    ens = ModelEnsemble(members)  # std_scale 1 and no domain: calibrated below
    models = {k.name: ens}
    if k.name == "dielectric":
        electronic = Path(args.electronic or shipped_model_dir("dielectric_electronic"))
        models["dielectric_electronic"] = load_ensemble(electronic, "cpu")
    predictor = Predictor(models, torch.device("cpu"))
    orientation = label_orientation(args.members)
    # members trained on physics-oriented piezo labels are calibrated and graded on those labels
    df = orient_labels(load_dataset(k.name, include_flagged=False), orientation)

    extra_meta = {}
    if args.committee:
        folds = committee_folds(args.members)
        oof = committee_oof(predictor, k.name, df, folds)
        std_scale = fit_std_scale(oof["mean"], oof["std"], oof["true"], k)
        p95 = float(np.quantile(scalar_uncertainty(oof["std"] * std_scale, k), 0.95))
        aniso = oof["anisotropic"]
        cal = {"oof": calibration(oof["mean"], oof["std"], oof["true"], k, std_scale)}
        if aniso.sum() > 2:
            cal["oof_anisotropic"] = calibration(oof["mean"][aniso], oof["std"][aniso], oof["true"][aniso], k, std_scale)
        extra_meta = {
            "recipe": "committee",
            "uncertainty_reference": "out-of-fold crystals",
            "member_folds": folds,
            "oof_metrics": {"all": _hits(oof["mean"], oof["true"], k.name),
                            # rank 2 only: no strongly anisotropic subset is defined for e or C
                            **({"anisotropic": _hits(oof["mean"][aniso], oof["true"][aniso], k.name)} if aniso.any() else {})},
            "member_runs": _committee_runs(args.members),
            "grouped_cv": piezo_grouped_cv_summary() if k.name == "piezoelectric" else grouped_cv_summary(k.name),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores ({platform.system()})",
        }
        # the members trained on every non-test row of their data (the DFPT rows too, if added)
        trained_on = json.loads((Path(args.members[0]) / "config.json").read_text())["train"]
        from gmtnet.train import union_frame

        seen = union_frame(k.name) if trained_on.get("add_dfpt") else df.assign(label_source=0)
        train_df = seen[seen.split != "test"]
        extra_meta["train_rows"] = {"materials_project": int((train_df.label_source == 0).sum()),
                                    "dfpt": int((train_df.label_source == 1).sum())}
        extra_meta["member_train"] = trained_on
    else:
        val_df = df[df.split == "val"]
        val = predict_split(predictor, k.name, val_df)
        std_scale = fit_std_scale(val["mean"], val["std"], val["true"], k)
        unc_val = scalar_uncertainty(val["std"] * std_scale, k)
        p95 = float(np.quantile(unc_val, 0.95))
        cal = {"val": calibration(val["mean"], val["std"], val["true"], k, std_scale)}
        train_df = df[df.split == "train"]

    graphs = [build_graph(s, num_neighbors=ens.config.num_neighbors) for s in tqdm(train_df.structure, desc="domain graphs", leave=False)]
    domain = TrainingDomain.from_training(train_df.structure, graphs)

    test_df = df[df.split == "test"]
    ens.std_scale, ens.uncertainty_p95, ens.domain = std_scale, p95, domain
    test = predict_split(predictor, k.name, test_df)
    metrics = {"ensemble": scored(k.name, test_df, test)}
    cal_test = calibration(test["mean"], test["std"], test["true"], k, std_scale)
    warned = np.array([bool(w) for w in test["warnings"]])
    test_rel = relative_errors(test["mean"], test["true"], k)
    warnings_check = {  # do the warnings single out worse predictions?
        "share_warned": float(warned.mean()),
        "median_relative_error_warned": float(np.median(test_rel[warned])) if warned.any() else None,
        "median_relative_error_unwarned": float(np.median(test_rel[~warned])) if (~warned).any() else None,
        "kinds_of_warning": _warning_counts(test["warnings"]),
    }
    single = Predictor({**models, k.name: ModelEnsemble(members[:1])}, predictor.device)
    metrics["first_member"] = scored(k.name, test_df, predict_split(single, k.name, test_df))
    if args.previous:
        prev = Predictor({**models, k.name: load_ensemble(args.previous, "cpu")}, predictor.device)
        metrics["previous"] = scored(k.name, test_df, predict_split(prev, k.name, test_df))
        prev_meta = Path(args.previous) / "ensemble.json"
        if prev_meta.is_file():  # the previous ensemble's own calibration, kept for the card
            pm = json.loads(prev_meta.read_text())
            extra_meta["previous"] = {key: pm.get(key) for key in
                                      ("std_scale", "uncertainty_p95_val", "calibration", "test_warnings", "command", "member_commands",
                                       "recipe")}
    if args.committee:
        aniso_test = anisotropic(test["true"], k.name)
        if aniso_test.any():
            metrics["ensemble"]["anisotropic"] = _hits(test["mean"][aniso_test], test["true"][aniso_test], k.name)

    member_commands = [json.loads((Path(d) / "config.json").read_text()).get("command", "") for d in args.members]
    member_summaries = [json.loads((Path(d) / "summary.json").read_text()) for d in args.members]
    meta = {
        "kind": k.name,
        "std_scale": std_scale,
        "uncertainty_p95_val": p95,
        "domain": domain.to_dict(),
        "calibration": {**cal, "test": cal_test},
        "test_warnings": warnings_check,
        "init_from_commit": args.init_commit,
        "metrics_test": metrics,
        "member_commands": member_commands,
        "member_train_seconds": [s.get("train_seconds") for s in member_summaries],
        "member_best_epochs": [s.get("best_epoch") for s in member_summaries],
        "member_devices": sorted({s.get("device", "") for s in member_summaries}),
        "command": command,
        "label_orientation": orientation,
        "build_seconds": round(time.perf_counter() - t0, 1),
        **extra_meta,
        **({"electronic": _electronic_note(electronic)} if k.name == "dielectric" else {}),
    }
    save_ensemble(args.members, out_dir, meta)
    (out_dir / "metrics-test.json").write_text(json.dumps(metrics["ensemble"], indent=2) + "\n")
    for stale in ("model.safetensors", "config.json", "summary.json"):
        (out_dir / stale).unlink(missing_ok=True)  # the single-model layout this replaces
    (out_dir / "MODEL_CARD.md").write_text(ensemble_card(k.name, meta, df))
    print(json.dumps({"kind": k.name, "std_scale": std_scale,
                      **{f"{name}_within_1sigma": c["within_1sigma"] for name, c in cal.items()},
                      "test_within_1sigma": cal_test["within_1sigma"], "test_spearman": cal_test["spearman"],
                      **{name: {"fnorm": m["overall"]["fnorm"], "ewt25": m["overall"]["ewt25"]} for name, m in metrics.items()}}, indent=2))


if __name__ == "__main__":
    main()
