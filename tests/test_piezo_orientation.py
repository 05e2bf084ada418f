"""Piezoelectric signs (issue 17): sign-open candidates, the physics rule, the shipped oriented
labels and the published-sign references they are checked against."""

import sys
from pathlib import Path

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from gmtnet.data import load_dataset, load_piezo_orientation, orient_labels
from gmtnet.orientation import choose_candidates, frame_candidates, lattice_rotations, sign_candidates, source_frame_operations
from gmtnet.symmetry import analyze_symmetry, neumann_constraints, symmetry_residual
from gmtnet.tensors import rotate
from gmtnet.train import TrainConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from orient_piezo import WURTZITES, offcentring_direction, polar_axis, reference_right, reference_rows, wurtzite_direction  # noqa: E402


def _allowed(structure: Structure, seed: int = 0) -> np.ndarray:
    sym = analyze_symmetry(structure)
    c = neumann_constraints(sym.rotations, "piezoelectric")
    return c.project(np.random.default_rng(seed).normal(size=(3, 3, 3)))


def _r32() -> Structure:
    """A rhombohedral crystal of class 32 (R32, hexagonal setting reduced to the primitive cell)."""
    s = Structure.from_spacegroup("R32", Lattice.hexagonal(5.0, 13.0), ["Al", "O"], [[0, 0, 0.35], [0.31, 0, 0.25]])
    return s.get_primitive_structure()


def _same(a, b, tol=1e-8) -> bool:
    return any(np.abs(a - x).max() < tol for x in b)


def test_source_operations_complete_a_rhombohedral_lattice_to_hexagonal_axes():
    rhombohedral = source_frame_operations(Lattice.rhombohedral(5.0, 75.0).matrix)
    assert len(lattice_rotations(Lattice.rhombohedral(5.0, 75.0).matrix, proper=False)) == 12  # -3m
    assert len(rhombohedral) == 24  # 6/mmm about the 3-fold axis
    assert len(source_frame_operations(Lattice.hexagonal(3.2, 5.2).matrix)) == 24
    monoclinic = source_frame_operations(Lattice.from_parameters(3, 4, 5, 90, 100, 90).matrix)
    assert len(monoclinic) == 4 and _same(-np.eye(3), monoclinic)  # 2/m: inversion is a frame change too
    for ops in (rhombohedral, monoclinic):
        np.testing.assert_allclose(np.einsum("gij,gkj->gik", ops, ops), np.broadcast_to(np.eye(3), ops.shape), atol=1e-10)


def test_r32_label_has_its_c2_image_and_sign_flips_as_candidates():
    """The lattice analysis calls an R32 label unique; its sign and the 2-fold rotation about the
    3-fold axis (obverse/reverse setting) are open, and every image still obeys 32."""
    s = _r32()
    sym = analyze_symmetry(s)
    assert sym.point_group == "32"
    e = _allowed(s)
    assert len(frame_candidates(e, sym.rotations, lattice_rotations(s.lattice.matrix))) == 1
    cands = sign_candidates(e, sym.rotations, s.lattice.matrix)
    assert len(cands) == 4
    np.testing.assert_allclose(cands[0], e)
    assert _same(-e, cands)
    for c in cands:
        assert symmetry_residual(c, sym.rotations) < 1e-8
        np.testing.assert_allclose(np.linalg.norm(c), np.linalg.norm(e))


def test_wurtzite_sign_candidates_are_the_polar_pair():
    s = Structure.from_spacegroup("P6_3mc", Lattice.hexagonal(3.25, 5.21), ["Zn", "O"], [[1 / 3, 2 / 3, 0.0], [1 / 3, 2 / 3, 0.382]])
    e = _allowed(s)
    cands = sign_candidates(e, analyze_symmetry(s).rotations, s.lattice.matrix)
    assert len(cands) == 2 and _same(-e, cands)


def test_choose_candidates_decides_narrows_or_abstains():
    rng = np.random.default_rng(1)
    t = rng.normal(size=(3, 3, 3))
    pair = np.stack([t, -t])
    assert choose_candidates(t + 0.3 * rng.normal(size=t.shape), pair, margin=0.2, min_norm=0.02)[0] == [0]
    assert choose_candidates(-t, pair, margin=0.2, min_norm=0.02)[0] == [1]
    assert choose_candidates(1e-4 * t, pair, margin=0.2, min_norm=0.02)[0] == [0, 1]  # too small to tell
    # an estimate orthogonal to both: no lead, keep both
    ortho = rng.normal(size=t.shape)
    ortho -= (ortho * t).sum() / (t * t).sum() * t
    assert choose_candidates(ortho, pair, margin=0.2, min_norm=0.02)[0] == [0, 1]
    # four candidates ±a ± b with a dominant: the estimate fixes the sign of a, not of b
    a, b = np.zeros((3, 3, 3)), np.zeros((3, 3, 3))
    a[2, 2, 2], b[1, 1, 1] = 1.0, 0.1
    four = np.stack([a + b, a - b, -a + b, -a - b])
    kept, cos = choose_candidates(a, four, margin=0.2, min_norm=0.02)
    assert kept == [0, 1] and len(cos) == 4


