"""Every member of a GMTNet ensemble in one forward pass: the member dimension inside the layers.

A :class:`~gmtnet.models.ensemble.ModelEnsemble` holds M networks of one architecture that differ
only in their weights. Run one after another, each pays the per-operation overhead that dominates
small crystals (~60 small torch ops per layer), so five members cost ~4.5x one. :class:`StackedGMTNet`
stacks the members' weights and evaluates the same operations once with a member axis:

* invariant features are ``(M, N, F)`` and every ``nn.Linear`` becomes one ``baddbmm`` with
  ``(M, F_in, F_out)`` weights;
* equivariant features are ``(N, 2l+1, M, mul)``: the member axis sits next to the channels, so the
  fused tensor product (:class:`~gmtnet.models.equivariant.EdgeTensorProduct`), whose couplings
  (harmonics × Wigner 3j) do not depend on the weights, runs as one product with ``M * mul``
  channels, and the per-irrep channel mixing is one batched matmul per irrep;
* the parts without weights (Bessel basis, spherical harmonics, degrees) are computed once.

It computes exactly what the members compute, operation for operation, except that float32 sums
may be reordered by the batched kernels (differences ~1e-7 relative, far below the 1e-5 regression
tolerance; ``tests/test_stacked.py`` ties it to member-by-member evaluation for every shipped kind
and for random ensembles). Why not ``torch.func.vmap`` over ``stack_module_state``: measured on this
CPU it was no faster than the loop (6-atom crystal 10.1 vs 11.2 ms for five members, 20-atom 23.9 vs
18.2 ms), because most of the batched rules it picks (index_add, bmm of a batched by a batched
operand) fall back to per-member loops.

Output: ``(M, B, 3, ..., 3)`` float32, kind's unit, structure frames, each crystal's output
projected with ``batch.projector`` when given (as :func:`gmtnet.models.output.project_output`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch
from torch import nn

from gmtnet.graph import GraphBatch
from gmtnet.models.gmtnet import GMTNet
from gmtnet.models.layers import scatter_scaled

__all__ = ["StackedGMTNet", "stacking_problem"]


def _config_without_scale(model) -> dict:
    d = dataclasses.asdict(model.config)
    d.pop("target_scale", None)
    return d


def stacking_problem(members: Sequence[nn.Module]) -> str | None:
    """Why these networks cannot be evaluated as one :class:`StackedGMTNet` (``None`` when they can):
    they must all be GMTNet with the same configuration (the output scale may differ) and the same
    constant buffers (change of basis, Wigner couplings, element descriptors)."""
    if not members:
        return "no members"
    first = members[0]
    if not all(type(m) is GMTNet for m in members):
        return f"only GMTNet members can be stacked, got {sorted({type(m).__name__ for m in members})}"
    if any(m.config.per_atom for m in members):
        return "per-atom networks are evaluated one by one (the stacked forward pools per crystal)"
    ref = _config_without_scale(first)
    for i, m in enumerate(members[1:], 1):
        if _config_without_scale(m) != ref:
            return f"member {i} has another architecture configuration than member 0"
    buffers = dict(first.named_buffers())
    for i, m in enumerate(members[1:], 1):
        for name, b in m.named_buffers():
            if name not in buffers or b.shape != buffers[name].shape or not torch.equal(b, buffers[name]):
                return f"member {i} differs from member 0 in the constant buffer {name!r}"
    return None


def _stack(tensors) -> nn.Parameter:
    return nn.Parameter(torch.stack([t.detach() for t in tensors]), requires_grad=False)


class _Linear(nn.Module):
    """M ``nn.Linear`` layers applied member-wise to ``(M, L, F_in)`` -> ``(M, L, F_out)``."""

    def __init__(self, layers: Sequence[nn.Linear]) -> None:
        super().__init__()
        self.weight = _stack([l.weight.t() for l in layers])  # (M, in, out)
        self.bias = None if layers[0].bias is None else _stack([l.bias.unsqueeze(0) for l in layers])  # (M, 1, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bias is None:
            return torch.bmm(x, self.weight)
        return torch.baddbmm(self.bias, x, self.weight)


class _EdgeNodeLinear(nn.Module):
    """:class:`~gmtnet.models.layers.EdgeNodeLinear` with a member axis: z ``(M, E, F)``, h ``(M, N, F)``."""

    def __init__(self, layers) -> None:
        super().__init__()
        self.edge = _Linear([l.edge for l in layers])
        self.nodes = _Linear([l.nodes for l in layers])

    def forward(self, z, h, src, dst):
        hi, hj = self.nodes(h).chunk(2, dim=2)
        return self.edge(z) + hi.index_select(1, src) + hj.index_select(1, dst)


class _LayerNorm(nn.Module):
    """M ``nn.LayerNorm`` over the last axis of ``(M, L, F)``."""

    def __init__(self, layers: Sequence[nn.LayerNorm]) -> None:
        super().__init__()
        self.shape = tuple(layers[0].normalized_shape)
        self.eps = float(layers[0].eps)
        self.weight = _stack([l.weight.unsqueeze(0) for l in layers])
        self.bias = _stack([l.bias.unsqueeze(0) for l in layers])

    def forward(self, x):
        return torch.addcmul(self.bias, nn.functional.layer_norm(x, self.shape, eps=self.eps), self.weight)


def _scatter(values: torch.Tensor, index: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """:func:`~gmtnet.models.layers.scatter_scaled` over axis 1 of ``(M, E, F)``."""
    out = values.new_zeros((values.shape[0], scale.shape[0], values.shape[2]))
    return out.index_add_(1, index, values) * scale


class _EquivariantLinear(nn.Module):
    """Per-irrep channel mixing of features ``{ir: (N, d, M, mul_in)}`` with each member's weights."""

    def __init__(self, layers) -> None:
        super().__init__()
        first = layers[0]
        self.weights = nn.ParameterDict({ir: _stack([l.weights[ir] for l in layers]) for ir in first.weights})
        self.bias = None if first.bias is None else _stack([l.bias for l in layers])  # (M, out)

    def forward(self, x):
        out = {}
        for ir, w in self.weights.items():
            v = x[ir]
            n, d, m, c = v.shape
            # (M, N*d, in) @ (M, in, out) -> (N, d, M, out)
            y = torch.bmm(v.reshape(n * d, m, c).transpose(0, 1), w).transpose(0, 1).reshape(n, d, m, -1)
            out[ir] = y
        if self.bias is not None:
            out["0e"] = out["0e"] + self.bias
        return out


