"""Hostile input, re-measured: the seeded fuzz corpus through the library, the CLI and the app.

* library: every case, ``gmtnet.io.parse_bytes`` then ``Predictor.predict`` for every kind;
* CLI: a stratified sample, ``python -m gmtnet predict`` (batches of files per invocation);
* app: a stratified sample uploaded on the Explore page (Streamlit AppTest: the page's own upload
  path, a child process per file, then the page's prediction).

Each path runs in watched subprocesses (:mod:`tests/fuzz/harness.py`): a crash, hang (no answer
within ``--case-timeout`` s) or memory blow-up (resident memory over 3 GB) is attributed to its
case. Outcomes: clear error, success, unclear error, crash, hang, memory.

    python benchmarks/hostile_input.py [--seed 0] [--cli-per-category 5] [--app-per-category 6]

Writes ``benchmarks/results/hostile_input.json`` and ``benchmarks/results/HOSTILE_INPUT.md``.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fuzz.corpus import generate  # noqa: E402
from fuzz.harness import OUTCOMES, run_cases, run_cli, table  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def stratified(corpus, per_category: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    by_cat = collections.defaultdict(list)
    for i, c in enumerate(corpus):
        by_cat[c.category].append(i)
    return sorted(i for ids in by_cat.values() for i in rng.sample(ids, min(per_category, len(ids))))


def expectation_failures(corpus, results) -> list[dict]:
    out = []
    for i, r in sorted(results.items()):
        c = corpus[i]
        if (c.expect == "valid" and r["outcome"] != "success") or (c.expect == "invalid" and r["outcome"] == "success"):
            out.append({"case": i, "name": c.name[:60], "category": c.category, "expect": c.expect, **r})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cli-per-category", type=int, default=5)
    ap.add_argument("--app-per-category", type=int, default=6)
    ap.add_argument("--case-timeout", type=float, default=120.0)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    corpus = generate(args.seed)
    report: dict = {"seed": args.seed, "cases": len(corpus),
                    "categories": dict(collections.Counter(c.category for c in corpus)), "paths": {}}
    t0 = time.monotonic()
    lib = run_cases(list(range(len(corpus))), seed=args.seed, path="library", workers=args.workers,
                    case_timeout=args.case_timeout)
    report["paths"]["library"] = {"n": len(lib), "seconds": round(time.monotonic() - t0, 1), **table(lib)}
    per_cat = collections.defaultdict(collections.Counter)
    for i, r in lib.items():
        per_cat[corpus[i].category][r["outcome"]] += 1
    report["library_by_category"] = {k: dict(v) for k, v in sorted(per_cat.items())}
    print("library", report["paths"]["library"], flush=True)

    t0 = time.monotonic()
    cli_idx = stratified(corpus, args.cli_per_category, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        cli = run_cli(corpus, cli_idx, Path(tmp), batch=60, timeout=900)
    report["paths"]["CLI"] = {"n": len(cli), "seconds": round(time.monotonic() - t0, 1), **table(cli)}
    print("CLI", report["paths"]["CLI"], flush=True)

    t0 = time.monotonic()
    app_idx = stratified(corpus, args.app_per_category, args.seed + 1)
    app = run_cases(app_idx, seed=args.seed, path="app", workers=args.workers, case_timeout=args.case_timeout)
    report["paths"]["app upload"] = {"n": len(app), "seconds": round(time.monotonic() - t0, 1), **table(app)}
    print("app", report["paths"]["app upload"], flush=True)

    report["expectation_failures"] = {
        "library": expectation_failures(corpus, lib), "CLI": expectation_failures(corpus, cli),
        "app upload": expectation_failures(corpus, app)}
    report["not_clear_or_success"] = {
        name: [{"case": i, "name": corpus[i].name[:60], **r} for i, r in sorted(res.items())
               if r["outcome"] not in ("clear", "success")]
        for name, res in (("library", lib), ("CLI", cli), ("app upload", app))}
    report["load_average_1_5_15"] = [round(x, 2) for x in os.getloadavg()]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "hostile_input.json").write_text(json.dumps(report, indent=2) + "\n")

    head = ["path", "files", "clear error", "success", "unclear error", "crash", "hang", "memory blow-up"]
    lines = [
        "# Hostile input: re-measured with the committed corpus",
        "",
        f"`python benchmarks/hostile_input.py --seed {args.seed}`: {len(corpus)} generated cases "
        "(`tests/fuzz/corpus.py`), each in a watched subprocess (crash = the process died, hang = no "
        f"answer within {args.case_timeout:g} s, memory = resident memory over 3 GB). The CLI and app rows use "
        "stratified samples (every category). Raw numbers: `hostile_input.json`.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for name, counts in report["paths"].items():
        lines.append("| " + " | ".join([name, str(counts["n"]), *(str(counts[k]) for k in OUTCOMES)]) + " |")
    fails = sum(len(v) for v in report["expectation_failures"].values())
    lines += ["", f"Valid controls not predicted, or files that must be refused but were read: {fails}.", ""]
    (RESULTS / "HOSTILE_INPUT.md").write_text("\n".join(lines))
    print("\n".join(lines))
    bad = any(c[k] for c in report["paths"].values() for k in ("unclear", "crash", "hang", "memory"))
    return 1 if bad or fails else 0


if __name__ == "__main__":
    sys.exit(main())
