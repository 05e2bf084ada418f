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

Units are those of the input (ε dimensionless, C in GPa); frames are kept (any Cartesian frame:
the operations are frame independent). Pure numpy; works on single tensors or batches.
"""

from __future__ import annotations

import numpy as np

from gmtnet.kinds import TensorKind, get_kind
from gmtnet.tensors import VOIGT_PAIRS

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

#: Smallest eigenvalue allowed for ε₀ and ε∞ (the vacuum value).
DIELECTRIC_FLOOR = 1.0
#: Smallest Mandel eigenvalue (GPa) allowed for a predicted stiffness tensor. Strictly positive so
#: that the prediction is Born-stable (positive definite, not merely semi-definite), and below the
#: softest eigenvalues of the bundled positive-definite DFT tensors (1st percentile of their
#: smallest Mandel eigenvalue 2.0 GPa; all 1,013 matminer tensors are positive definite, the
#: smallest at 1.3 GPa). 77 of the 1,066 usable legacy Materials Project tensors are not positive
#: definite (mechanically unstable in DFT); predictions for such crystals are still made stable.
#: Numbers: benchmarks/results/admissibility.json.
ELASTIC_FLOOR_GPA = 0.5

# Mandel weights in IEEE Voigt order (xx, yy, zz, yz, xz, xy): 1 for normal, √2 for shear pairs.
_MANDEL_W = np.array([1.0, 1.0, 1.0, np.sqrt(2.0), np.sqrt(2.0), np.sqrt(2.0)])
_PAIRS = np.array(VOIGT_PAIRS["ieee"])


def clip_spectrum(matrix: np.ndarray, floor: float) -> np.ndarray:
    """Nearest (Frobenius) symmetric matrix with every eigenvalue ≥ ``floor``; batches allowed.

    The input is symmetrised first. Matrices already admissible are returned unchanged
    (bit for bit), so that clipping never adds round-off where nothing had to change.
    """
    m = np.asarray(matrix, dtype=float)
    m = 0.5 * (m + np.swapaxes(m, -1, -2))
    w, v = np.linalg.eigh(m)
    if np.all(w >= floor):
        return m
    clipped = np.einsum("...ij,...j,...kj->...ik", v, np.maximum(w, floor), v)
    # Only the matrices that needed it change; the others keep their exact values.
    needs = np.any(w < floor, axis=-1)[..., None, None]
    out = np.where(needs, clipped, m)
    return 0.5 * (out + np.swapaxes(out, -1, -2))


def to_mandel(tensor: np.ndarray) -> np.ndarray:
    """Full-rank stiffness ``(..., 3, 3, 3, 3)`` -> Mandel matrix ``(..., 6, 6)`` (IEEE order).

    M_IJ = w_I w_J C_{ij kl} with w = (1, 1, 1, √2, √2, √2); units of C (GPa).
    """
    t = np.asarray(tensor, dtype=float)
    if t.shape[-4:] != (3, 3, 3, 3):
        raise ValueError(f"elastic tensor must end in shape (3, 3, 3, 3), got {t.shape}")
    i, j = _PAIRS[:, 0], _PAIRS[:, 1]
    voigt = t[..., i[:, None], j[:, None], i[None, :], j[None, :]]
    return voigt * np.outer(_MANDEL_W, _MANDEL_W)


def from_mandel(mandel: np.ndarray) -> np.ndarray:
    """Mandel matrix ``(..., 6, 6)`` (IEEE order) -> full-rank stiffness ``(..., 3, 3, 3, 3)``."""
    m = np.asarray(mandel, dtype=float)
    if m.shape[-2:] != (6, 6):
        raise ValueError(f"Mandel matrix must end in shape (6, 6), got {m.shape}")
    voigt = m / np.outer(_MANDEL_W, _MANDEL_W)
    # Voigt position of every full index pair (ij and ji map to the same position).
    pos = np.empty((3, 3), dtype=int)
    for p, (a, b) in enumerate(_PAIRS):
        pos[a, b] = pos[b, a] = p
    return voigt[..., pos[:, :, None, None], pos[None, None, :, :]]


def admissible_dielectric(eps: np.ndarray, floor: float = DIELECTRIC_FLOOR) -> np.ndarray:
    """Nearest symmetric ε (3x3, batches allowed) with every eigenvalue ≥ ``floor`` (default 1)."""
    e = np.asarray(eps, dtype=float)
    if e.shape[-2:] != (3, 3):
        raise ValueError(f"dielectric tensor must end in shape (3, 3), got {e.shape}")
    return clip_spectrum(e, floor)


def admissible_dielectric_pair(eps_static: np.ndarray, eps_electronic: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Admissible (ε₀, ε∞): ε∞ ⪰ 1 and ε₀ = ε∞ + ε_ionic with ε_ionic ⪰ 0.

    ε∞ is clipped alone (so it does not depend on whether ε₀ was asked for); the ionic part
    ε₀ − ε∞ is then clipped at 0. Both results are invariant under every operation that leaves
    both inputs invariant.
    """
    e_inf = admissible_dielectric(eps_electronic)
    e0 = np.asarray(eps_static, dtype=float)
    if e0.shape != e_inf.shape:
        raise ValueError(f"ε₀ and ε∞ must have the same shape, got {e0.shape} and {e_inf.shape}")
    ionic = 0.5 * ((e0 - e_inf) + np.swapaxes(e0 - e_inf, -1, -2))
    needs = np.linalg.eigvalsh(ionic)[..., 0] < 0.0
    if not np.any(needs):
        return e0, e_inf
    fixed = e_inf + clip_spectrum(ionic, 0.0)
    fixed = 0.5 * (fixed + np.swapaxes(fixed, -1, -2))
    # Pairs that were already ordered keep ε₀'s exact values (no round-off from the round trip).
    return np.where(needs[..., None, None], fixed, e0), e_inf


