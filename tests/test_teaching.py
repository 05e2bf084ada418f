"""gmtnet.teaching: operation names, the generated Nye table, Curie's principle, the graded exercises."""

from __future__ import annotations

import numpy as np
import pytest

from gmtnet import teaching
from gmtnet.pointgroups import POINT_GROUPS, point_group_operations
from gmtnet.properties import piezo_strain_coefficients
from gmtnet.symmetry import neumann_constraints
from gmtnet.tensors import from_voigt, symmetrize_indices
from scipy.spatial.transform import Rotation


def test_describe_operation_distinguishes_the_sense_of_rotations():
    symbols = sorted(teaching.operation_table(point_group_operations("4mm"))["symbol"])
    assert symbols == sorted(["1", "4⁺", "4⁻", "2", "m", "m", "m", "m"])
    c4 = np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])        # x -> y: anticlockwise about +z
    assert teaching.describe_operation(c4)["symbol"] == "4⁺"
    assert teaching.describe_operation(c4.T)["symbol"] == "4⁻"
    assert teaching.describe_operation(-c4)["symbol"] == "-4⁺"
    assert teaching.describe_operation(-np.eye(3))["symbol"] == "-1"
    with pytest.raises(ValueError, match="orthogonal"):
        teaching.describe_operation(np.ones((3, 3)))


def test_identify_point_group_in_any_orientation():
    Q = Rotation.random(random_state=5).as_matrix()
    for symbol in POINT_GROUPS:
        ops = point_group_operations(symbol)
        assert teaching.identify_point_group(Q @ ops @ Q.T) == symbol
    with pytest.raises(ValueError, match="not a crystallographic point group"):
        teaching.identify_point_group(np.array([np.eye(3), np.eye(3)]))


def test_nye_table_known_columns():
    nye = teaching.nye_table()
    assert len(nye) == 32
    polar = tuple(nye.index[nye["p (polar rank 1)"] > 0])
    assert polar == teaching.POLAR_CLASSES and len(polar) == 10
    active = set(nye.index[nye["g (axial rank 2)"] > 0])
    assert active == {"1", "2", "m", "222", "mm2", "4", "-4", "422", "-42m", "3", "32", "6", "622", "23", "432"}
    # 432: optically active but not piezoelectric; -43m: piezoelectric but not optically active.
    assert nye.loc["432", "e (rank 3)"] == 0 and nye.loc["432", "g (axial rank 2)"] == 1
    assert nye.loc["-43m", "e (rank 3)"] == 1 and nye.loc["-43m", "g (axial rank 2)"] == 0
    assert (nye.loc[nye.centrosymmetric, "e (rank 3)"] == 0).all() and nye.centrosymmetric.sum() == 11
    assert nye.loc["1", "C (rank 4)"] == 21 and nye.loc["1", "e (rank 3)"] == 18


def test_monoclinic_standard_setting_has_the_2_fold_axis_along_y():
    c = neumann_constraints(point_group_operations("2"), "elastic")
    form = teaching.allowed_form(c)
    assert form.loc[1, 5] == "C15" and form.loc[4, 6] == "C46" and form.loc[1, 6] == "0"


def test_allowed_form_of_class_32_and_the_voigt_factor_of_d():
    form = teaching.allowed_form("32", "piezoelectric")
    assert form.loc[1, 2] == "-e11" and form.loc[2, 6] == "-e11" and form.loc[2, 5] == "-e14"
    ops = point_group_operations("32")
    rng = np.random.default_rng(0)
    e = neumann_constraints(ops, "piezoelectric").project(rng.normal(size=(3, 3, 3)))
    c = np.diag([90.0, 90.0, 110.0, 50.0, 50.0, 40.0])
    C = neumann_constraints(ops, "elastic").project(from_voigt(c, "elastic"))
    d = piezo_strain_coefficients(e, C)
    assert d[1, 5] == pytest.approx(-2 * d[0, 0])


def test_voigt_compliance_factors():
    rng = np.random.default_rng(1)
    C = symmetrize_indices(rng.normal(size=(3, 3, 3, 3)), "elastic") + 10 * np.einsum("ik,jl->ijkl", np.eye(3), np.eye(3))
    C = symmetrize_indices(C, "elastic")
    from gmtnet.properties import compliance

    s = compliance(C)
    sv = teaching.voigt_compliance(s)
    assert sv[3, 3] == pytest.approx(4 * s[1, 2, 1, 2]) and sv[0, 3] == pytest.approx(2 * s[0, 0, 1, 2])
    from gmtnet.tensors import to_voigt

    assert np.allclose(sv @ to_voigt(C, "elastic"), np.eye(6), atol=1e-8)


@pytest.mark.parametrize(("symbol", "kind", "n"), [("1", "elastic", 18), ("2", "elastic", 12), ("4", "elastic", 6),
                                                   ("6", "elastic", 5), ("mmm", "elastic", 9), ("-1", "dielectric", 3)])
def test_independent_up_to_axes(symbol, kind, n):
    assert teaching.independent_up_to_axes(symbol, kind) == n


