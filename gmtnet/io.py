"""Reading user structures safely: CIF, POSCAR/CONTCAR, extended XYZ with a cell, pymatgen JSON.

Every reader returns an ordered, 3D-periodic :class:`pymatgen.core.Structure` with at most
:data:`gmtnet.graph.MAX_ATOMS` sites, or raises ``ValueError`` with a message meant for the user.
Nothing is unpickled: JSON goes through :func:`json.loads` and ``Structure.from_dict``.
"""

from __future__ import annotations

import json
import re
import shlex
import warnings
from pathlib import Path

import numpy as np
from pymatgen.core import Lattice, Structure

from gmtnet.graph import validate_structure  # re-exported: the one check of a usable structure

__all__ = ["FORMATS", "read_structure", "parse_structure", "guess_format", "validate_structure"]

#: Formats understood, with the file names / extensions that select them.
FORMATS = {
    "cif": (".cif", ".mcif"),
    "poscar": ("POSCAR", "CONTCAR", ".vasp", ".poscar"),
    "extxyz": (".xyz", ".extxyz"),
    "json": (".json",),
}


def guess_format(filename: str) -> str:
    """Format name from a file name (``POSCAR*``/``CONTCAR*`` by stem, the rest by extension)."""
    name = Path(filename).name
    lower = name.lower()
    if lower.startswith(("poscar", "contcar")):
        return "poscar"
    for fmt, patterns in FORMATS.items():
        if any(lower.endswith(p.lower()) for p in patterns if p.startswith(".")):
            return fmt
    raise ValueError(
        f"cannot tell the format of {name!r}: use a .cif, POSCAR/CONTCAR (or .vasp), .xyz/.extxyz "
        "with a Lattice=\"...\" header, or pymatgen .json file"
    )


def _parse_extxyz(text: str) -> Structure:
    # Why hand-written: pymatgen's XYZ reader drops the cell (it returns a Molecule), and ASE is not
    # in this project's stack. This reads the common extended-XYZ header: Lattice="9 numbers" and
    # species + Cartesian positions as the first four columns.
    lines = [ln for ln in text.splitlines()]
    if len(lines) < 2:
        raise ValueError("extended XYZ needs an atom count line and a comment line")
    try:
        n = int(lines[0].split()[0])
    except (ValueError, IndexError):
        raise ValueError(f"first line of an XYZ file must be the number of atoms, got {lines[0]!r}") from None
    match = re.search(r'Lattice\s*=\s*"([^"]+)"', lines[1], flags=re.IGNORECASE)
    if not match:
        raise ValueError('the XYZ file has no Lattice="..." in its second line: it is not periodic (a molecule)')
    cell = np.array([float(x) for x in match.group(1).split()])
    if cell.shape != (9,):
        raise ValueError(f"Lattice must have 9 numbers, got {cell.size}")
    header = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', lines[1]))
    props = shlex.split(header.get("Properties", "species:S:1:pos:R:3"))[0].split(":")
    if props[:2] != ["species", "S"] or "pos" not in props:
        raise ValueError("only extended XYZ files whose Properties start with species:S:1:pos:R:3 are supported")
    body = lines[2 : 2 + n]
    if len(body) != n:
        raise ValueError(f"the XYZ file announces {n} atoms but has {len(body)} atom lines")
    species, coords = [], []
    for ln in body:
        parts = ln.split()
        species.append(parts[0])
        coords.append([float(x) for x in parts[1:4]])
    return Structure(Lattice(cell.reshape(3, 3)), species, coords, coords_are_cartesian=True)


def parse_structure(text: str, fmt: str) -> Structure:
    """Parse structure text in ``fmt`` (``"cif"``, ``"poscar"``, ``"extxyz"`` or ``"json"``) and validate it."""
    if not text or not text.strip():
        raise ValueError("the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pymatgen's CIF parser warns about every rounding
            if fmt == "cif":
                structure = Structure.from_str(text, fmt="cif")
            elif fmt == "poscar":
                structure = Structure.from_str(text, fmt="poscar")
            elif fmt == "extxyz":
                structure = _parse_extxyz(text)
            elif fmt == "json":
                data = json.loads(text)
                if not isinstance(data, dict) or "lattice" not in data or "sites" not in data:
                    raise ValueError("the JSON is not a pymatgen Structure (needs 'lattice' and 'sites')")
                structure = Structure.from_dict(data)
            else:
                raise ValueError(f"unknown format {fmt!r}; expected one of {sorted(FORMATS)}")
    except ValueError as err:
        raise ValueError(f"could not read the {fmt} structure: {err}") from None
    except Exception as err:  # pymatgen raises many types on malformed files; report, don't crash
        raise ValueError(f"could not read the {fmt} structure: {type(err).__name__}: {err}") from None
    return validate_structure(structure)


def read_structure(path: str | Path, fmt: str | None = None) -> Structure:
    """Read and validate a structure file (format from the name unless ``fmt`` is given)."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"no such file: {p}")
    try:
        text = p.read_text()
    except UnicodeDecodeError:
        raise ValueError(f"{p.name} is not a text file") from None
    return parse_structure(text, fmt or guess_format(p.name))
