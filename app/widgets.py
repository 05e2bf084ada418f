"""Reusable UI pieces: search, upload, structure, tensor, symmetry and surface panels.

Pages call these; the computations live in :mod:`gmtnet` and the table helpers in
:mod:`app.tables`.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd
import streamlit as st
from pymatgen.core import Structure

from app import service, session, tables
from app.failure import Failure
from app.text import plain
from gmtnet.catalog import CATALOG_COLUMNS
from gmtnet.data import CRYSTAL_SYSTEMS
from gmtnet import ionic
from gmtnet.io import FORMATS, MAX_FILE_BYTES, StructureError
from gmtnet.kinds import KINDS, TensorKind, get_kind
from gmtnet.symmetry import analyze_symmetry

#: Largest upload accepted, in bytes (the structure itself is limited to MAX_ATOMS sites).
MAX_UPLOAD_BYTES = MAX_FILE_BYTES
FRAME_NOTES = {
    "structure": "Frame: the Cartesian frame of the structure as loaded.",
    "ieee": "Frame: the IEEE 176 standard frame of this crystal (pymatgen's convention, as Materials "
    "Project and textbooks write tensors), rotated from the structure frame.",
}


def frame_label(frame: str) -> str:
    return "IEEE 176 frame" if frame == "ieee" else "structure frame"
_TABLE_COLUMNS = [
    "material_id", "formula", "spacegroup_symbol", "spacegroup_number", "crystal_system", "nsites",
    *(c for c in CATALOG_COLUMNS if c.startswith("has_")), "flags",
]


# --------------------------------------------------------------------------- failures


def show_failure(failure: Failure, context: str = "", consequence: str = "") -> None:
    """Show ``failure`` as an error box: ``"<context>: <message> — <consequence>"``.

    ``context`` (what failed, e.g. ``"No prediction"`` or a file name) and the message are user
    or library text, shown literally (:func:`app.text.plain`); ``consequence`` is the app's own
    text (e.g. ``"the previous crystal is kept."``)."""
    text = plain(failure.message)
    if context:
        text = f"{plain(context)}: {text}"
    if consequence:
        text = f"{text} — {consequence}"
    st.error(text)


# --------------------------------------------------------------------------- cached figures


def _digest(*arrays) -> str:
    h = hashlib.sha1()
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype=float).tobytes())
    return h.hexdigest()


@st.cache_resource(show_spinner=False, max_entries=128)
def _figure(builder: str, key: str, _args: tuple, _kwargs: dict):
    """A plotly figure from :mod:`gmtnet.plots`, built once per distinct input (``key``): rebuilding
    the 3D surfaces on every rerun was most of the time of a tensor switch."""
    from gmtnet import plots

    return getattr(plots, builder)(*_args, **_kwargs)


def figure(builder: str, arrays: list, *args, **kwargs):
    """``plots.<builder>(*args, **kwargs)``, cached on the bytes of ``arrays`` and the other arguments."""
    def plain(x) -> bool:  # arrays (and lists of them) are keyed by ``arrays``' bytes instead
        return not isinstance(x, np.ndarray) and not (
            isinstance(x, (list, tuple)) and any(isinstance(v, np.ndarray) for v in x))

    key = _digest(*arrays) + repr([a for a in args if plain(a)]) + repr(sorted((k, v) for k, v in kwargs.items() if plain(v)))
    return _figure(builder, f"{builder}|{key}", args, kwargs)


# --------------------------------------------------------------------------- finding a crystal


#: The search filters. Streamlit drops the value of a widget that a run does not draw, so they are
#: handed back while the search is closed. The picker and the table selection are not: reopening the
#: search must not load their crystal again over one opened since.
SEARCH_FILTER_KEYS = ("q_formula", "q_id", "q_elements", "q_mode", "q_sg", "q_system", "q_has")


def search_expander(expanded: bool) -> None:
    """"Find a bundled crystal", with :func:`search_panel` built only while the expander is open.

    A closed expander's content would still run on every page: filtering and serialising the
    3,893-row table cost ~0.04 s of server CPU per page opened by link (where the search is closed),
    a fifth of such a page (``benchmarks/app_profile.py --links``). Opening it reruns the page."""
    for k in SEARCH_FILTER_KEYS:
        if k in st.session_state:
            st.session_state[k] = st.session_state[k]
    box = st.expander("Find a bundled crystal", expanded=expanded, key="x_search_open", on_change="rerun")
    if box.open:
        with box:
            search_panel()


def search_panel() -> None:
    """Search filters, the sortable result table (click a row to load it) and a picker."""
    cat = service.get_catalog()
    c1, c2, c3 = st.columns(3)
    formula = c1.text_input("Formula", key="q_formula", placeholder="ZnO")
    material_id = c1.text_input("Material id", key="q_id", placeholder="mp-2133")
    elements = c2.text_input("Elements", key="q_elements", placeholder="Zn, O")
    mode = c2.radio("Elements mode", ["contains", "only"], key="q_mode", horizontal=True,
                    help="contains: at least these elements; only: no other elements")
    spacegroup = c3.text_input("Space group (number or symbol)", key="q_sg", placeholder="186 or P6_3mc")
    system = c3.selectbox("Crystal system", ["any", *CRYSTAL_SYSTEMS], key="q_system")
    has = st.multiselect("Has DFT reference for", [c[4:] for c in CATALOG_COLUMNS if c.startswith("has_")], key="q_has")
    from gmtnet.catalog import search

    try:
        hits = search(
            cat, formula=formula, elements=elements, elements_mode=mode, material_id=material_id,
            spacegroup=spacegroup or None, crystal_system=None if system == "any" else system, has=has,
        )
    except ValueError as err:
        st.error(f"Search: {plain(err)}")
        return
    st.caption(f"{len(hits)} of {len(cat)} bundled crystals match. Click a row to load it (columns sort).")
    view = hits[_TABLE_COLUMNS].reset_index(drop=True)
    view["flags"] = view["flags"].map(", ".join)
    event = st.dataframe(
        view, hide_index=True, height=260, on_select="rerun", selection_mode="single-row",
        key="catalog_table", width="stretch",
    )
    rows = event.selection.rows if event is not None else []
    if rows:
        _select(view.iloc[rows[0]]["material_id"])
    ids = view["material_id"].tolist()[:500]
    if ids:
        # One dict lookup per option: a boolean mask over the catalogue per option took ~1 ms each,
        # 0.5 s on every rerun of the page for 500 options.
        formulas = dict(zip(view["material_id"], view["formula"]))
        pick = st.selectbox("…or pick from the matches", ["—", *ids], key="q_pick",
                            format_func=lambda m: m if m == "—" else f"{m}  {formulas.get(m, '')}")
        if pick != "—":
            _select(pick)


def load_from_query() -> None:
    """Load the crystal named by the URL's ``?material_id=mp-…`` once (shareable links)."""
    mid = st.query_params.get("material_id")
    if mid and st.session_state.get("_query_mid") != mid:
        st.session_state["_query_mid"] = mid
        try:
            if not re.fullmatch(r"[a-z]{1,10}-[0-9]{1,12}", mid):
                raise ValueError(f"{mid[:100]!r} is not a material id (expected e.g. mp-2133)")
            session.load_material(mid)
        except ValueError as err:
            st.error(f"URL: {plain(err)}")


