"""Tests of gmtnet.models: output contract, O(3) equivariance, invariances, symmetry, config.

Untrained models with a fixed seed and small widths (the physics does not depend on the size);
the default configuration is built once per kind for the parameter-count check.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from helpers import (
    assert_equivariant,
    assert_invariant,
    permuted,
    random_orthogonal,
    rattled_perovskite,
    relative_error,
    rocksalt_nacl,
    supercell,
    transform_structure,
    translated,
    triclinic_cell,
    wurtzite_zno,
)

from gmtnet.graph import build_graph, collate
from gmtnet.kinds import KINDS, get_kind
from gmtnet.models import (
    ARCHITECTURES,
    ModelConfig,
    build_model,
    cartesian_change_of_basis,
    count_parameters,
)
from gmtnet.symmetry import symmetry_constraints

# One thread: these graphs are tiny, and on a shared 2-core machine a second OpenMP thread that
# gets descheduled makes every op wait (milliseconds per op).
torch.set_num_threads(1)

# per-crystal kinds; per-atom models (Born charges) are tested in test_per_atom.py / test_born.py
ALL_KINDS = sorted(n for n, k in KINDS.items() if not k.per_atom)
EQUIVARIANT = ("gmtnet", "etgnn")
SMALL = dict(
    hidden_scalars=16,
    num_invariant_layers=1,
    num_equivariant_layers=2,
    equivariant_scalars=8,
    hidden_mul=4,
    radial_hidden=16,
    num_basis=8,
    num_neighbors=12,
)

_MODELS: dict[tuple[str, str], torch.nn.Module] = {}


def small_model(kind: str, architecture: str) -> torch.nn.Module:
    key = (kind, architecture)
    if key not in _MODELS:
        torch.manual_seed(0)
        _MODELS[key] = build_model(ModelConfig(kind=kind, architecture=architecture, **SMALL)).eval()
    return _MODELS[key]


def predict(model, structure, project: bool = False) -> np.ndarray:
    """One structure -> float64 numpy tensor (3, ..., 3) in the structure's frame."""
    graph = build_graph(structure, num_neighbors=model.config.num_neighbors)
    proj = [symmetry_constraints(structure, model.kind).projector] if project else None
    with torch.no_grad():
        return model(collate([graph], proj))[0].double().numpy()


# --------------------------------------------------------------------------- output contract


@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_output_shape_dtype_and_batching(kind, architecture):
    model = small_model(kind, architecture)
    structures = [triclinic_cell(), wurtzite_zno(), rocksalt_nacl()]
    batch = collate([build_graph(s, num_neighbors=12) for s in structures])
    with torch.no_grad():
        out = model(batch)
    assert out.dtype == torch.float32
    assert out.shape == (3, *get_kind(kind).shape)
    assert torch.isfinite(out).all()
    # A batch gives what each crystal gives alone (NaCl's piezo tensor is ~0: compare to the batch).
    scale = out.abs().max().item()
    for i, s in enumerate(structures):
        assert np.abs(out[i].double().numpy() - predict(model, s)).max() < 1e-5 * scale
    assert model.config.kind == kind and model.config.architecture == architecture


@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_index_symmetry(kind, architecture):
    t = predict(small_model(kind, architecture), triclinic_cell(2))
    scale = np.abs(t).max()
    assert scale > 0
    rank = get_kind(kind).rank
    if rank in (2, 3):  # ε ij = ji; e ijk = ikj
        np.testing.assert_allclose(t, np.swapaxes(t, -1, -2), atol=1e-6 * scale)
    else:  # C ijkl = jikl = ijlk = klij
        np.testing.assert_allclose(t, t.transpose(1, 0, 2, 3), atol=1e-6 * scale)
        np.testing.assert_allclose(t, t.transpose(0, 1, 3, 2), atol=1e-6 * scale)
        np.testing.assert_allclose(t, t.transpose(2, 3, 0, 1), atol=1e-6 * scale)


# --------------------------------------------------------------------------- O(3)


