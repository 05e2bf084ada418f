"""What one browser session holds: the current crystal, the detection tolerance, the shared page set-up.

Everything here lives in ``st.session_state`` (one per browser tab); the models, the catalogue and
the cached computations shared by all sessions are in :mod:`app.service`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st
from pymatgen.core import Structure

from app import service
from gmtnet.symmetry import DEFAULT_SYMPREC

NOTEBOOKS = (
    ("notebooks/01_neumann_principle.ipynb", "course: Neumann's principle"),
    ("notebooks/02_tensor_surfaces.ipynb", "course: tensor surfaces"),
    ("notebooks/03_predicting_with_gmtnet.ipynb", "appendix: predicting with GMTNet"),
    ("notebooks/04_train_a_small_model.ipynb", "appendix: train a small model"),
)


@dataclass
class Crystal:
    """The crystal the pages show.

    ``material_id`` is set only for an unedited bundled crystal: DFT references apply to it (they
    are in the Cartesian frame of exactly this structure).
    """

    structure: Structure
    label: str
    material_id: str | None = None
    history: list[str] = field(default_factory=list)


def current() -> Crystal | None:
    return st.session_state.get("crystal")


def set_current(crystal: Crystal) -> None:
    st.session_state["crystal"] = crystal
    st.session_state.pop("whatif", None)


def symprec() -> float:
    """The detection tolerance (Å) chosen in the sidebar."""
    return float(st.session_state.get("symprec", DEFAULT_SYMPREC))


def load_material(material_id: str) -> None:
    """Make a bundled crystal the current one."""
    from gmtnet.catalog import reference_structure

    cur = current()
    if cur is not None and cur.material_id == material_id:
        return
    s = reference_structure(material_id)
    cat = service.get_catalog()
    row = cat[cat["material_id"] == material_id]
    label = f"{row['formula'].iloc[0]} ({material_id})" if len(row) else material_id
    set_current(Crystal(structure=s, label=label, material_id=material_id))
    # Open on a tensor that has a DFT reference (the shown kind is kept when it has one).
    if len(row):
        # a kind without bundled references (registered, not shipped) has no has_<kind> column
        with_ref = [k for k in service.app_kinds() if f"has_{k}" in row.columns and bool(row[f"has_{k}"].iloc[0])]
        if with_ref and st.session_state.get("x_kind", service.app_kinds()[0]) not in with_ref:
            st.session_state["x_kind"] = with_ref[0]


def page_setup() -> None:
    """Shared by every page: the tolerance slider and the notebooks note.

    Pages call :func:`app.service.warm_predictor` once their first screen is drawn, so that
    loading torch does not slow down the first paint."""
    from app import memory

    memory.touch()  # the heap is trimmed only once no page has run for a while
    memory.start_idle_trimmer()
    # Widget values are dropped when a page without the widget runs; re-assigning keeps the
    # tolerance across pages (and avoids passing a default value as well).
    st.session_state["symprec"] = st.session_state.get("symprec", DEFAULT_SYMPREC)
    with st.sidebar:
        st.slider(
            "Symmetry tolerance symprec (Å)",
            min_value=1e-4,
            max_value=0.2,
            step=1e-3,
            format="%.4f",
            key="symprec",
            help="spglib distance tolerance used to detect the space group; the Neumann projector of "
            "every prediction follows the detected point group.",
        )
        st.markdown(
            "**Notebooks** (open with Jupyter from the repository root):\n\n"
            + "\n".join(f"- `{path}` — {title}" for path, title in NOTEBOOKS)
        )
        st.caption("Runs offline on the bundled Materials Project crystals and the shipped weights.")
