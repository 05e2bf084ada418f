"""Shared invariant layers: element descriptors, radial basis, gated message passing on scalars.

Used by GMTNet (its invariant encoder, :mod:`gmtnet.models.gmtnet`) and by both baselines
(:mod:`gmtnet.models.megnet`, :mod:`gmtnet.models.etgnn`). Everything here is rotation invariant:
atoms are described by Z, edges by their length in Å. The scatter helpers average per atom, per
crystal or per edge group with precomputed inverse counts.
"""

from __future__ import annotations

import math
import warnings
from functools import lru_cache

import numpy as np
import torch
from torch import nn

__all__ = [
    "NUM_ELEMENTS",
    "DESCRIPTOR_NAMES",
    "element_descriptors",
    "scatter_scaled",
    "inverse_counts",
    "mlp",
    "EdgeNodeLinear",
    "AtomEncoder",
    "BesselBasis",
    "GatedInvariantConvolution",
    "InvariantEncoder",
]

#: Rows of the element tables: Z = 0 (unused) … 118.
NUM_ELEMENTS = 119

#: Columns of :func:`element_descriptors` (continuous ones are z-scored over Z = 1…118).
DESCRIPTOR_NAMES = (
    "electronegativity",
    "row",
    "group",
    "atomic_radius",
    "log_atomic_mass",
    "mendeleev_no",
    "ionization_energy",
    "electron_affinity",
    "block_s",
    "block_p",
    "block_d",
    "block_f",
)


def _element_value(el, name: str) -> float:
    try:
        if name == "electronegativity":
            v = el.X
        elif name == "log_atomic_mass":
            v = math.log(float(el.atomic_mass))
        elif name == "atomic_radius":
            v = el.atomic_radius
        else:
            v = getattr(el, name)
        return float("nan") if v is None else float(v)
    except Exception:  # pymatgen raises assorted errors for missing data
        return float("nan")


