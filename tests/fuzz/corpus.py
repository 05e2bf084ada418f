"""Seeded generator of a hostile-input corpus: malformed, adversarial and valid structure files.

``generate(seed)`` returns the same list of :class:`Case` for the same seed (the files are not
committed; this generator is). Categories (see :data:`CATEGORIES`): valid controls from the bundled
crystals in every format, 1-atom cells, BOM/CRLF variants, truncations (random and at line ends),
random bytes, empty files, huge files, NaN/inf, singular and zero-angle lattices, overlapping
atoms, disordered sites, unknown elements, very flat or long cells, tiny cells, wrong-schema, deep
and ``@module``-naming JSON, CIF symmetry-operation bombs, wrong declared counts, too many atoms,
wrong extensions, non-periodic files, gzip, and random mutations of valid files; ``big_cell``: large
empty cells and long thin cells within the accepted lengths, whose neighbour search would need
gigabytes unless refused first (:func:`gmtnet.graph.check_neighbor_search`).

``expect`` says what a correct reader does: ``"valid"`` (must be read and predicted),
``"invalid"`` (must be refused with a clear message) or ``"any"`` (either, but never a crash, hang,
memory blow-up or unclear message).
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass

import numpy as np
from pymatgen.core import Lattice, Structure
from pymatgen.io.cif import CifWriter

__all__ = ["Case", "CATEGORIES", "generate", "write_format", "worst_cases"]

CATEGORIES = (
    "valid", "one_atom", "bom_crlf", "truncated", "truncated_lines", "random_bytes", "empty", "huge",
    "nan_inf", "singular", "overlap", "disordered", "unknown_element", "flat_long", "big_cell", "tiny_cell",
    "json_schema", "json_module", "symop_bomb", "wrong_counts", "too_many_atoms", "wrong_extension",
    "nonperiodic", "gzip", "mutation",
)
FORMATS = ("cif", "cif_sym", "poscar", "extxyz", "json")
_NAMES = {"cif": "x.cif", "cif_sym": "x.cif", "poscar": "POSCAR", "extxyz": "x.xyz", "json": "x.json"}
# Bundled crystals used as valid controls: small cells (fast to predict), chosen by the seed.
_N_CONTROLS = 30
_MAX_CONTROL_SITES = 10


@dataclass(frozen=True)
class Case:
    """One corpus file: its name (selects the format), bytes, category and expected outcome."""

    name: str
    data: bytes
    category: str
    expect: str


# --------------------------------------------------------------------------- writers


def write_format(s: Structure, fmt: str) -> str:
    """Text of ``s`` in one of :data:`FORMATS` (``cif_sym``: a symmetrized CIF listing its operations)."""
    if fmt == "cif":
        return str(CifWriter(s))
    if fmt == "cif_sym":
        return str(CifWriter(s, symprec=0.01))
    if fmt == "poscar":
        return s.to(fmt="poscar")
    if fmt == "extxyz":
        return _extxyz(s.lattice.matrix, [str(x.specie) for x in s], s.cart_coords)
    if fmt == "json":
        return json.dumps(s.as_dict())
    raise ValueError(fmt)


def _extxyz(matrix, species, cart, pbc: str = "T T T", count: str | None = None) -> str:
    cell = " ".join(repr(float(x)) if isinstance(x, (float, np.floating)) else str(x) for x in np.ravel(matrix))
    lines = [count if count is not None else str(len(species)),
             f'Lattice="{cell}" Properties=species:S:1:pos:R:3 pbc="{pbc}"']
    lines += [f"{sp} {x!r} {y!r} {z!r}" for sp, (x, y, z) in zip(species, np.asarray(cart, dtype=float).tolist())]
    return "\n".join(lines) + "\n"


def _poscar(matrix_rows: list[str], species: list[str], counts: list[str], coords: list[str],
            scale: str = "1.0", mode: str = "Direct") -> str:
    return "\n".join(["fuzz", scale, *matrix_rows, " ".join(species), " ".join(counts), mode, *coords]) + "\n"


def _cif(cell: dict, rows: list[str], ops: list[str] | None = None, occupancy: bool = True,
         formula: str | None = None) -> str:
    head = ["data_fuzz"] + [f"_cell_{k} {v}" for k, v in cell.items()]
    if formula:
        head.append(f"_chemical_formula_sum '{formula}'")
    head += ["loop_", "_symmetry_equiv_pos_as_xyz"] + [f"'{op}'" for op in (ops or ["x, y, z"])]
    tags = ["_atom_site_label", "_atom_site_type_symbol", "_atom_site_fract_x", "_atom_site_fract_y",
            "_atom_site_fract_z"] + (["_atom_site_occupancy"] if occupancy else [])
    return "\n".join(head + ["loop_", *tags, *rows]) + "\n"


_CUBIC = {"length_a": 4.0, "length_b": 4.0, "length_c": 4.0, "angle_alpha": 90, "angle_beta": 90, "angle_gamma": 90}


# --------------------------------------------------------------------------- sources


def _controls(rng: np.random.Generator) -> list[tuple[str, Structure]]:
    from gmtnet.catalog import build_catalog, reference_structure

    cat = build_catalog()
    ids = sorted(cat.loc[cat["nsites"] <= _MAX_CONTROL_SITES, "material_id"])
    chosen = sorted(rng.choice(ids, size=_N_CONTROLS, replace=False).tolist())
    if "mp-29521" not in chosen:  # the issue's truncated-CIF example
        chosen[0] = "mp-29521"
    return [(mid, reference_structure(mid)) for mid in chosen]


def _one_atom() -> list[Structure]:
    a = 3.35
    return [
        Structure(Lattice.cubic(a), ["Po"], [[0, 0, 0]]),
        Structure(Lattice(0.5 * 2.87 * (1 - 2 * np.eye(3)) * -1), ["Fe"], [[0, 0, 0]]),
        Structure(Lattice(0.5 * 3.61 * (1 - np.eye(3))), ["Cu"], [[0, 0, 0]]),
        Structure(Lattice.hexagonal(3.21, 5.21), ["Mg"], [[0, 0, 0]]),
        Structure(Lattice.from_parameters(4.1, 4.7, 5.3, 80, 95, 105), ["Si"], [[0.1, 0.2, 0.3]]),
    ]


# --------------------------------------------------------------------------- generator


def generate(seed: int = 0) -> list[Case]:
    """The corpus for ``seed`` (deterministic); ≥ 1,000 cases over :data:`CATEGORIES`."""
    rng = np.random.default_rng(seed)
    cases: list[Case] = []

    def add(name: str, data: bytes | str, category: str, expect: str) -> None:
        cases.append(Case(name, data.encode() if isinstance(data, str) else data, category, expect))

    controls = _controls(rng)
    texts: list[tuple[str, str, Structure]] = []  # (format, text, structure)
    for mid, s in controls:
        for fmt in FORMATS:
            t = write_format(s, fmt)
            texts.append((fmt, t, s))
            add(f"{mid}_{fmt}_{_NAMES[fmt]}" if fmt != "poscar" else f"POSCAR_{mid}", t, "valid", "valid")
    for i, s in enumerate(_one_atom()):
        for fmt in ("cif", "poscar", "extxyz", "json"):
            add(f"one{i}_{_NAMES[fmt]}" if fmt != "poscar" else f"POSCAR_one{i}", write_format(s, fmt), "one_atom", "valid")

    def pick(k: int):
        return [texts[j] for j in rng.choice(len(texts), size=k, replace=False)]

    def name_of(fmt: str, tag: str) -> str:
        return f"POSCAR_{tag}" if fmt == "poscar" else f"{tag}_{_NAMES[fmt]}"

    # BOM / CRLF / CR line ends: the same crystal, still valid.
    for j, (fmt, t, _) in enumerate(pick(40)):
        variant = ["\ufeff" + t, t.replace("\n", "\r\n"), "\ufeff" + t.replace("\n", "\r\n"), t.replace("\n", "\r")][j % 4]
        add(name_of(fmt, f"bom{j}"), variant.encode("utf-8"), "bom_crlf", "valid")

    # Truncation at random bytes (may still be a smaller valid file: any) ...
    for j, (fmt, t, _) in enumerate(pick(120)):
        cut = int(rng.integers(0, len(t)))
        add(name_of(fmt, f"cut{j}"), t[:cut], "truncated", "any")
    # ... and after whole lines inside the atom list: a file that lost atoms must be refused.
    mid, s = next((m, x) for m, x in controls if m == "mp-29521")
    add("mp-29521_cut714.cif", s.to(fmt="cif")[:714], "truncated_lines", "invalid")
    for j, (fmt, t, st) in enumerate(pick(60)):
        if fmt == "json" or len(st) < 2:
            continue
        lines = t.split("\n")
        body_end = len(lines) - 1 if lines[-1] == "" else len(lines)
        keep = body_end - int(rng.integers(1, len(st)))  # drop 1 … n-1 atom lines at the end
        add(name_of(fmt, f"cutlines{j}"), "\n".join(lines[:keep]) + "\n", "truncated_lines", "invalid")

    # Random bytes / printable noise / CIF-ish tokens, under every extension.
    vocab = ["data_", "loop_", "_cell_length_a", "_atom_site_fract_x", "'x, y, z'", "1.0", "Zn", "O", ";", "#",
             "_symmetry_equiv_pos_as_xyz", "Direct", "Lattice=", '"', "{", "}", "[", "]", "\n"]
    exts = ["x.cif", "POSCAR", "x.xyz", "x.json", "x.vasp", "x.extxyz"]
    for j in range(72):
        n = int(rng.integers(1, 4096))
        kind = j % 3
        if kind == 0:
            data = rng.integers(0, 256, size=n, dtype=np.uint8).tobytes()
        elif kind == 1:
            data = bytes(rng.integers(32, 127, size=n, dtype=np.uint8).tolist())
        else:
            data = " ".join(rng.choice(vocab, size=n // 8 + 1).tolist()).encode()
        add(f"rand{j}_{exts[j % len(exts)]}", data, "random_bytes", "invalid")

    for j, data in enumerate([b"", b" ", b"\n\n\n", b"\t \r\n", "\ufeff".encode(), b"\r"]):
        for ext in ("x.cif", "POSCAR"):
            add(f"empty{j}_{ext}", data, "empty", "invalid")

    big_cif = write_format(controls[1][1], "cif")
    add("huge_comment.cif", "#" * 2_100_000, "huge", "invalid")
    add("huge_pad.cif", big_cif + "#" + "x" * 2_000_001 + "\n", "huge", "invalid")
    add("huge_lines.xyz", "1\n" + "a" * 2_500_000, "huge", "invalid")
    add("huge_json.json", "[" + "0," * 1_100_000 + "0]", "huge", "invalid")
    add("near_limit.cif", big_cif + ("# padding line\n" * 120_000), "huge", "valid")
    add("near_limit.json", json.dumps({**controls[2][1].as_dict(), "padding": "p" * 1_800_000}), "huge", "valid")

    # NaN / inf in the lattice or a coordinate, in every format.
    bad_numbers = ["nan", "NaN", "inf", "-inf", "1e999", "-1e999", "Infinity"]
    for j in range(63):
        mid, s = controls[j % len(controls)]
        bad = bad_numbers[j % len(bad_numbers)]
        where = j % 9
        m = s.lattice.matrix.astype(object).copy()
        cart = s.cart_coords.astype(object).copy()
        if where < 3:
            m[where, where] = bad
        elif where < 6:
            cart[0, where - 3] = bad
        fmt = ["extxyz", "poscar", "json", "cif"][j % 4]
        if fmt == "extxyz":
            text = _extxyz(m, [str(x.specie) for x in s], cart if where >= 3 else s.cart_coords)
            if where >= 6:
                text = text.replace(repr(float(s.cart_coords[0, 0])), bad, 1)
        elif fmt == "poscar":
            rows = [" ".join(str(x) for x in r) for r in m]
            coords = [" ".join(str(x) for x in r) for r in s.frac_coords.astype(object)]
            if where >= 3:
                coords[0] = f"{bad} 0 0"
            sp = sorted({str(x.specie) for x in s}, key=[str(x.specie) for x in s].index)
            counts = [str(sum(1 for x in s if str(x.specie) == e)) for e in sp]
            order = sorted(range(len(s)), key=lambda i: sp.index(str(s[i].specie)))
            coords = [coords[i] for i in order]
            text = _poscar(rows, sp, counts, coords)
        elif fmt == "json":
            d = s.as_dict()
            value = {"nan": float("nan"), "NaN": float("nan"), "inf": float("inf"), "-inf": float("-inf"),
                     "1e999": float("inf"), "-1e999": float("-inf"), "Infinity": float("inf")}[bad]
            if where < 3:
                d["lattice"]["matrix"][where][where] = value
            else:
                d["sites"][0]["abc"][where % 3] = value
                d["sites"][0].pop("xyz", None)
            text = json.dumps(d)  # writes NaN / Infinity literals, as Python's json does
        else:
            keys = ["length_a", "length_b", "length_c", "angle_alpha", "angle_beta", "angle_gamma"]
            cell = dict(_CUBIC)
            cell[keys[where % 6]] = bad
            text = _cif(cell, ["Zn1 Zn 0 0 0 1", "O1 O 0.5 0.5 0.5 1"])
        add(name_of(fmt, f"nan{j}"), text, "nan_inf", "invalid")

    # Singular, zero-angle and inverted lattices.
    singular = [
        [[0, 0, 0], [0, 0, 0], [0, 0, 0]],
        [[4, 0, 0], [8, 0, 0], [0, 0, 4]],
        [[4, 0, 0], [0, 4, 0], [4, 4, 0]],
        [[4, 0, 0], [0, 4, 0], [0, 0, 0]],
        [[4, 0, 0], [4, 1e-9, 0], [0, 0, 4]],
        [[1e-12, 0, 0], [0, 1e-12, 0], [0, 0, 1e-12]],
    ]
    for j in range(42):
        m = singular[j % len(singular)]
        fmt = ["extxyz", "poscar", "json"][j % 3]
        species, frac = ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]]
        if fmt == "extxyz":
            text = _extxyz(np.array(m, dtype=float), species, np.array(frac) @ np.array(m, dtype=float))
        elif fmt == "poscar":
            text = _poscar([" ".join(map(str, r)) for r in m], species, ["1", "1"], [" ".join(map(str, f)) for f in frac])
        else:
            text = json.dumps({"lattice": m, "species": species, "frac_coords": frac})
        add(name_of(fmt, f"singular{j}"), text, "singular", "invalid")
    for j, (k, v) in enumerate([("angle_alpha", 0), ("angle_beta", 180), ("angle_gamma", 0.0001), ("angle_alpha", 360),
                                ("angle_gamma", -90), ("length_a", 0), ("length_b", -4), ("angle_alpha", 179.99)] * 2):
        cell = dict(_CUBIC)
        cell[k] = v
        ops = None if j < 8 else ["x, y, z", "-x, -y, -z"]
        add(f"zeroangle{j}.cif", _cif(cell, ["Na1 Na 0 0 0 1", "Cl1 Cl 0.5 0.5 0.5 1"], ops=ops), "singular", "invalid")

    # Overlapping atoms.
    for j in range(30):
        mid, s = controls[j % len(controls)]
        gap = [0.0, 1e-6, 0.01, 0.1, 0.3][j % 5]
        t = s.copy()
        t.append(t[0].specie, t.cart_coords[0] + np.array([gap, 0, 0]), coords_are_cartesian=True)
        fmt = ["extxyz", "json", "poscar"][j % 3]
        text = _extxyz(t.lattice.matrix, [str(x.specie) for x in t], t.cart_coords) if fmt == "extxyz" else (
            json.dumps(t.as_dict()) if fmt == "json" else t.to(fmt="poscar"))
        add(name_of(fmt, f"overlap{j}"), text, "overlap", "invalid")

    # Disordered sites: partial, zero, negative, > 1 and non-numeric occupancies; mixed JSON sites.
    occs = ["0.5", "0", "-1", "1.5", "abc", "0.0001", "0.999(2)", "-0.5", "2", "1e-9"]
    for j, occ in enumerate(occs * 2):
        rows = ["Fe1 Fe 0 0 0 1", f"Co1 Co 0.5 0.5 0.5 {occ}"]
        if j >= len(occs):
            rows = ["Fe1 Fe 0 0 0 1", f"Co1 Co 0.5 0.5 0.5 {occ}", "Ni1 Ni 0.5 0.5 0.5 0.5"]
        add(f"occ{j}.cif", _cif(_CUBIC, rows), "disordered", "any" if occ == "0.999(2)" and j < len(occs) else "invalid")
    for j in range(10):
        mid, s = controls[j]
        d = s.as_dict()
        if j % 2:
            d["sites"][0]["species"] = [{"element": "Fe", "occu": 0.5}, {"element": "Co", "occu": 0.5}]
        else:
            d["sites"][0]["species"][0]["occu"] = [0.5, 0, -1, 1.5, "x"][j // 2]
        add(f"disorder{j}.json", json.dumps(d), "disordered", "invalid")

    # Unknown elements and dummy species.
    unknown = ["Xx", "X", "Qq", "Zn2+", "123", "Uuo9", "e", "Ee", "DUMMY", "Xe!"]
    for j in range(40):
        sym = unknown[j % len(unknown)]
        fmt = ["extxyz", "poscar", "json", "cif"][j % 4]
        if fmt == "extxyz":
            text = _extxyz(np.eye(3) * 4, [sym, "Cl"], [[0, 0, 0], [2, 2, 2]])
        elif fmt == "poscar":
            text = _poscar(["4 0 0", "0 4 0", "0 0 4"], [sym, "Cl"], ["1", "1"], ["0 0 0", "0.5 0.5 0.5"])
        elif fmt == "json":
            text = json.dumps({"lattice": (np.eye(3) * 4).tolist(), "sites": [
                {"species": [{"element": sym, "occu": 1}], "abc": [0, 0, 0]},
                {"species": [{"element": "Cl", "occu": 1}], "abc": [0.5, 0.5, 0.5]}]})
        else:
            text = _cif(_CUBIC, [f"A1 {sym} 0 0 0 1", "Cl1 Cl 0.5 0.5 0.5 1"])
        add(name_of(fmt, f"elem{j}"), text, "unknown_element", "any" if (fmt, sym) == ("cif", "Zn2+") else "invalid")

    # Very flat or very long cells, extreme angles.
    flat = [(0.05, 4, 4, 90, 90, 90), (4, 4, 1e4, 90, 90, 90), (4, 4, 1e6, 90, 90, 90), (4, 4, 4, 1, 90, 90),
            (4, 4, 4, 90, 179.5, 90), (4, 4, 4, 90, 90, 2), (0.3, 0.3, 0.3, 90, 90, 90), (4, 4, 4, 120, 120, 120),
            (4, 4, 4, 60, 60, 150), (1e-3, 1e3, 1e3, 90, 90, 90)]
    for j in range(40):
        a, b, c, al, be, ga = flat[j % len(flat)]
        fmt = ["json", "extxyz", "poscar", "cif"][j % 4]
        try:
            lat = Lattice.from_parameters(a, b, c, al, be, ga)
            m = lat.matrix
        except Exception:
            m = np.eye(3) * 4
        if fmt == "json":
            text = json.dumps({"lattice": {"a": a, "b": b, "c": c, "alpha": al, "beta": be, "gamma": ga},
                               "species": ["Na", "Cl"], "frac_coords": [[0, 0, 0], [0.5, 0.5, 0.5]]})
        elif fmt == "extxyz":
            text = _extxyz(m, ["Na", "Cl"], np.array([[0, 0, 0], [0.5, 0.5, 0.5]]) @ m)
        elif fmt == "poscar":
            text = _poscar([" ".join(repr(float(x)) for x in r) for r in m], ["Na", "Cl"], ["1", "1"], ["0 0 0", "0.5 0.5 0.5"])
        else:
            cell = dict(zip(_CUBIC, (a, b, c, al, be, ga)))
            text = _cif(cell, ["Na1 Na 0 0 0 1", "Cl1 Cl 0.5 0.5 0.5 1"])
        add(name_of(fmt, f"flat{j}"), text, "flat_long", "invalid" if (a, b, c, al, be, ga) != flat[7] else "any")
    # Long but sane: a 2-atom cell with 40 Å of vacuum (slab-like).
    for j, fmt in enumerate(("json", "extxyz", "poscar", "cif")):
        s = Structure(Lattice.from_parameters(4, 4, 40, 90, 90, 90), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.05]])
        add(name_of(fmt, f"slab{j}"), write_format(s, fmt), "flat_long", "any")

    # Large empty and long thin cells inside the accepted lengths (≤ 1000 Å): the neighbour search's
    # cube grid spans the atoms' spread, so atoms far apart in a big cell cost gigabytes (1000 Å,
    # corner + centre: 30 GB) and must be refused before the search; atoms huddled in one corner of
    # the same cell, or a thin rod, cost little and may be read.
    big = [
        ((1000, 1000, 1000), [[0, 0, 0], [0.5, 0.5, 0.5]], "invalid"),
        ((1000, 1000, 1000), [[0, 0, 0], [0.999, 0.999, 0.999]], "invalid"),
        ((600, 600, 600), [[0, 0, 0], [0.5, 0.5, 0.5]], "invalid"),
        ((1000, 1000, 1000), [[0, 0, 0], [0.003, 0.003, 0.003]], "any"),
        ((1000, 1000, 5), [[0, 0, 0], [0.5, 0.5, 0.5]], "any"),  # ~0.3 GB: under the limit
        ((3, 3, 1000), [[0, 0, 0], [0.5, 0.5, 0.5]], "any"),
        ((0.6, 0.6, 1000), [[0, 0, 0], [0.5, 0.5, 0.9]], "any"),
        ((2, 1000, 1000), [[0, 0, 0], [0.5, 0.5, 0.5]], "any"),
        ((400, 400, 400), np.random.default_rng(seed).random((20, 3)).tolist(), "invalid"),  # 20 atoms spread out
    ]
    for j, ((a, b, c), frac, expect) in enumerate(big):
        fmt = ["json", "extxyz", "poscar", "cif"][j % 4]
        s = Structure(Lattice.orthorhombic(a, b, c), ["Na", "Cl"] * (len(frac) // 2), frac)
        add(name_of(fmt, f"big{j}"), write_format(s, fmt), "big_cell", expect)

    # Tiny cells (0.002 Å³ and friends: the numbers of a valid file in the wrong unit).
    for j, scale in enumerate([0.1, 0.05, 0.01, 0.001, 1e-5] * 2):
        mid, s = controls[j]
        t = Structure(Lattice(s.lattice.matrix * scale), s.species, s.frac_coords)
        fmt = ["json", "poscar", "extxyz", "cif", "json"][j % 5]
        text = write_format(t, fmt) if fmt != "cif" else str(CifWriter(t))
        add(name_of(fmt, f"tiny{j}"), text, "tiny_cell", "invalid")
    add("POSCAR_negscale", "x\n-0.002\n1 0 0\n0 1 0\n0 0 1\nNa Cl\n1 1\nDirect\n0 0 0\n0.5 0.5 0.5\n", "tiny_cell", "invalid")

    # Wrong-schema and deep JSON.
    schema = [
        "null", "[]", "{}", "1", '"lattice"', '{"lattice": 1, "sites": []}', '{"lattice": "abc", "sites": [1]}',
        '{"lattice": {"matrix": [[1,2],[3,4]]}, "sites": []}', '{"lattice": {"matrix": [[4,0,0],[0,4,0],[0,0,4]]}, "sites": {}}',
        '{"lattice": {"matrix": [[4,0,0],[0,4,0],[0,0,4]]}, "sites": [{"species": "Na"}]}',
        '{"lattice": {"matrix": [[4,0,0],[0,4,0],[0,0,4]]}, "sites": [{"species": [], "abc": [0,0,0]}]}',
        '{"lattice": {"matrix": [[4,0,0],[0,4,0],[0,0,4]]}, "sites": [{"species": [{"element": "Na"}], "abc": ["a",0,0]}]}',
        '{"lattice": {"matrix": [[4,0,0],[0,4,0],[0,0,4]]}, "sites": [{"species": [{"element": "Na"}], "abc": [0,0]}]}',
        '{"lattice": {"matrix": [["4",0,0],[0,4,0],[0,0,4]]}, "sites": [{"species": [{"element": "Na"}], "abc": [0,0,0]}]}',
        '{"lattice": {"matrix": [[true,0,0],[0,4,0],[0,0,4]]}, "sites": [{"species": [{"element": "Na"}], "abc": [0,0,0]}]}',
        '{"lattice": {"a": 4}, "sites": []}', '{"lattice": [[4,0,0],[0,4,0],[0,0,4]], "species": ["Na"], "frac_coords": [[0,0]]}',
        '{"lattice": [[4,0,0],[0,4,0],[0,0,4]], "species": "Na", "frac_coords": [[0,0,0]]}',
        '{"lattice": [[4,0,0],[0,4,0],[0,0,4]], "species": ["Na", "Cl"], "frac_coords": [[0,0,0]]}',
        '{"lattice": [[4,0,0],[0,4,0],[0,0,4]], "species": [], "frac_coords": []}',
        '{"lattice": [[4,0,0],[0,4,0],[0,0,4]], "species": ["Na"], "cart_coords": [[0,0,0]], "charge": "x"}',
        '{"lattice": [[' + "9" * 5000 + ',0,0],[0,4,0],[0,0,4]], "species": ["Na"], "frac_coords": [[0,0,0]]}',
        '{"lattice": [[1e308,0,0],[0,1e308,0],[0,0,1e308]], "species": ["Na"], "frac_coords": [[0,0,0]]}',
        '{"lattice": [[4,0,0],[0,4,0],[0,0,4]], "species": ["Na"], "frac_coords": [[1e300,0,0]]}',
        '{"lattice": {"matrix": [[4,0,0],[0,4,0],[0,0,4]], "pbc": [true, true, false]}, "sites": [{"species": [{"element": "Na", "occu": 1}], "abc": [0,0,0]}]}',
        '{"lattice": [[4,0,0],[0,4,0],[0,0,4]], "species": ["Na"], "frac_coords": [[0,0,0]]',
        "{" * 10,
    ]
    for j, text in enumerate(schema):
        add(f"schema{j}.json", text, "json_schema", "invalid")
    for j, depth in enumerate([100, 1000, 10_000, 100_000, 500_000]):
        add(f"deep_list{j}.json", "[" * depth + "]" * depth, "json_schema", "invalid")
        add(f"deep_obj{j}.json", '{"a":' * depth + "1" + "}" * depth, "json_schema", "invalid")
        d = controls[j][1].as_dict()
        d["sites"][0]["properties"] = json.loads("[" * min(depth, 900) + "]" * min(depth, 900))
        add(f"deep_prop{j}.json", json.dumps(d), "json_schema", "valid")
        add(f"deep_site{j}.json", '{"lattice": {"matrix": [[4,0,0],[0,4,0],[0,0,4]]}, "sites": ' + "[" * depth + "]" * depth + "}",
            "json_schema", "invalid")
    # JSON naming modules and classes to build: ignored, never imported (see also test_io).
    payloads = [
        {"@module": "os", "@class": "system", "command": "touch /tmp/gmtnet-fuzz-pwned"},
        {"@module": "pathlib", "@class": "Path", "args": ["/tmp/x"]},
        {"@module": "subprocess", "@class": "Popen", "args": ["true"]},
        {"@module": "gmtnet_fuzz_canary", "@class": "Boom"},
        {"@module": "builtins", "@class": "eval", "source": "1+1"},
        {"@module": "pymatgen.core.structure", "@class": "Molecule", "sites": []},
    ]
    for j in range(30):
        mid, s = controls[j % len(controls)]
        d = s.as_dict()
        p = payloads[j % len(payloads)]
        where = j % 5
        if where == 0:
            d["sites"][0]["properties"] = {"magmom": p}
        elif where == 1:
            d["properties"] = {"x": p}
        elif where == 2:
            d["lattice"]["extra"] = p
        elif where == 3:
            d["@module"], d["@class"] = p["@module"], p["@class"]
        else:
            d["sites"][0]["species"][0]["spin"] = p
        add(f"module{j}.json", json.dumps(d), "json_module", "valid")

    # Symmetry-operation bombs.
    def ops(n: int) -> list[str]:
        return [f"x+{k}/{n}, y, z" for k in range(n)]

    for j, (n_ops, n_rows) in enumerate([(2000, 1), (193, 1), (192, 200), (500, 10), (5000, 1), (192, 130), (100, 250), (48, 600)]):
        rows = [f"A{r} Na {rng.random():.5f} {rng.random():.5f} {rng.random():.5f} 1" for r in range(n_rows)]
        add(f"symops{j}.cif", _cif(_CUBIC, rows, ops=ops(n_ops)), "symop_bomb", "invalid")
    for j in range(8):
        duplicated = ["x, y, z"] * int(rng.integers(50, 190))
        add(f"symdup{j}.cif", _cif(_CUBIC, ["Na1 Na 0 0 0 1", "Cl1 Cl 0.5 0.5 0.5 1"], ops=duplicated), "symop_bomb", "any")
    garbage_ops = ["x, y", "a, b, c", "x*y, z, 1", "x/0, y, z", "x, y, z, w", "((((x)))), y, z", "x+1e999, y, z", "'"]
    for j, op in enumerate(garbage_ops):
        add(f"symbad{j}.cif", _cif(_CUBIC, ["Na1 Na 0 0 0 1", "Cl1 Cl 0.5 0.5 0.5 1"], ops=["x, y, z", op]), "symop_bomb", "any")

    # Wrong declared counts.
    count_cases = ["1000000000", "501", "-1", "0", "3", "1 1 1", "abc", "99999999999999999999", "1.5", "2 -1"]
    for j, cnt in enumerate(count_cases * 3):
        sp = ["Na", "Cl"] if j < 10 else (["Na"] if j < 20 else [])
        counts = cnt.split()
        text = _poscar(["4 0 0", "0 4 0", "0 0 4"], sp, counts, ["0 0 0", "0.5 0.5 0.5"])
        add(f"POSCAR_count{j}", text, "wrong_counts", "invalid")
    for j, cnt in enumerate(["1000000000", "501", "-3", "0", "5", "abc", "", "2 2", "1e3", "99999999999999999999"] * 2):
        text = _extxyz(np.eye(3) * 4, ["Na", "Cl"], [[0, 0, 0], [2, 2, 2]], count=cnt)
        if j >= 10:
            text = text.replace("Na 0.0 0.0 0.0\n", "")
        add(f"count{j}.xyz", text, "wrong_counts", "invalid")
    for j in range(10):  # CIF loops whose values do not fill the declared columns
        rows = ["Na1 Na 0 0 0 1", "Cl1 Cl 0.5 0.5 0.5"][: 1 + j % 2] + ["extra"] * (j // 2 + (j % 2 == 0))
        add(f"loopcount{j}.cif", _cif(_CUBIC, rows), "wrong_counts", "invalid")

    # Too many atoms.
    big = Structure(Lattice.cubic(3.35), ["Po"], [[0, 0, 0]]) * (8, 8, 8)  # 512 atoms
    for fmt in ("cif", "poscar", "extxyz", "json"):
        add(name_of(fmt, "toomany"), write_format(big, fmt), "too_many_atoms", "invalid")
    rows = [f"A{r} Po {r / 600:.6f} 0 0 1" for r in range(600)]
    add("toomany_rows.cif", _cif({**_CUBIC, "length_a": 2000.0}, rows), "too_many_atoms", "invalid")
    huge_json = {"lattice": [[400, 0, 0], [0, 400, 0], [0, 0, 400]], "species": ["Po"] * 20000,
                 "frac_coords": rng.random((20000, 3)).round(4).tolist()}
    add("toomany_plain.json", json.dumps(huge_json), "too_many_atoms", "invalid")

    # Wrong extensions: valid text under another format's name, and unknown extensions.
    wrong = {"cif": ["x.xyz", "x.json", "POSCAR"], "cif_sym": ["x.json"], "poscar": ["x.cif", "x.xyz", "x.json"],
             "extxyz": ["x.cif", "POSCAR", "x.json"], "json": ["x.cif", "POSCAR", "x.xyz"]}
    for j, (fmt, t, _) in enumerate(pick(40)):
        add(f"wrongext{j}_" + wrong[fmt][j % len(wrong[fmt])], t, "wrong_extension", "invalid")
    for j, ext in enumerate(["x.txt", "x.docx", "x.cif.gz", "x", "x.pdb", ".cif.bak", "x.JSON5", "structure",
                             "x.xyz.zip", "x.mol"] * 2):
        fmt, t, _ = texts[j]
        add(f"unknownext{j}_{ext}", t, "wrong_extension", "invalid")

    # Non-periodic files.
    for j, pbc in enumerate(["F F F", "T T F", "F T T", "T F T", "0 0 0", "False False False", "T T", "X Y Z"]):
        add(f"nonperiodic{j}.xyz", _extxyz(np.eye(3) * 6, ["O", "H"], [[0, 0, 0], [0.96, 0, 0]], pbc=pbc), "nonperiodic", "invalid")
    add("molecule.xyz", "3\nwater\nO 0 0 0\nH 0.96 0 0\nH -0.24 0.93 0\n", "nonperiodic", "invalid")
    add("molecule.json", json.dumps({"@module": "pymatgen.core.structure", "@class": "Molecule", "charge": 0,
                                     "sites": [{"species": [{"element": "O", "occu": 1}], "xyz": [0, 0, 0]}]}),
        "nonperiodic", "invalid")

    # gzip: not accepted; a gzip bomb under a .cif name must not be inflated.
    cif0 = write_format(controls[0][1], "cif").encode()
    add("gz.cif", gzip.compress(cif0), "gzip", "invalid")
    add("gz.cif.gz", gzip.compress(cif0), "gzip", "invalid")
    add("bomb.cif", gzip.compress(b"#" * 50_000_000), "gzip", "invalid")
    add("bomb.json.gz", gzip.compress(b"[" * 10_000_000), "gzip", "invalid")
    add("bomb.xyz", gzip.compress(b"0" * 20_000_000), "gzip", "invalid")

    # Random mutations of valid files.
    for j in range(260):
        fmt, t, _ = texts[int(rng.integers(len(texts)))]
        lines = t.split("\n")
        op = j % 8
        k = int(rng.integers(len(lines)))
        if op == 0:  # flip a character
            pos = int(rng.integers(len(t)))
            t = t[:pos] + chr(int(rng.integers(32, 127))) + t[pos + 1 :]
        elif op == 1:
            del lines[k]
            t = "\n".join(lines)
        elif op == 2:
            lines.insert(k, lines[k])
            t = "\n".join(lines)
        elif op == 3:
            k2 = int(rng.integers(len(lines)))
            lines[k], lines[k2] = lines[k2], lines[k]
            t = "\n".join(lines)
        elif op == 4:  # a number replaced by an extreme one
            toks = lines[k].split(" ")
            i = int(rng.integers(len(toks)))
            toks[i] = ["1e308", "-1e308", "0", "-0.0", "1e-320", "4.2e12", "-7", "99999999999"][j % 8]
            lines[k] = " ".join(toks)
            t = "\n".join(lines)
        elif op == 5:  # random token inserted
            lines.insert(k, rng.choice(vocab))
            t = "\n".join(lines)
        elif op == 6:  # a line repeated many times
            lines[k:k] = [lines[k]] * int(rng.integers(10, 2000))
            t = "\n".join(lines)
        else:  # control characters / invalid UTF-8
            pos = int(rng.integers(len(t) + 1))
            raw = t.encode()
            add(name_of(fmt, f"mut{j}"), raw[:pos] + bytes([int(rng.integers(0, 32)), 0xC3, 0x28]) + raw[pos:],
                "mutation", "any")
            continue
        add(name_of(fmt, f"mut{j}"), t, "mutation", "any")
    return cases


def worst_cases(seed: int = 0) -> list[Case]:
    """A handful of the most dangerous files (for the browser test): NaN lattice JSON, a JSON
    naming modules, a symmetry-operation bomb, a 1e9-atom POSCAR, a deep JSON, a huge file, random
    bytes, a dummy species, a zero-angle CIF, a markdown-injection file name."""
    nan_json = json.dumps({"lattice": {"matrix": [[float("nan"), 0, 0], [0, 4, 0], [0, 0, 4]]},
                           "sites": [{"species": [{"element": "Na", "occu": 1}], "abc": [0, 0, 0]}]})
    module_json = json.dumps({"lattice": {"matrix": [[4, 0, 0], [0, 4, 0], [0, 0, 4]]}, "sites": [
        {"species": [{"element": "Na", "occu": 1}], "abc": [0, 0, 0],
         "properties": {"x": {"@module": "os", "@class": "system", "command": "true"}}}],
        "@module": "subprocess", "@class": "Popen"})
    rng = np.random.default_rng(seed)
    return [
        Case("nan_lattice.json", nan_json.encode(), "nan_inf", "invalid"),
        Case("module.json", module_json.encode(), "json_module", "valid"),  # payloads ignored: a Na cell
        Case("symops.cif", _cif(_CUBIC, ["Na1 Na 0 0 0 1"], ops=[f"x+{k}/2000, y, z" for k in range(2000)]).encode(),
             "symop_bomb", "invalid"),
        Case("POSCAR", _poscar(["4 0 0", "0 4 0", "0 0 4"], ["Na"], ["1000000000"], ["0 0 0"]).encode(),
             "wrong_counts", "invalid"),
        Case("deep.json", ("[" * 500_000 + "]" * 500_000).encode(), "json_schema", "invalid"),
        Case("dummy.vasp", _poscar(["4 0 0", "0 4 0", "0 0 4"], ["X", "Zn"], ["1", "1"], ["0 0 0", "0.5 0.5 0.5"]).encode(),
             "unknown_element", "invalid"),
        Case("zero_angle.cif", _cif({**_CUBIC, "angle_alpha": 0}, ["Na1 Na 0 0 0 1"]).encode(), "singular", "invalid"),
        Case("random.cif", rng.integers(0, 256, size=3000, dtype=np.uint8).tobytes(), "random_bytes", "invalid"),
        Case("huge.cif", b"#" * 2_100_000, "huge", "invalid"),
        Case("![x](http://127.0.0.1:9/x.png) [click](http://example.invalid) :red[x].xyz",
             _extxyz(np.eye(3) * 6, ["O", "H"], [[0, 0, 0], [0.96, 0, 0]], pbc="F F F").encode(), "nonperiodic", "invalid"),
    ]
