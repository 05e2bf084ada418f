"""The registry of tensor kinds: one entry per predicted property.

Everything that depends on *which* tensor is predicted (the model head's irreps, the loss scale,
the Voigt form used by the metrics, the units shown in the app) reads it from here, so that a new
kind is one new entry.

Conventions used throughout the project
---------------------------------------
* Tensors are stored **full rank** (3x3, 3x3x3, 3x3x3x3) in the Cartesian frame of the crystal
  structure they belong to, in the units given by :attr:`TensorKind.unit`.
* Voigt forms name their order explicitly: ``"ieee"`` (IEEE 176 / pymatgen / Materials Project:
  xx, yy, zz, yz, xz, xy) or ``"vasp"`` (VASP / JARVIS / GMTNet: xx, yy, zz, xy, yz, xz).
* For the three kinds here the Voigt map carries no numerical factors: the piezoelectric *stress*
  constants e_iJ = e_ijk (C/m^2) and the *stiffness* C_IJ = C_ijkl (GPa). (Factors of 2 and 4 would
  appear for strain-type coefficients d and compliances s, which this project does not predict.)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TensorKind", "KINDS", "get_kind", "DATASETS"]


@dataclass(frozen=True)
class TensorKind:
    """Description of one predicted tensor property.

    Attributes:
        name: registry key, e.g. ``"elastic"``.
        title: human-readable name.
        symbol: symbol used in tables and plots.
        rank: tensor rank (2, 3 or 4).
        formula: intrinsic index symmetry in e3nn ``CartesianTensor`` notation.
        irreps: O(3) irreps spanned by tensors with that index symmetry (parity ``e``/``o``).
        unit: physical unit of every component ("" for dimensionless).
        voigt_shape: shape of the Voigt matrix (rows, columns).
        voigt_prefix: letter used for Voigt component names (``C11``, ``e15``).
        dataset: name of the bundled dataset holding the labels.
        column: column of :func:`gmtnet.data.load_dataset` holding the labels.
    """

    name: str
    title: str
    symbol: str
    rank: int
    formula: str
    irreps: str
    unit: str
    voigt_shape: tuple[int, int]
    voigt_prefix: str
    dataset: str
    column: str

    @property
    def shape(self) -> tuple[int, ...]:
        """Full-rank Cartesian shape, ``(3,) * rank``."""
        return (3,) * self.rank

    @property
    def unit_label(self) -> str:
        """Unit for display; ``"dimensionless"`` when there is none."""
        return self.unit or "dimensionless"


KINDS: dict[str, TensorKind] = {
    k.name: k
    for k in (
        TensorKind(
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
        ),
        TensorKind(
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
        ),
        TensorKind(
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
        ),
        TensorKind(
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
        ),
    )
}

#: The three bundled datasets (a dataset may feed several kinds).
DATASETS: tuple[str, ...] = ("dielectric", "piezoelectric", "elastic")


def get_kind(kind: str | TensorKind) -> TensorKind:
    """Return the registry entry for ``kind`` (a name or a :class:`TensorKind`).

    Raises:
        ValueError: if the name is not registered.
    """
    if isinstance(kind, TensorKind):
        return kind
    try:
        return KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown tensor kind {kind!r}; expected one of {sorted(KINDS)}") from None
