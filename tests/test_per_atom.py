"""Per-atom tensor models (ready for Born effective charges): readout, projection, batch, loss, training.

The kind used here is registered inside the test: a general (not index-symmetric) rank-2 tensor
per atom, formula ``"ij"``, irreps 0e+1e+2e, as Z*_κ,αβ (field α, displacement β) is.
"""

import numpy as np
import pytest
import torch

from helpers import (
    perovskite_srtio3,
    random_orthogonal,
    rattled_perovskite,
    rocksalt_nacl,
    transform_structure,
    triclinic_cell,
    wurtzite_zno,
)
from test_model import SMALL  # the small model sizes of the model tests
from gmtnet import kinds
from gmtnet.graph import build_graph, collate
from gmtnet.models import ARCHITECTURES, ModelConfig, build_model
from gmtnet.models.per_atom import per_atom_batch, per_atom_loss, predict_atoms, project_atoms
from gmtnet.models.stacked import stacking_problem
from gmtnet.symmetry import analyze_site_symmetry

torch.set_num_threads(1)

TEST_KIND = kinds.TensorKind(
    name="born_charge_test",
    title="Born effective charge (test registration)",
    symbol="Z*",
    rank=2,
    formula="ij",
    irreps="0e+1e+2e",
    unit="e",
    voigt_shape=(3, 3),
    voigt_prefix="Z",
    dataset="none",
    column="none",
    per_atom=True,
)
EQUIVARIANT = ("gmtnet", "etgnn")


@pytest.fixture(autouse=True)
def born_kind():
    """The per-atom kind, registered for the test only (the shipped registry is left as it was)."""
    kinds.register_kind(TEST_KIND)
    yield TEST_KIND
    kinds.unregister_kind(TEST_KIND)


def make_model(architecture="gmtnet", sum_rule=True, seed=0):
    torch.manual_seed(seed)
    config = ModelConfig(kind=TEST_KIND.name, architecture=architecture, per_atom=True, sum_rule=sum_rule, **SMALL)
    return build_model(config).eval()


def run(model, structures, project=True):
    """Per-atom outputs, float64, ``(N_total, 3, 3)``; with or without the site projector."""
    if project:
        batch = per_atom_batch(structures, 2, model.config.num_neighbors)
    else:
        batch = collate([build_graph(s, num_neighbors=model.config.num_neighbors) for s in structures])
    with torch.no_grad():
        return model(batch).double().numpy()


def rotate_all(t, q):
    return np.einsum("ai,bj,nij->nab", q, q, t)


def test_gmtnet_head_spans_a_general_rank_2_tensor():
    model = make_model("gmtnet", sum_rule=False)
    assert str(model.irreps_cartesian.simplify()) == "1x0e+1x1e+1x2e"
    t = run(model, [triclinic_cell()], project=False)
    # No index symmetry is imposed: the antisymmetric (1e) part is there, and so is the trace.
    assert np.abs(t - t.transpose(0, 2, 1)).max() > 1e-4 * np.abs(t).max()
    assert np.abs(np.trace(t, axis1=1, axis2=2)).max() > 1e-4 * np.abs(t).max()


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_one_tensor_per_atom_in_node_order_and_batching_agrees(architecture):
    model = make_model(architecture)
    structures = [wurtzite_zno(), perovskite_srtio3()]
    both = run(model, structures)
    assert both.shape == (9, 3, 3)
    np.testing.assert_allclose(both[:4], run(model, structures[:1]), atol=1e-5)
    np.testing.assert_allclose(both[4:], run(model, structures[1:]), atol=1e-5)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_forward_output_obeys_site_symmetry_and_the_sum_rule(architecture):
    model = make_model(architecture)
    for s in (wurtzite_zno(), perovskite_srtio3(), rocksalt_nacl(conventional=True)):
        t = run(model, [s])
        scale = np.abs(t).max()
        assert scale > 0
        sites = analyze_site_symmetry(s)
        np.testing.assert_allclose(sites.project(t), t, atol=1e-5 * scale)
        assert np.abs(t.sum(axis=0)).max() < 1e-5 * scale


@pytest.mark.parametrize("architecture", EQUIVARIANT)
@pytest.mark.parametrize("reflection", [False, True])
def test_per_atom_output_is_equivariant(architecture, reflection):
    rng = np.random.default_rng(3)
    model = make_model(architecture)
    for s in (rattled_perovskite(), wurtzite_zno()):
        q = random_orthogonal(rng, reflection=reflection)
        t = run(model, [s])
        t_rot = run(model, [transform_structure(s, q)])
        expected = rotate_all(t, q)
        assert np.abs(expected).max() > 0
        np.testing.assert_allclose(t_rot, expected, atol=1e-4 * np.abs(expected).max())


