"""Shared pytest fixtures."""

import sys
from pathlib import Path

import numpy as np
import pytest

# The app's building blocks (``app/``) are not an installed package: make them importable from the
# checkout however pytest is started.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture
def rng():
    """A seeded generator, so every random test is reproducible."""
    return np.random.default_rng(1234)
