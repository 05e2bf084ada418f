"""Build the bundled tensor datasets in ``gmtnet/resources/data/`` from the raw matminer CSVs.

Usage (from the repository root)::

    .venv/bin/python scripts/build_datasets.py [--raw ../shared/data/raw] [--qc ../shared/data/qc] \
        [--out gmtnet/resources/data]

Writes ``dielectric.parquet``, ``piezoelectric.parquet``, ``elastic.parquet`` (zstd),
``build_report.json`` (counts, flags, agreement numbers, source sha256s, library versions) and
``DATA_CARD.md`` (generated from the report, so the two always agree).

Per row the tensors are stored full rank, flattened row-major, in source units and in the
Cartesian frame of the stored structure (the ``poscar`` cell):

* dielectric: ε₀ = ``e_total`` and ε∞ = ``e_electronic`` (3x3, already in the POSCAR frame);
* piezoelectric: ``piezoelectric_tensor`` is a 3x6 IEEE-order Voigt matrix in the IEEE-176 frame;
  it is expanded and rotated back with the QC table's R (structure frame -> IEEE frame):
  ``T_struct = rotate(T_ieee, R.T)``;
* elastic: ``elastic_tensor_original`` (6x6, IEEE Voigt order, POSCAR frame), not the
  IEEE-rotated ``elastic_tensor``.

The build takes a few minutes (parsing POSCARs and running spglib at five tolerances).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pymatgen.core
import spglib
from pymatgen.core import Composition, Structure
from tqdm import tqdm

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a plain script from a checkout, installed or not

import gmtnet  # noqa: E402
from gmtnet.data import (  # noqa: E402
    CRYSTAL_SYSTEMS,
    FLAGS,
    LARGE_EPS_LIMIT,
    RESIDUAL_THRESHOLD,
    SPLIT_FRACTIONS,
    SPLIT_SEED,
    SPLITS,
    assign_splits,
)
from gmtnet.symmetry import (  # noqa: E402
    DEFAULT_ANGLE_TOLERANCE,
    DEFAULT_SYMPREC,
    PointSymmetry,
    analyze_symmetry,
    symmetry_residual,
)
from gmtnet.tensors import from_voigt, rotate  # noqa: E402

#: spglib distance tolerances (Å) compared against the Materials Project space-group labels.
SYMPRECS = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
#: Settings the QC tables in shared/data/qc were made with (symprec Å, angle tolerance degrees).
QC_SYMPREC, QC_ANGLE_TOLERANCE = 1e-2, 5.0

MATMINER_SDIST = {
    "package": "matminer 0.4.0 source distribution",
    "command": "pip download --no-deps --no-binary :all: matminer==0.4.0",
    "sha256": "1a6bdfb198b36d836bab4fbcdffb2dc4fda8a740c3dc08cbb21ea43b817fec86",
}


@dataclass(frozen=True)
class Source:
    """One raw dataset and its QC table."""

    dataset: str
    csv: str  # relative to --raw
    sdist_path: str  # path inside the matminer sdist
    qc_csv: str  # relative to --qc
    qc_consistent: str  # QC column: True when the tensor obeys the structure's symmetry
    qc_residual: str  # QC column: the residual of the stored tensor
    reference: str


SOURCES = (
    Source(
        "dielectric",
        "matminer_dielectric_constant/dielectric_constant.csv",
        "matminer-0.4.0/matminer/datasets/dielectric_constant.csv",
        "qc_matminer_dielectric_constant.csv",
        "symmetry_consistent",
        "resid_e_total",
        "Petousis, I. et al. High-throughput screening of inorganic compounds for the discovery of novel "
        "dielectric and optical materials. Sci. Data 4, 160134 (2017).",
    ),
    Source(
        "piezoelectric",
        "matminer_piezoelectric_tensor/piezoelectric_tensor.csv",
        "matminer-0.4.0/matminer/datasets/piezoelectric_tensor.csv",
        "qc_matminer_piezoelectric_tensor.csv",
        "symmetry_consistent_after_backrotation",
        "resid_backrotated_vs_poscar",
        "de Jong, M., Chen, W., Geerlings, H., Asta, M. & Persson, K. A. A database to enable discovery "
        "and design of piezoelectric materials. Sci. Data 2, 150053 (2015).",
    ),
    Source(
        "elastic",
        "matminer_elastic_tensor_2015/elastic_tensor.csv",
        "matminer-0.4.0/matminer/datasets/elastic_tensor.csv",
        "qc_matminer_elastic_tensor_2015.csv",
        "symmetry_consistent",
        "resid_original_vs_poscar",
        "de Jong, M. et al. Charting the complete elastic properties of inorganic crystalline compounds. "
        "Sci. Data 2, 150009 (2015).",
    ),
)


# --------------------------------------------------------------------------- stored columns


@dataclass(frozen=True)
class Column:
    """One stored column: Arrow type, array shape (None for scalars), unit and meaning."""

    name: str
    type: pa.DataType
    unit: str
    description: str
    shape: tuple[int, ...] | None = None

    def field(self) -> pa.Field:
        meta = {"unit": self.unit, "description": self.description}
        if self.shape is not None:
            meta["shape"] = ",".join(str(n) for n in self.shape)
        return pa.field(self.name, self.type, nullable=False, metadata=meta)


def _tensor_column(name: str, rank: int, unit: str, description: str) -> Column:
    return Column(
        name,
        pa.list_(pa.float64(), 3**rank),
        unit,
        f"{description}; full rank {'x'.join('3' * rank)}, flattened row-major, "
        "Cartesian frame of the stored structure",
        (3,) * rank,
    )


_HEAD = (
    Column("material_id", pa.string(), "", "Materials Project id (unique per file)"),
    Column("formula", pa.string(), "", "reduced formula of the stored structure (pymatgen)"),
    Column("nsites", pa.int32(), "", "number of sites in the cell"),
    Column(
        "lattice",
        pa.list_(pa.float64(), 9),
        "Å",
        "lattice vectors a, b, c as the rows of a 3x3 matrix, flattened row-major, in the Cartesian "
        "frame of the calculation (the source's POSCAR); this frame is the tensors' frame",
        (3, 3),
    ),
    Column("species", pa.list_(pa.string()), "", "element symbol of each site"),
    Column(
        "frac_coords", pa.list_(pa.float64()), "", "fractional coordinates, (nsites, 3) flattened row-major"
    ),
)

_TAIL = (
    Column("split", pa.string(), "", "train / val / test, fixed per material id over all three datasets"),
    Column("spacegroup_number", pa.int16(), "", "spglib international number at DEFAULT_SYMPREC"),
    Column("spacegroup_symbol", pa.string(), "", "spglib Hermann-Mauguin symbol at DEFAULT_SYMPREC"),
    Column("point_group", pa.string(), "", "spglib Hermann-Mauguin point group at DEFAULT_SYMPREC"),
    Column("crystal_system", pa.string(), "", "crystal system of spacegroup_number"),
    Column(
        "spacegroup_number_mp", pa.int16(), "", "space-group number given by the source (Materials Project)"
    ),
    Column(
        "symmetry_residual",
        pa.float64(),
        "",
        "max over the point operations g of ||rho(g)T - T||_F / ||T||_F for `tensor` (relative)",
    ),
)

_FLAGS = Column("flags", pa.list_(pa.string()), "", "quality flags (empty = usable): " + ", ".join(FLAGS))

COLUMNS: dict[str, tuple[Column, ...]] = {
    "dielectric": (
        *_HEAD,
        _tensor_column("tensor", 2, "", "static dielectric tensor ε₀ (electronic + ionic), source `e_total`"),
        _tensor_column(
            "tensor_electronic",
            2,
            "",
            "high-frequency dielectric tensor ε∞ (electronic), source `e_electronic`",
        ),
        *_TAIL,
        Column("symmetry_residual_electronic", pa.float64(), "", "the same residual for `tensor_electronic`"),
        _FLAGS,
        Column("band_gap", pa.float64(), "eV", "PBE band gap (source)"),
        Column("n", pa.float64(), "", "refractive index sqrt(mean eigenvalue of ε∞) (source)"),
        Column(
            "pot_ferroelectric", pa.bool_(), "", "Materials Project 'potentially ferroelectric' flag (source)"
        ),
    ),
    "piezoelectric": (
        *_HEAD,
        _tensor_column(
            "tensor",
            3,
            "C/m²",
            "piezoelectric stress tensor e_ijk (electronic + ionic), source `piezoelectric_tensor` "
            "(3x6 IEEE Voigt, IEEE frame) expanded and rotated back with ieee_rotation",
        ),
        Column(
            "ieee_rotation",
            pa.list_(pa.float64(), 9),
            "",
            "R from the QC table (pymatgen get_ieee_rotation): maps the structure frame to the "
            "IEEE-176 frame of the source, tensor_ieee = rotate(tensor, R); 3x3 flattened row-major",
            (3, 3),
        ),
        *_TAIL,
        _FLAGS,
        Column(
            "eij_max",
            pa.float64(),
            "C/m²",
            "largest longitudinal piezoelectric modulus over directions (source)",
        ),
        Column("point_group_mp", pa.string(), "", "point group given by the source"),
    ),
    "elastic": (
        *_HEAD,
        _tensor_column(
            "tensor",
            4,
            "GPa",
            "elastic stiffness tensor C_ijkl, source `elastic_tensor_original` "
            "(6x6 IEEE Voigt, POSCAR frame)",
        ),
        *_TAIL,
        _FLAGS,
        Column("K_VRH", pa.float64(), "GPa", "Voigt-Reuss-Hill bulk modulus (source)"),
        Column("G_VRH", pa.float64(), "GPa", "Voigt-Reuss-Hill shear modulus (source)"),
    ),
}


# --------------------------------------------------------------------------- pure per-row steps


def parse_matrix(text: str) -> np.ndarray:
    """A Python-literal nested list (as stored in the CSVs) -> float64 array."""
    return np.asarray(ast.literal_eval(text), dtype=float)


def rotation_from_qc(qc_row: pd.Series) -> np.ndarray:
    """The QC table's R (structure frame -> IEEE frame), checked to be orthogonal."""
    r = np.array([[qc_row[f"R{i}{j}"] for j in range(3)] for i in range(3)], dtype=float)
    # R is stored with 8 digits; a larger error would mean a corrupt row, not rounding.
    if np.abs(r @ r.T - np.eye(3)).max() > 1e-6:
        raise ValueError(f"QC rotation of {qc_row.name} is not orthogonal: {r.tolist()}")
    return r


