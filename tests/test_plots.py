"""Figure builders: they build, share one colour scale, label frame and units, show the masks."""

import numpy as np
import pytest
from helpers import rocksalt_nacl, wurtzite_zno
from test_properties import cubic_c, wurtzite_e

pytest.importorskip("plotly")

from gmtnet import plots  # noqa: E402
from gmtnet.symmetry import symmetry_constraints  # noqa: E402
from gmtnet.tensors import to_voigt  # noqa: E402


def test_surface_figure_shares_one_colour_scale():
    c = cubic_c()
    fig = plots.surface_figure([c, 1.2 * c], "elastic", "young", titles=["prediction", "DFT"], n_theta=13, n_phi=24)
    surfaces = [t for t in fig.data if t.type == "surface"]
    assert len(surfaces) == 2
    assert surfaces[0].cmin == surfaces[1].cmin and surfaces[0].cmax == surfaces[1].cmax
    assert surfaces[0].cmax == pytest.approx(np.nanmax(surfaces[1].surfacecolor))
    assert [t.showscale for t in surfaces] == [False, True]
    assert "GPa" in surfaces[1].colorbar.title.text
    assert fig.layout.scene.xaxis.title.text.startswith("x") and fig.layout.scene2.zaxis.title.text.startswith("z")
    assert fig.layout.scene.xaxis.range == fig.layout.scene2.xaxis.range


def test_signed_surface_is_centred_on_zero():
    fig = plots.surface_figure(wurtzite_e(), "piezoelectric", "longitudinal_piezo", n_theta=9, n_phi=12)
    (s,) = fig.data
    assert s.cmin == pytest.approx(-s.cmax) and s.cmax > 0
    assert "C/m²" in s.colorbar.title.text


def test_surface_of_singular_tensor_still_builds():
    fig = plots.surface_figure(np.zeros((3, 3, 3, 3)), "elastic", "young", n_theta=5, n_phi=6)
    assert fig.data[0].cmin == 0.0 and fig.data[0].cmax == 1.0


def test_polar_figure_overlays_prediction_and_reference():
    c = cubic_c()
    fig = plots.polar_figure([c, 1.1 * c], "elastic", "young", n=37)
    assert len(fig.data) == 6  # 3 planes x 2 tensors
    assert {t.name for t in fig.data} == {"prediction", "reference"}
    assert sum(bool(t.showlegend) for t in fig.data) == 2
    with pytest.raises(ValueError):
        plots.polar_figure(c, "elastic", "young", planes=("ab",))


def test_voigt_heatmap_marks_forbidden_and_equal_components():
    cons = symmetry_constraints(wurtzite_zno(), "piezoelectric")
    v = to_voigt(cons.project(wurtzite_e()), "piezoelectric", "ieee")
    fig = plots.voigt_heatmap(v, "piezoelectric", cons.voigt_zero_mask("ieee"), cons.voigt_equalities("ieee"))
    heat, forbidden = fig.data
    assert forbidden.name == "forbidden by symmetry"
    assert len(forbidden.x) == int(cons.voigt_zero_mask("ieee").sum()) == 18 - 5
    text = np.asarray(heat.text)
    assert "e32" in text[2, 1] and "= e31" in text[2, 1]
    assert "= e15" in text[1, 3]
    assert heat.zmin == pytest.approx(-heat.zmax)


def test_elastic_heatmap_marks_both_triangles():
    cons = symmetry_constraints(rocksalt_nacl(), "elastic")
    v = to_voigt(cons.project(cubic_c()), "elastic", "ieee")
    fig = plots.voigt_heatmap(v, "elastic", cons.voigt_zero_mask(), cons.voigt_equalities())
    text = np.asarray(fig.data[0].text)
    assert "= C11" in text[1, 1] and "= C44" in text[5, 5]
    assert "= C12" in text[2, 0] or "= C12" in text[0, 2]
    assert len(fig.data[1].x) == 36 - 12


