"""Fuzz worker: runs corpus cases through one path and prints one ``@@{json}`` line per step.

Run by :mod:`fuzz.harness` (never imported by the tests themselves)::

    python tests/fuzz/worker.py --seed 0 --path library --cases 3,4,5

For each case it prints ``@@{"begin": i}`` before touching the file and
``@@{"i": i, "outcome": ..., "message": ...}`` after, so that the parent can tell which case a
crash, hang or memory blow-up belongs to. Outcomes: ``success`` (read and every kind predicted),
``clear`` (refused with a :class:`gmtnet.io.StructureError`, or a ``ValueError`` from
``predict``, whose message is clear), ``unclear`` (any other exception, or a message that only
relays a parser's internal error).

Paths: ``library`` (``gmtnet.io.parse_bytes`` + ``Predictor.predict``, in process) and ``app``
(the Explore page under Streamlit's AppTest: upload, then the page's own prediction).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

#: A message that only relays an internal error: an exception class name, or our "parser failed".
UNCLEAR = re.compile(r"\b[A-Z]\w*(Error|Exception)\b|the (parser|reader) failed|Traceback")


def is_clear(message: str) -> bool:
    return bool(message.strip()) and not UNCLEAR.search(message)


def emit(record: dict) -> None:
    sys.stdout.write("@@" + json.dumps(record) + "\n")
    sys.stdout.flush()


def library_case(case, predictor, kinds) -> tuple[str, str]:
    from gmtnet.io import StructureError, parse_bytes

    try:
        structure = parse_bytes(case.data, case.name)
    except StructureError as err:
        return ("unclear" if err.unexpected or not is_clear(str(err)) else "clear"), str(err)
    except Exception as err:
        return "unclear", f"{type(err).__name__}: {err}"
    for kind in kinds:
        try:
            predictor.predict(structure, kind)
        except ValueError as err:
            return ("clear" if is_clear(str(err)) else "unclear"), f"predict {kind}: {err}"
        except Exception as err:
            return "unclear", f"predict {kind}: {type(err).__name__}: {err}"
    return "success", structure.composition.reduced_formula


def app_case(case, at_factory) -> tuple[str, str]:
    at = at_factory()
    errors = [e.value for e in at.error]
    if at.exception:
        return "unclear", "page exception: " + "; ".join(str(e.value)[:200] for e in at.exception)
    crystal = at.session_state["crystal"] if "crystal" in at.session_state else None
    if crystal is not None and crystal.label == case.name:
        failed = [e for e in errors if e.startswith("No prediction")]
        if failed:
            return ("clear" if is_clear(failed[0]) else "unclear"), failed[0]
        if not any("Predicted" in m.value for m in at.markdown):
            return "unclear", "loaded, but no prediction shown"
        return "success", crystal.structure.composition.reduced_formula
    if crystal is None or crystal.label != "baseline":
        return "unclear", "the previous crystal was not kept"
    if not errors:
        return "unclear", "refused without an error message"
    return ("clear" if is_clear(errors[0]) else "unclear"), errors[0]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--path", choices=("library", "app"), default="library")
    ap.add_argument("--cases", required=True, help="comma-separated case indices")
    ap.add_argument("--kinds", default="all")
    ap.add_argument("--memory-gb", type=float, default=3.0, help="address space allowed on top of start-up")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    from fuzz.corpus import generate

    from gmtnet.kinds import KINDS

    corpus = generate(args.seed)
    indices = [int(x) for x in args.cases.split(",") if x]
    kinds = list(KINDS) if args.kinds == "all" else args.kinds.split(",")
    if args.path == "library":
        from gmtnet.predict import Predictor

        predictor = Predictor.load(kinds=kinds, device="cpu")
        run = lambda case: library_case(case, predictor, kinds)  # noqa: E731
    else:
        run = _app_runner()
    # A hard ceiling under the parent's RSS watch: the worker gets a MemoryError instead of taking
    # the machine down if something allocates without bound.
    with open("/proc/self/statm") as fh:
        vm = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    resource.setrlimit(resource.RLIMIT_AS, (vm + int(args.memory_gb * 1e9), resource.RLIM_INFINITY))
    emit({"ready": True})
    for i in indices:
        case = corpus[i]
        emit({"begin": i})
        outcome, message = run(case)
        emit({"i": i, "outcome": outcome, "message": message[:500]})
    return 0


def _app_runner():
    from pymatgen.core import Lattice, Structure
    from streamlit.testing.v1 import AppTest

    from app.session import Crystal

    baseline = Structure(Lattice.cubic(3.905), ["Sr", "Ti", "O", "O", "O"],
                         [[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])

    def run(case):
        def factory():
            at = AppTest.from_file(str(ROOT / "pages" / "explore.py"), default_timeout=300)
            at.session_state["crystal"] = Crystal(structure=baseline, label="baseline")
            at.run()
            at.file_uploader(key="upload").set_value((case.name, case.data, "application/octet-stream"))
            at.run()
            return at

        try:
            return app_case(case, factory)
        except Exception as err:
            return "unclear", f"AppTest: {type(err).__name__}: {err}"

    return run


if __name__ == "__main__":
    sys.exit(main())
