"""Browse: the bundled catalogue's predictions or uploaded screen output; filter, plot, open, download."""

import streamlit as st

from app import browse, service, session

session.page_setup()
st.title("Browse predictions")
table = browse.source_table()
if table is None:
    st.stop()
view = browse.filters(table)
if view is None:
    st.stop()
browse.table_and_open(view, st.session_state["b_kind"])
browse.downloads(view)
service.warm_predictor()
