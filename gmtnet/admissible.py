"""Physically admissible tensors: where positive definiteness is enforced.

Two physical constraints hold for every stable, non-magnetic crystal, beyond Neumann's principle:

* a dielectric tensor is symmetric positive definite with every eigenvalue ≥ 1 (the vacuum
  contribution is 1; the electronic and ionic polarisabilities add positive semi-definite parts),
  and ε₀ = ε∞ + ε_ionic with ε_ionic ⪰ 0, so ε₀ ⪰ ε∞;
* the elastic stiffness tensor of a mechanically stable crystal is positive definite as a
  quadratic form on strains (Born stability), i.e. its 6x6 **Mandel** matrix is positive definite.

The network's output need not satisfy either, so predictions are projected onto the admissible set
by clipping the spectrum of the symmetric operator:

    T ↦ V · diag(max(λ, floor)) · Vᵀ,  with T = V · diag(λ) · Vᵀ.

This is the Frobenius-nearest admissible tensor, and it **commutes with the Neumann projector**:
if ρ(g) T ρ(g)ᵀ = T for every operation g (ρ orthogonal), then any spectral function f gives
ρ(g) f(T) ρ(g)ᵀ = f(ρ(g) T ρ(g)ᵀ) = f(T). So the clipped tensor still obeys the crystal's point
group; only round-off (~1e-16 relative) has to be projected away afterwards.

Why Mandel and not Voigt for C: rotations act orthogonally on the Mandel 6-vector
(ε_xx, ε_yy, ε_zz, √2ε_yz, √2ε_xz, √2ε_xy) but not on the plain Voigt one, so only Mandel
eigenvalues are frame independent. Clipping plain Voigt eigenvalues would make the prediction
depend on the frame the structure is given in.

Each kind owns its bound (:meth:`gmtnet.kinds.TensorKind.make_admissible`; ε in
:mod:`gmtnet.kinds.dielectric`, C and the Mandel conversion in :mod:`gmtnet.kinds.elastic`); the
functions here are the public entry points. Units are those of the input (ε dimensionless, C in GPa); frames are kept (any Cartesian frame:
the operations are frame independent). Pure numpy; works on single tensors or batches.
"""

from __future__ import annotations

import numpy as np

from gmtnet.kinds import TensorKind, clip_spectrum, get_kind
from gmtnet.kinds.dielectric import DIELECTRIC_FLOOR, ELECTRONIC, STATIC, clip_dielectric
from gmtnet.kinds.elastic import ELASTIC_FLOOR_GPA, clip_stiffness, from_mandel, to_mandel

__all__ = [
    "DIELECTRIC_FLOOR",
    "ELASTIC_FLOOR_GPA",
    "clip_spectrum",
    "to_mandel",
    "from_mandel",
    "admissible_dielectric",
    "admissible_dielectric_pair",
    "admissible_elastic",
    "make_admissible",
    "is_admissible",
    "min_eigenvalue",
]



def admissible_dielectric(eps: np.ndarray, floor: float = DIELECTRIC_FLOOR) -> np.ndarray:
    """Nearest symmetric ε (3x3, batches allowed) with every eigenvalue ≥ ``floor`` (default 1)."""
    return clip_dielectric(eps, floor)


def admissible_dielectric_pair(eps_static: np.ndarray, eps_electronic: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Admissible (ε₀, ε∞): ε∞ ⪰ 1 and ε₀ = ε∞ + ε_ionic with ε_ionic ⪰ 0.

    ε∞ is clipped alone (so it does not depend on whether ε₀ was asked for); the ionic part
    ε₀ − ε∞ is then clipped at 0 (:meth:`gmtnet.kinds.dielectric.DielectricKind.admissible_above`).
    Both results are invariant under every operation that leaves both inputs invariant.
    """
    e_inf = ELECTRONIC.make_admissible(eps_electronic)
    return STATIC.admissible_above(eps_static, e_inf), e_inf


def admissible_elastic(stiffness: np.ndarray, floor: float = ELASTIC_FLOOR_GPA) -> np.ndarray:
    """Nearest (Frobenius on the Mandel matrix) positive-definite stiffness, GPa, full rank."""
    return clip_stiffness(stiffness, floor)


def make_admissible(tensor: np.ndarray, kind: str | TensorKind) -> np.ndarray:
    """The admissible tensor nearest to ``tensor`` for ``kind`` (a kind without a bound: unchanged).

    Full-rank input and output, same units and frame.
    """
    return get_kind(kind).make_admissible(tensor)


def min_eigenvalue(tensor: np.ndarray, kind: str | TensorKind) -> np.ndarray | None:
    """Smallest eigenvalue of the operator the kind bounds (ε: ε itself; C: its Mandel matrix, GPa);
    ``None`` for a kind without a bound (e)."""
    return get_kind(kind).min_eigenvalue(tensor)


def is_admissible(tensor: np.ndarray, kind: str | TensorKind, rtol: float = 1e-9) -> np.ndarray | bool:
    """True where ``tensor`` satisfies its kind's constraint (eigenvalues ≥ the floor, to ``rtol``)."""
    return get_kind(kind).is_admissible(tensor, rtol)