def _tensor_product(tp, x, sh, w, src, dst, node_scale, members: int):
    """:meth:`EdgeTensorProduct.forward` with features ``(N, d, M, mul)`` and path weights
    ``(E, paths, M, mul)``: the couplings are shared, so the member axis rides with the channels."""
    e, n = sh.shape[0], x[0].shape[0]
    mm = members * tp.mul
    aggs = []
    for b, (i, d_in, sh_dim, k_i, _) in enumerate(tp._blocks):
        coupling = (sh[:, :sh_dim] @ getattr(tp, f"cg_{b}")).view(e, k_i, d_in)
        xj = x[i].reshape(n, d_in, mm).index_select(0, dst)
        m = coupling * xj if d_in == 1 else torch.bmm(coupling, xj)
        for r0, n_p, d, p0 in tp._groups[b]:
            m[:, r0 : r0 + n_p * d].view(e, n_p, d, members, tp.mul).mul_(w[:, p0 : p0 + n_p].unsqueeze(2))
        aggs.append(scatter_scaled(m.view(e, k_i * mm), src, node_scale))
    agg = torch.cat(aggs, dim=1).view(n, -1, mm).index_select(1, tp.row_perm)
    out, row = {}, 0
    for key, n_paths, d in tp._split:
        block = agg[:, row : row + n_paths * d].view(n, n_paths, d, members, tp.mul)
        # per member the channels are (path, u), as in EdgeTensorProduct
        out[key] = block.permute(0, 2, 3, 1, 4).reshape(n, d, members, n_paths * tp.mul)
        row += n_paths * d
    return out


