"""Explore: find or upload a crystal, see its structure, tensors, surfaces and symmetry vs DFT."""

import streamlit as st

from app import service, session, widgets
from app.text import plain
from gmtnet.kinds import KINDS

session.page_setup()
st.title("GMTNet Explorer")
st.caption("Symmetry-informed, O(3)-equivariant prediction of dielectric, piezoelectric and elastic tensors.")
widgets.load_from_query()

widgets.search_expander(expanded=session.current() is None)
with st.expander("Upload your own structure"):
    widgets.upload_panel()
service.warm_predictor()

crystal = session.current()
if crystal is None:
    st.info("Pick a crystal in the table above (or upload one) to see its structure and tensors.")
    st.stop()

st.header(plain(crystal.label))
widgets.structure_panel(crystal.structure, material_id=crystal.material_id)


@st.fragment
def tensors_section(crystal: session.Crystal) -> None:
    # A fragment: switching the tensor, the frame or a surface quantity reruns only this part,
    # not the search table, the upload box and the 3D structure above.
    c1, c2 = st.columns([3, 2])
    kind = c1.radio("Tensor", list(service.app_kinds()), format_func=lambda k: f"{KINDS[k].symbol} {KINDS[k].title}",
                    horizontal=True, key="x_kind")
    frame = c2.radio("Frame", list(service.FRAMES), format_func=lambda f: service.FRAMES[f], key="x_frame",
                     help="Structure frame: the Cartesian axes of the cell as loaded. IEEE 176: the standard "
                     "orientation in which Materials Project and textbooks write tensors (e.g. e14, C11/C12/C44 "
                     "for a cubic crystal).")
    # A kind's paired quantities need its partners' predictions beside it (d = e·S needs C).
    need = [kind, *KINDS[kind].scalar_partners]
    tol = session.symprec()
    predictions = service.predict(crystal.structure, tol, kinds=need)
    rot, shown = service.frame_view(crystal.structure, frame)
    shown_predictions = {k: service.in_frame(p, crystal.structure, frame, tol) for k, p in predictions.items()}
    prediction = shown_predictions[kind]
    ref = widgets.reference_in_frame(crystal.material_id, kind, rot, shown)
    widgets.tensor_panel(kind, prediction, ref, shown, frame=frame, extra=shown_predictions)
    st.subheader("Directional surfaces")
    widgets.surfaces_panel(kind, prediction, ref, frame=frame)
    st.subheader("Symmetry beside DFT")
    widgets.symmetry_panel(kind, prediction, ref, frame=frame)


tensors_section(crystal)
