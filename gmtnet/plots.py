"""Plotly figure builders shared by the app and the notebooks.

Every figure states its frame (x, y, z are the structure's Cartesian axes), its Voigt order (IEEE:
xx, yy, zz, yz, xz, xy) and its unit. Figures are kept light (default surface grid 60 x 120) so that
several fit in a Streamlit page. Plotly is imported on first use so that ``import gmtnet.plots``
stays cheap for code that only needs the helpers.

The surfaces, polar cuts, Voigt heatmaps and the parity plot are written as plain plotly specs and wrapped in a figure
without plotly's property validation (:func:`_unvalidated_figure`): validation was ~90 % of their
construction time (27 ms of 28 ms for a polar figure with an ensemble band), paid by the app server
on every new tensor. The specs are the ones plotly's validated builders produced (the tests check
that validating them changes nothing), and the returned objects are ordinary ``go.Figure``s.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence

import numpy as np

from gmtnet.kinds import TensorKind, get_kind
from gmtnet.surfaces import PLANES, get_quantity, polar_cut, surface_mesh
from gmtnet.tensors import voigt_labels

__all__ = [
    "surface_figure",
    "polar_figure",
    "voigt_heatmap",
    "difference_heatmap",
    "parity_figure",
    "shared_range",
]

#: Colour scales: sequential for positive quantities, diverging (centred on 0) for signed ones.
SEQUENTIAL = "Viridis"
DIVERGING = "RdBu_r"
#: Colours of prediction and reference in overlaid plots.
TRACE_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")
FORBIDDEN_COLOR = "rgba(120,120,120,0.9)"


def _go():
    import plotly.graph_objects as go

    return go


def _unvalidated_figure(data: list[dict], layout: dict):
    """``go.Figure`` from a plain spec without plotly's per-property validation (plotly's default
    template is still applied). Only for specs this module writes: their validity is checked in
    tests/test_plots.py by validating them and comparing."""
    return _go().Figure({"data": data, "layout": layout}, _validate=False)


@functools.lru_cache(maxsize=16)
def _subplots_layout(subplot_type: str, titles: tuple[str, ...]) -> dict:
    """Layout of ``make_subplots(1, len(titles))`` with one ``subplot_type`` per column (domains and
    title annotations), without the template; built once per shape (make_subplots alone took ~30 ms).
    Callers get a deep copy."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=len(titles), specs=[[{"type": subplot_type}] * len(titles)],
                        subplot_titles=list(titles))
    layout = fig.layout.to_plotly_json()
    layout.pop("template", None)
    return copy.deepcopy(layout)


@functools.lru_cache(maxsize=8)
def _colorscale(name: str) -> tuple:
    """A named plotly colour scale as the (position, colour) pairs plotly's validation expands it to."""
    return tuple(tuple(pair) for pair in _go().Heatmap(colorscale=name).colorscale)


def _subplot_names(subplot_type: str, n: int) -> list[str]:
    """Plotly's subplot ids: ``polar``, ``polar2``, ... (the first has no number)."""
    return [subplot_type if i == 0 else f"{subplot_type}{i + 1}" for i in range(n)]


def _unit_suffix(unit: str) -> str:
    return f" ({unit})" if unit else ""


def shared_range(values: Sequence[np.ndarray], signed: bool) -> tuple[float, float]:
    """One colour range (cmin, cmax) for several arrays, ignoring NaN.

    Signed data get a range symmetric about 0, so that white means zero on a diverging scale.
    All-NaN input gives (0, 1) so that a figure still builds.
    """
    finite = np.concatenate([np.asarray(v, dtype=float).ravel() for v in values])
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return 0.0, 1.0
    if signed:
        m = float(np.abs(finite).max()) or 1.0
        return -m, m
    lo, hi = float(finite.min()), float(finite.max())
    return (lo, hi) if hi > lo else (lo - 0.5 * abs(lo or 1.0), hi + 0.5 * abs(hi or 1.0))


