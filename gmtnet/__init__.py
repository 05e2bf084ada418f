"""GMTNet Explorer: symmetry-informed, O(3)-equivariant prediction of crystal tensor properties.

Dielectric ε (rank 2, dimensionless), piezoelectric e (rank 3, C/m²) and elastic C (rank 4, GPa),
full-rank in the Cartesian frame of the input structure. Importing this package does not import
torch; the model is loaded on first use.
"""

from gmtnet.kinds import KINDS, TensorKind, get_kind
from gmtnet.symmetry import (
    DEFAULT_SYMPREC,
    PointSymmetry,
    SymmetryConstraints,
    analyze_symmetry,
    symmetry_constraints,
)

__version__ = "0.1.0"

_LAZY = {"Predictor": "gmtnet.predict", "Prediction": "gmtnet.predict", "load_dataset": "gmtnet.data"}


def __getattr__(name: str):
    # The prediction API pulls in torch; load it on first use so that `import gmtnet` stays light.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gmtnet' has no attribute {name!r}")

__all__ = [
    "KINDS",
    "TensorKind",
    "get_kind",
    "DEFAULT_SYMPREC",
    "PointSymmetry",
    "SymmetryConstraints",
    "analyze_symmetry",
    "symmetry_constraints",
    "Predictor",
    "Prediction",
    "load_dataset",
]
