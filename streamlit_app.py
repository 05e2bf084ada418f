"""GMTNet Explorer: entry point. Run with ``bash scripts/app.sh`` (or ``streamlit run streamlit_app.py``)."""

import streamlit as st

from app.state import warm_predictor

st.set_page_config(page_title="GMTNet Explorer", page_icon="💎", layout="wide")

navigation = st.navigation(
    [
        st.Page("pages/explore.py", title="Explore", icon=":material/search:", default=True),
        st.Page("pages/whatif.py", title="What-if", icon=":material/tune:"),
        st.Page("pages/browse.py", title="Browse", icon=":material/table_view:"),
        st.Page("pages/model.py", title="Model", icon=":material/insights:"),
    ]
)
navigation.run()
# Torch and the models load in a background thread. Started after the first page has drawn: the
# imports hold the GIL and would otherwise slow that first page down.
warm_predictor()
