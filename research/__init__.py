"""Experiments kept with the project but not shipped: not part of the installed ``gmtnet`` package.

See ``research/README.md`` for what each module is and how to run it (``python -m research.<name>``
from the repository root).
"""
