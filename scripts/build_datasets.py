"""Build the bundled tensor datasets in ``gmtnet/resources/data/`` from the raw data.

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
  IEEE-rotated ``elastic_tensor``; plus the rows of the legacy Materials Project set
  ``mp_elastic_legacy_trachote`` (JSON of columns, CIF structures, 6x6 IEEE Voigt in the IEEE
  frame, whole GPa) whose ids are not in the matminer set, rotated back like the piezo rows.

Rows whose label came in the IEEE frame carry ``orientation`` and ``candidates``
(``gmtnet.orientation``): every structure-frame tensor the IEEE convention leaves possible. The
pymatgen IEEE rotation is corrected for tetragonal cells with c < a, where the sources put the
4-fold axis along x3 (``gmtnet.orientation.source_ieee_rotation``).

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
from pymatgen.core import Composition, Lattice, Structure
from tqdm import tqdm

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a plain script from a checkout, installed or not
sys.path.insert(0, str(REPO / "scripts"))

import gmtnet  # noqa: E402
import dfpt_petretto as dfpt  # noqa: E402  (scripts/, beside this file)
from gmtnet.data import (  # noqa: E402
    CRYSTAL_SYSTEMS,
    DFPT_DATASET,
    DFPT_FLAGS,
    DFPT_SPLIT_SEED,
    FLAGS,
    FOLD_SEED,
    GROUP_FOLD_SEED,
    NEAR_METALLIC_EPS,
    LARGE_EPS_LIMIT,
    N_FOLDS,
    NEW_IDS_SPLIT_SEED,
    RESIDUAL_THRESHOLD,
    SPLIT_FRACTIONS,
    SPLIT_SEED,
    SPLITS,
    TEST_FOLD,
    assign_folds,
    assign_group_folds,
    assign_splits,
    chemical_system,
    point_group_class,
)
from gmtnet.orientation import (  # noqa: E402
    MERGE_TOL,
    ORIENTATIONS,
    STRUCTURE_FRAME,
    frame_candidates,
    lattice_rotations,
    orientation_class,
    source_ieee_rotation,
)
from gmtnet.symmetry import (  # noqa: E402
    DEFAULT_ANGLE_TOLERANCE,
    DEFAULT_SYMPREC,
    PointSymmetry,
    analyze_symmetry,
    symmetry_residual,
)
from gmtnet.tensors import from_voigt, ieee_rotation, rotate  # noqa: E402

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

    name: str  # the `source` column of its rows
    dataset: str
    csv: str  # relative to --raw
    sdist_path: str  # path inside the matminer sdist ("" for files from elsewhere)
    qc_csv: str  # relative to --qc
    qc_consistent: str  # QC column: True when the tensor obeys the structure's symmetry
    qc_residual: str | None  # QC column: the residual of the stored tensor (None: not in the table)
    reference: str
    ieee_frame: bool  # the label is given in the IEEE-176 frame, not the structure's
    # The source put the 4-fold axis of tetragonal cells with c < a along x3 (IEEE 176), not along
    # x1 as pymatgen's rule does (gmtnet.orientation.source_ieee_rotation). Measured per source:
    # the 2015 matminer files did (elastic pairs, all 32 such piezo rows); the legacy query did not
    # (31 of its 33 such rows obey their point group with pymatgen's rotation and break it with
    # the corrected one).
    tetragonal_c_along_x3: bool = False


TRACHOTE = "mp_elastic_legacy_trachote"


SOURCES = (
    Source(
        "matminer_dielectric_constant",
        "dielectric",
        "matminer_dielectric_constant/dielectric_constant.csv",
        "matminer-0.4.0/matminer/datasets/dielectric_constant.csv",
        "qc_matminer_dielectric_constant.csv",
        "symmetry_consistent",
        "resid_e_total",
        "Petousis, I. et al. High-throughput screening of inorganic compounds for the discovery of novel "
        "dielectric and optical materials. Sci. Data 4, 160134 (2017).",
        False,
        True,
    ),
    Source(
        "matminer_piezoelectric_tensor",
        "piezoelectric",
        "matminer_piezoelectric_tensor/piezoelectric_tensor.csv",
        "matminer-0.4.0/matminer/datasets/piezoelectric_tensor.csv",
        "qc_matminer_piezoelectric_tensor.csv",
        "symmetry_consistent_after_backrotation",
        "resid_backrotated_vs_poscar",
        "de Jong, M., Chen, W., Geerlings, H., Asta, M. & Persson, K. A. A database to enable discovery "
        "and design of piezoelectric materials. Sci. Data 2, 150053 (2015).",
        True,
        True,
    ),
    Source(
        "matminer_elastic_tensor_2015",
        "elastic",
        "matminer_elastic_tensor_2015/elastic_tensor.csv",
        "matminer-0.4.0/matminer/datasets/elastic_tensor.csv",
        "qc_matminer_elastic_tensor_2015.csv",
        "symmetry_consistent",
        "resid_original_vs_poscar",
        "de Jong, M. et al. Charting the complete elastic properties of inorganic crystalline compounds. "
        "Sci. Data 2, 150009 (2015).",
        False,
        True,
    ),
    Source(
        TRACHOTE,
        "elastic",
        "mp_elastic_legacy_trachote/mp_val_clean.json",
        "",
        "qc_mp_elastic_legacy_trachote.csv",
        "symmetry_consistent_after_backrotation",
        None,
        "Materials Project legacy API query (pre-2021), via GitHub trachote/predict_elastic_tensor "
        "data/mp_val_clean.json at commit 2178392a6895287af3c7f95c2a31f7985b28b1e8 (MIT); data: "
        "de Jong, M. et al. Sci. Data 2, 150009 (2015).",
        True,
        False,
    ),
)
#: The source whose ids keep the split they had before the legacy elastic rows were added.
ORIGINAL_SOURCES = tuple(s.name for s in SOURCES if s.name != TRACHOTE)



# --------------------------------------------------------------------------- stored columns


@dataclass(frozen=True)
class Column:
    """One stored column: Arrow type, array shape (None for scalars), unit and meaning."""

    name: str
    type: pa.DataType
    unit: str
    description: str
    shape: tuple[int, ...] | None = None
    nullable: bool = False

    def field(self) -> pa.Field:
        meta = {"unit": self.unit, "description": self.description}
        if self.shape is not None:
            meta["shape"] = ",".join(str(n) for n in self.shape)
        return pa.field(self.name, self.type, nullable=self.nullable, metadata=meta)


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
    Column(
        "fold",
        pa.int8(),
        "",
        f"cross-validation fold 0..{N_FOLDS - 1} of a non-test material id, fixed over all datasets; "
        f"{TEST_FOLD} for the test split (in no fold)",
    ),
    Column(
        "group_fold",
        pa.int8(),
        "",
        f"grouped cross-validation fold 0..{N_FOLDS - 1}: every non-test material of one chemical system "
        f"(set of elements) in one fold, over all datasets; {TEST_FOLD} for the test split",
    ),
    Column("spacegroup_number", pa.int16(), "", "spglib international number at DEFAULT_SYMPREC"),
    Column("spacegroup_symbol", pa.string(), "", "spglib Hermann-Mauguin symbol at DEFAULT_SYMPREC"),
    Column("point_group", pa.string(), "", "spglib Hermann-Mauguin point group at DEFAULT_SYMPREC"),
    Column("crystal_system", pa.string(), "", "crystal system of spacegroup_number"),
    Column(
        "spacegroup_number_mp",
        pa.int16(),
        "",
        "space-group number given by the source (Materials Project); null where the source gives none",
        nullable=True,
    ),
    Column(
        "symmetry_residual",
        pa.float64(),
        "",
        "max over the point operations g of ||rho(g)T - T||_F / ||T||_F for `tensor` (relative)",
    ),
)

_FLAGS = Column("flags", pa.list_(pa.string()), "", "quality flags (empty = usable): " + ", ".join(FLAGS))


def _orientation_columns(rank: int, unit: str) -> tuple[Column, ...]:
    return (
        Column("source", pa.string(), "", "raw dataset the row comes from (see DATA_CARD.md, Provenance)"),
        Column(
            "orientation",
            pa.string(),
            "",
            "how far the label's orientation in the structure frame is known: "
            + "; ".join(f"{k}: {v}" for k, v in ORIENTATIONS.items()),
        ),
        Column(
            "candidates",
            pa.list_(pa.list_(pa.float64(), 3**rank)),
            unit,
            "every structure-frame tensor the source's label is compatible with (gmtnet.orientation."
            "frame_candidates; `tensor` first where it obeys the point group; only `tensor` for "
            "structure-frame and unresolved rows); each full rank, flattened row-major, structure frame",
            (-1,) + (3,) * rank,
        ),
    )


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
            "R used to rotate the label back: the QC table's (pymatgen get_ieee_rotation), corrected "
            "for tetragonal cells with c < a (gmtnet.orientation.source_ieee_rotation); maps the "
            "structure frame to the IEEE-176 frame of the source, tensor_ieee = rotate(tensor, R); "
            "3x3 flattened row-major",
            (3, 3),
        ),
        Column(
            "ieee_rotation_corrected",
            pa.bool_(),
            "",
            "True where ieee_rotation differs from pymatgen's (tetragonal, c < a)",
        ),
        *_TAIL,
        _FLAGS,
        *_orientation_columns(3, "C/m²"),
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
            "elastic stiffness tensor C_ijkl: matminer rows `elastic_tensor_original` "
            "(6x6 IEEE Voigt, POSCAR frame); legacy rows `elasticity.elastic_tensor` (6x6 IEEE "
            "Voigt, IEEE frame, whole GPa) rotated back like the piezoelectric rows",
        ),
        *_TAIL,
        _FLAGS,
        *_orientation_columns(4, "GPa"),
        Column("K_VRH", pa.float64(), "GPa", "Voigt-Reuss-Hill bulk modulus (matminer source; null for legacy rows)", nullable=True),
        Column("G_VRH", pa.float64(), "GPa", "Voigt-Reuss-Hill shear modulus (matminer source; null for legacy rows)", nullable=True),
        Column("K_Voigt", pa.float64(), "GPa", "Voigt bulk modulus (legacy source; null for matminer rows)", nullable=True),
        Column("G_Voigt", pa.float64(), "GPa", "Voigt shear modulus (legacy source; null for matminer rows)", nullable=True),
    ),
}


_DFPT_TAIL = tuple(c for c in _TAIL if c.name not in ("spacegroup_number_mp", "symmetry_residual"))
COLUMNS[DFPT_DATASET] = (
    *(c for c in _HEAD if c.name != "material_id"),
    Column("material_id", pa.string(), "", "dfpt-NNNN: the frame index in the source file (it has no ids)"),
    _tensor_column("tensor_electronic", 2, "", "high-frequency dielectric tensor ε∞ (DFPT, ABINIT, PBEsol), source `eps`"),
    Column(
        "born_charges",
        pa.list_(pa.list_(pa.float64(), 9)),
        "e",
        "Born effective charges Z*_κ,αβ = Ω ∂P_α/∂u_κβ per site (first index: field/polarization "
        "direction, second: displacement), source per-atom `becs`; (nsites, 3, 3), each 3x3 row-major, "
        "Cartesian frame of the stored structure",
        (-1, 3, 3),
    ),
    *_DFPT_TAIL,
    Column("symmetry_residual_electronic", pa.float64(), "", "symmetry residual of `tensor_electronic` (relative)"),
    Column("born_site_residual", pa.float64(), "", "max over space-group operations of ||Z_g(κ) - R Z_κ Rᵀ||_F / max ||Z||_F (relative)"),
    Column("born_asr", pa.float64(), "e", "acoustic-sum-rule violation max_αβ |Σ_κ Z*_κ,αβ|"),
    Column("flags", pa.list_(pa.string()), "", "quality flags (empty = usable): " + ", ".join(DFPT_FLAGS)),
    Column("source", pa.string(), "", f"`{dfpt.SOURCE_NAME}`"),
    Column("mp_material_id", pa.string(), "", "bundled Materials Project cell this crystal matches (StructureMatcher; dielectric set preferred), or null", nullable=True),
    Column("in_dielectric_set", pa.bool_(), "", "True when the matched cell is in dielectric.parquet"),
)


# --------------------------------------------------------------------------- pure per-row steps


def parse_matrix(text: str) -> np.ndarray:
    """A Python-literal nested list (as stored in the CSVs) or a JSON list -> float64 array."""
    return np.asarray(ast.literal_eval(text) if isinstance(text, str) else text, dtype=float)


def rotation_from_qc(qc_row: pd.Series) -> np.ndarray:
    """The QC table's R (structure frame -> IEEE frame), checked to be orthogonal."""
    r = np.array([[qc_row[f"R{i}{j}"] for j in range(3)] for i in range(3)], dtype=float)
    # R is stored with 8 digits; a larger error would mean a corrupt row, not rounding.
    if np.abs(r @ r.T - np.eye(3)).max() > 1e-6:
        raise ValueError(f"QC rotation of {qc_row.name} is not orthogonal: {r.tolist()}")
    return r