def _with_alpha(hex_color: str, alpha: float) -> str:
    """``"#1f77b4"`` → ``"rgba(31,119,180,alpha)"`` (plotly fills need the alpha in the colour)."""
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _as_list(tensors) -> list[np.ndarray]:
    if isinstance(tensors, np.ndarray):
        return [tensors]
    return [np.asarray(t, dtype=float) for t in tensors]


def surface_figure(
    tensors: np.ndarray | Sequence[np.ndarray],
    kind: str | TensorKind,
    quantity: str,
    titles: Sequence[str] | None = None,
    n_theta: int = 60,
    n_phi: int = 120,
    height: int = 450,
):
    """3D directional surface(s) r = |f(n)|·n, side by side on one shared colour scale.

    Args:
        tensors: one full-rank tensor or a sequence (e.g. ``[prediction, dft_reference]``), each in
            the structure's Cartesian frame and the kind's units.
        kind: tensor kind.
        quantity: key of :data:`gmtnet.surfaces.SURFACE_QUANTITIES` applying to ``kind``.
        titles: one subplot title per tensor.
        n_theta, n_phi: grid size (keep ≤ 60 x 120 for a responsive page).

    Returns:
        ``plotly.graph_objects.Figure`` with one ``Surface`` per tensor; all traces carry the same
        ``cmin``/``cmax`` (one colour bar, on the last trace, titled with the unit) and all scenes
        the same axis ranges, so shapes and colours compare directly. Axes are x, y, z of the
        structure frame, in the quantity's unit.
    """
    q = get_quantity(quantity, kind)
    ts = _as_list(tensors)
    titles = list(titles) if titles is not None else [q.label] * len(ts)
    if len(titles) != len(ts):
        raise ValueError(f"got {len(titles)} titles for {len(ts)} tensors")
    meshes = [surface_mesh(t, kind, quantity, n_theta, n_phi) for t in ts]
    cmin, cmax = shared_range([m[3] for m in meshes], q.signed)
    extent = max((float(np.nanmax(np.abs(m[3]))) for m in meshes if np.isfinite(m[3]).any()), default=1.0)
    layout = _subplots_layout("scene", tuple(titles))
    scenes = _subplot_names("scene", len(ts))
    data = []
    for i, (x, y, z, v) in enumerate(meshes):
        data.append({
            "type": "surface", "scene": scenes[i],
            # float32 halves the figure's JSON (plotly sends arrays as binary); ample for display.
            "x": x.astype(np.float32), "y": y.astype(np.float32), "z": z.astype(np.float32),
            "surfacecolor": v.astype(np.float32),
            "cmin": cmin, "cmax": cmax,
            "colorscale": _colorscale(DIVERGING if q.signed else SEQUENTIAL),
            "showscale": i == len(ts) - 1,
            "colorbar": {"title": {"text": f"{q.label}{_unit_suffix(q.unit)}", "side": "right"}},
            "name": titles[i],
            # Hover shows the signed value (the radius is its magnitude); text is the portable
            # way to carry it, surfacecolor is not a hover variable in every plotly.js.
            "text": np.vectorize(lambda a: f"{a:.4g} {q.unit}".strip())(v),
            "hovertemplate": f"%{{text}}<extra>{titles[i]}</extra>",
        })
    axis = {"range": [-1.05 * extent, 1.05 * extent]}
    unit = _unit_suffix(q.unit)
    for scene in scenes:
        layout[scene].update({
            "xaxis": {**axis, "title": {"text": f"x{unit}"}},
            "yaxis": {**axis, "title": {"text": f"y{unit}"}},
            "zaxis": {**axis, "title": {"text": f"z{unit}"}},
            "aspectmode": "cube",
        })
    layout.update(height=height, margin={"l": 0, "r": 0, "t": 40, "b": 0})
    return _unvalidated_figure(data, layout)


