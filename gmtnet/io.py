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
  :data:`MIN_DISTANCE` Å, and a neighbour search whose memory (:func:`gmtnet.graph.neighbor_search_bytes`:
  atoms, their spread in the cell, cell volume, cutoff) stays below
  :data:`~gmtnet.graph.MAX_NEIGHBOR_SEARCH_BYTES`, checked before the search allocates.

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


def _check_matrix(rows, what: str = "the lattice") -> np.ndarray:
    """A 3×3 lattice (rows, Å) that is finite and spans a volume; checked before any coordinate
    conversion inverts it."""
    m = np.asarray(rows, dtype=float)
    if m.shape != (3, 3) or not np.isfinite(m).all():
        raise StructureError(f"{what} must be 3 finite vectors")
    volume = abs(float(np.linalg.det(m)))
    if not np.isfinite(volume) or volume < 1e-6 * max(1.0, float(np.abs(m).max())) ** 3:
        raise StructureError(f"the vectors of {what} are (nearly) linearly dependent: the cell volume is "
                             f"{volume:.3g} Å³ (a zero, flat or degenerate cell)")
    if np.linalg.norm(m, axis=1).max() > MAX_CELL_LENGTH * 1e3:
        raise StructureError(f"{what} has a vector longer than {MAX_CELL_LENGTH * 1e3:g} Å")
    return m


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
    # Lengths ≥ MIN_DISTANCE, angles ≥ MIN_ANGLE and ≥ 1 Å³/atom leave few images in reach, but the
    # search's cube grid grows with the atoms' spread (a 1000 Å cell: 27 GB): bounded before the call.
    try:
        graph.check_neighbor_search(structure, MIN_DISTANCE)
    except ValueError as err:
        raise StructureError(str(err)) from None
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
    if isinstance(value, dict) and "pbc" in value:
        pbc = value["pbc"]
        if not (isinstance(pbc, list) and len(pbc) == 3 and all(p is True for p in pbc)):
            raise StructureError(f"the structure must be periodic along all three axes, got pbc={str(pbc)[:40]}")
    if isinstance(value, list):
        return Lattice(_check_matrix(_matrix(value, "lattice")))
    if isinstance(value, dict):
        if "matrix" in value:
            return Lattice(_check_matrix(_matrix(value["matrix"], "lattice.matrix")))
        keys = ("a", "b", "c", "alpha", "beta", "gamma")
        if all(k in value for k in keys):
            return Lattice(_check_matrix(_matrix_from_parameters(*(_number(value[k], f"lattice.{k}") for k in keys))))
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


def _matrix_from_parameters(a: float, b: float, c: float, alpha: float, beta: float, gamma: float) -> np.ndarray:
    """Lattice rows from a, b, c (Å) and α, β, γ (degrees), after checking that they form a cell."""
    for name, length in zip("abc", (a, b, c)):
        if not 0.0 < length <= MAX_CELL_LENGTH * 1e3:
            raise StructureError(f"cell length {name} is {length:g} Å; it must be positive (and below "
                                 f"{MAX_CELL_LENGTH * 1e3:g} Å)")
    for name, angle in zip(("alpha", "beta", "gamma"), (alpha, beta, gamma)):
        if not 0.0 < angle < 180.0:
            raise StructureError(f"cell angle {name} is {angle:g}°; it must lie strictly between 0 and 180°")
    ca, cb, cg = (math.cos(math.radians(x)) for x in (alpha, beta, gamma))
    if 1.0 - ca * ca - cb * cb - cg * cg + 2.0 * ca * cb * cg <= 1e-12:
        raise StructureError(f"the cell angles {alpha:g}°, {beta:g}°, {gamma:g}° do not form a 3D cell (zero volume)")
    m = Lattice.from_parameters(a, b, c, alpha, beta, gamma).matrix
    _check_thickness(m)
    return m


