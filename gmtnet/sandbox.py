"""Reading an untrusted structure file in a child process, with a time and a memory budget.

:mod:`gmtnet.io` refuses malformed files with checks made before parsing; this module is the second
line for a long-running server (the Streamlit app): whatever a file does to a parser, a hang, a
memory blow-up or a crash of native code, happens in a short-lived child process and comes back
as a :class:`gmtnet.io.StructureError`; the server process is never at risk.

The child is a fresh ``python`` (``subprocess``, not ``multiprocessing``: Streamlit runs each page
as ``__main__``, which a multiprocessing child would re-run). It limits its own address space
(``RLIMIT_AS``) before it reads the data, and answers with one line of JSON
(:func:`gmtnet.io.structure_to_dict` or the error message), so the parent never unpickles anything
a child built from the file; the parent rebuilds and re-validates the structure from that plain
data. Starting the child costs ~0.5 s of CPU (importing pymatgen).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from gmtnet.io import MAX_FILE_BYTES, StructureError, structure_from_dict, validate_structure

__all__ = ["DEFAULT_TIMEOUT_S", "DEFAULT_MEMORY_BYTES", "read_isolated"]

#: Wall-clock budget for reading one file, in seconds (start-up included; a valid 500-atom CIF
#: takes < 1 s to parse).
DEFAULT_TIMEOUT_S = 30.0
#: Address space the child may add to what it has after its imports, in bytes.
DEFAULT_MEMORY_BYTES = 1_000_000_000
# The answer is a plain dict of at most MAX_ATOMS sites (~100 bytes each) or an error message.
_MAX_ANSWER_BYTES = 4_000_000
_PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)


def read_isolated(
    data: bytes,
    filename: str,
    fmt: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_bytes: int = DEFAULT_MEMORY_BYTES,
):
    """:func:`gmtnet.io.parse_bytes` in a child process with a deadline and a memory limit.

    Args:
        data: the file's bytes (at most :data:`gmtnet.io.MAX_FILE_BYTES`).
        filename: its name (selects the format unless ``fmt`` is given; never opened).
        fmt: ``"cif"``, ``"poscar"``, ``"extxyz"``, ``"json"`` or None.
        timeout_s: wall-clock budget in seconds; the child is killed after it.
        memory_bytes: address space the child may add, in bytes.

    Returns:
        the validated :class:`pymatgen.core.Structure` (Å, the file's Cartesian frame).

    Raises:
        StructureError: the file was refused, took too long, needed too much memory or killed
            its reader; the message says which.
    """
    if len(data) > MAX_FILE_BYTES:  # refuse before paying for a process
        raise StructureError(f"the file is {len(data):,} bytes; the limit is {MAX_FILE_BYTES:,}")
    request = json.dumps({"filename": str(filename), "fmt": fmt, "memory_bytes": int(memory_bytes)}).encode()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (_PACKAGE_PARENT, os.environ.get("PYTHONPATH")) if p),
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    try:
        proc = subprocess.run(
            [sys.executable, "-c", "from gmtnet.sandbox import _worker_main; _worker_main()"],
            input=request + b"\n" + bytes(data), capture_output=True, timeout=timeout_s, env=env,
        )
    except subprocess.TimeoutExpired:
        # unexpected: gmtnet.io's checks should refuse such a file quickly (counted as a hang)
        raise StructureError(f"reading the file took longer than {timeout_s:g} s; it was stopped",
                             unexpected=True) from None
    lines = proc.stdout[-_MAX_ANSWER_BYTES:].strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise StructureError(
            f"the reader stopped on this file (exit status {proc.returncode}: it needed more than "
            f"{memory_bytes / 1e6:.3g} MB of memory or crashed); the file was not loaded",
            unexpected=True,
        )
    answer = json.loads(lines[-1])
    if "error" in answer:
        raise StructureError(str(answer["error"]), unexpected=bool(answer.get("unexpected")))
    return validate_structure(structure_from_dict(answer["structure"]))


def _address_space() -> int:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[0])
    return pages * os.sysconf("SC_PAGE_SIZE")


def _worker_main() -> None:
    """The child: request line + file bytes on stdin, one JSON line on stdout."""
    import resource

    # Everything a parse may import is imported before the limit: the budget is for the data.
    import pymatgen.io.cif  # noqa: F401
    import pymatgen.io.vasp  # noqa: F401

    from gmtnet.io import parse_bytes, structure_to_dict

    raw = sys.stdin.buffer.read(MAX_FILE_BYTES + 10_000)
    head, _, data = raw.partition(b"\n")
    request = json.loads(head)
    memory_bytes = int(request["memory_bytes"])
    try:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = _address_space() + memory_bytes
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (OSError, ValueError):  # no /proc or no permission: the parent's deadline still holds
        pass
    try:
        answer = {"structure": structure_to_dict(parse_bytes(data, request["filename"], request["fmt"]))}
    except StructureError as err:
        answer = {"error": str(err), "unexpected": err.unexpected}
    except MemoryError:
        answer = {"error": f"reading the file needs more than {memory_bytes / 1e6:.3g} MB of memory",
                  "unexpected": True}
    except Exception as err:  # reported, and counted as unclear by the fuzz tests
        answer = {"error": f"the reader failed ({type(err).__name__}: {str(err)[:200]})", "unexpected": True}
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
