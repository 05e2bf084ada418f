"""ASE Atoms in, pymatgen tensor objects out, and the Jupyter view of a prediction."""

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk
from pymatgen.analysis.elasticity import ElasticTensor
from pymatgen.analysis.piezo import PiezoTensor
from pymatgen.core.tensors import SquareTensor
from pymatgen.io.ase import AseAtomsAdaptor

from gmtnet.interop import as_structure
from gmtnet.predict import PredictionError, Predictor
from helpers import random_orthogonal, transform_structure, wurtzite_zno


@pytest.fixture(scope="module")
def predictor():
    torch.set_num_threads(1)
    return Predictor.load(device="cpu", members=2)


def test_ase_atoms_give_the_same_prediction_as_the_structure(predictor):
    zno = wurtzite_zno()
    atoms = AseAtomsAdaptor.get_atoms(zno)
    for kind in ("dielectric", "piezoelectric", "elastic"):
        from_atoms, from_structure = predictor.predict(atoms, kind), predictor.predict(zno, kind)
        np.testing.assert_allclose(from_atoms.tensor, from_structure.tensor, rtol=1e-6, atol=1e-9)
        assert from_atoms.symmetry.point_group == "6mm"


def test_ase_atoms_keep_their_own_frame(predictor, rng):
    # A rotated cell: the tensor must come back in the Atoms' Cartesian frame, not a standard one.
    r = random_orthogonal(rng)
    zno, rotated = wurtzite_zno(), transform_structure(wurtzite_zno(), r)
    atoms = AseAtomsAdaptor.get_atoms(rotated)
    eps, eps_rot = predictor.predict(zno, "dielectric").tensor, predictor.predict(atoms, "dielectric").tensor
    np.testing.assert_allclose(eps_rot, r @ eps @ r.T, atol=1e-6)


def test_ase_molecules_and_bad_items_are_refused_in_place(predictor):
    molecule = Atoms("H2O", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    results = predictor.predict_many([molecule, bulk("Si", "diamond", a=5.43)], "elastic")
    assert isinstance(results[0], PredictionError) and "periodic along all three axes" in results[0].message
    assert not isinstance(results[1], PredictionError)
    with pytest.raises(ValueError, match="no cell"):
        as_structure(Atoms("Na", pbc=True))


def test_to_pymatgen_round_trips_through_pymatgens_voigt(predictor):
    zno = wurtzite_zno()
    eps = predictor.predict(zno, "dielectric").to_pymatgen()
    assert isinstance(eps, SquareTensor)
    e_pred = predictor.predict(zno, "piezoelectric")
    e = e_pred.to_pymatgen()
    assert isinstance(e, PiezoTensor)
    np.testing.assert_allclose(e.voigt, e_pred.voigt, atol=1e-12)
    np.testing.assert_allclose(PiezoTensor.from_voigt(e_pred.voigt), e_pred.tensor, atol=1e-12)
    c_pred = predictor.predict(zno, "elastic")
    c = c_pred.to_pymatgen()
    assert isinstance(c, ElasticTensor)
    np.testing.assert_allclose(c.voigt, c_pred.voigt, atol=1e-9)
    np.testing.assert_allclose(ElasticTensor.from_voigt(c_pred.voigt), c_pred.tensor, atol=1e-9)
    # pymatgen's tools work on it: Voigt bulk modulus = (C11+C22+C33 + 2(C12+C13+C23))/9
    v = c_pred.voigt
    assert c.k_voigt == pytest.approx((v[0, 0] + v[1, 1] + v[2, 2] + 2 * (v[0, 1] + v[0, 2] + v[1, 2])) / 9)
    np.testing.assert_allclose(eps, predictor.predict(zno, "dielectric").tensor)  # SquareTensor is the array itself


def test_html_repr_shows_values_units_frame_point_group_and_warnings(predictor):
    cu = bulk("Cu", "fcc", a=3.61)
    p = predictor.predict(cu, "dielectric")
    html = p._repr_html_()
    assert "±" in html and "dimensionless" in html and "Cartesian frame of the input structure" in html
    assert "Point group m-3m" in html and "IEEE" in html
    assert "Likely a metal" in html
    e = predictor.predict(wurtzite_zno(), "piezoelectric")._repr_html_()
    assert "C/m²" in e and "6mm" in e and "<li" not in e.split("<table>")[0]
    # warnings are escaped text, never markup
    from dataclasses import replace

    hostile = replace(p, warnings=("<script>alert(1)</script>",))._repr_html_()
    assert "<script>" not in hostile and "&lt;script&gt;" in hostile
    assert repr(p).startswith("Prediction(kind='dielectric'") and len(repr(p)) < 400
