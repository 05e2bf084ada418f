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

__all__ = [
    "KINDS",
    "TensorKind",
    "get_kind",
    "DEFAULT_SYMPREC",
    "PointSymmetry",
    "SymmetryConstraints",
    "analyze_symmetry",
    "symmetry_constraints",
]
