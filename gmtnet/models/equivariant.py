"""O(3)-equivariant layers of GMTNet: irreps-dict features, fused edge tensor product, harmonics, gates.

Equivariant features are dicts {irrep name: tensor (N, 2l+1, mul)} (e.g. {"0e": ..., "1o": ...}),
channels last, components in e3nn's real basis (for l = 1: x, y, z). Per-irrep tensors make
channel mixing one matmul per irrep and let the tensor product (:class:`EdgeTensorProduct`) fuse
its paths into a few batched matmuls; on a CPU this is several times faster than e3nn's per-path
generated code for graphs this small.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
from e3nn import o3
from torch import nn

from gmtnet.models.layers import scatter_scaled

__all__ = [
    "Features",
    "irrep_sort_key",
    "irreps_str",
    "EquivariantLinear",
    "EdgeTensorProduct",
    "SphericalHarmonics",
    "GateActivation",
    "EquivariantConvolution",
]

Features = dict[str, torch.Tensor]


def irrep_sort_key(ir: o3.Irrep) -> tuple[int, int]:
    """l first, then the natural parity (-1)^l before the other one: 0e, 1o, 1e, 2e, 2o, ..."""
    return ir.l, 0 if ir.p == (-1) ** ir.l else 1


def irreps_str(irreps: dict[str, int]) -> str:
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
                f"EquivariantLinear: output irreps {missing} absent from the input {irreps_str(irreps_in)}"
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
        return f"{irreps_str(self.irreps_in)} -> {irreps_str(self.irreps_out)}"


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
        allowed = sorted({o3.Irrep(ir) for ir in allowed}, key=irrep_sort_key)
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
        order = sorted(range(len(paths)), key=lambda p: irrep_sort_key(paths[p][2]))
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
            aggs.append(scatter_scaled(m.view(e, k_i * self.mul), src, node_scale))
        agg = torch.cat(aggs, dim=1).view(n, -1, self.mul).index_select(1, self.row_perm)
        out, row = {}, 0
        for key, n_paths, d in self._split:
            block = agg[:, row : row + n_paths * d].view(n, n_paths, d, self.mul)
            out[key] = block.transpose(1, 2).reshape(n, d, n_paths * self.mul)
            row += n_paths * d
        return out

    def extra_repr(self) -> str:
        ins = "+".join(f"{self.mul}x{ir}" for ir in self.irreps_in)
        return f"{ins} ⊗ Y(l≤{self.lmax_sh}) -> {irreps_str(self.irreps_out)} ({self.num_paths} paths)"


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
        return f"{irreps_str(self.irreps_in)} -> {irreps_str(self.irreps_out)}"


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
        in_irs = sorted((o3.Irrep(k) for k in self.irreps_in), key=irrep_sort_key)
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
                    f"{name}: input irreps {irreps_str(self.irreps_in)} ⊗ spherical harmonics "
                    f"l≤{lmax_sh} cannot produce {missing}, needed by the output head "
                    f"({irreps_str(irreps_out)}); "
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
        return f"name={self.name!r}: {irreps_str(self.irreps_in)} -> {irreps_str(self.irreps_out)}"