# --------------------------------------------------------------------------- the shipped oriented labels


@pytest.fixture(scope="module")
def piezo():
    return load_dataset("piezoelectric", include_flagged=False)


def test_orientation_file_matches_the_bundled_labels(piezo):
    """Stale after a data rebuild would show here: candidate 0 is the bundled label, every
    candidate obeys the crystal's point group, and the rule kept at least one."""
    table = load_piezo_orientation()
    ieee = piezo[piezo.orientation.isin(["unique", "ambiguous"])]
    assert set(table.material_id) == set(ieee.material_id)
    by_id = piezo.set_index("material_id")
    for row in table.sample(n=40, random_state=0).itertuples():
        np.testing.assert_allclose(row.candidates[0], by_id.loc[row.material_id, "tensor"], atol=1e-9)
        sym = analyze_symmetry(by_id.loc[row.material_id, "structure"])
        assert all(symmetry_residual(c, sym.rotations) < 0.02 for c in row.candidates)
        assert 1 <= len(row.kept) <= row.n_candidates and (row.choice >= 0) == (len(row.kept) == 1)


def test_orient_labels_physics_keeps_what_the_rule_kept(piezo):
    assert orient_labels(piezo, "lattice") is piezo
    oriented = orient_labels(piezo, "physics")
    table = load_piezo_orientation().set_index("material_id")
    decided = table[table.choice >= 0].index
    assert len(decided) > 300
    o = oriented.set_index("material_id")
    for mid in decided[:25]:
        assert len(o.loc[mid, "candidates"]) == 1
        np.testing.assert_allclose(o.loc[mid, "tensor"], table.loc[mid, "candidates"][table.loc[mid, "choice"]])
    untouched = piezo[~piezo.material_id.isin(table.index)]
    for mid in untouched.material_id[:10]:
        np.testing.assert_allclose(o.loc[mid, "candidates"], piezo.set_index("material_id").loc[mid, "candidates"])
    with pytest.raises(ValueError, match="unknown label orientation"):
        orient_labels(piezo, "sideways")
    with pytest.raises(ValueError, match="piezoelectric dataset only"):
        orient_labels(load_dataset("dielectric"), "physics")


def test_train_config_refuses_physics_orientation_outside_piezo():
    assert TrainConfig(kind="piezoelectric", label_orientation="physics").label_orientation == "physics"
    with pytest.raises(ValueError, match="piezoelectric labels only"):
        TrainConfig(kind="elastic", label_orientation="physics")
    with pytest.raises(ValueError, match="unknown label_orientation"):
        TrainConfig(kind="piezoelectric", label_orientation="ieee")


@pytest.mark.parametrize("mid", sorted(WURTZITES))
def test_oriented_wurtzites_have_the_published_signs(piezo, mid):
    """AlN, GaN, ZnO with +c from cation to anion along the c-parallel bond: e33 > 0, e31 < 0
    (Bernardini, Fiorentini & Vanderbilt 1997), after the physics rule, in the bundled cell."""
    row = orient_labels(piezo, "physics").set_index("material_id").loc[mid]
    assert len(row["candidates"]) == 1  # the rule decided
    e = row["tensor"]
    c = wurtzite_direction(row["structure"], WURTZITES[mid][1])
    assert np.einsum("ijk,i,j,k->", e, c, c, c) > 0.3
    ref = {"kind": "published", "axis": c, "sign": 1.0}
    assert reference_right(e, ref) and not reference_right(-e, ref)


def test_offcentring_reference_follows_the_b_cation():
    """Tetragonal BaTiO3 (P4mm) with Ti shifted along +z from its O6 centroid: the reference sign is
    +1 along +z; the mirror image (Ti shifted along -z) gives -1; a centred Ti gives none."""
    def batio3(dz: float) -> Structure:
        return Structure(Lattice.tetragonal(4.0, 4.04), ["Ba", "Ti", "O", "O", "O"],
                         [[0, 0, 0], [0.5, 0.5, 0.5 + dz], [0.5, 0.5, 0.0], [0.5, 0.0, 0.5], [0.0, 0.5, 0.5]])

    up, down, centred = batio3(0.03), batio3(-0.03), batio3(0.0)
    axis = polar_axis(analyze_symmetry(up).rotations)
    assert abs(abs(axis[2]) - 1) < 1e-9
    s_up, s_down = offcentring_direction(up, axis)[0], offcentring_direction(down, axis)[0]
    assert s_up == -s_down and s_up == np.sign(axis[2])
    assert offcentring_direction(centred, np.array([0, 0, 1.0])) is None
    # the bundled references include the tetragonal BaTiO3 rows
    refs = reference_rows(load_dataset("piezoelectric", include_flagged=False))
    assert {"mp-5986", "mp-2133"} <= {r["material_id"] for r in refs}


