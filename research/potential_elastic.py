"""Baseline row: the elastic tensor from the pretrained potential SevenNet-0 itself (issue 10 §1).

What a user would run instead of GMTNet: relax the crystal with the potential, then the
relaxed-ion elastic tensor by finite strains (:mod:`research.elastic_fit`). Scored on the elastic
test split (unflagged) with the ambiguity-aware metrics the models are scored with, side by side
with the shipped GMTNet elastic model on the same rows.

Three steps, two environments (``sevenn`` is not a project requirement; pins in
``research/requirements-potential.txt``: sevenn 0.13.0, ase 3.29.0, torch_geometric 2.8.1 with
the project's torch/e3nn/pymatgen):

    # 1. the potential (venv with sevenn), resumable: rows done are skipped
    OMP_NUM_THREADS=1 PYTHONPATH=. nice -n 10 /work/venv10/bin/python -m research.potential_elastic validate
    OMP_NUM_THREADS=1 PYTHONPATH=. nice -n 10 /work/venv10/bin/python -m research.potential_elastic run [--stop-at 17:55]
    # 2. the shipped GMTNet on the same rows (project venv)
    python -m research.potential_elastic gmtnet
    # 3. scores (either venv)
    python -m research.potential_elastic report

Method per crystal (``run``):

* the row's structure, reduced to its primitive cell when that keeps the Cartesian frame (checked:
  every primitive site is a site of the original cell), as ASE Atoms with SevenNet-0 (checkpoint
  from the ``sevenn`` wheel, loaded with ``torch.load(weights_only=True)`` as
  :class:`research.encoder.SevenNetEncoder` does; offline);
* relaxation of cell and ions: BFGS on a ``FrechetCellFilter`` with ASE's ``FixSymmetry`` (the
  space group is kept, as in the DFT relaxations), fmax 0.01 eV/Å, at most ``--relax-steps``;
* finite strains ±0.5 %, ±1 % (engineering strain, IEEE Voigt order) on the Voigt components
  needed to determine the crystal's allowed form (:func:`research.elastic_fit.strain_components_needed`;
  all six for triclinic, two for cubic), ions relaxed at each strain (BFGS, fmax 0.01 eV/Å, at
  most ``--ion-steps``), stress (ASE sign: positive in tension; eV/Å³ → GPa with ``ase.units.GPa``)
  fitted linearly against strain per column;
* the allowed form (Neumann projector of the row's structure, :func:`gmtnet.symmetry.symmetry_constraints`)
  fitted to those columns by least squares and projected exactly: C is symmetrised before scoring.
  The frame is the row structure's Cartesian frame (the relaxed cell's rotation from it is recorded
  and is ~0: the cell filter applies symmetric deformations only).

Rows are processed in a seeded random order (seed 0 over the material ids) so that a run stopped
by ``--stop-at`` leaves a subset that is not chosen by size or source; each row has a time cap
(``--row-seconds``). Per-row results (C in IEEE Voigt order, GPa, structure frame; cost; status)
go to ``benchmarks/results/potential-elastic-rows.jsonl``; ``report`` writes
``benchmarks/results/potential-elastic.json`` and ``POTENTIAL_ELASTIC.md``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path("benchmarks/results")
ROWS_FILE = RESULTS / "potential-elastic-rows.jsonl"
GMTNET_FILE = RESULTS / "potential-elastic-gmtnet.jsonl"
ENCODER = "7net-0"
FMAX = 0.01  # eV/Å
BOOTSTRAP = 2000
SEED = 0
#: Cubic crystals of the training/validation splits used to check the pipeline before the run.
VALIDATION_IDS = ("mp-149", "mp-22862", "mp-30")  # Si, NaCl, Cu


class RowTimeout(RuntimeError):
    pass


def test_rows():
    from gmtnet.data import load_dataset

    df = load_dataset("elastic", include_flagged=False)
    return df[df["split"] == "test"].reset_index(drop=True)


def run_order(material_ids) -> list[str]:
    ids = sorted(material_ids)
    return [ids[i] for i in np.random.default_rng(SEED).permutation(len(ids))]


# --------------------------------------------------------------------------- the potential


def load_calculator():
    """SevenNet-0 as an ASE calculator, built from the wheel's checkpoint loaded weights-only."""
    import torch
    from sevenn.calculator import SevenNetCalculator

    from research.encoder import load_checkpoint

    torch.set_num_threads(1)
    cp = load_checkpoint(ENCODER)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no tensor product accelerator": none exists on CPU
        return SevenNetCalculator(model=cp.build_model(), file_type="model_instance", device="cpu")