@lru_cache(maxsize=1)
def element_descriptors() -> np.ndarray:
    """Fixed physical element features from pymatgen's ``Element``, computed once.

    Returns:
        ``(NUM_ELEMENTS, len(DESCRIPTOR_NAMES))`` float32, read-only. Row Z holds element Z (row 0
        is zero). Continuous columns are z-scored over the elements with data; missing values are
        0 (the mean). Block columns are one-hot.
    """
    from pymatgen.core.periodic_table import Element

    continuous = [n for n in DESCRIPTOR_NAMES if not n.startswith("block_")]
    table = np.zeros((NUM_ELEMENTS, len(DESCRIPTOR_NAMES)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for z in range(1, NUM_ELEMENTS):
            el = Element.from_Z(z)
            for j, name in enumerate(continuous):
                table[z, j] = _element_value(el, name)
            try:
                block = el.block
            except Exception:
                block = ""
            if block in ("s", "p", "d", "f"):
                table[z, len(continuous) + "spdf".index(block)] = 1.0
    cont = table[1:, : len(continuous)]
    mean = np.nanmean(cont, axis=0)
    std = np.nanstd(cont, axis=0)
    cont = (cont - mean) / np.where(std > 0, std, 1.0)
    table[1:, : len(continuous)] = np.nan_to_num(cont, nan=0.0)
    out = table.astype(np.float32)
    out.setflags(write=False)
    return out



def scatter_scaled(values: torch.Tensor, index: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Sum of ``values`` ``(E, F)`` over groups ``index`` ``(E,)`` times ``scale`` ``(G, 1)``.

    With ``scale = 1 / count`` (see :func:`inverse_counts`) this is the group mean.
    """
    out = values.new_zeros((scale.shape[0], values.shape[1]))
    return out.index_add_(0, index, values) * scale


def inverse_counts(index: torch.Tensor, size: int, dtype: torch.dtype) -> torch.Tensor:
    counts = torch.bincount(index, minlength=size).to(dtype)
    return (1.0 / counts.clamp(min=1.0)).unsqueeze(1)


def mlp(dims: list[int], act: type[nn.Module] = nn.SiLU) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(dims) - 1):
        layers.append(nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


class EdgeNodeLinear(nn.Module):
    """Linear map of the edge input [z_ij, h_i, h_j] without building it.

    W [z_ij, h_i, h_j] + b = W_z z_ij + (W_i h)_i + (W_j h)_j + b: the atom terms are computed
    once per atom and gathered, which is ~3x cheaper than a Linear on the concatenation.
    Shapes: z ``(E, edge_dim)``, h ``(N, node_dim)`` -> ``(E, out_dim)``.
    """

    def __init__(self, edge_dim: int, node_dim: int, out_dim: int) -> None:
        super().__init__()
        self.edge = nn.Linear(edge_dim, out_dim)
        self.nodes = nn.Linear(node_dim, 2 * out_dim, bias=False)
        # Unit-variance inputs give unit-variance outputs (as one Linear on the concatenation).
        std = 1.0 / math.sqrt(edge_dim + 2 * node_dim)
        nn.init.normal_(self.edge.weight, std=std)
        nn.init.normal_(self.nodes.weight, std=std)
        nn.init.zeros_(self.edge.bias)

    def forward(self, z, h, src, dst):
        hi, hj = self.nodes(h).chunk(2, dim=1)
        return self.edge(z) + hi.index_select(0, src) + hj.index_select(0, dst)


class AtomEncoder(nn.Module):
    """Invariant atom features: learned embedding of Z + linear map of the fixed descriptors.

    ``(N,)`` int64 atomic numbers -> ``(N, dim)``.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(NUM_ELEMENTS, dim)
        nn.init.normal_(self.embedding.weight, std=0.5)
        self.register_buffer("descriptors", torch.from_numpy(element_descriptors().copy()))
        self.descriptor_linear = nn.Linear(len(DESCRIPTOR_NAMES), dim)

    def forward(self, atomic_numbers: torch.Tensor) -> torch.Tensor:
        descriptors = self.descriptors.index_select(0, atomic_numbers)
        return self.embedding(atomic_numbers) + self.descriptor_linear(descriptors)


class BesselBasis(nn.Module):
    """Radial basis ``sin(nπ r/r_max) / (r/r_max)``, n = 1…num_basis, times a smooth envelope.

    ``(E,)`` distances in Å -> ``((E, num_basis) basis, (E,) envelope)``. The polynomial envelope
    (p = 6) is 1 at r = 0 and reaches zero at ``r_max`` with vanishing first and second derivatives;
    both are zero beyond ``r_max``.
    """

    def __init__(self, r_max: float, num_basis: int, p: int = 6) -> None:
        super().__init__()
        self.r_max = float(r_max)
        self.p = int(p)
        self.register_buffer("freqs", math.pi * torch.arange(1, num_basis + 1, dtype=torch.float32))

    def envelope(self, x: torch.Tensor) -> torch.Tensor:
        p = self.p
        env = 1.0 - (p + 1) * (p + 2) / 2 * x**p + p * (p + 2) * x ** (p + 1) - p * (p + 1) / 2 * x ** (p + 2)
        return env * (x < 1.0)

    def forward(self, r: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = (r / self.r_max).unsqueeze(1)
        env = self.envelope(x)
        return torch.sin(self.freqs * x) / x * env, env.squeeze(1)

    def extra_repr(self) -> str:
        return f"r_max={self.r_max}, num_basis={self.freqs.numel()}, p={self.p}"


class GatedInvariantConvolution(nn.Module):
    """Gated message passing on scalars (CGCNN/ComFormer-like attention gate).

    m_ij = σ(W_g c_ij) ⊙ SiLU(W_m c_ij) · env(r_ij), c_ij = [z_ij, h_i, h_j];
    h_i ← LN(h_i + W_o mean_j m_ij);  z_ij ← LN(z_ij + m_ij).
    Shapes: h ``(N, F)``, z ``(E, F)``.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.message = EdgeNodeLinear(dim, dim, 2 * dim)
        self.update = nn.Linear(dim, dim)
        self.node_norm = nn.LayerNorm(dim)
        self.edge_norm = nn.LayerNorm(dim)

    def forward(self, h, z, src, dst, env, inv_degree):
        gate, msg = self.message(z, h, src, dst).chunk(2, dim=1)
        msg = torch.sigmoid(gate) * nn.functional.silu(msg) * env.unsqueeze(1)
        h = self.node_norm(h + self.update(scatter_scaled(msg, src, inv_degree)))
        z = self.edge_norm(z + msg)
        return h, z


class InvariantEncoder(nn.Module):
    """Atom + edge encoders and ``num_layers`` gated invariant convolutions (GMTNet, ETGNN).

    Returns ``h (N, F)``, ``z (E, F)`` and the envelope ``(E,)``.
    """

    def __init__(self, dim: int, num_layers: int, num_basis: int, r_max: float) -> None:
        super().__init__()
        self.atoms = AtomEncoder(dim)
        self.basis = BesselBasis(r_max, num_basis)
        self.edges = mlp([num_basis, dim, dim])
        self.layers = nn.ModuleList(GatedInvariantConvolution(dim) for _ in range(num_layers))

    def forward(self, atomic_numbers, edge_length, src, dst, inv_degree):
        h = self.atoms(atomic_numbers)
        rbf, env = self.basis(edge_length)
        z = self.edges(rbf)
        for layer in self.layers:
            h, z = layer(h, z, src, dst, env, inv_degree)
        return h, z, env
