"""One searchable table of every bundled reference crystal, across the three datasets.

A material (Materials Project id) can appear in the dielectric, piezoelectric and elastic sets;
:func:`build_catalog` gives it one row that says which DFT tensors exist for it, and
:func:`search` filters that table. Both are pure (no Streamlit); the app caches the table.

Importing this module does not import torch.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from pymatgen.core import Composition, Element, Lattice, Structure

from gmtnet.data import CRYSTAL_SYSTEMS, dataset_file
from gmtnet.kinds import DATASETS, KINDS, get_kind

__all__ = [
    "CATALOG_COLUMNS",
    "ELEMENTS_MODES",
    "build_catalog",
    "search",
    "reference_structure",
    "reference_tensor",
    "reference_in_shown_frame",
    "source_properties",
]

#: Columns of :func:`build_catalog`'s table (``has_<kind>`` is one bool column per kind).
CATALOG_COLUMNS: tuple[str, ...] = (
    "material_id",
    "formula",
    "elements",
    "nsites",
    "spacegroup_number",
    "spacegroup_symbol",
    "point_group",
    "crystal_system",
    *(f"has_{k.name}" for k in KINDS.values() if k.dataset in DATASETS),
    "datasets",
    "split",
    "flags",
)

#: ``"contains"``: the crystal has at least the given elements; ``"only"``: it has no others.
ELEMENTS_MODES: tuple[str, ...] = ("contains", "only")


def build_catalog() -> pd.DataFrame:
    """One row per bundled material across the dielectric, piezoelectric and elastic sets.

    Reads only the scalar columns of the bundled Parquet files (no structures are built), so it
    takes a few tens of milliseconds.

    Returns:
        DataFrame with :data:`CATALOG_COLUMNS`: ``elements`` is a sorted tuple of symbols,
        ``has_<kind>`` is True when the bundled data holds a DFT tensor of that kind for the material
        (flagged or not), ``datasets`` a tuple of dataset names, ``flags`` a tuple of
        ``"dataset:flag"`` strings (see :data:`gmtnet.data.FLAGS`). Symmetry columns come from the
        first dataset holding the material (dielectric, piezoelectric, elastic).
    """
    columns = ["material_id", "formula", "nsites", "species", "split", "spacegroup_number",
               "spacegroup_symbol", "point_group", "crystal_system", "flags"]
    rows: dict[str, dict] = {}
    for dataset in DATASETS:
        with dataset_file(dataset).open("rb") as fh:
            records = pq.read_table(fh, columns=columns).to_pylist()
        for rec in records:
            mid = rec["material_id"]
            row = rows.get(mid)
            if row is None:
                row = rows[mid] = {
                    "material_id": mid,
                    "formula": rec["formula"],
                    "elements": tuple(sorted(set(rec["species"]))),
                    "nsites": int(rec["nsites"]),
                    "spacegroup_number": int(rec["spacegroup_number"]),
                    "spacegroup_symbol": rec["spacegroup_symbol"],
                    "point_group": rec["point_group"],
                    "crystal_system": rec["crystal_system"],
                    **{f"has_{k}": False for k in KINDS},
                    "datasets": (),
                    "split": rec["split"],
                    "flags": (),
                }
            row["datasets"] = (*row["datasets"], dataset)
            row["flags"] = (*row["flags"], *(f"{dataset}:{f}" for f in rec["flags"]))
            for k in KINDS.values():
                if k.dataset == dataset:
                    row[f"has_{k.name}"] = True
    table = pd.DataFrame(list(rows.values()), columns=list(CATALOG_COLUMNS))
    return table.sort_values("material_id", key=_id_sort_key).reset_index(drop=True)


def _id_sort_key(ids: pd.Series) -> pd.Series:
    # mp-149 before mp-1000: sort by the numeric part where there is one.
    return ids.map(lambda s: (int(m.group()) if (m := re.search(r"\d+", s)) else 0))


def parse_elements(elements: str | Iterable[str]) -> set[str]:
    """Element symbols from ``"Ga, n O"`` (comma, semicolon or space separated, any case) or an
    iterable of symbols, capitalised as pymatgen spells them.

    Raises:
        ValueError: an item that is not an element symbol (naming it).
    """
    items = re.split(r"[\s,;]+", elements.strip()) if isinstance(elements, str) else list(elements)
    out = set()
    for item in items:
        if not item:
            continue
        sym = item.strip().capitalize()
        if not Element.is_valid_symbol(sym):
            raise ValueError(f"unknown element symbol {item!r}")
        out.add(sym)
    return out


def search(
    table: pd.DataFrame,
    formula: str | None = None,
    elements: str | Iterable[str] | None = None,
    elements_mode: str = "contains",
    material_id: str | None = None,
    spacegroup: int | str | None = None,
    crystal_system: str | None = None,
    has: Sequence[str] = (),
) -> pd.DataFrame:
    """Filter a :func:`build_catalog` table; every criterion given must hold (logical AND).

    Args:
        table: the catalogue.
        formula: matched as a reduced formula (``"ZnO"`` finds ``OZn`` written either way);
            a text that is not a valid formula is matched as a case-insensitive substring.
        elements: symbols (list or ``"Zn, O"`` / ``"Zn O"``).
        elements_mode: ``"contains"`` (at least these) or ``"only"`` (no others; a subset).
        material_id: exact id (``"mp-2133"``) or, if no row matches exactly, a substring.
        spacegroup: international number (``186``) or Hermann-Mauguin symbol (``"P6_3mc"``).
        crystal_system: one of :data:`gmtnet.data.CRYSTAL_SYSTEMS`.
        has: kind names whose DFT reference must exist (e.g. ``("elastic", "piezoelectric")``).

    Returns:
        The matching rows (a copy, original order and index).

    Raises:
        ValueError: naming a bad element symbol, mode, space group, crystal system or kind.
    """
    mask = pd.Series(True, index=table.index)
    if formula and formula.strip():
        text = formula.strip()
        try:
            reduced = Composition(text).reduced_formula
        except Exception:  # pymatgen raises several types for non-formulas
            reduced = None
        if reduced is not None:
            mask &= table["formula"].map(lambda f: _reduced(f) == reduced)
        else:
            mask &= table["formula"].str.contains(re.escape(text), case=False)
    if elements is not None and (not isinstance(elements, str) or elements.strip()):
        if elements_mode not in ELEMENTS_MODES:
            raise ValueError(f"elements_mode must be one of {ELEMENTS_MODES}, got {elements_mode!r}")
        want = parse_elements(elements)
        if want:
            if elements_mode == "contains":
                mask &= table["elements"].map(lambda e: want.issubset(e))
            else:
                mask &= table["elements"].map(lambda e: set(e).issubset(want))
    if material_id and material_id.strip():
        mid = material_id.strip().lower()
        exact = table["material_id"].str.lower() == mid
        mask &= exact if exact.any() else table["material_id"].str.lower().str.contains(re.escape(mid))
    if spacegroup is not None and str(spacegroup).strip():
        sg = str(spacegroup).strip()
        if sg.isdigit():
            number = int(sg)
            if not 1 <= number <= 230:
                raise ValueError(f"space-group number must be in 1..230, got {spacegroup!r}")
            mask &= table["spacegroup_number"] == number
        else:
            mask &= table["spacegroup_symbol"].str.replace(" ", "").str.lower() == sg.replace(" ", "").lower()
    if crystal_system:
        if crystal_system not in CRYSTAL_SYSTEMS:
            raise ValueError(f"crystal_system must be one of {CRYSTAL_SYSTEMS}, got {crystal_system!r}")
        mask &= table["crystal_system"] == crystal_system
    for kind in has:
        mask &= table[f"has_{get_kind(kind).name}"]
    return table[mask].copy()


def _reduced(formula: str) -> str:
    try:
        return Composition(formula).reduced_formula
    except Exception:
        return formula


@lru_cache(maxsize=None)
def _dataset_table(dataset: str):
    """A bundled Parquet file as a pyarrow table and ``{material_id: row}``, read once."""
    with dataset_file(dataset).open("rb") as fh:
        table = pq.read_table(fh)
    return table, {mid: i for i, mid in enumerate(table.column("material_id").to_pylist())}


def _read_row(dataset: str, material_id: str, columns: list[str]) -> dict | None:
    """One material's row of a bundled Parquet file (only ``columns``), or None."""
    table, index = _dataset_table(dataset)
    i = index.get(material_id)
    if i is None:
        return None
    return table.select(["material_id", *columns]).slice(i, 1).to_pylist()[0]