class CountingCalculator:
    """Counts the potential's evaluations and enforces a per-row deadline."""

    def __init__(self, calc):
        self.calc = calc
        self.calls = 0
        self.deadline = float("inf")
        self._calculate = calc.calculate
        calc.calculate = self._wrapped

    def _wrapped(self, *args, **kwargs):
        if time.perf_counter() > self.deadline:
            raise RowTimeout("row time cap reached")
        self.calls += 1
        return self._calculate(*args, **kwargs)


def frame_preserving_primitive(structure):
    """The primitive cell if it lies in the same Cartesian frame as ``structure``, else ``structure``."""
    prim = structure.get_primitive_structure()
    if len(prim) == len(structure):
        return structure
    frac = structure.lattice.get_fractional_coords(prim.cart_coords)
    for f, site in zip(frac, prim):
        d = structure.frac_coords - f
        d -= np.round(d)
        dist = np.linalg.norm(d @ structure.lattice.matrix, axis=1)
        j = int(dist.argmin())
        if dist[j] > 1e-3 or structure[j].species != site.species:
            return structure
    return prim


def relax_cell_and_ions(atoms, steps: int) -> tuple[bool, int]:
    from ase.constraints import FixSymmetry
    from ase.filters import FrechetCellFilter
    from ase.optimize import BFGS

    atoms.set_constraint(FixSymmetry(atoms))
    opt = BFGS(FrechetCellFilter(atoms), logfile=None)
    converged = bool(opt.run(fmax=FMAX, steps=steps))
    atoms.set_constraint()
    return converged, int(opt.nsteps)


def compute_row(row, counter, args) -> dict:
    import ase.units
    from pymatgen.io.ase import AseAtomsAdaptor

    from research.elastic_fit import DEFAULT_MAGNITUDES, finite_strain_stresses, fit_elastic, strain_components_needed
    from gmtnet.symmetry import symmetry_constraints
    from gmtnet.tensors import to_voigt

    structure = row["structure"]
    cons = symmetry_constraints(structure, "elastic")
    components = strain_components_needed(cons)
    cell_structure = frame_preserving_primitive(structure)
    atoms = AseAtomsAdaptor.get_atoms(cell_structure)
    atoms.calc = counter.calc
    t0 = time.perf_counter()
    counter.calls = 0
    counter.deadline = t0 + args.row_seconds
    relax_converged, relax_steps = relax_cell_and_ions(atoms, args.relax_steps)
    relax_calls = counter.calls
    # Cell rotation of the relaxation: polar decomposition of F = A0⁻¹ A (rows are vectors).
    a0 = np.asarray(cell_structure.lattice.matrix)
    f = np.linalg.solve(a0, np.asarray(atoms.get_cell()))
    u, _, vt = np.linalg.svd(f)
    rot = u @ vt
    rotation_deg = float(np.degrees(np.arccos(np.clip((np.trace(rot) - 1) / 2, -1, 1))))
    ion_runs = []

    def relax_ions(strained):
        from ase.optimize import BFGS

        opt = BFGS(strained, logfile=None)
        ion_runs.append((bool(opt.run(fmax=FMAX, steps=args.ion_steps)), int(opt.nsteps)))

    columns = finite_strain_stresses(atoms, relax_ions, components, DEFAULT_MAGNITUDES, stress_unit=ase.units.GPa)
    c = fit_elastic(columns, cons)
    seconds = time.perf_counter() - t0
    # Spread of the fitted columns about the symmetrised tensor: how far the measured response is from the allowed form.
    cv = to_voigt(c, "elastic")
    misfit = float(np.sqrt(np.mean([np.sum((columns[j] - cv[:, j]) ** 2) for j in columns])))
    return {
        "status": "ok",
        "voigt_ieee_gpa": cv.round(4).tolist(),
        "columns_gpa": {str(j): np.asarray(v).round(4).tolist() for j, v in columns.items()},
        "components": components,
        "column_misfit_gpa": round(misfit, 4),
        "n_independent": int(cons.n_independent),
        "sites": len(structure),
        "sites_computed": len(atoms),
        "relax_converged": relax_converged,
        "relax_steps": relax_steps,
        "relax_volume_change": round(float(atoms.get_volume() / abs(np.linalg.det(a0)) - 1), 5),
        "relax_rotation_deg": rotation_deg,
        "strained_relaxations": len(ion_runs),
        "strained_not_converged": int(sum(not ok for ok, _ in ion_runs)),
        "ion_steps_median": float(np.median([n for _, n in ion_runs])) if ion_runs else 0.0,
        "force_calls": counter.calls,
        "force_calls_relax": relax_calls,
        "seconds": round(seconds, 2),
    }