def polar_figure(
    tensors: np.ndarray | Sequence[np.ndarray],
    kind: str | TensorKind,
    quantity: str,
    names: Sequence[str] | None = None,
    planes: Sequence[str] = ("xy", "xz", "yz"),
    n: int = 361,
    height: int = 360,
    members: Sequence[np.ndarray | None] | None = None,
    std_scale: float = 1.0,
):
    """2D polar cuts of a directional quantity in coordinate planes, tensors overlaid.

    Args:
        tensors: one tensor or several (e.g. ``[prediction, dft_reference]``), structure frame.
        names: legend name per tensor (default ``"prediction"``, ``"reference"``, ...).
        planes: subset of ``"xy"``, ``"xz"``, ``"yz"`` (angle from the plane's first axis towards
            its second).
        members: per tensor, ``(M, 3, ..., 3)`` ensemble members in the same frame, or ``None``;
            a tensor with members gets a shaded ±1σ band: σ(n) is the members' standard deviation
            of the quantity along each direction (ddof=1) times ``std_scale`` (the ensemble's
            calibration factor, :attr:`gmtnet.predict.Prediction.std_scale`).

    Returns:
        Figure with one polar subplot per plane; radius = |f(n)| in the quantity's unit (hover shows
        the signed value), one colour per tensor, shared legend.
    """
    q = get_quantity(quantity, kind)
    ts = _as_list(tensors)
    default = ["prediction", "reference"] + [f"tensor {i + 1}" for i in range(2, len(ts))]
    names = list(names) if names is not None else default[: len(ts)]
    if len(names) != len(ts):
        raise ValueError(f"got {len(names)} names for {len(ts)} tensors")
    bands = list(members) if members is not None else [None] * len(ts)
    if len(bands) != len(ts):
        raise ValueError(f"got {len(bands)} member stacks for {len(ts)} tensors")
    for p in planes:
        if p not in PLANES:
            raise ValueError(f"unknown plane {p!r}; use one of {sorted(PLANES)}")
    radius = "|value|" if q.signed else "value"
    layout = _subplots_layout("polar", tuple(f"{p} plane (angle from {p[0]} towards {p[1]})" for p in planes))
    subplots = _subplot_names("polar", len(planes))
    data: list[dict] = []
    for j, (p, subplot) in enumerate(zip(planes, subplots)):
        for i, (t, name, ms) in enumerate(zip(ts, names, bands)):
            angle, _, v = polar_cut(t, kind, quantity, p, n)
            color = TRACE_COLORS[i % len(TRACE_COLORS)]
            if ms is not None and len(ms) > 1:
                sigma = np.stack([polar_cut(m, kind, quantity, p, n)[2] for m in ms]).std(axis=0, ddof=1) * std_scale
                r = np.abs(v)
                band = f"{name} ±1σ"
                data.append({
                    "type": "scatterpolar", "subplot": subplot,
                    "r": np.concatenate([r + sigma, np.maximum(r - sigma, 0)[::-1]]),
                    "theta": np.degrees(np.concatenate([angle, angle[::-1]])), "mode": "lines", "fill": "toself",
                    "fillcolor": _with_alpha(color, 0.18), "line": {"width": 0}, "name": band, "legendgroup": band,
                    "showlegend": j == 0, "hoverinfo": "skip",
                })
            data.append({
                "type": "scatterpolar", "subplot": subplot,
                "r": np.abs(v), "theta": np.degrees(angle), "mode": "lines", "customdata": v,
                "name": name, "legendgroup": name, "showlegend": j == 0,
                "line": {"color": color, "dash": "solid" if i == 0 else "dash"},
                "hovertemplate": f"%{{theta:.0f}}°: %{{customdata:.4g}} {q.unit}<extra>{name}</extra>",
            })
    for subplot in subplots:
        layout[subplot]["angularaxis"] = {"direction": "counterclockwise", "rotation": 0}
    layout.update(
        height=height, title={"text": f"{q.label}, radius = {radius}{_unit_suffix(q.unit)}", "font": {"size": 14}},
        margin={"l": 30, "r": 30, "t": 80, "b": 30},
    )
    return _unvalidated_figure(data, layout)


def _label_positions(kind: TensorKind, order: str) -> dict[str, list[tuple[int, int]]]:
    """Voigt label → cells showing that component (both triangles for symmetric ε and C)."""
    labels = voigt_labels(kind, order)
    pos: dict[str, list[tuple[int, int]]] = {}
    for (i, j), name in np.ndenumerate(labels):
        pos.setdefault(str(name), []).append((i, j))
        if kind.voigt_symmetric and i != j:
            pos.setdefault(str(labels[j, i]), []).append((i, j))
    return pos


