"""A per-atom kind is one object too: registered inside this test, it runs everywhere.

The kind is a general (not index-symmetric) rank-2 tensor per atom, formula ``"ij"``, unit e, as a
Born effective charge Z*_κ,αβ is; its small randomly initialised two-network ensemble imposes the
sum rule Σ_κ Z*_κ = 0. ``Predictor.predict`` gives one ``(n_atoms, 3, 3)`` tensor per crystal
(routed through :func:`gmtnet.models.per_atom.predict_atoms`), each atom obeying its site
symmetry; the CLI prints it, ``gmtnet screen`` stores it flattened in the ``tensor`` column
(``n_atoms * 9`` values in site order; the kind has no scalar columns), and Explore shows a table
per site with its Wyckoff letter and site-symmetry group.
"""

from __future__ import annotations

import io
import json
import sys
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import perovskite_srtio3, register_with_random_weights, rocksalt_nacl, wurtzite_zno
from test_model import SMALL

from gmtnet.kinds import TensorKind, unregister_kind
from gmtnet.symmetry import analyze_site_symmetry

NAME = "born_charge_kind_test"


def _make_kind(weights: Path | None) -> TensorKind:
    return TensorKind(name=NAME, title="Born effective charge (test registration)", symbol="Z*", rank=2,
                      formula="ij", unit="e", per_atom=True, weights=None if weights is None else str(weights))


@pytest.fixture(scope="module")
def atom_kind(tmp_path_factory):
    torch.set_num_threads(1)
    kind = register_with_random_weights(_make_kind, tmp_path_factory.mktemp("atom_kind"), sum_rule=True, **SMALL)
    yield kind
    unregister_kind(kind)


@pytest.fixture(scope="module")
def predictor(atom_kind):
    from gmtnet.predict import Predictor

    return Predictor.load(kinds=[atom_kind], device="cpu")


def test_predict_gives_one_site_symmetric_tensor_per_atom(atom_kind, predictor):
    s = perovskite_srtio3()
    p = predictor.predict(s, NAME)
    assert p.kind is atom_kind and p.tensor.shape == (len(s), 3, 3) and p.voigt.shape == (len(s), 3, 3)
    assert p.members.shape == (2, len(s), 3, 3) and p.std.shape == p.tensor.shape and p.uncertainty > 0
    site = analyze_site_symmetry(s)
    np.testing.assert_allclose(site.project(p.tensor, acoustic_sum_rule=True), p.tensor, atol=1e-12)
    np.testing.assert_allclose(p.tensor.sum(axis=0), 0.0, atol=1e-12)  # the sum rule
    # Sr and Ti sit on m-3m sites: isotropic
    for i in (0, 1):
        np.testing.assert_allclose(p.tensor[i], p.tensor[i, 0, 0] * np.eye(3), atol=1e-12)
    assert p.sites.site_symmetry_symbols[0] == "m-3m" and p.symmetry.zero_ok
    many = predictor.predict_many([s, wurtzite_zno(), rocksalt_nacl()], atom_kind)
    assert [r.tensor.shape for r in many] == [(5, 3, 3), (4, 3, 3), (2, 3, 3)]
    np.testing.assert_allclose(many[0].tensor, p.tensor, rtol=1e-5, atol=1e-6)


def test_cli_predict_and_screen(atom_kind, tmp_path):
    from gmtnet.cli import main
    from gmtnet.screen import read_screen

    folder = tmp_path / "in"
    folder.mkdir()
    wurtzite_zno().to(filename=str(folder / "zno.cif"))
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["predict", str(folder / "zno.cif"), "--kind", NAME, "--device", "cpu", "--json", str(tmp_path / "p.json")])
    assert code == 0, out.getvalue()
    assert "Born effective charge (test registration) Z* [e]" in out.getvalue()
    (record,) = json.loads((tmp_path / "p.json").read_text())
    assert np.asarray(record["tensor"]).shape == (4, 3, 3)
    with redirect_stdout(io.StringIO()):
        code = main(["screen", str(folder), "--out", str(tmp_path / "out"), "--kinds", NAME, "--workers", "0", "--quiet"])
    assert code == 0
    df = read_screen(tmp_path / "out")
    assert list(df["kind"]) == [NAME] and df["error"].isna().all()
    np.testing.assert_allclose(np.asarray(df["tensor"].iloc[0]).reshape(4, 3, 3), record["tensor"], rtol=1e-12)


def test_explore_shows_a_table_per_site(atom_kind):
    from streamlit.testing.v1 import AppTest

    root = Path(__file__).resolve().parent.parent
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    main_module = sys.modules.get("__main__")
    try:
        at = AppTest.from_file(str(root / "pages" / "explore.py"), default_timeout=300)
        at.run()
        at.text_input(key="q_formula").input("ZnO")
        at.run()
        at.selectbox(key="q_pick").select("mp-2133")
        at.run()
        at.radio(key="x_kind").set_value(NAME)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert not [e.value for e in at.error]
        tables = [df.value for df in at.dataframe if "site_symmetry" in getattr(df.value, "columns", [])]
        assert len(tables) == 1
        sites = tables[0]
        assert sorted(sites["element"]) == ["O", "O", "Zn", "Zn"] and set(sites["site_symmetry"]) == {"3m."}
        assert set(sites["wyckoff"]) == {"b"}
        assert any("Z* has no directional quantity" in c.value for c in at.caption)
    finally:
        if main_module is not None:
            sys.modules["__main__"] = main_module


def test_whatif_shows_site_tables_and_exports(atom_kind):
    from streamlit.testing.v1 import AppTest

    root = Path(__file__).resolve().parent.parent
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from app.session import Crystal
    main_module = sys.modules.get("__main__")
    try:
        at = AppTest.from_file(str(root / "pages" / "whatif.py"), default_timeout=300)
        at.session_state["crystal"] = Crystal(structure=perovskite_srtio3(), label="SrTiO3 (test)")
        at.run()
        at.radio(key="w_op").set_value("strain")
        at.run()
        at.selectbox(key="w_mode").select("shear")
        at.number_input(key="w_pct").set_value(2.0)
        at.run()
        at.selectbox(key="w_plane").select("xy")
        at.button(key="w_apply").click()
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert not [e.value for e in at.error]
        # this kind's tab (the shipped Born-charge kind has site tables of its own)
        tab = next(t for t in at.tabs if t.label.endswith(NAME))
        sites = [df.value for df in tab.dataframe if "site_symmetry" in getattr(df.value, "columns", [])]
        assert len(sites) == 2  # before and after
        assert sites[0]["site_symmetry"].iloc[0] == "m-3m" and sites[1]["site_symmetry"].iloc[0] != "m-3m"
        assert len(at.get("download_button")) == 4
    finally:
        if main_module is not None:
            sys.modules["__main__"] = main_module


def test_the_tensor_table_exports_one_line_per_site_component(atom_kind, predictor):
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    from app.tables import tensors_csv

    p = predictor.predict(wurtzite_zno(), NAME)
    lines = tensors_csv({NAME: p}).splitlines()
    assert len(lines) == 1 + 4 * 9 and lines[1].startswith(f"{NAME},site0:Z*xx,1,1,")