def source_structure(source: Source, row: pd.Series) -> Structure:
    """The cell the row's tensor was computed on: the matminer `poscar` or the legacy set's CIF."""
    if source.name == TRACHOTE:
        # pymatgen's own P1 CIF of the cell; parsed as CIF text, nothing decoded from objects.
        return Structure.from_str(row["cif"], fmt="cif")
    return Structure.from_str(row["poscar"], fmt="poscar")


def source_tensors(source: Source, row: pd.Series, qc_row: pd.Series, structure: Structure) -> dict:
    """The row's label tensors, full rank, source units, in the structure's Cartesian frame.

    For IEEE-frame sources also ``ieee_rotation`` (the R used) and ``ieee_rotation_corrected``.
    """
    if source.dataset == "dielectric":
        return {
            "tensor": parse_matrix(row["e_total"]),
            "tensor_electronic": parse_matrix(row["e_electronic"]),
        }
    if source.name == "matminer_elastic_tensor_2015":
        return {"tensor": from_voigt(parse_matrix(row["elastic_tensor_original"]), "elastic", order="ieee")}
    r, corrected = rotation_from_qc(qc_row), False
    if source.tetragonal_c_along_x3:
        r, corrected = source_ieee_rotation(structure, r)
    if source.dataset == "piezoelectric":
        t_ieee = from_voigt(parse_matrix(row["piezoelectric_tensor"]), "piezoelectric", order="ieee")
    elif source.name == TRACHOTE:
        t_ieee = from_voigt(parse_matrix(row["elasticity.elastic_tensor"]), "elastic", order="ieee")
    else:
        raise ValueError(f"unknown source {source.name!r}")
    return {"tensor": rotate(t_ieee, r.T), "ieee_rotation": r, "ieee_rotation_corrected": corrected}


def source_extras(source: Source, row: pd.Series) -> dict:
    """Scalar columns copied from the source."""
    if source.dataset == "dielectric":
        return {
            "band_gap": float(row["band_gap"]),
            "n": float(row["n"]),
            "pot_ferroelectric": bool(row["pot_ferroelectric"]),
        }
    if source.dataset == "piezoelectric":
        return {"eij_max": float(row["eij_max"]), "point_group_mp": str(row["point_group"])}
    if source.name == TRACHOTE:
        return {
            "K_VRH": None,
            "G_VRH": None,
            "K_Voigt": float(row["elasticity.K_Voigt"]),
            "G_Voigt": float(row["elasticity.G_Voigt"]),
        }
    return {"K_VRH": float(row["K_VRH"]), "G_VRH": float(row["G_VRH"]), "K_Voigt": None, "G_Voigt": None}


def orientation_fields(source: Source, tensor: np.ndarray, structure: Structure, sym: PointSymmetry) -> dict:
    """``orientation`` and ``candidates`` of one row (see gmtnet.orientation)."""
    if not source.ieee_frame:
        return {"orientation": STRUCTURE_FRAME, "candidates": [tensor.reshape(-1).tolist()]}
    found = frame_candidates(tensor, sym.rotations, lattice_rotations(structure.lattice.matrix))
    # An unresolved row keeps its label as the only candidate (it is flagged and not trained on).
    kept = found if len(found) else tensor[None]
    return {
        "orientation": orientation_class(len(found), structure_frame_source=False),
        "candidates": [c.reshape(-1).tolist() for c in kept],
    }


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


def build_row(source: Source, row: pd.Series, qc_row: pd.Series) -> tuple[dict, dict]:
    """One stored record (split and fold still missing) and its build-time diagnostics."""
    structure = source_structure(source, row)
    found = source_tensors(source, row, qc_row, structure)
    tensors = {k: v for k, v in found.items() if k.startswith("tensor")}
    sym = analyze_symmetry(structure, symprec=DEFAULT_SYMPREC, angle_tolerance=DEFAULT_ANGLE_TOLERANCE)
    residuals = residuals_for(tensors, sym.rotations)
    flags = quality_flags(residuals, tensors)
    record = {
        "material_id": str(row["material_id"]),
        **structure_fields(structure),
        **{name: t.reshape(-1).tolist() for name, t in tensors.items()},
        **symmetry_fields(sym),
        "spacegroup_number_mp": None if source.name == TRACHOTE else int(row["space_group"]),
        **residuals,
        "flags": flags,
        "source": source.name,
        **source_extras(source, row),
    }
    if "ieee_rotation" in found:
        record["ieee_rotation"] = found["ieee_rotation"].reshape(-1).tolist()
        record["ieee_rotation_corrected"] = bool(found["ieee_rotation_corrected"])
    if source.dataset != "dielectric":
        record |= orientation_fields(source, tensors["tensor"], structure, sym)
    qc_sym = analyze_symmetry(structure, symprec=QC_SYMPREC, angle_tolerance=QC_ANGLE_TOLERANCE)
    diagnostics = {
        "scan": tolerance_scan(structure, tensors, usable_at_default=not flags),
        "qc_settings_spacegroup": qc_sym.spacegroup_number,
        "qc_settings_consistent": symmetry_consistent(residuals_for(tensors, qc_sym.rotations)),
        "source_formula": str(row["formula"]) if "formula" in row else structure.composition.reduced_formula,
        "source_nsites": int(row["nsites"]),
    }
    return record, diagnostics