def _done(path: Path) -> dict[str, dict]:
    if not path.is_file():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            out[r["material_id"]] = r
    return out


def _stop_time(hhmm: str | None) -> float:
    if not hhmm:
        return float("inf")
    import datetime as dt

    now = dt.datetime.now(dt.timezone.utc)
    h, m = map(int, hhmm.split(":"))
    stop = now.replace(hour=h, minute=m, second=0, microsecond=0)
    return time.time() + (stop - now).total_seconds()


def run(args, validate: bool = False) -> None:
    from gmtnet.data import load_dataset

    if validate:
        df = load_dataset("elastic", include_flagged=False)
        df = df[df["material_id"].isin(VALIDATION_IDS)].reset_index(drop=True)
        out = RESULTS / "potential-elastic-validation.jsonl"
        order = list(VALIDATION_IDS)
    else:
        df = test_rows()
        out = ROWS_FILE
        order = run_order(df["material_id"])
    by_id = {r["material_id"]: r for _, r in df.iterrows()}
    done = _done(out)
    todo = [m for m in order if m not in done]
    if args.limit:
        todo = todo[: args.limit]
    stop = _stop_time(args.stop_at)
    t = time.perf_counter()
    counter = CountingCalculator(load_calculator())
    print(f"potential loaded in {time.perf_counter() - t:.1f} s; {len(done)} rows done, {len(todo)} to do", flush=True)
    from tqdm import tqdm

    for mid in tqdm(todo, desc="rows", file=sys.stdout, mininterval=30):
        if time.time() > stop:
            print(f"stop time {args.stop_at} UTC reached", flush=True)
            break
        row = by_id[mid]
        t0 = time.perf_counter()
        try:
            result = compute_row(row, counter, args)
        except RowTimeout as err:
            result = {"status": "timeout", "error": str(err), "force_calls": counter.calls, "sites": len(row["structure"])}
        except Exception as err:  # noqa: BLE001 - a failing crystal is a result of the baseline, recorded
            result = {"status": "error", "error": f"{type(err).__name__}: {err}", "force_calls": counter.calls,
                      "sites": len(row["structure"])}
        result = {"material_id": mid, "formula": row["formula"], "source": row["source"],
                  "crystal_system": row["crystal_system"]} | result
        result.setdefault("seconds", round(time.perf_counter() - t0, 2))
        with out.open("a") as fh:
            fh.write(json.dumps(result) + "\n")
        if validate or result["status"] != "ok":
            print(json.dumps({k: result[k] for k in result if k not in ("columns_gpa",)}), flush=True)
    if validate:
        print(json.dumps(score_rows(_done(out), df), indent=1))


# --------------------------------------------------------------------------- GMTNet on the same rows


def gmtnet_predictions(args) -> None:
    from gmtnet.predict import Predictor, PredictionError
    from gmtnet.tensors import to_voigt

    df = test_rows()
    import torch

    torch.set_num_threads(1)
    p = Predictor.load(kinds=["elastic"], device="cpu")
    t = time.perf_counter()
    preds = p.predict_many(list(df["structure"]), "elastic")
    seconds = time.perf_counter() - t
    per = round(seconds / len(df), 4)  # predict_many over the whole split, shared out per crystal
    with GMTNET_FILE.open("w") as fh:
        for mid, r in zip(df["material_id"], preds):
            if isinstance(r, PredictionError):
                fh.write(json.dumps({"material_id": mid, "status": "error", "error": r.message}) + "\n")
            else:
                fh.write(json.dumps({"material_id": mid, "status": "ok", "voigt_ieee_gpa": to_voigt(r.tensor, "elastic").round(4).tolist(),
                                     "batch_seconds_per_crystal": per}) + "\n")
    print(f"{len(df)} rows predicted in {seconds:.1f} s -> {GMTNET_FILE}")


