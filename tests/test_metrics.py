import numpy as np
import pytest

from gmtnet.metrics import evaluate, ewt, fnorm, frobenius_errors, paper_form, symmetry_success
from gmtnet.pointgroups import point_group_operations
from gmtnet.symmetry import neumann_constraints
from gmtnet.tensors import from_voigt


def test_fnorm_uses_the_papers_forms():
    # Elastic: the paper's Fnorm is on the 6x6 Voigt matrix, not on the 81 components.
    true = np.zeros((1, 6, 6))
    pred = true.copy()
    pred[0, 3, 3] = 2.0  # C44 off by 2 GPa: 4 full-rank components differ
    t, p = from_voigt(true, "elastic"), from_voigt(pred, "elastic")
    assert fnorm(p, t, "elastic") == pytest.approx(2.0)
    assert np.linalg.norm(p - t) == pytest.approx(4.0)
    # Piezo: 3x6 Voigt.
    e = np.zeros((1, 3, 6))
    e[0, 0, 4] = 3.0  # e15: two full-rank components
    assert fnorm(from_voigt(e, "piezoelectric"), np.zeros((1, 3, 3, 3)), "piezoelectric") == pytest.approx(3.0)
    assert paper_form(np.zeros((2, 3, 3)), "dielectric").shape == (2, 3, 3)


def test_fnorm_is_a_mean_over_crystals():
    true = np.stack([np.eye(3), 2 * np.eye(3)])
    pred = true + np.stack([np.zeros((3, 3)), np.diag([3.0, 4.0, 0.0])])
    np.testing.assert_allclose(frobenius_errors(pred, true, "dielectric"), [0.0, 5.0])
    assert fnorm(pred, true, "dielectric") == pytest.approx(2.5)


def test_ewt_thresholds():
    true = np.stack([np.eye(3)] * 4)
    scale = np.array([1.0, 1.04, 1.09, 1.3])  # relative errors 4 %, 9 %, 30 % (and exact)
    pred = true * scale[:, None, None]
    assert ewt(pred, true, "dielectric", 0.25) == pytest.approx(0.75)
    assert ewt(pred, true, "dielectric", 0.10) == pytest.approx(0.75)
    assert ewt(pred, true, "dielectric", 0.05) == pytest.approx(0.5)
    # A zero reference (e.g. a centrosymmetric piezo) only counts when matched exactly.
    zero = np.zeros((2, 3, 3, 3))
    pred = zero.copy()
    pred[1, 2, 2, 2] = 1e-3
    assert ewt(pred, zero, "piezoelectric", 0.25) == pytest.approx(0.5)


def test_symmetry_success_and_evaluate_per_system():
    cubic = neumann_constraints(point_group_operations("m-3m"), "dielectric")
    mono = neumann_constraints(point_group_operations("2"), "dielectric")
    good = np.eye(3) * 5
    off_zero = good.copy()
    off_zero[0, 1] = off_zero[1, 0] = 2e-5  # forbidden in cubic
    unequal = np.diag([5.0, 5.0, 5.0002])  # εxx = εzz forced in cubic
    off_xz = good.copy()
    off_xz[0, 2] = off_xz[2, 0] = 2e-5
    pred = np.stack([good, off_zero, unequal, off_xz])
    cons = [cubic, cubic, cubic, mono]
    zero_ok, eq_ok = symmetry_success(pred, cons)
    assert zero_ok.tolist() == [True, False, True, True]  # a 2-fold axis along y (standard setting) allows εxz
    assert eq_ok.tolist() == [True, True, False, True]
    res = evaluate(pred, np.stack([good] * 4), "dielectric", cons, ["cubic", "cubic", "cubic", "monoclinic"])
    assert res["overall"]["n"] == 4
    assert res["per_crystal_system"]["cubic"]["zero_success"] == pytest.approx(2 / 3)
    assert res["per_crystal_system"]["cubic"]["equality_success"] == pytest.approx(2 / 3)
    assert res["per_crystal_system"]["monoclinic"]["n"] == 1
    assert set(res["overall"]) >= {"fnorm", "ewt25", "ewt10", "ewt5", "zero_success", "equality_success"}


def test_bad_shapes():
    with pytest.raises(ValueError, match="shape"):
        fnorm(np.zeros((2, 3, 3)), np.zeros((2, 3, 3, 3)), "dielectric")
    with pytest.raises(ValueError, match="predictions"):
        symmetry_success(np.zeros((2, 3, 3)), [])


def test_ambiguous_labels_are_scored_against_the_closest_candidate():
    """A polar label known only up to its sign: the prediction -e is right for the all-row
    (ambiguity-aware) metrics and is left out of the strict ones."""
    from gmtnet.metrics import closest_candidates

    cons = neumann_constraints(point_group_operations("6mm"), "piezoelectric")
    rng = np.random.default_rng(0)
    e = cons.project(rng.normal(size=(2, 3, 3, 3)))
    cands = np.stack([np.stack([e[0], -e[0]]), np.stack([e[1], e[1]])])
    mask = np.array([[True, True], [True, False]])  # row 1: one candidate (padded)
    pred = np.stack([-e[0], 1.5 * e[1]])
    chosen, idx = closest_candidates(pred, cands, mask, "piezoelectric")
    assert idx.tolist() == [1, 0]
    np.testing.assert_allclose(chosen[0], -e[0])
    # Padding is never chosen, even when it would be closer.
    _, idx = closest_candidates(np.stack([e[0], 2 * e[1]]), np.stack([cands[0], np.stack([e[1], 2 * e[1]])]), mask, "piezoelectric")
    assert idx.tolist() == [0, 0]
    res = evaluate(pred, e, "piezoelectric", [cons, cons], ["hexagonal"] * 2, candidates=cands, candidate_mask=mask,
                   point_groups=["6mm", "6mm"])
    assert res["overall"]["n"] == 2 and res["overall"]["n_ambiguous"] == 1
    assert res["overall"]["ewt25"] == pytest.approx(0.5)  # row 0 exact, row 1 off by 50 %
    assert res["unique_rows"]["n"] == 1 and res["unique_rows"]["ewt25"] == 0.0
    assert res["per_point_group_class"]["polar"]["n"] == 2
    # Without candidates the same prediction is scored against the stored label only.
    strict = evaluate(pred, e, "piezoelectric", [cons, cons], ["hexagonal"] * 2)
    assert strict["overall"]["ewt25"] == 0.0 and strict["unique_rows"]["n"] == 2


def test_bootstrap_interval_brackets_the_mean_and_shrinks_with_n():
    from gmtnet.metrics import bootstrap_ci

    rng = np.random.default_rng(1)
    small, large = rng.normal(size=50), rng.normal(size=5000)
    lo_s, hi_s = bootstrap_ci(small)
    lo_l, hi_l = bootstrap_ci(large)
    assert lo_s < small.mean() < hi_s and lo_l < large.mean() < hi_l
    assert (hi_l - lo_l) < (hi_s - lo_s) / 5  # width ~ 1/sqrt(n): 100x the crystals, ~10x narrower
    assert bootstrap_ci(np.ones(10)) == (1.0, 1.0)