@pytest.mark.parametrize("reflection", [False, True], ids=["rotation", "reflection"])
@pytest.mark.parametrize("architecture", EQUIVARIANT)
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_equivariance(kind, architecture, reflection):
    model = small_model(kind, architecture)
    rng = np.random.default_rng(7)
    for structure in (triclinic_cell(0), rattled_perovskite(1)):
        r = random_orthogonal(rng, reflection=reflection)
        assert_equivariant(lambda s: predict(model, s), structure, r, rtol=1e-4)


@pytest.mark.parametrize("architecture", EQUIVARIANT)
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_equivariance_with_projector(kind, architecture):
    # The projector of the rotated crystal is the rotated projector, so equivariance survives it.
    model = small_model(kind, architecture)
    r = random_orthogonal(np.random.default_rng(3), reflection=True)
    assert_equivariant(lambda s: predict(model, s, project=True), wurtzite_zno(), r, rtol=1e-4)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_megnet_is_invariant_not_equivariant(kind):
    # MEGNet sees distances only: without a projector its raw components ignore the rotation.
    model = small_model(kind, "megnet")
    s = triclinic_cell(0)
    r = random_orthogonal(np.random.default_rng(5))
    assert_invariant(lambda x: predict(model, x), s, transform_structure(s, r), rtol=1e-5, what="rotation")


# --------------------------------------------------------------------------- invariances


@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_permutation_translation_supercell_invariance(kind, architecture):
    model = small_model(kind, architecture)
    # Without a projector on a P1 crystal; with one on wurtzite, whose supercell is taken along c:
    # spglib lists only the operations that map the given cell onto itself, so a 2x1x1 hexagonal
    # supercell would lose the 6-fold axes from analyze_symmetry's rotations (see the report).
    for project, s, scaling in ((False, rattled_perovskite(2), (2, 1, 1)), (True, wurtzite_zno(), (1, 1, 2))):
        f = lambda x: predict(model, x, project=project)  # noqa: E731
        assert_invariant(f, s, permuted(s, np.roll(np.arange(len(s)), 2)), what="permutation")
        assert_invariant(f, s, translated(s, [0.31, -0.12, 0.47]), what="translation")
        assert_invariant(f, s, supercell(s, scaling), what=f"{scaling} supercell")


# --------------------------------------------------------------------------- crystal symmetry


@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize("kind", ALL_KINDS)
@pytest.mark.parametrize("make", [wurtzite_zno, rocksalt_nacl], ids=["ZnO-6mm", "NaCl-m3m"])
def test_projected_output_obeys_crystal_symmetry(kind, architecture, make):
    s = make()
    model = small_model(kind, architecture)
    c = symmetry_constraints(s, kind)
    t32 = predict(model, s, project=True)  # the float32 output, as float64
    # Scale: the unprojected output (NaCl's projected piezo tensor is ~0, P being ~0 in float32).
    scale = np.linalg.norm(predict(model, s, project=False))
    if scale == 0:  # ETGNN's rank-3 edge sum cancels exactly in a centrosymmetric crystal
        assert c.n_independent == 0 and not t32.any()
        return
    # The float32 output itself is in the allowed subspace to float32 accuracy ...
    assert np.linalg.norm(t32 - c.project(t32)) <= 1e-5 * max(np.linalg.norm(t32), 1e-6 * scale)
    # ... and passes the paper's checks after the predictor's float64 re-projection.
    report = c.check(c.project(t32), zero_tol=1e-9 * scale, equality_tol=1e-9 * scale)
    assert report["zero_ok"] and report["equality_ok"], report
    if c.n_independent == 0:  # centrosymmetric crystal, rank-3 tensor
        assert np.abs(t32).max() <= 1e-6 * scale


@pytest.mark.parametrize("architecture", EQUIVARIANT)
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_equivariant_models_respect_symmetry_without_projector(kind, architecture):
    # Complete neighbour shells carry the crystal's symmetry into the graph; an equivariant model
    # then predicts an allowed tensor by itself (for ideal positions, to float32 accuracy).
    s = wurtzite_zno()
    t = predict(small_model(kind, architecture), s)
    assert symmetry_constraints(s, kind).residual(t) < 1e-5


# --------------------------------------------------------------------------- config and build