def _check_thickness(m: np.ndarray) -> None:
    # The distance between opposite faces of the cell; below MIN_DISTANCE every atom overlaps its
    # own periodic image (pymatgen's CIF parser refuses such cells with a less helpful message).
    volume = abs(float(np.linalg.det(m)))
    for i, name in enumerate(("b-c", "a-c", "a-b")):
        j, k = [x for x in range(3) if x != i]
        area = float(np.linalg.norm(np.cross(m[j], m[k])))
        thickness = volume / area if area > 0 else 0.0
        if not thickness >= MIN_DISTANCE:
            raise StructureError(f"the cell is only {thickness:.3g} Å thick across its {name} faces; at least "
                                 f"{MIN_DISTANCE} Å is needed (a flat or degenerate cell)")


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
    cell = _check_matrix(np.array([_float(t, "a Lattice value") for t in tokens]).reshape(3, 3), "Lattice")
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
    rows = []
    for k in range(2, 5):
        row = lines[k].split()
        if len(row) != 3:
            raise StructureError(f"line {k + 1} must be a lattice vector (3 numbers), got {lines[k][:40]!r}")
        rows.append([_float(t, f"lattice vector on line {k + 1}") for t in row])
    _check_matrix(rows, "the lattice (lines 3-5)")
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
    return bool(tokens) and all(re.fullmatch(r"[+-]?\d{1,18}", t) for t in tokens)


# --------------------------------------------------------------------------- CIF

_CIF_TOKEN = re.compile(r"""'[^']*'(?=\s|$)|"[^"]*"(?=\s|$)|\S+""")
_SYMOP_TAGS = ("_symmetry_equiv_pos_as_xyz", "_space_group_symop_operation_xyz", "_space_group_symop.operation_xyz",
               "_symmetry_equiv.pos_as_xyz")


def _cif_loops(text: str) -> list[tuple[list[str], list[str], int]]:
    """``(tags, values, first line)`` of every loop of a CIF (lower-case tags; a semicolon text field
    is one value). Raises StructureError for a data item without a value, a tag given twice in one
    block, or a value outside any item or loop (the parser would misread such a file)."""
    loops: list[tuple[list[str], list[str], int]] = []
    tags: list[str] | None = None
    values: list[str] = []
    start = 0
    in_text = False
    reading_tags = False
    pending: tuple[str, int] | None = None  # a data item whose value is on a later line
    seen: set[str] = set()

    def close() -> None:
        nonlocal tags, values
        if tags is not None:
            loops.append((tags, values, start))
        tags, values = None, []

    def new_tag(tag: str, lineno: int) -> str:
        tag = tag.lower()
        if tag in seen:
            raise StructureError(f"the CIF gives {tag[:40]} twice (line {lineno})")
        seen.add(tag)
        return tag

    for lineno, line in enumerate(text.split("\n"), 1):
        if in_text:
            if line.startswith(";"):
                in_text = False
            continue
        if line.startswith(";"):
            in_text = True
            if pending is not None:
                pending = None
            elif tags is not None and not reading_tags:
                values.append(";text;")
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        low = stripped.lower()
        is_keyword = stripped.startswith("_") or low.startswith(("loop_", "data_", "global_", "save_"))
        if pending is not None:
            if is_keyword:
                raise StructureError(f"the data item {pending[0][:40]} on line {pending[1]} has no value")
            pending = None
            continue
        if low.startswith(("data_", "global_", "save_")):
            close()
            seen = set()
            continue
        if low.startswith("loop_"):
            close()
            tags, values, start, reading_tags = [], [], lineno, True
            continue
        if tags is not None and reading_tags and stripped.startswith("_"):
            tags.append(new_tag(stripped.split()[0], lineno))
            continue
        reading_tags = False
        if stripped.startswith("_"):
            close()
            parts = stripped.split(None, 1)
            new_tag(parts[0], lineno)
            if len(parts) == 1:
                pending = (parts[0], lineno)
            continue
        if tags is None:
            raise StructureError(f"line {lineno} holds a value outside any data item or loop: {stripped[:40]!r}")
        values.extend(_CIF_TOKEN.findall(stripped))
    if pending is not None:
        raise StructureError(f"the data item {pending[0][:40]} on line {pending[1]} has no value (is the file truncated?)")
    if in_text:
        raise StructureError("a ;-delimited text field is never closed (is the file truncated?)")
    close()
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


_CELL_TAGS = ("_cell_length_a", "_cell_length_b", "_cell_length_c", "_cell_angle_alpha", "_cell_angle_beta",
              "_cell_angle_gamma")
