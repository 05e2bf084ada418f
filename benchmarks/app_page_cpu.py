"""Server CPU per Explore page, before and after a change, interleaved (no browser, no profiler).

    python benchmarks/app_page_cpu.py --base 35ba8e7 [--links 16] [--rounds 3] [--seed 0]
        [--out benchmarks/results/app-page-cpu.json]
    python benchmarks/app_page_cpu.py --page browse --base 35ba8e7 [--rounds 4] [--first-pages 2]
        # -> benchmarks/results/app-browse-cpu.json

BEFORE is ``git archive <base>`` unpacked in a temporary folder, AFTER this checkout. Each side
runs in a fresh worker process (this script with ``--worker ROOT``, ``PYTHONPATH=ROOT``, 1 torch
thread), sides alternating round by round (before, after; then after, before; ...) so that the
machine's load hits both alike. A worker drives ``pages/explore.py`` with Streamlit's AppTest, as
``benchmarks/app_profile.py --links`` does but without cProfile (which inflates Python-heavy code):

* ``first_page``: the page without a crystal, in a new session (after a first, uncounted one);
* ``random_link``: ``--links`` links to random bundled crystals (seeded: the same crystals on both
  sides), opened one after another in one session, as each ``benchmarks/app_load.py`` session does.

Per page it records the CPU seconds of the script thread (``time.thread_time``: the Python work
that holds the GIL and bounds pages per second) and of the whole process (``getrusage``: also
Streamlit's own threads). One-time costs are paid before timing: torch and the four ensembles are
loaded and one crystal per kind is opened first (trace of the stacked network, imports).
Caches are per process and start empty on both sides; a random link rarely hits them (3,893
crystals), so each page pays its prediction, figures and tables.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

_WRAPPER = """
import builtins, runpy, time
_c0 = time.thread_time()
try:
    runpy.run_path({page!r}, run_name="__main__")
finally:
    builtins._PAGE_CPU.append(time.thread_time() - _c0)
