"""The elastic stiffness tensor C_ijkl (GPa).

Rank 4 with the major and minor symmetries (``ijkl=jikl=klij``), Voigt form 6x6 C_IJ = C_ijkl.
Admissible: positive definite as a quadratic form on strains (Born stability), i.e. its 6x6
**Mandel** matrix is positive definite. Mandel and not Voigt because rotations act orthogonally on
the Mandel 6-vector (ε_xx, ε_yy, ε_zz, √2ε_yz, √2ε_xz, √2ε_xy), so only Mandel eigenvalues are frame
independent. :func:`to_mandel` / :func:`from_mandel` are the one copy of that conversion.

The physics of C lives here: compliance, Kelvin moduli and Born stability, the directional moduli
E(n), β(n), G(n, m), ν(n, m) and their extrema (as ELATE), the Voigt–Reuss–Hill averages (pymatgen's
for display, :func:`vrh_moduli` in closed form for screening); :mod:`gmtnet.properties` and
:mod:`gmtnet.scalars` re-export these functions.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from gmtnet.kinds.base import VOIGT_PAIRS, DerivedValue, ScalarColumn, SurfaceQuantity, TensorKind, clip_spectrum
from gmtnet.sphere import Extremum, pair_extremum, perpendicular_directions, sphere_extremum

__all__ = [
    "ELASTIC_FLOOR_GPA",
    "MANDEL_SCALE",
    "TPA_PER_GPA",
    "PAIR_ANGLES",
    "to_mandel",
    "from_mandel",
    "clip_stiffness",
    "stiffness_eigenvalues",
    "is_mechanically_stable",
    "compliance",
    "young_modulus",
    "linear_compressibility",
    "shear_modulus",
    "poisson_ratio",
    "elastic_moduli",
    "vrh_moduli",
    "elastic_extrema",
    "ElasticKind",
    "ELASTIC",
]

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

#: 1/GPa -> 1/TPa: linear compressibility is shown in TPa⁻¹, as ELATE does.
TPA_PER_GPA = 1.0e3

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
    psi = np.linspace(0.0, np.pi, PAIR_ANGLES, endpoint=False)
    m = perpendicular_directions(flat, psi)
    nn = np.broadcast_to(flat[:, None, :], m.shape)
    vals = f(nn.reshape(-1, 3), m.reshape(-1, 3)).reshape(len(flat), PAIR_ANGLES)
    return reduce(vals, axis=1).reshape(np.shape(n)[:-1])


def stiffness_eigenvalues(c: np.ndarray) -> np.ndarray:
    """The six Kelvin moduli (eigenvalues of the Mandel stiffness), GPa, ascending.

    Rotation-invariant (the Voigt-matrix eigenvalues are not). Cubic: 3K = C11+2C12 (once),
    C11−C12 (twice), 2C44 (three times).
    """
    m = to_mandel(ELASTIC.check_single(c))
    return np.linalg.eigvalsh(0.5 * (m + m.T))


def is_mechanically_stable(c: np.ndarray, tol: float = 1e-8) -> bool:
    """Born stability: the 6x6 stiffness is positive definite (smallest Kelvin modulus > tol GPa).

    The Voigt and Mandel matrices are congruent, so "all Voigt eigenvalues > 0" is the same test.
    """
    return bool(stiffness_eigenvalues(c)[0] > tol)


def compliance(c: np.ndarray) -> np.ndarray:
    """Full-rank compliance s_ijkl in 1/GPa, structure frame; all NaN when C is singular.

    Inverted in Mandel form, where the compliance is the plain matrix inverse and maps back to a
    full tensor without the 2/4 Voigt factors of s. (Same result as pymatgen's
    ``ElasticTensor.compliance_tensor``, which raises on a singular matrix; this returns NaN so that
    the app can report the prediction as unstable.)
    """
    m = to_mandel(ELASTIC.check_single(c))
    try:
        s_mandel = np.linalg.inv(m)
    except np.linalg.LinAlgError:
        return np.full((3, 3, 3, 3), np.nan)
    if not np.isfinite(s_mandel).all() or np.linalg.cond(m) > 1e12:
        return np.full((3, 3, 3, 3), np.nan)
    return from_mandel(s_mandel)


def young_modulus(s: np.ndarray, n: np.ndarray) -> np.ndarray:
    """E(n) = 1 / (s_ijkl n_i n_j n_k n_l) in GPa; ``s`` in 1/GPa, ``n`` ``(..., 3)`` unit vectors."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1.0 / np.einsum("ijkl,...i,...j,...k,...l->...", s, n, n, n, n)