def _structure(row: dict) -> Structure:
    coords = np.asarray(row["frac_coords"], dtype=float).reshape(-1, 3)
    return Structure(Lattice(np.asarray(row["lattice"], dtype=float).reshape(3, 3)), row["species"], coords)


def reference_structure(material_id: str) -> Structure:
    """The bundled structure (Å, the DFT cell) of a material, from the first dataset holding it.

    The same structure as the ``structure`` column of :func:`gmtnet.data.load_dataset`.

    Raises:
        ValueError: if no bundled dataset holds ``material_id``.
    """
    for dataset in DATASETS:
        row = _read_row(dataset, material_id, ["lattice", "species", "frac_coords"])
        if row is not None:
            return _structure(row)
    raise ValueError(f"no bundled crystal has material id {material_id!r}")


def reference_tensor(material_id: str, kind: str) -> dict | None:
    """The DFT tensor of ``kind`` for a bundled material, or None when there is none.

    Returns:
        ``{"tensor": (3,)*rank float64 array in the Cartesian frame of the bundled structure, in the
        kind's units, "structure": that Structure, "symmetry_residual": float (relative),
        "flags": tuple, "split": str}``. The frame is the bundled structure's: compare the tensor
        with a prediction made on that same structure.
    """
    k = get_kind(kind)
    if k.dataset not in DATASETS:  # a registered kind without bundled DFT labels
        return None
    residual_col = "symmetry_residual_electronic" if k.column == "tensor_electronic" else "symmetry_residual"
    row = _read_row(
        k.dataset, material_id, ["lattice", "species", "frac_coords", k.column, residual_col, "flags", "split"]
    )
    if row is None:
        return None
    tensor = np.asarray(row[k.column], dtype=float).reshape(k.shape)
    note = None
    if k.dataset == "piezoelectric":
        tensor, note = piezo_sign(material_id, tensor)
    tensor.setflags(write=False)
    return {
        "tensor": tensor,
        "structure": _structure(row),
        "symmetry_residual": float(row[residual_col]),
        "flags": tuple(row["flags"]),
        "split": row["split"],
        "sign_note": note,
    }


