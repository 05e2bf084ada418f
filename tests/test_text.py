"""User text shown as plain text (app/text.py): what Markdown would act on is neutralised."""

import re

import pytest

from app.text import plain


@pytest.mark.parametrize("name", ["ZnO (mp-2133)", "POSCAR", "ZnO.cif", "LiZnSb (mp-9919)", "pasted structure"])
def test_ordinary_names_are_unchanged(name):
    assert plain(name) == name


@pytest.mark.parametrize(
    "text",
    [
        "![x](http://127.0.0.1:9/x.png)",
        "[click](https://example.invalid/login)",
        "<img src=x onerror=alert(1)>",
        "see http://example.invalid and www.example.invalid or mail@example.invalid",
        ":red[alarm] $\\frac{1}{0}$ **bold** `code` ~~gone~~",
        "# heading\n- item\n1. first\n> quote",
    ],
)
def test_markdown_constructs_are_escaped(text):
    out = plain(text)
    assert "\n" not in out
    # every Markdown-active character is backslash-escaped ...
    assert not re.search(r"(?<!\\)[\[\]<>!*`$~#|]", out), out
    # ... bare URLs and addresses cannot be auto-linked ...
    assert not re.search(r"https?://|www\.|@\w", out), out
    # ... and nothing is lost: removing the escapes and word joiners gives the text back.
    restored = re.sub(r"\\(.)", r"\1", out).replace("\u2060", "")
    assert restored == " ".join(text.split())


def test_long_text_is_cut():
    assert len(plain("x" * 1000, limit=50)) == 50
