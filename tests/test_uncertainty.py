"""Uncertainty per prediction: ensemble mean/std through the Predictor, and out-of-domain warnings."""

import json
import shutil

import numpy as np
import pytest
import torch
from pymatgen.core import Lattice, Structure
from safetensors.torch import load_file, save_file

from gmtnet.admissible import is_admissible
from gmtnet.domain import RARE_COUNT, TrainingDomain, bonded_pairs
from gmtnet.models.ensemble import ENSEMBLE_FILE, load_ensemble, scalar_uncertainty
from gmtnet.graph import build_graph
from gmtnet.kinds import KINDS, get_kind
from gmtnet.predict import Predictor
from gmtnet.tensors import rotate
from gmtnet.weights import shipped_model_dir
from helpers import random_orthogonal, rocksalt_nacl, transform_structure, wurtzite_zno


def _silicon() -> Structure:
    return Structure(Lattice.cubic(5.43), ["Si"] * 8, [[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0],
                                                      [0.25, 0.25, 0.25], [0.25, 0.75, 0.75], [0.75, 0.25, 0.75], [0.75, 0.75, 0.25]])


# --- out-of-domain signals ---------------------------------------------------------------------


def test_bonded_pairs_are_first_shells():
    nacl = rocksalt_nacl()
    assert bonded_pairs(build_graph(nacl, num_neighbors=16)) == {(11, 17)}  # Na-Na is the 2nd shell
    assert bonded_pairs(build_graph(_silicon(), num_neighbors=16)) == {(14, 14)}


def _domain(structures):
    return TrainingDomain.from_training(structures, [build_graph(s, num_neighbors=16) for s in structures])