def _select(material_id: str) -> None:
    # Load only when the choice changes, so that an upload afterwards is not overwritten.
    if st.session_state.get("_last_pick") != material_id:
        st.session_state["_last_pick"] = material_id
        session.load_material(material_id)


def ingest(data: bytes, name: str, fmt: str | None, label: str) -> Failure | None:
    """Read an untrusted structure file in a worker process with a time and memory budget
    (:func:`gmtnet.sandbox.read_isolated`); on success make it current, else keep the previous
    crystal. Returns why it was refused, or None."""
    from gmtnet.sandbox import read_isolated

    try:
        with st.spinner("Reading the structure…"):
            s = read_isolated(data, name, fmt)
    except StructureError as err:
        return Failure.from_exception(err)
    session.set_current(session.Crystal(structure=s, label=label))
    return None


def upload_panel() -> None:
    """Upload box (CIF, POSCAR/CONTCAR, extended XYZ, pymatgen JSON) and a paste box."""
    fmts = ["auto (from the file name)", *FORMATS]
    up = st.file_uploader(
        "Upload a structure: CIF, POSCAR/CONTCAR (.vasp), extended XYZ with Lattice=\"…\", pymatgen JSON",
        key="upload", help=f"At most {MAX_UPLOAD_BYTES // 1000} kB and 500 atoms; ordered, periodic structures.",
    )
    fmt_choice = st.selectbox("Format", fmts, key="upload_fmt")
    if up is not None:
        data = up.getvalue()
        # The name and the upload's own id are part of the key: the same bytes uploaded again
        # (under another name, or after another crystal was picked) load again.
        digest = f"{getattr(up, 'file_id', '')}|{up.name}|{hashlib.sha256(data).hexdigest()}|{fmt_choice}"
        if st.session_state.get("_upload_digest") != digest:
            st.session_state["_upload_digest"] = digest
            st.session_state["_upload_error"] = _ingest_bytes(up.name, data, fmt_choice)
        if isinstance(failure := st.session_state.get("_upload_error"), Failure):
            show_failure(failure, up.name, "the previous crystal is kept.")
    with st.expander("…or paste a structure"):
        text = st.text_area("Structure text", key="paste_text", height=150)
        pfmt = st.selectbox("Format of the pasted text", list(FORMATS), key="paste_fmt")
        if st.button("Load pasted structure", key="paste_load"):
            data = text.encode()
            if len(data) > MAX_UPLOAD_BYTES:
                failure = _too_large(f"the text is {len(data)} bytes")
            else:
                failure = ingest(data, "pasted", pfmt, "pasted structure")
            st.session_state["_paste_error"] = failure
        if isinstance(failure := st.session_state.get("_paste_error"), Failure):
            show_failure(failure, "Could not load the pasted structure", "the previous crystal is kept.")


def _too_large(what: str) -> Failure:
    """An upload or pasted text over :data:`MAX_UPLOAD_BYTES`, refused before it is parsed."""
    return Failure(f"{what}; the limit is {MAX_UPLOAD_BYTES}", "StructureError")


def _ingest_bytes(name: str, data: bytes, fmt_choice: str) -> Failure | None:
    if len(data) > MAX_UPLOAD_BYTES:  # refused here, before the bytes go to a worker process
        return _too_large(f"the file is {len(data)} bytes")
    return ingest(data, name, None if fmt_choice.startswith("auto") else fmt_choice, name)


# --------------------------------------------------------------------------- structure


def structure_panel(structure: Structure, key: str = "main", material_id: str | None = None) -> None:
    """3D view with display options beside the structure facts (and the source's band gap)."""
    left, right = st.columns([3, 2])
    with left:
        o1, o2, o3 = st.columns(3)
        cell = o1.radio("Cell", ["as loaded", "conventional", "primitive"], key=f"{key}_cell")
        reps = o2.number_input("Repeats (a = b = c)", 1, 3, 1, key=f"{key}_reps")
        labels = o3.checkbox("Labels", key=f"{key}_labels")
        structure_view(structure, cell=cell, repeats=int(reps), labels=labels)
        if cell != "as loaded":
            st.caption(f"The {cell} cell is drawn in spglib's standard orientation; tensors stay in the frame "
                       "of the structure as loaded.")
    with right:
        structure_facts(structure)
        if material_id:
            source_facts(material_id)


