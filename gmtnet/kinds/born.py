"""The Born effective charge Z*_κ (units of e): one 3x3 tensor per atom.

Z*_κ,iα = Ω/e ∂P_i/∂u_κα: the polarisation along i per displacement of atom κ along α. The
**first index is the field (polarisation) direction i, the second the displacement α** — ABINIT's
convention and that of the DFPT labels (:func:`gmtnet.data.load_dfpt`, column ``born_charges``; see
the data card). Under an orthogonal change of frame R (rotation or reflection) both indices are
polar vectors: Z* → R Z* Rᵀ. The tensor has no index symmetry (formula ``"ij"``: irreps
0e+1e+2e, the antisymmetric 1e part is allowed where the site symmetry allows it) and no
admissibility bound. Physics the prediction obeys exactly (:mod:`gmtnet.models.per_atom`):

* each Z*_κ is invariant under its atom's site-symmetry group, and symmetry-equivalent atoms are
  rotated copies of each other (:class:`gmtnet.symmetry.SiteSymmetry`);
* the acoustic sum rule Σ_κ Z*_κ = 0 (charge neutrality: a rigid translation creates no
  polarisation), imposed by subtracting the mean over the crystal's atoms.

The kind is always registered; it is *installed* (loaded by :class:`gmtnet.predict.Predictor`,
listed by :func:`gmtnet.predict.installed_kinds`) only while its weights exist in
``gmtnet/resources/weights/born``.
"""

from __future__ import annotations

from gmtnet.kinds.base import TensorKind

__all__ = ["BORN", "DFPT_DATASET"]

#: The bundled dataset holding the Z* labels (:data:`gmtnet.data.DFPT_DATASET`; repeated here
#: because :mod:`gmtnet.data` imports the registry, not the other way round).
DFPT_DATASET = "dielectric_dfpt"

BORN = TensorKind(
    name="born",
    title="Born effective charge",
    symbol="Z*",
    rank=2,
    formula="ij",
    irreps="1x0e+1x1e+1x2e",
    unit="e",
    dataset=DFPT_DATASET,
    column="born_charges",
    per_atom=True,
    sum_rule=True,
    insulators_only=True,
)
