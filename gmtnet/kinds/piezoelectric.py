"""The piezoelectric stress tensor e_ijk (C/m²): polarisation per unit strain.

Rank 3, symmetric in the strain pair (``ijk=ikj``), Voigt form 3x6 e_iJ = e_ijk (no factors).
No admissibility bound. Pairs with the elastic stiffness: the strain coefficients
d = e·S (:func:`strain_tensor`, the one place that product is written) need C's compliance.

The physics of e lives here: the longitudinal response e(n) and its maximum (BFGS-refined for
display, :func:`max_longitudinal` by a power iteration for screening), e_ij max and the
frame-independent operator norm, d = e·S; :mod:`gmtnet.properties` and :mod:`gmtnet.scalars`
re-export these functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gmtnet.frames import ieee_rotation, rotate
from gmtnet.kinds.base import DerivedValue, ScalarColumn, SurfaceQuantity, TensorKind
from gmtnet.kinds.elastic import MANDEL_SCALE, compliance, from_mandel, to_mandel
from gmtnet.sphere import Extremum, canonical_sign, fibonacci_sphere, sphere_extremum

__all__ = [
    "PC_PER_N_PER_C_M2_GPA",
    "strain_tensor",
    "longitudinal_piezo",
    "piezo_eij_max",
    "piezo_operator_norm",
    "max_longitudinal_piezo",
    "piezo_strain_coefficients",
    "max_longitudinal",
    "piezo_strain_tensor",
    "PiezoelectricKind",
    "PIEZOELECTRIC",
]

#: e (C/m²) times compliance (1/GPa) is in C/(m²·GPa) = 1e-9 C/N = 1e3 pC/N.
PC_PER_N_PER_C_M2_GPA = 1.0e3


def strain_tensor(e: np.ndarray, s: np.ndarray) -> np.ndarray:
    """d_ijk = e_ilm s_lmjk in pC/N, full rank, from e (C/m²) and the full-rank compliance s
    (1/GPa, the plain tensor: no Voigt factors), same frame."""
    return PC_PER_N_PER_C_M2_GPA * np.einsum("ilm,lmjk->ijk", np.asarray(e, dtype=float), s)


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
    u, s, _ = np.linalg.svd(PIEZOELECTRIC.to_voigt(PIEZOELECTRIC.check_single(e), "ieee"))
    return float(s[0]), canonical_sign(u[:, 0])


def piezo_operator_norm(e: np.ndarray) -> tuple[float, np.ndarray]:
    """Largest polarisation per unit strain: max |P| over strains of unit Frobenius norm, in C/m².

    The largest singular value of the Mandel-scaled 3x6 matrix (shear columns × √2), so
    rotation-invariant. Returns ``(value, direction)`` with the ``(3,)`` polarisation direction.
    """
    v = PIEZOELECTRIC.to_voigt(PIEZOELECTRIC.check_single(e), "ieee") * MANDEL_SCALE
    u, s, _ = np.linalg.svd(v)
    return float(s[0]), canonical_sign(u[:, 0])


def max_longitudinal_piezo(e: np.ndarray, n_samples: int = 2000) -> Extremum:
    """max_n e(n) (C/m²) over unit vectors and the direction n where it is reached.

    Sampled on ``n_samples`` points of a Fibonacci sphere, then refined with BFGS. Not sign
    canonicalised: e(n) is odd, so ``n`` is the direction of the positive maximum.
    """
    t = PIEZOELECTRIC.check_single(e)
    return sphere_extremum(lambda n: longitudinal_piezo(t, n), -1.0, n_samples, axis=False)


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
    d = strain_tensor(PIEZOELECTRIC.check_single(e), compliance(c))
    v = PIEZOELECTRIC.to_voigt(d, "ieee")
    return v * np.array([1.0, 1.0, 1.0, 2.0, 2.0, 2.0])


_SPHERE = fibonacci_sphere(512)


def max_longitudinal(t: np.ndarray, iterations: int = 200) -> float:
    """max over unit vectors n of t_ijk n_i n_j n_k for a ``(3, 3, 3)`` tensor (its unit).

    The cubic form only sees the fully symmetric part of t. Dense sampling picks starting points,
    then the shifted symmetric higher-order power method (Kolda & Mayo 2011), which increases the
    form monotonically to a local maximum, polishes the best few. Same value as
    :func:`max_longitudinal_piezo` (sampling + BFGS) at ~1/50 of the cost.
    The form is odd in n, so the maximum is ≥ 0.
    """
    t = np.asarray(t, dtype=float)
    sym = (t + t.transpose(0, 2, 1) + t.transpose(1, 0, 2) + t.transpose(1, 2, 0)
           + t.transpose(2, 0, 1) + t.transpose(2, 1, 0)) / 6.0
    scale = float(np.linalg.norm(sym))
    if scale == 0.0:
        return 0.0
    vals = np.einsum("ijk,ni,nj,nk->n", sym, _SPHERE, _SPHERE, _SPHERE)
    n = _SPHERE[np.argsort(vals)[-4:]]
    # Shift above (m − 1)·max ρ(t·n) (≤ 2‖t‖_F for m = 3): then no step decreases the form.
    alpha = 2.0 * scale
    for _ in range(iterations):
        g = np.einsum("ijk,nj,nk->ni", sym, n, n) + alpha * n
        new = g / np.linalg.norm(g, axis=1, keepdims=True)
        if np.abs(new - n).max() < 1e-12:
            n = new
            break
        n = new
    best = np.einsum("ijk,ni,nj,nk->n", sym, n, n, n).max()
    return float(max(best, vals.max(), 0.0))


def piezo_strain_tensor(e: np.ndarray, c: np.ndarray) -> np.ndarray | None:
    """d_ijk = e_ilm s_lmjk in pC/N from e (C/m²) and C (GPa), same frame; None if C is singular
    or not positive definite."""
    v = to_mandel(np.asarray(c, dtype=float))
    w = np.linalg.eigvalsh(0.5 * (v + v.T))
    if w[0] <= 1e-8:
        return None
    # Mandel inverse is the plain inverse; from_mandel undoes the √2 weights to give s_ijkl.
    return strain_tensor(e, from_mandel(np.linalg.inv(v)))


@dataclass(frozen=True, eq=False)
class PiezoelectricKind(TensorKind):
    """e: longitudinal response surfaces and maxima; d = e·S with the partner ``elastic``."""

    scalar_columns = (
        ScalarColumn("e_long_max", "C/m²", "max over unit n of e_ijk n_i n_j n_k (longitudinal piezo response)"),
        ScalarColumn("d_long_max", "pC/N", "max over unit n of d_ijk n_i n_j n_k, d = e·s with the predicted elastic "
                     "compliance s (only when elastic is screened too and C is Born stable)"),
    )
    surface_quantities = (
        SurfaceQuantity("longitudinal_piezo", (), "longitudinal e(n) = e_ijk n_i n_j n_k", "C/m²", signed=True),
    )

    def scalars(self, tensor, partners=None) -> dict:
        t = np.asarray(tensor, dtype=float)
        elastic = None if not partners else partners.get(self.scalar_partners[0])
        d = None if elastic is None else piezo_strain_tensor(t, elastic)
        return {"e_long_max": max_longitudinal(t), "d_long_max": math.nan if d is None else max_longitudinal(d)}

    def surface_function(self, tensor, quantity):
        if quantity != "longitudinal_piezo":
            return super().surface_function(tensor, quantity)
        t = np.asarray(tensor, dtype=float)
        return lambda n: longitudinal_piezo(t, n)

    def derived_properties(self, tensor, structure=None, extrema=True) -> dict:
        e = np.asarray(tensor, dtype=float)
        if structure is not None:
            r = ieee_rotation(structure)
            value, u = piezo_eij_max(rotate(e, r))
            u = canonical_sign(r.T @ u)  # back to the structure frame
            note = "largest singular value of the IEEE-frame Voigt matrix"
        else:
            value, u = piezo_eij_max(e)
            note = "largest singular value of the Voigt matrix in the given frame (frame-dependent)"
        norm, p = piezo_operator_norm(e)
        longi = max_longitudinal_piezo(e)
        return {
            "e_ij max": DerivedValue(value, self.unit, u, note=note),
            "max |P| per unit strain": DerivedValue(norm, self.unit, p, note="largest singular value of the Mandel-scaled matrix (frame-independent)"),
            "max longitudinal e(n)": DerivedValue(longi.value, self.unit, longi.n, note="max over n of e_ijk n_i n_j n_k"),
        }

    def paired_tensors(self, tensor, partners) -> dict:
        """d = e·S (3x6 IEEE Voigt, pC/N, shear columns × 2: the strain convention) from the
        predicted C; all NaN when C is not invertible."""
        c = partners.get("elastic")
        if c is None:
            return {}
        note = ("from the predicted e and the predicted C; Voigt columns with the strain convention "
                "(shear columns × 2)")
        return {"Piezoelectric strain coefficients d = e·S": (piezo_strain_coefficients(tensor, c), "pC/N", note)}

    def to_pymatgen(self, tensor):
        from pymatgen.analysis.piezo import PiezoTensor

        return PiezoTensor(np.array(tensor, dtype=np.float64))


PIEZOELECTRIC = PiezoelectricKind(
    name="piezoelectric",
    title="Piezoelectric stress tensor (electronic + ionic)",
    symbol="e",
    rank=3,
    formula="ijk=ikj",
    irreps="1o+1o+2o+3o",
    unit="C/m²",
    voigt_shape=(3, 6),
    voigt_prefix="e",
    dataset="piezoelectric",
    column="tensor",
    scalar_partners=("elastic",),
    insulators_only=True,
)
