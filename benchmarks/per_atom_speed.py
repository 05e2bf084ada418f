"""What a per-atom tensor (Born charges) costs beside a per-crystal one, interleaved: medians, ratios, JSON.

    python benchmarks/per_atom_speed.py [--repeats 15] [--out benchmarks/results/per-atom-speed.json]

On cubic SrTiO3 and its 2x2x1, 2x2x2 and 3x3x3 supercells (5, 20, 40, 135 atoms; the supercells
keep the full space group, so they are the worst case of the site projector: |G| grows with N),
each repeat times, back to back so that shared-machine noise hits both sides:

* ``symmetry``: :func:`gmtnet.symmetry.analyze_symmetry` (point group, cache cleared) against
  :func:`gmtnet.symmetry.analyze_site_symmetry` plus its rank-2 projector blocks (space group with
  the atom mapping);
* ``forward``: a default-size GMTNet forward pass (inference mode, one thread) for one crystal:
  per crystal (ε∞, with its Neumann projector) against per atom (a general rank-2 ``"ij"`` kind
  registered by this script, with the site projector and the sum rule). Weights are random: the
  cost does not depend on them.

The load average is recorded beside every block.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from pymatgen.core import Lattice, Structure

from gmtnet import kinds
from gmtnet.graph import build_graph, collate
from gmtnet.models import ModelConfig, build_model
from gmtnet.models.per_atom import per_atom_batch
from gmtnet.symmetry import analyze_site_symmetry, analyze_symmetry, clear_symmetry_cache, symmetry_constraints

#: A Born-charge-like kind for this script only (issue 17 registers the real one).
BORN_LIKE = kinds.TensorKind(
    name="born_like_benchmark", title="general rank-2 tensor per atom", symbol="Z*", rank=2, formula="ij",
    irreps="0e+1e+2e", unit="e", voigt_shape=(3, 3), voigt_prefix="Z", dataset="none", column="none", per_atom=True,
)
SUPERCELLS = ((1, 1, 1), (2, 2, 1), (2, 2, 2), (3, 3, 3))


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _srtio3(scaling) -> Structure:
    s = Structure(
        Lattice.cubic(3.905),
        ["Sr", "Ti", "O", "O", "O"],
        [[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]],
    )
    s.make_supercell(list(scaling))
    return s


def _interleaved(fns: dict, repeats: int) -> dict:
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(1e3 * (time.perf_counter() - t0))
    return {name: round(statistics.median(t), 3) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--out", default="benchmarks/results/per-atom-speed.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    kinds.register_kind(BORN_LIKE)
    torch.manual_seed(0)
    crystal_model = build_model(ModelConfig(kind="dielectric_electronic")).eval()
    atom_model = build_model(ModelConfig(kind=BORN_LIKE.name, per_atom=True, sum_rule=True)).eval()
    analyze_site_symmetry(_srtio3((1, 1, 1))).projector_blocks(2)  # scipy's import, once

    rows = []
    for scaling in SUPERCELLS:
        s = _srtio3(scaling)
        graph = build_graph(s, num_neighbors=crystal_model.config.num_neighbors)
        crystal_batch = collate([graph], [symmetry_constraints(s, "dielectric_electronic").projector])
        atom_batch = per_atom_batch([s], 2, atom_model.config.num_neighbors)

        def point_group(s=s):
            clear_symmetry_cache()
            analyze_symmetry(s)

        def site_group(s=s):
            analyze_site_symmetry(s).projector_blocks(2)

        def forward(model, batch):
            with torch.inference_mode():
                model(batch)

        load_before = _load()
        sym = _interleaved({"point_group": point_group, "site_symmetry": site_group}, args.repeats)
        fwd = _interleaved(
            {"per_crystal": lambda: forward(crystal_model, crystal_batch), "per_atom": lambda: forward(atom_model, atom_batch)},
            args.repeats,
        )
        sites = analyze_site_symmetry(s)
        row = {
            "atoms": len(s),
            "operations": sites.num_operations,
            "projector_blocks": int(sites.projector_blocks(2)[1].shape[0]),
            "symmetry_ms": sym,
            "symmetry_ratio": round(sym["site_symmetry"] / sym["point_group"], 2),
            "forward_ms": fwd,
            "forward_ratio": round(fwd["per_atom"] / fwd["per_crystal"], 2),
            "load": [load_before, _load()],
        }
        rows.append(row)
        print(
            f"{row['atoms']:4d} atoms, {row['operations']:4d} ops: symmetry {sym['point_group']:.1f} -> "
            f"{sym['site_symmetry']:.1f} ms (x{row['symmetry_ratio']}), forward {fwd['per_crystal']:.1f} -> "
            f"{fwd['per_atom']:.1f} ms (x{row['forward_ratio']}), load {row['load']}"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"repeats": args.repeats, "threads": 1, "machine": platform.processor() or platform.machine(), "torch": torch.__version__}
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
