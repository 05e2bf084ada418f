"""All members of an ensemble in one forward pass (gmtnet.models.stacked) equal member-by-member
evaluation, for every shipped ensemble and for random ensembles; ε∞ runs once for ε₀ and ε∞."""

import dataclasses
import zlib

import numpy as np
import pytest
import torch
from helpers import rattled_perovskite, rocksalt_nacl, triclinic_cell, wurtzite_zno

from gmtnet.graph import build_graph, collate
from gmtnet.kinds import KINDS, get_kind
from gmtnet.models import ModelConfig, build_model
from gmtnet.models.ensemble import ModelEnsemble, load_ensemble
from gmtnet.models.stacked import StackedGMTNet, stacking_problem
from gmtnet.predict import Predictor
from gmtnet.symmetry import symmetry_constraints
from gmtnet.weights import shipped_model_dir

torch.set_num_threads(1)

#: float32 sums reordered by the batched kernels: relative to the largest component (as the
#: regression test of the model outputs).
RTOL = 1e-5
SMALL = dict(hidden_scalars=16, num_invariant_layers=2, num_equivariant_layers=3, equivariant_scalars=8,
             hidden_mul=4, radial_hidden=16, num_basis=8, num_neighbors=12)


def _crystals():
    return [rocksalt_nacl(), wurtzite_zno(), rattled_perovskite(), triclinic_cell()]


def _inputs(kind, num_neighbors):
    structures = _crystals()
    graphs = [build_graph(s, num_neighbors=num_neighbors) for s in structures]
    proj = np.stack([symmetry_constraints(s, kind).projector for s in structures])
    return graphs, proj


def _assert_close(batched: np.ndarray, reference: np.ndarray) -> None:
    assert batched.shape == reference.shape
    scale = np.abs(reference).max(axis=tuple(range(2, reference.ndim)), keepdims=True)
    assert np.all(np.abs(batched - reference) <= RTOL * scale)


@pytest.fixture(scope="module")
def shipped():
    return {k: load_ensemble(shipped_model_dir(k), "cpu") for k in sorted(KINDS)}


@pytest.mark.parametrize("kind", sorted(n for n, k in KINDS.items() if not k.per_atom))  # per-atom networks do not stack
def test_shipped_ensemble_batched_equals_member_by_member(shipped, kind):
    ens = shipped[kind]
    assert ens.stacked() is not None, "the shipped members should stack (one architecture, weights differ)"
    graphs, proj = _inputs(kind, ens.config.num_neighbors)
    reference = ens.run(graphs, proj, batched=False)
    # batch_size 10 with 5 members: two crystals per stacked batch, so the batches are split too
    for batch_size in (64, 10):
        _assert_close(ens.run(graphs, proj, batch_size=batch_size, batched=True), reference)
    # without projectors as well (the raw network output the regression fixture checks)
    _assert_close(ens.run(graphs, None, batched=True), ens.run(graphs, None, batched=False))


def _random_members(kind: str, seeds, **changes) -> list:
    members = []
    for seed in seeds:
        torch.manual_seed(seed)
        m = build_model(ModelConfig(architecture="gmtnet", kind=kind, **{**SMALL, **changes})).eval()
        with torch.no_grad():  # LayerNorm starts at 1/0 and biases at 0: make every weight count
            for name, p in m.named_parameters():
                g = torch.Generator().manual_seed(zlib.crc32(f"{seed}{name}".encode()))
                p.add_(0.3 * torch.randn(p.shape, generator=g))
        members.append(m)
    return members


@pytest.mark.parametrize("kind", sorted(n for n, k in KINDS.items() if not k.per_atom))  # per-atom networks do not stack
def test_random_ensemble_batched_equals_member_by_member(kind):
    members = _random_members(kind, seeds=(1, 2, 3))
    # members of one ensemble may carry different output scales
    members[1].config = dataclasses.replace(members[1].config, target_scale=2.5)
    graphs, proj = _inputs(kind, SMALL["num_neighbors"])
    batch = collate(graphs, proj)
    with torch.inference_mode():
        reference = torch.stack([m(batch) for m in members]).double().numpy()
        batched = StackedGMTNet(members)(batch).double().numpy()
    assert np.abs(reference).max() > 1e-3  # not a trivially zero output
    assert not np.allclose(reference[0], reference[1])  # the members do differ
    _assert_close(batched, reference)
    ens = ModelEnsemble(members)
    _assert_close(ens.run(graphs, proj, batch_size=3), ens.run(graphs, proj, batched=False))