def source_facts(material_id: str) -> None:
    """What the data source (Materials Project) reports beside the tensors: band gap, n."""
    from gmtnet.catalog import source_properties

    props = source_properties(material_id)
    if props:
        st.dataframe(pd.DataFrame([props]), hide_index=True)
        st.caption("From the Materials Project source data (DFT, PBE), not predicted.")


#: Most atoms drawn in the 3D view (supercell repeats beyond it are refused).
MAX_VIEW_ATOMS = 2000


def structure_view(structure: Structure, cell: str = "as loaded", repeats: int = 1, labels: bool = False) -> None:
    """Interactive 3D view (3Dmol.js inlined by :mod:`gmtnet.viewer`: no network access)."""
    try:
        shown = display_cell(structure, cell, session.symprec())
    except Exception as err:  # spglib can fail on odd edits: draw the cell as loaded instead
        st.warning(f"Could not build the {cell} cell ({plain(err)}); showing the cell as loaded.")
        shown = structure
    if len(shown) * repeats**3 > MAX_VIEW_ATOMS:
        st.warning(f"{repeats}x{repeats}x{repeats} repeats would draw {len(shown) * repeats**3} atoms; "
                   f"showing one cell (limit {MAX_VIEW_ATOMS}).")
        repeats = 1
    try:
        html = _view_html(service.structure_key(shown), repeats, labels, shown)
    except ValueError as err:  # e.g. a disordered structure: the viewer draws one species per site
        show_failure(Failure.from_exception(err), "No 3D view")
        return
    st.iframe(html, height=440)


@st.cache_resource(show_spinner=False, max_entries=32)
def _view_html(key: str, repeats: int, labels: bool, _structure: Structure) -> str:
    from gmtnet.viewer import structure_view_html

    return structure_view_html(_structure, supercell=(repeats,) * 3, labels=labels, width=640, height=420)


def display_cell(structure: Structure, cell: str, symprec: float) -> Structure:
    """The structure as loaded, or its standard conventional / primitive cell (display only:
    these are in spglib's standard orientation, not the prediction frame)."""
    if cell == "as loaded":
        return structure
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    sga = SpacegroupAnalyzer(structure, symprec=symprec)
    return sga.get_conventional_standard_structure() if cell == "conventional" else sga.get_primitive_standard_structure()


def structure_facts(structure: Structure) -> None:
    tol = session.symprec()
    st.markdown(f"**{structure.composition.reduced_formula}** — {len(structure)} sites, "
                f"{structure.composition.formula}")
    # One quantity per row: a narrow column never cuts a table off.
    st.dataframe(tables.lattice_table(structure).T.rename(columns={0: "value"}), width="stretch")
    try:
        sym = analyze_symmetry(structure, symprec=tol)
    except ValueError as err:
        st.warning(f"Symmetry detection failed: {plain(err)}")
        return
    st.dataframe(
        pd.DataFrame(
            {
                "space group": [f"{sym.spacegroup_symbol} (No. {sym.spacegroup_number})"],
                "point group": [sym.point_group],
                "crystal system": [sym.crystal_system],
                "symprec (Å)": [f"{tol:g}"],
            }
        ).T.rename(columns={0: "value"}),
        width="stretch",
    )
    st.caption("Detection tolerance: the symprec slider in the sidebar.")


# --------------------------------------------------------------------------- tensors


def reference_in_frame(material_id: str | None, kind: str, rot: np.ndarray, shown: Structure) -> dict | None:
    """The DFT reference of an unedited bundled crystal in the shown frame (rotation ``rot`` from
    the structure frame), or None; says so when its cell could not be mapped onto the shown one."""
    if not material_id:
        return None
    ref = service.reference(material_id, kind)
    if ref is None:
        return None
    if ref["tensor"] is None:
        st.warning(f"DFT reference not compared: it was {ref['mapping']}.")
        return None
    # Whether the tensor left the frame its source stored (and rounded) it in: the rounding
    # tolerance of the symmetry check depends on it (gmtnet.rounding).
    moved = ref["rotation"] is not None and not np.array_equal(ref["rotation"], np.eye(3))
    if np.array_equal(rot, np.eye(3)):
        return {**ref, "rotated": moved}
    from gmtnet.tensors import rotate

    return {**ref, "tensor": rotate(ref["tensor"], rot), "structure": shown, "rotated": True}



def tensor_panel(kind: str, pred, reference: dict | None, structure: Structure, key: str = "main",
                 frame: str = "structure", extra: dict | None = None) -> None:
    """Voigt matrix, allowed form, derived quantities, surfaces and the DFT comparison for one kind,
    all in ``frame`` (``structure`` is the crystal in that frame; ``extra`` other predictions of the
    same crystal, in the same frame, for quantities that need two tensors such as d = e·S)."""
    k = get_kind(kind)
    st.markdown(f"**{k.title}** ({k.symbol}) — unit: {k.unit_label}. {tables.VOIGT_ORDER_NOTE}.")
    if isinstance(pred, Failure):
        show_failure(pred, "No prediction")
        return
    c = pred.constraints
    st.caption(
        f"Point group {pred.symmetry.point_group} ({pred.symmetry.crystal_system}), "
        f"{c.n_independent} independent components. {FRAME_NOTES[frame]}"
    )
    uncertainty_summary(pred)
    if k.per_atom:
        per_site_panel(pred, structure, frame)
        return
    # "value ± σ" cells are twice as wide: six of them do not fit in half the page, so a 6-column
    # prediction with σ goes above its reference instead of beside it.
    side_by_side = reference is not None and (pred.std is None or k.voigt_shape[1] == 3)
    cols = st.columns(2) if side_by_side else [st.container(), st.container()]
    with cols[0]:
        if pred.std is None:
            st.markdown(f"Predicted {k.symbol} ({k.unit_label}, {frame_label(frame)})")
            st.dataframe(tables.voigt_table(pred.voigt, k).style.format("{:.4g}"), width="stretch")
        else:
            st.markdown(f"Predicted {k.symbol} ± 1σ ({k.unit_label}, {frame_label(frame)})")
            st.dataframe(tables.voigt_table_with_std(pred.voigt, pred.std_voigt, k), width="stretch")
    if reference is not None:
        with cols[1]:
            st.markdown(f"DFT reference {k.symbol} ({k.unit_label}, {frame_label(frame)})")
            st.dataframe(tables.voigt_table(k.to_voigt(reference["tensor"], "ieee"), k).style.format("{:.4g}"),
                         width="stretch")
            if reference.get("sign_note"):
                st.caption(reference["sign_note"])
    st.markdown("Symmetry-allowed form (`0` forbidden, `= X` forced equal to X; other linear relations, "
                "e.g. C66 = (C11 − C12)/2 in hexagonal crystals, are in the projector but not marked)")
    st.dataframe(tables.allowed_form(c), width="stretch")
    _heatmap(pred, key, frame)
    derived_panel(kind, pred, reference, structure, frame, key=key)
    partners = {name: p.tensor for name, p in (extra or {}).items()
                if name in k.scalar_partners and not isinstance(p, Failure)}
    if partners:
        paired_tensors_panel(pred, partners, frame)


