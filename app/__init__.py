"""The Streamlit app's reusable parts: shared state (:mod:`app.state`), widgets, table helpers.

The page scripts live in ``pages/`` and the entry point is ``streamlit_app.py``; all science is in
:mod:`gmtnet`.
"""
