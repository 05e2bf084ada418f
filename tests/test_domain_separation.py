"""``benchmarks/domain_separation.py``: the flagged/unflagged statistics and the verdict wording."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from domain_separation import category_flags, score_quality, separation, verdict  # noqa: E402


def test_a_flag_on_the_worst_crystals_separates_and_a_random_one_does_not():
    rng = np.random.default_rng(0)
    rel = np.sort(rng.uniform(0, 1, 400))
    worst = np.arange(400) >= 360
    s = separation(rel, worst)
    assert s["n_flagged"] == 40 and s["share_flagged"] == pytest.approx(0.1)
    assert s["auc"] == pytest.approx(1.0) and s["mannwhitney_p"] < 1e-10
    assert s["median_ratio"] > 1 and s["ewt25_flagged"] == 0.0
    random = rng.permutation(worst)
    r = separation(rel, random)
    assert 0.35 < r["auc"] < 0.65 and r["mannwhitney_p"] > 0.01
    assert "separate (AUC 1.00" in verdict({"any_domain_warning": s})
    assert "do not separate" in verdict({"any_domain_warning": separation(rel, ~worst)})


def test_no_flag_or_all_flagged_says_so():
    rel = np.linspace(0, 1, 10)
    assert "no crystal got a domain warning" in verdict({"any_domain_warning": separation(rel, np.zeros(10, bool))})
    assert "every crystal got a domain warning" in verdict({"any_domain_warning": separation(rel, np.ones(10, bool))})


def test_continuous_score_auc_counts_ewt25_failures():
    rel = np.array([0.1, 0.2, 0.3, 0.5])
    assert score_quality(rel, rel)["auc_ewt25_failure"] == pytest.approx(1.0)
    assert score_quality(rel, -rel)["auc_ewt25_failure"] == pytest.approx(0.0)


def test_warning_categories_by_their_opening_words():
    flags = category_flags([["Bonds no training crystal has: Si-O."], [], ["Likely a metal: x.", "Rare in training (number of training crystals): Np (2)."]])
    assert flags["unseen bond"] == [True, False, False]
    assert flags["likely metal"] == [False, False, True] and flags["rare element"] == [False, False, True]
    assert not any(flags["unseen element"])
