"""ETGNN-style equivariant baseline.

Learned per-edge scalars (from a gated invariant GNN, :class:`~gmtnet.models.layers.InvariantEncoder`)
times the outer product of the unit edge vector with itself (u⊗u, u⊗u⊗u, u⊗u⊗u⊗u for rank 2, 3,
4), averaged over all edges of the crystal and index-symmetrised. Equivariant, not projected
(unless ``batch.projector`` is given). Its output is fully symmetric in all indices (for C this
imposes the Cauchy relations, e.g. C1122 = C1212), a limitation of the method kept on purpose.

Output: ``(B, 3, ..., 3)`` float32 in the kind's unit, structure's Cartesian frame (full rank).
"""

from __future__ import annotations

import torch
from torch import nn

from gmtnet.graph import GraphBatch
from gmtnet.models.config import ModelConfig
from gmtnet.models.layers import EdgeNodeLinear, InvariantEncoder, inverse_counts, mlp, scatter_scaled
from gmtnet.models.output import TensorModel, index_permutation_average

__all__ = ["ETGNNBaseline"]


class ETGNNBaseline(TensorModel):
    """ETGNN-style: mean over edges of learned scalar × u⊗…⊗u (see the module docstring)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        c = config
        f = c.hidden_scalars
        depth = c.num_invariant_layers + c.num_equivariant_layers
        self.encoder = InvariantEncoder(f, depth, c.num_basis, c.r_max)
        self.edge_in = EdgeNodeLinear(f, f, f)
        self.edge_scalar = mlp([f, f, 1])
        self.register_buffer("index_symmetrizer", index_permutation_average(self.kind))

    def raw(self, batch: GraphBatch) -> torch.Tensor:
        src, dst, inv_degree, _ = self._graph_inputs(batch)
        edge_graph = batch.node_graph.index_select(0, src)
        inv_edges = inverse_counts(edge_graph, batch.num_graphs, batch.edge_vec.dtype)
        length = batch.edge_vec.norm(dim=1)
        h, z, env = self.encoder(batch.atomic_numbers, length, src, dst, inv_degree)
        s = self.edge_scalar(nn.functional.silu(self.edge_in(z, h, src, dst))) * env.unsqueeze(1)  # (E, 1)
        u = batch.edge_vec / length.unsqueeze(1)
        outer = u
        for _ in range(self.kind.rank - 1):
            outer = (outer.unsqueeze(2) * u.unsqueeze(1)).flatten(1)  # (E, 3**r)
        if self.config.per_atom:  # mean over each atom's own edges
            return scatter_scaled(s * outer, src, inv_degree) @ self.index_symmetrizer.T
        return scatter_scaled(s * outer, edge_graph, inv_edges) @ self.index_symmetrizer.T
