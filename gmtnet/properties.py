"""Derived quantities of a predicted tensor: principal values, moduli, extremal directions.

numpy + scipy + pymatgen only (no torch, no plotting). Every function takes a **full-rank** tensor
in the structure's Cartesian frame, in the kind's units (ε dimensionless, e in C/m², C in GPa), and
every direction it returns is a unit vector in that same frame. Rotating the input tensor with
:func:`gmtnet.tensors.rotate` leaves every scalar here unchanged and rotates every direction, except
:func:`piezo_eij_max`, which is defined on the IEEE Voigt matrix and so depends on the frame (see
its docstring).

Two Voigt scalings appear:

* Voigt (IEEE order xx, yy, zz, yz, xz, xy, no factors: ``C_IJ = C_ijkl``, ``e_iJ = e_ijk``) is what
  pymatgen, Materials Project and :func:`gmtnet.tensors.to_voigt` use.
* Mandel (Kelvin) scaling multiplies each shear row/column by √2. It makes the 6-vector basis of
  symmetric tensors orthonormal, so the eigenvalues of the 6x6 stiffness (the Kelvin moduli) and the
  singular values of the 3x6 piezo matrix are invariant under rotation. The Voigt 6x6 matrix is
  congruent to the Mandel one, so its positive-definiteness (Born stability) is the same.

:func:`derived_properties` collects the quantities of one kind for display.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from gmtnet.kinds import TensorKind, get_kind
from gmtnet.kinds.elastic import MANDEL_SCALE, from_mandel
from gmtnet.kinds.elastic import to_mandel as _mandel
from gmtnet.kinds.piezoelectric import strain_tensor
from gmtnet.tensors import to_voigt

__all__ = [
    "TPA_PER_GPA",
    "MANDEL_SCALE",
    "Extremum",
    "DerivedValue",
    "fibonacci_sphere",
    "canonical_sign",
    "principal_axes",
    "dielectric_principal",
    "average_dielectric",
    "refractive_indices",
    "average_refractive_index",
    "birefringence",
    "dielectric_along",
    "longitudinal_piezo",
    "piezo_eij_max",
    "piezo_operator_norm",
    "max_longitudinal_piezo",
    "piezo_strain_coefficients",
    "to_mandel",
    "compliance",
    "stiffness_eigenvalues",
    "is_mechanically_stable",
    "elastic_moduli",
    "young_modulus",
    "linear_compressibility",
    "shear_modulus",
    "poisson_ratio",
    "elastic_extrema",
    "derived_properties",
    "properties_table",
]

#: 1/GPa -> 1/TPa: linear compressibility is shown in TPa⁻¹, as ELATE does.
TPA_PER_GPA = 1.0e3



@dataclass(frozen=True)
class Extremum:
    """A minimum or maximum of a directional quantity.

    Attributes:
        value: the extremal value, in the quantity's unit.
        n: ``(3,)`` unit vector (structure frame) where it is reached; ``-n`` is equivalent for the
            even quantities (E, β, G, ν), not for the odd longitudinal piezo response.
        m: ``(3,)`` second unit vector, ⟂ ``n`` (shear modulus, Poisson ratio), else ``None``.
    """

    value: float
    n: np.ndarray
    m: np.ndarray | None = None


@dataclass(frozen=True)
class DerivedValue:
    """One displayed quantity: a value, its unit and, where it has any, its direction(s).

    Attributes:
        value: float, bool (a yes/no check), or ``(k,)`` array (e.g. three principal values).
        unit: unit string (``""`` for dimensionless).
        direction: ``(3,)`` unit vector or ``(k, 3)`` unit vectors (one per value), structure frame.
        direction2: second ``(3,)`` unit vector (⟂ ``direction``), for shear modulus / Poisson ratio.
        note: short explanation shown as a tooltip or footnote.
    """

    value: float | bool | np.ndarray
    unit: str = ""
    direction: np.ndarray | None = None
    direction2: np.ndarray | None = None
    note: str = ""


# --------------------------------------------------------------------------- sphere search


def fibonacci_sphere(n: int) -> np.ndarray:
    """``(n, 3)`` nearly uniform unit vectors on the sphere (golden-angle spiral)."""
    if n < 1:
        raise ValueError(f"n must be a positive number of points, got {n}")
    i = np.arange(n) + 0.5
    z = 1.0 - 2.0 * i / n
    r = np.sqrt(1.0 - z * z)
    phi = math.pi * (3.0 - math.sqrt(5.0)) * i
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=-1)


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def canonical_sign(v: np.ndarray) -> np.ndarray:
    """±v with its largest-magnitude component positive: a stable choice for axes (v ≡ −v)."""
    v = np.asarray(v, dtype=float)
    return v if v[np.argmax(np.abs(v))] >= 0 else -v


def _cross3(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """u × v for two ``(3,)`` vectors: np.cross's own formula without its axis handling, which was a
    third of the extremum searches' time (thousands of calls on single vectors)."""
    return np.array([u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]])


