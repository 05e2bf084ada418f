"""MEGNet-style invariant baseline.

Edge/node/global updates on distances only; the readout emits the 3**rank raw components,
index-symmetrised and then multiplied by the projector (frame averaging over the crystal's point
group). **Not equivariant**: without a projector its output does not rotate with the structure;
only its symmetric form (index symmetry, point-group form after projection, permutation/
translation/supercell invariance) is meaningful.

Output: ``(B, 3, ..., 3)`` float32 in the kind's unit, structure's Cartesian frame (full rank).
"""

from __future__ import annotations

import torch
from torch import nn

from gmtnet.graph import GraphBatch
from gmtnet.models.config import ModelConfig
from gmtnet.models.layers import AtomEncoder, BesselBasis, inverse_counts, mlp, scatter_scaled
from gmtnet.models.output import TensorModel, index_permutation_average

__all__ = ["MEGNetBlock", "MEGNetBaseline"]


class MEGNetBlock(nn.Module):
    """MEGNet update: edges from (v_i, v_j, e_ij, u), nodes from (v_i, mean e_i·, u), global from
    (mean e, mean v, u); residual. Shapes: v ``(N, F)``, e ``(E, F)``, u ``(B, F)``."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.edge_mlp = mlp([4 * dim, dim, dim], nn.Softplus)
        self.node_mlp = mlp([3 * dim, dim, dim], nn.Softplus)
        self.global_mlp = mlp([3 * dim, dim, dim], nn.Softplus)

    def forward(self, v, e, u, src, dst, node_graph, edge_graph, inv_degree, inv_atoms, inv_edges):
        vi, vj, ue = v.index_select(0, src), v.index_select(0, dst), u.index_select(0, edge_graph)
        e_new = self.edge_mlp(torch.cat([vi, vj, e, ue], dim=1))
        e_mean = scatter_scaled(e_new, src, inv_degree)
        v_new = self.node_mlp(torch.cat([v, e_mean, u.index_select(0, node_graph)], dim=1))
        e_pool = scatter_scaled(e_new, edge_graph, inv_edges)
        v_pool = scatter_scaled(v_new, node_graph, inv_atoms)
        u_new = self.global_mlp(torch.cat([e_pool, v_pool, u], dim=1))
        return v + v_new, e + e_new, u + u_new


class MEGNetBaseline(TensorModel):
    """MEGNet-style invariant GNN; readout of 3**rank raw components (see the module docstring)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        c = config
        f = c.hidden_scalars
        self.atoms = AtomEncoder(f)
        self.basis = BesselBasis(c.r_max, c.num_basis)
        self.edges = mlp([c.num_basis, f, f])
        self.global_init = nn.Parameter(torch.zeros(f))
        depth = c.num_invariant_layers + c.num_equivariant_layers
        self.blocks = nn.ModuleList(MEGNetBlock(f) for _ in range(depth))
        self.readout = mlp([3 * f, f, f, self.dim_out])
        self.register_buffer("index_symmetrizer", index_permutation_average(self.kind))

    def raw(self, batch: GraphBatch) -> torch.Tensor:
        src, dst, inv_degree, inv_atoms = self._graph_inputs(batch)
        edge_graph = batch.node_graph.index_select(0, src)
        inv_edges = inverse_counts(edge_graph, batch.num_graphs, batch.edge_vec.dtype)
        rbf, _ = self.basis(batch.edge_vec.norm(dim=1))
        v = self.atoms(batch.atomic_numbers)
        e = self.edges(rbf)
        u = self.global_init.expand(batch.num_graphs, -1)
        for block in self.blocks:
            v, e, u = block(v, e, u, src, dst, batch.node_graph, edge_graph, inv_degree, inv_atoms, inv_edges)
        if self.config.per_atom:  # per node: its features, its edges' mean, its crystal's state
            pooled = torch.cat([v, scatter_scaled(e, src, inv_degree), u.index_select(0, batch.node_graph)], dim=1)
        else:
            v_pool = scatter_scaled(v, batch.node_graph, inv_atoms)
            e_pool = scatter_scaled(e, edge_graph, inv_edges)
            pooled = torch.cat([v_pool, e_pool, u], dim=1)
        return self.readout(pooled) @ self.index_symmetrizer.T