def test_difference_and_parity():
    v = to_voigt(cubic_c(), "elastic", "ieee")
    fig = plots.difference_heatmap(1.1 * v, v, "elastic")
    assert np.asarray(fig.data[0].z) == pytest.approx(0.1 * v)
    labels = [f"C{i}" for i in range(36)]
    fig = plots.parity_figure(v.ravel(), 1.1 * v.ravel(), labels=labels, unit="GPa")
    diag, pts = fig.data
    assert diag.name == "y = x" and len(pts.x) == 36
    assert "GPa" in fig.layout.xaxis.title.text
    with pytest.raises(ValueError):
        plots.parity_figure([1, 2], [1, 2, 3])


def test_parity_figure_draws_sigma_as_error_bars():
    from gmtnet.plots import parity_figure

    fig = parity_figure([1.0, 2.0], [1.1, 1.8], sigma=[0.1, 0.3])
    assert list(fig.data[1].error_y.array) == [0.1, 0.3]
    assert parity_figure([1.0], [1.0]).data[1].error_y.array is None
    with pytest.raises(ValueError, match="σ values"):
        parity_figure([1.0, 2.0], [1.0, 2.0], sigma=[0.1])


def _as_json(fig) -> dict:
    import json

    import plotly.io as pio

    return json.loads(pio.to_json(fig, validate=False))


@pytest.mark.parametrize("case", ["polar_band", "polar_one_plane", "heatmap_masks", "heatmap_vasp", "difference",
                                  "parity_full", "parity_plain", "surface_pair", "surface_signed"])
def test_unvalidated_figures_are_what_plotly_validation_gives(case):
    """The surfaces, polar cuts, heatmaps and parity plot skip plotly's validation for speed: validating their spec must
    leave every trace and layout property unchanged (a misspelt property, a colour scale name plotly
    would expand, or a wrong subplot id makes the two differ or raises)."""
    import plotly.graph_objects as go

    c = cubic_c()
    cons = symmetry_constraints(wurtzite_zno(), "piezoelectric")
    v = to_voigt(cons.project(wurtzite_e()), "piezoelectric", "ieee")
    members = np.stack([c * (1 + 0.01 * i) for i in range(5)])
    fig = {
        "polar_band": lambda: plots.polar_figure([c, 1.1 * c], "elastic", "young", n=37, members=[members, None],
                                                 std_scale=1.3),
        "polar_one_plane": lambda: plots.polar_figure(c, "elastic", "young", planes=("yz",), n=19),
        "heatmap_masks": lambda: plots.voigt_heatmap(v, "piezoelectric", cons.voigt_zero_mask("ieee"),
                                                     cons.voigt_equalities("ieee"), title="t"),
        "heatmap_vasp": lambda: plots.voigt_heatmap(to_voigt(c, "elastic", "vasp"), "elastic", order="vasp"),
        "difference": lambda: plots.difference_heatmap(1.1 * v, v, "piezoelectric"),
        "parity_full": lambda: plots.parity_figure(v.ravel(), 1.1 * v.ravel(), labels=[f"c{i}" for i in range(v.size)],
                                                   unit="C/m²", title="t", sigma=np.full(v.size, 0.1)),
        "parity_plain": lambda: plots.parity_figure([1.0, 2.0], [1.1, 1.9]),
        "surface_pair": lambda: plots.surface_figure([c, 1.2 * c], "elastic", "young", titles=["prediction", "DFT"],
                                                     n_theta=7, n_phi=10),
        "surface_signed": lambda: plots.surface_figure(wurtzite_e(), "piezoelectric", "longitudinal_piezo",
                                                       n_theta=5, n_phi=8),
    }[case]()
    assert isinstance(fig, go.Figure)
    assert _as_json(go.Figure(fig.to_dict())) == _as_json(fig)
    # each trace sits in one of the layout's subplots, and every subplot is used
    subplot = {"polar": ("polar", "subplot"), "surface": ("scene", "scene")}.get(case.split("_")[0])
    if subplot is not None:
        prefix, attr = subplot
        in_layout = [k for k in fig.layout.to_plotly_json() if k.startswith(prefix)]
        assert sorted(in_layout) == sorted({getattr(t, attr) for t in fig.data})
    if case.startswith("polar"):
        polars = [k for k in fig.layout.to_plotly_json() if k.startswith("polar")]
        assert all(fig.layout[p].angularaxis.direction == "counterclockwise" for p in polars)
