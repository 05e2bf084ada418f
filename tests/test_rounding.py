"""Rounded references: a whole-GPa source passes within its rounding, a frame mistake still fails."""

import numpy as np
import pytest

from gmtnet.catalog import reference_in_shown_frame
from gmtnet.rounding import check_within_rounding, reference_verdicts, rounding_step, rounding_tolerances
from gmtnet.symmetry import symmetry_constraints
from gmtnet.tensors import rotate

# Legacy Materials Project elastic row (ZrTi2O, 6/mmm), stored in whole GPa: C11 and C22 (forced
# equal) differ by exactly 1 GPa, so the paper's 1e-4 equality check fails on it.
ROUNDED_ID = "mp-27296"


def _rotation_x(degrees: float) -> np.ndarray:
    t = np.radians(degrees)
    return np.array([[1, 0, 0], [0, np.cos(t), -np.sin(t)], [0, np.sin(t), np.cos(t)]])


def test_rounding_step_detection():
    assert rounding_step(np.array([[200.0, 51.0], [51.0, 80.0]])) == 1.0
    assert rounding_step(np.array([61.838, 9.952, -0.002])) == 0.001
    assert rounding_step(np.array([1 / 3, 2.0])) is None
    assert rounding_step(np.zeros(3)) is None
    assert rounding_tolerances(1.0, 4, rotated=False) == (0.5, 1.0)
    assert rounding_tolerances(1.0, 4, rotated=True) == pytest.approx((4.5, 9.0))


def test_whole_gpa_reference_passes_within_its_rounding():
    ref = reference_in_shown_frame(ROUNDED_ID, "elastic")
    assert ref["rounding_step"] == 1.0 and np.array_equal(ref["rotation"], np.eye(3))
    c = symmetry_constraints(ref["structure"], "elastic")
    strict = c.check(ref["tensor"])
    assert not strict["equality_ok"] and strict["max_equality_violation"] == pytest.approx(1.0)
    verdicts = reference_verdicts(c, ref["tensor"], ref["rounding_step"], rotated=False)
    assert verdicts["equality"] == "pass within the source's rounding of 1 GPa"
    assert verdicts["zero"] == "pass"


def test_rotated_reference_frame_mistake_still_fails():
    ref = reference_in_shown_frame(ROUNDED_ID, "elastic")
    c = symmetry_constraints(ref["structure"], "elastic")
    wrong = rotate(np.asarray(ref["tensor"]), _rotation_x(25.0))  # tensor in the wrong frame
    # even with the loosest tolerance (rounding after a rotation: 4.5 / 9 GPa)
    assert not check_within_rounding(c, wrong, 1.0, rotated=True)["zero_ok"]
    verdicts = reference_verdicts(c, wrong, 1.0, rotated=True)
    assert verdicts["zero"] == "fail (beyond the source's rounding of 1 GPa)" and verdicts["max_forbidden"] > 9.0


def test_deviations_beyond_the_rounding_still_fail():
    # K2O mp-971 (matminer, 3 decimals): its forced pairs differ by 0.03 GPa, 27x its rounding.
    ref = reference_in_shown_frame("mp-971", "elastic")
    assert ref["rounding_step"] == 0.001
    c = symmetry_constraints(ref["structure"], "elastic")
    moved = not np.array_equal(ref["rotation"], np.eye(3))
    verdicts = reference_verdicts(c, ref["tensor"], ref["rounding_step"], rotated=moved)
    assert verdicts["equality"] == "fail (beyond the source's rounding of 0.001 GPa)"


def test_full_precision_reference_gets_no_rounding_allowance():
    # Without a detected rounding step, the strict verdict stands (no "within" wording).
    ref = reference_in_shown_frame(ROUNDED_ID, "elastic")
    c = symmetry_constraints(ref["structure"], "elastic")
    verdicts = reference_verdicts(c, ref["tensor"], None, rotated=False)
    assert verdicts["rounding"] is None and verdicts["equality"] == "fail"
