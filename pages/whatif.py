"""What-if: edit the current crystal, re-detect its symmetry and re-predict its tensors; on request,
the ionic e and ε from Born charges and a pretrained potential."""

import streamlit as st

from app import service, session, widgets
from app.failure import Failure
from app.text import plain
from gmtnet.teaching import curie_caption

session.page_setup()
service.warm_predictor()
st.title("What-if")
crystal = session.current()
if crystal is None:
    st.info("Load a crystal on the Explore page first.")
    st.stop()

work = st.session_state.setdefault("whatif", {"structure": crystal.structure, "edits": []})
# Filled in after the controls ran, so that it already lists an edit applied in this run.
edits_caption = st.empty()
result = widgets.edit_controls(work["structure"])
if isinstance(result, Failure):
    widgets.show_failure(result, "Edit not applied")
elif result is not None:
    work["edits"].append(result[0])
    work["structure"] = result[1]
if st.button("Reset edits", key="w_reset"):
    st.session_state["whatif"] = work = {"structure": crystal.structure, "edits": []}
edits_caption.caption(f"Editing **{plain(crystal.label)}**; edits so far: {plain('; '.join(work['edits']) or 'none')}.")
if work["edits"]:
    st.info("The edited cell is not relaxed: atoms and lattice stay where the edits put them, and the model "
            "predicts for exactly that geometry (a DFT relaxation would move them).")

before = service.predict(crystal.structure, session.symprec())
after = service.predict(work["structure"], session.symprec())
widgets.before_after_panel(crystal.structure, work["structure"], before, after, edited=bool(work["edits"]))
if work["edits"]:
    # Curie's principle beside the re-detected group: a strain can only lower the symmetry to the
    # intersection group, so a mismatch tells the user the tolerance, not the physics, decided.
    try:
        st.caption(plain(curie_caption(crystal.structure, work["structure"])))
    except ValueError as exc:  # e.g. an edit that is not a strained supercell of the original
        st.caption(f"Curie's principle not applied: {plain(str(exc))}")
# The physics route (on request only): an edited cell is not the bundled crystal, so its DFT Born
# charges are looked up only while no edit is applied.
widgets.ionic_panel(work["structure"], None if work["edits"] else crystal.material_id, after)
st.subheader("Edited structure")
widgets.structure_view(work["structure"])
widgets.downloads(work["structure"], after, f"{crystal.label} edited", key="w_dl")
