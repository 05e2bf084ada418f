"""The output contract every model shares, and where its output is projected.

:class:`TensorModel` is the base class of the from-scratch models: a subclass returns ``(B, 3**rank)``
row-major flattened Cartesian components in model units from :meth:`TensorModel.raw`; ``forward``
multiplies by ``config.target_scale`` (the kind's unit per model unit) and calls
:func:`project_output`, which applies each crystal's exact Neumann projector
``P = (1/|G|) Σ ρ(g)`` (``batch.projector``, from :func:`gmtnet.symmetry.symmetry_constraints`) as
``P @ t`` and reshapes to ``(B, 3, ..., 3)``, structure's Cartesian frame (full rank, no Voigt
order). The tensor head on encoder features (:mod:`research.head`, outside the package) ends with the same call.

:func:`cartesian_change_of_basis` gives the irreps of e3nn's ``CartesianTensor(kind.formula)`` and
the matrix from their coefficients to Cartesian components (GMTNet's head and the encoder head);
:func:`index_permutation_average` averages over a kind's intrinsic index permutations (both baselines).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from e3nn import o3
from torch import nn

from gmtnet.graph import GraphBatch
from gmtnet.kinds import TensorKind, get_kind
from gmtnet.models.config import ModelConfig
from gmtnet.models.layers import inverse_counts
from gmtnet.models.per_atom import project_atoms

__all__ = ["cartesian_change_of_basis", "index_permutation_average", "project_output", "TensorModel"]


@lru_cache(maxsize=None)
def _change_of_basis(formula: str) -> tuple[str, np.ndarray]:
    # This is exactly CartesianTensor(formula).reduced_tensor_products() (every index a 1o vector;
    # a test checks the two agree), called through e3nn.o3 because importing e3nn.io pulls in
    # scipy.signal, which costs ~2 s of the app's first model load.
    indices = formula.split("=")[0]
    rtp = o3.ReducedTensorProducts(formula, **{i: "1o" for i in indices})
    q = rtp.change_of_basis.detach().cpu().double().numpy()
    q.setflags(write=False)
    return str(rtp.irreps_out), q


def cartesian_change_of_basis(kind: str | TensorKind) -> tuple[o3.Irreps, np.ndarray]:
    """Irreps and change of basis of e3nn's ``CartesianTensor(kind.formula)``, cached per formula.

    Returns:
        ``(irreps, Q)`` with ``Q`` of shape ``(irreps.dim, 3, ..., 3)``: a tensor is ``x @ Q`` for
        irreps coefficients ``x``. Raises ``ValueError`` if the irreps do not match the registry's.
    """
    k = get_kind(kind)
    irreps, q = _change_of_basis(k.formula)
    irreps = o3.Irreps(irreps)
    if irreps.simplify() != o3.Irreps(k.irreps).simplify():
        raise ValueError(
            f"CartesianTensor({k.formula!r}) spans {irreps}, but the registry says {k.irreps} for {k.name!r}"
        )
    return irreps, q


def index_permutation_average(kind: TensorKind) -> torch.Tensor:
    """``(3**rank, 3**rank)`` float32 average over the kind's intrinsic index permutations."""
    from gmtnet.symmetry import neumann_projector

    return torch.from_numpy(neumann_projector(np.eye(3)[None], kind).astype(np.float32))


def project_output(flat: torch.Tensor, projector: torch.Tensor | None, kind: TensorKind) -> torch.Tensor:
    """``(B, 3**rank)`` row-major flattened outputs (kind's units, structure frames) ->
    ``(B, 3, ..., 3)``, each projected with its crystal's Neumann projector ``(B, 3**rank, 3**rank)``
    when one is given (``P @ t``: the point-group form becomes exact)."""
    b, d = flat.shape[0], 3**kind.rank
    if projector is not None:
        if projector.shape != (b, d, d):
            raise ValueError(
                f"batch.projector must have shape ({b}, {d}, {d}) for {kind.name!r}, got {tuple(projector.shape)}"
            )
        flat = torch.bmm(projector.to(flat.dtype), flat.unsqueeze(2)).squeeze(2)
    return flat.reshape(b, *kind.shape)


class TensorModel(nn.Module):
    """Shared output contract: ``forward(batch) -> (B, 3, ..., 3)`` float32 in physical units.

    Subclasses implement :meth:`raw` returning ``(B, 3**rank)`` in model units; this class scales
    by ``config.target_scale``, applies ``batch.projector`` when given and reshapes. With
    ``config.per_atom``, :meth:`raw` returns ``(N_atoms, 3**rank)`` and the output is
    ``(N_atoms, 3, ..., 3)``, projected by :func:`gmtnet.models.per_atom.project_atoms`.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.kind = config.tensor_kind
        self.dim_out = 3**self.kind.rank

    def raw(self, batch: GraphBatch) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def _graph_inputs(batch: GraphBatch):
        src, dst = batch.edge_index[0], batch.edge_index[1]
        inv_degree = inverse_counts(src, batch.atomic_numbers.shape[0], batch.edge_vec.dtype)
        inv_atoms = inverse_counts(batch.node_graph, batch.num_graphs, batch.edge_vec.dtype)
        return src, dst, inv_degree, inv_atoms

    def forward(self, batch: GraphBatch) -> torch.Tensor:
        if self.config.per_atom:  # raw is (N_atoms, 3**rank): see gmtnet.models.per_atom
            return project_atoms(self.raw(batch) * self.config.target_scale, batch, self.kind, self.config.sum_rule)
        return project_output(self.raw(batch) * self.config.target_scale, batch.projector, self.kind)