def per_site_panel(pred, structure: Structure, frame: str = "structure") -> None:
    """A per-atom kind: one row per site with its Wyckoff letter, site-symmetry group, the atom it
    is equivalent to, and the tensor's components (row-major, kind's unit, ``frame``)."""
    from gmtnet.models.per_atom import AtomTensors

    k = pred.kind
    elements = tuple(sp.symbol for sp in structure.species)
    rows = pd.DataFrame(AtomTensors(pred.tensor, pred.sites, elements).rows())
    # the kind's scalars of each site's tensor (e.g. tr/3 and anisotropy), as extra columns
    for c in k.site_scalar_columns:
        rows[f"{c.name} ({c.unit or 'dimensionless'})"] = [x[c.name] for x in k.site_scalars(pred.tensor)]
    st.markdown(f"Predicted {k.symbol} per site ({k.unit_label}, {frame_label(frame)}); each site's tensor obeys "
                "its site-symmetry group, and equivalent sites carry rotated copies")
    st.dataframe(rows, hide_index=True)


def uncertainty_summary(pred) -> None:
    """The prediction's scalar uncertainty and its out-of-domain / high-uncertainty warnings."""
    k = pred.kind
    if pred.uncertainty is not None:
        st.metric(f"Uncertainty, 1σ ({k.unit_label})", f"{pred.uncertainty:.3g}",
                  help=f"Frobenius norm of the calibrated per-component standard deviation of the "
                  f"{len(pred.members)}-network ensemble, in the paper's form: its estimate of the Fnorm error. "
                  "Calibrated on crystals the networks were not fitted to (about 68 % of DFT components fall "
                  "within ±1σ there; the model card says which).")
    for w in pred.warnings:
        st.warning(plain(w), icon="⚠️")


def _heatmap(pred, key, frame: str = "structure") -> None:
    c = pred.constraints
    zero = c.voigt_zero_mask("ieee")
    fig = figure(
        "voigt_heatmap", [pred.voigt, zero], pred.voigt, pred.kind.name, zero_mask=zero,
        equalities=c.voigt_equalities("ieee"),
        title=f"Predicted {pred.kind.symbol} ({pred.kind.unit_label}, {frame_label(frame)}), IEEE Voigt order; "
        "× forbidden, = forced equal",
    )
    st.plotly_chart(fig, key=f"{key}_hm_{pred.kind.name}")


@st.cache_data(show_spinner=False, max_entries=128)
def _derived_rows(tensor_bytes: bytes, kind: str, key: str, extrema: bool, _tensor: np.ndarray,
                  _structure: Structure) -> pd.DataFrame:
    from gmtnet.properties import derived_properties, properties_table

    return pd.DataFrame(properties_table(derived_properties(_tensor, kind, _structure, extrema=extrema)))


def derived_rows(tensor: np.ndarray, kind: str, structure: Structure, extrema: bool = True) -> pd.DataFrame:
    """Derived quantities of a tensor as table rows, cached on the tensor's bytes (the elastic
    extrema take a few hundred ms; ``extrema=False`` leaves them out)."""
    t = np.ascontiguousarray(tensor, dtype=float)
    return _derived_rows(t.tobytes(), kind, service.structure_key(structure), extrema, t, structure)


#: The switch that adds the elastic directional extrema to the derived quantities.
EXTREMA_LABEL = "Directional extrema (E, β, G, ν min/max and their directions)"


def derived_panel(kind: str, pred, reference: dict | None, structure: Structure, frame: str = "structure",
                  key: str = "main") -> None:
    """Derived quantities of the prediction (and the DFT reference) in ``frame``.

    The elastic directional extrema are computed only when switched on: their search over
    directions (scipy BFGS, 0.2-0.5 s per tensor, twice per crystal with a DFT reference) was about
    60 % of the server's CPU per page of an elastic crystal (``benchmarks/app_profile.py --links``).
    The switch is kept across tensors and crystals (one key)."""
    extrema = False
    if pred.kind.costly_extrema:
        # Streamlit drops a widget's value in runs that do not draw it (another tensor shown): the
        # choice is kept under a plain key and given back to the switch.
        pref = f"_{key}_extrema_on"
        if f"{key}_extrema" not in st.session_state:
            st.session_state[f"{key}_extrema"] = st.session_state.get(pref, False)
        extrema = st.toggle(EXTREMA_LABEL, key=f"{key}_extrema",
                            help="A search over all directions, about 0.5 s per crystal: computed only while this is on.")
        st.session_state[pref] = extrema
    rows = derived_rows(pred.tensor, kind, structure, extrema).copy()
    if reference is not None:
        ref_rows = derived_rows(np.asarray(reference["tensor"]), kind, reference["structure"], extrema)
        rows.insert(2, "DFT", ref_rows["value"].values if len(ref_rows) == len(rows) else "")
    st.markdown(f"Derived quantities (directions: unit vectors in the {frame_label(frame)})")
    st.dataframe(rows, hide_index=True)


