"""GMTNet's tensor head on frozen equivariant node features (e.g. :mod:`research.encoder`).

:class:`EncoderTensorHead` maps per-atom O(3) features (irreps ``irreps_in``, structure's Cartesian
frame) to one full-rank tensor per crystal:

1. a fixed per-irrep-block scale (1 / RMS over the training atoms, :meth:`fit_normalisation`),
2. per atom: an e3nn ``Linear`` onto hidden irreps (scalars of both parities, every l ≥ 1 of the
   input with both parities), then a gate nonlinearity (SiLU on 0e, tanh on 0o, sigmoid gates),
3. mean over each crystal's atoms (the tensors are intensive),
4. per crystal: a ``FullyConnectedTensorProduct`` of a narrow linear image of the pooled features
   with itself, so that irreps the encoder does not carry (3o of e, 4e of C from l ≤ 2 features)
   are reached; done after pooling, where it costs one row per crystal instead of one per atom,
5. an e3nn ``Linear`` of [pooled, product] onto the irreps of ``CartesianTensor(kind.formula)``,
   the change of basis to the Cartesian tensor (:func:`gmtnet.models.output.cartesian_change_of_basis`),
   times ``target_scale``,
6. the crystal's exact Neumann projector ``P = (1/|G|) Σ ρ(g)`` when given, as in
   :class:`gmtnet.models.output.TensorModel` (:func:`gmtnet.models.output.project_output`).

Every step is O(3)-equivariant (the features carry both parities), so the output rotates and
reflects with the structure; the projector makes the crystal's point-group form exact.

Output: ``(B, 3, ..., 3)`` float32 in the kind's unit (ε dimensionless, e C/m², C GPa), structure's
Cartesian frame (no Voigt order: full rank).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch
from e3nn import nn as enn
from e3nn import o3
from torch import nn

from gmtnet.kinds import KINDS, get_kind
from gmtnet.models.output import cartesian_change_of_basis, project_output

__all__ = ["HeadConfig", "EncoderTensorHead", "FeatureBatch", "collate_features"]


@dataclass
class HeadConfig:
    """Knobs of :class:`EncoderTensorHead` (saved as JSON beside its weights).

    Attributes:
        kind: tensor-kind registry name.
        irreps_in: e3nn irreps string of the node features (the encoder's ``irreps_out``).
        encoder: name of the encoder that produced them (:data:`research.encoder.ENCODERS`).
        scalars: 0e channels of the hidden layer (0o channels: a quarter of it).
        hidden_mul: multiplicity of every hidden l ≥ 1 irrep (both parities).
        product_mul: multiplicity of each output irrep of the tensor product.
        target_scale: physical units (the kind's unit) per model output unit.
    """

    kind: str = "dielectric"
    irreps_in: str = ""
    encoder: str = ""
    scalars: int = 32
    hidden_mul: int = 16
    product_mul: int = 8
    target_scale: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown tensor kind {self.kind!r}; expected one of {sorted(KINDS)}")
        for name in ("scalars", "hidden_mul", "product_mul"):
            v = getattr(self, name)
            if not (isinstance(v, (int, np.integer)) and v >= 1):
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if not (math.isfinite(self.target_scale) and self.target_scale > 0):
            raise ValueError(f"target_scale must be a positive finite number, got {self.target_scale!r}")
        try:
            o3.Irreps(self.irreps_in)
        except Exception as err:
            raise ValueError(f"irreps_in {self.irreps_in!r} is not an e3nn irreps string: {err}") from None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "HeadConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown HeadConfig keys {unknown}; known keys are {sorted(known)}")
        return cls(**d)


@dataclass
class FeatureBatch:
    """Node features of several crystals, concatenated.

    Attributes:
        features: ``(N_atoms, irreps_in.dim)`` float32, structure frames.
        node_graph: ``(N_atoms,)`` int64, crystal index of each atom.
        num_graphs: number of crystals B.
        projector: ``(B, 3**rank, 3**rank)`` Neumann projectors, or ``None``.
    """

    features: torch.Tensor
    node_graph: torch.Tensor
    num_graphs: int
    projector: torch.Tensor | None = None

    def to(self, device) -> "FeatureBatch":
        p = None if self.projector is None else self.projector.to(device)
        return FeatureBatch(self.features.to(device), self.node_graph.to(device), self.num_graphs, p)


def collate_features(features: list[np.ndarray], projectors: np.ndarray | None = None) -> FeatureBatch:
    """Per-crystal ``(n_i, dim)`` arrays (+ ``(B, d, d)`` projectors) -> one :class:`FeatureBatch`."""
    if not features:
        raise ValueError("collate_features needs at least one crystal")
    x = torch.from_numpy(np.concatenate(features).astype(np.float32, copy=False))
    counts = torch.tensor([len(f) for f in features])
    node_graph = torch.repeat_interleave(torch.arange(len(features)), counts)
    p = None if projectors is None else torch.as_tensor(np.asarray(projectors), dtype=torch.float32)
    return FeatureBatch(x, node_graph, len(features), p)


def _hidden_irreps(irreps_in: o3.Irreps, scalars: int, mul: int) -> tuple[o3.Irreps, o3.Irreps, o3.Irreps]:
    """(scalars, gates, gated) irreps of the gate layer: every l ≥ 1 of the input, both parities."""
    lmax = max(ir.l for _, ir in irreps_in)
    scal = o3.Irreps(f"{scalars}x0e+{max(1, scalars // 4)}x0o")
    gated = o3.Irreps([(mul, (l, p)) for l in range(1, lmax + 1) for p in ((-1) ** l, -((-1) ** l))])
    gates = o3.Irreps(f"{gated.num_irreps}x0e")
    return scal, gates, gated


class EncoderTensorHead(nn.Module):
    """Frozen-feature tensor head (see the module docstring).

    ``forward(batch: FeatureBatch) -> (B, 3, ..., 3)`` float32, kind's unit, structure frames.
    """

    def __init__(self, config: HeadConfig) -> None:
        super().__init__()
        self.config = config
        self.kind = get_kind(config.kind)
        irreps_in = o3.Irreps(config.irreps_in)
        self.irreps_in = irreps_in
        irreps_cart, q = cartesian_change_of_basis(self.kind)
        self.irreps_cartesian = irreps_cart
        scal, gates, gated = _hidden_irreps(irreps_in, config.scalars, config.hidden_mul)
        self.gate = enn.Gate(scal, [nn.functional.silu, torch.tanh], gates, [torch.sigmoid], gated)
        # The gate sorts its input irreps; the linear layer must produce them in that order.
        self.lin_in = o3.Linear(irreps_in, self.gate.irreps_in, biases=True)
        hidden = self.gate.irreps_out
        product_in = o3.Irreps([(config.product_mul, ir) for _, ir in hidden])
        product_out = o3.Irreps([(config.product_mul, ir) for ir in sorted({ir for _, ir in irreps_cart})])
        self.product_in = o3.Linear(hidden, product_in)
        self.product = o3.FullyConnectedTensorProduct(product_in, product_in, product_out)
        self.lin_out = o3.Linear(hidden + self.product.irreps_out, irreps_cart, biases=True)
        # Per input block scale (1 / RMS of its components over training atoms); 1 until fitted.
        self.register_buffer("input_scale", torch.ones(len(irreps_in)))
        index = torch.cat([torch.full((mul * ir.dim,), i) for i, (mul, ir) in enumerate(irreps_in)])
        self.register_buffer("_block_of_column", index, persistent=False)
        self.register_buffer("change_of_basis", torch.from_numpy(q.reshape(q.shape[0], -1).astype(np.float32)))
        self.dim_out = 3**self.kind.rank

    def fit_normalisation(self, features: np.ndarray) -> None:
        """Set the per-block input scale from training atoms ``(N, dim)`` (rotation invariant)."""
        x = torch.as_tensor(features, dtype=torch.float64)
        scale = []
        for sl in self.irreps_in.slices():
            rms = x[:, sl].pow(2).mean().sqrt().item()
            scale.append(1.0 / rms if rms > 1e-12 else 1.0)
        self.input_scale.copy_(torch.tensor(scale))

    def pooled_features(self, batch: FeatureBatch) -> torch.Tensor:
        """Crystal features ``(B, gate.irreps_out.dim)``: the mean over atoms of the gated layer."""
        x = batch.features * self.input_scale[self._block_of_column]
        h = self.gate(self.lin_in(x))
        counts = torch.bincount(batch.node_graph, minlength=batch.num_graphs).clamp(min=1).to(h.dtype)
        pooled = h.new_zeros((batch.num_graphs, h.shape[1])).index_add_(0, batch.node_graph, h)
        return pooled / counts.unsqueeze(1)

    def raw(self, batch: FeatureBatch) -> torch.Tensor:
        """``(B, 3**rank)`` row-major flattened tensors in model units, before projection."""
        g = self.pooled_features(batch)
        p = self.product_in(g)
        return self.lin_out(torch.cat([g, self.product(p, p)], dim=1)) @ self.change_of_basis

    def forward(self, batch: FeatureBatch) -> torch.Tensor:
        return project_output(self.raw(batch) * self.config.target_scale, batch.projector, self.kind)
