"""Reading a user's own labelled tensors for training (``python -m gmtnet train --data FILE``).

Three layouts, one crystal per frame / line / row:

* **extended XYZ** (``.xyz``, ``.extxyz``; read with ASE): the cell from ``Lattice``, the tensor
  as a per-frame key (``info``) named by ``tensor_key`` (default ``"tensor"``);
* **JSON lines** (``.jsonl``, ``.ndjson``): one object per line with a ``structure`` (a pymatgen
  ``Structure.as_dict()`` object, or a CIF / POSCAR string) and the tensor under ``tensor_key``;
* **Parquet** (``.parquet``): a ``structure`` column (CIF / POSCAR / pymatgen-JSON strings) and
  a tensor column ``tensor_key`` (a list of numbers per row).

The tensor may be given full rank (3^rank numbers, row-major) or in Voigt form (6 numbers for ε,
3x6 for e, 6x6 for C, row-major); a Voigt form needs its order stated (``"ieee"``: xx, yy,
zz, yz, xz, xy; ``"vasp"``: xx, yy, zz, xy, yz, xz). Three things must be stated, by the
caller's options or by the file (extxyz: per-frame keys ``frame``, ``unit``, ``voigt_order``;
JSON lines: the same keys per object; Parquet: schema metadata ``gmtnet.frame``,
``gmtnet.unit``, ``gmtnet.voigt_order``), or the file is refused with a ``ValueError`` saying
which:

* ``frame``: ``"structure"`` (the Cartesian frame of the given cell) or ``"ieee"`` (the IEEE-176
  frame of the cell, as the Materials Project gives piezoelectric and elastic tensors; rotated
  back with :func:`gmtnet.tensors.ieee_rotation` and, where the convention leaves it open,
  every candidate orientation kept, see :mod:`gmtnet.orientation`);
* ``unit``: the kind's unit (ε dimensionless: ``""`` or ``"1"``; e ``"C/m2"``; C ``"GPa"``;
  ``"kbar"`` is converted to GPa);
* ``voigt_order``: only when the tensor is a Voigt matrix.

Optional per-row ids (``material_id`` or ``id``) and ``split`` (``train``/``val``/``test``);
without a split column the rows are split 90/10 train/val with a seeded permutation. Structures
pass the same checks as uploads (:func:`gmtnet.io.validate_structure`). Nothing is unpickled.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from pymatgen.core import Lattice, Structure

from gmtnet.io import parse_structure, structure_from_dict, validate_structure
from gmtnet.kinds import TensorKind, get_kind
from gmtnet.orientation import frame_candidates, lattice_rotations
from gmtnet.symmetry import DEFAULT_SYMPREC, analyze_symmetry
from gmtnet.tensors import VOIGT_PAIRS, from_voigt, ieee_rotation, rotate

__all__ = ["FRAMES", "VOIGT_ORDERS", "USER_SPLIT_SEED", "read_tensor_file"]

FRAMES = ("structure", "ieee")
VOIGT_ORDERS = ("ieee", "vasp")
#: Seed of the 90/10 train/val split of files without a ``split`` column.
USER_SPLIT_SEED = 0
_UNITS = {
    "": {"": 1.0, "1": 1.0, "dimensionless": 1.0},
    "C/m²": {"C/m2": 1.0, "C/m^2": 1.0, "C/m²": 1.0},
    "GPa": {"GPa": 1.0, "kbar": 0.1},
}
_SUFFIXES = {".xyz": "extxyz", ".extxyz": "extxyz", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


def _file_format(path: Path) -> str:
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path.name}: unknown data file type {path.suffix!r}; expected one of {sorted(_SUFFIXES)}")
    return fmt


def _records(path: Path, fmt: str, tensor_key: str) -> tuple[list[dict], dict]:
    """Per row: structure, raw tensor, id, split and per-row metadata; and file-level metadata."""
    rows: list[dict] = []
    if fmt == "extxyz":
        from ase.io import read

        for i, atoms in enumerate(read(path, index=":", format="extxyz")):
            if tensor_key not in atoms.info:
                raise ValueError(f"{path.name}: frame {i} has no {tensor_key!r} key (keys: {sorted(atoms.info)})")
            if not atoms.pbc.all():
                raise ValueError(f"{path.name}: frame {i} is not periodic in 3D (pbc={atoms.pbc.tolist()})")
            s = Structure(Lattice(np.asarray(atoms.cell[:])), atoms.get_chemical_symbols(), atoms.positions,
                          coords_are_cartesian=True)
            rows.append({"structure": s, "tensor": atoms.info[tensor_key], **_meta(atoms.info)})
        return rows, {}
    if fmt == "jsonl":
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path.name}: line {i + 1} is not JSON ({err})") from None
            if "structure" not in obj or tensor_key not in obj:
                raise ValueError(f"{path.name}: line {i + 1} needs 'structure' and {tensor_key!r}")
            rows.append({"structure": _structure(obj["structure"], f"line {i + 1}"), "tensor": obj[tensor_key], **_meta(obj)})
        return rows, {}
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    for name in ("structure", tensor_key):
        if name not in table.column_names:
            raise ValueError(f"{path.name}: no {name!r} column (columns: {table.column_names})")
    meta = {k.decode().removeprefix("gmtnet."): v.decode() for k, v in (table.schema.metadata or {}).items()
            if k.startswith(b"gmtnet.")}
    for i, obj in enumerate(table.to_pylist()):
        rows.append({"structure": _structure(obj["structure"], f"row {i}"), "tensor": obj[tensor_key], **_meta(obj)})
    return rows, meta


def _meta(obj: dict) -> dict:
    out = {k: obj[k] for k in ("frame", "unit", "voigt_order", "split") if k in obj}
    mid = obj.get("material_id", obj.get("id"))
    if mid is not None:
        out["material_id"] = str(mid)
    return out


def _structure(value, where: str) -> Structure:
    if isinstance(value, dict):
        return structure_from_dict(value)
    if not isinstance(value, str):
        raise ValueError(f"{where}: structure must be a pymatgen dict or a CIF/POSCAR/JSON string, got {type(value).__name__}")
    text = value.strip()
    if text.startswith("{"):
        return parse_structure(text, "json")
    return parse_structure(text, "cif" if "_cell_length_a" in text else "poscar")


def _stated(name: str, option, rows: list[dict], file_meta: dict, allowed=None, required: bool = True):
    """The option, else the file's one value for ``name``; refuse conflicting or missing values."""
    found = {str(r[name]) for r in rows if name in r} | ({file_meta[name]} if name in file_meta else set())
    if option is not None:
        value = option
    elif len(found) == 1:
        value = found.pop()
    elif len(found) > 1:
        raise ValueError(f"the file states several values of {name!r}: {sorted(found)}; state one with the option")
    elif required:
        raise ValueError(f"the tensors' {name} is not stated: give it as an option (--{name.replace('_', '-')}) "
                         f"or in the file's metadata" + (f"; one of {list(allowed)}" if allowed else ""))
    else:
        return None
    if allowed is not None and value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
    return value


