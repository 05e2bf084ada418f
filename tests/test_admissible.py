"""Physically admissible tensors: spectral clipping that keeps Neumann's principle exact."""

import numpy as np
import pytest
import torch

from gmtnet.admissible import (
    DIELECTRIC_FLOOR,
    ELASTIC_FLOOR_GPA,
    admissible_dielectric,
    admissible_dielectric_pair,
    admissible_elastic,
    from_mandel,
    is_admissible,
    make_admissible,
    min_eigenvalue,
    to_mandel,
)
from gmtnet.pointgroups import point_group_operations
from gmtnet.predict import Predictor
from gmtnet.symmetry import neumann_projector
from gmtnet.tensors import from_voigt, rotate, symmetrize_indices, to_voigt
from helpers import perovskite_srtio3, random_orthogonal, rattled_perovskite, rocksalt_nacl, transform_structure, wurtzite_zno

GROUPS = ("1", "-1", "2/m", "mmm", "4/mmm", "-3m", "6/mmm", "m-3m", "6mm", "-43m")


def _invariant(kind: str, group: str, rng, shift: float = 0.0) -> np.ndarray:
    """A random tensor obeying ``group``, shifted down so it is (usually) not admissible."""
    rank = 2 if kind.startswith("dielectric") else 4
    p = neumann_projector(point_group_operations(group), kind)
    t = (p @ rng.normal(size=3**rank)).reshape((3,) * rank)
    if rank == 2:
        return t + shift * np.eye(3)
    iso = from_voigt(np.diag([1.0, 1, 1, 0.5, 0.5, 0.5]), "elastic")
    return 100 * t + shift * iso


def _residual(t: np.ndarray, kind: str, group: str) -> float:
    p = neumann_projector(point_group_operations(group), kind)
    flat = t.reshape(-1)
    return float(np.linalg.norm(flat - p @ flat) / max(np.linalg.norm(flat), 1e-300))


def test_nearest_admissible_dielectric_is_the_clipped_spectrum():
    eps = np.diag([3.0, 0.5, -2.0])
    np.testing.assert_allclose(admissible_dielectric(eps), np.diag([3.0, 1.0, 1.0]), atol=1e-15)
    q = random_orthogonal(np.random.default_rng(0))
    np.testing.assert_allclose(admissible_dielectric(q @ eps @ q.T), q @ np.diag([3.0, 1, 1]) @ q.T, atol=1e-12)


def test_admissible_input_is_returned_bit_for_bit():
    eps = np.array([[5.0, 0.3, 0.0], [0.3, 4.0, 0.0], [0.0, 0.0, 7.25]])
    assert np.array_equal(admissible_dielectric(eps), eps)
    c = from_voigt(np.array([[200, 80, 80, 0, 0, 0], [80, 200, 80, 0, 0, 0], [80, 80, 200, 0, 0, 0],
                             [0, 0, 0, 60, 0, 0], [0, 0, 0, 0, 60, 0], [0, 0, 0, 0, 0, 60.0]]), "elastic")
    assert np.array_equal(admissible_elastic(c), c)


def test_mandel_round_trip_and_isotropic_eigenvalues():
    k_mod, g_mod = 150.0, 70.0  # GPa
    lam = k_mod - 2 * g_mod / 3
    voigt = np.full((6, 6), 0.0)
    voigt[:3, :3] = lam
    voigt[np.arange(3), np.arange(3)] += 2 * g_mod
    voigt[np.arange(3, 6), np.arange(3, 6)] = g_mod
    c = from_voigt(voigt, "elastic")
    np.testing.assert_allclose(from_mandel(to_mandel(c)), c, atol=1e-12)
    # Mandel eigenvalues of an isotropic solid: 3K once, 2G five times (frame independent).
    np.testing.assert_allclose(np.linalg.eigvalsh(to_mandel(c)), [2 * g_mod] * 5 + [3 * k_mod], rtol=1e-12)


@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize("kind", ["dielectric", "elastic"])
def test_clipping_keeps_the_point_group_and_is_admissible(kind, group, rng):
    for _ in range(5):
        t = _invariant(kind, group, rng, shift=-2.0 if kind == "dielectric" else -150.0)
        out = make_admissible(t, kind)
        assert is_admissible(out, kind)
        floor = DIELECTRIC_FLOOR if kind == "dielectric" else ELASTIC_FLOOR_GPA
        assert min_eigenvalue(out, kind) >= floor - 1e-9
        assert _residual(out, kind, group) < 1e-12  # still obeys Neumann's principle
        np.testing.assert_allclose(make_admissible(out, kind), out, atol=1e-12)  # idempotent
        np.testing.assert_array_equal(out, symmetrize_indices(out, kind))  # index symmetry kept