def test_megnet_per_atom_is_symmetric_only_through_the_projector():
    # An invariant readout: without the site projector the rock-salt tensors are not isotropic.
    model = make_model("megnet", sum_rule=False)
    raw = run(model, [rocksalt_nacl()], project=False)
    assert np.abs(raw[0] - raw[0, 0, 0] * np.eye(3)).max() > 1e-4 * np.abs(raw).max()
    projected = run(model, [rocksalt_nacl()])
    np.testing.assert_allclose(projected[0], projected[0, 0, 0] * np.eye(3), atol=1e-6 * np.abs(projected).max())


def test_predict_atoms_is_exact_in_random_frames():
    rng = np.random.default_rng(7)
    model = make_model("gmtnet")
    structures = [transform_structure(s, random_orthogonal(rng, reflection=i % 2 == 1))
                  for i, s in enumerate((wurtzite_zno(), perovskite_srtio3(), rocksalt_nacl()))]
    results = predict_atoms(model, structures, batch_size=2)
    assert [r.tensors.shape for r in results] == [(4, 3, 3), (5, 3, 3), (2, 3, 3)]
    for s, r in zip(structures, results):
        scale = np.abs(r.tensors).max()
        assert np.abs(r.tensors.sum(axis=0)).max() < 1e-12 * scale
        np.testing.assert_allclose(r.sites.project(r.tensors), r.tensors, atol=1e-12 * scale)
        assert r.elements == tuple(sp.symbol for sp in s.species)
    rows = results[0].rows()
    assert [row["site_symmetry"] for row in rows] == ["3m."] * 4
    assert rows[0]["element"] == "Zn" and rows[0]["T33"] == results[0].tensors[0, 2, 2]


def test_per_atom_targets_are_batched_with_the_atoms():
    structures = [wurtzite_zno(), rocksalt_nacl()]
    targets = [np.full((4, 3, 3), 1.0), np.full((2, 3, 3), 2.0)]
    batch = per_atom_batch(structures, 2, 12, targets=targets)
    assert batch.atom_targets.shape == (6, 3, 3) and batch.atom_targets.dtype == torch.float32
    np.testing.assert_array_equal(batch.atom_targets[:, 0, 0].numpy(), [1, 1, 1, 1, 2, 2])
    np.testing.assert_array_equal(batch.node_graph.numpy(), [0, 0, 0, 0, 1, 1])
    # Site-projector indices are offset like the edges: NaCl's blocks refer to atoms 4 and 5.
    nacl = batch.site_index[:, batch.site_index[0] >= 4]
    assert set(nacl.flatten().tolist()) == {4, 5}
    with pytest.raises(ValueError, match=r"atom_targets\[1\].*2-atom.*\(3, 3, 3\)"):
        per_atom_batch(structures, 2, 12, targets=[targets[0], np.zeros((3, 3, 3))])


def test_per_atom_loss_weighs_crystals_equally():
    node_graph = torch.tensor([0, 0, 0, 1])
    target = torch.zeros(4, 3, 3)
    pred = torch.zeros(4, 3, 3)
    pred[3, 0, 0] = 2.0  # the one-atom crystal is off by |ΔZ|_F = 2, the other exact
    loss = per_atom_loss(pred, target, node_graph, 2, scale=2.0)
    assert loss.item() == pytest.approx(0.5, abs=1e-5)
    with pytest.raises(ValueError, match="same shape"):
        per_atom_loss(pred, target[:3], node_graph, 2)