def _full_rank(raw, k: TensorKind, voigt_order: str | None, where: str) -> np.ndarray:
    t = np.asarray(raw, dtype=float).reshape(-1)
    if not np.isfinite(t).all():
        raise ValueError(f"{where}: the tensor has non-finite values")
    rows, cols = k.voigt_shape
    if k.voigt_shape == (3, 3) and k.voigt_symmetric and t.size == 6:  # a symmetric 3x3 as a Voigt vector
        if voigt_order is None:
            raise ValueError(f"{where}: a 6-component Voigt {k.symbol} needs its order stated (voigt_order: ieee or vasp)")
        out = np.zeros((3, 3))
        for value, (i, j) in zip(t, VOIGT_PAIRS[voigt_order], strict=True):
            out[i, j] = out[j, i] = value
        return out
    if t.size == 3**k.rank:
        return t.reshape(k.shape)
    if t.size == rows * cols:
        if voigt_order is None:
            raise ValueError(f"{where}: a {rows}x{cols} Voigt {k.symbol} needs its order stated (voigt_order: ieee or vasp)")
        return from_voigt(t.reshape(rows, cols), k, order=voigt_order)
    raise ValueError(f"{where}: {t.size} numbers is neither a full-rank {k.name} tensor ({3**k.rank}) "
                     f"nor a {rows}x{cols} Voigt matrix")


