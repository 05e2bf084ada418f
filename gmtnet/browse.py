"""Tables behind the Browse page: the bundled catalogue's predictions and uploaded screen output.

Pure pandas (no Streamlit, no torch on import). The catalogue's predictions are computed once, at
build time, by :func:`build_catalog_predictions` (``python scripts/build_catalog_predictions.py``, which runs
:func:`gmtnet.screen.run_screen` over every bundled crystal) and shipped as
``gmtnet/resources/data/catalog_predictions.parquet``: reading that file takes tens of
milliseconds, predicting the catalogue in the app would take minutes (measured in
``benchmarks/browse_start.py``, results in ``benchmarks/results/browse-start.json``).

The shipped table has the columns of a screen (:data:`gmtnet.screen.OUTPUT_COLUMNS` without the
``tensor`` and ``voigt_ieee`` lists, to keep the package small: Explore shows the tensors) plus,
where the bundled data has a DFT tensor of that kind, the same derived scalars of the DFT tensor
as ``dft_<column>`` and ``dft_flags``. All scalars are rotation-invariant; units in
:data:`gmtnet.scalars.SCALAR_COLUMNS`.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import time
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gmtnet.kinds import DATASETS, KINDS, TensorKind, get_kind
from gmtnet.scalars import SCALAR_COLUMNS

__all__ = [
    "CATALOG_PREDICTIONS",
    "BASE_COLUMNS",
    "catalog_predictions_file",
    "load_catalog_predictions",
    "build_catalog_predictions",
    "dataset_hashes",
    "weights_hashes",
    "catalog_kinds",
    "scalar_columns_for",
    "read_screen_files",
    "filter_predictions",
    "METAL_COLUMN",
    "add_metal_flags",
    "to_csv_bytes",
    "to_parquet_bytes",
]

#: File name of the shipped catalogue predictions (in ``gmtnet/resources/data``).
CATALOG_PREDICTIONS = "catalog_predictions.parquet"

#: Identity and symmetry columns shown first in the Browse table.
BASE_COLUMNS: tuple[str, ...] = ("id", "formula", "spacegroup_symbol", "point_group", "crystal_system", "nsites")

_REQUIRED = ("id", "kind", "formula", "crystal_system", "error")

#: Column added at load time (not stored in the shipped Parquet): True where the formula is likely
#: a metal by :func:`gmtnet.insulator.metal_reason`; ε₀, ε∞ and e rows of such crystals are hidden
#: by default in :func:`filter_predictions`.
METAL_COLUMN = "likely_metal"


def catalog_predictions_file():
    """Path (importlib resource) of the shipped catalogue predictions."""
    return files("gmtnet.resources.data").joinpath(CATALOG_PREDICTIONS)


def dataset_hashes() -> dict[str, str]:
    """SHA-256 of each bundled dataset file: the shipped predictions record the data they came from."""
    from gmtnet.data import dataset_file

    return {d: hashlib.sha256(dataset_file(d).read_bytes()).hexdigest() for d in DATASETS}


def catalog_kinds() -> list[str]:
    """The registered kinds the catalogue predictions cover: one tensor per crystal, with table
    columns. Per-atom kinds (Born charges) are predicted on request instead (Explore, the CLI)."""
    return [name for name, k in KINDS.items() if not k.per_atom]


def weights_hashes() -> dict[str, str]:
    """SHA-256 over each kind's shipped weight files (every ensemble member, in order): the shipped
    predictions record the models they came from."""
    from gmtnet.weights import shipped_model_dir

    out = {}
    for kind in catalog_kinds():
        h = hashlib.sha256()
        for f in sorted(shipped_model_dir(kind).rglob("*.safetensors")):
            h.update(f.read_bytes())
        out[kind] = h.hexdigest()
    return out


def load_catalog_predictions() -> pd.DataFrame:
    """The shipped predictions of every bundled crystal for every kind (one row per crystal and kind).

    Raises:
        FileNotFoundError: when the file was not built (``python -m gmtnet.browse``).
    """
    path = catalog_predictions_file()
    if not path.is_file():
        raise FileNotFoundError(f"{CATALOG_PREDICTIONS} is missing: build it with `python scripts/build_catalog_predictions.py`")
    from gmtnet.screen import to_frame

    with path.open("rb") as fh:
        return add_metal_flags(to_frame(pq.read_table(fh)))


@lru_cache(maxsize=None)
def _likely_metal(formula: str) -> bool:
    from gmtnet.insulator import is_likely_metal

    try:
        return is_likely_metal(formula)
    except (ValueError, KeyError):  # error rows and unparsable formulas: nothing to say
        return False


def add_metal_flags(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with :data:`METAL_COLUMN` computed from each row's ``formula`` (the rule of
    :mod:`gmtnet.insulator` needs the composition only; once per distinct formula, ~0.1 ms each)."""
    flags = {f: _likely_metal(str(f)) for f in table["formula"].dropna().unique()}
    out = table.copy()
    out[METAL_COLUMN] = table["formula"].map(flags).fillna(False).astype(bool)
    return out


