"""The Streamlit app's reusable parts: the service layer (:mod:`app.service`: models, catalogue,
cached predictions), one session's state (:mod:`app.session`), typed failures (:mod:`app.failure`),
widgets and table helpers.

The page scripts live in ``pages/`` and the entry point is ``streamlit_app.py``; all science is in
:mod:`gmtnet`.
"""
