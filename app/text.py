"""User text (file names, URL parameters, error messages quoting a file) shown as plain text.

Streamlit renders the body of ``st.header``, ``st.error``, ``st.caption`` … as Markdown: a file
named ``![x](http://host/x.png)`` would make every viewer's browser fetch that image, and
``[click](http://…)`` would show a working link. :func:`plain` escapes what Markdown (with GitHub's
autolinks and Streamlit's ``:color[…]``, emoji and ``$…$`` extensions) would act on, so the text
shows literally (URLs and e-mail addresses get an invisible word joiner so that they are not
turned into links); ordinary names such as ``ZnO (mp-2133)`` or ``POSCAR.vasp`` come out unchanged.
"""

from __future__ import annotations

import re

__all__ = ["plain"]

# Characters that start Markdown/GFM/Streamlit constructs anywhere in a line: emphasis, code, links
# and images, raw HTML and autolinks, tables, math, directives and emoji shortcodes, entities.
_SPECIAL = re.compile(r"([\\`*_{}\[\]<>!#|$:~&=^@+])")
# Constructs that only act at the start of a line: list items and block quotes ("-", "1." / "1)").
_LEADING = re.compile(r"^(\s*)(-|\d+[.)])")
# GFM turns bare URLs and e-mail addresses into links after Markdown escapes are resolved (a
# transform on the text), so backslashes do not stop it: an invisible WORD JOINER inside "://",
# "www." and after "@" does.
_WORD_JOINER = "\u2060"
_AUTOLINK = re.compile(r"(:)(//)|(www)(\.)|(@)", flags=re.IGNORECASE)


def plain(text, limit: int = 300) -> str:
    """``text`` escaped for Streamlit Markdown so that it renders literally, on one line, cut to
    ``limit`` characters (an ellipsis marks a cut)."""
    s = " ".join(str(text).split())  # a newline could start a new block (heading, list, table)
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    s = _AUTOLINK.sub(lambda m: _WORD_JOINER.join(g for g in m.groups() if g) + (_WORD_JOINER if m.group(5) else ""), s)
    s = _SPECIAL.sub(r"\\\1", s)
    return _LEADING.sub(_escape_leading, s)


def _escape_leading(m: re.Match) -> str:
    space, token = m.group(1), m.group(2)
    return space + ("\\-" if token == "-" else token[:-1] + "\\" + token[-1])