"""


def _process_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def worker(root: Path, links: int, seed: int, first_pages: int) -> dict:
    """Time the pages of the checkout at ``root`` (imported from there); returns per-page samples."""
    import builtins

    from streamlit.testing.v1 import AppTest

    builtins._PAGE_CPU = []
    script = _WRAPPER.format(page=str(root / "pages" / "explore.py"))

    def run(at) -> dict:
        n = len(builtins._PAGE_CPU)
        p0, t0 = _process_cpu(), time.perf_counter()
        at.run()
        wall, proc = time.perf_counter() - t0, _process_cpu() - p0
        if at.exception:
            raise RuntimeError([e.value for e in at.exception])
        assert len(builtins._PAGE_CPU) == n + 1
        return {"script_cpu_s": builtins._PAGE_CPU[-1], "process_cpu_s": proc, "wall_s": wall}

    out: dict = {"first_page": [], "random_link": []}
    run(AppTest.from_string(script, default_timeout=600))  # imports, catalogue

    from app.service import warm_predictor
    from gmtnet.catalog import build_catalog

    # The first page starts loading the models in a background thread: done before anything is timed.
    for fut in warm_predictor().values():
        fut.result()
    for _ in range(first_pages):
        out["first_page"].append(run(AppTest.from_string(script, default_timeout=600)))
    cat = build_catalog()
    ids = sorted(cat["material_id"])
    materials = random.Random(seed).sample(ids, links)
    # One crystal per kind first (not timed): each kind's first prediction traces its network.
    warm = [sorted(cat.loc[cat[c], "material_id"])[0] for c in cat.columns
            if c.startswith("has_") and cat[c].dtype == bool and cat[c].any()]
    at = AppTest.from_string(script, default_timeout=600)
    for mid in warm:
        at.query_params["material_id"] = mid
        run(at)
    at = AppTest.from_string(script, default_timeout=600)
    for mid in materials:
        if mid in warm:
            continue
        at.query_params["material_id"] = mid
        r = run(at)
        r["material_id"] = mid
        r["kind"] = at.session_state["x_kind"] if "x_kind" in at.session_state else None
        out["random_link"].append(r)
    out["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    return out


def worker_browse(root: Path, repeats: int) -> dict:
    """Time the Browse page's reruns: a kind switch, a crystal picked in the picker (same rows), an
    element filter typed and cleared; ``repeats`` times over the three shipped-table kinds."""
    import builtins

    from streamlit.testing.v1 import AppTest

    builtins._PAGE_CPU = []
    at = AppTest.from_string(_WRAPPER.format(page=str(root / "pages" / "browse.py")), default_timeout=600)

    def run() -> float:
        n = len(builtins._PAGE_CPU)
        at.run()
        if at.exception:
            raise RuntimeError([e.value for e in at.exception])
        assert len(builtins._PAGE_CPU) == n + 1
        return builtins._PAGE_CPU[-1]

    run()  # imports, the catalogue table
    from app.service import warm_predictor

    # The page starts loading the models in a background thread: let it finish before timing
    # (and before the interpreter exits under it).
    for fut in warm_predictor().values():
        fut.result()
    out: dict = {"kind_switch": [], "pick": [], "filter": [], "filter_cleared": []}
    for i in range(repeats + 1):
        for kind in ("elastic", "dielectric", "piezoelectric"):
            samples = {}
            at.radio(key="b_kind").set_value(kind)
            samples["kind_switch"] = run()
            at.selectbox(key="b_choice").select(at.dataframe[0].value["id"].iloc[1])
            samples["pick"] = run()
            at.text_input(key="b_elements").input("O")
            samples["filter"] = run()
            at.text_input(key="b_elements").input("")
            samples["filter_cleared"] = run()
            if i:  # the first pass pays one-time costs (first figure of each kind, imports)
                for k, v in samples.items():
                    out[k].append({"script_cpu_s": v, "kind": kind})
    out["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    return out


def _unpack(base: str, dest: Path) -> Path:
    root = dest / f"base-{base}"
    if not root.is_dir():
        root.mkdir(parents=True)
        archive = subprocess.run(["git", "-C", str(HERE), "archive", "--format=tar", base],
                                 check=True, capture_output=True).stdout
        tar_path = dest / "base.tar"
        tar_path.write_bytes(archive)
        with tarfile.open(tar_path) as tar:
            tar.extractall(root, filter="data")
        tar_path.unlink()
    return root


def _median(rows: list[dict], key: str, kind: str | None = None) -> float | None:
    vals = [r[key] for r in rows if kind is None or r.get("kind") == kind]
    return round(statistics.median(vals), 4) if vals else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", help="git revision timed as BEFORE")
    ap.add_argument("--links", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--first-pages", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(HERE / "benchmarks" / "results" / "app-page-cpu.json"))
    ap.add_argument("--page", choices=["explore", "browse"], default="explore",
                    help="browse: the Browse page's reruns (kind switch, pick, filter) instead of Explore links")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        if args.page == "browse":
            print(json.dumps(worker_browse(Path(args.worker), args.first_pages)))
        else:
            print(json.dumps(worker(Path(args.worker), args.links, args.seed, args.first_pages)))
        return
    if args.page == "browse":
        main_browse(args)
        return
    if not args.base:
        ap.error("--base is required")

    with tempfile.TemporaryDirectory(prefix="app-page-cpu-") as tmp:
        roots = {"before": _unpack(args.base, Path(tmp)), "after": HERE}
        samples: dict = {"before": [], "after": []}
        order = []
        for r in range(args.rounds):
            for side in (("before", "after") if r % 2 == 0 else ("after", "before")):
                env = {**os.environ, "PYTHONPATH": str(roots[side]), "OMP_NUM_THREADS": "1",
                       "MKL_NUM_THREADS": "1"}
                load = [round(x, 2) for x in os.getloadavg()]
                t0 = time.perf_counter()
                proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", str(roots[side]),
                                       "--links", str(args.links), "--seed", str(args.seed),
                                       "--first-pages", str(args.first_pages)],
                                      cwd=roots[side], env=env, capture_output=True, text=True)
                if proc.returncode:
                    raise SystemExit(f"{side} worker failed:\n{proc.stderr[-4000:]}")
                res = json.loads(proc.stdout.strip().splitlines()[-1])
                res.update(round=r, loadavg_start=load, worker_wall_s=round(time.perf_counter() - t0, 1))
                samples[side].append(res)
                order.append(side)
                links = res["random_link"]
                print(f"round {r} {side:6s}: link page script CPU median {_median(links, 'script_cpu_s'):.3f} s, "
                      f"process CPU {_median(links, 'process_cpu_s'):.3f} s; first page "
                      f"{_median(res['first_page'], 'script_cpu_s'):.3f} s; load {load} -> {res['loadavg_end']}",
                      flush=True)

    summary: dict = {}
    for side, runs in samples.items():
        links = [x for run in runs for x in run["random_link"]]
        first = [x for run in runs for x in run["first_page"]]
        kinds = sorted({x["kind"] for x in links if x["kind"]})
        summary[side] = {
            "random_link": {k: _median(links, k) for k in ("script_cpu_s", "process_cpu_s", "wall_s")},
            "random_link_per_round": [_median(run["random_link"], "script_cpu_s") for run in runs],
            "random_link_by_kind": {kd: {"n": sum(x["kind"] == kd for x in links),
                                         "script_cpu_s": _median(links, "script_cpu_s", kd)} for kd in kinds},
            "first_page": {k: _median(first, k) for k in ("script_cpu_s", "process_cpu_s", "wall_s")},
            "pages": len(links),
        }
    ratio = {f"{page}.{k}": round(summary["after"][page][k] / summary["before"][page][k], 3)
             for page in ("random_link", "first_page") for k in ("script_cpu_s", "process_cpu_s")}
    res = {"command": "python benchmarks/app_page_cpu.py " + " ".join(sys.argv[1:]),
           "base": args.base, "after": subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"],
                                                       capture_output=True, text=True).stdout.strip(),
           "dirty_after": bool(subprocess.run(["git", "-C", str(HERE), "status", "--porcelain", "--untracked-files=no"],
                                              capture_output=True, text=True).stdout.strip()),
           "torch_threads": 1, "order": order, "summary": summary, "after_over_before": ratio,
           "machine": {"cpus": os.cpu_count()}, "samples": samples}
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps({"summary": summary, "after_over_before": ratio}, indent=1))
    print(f"wrote {args.out}")


def main_browse(args) -> None:
    """Browse reruns before/after, sides alternating round by round (``--first-pages`` = repeats)."""
    out = args.out if args.out != str(HERE / "benchmarks" / "results" / "app-page-cpu.json") else \
        str(HERE / "benchmarks" / "results" / "app-browse-cpu.json")
    with tempfile.TemporaryDirectory(prefix="app-page-cpu-") as tmp:
        roots = {"before": _unpack(args.base, Path(tmp)), "after": HERE}
        samples: dict = {"before": [], "after": []}
        for r in range(args.rounds):
            for side in (("before", "after") if r % 2 == 0 else ("after", "before")):
                env = {**os.environ, "PYTHONPATH": str(roots[side]), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
                load = [round(x, 2) for x in os.getloadavg()]
                proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", str(roots[side]),
                                       "--page", "browse", "--first-pages", str(args.first_pages)],
                                      cwd=roots[side], env=env, capture_output=True, text=True)
                if proc.returncode:
                    raise SystemExit(f"{side} worker failed:\n{proc.stderr[-4000:]}")
                res = json.loads(proc.stdout.strip().splitlines()[-1])
                res.update(round=r, loadavg_start=load)
                samples[side].append(res)
                print(f"round {r} {side:6s}: " + ", ".join(
                    f"{k} {_median(res[k], 'script_cpu_s'):.3f} s" for k in ("kind_switch", "pick", "filter", "filter_cleared"))
                    + f"; load {load} -> {res['loadavg_end']}", flush=True)
    actions = ("kind_switch", "pick", "filter", "filter_cleared")
    summary = {side: {a: _median([x for run in runs for x in run[a]], "script_cpu_s") for a in actions}
               | {"all": _median([x for run in runs for a in actions for x in run[a]], "script_cpu_s")}
               for side, runs in samples.items()}
    ratio = {a: round(summary["after"][a] / summary["before"][a], 3) for a in (*actions, "all")}
    res = {"command": "python benchmarks/app_page_cpu.py " + " ".join(sys.argv[1:]), "base": args.base,
           "after": subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"],
                                   capture_output=True, text=True).stdout.strip(),
           "dirty_after": bool(subprocess.run(["git", "-C", str(HERE), "status", "--porcelain", "--untracked-files=no"],
                                              capture_output=True, text=True).stdout.strip()),
           "metric": "script thread CPU seconds per rerun (median)", "summary": summary, "after_over_before": ratio,
           "machine": {"cpus": os.cpu_count()}, "samples": samples}
    Path(out).write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps({"summary": summary, "after_over_before": ratio}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
