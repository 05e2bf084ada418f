"""GMTNet Explorer: entry point. Run with ``bash scripts/app.sh`` (or ``streamlit run streamlit_app.py``)."""

import streamlit as st

from app.service import warm_predictor

st.set_page_config(page_title="GMTNet Explorer", page_icon="💎", layout="wide")

PAGES = [
    st.Page("pages/explore.py", title="Explore", icon=":material/search:", default=True),
    st.Page("pages/whatif.py", title="What-if", icon=":material/tune:"),
    st.Page("pages/browse.py", title="Browse", icon=":material/table_view:"),
    st.Page("pages/model.py", title="Model", icon=":material/insights:"),
]
# The sidebar's page list is drawn here, not by st.navigation: a `pages/` folder beside this script
# makes Streamlit's client show its automatic page list ("streamlit app, browse, explore, ...") on
# the first load until the script's navigation arrives. `client.showSidebarNavigation = false`
# (.streamlit/config.toml) stops that list, and in Streamlit 1.67 also hides st.navigation's
# sidebar menu, so the links below are the only navigation.
navigation = st.navigation(PAGES, position="hidden")
with st.sidebar:
    for p in PAGES:
        st.page_link(p)
navigation.run()
# Torch and the models load in a background thread. Started after the first page has drawn: the
# imports hold the GIL and would otherwise slow that first page down.
warm_predictor()