def source_tensors(dataset: str, row: pd.Series, qc_row: pd.Series) -> dict[str, np.ndarray]:
    """The row's label tensors, full rank, source units, in the POSCAR cell's Cartesian frame."""
    if dataset == "dielectric":
        return {
            "tensor": parse_matrix(row["e_total"]),
            "tensor_electronic": parse_matrix(row["e_electronic"]),
        }
    if dataset == "piezoelectric":
        r = rotation_from_qc(qc_row)
        t_ieee = from_voigt(parse_matrix(row["piezoelectric_tensor"]), "piezoelectric", order="ieee")
        return {"tensor": rotate(t_ieee, r.T), "ieee_rotation": r}
    if dataset == "elastic":
        return {"tensor": from_voigt(parse_matrix(row["elastic_tensor_original"]), "elastic", order="ieee")}
    raise ValueError(f"unknown dataset {dataset!r}")


def source_extras(dataset: str, row: pd.Series) -> dict:
    """Scalar columns copied from the source."""
    if dataset == "dielectric":
        return {
            "band_gap": float(row["band_gap"]),
            "n": float(row["n"]),
            "pot_ferroelectric": bool(row["pot_ferroelectric"]),
        }
    if dataset == "piezoelectric":
        return {"eij_max": float(row["eij_max"]), "point_group_mp": str(row["point_group"])}
    return {"K_VRH": float(row["K_VRH"]), "G_VRH": float(row["G_VRH"])}