# --------------------------------------------------------------------------- scores


def _metrics(pred, cand, mask, rows, constraints, systems) -> dict:
    """Ambiguity-aware scores (gmtnet.metrics.evaluate) with bootstrap intervals over crystals."""
    from gmtnet.metrics import EWT_THRESHOLDS, bootstrap_ci, closest_candidates, evaluate, frobenius_errors, relative_errors

    if not rows.any():
        return {"n": 0}
    true, _ = closest_candidates(pred[rows], cand[rows], mask[rows], "elastic")
    ev = evaluate(pred[rows], true, "elastic", [constraints[i] for i in np.flatnonzero(rows)], systems[rows],
                  candidates=cand[rows], candidate_mask=mask[rows])["overall"]
    a = frobenius_errors(pred[rows], true, "elastic")
    r = relative_errors(pred[rows], true, "elastic")
    out = {"n": ev["n"], "fnorm": ev["fnorm"], "fnorm_ci95": bootstrap_ci(a, n_resamples=BOOTSTRAP, seed=SEED)}
    for th in EWT_THRESHOLDS:
        key = f"ewt{round(th * 100)}"
        out[key] = ev[key]
        out[f"{key}_ci95"] = bootstrap_ci((r < th).astype(float), n_resamples=BOOTSTRAP, seed=SEED)
    out["zero_success"], out["equality_success"] = ev["zero_success"], ev["equality_success"]
    out["mean_label_norm"] = ev["mean_label_norm"]
    out["_abs"], out["_rel"] = a, r
    return out


def score_rows(results: dict[str, dict], df, other: dict[str, dict] | None = None) -> dict:
    """Scores of the ok rows of ``results`` (and of ``other`` on the same rows), all and per source."""
    from gmtnet.data import label_candidates
    from gmtnet.metrics import bootstrap_ci
    from gmtnet.orientation import pad_candidates
    from gmtnet.symmetry import symmetry_constraints
    from gmtnet.tensors import from_voigt

    ok = [i for i, m in enumerate(df["material_id"]) if results.get(m, {}).get("status") == "ok"
          and (other is None or other.get(m, {}).get("status") == "ok")]
    sub = df.iloc[ok].reset_index(drop=True)
    if not len(sub):
        return {"n": 0}
    cand, mask = pad_candidates(label_candidates(sub, "elastic"), (3, 3, 3, 3))
    cons = [symmetry_constraints(s, "elastic") for s in sub["structure"]]
    systems = sub["crystal_system"].to_numpy()
    models = {"sevennet0": results} | ({"gmtnet": other} if other is not None else {})
    subsets = {"all": np.ones(len(sub), bool)} | {s: (sub["source"] == s).to_numpy() for s in sorted(sub["source"].unique())}
    out: dict = {"material_ids": sub["material_id"].tolist()}
    scores = {}
    for name, res in models.items():
        pred = np.stack([from_voigt(np.array(res[m]["voigt_ieee_gpa"]), "elastic") for m in sub["material_id"]])
        scores[name] = {s: _metrics(pred, cand, mask, rows, cons, systems) for s, rows in subsets.items()}
    if other is not None:
        paired = {}
        for s, rows in subsets.items():
            a, b = scores["sevennet0"][s], scores["gmtnet"][s]
            d_abs = a["_abs"] - b["_abs"]
            d_hit = (a["_rel"] < 0.25).astype(float) - (b["_rel"] < 0.25).astype(float)
            paired[s] = {"fnorm_diff": float(d_abs.mean()), "fnorm_diff_ci95": bootstrap_ci(d_abs, n_resamples=BOOTSTRAP, seed=SEED),
                         "ewt25_diff": float(d_hit.mean()), "ewt25_diff_ci95": bootstrap_ci(d_hit, n_resamples=BOOTSTRAP, seed=SEED)}
        out["sevennet0_minus_gmtnet"] = paired
        hit_s, hit_g = scores["sevennet0"]["all"]["_rel"] < 0.25, scores["gmtnet"]["all"]["_rel"] < 0.25
        out["ewt25_overlap"] = {"both": int((hit_s & hit_g).sum()), "sevennet0_only": int((hit_s & ~hit_g).sum()),
                                "gmtnet_only": int((~hit_s & hit_g).sum()), "neither": int((~hit_s & ~hit_g).sum())}
        out["per_row_relative_error"] = {name: dict(zip(sub["material_id"], np.round(scores[name]["all"]["_rel"], 4).tolist()))
                                          for name in models}
    out["voigt_moduli_ratio_median"] = {}  # rotation-invariant K_V, G_V: prediction / label, per model and subset
    labels = np.stack([c[0] for c in cand])
    for name, res in models.items():
        pred = np.stack([np.array(res[m]["voigt_ieee_gpa"]) for m in sub["material_id"]])
        rk, rg = _voigt_moduli(pred)[0] / _voigt_moduli(labels)[0], _voigt_moduli(pred)[1] / _voigt_moduli(labels)[1]
        out["voigt_moduli_ratio_median"][name] = {s: {"K_V": float(np.median(rk[rows])), "G_V": float(np.median(rg[rows]))}
                                                  for s, rows in subsets.items()}
    for name in scores:
        for s in scores[name]:
            scores[name][s] = {k: v for k, v in scores[name][s].items() if not k.startswith("_")}
    out["scores"] = scores
    return out