def voigt_heatmap(
    voigt: np.ndarray,
    kind: str | TensorKind,
    zero_mask: np.ndarray | None = None,
    equalities: Sequence[tuple[str, str, int]] | None = None,
    title: str | None = None,
    order: str = "ieee",
    digits: int = 3,
):
    """Annotated Voigt matrix with the symmetry-imposed form marked.

    Args:
        voigt: ``(3, 3)``, ``(3, 6)`` or ``(6, 6)`` Voigt matrix in the given ``order``, kind's units.
        zero_mask: bool Voigt matrix, True where symmetry forbids the component (e.g.
            ``SymmetryConstraints.voigt_zero_mask(order)``); drawn as grey "×" markers, trace name
            ``"forbidden by symmetry"``.
        equalities: ``(a, b, sign)`` label triples (``SymmetryConstraints.voigt_equalities(order)``);
            cell b is annotated ``= a`` or ``= −a``.
        order: Voigt order of ``voigt`` and the masks, ``"ieee"`` or ``"vasp"``.

    Returns:
        Figure: a diverging heatmap centred on 0 (colour bar in the kind's unit), each cell showing
        its component name and value; rows/columns labelled with 1-based Voigt indices.
    """
    k = get_kind(kind)
    v = np.asarray(voigt, dtype=float)
    if v.shape != k.voigt_shape:
        raise ValueError(f"{k.name} Voigt matrix must have shape {k.voigt_shape}, got {v.shape}")
    labels = voigt_labels(k, order)
    notes = np.full(v.shape, "", dtype=object)
    if equalities:
        pos = _label_positions(k, order)
        for a, b, sign in equalities:
            for cell in pos.get(b, []):
                # Equalities come as all pairs of a class, sorted: keep the first (lowest) name.
                if not notes[cell]:
                    notes[cell] = f"<br>= {'' if sign > 0 else '−'}{a}"
    text = np.array(
        [[f"{labels[i, j]}<br>{v[i, j]:.{digits}g}{notes[i, j]}" for j in range(v.shape[1])] for i in range(v.shape[0])]
    )
    m = float(np.nanmax(np.abs(v))) if np.isfinite(v).any() else 0.0
    m = m or 1.0
    rows, cols = _axis_names(k, order)
    data = [{
        "type": "heatmap", "z": v, "x": cols, "y": rows, "text": text, "texttemplate": "%{text}",
        "textfont": {"size": 10}, "colorscale": _colorscale(DIVERGING), "zmin": -m, "zmax": m,
        "colorbar": {"title": {"text": k.unit_label}}, "hoverinfo": "text", "name": k.symbol,
    }]
    if zero_mask is not None:
        zm = np.asarray(zero_mask, dtype=bool)
        if zm.shape != v.shape:
            raise ValueError(f"zero_mask must have shape {v.shape}, got {zm.shape}")
        ii, jj = np.nonzero(zm)
        data.append({
            "type": "scatter", "x": [cols[j] for j in jj], "y": [rows[i] for i in ii], "mode": "markers",
            "marker": {"symbol": "x-thin", "size": 26, "line": {"width": 1.5, "color": FORBIDDEN_COLOR}},
            "name": "forbidden by symmetry", "hoverinfo": "name", "showlegend": True,
        })
    frame = "Voigt order " + ("IEEE (xx, yy, zz, yz, xz, xy)" if order == "ieee" else "VASP (xx, yy, zz, xy, yz, xz)")
    layout = {
        "yaxis": {"autorange": "reversed", "type": "category"},
        "xaxis": {"type": "category", "side": "top"},
        "title": {"text": title or f"{k.symbol} ({k.unit_label}), {frame}", "font": {"size": 14}},
        "height": 120 + 60 * v.shape[0], "margin": {"l": 40, "r": 20, "t": 90, "b": 20},
        "legend": {"orientation": "h", "y": -0.05},
    }
    return _unvalidated_figure(data, layout)