def test_trace_follows_the_batch_size_and_the_projector_branch():
    members = _random_members("piezoelectric", seeds=(6, 7))
    st = StackedGMTNet(members).eval()
    structures = _crystals()
    graphs = [build_graph(s, num_neighbors=SMALL["num_neighbors"]) for s in structures]
    proj = np.stack([symmetry_constraints(s, "piezoelectric").projector for s in structures])
    with torch.inference_mode():
        # traced on 2 crystals, then asked for 1, 3 and 4 crystals of other sizes, with and without projectors
        for sl in (slice(0, 2), slice(3, 4), slice(1, 4), slice(0, 4)):
            for p in (proj[sl], None):
                batch = collate(graphs[sl], p)
                np.testing.assert_allclose(st.traced(batch).numpy(), st(batch).numpy(), rtol=0, atol=1e-5)
    assert set(st._traced) == {True, False} and all(st._traced.values())
    with pytest.raises(ValueError, match="projector must have shape"):
        st.traced(collate(graphs[:1], symmetry_constraints(structures[0], "dielectric").projector[None]))


def test_networks_that_differ_in_more_than_weights_are_run_one_by_one():
    a = _random_members("dielectric", seeds=(1,))[0]
    b = _random_members("dielectric", seeds=(2,), hidden_mul=8)[0]
    assert "configuration" in stacking_problem([a, b])
    with pytest.raises(ValueError, match="cannot stack"):
        StackedGMTNet([a, b])
    ens = ModelEnsemble([a, b])
    assert ens.stacked() is None
    graphs, proj = _inputs("dielectric", SMALL["num_neighbors"])
    with torch.inference_mode():
        expected = np.stack([m(collate(graphs, proj)).double().numpy() for m in (a, b)])
    np.testing.assert_array_equal(ens.run(graphs, proj), expected)
    megnet = build_model(ModelConfig(architecture="megnet", kind="dielectric", **SMALL)).eval()
    assert "GMTNet" in stacking_problem([megnet, megnet])


def test_stacked_copy_follows_restack(shipped):
    ens = ModelEnsemble(_random_members("elastic", seeds=(4, 5)))
    graphs, proj = _inputs("elastic", SMALL["num_neighbors"])
    before = ens.run(graphs, proj)
    with torch.no_grad():
        ens.members[0].head.weights["0e"].mul_(2.0)
    ens.restack()
    after = ens.run(graphs, proj)
    _assert_close(after, ens.run(graphs, proj, batched=False))
    assert not np.allclose(after[0], before[0]) and np.array_equal(after[1], before[1])


def test_eps_inf_runs_once_for_both_dielectric_tensors(monkeypatch):
    p = Predictor.load(kinds=["dielectric", "dielectric_electronic"], device="cpu")
    fresh = Predictor.load(kinds=["dielectric", "dielectric_electronic"], device="cpu")
    calls = []
    ens = p.models["dielectric_electronic"]
    original = ens.run
    monkeypatch.setattr(ens, "run", lambda graphs, *a, **kw: calls.append(len(graphs)) or original(graphs, *a, **kw))
    s = wurtzite_zno()
    eps_inf = p.predict(s, "dielectric_electronic")
    eps_0 = p.predict(s, "dielectric")
    assert calls == [1]  # ε₀'s admissibility step reused the ε∞ members
    p.predict(rocksalt_nacl(), "dielectric")
    p.predict(rocksalt_nacl(), "dielectric_electronic")
    assert calls == [1, 1]  # and ε∞ reuses what ε₀ ran
    # the same numbers as a predictor that ran everything afresh, ε₀ first
    ref_0 = fresh.predict(s, "dielectric")
    fresh.clear_cache()
    ref_inf = fresh.predict(s, "dielectric_electronic")
    np.testing.assert_array_equal(eps_0.tensor, ref_0.tensor)
    np.testing.assert_array_equal(eps_inf.tensor, ref_inf.tensor)
    np.testing.assert_array_equal(eps_0.members, ref_0.members)
    assert np.all(np.linalg.eigvalsh(eps_0.members - eps_inf.members) >= -1e-12)  # ε₀ ⪰ ε∞, member by member
    # another ε∞ ensemble put in place is not answered from the old one's cache
    p.models["dielectric_electronic"] = load_ensemble(shipped_model_dir("dielectric_electronic"), "cpu", members=2)
    assert len(p.predict(s, "dielectric_electronic").members) == 2
    assert get_kind("dielectric_electronic").shape == eps_inf.tensor.shape
