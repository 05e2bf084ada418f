"""Browse: the shipped catalogue predictions, the filtering helpers and the page (AppTest)."""

import io
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from streamlit.testing.v1 import AppTest

from gmtnet.browse import (
    BASE_COLUMNS,
    catalog_kinds,
    dataset_hashes,
    weights_hashes,
    filter_predictions,
    load_catalog_predictions,
    read_screen_files,
    shipped_build_facts,
    to_csv_bytes,
    to_parquet_bytes,
)
from gmtnet.catalog import build_catalog, reference_structure
from gmtnet.kinds import KINDS
from gmtnet.predict import Predictor
from gmtnet.scalars import vrh_moduli
from gmtnet.screen import run_screen
from helpers import perovskite_srtio3, wurtzite_zno

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run` puts the app's folder on sys.path; AppTest does not
    sys.path.insert(0, str(ROOT))

TIMEOUT = 300


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return load_catalog_predictions()


def test_shipped_predictions_cover_the_catalogue_and_match_the_data(table):
    facts = shipped_build_facts()
    assert facts["dataset_sha256"] == dataset_hashes(), (
        "the bundled datasets changed: rebuild with `python scripts/build_catalog_predictions.py`")
    assert facts.get("weights_sha256") == weights_hashes(), (
        "the shipped weights changed: rebuild with `python scripts/build_catalog_predictions.py`")
    ids = set(build_catalog()["material_id"])
    assert catalog_kinds() == [k for k in KINDS if not KINDS[k].per_atom] and "born" not in catalog_kinds()
    for kind in catalog_kinds():
        rows = table[table["kind"] == kind]
        assert set(rows["id"]) == ids and rows["id"].is_unique
    assert facts["rows"] == len(table) == len(ids) * len(catalog_kinds())


def test_shipped_predictions_are_the_shipped_models_output(table):
    predictor = Predictor.load(kinds=["dielectric_electronic", "elastic"])
    for mid in ("mp-2133", "mp-1265"):
        s = reference_structure(mid)
        for kind, col in (("dielectric_electronic", "eps_mean"), ("elastic", "k_vrh")):
            row = table[(table["id"] == mid) & (table["kind"] == kind)].iloc[0]
            t = predictor.predict(s, kind).tensor
            value = np.trace(t) / 3 if kind == "dielectric_electronic" else vrh_moduli(t)["k_vrh"]
            assert row[col] == pytest.approx(value, rel=1e-5)


def test_filter_predictions(table):
    view = filter_predictions(table, "elastic", ["cubic"], "Si", {"k_vrh": (50.0, 500.0)})
    assert len(view) > 0
    assert set(view["crystal_system"]) == {"cubic"}
    assert view["formula"].str.contains("Si").all()
    assert view["k_vrh"].between(50.0, 500.0).all()
    assert list(view.columns[:6]) == ["id", "formula", "spacegroup_symbol", "point_group", "crystal_system", "nsites"]
    assert "dft_k_vrh" in view.columns and "eps_mean" not in view.columns
    with_ref = filter_predictions(table, "elastic", ["cubic"], "Si", with_reference=True)
    assert 0 < len(with_ref) < len(filter_predictions(table, "elastic", ["cubic"], "Si"))
    assert with_ref["dft_k_vrh"].notna().all()
    with pytest.raises(ValueError, match="Qq"):
        filter_predictions(table, "elastic", elements="Qq")
    with pytest.raises(ValueError, match="no column"):
        filter_predictions(table, "elastic", ranges={"nope": (0, 1)})
    back = pd.read_parquet(io.BytesIO(to_parquet_bytes(view)))
    pd.testing.assert_frame_equal(back, view)
    assert to_csv_bytes(view).decode().splitlines()[0].startswith("id,formula,")


def _screen_part(tmp_path) -> bytes:
    src = tmp_path / "in"
    src.mkdir()
    perovskite_srtio3().to(filename=str(src / "SrTiO3.cif"))
    wurtzite_zno().to(filename=str(src / "ZnO.cif"))
    (src / "broken.cif").write_text("nonsense")
    run_screen(src, tmp_path / "out", kinds=["dielectric", "piezoelectric"], workers=0, progress=False)
    return (tmp_path / "out" / "part-000000.parquet").read_bytes()


def test_read_screen_files(tmp_path):
    part = _screen_part(tmp_path)
    df = read_screen_files([part])
    assert len(df) == 6 and df["error"].notna().sum() == 2
    with pytest.raises(ValueError, match="not a Parquet"):
        read_screen_files([b"hello"])
    buf = io.BytesIO()
    pq.write_table(pq.read_table(io.BytesIO(part)).drop(["kind"]), buf)
    with pytest.raises(ValueError, match="missing columns"):
        read_screen_files([buf.getvalue()])


# --------------------------------------------------------------------------- the page


def browse_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=TIMEOUT)
    at.switch_page("pages/browse.py")
    return run_ok(at)


def run_ok(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_browse_catalogue_filter_plot_download_open(table):
    at = browse_page()
    assert at.title[0].value == "Browse predictions"
    at.radio(key="b_kind").set_value("elastic")
    at.multiselect(key="b_systems").select("hexagonal")
    at.text_input(key="b_elements").input("Zn, O")
    run_ok(at)
    expected = filter_predictions(table, "elastic", ["hexagonal"], "Zn, O")
    shown = at.dataframe[0].value
    assert len(shown) == len(expected) > 0
    assert {"k_vrh", "dft_k_vrh", "born_stable"} <= set(shown.columns)
    assert any(f"{len(expected)} rows match" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) == 1 and len(at.get("download_button")) == 2
    at.checkbox(key="b_has_dft").check()
    run_ok(at)
    expected = filter_predictions(table, "elastic", ["hexagonal"], "Zn, O", with_reference=True)
    assert len(at.dataframe[0].value) == len(expected) and expected["dft_k_vrh"].notna().all()
    at.checkbox(key="b_has_dft").uncheck()
    run_ok(at)
    k_slider = next(s for s in at.slider if s.label == "k_vrh (GPa)")
    k_slider.set_value((100.0, 200.0))
    run_ok(at)
    shown = at.dataframe[0].value
    assert len(shown) == len(filter_predictions(table, "elastic", ["hexagonal"], "Zn, O", {"k_vrh": (100.0, 200.0)}))
    assert shown["k_vrh"].between(100.0, 200.0).all()
    at.selectbox(key="b_choice").select("mp-2133")
    at.button(key="b_open").click()
    run_ok(at)
    assert at.session_state["crystal"].material_id == "mp-2133"
    assert at.title[0].value == "GMTNet Explorer"  # switched to Explore
    assert at.header[0].value == "ZnO (mp-2133)"


def test_browse_uploaded_screen(tmp_path):
    at = browse_page()
    at.radio(key="b_source").set_value("Upload `gmtnet screen` output")
    run_ok(at)
    assert at.info and "gmtnet screen" in at.info[0].value
    at.file_uploader(key="b_upload").set_value([("part-000000.parquet", _screen_part(tmp_path), "application/octet-stream")])
    run_ok(at)
    at.radio(key="b_kind").set_value("piezoelectric")
    run_ok(at)
    shown = at.dataframe[0].value
    assert sorted(shown["id"]) == ["SrTiO3.cif", "ZnO.cif"] and "e_long_max" in shown.columns
    at.checkbox(key="b_errors").check()
    run_ok(at)
    assert "broken.cif" in set(at.dataframe[0].value["id"])
    at.selectbox(key="b_choice").select("ZnO.cif")
    at.button(key="b_open").click()
    run_ok(at)
    assert any("not a bundled crystal" in e.value for e in at.error)
    at.file_uploader(key="b_upload").set_value([("x.parquet", b"not parquet", "application/octet-stream")])
    run_ok(at)
    assert any("not a Parquet file" in e.value for e in at.error)


def test_likely_metals_are_marked_and_hidden_from_dielectric_and_piezo_rows(table):
    from gmtnet.browse import METAL_COLUMN

    assert METAL_COLUMN in table.columns
    flagged = table[table[METAL_COLUMN]]
    assert {"Cu", "Pd", "Fe"} <= set(flagged["formula"])  # the examples (elastic-set metals)
    assert not table.loc[table["formula"] == "ZnO", METAL_COLUMN].any()
    for kind in ("dielectric", "piezoelectric"):
        default = filter_predictions(table, kind)
        shown = filter_predictions(table, kind, show_likely_metals=True)
        assert not default[METAL_COLUMN].any() and "Cu" not in set(default["formula"])
        assert shown[METAL_COLUMN].any() and len(shown) > len(default)
        cols = list(shown.columns)
        assert cols.index(METAL_COLUMN) == len([c for c in BASE_COLUMNS if c in cols])  # right after identity
    elastic = filter_predictions(table, "elastic")  # C is defined for metals: kept, and marked
    assert "Cu" in set(elastic["formula"]) and elastic[METAL_COLUMN].any()


def test_browse_page_hides_likely_metals_until_asked(table):
    at = browse_page()
    at.radio(key="b_kind").set_value("dielectric")
    at.text_input(key="b_elements").input("Cu")
    run_ok(at)
    hidden = at.dataframe[0].value
    assert "Cu" not in set(hidden["formula"])
    at.checkbox(key="b_metals").check()
    run_ok(at)
    shown = at.dataframe[0].value
    assert "Cu" in set(shown["formula"]) and shown.loc[shown["formula"] == "Cu", "likely_metal"].all()


def test_browse_downloads_are_encoded_only_when_clicked(table, monkeypatch):
    """CSV and Parquet of the shown rows are made on a click (a deferred download), not on every
    rerun of the page; what the click gets is the shown rows."""
    import app.browse as page_module

    calls = []
    for name in ("to_csv_bytes", "to_parquet_bytes"):
        real = getattr(page_module, name)
        monkeypatch.setattr(page_module, name, lambda view, real=real, name=name: calls.append(name) or real(view))
    at = browse_page()
    at.radio(key="b_kind").set_value("elastic")
    run_ok(at)
    assert len(at.get("download_button")) == 2
    assert calls == []
    shown = at.dataframe[0].value
    csv = page_module.deferred(page_module.to_csv_bytes, shown)()
    assert calls == ["to_csv_bytes"]
    assert pd.read_csv(io.BytesIO(csv))["id"].tolist() == shown["id"].tolist()
    assert len(pd.read_parquet(io.BytesIO(page_module.deferred(page_module.to_parquet_bytes, shown)()))) == len(shown)


def test_browse_scatter_is_built_once_per_content(table, monkeypatch):
    """The scatter is rebuilt when the shown rows or axes change, not on a rerun that draws the same
    points (a click in the table or the picker); the figure keeps every shown row, id first in its
    custom data (what a click on a point opens)."""
    import plotly.express as px

    import app.browse as page_module

    page_module.scatter_figure.clear()
    builds = []
    real = px.scatter
    monkeypatch.setattr(px, "scatter", lambda *a, **k: builds.append(1) or real(*a, **k))
    at = browse_page()
    at.radio(key="b_kind").set_value("elastic")
    run_ok(at)
    n = len(builds)
    shown = at.dataframe[0].value
    at.selectbox(key="b_choice").select(shown["id"].iloc[1])
    run_ok(at)
    assert len(builds) == n  # same rows, same axes: the cached figure
    at.text_input(key="b_elements").input("O")
    run_ok(at)
    assert len(builds) == n + 1
    import json

    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    ids = [c[0] for trace in spec["data"] for c in trace["customdata"]]
    assert sorted(ids) == sorted(at.dataframe[0].value["id"])
