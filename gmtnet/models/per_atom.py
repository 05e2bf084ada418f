"""Per-atom tensor outputs (Born effective charges Z*_κ and the like): batch, projection, loss.

A model built with ``ModelConfig(per_atom=True)`` returns one tensor per atom,
``(N_atoms, 3, ..., 3)`` float32 in the kind's unit, each in its crystal's Cartesian frame, atoms in
the batch's node order (crystals concatenated, sites in structure order). The architectures read it
from the node features they compute before pooling (GMTNet: its equivariant head applied per node,
onto the irreps of e3nn's ``CartesianTensor(kind.formula)``, 0e+1e+2e for a general ``"ij"``;
ETGNN: each atom's own edges, so its u⊗u gives no antisymmetric part; MEGNet: a per-node readout, invariant and so symmetric only after the
projection). ``forward`` then calls :func:`project_atoms`, which applies

* the site-symmetry projector of each crystal (``batch.site_index`` / ``batch.site_blocks``, from
  :meth:`gmtnet.symmetry.SiteSymmetry.projector_blocks`): every atom's tensor invariant under its
  site-symmetry group and equivalent atoms rotated copies of each other;
* with ``config.sum_rule``, Σ_κ T_κ = 0 over each crystal's atoms (the mean subtracted; it commutes
  with the first, see :meth:`gmtnet.symmetry.SiteSymmetry.project`).

Both are exact up to float32 round-off in the forward pass; :func:`predict_atoms` repeats them in
float64 on the output, so predictions obey them to ~1e-15 relative.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from gmtnet.graph import GraphBatch, build_graph, collate
from gmtnet.kinds import TensorKind
from gmtnet.models.layers import inverse_counts, scatter_scaled
from gmtnet.symmetry import DEFAULT_SYMPREC, SiteSymmetry, analyze_site_symmetry

__all__ = ["AtomTensors", "per_atom_batch", "project_atoms", "per_atom_loss", "predict_atoms"]


def per_atom_batch(
    structures: Sequence,
    rank: int,
    num_neighbors: int,
    targets: Sequence[np.ndarray] | None = None,
    axial: bool = False,
    symprec: float = DEFAULT_SYMPREC,
    sites: Sequence[SiteSymmetry] | None = None,
) -> GraphBatch:
    """Graphs, site-symmetry projector blocks and (optionally) per-atom labels as one batch.

    Args:
        structures: B ordered periodic pymatgen structures.
        rank: rank of the per-atom tensors (2 for Z*).
        num_neighbors: k of :func:`gmtnet.graph.build_graph` (the model's ``config.num_neighbors``).
        targets: ``None`` or per crystal ``(n_b, 3, ..., 3)`` labels (kind's unit, structure frame).
        axial: the tensors are axial (a det R factor under improper operations).
        symprec: spglib tolerance in Å.
        sites: the structures' :class:`SiteSymmetry`, when already analysed.
    """
    if sites is None:
        sites = [analyze_site_symmetry(s, symprec=symprec) for s in structures]
    graphs = [build_graph(s, num_neighbors=num_neighbors) for s in structures]
    blocks = [site.projector_blocks(rank, axial) for site in sites]
    return collate(graphs, site_projectors=blocks, atom_targets=targets)


def project_atoms(flat: torch.Tensor, batch: GraphBatch, kind: TensorKind, sum_rule: bool = False) -> torch.Tensor:
    """``(N, 3**rank)`` row-major flattened per-atom outputs (kind's unit, structure frames) ->
    ``(N, 3, ..., 3)``, projected with the batch's site-symmetry blocks when given and, with
    ``sum_rule``, made to sum to zero over each crystal's atoms."""
    n, d = flat.shape
    if n != batch.num_nodes or d != 3**kind.rank:
        raise ValueError(f"per-atom output must be ({batch.num_nodes}, {3**kind.rank}) for {kind.name!r}, got {tuple(flat.shape)}")
    if batch.site_blocks is not None:
        if batch.site_index is None or tuple(batch.site_blocks.shape[1:]) != (d, d):
            raise ValueError(
                f"batch.site_blocks must be (P, {d}, {d}) with batch.site_index (2, P) for {kind.name!r}, "
                f"got {tuple(batch.site_blocks.shape)}"
            )
        dst, src = batch.site_index[0], batch.site_index[1]
        moved = torch.bmm(batch.site_blocks.to(flat.dtype), flat.index_select(0, src).unsqueeze(2)).squeeze(2)
        flat = flat.new_zeros(flat.shape).index_add_(0, dst, moved)
    if sum_rule:
        mean = scatter_scaled(flat, batch.node_graph, inverse_counts(batch.node_graph, batch.num_graphs, flat.dtype))
        flat = flat - mean.index_select(0, batch.node_graph)
    return flat.reshape(n, *kind.shape)


def per_atom_loss(pred: torch.Tensor, target: torch.Tensor, node_graph: torch.Tensor, num_graphs: int, scale: float = 1.0) -> torch.Tensor:
    """Mean over crystals of the mean over their atoms of ||pred − target||_F / ``scale``.

    Each crystal weighs the same whatever its number of atoms (as the per-crystal loss of
    :mod:`gmtnet.train`), so large cells do not dominate.

    Args:
        pred, target: ``(N, 3, ..., 3)`` per-atom tensors (kind's unit); node_graph: ``(N,)``.
        scale: the kind's unit per loss unit (e.g. the RMS label component).
    """
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape, got {tuple(pred.shape)} and {tuple(target.shape)}")
    diff = (pred - target.to(pred.dtype)).reshape(len(pred), -1) / scale
    dist = torch.sqrt((diff**2).sum(dim=1, keepdim=True) + 1e-12)
    per_crystal = scatter_scaled(dist, node_graph, inverse_counts(node_graph, num_graphs, dist.dtype))
    return per_crystal.mean()


@dataclass(frozen=True)
class AtomTensors:
    """One crystal's predicted per-atom tensors and the site symmetry they obey.

    Attributes:
        tensors: ``(N, 3, ..., 3)`` float64, kind's unit, structure's Cartesian frame, site order;
            exactly site-symmetric (and summing to zero when the model imposes the sum rule).
        sites: the crystal's :class:`~gmtnet.symmetry.SiteSymmetry` (site-symmetry symbols,
            Wyckoff letters, equivalent atoms).
        elements: element symbol of each site.
    """

    tensors: np.ndarray
    sites: SiteSymmetry
    elements: tuple[str, ...]

    def rows(self) -> list[dict]:
        """One dict per site for a table: ``site``, ``element``, ``wyckoff``, ``site_symmetry``,
        ``equivalent_to`` and the row-major components (``T11`` … ``T33`` for rank 2)."""
        rank = self.tensors.ndim - 1
        labels = ["T" + "".join(str(i + 1) for i in idx) for idx in np.ndindex(*(3,) * rank)]
        return [
            {
                "site": i,
                "element": self.elements[i],
                "wyckoff": self.sites.wyckoffs[i],
                "site_symmetry": self.sites.site_symmetry_symbols[i],
                "equivalent_to": int(self.sites.equivalent_atoms[i]),
                **dict(zip(labels, (float(x) for x in t.reshape(-1)))),
            }
            for i, t in enumerate(self.tensors)
        ]


def predict_atoms(model, structures: Sequence, batch_size: int = 32, symprec: float = DEFAULT_SYMPREC) -> list[AtomTensors]:
    """Per-atom predictions of a ``per_atom`` model, re-projected in float64 (exact symmetry and sum rule).

    Args:
        model: a :class:`~gmtnet.models.output.TensorModel` with ``config.per_atom``.
        structures: ordered periodic pymatgen structures.
    """
    config = model.config
    if not config.per_atom:
        raise ValueError(f"predict_atoms needs a per-atom model; this {config.kind!r} model predicts one tensor per crystal")
    sites = [analyze_site_symmetry(s, symprec=symprec) for s in structures]
    device = next(model.parameters()).device
    out: list[AtomTensors] = []
    with torch.inference_mode():
        for start in range(0, len(structures), batch_size):
            chunk, chunk_sites = structures[start : start + batch_size], sites[start : start + batch_size]
            batch = per_atom_batch(chunk, model.kind.rank, config.num_neighbors, sites=chunk_sites).to(device)
            pred = model(batch).double().cpu().numpy()
            bounds = np.cumsum([0] + [len(s) for s in chunk])
            for s, site, lo, hi in zip(chunk, chunk_sites, bounds[:-1], bounds[1:]):
                exact = site.project(pred[lo:hi], acoustic_sum_rule=config.sum_rule)
                out.append(AtomTensors(exact, site, tuple(sp.symbol for sp in s.species)))
    return out
