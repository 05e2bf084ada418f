"""Scale of `gmtnet screen`: cost per atom count, 1 vs 2 Dask workers, and a large generated run.

    python benchmarks/screen_scale.py atoms   [--repeats 15]
    python benchmarks/screen_scale.py workers [--n 400] [--repeats 2] [--kinds ...]
    python benchmarks/screen_scale.py scale   [--n 10000] [--workers 2] [--kinds ...]
    python benchmarks/screen_scale.py projector [--repeats 200]
    python benchmarks/screen_scale.py compare [--n 300] [--repeats 2] [--workers 2]

Each writes ``benchmarks/results/screen-<part>.json`` and prints medians. Every result carries the
1-minute load average before and after: on a shared machine the times are upper bounds.

* ``atoms``: warm ``Predictor.predict`` and its parts (spglib + projector, graph, forward) for
  supercells of two bundled crystals, 5 to 200 atoms, torch on 1 thread (as one screen worker).
* ``workers``: the same input screened with 1 and with 2 local workers, interleaved (1, 2, 1, 2,
  ...), each into a fresh folder. Reports end to end (cluster start and model load included) and
  steady state (structures finished after the first chunk / time since the first chunk).
* ``projector``: the Neumann projector as one matrix product (``gmtnet.symmetry.neumann_projector``)
  against the per-operation representation average it replaced, interleaved, per kind, for the
  48 operations of m-3m (the largest point group): medians and ratios.
* ``compare``: the same input screened with the ensembles' members one by one (BEFORE,
  ``GMTNET_MEMBER_BY_MEMBER=1`` in the workers) and in one forward pass (AFTER), interleaved,
  on ``--workers`` workers; reports steady and end-to-end rates and how far the two outputs differ
  (largest relative tensor difference, exact zeros, uncertainty).
* ``scale``: ``--n`` structures made from bundled crystals by random strains (≤ 2 %), chemical
  substitutions within a group, and supercells (≤ 200 atoms), screened on 2 workers: throughput
  and each worker's peak resident memory (from the tasks themselves).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"

# Same-group substitutions (a plausible hypothetical crystal, same structure type).
SUBSTITUTIONS = {"O": "S", "S": "Se", "Se": "Te", "F": "Cl", "Cl": "Br", "Br": "I", "Li": "Na", "Na": "K", "K": "Rb",
                 "Mg": "Ca", "Ca": "Sr", "Sr": "Ba", "Zn": "Cd", "Al": "Ga", "Ga": "In", "Si": "Ge", "Ge": "Sn",
                 "Ti": "Zr", "Zr": "Hf", "N": "P", "P": "As", "As": "Sb", "Nb": "Ta", "Mo": "W", "Cu": "Ag"}


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _machine() -> dict:
    return {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
            "note": "2-core machine, possibly shared: read load_before/load_after; under load the times are upper bounds"}


def _median_ms(fn, repeats: int, clear: bool = True) -> float:
    from gmtnet.symmetry import clear_symmetry_cache

    fn()
    times = []
    for _ in range(repeats):
        if clear:
            clear_symmetry_cache()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return round(1e3 * statistics.median(times), 2)


def bench_atoms(repeats: int) -> dict:
    import torch

    from gmtnet.catalog import reference_structure
    from gmtnet.graph import build_graph, collate
    from gmtnet.predict import Predictor
    from gmtnet.symmetry import symmetry_constraints

    torch.set_num_threads(1)
    kinds = ["dielectric", "elastic"]
    predictor = Predictor.load(kinds=kinds)
    # mp-5229 SrTiO3 (5 atoms, m-3m: 48 operations) and mp-559798 (6 atoms, the speed.py crystal).
    bases = {"mp-5229": [(1, 1, 1), (2, 1, 1), (2, 2, 1), (2, 2, 2), (4, 2, 2), (4, 4, 2), (4, 4, 2.5)],
             "mp-559798": [(1, 1, 1), (2, 1, 1), (2, 2, 1), (2, 2, 2), (4, 2, 2), (4, 4, 2)]}
    rows = []
    load0 = _load()
    for mid, scalings in bases.items():
        base = reference_structure(mid)
        for sc in scalings:
            if sc[2] != int(sc[2]):
                continue
            s = base.make_supercell([int(x) for x in sc], in_place=False)
            if len(s) > 200:
                continue
            row = {"material_id": mid, "supercell": "x".join(str(int(x)) for x in sc), "atoms": len(s)}
            for kind in kinds:
                model = predictor.models[kind].members[0]  # one network: the forward cost per member
                c = symmetry_constraints(s, kind)
                g = build_graph(s, num_neighbors=model.config.num_neighbors)

                def forward(model=model, g=g, c=c):
                    with torch.inference_mode():
                        model(collate([g], c.projector[None]))

                row[f"{kind}_predict_ms"] = _median_ms(lambda: predictor.predict(s, kind), repeats)
                row[f"{kind}_symmetry_ms"] = _median_ms(lambda: symmetry_constraints(s, kind), repeats)
                row[f"{kind}_forward_ms"] = _median_ms(forward, repeats, clear=False)
                row["point_group"] = c.point_group
            row["graph_ms"] = _median_ms(lambda: build_graph(s), repeats, clear=False)
            row["edges"] = build_graph(s).num_edges
            rows.append(row)
            print(json.dumps(row))
    return {"torch_threads": 1, "repeats": repeats, "rows": rows, "load_before": load0, "load_after": _load()}


def bench_projector(repeats: int) -> dict:
    from gmtnet.catalog import reference_structure
    from gmtnet.kinds import KINDS, get_kind
    from gmtnet.symmetry import _index_symmetrizer, analyze_symmetry, neumann_projector, tensor_representation

    rotations = analyze_symmetry(reference_structure("mp-5229")).rotations  # SrTiO3, m-3m

    def before(kind):  # the code this replaced: |G| Kronecker matrices, averaged, then S·(...)
        k = get_kind(kind)
        return _index_symmetrizer(k) @ tensor_representation(rotations, k.rank).mean(axis=0)

    load0 = _load()
    out = {}
    for kind in KINDS:
        assert np.abs(before(kind) - neumann_projector(rotations, kind)).max() < 1e-12
        t_old, t_new = [], []
        for _ in range(repeats):  # interleaved: both sides see the same machine load
            t0 = time.perf_counter()
            before(kind)
            t1 = time.perf_counter()
            neumann_projector(rotations, kind)
            t2 = time.perf_counter()
            t_old.append(t1 - t0)
            t_new.append(t2 - t1)
        old, new = 1e3 * statistics.median(t_old), 1e3 * statistics.median(t_new)
        out[kind] = {"before_ms": round(old, 3), "after_ms": round(new, 3), "speedup": round(old / new, 1)}
        print(kind, out[kind])
    return {"operations": len(rotations), "repeats": repeats, "kinds": out, "load_before": load0, "load_after": _load()}


def _write_jsonl(structures, ids, path: Path) -> None:
    with path.open("w") as fh:
        for sid, s in zip(ids, structures):
            fh.write(json.dumps({"id": sid, "structure": s.as_dict()}) + "\n")


def generated_structures(n: int, seed: int = 0):
    """``n`` (id, Structure) made from bundled crystals by strain, substitution and supercells."""
    from pymatgen.core import Lattice, Structure

    from gmtnet.data import load_dataset

    rng = np.random.default_rng(seed)
    base = load_dataset("dielectric")
    base = base[base["nsites"] <= 40].reset_index(drop=True)
    out = []
    for i in range(n):
        row = base.iloc[int(rng.integers(len(base)))]
        s: Structure = row["structure"]
        how = ("strain", "substitute", "supercell")[i % 3]
        if how == "strain":
            eps = rng.uniform(-0.02, 0.02, size=(3, 3))
            eps = 0.5 * (eps + eps.T)
            s = Structure(Lattice(s.lattice.matrix @ (np.eye(3) + eps)), s.species, s.frac_coords)
        elif how == "substitute":
            present = [str(e) for e in s.composition.elements if str(e) in SUBSTITUTIONS]
            if present:
                el = present[int(rng.integers(len(present)))]
                s = s.copy()
                s.replace_species({el: SUBSTITUTIONS[el]})
        else:
            for sc in ((2, 2, 2), (2, 2, 1), (2, 1, 1), (1, 1, 1)):
                if len(s) * int(np.prod(sc)) <= 200:
                    s = s.make_supercell(list(sc), in_place=False)
                    break
        out.append((f"{row['material_id']}-{how}-{i}", s))
    return out


def _run(src: Path, workers: int, kinds, chunk_size: int, keep: Path | None = None) -> dict:
    from gmtnet.screen import run_screen

    stamps = []
    out = keep or Path(tempfile.mkdtemp(prefix=f"screen-w{workers}-"))
    try:
        t0 = time.perf_counter()
        s = run_screen(src, out, kinds=kinds, workers=workers, chunk_size=chunk_size, progress=False,
                       on_chunk=lambda info: stamps.append((time.perf_counter(), info)))
        total = time.perf_counter() - t0
    finally:
        if keep is None:
            shutil.rmtree(out, ignore_errors=True)
    first_t = stamps[0][0]
    after_first = sum(info["structures"] for _, info in stamps[1:])
    steady = after_first / (stamps[-1][0] - first_t) if len(stamps) > 1 else float("nan")
    peaks: dict[int, float] = {}
    for _, info in stamps:
        peaks[info["pid"]] = max(peaks.get(info["pid"], 0.0), info["peak_rss_mb"])
    return {"workers": workers, "structures": s.structures, "rows": s.rows, "error_rows": s.error_rows,
            "seconds_end_to_end": round(total, 2), "structures_per_s_end_to_end": round(s.structures / total, 2),
            "structures_per_s_steady": round(steady, 2), "peak_rss_mb_per_worker": sorted(peaks.values())}


def bench_workers(n: int, repeats: int, kinds, chunk_size: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.jsonl"
        items = generated_structures(n, seed=1)
        _write_jsonl([s for _, s in items], [i for i, _ in items], src)
        runs = []
        load0 = _load()
        for rep in range(repeats):
            for w in (1, 2):
                r = _run(src, w, kinds, chunk_size) | {"repeat": rep, "load": _load()}
                runs.append(r)
                print(json.dumps(r))
    med = {w: statistics.median(r["structures_per_s_steady"] for r in runs if r["workers"] == w) for w in (1, 2)}
    med_e2e = {w: statistics.median(r["structures_per_s_end_to_end"] for r in runs if r["workers"] == w) for w in (1, 2)}
    return {"n": n, "kinds": kinds, "chunk_size": chunk_size, "runs": runs, "load_before": load0, "load_after": _load(),
            "median_steady_per_s": med, "median_end_to_end_per_s": med_e2e,
            "speedup_2_vs_1_steady": round(med[2] / med[1], 2), "speedup_2_vs_1_end_to_end": round(med_e2e[2] / med_e2e[1], 2)}


def bench_compare(n: int, repeats: int, workers: int, kinds, chunk_size: int) -> dict:
    """BEFORE (ensemble members one by one: ``GMTNET_MEMBER_BY_MEMBER=1`` in the workers) and AFTER
    (members in one forward pass) on the same input, interleaved, and their outputs compared."""
    import pandas as pd

    from gmtnet.screen import read_screen

    def table(out: Path):
        df = read_screen(out).sort_values(["id", "kind"]).reset_index(drop=True)
        return df

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.jsonl"
        items = generated_structures(n, seed=1)
        _write_jsonl([s for _, s in items], [i for i, _ in items], src)
        runs, tables = [], {}
        load0 = _load()
        for rep in range(repeats):
            for side in ("before", "after"):
                os.environ["GMTNET_MEMBER_BY_MEMBER"] = "1" if side == "before" else "0"
                keep = Path(tmp) / f"{side}-{rep}"
                r = _run(src, workers, kinds, chunk_size, keep=keep) | {"side": side, "repeat": rep, "load": _load()}
                tables[side] = table(keep)
                runs.append(r)
                print(json.dumps(r), flush=True)
        os.environ.pop("GMTNET_MEMBER_BY_MEMBER", None)
        a, b = tables["after"], tables["before"]
        same_rows = bool((a[["id", "kind"]].values == b[["id", "kind"]].values).all()) and bool(
            (a["error"].isna() == b["error"].isna()).all())
        worst, zeros_kept, unc_rel, tiny = 0.0, True, 0.0, 0
        for ta, tb, ua, ub in zip(a["tensor"], b["tensor"], a["uncertainty"], b["uncertainty"]):
            if ta is None or tb is None or len(ta) == 0:
                continue
            ta, tb = np.asarray(ta), np.asarray(tb)
            worst = max(worst, float(np.abs(ta - tb).max() / max(np.abs(tb).max(), 1e-300)))
            zeros_kept &= bool(np.array_equal(ta == 0, tb == 0))
            if pd.notna(ua) and pd.notna(ub) and ub > 0:
                # σ relative to itself, floored at 1e-4 of the tensor: where the members agree to
                # float32 round-off (e.g. ε₀ members all clipped onto the same ε∞ bound) σ itself
                # is round-off and its relative change says nothing
                floor = 1e-4 * float(np.abs(tb).max())
                unc_rel = max(unc_rel, abs(ua - ub) / max(ub, floor))
                tiny += ub < floor
    med = {side: statistics.median(r["structures_per_s_steady"] for r in runs if r["side"] == side) for side in ("before", "after")}
    e2e = {side: statistics.median(r["structures_per_s_end_to_end"] for r in runs if r["side"] == side) for side in ("before", "after")}
    return {"n": n, "workers": workers, "kinds": kinds, "chunk_size": chunk_size, "runs": runs, "load_before": load0,
            "load_after": _load(), "median_steady_per_s": med, "median_end_to_end_per_s": e2e,
            "after/before_steady": round(med["after"] / med["before"], 2),
            "outputs": {"same_rows_and_errors": same_rows, "max_tensor_rel_diff": worst,
                        "exact_zeros_identical": zeros_kept, "max_uncertainty_rel_diff": unc_rel,
                        "rows_with_roundoff_uncertainty": int(tiny)}}


def bench_scale(n: int, workers: int, kinds, chunk_size: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.jsonl"
        t0 = time.perf_counter()
        items = generated_structures(n, seed=2)
        _write_jsonl([s for _, s in items], [i for i, _ in items], src)
        gen = time.perf_counter() - t0
        atoms = [len(s) for _, s in items]
        load0 = _load()
        r = _run(src, workers, kinds, chunk_size)
    return {"n": n, "kinds": kinds, "chunk_size": chunk_size, "generate_seconds": round(gen, 1),
            "atoms_median": float(np.median(atoms)), "atoms_max": int(max(atoms)), "load_before": load0,
            "load_after": _load(), **r}


def main(argv=None) -> dict:
    from gmtnet.kinds import KINDS

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("part", choices=("atoms", "workers", "scale", "projector", "compare"))
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--kinds", nargs="+", default=list(KINDS))
    ap.add_argument("--chunk-size", type=int, default=None)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    if args.part == "atoms":
        result = bench_atoms(args.repeats or 15)
    elif args.part == "projector":
        result = bench_projector(args.repeats or 200)
    elif args.part == "compare":
        result = bench_compare(args.n or 300, args.repeats or 2, args.workers, args.kinds, args.chunk_size or 50)
    elif args.part == "workers":
        result = bench_workers(args.n or 400, args.repeats or 2, args.kinds, args.chunk_size or 50)
    else:
        result = bench_scale(args.n or 10_000, args.workers, args.kinds, args.chunk_size or 256)
    result = {**_machine(), "command": "python benchmarks/screen_scale.py " + " ".join(argv or os.sys.argv[1:]), **result}
    out = Path(args.out or RESULTS / f"screen-{args.part}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print("wrote", out)
    return result


if __name__ == "__main__":
    main()