def piezo_sign(material_id: str, label: np.ndarray) -> tuple[np.ndarray, str | None]:
    """The piezo reference with its sign tied to the structure where physics decides it.

    The source's IEEE-frame label leaves the sign (and for some lattices a rotation) open
    (:func:`gmtnet.data.orient_labels`, data card "Piezoelectric signs from physics"). Returns the
    physics-chosen tensor (C/m², structure frame) and a sentence saying what was done, or the
    label unchanged and a sentence saying its sign is open; ``(label, None)`` for rows outside the
    orientation file (labels given in the structure frame, or flagged).
    """
    table = _piezo_orientation_index()
    if material_id not in table.index:
        return label, None
    row = table.loc[material_id]
    if row["choice"] == 0:
        return label, "Sign confirmed by physics (Born charges × SevenNet-0 internal strain; see the data card)."
    if row["choice"] > 0:
        chosen = np.array(row["candidates"][int(row["choice"])])
        how = "its sign flipped" if np.allclose(chosen, -label, atol=1e-9) else "rotated by a lattice operation"
        return chosen, (f"Sign set by physics (Born charges × SevenNet-0 internal strain): the source's IEEE-frame label "
                        f"leaves it open and is shown here {how} to point the way the ionic estimate does.")
    return label, ("Sign open: the source's IEEE-frame label does not fix the sign of e relative to this structure and "
                   "the physics estimate could not decide, so a prediction may differ from it by a sign flip.")


