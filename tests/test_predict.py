"""The prediction API on the shipped weights: loading, symmetry, equivariance, bad input."""

import json

import numpy as np
import pytest
import torch
from pymatgen.core import Lattice, Structure

from gmtnet.cli import main
from gmtnet.kinds import KINDS
from gmtnet.predict import PredictionError, Predictor
from gmtnet.tensors import rotate
from gmtnet.models.network import resolve_device
from helpers import random_orthogonal, rocksalt_nacl, transform_structure, wurtzite_zno


@pytest.fixture(scope="module")
def predictor():
    torch.set_num_threads(1)
    return Predictor.load(device="cpu")


def test_shipped_weights_load_for_every_kind(predictor):
    assert sorted(predictor.kinds) == sorted(KINDS)
    for kind, model in predictor.models.items():
        assert model.config.kind == kind and model.config.architecture == "gmtnet"
        assert not any(m.training for m in model.members)


@pytest.mark.parametrize("kind", sorted(n for n, k in KINDS.items() if not k.per_atom))  # per-atom: test_born.py
def test_prediction_obeys_symmetry_in_a_random_frame(predictor, kind, rng):
    s = wurtzite_zno()
    q = random_orthogonal(rng, reflection=kind == "piezoelectric")
    r, rq = predictor.predict(s, kind), predictor.predict(transform_structure(s, q), kind)
    for p in (r, rq):
        assert p.symmetry.point_group == "6mm" and p.symmetry.zero_ok and p.symmetry.equality_ok
        assert p.tensor.shape == KINDS[kind].shape and p.voigt.shape == KINDS[kind].voigt_shape
    assert (r.tensor[r.constraints.zero_mask] == 0.0).all()  # exact zeros in the structure frame
    # Equivariance: the prediction for the rotated crystal is the rotated prediction.
    np.testing.assert_allclose(rq.tensor, rotate(r.tensor, q), atol=1e-4 * np.abs(r.tensor).max())


def test_physically_sensible_values(predictor):
    nacl = rocksalt_nacl()
    eps = predictor.predict(nacl, "dielectric_electronic").tensor
    assert np.allclose(eps, eps[0, 0] * np.eye(3)) and 1.0 < eps[0, 0] < 10.0
    assert np.abs(predictor.predict(nacl, "piezoelectric").tensor).max() == 0.0  # centrosymmetric
    c = predictor.predict(nacl, "elastic")
    assert c.symmetry.n_independent == 3
    assert np.all(np.linalg.eigvalsh(c.voigt) > 0)  # a stable-looking stiffness


def test_predict_many_reports_bad_items_and_keeps_the_rest(predictor):
    bad = Structure(Lattice.cubic(3.6), [{"Cu": 0.5, "Au": 0.5}], [[0, 0, 0]])
    out = predictor.predict_many([rocksalt_nacl(), bad, wurtzite_zno()], "dielectric")
    assert isinstance(out[1], PredictionError) and "disordered" in out[1].message
    assert out[0].symmetry.point_group == "m-3m" and out[2].symmetry.point_group == "6mm"
    single = predictor.predict(wurtzite_zno(), "dielectric").tensor
    np.testing.assert_allclose(out[2].tensor, single, rtol=1e-5)
    with pytest.raises(ValueError, match="disordered"):
        predictor.predict(bad, "dielectric")
    with pytest.raises(ValueError, match="unknown tensor kind"):
        predictor.predict(rocksalt_nacl(), "magnetic")


def test_prediction_to_dict_names_units_frame_and_order(predictor):
    d = predictor.predict(wurtzite_zno(), "piezoelectric").to_dict()
    assert d["unit"] == "C/m²" and "structure" in d["frame"] and d["voigt_order"].startswith("ieee")
    json.dumps(d)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown on a machine without a GPU")
def test_missing_gpu_gives_a_clear_message():
    with pytest.raises(ValueError, match="no CUDA GPU"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu"


def test_cli_predict(tmp_path, capsys):
    path = tmp_path / "zno.cif"
    path.write_text(wurtzite_zno().to(fmt="cif"))
    out_json = tmp_path / "pred.json"
    assert main(["predict", str(path), "--kind", "elastic", "--device", "cpu", "--json", str(out_json)]) == 0
    text = capsys.readouterr().out
    assert "6mm" in text and "GPa" in text and "IEEE" in text
    assert "± 1σ (calibrated, 5-network ensemble); uncertainty" in text
    records = json.loads(out_json.read_text())
    assert records[0]["kind"] == "elastic" and np.array(records[0]["voigt"]).shape == (6, 6)
    assert np.array(records[0]["std_voigt"]).shape == (6, 6) and records[0]["uncertainty"] > 0
    assert records[0]["ensemble_members"] == 5 and isinstance(records[0]["warnings"], list)
    # the fast single network: no uncertainty, same symmetry
    assert main(["predict", str(path), "--kind", "elastic", "--device", "cpu", "--members", "1", "--json", str(out_json)]) == 0
    assert "± 1σ" not in capsys.readouterr().out
    fast = json.loads(out_json.read_text())[0]
    assert fast["std"] is None and fast["uncertainty"] is None and fast["ensemble_members"] == 1
    bad = tmp_path / "empty.cif"
    bad.write_text("")
    assert main(["predict", str(bad), "--kind", "elastic", "--device", "cpu"]) == 1
    assert "empty" in capsys.readouterr().out
