"""Tests of the frozen-encoder path: feature cache, parity split, tensor head, ensemble statistics.

The head tests use random node features with small multiplicities of the SevenNet irreps (both
parities, l ≤ 2, as :class:`research.encoder.SevenNetEncoder` returns them); they need neither
``sevenn`` nor the cached features. The encoder tests at the end need ``sevenn`` (not yet in
requirements.txt) and skip without it.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from e3nn import o3
from helpers import perovskite_srtio3, random_orthogonal, relative_error, rocksalt_nacl, transform_structure, wurtzite_zno

from research.encoder import FeatureCache, parity_split, structure_hash
from gmtnet.models.ensemble import ONE_SIGMA, calibration, ensemble_statistics, fit_std_scale, scalar_uncertainty
from research.head import EncoderTensorHead, HeadConfig, collate_features
from research.head_training import HeadEnsemble, load_head, save_head
from gmtnet.kinds import KINDS, get_kind
from gmtnet.symmetry import symmetry_constraints
from gmtnet.tensors import rotate

torch.set_num_threads(1)

ALL_KINDS = sorted(KINDS)
IRREPS = "8x0e+8x0o+4x1e+4x1o+4x2e+4x2o+8x0e+8x0o"


def small_head(kind: str, seed: int = 0) -> EncoderTensorHead:
    torch.manual_seed(seed)
    head = EncoderTensorHead(HeadConfig(kind=kind, irreps_in=IRREPS, scalars=8, hidden_mul=4, product_mul=4, target_scale=2.0))
    return head.double().eval()


def random_features(rng, sizes=(3, 5)) -> list[np.ndarray]:
    return [rng.normal(size=(n, o3.Irreps(IRREPS).dim)) for n in sizes]


def run(head, features, projectors=None) -> np.ndarray:
    dtype = head.change_of_basis.dtype
    batch = collate_features(features, projectors)
    batch.features = batch.features.to(dtype)
    if batch.projector is not None:
        batch.projector = batch.projector.to(dtype)
    with torch.no_grad():
        return head(batch).numpy()


# --------------------------------------------------------------------------- head


@pytest.mark.parametrize("kind", ALL_KINDS)
@pytest.mark.parametrize("reflection", [False, True])
def test_head_is_o3_equivariant(kind, reflection, rng):
    head = small_head(kind)
    feats = random_features(rng)
    out = run(head, feats)
    assert out.shape == (2, *get_kind(kind).shape)
    for _ in range(3):
        q = random_orthogonal(rng, reflection=reflection)
        d = o3.Irreps(IRREPS).D_from_matrix(torch.as_tensor(q)).numpy()
        rotated = run(head, [f @ d.T for f in feats])
        expected = np.stack([rotate(t, q) for t in out])
        assert np.abs(expected).max() > 1e-3
        assert relative_error(rotated, expected) < 1e-5, f"det {np.linalg.det(q):+.0f}"


def test_odd_parity_features_matter_under_reflection(rng):
    # Without the odd-parity half of the features a piezoelectric head could not tell a structure
    # from its mirror image; with it the inversion flips the sign of e (rank 3, odd).
    head = small_head("piezoelectric")
    feats = random_features(rng, (4,))
    d = o3.Irreps(IRREPS).D_from_matrix(torch.as_tensor(-np.eye(3))).numpy()
    np.testing.assert_allclose(run(head, [feats[0] @ d.T]), -run(head, feats), atol=1e-10)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_head_output_obeys_neumann_projector(kind, rng):
    k = get_kind(kind)
    head = small_head(kind)
    structures = [wurtzite_zno(), transform_structure(perovskite_srtio3(), random_orthogonal(rng, reflection=True))]
    cons = [symmetry_constraints(s, k) for s in structures]
    proj = np.stack([c.projector for c in cons])
    out = run(head, [rng.normal(size=(len(s), o3.Irreps(IRREPS).dim)) for s in structures], proj)
    for c, t in zip(cons, out):
        np.testing.assert_allclose(c.project(t), t, atol=1e-9 * max(1.0, np.abs(t).max()))
        check = c.check(t)
        assert check["zero_ok"] and check["equality_ok"], check


def test_head_is_mean_over_atoms_and_permutation_invariant(rng):
    head = small_head("elastic")
    f = random_features(rng, (4,))[0]
    doubled = np.concatenate([f, f])  # a supercell's atoms: same intensive tensor
    np.testing.assert_allclose(run(head, [doubled]), run(head, [f]), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(run(head, [f[::-1].copy()]), run(head, [f]), rtol=1e-10, atol=1e-12)


def test_head_rejects_wrong_projector_shape(rng):
    head = small_head("dielectric")
    with pytest.raises(ValueError, match="projector"):
        run(head, random_features(rng), np.zeros((2, 27, 27)))


def test_head_config_validation():
    with pytest.raises(ValueError, match="unknown tensor kind"):
        HeadConfig(kind="magnetic", irreps_in=IRREPS)
    with pytest.raises(ValueError, match="hidden_mul"):
        HeadConfig(kind="elastic", irreps_in=IRREPS, hidden_mul=0)
    with pytest.raises(ValueError, match="unknown HeadConfig keys"):
        HeadConfig.from_dict({"kind": "elastic", "irreps_in": IRREPS, "layers": 3})


def test_head_save_load_round_trip(tmp_path, rng):
    head = small_head("piezoelectric").float()
    head.fit_normalisation(rng.normal(scale=3.0, size=(50, o3.Irreps(IRREPS).dim)))
    save_head(head, tmp_path / "h", {"note": "test"})
    back = load_head(tmp_path / "h")
    feats = [f.astype(np.float32) for f in random_features(rng)]
    np.testing.assert_array_equal(run(back.float(), feats), run(head, feats))
    assert torch.equal(back.input_scale, head.input_scale)


# --------------------------------------------------------------------------- cache and parity


def test_structure_hash_is_stable_and_sensitive():
    s = wurtzite_zno()
    assert structure_hash(s) == structure_hash(s.copy())
    moved = s.copy()
    moved.translate_sites([0], [0.01, 0, 0])
    assert structure_hash(moved) != structure_hash(s)
    wrapped = s.copy()
    wrapped.translate_sites([1], [1.0, 0, 0], to_unit_cell=False)  # the same crystal
    assert structure_hash(wrapped) == structure_hash(s)
    assert structure_hash(rocksalt_nacl()) != structure_hash(s)


def test_feature_cache_round_trip_and_stale_entries(tmp_path, rng):
    cache = FeatureCache(tmp_path, "7net-0", IRREPS)
    key = structure_hash(wurtzite_zno())
    assert cache.get(key) is None and key not in cache
    f = rng.normal(size=(4, o3.Irreps(IRREPS).dim)).astype(np.float32)
    path = cache.put(key, f)
    assert path.suffix == ".safetensors" and path.parent.parent == tmp_path / "7net-0"
    np.testing.assert_array_equal(cache.get(key), f)
    # Another encoder or irreps is a miss, never a wrong hit.
    assert FeatureCache(tmp_path, "7net-0", "4x0e").get(key) is None
    assert FeatureCache(tmp_path, "7net-l3i5", IRREPS).get(key) is None
    path.write_bytes(b"not a safetensors file")
    assert cache.get(key) is None
    with pytest.raises(ValueError, match="n_atoms, dim"):
        cache.put(key, f[0])


def test_parity_split_gives_definite_parities(rng):
    so3 = "3x0e+2x1e+2x2e"
    dim = o3.Irreps(so3).dim
    fx, fmx = rng.normal(size=(5, dim)), rng.normal(size=(5, dim))
    out, irreps = parity_split(fx, fmx, so3)
    assert irreps == "3x0e+3x0o+2x1e+2x1o+2x2e+2x2o"
    swapped, _ = parity_split(fmx, fx, so3)  # the features of the inverted structure
    parity = np.concatenate([np.full(mul * ir.dim, ir.p) for mul, ir in o3.Irreps(irreps)])
    np.testing.assert_allclose(swapped, out * parity)


# --------------------------------------------------------------------------- ensemble


def test_ensemble_statistics_and_symmetry_of_std(rng):
    k = get_kind("elastic")
    c = symmetry_constraints(rocksalt_nacl(), k)
    members = np.stack([[c.project(rng.normal(size=k.shape) + 5)] for _ in range(5)])
    stats = ensemble_statistics(members, k)
    np.testing.assert_allclose(stats.std, members.std(axis=0, ddof=1))
    assert np.all(stats.std[0][c.zero_mask] < 1e-12)  # forbidden components carry no uncertainty
    s = stats.std[0]
    assert abs(s[0, 0, 0, 0] - s[1, 1, 1, 1]) < 1e-12  # cubic: C11 = C22 in every member
    assert stats.uncertainty.shape == (1,) and stats.uncertainty[0] > 0
    with pytest.raises(ValueError, match="at least 2"):
        ensemble_statistics(members[:1], k)


def test_calibration_of_a_gaussian_model(rng):
    k = get_kind("dielectric")
    n = 4000
    sigma = rng.uniform(0.1, 2.0, size=n)
    true = np.zeros((n, 3, 3))
    noise = rng.normal(size=(n, 3, 3)) * sigma[:, None, None]
    mean = true + (noise + noise.transpose(0, 2, 1)) / np.sqrt(2)  # symmetric; off-diagonal sd sigma
    idx = np.arange(3)
    mean[:, idx, idx] = noise[:, idx, idx]  # diagonal sd sigma too
    std = np.broadcast_to(sigma[:, None, None], (n, 3, 3)).copy()
    cal = calibration(mean, std, true, k)
    assert abs(cal["within_1sigma"] - ONE_SIGMA) < 0.02
    assert cal["spearman"] > 0.6  # larger sigma, larger error
    assert fit_std_scale(mean, 0.5 * std, true, k) == pytest.approx(2.0, rel=0.05)
    assert calibration(mean, 0.5 * std, true, k, std_scale=2.0)["within_1sigma"] == pytest.approx(cal["within_1sigma"])
    np.testing.assert_allclose(scalar_uncertainty(std[:2], k), 3 * sigma[:2])


def test_head_ensemble_round_trip(tmp_path):
    heads = [small_head("dielectric", seed=s).float() for s in range(2)]
    HeadEnsemble(heads, std_scale=1.7).save(tmp_path / "ens")
    back = HeadEnsemble.load(tmp_path / "ens")
    assert back.std_scale == 1.7 and len(back.heads) == 2 and back.kind.name == "dielectric"
    with pytest.raises(ValueError, match="different kinds"):
        HeadEnsemble([heads[0], small_head("elastic")])


# --------------------------------------------------------------------------- encoder (needs sevenn)


@pytest.fixture(scope="module")
def encoder():
    pytest.importorskip("sevenn", reason="sevenn (the pretrained encoder) is not in requirements.txt yet; pip install sevenn==0.13.0")
    from research.encoder import SevenNetEncoder

    return SevenNetEncoder.load("7net-0")


@pytest.mark.parametrize("reflection", [False, True])
def test_encoder_features_are_o3_equivariant(encoder, reflection, rng):
    s = wurtzite_zno()
    f = encoder.features(s)
    irreps = o3.Irreps(encoder.irreps_out)
    assert f.shape == (len(s), irreps.dim) and f.dtype == np.float32
    q = random_orthogonal(rng, reflection=reflection)
    d = irreps.D_from_matrix(torch.as_tensor(q)).numpy()
    assert relative_error(encoder.features(transform_structure(s, q)), f @ d.T) < 1e-4


def test_encoder_head_end_to_end_equivariant(encoder, rng):
    torch.manual_seed(0)
    head = EncoderTensorHead(HeadConfig(kind="piezoelectric", irreps_in=encoder.irreps_out, hidden_mul=4, product_mul=4)).eval()
    s = wurtzite_zno()
    q = random_orthogonal(rng, reflection=True)
    t = run(head.double(), [encoder.features(s).astype(np.float64)])[0]
    t_rot = run(head, [encoder.features(transform_structure(s, q)).astype(np.float64)])[0]
    assert relative_error(t_rot, rotate(t, q)) < 1e-4


def test_encoder_cache_round_trip(encoder, tmp_path):
    cache = encoder.cache(tmp_path)
    s = perovskite_srtio3()
    f = encoder.cached_features(s, cache)
    assert structure_hash(s) in cache
    np.testing.assert_array_equal(encoder.cached_features(s, cache), f)


def test_fit_head_learns_a_learnable_target(rng):
    # Labels that are an equivariant function of the features (the 2e part of the pooled l=2
    # features, plus an isotropic part from the pooled scalars): a head must beat the all-zero
    # and the mean predictor on held-out crystals after a few epochs.
    from helpers import triclinic_cell

    from research.head_training import HeadExamples, HeadTrainConfig, fit_head, predict_head
    from gmtnet.metrics import fnorm
    from gmtnet.models import cartesian_change_of_basis

    k = get_kind("dielectric")
    irreps = o3.Irreps(IRREPS)
    _, q = cartesian_change_of_basis(k)  # rows: 0e, then 2e (5)
    c = symmetry_constraints(triclinic_cell(), k)
    sl_0e, sl_2e = irreps.slices()[0], irreps.slices()[4]
    feats, targets = [], []
    for _ in range(60):
        f = rng.normal(size=(int(rng.integers(2, 6)), irreps.dim)).astype(np.float32)
        m = f.mean(axis=0)
        coeff = np.concatenate([[3.0 + m[sl_0e][0]], m[sl_2e][:5] * 2.0])
        feats.append(f)
        targets.append(np.tensordot(coeff, q, 1))
    n = len(feats)
    ex = HeadExamples("dielectric", [f"m{i}" for i in range(n)], np.array(["train"] * 40 + ["val"] * 10 + ["test"] * 10),
                      ["triclinic"] * n, feats, [c] * n, np.stack([c.projector] * n).astype(np.float32), np.stack(targets), IRREPS, "test")
    cfg = HeadTrainConfig(epochs=25, batch_size=8, lr=1e-2, seed=0, scalars=8, hidden_mul=4, product_mul=4)
    head, summary = fit_head(ex, ex.indices("train"), ex.indices("val"), cfg, progress=False)
    te = ex.indices("test")
    pred = predict_head(head, ex, te)
    mean_pred = np.broadcast_to(ex.targets[ex.indices("train")].mean(axis=0), pred.shape)
    assert summary["epochs_run"] == 25 and 0 <= summary["best_epoch"] < 25
    assert fnorm(pred, ex.targets[te], k) < 0.7 * fnorm(mean_pred, ex.targets[te], k)


def test_ensemble_end_to_end_on_structures(encoder, rng):
    torch.manual_seed(0)
    heads = [EncoderTensorHead(HeadConfig(kind="dielectric", irreps_in=encoder.irreps_out, hidden_mul=4, product_mul=4)).eval() for _ in range(3)]
    ens = HeadEnsemble(heads, std_scale=2.0)
    s = wurtzite_zno()
    q = random_orthogonal(rng, reflection=True)
    a = ens.predict_structures(encoder, [s, transform_structure(s, q)])
    c = symmetry_constraints(s, "dielectric")
    assert c.check(a.mean[0])["zero_ok"] and c.check(a.mean[0])["equality_ok"]
    assert relative_error(a.mean[1], rotate(a.mean[0], q)) < 1e-4
    # ||σ||_F is the RMS deviation of the members, sqrt(Σ_m ||T_m − T̄||² / (M − 1)): frame-free for ε (3x3).
    assert a.uncertainty[0] == pytest.approx(a.uncertainty[1], rel=1e-3)
    assert np.all(a.std[0][c.zero_mask] < 1e-12 * a.std[0].max())  # float64 round-off of the projection