def _dft_scalars(k: TensorKind) -> pd.DataFrame:
    """``dft_<scalar>`` of every bundled DFT tensor of kind ``k`` (index: material_id)."""
    from gmtnet.data import load_dataset
    from gmtnet.scalars import scalar_columns

    df = load_dataset(k)
    # the partners' DFT tensors of the same material (e: C, for d = e·S)
    partners: dict[str, dict] = {}
    for name in k.scalar_partners:
        p = get_kind(name)
        other = load_dataset(p)
        partners[name] = dict(zip(other["material_id"], other[p.column]))
    rows = []
    for mid, t, flags in zip(df["material_id"], df[k.column], df["flags"]):
        cols = scalar_columns(k, np.asarray(t, dtype=float), partners={n: d.get(mid) for n, d in partners.items()})
        rows.append({"id": mid, **{f"dft_{c}": v for c, v in cols.items()}, "dft_flags": ", ".join(flags)})
    return pd.DataFrame(rows).set_index("id")


def build_catalog_predictions(out: str | Path | None = None, workers: int = 2, chunk_size: int = 128,
                              progress: bool = True) -> dict:
    """Predict every bundled crystal for every kind with :func:`gmtnet.screen.run_screen` and write
    the shipped table (default: into the package). Returns build facts (counts, seconds, hashes)."""
    from gmtnet.catalog import build_catalog
    from gmtnet.data import load_dataset
    from gmtnet.screen import read_screen, run_screen

    target = Path(out) if out is not None else Path(str(catalog_predictions_file()))
    cat = build_catalog()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "catalog.jsonl"
        # The structure of the first dataset holding each material, as gmtnet.catalog.reference_structure.
        structures: dict = {}
        for dataset in DATASETS:
            df = load_dataset(dataset)
            for mid, s in zip(df["material_id"], df["structure"]):
                structures.setdefault(mid, s)
        with src.open("w") as fh:
            for mid in cat["material_id"]:
                fh.write(json.dumps({"id": mid, "structure": structures[mid].as_dict()}) + "\n")
        summary = run_screen(src, Path(tmp) / "screen", kinds=catalog_kinds(), workers=workers, chunk_size=chunk_size,
                             progress=progress)
        table = read_screen(Path(tmp) / "screen", with_tensors=False)
    seconds = time.perf_counter() - t0
    parts = []
    for k in (KINDS[name] for name in catalog_kinds()):
        rows = table[table["kind"] == k.name].set_index("id")
        parts.append(rows.join(_dft_scalars(k), how="left").reset_index())
    full = pd.concat(parts, ignore_index=True)
    meta = cat.set_index("material_id")[["split"]]
    full = full.join(meta, on="id")
    full = full.drop(columns=["source"])
    facts = {
        "crystals": int(len(cat)),
        "rows": int(len(full)),
        "error_rows": int(full["error"].notna().sum()),
        "screen_seconds": round(seconds, 1),
        "workers": summary.workers,
        "dataset_sha256": dataset_hashes(),
        "weights_sha256": weights_hashes(),
        "command": "python scripts/build_catalog_predictions.py",
    }
    arrow = pa.Table.from_pandas(full, preserve_index=False)
    arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), b"gmtnet": json.dumps(facts).encode()})
    target.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(arrow, target, compression="zstd")
    return facts


def shipped_build_facts() -> dict:
    """The build facts stored in the shipped file's metadata (see :func:`build_catalog_predictions`)."""
    with catalog_predictions_file().open("rb") as fh:
        meta = pq.read_schema(fh).metadata or {}
    return json.loads(meta.get(b"gmtnet", b"{}"))


def scalar_columns_for(kind: str, table: pd.DataFrame | None = None) -> list[str]:
    """The derived-scalar columns that apply to ``kind`` (and exist in ``table`` when given)."""
    k = get_kind(kind).name
    cols = [c for c, (_, _, kinds) in SCALAR_COLUMNS.items() if k in kinds]
    return cols if table is None else [c for c in cols if c in table.columns]


def read_screen_files(blobs: Iterable[bytes]) -> pd.DataFrame:
    """Screen output uploaded as one or more Parquet part files (bytes) as one table.

    Raises:
        ValueError: a file that is not Parquet, or lacks the screen columns (naming them).
    """
    from gmtnet.screen import to_frame

    frames = []
    for i, data in enumerate(blobs):
        try:
            frame = to_frame(pq.read_table(io.BytesIO(data)))
        except Exception as err:  # noqa: BLE001 - pyarrow raises several types for non-Parquet bytes
            raise ValueError(f"file {i + 1} is not a Parquet file: {err}") from None
        missing = [c for c in _REQUIRED if c not in frame.columns]
        if missing:
            raise ValueError(f"file {i + 1} is not `gmtnet screen` output: missing columns {missing}")
        frames.append(frame)
    if not frames:
        raise ValueError("no file given")
    return add_metal_flags(pd.concat(frames, ignore_index=True))


