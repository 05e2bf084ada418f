"""The dielectric tensors ε₀ (static: electronic + ionic) and ε∞ (high-frequency, electronic).

Symmetric 3x3, dimensionless, Voigt form the matrix itself. Admissible: every eigenvalue ≥ 1 (the
vacuum contributes 1; the electronic and ionic polarisabilities add positive semi-definite
parts), and ε₀ = ε∞ + ε_ionic with ε_ionic ⪰ 0, so ε₀ ⪰ ε∞ (ε₀ is ``bounded_below_by`` ε∞).
Clipping the spectrum is the Frobenius-nearest admissible tensor and commutes with the Neumann
projector (:mod:`gmtnet.admissible` explains why).

The physics of ε lives here: principal values and axes, averages, refractive indices and
birefringence (n = √ε∞), ε(n) = nᵀεn; :mod:`gmtnet.properties` re-exports these functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from gmtnet.kinds.base import (DerivedValue, ScalarColumn, SurfaceQuantity, SymmetricMatrixKind, clip_spectrum,
                               quadratic_form)
from gmtnet.sphere import principal_axes

__all__ = [
    "DIELECTRIC_FLOOR",
    "clip_dielectric",
    "dielectric_principal",
    "average_dielectric",
    "refractive_indices",
    "average_refractive_index",
    "birefringence",
    "dielectric_along",
    "DielectricKind",
    "STATIC",
    "ELECTRONIC",
]

#: Smallest eigenvalue allowed for ε₀ and ε∞ (the vacuum value).
DIELECTRIC_FLOOR = 1.0


def clip_dielectric(eps: np.ndarray, floor: float = DIELECTRIC_FLOOR) -> np.ndarray:
    """Nearest symmetric ε (3x3, batches allowed) with every eigenvalue ≥ ``floor``."""
    e = np.asarray(eps, dtype=float)
    if e.shape[-2:] != (3, 3):
        raise ValueError(f"dielectric tensor must end in shape (3, 3), got {e.shape}")
    return clip_spectrum(e, floor)


def dielectric_principal(eps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Principal values and axes of a dielectric tensor.

    Args:
        eps: ``(3, 3)`` dielectric tensor (dimensionless), structure frame.

    Returns:
        ``(values, axes)``: ``(3,)`` eigenvalues ascending (dimensionless) and ``(3, 3)`` unit
        vectors as **rows**, ``axes[i]`` belonging to ``values[i]`` (sign chosen with the largest
        component positive).
    """
    return principal_axes(STATIC.check_single(eps))


def average_dielectric(eps: np.ndarray) -> float:
    """Orientational average ε̄ = tr(ε)/3 (dimensionless)."""
    return float(np.trace(STATIC.check_single(eps)) / 3.0)


def refractive_indices(eps_inf: np.ndarray) -> np.ndarray:
    """Principal refractive indices n_i = √λ_i of the high-frequency tensor ε∞, ascending.

    NaN where an eigenvalue is negative (no propagating wave; an unphysical prediction).
    """
    w, _ = dielectric_principal(eps_inf)
    with np.errstate(invalid="ignore"):
        return np.sqrt(w)


def average_refractive_index(eps_inf: np.ndarray) -> float:
    """n̄ = √(tr(ε∞)/3), the Materials Project convention ``n = sqrt(poly_electronic)``."""
    mean = average_dielectric(eps_inf)
    return math.sqrt(mean) if mean >= 0 else math.nan


def birefringence(eps_inf: np.ndarray) -> float:
    """n_max − n_min of the principal refractive indices (0 for a cubic crystal)."""
    n = refractive_indices(eps_inf)
    return float(n[-1] - n[0])


def dielectric_along(eps: np.ndarray, n: np.ndarray) -> np.ndarray:
    """ε(n) = nᵀ ε n for ``(..., 3)`` unit vectors ``n`` (dimensionless)."""
    return quadratic_form(eps, n)