# --------------------------------------------------------------------------- per-dataset steps


def read_source(source: Source, raw_dir: Path, qc_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    if source.csv.endswith(".json"):
        # A JSON object of columns (pandas to_json layout), every value a string: plain json only.
        raw = pd.DataFrame(json.loads((raw_dir / source.csv).read_text(encoding="utf-8")))
        raw = raw.sort_values("material_id", key=lambda ids: ids.map(_id_key)).reset_index(drop=True)
    else:
        raw = pd.read_csv(raw_dir / source.csv, comment="#")
    qc = pd.read_csv(qc_dir / source.qc_csv, comment="#").set_index("material_id")
    if not raw["material_id"].is_unique or set(raw["material_id"]) != set(qc.index):
        raise ValueError(f"{source.name}: raw ids are not unique or differ from the QC table's ids")
    return raw, qc


def _id_key(material_id: str) -> tuple[str, int]:
    prefix, _, number = material_id.rpartition("-")
    return prefix, int(number) if number.isdigit() else -1


def build_dataset(source: Source, raw: pd.DataFrame, qc: pd.DataFrame) -> tuple[list[dict], list[dict]]:
    records, diagnostics = [], []
    for _, row in tqdm(raw.iterrows(), total=len(raw), desc=source.name, unit="row"):
        record, diag = build_row(source, row, qc.loc[row["material_id"]])
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
        "sources": {
            name: {
                "rows": sum(r["source"] == name for r in records),
                "usable": sum(r["source"] == name for r in usable),
            }
            for name in dict.fromkeys(r["source"] for r in records)
        },
        "orientation": orientation_counts(records),
    }


def orientation_counts(records: list[dict]) -> dict | None:
    """Rows per orientation class (all / usable), usable rows per point group and class."""
    if "orientation" not in records[0]:
        return None
    usable = [r for r in records if not r["flags"]]
    by_pg: dict[str, dict[str, int]] = {}
    for r in sorted(usable, key=lambda r: r["point_group"]):
        if r["orientation"] == STRUCTURE_FRAME:
            continue
        counts = by_pg.setdefault(r["point_group"], {k: 0 for k in ORIENTATIONS if k != STRUCTURE_FRAME})
        counts[r["orientation"]] += 1
    return {
        "all": _counts((r["orientation"] for r in records), ORIENTATIONS),
        "usable": _counts((r["orientation"] for r in usable), ORIENTATIONS),
        "usable_candidates": _counts((len(r["candidates"]) for r in usable), sorted({len(r["candidates"]) for r in usable})),
        "usable_by_point_group": by_pg,
        "usable_by_point_group_class": {
            c: _counts((r["orientation"] for r in usable if point_group_class(r["point_group"]) == c), ORIENTATIONS)
            for c in ("centrosymmetric", "polar", "other")
        },
        "ieee_rotation_corrected": {
            "all": sum(bool(r.get("ieee_rotation_corrected")) for r in records),
            "usable": sum(bool(r.get("ieee_rotation_corrected")) for r in usable),
        },
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
                if r["spacegroup_number_mp"] is not None
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
        "rows_with_mp_spacegroup": {
            d: sum(x["spacegroup_number_mp"] is not None for x in r) for d, r in all_records.items()
        }
        | {"all": sum(x["spacegroup_number_mp"] is not None for r in all_records.values() for x in r)},
        "rows_matching_mp_spacegroup": matching,
        "rows_usable": usable,
        "best_symprecs_by_mp_agreement": [
            s for s, m in zip(SYMPRECS, matching["all"], strict=True) if m == top
        ],
        "default_symprec": DEFAULT_SYMPREC,
    }


def _disagreement_reason(record: dict, diag: dict, qc_consistent: bool) -> str:
    """Why our consistency verdict differs from the QC table's, as far as the build can tell."""
    if record.get("ieee_rotation_corrected"):
        return "the IEEE rotation was corrected (tetragonal, c < a: 4-fold axis along x3); the QC used pymatgen's"
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
    corrected = 0
    for record, diag in zip(records, diagnostics, strict=True):
        if record["source"] != source.name:
            continue
        qc_row = qc.loc[record["material_id"]]
        ours = not ({"asymmetric", "asymmetric_electronic"} & set(record["flags"]))
        theirs = bool(qc_row[source.qc_consistent])
        # The QC judged pymatgen's rotation; a corrected row is compared on its own line.
        corrected += bool(record.get("ieee_rotation_corrected"))
        with_qc_settings += diag["qc_settings_consistent"] == theirs or bool(record.get("ieee_rotation_corrected"))
        has_qc_symmetry = source.qc_residual is not None
        if has_qc_symmetry and record["spacegroup_number"] == int(qc_row["space_group_spglib"]):
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
                "spacegroup_qc": int(qc_row["space_group_spglib"]) if has_qc_symmetry else None,
                "spacegroup_mp": record["spacegroup_number_mp"],
                "residual_ours": round(record["symmetry_residual"], 6),
                "residual_qc": round(float(qc_row[source.qc_residual]), 6) if has_qc_symmetry else None,
                "reason": _disagreement_reason(record, diag, theirs),
            }
        )
    return {
        "qc_column": source.qc_consistent,
        "ours_consistent_means": "no 'asymmetric' flag"
        + (" and no 'asymmetric_electronic' flag" if source.dataset == "dielectric" else ""),
        "rows": sum(r["source"] == source.name for r in records),
        "agree": agree,
        "consistent_ours_not_qc": ours_only,
        "consistent_qc_not_ours": qc_only,
        "ieee_rotation_corrected": corrected,
        "agree_when_recomputed_with_qc_settings": with_qc_settings,
        "max_abs_residual_difference_same_spacegroup": float(max(residual_diffs)) if residual_diffs else None,
        "disagreements": disagreements,
    }


def _source_key(source: Source) -> str:
    """Report key of a source: the dataset name for the original matminer files, else its name."""
    return source.dataset if source.name in ORIGINAL_SOURCES else source.name


# --------------------------------------------------------------------------- orientation checks


def _close(a: np.ndarray, b: np.ndarray, tol: float = 0.02) -> bool:
    return bool(np.linalg.norm(a - b) <= tol * max(np.linalg.norm(b), 1e-12))


def _in_candidates(t: np.ndarray, candidates: np.ndarray) -> bool:
    return any(_close(c, t) for c in candidates)


def check_elastic_convention(raw: pd.DataFrame) -> dict:
    """Does back-rotating the matminer `elastic_tensor` (IEEE frame) give `elastic_tensor_original`?

    The source's own rotation is the one that maps the POSCAR-frame tensor onto the IEEE one, so
    these rows test pymatgen's rotation, the corrected one and the candidate sets directly.
    """
    counts = {"rows": 0, "pymatgen_reproduces": 0, "corrected_reproduces": 0, "rotation_corrected": 0,
              "in_candidates": 0, "not_in_candidates_consistent": 0, "not_in_candidates_flagged": 0}
    for _, row in tqdm(raw.iterrows(), total=len(raw), desc="check elastic IEEE rotation", unit="row"):
        structure = Structure.from_str(row["poscar"], fmt="poscar")
        t_orig = from_voigt(parse_matrix(row["elastic_tensor_original"]), "elastic", order="ieee")
        t_ieee = from_voigt(parse_matrix(row["elastic_tensor"]), "elastic", order="ieee")
        r_pm = ieee_rotation(structure)
        r_src, corrected = source_ieee_rotation(structure, r_pm)
        back = rotate(t_ieee, r_src.T)
        sym = analyze_symmetry(structure)
        candidates = frame_candidates(back, sym.rotations, lattice_rotations(structure.lattice.matrix))
        counts["rows"] += 1
        counts["pymatgen_reproduces"] += _close(rotate(t_ieee, r_pm.T), t_orig)
        counts["corrected_reproduces"] += _close(back, t_orig)
        counts["rotation_corrected"] += corrected
        if _in_candidates(t_orig, candidates):
            counts["in_candidates"] += 1
        elif symmetry_residual(t_orig, sym.rotations) <= RESIDUAL_THRESHOLD:
            counts["not_in_candidates_consistent"] += 1
        else:
            counts["not_in_candidates_flagged"] += 1
    return counts


