"""gmtnet.catalog (search over the bundled crystals) and gmtnet.edit (what-if structure edits)."""

import numpy as np
import pytest
from helpers import perovskite_srtio3, rocksalt_nacl, wurtzite_zno

from gmtnet import symmetry_constraints
from gmtnet.catalog import build_catalog, reference_structure, reference_tensor, search
from gmtnet.edit import (
    displace,
    make_supercell,
    newly_allowed,
    rattle,
    released_equalities,
    strain,
    strain_tensor,
    substitute,
)
from gmtnet.data import load_dataset
from gmtnet.kinds import DATASETS, KINDS, get_kind


@pytest.fixture(scope="module")
def catalog():
    return build_catalog()


def test_catalog_one_row_per_material(catalog):
    assert catalog["material_id"].is_unique
    assert len(catalog) > 2000
    for k in (n for n, kind in KINDS.items() if kind.dataset in DATASETS):  # the catalogue: bundled datasets
        assert catalog[f"has_{k}"].any()
    # ε∞ comes with every dielectric row
    assert (catalog["has_dielectric"] == catalog["has_dielectric_electronic"]).all()


def test_search_formula_elements_id_spacegroup(catalog):
    zno = search(catalog, formula="OZn")
    assert set(zno["formula"]) == {"ZnO"} and "mp-2133" in set(zno["material_id"])
    only = search(catalog, elements="Zn, O", elements_mode="only")
    assert all(set(e) <= {"Zn", "O"} for e in only["elements"])
    contains = search(catalog, elements=["Zn", "O"])
    assert len(contains) >= len(zno) and all({"Zn", "O"} <= set(e) for e in contains["elements"])
    assert list(search(catalog, material_id="mp-2133")["material_id"]) == ["mp-2133"]
    by_number = search(catalog, spacegroup=186)
    assert (by_number["spacegroup_number"] == 186).all() and len(by_number)
    assert len(search(catalog, spacegroup="P6_3mc")) == len(by_number)
    cubic_elastic = search(catalog, crystal_system="cubic", has=("elastic",))
    assert (cubic_elastic["crystal_system"] == "cubic").all() and cubic_elastic["has_elastic"].all()
    both = search(catalog, has=("piezoelectric", "dielectric"))
    assert both["has_piezoelectric"].all() and both["has_dielectric"].all()


@pytest.mark.parametrize(
    "kwargs, bad",
    [
        ({"elements": "Zn, Qq"}, "Qq"),
        ({"elements": "Zn", "elements_mode": "some"}, "some"),
        ({"spacegroup": 231}, "231"),
        ({"crystal_system": "cubical"}, "cubical"),
        ({"has": ("magnetic",)}, "magnetic"),
    ],
)
def test_search_rejects_bad_values(catalog, kwargs, bad):
    with pytest.raises(ValueError, match=bad):
        search(catalog, **kwargs)


def test_reference_tensor_frame_matches_structure():
    ref = reference_tensor("mp-2133", "piezoelectric")
    assert ref is not None and ref["tensor"].shape == (3, 3, 3)
    s = reference_structure("mp-2133")
    c = symmetry_constraints(ref["structure"], "piezoelectric")
    assert c.residual(ref["tensor"]) < 0.05  # the stored tensor is in the structure's frame
    assert s.composition.reduced_formula == "ZnO"
    with pytest.raises(ValueError, match="mp-0"):
        reference_structure("mp-0")
    assert reference_tensor("mp-0", "elastic") is None


@pytest.mark.parametrize("kind", [n for n, k in KINDS.items() if k.dataset in DATASETS])
def test_reference_rows_match_load_dataset(kind):
    frame = load_dataset(kind)
    row = frame.iloc[7]
    ref = reference_tensor(row["material_id"], kind)
    assert np.array_equal(ref["tensor"], row[get_kind(kind).column])
    assert ref["structure"] == row["structure"]
    assert np.allclose(ref["structure"].lattice.matrix, row["structure"].lattice.matrix)
    assert ref["flags"] == tuple(row["flags"]) and ref["split"] == row["split"]


