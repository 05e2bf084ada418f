"""Configuration of the from-scratch models: :class:`ModelConfig`, saved as JSON beside the weights.

This module imports no torch: a config is read, validated and written without building a model.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from gmtnet.graph import DEFAULT_NUM_NEIGHBORS
from gmtnet.kinds import KINDS, TensorKind

__all__ = ["ARCHITECTURES", "ModelConfig"]

#: Architectures :func:`gmtnet.models.build_model` knows.
ARCHITECTURES = ("gmtnet", "megnet", "etgnn")


@dataclass
class ModelConfig:
    """The few knobs a model is built from; saved as JSON beside the weights.

    Attributes:
        kind: tensor-kind registry name (:data:`gmtnet.kinds.KINDS`).
        architecture: ``"gmtnet"``, ``"megnet"`` or ``"etgnn"``.
        hidden_scalars: width of the invariant atom/edge (and MEGNet global) features.
        num_invariant_layers: gated invariant message-passing layers (GMTNet, ETGNN).
        num_equivariant_layers: equivariant layers of GMTNet, the last one being the output layer
            (≥ 2 for piezoelectric, whose 2o part needs two tensor products). The baselines use
            ``num_invariant_layers + num_equivariant_layers`` invariant layers (same depth).
        equivariant_scalars: multiplicity of 0e in GMTNet's hidden equivariant features.
        hidden_mul: multiplicity of each l ≥ 1 hidden irrep (both parities) and of each output
            irrep of the last equivariant layer.
        lmax_hidden: largest l of the hidden equivariant features.
        lmax: largest l of the edge spherical harmonics (4 reaches the 4e part of C directly).
        num_basis: number of Bessel radial basis functions.
        r_max: cutoff of the radial basis in Å; edges longer than this carry no message. It is
            well beyond the 16-th neighbour distance of solids (3–6 Å).
        radial_hidden: hidden width of the radial MLPs giving the tensor-product weights.
        num_neighbors: k of :func:`gmtnet.graph.build_graph` the model expects.
        target_scale: physical units (the kind's unit) per model output unit.
        per_atom: one tensor per atom instead of one per crystal: the node features are read out
            before pooling and projected with the site-symmetry blocks of the batch
            (:mod:`gmtnet.models.per_atom`); output ``(N_atoms, 3, ..., 3)``. A kind that says
            whether it is per atom (``kind.per_atom``) sets this.
        sum_rule: with ``per_atom``, impose Σ_κ T_κ = 0 over each crystal's atoms (the acoustic
            sum rule of Born charges) in the forward pass; a kind with ``sum_rule`` sets it.
    """

    kind: str = "dielectric"
    architecture: str = "gmtnet"
    hidden_scalars: int = 64
    num_invariant_layers: int = 2
    num_equivariant_layers: int = 3
    equivariant_scalars: int = 64
    hidden_mul: int = 16
    lmax_hidden: int = 2
    lmax: int = 4
    num_basis: int = 12
    r_max: float = 8.0
    radial_hidden: int = 96
    num_neighbors: int = DEFAULT_NUM_NEIGHBORS
    target_scale: float = 1.0
    per_atom: bool = False
    sum_rule: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.kind, TensorKind):
            self.kind = self.kind.name
        if self.kind not in KINDS:
            raise ValueError(f"unknown tensor kind {self.kind!r}; expected one of {sorted(KINDS)}")
        for name in ("per_atom", "sum_rule"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
            setattr(self, name, bool(getattr(self, name)))
        kind_per_atom = getattr(KINDS[self.kind], "per_atom", None)
        if kind_per_atom is not None and bool(kind_per_atom) != self.per_atom:
            if kind_per_atom:  # the kind decides; a saved config then records it
                self.per_atom = True
            else:
                raise ValueError(f"per_atom=True, but {self.kind!r} is one tensor per crystal")
        if getattr(KINDS[self.kind], "sum_rule", False):  # the kind's physics (Born charges): always imposed
            self.sum_rule = True
        if self.sum_rule and not self.per_atom:
            raise ValueError("sum_rule (Σ over atoms = 0) needs per_atom=True")
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"unknown architecture {self.architecture!r}; expected one of {ARCHITECTURES}")
        for name in (
            "hidden_scalars",
            "num_equivariant_layers",
            "equivariant_scalars",
            "hidden_mul",
            "lmax",
            "num_basis",
            "radial_hidden",
            "num_neighbors",
        ):
            value = getattr(self, name)
            if not (isinstance(value, (int, np.integer)) and value >= 1):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("num_invariant_layers", "lmax_hidden"):
            value = getattr(self, name)
            if not (isinstance(value, (int, np.integer)) and value >= 0):
                raise ValueError(f"{name} must be an integer ≥ 0, got {value!r}")
        for name in ("r_max", "target_scale"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive finite number, got {value!r}")
        self.r_max = float(self.r_max)
        self.target_scale = float(self.target_scale)

    @property
    def tensor_kind(self) -> TensorKind:
        """The registered kind named by :attr:`kind`: where a saved model's kind name becomes the
        object its network, ensemble and evaluation use."""
        return KINDS[self.kind]

    def to_dict(self) -> dict:
        """Plain JSON-serialisable dict of every field."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError`` (naming them)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown ModelConfig keys {unknown}; known keys are {sorted(known)}")
        return cls(**d)

