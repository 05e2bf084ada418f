"""A per-atom kind is one object too: registered inside this test, it runs everywhere.

The kind is a general (not index-symmetric) rank-2 tensor per atom, formula ``"ij"``, unit e, as a
Born effective charge Z*_κ,αβ is; its small randomly initialised two-network ensemble imposes the
sum rule Σ_κ Z*_κ = 0. ``Predictor.predict`` gives one ``(n_atoms, 3, 3)`` tensor per crystal
(routed through :func:`gmtnet.models.per_atom.predict_atoms`), each atom obeying its site
symmetry; the CLI prints it, ``gmtnet screen`` stores it flattened in the ``tensor`` column
(``n_atoms * 9`` values in site order) with the kind's default per-site scalars reduced over the
sites (tr/3 and anisotropy, smallest and largest), and Explore shows a table per site with its
Wyckoff letter, site-symmetry group and site scalars, and the longitudinal surface of a chosen
site.
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
from helpers import explore_bundled_zno, perovskite_srtio3, register_with_random_weights, rocksalt_nacl, wurtzite_zno
from test_model import SMALL

from gmtnet.kinds import TensorKind, get_kind, unregister_kind
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
    z = np.asarray(df["tensor"].iloc[0]).reshape(4, 3, 3)
    np.testing.assert_allclose(z, record["tensor"], rtol=1e-12)
    iso = np.trace(z, axis1=1, axis2=2) / 3
    assert df[f"{NAME}_iso_min"].iloc[0] == pytest.approx(iso.min(), rel=1e-12, abs=1e-15)
    assert df[f"{NAME}_iso_max"].iloc[0] == pytest.approx(iso.max(), rel=1e-12, abs=1e-15)
    assert np.isfinite(df[f"{NAME}_aniso_max"].iloc[0])


def test_site_scalars_and_columns(atom_kind, predictor):
    from gmtnet.properties import derived_properties, properties_table
    from gmtnet.scalars import SCALAR_COLUMNS, scalar_columns

    z = predictor.predict(wurtzite_zno(), NAME).tensor
    iso = np.trace(z, axis1=1, axis2=2) / 3
    aniso = np.linalg.norm((z - iso[:, None, None] * np.eye(3)).reshape(4, 9), axis=1)
    sites = atom_kind.site_scalars(z)
    np.testing.assert_allclose([x["iso"] for x in sites], iso, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose([x["aniso"] for x in sites], aniso, rtol=1e-14, atol=1e-15)
    # a hand-made isotropic site has no anisotropy; a traceless one no isotropic part
    hand = atom_kind.site_scalars(np.stack([2.0 * np.eye(3), np.diag([1.0, -1.0, 0.0])]))
    assert hand == [{"iso": 2.0, "aniso": 0.0}, {"iso": 0.0, "aniso": pytest.approx(np.sqrt(2.0))}]
    cols = scalar_columns(NAME, z)
    assert cols == {f"{NAME}_iso_min": iso.min(), f"{NAME}_iso_max": iso.max(),
                    f"{NAME}_aniso_min": pytest.approx(aniso.min()), f"{NAME}_aniso_max": pytest.approx(aniso.max())}
    assert SCALAR_COLUMNS[f"{NAME}_aniso_max"][0] == "e" and SCALAR_COLUMNS[f"{NAME}_iso_min"][2] == (NAME,)
    rows = {r["quantity"]: r for r in properties_table(derived_properties(z, NAME))}
    assert set(rows) == {"iso per site", "aniso per site"} and rows["iso per site"]["unit"] == "e"
    assert rows["iso per site"]["value"].count(",") == 3  # four sites
    with pytest.raises(ValueError, match="n_atoms"):
        scalar_columns(NAME, z[0][None, :2])
    with pytest.raises(ValueError, match="per crystal"):
        get_kind("dielectric").site_scalars(np.eye(3)[None])


def test_surfaces_are_drawn_one_site_at_a_time(atom_kind, predictor):
    from gmtnet.surfaces import directional_values, polar_cut, quantities_for

    z = predictor.predict(perovskite_srtio3(), NAME).tensor
    (q,) = quantities_for(NAME)
    assert q.kinds == (NAME,) and q.signed and q.unit == "e"
    n, v = directional_values(z, NAME, q.name, 7, 9, site=2)
    np.testing.assert_allclose(v, np.einsum("...i,ij,...j->...", n, z[2], n), rtol=1e-13, atol=1e-14)
    np.testing.assert_array_equal(directional_values(z[2], NAME, q.name, 7, 9)[1], v)  # that site's tensor alone
    _, d, cut = polar_cut(z, NAME, q.name, "xz", 11, site=0)
    # Sr sits on an m-3m site: its Z* is isotropic, so the cut is a circle
    np.testing.assert_allclose(cut, z[0, 0, 0], rtol=1e-12)
    with pytest.raises(ValueError, match="one site"):
        directional_values(z, NAME, q.name)
    with pytest.raises(ValueError, match="out of range"):
        directional_values(z, NAME, q.name, site=5)
    with pytest.raises(ValueError, match="no site"):
        directional_values(np.eye(3), "dielectric", "dielectric", site=0)


def test_explore_shows_a_table_per_site(atom_kind):
    with explore_bundled_zno(NAME) as at:
        tables = [df.value for df in at.dataframe if "site_symmetry" in getattr(df.value, "columns", [])]
        assert len(tables) == 1
        sites = tables[0]
        assert sorted(sites["element"]) == ["O", "O", "Zn", "Zn"] and set(sites["site_symmetry"]) == {"3m."}
        assert set(sites["wyckoff"]) == {"b"} and {"iso (e)", "aniso (e)"} <= set(sites.columns)
        # the longitudinal surface of one chosen site
        pick = at.selectbox(key=f"main_site_{NAME}")
        assert list(pick.options) and "Wyckoff b" in pick.options[0]
        assert len(at.get("plotly_chart")) == 1
        pick.select_index(3)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert len(at.get("plotly_chart")) == 1


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
