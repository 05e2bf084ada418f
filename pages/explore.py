"""Explore: find or upload a crystal, see its structure, tensors, surfaces and symmetry vs DFT."""

import streamlit as st

from app import state, widgets
from app.text import plain
from gmtnet.catalog import reference_tensor
from gmtnet.kinds import KINDS

state.page_setup()
st.title("GMTNet Explorer")
st.caption("Symmetry-informed, O(3)-equivariant prediction of dielectric, piezoelectric and elastic tensors.")
widgets.load_from_query()

with st.expander("Find a bundled crystal", expanded=state.current() is None):
    widgets.search_panel()
with st.expander("Upload your own structure"):
    widgets.upload_panel()
state.warm_predictor()

crystal = state.current()
if crystal is None:
    st.info("Pick a crystal in the table above (or upload one) to see its structure and tensors.")
    st.stop()

st.header(plain(crystal.label))
widgets.structure_panel(crystal.structure)
kind = st.radio("Tensor", list(KINDS), format_func=lambda k: f"{KINDS[k].symbol} {KINDS[k].title}",
                horizontal=True, key="x_kind")
prediction = state.predict(crystal.structure, kinds=[kind])[kind]
ref = reference_tensor(crystal.material_id, kind) if crystal.material_id else None
widgets.tensor_panel(kind, prediction, ref, crystal.structure)
st.subheader("Directional surfaces")
widgets.surfaces_panel(kind, prediction, ref)
st.subheader("Symmetry beside DFT")
widgets.symmetry_panel(kind, prediction, ref)