def paired_tensors_panel(pred, partners: dict, frame: str) -> None:
    """Tensors the kind derives from its prediction and the same crystal's predicted partners
    (:meth:`gmtnet.kinds.TensorKind.paired_tensors`; e: d = e·S in pC/N from the predicted C)."""
    for title, (voigt, unit, note) in pred.kind.paired_tensors(pred.tensor, partners).items():
        st.markdown(f"{title} ({unit}, {frame_label(frame)}), {note}")
        if not np.isfinite(voigt).all():
            st.warning("A partner tensor is singular or not positive definite (for d: S = C⁻¹ does not exist), "
                       "so this tensor is undefined.")
            continue
        st.dataframe(tables.voigt_table(voigt, pred.kind).style.format("{:.4g}"))


def symmetry_panel(kind: str, pred, reference: dict | None, key: str = "main", frame: str = "structure") -> None:
    """Zero and equality checks, residuals, and the error against DFT, both in ``frame``."""
    if isinstance(pred, Failure):  # tensor_panel has shown it
        return
    k = pred.kind
    c = pred.constraints
    if k.per_atom:  # checked site by site when predicted (the report); no DFT reference is bundled
        s = pred.symmetry
        chk = {"zero_ok": s.zero_ok, "equality_ok": s.equality_ok, "max_forbidden": s.max_forbidden,
               "max_equality_violation": s.max_equality_violation,
               "residual": float(np.linalg.norm(pred.tensor - pred.sites.project(pred.tensor)) / max(np.linalg.norm(pred.tensor), 1e-300))}
        st.dataframe(pd.DataFrame([_check_row("prediction (each site against its site symmetry)", chk, k.unit_label)]),
                     hide_index=True)
        return
    if reference is None:
        chk = {**c.check(pred.tensor), "residual": c.residual(pred.tensor)}
        st.dataframe(pd.DataFrame([_check_row("prediction", chk, k.unit_label)]), hide_index=True)
        st.caption("No DFT reference for this crystal (not bundled, or edited).")
        return
    from gmtnet.rounding import reference_verdicts

    cmp = tables.comparison(pred.tensor, np.asarray(reference["tensor"]), k, c)
    verdicts = reference_verdicts(c, np.asarray(reference["tensor"]), reference.get("rounding_step"),
                                  reference.get("rotated", True))
    st.dataframe(
        pd.DataFrame([_check_row("prediction", cmp["prediction"], k.unit_label),
                      _check_row("DFT reference", cmp["dft"], k.unit_label, verdicts)]),
        hide_index=True,
    )
    rounded = verdicts["rounding"]
    if rounded is not None and "within" in verdicts["zero"] + verdicts["equality"]:
        st.caption(
            f"The DFT reference passes within the source's rounding of {rounded['step']:g} {k.unit}: its source stored "
            f"the values to {rounded['step']:g} {k.unit}, so each may be off by half that; "
            + ("after its rotation into this frame a component may be off by up to "
               if reference.get("rotated", True) else "a forbidden component may thus be up to ")
            + f"{rounded['zero_tol']:.3g} and a forced pair differ by up to {rounded['equality_tol']:.3g} {k.unit}."
        )
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(f"Frobenius error ({k.unit_label})", f"{cmp['frobenius']:.4g}")
    m2.metric(f"Predicted uncertainty ({k.unit_label})", "–" if pred.uncertainty is None else f"{pred.uncertainty:.3g}",
              help="The ensemble's own estimate of the Frobenius error (1σ), made without the DFT value.")
    m3.metric("Relative error", f"{100 * cmp['relative']:.1f} %")
    m4.metric("Stored DFT symmetry residual", f"{reference['symmetry_residual']:.2e}")
    if reference["flags"]:
        st.warning(f"Data flags for this material: {', '.join(reference['flags'])}")
    st.caption(
        "Checks against the point group detected at the current symprec: forbidden components ≤ 1e-5 "
        "and forced pairs within 1e-4 (absolute, kind's units); residual = ‖T − PT‖/‖T‖. "
        f"Both tensors are in the same frame, the {frame_label(frame)} of the structure shown. "
        f"DFT reference: {reference.get('mapping', 'computed on this same cell')}."
    )
    from gmtnet.tensors import to_voigt

    ref_v = to_voigt(reference["tensor"], kind, "ieee")
    st.plotly_chart(figure("difference_heatmap", [pred.voigt, ref_v], pred.voigt, ref_v, kind), key=f"{key}_diff_{kind}")


def _check_row(name: str, chk: dict, unit: str, verdicts: dict | None = None) -> dict:
    v = verdicts or {"zero": "pass" if chk["zero_ok"] else "fail", "equality": "pass" if chk["equality_ok"] else "fail"}
    return {
        "tensor": name,
        "zero check": v["zero"],
        f"max forbidden ({unit})": f"{chk['max_forbidden']:.2e}",
        "equality check": v["equality"],
        f"max equality violation ({unit})": f"{chk['max_equality_violation']:.2e}",
        "symmetry residual": f"{chk['residual']:.2e}",
    }


#: Tabs of the surfaces panel: polar cuts (open by default) and the 3D surface.
SURFACE_TABS = ("Polar cuts (xy, xz, yz planes)", "3D surface")