def _voigt_moduli(c) -> tuple[np.ndarray, np.ndarray]:
    """Voigt bulk and shear moduli (GPa) of ``(N, 6, 6)`` Voigt matrices or ``(N, 3, 3, 3, 3)`` tensors."""
    from gmtnet.tensors import to_voigt

    v = np.asarray(c, dtype=float)
    if v.shape[1:] != (6, 6):
        v = to_voigt(v, "elastic")
    diag = v[:, 0, 0] + v[:, 1, 1] + v[:, 2, 2]
    off = v[:, 0, 1] + v[:, 0, 2] + v[:, 1, 2]
    shear = v[:, 3, 3] + v[:, 4, 4] + v[:, 5, 5]
    return (diag + 2 * off) / 9, (diag - off + 3 * shear) / 15


def _cost(rows: list[dict]) -> dict:
    ok = [r for r in rows if r["status"] == "ok"]
    sec = np.array([r["seconds"] for r in ok])
    calls = np.array([r["force_calls"] for r in ok])
    return {"n": len(ok), "seconds_total": float(sec.sum()), "seconds_median": float(np.median(sec)), "seconds_p90": float(np.quantile(sec, 0.9)),
            "seconds_max": float(sec.max()), "force_calls_median": float(np.median(calls)),
            "force_calls_p90": float(np.quantile(calls, 0.9)), "force_calls_relax_median": float(np.median([r["force_calls_relax"] for r in ok])),
            "strain_columns_median": float(np.median([len(r["components"]) for r in ok])),
            "sites_computed_median": float(np.median([r["sites_computed"] for r in ok])),
            "seconds_per_force_call_median": float(np.median(sec / calls))}


