import json

import pytest
from pymatgen.core import Lattice, Structure

from gmtnet.graph import MAX_ATOMS
from gmtnet.io import guess_format, parse_structure, read_structure
from helpers import wurtzite_zno


def extxyz(structure: Structure) -> str:
    cell = " ".join(f"{x:.8f}" for x in structure.lattice.matrix.ravel())
    lines = [str(len(structure)), f'Lattice="{cell}" Properties=species:S:1:pos:R:3 pbc="T T T"']
    lines += [f"{s.specie} {x:.8f} {y:.8f} {z:.8f}" for s, (x, y, z) in zip(structure, structure.cart_coords)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("fmt", ["cif", "poscar", "extxyz", "json"])
def test_round_trip_every_format(fmt, tmp_path):
    s = wurtzite_zno()
    text = {
        "cif": lambda: s.to(fmt="cif"),
        "poscar": lambda: s.to(fmt="poscar"),
        "extxyz": lambda: extxyz(s),
        "json": lambda: json.dumps(s.as_dict()),
    }[fmt]()
    name = {"cif": "zno.cif", "poscar": "POSCAR", "extxyz": "zno.xyz", "json": "zno.json"}[fmt]
    path = tmp_path / name
    path.write_text(text)
    assert guess_format(name) == fmt
    r = read_structure(path)
    assert r.composition.reduced_formula == "ZnO" and len(r) == 4
    assert r.lattice.abc == pytest.approx(s.lattice.abc, abs=1e-4)


@pytest.mark.parametrize(
    "text, fmt, message",
    [
        ("", "cif", "empty"),
        ("not a crystal at all", "cif", "could not read"),
        ("3\nno lattice here\nZn 0 0 0\nO 0 0 1\nO 0 1 0\n", "extxyz", "not periodic"),
        ('{"a": 1}', "json", "not a pymatgen Structure"),
        ("garbage", "poscar", "could not read"),
    ],
)
def test_bad_files_give_clear_messages(text, fmt, message):
    with pytest.raises(ValueError, match=message):
        parse_structure(text, fmt)


def test_disordered_and_too_large_structures_are_refused():
    disordered = Structure(Lattice.cubic(3.6), [{"Cu": 0.5, "Au": 0.5}], [[0, 0, 0]])
    with pytest.raises(ValueError, match="disordered"):
        parse_structure(json.dumps(disordered.as_dict()), "json")
    big = Structure(Lattice.cubic(2.0), ["Po"], [[0, 0, 0]]) * (8, 8, 8)
    assert len(big) > MAX_ATOMS
    with pytest.raises(ValueError, match="limit"):
        parse_structure(json.dumps(big.as_dict()), "json")
    with pytest.raises(ValueError, match="cannot tell the format"):
        guess_format("structure.docx")


# --------------------------------------------------------------------------- hostile input

import math  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402

from gmtnet import sandbox  # noqa: E402
from gmtnet.io import MAX_SYMMETRY_OPS, StructureError, decode_text, parse_bytes, structure_from_dict  # noqa: E402
from gmtnet.predict import Predictor  # noqa: E402
from gmtnet.symmetry import analyze_symmetry  # noqa: E402
from helpers import perovskite_srtio3, rocksalt_nacl  # noqa: E402

POSCAR_NACL = "NaCl\n1.0\n0 2.82 2.82\n2.82 0 2.82\n2.82 2.82 0\nNa Cl\n1 1\nDirect\n0 0 0\n0.5 0.5 0.5\n"


def cif_text(cell=(4, 4, 4, 90, 90, 90), rows=("Na1 Na 0 0 0 1", "Cl1 Cl 0.5 0.5 0.5 1"), ops=("x, y, z",)) -> str:
    names = ("length_a", "length_b", "length_c", "angle_alpha", "angle_beta", "angle_gamma")
    head = ["data_t", *(f"_cell_{n} {v}" for n, v in zip(names, cell)), "loop_", "_symmetry_equiv_pos_as_xyz",
            *(f"'{op}'" for op in ops), "loop_", "_atom_site_label", "_atom_site_type_symbol", "_atom_site_fract_x",
            "_atom_site_fract_y", "_atom_site_fract_z", "_atom_site_occupancy", *rows]
    return "\n".join(head) + "\n"


def test_structure_error_is_a_value_error():
    assert issubclass(StructureError, ValueError)
    with pytest.raises(StructureError, match="empty"):
        parse_structure("  \n", "poscar")


@pytest.mark.parametrize(
    "data, message",
    [
        (b"#" * 2_000_001, "limit"),
        (b"ab\x00cd", "not a text file"),
        (b"\xff\xfe\xfa", "not a text file"),
    ],
)
def test_decode_refuses_big_binary_and_non_utf8(data, message):
    with pytest.raises(StructureError, match=message):
        decode_text(data)


def test_bom_and_crlf_are_read():
    for variant in ("\ufeff" + POSCAR_NACL, POSCAR_NACL.replace("\n", "\r\n"), POSCAR_NACL.replace("\n", "\r")):
        s = parse_bytes(variant.encode(), "POSCAR")
        assert s.composition.reduced_formula == "NaCl"


@pytest.mark.parametrize(
    "text, message",
    [
        (POSCAR_NACL.replace("1 1\n", "1000000000\n").replace("Na Cl\n", "Na\n"), "declares 1000000000 atoms"),
        (POSCAR_NACL.replace("1 1\n", "2 1\n"), "declares 3 atoms but has 2 position lines"),
        (POSCAR_NACL.replace("0 2.82 2.82", "nan 2.82 2.82"), "not finite"),
        (POSCAR_NACL.replace("0 2.82 2.82", "inf 2.82 2.82"), "not finite"),
        (POSCAR_NACL.replace("0 2.82 2.82", "2.82 2.82 0"), "linearly dependent"),
        (POSCAR_NACL.replace("Na Cl", "X Cl"), "'X' is not a chemical element"),
        (POSCAR_NACL.replace("1.0\n", "0.002\n"), "cell volume"),
        (POSCAR_NACL.replace("1.0\n", "0.2\n"), "per atom"),
        (POSCAR_NACL.replace("0.5 0.5 0.5", "0.001 0 0"), "overlap"),
    ],
)
def test_poscar_refusals_name_the_problem(text, message):
    with pytest.raises(StructureError, match=message):
        parse_structure(text, "poscar")


def test_dummy_species_never_reach_spglib():
    # pymatgen reads "X" as a dummy species whose Z overflows spglib's int32 types.
    from pymatgen.core import DummySpecies

    s = Structure(Lattice.cubic(4.0), [DummySpecies("X"), "Zn"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    with pytest.raises(ValueError, match="not a chemical element"):
        analyze_symmetry(s)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_lattices_never_reach_spglib(bad):
    # spglib segfaults on these; the guards in symmetry._cell and graph.validate_structure refuse them.
    s = perovskite_srtio3()
    m = s.lattice.matrix.copy()
    m[0, 0] = bad
    broken = Structure(Lattice(m), s.species, s.frac_coords)
    with pytest.raises(ValueError, match="non-finite"):
        analyze_symmetry(broken)
    predictor = Predictor.load(kinds=["dielectric"], device="cpu")
    with pytest.raises(ValueError, match="non-finite"):
        predictor.predict(broken, "dielectric")


def test_zero_angle_lattice_never_reaches_spglib():
    broken = Structure(Lattice(np.array([[4.0, 0, 0], [4.0, 0, 0], [0, 0, 4.0]])), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    with pytest.raises(ValueError, match="degenerate"):
        analyze_symmetry(broken)


@pytest.mark.parametrize(
    "text, message",
    [
        (cif_text(ops=[f"x+{k}/2000, y, z" for k in range(2000)]), f"no space group has more than {MAX_SYMMETRY_OPS}"),
        (cif_text(cell=(4, 4, 4, 0, 90, 90)), "angle alpha is 0"),
        (cif_text(cell=(4, 4, 4, 90, 90, 0.0001)), "thick"),
        (cif_text(cell=("nan", 4, 4, 90, 90, 90)), "not a finite number"),
        (cif_text(rows=("Na1 Na 0 0 0 1", "Cl1 Cl 0.5 0.5 0.5 0")), "occupancy 0"),
        (cif_text(rows=("Na1 Na 0 0 0 1", "Cl1 Cl 0.5 0.5 0.5 -1")), "occupancy -1"),
        (cif_text(rows=("Na1 Na 0 0 0 1", "Cl1 Cl 0.5 0.5 0.5 0.5")), "disordered"),
        (cif_text(rows=("Na1 Na 0 0 0 1", "Cl1 Cl 0.5 0.5")), "ends mid-row"),
        (cif_text(rows=("Na1 Uuo9 0 0 0 1",)), "not a chemical element"),
        (cif_text(ops=("x, y, z", "a, b, c")), "not of the form"),
        (cif_text(rows=("Na1 Na 0 0 0 1", "Na2 Na 0 0 0 1")), "same position"),
        (cif_text(rows=tuple(f"A{r} Po {r / 600:.5f} 0 0 1" for r in range(600))), "limit is 500"),
    ],
)
def test_cif_refusals_name_the_problem(text, message):
    with pytest.raises(StructureError, match=message) as info:
        parse_structure(text, "cif")
    assert not info.value.unexpected


def test_truncated_cif_that_lost_sites_is_refused():
    # The example: a CIF cut after whole atom rows parses as a smaller, wrong crystal.
    s = perovskite_srtio3()
    text = s.to(fmt="cif")
    kept = text[: text.rindex("O ")]  # drop the last atom row (whole lines remain)
    with pytest.raises(StructureError, match="declares the formula SrTiO3"):
        parse_structure(kept, "cif")


@pytest.mark.parametrize(
    "header, message",
    [
        ('Lattice="6 0 0 0 6 0 0 0 6" Properties=species:S:1:pos:R:3 pbc="F F F"', "not periodic"),
        ('Lattice="6 0 0 0 6 0 0 0 6" Properties=species:S:1:pos:R:3 pbc="T T F"', "not periodic"),
        ('Lattice="6 0 0 0 6 0 0 0 nan" Properties=species:S:1:pos:R:3', "not finite"),
        ('Lattice="6 0 0 6 0 0 0 0 6" Properties=species:S:1:pos:R:3', "linearly dependent"),
    ],
)
def test_extxyz_refusals(header, message):
    with pytest.raises(StructureError, match=message):
        parse_structure(f"2\n{header}\nO 0 0 0\nH 0.96 0 0\n", "extxyz")
    with pytest.raises(StructureError, match="declares 1000000000 atoms"):
        parse_structure(f"1000000000\n{header}\nO 0 0 0\n", "extxyz")


def test_json_reads_plain_data_and_refuses_deep_or_wrong_schema():
    s = rocksalt_nacl()
    plain = {"lattice": s.lattice.matrix.tolist(), "species": ["Na", "Cl"], "frac_coords": s.frac_coords.tolist()}
    assert parse_structure(json.dumps(plain), "json").composition.reduced_formula == "NaCl"
    for text, message in [
        ("[" * 200_000 + "]" * 200_000, "not a pymatgen Structure|nested too deeply"),
        ('{"lattice": "x", "sites": []}', "'lattice' must be"),
        ('{"lattice": [[4,0,0],[0,4,0],[0,0,4]], "species": ["Na"], "frac_coords": [[NaN,0,0]]}', "non-finite"),
        (json.dumps({**plain, "lattice": {"matrix": plain["lattice"], "pbc": [True, True, False]}}), "periodic"),
    ]:
        with pytest.raises(StructureError, match=message):
            parse_structure(text, "json")


def test_json_naming_a_module_does_not_import_it(tmp_path, monkeypatch):
    # A module that would be importable, and that leaves a file behind when imported.
    canary = tmp_path / "imported.txt"
    (tmp_path / "gmtnet_canary_mod.py").write_text(
        f"from pathlib import Path\nPath({str(canary)!r}).write_text('imported')\nclass Boom:\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    payload = {"@module": "gmtnet_canary_mod", "@class": "Boom"}
    d = rocksalt_nacl().as_dict()
    d["sites"][0]["properties"] = {"magmom": payload, "x": {"@module": "os", "@class": "system", "command": "true"}}
    d["properties"] = {"y": payload}
    d["lattice"]["extra"] = payload
    d["sites"][1]["species"][0]["spin"] = payload
    d["@module"], d["@class"] = "gmtnet_canary_mod", "Boom"
    s = parse_structure(json.dumps(d), "json")
    assert s.composition.reduced_formula == "NaCl"
    assert s.site_properties == {} and not s.properties
    assert not canary.exists() and "gmtnet_canary_mod" not in sys.modules
    # and the plain data round-trips
    assert structure_from_dict(json.loads(json.dumps(d))).lattice.abc == pytest.approx(s.lattice.abc)


def test_isolated_reader_returns_the_structure_or_a_clear_error():
    s = sandbox.read_isolated(POSCAR_NACL.encode(), "POSCAR")
    assert s.composition.reduced_formula == "NaCl" and len(s) == 2
    with pytest.raises(StructureError, match="not a chemical element"):
        sandbox.read_isolated(POSCAR_NACL.replace("Na Cl", "X Cl").encode(), "POSCAR")
    with pytest.raises(StructureError, match="limit"):
        sandbox.read_isolated(b"#" * 2_000_001, "x.cif")


def test_isolated_reader_stops_at_its_deadline_and_memory_limit(monkeypatch):
    # A reader that hangs or allocates without bound is stopped; the caller gets a StructureError.
    import gmtnet.io as gio

    with pytest.raises(StructureError, match="longer than"):
        sandbox.read_isolated(POSCAR_NACL.encode(), "POSCAR", timeout_s=0.01)
    # A valid 1.5 MB file: read with the default budget, refused with 100 kB (its text alone is more).
    padded = (cif_text() + "# padding\n" * 150_000).encode()
    assert sandbox.read_isolated(padded, "x.cif").composition.reduced_formula == "NaCl"
    with pytest.raises(StructureError, match="memory"):
        sandbox.read_isolated(padded, "x.cif", memory_bytes=100_000)
    assert len(padded) < gio.MAX_FILE_BYTES