@lru_cache(maxsize=1)
def _piezo_orientation_index():
    from gmtnet.data import load_piezo_orientation

    return load_piezo_orientation().set_index("material_id")


@lru_cache(maxsize=512)
def reference_in_shown_frame(material_id: str, kind: str) -> dict | None:
    """The DFT tensor of ``kind`` brought into the frame of the structure the app shows.

    Each dataset row stores the cell its tensor was computed on; for one material these cells can
    differ (e.g. SiC mp-8062: the elastic tensor of the 8-site cubic cell, the dielectric one of
    the 2-site primitive cell, whose axes are rotated against the cubic ones). The shown structure
    is :func:`reference_structure` (the first dataset's cell); the tensor is rotated from its own
    cell's frame into that one by the exact cell mapping :func:`gmtnet.tensors.cell_rotation`.

    Returns:
        None when there is no reference, else ``{"tensor": (3,)*rank array in the shown
        structure's Cartesian frame (kind's units) or None when the cells could not be mapped,
        "structure": the shown Structure, "source_tensor"/"source_structure": the row's own tensor
        and cell, "rotation": R (3x3, source frame → shown frame) or None, "mapping": a sentence
        saying how the frames relate, "mapping_error": None or why no mapping was found,
        "rounding_step": the step the source rounded its stored values to
        (:func:`gmtnet.rounding.rounding_step` of the stored Voigt matrix, kind's units: 1.0 for
        the legacy elastic rows in whole GPa) or None, "symmetry_residual", "flags", "split"}``
        (read-only arrays; cached).
    """
    from gmtnet.rounding import rounding_step
    from gmtnet.tensors import cell_rotation, rotate, to_voigt

    ref = reference_tensor(material_id, kind)
    if ref is None:
        return None
    shown = reference_structure(material_id)
    own = ref["structure"]
    out = {**ref, "source_tensor": ref["tensor"], "source_structure": own, "structure": shown,
           "rotation": None, "mapping_error": None, "rounding_step": rounding_step(to_voigt(ref["tensor"], kind, "ieee"))}
    try:
        rot = cell_rotation(own, shown)
    except ValueError as err:
        out.update(tensor=None, mapping=f"computed on its own {len(own)}-site cell, which could not be "
                   f"mapped onto the shown one: {err}", mapping_error=str(err))
        return out
    same = np.array_equal(rot, np.eye(3))
    tensor = ref["tensor"] if same else rotate(ref["tensor"], rot)
    tensor.setflags(write=False)
    rot.setflags(write=False)
    out.update(tensor=tensor, rotation=rot, mapping=(
        "computed on this same cell" if same else
        f"computed on its own {len(own)}-site cell and rotated into this cell's frame by the exact "
        "cell mapping (pymatgen StructureMatcher)"))
    return out


def source_properties(material_id: str) -> dict[str, float]:
    """Scalars the source data hold for a material beside its tensors, where present:
    ``{"band gap (eV)": ..., "refractive index n (source)": ...}`` (Materials Project, PBE;
    n = √(mean ε∞ eigenvalue)). Empty when the material has no dielectric row."""
    row = _read_row("dielectric", material_id, ["band_gap", "n"])
    if row is None:
        return {}
    out = {}
    if row.get("band_gap") is not None and np.isfinite(row["band_gap"]):
        out["band gap (eV)"] = round(float(row["band_gap"]), 3)
    if row.get("n") is not None and np.isfinite(row["n"]):
        out["refractive index n (source)"] = round(float(row["n"]), 3)
    return out
