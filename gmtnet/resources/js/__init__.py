"""Bundled JavaScript: the 3Dmol.js build used by :mod:`gmtnet.viewer` (see README.md here)."""