class _Convolution(nn.Module):
    """:class:`~gmtnet.models.equivariant.EquivariantConvolution` with a member axis."""

    def __init__(self, layers) -> None:
        super().__init__()
        first = layers[0]
        self.tp = first.tp  # constant couplings and index maps, shared by every member
        self._tp_inputs = first._tp_inputs
        self.gate = first.gate  # no weights
        self._residual = first._residual
        self.pre = _EquivariantLinear([l.pre for l in layers])
        self.radial = _Linear([l.radial for l in layers])
        self.post = _EquivariantLinear([l.post for l in layers])
        self.self_connection = _EquivariantLinear([l.self_connection for l in layers])
        self.members = len(layers)

    def forward(self, x, sh, radial, env, src, dst, inv_sqrt_degree):
        m = self.members
        xp = self.pre(x)
        e = sh.shape[0]
        weights = self.radial(radial) * env.view(1, e, 1)  # (M, E, paths*mul)
        w = weights.view(m, e, self.tp.num_paths, self.tp.mul).permute(1, 2, 0, 3).contiguous()  # (E, paths, M, mul)
        y = self.post(_tensor_product(self.tp, [xp[k] for k in self._tp_inputs], sh, w, src, dst, inv_sqrt_degree, m))
        for k, v in self.self_connection(x).items():
            y[k] = y[k] + v
        if self.gate is not None:
            g = self.gate
            s = y["0e"]
            out = {"0e": nn.functional.silu(s[..., : g.num_scalars])}
            gates = torch.sigmoid(s[..., g.num_scalars :])
            col = 0
            for key, mul in g.gated.items():
                out[key] = y[key] * gates[..., col : col + mul]
                col += mul
            y = out
        if self._residual:
            y = {k: v + x[k] if k in x and x[k].shape == v.shape else v for k, v in y.items()}
        return y