def report(args) -> None:
    df = test_rows()
    results = _done(ROWS_FILE)
    gm = _done(GMTNET_FILE) if GMTNET_FILE.is_file() else None
    order = run_order(df["material_id"])
    attempted = [results[m] for m in order if m in results]
    statuses = {s: sum(r["status"] == s for r in attempted) for s in ("ok", "timeout", "error")}
    ok_rows = [r for r in attempted if r["status"] == "ok"]
    scored = score_rows(results, df, gm)
    gm_all = None
    if gm is not None:
        gm_all = score_rows(gm, df)["scores"]["sevennet0"]  # GMTNet alone on every test row it predicted
    doc = {
        "description": "SevenNet-0 relaxed-ion elastic tensors (finite strains) on the elastic test split, vs the shipped GMTNet on the same rows",
        "method": {"potential": f"SevenNet-0 ({ENCODER}, sevenn wheel checkpoint, weights-only load)",
                   "relaxation": f"BFGS on FrechetCellFilter with FixSymmetry, fmax {FMAX} eV/Å, ≤ {args.relax_steps} steps",
                   "strains": "engineering strains ±0.5 %, ±1 % per Voigt component (IEEE order), ions relaxed at each (BFGS, "
                              f"fmax {FMAX} eV/Å, ≤ {args.ion_steps} steps); only the components needed to determine the allowed form",
                   "fit": "stress (ASE sign, positive in tension; eV/Å³ -> GPa) vs strain, linear with intercept, per column; allowed form "
                          "fitted to the columns (least squares) and projected with the crystal's exact Neumann projector",
                   "frame": "Cartesian frame of each row's structure (primitive cell used only where it keeps that frame)",
                   "voigt_order": "IEEE (xx, yy, zz, yz, xz, xy)", "units": "GPa",
                   "scoring": "gmtnet.metrics.evaluate, ambiguity-aware (closest label candidate), bootstrap 95 % intervals over crystals "
                              f"({BOOTSTRAP} resamples, seed {SEED})",
                   "row_order": f"seeded random order of the sorted material ids (numpy default_rng({SEED}).permutation)",
                   "row_time_cap_s": args.row_seconds},
        "test_rows": int(len(df)),
        "test_rows_per_source": df["source"].value_counts().to_dict(),
        "attempted": len(attempted),
        "status": statuses,
        "failures": [{k: r.get(k) for k in ("material_id", "formula", "sites", "status", "error", "seconds")} for r in attempted if r["status"] != "ok"],
        "relax_not_converged": [r["material_id"] for r in ok_rows if not r["relax_converged"]],
        "strained_relaxations_not_converged": int(sum(r["strained_not_converged"] for r in ok_rows)),
        "strained_relaxations": int(sum(r["strained_relaxations"] for r in ok_rows)),
        "max_relax_rotation_deg": max((r["relax_rotation_deg"] for r in ok_rows), default=None),
        "cost": _cost(attempted) if ok_rows else {},
        "gmtnet_seconds_per_crystal": (next(iter(gm.values())).get("batch_seconds_per_crystal") if gm else None),
        "hardware": f"{platform.machine()}, 1 thread, 2-core machine shared with two training jobs and other helpers (nice 10): timings are upper bounds",
        "same_rows": scored,
        "gmtnet_all_test_rows": gm_all,
    }
    (RESULTS / "potential-elastic.json").write_text(json.dumps(doc, indent=1) + "\n")
    (RESULTS / "POTENTIAL_ELASTIC.md").write_text(markdown(doc))
    print(json.dumps({k: doc[k] for k in ("attempted", "status", "cost")}, indent=1))
    if "scores" in scored:
        for name, per in scored["scores"].items():
            for s, m in per.items():
                print(name, s, {k: (round(v, 4) if isinstance(v, float) else v) for k, v in m.items() if not k.endswith("ci95")})


def _ci(m: dict, key: str, pct: bool) -> str:
    lo, hi = m[f"{key}_ci95"]
    if pct:
        return f"{100 * m[key]:.1f} % [{100 * lo:.1f}, {100 * hi:.1f}]"
    return f"{m[key]:.1f} [{lo:.1f}, {hi:.1f}]"


SOURCE_NAMES = {"all": "all", "matminer_elastic_tensor_2015": "matminer_elastic_tensor_2015",
                "mp_elastic_legacy_trachote": "mp_elastic_legacy_trachote"}
MODEL_NAMES = {"sevennet0": "SevenNet-0, relaxed + finite strains", "gmtnet": "GMTNet (shipped elastic model)"}


