"""The piezoelectric stress tensor e_ijk (C/m²): polarisation per unit strain.

Rank 3, symmetric in the strain pair (``ijk=ikj``), Voigt form 3x6 e_iJ = e_ijk (no factors).
No admissibility bound. Pairs with the elastic stiffness: the strain coefficients
d = e·S (:func:`strain_tensor`, the one place that product is written) need C's compliance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gmtnet.kinds.base import ScalarColumn, SurfaceQuantity, TensorKind

__all__ = ["PC_PER_N_PER_C_M2_GPA", "PiezoelectricKind", "PIEZOELECTRIC", "strain_tensor"]

#: e (C/m²) times compliance (1/GPa) is in C/(m²·GPa) = 1e-9 C/N = 1e3 pC/N.
PC_PER_N_PER_C_M2_GPA = 1.0e3


def strain_tensor(e: np.ndarray, s: np.ndarray) -> np.ndarray:
    """d_ijk = e_ilm s_lmjk in pC/N, full rank, from e (C/m²) and the full-rank compliance s
    (1/GPa, the plain tensor: no Voigt factors), same frame."""
    return PC_PER_N_PER_C_M2_GPA * np.einsum("ilm,lmjk->ijk", np.asarray(e, dtype=float), s)


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
        from gmtnet.scalars import max_longitudinal, piezo_strain_tensor

        t = np.asarray(tensor, dtype=float)
        elastic = None if not partners else partners.get(self.scalar_partners[0])
        d = None if elastic is None else piezo_strain_tensor(t, elastic)
        return {"e_long_max": max_longitudinal(t), "d_long_max": math.nan if d is None else max_longitudinal(d)}

    def surface_function(self, tensor, quantity):
        if quantity != "longitudinal_piezo":
            return super().surface_function(tensor, quantity)
        from gmtnet.properties import longitudinal_piezo

        t = np.asarray(tensor, dtype=float)
        return lambda n: longitudinal_piezo(t, n)

    def derived_properties(self, tensor, structure=None, extrema=True) -> dict:
        from gmtnet.properties import (DerivedValue, canonical_sign, max_longitudinal_piezo, piezo_eij_max,
                                       piezo_operator_norm)
        from gmtnet.tensors import rotate

        e = np.asarray(tensor, dtype=float)
        if structure is not None:
            from gmtnet.tensors import ieee_rotation

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
        from gmtnet.properties import piezo_strain_coefficients

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
