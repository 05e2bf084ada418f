"""Tensor-property models: GMTNet and two baselines (MEGNet-style, ETGNN-style), one builder.

Every model maps a :class:`~gmtnet.graph.GraphBatch` to full-rank Cartesian tensors

    ``model(batch) -> (B, 3, ..., 3)`` float32, in the kind's physical units (``TensorKind.unit``),
    in each structure's own Cartesian frame,

multiplying its raw output by ``config.target_scale`` (physical units per model unit). When
``batch.projector`` (``(B, 3**rank, 3**rank)``, the Neumann projectors of
:func:`gmtnet.symmetry.symmetry_constraints`) is given, the flattened output is ``P @ t`` per crystal.

Architectures (``ModelConfig.architecture``)
--------------------------------------------
``"gmtnet"``  after Yan et al., ICML 2024 (arXiv 2406.12888): invariant atom encoder (learned
    embedding + fixed, normalised pymatgen element descriptors), invariant edge encoder (Bessel
    basis of |r| with a smooth polynomial envelope), gated invariant message passing, then O(3)-
    equivariant message passing ('uvu' tensor products of node irreps of both parities with the
    real spherical harmonics (l ≤ lmax = 4) of the edge directions, per-edge path weights from a
    radial MLP of the edge scalars and both atoms' invariant features, gate nonlinearities,
    residual self-interaction), mean pooling over atoms, a per-irrep linear map onto the kind's
    irreps and e3nn's ``CartesianTensor(formula)`` change of basis (a buffer, one matmul). The
    tensor product is a fused implementation on e3nn's Wigner 3j symbols and harmonics (see
    :class:`EdgeTensorProduct`), ~5x faster on a CPU than ``o3.TensorProduct`` for these graphs.
    Exactly O(3)-equivariant without a projector; the graph's complete shells make it respect the
    crystal's point group up to the symmetry tolerance, and the projector makes that exact.
``"megnet"``  MEGNet-style invariant GNN (edge/node/global updates on distances only) whose
    readout emits the 3**rank raw components, index-symmetrised and then multiplied by the
    projector (frame averaging over the crystal's point group). **Not equivariant**: without a
    projector its output does not rotate with the structure; only its symmetric form (index
    symmetry, point-group form after projection, permutation/translation/supercell invariance)
    is meaningful.
``"etgnn"``  ETGNN-style: learned per-edge scalars (from a gated invariant GNN) times the outer
    product of the unit edge vector with itself (u⊗u, u⊗u⊗u, u⊗u⊗u⊗u for rank 2, 3, 4), averaged
    over all edges of the crystal and index-symmetrised. Equivariant, not projected. Its output is
    fully symmetric in all indices (for C this imposes the Cauchy relations, e.g. C1122 = C1212),
    a limitation of the method kept on purpose.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, fields
from functools import lru_cache

import numpy as np
import torch
from e3nn import o3
from torch import nn

from gmtnet.graph import DEFAULT_NUM_NEIGHBORS, GraphBatch
from gmtnet.kinds import KINDS, TensorKind, get_kind

__all__ = [
    "ARCHITECTURES",
    "NUM_ELEMENTS",
    "DESCRIPTOR_NAMES",
    "ModelConfig",
    "build_model",
    "element_descriptors",
    "cartesian_change_of_basis",
    "count_parameters",
    "TensorModel",
    "GMTNet",
    "MEGNetBaseline",
    "ETGNNBaseline",
]

#: Architectures :func:`build_model` knows.
ARCHITECTURES = ("gmtnet", "megnet", "etgnn")
#: Rows of the element tables: Z = 0 (unused) … 118.
NUM_ELEMENTS = 119


# --------------------------------------------------------------------------- configuration


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

    def __post_init__(self) -> None:
        if isinstance(self.kind, TensorKind):
            self.kind = self.kind.name
        if self.kind not in KINDS:
            raise ValueError(f"unknown tensor kind {self.kind!r}; expected one of {sorted(KINDS)}")
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


# --------------------------------------------------------------------------- fixed tables

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


def _index_symmetrizer(kind: TensorKind) -> torch.Tensor:
    """``(3**rank, 3**rank)`` float32 average over the kind's intrinsic index permutations."""
    from gmtnet.symmetry import neumann_projector

    return torch.from_numpy(neumann_projector(np.eye(3)[None], kind).astype(np.float32))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# --------------------------------------------------------------------------- building blocks


