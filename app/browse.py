"""Browse page building blocks: table source, filters, scatter, open-on-Explore, downloads.

The tables and filtering live in :mod:`gmtnet.browse`; this module only draws widgets.
"""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from app import session
from gmtnet.browse import (
    METAL_COLUMN,
    column_range,
    filter_predictions,
    load_catalog_predictions,
    read_screen_files,
    scalar_columns_for,
    to_csv_bytes,
    to_parquet_bytes,
)
from gmtnet.data import CRYSTAL_SYSTEMS
from gmtnet.kinds import KINDS
from gmtnet.scalars import SCALAR_COLUMNS, boolean_columns

SOURCES = ("Bundled catalogue (shipped predictions)", "Upload `gmtnet screen` output")
#: Largest upload in total, in bytes (a screen of ~100k rows without tensors is ~20 MB).
MAX_UPLOAD_BYTES = 200_000_000


@st.cache_data(show_spinner="Reading the catalogue predictions…")
def catalog_predictions() -> pd.DataFrame:
    return load_catalog_predictions()


def _label(col: str) -> str:
    base = col.removeprefix("dft_")
    unit = SCALAR_COLUMNS.get(base, ("",))[0]
    return f"{col} ({unit})" if unit else col


def source_table() -> pd.DataFrame | None:
    """The table chosen in the source radio (catalogue, or the uploaded screen files)."""
    source = st.radio("Predictions", SOURCES, key="b_source", horizontal=True)
    if source == SOURCES[0]:
        st.caption("GMTNet predictions of every bundled crystal, computed once by `gmtnet screen` at build time "
                   "and shipped with the app; `dft_*` columns hold the same quantities of the DFT tensor.")
        return catalog_predictions()
    uploads = st.file_uploader("Parquet part files of a `gmtnet screen` output folder", type=["parquet"],
                               accept_multiple_files=True, key="b_upload")
    if not uploads:
        st.info("Upload one or more `part-*.parquet` files written by `python -m gmtnet screen`.")
        return None
    if sum(u.size for u in uploads) > MAX_UPLOAD_BYTES:
        st.error(f"The upload exceeds {MAX_UPLOAD_BYTES // 1_000_000} MB; filter the screen with pandas first.")
        return None
    try:
        return read_screen_files([u.getvalue() for u in uploads])
    except ValueError as err:
        st.error(f"Upload: {err}")
        return None


def filters(table: pd.DataFrame) -> pd.DataFrame | None:
    """Kind, crystal system, elements and range filters; returns the matching rows (or None on bad input)."""
    kinds = [k for k in KINDS if (table["kind"] == k).any()]
    if not kinds:
        st.warning("The table has no rows of a known tensor kind.")
        return None
    kind = st.radio("Tensor", kinds, key="b_kind", horizontal=True,
                    format_func=lambda k: f"{KINDS[k].symbol} {KINDS[k].title}")
    c1, c2, c3 = st.columns(3)
    systems = c1.multiselect("Crystal system", list(CRYSTAL_SYSTEMS), key="b_systems")
    elements = c2.text_input("Contains elements", key="b_elements", placeholder="Zn, O")
    with_errors = c3.checkbox("Show failed rows", key="b_errors", value=False)
    with_reference = c3.checkbox("Only crystals with a DFT reference", key="b_has_dft", value=False,
                                 disabled=not any(c.startswith("dft_") for c in table.columns))
    show_metals = False
    rows = table[table["kind"] == kind]
    if KINDS[kind].insulators_only:
        n_metals = int(rows[METAL_COLUMN].sum()) if METAL_COLUMN in rows.columns else 0
        show_metals = c3.checkbox(
            f"Show likely metals ({n_metals})", key="b_metals", value=False,
            help="ε₀, ε∞ and e are defined for insulators only: rows of crystals whose composition marks them as "
                 "likely metals (elemental metals, and compounds no combination of oxidation states balances) are "
                 f"hidden unless this is ticked; the `{METAL_COLUMN}` column marks them.")
    ranges = {}
    with st.expander("Ranges of the derived scalars"):
        for col in [c for c in scalar_columns_for(kind, rows) if c not in boolean_columns()]:
            span = column_range(rows, col)
            if span is None or span[0] == span[1]:
                continue
            # The span is part of the key: another kind or upload is a new slider, not a stale value.
            lo, hi = st.slider(_label(col), min_value=span[0], max_value=span[1], value=span,
                               key=f"b_range_{kind}_{col}_{span[0]:.6g}_{span[1]:.6g}", help=SCALAR_COLUMNS[col][1])
            if (lo, hi) != span:
                ranges[col] = (lo, hi)
        if "born_stable" in rows.columns and st.checkbox("Born-stable only", key="b_stable"):
            rows = rows[rows["born_stable"].fillna(False).astype(bool)]
    try:
        return filter_predictions(rows, kind, systems, elements, ranges, with_errors, with_reference,
                                  show_likely_metals=show_metals)
    except ValueError as err:
        st.error(f"Filter: {err}")
        return None


