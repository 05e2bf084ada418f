"""Screening at scale: predict every tensor kind for many structures on Dask, into Parquet.

``python -m gmtnet screen INPUT --out DIR`` (see :func:`run_screen`) and the same from Python.

Pipeline
--------
1. :func:`plan_chunks` splits the input into :class:`Chunk` s of a few hundred structures. A chunk
   holds only *where* its structures are (file paths, a row range of a Parquet row group, a byte
   offset into a JSON-lines file, ids in an ASE database), never the structures themselves, so the
   scheduler sees kilobytes whatever the input size.
2. Each chunk is one Dask task, :func:`screen_chunk`: the worker reads its structures, runs
   :meth:`gmtnet.predict.Predictor.predict_many` for every kind, adds the derived scalars
   (:mod:`gmtnet.scalars`) and writes ``DIR/part-NNNNNN.parquet`` through a hidden temporary
   file and an atomic rename. The model is loaded once per worker process
   (:func:`worker_predictor`).
3. The driver keeps at most ``2 × threads`` tasks in flight and shows a tqdm bar in structures
   with rate and ETA. A part file exists only when its chunk is complete, so re-running the same
   command skips finished chunks (resume), and a task that Dask retries after losing a worker
   writes the same file again: every row ends up exactly once.

Output (read with ``pandas.read_parquet(DIR)``): one row per structure and kind, columns
:data:`OUTPUT_COLUMNS` then :data:`gmtnet.scalars.SCALAR_COLUMNS`. Tensors are in the Cartesian
frame of the input structure, in the kind's units (ε dimensionless, e C/m², C GPa): ``tensor`` is
the full tensor flattened row-major (3**rank values), ``voigt_ieee`` the Voigt matrix in the
IEEE/pymatgen order (xx, yy, zz, yz, xz, xy) flattened row-major. With the shipped ensembles
(``members=None``) ``uncertainty`` is the calibrated scalar uncertainty (kind's unit) and
``warnings`` the out-of-domain warnings; every ensemble's members run in one forward pass
(:mod:`gmtnet.models.stacked`), which gives the member-by-member outputs to float32 round-off
(``benchmarks/screen_scale.py compare``). A structure that cannot be read or
predicted gives one row per kind with its message in ``error`` and nulls elsewhere; it never
stops the run. ``DIR/_screen.json`` records the input, kinds, chunking and options; a re-run
with different ones is refused instead of mixing two screens.

Dask: ``workers=N`` starts a :class:`distributed.LocalCluster` of N single-threaded worker
processes bound to 127.0.0.1 with no dashboard (:func:`local_cluster`); ``scheduler="tcp://HOST:8786"`` uses an existing
cluster (dask-jobqueue, dask-kubernetes, ``dask scheduler`` + ``dask worker``) unchanged; its
workers need this package installed and read the input and write the output by path, so both
must be on a shared file system. ``workers=0`` runs the chunks in this process (no Dask).
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from gmtnet.kinds import KINDS, TensorKind, get_kind, register_kind
from gmtnet.scalars import SCALAR_COLUMNS, boolean_columns, scalar_columns

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "OUTPUT_COLUMNS",
    "Chunk",
    "ScreenSummary",
    "plan_chunks",
    "read_chunk",
    "screen_chunk",
    "screen_structures",
    "screen_kinds",
    "worker_predictor",
    "run_screen",
    "local_cluster",
    "read_screen",
    "to_frame",
]

#: Structures per task: large enough that per-task overhead (~10 ms) is negligible, small enough
#: that a worker holds a few MB and a lost worker costs seconds of recomputation.
DEFAULT_CHUNK_SIZE = 256

#: Columns before the derived scalars, in order.
OUTPUT_COLUMNS: tuple[str, ...] = (
    "id", "source", "kind", "unit", "formula", "nsites", "spacegroup_number", "spacegroup_symbol",
    "point_group", "crystal_system", "tensor", "voigt_ieee", "uncertainty", "warnings", "error",
)

_MANIFEST = "_screen.json"
_STRUCTURE_SUFFIXES = (".cif", ".mcif", ".vasp", ".poscar", ".xyz", ".extxyz", ".json")


def _schema() -> pa.Schema:
    fields = [
        ("id", pa.string()), ("source", pa.string()), ("kind", pa.string()), ("unit", pa.string()),
        ("formula", pa.string()), ("nsites", pa.int32()), ("spacegroup_number", pa.int32()),
        ("spacegroup_symbol", pa.string()), ("point_group", pa.string()), ("crystal_system", pa.string()),
        ("tensor", pa.list_(pa.float64())), ("voigt_ieee", pa.list_(pa.float64())),
        ("uncertainty", pa.float64()), ("warnings", pa.string()), ("error", pa.string()),
    ]
    flags = boolean_columns()
    fields += [(name, pa.bool_() if name in flags else pa.float64()) for name in SCALAR_COLUMNS]
    return pa.schema(fields)


# --------------------------------------------------------------------------- input


@dataclass(frozen=True)
class Chunk:
    """Where the structures of one task are (never the structures themselves).

    Attributes:
        index: chunk number; its output is ``part-{index:06d}.parquet``.
        source: ``"files"``, ``"parquet"``, ``"jsonl"`` or ``"ase"``.
        path: the input file (for ``"files"``: the input folder).
        items: ``"files"``: paths relative to ``path``; ``"ase"``: row ids; otherwise empty.
        start: ``"parquet"``: row group; ``"jsonl"``: byte offset of the first line.
        offset, count: ``"parquet"``: first row in the row group and number of rows;
            ``"jsonl"``: line number of the first line and number of lines.
    """

    index: int
    source: str
    path: str
    items: tuple = ()
    start: int = 0
    offset: int = 0
    count: int = 0

    @property
    def size(self) -> int:
        return len(self.items) if self.source in ("files", "ase") else self.count


def _input_type(path: Path) -> str:
    if path.is_dir():
        return "files"
    if not path.is_file():
        raise ValueError(f"no such file or folder: {path}")
    name = path.name.lower()
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if name.endswith(".db"):
        return "ase"
    raise ValueError(
        f"cannot screen {path.name!r}: give a folder of structure files, a .parquet or .jsonl file of "
        "pymatgen structure dicts, or an ASE database (.db)"
    )


def _is_structure_file(p: Path) -> bool:
    name = p.name.lower()
    return p.is_file() and not name.startswith(".") and (name.endswith(_STRUCTURE_SUFFIXES) or name.startswith(("poscar", "contcar")))


def plan_chunks(path: str | Path, chunk_size: int = DEFAULT_CHUNK_SIZE) -> list[Chunk]:
    """Split an input into chunks of at most ``chunk_size`` structures, in a stable order.

    Inputs: a folder (searched recursively for CIF, POSCAR/CONTCAR/.vasp, extended XYZ and pymatgen
    JSON files, sorted by path), a Parquet file with a ``structure`` column (pymatgen dicts, as JSON
    text or nested), a JSON-lines file (one pymatgen structure dict per line, or
    ``{"id": ..., "structure": {...}}``), or an ASE SQLite database (``.db``).

    Raises:
        ValueError: unknown input type, a Parquet file without a ``structure`` column, a bad
            ``chunk_size``, or an input with no structures.
    """
    if not (isinstance(chunk_size, int) and chunk_size >= 1):
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    p = Path(path)
    kind = _input_type(p)
    chunks: list[Chunk] = []
    if kind == "files":
        files = sorted(str(f.relative_to(p)) for f in p.rglob("*") if _is_structure_file(f))
        for i in range(0, len(files), chunk_size):
            chunks.append(Chunk(len(chunks), "files", str(p), tuple(files[i : i + chunk_size])))
    elif kind == "parquet":
        meta = pq.ParquetFile(p)
        if "structure" not in meta.schema_arrow.names:
            raise ValueError(f"{p.name} has no 'structure' column (columns: {meta.schema_arrow.names})")
        for rg in range(meta.num_row_groups):
            n = meta.metadata.row_group(rg).num_rows
            for off in range(0, n, chunk_size):
                chunks.append(Chunk(len(chunks), "parquet", str(p), start=rg, offset=off, count=min(chunk_size, n - off)))
    elif kind == "jsonl":
        # One pass over the file remembering where every chunk starts: bounded memory for any size.
        with p.open("rb") as fh:
            line, pos, start, first, count = 0, 0, 0, 0, 0
            for raw in fh:
                if count == 0:
                    start, first = pos, line
                pos += len(raw)
                line += 1
                count += 1
                if count == chunk_size:
                    chunks.append(Chunk(len(chunks), "jsonl", str(p), start=start, offset=first, count=count))
                    count = 0
            if count:
                chunks.append(Chunk(len(chunks), "jsonl", str(p), start=start, offset=first, count=count))
    else:
        from ase.db import connect

        ids = [row.id for row in connect(str(p)).select(include_data=False)]
        for i in range(0, len(ids), chunk_size):
            chunks.append(Chunk(len(chunks), "ase", str(p), tuple(ids[i : i + chunk_size])))
    if not chunks:
        raise ValueError(f"no structures found in {p}")
    return chunks


def _structure_from_dict(data) -> "object":
    from gmtnet.io import parse_structure

    # Through the project's one JSON reader: Structure.from_dict + validation, never @module decoding.
    return parse_structure(json.dumps(data), "json")


def read_chunk(chunk: Chunk) -> Iterator[tuple[str, str, object]]:
    """Yield ``(id, source, Structure or Exception)`` for every structure of a chunk, in order.

    A structure that cannot be read is yielded as the exception, so the caller can turn it into an
    error row; reading never stops at a bad item.
    """
    if chunk.source == "files":
        from gmtnet.io import read_structure

        root = Path(chunk.path)
        for rel in chunk.items:
            try:
                yield rel, str(root / rel), read_structure(root / rel)
            except Exception as err:  # noqa: BLE001 - any reader failure becomes an error row
                yield rel, str(root / rel), err
    elif chunk.source == "parquet":
        pf = pq.ParquetFile(chunk.path)
        names = [c for c in ("material_id", "id") if c in pf.schema_arrow.names][:1]
        table = pf.read_row_group(chunk.start, columns=["structure", *names]).slice(chunk.offset, chunk.count)
        ids = table.column(names[0]).to_pylist() if names else [None] * table.num_rows
        row0 = sum(pf.metadata.row_group(i).num_rows for i in range(chunk.start)) + chunk.offset
        for j, (sid, value) in enumerate(zip(ids, table.column("structure").to_pylist())):
            where = f"{chunk.path}#row={row0 + j}"
            try:
                data = json.loads(value) if isinstance(value, (str, bytes)) else value
                yield str(sid) if sid is not None else f"row-{row0 + j}", where, _structure_from_dict(data)
            except Exception as err:  # noqa: BLE001
                yield str(sid) if sid is not None else f"row-{row0 + j}", where, err
    elif chunk.source == "jsonl":
        with open(chunk.path, "rb") as fh:
            fh.seek(chunk.start)
            for j in range(chunk.count):
                line_no = chunk.offset + j
                raw = fh.readline()
                sid, where = f"line-{line_no + 1}", f"{chunk.path}#line={line_no + 1}"
                try:
                    data = json.loads(raw)
                    if isinstance(data, dict) and "structure" in data:
                        sid = str(data.get("id", data.get("material_id", sid)))
                        data = data["structure"]
                    yield sid, where, _structure_from_dict(data)
                except Exception as err:  # noqa: BLE001
                    yield sid, where, err
    elif chunk.source == "ase":
        from ase.db import connect
        from pymatgen.io.ase import AseAtomsAdaptor

        from gmtnet.io import validate_structure

        db = connect(chunk.path)
        for row_id in chunk.items:
            where = f"{chunk.path}#id={row_id}"
            try:
                row = db.get(id=row_id)
                sid = str(row.get("material_id", row.get("name", f"id-{row_id}")))
                yield sid, where, validate_structure(AseAtomsAdaptor.get_structure(row.toatoms()))
            except Exception as err:  # noqa: BLE001
                yield f"id-{row_id}", where, err
    else:
        raise ValueError(f"unknown chunk source {chunk.source!r}")


# --------------------------------------------------------------------------- prediction

_PREDICTORS: dict[tuple, object] = {}


def screen_kinds(kinds: Sequence[str | TensorKind]) -> list[TensorKind]:
    """The kinds of a screen as this process's registered :class:`~gmtnet.kinds.TensorKind` objects.

    A name is looked up in the registry (ValueError if unknown). A kind object is used as given
    when its name is free or already its own; this is how a kind registered at run time reaches a
    Dask worker process, which imports only the shipped kinds: :func:`run_screen` sends the kind
    objects with each task (Dask pickles them), and the task registers them here before use. A
    worker where a kind of that name is registered already keeps its own (the shipped kinds: the
    same package on both sides).
    """
    out = []
    for k in kinds:
        if isinstance(k, TensorKind):
            out.append(KINDS.get(k.name) or register_kind(k))
        else:
            out.append(get_kind(k))
    return out


def worker_predictor(kinds: Sequence[str | TensorKind], device: str = "cpu", torch_threads: int | None = 1, members: int | None = None):
    """The :class:`~gmtnet.predict.Predictor` of this process for ``kinds``, loaded on first use.

    Dask runs many tasks in one worker process; the models load once per process (a second or
    two) instead of once per task. ``torch_threads`` pins torch's intra-op threads (1 for one
    single-threaded worker per core; None leaves torch's default). ``members``: networks per
    ensemble (None: all, with uncertainty; 1: the fast single network).
    """
    kinds = screen_kinds(kinds)
    key = (tuple(k.name for k in kinds), device, torch_threads, members)
    predictor = _PREDICTORS.get(key)
    if predictor is None:
        import torch

        from gmtnet.predict import Predictor

        if torch_threads:
            torch.set_num_threads(int(torch_threads))
        predictor = _PREDICTORS[key] = Predictor.load(kinds=kinds, device=device, members=members)
    return predictor


def _error_rows(sid: str, source: str, kinds: Sequence[TensorKind], message: str) -> list[dict]:
    return [{"id": sid, "source": source, "kind": k.name, "unit": k.unit, "error": message} for k in kinds]


def screen_structures(
    predictor, items: Sequence[tuple[str, str, object]], kinds: Sequence[str | TensorKind], symprec: float | None = None,
) -> list[dict]:
    """Rows (dicts with :data:`OUTPUT_COLUMNS` and the scalars) for ``(id, source, Structure or
    Exception)`` items: one row per item and kind, in item order then ``kinds`` order."""
    from gmtnet.predict import PredictionError
    from gmtnet.symmetry import DEFAULT_SYMPREC

    kinds = screen_kinds(kinds)
    tol = DEFAULT_SYMPREC if symprec is None else symprec
    good = [i for i, (_, _, s) in enumerate(items) if not isinstance(s, BaseException)]
    structures = [items[i][2] for i in good]
    preds: dict[str, list] = {}  # by kind name: the partners below are named
    for k in kinds:
        try:
            preds[k.name] = predictor.predict_many(structures, k, symprec=tol) if structures else []
        except Exception:  # noqa: BLE001 - one bad batch must not lose the chunk: go one by one
            preds[k.name] = [_predict_one(predictor, s, k, tol, j) for j, s in enumerate(structures)]
    by_item = {i: j for j, i in enumerate(good)}
    rows: list[dict] = []
    for i, (sid, source, s) in enumerate(items):
        if isinstance(s, BaseException):
            rows += _error_rows(sid, source, kinds, _message(s))
            continue
        j = by_item[i]
        # the same crystal's tensors, for the kinds that pair with another (d = e·S needs C)
        tensors = {k: (None if isinstance(p[j], PredictionError) else p[j].tensor) for k, p in preds.items()}
        for k in kinds:
            r = preds[k.name][j]
            if isinstance(r, PredictionError):
                # predict_many numbers its messages by batch position, meaningless in the table.
                rows += _error_rows(sid, source, [k], re.sub(r"^structure \d+: ", "", r.message))
                continue
            sym = r.symmetry
            row = {
                "id": sid, "source": source, "kind": k.name, "unit": k.unit,
                "formula": s.composition.reduced_formula, "nsites": len(s),
                "spacegroup_number": sym.spacegroup_number, "spacegroup_symbol": sym.spacegroup_symbol,
                "point_group": sym.point_group, "crystal_system": sym.crystal_system,
                "tensor": r.tensor.ravel().tolist(), "voigt_ieee": r.voigt.ravel().tolist(),
                "uncertainty": r.uncertainty, "warnings": " | ".join(r.warnings), "error": None,
            }
            try:
                row |= scalar_columns(r.kind, r.tensor, partners=tensors)
            except Exception as err:  # noqa: BLE001 - a prediction without its scalars still counts
                row["error"] = f"derived scalars failed: {_message(err)}"
            rows.append(row)
    return rows


def _predict_one(predictor, structure, kind: TensorKind, symprec: float, index: int):
    from gmtnet.predict import PredictionError

    try:
        return predictor.predict_many([structure], kind, symprec=symprec)[0]
    except Exception as err:  # noqa: BLE001
        return PredictionError(index, _message(err))


def _message(err: BaseException) -> str:
    text = str(err)
    return text if isinstance(err, ValueError) and text else f"{type(err).__name__}: {text}"


def _part_path(out_dir: Path, index: int) -> Path:
    return out_dir / f"part-{index:06d}.parquet"


def screen_chunk(
    chunk: Chunk, out_dir: str, kinds: Sequence[str | TensorKind], symprec: float | None = None,
    device: str = "cpu", torch_threads: int | None = 1, members: int | None = None,
) -> dict:
    """Screen one chunk and write its part file atomically; the Dask task.

    ``kinds``: names, or kind objects (:func:`screen_kinds` registers those this process lacks).
    Idempotent: a chunk whose part file exists is not recomputed, and a retried or duplicated task
    rewrites the same content under the same name (``os.replace`` of a unique temporary file).

    Returns:
        ``{"index", "structures", "rows", "errors", "skipped", "pid", "peak_rss_mb"}`` (small: all
        that travels back); ``peak_rss_mb`` is the worker process's peak resident memory so far.
    """
    out = Path(out_dir)
    final = _part_path(out, chunk.index)
    if final.exists():
        n = pq.ParquetFile(final).metadata.num_rows
        return {"index": chunk.index, "structures": chunk.size, "rows": n, "errors": None, "skipped": True,
                **_process_facts()}
    kinds = screen_kinds(kinds)
    predictor = worker_predictor(kinds, device, torch_threads, members)
    rows = screen_structures(predictor, list(read_chunk(chunk)), kinds, symprec)
    table = pa.Table.from_pylist(rows, schema=_schema())
    tmp = out / f".{final.name}.{uuid.uuid4().hex}.tmp"  # hidden: pyarrow datasets skip it
    pq.write_table(table, tmp)
    os.replace(tmp, final)
    errors = sum(r["error"] is not None for r in rows)
    return {"index": chunk.index, "structures": chunk.size, "rows": len(rows), "errors": errors, "skipped": False,
            **_process_facts()}


def _process_facts() -> dict:
    import resource

    # ru_maxrss is in KiB on Linux.
    return {"pid": os.getpid(), "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


# --------------------------------------------------------------------------- driver


@dataclass(frozen=True)
class ScreenSummary:
    """What :func:`run_screen` did. ``seconds`` covers the chunks run now (not skipped ones)."""

    out_dir: str
    chunks: int
    chunks_done_before: int
    structures: int
    rows: int
    error_rows: int
    seconds: float
    workers: str

    def to_dict(self) -> dict:
        return asdict(self)


def _manifest(source: Path, kinds: Sequence[TensorKind], chunk_size: int, symprec: float | None, chunks: list[Chunk],
              members: int | None = None) -> dict:
    return {
        "input": str(source.resolve()),
        "kinds": [k.name for k in kinds],
        "chunk_size": chunk_size,
        "symprec": symprec,
        "chunks": len(chunks),
        "structures": sum(c.size for c in chunks),
        "ensemble_members": "all" if members is None else members,
        "uncertainty": "calibrated 1σ Frobenius norm, kind's unit (null with one network)",
        "frame": "Cartesian frame of each input structure",
        "voigt_order": "ieee (xx, yy, zz, yz, xz, xy)",
        "units": {k.name: k.unit_label for k in kinds},
        "scalar_columns": {name: {"unit": u, "meaning": d} for name, (u, d, _) in SCALAR_COLUMNS.items()},
    }


def _check_manifest(out: Path, manifest: dict) -> None:
    path = out / _MANIFEST
    if path.is_file():
        old = json.loads(path.read_text())
        keys = ("input", "kinds", "chunk_size", "symprec", "chunks", "structures")
        diff = [k for k in keys if old.get(k) != manifest[k]]
        if diff:
            raise ValueError(
                f"{out} holds another screen (different {', '.join(diff)}: "
                f"{', '.join(f'{k}={old.get(k)!r}' for k in diff)}); use a new --out folder to start over"
            )
        return
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".{_MANIFEST}.{uuid.uuid4().hex}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp, path)


def run_screen(
    source: str | Path,
    out_dir: str | Path,
    kinds: Sequence[str | TensorKind] | None = None,
    workers: int = 2,
    scheduler: str | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    symprec: float | None = None,
    device: str = "cpu",
    torch_threads: int | None = 1,
    members: int | None = None,
    progress: bool = True,
    retries: int = 3,
    on_chunk: Callable[[dict], None] | None = None,
) -> ScreenSummary:
    """Screen every structure of ``source`` for ``kinds`` into the Parquet dataset ``out_dir``.

    Args:
        source: folder, .parquet, .jsonl or ASE .db (see :func:`plan_chunks`).
        out_dir: output folder (created); part files of finished chunks there are kept (resume).
        kinds: tensor kinds, names or objects (default: the registered kinds whose weights are
            installed, :func:`gmtnet.predict.installed_kinds`). They are resolved here, once, and
            travel to the workers as objects, so a kind registered at run time screens on Dask
            workers too (:func:`screen_kinds`).
        workers: local Dask worker processes when no ``scheduler`` is given; 0 runs in-process.
        scheduler: address of an existing Dask scheduler (``tcp://host:8786``).
        chunk_size: structures per task.
        symprec: spglib tolerance in Å (default :data:`gmtnet.symmetry.DEFAULT_SYMPREC`).
        device: ``"cpu"``, ``"cuda"`` or ``"auto"`` on the workers.
        torch_threads: torch threads per worker (1: one single-threaded worker per core).
        members: networks per ensemble; None (all) gives each row its ``uncertainty`` (kind's
            unit) at about M times the network cost; 1 is the fast single network (no uncertainty).
        progress: show a tqdm bar (structures, rate, ETA).
        retries: times Dask re-runs a chunk whose worker died.
        on_chunk: called with each finished chunk's summary dict (in the driver).

    Raises:
        ValueError: bad input, kinds, or an ``out_dir`` holding a different screen.
    """
    from tqdm.auto import tqdm

    if not kinds:
        from gmtnet.predict import installed_kinds

        kinds = installed_kinds()
    chosen = screen_kinds(kinds)
    names = [k.name for k in chosen]
    if len(set(names)) != len(names):
        raise ValueError(f"kinds repeated: {names}")
    if workers < 0:
        raise ValueError(f"workers must be ≥ 0, got {workers}")
    src, out = Path(source), Path(out_dir)
    chunks = plan_chunks(src, chunk_size)
    _check_manifest(out, _manifest(src, chosen, chunk_size, symprec, chunks, members))
    pending = [c for c in chunks if not _part_path(out, c.index).exists()]
    total = sum(c.size for c in chunks)
    done_before = len(chunks) - len(pending)
    bar = tqdm(total=total, initial=total - sum(c.size for c in pending), unit="structure",
               desc="screen", disable=not progress, smoothing=0.1)
    t0 = time.perf_counter()
    args = (str(out), tuple(chosen), symprec, device, torch_threads, members)

    def finished(info: dict) -> None:
        bar.update(info["structures"])
        if on_chunk is not None:
            on_chunk(info)

    try:
        if scheduler is None and workers == 0:
            where = "in-process"
            for c in pending:
                finished(screen_chunk(c, *args))
        else:
            where = _run_dask(pending, args, workers, scheduler, torch_threads, retries, finished)
    finally:
        bar.close()
    seconds = time.perf_counter() - t0
    meta = [pq.ParquetFile(_part_path(out, c.index)).metadata for c in chunks]
    rows = sum(m.num_rows for m in meta)
    ok = sum(pq.read_table(_part_path(out, c.index), columns=["error"]).column("error").null_count for c in chunks)
    return ScreenSummary(str(out), len(chunks), done_before, total, rows, rows - ok, round(seconds, 3), where)


def local_cluster(workers: int):
    """A :class:`distributed.LocalCluster` of ``workers`` single-threaded processes, loopback only.

    Scheduler, nannies and workers bind to 127.0.0.1, and the scheduler's Bokeh dashboard is off;
    the HTTP endpoints Dask always serves (health, metrics) take a free port on 127.0.0.1 too, so
    nothing listens beyond this machine and no fixed port (8787) can clash. Use it as a context
    manager or ``close()`` it.
    """
    import logging

    from distributed import LocalCluster

    # A worker holding torch threads can take a few seconds to exit; the nanny then kills it and
    # logs a warning on every normal shutdown, which is noise for a finished screen.
    logging.getLogger("distributed.nanny").setLevel(logging.ERROR)
    return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                        dashboard_address="127.0.0.1:0", worker_dashboard_address="127.0.0.1:0",
                        scheduler_kwargs={"dashboard": False})


def _run_dask(pending: list[Chunk], args: tuple, workers: int, scheduler: str | None, torch_threads, retries: int,
              finished: Callable[[dict], None]) -> str:
    from distributed import Client, as_completed

    cluster = None
    if scheduler is None:
        cluster = local_cluster(workers)
        client = Client(cluster)
        where = f"LocalCluster({workers} workers × 1 thread, 127.0.0.1)"
    else:
        client = Client(scheduler)
        where = f"scheduler {scheduler}"
    try:
        slots = max(1, sum(client.nthreads().values()))
        window = 2 * slots  # enough to keep every thread busy; bounded scheduler and driver memory
        queue = iter(pending)
        futures = as_completed()
        for c in [c for _, c in zip(range(window), queue)]:
            futures.add(client.submit(screen_chunk, c, *args, key=f"screen-chunk-{c.index}-{uuid.uuid4().hex[:8]}",
                                      retries=retries, pure=False))
        failed: list[str] = []
        for fut in futures:
            try:
                finished(fut.result())
            except Exception as err:  # noqa: BLE001 - e.g. KilledWorker after every retry
                failed.append(f"{fut.key}: {type(err).__name__}: {err}")
            fut.release()
            nxt = next(queue, None)
            if nxt is not None:
                futures.add(client.submit(screen_chunk, nxt, *args, key=f"screen-chunk-{nxt.index}-{uuid.uuid4().hex[:8]}",
                                          retries=retries, pure=False))
        if failed:
            raise RuntimeError(
                f"{len(failed)} chunk(s) failed after {retries} retries (first: {failed[0]}); the finished "
                "ones are saved: re-run the same command to retry the rest"
            )
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return where


def read_screen(out_dir: str | Path, with_tensors: bool = True):
    """The screen output as a DataFrame (rows of every finished chunk, in chunk order).

    ``with_tensors=False`` leaves out the ``tensor`` and ``voigt_ieee`` list columns (faster, for
    tables).
    """
    out = Path(out_dir)
    parts = sorted(out.glob("part-*.parquet"))
    if not parts:
        raise ValueError(f"{out} holds no screen output (no part-*.parquet files)")
    columns = None if with_tensors else [c for c in _schema().names if c not in ("tensor", "voigt_ieee")]
    return to_frame(pa.concat_tables([pq.read_table(p, columns=columns) for p in parts]))


def to_frame(table: pa.Table):
    """A screen table as pandas, with the yes/no columns (``born_stable``) as nullable booleans
    (null on other kinds)."""
    df = table.to_pandas()
    for name in boolean_columns():
        if name in df.columns:
            df[name] = df[name].astype("boolean")
    return df