def check_roundoff(records: list[dict], decimals=(4, 3)) -> dict:
    """The issue's instability test on usable IEEE-frame rows: round the lattice to 1e-4 / 1e-3 Å,
    recompute the rotation and the back-rotated label; is it still one of the row's candidates?"""
    out = {}
    usable = [r for r in records if not r["flags"] and r["orientation"] != STRUCTURE_FRAME]
    for dec in decimals:
        changed = in_set = 0
        for r in tqdm(usable, desc=f"check round-off 1e-{dec} Å", unit="row"):
            lattice = np.reshape(r["lattice"], (3, 3))
            frac = np.reshape(r["frac_coords"], (-1, 3))
            rank = int(round(np.log(len(r["tensor"])) / np.log(3)))
            t = np.reshape(r["tensor"], (3,) * rank)
            t_ieee = rotate(t, np.reshape(r["ieee_rotation"], (3, 3)))
            rounded = Structure(Lattice(np.round(lattice, dec)), r["species"], frac)
            r2 = ieee_rotation(rounded)
            if next(s for s in SOURCES if s.name == r["source"]).tetragonal_c_along_x3:
                r2, _ = source_ieee_rotation(rounded, r2)
            t2 = rotate(t_ieee, r2.T)
            changed += not _close(t2, t)
            in_set += _in_candidates(t2, np.reshape(r["candidates"], (-1, *t.shape)))
        out[f"1e-{dec}"] = {"rows": len(usable), "label_changes": changed, "still_a_candidate": in_set}
    return out


def check_legacy_tetragonal(raw: pd.DataFrame, qc: pd.DataFrame) -> dict:
    """Which tetragonal convention the legacy query used: for its tetragonal rows with c < a,
    does the label obey the point group with pymatgen's R or with the corrected one?"""
    source = next(s for s in SOURCES if s.name == TRACHOTE)
    counts = {"tetragonal_c_below_a": 0, "pymatgen_obeys": 0, "corrected_obeys": 0, "corrected_would_break": 0}
    for _, row in raw[raw["spacegroup.crystal_system"] == "tetragonal"].iterrows():
        structure = source_structure(source, row)
        r_pm = rotation_from_qc(qc.loc[row["material_id"]])
        r_fix, changed = source_ieee_rotation(structure, r_pm)
        if not changed:
            continue
        t_ieee = from_voigt(parse_matrix(row["elasticity.elastic_tensor"]), "elastic", order="ieee")
        rotations = analyze_symmetry(structure).rotations
        ok_pm = symmetry_residual(rotate(t_ieee, r_pm.T), rotations) <= RESIDUAL_THRESHOLD
        ok_fix = symmetry_residual(rotate(t_ieee, r_fix.T), rotations) <= RESIDUAL_THRESHOLD
        counts["tetragonal_c_below_a"] += 1
        counts["pymatgen_obeys"] += ok_pm
        counts["corrected_obeys"] += ok_fix
        counts["corrected_would_break"] += ok_pm and not ok_fix
    return counts


def check_trachote_overlap(overlap: pd.DataFrame, qc: pd.DataFrame, matminer: pd.DataFrame) -> dict:
    """The legacy rows whose id is also a matminer elastic row: same IEEE tensor? Is the matminer
    POSCAR-frame tensor one of the candidates of the legacy row (where the two cells coincide)?"""
    known = matminer.set_index("material_id")
    source = next(s for s in SOURCES if s.name == TRACHOTE)
    counts = {"rows": len(overlap), "ieee_tensor_within_1_GPa": 0, "same_cell": 0,
              "same_cell_in_candidates": 0, "same_cell_unique": 0, "same_cell_unique_correct": 0}
    for _, row in overlap.iterrows():
        ref = known.loc[row["material_id"]]
        ieee_old = parse_matrix(ref["elastic_tensor"])
        ieee_new = parse_matrix(row["elasticity.elastic_tensor"])
        # The legacy file rounds to whole GPa: agreement within 1 GPa (plus float slack).
        counts["ieee_tensor_within_1_GPa"] += bool(np.abs(ieee_old - ieee_new).max() <= 1.0 + 1e-6)
        structure = source_structure(source, row)
        poscar = Structure.from_str(ref["poscar"], fmt="poscar")
        if not np.allclose(structure.lattice.matrix, poscar.lattice.matrix, atol=1e-3):
            continue
        counts["same_cell"] += 1
        t = source_tensors(source, row, qc.loc[row["material_id"]], structure)["tensor"]
        sym = analyze_symmetry(structure)
        cands = frame_candidates(t, sym.rotations, lattice_rotations(structure.lattice.matrix))
        t_orig = from_voigt(parse_matrix(ref["elastic_tensor_original"]), "elastic", order="ieee")
        # Whole-GPa rounding: compare with a 2 % tolerance on the Frobenius norm.
        hit = _in_candidates(t_orig, cands)
        counts["same_cell_in_candidates"] += hit
        counts["same_cell_unique"] += len(cands) == 1
        counts["same_cell_unique_correct"] += len(cands) == 1 and hit
    return counts


def build_report(
    raw_dir: Path,
    qc_dir: Path,
    out_dir: Path,
    all_records: dict[str, list[dict]],
    all_diags: dict[str, list[dict]],
    qcs: dict[str, pd.DataFrame],
    split_of: dict[str, str],
    fold_of: dict[str, int],
    checks: dict,
) -> dict:
    sources = {
        _source_key(s): {
            "file": s.csv,
            "sdist_path": s.sdist_path,
            "sha256": sha256(raw_dir / s.csv),
            "bytes": (raw_dir / s.csv).stat().st_size,
            "qc_file": s.qc_csv,
            "qc_sha256": sha256(qc_dir / s.qc_csv),
            "reference": s.reference,
            "frame": "IEEE-176" if s.ieee_frame else "structure (POSCAR)",
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
            "new_ids_split_seed": NEW_IDS_SPLIT_SEED,
            "split_fractions": dict(zip(SPLITS, SPLIT_FRACTIONS, strict=True)),
            "n_folds": N_FOLDS,
            "fold_seed": FOLD_SEED,
            "candidate_merge_tol": MERGE_TOL,
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
            "original_ids": sum(1 for m in split_of if m not in checks["new_ids"]),
            "new_ids": len(checks["new_ids"]),
            "new_ids_splits": _counts((split_of[m] for m in checks["new_ids"]), SPLITS),
            "folds": _counts(fold_of.values(), [TEST_FOLD, *range(N_FOLDS)]),
            "overlaps": {
                f"{a}&{b}": len(ids[a] & ids[b]) for i, a in enumerate(names) for b in names[i + 1 :]
            }
            | {"all_three": len(set.intersection(*ids.values()))},
        },
        "symprec_agreement": symprec_agreement(all_records, all_diags),
        "qc_agreement": {
            _source_key(s): qc_agreement(s, all_records[s.dataset], all_diags[s.dataset], qcs[s.name])
            for s in SOURCES
        },
        "orientation_checks": checks["orientation"],
        "outputs": {
            f"{d}.parquet": {
                "bytes": (out_dir / f"{d}.parquet").stat().st_size,
                "sha256": sha256(out_dir / f"{d}.parquet"),
            }
            for d in names
        },
    }


def dfpt_splits(
    records: list[dict], split_of: dict[str, str], fold_of: dict[str, int]
) -> tuple[dict[str, str], dict[str, int]]:
    """Split and random fold of each DFPT row.

    A row matching bundled cells takes the split and fold of the matched material, and "test"
    if any matched material is in test (the same crystal must not train a model that the test
    split then grades). The others get their own seeded assignment with the usual fractions.
    """
    split, fold, unmatched = {}, {}, []
    for r in records:
        matched = list(r["_matches"].values())
        if not matched:
            unmatched.append(r["material_id"])
            continue
        tested = [m for m in matched if split_of[m] == "test"]
        ref = tested[0] if tested else r["mp_material_id"]
        split[r["material_id"]], fold[r["material_id"]] = split_of[ref], fold_of[ref]
    own = assign_splits(unmatched, seed=DFPT_SPLIT_SEED)
    return split | own, fold | assign_folds(own, seed=DFPT_SPLIT_SEED)


