"""Where the server spends an Explore interaction: cProfile of the page script, without a browser.

    python benchmarks/app_profile.py [--repeats 5] [--top 25] [--out benchmarks/results/app-profile.json]
    python benchmarks/app_profile.py --links 20 [--seed 0]    # what benchmarks/app_load.py asks for

Drives ``pages/explore.py`` with Streamlit's AppTest (one process, caches shared as in a server)
through the interactions of ``benchmarks/app_speed.py``: the first page (no crystal), a new crystal
by link (``?material_id=``), a tensor switch (ε → e → C → …) and a frame switch. Each script run is
profiled *inside the script thread* (cProfile only sees the thread it is enabled in): the page runs
under a small wrapper that enables the profiler around ``runpy.run_path``. Prints, per interaction,
the median wall time of the script and the top functions by cumulative time (summed over the
repeats); writes medians and the top lists as JSON.

AppTest reruns the whole page on every interaction, also where the browser would rerun only the
tensor fragment (``st.fragment``); the fragment's own time (``tensors_section``) is reported apart.
Torch and the models are loaded before the first timed run (the server does this in a background
thread; it is timed apart as ``warm_predictor_s``).

``--links N`` profiles instead what one page view costs the server under ``benchmarks/app_load.py``:
N links to random bundled crystals (seeded, any of the catalogue, so mostly elastic-only ones) opened
one after another in one session, as each load-test session does; reported as ``random_link``,
with the script's CPU time per page (``cpu_s``, the thread's own CPU: what limits pages per second).
"""

from __future__ import annotations

import argparse
import builtins
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

_WRAPPER = """
import builtins, cProfile, runpy, time
_prof = cProfile.Profile()
_c0 = time.thread_time()
_t0 = time.perf_counter()
_prof.enable()
try:
    runpy.run_path({page!r}, run_name="__main__")
finally:
    _prof.disable()
    builtins._APP_PROFILES.append((time.perf_counter() - _t0, time.thread_time() - _c0, _prof))
"""

KIND_ORDER = ["elastic", "dielectric", "piezoelectric"]


def _materials(n: int) -> list[str]:
    from benchmarks.app_speed import pick_materials

    return pick_materials(n)


def _stats(profiles) -> pstats.Stats:
    st = pstats.Stats(profiles[0])
    for p in profiles[1:]:
        st.add(p)
    return st


def _top(profiles, n: int, runs: int) -> list[dict]:
    """Top ``n`` functions by cumulative time, per run (summed over the runs / runs)."""
    st = _stats(profiles)
    rows = []
    for (file, line, func), (cc, nc, tt, ct, _callers) in st.stats.items():
        rows.append({"function": f"{Path(file).name}:{line}({func})" if line else func,
                     "file": file, "calls_per_run": round(nc / runs, 1),
                     "cumulative_s_per_run": round(ct / runs, 4), "own_s_per_run": round(tt / runs, 4)})
    rows.sort(key=lambda r: -r["cumulative_s_per_run"])
    # Keep the project's and the heavy libraries' frames; the runpy/streamlit plumbing says little.
    keep = [r for r in rows if any(s in r["file"] for s in ("/app/", "/gmtnet/", "/pages/", "pymatgen", "spglib",
                                                               "plotly", "torch", "e3nn", "pandas", "pyarrow",
                                                               "streamlit/elements", "streamlit/runtime/caching",
                                                               "json", "numpy"))]
    return keep[:n]


def _run(at, profiles_sink: list, label: str, out: dict) -> None:
    builtins._APP_PROFILES = []
    t0 = time.perf_counter()
    at.run()
    wall = time.perf_counter() - t0
    if at.exception:
        raise RuntimeError(f"{label}: {[e.value for e in at.exception]}")
    script_s, cpu_s, prof = builtins._APP_PROFILES[-1]
    profiles_sink.append(prof)
    out.setdefault(label, []).append({"apptest_s": wall, "script_s": script_s, "cpu_s": cpu_s,
                                      "fragment_s": _fragment_time(prof)})


