"""Execute the teaching notebooks with nbclient; report the wall time and the executed file size.

    PYTHONPATH=$PWD nice -n 19 .venv/bin/python benchmarks/notebook_sizes.py [--checkout DIR] [names...]

Writes ``benchmarks/results/notebook_sizes.json`` (one entry per notebook: seconds, bytes, the
biggest output in bytes, the 1-minute load average when it finished). ``--checkout`` runs the
notebooks of another checkout (e.g. a ``git worktree`` of main) for a before/after comparison;
the times are wall times on a shared machine, so compare sizes, and times only at similar load.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import nbclient
import nbformat

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = ["01_neumann_principle.ipynb", "02_tensor_surfaces.ipynb", "03_predicting_with_gmtnet.ipynb",
             "04_train_a_small_model.ipynb"]


def run(checkout: Path, name: str, out_dir: Path) -> dict:
    nb = nbformat.read(checkout / "notebooks" / name, as_version=4)
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    start = time.perf_counter()
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=600,
                            resources={"metadata": {"path": str(checkout / "notebooks")}}).execute(env=env)
    seconds = time.perf_counter() - start
    path = out_dir / name
    nbformat.write(nb, path)
    largest = max((len(json.dumps(o)) for c in nb.cells for o in c.get("outputs", [])), default=0)
    return {"seconds": round(seconds, 1), "bytes": path.stat().st_size, "largest_output_bytes": largest,
            "load_1min": round(os.getloadavg()[0], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=NOTEBOOKS)
    parser.add_argument("--checkout", type=Path, default=REPO)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "notebook_sizes.json")
    args = parser.parse_args()
    out_dir = Path(os.environ.get("TMPDIR", "/tmp")) / "gmtnet-notebook-sizes"
    out_dir.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in args.names:
        results[name] = run(args.checkout.resolve(), name, out_dir)
        r = results[name]
        print(f"{name:34s} {r['seconds']:6.1f} s  {r['bytes'] / 1e6:6.2f} MB  (largest output {r['largest_output_bytes'] / 1e6:.2f} MB, load {r['load_1min']})", flush=True)
    args.out.write_text(json.dumps({"checkout": str(args.checkout), "notebooks": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
