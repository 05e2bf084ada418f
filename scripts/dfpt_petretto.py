"""Curation of the DFPT ε∞ + Born-charge set (Petretto et al. 2018, ABINIT/PBEsol) for the build.

Imported by ``scripts/build_datasets.py`` (which writes ``dielectric_dfpt.parquet`` with it);
kept apart because the source, its checks and its columns have nothing in common with the
matminer CSVs but the structure columns.

Source: ``petretto_phonon_becs_eps/phonon_becs_epsilon.xyz`` (extended XYZ, 1,520 frames).
Per frame ``eps`` is ε∞ (3x3, dimensionless) and per atom ``becs`` is Z* (3x3, units of e), both
row-major in the Cartesian frame of the frame's lattice, which is stored unchanged as the
structure (so no rotation is applied anywhere).

Index convention of Z*: stored as Z*_κ,αβ = Ω ∂P_α/∂u_κβ = ∂F_κβ/∂E_α, first index the electric
field / polarization direction α, second the displacement β (Gonze & Lee, Phys. Rev. B 55, 10355
(1997), the definition ABINIT's DFPT implementation follows). The data cannot decide it: the
site-symmetry relation Z_g(κ) = R Z_κ Rᵀ, the equivalence of atoms and the acoustic sum rule are
all unchanged by transposing every Z_κ (:func:`born_checks` measures both and reports them equal),
so the convention is taken from ABINIT's definition; ``transpose_sensitive_atoms`` in the report
counts the atoms for which the choice matters at all (antisymmetric part above 1 % of ||Z||).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import spglib
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Lattice, Structure
from tqdm import tqdm

from gmtnet.data import DFPT_FLAGS, NEAR_METALLIC_EPS  # noqa: F401 (DFPT_FLAGS: the card)
from gmtnet.symmetry import DEFAULT_ANGLE_TOLERANCE, DEFAULT_SYMPREC, analyze_symmetry, symmetry_residual

SOURCE_NAME = "petretto_phonon_becs_eps"
XYZ_FILE = "petretto_phonon_becs_eps/phonon_becs_epsilon.xyz"
#: Rows get ids ``dfpt-<frame index in the source file, 4 digits>`` (the file has no material ids).
ID_PREFIX = "dfpt-"
#: Largest accepted acoustic-sum-rule violation max_αβ |Σ_κ Z*_κ,αβ| (e).
ASR_TOLERANCE = 1e-3
#: Largest accepted site-symmetry residual of the Born charges (relative, see born_checks).
BORN_RESIDUAL_THRESHOLD = 0.01
#: StructureMatcher settings for finding a DFPT crystal among the bundled Materials Project
#: cells: pymatgen's defaults (ltol 0.2, stol 0.3, angle_tol 5°), with volumes scaled, since
#: PBEsol and PBE lattice constants differ by ~1-2 %.
MATCHER = {"ltol": 0.2, "stol": 0.3, "angle_tol": 5.0, "primitive_cell": True, "scale": True}

def read_xyz(path: Path) -> list[dict]:
    """Frames of the extended XYZ (ASE): lattice (rows, Å), species, Cartesian positions (Å), ε∞, Z*."""
    from ase.io import read

    frames = []
    for index, atoms in enumerate(read(path, index=":", format="extxyz")):
        if "eps" not in atoms.info or "becs" not in atoms.arrays:
            raise ValueError(f"frame {index} of {path} lacks `eps` or per-atom `becs`")
        frames.append(
            {
                "index": index,
                "lattice": np.asarray(atoms.cell[:], float),
                "species": atoms.get_chemical_symbols(),
                "cart": atoms.positions,
                "eps": np.asarray(atoms.info["eps"], float).reshape(3, 3),
                "becs": np.asarray(atoms.arrays["becs"], float).reshape(len(atoms), 3, 3),
            }
        )
    return frames


def _cartesian_operations(structure: Structure):
    """spglib's space-group operations as (Cartesian R, atom permutation) pairs."""
    cell = (structure.lattice.matrix, structure.frac_coords, np.array(structure.atomic_numbers, dtype=np.intc))
    data = spglib.get_symmetry_dataset(cell, symprec=DEFAULT_SYMPREC, angle_tolerance=DEFAULT_ANGLE_TOLERANCE)
    a = structure.lattice.matrix.T  # columns a, b, c: x_cart = A f
    a_inv = np.linalg.inv(a)
    frac = structure.frac_coords
    ops = []
    for w, t in zip(data.rotations, data.translations, strict=True):
        moved = frac @ w.T + t
        delta = moved[:, None, :] - frac[None, :, :]
        delta -= np.round(delta)
        dist = np.linalg.norm(delta @ a.T, axis=2)  # Å
        perm = dist.argmin(axis=1)
        if dist[np.arange(len(frac)), perm].max() > 10 * DEFAULT_SYMPREC:
            raise ValueError(f"{structure.formula}: an operation maps an atom onto no atom")
        ops.append((a @ w @ a_inv, perm))
    return ops