def structure_fields(structure: Structure) -> dict:
    return {
        "formula": structure.composition.reduced_formula,
        "nsites": len(structure),
        "lattice": structure.lattice.matrix.reshape(-1).tolist(),
        "species": [site.specie.symbol for site in structure],
        "frac_coords": structure.frac_coords.reshape(-1).tolist(),
    }


def symmetry_fields(sym: PointSymmetry) -> dict:
    return {
        "spacegroup_number": sym.spacegroup_number,
        "spacegroup_symbol": sym.spacegroup_symbol,
        "point_group": sym.point_group,
        "crystal_system": sym.crystal_system,
    }


def quality_flags(residuals: dict[str, float], tensors: dict[str, np.ndarray]) -> list[str]:
    """Flag names (see gmtnet.data.FLAGS) for one row."""
    flags = []
    if residuals["symmetry_residual"] > RESIDUAL_THRESHOLD:
        flags.append("asymmetric")
    if residuals.get("symmetry_residual_electronic", 0.0) > RESIDUAL_THRESHOLD:
        flags.append("asymmetric_electronic")
    if "tensor_electronic" in tensors and np.abs(tensors["tensor"]).max() > LARGE_EPS_LIMIT:
        flags.append("large_eps")
    return flags


def symmetry_consistent(residuals: dict[str, float]) -> bool:
    """True when every label obeys the operations to within RESIDUAL_THRESHOLD (no symmetry flag)."""
    return all(r <= RESIDUAL_THRESHOLD for r in residuals.values())


def residuals_for(tensors: dict[str, np.ndarray], rotations: np.ndarray) -> dict[str, float]:
    out = {"symmetry_residual": symmetry_residual(tensors["tensor"], rotations)}
    if "tensor_electronic" in tensors:
        out["symmetry_residual_electronic"] = symmetry_residual(tensors["tensor_electronic"], rotations)
    return out


def _operation_set(rotations) -> np.ndarray:
    """spglib's integer rotations as a sorted (n, 9) array, for comparing operation sets."""
    w = np.asarray(rotations).reshape(len(rotations), 9)
    return np.unique(w, axis=0)


def tolerance_scan(structure: Structure, tensors: dict[str, np.ndarray], usable_at_default: bool) -> dict:
    """Space-group number and usability (no flag) of a row at every symprec in SYMPRECS.

    Default angle tolerance throughout. Usability needs the Cartesian operations; where spglib
    finds the same fractional operations as at DEFAULT_SYMPREC the residuals are those already
    computed (analyze_symmetry derives the operations from them and the lattice alone), which
    saves most calls.
    """
    cell = (
        structure.lattice.matrix,
        structure.frac_coords,
        np.array(structure.atomic_numbers, dtype=np.intc),
    )
    default = spglib.get_symmetry_dataset(
        cell, symprec=DEFAULT_SYMPREC, angle_tolerance=DEFAULT_ANGLE_TOLERANCE
    )
    default_ops = _operation_set(default.rotations)
    numbers, usable = [], []
    for symprec in SYMPRECS:
        found = spglib.get_symmetry_dataset(cell, symprec=symprec, angle_tolerance=DEFAULT_ANGLE_TOLERANCE)
        if found is None:  # no symmetry at this tolerance: the row could not be used
            numbers.append(None)
            usable.append(False)
            continue
        numbers.append(int(found.number))
        ops = _operation_set(found.rotations)
        if ops.shape == default_ops.shape and (ops == default_ops).all():
            usable.append(usable_at_default)
        else:
            sym = analyze_symmetry(structure, symprec=symprec)
            usable.append(not quality_flags(residuals_for(tensors, sym.rotations), tensors))
    return {"numbers": numbers, "usable": usable}


def build_row(dataset: str, row: pd.Series, qc_row: pd.Series) -> tuple[dict, dict]:
    """One stored record (split still missing) and its build-time diagnostics."""
    structure = Structure.from_str(row["poscar"], fmt="poscar")
    tensors = source_tensors(dataset, row, qc_row)
    sym = analyze_symmetry(structure, symprec=DEFAULT_SYMPREC, angle_tolerance=DEFAULT_ANGLE_TOLERANCE)
    residuals = residuals_for(tensors, sym.rotations)
    flags = quality_flags(residuals, tensors)
    record = {
        "material_id": str(row["material_id"]),
        **structure_fields(structure),
        **{name: t.reshape(-1).tolist() for name, t in tensors.items()},
        **symmetry_fields(sym),
        "spacegroup_number_mp": int(row["space_group"]),
        **residuals,
        "flags": flags,
        **source_extras(dataset, row),
    }
    qc_sym = analyze_symmetry(structure, symprec=QC_SYMPREC, angle_tolerance=QC_ANGLE_TOLERANCE)
    diagnostics = {
        "scan": tolerance_scan(structure, tensors, usable_at_default=not flags),
        "qc_settings_spacegroup": qc_sym.spacegroup_number,
        "qc_settings_consistent": symmetry_consistent(residuals_for(tensors, qc_sym.rotations)),
        "source_formula": str(row["formula"]),
        "source_nsites": int(row["nsites"]),
    }
    return record, diagnostics


# --------------------------------------------------------------------------- per-dataset steps


