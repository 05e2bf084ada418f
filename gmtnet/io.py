"""Reading untrusted structure files: CIF, POSCAR/CONTCAR, extended XYZ with a cell, plain JSON.

Every reader returns an ordered, 3D-periodic :class:`pymatgen.core.Structure` with at most
:data:`gmtnet.graph.MAX_ATOMS` sites in a sane cell, or raises :class:`StructureError` (a
``ValueError``) whose message names what is wrong with the file.

Hostile input is checked *before* anything expensive happens:

* the text: size (:data:`MAX_FILE_BYTES`), UTF-8 (a byte-order mark is dropped, CRLF/CR line ends
  become LF), no NUL bytes;
* what the file declares, before a parser allocates for it: the POSCAR counts line and the XYZ count
  line (at most :data:`~gmtnet.graph.MAX_ATOMS` atoms), the CIF ``atom_site`` rows, symmetry
  operations (at most :data:`MAX_SYMMETRY_OPS`) and their product, CIF occupancies (0 < occ ≤ 1;
  partial occupancy is refused as disorder) and loops cut off mid-row (a truncated file);
* the structure, before spglib or the model sees it (:func:`validate_structure`): real elements,
  finite lattice and coordinates, lattice lengths in [:data:`MIN_DISTANCE`, :data:`MAX_CELL_LENGTH`]
  Å, angles in [:data:`MIN_ANGLE`, 180 − :data:`MIN_ANGLE`]°, at least :data:`MIN_VOLUME_PER_ATOM`
  Å³ per atom, no two atoms (or an atom and its own periodic image) closer than
  :data:`MIN_DISTANCE` Å.

Nothing is unpickled and no decoder imports what the input names: JSON goes through
:func:`json.loads` and :func:`structure_from_dict`, which reads only the lattice, species and
coordinates (pymatgen's ``Structure.as_dict`` layout or a plain one) and ignores ``@module`` /
``@class`` and site properties.

For a time and memory budget on top of these checks (a web server reading uploads), see
:func:`gmtnet.sandbox.read_isolated`.
"""

from __future__ import annotations

import json
import math
import re
import shlex
import warnings
from pathlib import Path

import numpy as np
from pymatgen.core import Element, Lattice, Structure

from gmtnet import graph
from gmtnet.graph import MAX_ATOMS

__all__ = [
    "FORMATS",
    "MAX_FILE_BYTES",
    "MAX_SYMMETRY_OPS",
    "MAX_CELL_LENGTH",
    "MIN_ANGLE",
    "MIN_DISTANCE",
    "MIN_VOLUME_PER_ATOM",
    "StructureError",
    "decode_text",
    "guess_format",
    "parse_bytes",
    "parse_structure",
    "read_structure",
    "structure_from_dict",
    "structure_to_dict",
    "validate_structure",
]

#: Formats understood, with the file names / extensions that select them.
FORMATS = {
    "cif": (".cif", ".mcif"),
    "poscar": ("POSCAR", "CONTCAR", ".vasp", ".poscar"),
    "extxyz": (".xyz", ".extxyz"),
    "json": (".json",),
}
#: Largest structure file accepted, in bytes (a 500-atom CIF is ~50 kB).
MAX_FILE_BYTES = 2_000_000
#: Most symmetry operations a CIF may list: 192 is the order of the largest space group in its
#: conventional (face-centred cubic) setting.
MAX_SYMMETRY_OPS = 192
#: Largest lattice vector accepted, in Å.
MAX_CELL_LENGTH = 1000.0
#: Smallest angle between lattice vectors accepted, in degrees (and 180 minus it the largest).
MIN_ANGLE = 5.0
#: Closest approach of two atoms (or an atom and its periodic image) accepted, in Å; the shortest
#: bond in any crystal (H–H, 0.74 Å) is well above it.
MIN_DISTANCE = 0.5
#: Smallest cell volume per atom accepted, in Å³ (solid hydrogen under pressure is ~2 Å³/atom).
MIN_VOLUME_PER_ATOM = 1.0
# Each distinct CIF atom_site row yields at least |ops| / 48 atoms (48: the largest site-symmetry
# order), so a file whose rows × ops exceeds this cannot give a cell of at most MAX_ATOMS sites.
_MAX_ROWS_TIMES_OPS = MAX_ATOMS * 48


