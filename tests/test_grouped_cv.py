"""``benchmarks/grouped_cv.py``: where each kind's runs go, the recipes it refuses, the elastic grading and ship
rule, and the paired out-of-fold comparison behind the ε∞ loss rule."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from gmtnet.tensors import from_voigt

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from grouped_cv import (  # noqa: E402
    ELASTIC_RULE, elastic_entry, elastic_verdict, grade_elastic, loss_verdict, paired_difference, run_kind, run_name,
)


def test_eps_inf_runs_keep_their_names_and_eps0_runs_are_prefixed():
    assert run_name("dielectric_electronic", "union") == "union"
    assert run_name("dielectric_electronic", "mp", "relative") == "mp-relative"
    assert run_name("dielectric", "mp") == "eps0-mp"
    for name in ("union", "mp-relative", "eps0-mp", "eps0-mp-40ep"):
        assert run_kind(name) == ("dielectric" if name.startswith("eps0-") else "dielectric_electronic")


def test_eps0_has_no_dfpt_labels_so_union_is_refused_by_name():
    with pytest.raises(ValueError, match="variant must be 'mp', not 'union'"):
        run_name("dielectric", "union")
    with pytest.raises(ValueError, match="kind must be one of .* got 'piezoelectric'"):
        run_name("piezoelectric", "mp")
    with pytest.raises(ValueError, match="variant must be 'mp', not 'union'"):
        run_name("elastic", "union")


def test_elastic_runs_are_prefixed():
    assert run_name("elastic", "mp") == "elastic-mp"
    assert run_kind("elastic-mp") == "elastic"
    # the fine-tuning recipe on the same folds is kept apart from the from-scratch committee
    assert run_name("elastic", "mp", init_from="weights/elastic") == "elastic-mp-finetuned"
    assert run_kind("elastic-mp-finetuned") == "elastic"


def _isotropic(k: float, g: float) -> np.ndarray:
    """Full-rank isotropic stiffness (GPa) with bulk modulus k and shear modulus g."""
    lam = k - 2 * g / 3
    v = np.zeros((6, 6))
    v[:3, :3] = lam
    v[np.arange(3), np.arange(3)] = lam + 2 * g
    v[np.arange(3, 6), np.arange(3, 6)] = g
    return from_voigt(v, "elastic", "ieee")


def test_elastic_grading_takes_the_closest_candidate_and_vrh_errors():
    true = np.stack([_isotropic(100, 50), _isotropic(200, 80)])
    pred = np.stack([_isotropic(110, 45), _isotropic(200, 80)])
    far = true * 3  # a second candidate far from the prediction: must not be chosen
    cands = np.stack([np.stack([far[0], true[0]]), np.stack([true[1], true[1]])])
    mask = np.array([[True, True], [True, False]])
    g = grade_elastic(pred, cands, mask)
    assert g["n"] == 2
    assert g["k_vrh_mae"] == pytest.approx(5.0)  # |110-100| and 0
    assert g["g_vrh_mae"] == pytest.approx(2.5)  # |45-50| and 0
    assert g["k_vrh_n"] == g["g_vrh_n"] == 2
    assert g["ewt25"] == pytest.approx(1.0)  # both within 25 % of the closest candidate
    # against the far candidate alone the first row would miss
    assert grade_elastic(pred, far[:, None], np.ones((2, 1), bool))["ewt25"] == pytest.approx(0.0)


def test_elastic_verdict_applies_each_margin():
    ref = {"ewt25": 0.75, "fnorm": 80.0, "k_vrh_mae": 15.0, "g_vrh_mae": 16.0}
    assert elastic_verdict(dict(ref), ref)["ship"]
    worse = {"ewt25": 0.75 - ELASTIC_RULE["ewt25_drop_max"] - 0.01, "fnorm": 80.0, "k_vrh_mae": 15.0, "g_vrh_mae": 16.0}
    v = elastic_verdict(worse, ref)
    assert not v["ship"] and v["checks"] == {"ewt25": False, "fnorm": True, "k_vrh_mae": True, "g_vrh_mae": True}
    v = elastic_verdict(ref | {"g_vrh_mae": 16.0 * ELASTIC_RULE["g_vrh_mae_ratio_max"] + 0.1}, ref)
    assert not v["ship"] and not v["checks"]["g_vrh_mae"]


def test_elastic_entry_pools_folds_with_different_candidate_counts(tmp_path):
    vdir = tmp_path / "elastic-mp"
    rng = np.random.default_rng(0)
    for fold, k in ((0, 1), (1, 3)):
        d = vdir / f"fold-{fold}"
        d.mkdir(parents=True)
        true = np.stack([_isotropic(100 + 10 * i, 40 + i) for i in range(4)])
        cands = np.repeat(true[:, None], k, axis=1)
        pred = true * (1 + 0.05 * rng.standard_normal((4, 1, 1, 1, 1)))
        np.savez_compressed(d / "oof.npz", mp_ids=np.array([f"m{i}" for i in range(4)]), mp_pred=pred, mp_true=true,
                            mp_cands=cands, mp_mask=np.ones((4, k), bool))
        (d / "wall.json").write_text(json.dumps({"wall_seconds": 60.0, "train_seconds": 50.0, "epochs_run": 2,
                                                  "load_average": [1.0, 1.0, 1.0]}))
        (d / "config.json").write_text(json.dumps({"model": {"hidden_mul": 16}, "train": {"epochs": 2, "lr": 0.002}}))
    e = elastic_entry(vdir, sorted(vdir.glob("fold-*/oof.npz")))
    assert e["mp"]["all"]["n"] == 8 and len(e["folds"]) == 2
    assert e["fold_mean_k_vrh_mae"][0] == pytest.approx(np.mean([f["mp"]["k_vrh_mae"] for f in e["folds"]]))
    assert e["fold_mean_ewt25"][1] <= e["fold_mean_ewt25"][0] <= e["fold_mean_ewt25"][2]


def test_paired_difference_counts_each_crystal_once_for_both_recipes():
    cand = np.array([1, 1, 1, 0, 1, 0, 1, 1])
    ref = np.array([1, 0, 1, 0, 1, 1, 0, 0])
    d = paired_difference(cand, ref)
    assert d["n"] == 8 and d["candidate"] == pytest.approx(6 / 8) and d["reference"] == pytest.approx(4 / 8)
    assert d["difference"] == pytest.approx(2 / 8)
    assert (d["only_candidate"], d["only_reference"]) == (3, 1)
    lo, hi = d["difference_ci95"]
    assert lo <= d["difference"] <= hi
    # identical recipes: no difference in any resample, so a zero-width interval
    same = paired_difference(ref, ref)
    assert same["difference"] == 0.0 and same["difference_ci95"] == [0.0, 0.0]
    with pytest.raises(ValueError, match="same crystals"):
        paired_difference(cand, ref[:-1])


def test_loss_verdict_needs_a_higher_pool_and_no_anisotropic_drop_beyond_its_interval():
    def diff(c, r, lo, hi):
        return {"candidate": c, "reference": r, "difference": c - r, "difference_ci95": [lo, hi]}

    better = diff(0.86, 0.84, 0.0, 0.04)
    assert loss_verdict(better, diff(0.62, 0.66, -0.12, 0.04))["ship"]  # drop 4 points, allowed 8
    v = loss_verdict(better, diff(0.56, 0.66, -0.14, -0.06))  # drop 10 points, allowed 4
    assert not v["ship"] and v["checks"] == {"pooled_mp_higher": True, "anisotropic_not_worse_beyond_interval": False}
    assert v["anisotropic_allowed_drop"] == pytest.approx(0.04)
    tie = loss_verdict(diff(0.84, 0.84, -0.01, 0.01), diff(0.70, 0.66, 0.0, 0.08))
    assert not tie["ship"] and not tie["checks"]["pooled_mp_higher"]  # equal is not higher
