"""``benchmarks/grouped_cv.py``: where each kind's runs go, and the ε₀ recipe it refuses."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from grouped_cv import run_kind, run_name  # noqa: E402


def test_eps_inf_runs_keep_their_names_and_eps0_runs_are_prefixed():
    assert run_name("dielectric_electronic", "union") == "union"
    assert run_name("dielectric_electronic", "mp", "relative") == "mp-relative"
    assert run_name("dielectric", "mp") == "eps0-mp"
    for name in ("union", "mp-relative", "eps0-mp", "eps0-mp-40ep"):
        assert run_kind(name) == ("dielectric" if name.startswith("eps0-") else "dielectric_electronic")


def test_eps0_has_no_dfpt_labels_so_union_is_refused_by_name():
    with pytest.raises(ValueError, match="variant must be 'mp', not 'union'"):
        run_name("dielectric", "union")
    with pytest.raises(ValueError, match="kind must be one of .* got 'elastic'"):
        run_name("elastic", "mp")