def surfaces_panel(kind: str, pred, reference: dict | None, key: str = "main", frame: str = "structure") -> None:
    """Polar cuts (xy, xz, yz) and the 3D directional surface in two tabs, prediction and DFT on one
    colour scale; only the open tab is built."""
    if isinstance(pred, Failure):  # tensor_panel has shown it
        return
    from gmtnet.surfaces import quantities_for

    quantities = quantities_for(kind)
    if not quantities:
        st.caption(f"{pred.kind.symbol} has no directional quantity to draw.")
        return
    q = quantities[0]
    if len(quantities) > 1:
        q = st.radio("Quantity", quantities, format_func=lambda x: f"{x.label} ({x.unit or 'dimensionless'})",
                     horizontal=True, key=f"{key}_q_{kind}")
    tensor, member_tensors, titles = pred.tensor, pred.members, ["prediction"]
    if pred.kind.per_atom:  # drawn one site at a time
        sites = pred.sites
        site = st.selectbox("Site", range(len(pred.tensor)), key=f"{key}_site_{kind}",
                            format_func=lambda i: f"site {i} (Wyckoff {sites.wyckoffs[i]}, site symmetry {sites.site_symmetry_symbols[i]})")
        tensor = pred.tensor[site]
        member_tensors = None if pred.members is None else pred.members[:, site]
        titles = [f"prediction, site {site}"]
    tensors = [tensor]
    if reference is not None:
        tensors.append(np.asarray(reference["tensor"]))
        titles.append("DFT reference")
    members = [member_tensors] + [None] * (len(tensors) - 1)
    keyed = tensors + ([member_tensors] if member_tensors is not None else [])
    band = (f" The shaded band on the polar cuts is the prediction ±1σ (calibrated spread of the "
            f"{len(pred.members)}-network ensemble along each direction)." if pred.members is not None else "")
    # Only the open tab is built and drawn: each 3D scene is a WebGL context that takes the browser
    # 1.5-2.5 s to set up without a GPU (most of a tensor switch), the polar cuts ~0.1 s. The choice
    # is kept across tensors and crystals (one key).
    polar_tab, surface_tab = st.tabs(list(SURFACE_TABS), key=f"{key}_surface_tab", on_change="rerun")
    if polar_tab.open:
        with polar_tab:
            st.plotly_chart(figure("polar_figure", keyed, tensors, kind, q.name, names=titles, members=members,
                                   std_scale=pred.std_scale), key=f"{key}_polar_{kind}")
    if surface_tab.open:
        with surface_tab:
            st.plotly_chart(figure("surface_figure", tensors, tensors, kind, q.name, titles=titles),
                            key=f"{key}_surf_{kind}")
    st.caption(f"Axes x, y, z: the {frame_label(frame)}. " + ("Prediction and DFT share one colour scale."
               if reference is not None else "No DFT reference for this crystal.") + band)


# --------------------------------------------------------------------------- what-if


def edit_controls(structure: Structure) -> tuple[str, Structure] | Failure | None:
    """Controls for one edit; returns ``(description, edited structure)`` when applied, why the
    edit was refused, or None when nothing was applied."""
    from gmtnet import edit

    op = st.radio("Edit", ["strain", "substitute", "displace", "rattle", "supercell"], horizontal=True, key="w_op")
    c1, c2, c3 = st.columns(3)
    try:
        if op == "strain":
            mode = c1.selectbox("Mode", list(edit.STRAIN_MODES), key="w_mode")
            pct = c2.number_input("Strain (%)", -edit.MAX_STRAIN_PERCENT, edit.MAX_STRAIN_PERCENT, 2.0, 0.5, key="w_pct")
            axis = plane = None
            if mode == "uniaxial":
                axis = c3.selectbox("Axis (structure frame)", list(edit.AXES), index=2, key="w_axis")
            elif mode in ("biaxial", "shear"):
                plane = c3.selectbox("Plane (structure frame)", list(edit.PLANES), key="w_plane")
            st.caption("Small strain ε in the structure's Cartesian frame; lattice vectors a' = (I + ε) a, "
                       "fractional coordinates kept (no relaxation); shear is engineering shear γ = 2ε_ij.")
            if st.button("Apply", key="w_apply"):
                where = f" along {axis}" if axis else (f" in {plane}" if plane else "")
                return (f"{mode} strain {pct:+g} %{where}",
                        edit.strain(structure, mode, pct, axis=axis or "x", plane=plane or "xy"))
        elif op == "substitute":
            old = c1.selectbox("Replace", sorted(structure.symbol_set), key="w_old")
            # The default follows the chosen element (same group of the periodic table): a new
            # default whenever "Replace" changes, the user's own entry otherwise.
            if st.session_state.get("_w_old_for_default") != old:
                st.session_state["_w_old_for_default"] = old
                st.session_state["w_new"] = edit.suggested_substitute(old)
            new = c2.text_input("by element", key="w_new",
                                help="Default: the neighbour of the replaced element in its group").strip()
            if st.button("Apply", key="w_apply"):
                edited = edit.substitute(structure, old, new)
                for w in edit.substitution_warnings(structure, old, new):
                    st.warning(w)
                return f"{old} → {new}", edited
        elif op == "displace":
            site = c1.number_input("Site index", 0, len(structure) - 1, 0, key="w_site")
            vec = [c2.number_input(f"Δ{a} (Å)", -1.0, 1.0, 0.1 if a == "z" else 0.0, 0.05, key=f"w_d{a}") for a in "xyz"]
            if st.button("Apply", key="w_apply"):
                return f"site {site} displaced by {vec} Å", edit.displace(structure, int(site), vec)
        elif op == "rattle":
            amp = c1.number_input("Amplitude (Å)", 0.0, 1.0, 0.05, 0.01, key="w_amp")
            seed = c2.number_input("Seed", 0, 10_000, 0, key="w_seed")
            if st.button("Apply", key="w_apply"):
                return f"rattled ±{amp:g} Å (seed {seed})", edit.rattle(structure, amp, int(seed))
        else:
            reps = [int(c.number_input(f"n{a}", 1, 4, 1, key=f"w_n{a}")) for c, a in zip((c1, c2, c3), "abc")]
            if st.button("Apply", key="w_apply"):
                return f"supercell {reps}", edit.make_supercell(structure, reps)
    except ValueError as err:
        return Failure.from_exception(err)
    return None