def dfpt_report(raw_dir: Path, out_dir: Path, records: list[dict], qc: dict, match: dict, dielectric: list[dict]) -> dict:
    """Counts, QC, overlap and the PBEsol/PBE offset of the DFPT set, for the report and card."""
    path = raw_dir / dfpt.XYZ_FILE
    usable = [r for r in records if not r["flags"]]
    eig = [np.linalg.eigvalsh(np.reshape(r["tensor_electronic"], (3, 3))) for r in usable]
    anisotropic = sum(e.max() / e.min() > 2 for e in eig)
    return {
        "source": {
            "file": dfpt.XYZ_FILE,
            "sha256": sha256(path),
            "bytes": path.stat().st_size,
            "reference": "Petretto, G. et al. High-throughput density-functional perturbation theory phonons "
            "for inorganic materials. Sci. Data 5, 180065 (2018) (inferred, see PROVENANCE.md); distributed "
            "in GitHub shiangfang/e3nn-models data/phonon_becs_epsilon.xyz (MIT).",
            "frame": "structure (the frame's lattice)",
        },
        "rows": len(records),
        "usable": len(usable),
        "flags": _counts((f for r in records for f in r["flags"]), DFPT_FLAGS),
        "near_metallic_eps": NEAR_METALLIC_EPS,
        "near_metallic_rows": [
            {"material_id": r["material_id"], "formula": r["formula"],
             "eps_max_eigenvalue": round(float(np.linalg.eigvalsh(np.reshape(r["tensor_electronic"], (3, 3))).max()), 1)}
            for r in records if "near_metallic" in r["flags"]
        ],
        "anisotropic_usable": int(anisotropic),
        "splits": _counts((r["split"] for r in records), SPLITS),
        "splits_usable": _counts((r["split"] for r in usable), SPLITS),
        "crystal_systems_usable": _counts((r["crystal_system"] for r in usable), CRYSTAL_SYSTEMS),
        "qc": qc,
        "matching": match | {"settings": dfpt.MATCHER},
        "matched_test": sum(r["split"] == "test" and r["mp_material_id"] is not None for r in records),
        "functional_offset": dfpt.functional_offset(records, dielectric),
        "output": {
            "file": f"{DFPT_DATASET}.parquet",
            "bytes": (out_dir / f"{DFPT_DATASET}.parquet").stat().st_size,
            "sha256": sha256(out_dir / f"{DFPT_DATASET}.parquet"),
        },
    }


def grouped_fold_report(datasets: dict[str, list[dict]], group_of: dict[str, str]) -> dict:
    """Usable rows per grouped fold and dataset; chemical systems per fold."""
    out = {"groups": len(set(group_of.values())), "usable_rows": {}}
    for d, recs in datasets.items():
        usable = [r for r in recs if not r["flags"]]
        out["usable_rows"][d] = _counts((r["group_fold"] for r in usable), [TEST_FOLD, *range(N_FOLDS)])
    return out


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

Three Materials Project DFT tensor datasets, as distributed in the matminer 0.4.0 package, plus
{_n(ds["elastic"]["sources"][TRACHOTE]["rows"])} further elastic tensors from a legacy Materials Project query, cleaned
into one Parquet file per tensor: the dielectric tensor (ε₀ and ε∞), the piezoelectric stress
tensor e and the elastic stiffness tensor C. Every tensor is stored **full rank, in the Cartesian
frame of the crystal structure it was computed on** (stored with it), in source units; where the
source gave it in the IEEE frame, the row also lists every structure-frame tensor the label may
be (`orientation`, `candidates`; see "Label orientation"). Load them with
`gmtnet.data.load_dataset(kind, include_flagged=...)`; print statistics with
`python -m gmtnet data summary`.

This file is generated by `scripts/build_datasets.py` from `build_report.json`; edit the script,
not this file.

## Files

| file | content |
| --- | --- |
| `dielectric.parquet` | {_n(ds["dielectric"]["rows"])} rows: ε₀ (`tensor`), ε∞ (`tensor_electronic`) |
| `piezoelectric.parquet` | {_n(ds["piezoelectric"]["rows"])} rows: e (`tensor`), C/m² |
| `elastic.parquet` | {_n(ds["elastic"]["rows"])} rows: C (`tensor`), GPa ({", ".join(f"{k} {_n(v['rows'])}" for k, v in ds["elastic"]["sources"].items())}) |
| `{DFPT_DATASET}.parquet` | {_n(report["dielectric_dfpt"]["rows"])} rows: ε∞ (`tensor_electronic`) and per-atom Born charges (`born_charges`, e) from DFPT with ABINIT/PBEsol (see "DFPT ε∞ and Born charges") |
| `build_report.json` | every count and check below, source and output sha256s, library versions |
| `CITATION.bib` | the papers to cite |"""


def _card_provenance(report: dict) -> str:
    sdist, v = report["matminer_sdist"], report["versions"]
    table = _md_table(
        ["source", "file", "sha256", "bytes", "label frame", "reference"],
        [
            [d, f"`{s['sdist_path'] or s['file']}`", f"`{s['sha256']}`", _n(s["bytes"]), s["frame"], s["reference"]]
            for d, s in report["sources"].items()
        ],
    )
    return f"""## Provenance

Source of the dielectric, piezoelectric and first elastic file: the {sdist["package"]}, which
bundles the CSVs below (later matminer versions download newer versions instead):

- obtained with `{sdist["command"]}`
- sdist sha256 `{sdist["sha256"]}`

The data were computed by the Materials Project with VASP (GGA/PBE; DFPT for the dielectric and
piezoelectric tensors, stress-strain fits for the elastic tensors).

The legacy elastic set (`{TRACHOTE}`): the file `data/mp_val_clean.json` of the public GitHub
repository `trachote/predict_elastic_tensor` (MIT licence), added in commit
`2178392a6895287af3c7f95c2a31f7985b28b1e8` and later deleted there; a query of the legacy (pre-2021)
Materials Project API: material id, a P1 CIF of the cell (written by pymatgen), the elastic tensor
(6x6 IEEE-order Voigt, **IEEE frame**, rounded to whole GPa) and Voigt moduli. Read with `json` and
pandas, the CIF with pymatgen's CIF parser. Of its 1,211 rows, those whose id is already in the
matminer elastic set are not added (they keep their POSCAR-frame label) and serve as a check.

{table}

Per-row symmetry QC tables (`shared/data/qc/`, spglib 2.8.0, symprec 0.01 Å, angle tolerance 5°)
supplied pymatgen's IEEE rotations of the piezoelectric and legacy elastic rows and the
cross-check below.

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

- **Structures**: the source's `poscar` cell (legacy elastic rows: the CIF's cell), the cell the
  tensor was computed on, stored with the row as plain arrays: `lattice` (rows a, b, c, Å),
  `species`, `frac_coords`. Its Cartesian frame is the frame of the row's tensors. A material in
  several files may have a different cell (or setting) in each; every tensor travels with its own.
- **Dielectric**: `e_total` (ε₀) and `e_electronic` (ε∞) are already in the POSCAR frame; stored
  unchanged (the ionic part is their difference). The source's `poly_*` averages are not kept.
- **Piezoelectric**: the source gives a 3x6 Voigt matrix in IEEE order (xx, yy, zz, yz, xz, xy)
  **in the IEEE-176 frame**, not the structure's. It is expanded to e_ijk (no Voigt factors for
  stress constants) and rotated back with the QC table's R (pymatgen `get_ieee_rotation`, structure
  frame → IEEE frame), corrected for tetragonal cells with c < a (the source's convention, see
  "Label orientation"):
  e_struct = R^T·e_ieee on every index. R is stored as `ieee_rotation`
  (`ieee_rotation_corrected` marks the {_n(piezo["orientation"]["ieee_rotation_corrected"]["all"])} corrected rows).
  For {_n(piezo["flags"]["asymmetric"])} of {_n(piezo["rows"])} rows the back-rotated tensor does not
  obey the structure's symmetry under any frame choice (flagged `asymmetric`, orientation
  `unresolved`). Where it does, the orientation is often still open: see "Label orientation".
- **Elastic**: `elastic_tensor_original` (6x6 IEEE-order Voigt, POSCAR frame) expanded to C_ijkl
  (no Voigt factors for stiffnesses). The IEEE-rotated `elastic_tensor` and the compliances are
  not used (the pair serves to check the IEEE convention, see "Label orientation"). Legacy rows:
  `elasticity.elastic_tensor` (IEEE frame, whole GPa) rotated back with the QC table's R
  (pymatgen's, uncorrected: that source's own convention, see "Label orientation");
  `K_VRH`/`G_VRH` are null for them and `K_Voigt`/`G_Voigt` (theirs) null for the matminer rows;
  the legacy source gives no space-group number (`spacegroup_number_mp` null).
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
  the three datasets, so no material is in two splits across kinds. The sorted unique ids of the
  matminer files ({_n(mats["original_ids"])}) are permuted with `numpy.random.default_rng({p["split_seed"]})`
  (`SPLIT_SEED` in `gmtnet/data.py`) and cut {cuts} (`gmtnet.data.assign_splits`): the split they
  always had. The {_n(mats["new_ids"])} ids new with the legacy elastic rows get their own assignment with
  the same fractions and seed {p["new_ids_split_seed"]} (`NEW_IDS_SPLIT_SEED`):
  {", ".join(f"{k} {_n(v)}" for k, v in mats["new_ids_splits"].items())}. Every row, flagged or not, has a split.
  - {_n(mats["union"])} materials: {materials}
  - ids in more than one dataset: {overlaps}
