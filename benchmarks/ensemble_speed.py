"""Ensemble speed before/after batching the members, interleaved in one process: medians, ratios, JSON.

    python benchmarks/ensemble_speed.py [--repeats 20] [--many 400] [--out benchmarks/results/ensemble-speed.json]

BEFORE is the member-by-member path (``ModelEnsemble.batched = False``: each network runs on its
own, and ε₀'s admissibility step runs the ε∞ networks again); AFTER is the default (all members in
one forward pass, :class:`gmtnet.models.stacked.StackedGMTNet`; ε∞ member outputs reused). Each
repeat times BEFORE and AFTER (and one member, for the targets) back to back, so shared-machine
noise hits both; the load average is recorded beside every block. Measured, on bundled test-split
crystals of the shipped ensembles:

* ``network``: the forward pass alone for one crystal (6 and 20 atoms, every kind): one member,
  five members one by one, five members stacked (eager, and through the trace that ships);
* ``predict``: :meth:`Predictor.predict` with the symmetry cached and with spglib included
  (cleared before each call): 6-atom ε∞, 20-atom C (and every kind at 6 atoms);
* ``both_dielectric``: ε∞ then ε₀ of one crystal (the app's dielectric page);
* ``predict_many``: crystals/s over ``--many`` crystals of ≤ 20 atoms, ``--many-threads`` torch
  threads (default 2), symmetry cache cleared before each pass.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch

from gmtnet.data import load_dataset
from gmtnet.graph import build_graph, collate
from gmtnet.kinds import KINDS
from gmtnet.predict import Predictor
from gmtnet.symmetry import clear_symmetry_cache, symmetry_constraints

SIDES = ("before", "after")


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _set_side(predictor: Predictor, side: str) -> None:
    for ens in predictor.models.values():
        ens.batched = side == "after"


def _pick(df, nsites: int):
    """The test crystal whose size is closest to ``nsites`` (largest first among ties)."""
    i = (df["nsites"] - nsites).abs().sort_values(kind="stable").index[0]
    return df.loc[i]


def _interleaved(fns: dict, repeats: int, before_each=None) -> dict:
    """Median ms of each ``(setup, fn)``; within every repeat each is timed in turn."""
    for setup, fn in fns.values():
        setup()
        fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, (setup, fn) in fns.items():
            setup()
            if before_each:
                before_each()
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: round(1e3 * statistics.median(t), 3) for name, t in times.items()}


def _ratios(ms: dict, base: str) -> dict:
    return {f"{k}/{base}": round(v / ms[base], 2) for k, v in ms.items() if k != base}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--many", type=int, default=400, help="crystals for predict_many (≤ 20 atoms)")
    ap.add_argument("--many-threads", type=int, default=2)
    ap.add_argument("--skip", nargs="*", default=[], choices=["network", "predict", "both_dielectric", "predict_many"])
    ap.add_argument("--out", default="benchmarks/results/ensemble-speed.json")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    predictor = Predictor.load(device="cpu")
    one = Predictor.load(device="cpu", members=1)
    res: dict = {"command": "python benchmarks/ensemble_speed.py " + " ".join(argv or []),
                 "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                 "torch": torch.__version__, "repeats": args.repeats, "load_start": _load()}
    data = {k: load_dataset(k) for k in KINDS}
    tests = {k: df[df["split"] == "test"] for k, df in data.items()}
    noop = lambda: None  # noqa: E731

    if "network" not in args.skip:
        res["network"] = {"threads": 1}
        for kind in sorted(KINDS):
            ens = predictor.models[kind]
            stacked = ens.stacked()
            for n in (6, 20):
                row = _pick(tests[kind], n)
                s = row["structure"]
                batch = collate([build_graph(s, num_neighbors=ens.config.num_neighbors)],
                                symmetry_constraints(s, kind).projector[None])

                def members_one_by_one(batch=batch, ens=ens):
                    return [m(batch) for m in ens.members]

                with torch.inference_mode():
                    ms = _interleaved({"one_member": (noop, lambda b=batch, e=ens: e.members[0](b)),
                                       "before": (noop, members_one_by_one),
                                       "after_eager": (noop, lambda b=batch, st=stacked: st(b)),
                                       "after": (noop, lambda b=batch, st=stacked: st.traced(b))}, args.repeats)
                entry = {"material_id": row["material_id"], "nsites": int(row["nsites"]), "members": len(ens),
                         **ms, **_ratios(ms, "one_member"), "after/before": round(ms["after"] / ms["before"], 2),
                         "load": _load()}
                res["network"][f"{kind}/{n}"] = entry
                print(f"network {kind:22s} {int(row['nsites']):2d} atoms: one {ms['one_member']:6.2f}  before "
                      f"{ms['before']:6.2f}  after (eager) {ms['after_eager']:6.2f}  after {ms['after']:6.2f} ms  after/one {entry['after/one_member']:.2f}  "
                      f"after/before {entry['after/before']:.2f}  (load {entry['load']})", flush=True)

    if "predict" not in args.skip:
        res["predict"] = {"threads": 1}
        cases = [(k, 6) for k in sorted(KINDS)] + [("elastic", 20), ("dielectric_electronic", 20)]
        for kind, n in cases:
            row = _pick(tests[kind], n)
            s = row["structure"]
            for symmetry in ("cached", "spglib"):
                def before_each(spglib=symmetry == "spglib"):
                    predictor.clear_cache()
                    one.clear_cache()
                    if spglib:
                        clear_symmetry_cache()

                fns = {"one_member": (noop, lambda s=s, k=kind: one.predict(s, k)),
                       "before": (lambda: _set_side(predictor, "before"), lambda s=s, k=kind: predictor.predict(s, k)),
                       "after": (lambda: _set_side(predictor, "after"), lambda s=s, k=kind: predictor.predict(s, k))}
                ms = _interleaved(fns, args.repeats, before_each)
                entry = {"material_id": row["material_id"], "nsites": int(row["nsites"]), **ms,
                         "after/before": round(ms["after"] / ms["before"], 2), **_ratios(ms, "one_member"),
                         "load": _load()}
                res["predict"][f"{kind}/{n}/{symmetry}"] = entry
                print(f"predict {kind:22s} {int(row['nsites']):2d} atoms, symmetry {symmetry:6s}: one {ms['one_member']:6.2f}  "
                      f"before {ms['before']:6.2f}  after {ms['after']:6.2f} ms  after/before {entry['after/before']:.2f}"
                      f"  (load {entry['load']})", flush=True)

    if "both_dielectric" not in args.skip:
        row = _pick(tests["dielectric"], 6)
        s = row["structure"]

        def both(s=s):
            predictor.predict(s, "dielectric_electronic")
            predictor.predict(s, "dielectric")

        fns = {side: (lambda side=side: _set_side(predictor, side), both) for side in SIDES}
        # BEFORE forgets the ε∞ outputs between the two calls (as the old code never kept them)
        fns["before"] = (lambda: _set_side(predictor, "before"),
                         lambda s=s: (predictor.predict(s, "dielectric_electronic"), predictor.clear_cache(),
                                      predictor.predict(s, "dielectric")))
        ms = _interleaved(fns, args.repeats, predictor.clear_cache)
        res["both_dielectric"] = {"material_id": row["material_id"], "nsites": int(row["nsites"]), "threads": 1,
                                  "symmetry": "cached", **ms, "after/before": round(ms["after"] / ms["before"], 2),
                                  "load": _load()}
        print(f"eps_inf + eps_0 of {row['material_id']}: before {ms['before']:.2f}  after {ms['after']:.2f} ms  "
              f"(load {res['both_dielectric']['load']})", flush=True)

    if "predict_many" not in args.skip:
        torch.set_num_threads(args.many_threads)
        df = data["dielectric"]
        crystals = df[df["nsites"] <= 20]["structure"].tolist()[: args.many]
        rates = {"one_member": [], "before": [], "after": []}
        for rep in range(4):  # first pass warms up and is not counted
            for side in ("one_member", *SIDES):
                p = one if side == "one_member" else predictor
                if side != "one_member":
                    _set_side(predictor, side)
                p.clear_cache()
                clear_symmetry_cache()
                t0 = time.perf_counter()
                out = p.predict_many(crystals, "dielectric")
                if rep:
                    rates[side].append(len(crystals) / (time.perf_counter() - t0))
        med = {k: round(statistics.median(v), 1) for k, v in rates.items()}
        res["predict_many"] = {"kind": "dielectric", "crystals": len(crystals), "max_atoms": 20,
                               "threads": args.many_threads, "symmetry": "cold", "crystals_per_s": med,
                               "after/before": round(med["after"] / med["before"], 2),
                               "failures": sum(not hasattr(r, "tensor") for r in out), "load": _load()}
        print(f"predict_many dielectric, {len(crystals)} crystals <= 20 atoms, {args.many_threads} threads, cold "
              f"symmetry: one member {med['one_member']}  before {med['before']}  after {med['after']} crystals/s "
              f"(load {res['predict_many']['load']})", flush=True)
        torch.set_num_threads(1)

    res["load_end"] = _load()
    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(res, indent=2) + "\n")
    print("wrote", out_path)
    return res


if __name__ == "__main__":
    main()