def before_after_panel(before: Structure, after: Structure, pred_before: dict, pred_after: dict,
                       edited: bool = True) -> None:
    """Symmetry before/after and, per kind, the components that became allowed or independent
    (``edited``: whether any edit was applied; without one there is no change to state)."""
    from gmtnet.edit import change_statement, newly_allowed, released_equalities

    rows = []
    for name, s in (("before", before), ("after", after)):
        try:
            sym = analyze_symmetry(s, symprec=session.symprec())
            rows.append({"": name, "formula": s.composition.reduced_formula, "sites": len(s),
                         "space group": f"{sym.spacegroup_symbol} ({sym.spacegroup_number})",
                         "point group": sym.point_group, "crystal system": sym.crystal_system})
        except ValueError as err:
            rows.append({"": name, "formula": s.composition.reduced_formula, "sites": len(s), "space group": str(err)})
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    for tab, kind in zip(st.tabs([f"{KINDS[k].symbol} {k}" for k in KINDS]), KINDS):
        with tab:
            pb, pa = pred_before[kind], pred_after[kind]
            failed = next((p for p in (pb, pa) if isinstance(p, Failure)), None)
            if failed is not None:
                show_failure(failed)
                continue
            if pb.kind.per_atom:  # one tensor per site: the site tables side by side
                c1, c2 = st.columns(2)
                with c1:
                    per_site_panel(pb, before)
                with c2:
                    per_site_panel(pa, after)
                continue
            new = newly_allowed(pb.constraints, pa.constraints)
            freed = released_equalities(pb.constraints, pa.constraints)
            k = pb.kind
            freed_text = ", ".join(f"{a} = {'−' if sign < 0 else ''}{b}" for a, b, sign in freed) or "none"
            st.markdown(
                f"Independent components: **{pb.constraints.n_independent} → {pa.constraints.n_independent}**. "
                f"Newly allowed: **{', '.join(new) if new else 'none'}**. "
                f"Equalities released: **{freed_text}**."
            )
            if not edited:
                st.markdown(change_statement(0.0, 0.0, k.unit_label, edited=False))
            elif pb.members is not None and pa.members is not None and len(pb.members) == len(pa.members):
                from gmtnet.models.ensemble import change_uncertainty

                size, sigma = change_uncertainty(pb.members, pa.members, k, pa.std_scale)
                st.markdown(change_statement(
                    size, sigma, k.unit_label, detail=f"1σ from the ensemble's paired members; uncertainty of each "
                    f"tensor alone: {pb.uncertainty:.3g} before, {pa.uncertainty:.3g} after"))
            for w in pa.warnings:
                st.warning(f"Edited structure: {plain(w)}", icon="⚠️")
            c1, c2 = st.columns(2)
            c1.markdown(f"Before ({k.unit_label}, structure frame; {tables.VOIGT_ORDER_NOTE})")
            c1.dataframe(tables.voigt_table(pb.voigt, k).style.format("{:.4g}"))
            c2.markdown(f"After ({k.unit_label}, structure frame); newly allowed components highlighted")
            c2.dataframe(_highlight(tables.voigt_table(pa.voigt, k), k, new).format("{:.4g}"))
            c1.dataframe(tables.allowed_form(pb.constraints))
            c2.dataframe(tables.allowed_form(pa.constraints))


def _highlight(frame: pd.DataFrame, k: TensorKind, names: list[str]):
    labels = k.voigt_labels("ieee")
    sym = k.voigt_symmetric
    mark = np.isin(labels, names) | (np.isin(labels.T, names) if sym else False)
    styles = np.where(mark, "background-color: #ffd54f; font-weight: bold", "")
    return frame.style.apply(lambda _: pd.DataFrame(styles, index=frame.index, columns=frame.columns), axis=None)


def downloads(structure: Structure, predictions: dict, label: str, key: str) -> None:
    """Download buttons: the structure as CIF, the tensors as JSON and CSV."""
    from pymatgen.io.cif import CifWriter

    stem = "".join(ch if ch.isalnum() else "_" for ch in label)[:60] or "crystal"
    c1, c2, c3, c4 = st.columns(4)
    # P1 with every atom listed: the edited cell's detected symmetry is not imposed on a reader.
    c1.download_button("Structure (CIF, P1)", str(CifWriter(structure, symprec=None)), f"{stem}.cif", "chemical/x-cif",
                       key=f"{key}_cif")
    c2.download_button("Structure (POSCAR)", structure.to(fmt="poscar"), f"{stem}.vasp", "text/plain", key=f"{key}_poscar")
    c3.download_button("Tensors (JSON)", tables.tensors_json(predictions, structure, label), f"{stem}_tensors.json",
                       "application/json", key=f"{key}_json")
    c4.download_button("Tensors (CSV)", tables.tensors_csv(predictions), f"{stem}_tensors.csv", "text/csv", key=f"{key}_csv")
    st.caption("The tensors are in the structure frame. A CIF stores only cell lengths and angles, so a reader "
               "may orient the cell differently; the POSCAR (and the JSON) keep the lattice vectors, hence the frame.")


# --------------------------------------------------------------------------- the physics route (issue 17)

#: Measured by ``benchmarks/ionic_physics.py`` (``report`` and ``predicted-z``) on Materials Project
#: crystals of the DFPT set, every network and Z* model out of fold.
EPS0_FROM_PHYSICS_CAPTION = (
    "ε∞ + ε_ion is a physics-informed estimate of the static ε₀. On 448 Materials Project crystals of the DFPT set, "
    "out of fold, it was within 25 % (Frobenius) of DFT ε₀ for 75 % of them with Z\\* from the Born-charge model "
    "(79 % with DFT Z\\*, 63 % with formal charges), against 66 % for the network's ε₀ "
    "(`benchmarks/results/ionic-physics-predicted-z.json`). It needs the potential's run, so it is offered here "
    "on request rather than used for every prediction."
)