def _axis_names(k: TensorKind, order: str) -> tuple[list[str], list[str]]:
    """Row and column names: Cartesian for a plain matrix form, 1-based Voigt indices with their
    axis or pair otherwise (:meth:`gmtnet.kinds.TensorKind.voigt_axis_labels`, in ``order``)."""
    return k.voigt_axis_labels(order)


def difference_heatmap(
    pred_voigt: np.ndarray, ref_voigt: np.ndarray, kind: str | TensorKind, title: str | None = None, order: str = "ieee"
):
    """Heatmap of prediction − reference per Voigt component (same order, frame and units).

    Returns a figure with a diverging scale centred on 0, colour bar in the kind's unit, and the
    component name and signed difference in each cell.
    """
    k = get_kind(kind)
    p = np.asarray(pred_voigt, dtype=float)
    r = np.asarray(ref_voigt, dtype=float)
    if p.shape != r.shape:
        raise ValueError(f"prediction {p.shape} and reference {r.shape} Voigt shapes differ")
    return voigt_heatmap(p - r, k, title=title or f"prediction − reference, {k.symbol} ({k.unit_label})", order=order)


def parity_figure(
    true: np.ndarray,
    pred: np.ndarray,
    labels: Sequence[str] | None = None,
    unit: str = "",
    title: str | None = None,
    name: str = "components",
    height: int = 420,
    sigma: np.ndarray | None = None,
):
    """Predicted vs. reference scatter with the y = x line.

    Args:
        true, pred: arrays of equal size (flattened), reference and prediction in ``unit``.
        labels: optional hover name per point (e.g. ``"mp-1234 C11"``).
        unit: shown on both axis titles.
        sigma: optional predicted 1σ per point (same size, ``unit``), drawn as vertical error bars.

    Returns:
        Figure with a ``Scatter`` of the points (``name``) and a dashed diagonal named ``"y = x"``,
        equal axis ranges.
    """
    t = np.asarray(true, dtype=float).ravel()
    p = np.asarray(pred, dtype=float).ravel()
    if t.shape != p.shape:
        raise ValueError(f"true ({t.size}) and pred ({p.size}) differ in size")
    if labels is not None and len(labels) != t.size:
        raise ValueError(f"got {len(labels)} labels for {t.size} points")
    err = None if sigma is None else np.asarray(sigma, dtype=float).ravel()
    if err is not None and err.shape != t.shape:
        raise ValueError(f"got {err.size} σ values for {t.size} points")
    both = np.concatenate([t, p])
    both = both[np.isfinite(both)]
    lo, hi = (float(both.min()), float(both.max())) if both.size else (0.0, 1.0)
    pad = 0.05 * (hi - lo or 1.0)
    lo, hi = lo - pad, hi + pad
    suffix = _unit_suffix(unit)
    points = {
        "type": "scatter", "x": t, "y": p, "mode": "markers", "name": name,
        "marker": {"size": 6, "opacity": 0.7, "color": TRACE_COLORS[0]},
        "hovertemplate": "%{text}<br>" * (labels is not None) + f"reference %{{x:.4g}}<br>predicted %{{y:.4g}} {unit}<extra></extra>",
    }
    if labels is not None:
        points["text"] = list(labels)
    if err is not None:
        points["error_y"] = {"type": "data", "array": err, "thickness": 1, "width": 0, "color": "rgba(31,119,180,0.35)"}
    data = [{"type": "scatter", "x": [lo, hi], "y": [lo, hi], "mode": "lines", "name": "y = x",
             "line": {"dash": "dash", "color": "grey"}, "hoverinfo": "skip"}, points]
    layout = {
        "xaxis": {"title": {"text": f"reference{suffix}"}, "range": [lo, hi]},
        "yaxis": {"title": {"text": f"predicted{suffix}"}, "range": [lo, hi], "scaleanchor": "x", "scaleratio": 1},
        "title": {"text": title or "", "font": {"size": 14}}, "height": height,
        "margin": {"l": 50, "r": 20, "t": 50, "b": 50},
    }
    return _unvalidated_figure(data, layout)
