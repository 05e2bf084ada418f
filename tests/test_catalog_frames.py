"""Every DFT reference is compared in the frame of the structure shown beside it."""

import numpy as np
import pytest

from gmtnet.catalog import build_catalog, reference_in_shown_frame, reference_structure
from gmtnet.kinds import DATASETS, KINDS
from gmtnet.symmetry import symmetry_constraints
from gmtnet.tensors import rotate


def test_every_unflagged_reference_obeys_the_shown_point_group():
    catalog = build_catalog()
    checked, mapped, failures, unmapped = 0, 0, [], []
    for row in catalog.itertuples(index=False):
        shown = reference_structure(row.material_id)
        for kind in (n for n, k in KINDS.items() if k.dataset in DATASETS):  # the catalogue's kinds
            if not getattr(row, f"has_{kind}"):
                continue
            ref = reference_in_shown_frame(row.material_id, kind)
            if ref["flags"]:
                continue
            checked += 1
            assert np.array_equal(ref["structure"].lattice.matrix, shown.lattice.matrix)
            if ref["tensor"] is None:
                # No exact cell mapping (two relaxations of one material id whose cells differ by
                # more than a rotation): the app shows the reference beside its own cell, so it
                # must obey that cell's point group.
                unmapped.append((row.material_id, kind, ref["mapping_error"]))
                own = ref["source_structure"]
                if symmetry_constraints(own, kind).residual(ref["source_tensor"]) >= 0.01:
                    failures.append((row.material_id, kind, "own cell", ref["mapping_error"]))
                continue
            mapped += ref["rotation"] is not None and not np.array_equal(ref["rotation"], np.eye(3))
            residual = symmetry_constraints(shown, kind).residual(ref["tensor"])
            if residual >= 0.01:
                failures.append((row.material_id, kind, residual))
    assert not failures, failures
    assert len(unmapped) <= 3, unmapped  # measured: 1 (K3VO4 mp-19052, legacy elastic cell, 32 % stretch)
    assert checked > 2500 and mapped > 50  # (the bundled data: 80+ cells differ from the shown one)


def test_sic_elastic_reference_is_rotated_into_the_primitive_frame():
    # The example: the elastic tensor of the 8-site cubic cell beside the 2-site cell.
    ref = reference_in_shown_frame("mp-8062", "elastic")
    assert len(ref["source_structure"]) == 8 and len(ref["structure"]) == 2
    c = symmetry_constraints(ref["structure"], "elastic")
    assert c.residual(ref["source_tensor"]) > 0.1  # the unrotated tensor breaks the shown group
    assert c.residual(ref["tensor"]) < 1e-3
    rot = ref["rotation"]
    np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-12)
    # Invariants do not change with the frame.
    np.testing.assert_allclose(np.linalg.norm(ref["tensor"]), np.linalg.norm(ref["source_tensor"]), rtol=1e-12)
    np.testing.assert_allclose(rotate(ref["tensor"], rot.T), ref["source_tensor"], atol=1e-9)


def test_same_cell_reference_is_untouched_and_missing_is_none():
    ref = reference_in_shown_frame("mp-2133", "piezoelectric")
    assert ref["mapping"].startswith("computed on this same cell")
    assert np.array_equal(ref["tensor"], ref["source_tensor"])
    assert reference_in_shown_frame("mp-2133", "dielectric") is None


@pytest.mark.parametrize("reflect", [False, True])
def test_cell_rotation_recovers_a_known_rotation(reflect):
    from gmtnet.tensors import cell_rotation
    from helpers import random_orthogonal, transform_structure, wurtzite_zno

    rng = np.random.default_rng(5)
    s = wurtzite_zno()
    q = random_orthogonal(rng, reflection=reflect)
    big = transform_structure(s, q)
    big.make_supercell([1, 1, 2])
    rot = cell_rotation(s, big)
    # Any R that maps the crystal works (it may differ from q by a point operation of 6mm).
    c = symmetry_constraints(big, "piezoelectric")
    e = symmetry_constraints(s, "piezoelectric").project(rng.normal(size=(3, 3, 3)))
    assert c.residual(rotate(e, rot)) < 1e-6
    with pytest.raises(ValueError, match="not the same crystal"):
        from helpers import rocksalt_nacl

        cell_rotation(rocksalt_nacl(), s)
