"""Offline structure views: 3Dmol.js inlined, nothing fetched from the network."""

import re

import numpy as np
import pytest
from helpers import rocksalt_nacl, wurtzite_zno
from pymatgen.core import Lattice, Structure

from gmtnet.viewer import STYLES, extended_xyz, show_structure, structure_view_html, threedmol_js  # noqa: E402

# Anything a browser would request on its own: script/img/link sources, CSS imports and url(),
# and py3Dmol's run-time loader.
_FETCH = re.compile(r"""(src|href)\s*=\s*["']?\s*(https?:)?//|@import|url\(\s*["']?(https?:)?//|loadScriptAsync\(\s*["']https?""", re.I)


@pytest.fixture(scope="module")
def html():
    return structure_view_html(wurtzite_zno(), supercell=(2, 1, 1), labels=True)


def test_library_is_inlined(html):
    js = threedmol_js()
    assert 400_000 < len(js) < 1_000_000
    assert js in html
    assert "createViewer" in js and "window.$3Dmol" in js
    assert 400_000 < len(html.encode()) < 1_100_000
    assert "Promise.resolve()" in html


def test_antialiasing_only_on_a_gpu(html):
    """3Dmol's viewer config carries the software-rasteriser probe (the browser test checks what it
    decides in headless Chromium); a py3Dmol that changed its config would drop it here."""
    from gmtnet.viewer import SOFTWARE_GL_ANTIALIAS

    calls = re.findall(r"createViewer\(document\.getElementById\(\"[^\"]+\"\),(\{.*?\})\);\n", html)
    assert calls == ['{backgroundColor:"white",antialias:' + SOFTWARE_GL_ANTIALIAS + "}"]


def test_no_url_is_fetched(html):
    assert not _FETCH.search(html)
    assert "cdn.jsdelivr" not in html
    # Outside the library (whose comments and download helpers mention URLs that are never
    # requested unless called), there is no URL at all.
    assert not re.search(r"https?://", html.replace(threedmol_js(), ""))


def test_structure_keeps_its_cartesian_frame():
    s = wurtzite_zno()
    text = extended_xyz(s)
    lines = text.splitlines()
    assert int(lines[0]) == len(s)
    lattice = np.array(re.search(r'Lattice="([^"]+)"', lines[1]).group(1).split(), dtype=float).reshape(3, 3)
    assert lattice == pytest.approx(s.lattice.matrix)
    xyz = np.array([line.split()[1:] for line in lines[2:]], dtype=float)
    assert xyz == pytest.approx(s.cart_coords, abs=1e-7)
    assert int(extended_xyz(s, (2, 2, 1)).splitlines()[0]) == 4 * len(s)


@pytest.mark.parametrize("style", sorted(STYLES))
def test_styles_and_options(style):
    h = structure_view_html(rocksalt_nacl(), style=style, show_cell=False, width=300, height=200)
    tail = h.replace(threedmol_js(), "")
    assert "addUnitCell" not in tail and "width: 300px" in tail and "addModel(" in tail


def test_bad_input_raises():
    with pytest.raises(ValueError, match="style"):
        structure_view_html(rocksalt_nacl(), style="cartoon")
    with pytest.raises(ValueError, match="supercell"):
        structure_view_html(rocksalt_nacl(), supercell=(0, 1, 1))
    disordered = Structure(Lattice.cubic(4.0), [{"Na": 0.5, "K": 0.5}], [[0, 0, 0]])
    with pytest.raises(ValueError, match="disordered"):
        structure_view_html(disordered)


def test_notebook_helper():
    obj = show_structure(rocksalt_nacl())
    assert "createViewer" in obj.data