def _elements(formula: str) -> frozenset[str]:
    from pymatgen.core import Composition

    try:
        return frozenset(str(e) for e in Composition(formula).elements)
    except Exception:  # noqa: BLE001 - error rows have no formula
        return frozenset()


def filter_predictions(
    table: pd.DataFrame,
    kind: str,
    crystal_systems: Iterable[str] = (),
    elements: Iterable[str] = (),
    ranges: Mapping[str, tuple[float, float]] | None = None,
    with_errors: bool = False,
    with_reference: bool = False,
    show_likely_metals: bool = False,
) -> pd.DataFrame:
    """Rows of ``kind`` that match every given criterion, with the columns worth showing.

    Args:
        table: catalogue predictions or screen output.
        kind: tensor kind.
        crystal_systems: keep these systems (empty: all).
        elements: symbols the crystal must contain (all of them).
        ranges: column → (low, high), inclusive; a NaN value fails a range.
        with_errors: keep rows whose prediction failed (their scalars are empty).
        with_reference: keep only crystals with a DFT tensor of this kind (a ``dft_`` value).
        show_likely_metals: for ε₀, ε∞ and e (defined for insulators only), keep the rows of
            likely metals (:data:`METAL_COLUMN`); they are dropped by default. Other kinds keep
            them either way.

    Returns:
        A copy with :data:`BASE_COLUMNS`, :data:`METAL_COLUMN`, the kind's scalar columns, their ``dft_`` partners, then
        the remaining columns (``tensor`` / ``voigt_ieee`` lists are dropped from the view).

    Raises:
        ValueError: unknown kind, element symbol or column.
    """
    from gmtnet.catalog import parse_elements

    kd = get_kind(kind)
    k = kd.name
    rows = table[table["kind"] == k]
    if METAL_COLUMN not in rows.columns:
        rows = add_metal_flags(rows)
    if kd.insulators_only and not show_likely_metals:
        rows = rows[~rows[METAL_COLUMN]]
    if not with_errors:
        rows = rows[rows["error"].isna()]
    systems = list(crystal_systems)
    if systems:
        rows = rows[rows["crystal_system"].isin(systems)]
    want = parse_elements(list(elements)) if not isinstance(elements, str) else parse_elements(elements)
    if want:
        rows = rows[rows["formula"].map(lambda f: want.issubset(_elements(f)))]
    if with_reference:
        dft_cols = [f"dft_{c}" for c in scalar_columns_for(k, rows) if f"dft_{c}" in rows.columns]
        rows = rows[rows[dft_cols].notna().any(axis=1)] if dft_cols else rows.iloc[:0]
    for col, (lo, hi) in (ranges or {}).items():
        if col not in rows.columns:
            raise ValueError(f"no column {col!r} to filter on; columns: {list(rows.columns)}")
        values = rows[col].astype(float)
        rows = rows[(values >= lo) & (values <= hi)]
    scalars = scalar_columns_for(k, rows)
    dft = [f"dft_{c}" for c in scalars if f"dft_{c}" in rows.columns]
    first = [c for c in (*BASE_COLUMNS, METAL_COLUMN, *scalars, *dft) if c in rows.columns]
    other_scalars = set(SCALAR_COLUMNS) - set(scalars)
    rest = [c for c in rows.columns if c not in first and c not in ("tensor", "voigt_ieee", "kind")
            and c not in other_scalars and c.removeprefix("dft_") not in other_scalars]
    return rows[first + rest].reset_index(drop=True)


def column_range(table: pd.DataFrame, column: str) -> tuple[float, float] | None:
    """Finite (min, max) of a numeric column, or None when it has no finite value."""
    values = pd.to_numeric(table[column], errors="coerce").astype(float)
    values = values[np.isfinite(values)]
    if values.empty:
        return None
    return float(values.min()), float(values.max())


def to_csv_bytes(table: pd.DataFrame) -> bytes:
    """UTF-8 CSV of a table (list columns as JSON text)."""
    out = table.copy()
    for c in out.columns:
        if out[c].map(lambda v: isinstance(v, (list, tuple, np.ndarray))).any():
            out[c] = out[c].map(lambda v: json.dumps(list(v)) if isinstance(v, (list, tuple, np.ndarray)) else v)
    return out.to_csv(index=False).encode()


def to_parquet_bytes(table: pd.DataFrame) -> bytes:
    """The table as Parquet bytes."""
    buf = io.BytesIO()
    table.to_parquet(buf, index=False)
    return buf.getvalue()