- **Cross-validation folds** (`fold`): the non-test ids, sorted, permuted with seed
  {p["fold_seed"]} (`FOLD_SEED`) and dealt round robin into {p["n_folds"]} folds
  (`gmtnet.data.assign_folds`), the same folds for every kind; test rows have fold -1 and stay a
  holdout. Materials per fold: {", ".join(f"{k} {_n(v)}" for k, v in mats["folds"].items())}."""


def _card_orientation(report: dict) -> str:
    ds, checks, p = report["datasets"], report["orientation_checks"], report["parameters"]
    qa_legacy = checks["legacy_tetragonal_convention"]
    names = [d for d in ds if ds[d]["orientation"]]
    classes = list(ORIENTATIONS)
    table = _md_table(
        ["orientation", "meaning", *(f"{d} (all / usable)" for d in names)],
        [
            [f"`{c}`", ORIENTATIONS[c], *(f"{_n(ds[d]['orientation']['all'][c])} / {_n(ds[d]['orientation']['usable'][c])}" for d in names)]
            for c in classes
        ],
    )
    pg_rows = []
    for d in names:
        for pg, counts in ds[d]["orientation"]["usable_by_point_group"].items():
            pg_rows.append([d, pg, point_group_class(pg), counts["unique"], counts["ambiguous"], counts["unresolved"]])
    by_pg = _md_table(["dataset", "point group", "class", "unique", "ambiguous", "unresolved"], pg_rows)
    el = checks["matminer_elastic_ieee_vs_original"]
    ov = checks["legacy_elastic_overlap_with_matminer"]
    ro = checks["roundoff"]
    ro_lines = "\n".join(
        f"  - {d}, lattice rounded to {dec} Å: the back-rotated label changes for {_n(x['label_changes'])} of "
        f"{_n(x['rows'])} usable IEEE-frame rows; it is one of the row's candidates for {_n(x['still_a_candidate'])}."
        for d, per in ro.items() for dec, x in per.items()
    )
    return f"""## Label orientation

A tensor given in the IEEE-176 frame (piezoelectric rows, legacy elastic rows) is rotated back
with R, the rotation from the structure frame to the IEEE frame. pymatgen builds R from the
lattice vectors of spglib's conventional cell; where the lattice has more symmetry than the
crystal, several conventional cells are equally valid and round-off (or another spglib version)
picks one. Two such choices differ by a proper operation h of the lattice's point group, so the
tensor the source computed is one of the images ρ(h)·T of the back-rotated T (`gmtnet.orientation`):

- `candidates` = the distinct images ρ(h)·T over the proper rotations h of the lattice's point
  group (spglib on the lattice alone, symprec {p["symprec_angstrom"]:g} Å) that obey the crystal's point
  group to {p["residual_threshold"]:g} (the DFT tensor does), merged below {p["candidate_merge_tol"]:g} relative difference.
  The set is an orbit, so it does not depend on which candidate the back-rotation gave: two
  settings of one crystal whose labels differ by a lost operation get the same set.