def test_domain_warns_about_unseen_and_rare_elements_bonds_size_and_volume():
    nacl, si = rocksalt_nacl(), _silicon()
    domain = _domain([nacl] * RARE_COUNT + [si])
    assert domain.warnings(nacl, build_graph(nacl, num_neighbors=16)) == ()
    rare = domain.warnings(si, build_graph(si, num_neighbors=16))
    assert len(rare) == 1 and "Si (1)" in rare[0]
    kcl = nacl.copy()
    kcl.replace_species({"Na": "K"})
    unseen = domain.warnings(kcl, build_graph(kcl, num_neighbors=16))
    assert any("K is in none of the 6 training crystals" in w for w in unseen)
    # Na and Cl both known, but a Cl-Cl first shell is new (CsCl-like NaCl with Cl-Cl bonds would be
    # contrived; a Na metal cell gives a Na-Na bond no training crystal has).
    na = Structure(Lattice.cubic(4.23), ["Na", "Na"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    bonds = domain.warnings(na, build_graph(na, num_neighbors=16))
    assert any("Bonds no training crystal has: Na-Na" in w for w in bonds)
    big = nacl * (2, 2, 2)
    assert any("more than any training crystal (8)" in w for w in domain.warnings(big))
    squeezed = Structure(Lattice.cubic(4.0), nacl.species, nacl.frac_coords)
    assert any("outside the training range" in w for w in domain.warnings(squeezed))


def test_domain_round_trips_through_json():
    d = _domain([rocksalt_nacl(), _silicon()])
    back = TrainingDomain.from_dict(json.loads(json.dumps(d.to_dict())))
    assert back == d


# --- the ensemble through the Predictor ---------------------------------------------------------


@pytest.fixture(scope="module")
def toy_ensembles(tmp_path_factory):
    """Three-member ensembles for every kind: the shipped first member and two perturbed copies
    (different weights, so the spread is nonzero), in the shipped directory layout."""
    root = tmp_path_factory.mktemp("ensembles")
    rng = np.random.default_rng(0)
    dirs = {}
    for kind in (n for n, k in KINDS.items() if not k.per_atom):
        src = load_ensemble(shipped_model_dir(kind), "cpu", members=1).members[0]
        out = root / kind
        for i in range(3):
            member = out / f"member-{i}"
            member.mkdir(parents=True)
            state = {k: v.clone() for k, v in src.state_dict().items()}
            if i:  # perturb the learned parameters only: buffers hold exact bases (change of basis, ...)
                learned = {name for name, _ in src.named_parameters()}
                state = {k: v + 0.02 * v.std().nan_to_num() * torch.as_tensor(rng.normal(size=v.shape), dtype=v.dtype)
                         if k in learned and v.numel() > 1 else v for k, v in state.items()}
            save_file(state, str(member / "model.safetensors"))
            (member / "config.json").write_text(json.dumps({"model": src.config.to_dict()}))
        (out / ENSEMBLE_FILE).write_text(json.dumps({"members": 3, "std_scale": 1.5, "uncertainty_p95_val": 1e-9,
                                                     "domain": _domain([rocksalt_nacl()]).to_dict()}))
        dirs[kind] = out
    return dirs


@pytest.fixture(scope="module")
def predictor(toy_ensembles):
    torch.set_num_threads(1)
    return Predictor.load(device="cpu", model_dirs=toy_ensembles)


@pytest.mark.parametrize("kind", sorted(n for n, k in KINDS.items() if not k.per_atom))  # per-atom σ: test_new_atom_kind.py
def test_ensemble_prediction_carries_symmetric_calibrated_std(predictor, kind, rng):
    k = get_kind(kind)
    s = transform_structure(wurtzite_zno(), random_orthogonal(rng))
    p = predictor.predict(s, kind)
    assert p.members.shape == (3, *k.shape) and p.std.shape == k.shape and p.std_scale == 1.5
    # mean of the admissible members, then exactly re-projected
    assert np.allclose(p.tensor, p.members.mean(axis=0), atol=1e-9)
    assert np.allclose(p.std, 1.5 * p.members.std(axis=0, ddof=1))
    # forbidden components carry exactly zero deviation, forced pairs exactly equal ones
    assert (p.std[p.constraints.zero_mask] == 0.0).all() and (p.tensor[p.constraints.zero_mask] == 0.0).all()
    assert p.constraints.check(p.std)["equality_ok"] and p.constraints.check(p.std)["max_equality_violation"] == 0.0
    assert p.uncertainty == pytest.approx(float(scalar_uncertainty(p.std[None], k)[0])) and p.uncertainty > 0
    assert all(is_admissible(m, k) for m in p.members) and is_admissible(p.tensor, k)
    assert p.std_voigt.shape == k.voigt_shape
    # O and Zn are unseen by the toy domain (NaCl only), and the uncertainty exceeds the toy p95
    assert any("O and Zn are in none" in w for w in p.warnings) and any("95 %" in w for w in p.warnings)
    d = p.to_dict()
    assert d["ensemble_members"] == 3 and d["uncertainty"] == p.uncertainty and len(d["std_voigt"]) == k.voigt_shape[0]


def test_std_of_derived_quantities_follows_the_members(predictor, rng):
    k = get_kind("elastic")
    p = predictor.predict(wurtzite_zno(), "elastic")
    q = random_orthogonal(rng)
    rotated = p.derived_std(lambda t: rotate(t, q, rank=4))
    assert np.allclose(rotated, 1.5 * np.stack([rotate(m, q, rank=4) for m in p.members]).std(axis=0, ddof=1))
    # the std of a rotated ensemble is not the rotated std: why derived_std exists
    assert not np.allclose(rotated, np.abs(rotate(p.std, q, rank=4)))
    assert k.rank == 4


def test_ensemble_prediction_is_equivariant(predictor, rng):
    s = wurtzite_zno()
    q = random_orthogonal(rng, reflection=True)
    a, b = predictor.predict(s, "piezoelectric"), predictor.predict(transform_structure(s, q), "piezoelectric")
    assert np.allclose(rotate(a.tensor, q, rank=3), b.tensor, atol=1e-6)
    assert np.allclose(np.stack([rotate(m, q, rank=3) for m in a.members]), b.members, atol=1e-6)


def test_single_member_has_no_uncertainty_but_keeps_domain_warnings(toy_ensembles):
    fast = Predictor.load(kinds=["dielectric_electronic"], device="cpu", model_dirs=toy_ensembles, members=1)
    p = fast.predict(wurtzite_zno(), "dielectric_electronic")
    assert p.std is None and p.uncertainty is None and p.members is None and p.derived_std(np.trace) is None
    assert any("O and Zn" in w for w in p.warnings)
    one = Predictor.load(kinds=["dielectric_electronic"], device="cpu",
                         model_dirs={"dielectric_electronic": toy_ensembles["dielectric_electronic"] / "member-0"})
    assert np.array_equal(p.tensor, one.predict(wurtzite_zno(), "dielectric_electronic").tensor)


def test_members_argument_is_checked(toy_ensembles):
    with pytest.raises(ValueError, match="at least 1"):
        Predictor.load(kinds=["elastic"], device="cpu", model_dirs=toy_ensembles, members=0)


def test_a_single_model_directory_is_an_ensemble_of_one(tmp_path, toy_ensembles):
    single = tmp_path / "single"
    shutil.copytree(toy_ensembles["elastic"] / "member-0", single)
    ens = load_ensemble(single, "cpu")
    assert len(ens) == 1 and ens.domain is None and ens.std_scale == 1.0
    assert load_file(str(single / "model.safetensors"))  # untouched


def test_prediction_in_another_frame_rotates_members_and_recomputes_std(predictor, rng):
    from gmtnet.symmetry import symmetry_constraints

    s = wurtzite_zno()
    q = random_orthogonal(rng)
    p = predictor.predict(s, "elastic")
    turned = transform_structure(s, q)
    r = p.in_frame(q, symmetry_constraints(turned, "elastic"))
    assert np.allclose(r.tensor, rotate(p.tensor, q, rank=4), atol=1e-9)
    assert np.allclose(r.members, np.stack([rotate(m, q, rank=4) for m in p.members]), atol=1e-9)
    assert np.allclose(r.std, 1.5 * r.members.std(axis=0, ddof=1))
    assert (r.tensor[r.constraints.zero_mask] == 0.0).all() and (r.std[r.constraints.zero_mask] == 0.0).all()
    assert r.warnings == p.warnings and r.uncertainty > 0
    # ε's Frobenius norm of the deviation does not depend on the frame
    e = predictor.predict(s, "dielectric")
    assert e.in_frame(q, symmetry_constraints(turned, "dielectric")).uncertainty == pytest.approx(e.uncertainty)


def test_change_uncertainty_uses_paired_members():
    from gmtnet.models.ensemble import change_uncertainty

    rng = np.random.default_rng(1)
    shared = rng.normal(size=(6, 3, 3))
    shared = shared + shared.transpose(0, 2, 1)
    before, after = 10 + shared, 10.5 + shared  # every member moves by exactly +0.5 on every component
    size, sigma = change_uncertainty(before, after, "dielectric", std_scale=2.0)
    assert size == pytest.approx(0.5 * 3) and sigma == pytest.approx(0.0, abs=1e-12)
    noisy = after + 0.1 * rng.normal(size=after.shape)
    assert change_uncertainty(before, noisy, "dielectric")[1] > 0
    with pytest.raises(ValueError, match="M ≥ 2"):
        change_uncertainty(before[:1], after[:1], "dielectric")


def test_polar_cuts_draw_a_band_from_the_members(predictor):
    from gmtnet.plots import polar_figure

    p = predictor.predict(wurtzite_zno(), "elastic")
    fig = polar_figure([p.tensor, p.tensor * 1.1], "elastic", "young", names=["prediction", "DFT"],
                       members=[p.members, None], std_scale=p.std_scale, n=91)
    bands = [t for t in fig.data if t.name == "prediction ±1σ"]
    lines = [t for t in fig.data if t.name == "prediction"]
    assert len(bands) == 3 and len(lines) == 3 and not any(t.name == "DFT ±1σ" for t in fig.data)
    r = np.asarray(lines[0].r)
    upper, lower = np.asarray(bands[0].r[:91]), np.asarray(bands[0].r[91:][::-1])
    assert (upper >= r).all() and (lower <= r).all() and (upper > lower).any()
    with pytest.raises(ValueError, match="member stacks"):
        polar_figure([p.tensor], "elastic", "young", members=[None, None])


def test_voigt_table_with_std_marks_only_uncertain_components():
    from app.tables import voigt_table_with_std
    from gmtnet.kinds import get_kind

    eps = get_kind("dielectric")  # the app's tables take the kind object, resolved at the page
    v = np.diag([3.0, 3.0, 5.0])
    s = np.diag([0.1, 0.1, 0.0])
    table = voigt_table_with_std(v, s, eps)
    assert table.iloc[0, 0] == "3 ± 0.1" and table.iloc[2, 2] == "5" and table.iloc[0, 1] == "0"
    with pytest.raises(ValueError, match="differ in shape"):
        voigt_table_with_std(v, s[:2], eps)