def born_checks(structure: Structure, becs: np.ndarray) -> dict:
    """Site symmetry and acoustic sum rule of one crystal's Born charges ``(N, 3, 3)`` in e.

    ``site_residual``: max over space-group operations (R, κ -> g(κ)) of
    ||Z_g(κ) − R Z_κ Rᵀ||_F over atoms, divided by the largest ||Z_κ||_F (relative). It covers
    both the site-symmetry invariance (g(κ) = κ) and the relation between equivalent atoms.
    ``site_residual_transposed``: the same for every Z_κ transposed (equal to the first:
    the test cannot tell the index convention). ``asr``: max_αβ |Σ_κ Z_κ,αβ| in e.
    ``antisymmetric``: max_κ ||Z_κ − Z_κᵀ||_F / (2 ||Z_κ||_F).
    """
    ops = _cartesian_operations(structure)
    scale = max(np.linalg.norm(becs, axis=(1, 2)).max(), 1e-12)

    def residual(z):
        worst = 0.0
        for r, perm in ops:
            mapped = np.einsum("ia,kab,jb->kij", r, z, r)
            worst = max(worst, np.linalg.norm(z[perm] - mapped, axis=(1, 2)).max())
        return float(worst / scale)

    norms = np.maximum(np.linalg.norm(becs, axis=(1, 2)), 1e-12)
    return {
        "site_residual": residual(becs),
        "site_residual_transposed": residual(np.swapaxes(becs, 1, 2)),
        "asr": float(np.abs(becs.sum(axis=0)).max()),
        "antisymmetric": float((np.linalg.norm(becs - np.swapaxes(becs, 1, 2), axis=(1, 2)) / (2 * norms)).max()),
    }


def build_rows(raw_dir: Path, residual_threshold: float) -> tuple[list[dict], dict]:
    """One record per frame (split and folds still missing) and the QC counts."""
    frames = read_xyz(raw_dir / XYZ_FILE)
    records, transposed_differs, sensitive = [], 0, 0
    for f in tqdm(frames, desc=SOURCE_NAME, unit="row"):
        structure = Structure(Lattice(f["lattice"]), f["species"], f["cart"], coords_are_cartesian=True)
        sym = analyze_symmetry(structure, symprec=DEFAULT_SYMPREC, angle_tolerance=DEFAULT_ANGLE_TOLERANCE)
        eps = f["eps"]
        eig = np.linalg.eigvalsh(0.5 * (eps + eps.T))
        born = born_checks(structure, f["becs"])
        transposed_differs += abs(born["site_residual"] - born["site_residual_transposed"]) > 1e-9
        sensitive += born["antisymmetric"] > 0.01
        residual = symmetry_residual(eps, sym.rotations)
        flags = []
        if residual > residual_threshold:
            flags.append("asymmetric_electronic")
        if eig.max() > NEAR_METALLIC_EPS or eig.min() <= 0:
            flags.append("near_metallic")
        if born["site_residual"] > BORN_RESIDUAL_THRESHOLD or born["asr"] > ASR_TOLERANCE:
            flags.append("born_asymmetric")
        records.append(
            {
                "material_id": f"{ID_PREFIX}{f['index']:04d}",
                "formula": structure.composition.reduced_formula,
                "nsites": len(structure),
                "lattice": structure.lattice.matrix.reshape(-1).tolist(),
                "species": list(f["species"]),
                "frac_coords": structure.frac_coords.reshape(-1).tolist(),
                "tensor_electronic": eps.reshape(-1).tolist(),
                "born_charges": f["becs"].reshape(-1, 9).tolist(),
                "spacegroup_number": sym.spacegroup_number,
                "spacegroup_symbol": sym.spacegroup_symbol,
                "point_group": sym.point_group,
                "crystal_system": sym.crystal_system,
                "symmetry_residual_electronic": residual,
                "born_site_residual": born["site_residual"],
                "born_asr": born["asr"],
                "flags": flags,
                "source": SOURCE_NAME,
                "_structure": structure,
            }
        )
    qc = {
        "frames": len(frames),
        "born_transpose_changes_site_residual": int(transposed_differs),
        "transpose_sensitive_atoms_crystals": int(sensitive),
        "born_site_residual_max": max(r["born_site_residual"] for r in records),
        "born_asr_max_e": max(r["born_asr"] for r in records),
        "eps_asymmetry_max": float(max(np.abs(f["eps"] - f["eps"].T).max() for f in frames)),
    }
    return records, qc


