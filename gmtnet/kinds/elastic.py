"""The elastic stiffness tensor C_ijkl (GPa).

Rank 4 with the major and minor symmetries (``ijkl=jikl=klij``), Voigt form 6x6 C_IJ = C_ijkl.
Admissible: positive definite as a quadratic form on strains (Born stability), i.e. its 6x6
**Mandel** matrix is positive definite. Mandel and not Voigt because rotations act orthogonally on
the Mandel 6-vector (ε_xx, ε_yy, ε_zz, √2ε_yz, √2ε_xz, √2ε_xy), so only Mandel eigenvalues are frame
independent. :func:`to_mandel` / :func:`from_mandel` are the one copy of that conversion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from gmtnet.kinds.base import VOIGT_PAIRS, ScalarColumn, SurfaceQuantity, TensorKind, clip_spectrum

__all__ = ["ELASTIC_FLOOR_GPA", "MANDEL_SCALE", "ElasticKind", "ELASTIC", "to_mandel", "from_mandel", "clip_stiffness", "PAIR_ANGLES"]

#: Smallest Mandel eigenvalue (GPa) allowed for a predicted stiffness tensor. Strictly positive so
#: that the prediction is Born-stable (positive definite, not merely semi-definite), and below the
#: softest eigenvalues of the bundled positive-definite DFT tensors (1st percentile of their
#: smallest Mandel eigenvalue 2.0 GPa; all 1,013 matminer tensors are positive definite, the
#: smallest at 1.3 GPa). 77 of the 1,066 usable legacy Materials Project tensors are not positive
#: definite (mechanically unstable in DFT); predictions for such crystals are still made stable.
#: Numbers: benchmarks/results/admissibility.json.
ELASTIC_FLOOR_GPA = 0.5

#: Mandel factors of the six IEEE Voigt positions (xx, yy, zz, yz, xz, xy): 1 normal, √2 shear.
MANDEL_SCALE = np.array([1.0, 1.0, 1.0, math.sqrt(2.0), math.sqrt(2.0), math.sqrt(2.0)])

#: Angles of m around n sampled for the G(n) and ν(n) surfaces, over [0, π) (both are even in m).
PAIR_ANGLES = 72

_PAIRS = np.array(VOIGT_PAIRS["ieee"])


def to_mandel(tensor: np.ndarray) -> np.ndarray:
    """Full-rank stiffness ``(..., 3, 3, 3, 3)`` -> Mandel matrix ``(..., 6, 6)`` (IEEE order).

    M_IJ = w_I w_J C_{ij kl} with w = (1, 1, 1, √2, √2, √2); units of C (GPa).
    """
    t = np.asarray(tensor, dtype=float)
    if t.shape[-4:] != (3, 3, 3, 3):
        raise ValueError(f"elastic tensor must end in shape (3, 3, 3, 3), got {t.shape}")
    i, j = _PAIRS[:, 0], _PAIRS[:, 1]
    voigt = t[..., i[:, None], j[:, None], i[None, :], j[None, :]]
    return voigt * np.outer(MANDEL_SCALE, MANDEL_SCALE)


def from_mandel(mandel: np.ndarray) -> np.ndarray:
    """Mandel matrix ``(..., 6, 6)`` (IEEE order) -> full-rank stiffness ``(..., 3, 3, 3, 3)``;
    also the compliance: the inverse Mandel matrix maps back to the plain s_ijkl."""
    m = np.asarray(mandel, dtype=float)
    if m.shape[-2:] != (6, 6):
        raise ValueError(f"Mandel matrix must end in shape (6, 6), got {m.shape}")
    voigt = m / np.outer(MANDEL_SCALE, MANDEL_SCALE)
    pos = np.empty((3, 3), dtype=int)
    for p, (a, b) in enumerate(_PAIRS):
        pos[a, b] = pos[b, a] = p
    return voigt[..., pos[:, :, None, None], pos[None, None, :, :]]


def clip_stiffness(stiffness: np.ndarray, floor: float = ELASTIC_FLOOR_GPA) -> np.ndarray:
    """Nearest (Frobenius on the Mandel matrix) stiffness with every Mandel eigenvalue ≥ ``floor``
    (GPa), full rank, batches allowed."""
    c = np.asarray(stiffness, dtype=float)
    m = to_mandel(c)
    needs = np.linalg.eigvalsh(0.5 * (m + np.swapaxes(m, -1, -2)))[..., 0] < floor
    if not np.any(needs):
        return c
    # Tensors that were already admissible keep their exact values (no Mandel round trip).
    return np.where(needs[..., None, None, None, None], from_mandel(clip_spectrum(m, floor)), c)


def _over_perpendicular(f, n: np.ndarray, reduce) -> np.ndarray:
    """reduce over m ⟂ n (``PAIR_ANGLES`` angles) of f(n, m), for ``(..., 3)`` unit vectors n."""
    flat = np.asarray(n, dtype=float).reshape(-1, 3)
    # A basis of the plane ⟂ n, vectorised: cross with the axis least aligned with each n.
    helper = np.eye(3)[np.argmin(np.abs(flat), axis=1)]
    a = np.cross(flat, helper)
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b = np.cross(flat, a)
    psi = np.linspace(0.0, np.pi, PAIR_ANGLES, endpoint=False)
    m = np.cos(psi)[None, :, None] * a[:, None, :] + np.sin(psi)[None, :, None] * b[:, None, :]
    nn = np.broadcast_to(flat[:, None, :], m.shape)
    vals = f(nn.reshape(-1, 3), m.reshape(-1, 3)).reshape(len(flat), PAIR_ANGLES)
    return reduce(vals, axis=1).reshape(np.shape(n)[:-1])


@dataclass(frozen=True, eq=False)
class ElasticKind(TensorKind):
    """C: Born stability, VRH moduli, ELATE-style surfaces and extrema."""

    floor: ClassVar[float] = ELASTIC_FLOOR_GPA
    costly_extrema: ClassVar[bool] = True
    scalar_columns = (
        ScalarColumn("k_vrh", "GPa", "Hill bulk modulus (Voigt–Reuss average)"),
        ScalarColumn("g_vrh", "GPa", "Hill shear modulus"),
        ScalarColumn("young_vrh", "GPa", "9KG/(3K+G) from the Hill averages"),
        ScalarColumn("poisson_vrh", "", "(3K−2G)/(2(3K+G)) from the Hill averages"),
        ScalarColumn("universal_anisotropy", "", "A^U = 5 G_V/G_R + K_V/K_R − 6"),
        ScalarColumn("born_stable", "", "6x6 stiffness positive definite (Born stability)", boolean=True),
    )
    surface_quantities = (
        SurfaceQuantity("young", (), "Young's modulus E(n)", "GPa"),
        SurfaceQuantity("linear_compressibility", (), "linear compressibility β(n)", "TPa⁻¹", signed=True),
        # As ELATE: G and ν depend on n and on a second direction m ⟂ n; each n gets the min and
        # the max over m (two surfaces per quantity).
        SurfaceQuantity("shear_min", (), "shear modulus G(n), min over m ⟂ n", "GPa"),
        SurfaceQuantity("shear_max", (), "shear modulus G(n), max over m ⟂ n", "GPa"),
        SurfaceQuantity("poisson_min", (), "Poisson's ratio ν(n), min over m ⟂ n", "", signed=True),
        SurfaceQuantity("poisson_max", (), "Poisson's ratio ν(n), max over m ⟂ n", "", signed=True),
    )

    def make_admissible(self, tensor) -> np.ndarray:
        return clip_stiffness(tensor, self.floor)

    def min_eigenvalue(self, tensor) -> np.ndarray:
        m = to_mandel(np.asarray(tensor, dtype=float))
        return np.linalg.eigvalsh(0.5 * (m + np.swapaxes(m, -1, -2)))[..., 0]

    def scalars(self, tensor, partners=None) -> dict:
        from gmtnet.scalars import vrh_moduli

        m = vrh_moduli(np.asarray(tensor, dtype=float))
        return {c.name: m[c.name] for c in self.scalar_columns}

    def surface_function(self, tensor, quantity):
        from gmtnet.properties import compliance, linear_compressibility, poisson_ratio, shear_modulus, young_modulus

        if quantity not in {q.name for q in self.surface_quantities}:
            return super().surface_function(tensor, quantity)
        s = compliance(np.asarray(tensor, dtype=float))  # NaN for a singular C: a NaN surface, not an exception
        if quantity == "young":
            return lambda n: young_modulus(s, n)
        if quantity == "linear_compressibility":
            return lambda n: linear_compressibility(s, n)
        f = shear_modulus if quantity.startswith("shear") else poisson_ratio
        reduce = np.min if quantity.endswith("_min") else np.max
        return lambda n: _over_perpendicular(lambda a, b: f(s, a, b), n, reduce)

    def derived_properties(self, tensor, structure=None, extrema=True) -> dict:
        from gmtnet.properties import DerivedValue, elastic_extrema, elastic_moduli, is_mechanically_stable, stiffness_eigenvalues

        c = np.asarray(tensor, dtype=float)
        gpa = self.unit
        mod = elastic_moduli(c)
        stable = is_mechanically_stable(c)
        out = {
            "mechanically stable": DerivedValue(stable, "", note="Born: 6x6 stiffness positive definite"),
            "Kelvin moduli": DerivedValue(stiffness_eigenvalues(c), gpa, note="eigenvalues of the Mandel-scaled 6x6 stiffness"),
            "K_Voigt": DerivedValue(mod["k_voigt"], gpa),
            "K_Reuss": DerivedValue(mod["k_reuss"], gpa),
            "K_Hill": DerivedValue(mod["k_vrh"], gpa),
            "G_Voigt": DerivedValue(mod["g_voigt"], gpa),
            "G_Reuss": DerivedValue(mod["g_reuss"], gpa),
            "G_Hill": DerivedValue(mod["g_vrh"], gpa),
            "E_Hill": DerivedValue(mod["young_vrh"], gpa, note="9KG/(3K+G), Hill averages"),
            "ν_Hill": DerivedValue(mod["poisson_vrh"], "", note="(3K−2G)/(2(3K+G)), Hill averages"),
            "universal anisotropy A^U": DerivedValue(mod["universal_anisotropy"], "", note="5 G_V/G_R + K_V/K_R − 6"),
        }
        if not extrema:
            return out
        labels = {"young": ("E", gpa), "compressibility": ("β", "TPa⁻¹"), "shear": ("G", gpa), "poisson": ("ν", "")}
        ext = elastic_extrema(c)
        for key, (sym, unit) in labels.items():
            for which in ("min", "max"):
                x = ext.get(f"{key}_{which}")
                if x is None:
                    out[f"{sym} {which}"] = DerivedValue(math.nan, unit, note="undefined: C is not positive definite")
                else:
                    out[f"{sym} {which}"] = DerivedValue(x.value, unit, x.n, x.m)
        return out

    def to_pymatgen(self, tensor):
        from pymatgen.analysis.elasticity import ElasticTensor

        return ElasticTensor(np.array(tensor, dtype=np.float64))


ELASTIC = ElasticKind(
    name="elastic",
    title="Elastic stiffness tensor",
    symbol="C",
    rank=4,
    formula="ijkl=jikl=klij",
    irreps="0e+0e+2e+2e+4e",
    unit="GPa",
    voigt_shape=(6, 6),
    voigt_prefix="C",
    dataset="elastic",
    column="tensor",
)