def test_strain_convention():
    s = perovskite_srtio3()
    eps = strain_tensor("shear", 2.0, plane="xy")
    assert eps[0, 1] == eps[1, 0] == pytest.approx(0.01) and eps[2, 2] == 0
    out = strain(s, "uniaxial", 1.0, axis="z")
    assert out.lattice.c == pytest.approx(1.01 * s.lattice.c)
    assert out.lattice.a == pytest.approx(s.lattice.a)
    assert np.allclose(out.frac_coords, s.frac_coords)
    assert strain(s, "hydrostatic", 1.0).volume == pytest.approx(1.01**3 * s.volume)
    assert strain(s, "biaxial", -1.0, plane="xy").lattice.b == pytest.approx(0.99 * s.lattice.b)
    assert s.lattice.c == pytest.approx(3.905)  # input untouched


@pytest.mark.parametrize(
    "call, bad",
    [
        (lambda s: strain(s, "twist", 1), "twist"),
        (lambda s: strain(s, "uniaxial", 50), "50"),
        (lambda s: strain(s, "uniaxial", 1, axis="w"), "w"),
        (lambda s: strain(s, "shear", 1, plane="xx"), "xx"),
        (lambda s: substitute(s, "Ba", "Sr"), "Ba"),
        (lambda s: substitute(s, "Sr", "Xx"), "Xx"),
        (lambda s: rattle(s, -0.1), "-0.1"),
        (lambda s: displace(s, 9, [0, 0, 0.1]), "9"),
        (lambda s: displace(s, 0, [0, 0.1]), "0.1"),
        (lambda s: make_supercell(s, (2, 0, 1)), "0"),
        (lambda s: make_supercell(s, (5, 5, 5)), "625"),
    ],
)
def test_edits_reject_bad_values(call, bad):
    with pytest.raises(ValueError, match=bad):
        call(perovskite_srtio3())


def test_substitute_rattle_displace_supercell():
    s = perovskite_srtio3()
    assert substitute(s, "Sr", "Ba").composition.reduced_formula == "BaTiO3"
    r1, r2 = rattle(s, 0.05, seed=3), rattle(s, 0.05, seed=3)
    assert np.allclose(r1.cart_coords, r2.cart_coords)
    assert np.abs(r1.cart_coords - s.cart_coords).max() <= 0.05 + 1e-12
    d = displace(s, 1, [0, 0, 0.2])
    assert np.allclose(d.cart_coords[1] - s.cart_coords[1], [0, 0, 0.2])
    assert len(make_supercell(s, (2, 1, 1))) == 10


def test_newly_allowed_when_cubic_symmetry_breaks():
    s = rocksalt_nacl()
    sheared = strain(s, "shear", 2.0, plane="xy")
    before, after = symmetry_constraints(s, "dielectric"), symmetry_constraints(sheared, "dielectric")
    assert newly_allowed(before, after) == ["εxy"]
    eb, ea = symmetry_constraints(s, "elastic"), symmetry_constraints(sheared, "elastic")
    assert set(newly_allowed(eb, ea)) == {"C16", "C26", "C36", "C45"}
    # uniaxial strain allows nothing new but releases C11 = C33
    z = strain(s, "uniaxial", 2.0, axis="z")
    assert newly_allowed(eb, symmetry_constraints(z, "elastic")) == []
    assert ("C11", "C33", 1) in released_equalities(eb, symmetry_constraints(z, "elastic"))
    # moving one Zn of wurtzite along z breaks the 6_3 screw (6mm -> 3m): e16, e21, e22 appear
    w = wurtzite_zno()
    pw = symmetry_constraints(w, "piezoelectric")
    assert newly_allowed(pw, symmetry_constraints(displace(w, 0, [0, 0, 0.05]), "piezoelectric")) == ["e16", "e21", "e22"]
    assert newly_allowed(pw, symmetry_constraints(rattle(w, 0.0), "piezoelectric")) == []
    with pytest.raises(ValueError, match="elastic"):
        newly_allowed(before, ea)