# An atom type: an element symbol, optionally with an oxidation state (Fe3+, O2-, Fe+3).
_CIF_TYPE = re.compile(r"([A-Z][a-z]?)(?:\d*[+-]|[+-]\d*)?")
# One term of a symmetry-operation component: a number or fraction, or an optionally scaled axis.
_OP_TERM = re.compile(r"(?:\d+(?:\.\d+)?(?:/[1-9]\d*)?|(?:\d+(?:\.\d+)?\*?)?[xyz](?:/[1-9]\d*)?)")


def _check_cell(text: str) -> None:
    values = []
    for tag in _CELL_TAGS:
        m = re.search(rf"^\s*{tag}\s+(\S+)", text, flags=re.MULTILINE | re.IGNORECASE)
        if not m:
            raise StructureError(f"the CIF has no {tag}")
        x = _cif_number(m.group(1))
        if x is None or not math.isfinite(x):
            raise StructureError(f"{tag} is {m.group(1)[:20]!r}, not a finite number")
        values.append(x)
    _matrix_from_parameters(*values)


def _op_component_ok(p: str) -> bool:
    terms = re.findall(r"[+-]?[^+-]+", p)
    return bool(terms) and "".join(terms) == p and all(_OP_TERM.fullmatch(t.lstrip("+-")) for t in terms)


def _check_symop(op: str) -> None:
    parts = op.strip("'\"").replace(" ", "").lower().split(",")
    if len(parts) != 3 or not all(_op_component_ok(p) for p in parts):
        raise StructureError(f"symmetry operation {op[:40]!r} is not of the form 'x, y, z' / '-y+1/2, x, z'")


def _check_cif(text: str) -> tuple[set[str], int]:
    """Checks on a CIF's declared content before pymatgen parses it; returns the ``atom_site``
    labels and the number of rows."""
    starts = [m.start() for m in re.finditer(r"^[ \t]*data_", text, flags=re.MULTILINE | re.IGNORECASE)]
    if not starts:
        raise StructureError("the file is not a CIF: it has no data_ block")
    before = [ln for ln in text[: starts[0]].split("\n") if ln.strip() and not ln.strip().startswith("#")]
    if before:
        raise StructureError(f"the CIF has content before its first data_ block: {before[0].strip()[:40]!r}")
    _cif_loops(text)  # the whole file must be well formed
    labels: set[str] = set()
    rows = 0
    for i, (a, b) in enumerate(zip(starts, starts[1:] + [len(text)])):
        block_labels, block_rows = _check_cif_block(text[a:b])
        if block_rows == 0 and len(starts) > 1:
            # pymatgen's parser stops at an empty block with an unhelpful message: say it here.
            name = text[a:b].split(None, 1)[0] if text[a:b].strip() else "data_"
            raise StructureError(
                f"the CIF's data block {i + 1} of {len(starts)} ({name[:40]!r}) has no atom sites; "
                "give one structure per file"
            )
        labels |= block_labels
        rows += block_rows
    if rows == 0:
        raise StructureError("the CIF has no atom_site loop with fractional or Cartesian coordinates")
    if rows > MAX_ATOMS:
        raise StructureError(f"the CIF lists {rows} atom sites; the limit is {MAX_ATOMS} atoms")
    return labels, rows