def _fragment_time(prof) -> float | None:
    st = pstats.Stats(prof)
    for (file, _line, func), (_cc, _nc, _tt, ct, _c) in st.stats.items():
        if func == "tensors_section" and file.endswith("explore.py"):
            return ct
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "app-profile.json"))
    ap.add_argument("--links", type=int, default=0,
                    help="profile N links to random catalogue crystals in one session instead (app_load's pages)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from streamlit.testing.v1 import AppTest

    script = _WRAPPER.format(page=str(ROOT / "pages" / "explore.py"))
    load_before = os.getloadavg()
    samples: dict[str, list] = {}
    profiles: dict[str, list] = {}

    def fresh():
        return AppTest.from_string(script, default_timeout=600)

    # The first page of the process (imports, catalogue) and then of new sessions.
    for i in range(args.repeats + 1):
        at = fresh()
        _run(at, profiles.setdefault("first_page_cold" if i == 0 else "first_page", []),
             "first_page_cold" if i == 0 else "first_page", samples)

    from app.service import warm_predictor

    t0 = time.perf_counter()
    for fut in warm_predictor().values():
        fut.result()
    warm_s = time.perf_counter() - t0

    if args.links:
        import random

        from gmtnet.catalog import build_catalog

        ids = sorted(build_catalog()["material_id"])
        materials = random.Random(args.seed).sample(ids, args.links)
        at = fresh()
        for mid in materials:
            at.query_params["material_id"] = mid
            _run(at, profiles.setdefault("random_link", []), "random_link", samples)
            samples["random_link"][-1]["kind"] = at.session_state["x_kind"] if "x_kind" in at.session_state else None
        _report(args, samples, profiles, warm_s, materials, load_before, memory=_memory_after_links())
        return

    materials = _materials(args.repeats)
    at = fresh()
    at.query_params["material_id"] = materials[0]
    _run(at, profiles.setdefault("first_crystal", []), "first_crystal", samples)
    for mid in materials[1: args.repeats + 1]:
        at = fresh()  # a link opens a new session, as in the browser benchmark
        at.query_params["material_id"] = mid
        _run(at, profiles.setdefault("new_crystal", []), "new_crystal", samples)

    # Tensor switches on the last crystal: the first visit of each kind, then repeats.
    for i in range(args.repeats + 3):
        at.radio(key="x_kind").set_value(KIND_ORDER[i % 3])
        label = "first_switch_to_kind" if i < 3 else "tensor_switch"
        _run(at, profiles.setdefault(label, []), label, samples)

    for i in range(args.repeats):
        at.radio(key="x_frame").set_value("ieee" if i % 2 == 0 else "structure")
        _run(at, profiles.setdefault("frame_switch", []), "frame_switch", samples)
    _report(args, samples, profiles, warm_s, materials, load_before)


def _rss_mb() -> float:
    page = os.sysconf("SC_PAGE_SIZE")
    return round(int(Path("/proc/self/statm").read_text().split()[1]) * page / 1e6, 1)


def _memory_after_links() -> dict:
    """Resident memory after the links, after a heap trim, and after emptying Streamlit's caches
    (predictions, figures, 3D views, derived rows, ...) and the symmetry cache, then trimming again:
    what the caches hold versus what only the allocator held (Linux; an empty dict elsewhere)."""
    if not Path("/proc/self/statm").is_file():
        return {}
    import gc

    import streamlit as st

    from app import memory
    from gmtnet import symmetry

    out = {"after_links_mb": _rss_mb()}
    gc.collect()
    memory.trim()
    out["after_trim_mb"] = _rss_mb()
    st.cache_data.clear()
    st.cache_resource.clear()  # the models stay loaded: app.service's warm-up futures hold them
    symmetry.clear_symmetry_cache()
    gc.collect()
    memory.trim()
    out["caches_cleared_and_trimmed_mb"] = _rss_mb()
    return out


def _report(args, samples: dict, profiles: dict, warm_s: float, materials: list, load_before,
            memory: dict | None = None) -> None:
    from app.service import app_kinds

    res = {"warm_predictor_s": round(warm_s, 3), "kinds": list(app_kinds()), "materials": materials,
           "medians": {}, "samples": {}, "top_cumulative": {}}
    for label, runs in samples.items():
        res["samples"][label] = [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()} for r in runs]
        res["medians"][label] = {k: round(statistics.median([r[k] for r in runs if r[k] is not None]), 4)
                                 for k in ("apptest_s", "script_s", "cpu_s", "fragment_s")
                                 if any(r[k] is not None for r in runs)}
        res["top_cumulative"][label] = _top(profiles[label], args.top, len(runs))
    if memory:
        res["memory_rss_mb"] = memory
    res["machine"] = {"cpus": os.cpu_count(), "loadavg_before": [round(x, 2) for x in load_before],
                      "loadavg_after": [round(x, 2) for x in os.getloadavg()]}
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n")

    print(f"warm predictor (torch + models, background thread in the server): {warm_s:.2f} s")
    for label, med in res["medians"].items():
        print(f"\n== {label}: n={len(samples[label])} medians " + ", ".join(f"{k} {v:.3f} s" for k, v in med.items()))
        buf = io.StringIO()
        for r in res["top_cumulative"][label][: args.top]:
            buf.write(f"  {r['cumulative_s_per_run']:8.4f} s cum  {r['own_s_per_run']:8.4f} s own  "
                      f"{r['calls_per_run']:7.1f} calls  {r['function']}\n")
        print(buf.getvalue(), end="")
    if memory:
        print(f"\nresident memory (MB): {memory}")
    print(f"\nload average {res['machine']['loadavg_before']} -> {res['machine']['loadavg_after']}; wrote {args.out}")


if __name__ == "__main__":
    main()