def test_config_round_trip():
    c = ModelConfig(kind="elastic", architecture="etgnn", hidden_mul=8, r_max=7.5, target_scale=42.0)
    d = json.loads(json.dumps(c.to_dict()))
    assert ModelConfig.from_dict(d) == c
    assert build_model(d).config == c


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "magnetic"},
        {"architecture": "transformer"},
        {"hidden_mul": 0},
        {"r_max": -1.0},
        {"target_scale": float("nan")},
        {"lmax_hidden": -1},
    ],
)
def test_config_rejects_bad_values(bad):
    with pytest.raises(ValueError):
        ModelConfig(**bad)


def test_from_dict_rejects_unknown_keys():
    with pytest.raises(ValueError, match="colour"):
        ModelConfig.from_dict({"kind": "dielectric", "colour": "blue"})


def test_piezo_needs_two_equivariant_layers():
    with pytest.raises(ValueError, match="2o"):
        build_model(ModelConfig(kind="piezoelectric", num_equivariant_layers=1))


def test_target_scale_multiplies_output():
    torch.manual_seed(1)
    a = build_model(ModelConfig(kind="dielectric", target_scale=1.0, **SMALL)).eval()
    b = build_model(ModelConfig(kind="dielectric", target_scale=10.0, **SMALL)).eval()
    b.load_state_dict(a.state_dict())
    s = wurtzite_zno()
    np.testing.assert_allclose(predict(b, s), 10.0 * predict(a, s), rtol=1e-5)


def test_projector_shape_is_checked():
    model = small_model("elastic", "gmtnet")
    g = build_graph(wurtzite_zno(), num_neighbors=12)
    with pytest.raises(ValueError, match="projector"):
        model(collate([g], [np.eye(9)]))


@pytest.mark.parametrize("kind", ["dielectric", "piezoelectric", "elastic"])
def test_change_of_basis_matches_registry(kind):
    irreps, q = cartesian_change_of_basis(kind)
    k = get_kind(kind)
    assert q.shape == (irreps.dim, *k.shape)
    flat = q.reshape(irreps.dim, -1)
    np.testing.assert_allclose(flat @ flat.T, np.eye(irreps.dim), atol=1e-5)  # orthonormal rows


@pytest.mark.parametrize("kind", ["dielectric", "piezoelectric", "elastic"])
def test_every_parameter_gets_a_gradient(kind):
    model = small_model(kind, "gmtnet")
    batch = collate([build_graph(s, num_neighbors=12) for s in (triclinic_cell(), rattled_perovskite())])
    model.zero_grad()
    model(batch).pow(2).sum().backward()
    dead = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    model.zero_grad()
    assert not dead, dead


@pytest.mark.parametrize("kind", ["dielectric", "piezoelectric", "elastic"])
def test_default_sizes(kind):
    sizes = {a: count_parameters(build_model(ModelConfig(kind=kind, architecture=a))) for a in ARCHITECTURES}
    assert 200_000 <= sizes["gmtnet"] <= 1_000_000, sizes
    for a in ("megnet", "etgnn"):  # same order of size
        assert 0.3 < sizes[a] / sizes["gmtnet"] < 3, sizes


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_cuda_matches_cpu(architecture):
    model = small_model("elastic", architecture)
    s = wurtzite_zno()
    batch = collate([build_graph(s, num_neighbors=12)], [symmetry_constraints(s, "elastic").projector])
    with torch.no_grad():
        cpu = model(batch)
        gpu = model.to("cuda")(batch.to("cuda")).cpu()
    model.to("cpu")
    assert relative_error(gpu.numpy(), cpu.numpy()) < 1e-4


@pytest.mark.parametrize("kind", ["dielectric", "piezoelectric", "elastic"])
def test_change_of_basis_is_e3nns_cartesian_tensor(kind):
    from e3nn.io import CartesianTensor

    k = get_kind(kind)
    irreps, q = cartesian_change_of_basis(kind)
    rtp = CartesianTensor(k.formula).reduced_tensor_products()
    assert str(irreps) == str(rtp.irreps_out)
    np.testing.assert_allclose(q, rtp.change_of_basis.double().numpy(), atol=1e-12)