@pytest.mark.parametrize("kind", ["dielectric", "elastic"])
def test_clipping_is_frame_independent(kind, rng):
    """make_admissible(ρ(Q) T) = ρ(Q) make_admissible(T) for rotations and reflections."""
    t = _invariant(kind, "1", rng, shift=-1.5 if kind == "dielectric" else -120.0)
    assert not is_admissible(t, kind)
    q = random_orthogonal(rng, reflection=True)
    np.testing.assert_allclose(make_admissible(rotate(t, q), kind), rotate(make_admissible(t, kind), q), atol=1e-9)


def test_plain_voigt_clipping_would_not_be_frame_independent(rng):
    """Why Mandel: clipping the plain Voigt matrix gives a frame-dependent answer."""
    t = _invariant("elastic", "1", rng, shift=-120.0)
    q = random_orthogonal(rng)

    def voigt_clip(c):
        w, v = np.linalg.eigh(to_voigt(c, "elastic"))
        return from_voigt(v @ np.diag(np.maximum(w, ELASTIC_FLOOR_GPA)) @ v.T, "elastic")

    assert np.abs(voigt_clip(rotate(t, q)) - rotate(voigt_clip(t), q)).max() > 1e-3


def test_dielectric_pair_orders_static_above_electronic(rng):
    for group in GROUPS:
        e0 = _invariant("dielectric", group, rng, shift=1.0)
        einf = _invariant("dielectric", group, rng, shift=2.0)
        a0, ainf = admissible_dielectric_pair(e0, einf)
        assert np.linalg.eigvalsh(ainf)[0] >= 1 - 1e-12
        assert np.linalg.eigvalsh(a0 - ainf)[0] >= -1e-12  # ε₀ ⪰ ε∞
        np.testing.assert_array_equal(ainf, admissible_dielectric(einf))  # ε∞ alone clipped the same
        assert _residual(a0, "dielectric", group) < 1e-12 and _residual(ainf, "dielectric", group) < 1e-12


def test_batches_change_only_inadmissible_members(rng):
    good = _invariant("elastic", "m-3m", rng, shift=400.0)
    bad = _invariant("elastic", "m-3m", rng, shift=-400.0)
    assert is_admissible(good, "elastic") and not is_admissible(bad, "elastic")
    out = admissible_elastic(np.stack([good, bad]))
    assert np.array_equal(out[0], good)
    assert is_admissible(out[1], "elastic")


def test_shape_errors_are_clear():
    with pytest.raises(ValueError, match=r"\(3, 3\)"):
        admissible_dielectric(np.zeros((3, 6)))
    with pytest.raises(ValueError, match=r"\(3, 3, 3, 3\)"):
        admissible_elastic(np.zeros((6, 6)))


@pytest.fixture(scope="module")
def predictor():
    torch.set_num_threads(1)
    return Predictor.load(device="cpu")


@pytest.mark.parametrize("kind", ["dielectric", "dielectric_electronic", "elastic", "piezoelectric"])
def test_predictions_are_admissible_and_symmetric(predictor, kind, rng):
    structures = [rocksalt_nacl(), wurtzite_zno(), perovskite_srtio3(), rattled_perovskite(3)]
    structures.append(transform_structure(wurtzite_zno(), random_orthogonal(rng, reflection=True)))
    for s, p in zip(structures, predictor.predict_many(structures, kind)):
        assert is_admissible(p.tensor, kind)
        assert p.symmetry.zero_ok and p.symmetry.equality_ok
        assert (p.tensor[p.constraints.zero_mask] == 0.0).all()
        assert p.admissible_shift >= 0.0


def test_predicted_static_dielectric_is_above_electronic(predictor):
    structures = [rocksalt_nacl(), wurtzite_zno(), perovskite_srtio3(), rattled_perovskite(1)]
    for s in structures:
        e0 = predictor.predict(s, "dielectric").tensor
        einf = predictor.predict(s, "dielectric_electronic").tensor
        assert np.linalg.eigvalsh(e0 - einf)[0] >= -1e-9