IONIC_CAPTION = (
    "Physics estimate, not a DFT replacement: e_ion = (e/Ω) Σ Z\\*·Γ is only the **ionic (internal-strain)** part of "
    "e; the clamped-ion (electronic) part is **not included**, so compare signs and sizes, not every digit. "
    "ε_ion = (e²/ε₀Ω) Z\\*·K⁺·Z\\*ᵀ is the ionic contribution to the static ε: compare it with **ε₀ − ε∞**. "
    "Harmonic, with SevenNet-0 force constants K and internal strain Γ = K⁺Λ (gmtnet.ionic)."
)


def ionic_panel(structure: Structure, material_id: str | None, predictions: dict, key: str = "w_ionic") -> None:
    """"Born charges × potential: ionic e and ε", run only when its button is pressed.

    States the cost first (:func:`app.service.ionic_cost`), then shows e_ion (IEEE Voigt 3 × 6, C/m²)
    and ε_ion (3 × 3) beside the network's e and ε₀ − ε∞ from ``predictions`` (``{kind: Prediction |
    Failure}`` of the same structure), all in the structure frame, with the Born-charge source. A
    structure computed once in this session is shown again on later runs, from the cache."""
    st.subheader("Born charges × potential: ionic e and ε")
    refused = service.ionic_refusal(structure)
    if refused is not None:
        show_failure(refused, "No ionic estimate")
        return
    tol = session.symprec()
    try:
        calls, seconds = service.ionic_cost(structure, tol)
    except ValueError as err:  # symmetry detection refused the cell
        show_failure(Failure.from_exception(err), "No ionic estimate")
        return
    source = ("DFT (DFPT set) if it is there, else " if material_id else "") + "predicted by the shipped Born-charge model if installed, else formal oxidation states"
    st.caption(f"Runs SevenNet-0 (pretrained potential, offline) on this cell: **{calls} potential evaluations, about "
               f"{seconds:.0f} s** on this server ({service.IONIC_SECONDS_PER_ATOM_CALL} s per atom per evaluation, "
               f"plus loading the potential once), more when the atoms must first be relaxed at fixed cell (residual "
               f"force above 0.05 eV/Å). Cells up to {service.IONIC_MAX_ATOMS} atoms. Born charges Z\\*: {source}.")
    done = st.session_state.setdefault(f"{key}_done", set())
    token = (service.structure_key(structure), material_id, tol)
    if st.button("Compute ionic e and ε from physics", key=key):
        with st.spinner(f"SevenNet-0: {calls} potential evaluations, about {seconds:.0f} s…"):
            result = service.ionic_estimate(structure, material_id, tol)
        done.add(token)
    elif token in done:
        result = service.ionic_estimate(structure, material_id, tol)  # cached: free
    else:
        return
    if isinstance(result, Failure):
        show_failure(result, "No ionic estimate")
        return
    st.markdown(f"Born charges: **{plain(result.born_source)}** ({plain(result.born_detail)}). Point group "
                f"{result.point_group}; structure frame (Cartesian axes of the cell as loaded); {tables.VOIGT_ORDER_NOTE}.")
    piezo, static, electronic = (get_kind(n) for n in (ionic.PIEZO_KIND, ionic.STATIC_KIND, ionic.ELECTRONIC_KIND))
    net_e = predictions.get(piezo.name)
    c1, c2 = st.columns(2)
    c1.markdown("Physics: e_ion (C/m²), ionic part only")
    c1.dataframe(tables.voigt_table(result.e_voigt, piezo, clean=True).style.format("{:.4g}"))
    c2.markdown("Network: e (C/m², GMTNet, total)")
    if net_e is None or isinstance(net_e, Failure):
        c2.caption("No network prediction of e for this structure.")
    else:
        c2.dataframe(tables.voigt_table(net_e.voigt, piezo).style.format("{:.4g}"))
        signs = tables.largest_component_signs(result.e_voigt, net_e.voigt)
        if signs is not None:
            st.markdown(signs)
    eps0, epsinf = predictions.get(static.name), predictions.get(electronic.name)
    networks = not any(p is None or isinstance(p, Failure) for p in (eps0, epsinf))
    c1, c2 = st.columns(2)
    c1.markdown("Physics: ε_ion (dimensionless)")
    c1.dataframe(tables.voigt_table(result.eps_ion, static, clean=True).style.format("{:.4g}"))
    c2.markdown("Network: ε₀ − ε∞ (GMTNet)")
    if not networks:
        c2.caption("No network prediction of ε₀ and ε∞ for this structure.")
    else:
        c2.dataframe(tables.voigt_table(eps0.voigt - epsinf.voigt, static).style.format("{:.4g}"))
        c1, c2 = st.columns(2)
        c1.markdown("Physics + network: ε∞ (GMTNet) + ε_ion")
        c1.dataframe(tables.voigt_table(epsinf.voigt + static.to_voigt(result.eps_ion, "ieee"), static).style.format("{:.4g}"))
        c2.markdown("Network: ε₀ (GMTNet)")
        c2.dataframe(tables.voigt_table(eps0.voigt, static).style.format("{:.4g}"))
        st.caption(EPS0_FROM_PHYSICS_CAPTION)
    if result.n_unstable:
        st.warning(f"{result.n_unstable} unstable mode(s) in SevenNet-0's force constants (lowest eigenvalue "
                   f"{result.min_eigenvalue:.3g} eV/Å²): the harmonic estimate is unreliable for this cell.", icon="⚠️")
    relaxed = (f"Positions relaxed at fixed cell first (largest force {result.max_force_before:.3g} → "
               f"{result.max_force_after:.3g} eV/Å)" if result.relaxed else
               f"Positions as given (largest residual force {result.max_force_before:.3g} eV/Å)")
    st.caption(f"{IONIC_CAPTION} {relaxed}; took {result.cost_s:.1f} s, {result.n_calls} potential "
               "evaluations (cached: showing it again is free).")