def _perpendicular_basis(n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors a, b with (a, b, n) right-handed and orthonormal."""
    helper = np.eye(3)[np.argmin(np.abs(n))]
    a = _unit(_cross3(n, helper))
    return a, _cross3(n, a)


def _refine_direction(f: Callable[[np.ndarray], float], n0: np.ndarray, sign: float) -> tuple[float, np.ndarray]:
    """Polish a sampled extremum of f on the unit sphere; returns (f, n).

    f is evaluated on v/|v|, so the search is unconstrained in 3D (the radial direction is flat).
    """
    res = minimize(lambda v: sign * f(_unit(v)), n0, method="BFGS", options={"gtol": 1e-10})
    n = _unit(res.x)
    best = f(n)
    # The sample can already be the better point when the optimiser wanders off a flat region.
    return (best, n) if sign * best <= sign * f(n0) else (f(n0), n0)


#: Starting points refined per extremum search: the best samples from separate basins (3: the
#: fewest that find every extremum of the dense-grid test; one start missed 9 of 464 tensor ×
#: quantity cases of the test split, e.g. Cu E_min, and each start costs ~50 ms per quantity).
N_STARTS = 3
#: Two samples closer than this angle (degrees) count as one basin.
_BASIN_DEG = 20.0


def _distinct_best(order: np.ndarray, dirs: np.ndarray, k: int, axis: bool = True) -> list[int]:
    """Indices of up to ``k`` best samples (``order``: best first) at least :data:`_BASIN_DEG`
    apart; with ``axis`` n and −n count as the same direction."""
    cos_max = math.cos(math.radians(_BASIN_DEG))
    picked: list[int] = []
    for i in order:
        d = dirs[i]
        if all((abs(float(d @ dirs[j])) if axis else float(d @ dirs[j])) < cos_max for j in picked):
            picked.append(int(i))
            if len(picked) == k:
                break
    return picked


def _sphere_extremum(f_batch: Callable[[np.ndarray], np.ndarray], sign: float, n_samples: int, axis: bool = True) -> Extremum:
    """min (sign=+1) or max (sign=-1) of a directional function: dense sampling, then BFGS from
    the best samples of :data:`N_STARTS` separate basins; the best refined point wins."""
    pts = fibonacci_sphere(n_samples)
    vals = f_batch(pts)
    order = np.argsort(sign * vals, kind="stable")[: max(50, 10 * N_STARTS)]
    best = None
    for i in _distinct_best(order, pts, N_STARTS, axis=axis):
        value, n = _refine_direction(lambda v: float(f_batch(v[None])[0]), pts[i], sign)
        if best is None or sign * value < sign * best[0]:
            best = (value, n)
    value, n = best
    return Extremum(float(value), canonical_sign(n) if axis else n)


def _pair_directions(n: np.ndarray, psi: np.ndarray) -> np.ndarray:
    """``(k, 3)`` unit vectors m ⟂ n at angles ``psi`` (radians) around n."""
    a, b = _perpendicular_basis(n)
    return np.cos(psi)[:, None] * a + np.sin(psi)[:, None] * b


def _pair_extremum(
    f_pairs: Callable[[np.ndarray, np.ndarray], np.ndarray], sign: float, n_dirs: int, n_angles: int
) -> Extremum:
    """Extremum of f(n, m) over perpendicular unit pairs: sample n and m's angle, then refine.

    f must be even in n and in m (true for shear modulus and Poisson ratio), so the angle of m
    around n is sampled on [0, π) only.
    """
    ns = fibonacci_sphere(n_dirs)
    psi = np.linspace(0.0, math.pi, n_angles, endpoint=False)
    # _pair_directions for every n at once (the same arithmetic, row by row).
    a = _unit(np.cross(ns, np.eye(3)[np.argmin(np.abs(ns), axis=1)]))
    b = np.cross(ns, a)
    ms = np.cos(psi)[None, :, None] * a[:, None, :] + np.sin(psi)[None, :, None] * b[:, None, :]  # (n_dirs, n_angles, 3)
    nn = np.broadcast_to(ns[:, None, :], ms.shape)
    vals = f_pairs(nn.reshape(-1, 3), ms.reshape(-1, 3)).reshape(n_dirs, n_angles)
    # Best angle per direction, then the best directions from separate basins as starts.
    j_best = np.argmin(sign * vals, axis=1)
    per_dir = vals[np.arange(n_dirs), j_best]
    order = np.argsort(sign * per_dir, kind="stable")[: max(50, 10 * N_STARTS)]
    best = None
    for i in _distinct_best(order, ns, N_STARTS):
        j = j_best[i]
        value, n, m = _refine_pair(f_pairs, sign, ns[i], psi[j], ms[i, j], float(vals[i, j]))
        if best is None or sign * value < sign * best[0]:
            best = (value, n, m)
    value, n, m = best
    return Extremum(value, canonical_sign(n), canonical_sign(m))


def _refine_pair(f_pairs, sign: float, n0: np.ndarray, psi0: float, m0: np.ndarray, v0: float):
    """BFGS on (n, angle of m around n) from one start; returns ``(value, n, m)``."""
    a0, _ = _perpendicular_basis(n0)

    def pair(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # m is kept ⟂ n by building it in the plane ⟂ n from a basis that follows n smoothly.
        n = _unit(x[:3])
        a = _unit(a0 - np.dot(a0, n) * n)
        b = _cross3(n, a)
        return n, math.cos(x[3]) * a + math.sin(x[3]) * b

    def objective(x: np.ndarray) -> float:
        n, m = pair(x)
        return sign * float(f_pairs(n[None], m[None])[0])

    res = minimize(objective, np.append(n0, psi0), method="BFGS", options={"gtol": 1e-10})
    n, m = pair(res.x)
    if res.fun > sign * v0:  # res.fun is already sign·f
        n, m = n0, m0
    return float(f_pairs(n[None], m[None])[0]), n, m


# --------------------------------------------------------------------------- dielectric


def _check(tensor: np.ndarray, kind: str | TensorKind) -> np.ndarray:
    k = get_kind(kind)
    t = np.asarray(tensor, dtype=float)
    if t.shape != k.shape:
        raise ValueError(f"{k.name} tensor must have shape {k.shape}, got {t.shape}")
    return t


def principal_axes(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending, the matrix's unit) and unit eigenvectors as **rows** of a symmetric
    ``(3, 3)`` matrix (sign chosen with the largest component positive), structure frame."""
    w, v = np.linalg.eigh(0.5 * (matrix + matrix.T))
    return w, np.stack([canonical_sign(v[:, i]) for i in range(3)])


def dielectric_principal(eps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Principal values and axes of a dielectric tensor.

    Args:
        eps: ``(3, 3)`` dielectric tensor (dimensionless), structure frame.

    Returns:
        ``(values, axes)``: ``(3,)`` eigenvalues ascending (dimensionless) and ``(3, 3)`` unit
        vectors as **rows**, ``axes[i]`` belonging to ``values[i]`` (sign chosen with the largest
        component positive).
    """
    return principal_axes(_check(eps, "dielectric"))


def average_dielectric(eps: np.ndarray) -> float:
    """Orientational average ε̄ = tr(ε)/3 (dimensionless)."""
    return float(np.trace(_check(eps, "dielectric")) / 3.0)


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
    return np.einsum("...i,ij,...j->...", n, np.asarray(eps, dtype=float), n)


# --------------------------------------------------------------------------- piezoelectric


def longitudinal_piezo(e: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Longitudinal response e(n) = e_ijk n_i n_j n_k in C/m² for ``(..., 3)`` unit vectors.

    Odd in n: e(−n) = −e(n), so its maximum is ≥ 0 and equals max |e(n)|.
    """
    return np.einsum("...i,ijk,...j,...k->...", n, np.asarray(e, dtype=float), n, n)


def piezo_eij_max(e: np.ndarray) -> tuple[float, np.ndarray]:
    """"e_ij max": the largest singular value of the 3x6 IEEE Voigt matrix.

    (The bundled source's own ``eij_max`` column follows neither this nor the longitudinal maximum
    for most rows, so it is not shown as a reference; see notebook 02.)

    Args:
        e: ``(3, 3, 3)`` piezoelectric stress tensor in C/m².

    Returns:
        ``(value, direction)``: value in C/m² and the ``(3,)`` left singular vector (the field /
        polarisation direction) in the tensor's frame.

    The Voigt matrix acts on engineering strain, which is not an orthonormal coordinate system, so
    this value changes when the tensor is rotated. It is meant in the IEEE frame: rotate with :func:`gmtnet.tensors.to_ieee_frame` first to compare (``derived_properties`` does
    this when given the structure). :func:`piezo_operator_norm` is the frame-independent variant.
    """
    u, s, _ = np.linalg.svd(to_voigt(_check(e, "piezoelectric"), "piezoelectric", "ieee"))
    return float(s[0]), canonical_sign(u[:, 0])


def piezo_operator_norm(e: np.ndarray) -> tuple[float, np.ndarray]:
    """Largest polarisation per unit strain: max |P| over strains of unit Frobenius norm, in C/m².

    The largest singular value of the Mandel-scaled 3x6 matrix (shear columns × √2), so
    rotation-invariant. Returns ``(value, direction)`` with the ``(3,)`` polarisation direction.
    """
    v = to_voigt(_check(e, "piezoelectric"), "piezoelectric", "ieee") * MANDEL_SCALE
    u, s, _ = np.linalg.svd(v)
    return float(s[0]), canonical_sign(u[:, 0])


def max_longitudinal_piezo(e: np.ndarray, n_samples: int = 2000) -> Extremum:
    """max_n e(n) (C/m²) over unit vectors and the direction n where it is reached.

    Sampled on ``n_samples`` points of a Fibonacci sphere, then refined with BFGS. Not sign
    canonicalised: e(n) is odd, so ``n`` is the direction of the positive maximum.
    """
    t = _check(e, "piezoelectric")
    return _sphere_extremum(lambda n: longitudinal_piezo(t, n), -1.0, n_samples, axis=False)


def piezo_strain_coefficients(e: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Piezoelectric strain coefficients d = e·S as a 3x6 IEEE Voigt matrix in pC/N.

    Args:
        e: ``(3, 3, 3)`` piezoelectric stress tensor in C/m², structure frame.
        c: ``(3, 3, 3, 3)`` stiffness in GPa, same frame.

    Returns:
        ``(3, 6)`` d_iJ in pC/N (IEEE order xx, yy, zz, yz, xz, xy), in the strain convention of
        Materials Project and the IEEE standard: d_iJ = d_ijk for J = 1..3 and 2·d_ijk for
        J = 4..6 (engineering shear strain). d_ijk = e_ilm s_lmjk with s = C⁻¹ in 1/GPa, so
        C/m² · m²/GN = 1e-9 C/N = 1e3 pC/N per unit. All NaN when C is not invertible.
    """
    d = strain_tensor(_check(e, "piezoelectric"), compliance(c))
    v = to_voigt(d, "piezoelectric", "ieee")
    return v * np.array([1.0, 1.0, 1.0, 2.0, 2.0, 2.0])


# --------------------------------------------------------------------------- elastic


def to_mandel(c: np.ndarray) -> np.ndarray:
    """``(6, 6)`` Mandel (Kelvin) stiffness in GPa, IEEE order: Voigt C_IJ · w_I · w_J, w = (1,1,1,√2,√2,√2)."""
    return _mandel(_check(c, "elastic"))


def stiffness_eigenvalues(c: np.ndarray) -> np.ndarray:
    """The six Kelvin moduli (eigenvalues of the Mandel stiffness), GPa, ascending.

    Rotation-invariant (the Voigt-matrix eigenvalues are not). Cubic: 3K = C11+2C12 (once),
    C11−C12 (twice), 2C44 (three times).
    """
    m = to_mandel(c)
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
    m = to_mandel(c)
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

    t = _check(c, "elastic")
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
    t = _check(c, "elastic")
    if not is_mechanically_stable(t):
        return {}
    s = compliance(t)
    out: dict[str, Extremum] = {}
    for name, f in (("young", young_modulus), ("compressibility", linear_compressibility)):
        out[f"{name}_min"] = _sphere_extremum(lambda n, f=f: f(s, n), 1.0, n_samples)
        out[f"{name}_max"] = _sphere_extremum(lambda n, f=f: f(s, n), -1.0, n_samples)
    for name, f in (("shear", shear_modulus), ("poisson", poisson_ratio)):
        out[f"{name}_min"] = _pair_extremum(lambda n, m, f=f: f(s, n, m), 1.0, n_pair_dirs, n_angles)
        out[f"{name}_max"] = _pair_extremum(lambda n, m, f=f: f(s, n, m), -1.0, n_pair_dirs, n_angles)
    return out


# --------------------------------------------------------------------------- collection


def derived_properties(tensor: np.ndarray, kind: str | TensorKind, structure=None,
                       extrema: bool = True) -> dict[str, DerivedValue]:
    """All derived quantities of one tensor, for display.

    Args:
        tensor: full-rank tensor of ``kind`` in the structure's Cartesian frame, kind's units.
        kind: a registered kind (name or object); the kind decides what is derived
            (:meth:`gmtnet.kinds.TensorKind.derived_properties`).
        structure: optional pymatgen Structure the tensor belongs to; only used to evaluate the
            piezoelectric "e_ij max" in the IEEE frame, as Materials Project does.

        extrema: for an elastic tensor, include the directional extrema of E, β, G and ν
            (:func:`elastic_extrema`, a search over directions: 0.2-0.5 s per tensor on one core,
            most of the cost of this function); False leaves those eight rows out.
    Returns:
        name → :class:`DerivedValue` (value, unit, directions as unit vectors in the structure
        frame). An unstable or singular stiffness gives ``"mechanically stable" = 0`` and NaN for
        what needs the compliance; it never raises.
    """
    k = get_kind(kind)
    return k.derived_properties(_check(tensor, k), structure, extrema=extrema)


def _fmt_vector(v: np.ndarray | None) -> str:
    if v is None:
        return ""
    v = np.asarray(v)
    if v.ndim == 1:
        return "[" + ", ".join(f"{x:+.3f}" for x in v) + "]"
    return "; ".join(_fmt_vector(row) for row in v)


def properties_table(props: dict[str, DerivedValue], digits: int = 4) -> list[dict[str, str]]:
    """Rows ``{"quantity", "value", "unit", "direction", "note"}`` of strings, for a table widget.

    Vectors are printed as structure-frame unit vectors; for pair quantities the direction reads
    ``n ⟂ m``.
    """
    rows = []
    for name, d in props.items():
        val = np.atleast_1d(np.asarray(d.value, dtype=float))
        text = ("yes" if d.value else "no") if isinstance(d.value, bool) else ", ".join("NaN" if not np.isfinite(x) else f"{x:.{digits}g}" for x in val)
        direction = _fmt_vector(d.direction)
        if d.direction2 is not None:
            direction = f"n = {direction} ⟂ m = {_fmt_vector(d.direction2)}"
        rows.append({"quantity": name, "value": text, "unit": d.unit, "direction": direction, "note": d.note})
    return rows