def test_curie_group_and_caption():
    assert teaching.curie_group("m-3m", np.diag([0.02, 0, 0]))[0] == "4/mmm"
    shear = np.array([[0, 0.01, 0], [0.01, 0, 0], [0, 0, 0]])
    assert teaching.curie_group("m-3m", shear)[0] == "mmm"
    assert teaching.curie_group("m-3m", 0.01 * np.eye(3))[0] == "m-3m"
    assert teaching.curie_group("6mm", np.diag([0.0, 0.0, 0.01]))[0] == "6mm"
    assert teaching.curie_group("6mm", np.diag([0.01, 0.0, 0.0]))[0] == "mm2"
    assert "= 4/mmm." in teaching.curie_caption("m-3m", np.diag([0.02, 0, 0]))
    with pytest.raises(ValueError, match="strain"):
        teaching.curie_group("m-3m", np.ones(3))


def test_curie_caption_against_redetection():
    from pymatgen.core import Lattice, Structure

    from gmtnet.edit import strain

    nacl = Structure(Lattice.cubic(5.64), ["Na"] * 4 + ["Cl"] * 4,
                     [[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0], [.5, .5, .5], [.5, 0, 0], [0, .5, 0], [0, 0, .5]])
    caption = teaching.curie_caption(nacl, strain(nacl, "uniaxial", 2.0, axis="x"))
    assert caption == "Curie: m-3m ∩ (symmetry of the strain) = 4/mmm; re-detected 4/mmm, as predicted."
    assert np.allclose(teaching.strain_between(nacl, strain(nacl, "uniaxial", 2.0, axis="x")), np.diag([0.02, 0, 0]))
    supercell = strain(nacl, "uniaxial", 2.0, axis="x")
    supercell.make_supercell([2, 1, 1])
    assert np.allclose(teaching.strain_between(nacl, supercell), np.diag([0.02, 0, 0]))
    displaced = nacl.copy()
    displaced.translate_sites([0], [0, 0, 0.02])      # one atom 0.11 Å along z: no strain, lower symmetry
    assert "broke more symmetry" in teaching.curie_caption(nacl, displaced)
    small = teaching.curie_caption(nacl, strain(nacl, "uniaxial", 0.1, axis="x"))
    assert "below the detection tolerance" in small and "re-detected m-3m" in small


def test_quadric_and_stereogram_figures():
    fig = teaching.stereogram_figure("4mm")
    assert "4mm: 8 operations" in fig.layout.title.text
    eps = np.diag([2.0, 3.0, 5.0])
    q = teaching.quadric_figure(eps)
    x = np.asarray(q.data[0].x)
    assert np.nanmax(np.abs(x)) == pytest.approx(1 / np.sqrt(2.0), rel=1e-2)   # semi-axis 1/√ε_xx (on the grid)
    with pytest.raises(ValueError, match="positive-definite"):
        teaching.quadric_figure(-eps)


def test_point_group_explorer_redraws_and_has_a_static_placeholder():
    box = teaching.point_group_explorer("432", "gyration")
    assert "needs a running kernel" in repr(box)
    group, tensor = box.children[0].children
    group.value = "-43m"          # triggers a redraw; an error in it would raise here
    tensor.value = "piezoelectric"
    with pytest.raises(ValueError, match="unknown point group"):
        teaching.point_group_explorer("5")


def test_allowed_form_rejects_missing_kind():
    with pytest.raises(ValueError, match="kind"):
        teaching.allowed_form("4mm")


@pytest.mark.parametrize("key", ["01.1", "01.3", "01.5", "01.6", "01.7", "03.1", "03.2"])
def test_every_checker_rejects_a_wrong_answer(key):
    grade = teaching.check(key, {"wrong": 0} if key in ("01.1", "01.7", "03.2") else ["no such group"])
    assert not grade
    assert repr(grade).startswith("✗") and ("Hint:" in repr(grade) or "give a " in repr(grade))
    assert "replace None" in repr(teaching.check(key, None))


def test_checkers_accept_the_right_answers():
    assert teaching.check("01.1", {"4": 7, "-4": 7, "4/m": 7})
    assert repr(teaching.check("01.5", ["432"])) == "✓ right"
    assert teaching.check("01.6", -2.0)
    assert "Hint:" in repr(teaching.check("01.6", -1.0))
    with pytest.raises(ValueError, match="unknown exercise"):
        teaching.check("99.1", 0)


def test_site_invariants_follow_the_site_group_not_the_point_group():
    """Neumann's principle at the site level (exercise 01.7): a Born charge on an m-3m site is
    isotropic (1 component), on a wurtzite 3m site uniaxial (2), on the 4/mmm oxygen site of a
    cubic perovskite uniaxial too although the crystal is cubic."""
    from helpers import perovskite_srtio3, rocksalt_nacl, wurtzite_zno

    assert teaching.site_invariants(rocksalt_nacl()) == {"Na": 1, "Cl": 1}
    assert teaching.site_invariants(wurtzite_zno()) == {"Zn": 2, "O": 2}
    assert teaching.site_invariants(perovskite_srtio3()) == {"Sr": 1, "Ti": 1, "O": 2}
    assert teaching.check("01.7", {"K": 1, "Ta": 1, "O": 2})
    assert "Hint:" in repr(teaching.check("01.7", {"K": 1, "Ta": 1, "O": 1}))
