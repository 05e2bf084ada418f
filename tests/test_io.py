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