def read_source(source: Source, raw_dir: Path, qc_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    raw = pd.read_csv(raw_dir / source.csv, comment="#")
    qc = pd.read_csv(qc_dir / source.qc_csv, comment="#").set_index("material_id")
    if not raw["material_id"].is_unique or set(raw["material_id"]) != set(qc.index):
        raise ValueError(f"{source.dataset}: raw ids are not unique or differ from the QC table's ids")
    return raw, qc


def build_dataset(source: Source, raw: pd.DataFrame, qc: pd.DataFrame) -> tuple[list[dict], list[dict]]:
    records, diagnostics = [], []
    for _, row in tqdm(raw.iterrows(), total=len(raw), desc=source.dataset, unit="row"):
        record, diag = build_row(source.dataset, row, qc.loc[row["material_id"]])
        records.append(record)
        diagnostics.append(diag)
    return records, diagnostics


def write_parquet(dataset: str, records: list[dict], path: Path, build_meta: dict) -> None:
    columns = COLUMNS[dataset]
    schema = pa.schema(
        [c.field() for c in columns],
        metadata={"gmtnet.dataset": dataset, "gmtnet.build": json.dumps(build_meta, sort_keys=True)},
    )
    table = pa.Table.from_pylist([{c.name: r[c.name] for c in columns} for r in records], schema=schema)
    pq.write_table(table, path, compression="zstd", compression_level=9)


# --------------------------------------------------------------------------- report


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _counts(values, order) -> dict[str, int]:
    s = pd.Series(list(values), dtype=object).value_counts()
    return {k: int(s.get(k, 0)) for k in order}


def dataset_counts(records: list[dict], diagnostics: list[dict]) -> dict:
    usable = [r for r in records if not r["flags"]]
    return {
        "rows": len(records),
        "usable": len(usable),
        "splits": {
            "all": _counts((r["split"] for r in records), SPLITS),
            "usable": _counts((r["split"] for r in usable), SPLITS),
        },
        "crystal_systems": {
            "all": _counts((r["crystal_system"] for r in records), CRYSTAL_SYSTEMS),
            "usable": _counts((r["crystal_system"] for r in usable), CRYSTAL_SYSTEMS),
        },
        "flags": _counts((f for r in records for f in r["flags"]), FLAGS),
        "spacegroup_differs_from_mp": sum(
            r["spacegroup_number"] != r["spacegroup_number_mp"] for r in records
        ),
        "formula_differs_from_source": sum(
            r["formula"] != d["source_formula"] for r, d in zip(records, diagnostics, strict=True)
        ),
        "composition_differs_from_source": sum(
            Composition(r["formula"]) != Composition(d["source_formula"]).reduced_composition
            for r, d in zip(records, diagnostics, strict=True)
        ),
        "nsites_differs_from_source": sum(
            r["nsites"] != d["source_nsites"] for r, d in zip(records, diagnostics, strict=True)
        ),
    }


def symprec_agreement(all_records: dict[str, list[dict]], all_diags: dict[str, list[dict]]) -> dict:
    """Rows whose spglib space group equals the Materials Project label, per symprec."""
    matching: dict[str, list[int]] = {}
    usable: dict[str, list[int]] = {}
    for dataset, records in all_records.items():
        diags = all_diags[dataset]
        matching[dataset] = [
            sum(
                d["scan"]["numbers"][i] == r["spacegroup_number_mp"]
                for r, d in zip(records, diags, strict=True)
            )
            for i in range(len(SYMPRECS))
        ]
        usable[dataset] = [sum(d["scan"]["usable"][i] for d in diags) for i in range(len(SYMPRECS))]
    matching["all"] = [sum(v[i] for v in matching.values()) for i in range(len(SYMPRECS))]
    usable["all"] = [sum(v[i] for v in usable.values()) for i in range(len(SYMPRECS))]
    top = max(matching["all"])
    return {
        "symprecs_angstrom": list(SYMPRECS),
        "angle_tolerance_degrees": DEFAULT_ANGLE_TOLERANCE,
        "rows": {d: len(r) for d, r in all_records.items()}
        | {"all": sum(len(r) for r in all_records.values())},
        "rows_matching_mp_spacegroup": matching,
        "rows_usable": usable,
        "best_symprecs_by_mp_agreement": [
            s for s, m in zip(SYMPRECS, matching["all"], strict=True) if m == top
        ],
        "default_symprec": DEFAULT_SYMPREC,
    }


def _disagreement_reason(record: dict, diag: dict, qc_consistent: bool) -> str:
    """Why our consistency verdict differs from the QC table's, as far as the build can tell."""
    if diag["qc_settings_consistent"] != qc_consistent:
        near = abs(record["symmetry_residual"] - RESIDUAL_THRESHOLD) < 1e-3
        return "residual within rounding of the threshold" if near else "unexplained"
    if diag["qc_settings_spacegroup"] != record["spacegroup_number"]:
        return (
            f"the QC's 5° angle tolerance finds space group {diag['qc_settings_spacegroup']}, "
            f"our -1 finds {record['spacegroup_number']}, so the operations differ"
        )
    return "the QC's 5° angle tolerance finds other operations of the same space group"


def qc_agreement(source: Source, records: list[dict], diagnostics: list[dict], qc: pd.DataFrame) -> dict:
    """Our flags vs the QC table's consistency column, with every disagreement explained."""
    # The dielectric QC column requires both ε₀ and ε∞ below 1 %, hence both symmetry flags.
    agree, ours_only, qc_only, with_qc_settings = 0, 0, 0, 0
    residual_diffs = []
    disagreements = []
    for record, diag in zip(records, diagnostics, strict=True):
        qc_row = qc.loc[record["material_id"]]
        ours = not ({"asymmetric", "asymmetric_electronic"} & set(record["flags"]))
        theirs = bool(qc_row[source.qc_consistent])
        with_qc_settings += diag["qc_settings_consistent"] == theirs
        if record["spacegroup_number"] == int(qc_row["space_group_spglib"]):
            residual_diffs.append(abs(record["symmetry_residual"] - float(qc_row[source.qc_residual])))
        if ours == theirs:
            agree += 1
            continue
        ours_only += ours
        qc_only += theirs
        disagreements.append(
            {
                "material_id": record["material_id"],
                "formula": record["formula"],
                "consistent_ours": ours,
                "consistent_qc": theirs,
                "spacegroup_ours": record["spacegroup_number"],
                "spacegroup_qc": int(qc_row["space_group_spglib"]),
                "spacegroup_mp": record["spacegroup_number_mp"],
                "residual_ours": round(record["symmetry_residual"], 6),
                "residual_qc": round(float(qc_row[source.qc_residual]), 6),
                "reason": _disagreement_reason(record, diag, theirs),
            }
        )
    return {
        "qc_column": source.qc_consistent,
        "ours_consistent_means": "no 'asymmetric' flag"
        + (" and no 'asymmetric_electronic' flag" if source.dataset == "dielectric" else ""),
        "rows": len(records),
        "agree": agree,
        "consistent_ours_not_qc": ours_only,
        "consistent_qc_not_ours": qc_only,
        "agree_when_recomputed_with_qc_settings": with_qc_settings,
        "max_abs_residual_difference_same_spacegroup": float(max(residual_diffs)),
        "disagreements": disagreements,
    }


def build_report(
    raw_dir: Path,
    qc_dir: Path,
    out_dir: Path,
    all_records: dict[str, list[dict]],
    all_diags: dict[str, list[dict]],
    qcs: dict[str, pd.DataFrame],
    split_of: dict[str, str],
) -> dict:
    sources = {
        s.dataset: {
            "file": s.csv,
            "sdist_path": s.sdist_path,
            "sha256": sha256(raw_dir / s.csv),
            "bytes": (raw_dir / s.csv).stat().st_size,
            "qc_file": s.qc_csv,
            "qc_sha256": sha256(qc_dir / s.qc_csv),
            "reference": s.reference,
        }
        for s in SOURCES
    }
    ids = {d: {r["material_id"] for r in recs} for d, recs in all_records.items()}
    names = list(ids)
    return {
        "format_version": 1,
        "rebuild": (
            "python scripts/build_datasets.py --raw ../shared/data/raw --qc ../shared/data/qc "
            "--out gmtnet/resources/data"
        ),
        "parameters": {
            "symprec_angstrom": DEFAULT_SYMPREC,
            "angle_tolerance_degrees": DEFAULT_ANGLE_TOLERANCE,
            "residual_threshold": RESIDUAL_THRESHOLD,
            "large_eps_limit": LARGE_EPS_LIMIT,
            "split_seed": SPLIT_SEED,
            "split_fractions": dict(zip(SPLITS, SPLIT_FRACTIONS, strict=True)),
        },
        "versions": {
            "python": platform.python_version(),
            "gmtnet": gmtnet.__version__,
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "pyarrow": pa.__version__,
            "spglib": spglib.__version__,
            "pymatgen": pymatgen.core.__version__,
        },
        "matminer_sdist": MATMINER_SDIST,
        "sources": sources,
        "datasets": {d: dataset_counts(all_records[d], all_diags[d]) for d in names},
        "materials": {
            "union": len(split_of),
            "splits": _counts(split_of.values(), SPLITS),
            "overlaps": {
                f"{a}&{b}": len(ids[a] & ids[b]) for i, a in enumerate(names) for b in names[i + 1 :]
            }
            | {"all_three": len(set.intersection(*ids.values()))},
        },
        "symprec_agreement": symprec_agreement(all_records, all_diags),
        "qc_agreement": {
            s.dataset: qc_agreement(s, all_records[s.dataset], all_diags[s.dataset], qcs[s.dataset])
            for s in SOURCES
        },
        "outputs": {
            f"{d}.parquet": {
                "bytes": (out_dir / f"{d}.parquet").stat().st_size,
                "sha256": sha256(out_dir / f"{d}.parquet"),
            }
            for d in names
        },
    }


# --------------------------------------------------------------------------- data card


def _md_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    # A literal "|" (as in |ε₀_ij| or ||T||) would end the cell.
    lines += ["| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _n(x: int) -> str:
    return f"{x:,}"


def _card_intro(report: dict) -> str:
    ds = report["datasets"]
    return f"""# Data card: GMTNet Explorer bundled tensor datasets

Three Materials Project DFT tensor datasets, as distributed in the matminer 0.4.0 package, cleaned
into one Parquet file each: the dielectric tensor (ε₀ and ε∞), the piezoelectric stress tensor e
and the elastic stiffness tensor C. Every tensor is stored **full rank, in the Cartesian frame of
the stored crystal structure**, in source units. Load them with
`gmtnet.data.load_dataset(kind, include_flagged=...)`; print statistics with
`python -m gmtnet data summary`.

This file is generated by `scripts/build_datasets.py` from `build_report.json`; edit the script,
not this file.

## Files

| file | content |
| --- | --- |
| `dielectric.parquet` | {_n(ds["dielectric"]["rows"])} rows: ε₀ (`tensor`), ε∞ (`tensor_electronic`) |
| `piezoelectric.parquet` | {_n(ds["piezoelectric"]["rows"])} rows: e (`tensor`), C/m² |
| `elastic.parquet` | {_n(ds["elastic"]["rows"])} rows: C (`tensor`), GPa |
| `build_report.json` | every count and check below, source and output sha256s, library versions |
| `CITATION.bib` | the papers to cite |"""


def _card_provenance(report: dict) -> str:
    sdist, v = report["matminer_sdist"], report["versions"]
    table = _md_table(
        ["dataset", "file in the sdist", "sha256", "bytes", "reference"],
        [
            [d, f"`{s['sdist_path']}`", f"`{s['sha256']}`", _n(s["bytes"]), s["reference"]]
            for d, s in report["sources"].items()
        ],
    )
    return f"""## Provenance

Source: the {sdist["package"]}, which bundles the CSVs below (later matminer versions download
newer versions instead):

- obtained with `{sdist["command"]}`
- sdist sha256 `{sdist["sha256"]}`

The data were computed by the Materials Project with VASP (GGA/PBE; DFPT for the dielectric and
piezoelectric tensors, stress-strain fits for the elastic tensors).

{table}

Per-row symmetry QC tables (`shared/data/qc/`, spglib 2.8.0, symprec 0.01 Å, angle tolerance 5°)
supplied the IEEE rotations of the piezoelectric rows and the cross-check below.

Built with: spglib {v["spglib"]}, pymatgen {v["pymatgen"]}, numpy {v["numpy"]}, pandas {v["pandas"]},
pyarrow {v["pyarrow"]}, Python {v["python"]}."""


def _card_flags_table(ds: dict) -> str:
    names = list(ds)
    return _md_table(
        ["flag", "meaning", *names],
        [[f"`{f}`", FLAGS[f], *(ds[d]["flags"][f] for d in names)] for f in FLAGS]
        + [
            [
                "(any)",
                "rows excluded from training and test",
                *(ds[d]["rows"] - ds[d]["usable"] for d in names),
            ]
        ],
    )


def _card_processing(report: dict) -> str:
    ds, p, mats = report["datasets"], report["parameters"], report["materials"]
    piezo = ds["piezoelectric"]
    total_rows = sum(c["rows"] for c in ds.values())
    total_flagged = sum(c["rows"] - c["usable"] for c in ds.values())
    overlaps = ", ".join(f"{k} {v}" for k, v in mats["overlaps"].items())
    cuts = " / ".join(f"{f:.0%}" for f in p["split_fractions"].values())
    materials = ", ".join(f"{k} {_n(v)}" for k, v in mats["splits"].items())
    return f"""## What was done

- **Structures**: the source's `poscar` cell (the cell the tensors were computed in), stored as
  plain arrays: `lattice` (rows a, b, c, Å), `species`, `frac_coords`. Its Cartesian frame is the
  frame of every tensor in the file.
- **Dielectric**: `e_total` (ε₀) and `e_electronic` (ε∞) are already in the POSCAR frame; stored
  unchanged (the ionic part is their difference). The source's `poly_*` averages are not kept.
- **Piezoelectric**: the source gives a 3x6 Voigt matrix in IEEE order (xx, yy, zz, yz, xz, xy)
  **in the IEEE-176 frame**, not the structure's. It is expanded to e_ijk (no Voigt factors for
  stress constants) and rotated back with the QC table's R (pymatgen `get_ieee_rotation`, structure
  frame → IEEE frame): e_struct = R^T·e_ieee on every index. R is stored as `ieee_rotation`.
  For {_n(piezo["flags"]["asymmetric"])} of {_n(piezo["rows"])} rows the back-rotated tensor does not
  obey the structure's symmetry (flagged `asymmetric`): mostly rows whose source IEEE frame used
  another axis convention than today's pymatgen, which cannot be recovered uniquely. Even for
  consistent rows the absolute sign of e relative to the polar axis cannot be checked without the
  original calculation.
- **Elastic**: `elastic_tensor_original` (6x6 IEEE-order Voigt, POSCAR frame) expanded to C_ijkl
  (no Voigt factors for stiffnesses). The IEEE-rotated `elastic_tensor` and the compliances are
  not used.
- **Symmetry**: spglib through `gmtnet.symmetry.analyze_symmetry` at `DEFAULT_SYMPREC` =
  {p["symprec_angstrom"]:g} Å and angle tolerance {p["angle_tolerance_degrees"]:g} (spglib's own
  choice): space group, point group, crystal system and the Cartesian point operations. The
  source's space-group number is kept as `spacegroup_number_mp`.
- **Symmetry residual**: max over the point operations g of ‖ρ(g)T − T‖_F / ‖T‖_F (0 for a tensor
  that obeys Neumann's principle, about 2 for one in the wrong frame).
- **Flags** (rows keep their data; `load_dataset(kind, include_flagged=False)` drops every row
  with any flag, which is what training and test use). Threshold `RESIDUAL_THRESHOLD` =
  {p["residual_threshold"]:g}, large-ε limit `LARGE_EPS_LIMIT` = {p["large_eps_limit"]:g}
  (`gmtnet/data.py`). In all, {_n(total_flagged)} of {_n(total_rows)} rows
  ({100 * total_flagged / total_rows:.0f} %) are flagged.

{_card_flags_table(ds)}

- **Split**: one train/val/test assignment per Materials Project id over the union of the ids of
  the three datasets, so no material is in two splits across kinds. The sorted unique ids are
  permuted with `numpy.random.default_rng({p["split_seed"]})` (`SPLIT_SEED` in `gmtnet/data.py`)
  and cut {cuts} (`gmtnet.data.assign_splits`). Every row, flagged or not, has a split.
  - {_n(mats["union"])} materials: {materials}
  - ids in more than one dataset: {overlaps}"""


def _card_counts(report: dict) -> str:
    ds, p = report["datasets"], report["parameters"]
    names = list(ds)
    counts = _md_table(
        ["dataset", "rows", "usable", *SPLITS, *(f"usable {s}" for s in SPLITS)],
        [
            [
                d,
                _n(c["rows"]),
                _n(c["usable"]),
                *(_n(c["splits"][part][s]) for part in ("all", "usable") for s in SPLITS),
            ]
            for d, c in ds.items()
        ],
    )
    systems = _md_table(
        ["crystal system", *(f"{d} (all / usable)" for d in names)],
        [
            [
                cs,
                *(
                    f"{ds[d]['crystal_systems']['all'][cs]} / {ds[d]['crystal_systems']['usable'][cs]}"
                    for d in names
                ),
            ]
            for cs in CRYSTAL_SYSTEMS
        ],
    )
    spelled = ", ".join(f"{_n(c['formula_differs_from_source'])} {d}" for d, c in ds.items())
    compositions = sum(c["composition_differs_from_source"] for c in ds.values())
    nsites = sum(c["nsites_differs_from_source"] for c in ds.values())
    return f"""## Counts

{counts}

"usable" = no flag. `formula` is pymatgen's reduced formula of the stored structure; it is spelled
differently from the source's for {spelled} rows (element order); the composition differs for
{compositions} rows, the number of sites for {nsites}.

Crystal systems (spglib at {p["symprec_angstrom"]:g} Å):

{systems}"""


def _arrow_type(t: pa.DataType) -> str:
    """Arrow type as a short string: list<double>[9] rather than fixed_size_list<item: double>[9]."""
    return str(t).replace("fixed_size_list", "list").replace("<item: ", "<").replace("element: ", "")


def _card_columns() -> str:
    tables = "\n\n".join(
        f"**{d}.parquet**\n\n"
        + _md_table(
            ["column", "type", "unit", "meaning"],
            [[f"`{c.name}`", _arrow_type(c.type), c.unit or "-", c.description] for c in cols],
        )
        for d, cols in COLUMNS.items()
    )
    return f"""## Columns, units, frames

All tensors are full rank (3x3, 3x3x3, 3x3x3x3), flattened row-major, in the Cartesian frame of
the row's structure (axes x, y, z of the `lattice` rows). Where the source gave a Voigt matrix its
order was IEEE (xx, yy, zz, yz, xz, xy), with no numerical factors for these tensors:
e_iJ = e_ijk, C_IJ = C_ijkl. `gmtnet.tensors.to_voigt(t, kind, order="ieee" | "vasp")` gives
either Voigt form back. Each column's unit and meaning are also in the Parquet field metadata.

{tables}"""


def _symprec_note(sa: dict, default: float) -> str:
    """One paragraph on what the tolerance table says about the default, from its numbers."""
    symprecs = sa["symprecs_angstrom"]
    matching, usable = sa["rows_matching_mp_spacegroup"]["all"], sa["rows_usable"]["all"]
    best = sa["best_symprecs_by_mp_agreement"]
    i_default = symprecs.index(default)
    best_text = " and ".join(f"{s:g}" for s in best)
    if default in best:
        return f"Agreement with the Materials Project labels is highest at the default, {best_text} Å."
    i_best = symprecs.index(best[0])
    note = (
        f"Agreement with the Materials Project labels alone is highest at {best_text} Å "
        f"({_n(matching[i_best])} rows against {_n(matching[i_default])} at the default {default:g} Å)."
    )
    if usable[i_best] < usable[i_default]:
        note += (
            " At that tolerance, however, spglib finds operations that more of the DFT tensors do not "
            f"obey to within the residual threshold: {_n(usable[i_best])} usable rows against "
            f"{_n(usable[i_default])} at the default. The labels describe the symmetry of the cell at a "
            "loose tolerance; the tensors obey the symmetry the calculation kept."
        )
    return note


def _card_symprec(report: dict) -> str:
    sa, default = report["symprec_agreement"], report["parameters"]["symprec_angstrom"]
    groups = list(sa["rows"])
    table = _md_table(
        [
            "symprec (Å)",
            *(f"{d}: same as MP (of {_n(sa['rows'][d])})" for d in groups),
            *(f"{d}: usable" for d in groups),
        ],
        [
            [
                f"{s:g}" + (" (default)" if s == default else ""),
                *(_n(sa["rows_matching_mp_spacegroup"][d][i]) for d in groups),
                *(_n(sa["rows_usable"][d][i]) for d in groups),
            ]
            for i, s in enumerate(sa["symprecs_angstrom"])
        ],
    )
    return f"""## Symmetry tolerance (`DEFAULT_SYMPREC` = {default:g} Å)

For each spglib distance tolerance (angle tolerance {sa["angle_tolerance_degrees"]:g}): the rows
whose detected space-group number equals the Materials Project label (`spacegroup_number_mp`), and
the rows that would be usable (no flag) if the symmetry operations were detected at that tolerance.

{table}

{_symprec_note(sa, default)}"""


def _disagreement_line(dataset: str, x: dict) -> str:
    ours = "consistent" if x["consistent_ours"] else "flagged"
    theirs = "consistent" if x["consistent_qc"] else "inconsistent"
    return (
        f"- {dataset} `{x['material_id']}` ({x['formula']}): {ours} here, {theirs} in QC; space group "
        f"{x['spacegroup_ours']} here / {x['spacegroup_qc']} QC / {x['spacegroup_mp']} MP label; residual "
        f"{x['residual_ours']:.4g} here / {x['residual_qc']:.4g} QC. Cause: {x['reason']}."
    )


def _card_qc(report: dict) -> str:
    qa = report["qc_agreement"]
    table = _md_table(
        [
            "dataset",
            "QC column",
            "rows",
            "agree",
            "consistent here only",
            "consistent in QC only",
            "agree with QC settings",
        ],
        [
            [
                d,
                f"`{q['qc_column']}`",
                _n(q["rows"]),
                _n(q["agree"]),
                q["consistent_ours_not_qc"],
                q["consistent_qc_not_ours"],
                _n(q["agree_when_recomputed_with_qc_settings"]),
            ]
            for d, q in qa.items()
        ],
    )
    lines = [_disagreement_line(d, x) for d, q in qa.items() for x in q["disagreements"]]
    return f"""## Cross-check with the QC tables

The QC tables (`shared/data/qc/`) call a row consistent when its residual is below 1 % (for the
dielectric table: both ε₀ and ε∞), with spglib at symprec 0.01 Å and angle tolerance 5°. Here a
row is consistent when it has no `asymmetric` (and, for the dielectric, no
`asymmetric_electronic`) flag, with angle tolerance -1.

{table}

"agree with QC settings": the same residuals recomputed here with the QC table's spglib settings.
Rows that disagree:

{chr(10).join(lines) if lines else "None."}

Where they disagree, the QC's 5° angle tolerance accepts a distorted cell as more symmetric than
spglib does here. The tensors obey the lower symmetry found here, so the rows stay usable; a
residual near 2 under the higher symmetry (as for a polar tensor whose polar axis the extra
operation reverses) may also hint at a frame problem in that row."""


_CARD_LICENCE_AND_CITATION = """## Licence

- Data: computed by the Materials Project, released under the Creative Commons Attribution 4.0
  licence (CC BY 4.0, <https://creativecommons.org/licenses/by/4.0/>); attribution: cite the
  papers below. The CSVs themselves carry no data licence; they cite their papers.
- Distribution: taken from the matminer package, BSD-style licence, "Copyright (c) 2015, The
  Regents of the University of California, through Lawrence Berkeley National Laboratory".
- The CC BY 4.0 terms are general knowledge about Materials Project data, not stated in the
  package; verify before redistributing. Whoever redistributes the derived files here (cleaned
  tensors, flags, splits) must keep that attribution: credit the Materials Project and the papers
  below.

## How to cite

Please cite the paper of each dataset you use and the Materials Project (BibTeX in `CITATION.bib`):

- Dielectric: I. Petousis et al., "High-throughput screening of inorganic compounds for the
  discovery of novel dielectric and optical materials", Sci. Data 4, 160134 (2017).
- Elastic: M. de Jong et al., "Charting the complete elastic properties of inorganic crystalline
  compounds", Sci. Data 2, 150009 (2015).
- Piezoelectric: M. de Jong, W. Chen, H. Geerlings, M. Asta, K. A. Persson, "A database to enable
  discovery and design of piezoelectric materials", Sci. Data 2, 150053 (2015).
- A. Jain et al., "Commentary: The Materials Project: A materials genome approach to
  accelerating materials innovation", APL Materials 1, 011002 (2013).
- matminer: L. Ward et al., Comput. Mater. Sci. 152, 60-69 (2018)."""


def _card_rebuild(report: dict) -> str:
    return f"""## Rebuild

From the repository root, with the raw data in `../shared/data/` (a few minutes):

```
{report["rebuild"]}
```

The build is deterministic: the same inputs and library versions give the same files
(`build_report.json` records the sha256 of every input and output)."""


def render_card(report: dict) -> str:
    """DATA_CARD.md from the build report (every number in the card comes from it)."""
    sections = (
        _card_intro(report),
        _card_provenance(report),
        _card_processing(report),
        _card_counts(report),
        _card_columns(),
        _card_symprec(report),
        _card_qc(report),
        _CARD_LICENCE_AND_CITATION,
        _card_rebuild(report),
    )
    return "\n\n".join(sections) + "\n"


# --------------------------------------------------------------------------- main


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--raw", type=Path, default=REPO / "../shared/data/raw", help="folder of the raw matminer CSVs"
    )
    parser.add_argument("--qc", type=Path, default=REPO / "../shared/data/qc", help="folder of the QC tables")
    parser.add_argument("--out", type=Path, default=REPO / "gmtnet/resources/data", help="output folder")
    parser.add_argument(
        "--limit", type=int, default=None, help="only the first N rows per dataset (to try the script)"
    )
    parser.add_argument(
        "--card-only",
        action="store_true",
        help="only re-render DATA_CARD.md from the existing build_report.json",
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    raw_dir, qc_dir, out_dir = args.raw.resolve(), args.qc.resolve(), args.out.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.card_only:
        report = json.loads((out_dir / "build_report.json").read_text(encoding="utf-8"))
        (out_dir / "DATA_CARD.md").write_text(render_card(report), encoding="utf-8")
        return 0

    all_records, all_diags, qcs = {}, {}, {}
    for source in SOURCES:
        raw, qc = read_source(source, raw_dir, qc_dir)
        raw = raw.head(args.limit) if args.limit else raw
        all_records[source.dataset], all_diags[source.dataset] = build_dataset(source, raw, qc)
        qcs[source.dataset] = qc

    split_of = assign_splits(r["material_id"] for recs in all_records.values() for r in recs)
    for records in all_records.values():
        for r in records:
            r["split"] = split_of[r["material_id"]]

    build_meta = {
        "symprec_angstrom": DEFAULT_SYMPREC,
        "angle_tolerance_degrees": DEFAULT_ANGLE_TOLERANCE,
        "residual_threshold": RESIDUAL_THRESHOLD,
        "large_eps_limit": LARGE_EPS_LIMIT,
        "split_seed": SPLIT_SEED,
    }
    for dataset, records in all_records.items():
        write_parquet(dataset, records, out_dir / f"{dataset}.parquet", build_meta)

    report = build_report(raw_dir, qc_dir, out_dir, all_records, all_diags, qcs, split_of)
    (out_dir / "build_report.json").write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (out_dir / "DATA_CARD.md").write_text(render_card(report), encoding="utf-8")

    for dataset, c in report["datasets"].items():
        print(f"{dataset:14s} rows {c['rows']:5d}  usable {c['usable']:5d}  flags {c['flags']}")
    print(f"wrote {out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