def linear_compressibility(s: np.ndarray, n: np.ndarray) -> np.ndarray:
    """β(n) = s_iikl n_k n_l in TPa⁻¹ (strain along n per unit hydrostatic pressure); ``s`` in 1/GPa."""
    return TPA_PER_GPA * np.einsum("iikl,...k,...l->...", s, n, n)


def shear_modulus(s: np.ndarray, n: np.ndarray, m: np.ndarray) -> np.ndarray:
    """G(n, m) = 1 / (4 s_ijkl n_i m_j n_k m_l) in GPa, shear in the plane ⟂ n along m (n ⟂ m)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1.0 / (4.0 * np.einsum("ijkl,...i,...j,...k,...l->...", s, n, m, n, m))


def poisson_ratio(s: np.ndarray, n: np.ndarray, m: np.ndarray) -> np.ndarray:
    """ν(n, m) = −s_ijkl n_i n_j m_k m_l / s_ijkl n_i n_j n_k n_l (dimensionless), stretch along n,
    contraction along m ⟂ n."""
    num = np.einsum("ijkl,...i,...j,...k,...l->...", s, n, n, m, m)
    den = np.einsum("ijkl,...i,...j,...k,...l->...", s, n, n, n, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -num / den


def elastic_moduli(c: np.ndarray) -> dict[str, float]:
    """Polycrystalline averages of a stiffness tensor (GPa except ν and A^U).

    Keys: ``k_voigt, k_reuss, k_vrh, g_voigt, g_reuss, g_vrh`` (GPa), ``young_vrh`` (GPa,
    9KG/(3K+G) from the Hill averages), ``poisson_vrh`` ((3K−2G)/(2(3K+G))), ``universal_anisotropy``
    (A^U = 5 G_V/G_R + K_V/K_R − 6, 0 for isotropic).

    Computed by pymatgen's ``ElasticTensor``, whose Voigt form is IEEE order with C_IJ = C_ijkl, as
    ours. The Voigt bounds always exist; everything that needs the compliance is NaN when C is not
    positive definite (Reuss averages of an unstable C have no physical meaning).
    """
    from pymatgen.analysis.elasticity import ElasticTensor

    t = ELASTIC.check_single(c)
    with warnings.catch_warnings():
        # pymatgen warns about index symmetry at 1e-4 relative; predictions are symmetrised already.
        warnings.simplefilter("ignore")
        et = ElasticTensor(t)
    out = {"k_voigt": float(et.k_voigt), "g_voigt": float(et.g_voigt)}
    nan_keys = ("k_reuss", "g_reuss", "k_vrh", "g_vrh", "young_vrh", "poisson_vrh", "universal_anisotropy")
    if not is_mechanically_stable(t):
        return out | dict.fromkeys(nan_keys, math.nan)
    k, g = float(et.k_vrh), float(et.g_vrh)
    return out | {
        "k_reuss": float(et.k_reuss),
        "g_reuss": float(et.g_reuss),
        "k_vrh": k,
        "g_vrh": g,
        # Not et.y_mod: that one is in Pa (it multiplies by 1e9).
        "young_vrh": 9.0 * k * g / (3.0 * k + g),
        "poisson_vrh": float(et.homogeneous_poisson),
        "universal_anisotropy": float(et.universal_anisotropy),
    }


def vrh_moduli(c: np.ndarray) -> dict[str, float]:
    """Voigt, Reuss and Hill averages of a stiffness tensor in closed form.

    Args:
        c: ``(3, 3, 3, 3)`` stiffness in GPa (any frame: the averages are invariant).

    Returns:
        The keys of :func:`elastic_moduli` (``k_voigt, g_voigt, k_reuss, g_reuss,
        k_vrh, g_vrh, young_vrh, poisson_vrh, universal_anisotropy``, GPa except the last two) and
        ``born_stable`` (bool). Everything that needs the compliance is NaN when C is not positive
        definite, as there.
    """
    c = np.asarray(c, dtype=float)
    v = ELASTIC.to_voigt(c, "ieee")
    d, off, shear = np.trace(v[:3, :3]), v[0, 1] + v[1, 2] + v[0, 2], v[3, 3] + v[4, 4] + v[5, 5]
    kv = (d + 2.0 * off) / 9.0
    gv = (d - off + 3.0 * shear) / 15.0
    mandel = to_mandel(c)
    stable = bool(np.linalg.eigvalsh(0.5 * (mandel + mandel.T))[0] > 1e-8)
    out = {"k_voigt": float(kv), "g_voigt": float(gv), "born_stable": stable}
    nan_keys = ("k_reuss", "g_reuss", "k_vrh", "g_vrh", "young_vrh", "poisson_vrh", "universal_anisotropy")
    if not stable:
        return out | dict.fromkeys(nan_keys, math.nan)
    # Voigt compliance with the engineering-strain factors (S44 = 4 s_2323 ...), 1/GPa.
    s = np.linalg.inv(v)
    sd, soff, sshear = np.trace(s[:3, :3]), s[0, 1] + s[1, 2] + s[0, 2], s[3, 3] + s[4, 4] + s[5, 5]
    kr = 1.0 / (sd + 2.0 * soff)
    gr = 15.0 / (4.0 * sd - 4.0 * soff + 3.0 * sshear)
    k, g = 0.5 * (kv + kr), 0.5 * (gv + gr)
    return out | {
        "k_reuss": float(kr),
        "g_reuss": float(gr),
        "k_vrh": float(k),
        "g_vrh": float(g),
        "young_vrh": float(9.0 * k * g / (3.0 * k + g)),
        "poisson_vrh": float((3.0 * k - 2.0 * g) / (2.0 * (3.0 * k + g))),
        "universal_anisotropy": float(5.0 * gv / gr + kv / kr - 6.0),
    }


def elastic_extrema(c: np.ndarray, n_samples: int = 1500, n_pair_dirs: int = 300, n_angles: int = 36) -> dict[str, Extremum]:
    """Min and max of E(n), β(n), G(n, m) and ν(n, m) with their directions, as ELATE reports.

    Args:
        c: ``(3, 3, 3, 3)`` stiffness in GPa, structure frame.
        n_samples: sphere samples for E and β before refinement.
        n_pair_dirs, n_angles: n samples and angles of m around n for G and ν.

    Returns:
        ``{"young_min", "young_max", "compressibility_min", "compressibility_max", "shear_min",
        "shear_max", "poisson_min", "poisson_max"}`` → :class:`Extremum` (E, G in GPa; β in TPa⁻¹;
        ν dimensionless). Empty dict when C is not positive definite (E(n) would have poles).
    """
    t = ELASTIC.check_single(c)
    if not is_mechanically_stable(t):
        return {}
    s = compliance(t)
    out: dict[str, Extremum] = {}
    for name, f in (("young", young_modulus), ("compressibility", linear_compressibility)):
        out[f"{name}_min"] = sphere_extremum(lambda n, f=f: f(s, n), 1.0, n_samples)
        out[f"{name}_max"] = sphere_extremum(lambda n, f=f: f(s, n), -1.0, n_samples)
    for name, f in (("shear", shear_modulus), ("poisson", poisson_ratio)):
        out[f"{name}_min"] = pair_extremum(lambda n, m, f=f: f(s, n, m), 1.0, n_pair_dirs, n_angles)
        out[f"{name}_max"] = pair_extremum(lambda n, m, f=f: f(s, n, m), -1.0, n_pair_dirs, n_angles)
    return out


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
        m = vrh_moduli(np.asarray(tensor, dtype=float))
        return {c.name: m[c.name] for c in self.scalar_columns}

    def surface_function(self, tensor, quantity):
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