class StructureError(ValueError):
    """A structure file (or object) that cannot be used; the message says what is wrong with it.

    ``unexpected`` is True when the message wraps an error that a third-party parser raised
    after the file passed this module's own checks: the file is still refused, but the message
    may not explain why (the fuzz tests count those as unclear).
    """

    def __init__(self, message: str, *, unexpected: bool = False):
        super().__init__(message)
        self.unexpected = unexpected


# --------------------------------------------------------------------------- text


def decode_text(data: bytes) -> str:
    """UTF-8 text of a file's bytes, without a byte-order mark and with LF line ends.

    Raises:
        StructureError: more than :data:`MAX_FILE_BYTES`, not UTF-8, or binary (NUL bytes).
    """
    if len(data) > MAX_FILE_BYTES:
        raise StructureError(f"the file is {len(data):,} bytes; the limit is {MAX_FILE_BYTES:,}")
    if b"\x00" in data:
        raise StructureError("the file is binary (it contains NUL bytes): not a text file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise StructureError(f"not a text file: invalid UTF-8 byte at offset {err.start}") from None
    return _normalize(text)


def _normalize(text: str) -> str:
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")


def guess_format(filename: str) -> str:
    """Format name from a file name (``POSCAR*``/``CONTCAR*`` by stem, the rest by extension)."""
    name = Path(filename).name
    lower = name.lower()
    if lower.startswith(("poscar", "contcar")):
        return "poscar"
    for fmt, patterns in FORMATS.items():
        if any(lower.endswith(p.lower()) for p in patterns if p.startswith(".")):
            return fmt
    raise StructureError(
        f"cannot tell the format of {name!r}: use a .cif, POSCAR/CONTCAR (or .vasp), .xyz/.extxyz "
        "with a Lattice=\"...\" header, or pymatgen .json file"
    )


# --------------------------------------------------------------------------- numbers and elements


def _float(token: str, what: str) -> float:
    try:
        x = float(token)
    except (ValueError, OverflowError):
        raise StructureError(f"{what} is not a number: {token[:40]!r}") from None
    if not math.isfinite(x):
        raise StructureError(f"{what} is not finite: {token[:40]!r}")
    return x


def _element(symbol, where: str) -> str:
    if not isinstance(symbol, str) or not Element.is_valid_symbol(symbol):
        shown = symbol[:20] if isinstance(symbol, str) else type(symbol).__name__
        raise StructureError(f"{where}: {shown!r} is not a chemical element")
    return symbol


# --------------------------------------------------------------------------- structure checks


def validate_structure(structure, max_atoms: int = MAX_ATOMS) -> Structure:
    """Check that a structure is a sane, ordered, periodic crystal; returns it unchanged.

    On top of :func:`gmtnet.graph.validate_structure` (type, atom count, order, periodicity,
    real elements, finite numbers): lattice lengths, angles, volume per atom and the closest
    approach of two atoms, with the limits in the module docstring.

    Raises:
        StructureError: naming the offending value.
    """
    try:
        graph.validate_structure(structure, max_atoms=max_atoms)
    except StructureError:
        raise
    except ValueError as err:
        raise StructureError(str(err)) from None
    lat = structure.lattice
    for name, length in zip("abc", lat.abc):
        if not MIN_DISTANCE <= length <= MAX_CELL_LENGTH:
            raise StructureError(
                f"lattice vector {name} is {length:.4g} Å long; accepted: {MIN_DISTANCE} to {MAX_CELL_LENGTH:g} Å"
            )
    for name, angle in zip(("alpha", "beta", "gamma"), lat.angles):
        if not MIN_ANGLE <= angle <= 180.0 - MIN_ANGLE:
            raise StructureError(
                f"cell angle {name} is {angle:.4g}°; accepted: {MIN_ANGLE:g} to {180 - MIN_ANGLE:g}° (degenerate cell)"
            )
    per_atom = lat.volume / len(structure)
    if per_atom < MIN_VOLUME_PER_ATOM:
        raise StructureError(
            f"the cell volume is {lat.volume:.3g} Å³ ({per_atom:.3g} Å³ per atom); at least "
            f"{MIN_VOLUME_PER_ATOM:g} Å³ per atom is needed (is the scale or the unit wrong?)"
        )
    frac = structure.frac_coords
    if np.abs(frac).max() > 100.0:
        raise StructureError(f"a fractional coordinate is {np.abs(frac).max():.3g}: the atom is far outside the cell")
    # Bounded: lengths ≥ MIN_DISTANCE, angles ≥ MIN_ANGLE and ≥ 1 Å³/atom leave few images in reach.
    src, dst, _, dist = structure.get_neighbor_list(MIN_DISTANCE)
    if len(dist):
        i = int(np.argmin(dist))
        what = "its own periodic image" if src[i] == dst[i] else f"atom {int(dst[i])}"
        raise StructureError(
            f"atom {int(src[i])} ({structure[int(src[i])].specie}) is {dist[i]:.3g} Å from {what}; "
            f"atoms closer than {MIN_DISTANCE} Å overlap"
        )
    return structure


# --------------------------------------------------------------------------- JSON


def structure_to_dict(structure: Structure) -> dict:
    """Plain-data form read back by :func:`structure_from_dict`: ``lattice`` (3×3 rows, Å),
    ``species`` (element symbols), ``frac_coords`` (n×3) and ``charge``."""
    return {
        "lattice": structure.lattice.matrix.tolist(),
        "species": [str(site.specie.symbol) for site in structure],
        "frac_coords": structure.frac_coords.tolist(),
        "charge": float(structure.charge or 0.0),
    }


def _matrix(value, what: str) -> np.ndarray:
    if not (isinstance(value, list) and len(value) == 3 and all(isinstance(r, list) and len(r) == 3 for r in value)):
        raise StructureError(f"{what} must be a 3×3 list of numbers")
    return np.array([[_number(x, what) for x in row] for row in value])


def _number(x, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise StructureError(f"{what} must hold numbers, got {type(x).__name__}")
    try:
        v = float(x)
    except OverflowError:
        raise StructureError(f"{what} holds a number too large for a float") from None
    if not math.isfinite(v):
        raise StructureError(f"{what} holds a non-finite number ({x!r})")
    return v


def _vector(value, what: str) -> list[float]:
    if not (isinstance(value, list) and len(value) == 3):
        raise StructureError(f"{what} must be a list of 3 numbers")
    return [_number(x, what) for x in value]


def _lattice_from(value) -> Lattice:
    if isinstance(value, list):
        return Lattice(_matrix(value, "lattice"))
    if isinstance(value, dict):
        if "matrix" in value:
            return Lattice(_matrix(value["matrix"], "lattice.matrix"))
        keys = ("a", "b", "c", "alpha", "beta", "gamma")
        if all(k in value for k in keys):
            a, b, c, al, be, ga = (_number(value[k], f"lattice.{k}") for k in keys)
            for name, angle in zip(keys[3:], (al, be, ga)):
                if not 0.0 < angle < 180.0:
                    raise StructureError(f"lattice.{name} is {angle:g}°; a cell angle must lie between 0 and 180°")
            return Lattice.from_parameters(a, b, c, al, be, ga)
    raise StructureError("'lattice' must be a 3×3 matrix, {'matrix': ...} or {'a', 'b', 'c', 'alpha', 'beta', 'gamma'}")


def _site_species(site: dict, i: int) -> str:
    species = site.get("species")
    if isinstance(species, list):
        if len(species) != 1 or not isinstance(species[0], dict):
            raise StructureError(f"site {i} has {len(species) if isinstance(species, list) else 0} species: "
                                 "a disordered site; tensor prediction needs an ordered structure")
        entry = species[0]
        occu = entry.get("occu", 1.0)
        occu = _number(occu, f"site {i} occupancy")
        if abs(occu - 1.0) > 1e-3:
            raise StructureError(f"site {i} has occupancy {occu:g}: only fully occupied (ordered) sites are accepted")
        return _element(entry.get("element"), f"site {i}")
    if isinstance(species, str):
        return _element(species, f"site {i}")
    raise StructureError(f"site {i} names no species")


def structure_from_dict(data) -> Structure:
    """A Structure from plain JSON data, importing nothing the data names.

    Accepted layouts (keys other than these, ``@module``/``@class`` and site properties are
    ignored):

    * pymatgen's ``Structure.as_dict()``: ``lattice`` (``{"matrix": 3×3}`` or a, b, c, α, β, γ in
      Å and degrees), ``sites`` with ``species`` ``[{"element", "occu"}]`` and ``abc``
      (fractional) or ``xyz`` (Cartesian, Å), optional ``charge``;
    * plain: ``lattice`` (3×3 rows, Å), ``species`` (symbols) and ``frac_coords`` or
      ``cart_coords`` (n×3), optional ``charge``.

    Raises:
        StructureError: anything else, naming the offending entry.
    """
    if not isinstance(data, dict) or "lattice" not in data or not ("sites" in data or "species" in data):
        raise StructureError("the JSON is not a pymatgen Structure (needs 'lattice' and 'sites', "
                             "or 'lattice', 'species' and 'frac_coords')")
    lattice = _lattice_from(data["lattice"])
    species: list[str] = []
    coords: list[list[float]] = []
    cartesian = False
    if "sites" in data:
        sites = data["sites"]
        if not isinstance(sites, list):
            raise StructureError("'sites' must be a list")
        if len(sites) > MAX_ATOMS:
            raise StructureError(f"the structure has {len(sites)} sites; the limit is {MAX_ATOMS}")
        kinds = set()
        for i, site in enumerate(sites):
            if not isinstance(site, dict):
                raise StructureError(f"site {i} must be an object")
            species.append(_site_species(site, i))
            if "abc" in site:
                coords.append(_vector(site["abc"], f"site {i} abc"))
                kinds.add("abc")
            elif "xyz" in site:
                coords.append(_vector(site["xyz"], f"site {i} xyz"))
                kinds.add("xyz")
            else:
                raise StructureError(f"site {i} has no coordinates ('abc' or 'xyz')")
        if len(kinds) > 1:
            # Mixed sites: convert Cartesian ones to fractional with the lattice.
            coords = [c if "abc" in s else lattice.get_fractional_coords(c).tolist() for c, s in zip(coords, sites)]
        cartesian = kinds == {"xyz"}
    else:
        raw_species = data["species"]
        if not isinstance(raw_species, list):
            raise StructureError("'species' must be a list of element symbols")
        if len(raw_species) > MAX_ATOMS:
            raise StructureError(f"the structure has {len(raw_species)} sites; the limit is {MAX_ATOMS}")
        species = [_element(s, f"species {i}") for i, s in enumerate(raw_species)]
        key = "frac_coords" if "frac_coords" in data else "cart_coords" if "cart_coords" in data else None
        if key is None:
            raise StructureError("plain JSON needs 'frac_coords' or 'cart_coords'")
        rows = data[key]
        if not isinstance(rows, list) or len(rows) != len(species):
            raise StructureError(f"'{key}' must hold one [x, y, z] per species ({len(species)})")
        coords = [_vector(r, f"{key}[{i}]") for i, r in enumerate(rows)]
        cartesian = key == "cart_coords"
    if not species:
        raise StructureError("the structure has no atoms")
    charge = data.get("charge", 0.0)
    charge = 0.0 if charge is None else _number(charge, "charge")
    return Structure(lattice, species, coords, charge=charge, coords_are_cartesian=cartesian)


def _parse_json(text: str) -> Structure:
    try:
        data = json.loads(text)
    except RecursionError:
        raise StructureError("the JSON is nested too deeply to be a structure") from None
    except json.JSONDecodeError as err:
        raise StructureError(f"invalid JSON: {err.msg} (line {err.lineno}, column {err.colno})") from None
    except ValueError as err:  # e.g. an integer literal beyond Python's digit limit
        raise StructureError(f"invalid JSON: {err}") from None
    return structure_from_dict(data)


# --------------------------------------------------------------------------- extended XYZ


def _parse_extxyz(text: str) -> Structure:
    # Why hand-written: pymatgen's XYZ reader drops the cell (it returns a Molecule), and ASE is not
    # in this project's stack. This reads the common extended-XYZ header: Lattice="9 numbers",
    # optional pbc="T T T" and species + Cartesian positions (Å) as the first four columns.
    lines = text.split("\n")
    if len(lines) < 2:
        raise StructureError("extended XYZ needs an atom count line and a comment line")
    first = lines[0].split()
    if len(first) != 1 or not first[0].isdigit():
        raise StructureError(f"the first line of an XYZ file must be the number of atoms, got {lines[0][:40]!r}")
    n = int(first[0])
    if n == 0:
        raise StructureError("the XYZ file declares 0 atoms")
    if n > MAX_ATOMS:
        raise StructureError(f"the XYZ file declares {n} atoms; the limit is {MAX_ATOMS}")
    header = lines[1]
    match = re.search(r'Lattice\s*=\s*"([^"]*)"', header, flags=re.IGNORECASE)
    if not match:
        raise StructureError('the XYZ file has no Lattice="..." in its second line: it is not periodic (a molecule)')
    tokens = match.group(1).split()
    if len(tokens) != 9:
        raise StructureError(f"Lattice must have 9 numbers, got {len(tokens)}")
    cell = np.array([_float(t, "a Lattice value") for t in tokens]).reshape(3, 3)
    pbc = re.search(r'pbc\s*=\s*"([^"]*)"', header, flags=re.IGNORECASE)
    if pbc:
        flags = pbc.group(1).split()
        if len(flags) != 3 or any(f.upper() not in ("T", "F", "TRUE", "FALSE", "1", "0") for f in flags):
            raise StructureError(f'pbc must be three T/F flags, got "{pbc.group(1)[:40]}"')
        if any(f.upper() in ("F", "FALSE", "0") for f in flags):
            raise StructureError(f'the XYZ file says pbc="{pbc.group(1)}": it is not periodic along all three axes')
    props = re.search(r'Properties\s*=\s*("[^"]*"|\S+)', header, flags=re.IGNORECASE)
    spec = props.group(1).strip('"') if props else "species:S:1:pos:R:3"
    if not spec.lower().startswith("species:s:1:pos:r:3"):
        raise StructureError("only extended XYZ files whose Properties start with species:S:1:pos:R:3 are supported")
    body = lines[2 : 2 + n]
    if len(body) < n or any(not ln.strip() for ln in body):
        have = sum(1 for ln in body if ln.strip())
        raise StructureError(f"the XYZ file declares {n} atoms but has {have} atom lines (truncated?)")
    species, coords = [], []
    for i, ln in enumerate(body):
        parts = ln.split()
        if len(parts) < 4:
            raise StructureError(f"atom line {i + 1} needs a species and 3 coordinates, got {ln[:60]!r}")
        species.append(_element(parts[0], f"atom line {i + 1}"))
        coords.append([_float(x, f"a coordinate on atom line {i + 1}") for x in parts[1:4]])
    return Structure(Lattice(cell), species, coords, coords_are_cartesian=True)


# --------------------------------------------------------------------------- POSCAR


def _parse_poscar(text: str) -> Structure:
    # Checked here, before pymatgen allocates for them: scale, lattice, species and counts (the
    # counts line decides how much is read), and every coordinate line. pymatgen then builds the
    # Structure from text known to be well formed.
    lines = [ln.strip() for ln in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    if len(lines) < 8:
        raise StructureError(f"a POSCAR needs at least 8 lines (comment, scale, 3 lattice vectors, counts, "
                             f"coordinate mode, positions), got {len(lines)}")
    scale_tokens = lines[1].split()
    if len(scale_tokens) not in (1, 3):
        raise StructureError(f"line 2 (scale) must hold 1 or 3 numbers, got {lines[1][:40]!r}")
    scale = [_float(t, "the scale factor (line 2)") for t in scale_tokens]
    if any(s == 0 for s in scale) or (len(scale) == 3 and any(s < 0 for s in scale)):
        raise StructureError(f"the scale factor (line 2) must be non-zero (negative: a volume), got {lines[1][:40]!r}")
    for k in range(2, 5):
        row = lines[k].split()
        if len(row) < 3:
            raise StructureError(f"line {k + 1} must be a lattice vector (3 numbers), got {lines[k][:40]!r}")
        [_float(t, f"lattice vector on line {k + 1}") for t in row[:3]]
    species_line = None
    counts_at = 5
    if not _all_ints(lines[5].split()):
        species_line = lines[5].split()
        counts_at = 6
    counts_tokens = lines[counts_at].split()
    if not counts_tokens or not _all_ints(counts_tokens):
        raise StructureError(f"line {counts_at + 1} must be the atom counts (integers), got {lines[counts_at][:40]!r}")
    counts = [int(t) for t in counts_tokens]
    if any(c < 0 for c in counts) or sum(counts) == 0:
        raise StructureError(f"the atom counts on line {counts_at + 1} must be ≥ 0 and not all 0, got {counts_tokens}")
    total = sum(counts)
    if total > MAX_ATOMS:
        raise StructureError(f"the POSCAR declares {total} atoms; the limit is {MAX_ATOMS}")
    if species_line is not None:
        if len(species_line) != len(counts):
            raise StructureError(f"line {counts_at} names {len(species_line)} species but line {counts_at + 1} "
                                 f"gives {len(counts)} counts")
        for s in species_line:
            _element(s.split("/")[0].split("_")[0], f"species line {counts_at}")
    mode_at = counts_at + 1
    if mode_at < len(lines) and lines[mode_at][:1] in ("s", "S"):
        mode_at += 1  # Selective dynamics
    if mode_at >= len(lines) or lines[mode_at][:1] not in ("d", "D", "c", "C", "k", "K"):
        shown = lines[mode_at][:40] if mode_at < len(lines) else "end of file"
        raise StructureError(f"line {mode_at + 1} must be the coordinate mode (Direct or Cartesian), got {shown!r}")
    body = lines[mode_at + 1 : mode_at + 1 + total]
    if len(body) < total:
        raise StructureError(f"the POSCAR declares {total} atoms but has {len(body)} position lines (truncated?)")
    for i, ln in enumerate(body):
        row = ln.split()
        if len(row) < 3:
            raise StructureError(f"position line {i + 1} (line {mode_at + 2 + i}) needs 3 numbers, got {ln[:60]!r}")
        [_float(t, f"a coordinate on line {mode_at + 2 + i}") for t in row[:3]]
    if species_line is None:
        # VASP 4 layout: pymatgen takes the species from the comment line; it must name them all.
        names = lines[0].split()
        if len(names) < len(counts):
            raise StructureError("the POSCAR has no species line (VASP 5) and its comment line does not name "
                                 f"the {len(counts)} species")
        for s in names[: len(counts)]:
            _element(s, "species in the comment line")
    return Structure.from_str("\n".join(lines[: mode_at + 1 + total]) + "\n", fmt="poscar")


def _all_ints(tokens: list[str]) -> bool:
    return bool(tokens) and all(re.fullmatch(r"[+-]?\d{1,9}", t) for t in tokens)


# --------------------------------------------------------------------------- CIF

_CIF_TOKEN = re.compile(r"""'[^']*'(?=\s|$)|"[^"]*"(?=\s|$)|\S+""")
_SYMOP_TAGS = ("_symmetry_equiv_pos_as_xyz", "_space_group_symop_operation_xyz", "_space_group_symop.operation_xyz",
               "_symmetry_equiv.pos_as_xyz")


def _cif_loops(text: str) -> list[tuple[list[str], list[str], int]]:
    """``(tags, values, first line)`` of every loop of a CIF (lower-case tags; a semicolon text field
    is one value)."""
    loops: list[tuple[list[str], list[str], int]] = []
    tags: list[str] | None = None
    values: list[str] = []
    start = 0
    in_text = False
    reading_tags = False
    for lineno, line in enumerate(text.split("\n"), 1):
        if in_text:
            if line.startswith(";"):
                in_text = False
            continue
        if line.startswith(";"):
            in_text = True
            if tags is not None and not reading_tags:
                values.append(";text;")
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        low = stripped.lower()
        if low.startswith("loop_"):
            if tags is not None:
                loops.append((tags, values, start))
            tags, values, start, reading_tags = [], [], lineno, True
            continue
        if tags is not None and reading_tags and stripped.startswith("_"):
            tags.append(stripped.split()[0].lower())
            continue
        reading_tags = False
        if tags is not None and (stripped.startswith("_") or low.startswith(("data_", "global_", "save_"))):
            loops.append((tags, values, start))
            tags, values = None, []
            continue
        if tags is not None:
            values.extend(_CIF_TOKEN.findall(stripped))
    if tags is not None:
        loops.append((tags, values, start))
    return loops


def _cif_number(token: str) -> float | None:
    # CIF numbers may carry a standard uncertainty in brackets: 0.25(3).
    t = token.split("(")[0]
    if t in ("?", "."):
        return None
    try:
        return float(t)
    except ValueError:
        return None


def _check_cif(text: str) -> tuple[set[str], int]:
    """Checks on a CIF's declared content before pymatgen parses it; returns the ``atom_site``
    labels and the number of rows."""
    if not re.search(r"^\s*data_", text, flags=re.MULTILINE | re.IGNORECASE):
        raise StructureError("the file is not a CIF: it has no data_ block")
    n_ops = 1
    labels: set[str] = set()
    rows = 0
    found_sites = False
    for tags, values, start in _cif_loops(text):
        if not tags:
            raise StructureError(f"the loop_ on line {start} has no tags")
        if len(values) % len(tags):
            raise StructureError(
                f"the loop_ on line {start} ({tags[0]} …) has {len(values)} values for {len(tags)} columns: "
                "it ends mid-row (is the file truncated?)"
            )
        n_rows = len(values) // len(tags)
        if any(t in _SYMOP_TAGS for t in tags):
            if n_rows > MAX_SYMMETRY_OPS:
                raise StructureError(f"the CIF lists {n_rows} symmetry operations; no space group has more than "
                                     f"{MAX_SYMMETRY_OPS}")
            n_ops = max(n_ops, n_rows)
        if "_atom_site_fract_x" in tags or "_atom_site_cartn_x" in tags or "_atom_site.fract_x" in tags:
            found_sites = True
            rows += n_rows
            if rows > MAX_ATOMS:
                raise StructureError(f"the CIF lists {rows} atom sites; the limit is {MAX_ATOMS} atoms")
            table = [values[r * len(tags) : (r + 1) * len(tags)] for r in range(n_rows)]
            col = {t: i for i, t in enumerate(tags)}
            label_col = col.get("_atom_site_label", col.get("_atom_site_type_symbol"))
            occ_col = col.get("_atom_site_occupancy")
            for r, row in enumerate(table):
                label = row[label_col] if label_col is not None else f"row {r + 1}"
                labels.add(label)
                if occ_col is not None:
                    occ = _cif_number(row[occ_col])
                    if row[occ_col] not in ("?", ".") and occ is None:
                        raise StructureError(f"atom site {label[:20]!r} has occupancy {row[occ_col][:20]!r}, not a number")
                    if occ is not None and not (0.0 < occ <= 1.0 + 1e-3):
                        raise StructureError(f"atom site {label[:20]!r} has occupancy {occ:g}; it must be in (0, 1]")
                    if occ is not None and occ < 1.0 - 1e-3:
                        raise StructureError(f"atom site {label[:20]!r} has occupancy {occ:g}: the structure is "
                                             "disordered; tensor prediction needs an ordered structure")
    if not found_sites:
        raise StructureError("the CIF has no atom_site loop with fractional or Cartesian coordinates")
    if rows * n_ops > _MAX_ROWS_TIMES_OPS:
        raise StructureError(f"the CIF's {rows} atom sites × {n_ops} symmetry operations cannot give a cell of at "
                             f"most {MAX_ATOMS} atoms")
    return labels, rows


def _parse_cif(text: str) -> Structure:
    from pymatgen.io.cif import CifParser

    labels, _ = _check_cif(text)
    parser = CifParser.from_str(text)
    structures = parser.parse_structures(primitive=False, on_error="raise")
    if not structures:
        raise StructureError("the CIF holds no structure pymatgen can build")
    structure = structures[0]
    # A row dropped by the parser (bad coordinates, a cut-off file that still parses) means the
    # cell is not the one the file describes: refuse instead of predicting a different crystal.
    got = {site.label for site in structure}
    missing = sorted(lab for lab in labels if lab not in got)
    if missing and all(site.label is not None for site in structure):
        raise StructureError(
            f"the CIF lists atom site(s) {', '.join(m[:20] for m in missing[:5])} that did not become atoms "
            "(truncated or inconsistent file?)"
        )
    return structure


# --------------------------------------------------------------------------- entry points

_PARSERS = {"cif": _parse_cif, "poscar": _parse_poscar, "extxyz": _parse_extxyz, "json": _parse_json}


def parse_structure(text: str, fmt: str) -> Structure:
    """Parse structure text in ``fmt`` (``"cif"``, ``"poscar"``, ``"extxyz"`` or ``"json"``) and
    validate it (:func:`validate_structure`).

    Raises:
        StructureError: the text cannot be read or is not a usable crystal (the message says why).
    """
    if not isinstance(text, str):
        raise StructureError(f"expected structure text, got {type(text).__name__}")
    if len(text) > MAX_FILE_BYTES:
        raise StructureError(f"the text is {len(text):,} characters; the limit is {MAX_FILE_BYTES:,}")
    if "\x00" in text:
        raise StructureError("the text is binary (it contains NUL characters), not a structure file")
    text = _normalize(text)
    if not text.strip():
        raise StructureError("the file is empty")
    if fmt not in _PARSERS:
        raise StructureError(f"unknown format {fmt!r}; expected one of {sorted(FORMATS)}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pymatgen's CIF parser warns about every rounding
            structure = _PARSERS[fmt](text)
    except StructureError as err:
        raise StructureError(f"could not read the {fmt} structure: {err}", unexpected=err.unexpected) from None
    except RecursionError:
        raise StructureError(f"could not read the {fmt} structure: it is nested too deeply") from None
    except MemoryError:
        raise StructureError(f"could not read the {fmt} structure: it needs more memory than allowed") from None
    except Exception as err:  # third-party parsers raise many types on malformed files: refuse, flagged
        raise StructureError(
            f"could not read the {fmt} structure: the parser failed ({type(err).__name__}: {str(err)[:200]})",
            unexpected=True,
        ) from None
    return validate_structure(structure)


def parse_bytes(data: bytes, filename: str, fmt: str | None = None) -> Structure:
    """Decode (:func:`decode_text`) and parse a file's bytes; ``fmt`` defaults to
    :func:`guess_format` of ``filename``."""
    return parse_structure(decode_text(data), fmt or guess_format(filename))


def read_structure(path: str | Path, fmt: str | None = None) -> Structure:
    """Read and validate a structure file (format from the name unless ``fmt`` is given).

    The size is checked before the file is read.
    """
    p = Path(path)
    if not p.is_file():
        raise StructureError(f"no such file: {p}")
    size = p.stat().st_size
    if size > MAX_FILE_BYTES:
        raise StructureError(f"{p.name} is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}")
    fmt = fmt or guess_format(p.name)
    with open(p, "rb") as fh:
        data = fh.read(MAX_FILE_BYTES + 1)  # the file may have grown since stat()
    return parse_structure(decode_text(data), fmt)