def _summary_lines(doc: dict) -> list[str]:
    same = doc["same_rows"]
    if "sevennet0_minus_gmtnet" not in same:
        return []
    sc, d, r = same["scores"], same["sevennet0_minus_gmtnet"], same["voigt_moduli_ratio_median"]["sevennet0"]["all"]
    out = ["## Summary", ""]
    for sub in sc["sevennet0"]:
        a, g, dd = sc["sevennet0"][sub], sc["gmtnet"][sub], d[sub]
        resolved = "resolved" if dd["fnorm_diff_ci95"][0] > 0 or dd["fnorm_diff_ci95"][1] < 0 else "not resolved"
        out.append(f"- {SOURCE_NAMES.get(sub, sub)} ({a['n']} rows): SevenNet-0 Fnorm {a['fnorm']:.1f} GPa, EwT25 {100 * a['ewt25']:.1f} %; "
                   f"GMTNet {g['fnorm']:.1f} GPa, {100 * g['ewt25']:.1f} % (ΔFnorm {dd['fnorm_diff']:+.1f} GPa, {resolved})")
    acc = RESULTS / "accuracy.json"
    if acc.is_file():
        ref = [x for x in json.loads(acc.read_text())["results"] if x["kind"] == "elastic" and x["model"] == "gmtnet"]
        if ref:
            out.append(f"- Scoring cross-check: `accuracy.json` has the shipped GMTNet at Fnorm {ref[0]['fnorm']:.2f} GPa, EwT25 "
                       f"{100 * ref[0]['ewt25']:.1f} % on its {ref[0]['n']} elastic test rows; the matminer subset here should reproduce it.")
    out += [f"- SevenNet-0 gets the bulk modulus about right (median K_V ratio {r['K_V']:.2f}) but is much too soft in shear "
            f"(median G_V ratio {r['G_V']:.2f}).", ""]
    return out