- `orientation`: `unique` (one candidate), `ambiguous` (several), `unresolved` (no image obeys
  the point group; these rows are also flagged `asymmetric`), `structure` (the source gave the
  label in the structure's own frame: dielectric, matminer elastic).

The source's own convention, recovered where it can be: the matminer elastic file carries the
POSCAR-frame and the IEEE-frame tensor of {_n(el["rows"])} crystals, which fixes the rotation the source
used. Back-rotating its IEEE tensor with today's pymatgen R reproduces the POSCAR-frame tensor
(to 2 %) for {_n(el["pymatgen_reproduces"])} rows. pymatgen's tetragonal rule compares unsorted lengths, so for c < a
it puts the 4-fold axis along x1; the source put it along x3 (as IEEE 176 asks). With that one
correction (`gmtnet.orientation.source_ieee_rotation`, {_n(el["rotation_corrected"])} elastic rows) R reproduces
{_n(el["corrected_reproduces"])} rows (the rest: monoclinic and flagged rows); the POSCAR-frame tensor is one of the candidates for {_n(el["in_candidates"])} rows
({_n(el["not_in_candidates_flagged"])} others break their own point group, i.e. are flagged; {_n(el["not_in_candidates_consistent"])} obey it but are
not a candidate: monoclinic cells, whose IEEE cell choice is not a lattice symmetry). The same
correction resolves {_n(ds["piezoelectric"]["orientation"]["ieee_rotation_corrected"]["usable"])} piezoelectric rows (every tetragonal piezo row with c < a broke
its point group with pymatgen's R and obeys it with the corrected one). The convention does not
carry over to the legacy elastic query, made later with pymatgen's rule: {_n(qa_legacy["corrected_would_break"])} of its
{_n(qa_legacy["tetragonal_c_below_a"])} tetragonal rows with c < a obey their point group with pymatgen's R and would break
it with the corrected one, so those rows keep pymatgen's R. The elastic tensor cannot tell a polar
axis from its reverse (it is centrosymmetric), so the sign ambiguities of e stay.

Checks:

- The issue's instability test (rounding the stored lattice and recomputing R):
{ro_lines}
- The {_n(ov["rows"])} legacy elastic rows whose id is also a matminer elastic row: the two IEEE tensors agree to
  1 GPa for {_n(ov["ieee_tensor_within_1_GPa"])}; {_n(ov["same_cell"])} share the matminer cell exactly, and for
  {_n(ov["same_cell_in_candidates"])} of them the matminer POSCAR-frame tensor is one of the legacy row's candidates
  ({_n(ov["same_cell_unique"])} unique, {_n(ov["same_cell_unique_correct"])} of those equal to it).

{table}

Usable IEEE-frame rows per point group (class: centrosymmetric / polar / other):

{by_pg}

Training (`gmtnet.train`) and the metrics (`gmtnet.metrics`, `python -m gmtnet evaluate`) take,
per row, the candidate closest to the prediction; the metrics are also reported strictly, on the
rows whose label has one candidate."""


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
            *(f"{d}: same as MP (of {_n(sa['rows_with_mp_spacegroup'].get(d, sa['rows'][d]))})" for d in groups),
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
    qc_residual = "-" if x["residual_qc"] is None else f"{x['residual_qc']:.4g}"
    return (
        f"- {dataset} `{x['material_id']}` ({x['formula']}): {ours} here, {theirs} in QC; space group "
        f"{x['spacegroup_ours']} here / {x['spacegroup_qc'] or '-'} QC / {x['spacegroup_mp'] or '-'} MP label; residual "
        f"{x['residual_ours']:.4g} here / {qc_residual} QC. Cause: {x['reason']}."
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
    corrected_note = "the IEEE rotation was corrected"
    lines = [_disagreement_line(d, x) for d, q in qa.items() for x in q["disagreements"] if not x["reason"].startswith(corrected_note)]
    for d, q in qa.items():
        ids = [x["material_id"] for x in q["disagreements"] if x["reason"].startswith(corrected_note)]
        if ids:
            lines.append(
                f"- {d}: {len(ids)} rows consistent here, inconsistent in QC, because the IEEE rotation was "
                f"corrected (tetragonal, c < a; the QC used pymatgen's): {', '.join(f'`{i}`' for i in ids)}."
            )
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
- Legacy elastic rows: taken from the GitHub repository trachote/predict_elastic_tensor (MIT
  licence for the repository); the data are Materials Project data (CC BY 4.0, as above).
- DFPT rows (`dielectric_dfpt.parquet`): taken from the GitHub repository shiangfang/e3nn-models,
  MIT licence, "Copyright (c) 2024 Massachusetts Institute of Technology" (the licence text is
  kept beside the raw file in `shared/data/raw/petretto_phonon_becs_eps/LICENSE`). The Petretto et
  al. database itself was published in Sci. Data under CC BY 4.0; cite it.
- The CC BY 4.0 terms are general knowledge about Materials Project data, not stated in the
  package; verify before redistributing. Whoever redistributes the derived files here (cleaned
  tensors, flags, splits) must keep that attribution: credit the Materials Project and the papers
  below.

## How to cite

Please cite the paper of each dataset you use and the Materials Project (BibTeX in `CITATION.bib`):

- Dielectric: I. Petousis et al., "High-throughput screening of inorganic compounds for the
  discovery of novel dielectric and optical materials", Sci. Data 4, 160134 (2017).
- Elastic (both files): M. de Jong et al., "Charting the complete elastic properties of inorganic
  crystalline compounds", Sci. Data 2, 150009 (2015); for the legacy rows also the Materials
  Project (below) and the repository they were taken from (`trachote2021predict` in CITATION.bib).
- Piezoelectric: M. de Jong, W. Chen, H. Geerlings, M. Asta, K. A. Persson, "A database to enable
  discovery and design of piezoelectric materials", Sci. Data 2, 150053 (2015).
- A. Jain et al., "Commentary: The Materials Project: A materials genome approach to
  accelerating materials innovation", APL Materials 1, 011002 (2013).
- matminer: L. Ward et al., Comput. Mater. Sci. 152, 60-69 (2018).
- DFPT ε∞ and Born charges (`dielectric_dfpt.parquet`): G. Petretto et al., "High-throughput
  density-functional perturbation theory phonons for inorganic materials", Sci. Data 5, 180065
  (2018) (attribution inferred, see above), and the repository it was taken from
  (`fang2024e3nnmodels` in CITATION.bib)."""


def _card_rebuild(report: dict) -> str:
    return f"""## Rebuild

From the repository root, with the raw data in `../shared/data/` (a few minutes):

```
{report["rebuild"]}
```

The build is deterministic: the same inputs and library versions give the same files
(`build_report.json` records the sha256 of every input and output)."""


def _card_dfpt(report: dict) -> str:
    d = report["dielectric_dfpt"]
    qc, m, off = d["qc"], d["matching"], d["functional_offset"]
    r, e = off["mean_eigenvalue_ratio"], off["eigenvalue_ratio"]
    near = ", ".join(f"{x['formula']} ({x['eps_max_eigenvalue']:g})" for x in d["near_metallic_rows"])
    outliers = _md_table(
        ["DFPT row", "MP id", "formula", "mean ε∞ DFPT", "mean ε∞ MP", "ratio"],
        [[f"`{o['dfpt_id']}`", f"`{o['material_id']}`", o["formula"], o["eps_mean_dfpt"], o["eps_mean_mp"], o["ratio"]]
         for o in off["outliers"]],
    )
    return f"""## DFPT ε∞ and Born charges (`{DFPT_DATASET}.parquet`)

**Source.** `{d["source"]["file"]}` (sha256 `{d["source"]["sha256"]}`, {_n(d["source"]["bytes"])} bytes):
the file `data/phonon_becs_epsilon.xyz` of the public GitHub repository `shiangfang/e3nn-models`
(MIT licence, copyright 2024 Massachusetts Institute of Technology), extended XYZ, one frame per
crystal. It names no paper and carries no material ids; its size and content (1,520 of the 1,521
semiconductors, ABINIT, PBEsol, norm-conserving pseudopotentials) match the high-throughput DFPT
phonon database of Petretto et al., Sci. Data 5, 180065 (2018). **That attribution is an
inference, not stated in the file**: cite both. Rows are named `dfpt-NNNN` after their frame index.

**Labels and frames.** `tensor_electronic` is the clamped-ion ε∞ (dimensionless); `born_charges`
the per-atom Z* (units of e), both in the Cartesian frame of the stored lattice (the frame's
`Lattice`, unchanged): cubic cells come out isotropic, hexagonal ones uniaxial along c. These ε∞
are PBEsol values, not PBE: see the offset below before mixing them with the Materials Project ones.

**Index convention of Z*.** Stored as Z*_κ,αβ = Ω ∂P_α/∂u_κβ = ∂F_κβ/∂E_α: the first index is the
electric-field / polarization direction, the second the atomic displacement: the definition of
Gonze & Lee, Phys. Rev. B 55, 10355 (1997), which ABINIT's DFPT implements (the file does not state
its convention; PROVENANCE.md says the same). The data cannot decide the convention: site symmetry, the mapping between equivalent atoms and the
acoustic sum rule are all unchanged by transposing every Z*, and the build confirms it (the
site-symmetry residual changes under transposition for {qc["born_transpose_changes_site_residual"]} of {_n(qc["frames"])} crystals).
The choice matters for {_n(qc["transpose_sensitive_atoms_crystals"])} crystals, those with an atom whose Z* has an
antisymmetric part above 1 % of its norm; users of those must keep the convention above.

**QC.** ε∞ symmetric to {qc["eps_asymmetry_max"]:.1g}; ε∞ obeys each structure's point group
(spglib at {report["parameters"]["symprec_angstrom"]:g} Å, residual ≤ {report["parameters"]["residual_threshold"]:g}) in every row
but those flagged `asymmetric_electronic`; the Born charges obey every space-group operation,
Z_g(κ) = R Z_κ Rᵀ, to a relative {qc["born_site_residual_max"]:.1g} at worst, and the acoustic sum rule
to {qc["born_asr_max_e"]:.1g} e (it was imposed). Flags: {", ".join(f"{k} {v}" for k, v in d["flags"].items())};
`near_metallic` = largest ε∞ eigenvalue above {d["near_metallic_eps"]:g} (the gap has nearly
closed): {near}. {_n(d["usable"])} usable rows, {_n(d["anisotropic_usable"])} of them strongly anisotropic (largest/smallest
ε∞ eigenvalue > 2).

**Overlap with the Materials Project sets.** pymatgen `StructureMatcher` ({", ".join(f"{k}={v}" for k, v in m["settings"].items())};
volumes scaled, as PBEsol cells are ~1-2 % smaller), compared only within the same reduced formula
({_n(m["comparisons"])} comparisons): {_n(m["matched_dielectric"])} DFPT crystals match a cell of the dielectric set
({m["dielectric_ids_matched_twice"]} dielectric cells are matched by two DFPT frames, polymorph duplicates in the
source), {_n(m["matched_any"])} match a cell of any bundled set. A matched crystal takes the split and folds of that
material, and "test" if any matched material is in test ({d["matched_test"]} rows), so a test crystal never
trains; the unmatched ones get a seeded split of their own (seed {report["parameters"].get("dfpt_split_seed", DFPT_SPLIT_SEED)}).
Splits (all rows): {", ".join(f"{k} {_n(v)}" for k, v in d["splits"].items())}.

**PBEsol/ABINIT vs PBE/VASP ε∞** on the {off["pairs"]} matched pairs where neither row is flagged,
compared on frame-invariant quantities (the two cells need not share a frame): ratio of the mean
eigenvalues, median **{r["median"]:.3f}**, interquartile range {r["q1"]:.3f}-{r["q3"]:.3f}, 5-95 % {r["p05"]:.3f}-{r["p95"]:.3f};
{100 * off["within_5_percent"]:.0f} % of the pairs agree within 5 %. Per sorted eigenvalue: median {e["median"]:.3f}
(IQR {e["q1"]:.3f}-{e["q3"]:.3f}): PBEsol gives a slightly larger ε∞, as its smaller lattice constants
and gaps would suggest. Outliers ({off["outlier_rule"]}); the low ratios are
small-gap pnictides and nitrides, the high ones mostly heavy-alkali (Rb, Cs) compounds; their
causes (gap differences, pseudopotentials, a polymorph matched to a near cell) were not examined:

{outliers}"""


def _card_grouped_folds(report: dict) -> str:
    g = report["grouped_folds"]
    folds = [str(TEST_FOLD), *map(str, range(N_FOLDS))]
    table = _md_table(
        ["dataset (usable rows)", "test", *(f"fold {f}" for f in range(N_FOLDS))],
        [[d, *(_n(c.get(f, c.get(int(f), 0))) for f in folds)] for d, c in g["usable_rows"].items()],
    )
    return f"""## Grouped cross-validation folds (`group_fold`)

Besides the random folds (`fold`), every non-test material gets a grouped fold: all materials
of one chemical system (set of elements, {_n(g["groups"])} systems over the four files) are in the same fold,
the same fold in every file (`gmtnet.data.assign_group_folds`, seed {GROUP_FOLD_SEED}: systems
permuted, then largest first into the emptiest fold). Test rows keep the fixed test split (fold
{TEST_FOLD}), so the test numbers stay comparable with earlier models.

Why chemical systems and not structure prototypes: random folds put polymorphs and near-duplicates
of one compound (three MgO cells, a DFPT crystal and its Materials Project twin) on both sides of
a fold, and a model is then graded on crystals it has nearly seen. Grouping by element set removes
exactly that leak, is deterministic and needs no tolerance. A prototype grouping (StructureMatcher
without species) would instead keep e.g. all rocksalts together, which tests transfer to new
*structure types* rather than new *chemistry*; the issue's failure (unfamiliar, anisotropic
chemistry) is the second kind. Prototype leakage (NaCl in training, KCl held out) remains and is
a limit of this choice.

{table}"""


def render_card(report: dict) -> str:
    """DATA_CARD.md from the build report (every number in the card comes from it)."""
    sections = (
        _card_intro(report),
        _card_provenance(report),
        _card_processing(report),
        _card_orientation(report),
        _card_piezo_physics(report),
        _card_counts(report),
        _card_columns(),
        _card_dfpt(report),
        _card_grouped_folds(report),
        _card_symprec(report),
        _card_qc(report),
        _CARD_LICENCE_AND_CITATION,
        _card_rebuild(report),
    )
    return "\n\n".join(sections) + "\n"


# --------------------------------------------------------------------------- main


def _card_piezo_physics(report: dict) -> str:
    """The physics-oriented piezo labels (``scripts/orient_piezo.py`` records them in the report)."""
    o = report.get("piezo_physics_orientation")
    if o is None:
        return "## Piezoelectric signs from physics\n\nNot built (`scripts/orient_piezo.py` has not run on this build)."
    v = o["validation"]
    u, pub, off = v["unique_rows"], v["references"]["published"], v["references"]["offcentring"]
    by_pg = ", ".join(f"{pg} {d['agree']}/{d['n']} (median cosine {d['median_cos_label']:+.2f} as given, "
                      f"{d['median_cos_best_other_candidate']:+.2f} for the best other candidate)" for pg, d in u["by_point_group"].items())
    return f"""## Piezoelectric signs from physics

`piezoelectric_orientation.parquet` (`gmtnet.data.load_piezo_orientation`, built by `scripts/orient_piezo.py`;
`gmtnet.data.orient_labels(frame, "physics")` applies it) gives the {_n(o["rows"])} usable IEEE-frame piezo rows a
sign tied to the structure where physics can tell:

- **Why the lattice analysis is not enough.** Against an independent physics estimate, the ionic piezo tensor
  e_ion = (e/Ω) Σ Z*·Γ (`gmtnet.ionic`: SevenNet-0 force constants and internal strain on the bundled cell, DFT
  Born charges where the crystal is in the DFPT set, else formal charges), the sign of the largest component of the
  {_n(u["n"])} `unique` rows agrees for only {100 * u["sign_agreement_largest_component"]:.0f} %. By point group: {by_pg}. All 32 rows are
  R32: the IEEE rule puts x1 along a hexagonal a, and in a rhombohedral lattice a and −a are not related by a
  lattice operation, so the setting (obverse/reverse) the 2015 source used is open; class 2 labels match the
  inverted estimate. So the sign of every IEEE-frame row is treated as open: `candidates` here are the images of the
  label under the lattice's full point group (improper operations too) and, for a rhombohedral lattice, the 2-fold
  rotation about its 3-fold axis, that obey the crystal's point group (`gmtnet.orientation.sign_candidates`).
- **The rule.** Keep the candidates whose cosine with e_ion is within {o["margin"]} of the best, when ‖e_ion‖ ≥
  {o["min_norm_C_m2"]} C/m² and the force constants have no unstable mode (else keep all). {_n(o["decided"])} rows are decided
  ({_n(o["decided_label_as_given"])} the label as given, {_n(o["decided_other_candidate"])} another candidate), {_n(o["narrowed"])} narrowed;
  {_n(o["rows"] - o["with_estimate"])} rows have no estimate (larger cells than the physics run covered), {_n(o["undecided_unstable"])} an unstable mode.
- **Checked against signs known independently.** Published: wurtzite AlN, GaN, ZnO with +c from cation to anion
  along the c-parallel bond have e33 > 0, e31 < 0 (Bernardini, Fiorentini & Vanderbilt, PRB 56, R10024 (1997)): the
  rule decides {pub["decided"]} of {pub["n"]}, right {pub["rule_right_when_decided"]}; the labels as given are right for {pub["label_as_given_right"]}.
  Polar ABO3 oxides, the longitudinal e positive along the B cation's shift from its O6 centroid: the rule decides
  the sign of {off["decided"]} of {off["n"]}, right {off["rule_right_when_decided"]}; the labels as given are right for {off["label_as_given_right"]}.
  Row by row: `benchmarks/results/PIEZO_ORIENTATION.md`.
- **Limits.** The clamped-ion part of e is not estimated; where it opposes the ionic part and dominates, the rule is
  wrong. The unique-row agreement target of issue 17 (≥ 80 %) is not met as posed, for the reason above.
- The raw estimates are cached in `benchmarks/results/ionic-physics-rows.jsonl` (`benchmarks/ionic_physics.py run`,
  about an hour on 2 cores); rebuilding the file: `{o["command"]}`."""


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

    all_records: dict[str, list[dict]] = {}
    all_diags: dict[str, list[dict]] = {}
    qcs, raws = {}, {}
    for source in SOURCES:
        raw, qc = read_source(source, raw_dir, qc_dir)
        if source.name == TRACHOTE:
            # Ids already in the matminer elastic set keep that set's POSCAR-frame label; the
            # legacy copies serve as a check of the back-rotation (check_trachote_overlap).
            known = set(raws["matminer_elastic_tensor_2015"]["material_id"])
            raws["trachote_overlap"] = raw[raw["material_id"].isin(known)]
            raw = raw[~raw["material_id"].isin(known)].reset_index(drop=True)
        raw = raw.head(args.limit) if args.limit else raw
        records, diags = build_dataset(source, raw, qc)
        all_records.setdefault(source.dataset, []).extend(records)
        all_diags.setdefault(source.dataset, []).extend(diags)
        qcs[source.name], raws[source.name] = qc, raw

    # The original ids keep the split they always had; ids new with the legacy elastic rows get
    # their own seeded assignment with the same fractions (an old test material stays in test).
    original_ids = {r["material_id"] for recs in all_records.values() for r in recs if r["source"] in ORIGINAL_SOURCES}
    new_ids = {r["material_id"] for recs in all_records.values() for r in recs} - original_ids
    split_of = assign_splits(original_ids) | assign_splits(new_ids, seed=NEW_IDS_SPLIT_SEED)
    fold_of = assign_folds(split_of)

    dfpt_records, dfpt_qc = dfpt.build_rows(raw_dir, RESIDUAL_THRESHOLD)
    dfpt_records = dfpt_records[: args.limit] if args.limit else dfpt_records
    dfpt_match = dfpt.match_bundled(dfpt_records, all_records)
    dfpt_split, dfpt_fold = dfpt_splits(dfpt_records, split_of, fold_of)
    group_of = {r["material_id"]: chemical_system(r["species"]) for recs in all_records.values() for r in recs}
    group_of |= {r["material_id"]: chemical_system(r["species"]) for r in dfpt_records}
    group_fold_of = assign_group_folds(split_of | dfpt_split, group_of)
    for records in (*all_records.values(), dfpt_records):
        for r in records:
            m = r["material_id"]
            r["split"] = split_of[m] if m in split_of else dfpt_split[m]
            r["fold"] = fold_of[m] if m in fold_of else dfpt_fold[m]
            r["group_fold"] = group_fold_of[m]

    build_meta = {
        "symprec_angstrom": DEFAULT_SYMPREC,
        "angle_tolerance_degrees": DEFAULT_ANGLE_TOLERANCE,
        "residual_threshold": RESIDUAL_THRESHOLD,
        "large_eps_limit": LARGE_EPS_LIMIT,
        "split_seed": SPLIT_SEED,
        "new_ids_split_seed": NEW_IDS_SPLIT_SEED,
        "fold_seed": FOLD_SEED,
        "n_folds": N_FOLDS,
        "group_fold_seed": GROUP_FOLD_SEED,
        "dfpt_split_seed": DFPT_SPLIT_SEED,
    }
    for dataset, records in (*all_records.items(), (DFPT_DATASET, dfpt_records)):
        write_parquet(dataset, records, out_dir / f"{dataset}.parquet", build_meta)

    checks = {
        "new_ids": new_ids,
        "orientation": {
            "matminer_elastic_ieee_vs_original": check_elastic_convention(raws["matminer_elastic_tensor_2015"]),
            "legacy_tetragonal_convention": check_legacy_tetragonal(raws[TRACHOTE], qcs[TRACHOTE]),
            "legacy_elastic_overlap_with_matminer": check_trachote_overlap(
                raws["trachote_overlap"], qcs[TRACHOTE], raws["matminer_elastic_tensor_2015"]
            ),
            "roundoff": {d: check_roundoff(all_records[d]) for d in ("piezoelectric", "elastic")},
        },
    }
    report = build_report(raw_dir, qc_dir, out_dir, all_records, all_diags, qcs, split_of, fold_of, checks)
    report["dielectric_dfpt"] = dfpt_report(
        raw_dir, out_dir, dfpt_records, dfpt_qc, dfpt_match, all_records["dielectric"]
    )
    report["grouped_folds"] = grouped_fold_report(all_records | {DFPT_DATASET: dfpt_records}, group_of)
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
