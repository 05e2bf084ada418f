"""GMTNet, after Yan et al., ICML 2024 (arXiv 2406.12888).

Invariant atom encoder (learned embedding + fixed, normalised pymatgen element descriptors),
invariant edge encoder (Bessel basis of |r| with a smooth polynomial envelope), gated invariant
message passing (:mod:`gmtnet.models.layers`), then O(3)-equivariant message passing ('uvu' tensor
products of node irreps of both parities with the real spherical harmonics (l ≤ lmax = 4) of the
edge directions, per-edge path weights from a radial MLP of the edge scalars and both atoms'
invariant features, gate nonlinearities, residual self-interaction; :mod:`gmtnet.models.equivariant`),
mean pooling over atoms, a per-irrep linear map onto the kind's irreps and e3nn's
``CartesianTensor(formula)`` change of basis (a buffer, one matmul). The tensor product is a fused
implementation on e3nn's Wigner 3j symbols and harmonics (see
:class:`~gmtnet.models.equivariant.EdgeTensorProduct`), ~5x faster on a CPU than
``o3.TensorProduct`` for these graphs. Exactly O(3)-equivariant without a projector; the graph's
complete shells make it respect the crystal's point group up to the symmetry tolerance, and the
projector (:func:`gmtnet.models.output.project_output`) makes that exact.

Output: ``(B, 3, ..., 3)`` float32 in the kind's unit, structure's Cartesian frame (full rank).
"""

from __future__ import annotations

import numpy as np
import torch
from e3nn import o3
from torch import nn

from gmtnet.graph import GraphBatch
from gmtnet.models.config import ModelConfig
from gmtnet.models.equivariant import (
    EquivariantConvolution,
    EquivariantLinear,
    Features,
    SphericalHarmonics,
    irrep_sort_key,
)
from gmtnet.models.layers import EdgeNodeLinear, InvariantEncoder, scatter_scaled
from gmtnet.models.output import TensorModel, cartesian_change_of_basis

__all__ = ["GMTNet"]


class GMTNet(TensorModel):
    """GMTNet: invariant encoder + equivariant layers + Cartesian head (see the module docstring).

    Attributes:
        irreps_hidden: hidden equivariant irreps (``{name: multiplicity}``).
        irreps_cartesian: irreps of ``CartesianTensor(kind.formula)``, the head's output, in the
            order of the rows of the ``change_of_basis`` buffer.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        c = config
        f = c.hidden_scalars
        self.encoder = InvariantEncoder(f, c.num_invariant_layers, c.num_basis, c.r_max)
        self.spherical_harmonics = SphericalHarmonics(c.lmax)

        irreps_cart, q = cartesian_change_of_basis(self.kind)
        self.irreps_cartesian = irreps_cart
        hidden = {"0e": c.equivariant_scalars}
        for l in range(1, c.lmax_hidden + 1):
            for p in ((-1) ** l, -((-1) ** l)):  # both parities, natural one first
                hidden[str(o3.Irrep(l, p))] = c.hidden_mul
        self.irreps_hidden = hidden
        cart_irs = sorted({ir for _, ir in irreps_cart}, key=irrep_sort_key)
        irreps_last = {str(ir): c.hidden_mul for ir in cart_irs}

        layers = []
        irreps: dict[str, int] = {"0e": f}
        for i in range(c.num_equivariant_layers):
            last = i == c.num_equivariant_layers - 1
            layer = EquivariantConvolution(
                irreps,
                c.hidden_mul,
                c.lmax,
                irreps_last if last else hidden,
                radial_hidden=c.radial_hidden,
                gate=not last,
                name=f"equivariant layer {i}" + (" (output)" if last else ""),
            )
            layers.append(layer)
            irreps = layer.irreps_out
        self.layers = nn.ModuleList(layers)
        # First layer of every equivariant layer's radial MLP, computed in one go.
        self.radial_in = EdgeNodeLinear(f, f, c.num_equivariant_layers * c.radial_hidden)

        # Head: per-irrep linear map of the pooled features onto the blocks of irreps_cart, in
        # its order. Blocks of the same irrep take consecutive channels of that irrep's output.
        head_out: dict[str, int] = {}
        self._head_blocks: list[tuple[str, int, int, int]] = []  # (irrep, channel start, mul, dim)
        for mul, ir in irreps_cart:
            key = str(ir)
            self._head_blocks.append((key, head_out.get(key, 0), mul, ir.dim))
            head_out[key] = head_out.get(key, 0) + mul
        self.head = EquivariantLinear(irreps, head_out, bias=True)
        head_irreps = o3.Irreps([(mul, key) for key, _, mul, _ in self._head_blocks])
        if head_irreps != irreps_cart or head_irreps.dim != q.shape[0]:
            raise ValueError(
                f"head output {head_irreps} does not match the CartesianTensor({self.kind.formula!r}) "
                f"change of basis {irreps_cart} with {q.shape[0]} rows"
            )
        # (irreps_cart.dim, 3**rank): x @ Q is the row-major flattened Cartesian tensor.
        q_flat = q.reshape(q.shape[0], -1).astype(np.float32)
        self.register_buffer("change_of_basis", torch.from_numpy(q_flat))

    def raw(self, batch: GraphBatch) -> torch.Tensor:
        src, dst, inv_degree, inv_atoms = self._graph_inputs(batch)
        length = batch.edge_vec.norm(dim=1)
        h, z, env = self.encoder(batch.atomic_numbers, length, src, dst, inv_degree)
        sh = self.spherical_harmonics(batch.edge_vec)
        radial = nn.functional.silu(self.radial_in(z, h, src, dst)).chunk(len(self.layers), dim=1)
        x: Features = {"0e": h.unsqueeze(1)}
        inv_sqrt_degree = inv_degree.sqrt()
        for layer, r in zip(self.layers, radial):
            x = layer(x, sh, r, env, src, dst, inv_sqrt_degree)
        if self.config.per_atom:  # the same head, per node: one tensor per atom
            b, pooled = batch.num_nodes, x
        else:
            b = batch.num_graphs
            pooled = {
                k: scatter_scaled(v.flatten(1), batch.node_graph, inv_atoms).view(b, *v.shape[1:])
                for k, v in x.items()
            }
        out = self.head(pooled)  # {ir: (B or N, d, channels)}
        # e3nn layout of each block: (mul, d) flattened, multiplicity-major.
        coeffs = torch.cat(
            [
                out[key][:, :, start : start + mul].transpose(1, 2).reshape(b, mul * dim)
                for key, start, mul, dim in self._head_blocks
            ],
            dim=1,
        )
        return coeffs @ self.change_of_basis