def markdown(doc: dict) -> str:
    """POTENTIAL_ELASTIC.md from the report's JSON."""
    same, cost, m = doc["same_rows"], doc["cost"], doc["method"]
    lines = ["# The elastic tensor from the pretrained potential SevenNet-0 (baseline row)", "",
             "Written by `research/potential_elastic.py report` (see its docstring for the commands and environments).", "",
             *_summary_lines(doc), "## Method and conventions", ""]
    lines += [f"- **{k.replace('_', ' ')}**: {v}" for k, v in m.items()]
    lines += ["", f"Test split (unflagged): {doc['test_rows']} rows ({', '.join(f'{v} {k}' for k, v in doc['test_rows_per_source'].items())}). "
              f"Attempted: {doc['attempted']}; ok {doc['status']['ok']}, timed out {doc['status']['timeout']}, failed {doc['status']['error']}.", ""]
    if doc["attempted"] < doc["test_rows"]:
        lines += [f"**Partial run**: the first {doc['attempted']} rows of the seeded random order (not chosen by size, source or result) "
                  "were computed before the stop time; the scores below are over those rows only.", ""]
    if "scores" in same:
        lines += ["## Scores on the same rows (ambiguity-aware, 95 % bootstrap intervals over crystals)", "",
                  "| model | rows | n | Fnorm (GPa) | EwT25 | EwT10 | EwT5 |", "|---|---|---|---|---|---|---|"]
        for name, per in same["scores"].items():
            for sub, x in per.items():
                lines.append(f"| {MODEL_NAMES.get(name, name)} | {SOURCE_NAMES.get(sub, sub)} | {x['n']} | {_ci(x, 'fnorm', False)} | "
                             f"{_ci(x, 'ewt25', True)} | {_ci(x, 'ewt10', True)} | {_ci(x, 'ewt5', True)} |")
        if "sevennet0_minus_gmtnet" in same:
            lines += ["", "Paired differences, SevenNet-0 minus GMTNet (bootstrap over the same crystals):", "",
                      "| rows | ΔFnorm (GPa) | ΔEwT25 (points) |", "|---|---|---|"]
            for sub, d in same["sevennet0_minus_gmtnet"].items():
                lo, hi = d["fnorm_diff_ci95"]
                elo, ehi = d["ewt25_diff_ci95"]
                lines.append(f"| {SOURCE_NAMES.get(sub, sub)} | {d['fnorm_diff']:+.1f} [{lo:+.1f}, {hi:+.1f}] | "
                             f"{100 * d['ewt25_diff']:+.1f} [{100 * elo:+.1f}, {100 * ehi:+.1f}] |")
    if "ewt25_overlap" in same:
        o = same["ewt25_overlap"]
        lines += ["", f"Within 25 % (EwT25 hits) on the same rows: both {o['both']}, SevenNet-0 only {o['sevennet0_only']}, "
                  f"GMTNet only {o['gmtnet_only']}, neither {o['neither']}."]
    if "voigt_moduli_ratio_median" in same:
        r = same["voigt_moduli_ratio_median"]
        lines += ["", "Median ratio prediction / label of the Voigt bulk and shear moduli (rotation-invariant; < 1 is softer):", "",
                  "| model | rows | K_V | G_V |", "|---|---|---|---|"]
        for name, per in r.items():
            for sub, x in per.items():
                lines.append(f"| {MODEL_NAMES.get(name, name)} | {SOURCE_NAMES.get(sub, sub)} | {x['K_V']:.3f} | {x['G_V']:.3f} |")
    if doc.get("gmtnet_all_test_rows"):
        g = doc["gmtnet_all_test_rows"]["all"]
        lines += ["", f"For reference, GMTNet on all {g['n']} test rows: Fnorm {_ci(g, 'fnorm', False)} GPa, EwT25 {_ci(g, 'ewt25', True)}."]
    if cost:
        lines += ["", "## Cost per crystal (SevenNet-0, CPU)", "",
                  f"- wall time: median {cost['seconds_median']:.1f} s, p90 {cost['seconds_p90']:.1f} s, max {cost['seconds_max']:.1f} s "
                  f"({doc['hardware']})",
                  f"- potential evaluations (energy + forces + stress): median {cost['force_calls_median']:.0f}, p90 {cost['force_calls_p90']:.0f} "
                  f"(relaxation alone: median {cost['force_calls_relax_median']:.0f}); median {cost['seconds_per_force_call_median'] * 1000:.0f} ms each",
                  f"- strain columns computed: median {cost['strain_columns_median']:.0f} of 6; atoms computed (primitive cell where frame-preserving): "
                  f"median {cost['sites_computed_median']:.0f}",
                  f"- all {cost['n']} crystals: {cost['seconds_total'] / 60:.0f} min on one thread"]
        if doc.get("gmtnet_seconds_per_crystal"):
            lines.append(f"- the shipped GMTNet on the same machine (`predict_many`, 1 thread, whole split): "
                         f"{1000 * doc['gmtnet_seconds_per_crystal']:.0f} ms per crystal")
    lines += ["", "## Failures and convergence", "",
              f"- relaxations (cell + ions) not converged within the step cap: {len(doc['relax_not_converged'])} "
              f"({', '.join(doc['relax_not_converged']) or 'none'}); these rows are scored as computed",
              f"- strained ionic relaxations not converged: {doc['strained_relaxations_not_converged']} of {doc['strained_relaxations']}",
              f"- largest rotation of the relaxed cell from the row's frame: {doc['max_relax_rotation_deg']:.2g}°" if doc["max_relax_rotation_deg"] is not None else "- no rows ok"]
    for f in doc["failures"]:
        lines.append(f"- {f['material_id']} ({f['formula']}, {f['sites']} sites): {f['status']} — {f.get('error', '')}")
    lines += ["", "## Limits", "",
              "- SevenNet-0's training set (MPtrj) holds relaxation frames (energies, forces, stresses; no elastic constants) of many "
              "Materials Project materials, likely including test-split ones: the relaxed structures are in its distribution.",
              "- The potential is trained on PBE(+U) MPtrj relaxation data (energies, forces, stresses), the same functional family as the "
              "labels; its second derivatives are not fitted and uMLIPs of this generation are known to soften elastic constants.",
              "- Rows the potential could not compute are not scored for either model (the side-by-side is on the same rows).",
              "- Relaxed-ion tensors at 0 K without zero-point or thermal effects, as the DFT labels.",
              "- Timings are on a shared, loaded 2-core CPU (upper bounds); a GPU would be much faster per evaluation.", ""]
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("step", choices=("validate", "run", "gmtnet", "report"))
    ap.add_argument("--stop-at", help="UTC HH:MM after which no new row is started")
    ap.add_argument("--limit", type=int, default=0, help="at most this many new rows")
    ap.add_argument("--row-seconds", type=float, default=240.0, help="time cap per crystal")
    ap.add_argument("--relax-steps", type=int, default=300)
    ap.add_argument("--ion-steps", type=int, default=100)
    args = ap.parse_args(argv)
    if args.step in ("validate", "run"):
        run(args, validate=args.step == "validate")
    elif args.step == "gmtnet":
        gmtnet_predictions(args)
    else:
        report(args)


if __name__ == "__main__":
    main()
