"""The shipped Born-effective-charge kind (``born``): Z*_κ per atom, exact physics in any frame.

Every check runs on the shipped committee (``gmtnet/resources/weights/born``), on a wurtzite
(ZnO, polar 6mm), a rock salt (NaCl) and a fluorite (CaF2) cell, each in random rotated frames and
inverted (r → −r):

* the acoustic sum rule Σ_κ Z*_κ = 0 and each atom's site symmetry hold to 1e-10 (relative);
* symmetry-equivalent atoms are the rotated copies R_g Z*_κ R_gᵀ the space group says;
* equivariance: Z*(R·crystal) = R Z*(crystal) Rᵀ, for rotations and for the inversion (which
  leaves a rank-2 polar tensor unchanged, while it swaps the polar axis of wurtzite);
* cubic sites (m-3m, -43m) get an isotropic Z*, wurtzite's are uniaxial about c;
* the index order of the output is the data's (field first): on a DFPT crystal whose site allows an
  antisymmetric Z*, the prediction is closer to the label than to its transpose.
The Predictor, the CLI and the per-site table are exercised too.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

import numpy as np
import pytest
import torch
from helpers import explore_bundled_zno, random_orthogonal, rocksalt_nacl, transform_structure, wurtzite_zno
from pymatgen.core import Lattice, Structure

from gmtnet.kinds import KINDS, get_kind
from gmtnet.kinds.born import BORN
from gmtnet.symmetry import analyze_site_symmetry

TOL = 1e-10


def fluorite_caf2() -> Structure:
    """CaF2 fluorite (Fm-3m, a = 5.46 Å), 3-atom primitive cell: Ca on m-3m, F on -43m sites."""
    a = 5.46
    return Structure(Lattice(0.5 * a * (1 - np.eye(3))), ["Ca", "F", "F"], [[0, 0, 0], [0.25, 0.25, 0.25], [0.75, 0.75, 0.75]])


CRYSTALS = {"ZnO": wurtzite_zno, "NaCl": rocksalt_nacl, "CaF2": fluorite_caf2}


@pytest.fixture(scope="module")
def predictor():
    from gmtnet.predict import Predictor

    torch.set_num_threads(1)
    return Predictor.load(kinds=["born"], device="cpu")


def _frames(seed: int):
    """Identity, two random rotations, the inversion and an improper random frame."""
    rng = np.random.default_rng(seed)
    return [np.eye(3), random_orthogonal(rng), random_orthogonal(rng), -np.eye(3), random_orthogonal(rng, reflection=True)]


def _scale(z: np.ndarray) -> float:
    return max(float(np.abs(z).max()), 1.0)


def test_the_kind_is_registered_and_installed():
    from gmtnet.predict import Predictor, installed_kinds

    assert get_kind("born") is BORN and list(KINDS)[-1] == "born"
    assert BORN.per_atom and BORN.sum_rule and BORN.rank == 2 and BORN.formula == "ij" and BORN.unit == "e"
    assert BORN.permutations == ((0, 1),) and BORN.floor is None  # no index symmetry, no bound
    assert BORN.title + " " + BORN.symbol == "Born effective charge Z*"
    assert "born" in installed_kinds()
    assert "born" not in Predictor.load(device="cpu", members=1).missing


@pytest.mark.parametrize("name", sorted(CRYSTALS))
def test_sum_rule_site_symmetry_and_equivalent_atoms_in_any_frame(predictor, name):
    base = CRYSTALS[name]()
    for r in _frames(seed=len(name)):
        s = transform_structure(base, r)
        z = predictor.predict(s, "born").tensor
        tol = TOL * _scale(z)
        assert z.shape == (len(s), 3, 3)
        np.testing.assert_allclose(z.sum(axis=0), 0.0, atol=tol)
        site = analyze_site_symmetry(s)
        for k in range(len(s)):
            for g in site.site_group(k):
                np.testing.assert_allclose(g @ z[k] @ g.T, z[k], atol=tol)
        for g, perm in zip(site.rotations, site.permutations):
            for k in range(len(s)):
                np.testing.assert_allclose(z[perm[k]], g @ z[k] @ g.T, atol=tol)


@pytest.mark.parametrize("name", sorted(CRYSTALS))
def test_equivariance_under_rotation_and_inversion(predictor, name):
    base = CRYSTALS[name]()
    z0 = predictor.predict(base, "born").tensor
    for r in _frames(seed=7 + len(name))[1:]:
        z = predictor.predict(transform_structure(base, r), "born").tensor
        # the network runs in float32: equivariance to its round-off, not to 1e-10
        np.testing.assert_allclose(z, np.einsum("ij,njk,lk->nil", r, z0, r), atol=2e-5 * _scale(z0))


def test_cubic_sites_are_isotropic_and_wurtzite_is_uniaxial(predictor):
    for name in ("NaCl", "CaF2"):
        s = transform_structure(CRYSTALS[name](), random_orthogonal(np.random.default_rng(3)))
        z = predictor.predict(s, "born").tensor
        for zk in z:
            np.testing.assert_allclose(zk, np.trace(zk) / 3 * np.eye(3), atol=TOL * _scale(z))
        assert np.trace(z[0]) > 0 > np.trace(z[-1])  # cation positive, anion negative
    nacl = predictor.predict(rocksalt_nacl(), "born").tensor
    np.testing.assert_allclose(nacl[0], -nacl[1], atol=TOL)  # two atoms: the sum rule pairs them
    zno = wurtzite_zno()
    z = predictor.predict(zno, "born").tensor
    c = zno.lattice.matrix[2] / np.linalg.norm(zno.lattice.matrix[2])
    for zk in z:  # 3m site: Z* = a (1 − ĉĉᵀ) + b ĉĉᵀ, symmetric
        a, b = 0.5 * (np.trace(zk) - c @ zk @ c), c @ zk @ c
        np.testing.assert_allclose(zk, a * (np.eye(3) - np.outer(c, c)) + b * np.outer(c, c), atol=TOL * _scale(z))
    assert np.trace(z[0]) > 0 > np.trace(z[2])  # Zn positive, O negative


def test_output_index_order_is_the_datas_field_first(predictor):
    """On the DFPT crystals whose labels have the largest antisymmetric part (sites with a 3, 4 or 6
    axis and no mirror through it), the prediction is closer to Z* than to Z*ᵀ (field index first)."""
    from gmtnet.data import load_dfpt

    df = load_dfpt(include_flagged=False)
    df = df[df["split"] != "test"]
    asym = df["born_charges"].map(lambda z: float(np.abs(np.asarray(z) - np.swapaxes(z, 1, 2)).max()))
    rows = df.loc[asym.sort_values(ascending=False).index[:5]]
    assert asym.max() > 0.2  # the set does hold labels where the order matters
    closer = 0
    for row in rows.itertuples():
        z_true = np.asarray(row.born_charges)
        pred = predictor.predict(row.structure, "born").tensor
        closer += np.linalg.norm(pred - z_true) < np.linalg.norm(pred - np.swapaxes(z_true, 1, 2))
    assert closer >= 4, f"{closer}/5 predictions closer to the label than to its transpose"


def test_cli_predict_prints_the_per_site_table(tmp_path):
    from gmtnet.cli import main

    path = tmp_path / "zno.cif"
    wurtzite_zno().to(filename=str(path))
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["predict", str(path), "--kind", "born", "--device", "cpu", "--json", str(tmp_path / "p.json")])
    text = out.getvalue()
    assert code == 0, text
    assert "Born effective charge Z* [e]" in text and "3m." in text
    (record,) = json.loads((tmp_path / "p.json").read_text())
    z = np.asarray(record["tensor"])
    assert z.shape == (4, 3, 3)
    np.testing.assert_allclose(z.sum(axis=0), 0.0, atol=1e-10 * _scale(z))


def test_explore_shows_the_born_table_per_site():
    with explore_bundled_zno("born") as at:
        tables = [df.value for df in at.dataframe if "site_symmetry" in getattr(df.value, "columns", [])]
        assert len(tables) == 1
        sites = tables[0]
        assert sorted(sites["element"]) == ["O", "O", "Zn", "Zn"] and set(sites["site_symmetry"]) == {"3m."}
        assert set(sites["wyckoff"]) == {"b"}
        zn = sites[sites["element"] == "Zn"].iloc[0]
        assert zn["T11"] > 0 and zn["T33"] > 0  # the cation's charge is positive


def test_per_atom_training_runs_through_the_one_loop(tmp_path):
    """``gmtnet.train.train`` on the born kind: per-atom loss, the kind's sum rule switched on, a
    model whose predictions obey it; with the val split it selects on the per-atom error."""
    from test_model import SMALL

    from gmtnet.models.network import load_model
    from gmtnet.train import TrainConfig, predict_atom_examples, prepare_atom_examples, train

    summary = train(TrainConfig(kind="born", epochs=2, max_train=12, device="cpu", model_options=SMALL, batch_size=6),
                    tmp_path / "run", progress=False)
    assert summary["train_crystals"] == 12 and summary["val_crystals"] == 152 and np.isfinite(summary["best_val_fnorm"])
    model = load_model(tmp_path / "run", "cpu")
    assert model.config.per_atom and model.config.sum_rule
    ex = prepare_atom_examples("born", "val", model.config.num_neighbors, limit=4, progress=False, random_frame_seed=1)
    for z in predict_atom_examples(model, ex):
        np.testing.assert_allclose(z.sum(axis=0), 0.0, atol=1e-12)
    with pytest.raises(ValueError, match="per atom"):
        TrainConfig(kind="born", loss="relative")


def test_per_atom_metrics_by_hand():
    from gmtnet.metrics import per_atom_metrics

    true = [np.stack([2 * np.eye(3), -2 * np.eye(3)]), np.stack([np.eye(3)] * 2 + [-2 * np.eye(3)])]
    pred = [true[0] + 0.15 * np.eye(3), true[1].copy()]  # relative error 0.075 on both atoms
    pred[1][0] = 0.0  # one atom entirely wrong: ‖Δ‖_F / ‖Z‖_F = 1
    m = per_atom_metrics(pred, true)
    assert m["n_crystals"] == 2 and m["n_atoms"] == 5
    assert m["mae"] == pytest.approx((2 * 3 * 0.15 + 3 * 1.0) / 45)
    assert m["atom_ewt25"] == m["atom_ewt10"] == pytest.approx(4 / 5) and m["atom_ewt5"] == pytest.approx(2 / 5)
    assert m["crystal_ewt25"] == pytest.approx(1 / 2)
    assert m["fnorm"] == pytest.approx((0.15 * np.sqrt(3) + np.sqrt(3) / 3) / 2)
    with pytest.raises(ValueError, match="shape"):
        per_atom_metrics([true[0][:1]], [true[0]])