def read_tensor_file(
    path: str | Path,
    kind: str,
    frame: str | None = None,
    unit: str | None = None,
    voigt_order: str | None = None,
    tensor_key: str = "tensor",
    symprec: float = DEFAULT_SYMPREC,
    seed: int = USER_SPLIT_SEED,
) -> pd.DataFrame:
    """A user's tensor file as a training frame in the layout of :func:`gmtnet.data.load_dataset`.

    Returns one row per crystal with ``material_id``, ``structure``, the kind's label column
    (full rank, the kind's units, the Cartesian frame of ``structure``), ``candidates``
    ``(k, 3, ..., 3)`` (the label first; more than one only for ``frame="ieee"`` labels whose
    orientation the IEEE convention leaves open), ``split``, ``crystal_system``, ``point_group``
    and ``flags`` (empty).

    Raises:
        ValueError: unknown kind, file type or option value; a frame, unit or Voigt order not
            stated (or stated twice, differently); a tensor of the wrong size or not finite; a
            structure that fails :func:`gmtnet.io.validate_structure`.
    """
    k = get_kind(kind)
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no such data file: {path}")
    rows, file_meta = _records(path, _file_format(path), tensor_key)
    if not rows:
        raise ValueError(f"{path.name}: no crystals in the file")
    frame = _stated("frame", frame, rows, file_meta, FRAMES)
    unit = _stated("unit", unit, rows, file_meta, tuple(_UNITS[k.unit]))
    order = _stated("voigt_order", voigt_order, rows, file_meta, VOIGT_ORDERS, required=False)
    factor = _UNITS[k.unit][unit]
    out = []
    for i, r in enumerate(rows):
        where = f"{path.name}: crystal {i}"
        structure = validate_structure(r["structure"])
        t = _full_rank(r["tensor"], k, order, where) * factor
        sym = analyze_symmetry(structure, symprec=symprec)
        if frame == "ieee":
            back = rotate(t, ieee_rotation(structure).T)
            found = frame_candidates(back, sym.rotations, lattice_rotations(structure.lattice.matrix))
            candidates = found if len(found) else back[None]
            t = candidates[0]
        else:
            candidates = t[None]
        out.append({
            "material_id": r.get("material_id", f"row-{i}"),
            "structure": structure,
            k.column: t,
            "candidates": np.asarray(candidates),
            "split": r.get("split"),
            "crystal_system": sym.crystal_system,
            "point_group": sym.point_group,
            "flags": (),
        })
    df = pd.DataFrame(out)
    if not df["material_id"].is_unique:
        raise ValueError(f"{path.name}: material ids are not unique")
    given = df["split"].notna()
    if given.any() and not given.all():
        raise ValueError(f"{path.name}: 'split' is given for some crystals only")
    if given.all():
        bad = sorted(set(df["split"]) - {"train", "val", "test"})
        if bad:
            raise ValueError(f"{path.name}: unknown split names {bad}; expected train, val, test")
    else:
        order_ = np.random.default_rng(seed).permutation(len(df))
        n_val = max(1, round(0.1 * len(df))) if len(df) > 1 else 0
        split = np.array(["train"] * len(df), dtype=object)
        split[order_[:n_val]] = "val"
        df["split"] = split
    return df