def admissible_elastic(stiffness: np.ndarray, floor: float = ELASTIC_FLOOR_GPA) -> np.ndarray:
    """Nearest (Frobenius on the Mandel matrix) positive-definite stiffness, GPa, full rank."""
    c = np.asarray(stiffness, dtype=float)
    m = to_mandel(c)
    needs = np.linalg.eigvalsh(0.5 * (m + np.swapaxes(m, -1, -2)))[..., 0] < floor
    if not np.any(needs):
        return c
    # Tensors that were already admissible keep their exact values (no Mandel round trip).
    return np.where(needs[..., None, None, None, None], from_mandel(clip_spectrum(m, floor)), c)


def make_admissible(tensor: np.ndarray, kind: str | TensorKind) -> np.ndarray:
    """The admissible tensor nearest to ``tensor`` for ``kind`` (piezoelectric: unchanged).

    Full-rank input and output, same units and frame.
    """
    k = get_kind(kind)
    if k.rank == 2:
        return admissible_dielectric(tensor)
    if k.rank == 4:
        return admissible_elastic(tensor)
    return np.asarray(tensor, dtype=float)


def min_eigenvalue(tensor: np.ndarray, kind: str | TensorKind) -> np.ndarray | None:
    """Smallest eigenvalue of ε (3x3) or of C's Mandel matrix (GPa); ``None`` for piezo."""
    k = get_kind(kind)
    t = np.asarray(tensor, dtype=float)
    if k.rank == 2:
        return np.linalg.eigvalsh(0.5 * (t + np.swapaxes(t, -1, -2)))[..., 0]
    if k.rank == 4:
        m = to_mandel(t)
        return np.linalg.eigvalsh(0.5 * (m + np.swapaxes(m, -1, -2)))[..., 0]
    return None


def is_admissible(tensor: np.ndarray, kind: str | TensorKind, rtol: float = 1e-9) -> np.ndarray | bool:
    """True where ``tensor`` satisfies its kind's constraint (eigenvalues ≥ the floor, to ``rtol``)."""
    k = get_kind(kind)
    lam = min_eigenvalue(tensor, k)
    if lam is None:
        return True
    floor = DIELECTRIC_FLOOR if k.rank == 2 else ELASTIC_FLOOR_GPA
    scale = np.maximum(np.abs(np.asarray(tensor)).reshape(*np.shape(lam), -1).max(axis=-1), 1.0)
    return lam >= floor - rtol * scale
