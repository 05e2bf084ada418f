"""Before/after page times: two checkouts of the app measured by ``app_speed.py``, alternating.

    git archive <before-commit> | tar -x -C /tmp/app-before
    python benchmarks/app_speed_compare.py /tmp/app-before [--rounds 2] [--repeats 5]

Runs ``app_speed.run`` (every measurement of ``benchmarks/app_speed.py``, with this checkout's
definition of a complete page) on the "before" app, then on this checkout's app, ``--rounds`` times
in alternation, so that both sides see the same mix of machine load; pools the samples per side and
prints the medians and the after/before ratios. Writes
``benchmarks/results/app-speed-compare.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.server import CHROMIUM  # noqa: E402
from benchmarks.app_speed import run  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("before", type=Path, help="checkout of the app before the change")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "app-speed-compare.json")
    args = ap.parse_args()
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install chromium")
    sides = {"before": args.before.resolve(), "after": ROOT}
    runs: dict[str, list[dict]] = {k: [] for k in sides}
    for i in range(args.rounds):
        for side, root in sides.items():
            print(f"round {i + 1}/{args.rounds}: {side} ({root}), load {os.getloadavg()[0]:.1f}", flush=True)
            runs[side].append(run(args.repeats, root))
    pooled = {side: {} for side in sides}
    for side, results in runs.items():
        for r in results:
            for k, v in r["samples"].items():
                pooled[side].setdefault(k, []).extend(v)
    medians = {side: {k: round(statistics.median(v), 3) for k, v in p.items()} for side, p in pooled.items()}
    ratios = {k: round(medians["after"][k] / medians["before"][k], 2)
              for k in medians["after"] if k in medians["before"] and medians["before"][k] > 0}
    doc = {"before": str(sides["before"]), "after": str(ROOT), "rounds": args.rounds, "repeats": args.repeats,
           "median_s": medians, "ratio_after_to_before": ratios, "samples": pooled,
           "loadavg": {side: [r["machine"]["loadavg_before"][0] for r in results] for side, results in runs.items()},
           "runs": runs}
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    for k in medians["after"]:
        b = medians["before"].get(k)
        print(f"{k:20s} before {b if b is not None else '—':>7}  after {medians['after'][k]:7.3f}  "
              f"ratio {ratios.get(k, '—')}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