def test_reference_tensor_carries_the_physics_sign_and_says_so():
    """The app's DFT reference (gmtnet.catalog.reference_tensor): the physics-chosen tensor where the
    rule picked another candidate, the label where it confirmed it, and a note either way."""
    from gmtnet.catalog import reference_tensor

    table = load_piezo_orientation().set_index("material_id")
    confirmed = reference_tensor("mp-2133", "piezoelectric")
    assert "confirmed" in confirmed["sign_note"]
    flipped_id = table[table.choice > 0].index[0]
    ref = reference_tensor(flipped_id, "piezoelectric")
    row = table.loc[flipped_id]
    np.testing.assert_allclose(ref["tensor"], row["candidates"][row["choice"]])
    assert "set by physics" in ref["sign_note"] and not ref["tensor"].flags.writeable
    open_id = table[table.choice < 0].index[0]
    assert "Sign open" in reference_tensor(open_id, "piezoelectric")["sign_note"]
    assert reference_tensor("mp-2133", "elastic")["sign_note"] is None  # even rank: no sign to set


def test_explore_shows_the_sign_note_under_the_piezo_reference():
    from helpers import explore_bundled_zno

    with explore_bundled_zno("piezoelectric") as at:
        assert any("Sign confirmed by physics" in c.value for c in at.caption)


def test_trained_label_orientation_is_read_from_the_run(tmp_path):
    import json

    from gmtnet.train import trained_label_orientation

    assert trained_label_orientation(tmp_path) == "lattice"  # nothing recorded: runs from before the option
    (tmp_path / "member-0").mkdir()
    (tmp_path / "member-0" / "config.json").write_text(json.dumps({"train": {"label_orientation": "physics"}}))
    assert trained_label_orientation(tmp_path) == "physics"
    (tmp_path / "ensemble.json").write_text(json.dumps({"label_orientation": "lattice"}))
    assert trained_label_orientation(tmp_path) == "lattice"  # the assembled ensemble's record wins


# --------------------------------------------------------------------------- the shipped model and the references


@pytest.fixture(scope="module")
def piezo_predictor():
    from gmtnet.predict import Predictor

    return Predictor.load(["piezoelectric"], device="cpu")


@pytest.mark.parametrize("name", ["ZnO", "GaN", "AlN"])
@pytest.mark.parametrize("flip", [False, True])
def test_shipped_model_predicts_published_wurtzite_signs(piezo_predictor, name, flip):
    """e33 > 0 and e31 < 0 with +c from cation to anion (BFV 1997), for both polarities of an ideal
    wurtzite cell (not the bundled ones): the sign follows the structure, not the frame."""
    from test_ionic import WURTZITES, wurtzite

    cation = WURTZITES[name][0]
    s = wurtzite(*WURTZITES[name], flip=flip)
    e = piezo_predictor.predict(s, "piezoelectric").tensor
    c = wurtzite_direction(s, cation)
    assert reference_right(e, {"kind": "published", "axis": c, "sign": 1.0})


@pytest.mark.parametrize("a,b,c", [("Ba", "Ti", 4.04), ("Pb", "Ti", 4.15), ("K", "Nb", 4.06)])
@pytest.mark.parametrize("dz", [0.03, -0.03])
def test_shipped_model_follows_the_b_cation_off_centring(piezo_predictor, a, b, c, dz):
    """Tetragonal ABO3 (P4mm) built by hand with B shifted by ±0.12 Å along c: the longitudinal e
    along the shift is positive, whichever way the cell is polarised."""
    s = Structure(Lattice.tetragonal(4.0, c), [a, b, "O", "O", "O"],
                  [[0, 0, 0], [0.5, 0.5, 0.5 + dz], [0.5, 0.5, -dz / 3], [0.5, 0.0, 0.5 - dz / 3], [0.0, 0.5, 0.5 - dz / 3]])
    axis = polar_axis(analyze_symmetry(s).rotations)
    sign, _ = offcentring_direction(s, axis)
    e = piezo_predictor.predict(s, "piezoelectric").tensor
    assert reference_right(e, {"kind": "offcentring", "axis": axis, "sign": sign})