def table_and_open(view: pd.DataFrame, kind: str) -> None:
    """The sortable table (click a row), a scatter of two columns (click a point) and the open button."""
    st.caption(f"{len(view)} rows match. Click a column header to sort, a row or a point to pick a crystal.")
    event = st.dataframe(view, hide_index=True, height=320, on_select="rerun", selection_mode="single-row",
                         key="b_table", width="stretch")
    picked = [view.iloc[r]["id"] for r in (event.selection.rows if event is not None else [])]
    numeric = [c for c in view.columns if pd.api.types.is_numeric_dtype(view[c]) and view[c].notna().any()]
    if len(numeric) >= 2 and len(view):
        picked += scatter(view, numeric, kind)
    ids = view["id"].tolist()
    if not ids:
        return
    options = ids[:2000]
    # A click picks a crystal once; the selection persists across reruns, so apply it only when new.
    if picked and st.session_state.get("_b_last_pick") != picked[-1]:
        st.session_state["_b_last_pick"] = picked[-1]
        st.session_state["b_choice"] = picked[-1]
    current = st.session_state.get("b_choice")
    if current is not None and current not in options:
        if current in ids:
            options = [current, *options]
        else:
            del st.session_state["b_choice"]
    # A dict lookup per option, not a boolean mask over the table (2,000 options: seconds per rerun).
    # (Reversed: where an id repeats, the first row's formula wins, as before.)
    formulas = dict(zip(view["id"].iloc[::-1], view["formula"].astype(str).iloc[::-1]))
    chosen = st.selectbox("Crystal", options, key="b_choice", format_func=lambda i: f"{i}  {formulas.get(i, '')}")
    if st.button("Open on Explore", key="b_open", type="primary"):
        open_on_explore(chosen)


@st.cache_resource(show_spinner=False, max_entries=16)
def scatter_figure(key: str, x: str, y: str, color: str | None, _rows: pd.DataFrame):
    """The Browse scatter of ``_rows`` (identified by ``key``, a hash of its content), shared by
    every session; Streamlit only reads it (it serialises a copy)."""
    import plotly.express as px

    fig = px.scatter(_rows, x=x, y=y, color=color, hover_data=["id", "formula"], custom_data=["id"],
                     labels={x: _label(x), y: _label(y)})
    fig.update_layout(height=420, margin=dict(l=10, r=10, t=30, b=10))
    return fig


def scatter(view: pd.DataFrame, numeric: list[str], kind: str) -> list[str]:
    """Scatter of any two numeric columns, coloured by crystal system; returns the clicked ids."""
    scalars = [c for c in scalar_columns_for(kind, view) if c in numeric]
    default_x = f"dft_{scalars[0]}" if scalars and f"dft_{scalars[0]}" in numeric else numeric[0]
    default_y = scalars[0] if scalars else numeric[1]
    c1, c2 = st.columns(2)
    x = c1.selectbox("x", numeric, index=numeric.index(default_x), key="b_x", format_func=_label)
    y = c2.selectbox("y", numeric, index=numeric.index(default_y), key="b_y", format_func=_label)
    color = "crystal_system" if "crystal_system" in view else None
    used = view[[c for c in dict.fromkeys(["id", "formula", color, x, y]) if c is not None]]
    # The rows' content is the key: most reruns (a click in the table, the picker, the open button)
    # draw the same points again, and plotly express took ~50 ms per build (4 ms to hash).
    digest = hashlib.sha1(pd.util.hash_pandas_object(used, index=False).values.tobytes())
    digest.update(repr(list(used.columns)).encode())
    fig = scatter_figure(digest.hexdigest(), x, y, color, used)
    event = st.plotly_chart(fig, key="b_scatter", on_select="rerun", selection_mode="points")
    points = event.selection.points if event is not None and event.selection else []
    return [p["customdata"][0] for p in points[:1] if p.get("customdata")]


def open_on_explore(sid: str) -> None:
    """Make a bundled crystal current and go to Explore; screen rows of other crystals cannot be opened."""
    try:
        session.load_material(sid)
    except ValueError:
        st.error(f"{sid} is not a bundled crystal: open its structure file on Explore (Upload) instead.")
        return
    st.query_params["material_id"] = sid
    st.switch_page("pages/explore.py")


def deferred(encode, view: pd.DataFrame):
    """``encode(view)`` as a callable for ``st.download_button(data=...)``: Streamlit calls it only
    when the button is clicked."""
    return lambda: encode(view)


def downloads(view: pd.DataFrame) -> None:
    """CSV and Parquet of the shown rows, encoded only on a click: encoding them on every rerun (a
    filter, a kind, a click in the table) was ~0.25 s of server CPU of each ~0.3 s Browse rerun."""
    c1, c2 = st.columns(2)
    c1.download_button("Download CSV", deferred(to_csv_bytes, view), "gmtnet-browse.csv", "text/csv", key="b_csv")
    c2.download_button("Download Parquet", deferred(to_parquet_bytes, view), "gmtnet-browse.parquet",
                       "application/vnd.apache.parquet", key="b_parquet")
