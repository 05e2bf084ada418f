"""Streamlit AppTest tests: every page renders, and the main flows work without a browser."""

import json
import sys
from pathlib import Path

import pytest

from helpers import perovskite_srtio3, wurtzite_zno  # noqa: E402
from pymatgen.io.cif import CifWriter  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run` puts the app's folder on sys.path; AppTest does not
    sys.path.insert(0, str(ROOT))

from app.failure import Failure  # noqa: E402
from app.session import Crystal  # noqa: E402
from gmtnet.kinds import KINDS  # noqa: E402

TIMEOUT = 300  # first runs load torch and the four models on a slow, shared CPU


def page(name: str) -> AppTest:
    return AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=TIMEOUT)


def run_ok(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def test_entry_script_navigates_to_explore():
    at = run_ok(AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=TIMEOUT))
    assert at.title[0].value == "GMTNet Explorer"
    # the app's own navigation: one link per page, drawn by the script (no automatic page list)
    links = [e.proto for e in at.sidebar.get("page_link")]
    assert [link.label for link in links] == ["Explore", "What-if", "Browse", "Model"]
    notes = " ".join(m.value for m in at.sidebar.markdown)
    assert "notebooks/01_neumann_principle.ipynb" in notes


def test_no_automatic_page_list_on_first_load():
    """Streamlit's client shows the pages/ folder's automatic list ("streamlit app, browse, ...")
    on the first load unless the config hides it; the script draws the navigation instead."""
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showSidebarNavigation"] is False
    from streamlit import config as st_config
    from streamlit.proto.NewSession_pb2 import Config
    from streamlit.runtime.app_session import _populate_config_msg

    st_config.set_option("client.showSidebarNavigation", config["client"]["showSidebarNavigation"])
    try:
        msg = Config()
        _populate_config_msg(msg)  # what the server sends the client before any script runs
        assert msg.hide_sidebar_nav
    finally:
        st_config.set_option("client.showSidebarNavigation", True)


def test_search_select_predict():
    at = run_ok(page("explore"))
    at.text_input(key="q_formula").input("ZnO")
    run_ok(at)
    assert any("3 of" in c.value for c in at.caption)
    at.selectbox(key="q_pick").select("mp-2133")
    run_ok(at)
    assert at.header[0].value == "ZnO (mp-2133)"
    assert not errors(at)
    # mp-2133 has no dielectric reference: it opens on the first kind that has one
    assert at.radio(key="x_kind").value == "piezoelectric"
    at.radio(key="x_kind").set_value("dielectric")
    run_ok(at)
    # no dielectric reference for mp-2133: the prediction is shown with its own checks only
    assert any("No DFT reference" in c.value for c in at.caption)
    for kind, unit in (("piezoelectric", "C/m²"), ("elastic", "GPa")):
        at.radio(key="x_kind").set_value(kind)
        run_ok(at)
        assert not errors(at)
        labels = [m.label for m in at.metric]
        assert f"Frobenius error ({unit})" in labels  # prediction vs DFT
        # the shipped ensembles give every prediction a calibrated uncertainty, shown beside the error
        assert f"Uncertainty, 1σ ({unit})" in labels and f"Predicted uncertainty ({unit})" in labels
        text = " ".join(m.value for m in at.markdown)
        assert "Voigt order IEEE 176" in text and unit in text and "± 1σ" in text
        frame_notes = " ".join(c.value for c in at.caption)
        assert "Cartesian frame of the structure" in frame_notes and "6mm" in frame_notes
        # allowed-form heatmap, polar cuts, difference (the 3D surface tab is closed: not built)
        assert len(at.get("plotly_chart")) == 3


def _chart_types(at: AppTest) -> list[set[str]]:
    return [{t["type"] for t in json.loads(c.proto.spec)["data"]} for c in at.get("plotly_chart")]


def test_surfaces_only_the_open_tab_is_built():
    """Polar cuts are the open tab; the 3D surface (two WebGL scenes) is built only once its tab is
    opened, and the choice is kept across tensors."""
    at = page("explore")
    at.query_params["material_id"] = "mp-2691"  # CdSe: all three references
    run_ok(at)
    assert [t.label for t in at.tabs] == ["Polar cuts (xy, xz, yz planes)", "3D surface"]
    types = _chart_types(at)
    assert {"scatterpolar"} in types and not any("surface" in t for t in types)
    at.session_state["main_surface_tab"] = "3D surface"
    run_ok(at)
    for kind in ("dielectric", "elastic", "piezoelectric"):
        at.radio(key="x_kind").set_value(kind)
        run_ok(at)
        types = _chart_types(at)
        surfaces = [t for t in types if "surface" in t]
        assert len(surfaces) == 1 and not any("scatterpolar" in t for t in types), (kind, types)
        spec = json.loads(next(c.proto.spec for c in at.get("plotly_chart") if '"surface"' in c.proto.spec))
        assert [t["name"] for t in spec["data"]] == ["prediction", "DFT reference"]
    at.session_state["main_surface_tab"] = "Polar cuts (xy, xz, yz planes)"
    run_ok(at)
    assert not any("surface" in t for t in _chart_types(at))


def _derived(at: AppTest):
    return next(df.value for df in at.dataframe if "quantity" in df.value.columns and "K_Hill" in set(df.value["quantity"]))


def test_elastic_extrema_only_when_switched_on_and_the_choice_is_kept():
    """The directional extrema (a search over directions, most of an elastic page's server CPU)
    are computed only once switched on, for the prediction and the DFT reference alike; the switch
    survives a visit to another tensor and a new crystal."""
    at = page("explore")
    at.query_params["material_id"] = "mp-2691"  # CdSe: all three references
    run_ok(at)
    at.radio(key="x_kind").set_value("elastic")
    run_ok(at)
    rows = _derived(at)
    assert not {"E min", "E max", "G min", "ν max"} & set(rows["quantity"]) and "DFT" in rows.columns
    assert at.toggle(key="main_extrema").value is False
    at.toggle(key="main_extrema").set_value(True)
    run_ok(at)
    rows = _derived(at).set_index("quantity")
    assert {"E min", "E max", "β min", "β max", "G min", "G max", "ν min", "ν max"} <= set(rows.index)
    assert float(rows.loc["E min", "value"]) <= float(rows.loc["E max", "value"])
    assert float(rows.loc["E min", "DFT"]) <= float(rows.loc["E max", "DFT"])
    at.radio(key="x_kind").set_value("dielectric")
    run_ok(at)
    assert not at.toggle  # no switch for a kind without extrema
    at.radio(key="x_kind").set_value("elastic")
    run_ok(at)
    assert at.toggle(key="main_extrema").value is True and "E max" in set(_derived(at)["quantity"])


def test_search_filters_and_bad_input():
    at = run_ok(page("explore"))
    at.text_input(key="q_elements").input("Zn, O")
    at.radio(key="q_mode").set_value("only")
    at.selectbox(key="q_system").select("hexagonal")
    at.multiselect(key="q_has").select("piezoelectric")
    run_ok(at)
    assert any(" of " in c.value and "match" in c.value for c in at.caption)
    at.text_input(key="q_elements").input("Zn, Qq")
    run_ok(at)
    assert any("Qq" in e for e in errors(at))


def _upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="upload").set_value((name, data, "application/octet-stream"))
    return run_ok(at)


def test_upload_valid_files():
    s = wurtzite_zno()
    lattice = " ".join(f"{x:.6f}" for x in s.lattice.matrix.ravel())
    xyz = f'{len(s)}\nLattice="{lattice}" Properties=species:S:1:pos:R:3\n' + "\n".join(
        f"{site.specie} {x:.6f} {y:.6f} {z:.6f}" for site, (x, y, z) in zip(s, s.cart_coords)
    )
    files = {
        "ZnO.cif": str(CifWriter(s)).encode(),
        "POSCAR": s.to(fmt="poscar").encode(),
        "ZnO.extxyz": xyz.encode(),
        "ZnO.json": json.dumps(s.as_dict()).encode(),
    }
    at = run_ok(page("explore"))
    for name, data in files.items():
        _upload(at, name, data)
        assert not errors(at), (name, errors(at))
        assert at.session_state["crystal"].label == name
        assert at.header[0].value == name


DISORDERED_CIF = b"""data_x
_cell_length_a 4.0
_cell_length_b 4.0
_cell_length_c 4.0
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 90
_symmetry_space_group_name_H-M 'P 1'
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_occupancy
A Fe 0 0 0 0.5
B Co 0 0 0 0.5
"""


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("junk.cif", b"this is not a crystal", "could not read"),
        ("empty.cif", b"", "empty"),
        ("alloy.cif", DISORDERED_CIF, "disordered"),
        ("mol.xyz", b"2\nwater-ish molecule\nO 0 0 0\nH 0 0 1\n", "not periodic"),
        ("notes.txt", b"hello", "cannot tell the format"),
        ("big.cif", b"#" * 2_100_000, "limit"),
        ("binary.cif", b"\xff\xfe\x00\x01", "not a text file"),
        ("huge.json", json.dumps(perovskite_srtio3().make_supercell(6, in_place=False).as_dict()).encode(), "limit is 500"),
    ],
)
def test_upload_invalid_keeps_previous_crystal(name, data, message):
    at = page("explore")
    at.session_state["crystal"] = Crystal(structure=perovskite_srtio3(), label="SrTiO3 (test)")
    run_ok(at)
    _upload(at, name, data)
    failure = at.session_state["_upload_error"]
    assert isinstance(failure, Failure) and failure.error == "StructureError" and message in failure.message
    assert any(message in e and e.endswith("— the previous crystal is kept.") for e in errors(at)), errors(at)
    assert at.session_state["crystal"].label == "SrTiO3 (test)"
    assert at.header[0].value == "SrTiO3 (test)"


def test_paste_structure():
    at = run_ok(page("explore"))
    at.text_area(key="paste_text").input(json.dumps(wurtzite_zno().as_dict()))
    at.selectbox(key="paste_fmt").select("json")
    at.button(key="paste_load").click()
    run_ok(at)
    assert at.session_state["crystal"].label == "pasted structure"
    at.text_area(key="paste_text").input("{not json")
    at.button(key="paste_load").click()
    run_ok(at)
    assert any("previous crystal is kept" in e for e in errors(at))
    assert at.session_state["crystal"].label == "pasted structure"


def test_whatif_shear_of_cubic_crystal_shows_newly_allowed_components():
    at = page("whatif")
    at.session_state["crystal"] = Crystal(structure=perovskite_srtio3(), label="SrTiO3 (test)")
    run_ok(at)
    assert any("m-3m" in str(df.value.to_dict()) for df in at.dataframe)
    # no edit yet: no change, and no comparison of a 0 ± 0 change with its uncertainty
    text = " ".join(m.value for m in at.markdown)
    assert "No edit applied yet" in text and "Predicted change" not in text and "larger than" not in text
    at.radio(key="w_op").set_value("strain")
    run_ok(at)
    at.selectbox(key="w_mode").select("shear")
    at.number_input(key="w_pct").set_value(2.0)
    run_ok(at)
    at.selectbox(key="w_plane").select("xy")
    at.button(key="w_apply").click()
    run_ok(at)
    assert not errors(at)
    sym = at.dataframe[0].value
    assert list(sym["point group"]) == ["m-3m", "mmm"]
    text = " ".join(m.value for m in at.markdown)
    assert "Newly allowed: **εxy**" in text
    assert "C16, C26, C36, C45" in text
    # the change is given with its own uncertainty, from the ensemble's paired members
    assert "Predicted change ‖after − before‖ = **" in text and "paired members" in text
    assert "No edit applied yet" not in text
    assert ("larger than its uncertainty" in text) or ("within its uncertainty" in text)
    # Curie's principle beside the re-detected group: m-3m ∩ (xy shear) = mmm, as re-detected
    curie = " ".join(c.value for c in at.caption if "Curie" in c.value)
    assert "m\\-3m" in curie or "m-3m" in curie
    assert "as predicted" in curie
    assert len(at.get("download_button")) == 4  # CIF (P1), POSCAR, tensors JSON and CSV
    # an invalid edit is refused with a message and changes nothing
    at.number_input(key="w_pct").set_value(20.0)
    at.selectbox(key="w_mode").select("uniaxial")
    run_ok(at)
    at.radio(key="w_op").set_value("substitute")
    run_ok(at)
    at.text_input(key="w_new").input("Qq")
    at.button(key="w_apply").click()
    run_ok(at)
    assert any("Qq" in e for e in errors(at))
    assert at.session_state["whatif"]["edits"] == ["shear strain +2 % in xy"]


def test_whatif_without_crystal_asks_for_one():
    at = run_ok(page("whatif"))
    assert "Explore" in at.info[0].value


def test_model_page_cards_benchmark_parity():
    at = run_ok(page("model"))
    shipped = at.dataframe[0].value
    assert list(shipped["target"]) == [k for k in KINDS if not KINDS[k].per_atom] and (shipped["networks"] == 5).all()
    assert shipped["within ±1σ %"].between(40, 95).all()
    assert at.dataframe[1].value["target"].nunique() == 4  # the architectures' benchmark
    at.selectbox(key="m_kind").select("elastic")
    run_ok(at)
    md = " ".join(m.value for m in at.markdown)
    assert "GMTNet model card: Elastic stiffness tensor (C), a deep ensemble" in md
    assert len(at.get("plotly_chart")) == 1


def test_whatif_rattle_and_tolerance():
    """A small rattle breaks the cubic symmetry at the default symprec; a looser one restores it."""
    at = page("whatif")
    at.session_state["crystal"] = Crystal(structure=perovskite_srtio3(), label="SrTiO3 (test)")
    run_ok(at)
    at.radio(key="w_op").set_value("rattle")
    run_ok(at)
    at.number_input(key="w_amp").set_value(0.03)
    at.button(key="w_apply").click()
    run_ok(at)
    assert list(at.dataframe[0].value["point group"]) == ["m-3m", "1"]
    text = " ".join(m.value for m in at.markdown)
    assert "Independent components: **1 → 6**" in text  # ε: isotropic -> triclinic
    at.slider(key="symprec").set_value(0.15)
    run_ok(at)
    assert list(at.dataframe[0].value["point group"]) == ["m-3m", "m-3m"]


def test_sic_reference_in_the_shown_frame_and_the_ieee_switch():
    """SiC mp-8062: the elastic reference of the 8-site cubic cell is compared on the 2-site cell
    in one frame; the IEEE switch gives the textbook forms e14 and C11/C12/C44."""
    at = page("explore")
    at.query_params["material_id"] = "mp-8062"
    run_ok(at)
    at.radio(key="x_kind").set_value("elastic")
    run_ok(at)
    checks = next(df.value for df in at.dataframe if "zero check" in df.value.columns)
    pred_row = checks.iloc[0]
    assert pred_row["zero check"] == "pass" and pred_row["equality check"] == "pass"
    assert float(pred_row["max forbidden (GPa)"]) == 0.0 and float(pred_row["max equality violation (GPa)"]) == 0.0
    # The DFT tensor, rotated in from its cubic cell, obeys the shown point group to its own noise
    # (the stored residual, 2e-5), not to the 0.2 of the unrotated tensor.
    assert float(checks["symmetry residual"].iloc[1]) < 1e-3
    notes = " ".join(c.value for c in at.caption)
    assert "rotated into this cell's frame" in notes
    at.radio(key="x_frame").set_value("ieee")
    run_ok(at)
    form = next(df.value for df in at.dataframe if "C11" in df.value.to_numpy().astype(str).ravel())
    values = set(form.to_numpy().astype(str).ravel()) - {"0"}
    assert {"C11", "C12", "C44"} <= values and not {"C16", "C36", "C45"} & values
    at.radio(key="x_kind").set_value("piezoelectric")
    run_ok(at)
    form = next(df.value for df in at.dataframe if "e14" in df.value.to_numpy().astype(str).ravel())
    assert "e11" not in set(form.to_numpy().astype(str).ravel())
    assert "IEEE 176 frame" in " ".join(m.value for m in at.markdown)
    assert any("pC/N" in m.value for m in at.markdown)  # d = e·S from the predicted e and C


def test_query_link_opens_on_a_kind_with_a_reference():
    at = page("explore")
    at.query_params["material_id"] = "mp-2133"  # ZnO: e and C references, no ε
    run_ok(at)
    assert at.radio(key="x_kind").value == "piezoelectric"
    assert "Frobenius error (C/m²)" in [m.label for m in at.metric]  # compared with the e reference


def test_reupload_of_the_same_bytes_under_another_name_loads_again():
    data = str(CifWriter(wurtzite_zno())).encode()
    at = run_ok(page("explore"))
    _upload(at, "first.cif", data)
    assert at.session_state["crystal"].label == "first.cif"
    _upload(at, "second.cif", data)
    assert at.session_state["crystal"].label == "second.cif"


def test_whatif_caption_substitution_defaults_warnings_and_exports():
    at = page("whatif")
    at.session_state["crystal"] = Crystal(structure=wurtzite_zno(), label="ZnO (test)")
    run_ok(at)
    at.radio(key="w_op").set_value("substitute")
    run_ok(at)
    at.selectbox(key="w_old").select("O")
    run_ok(at)
    assert at.text_input(key="w_new").value == "S"  # same group as O, not a fixed "Sr"
    at.selectbox(key="w_old").select("Zn")
    run_ok(at)
    assert at.text_input(key="w_new").value == "Cd"
    at.selectbox(key="w_old").select("O")
    run_ok(at)
    at.text_input(key="w_new").input("Cd")
    at.button(key="w_apply").click()
    run_ok(at)
    # the caption already lists the edit of this run, with the warnings and the relaxation note
    assert any("edits so far: O → Cd." in c.value for c in at.caption), [c.value for c in at.caption]
    assert any("oxidation state" in w.value for w in at.warning)
    assert any("not relaxed" in i.value for i in at.info)
    downloads = {b.label: b for b in at.get("download_button")}
    assert {"Structure (CIF, P1)", "Structure (POSCAR)"} <= set(downloads)


def test_rounded_reference_passes_within_its_sources_rounding():
    """Legacy elastic row mp-27296 (ZrTi2O), stored in whole GPa: its forced pair C11 = C22 differs
    by 1 GPa; the check says it passes within the source's rounding, not "fail"."""
    at = page("explore")
    at.query_params["material_id"] = "mp-27296"
    run_ok(at)
    at.radio(key="x_kind").set_value("elastic")
    run_ok(at)
    checks = next(df.value for df in at.dataframe if "zero check" in df.value.columns)
    dft = checks.iloc[1]
    assert dft["equality check"] == "pass within the source's rounding of 1 GPa"
    assert dft["zero check"] == "pass"
    assert any("passes within the source's rounding of 1 GPa" in c.value for c in at.caption)


def test_explore_says_why_a_metal_gets_no_meaningful_dielectric_tensor():
    from pymatgen.core import Lattice, Structure

    cu = Structure(Lattice.cubic(3.61), ["Cu"] * 4, [[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
    at = page("explore")
    at.session_state["crystal"] = Crystal(structure=cu, label="Cu (test)")
    run_ok(at)
    at.radio(key="x_kind").set_value("dielectric")
    run_ok(at)
    warned = [w.value for w in at.warning if "Likely a metal" in w.value]
    assert warned and "Cu is an elemental metal" in warned[0]
    at.radio(key="x_kind").set_value("elastic")
    run_ok(at)
    assert not any("Likely a metal" in w.value for w in at.warning)


def _disordered():
    from pymatgen.core import Lattice, Structure

    return Structure(Lattice.cubic(4.0), [{"Fe": 0.5, "Co": 0.5}], [[0, 0, 0]])


def _too_large():
    return perovskite_srtio3().make_supercell((5, 5, 5), in_place=False)  # 625 sites; the limit is 500


@pytest.mark.parametrize("make, message", [(_disordered, "disordered structure (Fe0.5Co0.5)"),
                                           (_too_large, "the structure has 625 atoms; the limit is 500")])
def test_refused_structure_is_a_typed_failure_shown_on_explore(make, message):
    """A structure the library refuses (here set as the current crystal, as an edit or an old
    session could leave it) gives every kind a Failure carrying the library's message, and the page
    shows that message instead of a tensor, with no exception."""
    from app import service
    from gmtnet.symmetry import DEFAULT_SYMPREC

    structure = make()
    predictions = service.predict(structure, DEFAULT_SYMPREC)
    assert list(predictions) == list(KINDS)
    for p in predictions.values():
        assert isinstance(p, Failure) and p.error == "ValueError" and message in p.message, p
    at = page("explore")
    at.session_state["crystal"] = Crystal(structure=structure, label="refused (test)")
    run_ok(at)
    for kind in KINDS:
        at.radio(key="x_kind").set_value(kind)
        run_ok(at)
        shown = [e for e in errors(at) if e.startswith("No prediction: ")]
        assert len(shown) == 1 and message in shown[0].replace("\\", ""), errors(at)  # plain() escapes ":"
        assert not any(m.value.startswith("Predicted") for m in at.markdown)


def test_whatif_supercell_over_the_atom_limit_is_refused_with_its_message():
    at = page("whatif")
    at.session_state["crystal"] = Crystal(structure=perovskite_srtio3().make_supercell((2, 1, 1), in_place=False),
                                          label="SrTiO3 2x1x1 (test)")
    run_ok(at)
    at.radio(key="w_op").set_value("supercell")
    run_ok(at)
    for axis in "abc":
        at.number_input(key=f"w_n{axis}").set_value(4)
    at.button(key="w_apply").click()
    run_ok(at)
    refused = [e for e in errors(at) if e.startswith("Edit not applied: ")]
    assert refused and "500" in refused[0], errors(at)
    assert at.session_state["whatif"]["edits"] == [] and len(at.session_state["whatif"]["structure"]) == 10


@pytest.fixture
def without_elastic_weights(monkeypatch, tmp_path):
    """The app as started on an install without the elastic weights: the package resources seen by
    the weight loader lack ``weights/elastic`` (the other kinds' folders are links to the real ones),
    and the predictor warm-up starts afresh."""
    import importlib.resources as resources

    from app import service

    real_files = resources.files
    root = tmp_path / "resources"
    (root / "weights").mkdir(parents=True)
    for kind in KINDS:
        if kind != "elastic":
            (root / "weights" / kind).symlink_to(Path(str(real_files("gmtnet.resources").joinpath("weights", kind))))

    # No warm-up left running, no cached predictor or prediction of the other install.
    service.reset_models()
    monkeypatch.setattr(resources, "files", lambda package: root if package == "gmtnet.resources" else real_files(package))
    yield
    service.reset_models()


def test_kind_without_weights_is_a_typed_failure_on_every_page(without_elastic_weights):
    from app import service
    from gmtnet.symmetry import DEFAULT_SYMPREC

    predictions = service.predict(perovskite_srtio3(), DEFAULT_SYMPREC)
    missing = predictions.pop("elastic")
    assert isinstance(missing, Failure) and missing.error == "FileNotFoundError"
    assert "no shipped weights for 'elastic'" in missing.message
    assert not any(isinstance(p, Failure) for p in predictions.values())  # the other kinds still predict

    at = page("explore")
    at.session_state["crystal"] = Crystal(structure=perovskite_srtio3(), label="SrTiO3 (test)")
    run_ok(at)
    assert not errors(at)
    at.radio(key="x_kind").set_value("elastic")
    run_ok(at)
    assert any(e.startswith("No prediction: no shipped weights for 'elastic'") for e in errors(at)), errors(at)

    at = page("whatif")
    at.session_state["crystal"] = Crystal(structure=perovskite_srtio3(), label="SrTiO3 (test)")
    run_ok(at)
    assert [e for e in errors(at) if "no shipped weights for 'elastic'" in e] == errors(at) and len(errors(at)) == 1

    at = run_ok(page("model"))
    assert list(at.dataframe[0].value["target"]) == [k for k in KINDS if k != "elastic" and not KINDS[k].per_atom]
    at.selectbox(key="m_kind").select("elastic")
    run_ok(at)
    assert any(e.startswith("No parity plot: no shipped weights for 'elastic'") for e in errors(at)), errors(at)
    assert any("No model card for elastic" in m.value for m in at.markdown)


def test_search_is_built_only_while_open_and_keeps_its_filters():
    """A page opened by link shows the crystal with the search closed and does not build the
    search (its 3,893-row table was a fifth of such a page's server CPU); opening it builds it, and
    closing it keeps the filters typed so far, not the picker's choice."""
    at = page("explore")
    at.query_params["material_id"] = "mp-2133"
    run_ok(at)
    assert at.session_state["x_search_open"] is False
    keys = {w.key for w in [*at.selectbox, *at.text_input]}
    assert not keys & {"q_pick", "q_formula"}
    assert not any(" bundled crystals match" in c.value for c in at.caption)
    at.session_state["x_search_open"] = True
    run_ok(at)
    at.text_input(key="q_formula").input("ZnO")
    run_ok(at)
    assert any(c.value.startswith("3 of") for c in at.caption)
    at.selectbox(key="q_pick").select("mp-1986")
    run_ok(at)
    assert at.header[0].value.endswith("(mp-1986)")
    at.session_state["x_search_open"] = False
    run_ok(at)
    assert "q_pick" not in {w.key for w in at.selectbox}
    at.query_params["material_id"] = "mp-2229"
    run_ok(at)
    assert at.header[0].value == "ZnO (mp-2229)"
    at.session_state["x_search_open"] = True
    run_ok(at)
    assert at.text_input(key="q_formula").value == "ZnO"
    assert at.selectbox(key="q_pick").value == "—"
    assert at.header[0].value == "ZnO (mp-2229)"  # the picker's earlier choice is not loaded again