def _scatter_scaled(values: torch.Tensor, index: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Sum of ``values`` ``(E, F)`` over groups ``index`` ``(E,)`` times ``scale`` ``(G, 1)``.

    With ``scale = 1 / count`` (see :func:`_inverse_counts`) this is the group mean.
    """
    out = values.new_zeros((scale.shape[0], values.shape[1]))
    return out.index_add_(0, index, values) * scale


def _inverse_counts(index: torch.Tensor, size: int, dtype: torch.dtype) -> torch.Tensor:
    counts = torch.bincount(index, minlength=size).to(dtype)
    return (1.0 / counts.clamp(min=1.0)).unsqueeze(1)


def _mlp(dims: list[int], act: type[nn.Module] = nn.SiLU) -> nn.Sequential:
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
        h = self.node_norm(h + self.update(_scatter_scaled(msg, src, inv_degree)))
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
        self.edges = _mlp([num_basis, dim, dim])
        self.layers = nn.ModuleList(GatedInvariantConvolution(dim) for _ in range(num_layers))

    def forward(self, atomic_numbers, edge_length, src, dst, inv_degree):
        h = self.atoms(atomic_numbers)
        rbf, env = self.basis(edge_length)
        z = self.edges(rbf)
        for layer in self.layers:
            h, z = layer(h, z, src, dst, env, inv_degree)
        return h, z, env


# --------------------------------------------------------------------------- equivariant blocks
#
# Equivariant features are dicts {irrep name: tensor (N, 2l+1, mul)} (e.g. {"0e": ..., "1o": ...}),
# channels last, components in e3nn's real basis (for l = 1: x, y, z). Per-irrep tensors make
# channel mixing one matmul per irrep and let the tensor product below fuse its paths into a few
# batched matmuls; on a CPU this is several times faster than e3nn's per-path generated code for
# graphs this small.

Features = dict[str, torch.Tensor]


def _irrep_sort_key(ir: o3.Irrep) -> tuple[int, int]:
    """l first, then the natural parity (-1)^l before the other one: 0e, 1o, 1e, 2e, 2o, ..."""
    return ir.l, 0 if ir.p == (-1) ** ir.l else 1


def _irreps_str(irreps: dict[str, int]) -> str:
    return "+".join(f"{mul}x{ir}" for ir, mul in irreps.items())


class EquivariantLinear(nn.Module):
    """Channel mixing within each irrep: ``{ir: (N, d, mul_in)} -> {ir: (N, d, mul_out)}``.

    Every output irrep must be present in the input. A bias is added to 0e outputs when ``bias``.
    Weights are N(0, 1/fan_in), so unit-variance inputs give unit-variance outputs.
    """

    def __init__(self, irreps_in: dict[str, int], irreps_out: dict[str, int], bias: bool = False) -> None:
        super().__init__()
        missing = [ir for ir in irreps_out if ir not in irreps_in]
        if missing:
            raise ValueError(
                f"EquivariantLinear: output irreps {missing} absent from the input {_irreps_str(irreps_in)}"
            )
        self.irreps_in = dict(irreps_in)
        self.irreps_out = dict(irreps_out)
        self.weights = nn.ParameterDict(
            {
                ir: nn.Parameter(torch.randn(irreps_in[ir], mul) / math.sqrt(irreps_in[ir]))
                for ir, mul in irreps_out.items()
            }
        )
        self.bias = nn.Parameter(torch.zeros(irreps_out["0e"])) if bias and "0e" in irreps_out else None

    def forward(self, x: Features) -> Features:
        out = {ir: torch.matmul(x[ir], w) for ir, w in self.weights.items()}
        if self.bias is not None:
            out["0e"] = out["0e"] + self.bias
        return out

    def extra_repr(self) -> str:
        return f"{_irreps_str(self.irreps_in)} -> {_irreps_str(self.irreps_out)}"


class EdgeTensorProduct(nn.Module):
    """Fused 'uvu' tensor product of neighbour features with the edge spherical harmonics.

    For every path (input irrep l1, harmonic l2, output irrep l3 in ``allowed`` with p3 = p1·p2)
    and channel u:

        m[e, path, :, u] = w[e, path, u] · sqrt(2l3+1) · C^{l1 l2 l3} · (x[e, :, u] ⊗ Y_l2(r̂_e)),

    C being e3nn's Wigner 3j symbols (component normalisation). All input irreps share the
    multiplicity ``mul``. Per input irrep, the harmonics are contracted with the stacked 3j symbols
    of all its paths (one matmul), then applied to the features (one batched matmul), weighted and
    summed onto the receiving atoms, so no (E, all paths, mul) tensor is ever concatenated.

    :meth:`forward` takes node features ``[(N, 2l1+1, mul)]`` in ``irreps_in`` order,
    sh ``(E, (lmax+1)**2)``, weights ``(E, num_paths * mul)``, the edge indices and a per-atom
    factor ``(N, 1)``, and returns the factor times the sum over each atom's edges,
    ``{ir: (N, 2l3+1, mul * paths_to_ir)}`` (irreps :attr:`irreps_out`).
    """

    def __init__(self, irreps_in: list[o3.Irrep], mul: int, lmax_sh: int, allowed: list[o3.Irrep]) -> None:
        super().__init__()
        self.mul = int(mul)
        self.irreps_in = [o3.Irrep(ir) for ir in irreps_in]
        self.lmax_sh = int(lmax_sh)
        allowed = sorted({o3.Irrep(ir) for ir in allowed}, key=_irrep_sort_key)
        sh_irreps = [o3.Irrep(l, (-1) ** l) for l in range(lmax_sh + 1)]
        paths: list[tuple[int, int, o3.Irrep]] = []  # (input index, l_sh, output irrep), by input
        self._blocks: list[tuple[int, int, int, int, int]] = []  # (input, d_in, sh dim, K_i, first path)
        self._groups: list[list[tuple[int, int, int, int]]] = []
        for i, ir_in in enumerate(self.irreps_in):
            mine = [(i, s.l, ir_out) for ir_out in allowed for s in sh_irreps if ir_out in ir_in * s]
            if not mine:
                continue
            sh_dim = (max(l for _, l, _ in mine) + 1) ** 2
            k_i = sum(ir_out.dim for _, _, ir_out in mine)
            # cg[j, k, a]: harmonic component j, output row k (paths stacked), input component a.
            cg = torch.zeros(sh_dim, k_i, ir_in.dim, dtype=torch.float64)
            row = 0
            for _, l2, ir_out in mine:
                w3j = o3.wigner_3j(ir_in.l, l2, ir_out.l, dtype=torch.float64)  # (a, j, k)
                block = math.sqrt(ir_out.dim) * w3j.permute(1, 2, 0)  # (j, k, a)
                cg[l2 * l2 : (l2 + 1) ** 2, row : row + ir_out.dim, :] = block
                row += ir_out.dim
            self.register_buffer(f"cg_{len(self._blocks)}", cg.reshape(sh_dim, k_i * ir_in.dim).float())
            # Runs of consecutive paths with the same output dimension share one weight broadcast:
            # (first row, number of paths, output dim, first global path index).
            groups: list[list[int]] = []
            row = 0
            for q, (_, _, ir_out) in enumerate(mine):
                if groups and groups[-1][2] == ir_out.dim:
                    groups[-1][1] += 1
                else:
                    groups.append([row, 1, ir_out.dim, len(paths) + q])
                row += ir_out.dim
            self._groups.append([tuple(g) for g in groups])
            self._blocks.append((i, ir_in.dim, sh_dim, k_i, len(paths)))
            paths.extend(mine)
        self.paths = paths
        self.num_paths = len(paths)
        #: Input irreps that feed at least one path (the others are not read).
        self.inputs_used = [self.irreps_in[i] for i, *_ in self._blocks]
        self.weight_numel = self.mul * self.num_paths
        # Row permutation of the concatenated aggregate grouping rows by output irrep.
        starts = np.cumsum([0] + [ir.dim for _, _, ir in paths])
        order = sorted(range(len(paths)), key=lambda p: _irrep_sort_key(paths[p][2]))
        perm = [r for p in order for r in range(starts[p], starts[p + 1])]
        self.register_buffer("row_perm", torch.tensor(perm, dtype=torch.long))
        counts: dict[str, int] = {}
        for p in order:
            counts[str(paths[p][2])] = counts.get(str(paths[p][2]), 0) + 1
        self._split = [(key, n, o3.Irrep(key).dim) for key, n in counts.items()]
        self.irreps_out = {key: n * self.mul for key, n in counts.items()}

    def forward(self, x: list[torch.Tensor], sh, weights, src, dst, node_scale) -> Features:
        e, n = sh.shape[0], x[0].shape[0]
        w = weights.view(e, self.num_paths, self.mul)
        aggs = []
        for b, (i, d_in, sh_dim, k_i, _) in enumerate(self._blocks):
            coupling = (sh[:, :sh_dim] @ getattr(self, f"cg_{b}")).view(e, k_i, d_in)
            # (E, K_i, mul); with one input component the product is a broadcast (bmm is slow there)
            xj = x[i].index_select(0, dst)
            m = coupling * xj if d_in == 1 else torch.bmm(coupling, xj)
            for r0, n_p, d, p0 in self._groups[b]:  # m[e, path, :, u] *= w[e, path, u], in place
                m[:, r0 : r0 + n_p * d].view(e, n_p, d, self.mul).mul_(w[:, p0 : p0 + n_p].unsqueeze(2))
            aggs.append(_scatter_scaled(m.view(e, k_i * self.mul), src, node_scale))
        agg = torch.cat(aggs, dim=1).view(n, -1, self.mul).index_select(1, self.row_perm)
        out, row = {}, 0
        for key, n_paths, d in self._split:
            block = agg[:, row : row + n_paths * d].view(n, n_paths, d, self.mul)
            out[key] = block.transpose(1, 2).reshape(n, d, n_paths * self.mul)
            row += n_paths * d
        return out

    def extra_repr(self) -> str:
        ins = "+".join(f"{self.mul}x{ir}" for ir in self.irreps_in)
        return f"{ins} ⊗ Y(l≤{self.lmax_sh}) -> {_irreps_str(self.irreps_out)} ({self.num_paths} paths)"


@lru_cache(maxsize=None)
def _sh_monomial_map(lmax: int) -> np.ndarray:
    """Block matrix A with Y(u) = [u^⊗0, u^⊗1, …, u^⊗lmax] @ A for unit vectors u.

    Y_l, e3nn's real spherical harmonics (component normalisation), is a homogeneous polynomial
    of degree l, hence a linear function of the 3**l entries of u^⊗l; A_l is fitted once, in
    float64, by least squares on points where the fit is exact.
    """
    rng = np.random.default_rng(0)
    u = rng.normal(size=(400, 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    y = o3.spherical_harmonics(
        list(range(lmax + 1)), torch.from_numpy(u), normalize=True, normalization="component"
    ).numpy()
    blocks = []
    power = np.ones((len(u), 1))
    for l in range(lmax + 1):
        a_l, *_ = np.linalg.lstsq(power, y[:, l * l : (l + 1) ** 2], rcond=None)
        if np.abs(power @ a_l - y[:, l * l : (l + 1) ** 2]).max() > 1e-10:
            raise RuntimeError(f"harmonics of degree {l} are not fitted exactly")  # pragma: no cover
        blocks.append(a_l)
        power = (power[:, :, None] * u[:, None, :]).reshape(len(u), -1)
    rows = sum(b.shape[0] for b in blocks)
    a = np.zeros((rows, (lmax + 1) ** 2))
    r = 0
    for l, b in enumerate(blocks):
        a[r : r + b.shape[0], l * l : (l + 1) ** 2] = b
        r += b.shape[0]
    a.setflags(write=False)
    return a


class SphericalHarmonics(nn.Module):
    """e3nn's real spherical harmonics Y_0 … Y_lmax of edge directions (component normalisation).

    ``(E, 3)`` vectors (any length > 0) -> ``(E, (lmax+1)**2)``, e3nn order and parities
    (Y_l has parity (-1)^l). Evaluated as tensor powers of the unit vector times a fixed matrix:
    a handful of ops instead of e3nn's ~150 small ones, with the same values to float precision.
    """

    def __init__(self, lmax: int) -> None:
        super().__init__()
        self.lmax = int(lmax)
        self.register_buffer("monomial_map", torch.from_numpy(_sh_monomial_map(self.lmax).astype(np.float32)))

    def forward(self, vec: torch.Tensor) -> torch.Tensor:
        u = vec / vec.norm(dim=1, keepdim=True)
        powers = [torch.ones_like(u[:, :1]), u]
        for _ in range(2, self.lmax + 1):
            powers.append((powers[-1].unsqueeze(2) * u.unsqueeze(1)).flatten(1))
        return torch.cat(powers[: self.lmax + 1], dim=1) @ self.monomial_map

    def extra_repr(self) -> str:
        return f"lmax={self.lmax}"


class GateActivation(nn.Module):
    """Gate nonlinearity: SiLU on the first ``num_scalars`` 0e channels; every l > 0 channel is
    multiplied by the sigmoid of its own extra 0e channel (equivariant for either parity).

    Input ``{"0e": (N, 1, num_scalars + Σ mul_gated), ir: (N, d, mul), ...}``.
    """

    def __init__(self, num_scalars: int, gated: dict[str, int]) -> None:
        super().__init__()
        self.num_scalars = int(num_scalars)
        self.gated = dict(gated)
        self.irreps_in = {"0e": self.num_scalars + sum(self.gated.values()), **self.gated}
        self.irreps_out = {"0e": self.num_scalars, **self.gated}

    def forward(self, x: Features) -> Features:
        s = x["0e"]
        out = {"0e": nn.functional.silu(s[:, :, : self.num_scalars])}
        gates = torch.sigmoid(s[:, :, self.num_scalars :])
        col = 0
        for key, mul in self.gated.items():
            out[key] = x[key] * gates[:, :, col : col + mul]
            col += mul
        return out

    def extra_repr(self) -> str:
        return f"{_irreps_str(self.irreps_in)} -> {_irreps_str(self.irreps_out)}"


class EquivariantConvolution(nn.Module):
    """One O(3)-equivariant message-passing layer (nequip-like interaction block).

    x_i ← act( W_post · Σ_j TP(W_pre x_j, Y(r̂_ij); w_ij) / sqrt(deg_i) + W_self x_i ) + x_i,
    w_ij = W_r · radial_ij · env(r_ij) the per-edge path weights, radial_ij = SiLU(W [z_ij, h_i, h_j])
    the hidden layer of the radial MLP (computed by the caller), ``act`` a gate (hidden layers)
    or the identity (output layer); the residual is added per irrep where shapes match (hidden
    layers only). The 1/sqrt(degree) normalisation keeps l > 0 features O(1) where directions
    partly cancel (a mean would shrink them like 1/sqrt(degree)); it depends on the atom's own
    neighbour shells only, so supercells are unaffected.

    Shapes: x ``{ir: (N, 2l+1, mul)}``, sh ``(E, (lmax+1)**2)``, radial ``(E, radial_hidden)``,
    env ``(E,)``, inv_sqrt_degree ``(N, 1)``; returns ``{ir: (N, 2l+1, mul_out)}`` with irreps
    :attr:`irreps_out`.
    """

    def __init__(
        self,
        irreps_in: dict[str, int],
        mul: int,
        lmax_sh: int,
        irreps_out: dict[str, int],
        radial_hidden: int,
        gate: bool,
        name: str = "EquivariantConvolution",
    ) -> None:
        super().__init__()
        self.name = name
        self.irreps_in = dict(irreps_in)
        in_irs = sorted((o3.Irrep(k) for k in self.irreps_in), key=_irrep_sort_key)
        reachable = {
            str(ir_out)
            for ir_in in in_irs
            for l2 in range(lmax_sh + 1)
            for ir_out in ir_in * o3.Irrep(l2, (-1) ** l2)
        }
        if gate:
            # Hidden layer: keep what this product can reach (e.g. no 1e from scalars alone).
            irreps_out = {k: m for k, m in irreps_out.items() if k in reachable}
            gated = {k: m for k, m in irreps_out.items() if k != "0e"}
            self.gate = GateActivation(irreps_out.get("0e", 0), gated)
            irreps_pre = self.gate.irreps_in
            self.irreps_out = self.gate.irreps_out
        else:
            missing = [k for k in irreps_out if k not in reachable]
            if missing:
                raise ValueError(
                    f"{name}: input irreps {_irreps_str(self.irreps_in)} ⊗ spherical harmonics "
                    f"l≤{lmax_sh} cannot produce {missing}, needed by the output head "
                    f"({_irreps_str(irreps_out)}); "
                    "add equivariant layers or raise lmax / lmax_hidden"
                )
            self.gate = None
            irreps_pre = dict(irreps_out)
            self.irreps_out = dict(irreps_out)
        self.tp = EdgeTensorProduct(in_irs, mul, lmax_sh, [o3.Irrep(k) for k in irreps_pre])
        self._tp_inputs = [str(ir) for ir in self.tp.inputs_used]
        self.pre = EquivariantLinear(self.irreps_in, {k: mul for k in self._tp_inputs})
        self.radial = nn.Linear(radial_hidden, self.tp.weight_numel)
        nn.init.normal_(self.radial.weight, std=1.0 / math.sqrt(radial_hidden))
        nn.init.zeros_(self.radial.bias)
        self.post = EquivariantLinear(self.tp.irreps_out, irreps_pre)
        self.self_connection = EquivariantLinear(
            self.irreps_in, {k: m for k, m in irreps_pre.items() if k in self.irreps_in}
        )
        self._residual = gate

    def forward(self, x: Features, sh, radial, env, src, dst, inv_sqrt_degree) -> Features:
        xp = self.pre(x)
        weights = self.radial(radial) * env.unsqueeze(1)
        y = self.post(self.tp([xp[k] for k in self._tp_inputs], sh, weights, src, dst, inv_sqrt_degree))
        for k, v in self.self_connection(x).items():
            y[k] = y[k] + v
        if self.gate is not None:
            y = self.gate(y)
        if self._residual:
            y = {k: v + x[k] if k in x and x[k].shape == v.shape else v for k, v in y.items()}
        return y

    def extra_repr(self) -> str:
        return f"name={self.name!r}: {_irreps_str(self.irreps_in)} -> {_irreps_str(self.irreps_out)}"


# --------------------------------------------------------------------------- models


def project_output(flat: torch.Tensor, projector: torch.Tensor | None, kind: TensorKind) -> torch.Tensor:
    """``(B, 3**rank)`` flattened outputs (kind's units) -> ``(B, 3, ..., 3)``, each projected with
    its crystal's Neumann projector ``(B, 3**rank, 3**rank)`` when one is given."""
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
    by ``config.target_scale``, applies ``batch.projector`` when given and reshapes.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.kind = get_kind(config.kind)
        self.dim_out = 3**self.kind.rank

    def raw(self, batch: GraphBatch) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def _graph_inputs(batch: GraphBatch):
        src, dst = batch.edge_index[0], batch.edge_index[1]
        inv_degree = _inverse_counts(src, batch.atomic_numbers.shape[0], batch.edge_vec.dtype)
        inv_atoms = _inverse_counts(batch.node_graph, batch.num_graphs, batch.edge_vec.dtype)
        return src, dst, inv_degree, inv_atoms

    def forward(self, batch: GraphBatch) -> torch.Tensor:
        return project_output(self.raw(batch) * self.config.target_scale, batch.projector, self.kind)


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
        cart_irs = sorted({ir for _, ir in irreps_cart}, key=_irrep_sort_key)
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
        b = batch.num_graphs
        pooled = {
            k: _scatter_scaled(v.flatten(1), batch.node_graph, inv_atoms).view(b, *v.shape[1:])
            for k, v in x.items()
        }
        out = self.head(pooled)  # {ir: (B, d, channels)}
        # e3nn layout of each block: (mul, d) flattened, multiplicity-major.
        coeffs = torch.cat(
            [
                out[key][:, :, start : start + mul].transpose(1, 2).reshape(b, mul * dim)
                for key, start, mul, dim in self._head_blocks
            ],
            dim=1,
        )
        return coeffs @ self.change_of_basis



class MEGNetBlock(nn.Module):
    """MEGNet update: edges from (v_i, v_j, e_ij, u), nodes from (v_i, mean e_i·, u), global from
    (mean e, mean v, u); residual. Shapes: v ``(N, F)``, e ``(E, F)``, u ``(B, F)``."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.edge_mlp = _mlp([4 * dim, dim, dim], nn.Softplus)
        self.node_mlp = _mlp([3 * dim, dim, dim], nn.Softplus)
        self.global_mlp = _mlp([3 * dim, dim, dim], nn.Softplus)

    def forward(self, v, e, u, src, dst, node_graph, edge_graph, inv_degree, inv_atoms, inv_edges):
        vi, vj, ue = v.index_select(0, src), v.index_select(0, dst), u.index_select(0, edge_graph)
        e_new = self.edge_mlp(torch.cat([vi, vj, e, ue], dim=1))
        e_mean = _scatter_scaled(e_new, src, inv_degree)
        v_new = self.node_mlp(torch.cat([v, e_mean, u.index_select(0, node_graph)], dim=1))
        e_pool = _scatter_scaled(e_new, edge_graph, inv_edges)
        v_pool = _scatter_scaled(v_new, node_graph, inv_atoms)
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
        self.edges = _mlp([c.num_basis, f, f])
        self.global_init = nn.Parameter(torch.zeros(f))
        depth = c.num_invariant_layers + c.num_equivariant_layers
        self.blocks = nn.ModuleList(MEGNetBlock(f) for _ in range(depth))
        self.readout = _mlp([3 * f, f, f, self.dim_out])
        self.register_buffer("index_symmetrizer", _index_symmetrizer(self.kind))

    def raw(self, batch: GraphBatch) -> torch.Tensor:
        src, dst, inv_degree, inv_atoms = self._graph_inputs(batch)
        edge_graph = batch.node_graph.index_select(0, src)
        inv_edges = _inverse_counts(edge_graph, batch.num_graphs, batch.edge_vec.dtype)
        rbf, _ = self.basis(batch.edge_vec.norm(dim=1))
        v = self.atoms(batch.atomic_numbers)
        e = self.edges(rbf)
        u = self.global_init.expand(batch.num_graphs, -1)
        for block in self.blocks:
            v, e, u = block(v, e, u, src, dst, batch.node_graph, edge_graph, inv_degree, inv_atoms, inv_edges)
        v_pool = _scatter_scaled(v, batch.node_graph, inv_atoms)
        e_pool = _scatter_scaled(e, edge_graph, inv_edges)
        pooled = torch.cat([v_pool, e_pool, u], dim=1)
        return self.readout(pooled) @ self.index_symmetrizer.T


class ETGNNBaseline(TensorModel):
    """ETGNN-style: mean over edges of learned scalar × u⊗…⊗u (see the module docstring)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        c = config
        f = c.hidden_scalars
        depth = c.num_invariant_layers + c.num_equivariant_layers
        self.encoder = InvariantEncoder(f, depth, c.num_basis, c.r_max)
        self.edge_in = EdgeNodeLinear(f, f, f)
        self.edge_scalar = _mlp([f, f, 1])
        self.register_buffer("index_symmetrizer", _index_symmetrizer(self.kind))

    def raw(self, batch: GraphBatch) -> torch.Tensor:
        src, dst, inv_degree, _ = self._graph_inputs(batch)
        edge_graph = batch.node_graph.index_select(0, src)
        inv_edges = _inverse_counts(edge_graph, batch.num_graphs, batch.edge_vec.dtype)
        length = batch.edge_vec.norm(dim=1)
        h, z, env = self.encoder(batch.atomic_numbers, length, src, dst, inv_degree)
        s = self.edge_scalar(nn.functional.silu(self.edge_in(z, h, src, dst))) * env.unsqueeze(1)  # (E, 1)
        u = batch.edge_vec / length.unsqueeze(1)
        outer = u
        for _ in range(self.kind.rank - 1):
            outer = (outer.unsqueeze(2) * u.unsqueeze(1)).flatten(1)  # (E, 3**r)
        return _scatter_scaled(s * outer, edge_graph, inv_edges) @ self.index_symmetrizer.T


_BUILDERS = {"gmtnet": GMTNet, "megnet": MEGNetBaseline, "etgnn": ETGNNBaseline}


def build_model(config: ModelConfig | dict) -> TensorModel:
    """Build the model described by ``config`` (a :class:`ModelConfig` or its dict).

    Returns:
        a :class:`TensorModel` (``model.config`` is the resolved config); float32, CPU, train mode.
    """
    if isinstance(config, dict):
        config = ModelConfig.from_dict(config)
    elif not isinstance(config, ModelConfig):
        raise ValueError(f"config must be a ModelConfig or a dict, got {type(config).__name__}")
    return _BUILDERS[config.architecture](config)
