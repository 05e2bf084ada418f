import numpy as np
import pytest
from pymatgen.analysis.elasticity import ElasticTensor
from pymatgen.analysis.piezo import PiezoTensor
from pymatgen.core.tensors import Tensor

from helpers import random_orthogonal, wurtzite_zno
from gmtnet.kinds import KINDS
from gmtnet.tensors import (
    VOIGT_PAIRS,
    from_ieee_frame,
    from_voigt,
    rotate,
    symmetrize_indices,
    to_ieee_frame,
    to_voigt,
    voigt_labels,
)


def random_tensor(kind, rng, batch=()):
    k = KINDS[kind]
    return symmetrize_indices(rng.normal(size=batch + k.shape), k)


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("order", ["ieee", "vasp"])
def test_voigt_round_trip(kind, order, rng):
    t = random_tensor(kind, rng, batch=(4,))
    v = to_voigt(t, kind, order)
    assert v.shape == (4, *KINDS[kind].voigt_shape)
    np.testing.assert_allclose(from_voigt(v, kind, order), t, atol=1e-12)
    np.testing.assert_allclose(to_voigt(from_voigt(v, kind, order), kind, order), v, atol=1e-12)


@pytest.mark.parametrize("kind", ["piezoelectric", "elastic"])
def test_orders_differ_by_a_permutation(kind, rng):
    t = random_tensor(kind, rng)
    ieee, vasp = to_voigt(t, kind, "ieee"), to_voigt(t, kind, "vasp")
    # Position of each IEEE pair in the VASP order: xx yy zz yz xz xy -> 0 1 2 4 5 3.
    perm = [VOIGT_PAIRS["vasp"].index(p) for p in VOIGT_PAIRS["ieee"]]
    assert perm == [0, 1, 2, 4, 5, 3]
    if kind == "piezoelectric":
        np.testing.assert_allclose(ieee, vasp[:, perm])
    else:
        np.testing.assert_allclose(ieee, vasp[np.ix_(perm, perm)])


def test_voigt_matches_pymatgen(rng):
    c = random_tensor("elastic", rng)
    np.testing.assert_allclose(from_voigt(ElasticTensor(c).voigt, "elastic", "ieee"), c, atol=1e-12)
    np.testing.assert_allclose(ElasticTensor.from_voigt(to_voigt(c, "elastic")), c, atol=1e-12)
    e = random_tensor("piezoelectric", rng)
    np.testing.assert_allclose(PiezoTensor.from_voigt(to_voigt(e, "piezoelectric")), e, atol=1e-12)


def test_voigt_labels():
    assert voigt_labels("elastic")[0, 0] == "C11" and voigt_labels("elastic")[3, 5] == "C46"
    assert voigt_labels("piezoelectric").shape == (3, 6) and voigt_labels("piezoelectric")[0, 4] == "e15"
    assert voigt_labels("dielectric")[0, 1] == "εxy"


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("proper", [True, False])
def test_rotation_round_trip_and_pymatgen(kind, proper, rng):
    t = random_tensor(kind, rng)
    r = random_orthogonal(rng, reflection=not proper)
    rt = rotate(t, r)
    np.testing.assert_allclose(rotate(rt, r.T), t, atol=1e-12)
    np.testing.assert_allclose(rt, Tensor(t).rotate(r, tol=1e-6), atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(rt), np.linalg.norm(t))  # orthogonal: norm kept
    batch = np.stack([t, 2 * t])
    np.testing.assert_allclose(rotate(batch, r, rank=KINDS[kind].rank)[1], 2 * rt, atol=1e-12)


def test_ieee_frame_round_trip(rng):
    s = wurtzite_zno()
    e = random_tensor("piezoelectric", rng)
    np.testing.assert_allclose(from_ieee_frame(to_ieee_frame(e, s), s), e, atol=1e-10)


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="shape"):
        to_voigt(np.zeros((3, 3)), "elastic")
    with pytest.raises(ValueError, match="shape"):
        from_voigt(np.zeros((6, 3)), "piezoelectric")
    with pytest.raises(ValueError, match="Voigt order"):
        to_voigt(np.zeros((3, 3, 3)), "piezoelectric", order="nye")
    with pytest.raises(ValueError, match="rotation"):
        rotate(np.zeros((3, 3)), np.eye(2))
    with pytest.raises(ValueError, match="unknown tensor kind"):
        to_voigt(np.zeros((3, 3)), "magnetic")
