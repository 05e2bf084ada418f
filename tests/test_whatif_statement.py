"""The What-if sentence about a predicted change never contradicts its own numbers."""

import pytest

from gmtnet.edit import change_statement


def test_no_edit_means_no_change_and_no_comparison():
    text = change_statement(0.0, 0.0, "GPa", edited=False)
    assert text.startswith("No edit applied")
    assert "±" not in text and "larger" not in text and "within" not in text


def test_zero_change_after_an_edit_says_so():
    text = change_statement(0.0, 0.0, "GPa")
    assert "= **0 ± 0** GPa" in text and text.endswith("The edit does not change the prediction.")


@pytest.mark.parametrize("size, sigma, verdict", [
    (2.5, 0.4, "larger than its uncertainty"),
    (0.4, 2.5, "within its uncertainty"),
    (1.0, 1.0, "within its uncertainty"),       # equal is not larger
    (0.01234, 0.01236, "within its uncertainty"),  # printed 0.012 ± 0.012
    (0.0126, 0.01249, "larger than its uncertainty"),  # printed 0.013 ± 0.012
    (1234.0, 56.0, "larger than its uncertainty"),  # printed 1234 ± 56
])
def test_verdict_matches_the_printed_numbers(size, sigma, verdict):
    text = change_statement(size, sigma, "C/m²", detail="1σ from paired members")
    assert verdict in text
    printed = text.split("**")[1]
    shown_size, shown_sigma = (float(x) for x in printed.split(" ± "))
    assert (shown_size > shown_sigma) == ("larger" in text)
    assert "(1σ from paired members)" in text


def test_size_is_printed_to_the_uncertaintys_digit():
    assert "**0.012 ± 0.012**" in change_statement(0.01234, 0.01236, "")
    assert "**1234 ± 56**" in change_statement(1234.4, 56.0, "GPa")
    assert "**3.14 ± 0.54**" in change_statement(3.14159, 0.5432, "")