@dataclass(frozen=True, eq=False)
class DielectricKind(SymmetricMatrixKind):
    """A dielectric tensor; ``electronic`` adds the refractive-index columns and rows (n = √ε∞)."""

    electronic: bool = False
    floor: ClassVar[float] = DIELECTRIC_FLOOR

    @property
    def scalar_columns(self) -> tuple[ScalarColumn, ...]:  # type: ignore[override]
        cols = (
            ScalarColumn("eps_min", "", "smallest principal value of ε"),
            ScalarColumn("eps_mid", "", "middle principal value of ε"),
            ScalarColumn("eps_max", "", "largest principal value of ε"),
            ScalarColumn("eps_mean", "", "tr(ε)/3"),
        )
        if self.electronic:
            cols += (ScalarColumn("refractive_index", "", "n = √(tr(ε∞)/3), Materials Project convention"),
                     ScalarColumn("birefringence", "", "n_max − n_min from the principal values of ε∞"))
        return cols

    @property
    def surface_quantities(self) -> tuple[SurfaceQuantity, ...]:  # type: ignore[override]
        return (SurfaceQuantity("dielectric", (), "ε(n) = nᵀεn", ""),)

    def scalars(self, tensor, partners=None) -> dict:
        t = np.asarray(tensor, dtype=float)
        w = np.linalg.eigvalsh(0.5 * (t + t.T))
        out: dict[str, float | bool] = {"eps_min": float(w[0]), "eps_mid": float(w[1]), "eps_max": float(w[2]),
                                        "eps_mean": float(np.trace(t) / 3.0)}
        if self.electronic:
            with np.errstate(invalid="ignore"):
                n = np.sqrt(w)
                out["refractive_index"] = float(np.sqrt(out["eps_mean"])) if out["eps_mean"] >= 0 else math.nan
            out["birefringence"] = float(n[-1] - n[0])
        return out

    def derived_properties(self, tensor, structure=None, extrema=True) -> dict:
        eps = np.asarray(tensor, dtype=float)
        w, axes = dielectric_principal(eps)
        out = {
            "principal values": DerivedValue(w, "", axes, note="eigenvalues of ε, ascending; directions are the principal axes"),
            "average ε": DerivedValue(average_dielectric(eps), "", note="tr(ε)/3"),
            "anisotropy ε_max − ε_min": DerivedValue(float(w[-1] - w[0]), ""),
        }
        if self.electronic:
            out["refractive indices"] = DerivedValue(refractive_indices(eps), "", axes, note="√ of the principal values of ε∞")
            out["average n"] = DerivedValue(average_refractive_index(eps), "", note="√(tr(ε∞)/3), Materials Project convention")
            out["birefringence"] = DerivedValue(birefringence(eps), "", note="n_max − n_min")
        return out

    # ------------------------------------------------------------------ admissibility
    def make_admissible(self, tensor) -> np.ndarray:
        return clip_dielectric(tensor, self.floor)

    def min_eigenvalue(self, tensor) -> np.ndarray:
        t = np.asarray(tensor, dtype=float)
        return np.linalg.eigvalsh(0.5 * (t + np.swapaxes(t, -1, -2)))[..., 0]

    def admissible_above(self, tensor, lower) -> np.ndarray:
        """ε₀ made admissible given an admissible ε∞ (``lower``): the ionic part ε₀ − ε∞ is clipped
        at 0. Pairs already ordered keep ε₀'s exact values (no round-off from the round trip)."""
        e0 = np.asarray(tensor, dtype=float)
        e_inf = np.asarray(lower, dtype=float)
        if e0.shape != e_inf.shape:
            raise ValueError(f"ε₀ and ε∞ must have the same shape, got {e0.shape} and {e_inf.shape}")
        ionic = 0.5 * ((e0 - e_inf) + np.swapaxes(e0 - e_inf, -1, -2))
        needs = np.linalg.eigvalsh(ionic)[..., 0] < 0.0
        if not np.any(needs):
            return e0
        fixed = e_inf + clip_spectrum(ionic, 0.0)
        fixed = 0.5 * (fixed + np.swapaxes(fixed, -1, -2))
        return np.where(needs[..., None, None], fixed, e0)

    def to_pymatgen(self, tensor):
        from pymatgen.core.tensors import SquareTensor

        return SquareTensor(np.array(tensor, dtype=np.float64))


STATIC = DielectricKind(
    name="dielectric",
    title="Static dielectric tensor (electronic + ionic)",
    symbol="ε₀",
    rank=2,
    formula="ij=ji",
    irreps="0e+2e",
    unit="",
    voigt_shape=(3, 3),
    voigt_prefix="ε",
    dataset="dielectric",
    column="tensor",
    bounded_below_by="dielectric_electronic",
    insulators_only=True,
    column_prefix="eps",
)

ELECTRONIC = DielectricKind(
    name="dielectric_electronic",
    title="High-frequency (electronic) dielectric tensor",
    symbol="ε∞",
    rank=2,
    formula="ij=ji",
    irreps="0e+2e",
    unit="",
    voigt_shape=(3, 3),
    voigt_prefix="ε",
    dataset="dielectric",
    column="tensor_electronic",
    insulators_only=True,
    column_prefix="eps",
    electronic=True,
)