def match_bundled(records: list[dict], bundled: dict[str, list[dict]]) -> dict:
    """Find each DFPT crystal among the bundled Materials Project cells (StructureMatcher).

    Candidates are first narrowed to the same reduced formula (a crystal can only match a cell
    of its own composition), which turns ~1,500 x ~4,300 comparisons into a few thousand.
    Sets ``mp_material_id`` (the matched id; the dielectric set's id where several match, as
    that is the set the ε∞ comparison needs) and ``in_dielectric_set`` on every record.
    """
    matcher = StructureMatcher(**MATCHER)
    by_formula: dict[str, list[tuple[str, str, Structure]]] = {}
    seen = set()
    for dataset, recs in bundled.items():
        for r in recs:
            key = (dataset, r["material_id"])
            if key in seen:
                continue
            seen.add(key)
            s = Structure(Lattice(np.reshape(r["lattice"], (3, 3))), r["species"], np.reshape(r["frac_coords"], (-1, 3)))
            by_formula.setdefault(r["formula"], []).append((dataset, r["material_id"], s))
    comparisons = 0
    for r in tqdm(records, desc="match DFPT to bundled", unit="row"):
        found: dict[str, str] = {}
        for dataset, mid, s in by_formula.get(r["formula"], []):
            if dataset in found:
                continue
            comparisons += 1
            if matcher.fit(r["_structure"], s):
                found[dataset] = mid
        r["mp_material_id"] = found.get("dielectric") or next(iter(found.values()), None)
        r["in_dielectric_set"] = "dielectric" in found
        r["_matches"] = found
    ids = [r["mp_material_id"] for r in records if r["in_dielectric_set"]]
    return {
        "comparisons": comparisons,
        "matched_any": sum(r["mp_material_id"] is not None for r in records),
        "matched_dielectric": sum(r["in_dielectric_set"] for r in records),
        "dielectric_ids_matched_twice": len(ids) - len(set(ids)),
    }


def functional_offset(records: list[dict], dielectric: list[dict], flagged_ok: bool = False) -> dict:
    """PBEsol/ABINIT over PBE/VASP ε∞ on the overlap, on frame-invariant quantities.

    Per matched pair the ratio of the mean eigenvalues (trace / 3) and of each sorted eigenvalue;
    only pairs where neither row is flagged (unless ``flagged_ok``). Outliers: ratio outside
    [Q1 − 3 IQR, Q3 + 3 IQR] of the trace ratio, listed with both values.
    """
    mp = {r["material_id"]: r for r in dielectric}
    pairs = []
    for r in records:
        if not r["in_dielectric_set"]:
            continue
        m = mp[r["mp_material_id"]]
        if not flagged_ok and (r["flags"] or m["flags"]):
            continue
        a = np.linalg.eigvalsh(np.reshape(r["tensor_electronic"], (3, 3)))
        b = np.linalg.eigvalsh(np.reshape(m["tensor_electronic"], (3, 3)))
        pairs.append((r["material_id"], m["material_id"], r["formula"], a, b))
    ratio = np.array([a.mean() / b.mean() for *_, a, b in pairs])
    eig_ratio = np.array([a / b for *_, a, b in pairs]).reshape(-1)
    q1, med, q3 = np.percentile(ratio, [25, 50, 75])
    lo, hi = q1 - 3 * (q3 - q1), q3 + 3 * (q3 - q1)
    outliers = [
        {"dfpt_id": d, "material_id": m, "formula": f, "eps_mean_dfpt": round(float(a.mean()), 3),
         "eps_mean_mp": round(float(b.mean()), 3), "ratio": round(float(a.mean() / b.mean()), 3)}
        for (d, m, f, a, b), x in zip(pairs, ratio, strict=True) if not lo <= x <= hi
    ]
    return {
        "pairs": len(pairs),
        "mean_eigenvalue_ratio": {"median": float(med), "q1": float(q1), "q3": float(q3),
                                  "p05": float(np.percentile(ratio, 5)), "p95": float(np.percentile(ratio, 95))},
        "eigenvalue_ratio": {"median": float(np.median(eig_ratio)),
                             "q1": float(np.percentile(eig_ratio, 25)), "q3": float(np.percentile(eig_ratio, 75))},
        "within_5_percent": float(np.mean(np.abs(ratio - 1) <= 0.05)),
        "outlier_rule": "trace ratio outside [Q1 - 3 IQR, Q3 + 3 IQR]",
        "outliers": sorted(outliers, key=lambda o: o["ratio"]),
    }