def test_config_and_shape_errors_name_the_value():
    with pytest.raises(ValueError, match="sum_rule"):  # a per-crystal kind
        ModelConfig(kind="dielectric", sum_rule=True)
    with pytest.raises(ValueError, match="one tensor per crystal"):
        ModelConfig(kind="dielectric", per_atom=True)
    assert ModelConfig(kind=TEST_KIND.name).per_atom  # the kind decides
    with pytest.raises(ValueError, match="per_atom must be true or false"):
        ModelConfig(kind=TEST_KIND.name, per_atom="yes")
    model = make_model("gmtnet")
    batch = per_atom_batch([wurtzite_zno()], 2, 12)
    with pytest.raises(ValueError, match=r"\(4, 9\).*\(3, 9\)"):
        project_atoms(torch.zeros(3, 9), batch, model.kind)
    assert "per-atom" in stacking_problem([model, make_model("gmtnet", seed=1)])
    graphs = [build_graph(wurtzite_zno(), num_neighbors=12)]
    blocks = analyze_site_symmetry(wurtzite_zno()).projector_blocks(2)
    with pytest.raises(ValueError, match=r"one entry per graph \(1\), got 2"):
        collate(graphs, site_projectors=[blocks, blocks])
    with pytest.raises(ValueError, match="refers to atom 4; the crystal has 4"):
        collate(graphs, site_projectors=[(blocks[0] + 1, blocks[1])])


def test_a_saved_per_atom_model_loads_back_per_atom(tmp_path):
    from gmtnet.models.network import load_model, save_model

    model = make_model("gmtnet")
    save_model(model, tmp_path)
    loaded = load_model(tmp_path, device="cpu")
    assert loaded.config.per_atom and loaded.config.sum_rule
    np.testing.assert_array_equal(run(loaded, [wurtzite_zno()]), run(model, [wurtzite_zno()]))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_per_atom_forward_on_cuda_matches_cpu():
    model = make_model("gmtnet")
    batch = per_atom_batch([wurtzite_zno(), perovskite_srtio3()], 2, model.config.num_neighbors)
    with torch.no_grad():
        cpu = model(batch).numpy()
        gpu = model.to("cuda")(batch.to("cuda")).cpu().numpy()
    np.testing.assert_allclose(gpu, cpu, atol=1e-4 * np.abs(cpu).max())


# --------------------------------------------------------------------------- training smoke test

#: Formal-charge-like scalar and anisotropy per element (e): a rule with the physics of Z*,
#: isotropic part from the ion plus a part shaped by the bonds around the site.
CHARGE = {"Na": 1.1, "Cl": -1.1, "Zn": 2.1, "O": -2.0, "Sr": 2.5, "Ti": 7.1}
ANISOTROPY = {"Na": 0.1, "Cl": -0.2, "Zn": 0.4, "O": -1.5, "Sr": 0.2, "Ti": 1.0}


def synthetic_charges(structure) -> np.ndarray:
    """Z_κ = q(el) I + c(el) Σ_nearest-shell (û⊗û − I/3), then the exact site symmetry and sum rule."""
    z = []
    for i, site in enumerate(structure):
        neighbours = structure.get_neighbors(site, 3.5)
        d_min = min(n.nn_distance for n in neighbours)
        shell = [n.coords - site.coords for n in neighbours if n.nn_distance < 1.1 * d_min]
        aniso = sum(np.outer(u, u) / (u @ u) - np.eye(3) / 3 for u in shell)
        el = site.specie.symbol
        z.append(CHARGE[el] * np.eye(3) + ANISOTROPY[el] * aniso)
    return analyze_site_symmetry(structure).project(np.array(z), acoustic_sum_rule=True)


def test_training_on_synthetic_born_charges_lowers_the_loss_and_keeps_the_sum_rule():
    structures = [wurtzite_zno(), perovskite_srtio3(), rocksalt_nacl(), rocksalt_nacl(conventional=True)]
    targets = [synthetic_charges(s) for s in structures]
    # The rule gives the anisotropic O of SrTiO3 (one value along the Ti–O bond, another across).
    o = targets[1][2]
    assert abs(o[2, 2] - o[0, 0]) > 0.5
    scale = float(np.sqrt(np.mean(np.concatenate(targets) ** 2)))
    model = make_model("gmtnet", seed=1)
    model.config.target_scale = scale
    batch = per_atom_batch(structures, 2, model.config.num_neighbors, targets=targets)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    losses = []
    for _ in range(60):
        optimiser.zero_grad()
        loss = per_atom_loss(model(batch), batch.atom_targets, batch.node_graph, batch.num_graphs, scale)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    model.eval()
    assert min(losses[-5:]) < 0.5 * losses[0], losses[::10]
    with torch.no_grad():
        pred = model(batch).double().numpy()
    bounds = np.cumsum([0] + [len(s) for s in structures])
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        assert np.abs(pred[lo:hi].sum(axis=0)).max() < 1e-5 * np.abs(pred).max()
    for r in predict_atoms(model, structures):
        assert np.abs(r.tensors.sum(axis=0)).max() < 1e-12 * np.abs(r.tensors).max()