class StackedGMTNet(nn.Module):
    """M GMTNet networks of one configuration evaluated together (see the module docstring).

    ``forward(batch)`` returns ``(M, B, 3, ..., 3)`` float32: member m's output is what
    ``members[m](batch)`` returns, to float32 round-off. The weights are copied (stacked), so later
    changes to the members are not seen; build it again after loading new weights.

    Raises:
        ValueError: the members cannot be stacked (:func:`stacking_problem` says why).
    """

    def __init__(self, members: Sequence[GMTNet]) -> None:
        super().__init__()
        problem = stacking_problem(members)
        if problem:
            raise ValueError(f"cannot stack these networks: {problem}")
        first = members[0]
        self.members = len(members)
        self.kind = first.kind
        # its weight-free parts (basis, harmonics, head layout, change of basis); not a submodule,
        # so that its weights are not counted twice
        object.__setattr__(self, "template", first)
        enc = [m.encoder for m in members]
        # Embedding + descriptor map of every element, per member: the atom encoder becomes a lookup.
        with torch.no_grad():
            tables = [
                e.atoms.embedding.weight + e.atoms.descriptor_linear(e.atoms.descriptors) for e in enc
            ]
        self.atom_table = _stack(tables)  # (M, Z, F)
        self.edges1 = _Linear([e.edges[0] for e in enc])
        self.edges2 = _Linear([e.edges[2] for e in enc])
        self.invariant = nn.ModuleList(
            nn.ModuleDict(
                {
                    "message": _EdgeNodeLinear([e.layers[i].message for e in enc]),
                    "node_update": _Linear([e.layers[i].update for e in enc]),
                    "node_norm": _LayerNorm([e.layers[i].node_norm for e in enc]),
                    "edge_norm": _LayerNorm([e.layers[i].edge_norm for e in enc]),
                }
            )
            for i in range(len(first.encoder.layers))
        )
        self.radial_in = _EdgeNodeLinear([m.radial_in for m in members])
        self.layers = nn.ModuleList(_Convolution([m.layers[i] for m in members]) for i in range(len(first.layers)))
        self.head = _EquivariantLinear([m.head for m in members])
        scale = torch.tensor([float(m.config.target_scale) for m in members], dtype=torch.float32)
        self.register_buffer("target_scale", scale.view(1, -1, 1))
        self.to(next(first.parameters()).device)
        #: Run through a frozen TorchScript trace (:meth:`traced`) instead of eager Python.
        self.use_trace = True
        self._traced: dict[bool, object] = {}  # by "has projectors": the trace follows that branch

    def traced(self, batch: GraphBatch) -> torch.Tensor:
        """:meth:`forward` through a frozen TorchScript trace, made on the first call (~0.2 s).

        Why: with the member axis the forward is ~300 small torch calls; without the Python
        between them it is ~25 % faster on a 2-core CPU (6-atom crystal 4.5 -> 3.4 ms, 20-atom
        17.4 -> 12.7 ms, five members, 1 thread), bit for bit the same output. The trace has no
        data-dependent branches to miss (sizes are traced symbolically; a batch with and one
        without projectors get one trace each). ``torch.compile`` was measured too and did not
        pay (see ``benchmarks/results/SPEED.md``). Falls back to eager when tracing fails.
        """
        key = batch.projector is not None
        fn = self._traced.get(key)
        if fn is None:
            try:
                fn = _trace(self, batch)
            except Exception:  # noqa: BLE001 - an untraceable case still gets the eager answer
                fn = False
            self._traced[key] = fn
        if not fn or not self.use_trace:
            return self(batch)
        if key and batch.projector.shape[1:] != (3**self.kind.rank,) * 2:
            return self(batch)  # eager raises the clear shape error
        return fn(batch.atomic_numbers, batch.edge_index, batch.edge_vec, batch.node_graph,
                  batch.projector if key else batch.edge_vec.new_empty((batch.num_graphs, 0)))

    def forward(self, batch: GraphBatch) -> torch.Tensor:
        t = self.template
        m = self.members
        src, dst, inv_degree, inv_atoms = t._graph_inputs(batch)
        length = batch.edge_vec.norm(dim=1)
        # invariant encoder (gmtnet.models.layers.InvariantEncoder), members on axis 0
        h = self.atom_table.index_select(1, batch.atomic_numbers)  # (M, N, F)
        rbf, env = t.encoder.basis(length)
        env_e = env.view(1, -1, 1)
        z = self.edges2(nn.functional.silu(self.edges1(rbf.unsqueeze(0).expand(m, -1, -1))))
        for layer in self.invariant:
            gate, msg = layer["message"](z, h, src, dst).chunk(2, dim=2)
            msg = torch.sigmoid(gate) * nn.functional.silu(msg) * env_e
            h = layer["node_norm"](h + layer["node_update"](_scatter(msg, src, inv_degree)))
            z = layer["edge_norm"](z + msg)
        sh = t.spherical_harmonics(batch.edge_vec)
        radial = nn.functional.silu(self.radial_in(z, h, src, dst)).chunk(len(self.layers), dim=2)
        x = {"0e": h.transpose(0, 1).unsqueeze(1)}  # (N, 1, M, F)
        inv_sqrt_degree = inv_degree.sqrt()
        for layer, r in zip(self.layers, radial):
            x = layer(x, sh, r, env, src, dst, inv_sqrt_degree)
        b = batch.num_graphs
        pooled = {
            k: scatter_scaled(v.flatten(1), batch.node_graph, inv_atoms).view(b, *v.shape[1:]) for k, v in x.items()
        }
        out = self.head(pooled)  # {ir: (B, d, M, channels)}
        coeffs = torch.cat(
            [
                out[key][..., start : start + mul].permute(0, 2, 3, 1).reshape(b, m, mul * dim)
                for key, start, mul, dim in t._head_blocks
            ],
            dim=2,
        )
        flat = (coeffs @ t.change_of_basis) * self.target_scale  # (B, M, 3**rank)
        if batch.projector is not None:
            d = flat.shape[2]
            if batch.projector.shape != (b, d, d):
                raise ValueError(
                    f"batch.projector must have shape ({b}, {d}, {d}) for {self.kind.name!r}, "
                    f"got {tuple(batch.projector.shape)}"
                )
            flat = torch.bmm(flat, batch.projector.to(flat.dtype).transpose(1, 2))  # (P @ t) per crystal
        return flat.transpose(0, 1).reshape(m, b, *self.kind.shape)


class _TensorInputs(nn.Module):
    """A :class:`StackedGMTNet` taking the batch's tensors (what ``torch.jit.trace`` accepts); the
    number of crystals is the projectors' leading size (an empty ``(B, 0)`` tensor without them)."""

    def __init__(self, model: StackedGMTNet, with_projector: bool) -> None:
        super().__init__()
        self.model = model
        self.with_projector = with_projector

    def forward(self, atomic_numbers, edge_index, edge_vec, node_graph, projector):
        batch = GraphBatch(atomic_numbers, edge_index, edge_vec, node_graph, projector.shape[0],
                           projector if self.with_projector else None)
        return self.model(batch)


def _trace(model: StackedGMTNet, batch: GraphBatch):
    has_proj = batch.projector is not None
    proj = batch.projector if has_proj else batch.edge_vec.new_empty((batch.num_graphs, 0))
    example = (batch.atomic_numbers, batch.edge_index, batch.edge_vec, batch.node_graph, proj)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings about Python ints, checked by the tests
        traced = torch.jit.trace(_TensorInputs(model, has_proj).eval(), example, check_trace=False)
        return torch.jit.optimize_for_inference(torch.jit.freeze(traced))