def _check_cif_block(text: str) -> tuple[set[str], int]:
    """The checks of :func:`_check_cif` on one data block; a block without atom sites is skipped."""
    n_ops = 1
    labels: set[str] = set()
    rows = 0
    found_sites = False
    loops = _cif_loops(text)
    if any("_atom_site_fract_x" in tags or "_atom_site_cartn_x" in tags for tags, _, _ in loops):
        _check_cell(text)
    for tags, values, start in loops:
        if not tags:
            raise StructureError(f"the loop_ on line {start} has no tags")
        if not values:
            raise StructureError(f"the loop_ on line {start} ({tags[0]} …) has no values (is the file truncated?)")
        if len(values) % len(tags):
            raise StructureError(
                f"the loop_ on line {start} ({tags[0]} …) has {len(values)} values for {len(tags)} columns: "
                "it ends mid-row (is the file truncated?)"
            )
        n_rows = len(values) // len(tags)
        col = {t: i for i, t in enumerate(tags)}
        table = [values[r * len(tags) : (r + 1) * len(tags)] for r in range(n_rows)]
        op_tag = next((t for t in tags if t in _SYMOP_TAGS), None)
        if op_tag is not None:
            if n_rows > MAX_SYMMETRY_OPS:
                raise StructureError(f"the CIF lists {n_rows} symmetry operations; no space group has more than "
                                     f"{MAX_SYMMETRY_OPS}")
            for row in table:
                _check_symop(row[col[op_tag]])
            n_ops = max(n_ops, n_rows)
        if "_atom_site_fract_x" in tags or "_atom_site_cartn_x" in tags:
            found_sites = True
            rows += n_rows
            if rows > MAX_ATOMS:
                raise StructureError(f"the CIF lists {rows} atom sites; the limit is {MAX_ATOMS} atoms")
            if "_atom_site_label" not in col:
                raise StructureError("the atom_site loop has no _atom_site_label column")
            axes = [t for t in tags if re.fullmatch(r"_atom_site_(fract|cartn)_[xyz]", t)]
            if len(axes) != 3:
                raise StructureError(f"the atom_site loop has coordinate columns {axes}; it needs x, y and z")
            type_col = col.get("_atom_site_type_symbol")
            occ_col = col.get("_atom_site_occupancy")
            seen: dict[tuple, str] = {}
            for row in table:
                label = row[col["_atom_site_label"]]
                labels.add(label)
                symbol = row[type_col] if type_col is not None else label
                match = _CIF_TYPE.match(symbol.strip("'\""))
                exact = type_col is None or (match and match.end() == len(symbol.strip("'\"")))
                if not (match and exact and Element.is_valid_symbol(match.group(1))):
                    raise StructureError(f"atom site {label[:20]!r} has type {symbol[:20]!r}, not a chemical element")
                xyz = []
                for axis in axes:
                    x = _cif_number(row[col[axis]])
                    if x is None or not math.isfinite(x):
                        raise StructureError(f"atom site {label[:20]!r}: {axis} is {row[col[axis]][:20]!r}, not a number")
                    xyz.append(x)
                key = tuple(round(x, 4) for x in xyz)
                if key in seen:
                    raise StructureError(f"atom sites {seen[key][:20]!r} and {label[:20]!r} are at the same position")
                seen[key] = label
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
        return labels, 0
    if rows * n_ops > _MAX_ROWS_TIMES_OPS:
        raise StructureError(f"the CIF's {rows} atom sites × {n_ops} symmetry operations cannot give a cell of at "
                             f"most {MAX_ATOMS} atoms")
    return labels, rows


def _parse_cif(text: str) -> Structure:
    from pymatgen.io.cif import CifParser

    labels, _ = _check_cif(text)
    parser = CifParser.from_str(text)
    try:
        structures = parser.parse_structures(primitive=False, on_error="raise")
    except ValueError as err:
        # Symmetry operations that map atoms onto each other sum their occupancies.
        m = re.search(r"Occupancy ([\d.]+) exceeded tolerance", str(err))
        if m:
            raise StructureError(f"atoms generated by the CIF's symmetry operations overlap (occupancy {m.group(1)} "
                                 "at one position): duplicated sites or operations?") from None
        raise
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
    declared = _declared_formula(text)
    if declared is not None and not declared.almost_equals(structure.composition.reduced_composition, rtol=1e-3):
        raise StructureError(
            f"the CIF declares the formula {declared.reduced_formula} but its atom sites give "
            f"{structure.composition.reduced_formula} (truncated or inconsistent file?)"
        )
    return structure


def _declared_formula(text: str):
    """Reduced composition of ``_chemical_formula_sum``, or None when absent or not a plain formula."""
    from pymatgen.core import Composition

    m = re.search(r"""^\s*_chemical_formula_sum\s+(?:'([^']*)'|"([^"]*)"|(\S+))""", text,
                  flags=re.MULTILINE | re.IGNORECASE)
    if not m:
        return None
    formula = next(g for g in m.groups() if g is not None).strip()
    # Only plain "El n El n" formulas: no brackets for the formula parser to recurse into.
    if not formula or len(formula) > 200 or not re.fullmatch(r"[A-Za-z0-9.\s]+", formula):
        return None
    try:
        comp = Composition(formula)
    except Exception:  # a free-text formula: nothing to compare with
        return None
    if comp.num_atoms <= 0 or not all(getattr(el, "Z", 0) >= 1 for el in comp.elements):
        return None
    return comp.reduced_composition


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
    except MemoryError:  # the checks above should make this impossible: flagged
        raise StructureError(f"could not read the {fmt} structure: it needs more memory than allowed",
                             unexpected=True) from None
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
