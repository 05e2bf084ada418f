"""Helpers for the teaching notebooks: naming operations, allowed forms, the Nye table, Curie's
principle, stereograms and graded exercises.

numpy + pandas (plotly and ipywidgets are imported on first use). Every table here is generated
from the group operations of :mod:`gmtnet.pointgroups` (standard settings of Nye and IEEE 176:
z is the principal axis, the monoclinic 2-fold axis is along y, the trigonal/hexagonal 2-fold
axis or mirror normal along x, the cubic 3-fold along [111]) through the projector of
:mod:`gmtnet.symmetry`; nothing is typed in by hand. Voigt order is IEEE (xx, yy, zz, yz, xz, xy)
unless an argument says otherwise.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd

from gmtnet.pointgroups import POINT_GROUPS, point_group_operations
from gmtnet.symmetry import SymmetryConstraints, analyze_symmetry, neumann_constraints, tensor_representation
from gmtnet.tensors import to_voigt, voigt_labels

__all__ = [
    "setup_notebook",
    "describe_operation",
    "operation_table",
    "allowed_form",
    "invariant_basis",
    "site_invariants",
    "identify_point_group",
    "POLAR_CLASSES",
    "nye_table",
    "independent_up_to_axes",
    "voigt_compliance",
    "linear_compressibility_matrix",
    "curie_group",
    "strain_between",
    "curie_caption",
    "stereogram_figure",
    "quadric_figure",
    "point_group_explorer",
    "find_frame_mismatch",
    "check",
    "Grade",
    "EXERCISES",
]

_ATOL = 1e-8
#: Voigt weights of the compliance s and of d (IEEE order): s_IJ = w_I w_J s_ijkl, d_iJ = w_J d_ijk.
VOIGT_STRAIN_WEIGHTS = np.array([1.0, 1.0, 1.0, 2.0, 2.0, 2.0])
_SUPERSCRIPT = {1: "⁺", -1: "⁻"}


def setup_notebook(torch_threads: int | None = None) -> str:
    """Print options for numpy/pandas and a plotly renderer that stores figures as data only.

    The ``plotly_mimetype`` renderer writes each figure's JSON and no JavaScript: JupyterLab,
    Notebook 7 and VS Code draw it with the plotly.js their plotly extension ships (loaded once,
    offline), so an executed notebook does not carry a 4.8 MB copy of plotly.js, nor a CDN link.

    Args:
        torch_threads: if given, ``torch.set_num_threads(torch_threads)``. Crystal graphs are
            small: one thread is about as fast as several on an idle CPU, and on a shared one it
            avoids oversubscription. Notebook 03 on 2 cores at load average 5-8: 86-87 s with
            torch's default, 48-60 s with ``torch_threads=1``, 21-28 s when ``OMP_NUM_THREADS=1``
            is also set before the kernel starts (numpy's BLAS then uses one thread too).

    Returns the renderer name.
    """
    import plotly.io as pio

    np.set_printoptions(precision=4, suppress=True, linewidth=120)
    pd.set_option("display.precision", 4)
    pio.renderers.default = "plotly_mimetype"
    if torch_threads is not None:
        if int(torch_threads) < 1:
            raise ValueError(f"torch_threads must be a positive integer, got {torch_threads!r}")
        import torch

        torch.set_num_threads(int(torch_threads))
    return pio.renderers.default


# --------------------------------------------------------------------------- operations


def _axis_and_angle(R: np.ndarray) -> tuple[int, np.ndarray, float]:
    """det, unit axis (first non-zero component positive) and signed angle (deg) of R's proper part."""
    R = np.asarray(R, dtype=float)
    if R.shape != (3, 3) or not np.allclose(R @ R.T, np.eye(3), atol=1e-6):
        raise ValueError(f"expected an orthogonal 3x3 matrix, got {np.array2string(R, precision=3)}")
    det = int(round(np.linalg.det(R)))
    proper = det * R
    angle = float(np.degrees(np.arccos(np.clip((np.trace(proper) - 1) / 2, -1, 1))))
    w, v = np.linalg.eigh(proper + proper.T)  # the axis is the eigenvector of R + Rᵀ with eigenvalue 2
    axis = v[:, np.argmax(w)] if angle > 1e-6 else np.array([0.0, 0.0, 1.0])
    lead = axis[np.argmax(np.abs(axis) > 1e-6)]
    axis = axis * np.sign(lead)
    # sin θ · u = axial vector of the antisymmetric part: its sign gives the sense (+ = anticlockwise
    # seen from the tip of u).
    omega = np.array([proper[2, 1] - proper[1, 2], proper[0, 2] - proper[2, 0], proper[1, 0] - proper[0, 1]]) / 2
    if omega @ axis < -1e-9:
        angle = -angle
    return det, axis, angle


def describe_operation(R: np.ndarray) -> dict:
    """Name a point operation (Seitz-like): ``1``, ``-1``, ``m``, ``2``, ``3⁺``, ``4⁻``, ``-4⁺`` ...

    The sense ⁺/⁻ is that of the rotation part about the listed axis (anticlockwise seen from its
    tip). For a mirror the axis is the plane normal; for a rotoinversion -n it is the axis of the
    rotation n that combines with the inversion (R = −R_n), so the sense is that of R_n.
    Returns ``{"symbol", "det", "angle (deg)", "axis"}``.
    """
    det, axis, angle = _axis_and_angle(R)
    order = 1 if abs(angle) < 1e-6 else round(360 / abs(angle))
    sense = "" if order <= 2 else _SUPERSCRIPT[int(np.sign(angle))]
    if det == 1:
        symbol = "1" if order == 1 else f"{order}{sense}"
    elif order == 1:
        symbol = "-1"
    elif order == 2:
        symbol = "m"
    else:
        symbol = f"-{order}{sense}"
    return {"symbol": symbol, "det": det, "angle (deg)": round(angle), "axis": (np.round(axis, 3) + 0.0).tolist()}


def operation_table(ops: np.ndarray) -> pd.DataFrame:
    """One row per operation (:func:`describe_operation`)."""
    return pd.DataFrame([describe_operation(R) for R in ops])


def _signature(ops: np.ndarray) -> tuple:
    return tuple(sorted(Counter(describe_operation(R)["symbol"].rstrip("⁺⁻") for R in ops).items()))


_SIGNATURES: dict[tuple, str] = {}


def identify_point_group(ops: np.ndarray) -> str:
    """Hermann-Mauguin symbol of a crystallographic point group given as Cartesian matrices, in any
    orientation: the 32 groups differ in how many operations of each type (1, 2, 3, 4, 6, -1, m,
    -3, -4, -6) they contain."""
    if not _SIGNATURES:
        for symbol in POINT_GROUPS:
            _SIGNATURES[_signature(point_group_operations(symbol))] = symbol
    sig = _signature(np.asarray(ops, dtype=float))
    try:
        return _SIGNATURES[sig]
    except KeyError:
        raise ValueError(f"not a crystallographic point group: operation types {dict(sig)}") from None


#: spglib writes some point groups in another setting's symbol; the same abstract group.
_SAME_GROUP = {"-4m2": "-42m", "-62m": "-6m2", "31m": "3m", "3m1": "3m", "312": "32", "321": "32", "-31m": "-3m", "-3m1": "-3m"}


def _canonical_symbol(symbol: str) -> str:
    return _SAME_GROUP.get(symbol, symbol)


# --------------------------------------------------------------------------- allowed forms


def invariant_basis(ops: np.ndarray, rank: int, axial: bool = False, symmetric: bool = False) -> np.ndarray:
    """Orthonormal basis ``(n, 3, ..., 3)`` of the tensors invariant under ``ops``.

    ρ(g) = R ⊗ ... ⊗ R (:func:`gmtnet.symmetry.tensor_representation`), times det R for an axial
    tensor; ``symmetric`` (rank 2 only) adds T_ij = T_ji. Used for the kinds the projector in
    :mod:`gmtnet.symmetry` does not cover: the pyroelectric vector (rank 1, polar) and the
    gyration tensor of optical activity (rank 2, axial, symmetric).
    """
    if symmetric and rank != 2:
        raise ValueError(f"symmetric=True needs rank 2, got rank {rank}")
    ops = np.asarray(ops, dtype=float)
    rho = tensor_representation(ops, rank)
    if axial:
        rho = rho * np.linalg.det(ops)[:, None, None]
    P = rho.mean(axis=0)
    if symmetric:
        swap = np.eye(9).reshape(3, 3, 9).transpose(1, 0, 2).reshape(9, 9)
        P = P @ (0.5 * (np.eye(9) + swap))
    w, v = np.linalg.eigh(0.5 * (P + P.T))
    return v[:, w > 0.5].T.reshape((-1,) + (3,) * rank)


def _form_strings(M: np.ndarray, labels: np.ndarray, candidates: list[int]) -> list[str]:
    """Each column of ``M`` (n free parameters x components) as a combination of pivot labels."""
    n = M.shape[0]
    pivots: list[int] = []
    for idx in candidates:
        if np.linalg.matrix_rank(M[:, pivots + [idx]], tol=1e-8) > len(pivots):
            pivots.append(idx)
        if len(pivots) == n:
            break
    K = np.linalg.solve(M[:, pivots], M)  # component j = Σ_k K[k, j] · free_k
    cells = []
    for j in range(M.shape[1]):
        terms = []
        for k, p in enumerate(pivots):
            if abs(K[k, j]) < 1e-8:
                continue
            f = Fraction(float(K[k, j])).limit_denominator(12)
            coeff = "" if f == 1 else "-" if f == -1 else f"{f}·"
            terms.append(f"{coeff}{labels[p]}")
        cells.append(" + ".join(terms).replace("+ -", "- ") or "0")
    return cells


def allowed_form(constraints: SymmetryConstraints | str, kind: str | None = None, order: str = "ieee") -> pd.DataFrame:
    """The allowed Voigt matrix as strings, each component written through the free ones.

    Args:
        constraints: a :class:`SymmetryConstraints`, or a point-group symbol (standard setting)
            together with ``kind``. Besides the kinds of :mod:`gmtnet.kinds`, ``kind`` may be
            ``"pyroelectric"`` (vector p_i) or ``"gyration"`` (symmetric axial g_ij, optical
            activity).
        order: Voigt order, ``"ieee"`` (xx, yy, zz, yz, xz, xy) or ``"vasp"``.

    The free components are the first linearly independent ones in reading order (upper triangle
    for ε, g and C). No Voigt factors: e_iJ = e_ijk and C_IJ = C_ijkl.
    """
    if isinstance(constraints, str):
        if kind is None:
            raise ValueError("allowed_form(symbol, kind): give the tensor kind with a point-group symbol")
        ops = point_group_operations(constraints)
        if kind == "pyroelectric":
            basis = invariant_basis(ops, 1)
            labels = np.array(["p1", "p2", "p3"])
            if len(basis) == 0:
                return pd.DataFrame([["0", "0", "0"]], columns=[1, 2, 3], index=[1])
            cells = _form_strings(basis.reshape(len(basis), 3), labels, [0, 1, 2])
            return pd.DataFrame([cells], columns=[1, 2, 3], index=[1])
        if kind == "gyration":
            basis = invariant_basis(ops, 2, axial=True, symmetric=True)
            labels = np.array([f"g{i + 1}{j + 1}" for i in range(3) for j in range(3)])
            if len(basis) == 0:
                return pd.DataFrame(np.full((3, 3), "0"), index=[1, 2, 3], columns=[1, 2, 3])
            cells = _form_strings(basis.reshape(len(basis), 9), labels, [r * 3 + c for r in range(3) for c in range(r, 3)])
            return pd.DataFrame(np.array(cells).reshape(3, 3), index=[1, 2, 3], columns=[1, 2, 3])
        constraints = neumann_constraints(ops, kind)
    k = constraints.kind
    basis = to_voigt(constraints.basis(), k, order)
    n, rows, cols = basis.shape
    index, columns = range(1, rows + 1), range(1, cols + 1)
    if n == 0:
        return pd.DataFrame(np.full((rows, cols), "0"), index=index, columns=columns)
    labels = voigt_labels(k, order).reshape(-1)
    candidates = [r * cols + c for r in range(rows) for c in range(cols) if not k.voigt_symmetric or c >= r]
    cells = _form_strings(basis.reshape(n, -1), labels, candidates)
    return pd.DataFrame(np.array(cells).reshape(rows, cols), index=index, columns=columns)


#: The 10 polar (pyroelectric) classes, as computed by :func:`nye_table` (the tests check it).
POLAR_CLASSES = ("1", "2", "m", "mm2", "4", "4mm", "3", "3m", "6", "6mm")


def nye_table() -> pd.DataFrame:
    """Independent components per point group (32 rows, standard settings), computed.

    Columns: crystal system, order |G|, centrosymmetric, ``p (polar rank 1)`` (pyroelectric
    vector), ``g (axial rank 2)`` (gyration tensor, optical activity), ``ε, α (polar rank 2)``
    (dielectric, thermal expansion, any symmetric polar rank-2 property), ``e (rank 3)``,
    ``C (rank 4)``.
    """
    rows = {}
    for symbol, (system, _) in POINT_GROUPS.items():
        ops = point_group_operations(symbol)
        rows[symbol] = {
            "system": system,
            "|G|": len(ops),
            "centrosymmetric": bool(any(np.allclose(R, -np.eye(3)) for R in ops)),
            "p (polar rank 1)": len(invariant_basis(ops, 1)),
            "g (axial rank 2)": len(invariant_basis(ops, 2, axial=True, symmetric=True)),
            "ε, α (polar rank 2)": neumann_constraints(ops, "dielectric").n_independent,
            "e (rank 3)": neumann_constraints(ops, "piezoelectric").n_independent,
            "C (rank 4)": neumann_constraints(ops, "elastic").n_independent,
        }
    table = pd.DataFrame(rows).T
    table.index.name = "point group"
    return table.astype({c: int for c in table.columns if c not in ("system", "centrosymmetric")})


def _rotation_generators() -> np.ndarray:
    """The three generators L_k of rotations (antisymmetric, (L_k)_ij = −ε_kij)."""
    eps = np.zeros((3, 3, 3))
    eps[0, 1, 2] = eps[1, 2, 0] = eps[2, 0, 1] = 1
    eps[0, 2, 1] = eps[2, 1, 0] = eps[1, 0, 2] = -1
    return -eps


def _infinitesimal_rotation(T: np.ndarray, L: np.ndarray) -> np.ndarray:
    """d/dt ρ(exp(tL)) T at t = 0: L applied to each index in turn."""
    out = np.zeros_like(T)
    for axis in range(T.ndim):
        out += np.moveaxis(np.tensordot(L, T, axes=([1], [axis])), 0, axis)
    return out


def independent_up_to_axes(symbol: str, kind: str, seed: int = 0) -> int:
    """Independent components once the axes are chosen to simplify the tensor (Nye's reduced count).

    The rotations that keep the group's standard form are those about axes fixed by every
    operation (an axial vector invariant under the group: all 3 for triclinic, the 2-fold axis for
    monoclinic, the principal axis for tetragonal/trigonal/hexagonal, none otherwise). Turning the
    frame by them removes as many constants as the dimension of the orbit of a generic allowed
    tensor: triclinic C 21 → 18, monoclinic 13 → 12, tetragonal 4 C 7 → 6, hexagonal C stays 5.
    """
    ops = point_group_operations(symbol)
    c = neumann_constraints(ops, kind)
    axes = invariant_basis(ops, 1, axial=True)  # free rotation axes
    if c.n_independent == 0 or len(axes) == 0:
        return c.n_independent
    basis = c.basis()
    generic = np.tensordot(np.random.default_rng(seed).normal(size=len(basis)), basis, axes=1)
    L = _rotation_generators()
    tangents = [_infinitesimal_rotation(generic, np.tensordot(a, L, axes=1)).ravel() for a in axes]
    return c.n_independent - int(np.linalg.matrix_rank(np.array(tangents), tol=1e-8))


# --------------------------------------------------------------------------- Voigt factors


def voigt_compliance(s: np.ndarray, order: str = "ieee") -> np.ndarray:
    """``(6, 6)`` Voigt compliance s_IJ = w_I w_J s_ijkl (w = 1, 1, 1, 2, 2, 2), so that
    ε_I = s_IJ σ_J with engineering shear strain; ``s`` the full tensor (e.g. 1/GPa). Unlike
    C_IJ = C_ijkl, s_44 = 4 s_2323 and s_14 = 2 s_1123."""
    return to_voigt(s, "elastic", order) * np.outer(VOIGT_STRAIN_WEIGHTS, VOIGT_STRAIN_WEIGHTS)


def linear_compressibility_matrix(s: np.ndarray) -> np.ndarray:
    """``(3, 3)`` B_kl = s_iikl in TPa⁻¹ (``s`` in 1/GPa): β(n) = nᵀBn, so β is negative along some
    direction (negative linear compressibility) exactly when B has a negative eigenvalue."""
    return 1.0e3 * np.einsum("iikl->kl", s)


# --------------------------------------------------------------------------- Curie's principle


def _as_rotations(g) -> np.ndarray:
    if isinstance(g, str):
        return point_group_operations(g)
    if isinstance(g, SymmetryConstraints):
        if g.symmetry is None:
            raise ValueError("these constraints were built without a crystal: pass the rotations instead")
        return g.symmetry.rotations
    if hasattr(g, "rotations"):
        return np.asarray(g.rotations, dtype=float)
    if hasattr(g, "lattice"):
        return analyze_symmetry(g).rotations
    ops = np.asarray(g, dtype=float)
    if ops.ndim != 3 or ops.shape[1:] != (3, 3):
        raise ValueError(f"expected (n, 3, 3) rotations, a point-group symbol, a PointSymmetry or a Structure; got shape {ops.shape}")
    return ops


def curie_group(group, strain: np.ndarray, atol: float = 1e-9) -> tuple[str, np.ndarray]:
    """Curie's principle for a homogeneous strain: the symmetry left is the intersection of the
    crystal's point group G and the symmetry group of the strain, {g ∈ G : g ε gᵀ = ε}.

    Args:
        group: the crystal's point group in the frame of ``strain`` (rotations ``(n, 3, 3)``, a
            point-group symbol in its standard setting, a PointSymmetry or a Structure).
        strain: ``(3, 3)`` small-strain tensor, dimensionless, same Cartesian frame.

    Returns:
        (Hermann-Mauguin symbol, ``(m, 3, 3)`` operations kept).
    """
    ops = _as_rotations(group)
    eps = np.asarray(strain, dtype=float)
    if eps.shape != (3, 3) or not np.all(np.isfinite(eps)):
        raise ValueError(f"strain must be a finite (3, 3) tensor, got {np.array2string(eps, precision=4)}")
    eps = 0.5 * (eps + eps.T)
    scale = max(float(np.abs(eps).max()), 1.0e-300)
    kept = np.array([R for R in ops if np.abs(R @ eps @ R.T - eps).max() <= atol * scale + 1e-15])
    return identify_point_group(kept), kept


def strain_between(before, after) -> np.ndarray:
    """Small strain ε (3x3, dimensionless, structure frame) that takes ``before``'s lattice to
    ``after``'s: lattice rows a' = (I + ε) a for a symmetric ε. A supercell edit is recognised
    (``after``'s lattice rows ≈ integer combinations M of ``before``'s) and contributes no strain.
    Rigid rotations are removed by taking the symmetric part (exact to first order)."""
    L, L2 = np.asarray(before.lattice.matrix, dtype=float), np.asarray(after.lattice.matrix, dtype=float)
    M = np.rint(L2 @ np.linalg.inv(L))
    if abs(np.linalg.det(M)) < 0.5:
        raise ValueError("the edited lattice is not a (strained) supercell of the original one")
    F = np.linalg.solve(M @ L, L2).T
    return 0.5 * (F + F.T) - np.eye(3)


def curie_caption(before, after, symprec: float | None = None) -> str:
    """One sentence for a what-if: Curie's prediction against the re-detected point group.

    Args:
        before: the unedited crystal (Structure), or its point group (rotations / PointSymmetry /
            symbol in standard setting) in the frame of ``after``.
        after: the edited Structure (strain taken from the lattices, group re-detected), or a
            ``(3, 3)`` strain tensor (then only the prediction is stated).
    """
    kw = {} if symprec is None else {"symprec": symprec}
    ops = _as_rotations(before) if not hasattr(before, "lattice") else analyze_symmetry(before, **kw).rotations
    G = identify_point_group(ops)
    if hasattr(after, "lattice"):
        if not hasattr(before, "lattice"):
            raise ValueError("with an edited Structure, give the unedited Structure as `before`")
        strain = strain_between(before, after)
        try:
            detected = _canonical_symbol(analyze_symmetry(after, **kw).point_group)
        except ValueError as exc:  # e.g. atoms moved on top of each other
            return f"Curie: {G} ∩ (symmetry of the strain) = {curie_group(ops, strain)[0]}; re-detection failed ({exc})."
    else:
        strain, detected = np.asarray(after, dtype=float), None
    if np.abs(strain).max() < 1e-12:
        expected, text = G, f"Curie: no strain, so {G} ∩ (strain symmetry) = {G}"
    else:
        expected, _ = curie_group(ops, strain)
        text = f"Curie: {G} ∩ (symmetry of the strain) = {expected}"
    if detected is None:
        return text + "."
    if detected == expected:
        return text + f"; re-detected {detected}, as predicted."
    if len(point_group_operations(detected)) > len(point_group_operations(expected)):
        return text + f"; re-detected {detected}: the distortion is below the detection tolerance."
    return text + f"; re-detected {detected}: the other edits (atoms moved or replaced) broke more symmetry."


# --------------------------------------------------------------------------- figures


def _stereo(v: np.ndarray) -> tuple[float, float, bool]:
    """Stereographic projection of a unit vector onto the equatorial plane; True for z ≥ 0."""
    v = v / np.linalg.norm(v)
    upper = v[2] >= -1e-9
    z = abs(v[2])
    return v[0] / (1 + z), v[1] / (1 + z), bool(upper)


def stereogram_figure(group, title: str | None = None, size: int = 340):
    """Stereogram of a point group: the poles of the general form (●: upper hemisphere, ○: lower),
    the mirror planes (great circles) and the rotation axes (◆ 2, ▲ 3, ■ 4, ⬢ 6; open: the axis of
    a rotoinversion -n). Plotly figure; ``group`` as in :func:`curie_group`."""
    import plotly.graph_objects as go

    ops = _as_rotations(group)
    fig = go.Figure()
    t = np.linspace(0, 2 * np.pi, 181)
    fig.add_trace(go.Scatter(x=np.cos(t), y=np.sin(t), mode="lines", line={"color": "black", "width": 1.5}, hoverinfo="skip", showlegend=False))
    described = [(R, describe_operation(R)) for R in ops]
    for R, d in described:
        if d["symbol"] != "m":
            continue
        normal = np.array(d["axis"], dtype=float)
        a = np.cross(normal, [0, 0, 1.0] if abs(normal[2]) < 0.9 else [1.0, 0, 0])
        a /= np.linalg.norm(a)
        b = np.cross(normal, a)
        pts = [_stereo(np.cos(s) * a + np.sin(s) * b) for s in np.linspace(0, 2 * np.pi, 181)]
        pts = [(x, y) if up else (np.nan, np.nan) for x, y, up in pts]
        fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines", line={"color": "#1f77b4", "width": 2}, hoverinfo="skip", showlegend=False))
    markers = {2: "diamond-wide", 3: "triangle-up", 4: "square", 6: "hexagon"}
    # One symbol per axis end, the highest order found there (a 4-fold axis is also a 2-fold one).
    axes: dict[tuple[float, float], tuple[int, bool, str]] = {}
    for R, d in described:
        sym = d["symbol"].rstrip("⁺⁻")
        improper = sym.startswith("-")
        order = int(sym.lstrip("-")) if sym.lstrip("-").isdigit() else 0
        if order < 2 or (improper and order == 2):
            continue
        for end in (np.array(d["axis"], dtype=float), -np.array(d["axis"], dtype=float)):
            x, y, up = _stereo(end)
            key = (round(x, 3) + 0.0, round(y, 3) + 0.0)
            if up and (key not in axes or (order, not improper) > axes[key][:2]):
                axes[key] = (order, not improper, f"{sym} axis {d['axis']}")
    for (x, y), (order, proper, text) in axes.items():
        fig.add_trace(go.Scatter(
            x=[x], y=[y], mode="markers", showlegend=False, hovertext=text, hoverinfo="text",
            marker={"symbol": markers[order] + ("" if proper else "-open"), "size": 14, "color": "#d62728",
                    "line": {"width": 2, "color": "#d62728"}}))
    general = np.array([np.sin(0.55) * np.cos(0.35), np.sin(0.55) * np.sin(0.35), np.cos(0.55)])
    poles = [_stereo(R @ general) for R in ops]
    for up, marker in ((True, "circle"), (False, "circle-open")):
        xs = [p[0] for p in poles if p[2] == up]
        ys = [p[1] for p in poles if p[2] == up]
        if xs:
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers", showlegend=False, hoverinfo="skip",
                                     marker={"symbol": marker, "size": 9 if up else 13, "color": "black", "line": {"width": 1.5}}))
    name = identify_point_group(ops)
    fig.update_layout(
        title={"text": title or f"{name}: {len(ops)} operations", "font": {"size": 13}}, width=size, height=size + 30,
        margin={"l": 10, "r": 10, "t": 40, "b": 10}, plot_bgcolor="white",
        xaxis={"visible": False, "range": [-1.1, 1.1]}, yaxis={"visible": False, "range": [-1.1, 1.1], "scaleanchor": "x"},
    )
    return fig


def quadric_figure(eps: np.ndarray, n_theta: int = 30, n_phi: int = 60, title: str | None = None):
    """Two 3D panels for a symmetric, positive-definite rank-2 tensor (e.g. ε, structure frame):
    the representation quadric x·ε·x = 1, an ellipsoid with semi-axes 1/√ε_i along the principal
    axes, and the magnitude surface r(n) = n·ε·n, which is not an ellipsoid."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from gmtnet.surfaces import sphere_grid

    e = np.asarray(eps, dtype=float)
    if e.shape != (3, 3) or np.linalg.eigvalsh(0.5 * (e + e.T))[0] <= 0:
        raise ValueError("quadric_figure needs a symmetric positive-definite 3x3 tensor")
    _, _, n = sphere_grid(n_theta, n_phi)
    value = np.einsum("...i,ij,...j->...", n, e, n)
    fig = make_subplots(rows=1, cols=2, specs=[[{"type": "scene"}, {"type": "scene"}]],
                        subplot_titles=["representation quadric x·ε·x = 1", "magnitude surface r = n·ε·n"])
    for col, r in ((1, 1 / np.sqrt(value)), (2, value)):
        xyz = n * r[..., None]
        fig.add_trace(go.Surface(x=xyz[..., 0], y=xyz[..., 1], z=xyz[..., 2], surfacecolor=value, colorscale="Viridis",
                                 showscale=col == 2, colorbar={"title": "n·ε·n"}), row=1, col=col)
    scene = {"aspectmode": "data", "xaxis_title": "x", "yaxis_title": "y", "zaxis_title": "z"}
    fig.update_layout(scene=scene, scene2=scene, height=420, title=title or "", margin={"l": 0, "r": 0, "t": 60, "b": 0})
    return fig


def point_group_explorer(symbol: str = "4mm", kind: str = "piezoelectric"):
    """Interactive selector: a point group and a tensor kind → the group's stereogram beside the
    allowed form. Needs ipywidgets and a live kernel; returns the widget box. Without a kernel the
    saved notebook shows only the widget's text placeholder, so notebooks also draw one static
    example with :func:`stereogram_figure` and :func:`allowed_form`."""
    import ipywidgets as widgets
    from IPython.display import display

    kinds = ["pyroelectric", "dielectric", "gyration", "piezoelectric", "elastic"]
    if symbol not in POINT_GROUPS:
        raise ValueError(f"unknown point group {symbol!r}; expected one of {list(POINT_GROUPS)}")
    if kind not in kinds:
        raise ValueError(f"unknown kind {kind!r}; expected one of {kinds}")
    group = widgets.Dropdown(options=list(POINT_GROUPS), value=symbol, description="point group")
    tensor = widgets.Dropdown(options=kinds, value=kind, description="tensor")
    left, right = widgets.Output(), widgets.Output()

    def draw(_=None):
        for out in (left, right):
            out.clear_output(wait=True)
        with left:
            stereogram_figure(group.value).show()
        with right:
            n = nye_table().loc[group.value]
            print(f"{group.value} ({POINT_GROUPS[group.value][0]}): {tensor.value}")
            display(allowed_form(group.value, tensor.value))
            print("independent:", {"pyroelectric": n["p (polar rank 1)"], "gyration": n["g (axial rank 2)"],
                                   "dielectric": n["ε, α (polar rank 2)"], "piezoelectric": n["e (rank 3)"],
                                   "elastic": n["C (rank 4)"]}[tensor.value])

    group.observe(draw, names="value")
    tensor.observe(draw, names="value")
    draw()
    class Explorer(widgets.VBox):
        # The text a saved notebook shows when no kernel runs the widget (GitHub, nbviewer, HTML).
        def __repr__(self) -> str:
            return "[Point-group selector: needs a running kernel. Static stereograms and allowed forms: see the cells above.]"

    return Explorer([widgets.HBox([group, tensor]), widgets.HBox([left, right])])


# --------------------------------------------------------------------------- data queries


def find_frame_mismatch(piezo: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """The first flagged piezoelectric row (by material id) whose tensor obeys the point group
    after a relabelling of the axes: a frame mismatch, not noise.

    Returns the row and one table row per repairing proper signed permutation R: ``R (rows)``,
    the residual of ``rotate(T, R)`` and its allowed Voigt components (C/m², IEEE order), which
    show how the repairs disagree in sign. Raises ValueError when no row is such a case.
    """
    import itertools

    from gmtnet.symmetry import symmetry_constraints, symmetry_residual
    from gmtnet.tensors import rotate

    flagged = piezo[piezo["flags"].map(lambda f: "asymmetric" in f)].sort_values("material_id")
    for _, row in flagged.iterrows():
        c = symmetry_constraints(row.structure, "piezoelectric")
        allowed = ~c.voigt_zero_mask()
        labels = voigt_labels("piezoelectric")[allowed]
        repairs = []
        for perm in itertools.permutations(range(3)):
            for signs in itertools.product([1, -1], repeat=3):
                R = np.zeros((3, 3))
                R[range(3), perm] = signs
                if np.linalg.det(R) < 0:
                    continue
                rotated = rotate(row.tensor, R)
                r = symmetry_residual(rotated, c.symmetry.rotations)
                if r < 1e-6:
                    values = to_voigt(rotated, "piezoelectric")[allowed]
                    repairs.append({"R (rows)": R.astype(int).tolist(), "residual": r, **dict(zip(labels, values))})
        if repairs and row.symmetry_residual > 0.01:
            return row, pd.DataFrame(repairs)
    raise ValueError("no flagged row is repaired by a relabelling of the axes")


# --------------------------------------------------------------------------- exercises


@dataclass(frozen=True)
class Exercise:
    """A graded exercise: ``grade(answer)`` returns (right, feedback)."""

    key: str
    question: str
    grade: Callable[[object], tuple[bool, str]]


def _count_dict(expected: dict, hint: str) -> Callable[[object], tuple[bool, str]]:
    def grade(answer):
        if not isinstance(answer, dict):
            return False, f"give a dict like {dict.fromkeys(expected, 0)}"
        wrong = {k: answer.get(k) for k in expected if answer.get(k) != expected[k]}
        return (not wrong), ("right" if not wrong else f"not yet for {sorted(wrong)}. Hint: {hint}")
    return grade


def _set_of(expected: set, hint: str) -> Callable[[object], tuple[bool, str]]:
    def grade(answer):
        got = set(answer) if isinstance(answer, (list, tuple, set)) else {answer}
        if got == expected:
            return True, "right"
        missing, extra = sorted(expected - got), sorted(got - expected)
        return False, f"{len(missing)} missing, {len(extra)} too many" + (f" (e.g. {extra[0]} does not fit)" if extra else "") + f". Hint: {hint}"
    return grade


def _number(expected: float, rtol: float, hint: str) -> Callable[[object], tuple[bool, str]]:
    def grade(answer):
        try:
            x = float(answer)
        except (TypeError, ValueError):
            return False, f"give a number, got {answer!r}"
        ok = abs(x - expected) <= rtol * abs(expected)
        return ok, "right" if ok else f"{x:.4g} is not it (tolerance {rtol:.1g} relative). Hint: {hint}"
    return grade


def _grade_01_4():
    from gmtnet.tensors import from_voigt

    v = np.zeros((3, 6))
    v[0, 4] = v[1, 3] = 0.7
    v[2, 0] = v[2, 1] = -0.4
    v[2, 2] = 1.3
    e = from_voigt(v, "piezoelectric")
    allowed = {s for s in POINT_GROUPS if neumann_constraints(point_group_operations(s), "piezoelectric").residual(e) < 1e-9}
    return _set_of(allowed, "a group allows a tensor when its projector leaves it unchanged: constraints.residual(e) ≈ 0")


def _grade_01_6():
    from gmtnet.properties import piezo_strain_coefficients
    from gmtnet.tensors import from_voigt

    ops = point_group_operations("32")
    e = neumann_constraints(ops, "piezoelectric").project(from_voigt(np.arange(1.0, 19.0).reshape(3, 6) / 10, "piezoelectric"))
    c = np.diag([90.0, 90.0, 110.0, 50.0, 50.0, 40.0])
    c[0, 1] = c[1, 0] = 10.0
    C = neumann_constraints(ops, "elastic").project(from_voigt(c, "elastic"))
    d = piezo_strain_coefficients(e, C)
    return _number(d[1, 5] / d[0, 0], 1e-6, "d_iJ carries a factor 2 in the shear columns J = 4, 5, 6")


def site_invariants(structure, symprec: float | None = None) -> dict[str, int]:
    """Per element, the number of independent components of a per-atom polar rank-2 tensor (a
    Born charge Z*_κ, not symmetric) that each atom's **site-symmetry group** allows (Neumann's
    principle at the site level; :meth:`gmtnet.symmetry.SiteSymmetry.site_group`).

    Raises:
        ValueError: atoms of one element on sites that allow different numbers (name them by site).
    """
    from gmtnet.symmetry import analyze_site_symmetry

    sites = analyze_site_symmetry(structure) if symprec is None else analyze_site_symmetry(structure, symprec=symprec)
    out: dict[str, int] = {}
    for k, site in enumerate(structure):
        n = len(invariant_basis(sites.site_group(k), 2))
        if out.setdefault(site.specie.symbol, n) != n:
            raise ValueError(f"{site.specie.symbol} sits on sites with {out[site.specie.symbol]} and {n} independent components")
    return out


def _grade_01_7():
    from gmtnet.data import load_dfpt

    dfpt = load_dfpt()
    row = dfpt[(dfpt["formula"] == "KTaO3") & (dfpt["spacegroup_number"] == 221)].iloc[0]
    return _count_dict(site_invariants(row.structure), "count the invariants of each atom's own site group "
                       "(analyze_site_symmetry(s).site_group(k)), not of the crystal's point group m-3m")


def _grade_02_1():
    from gmtnet.data import load_dataset
    from gmtnet.tensors import to_ieee_frame

    row = load_dataset("elastic", include_flagged=False).set_index("material_id").loc["mp-8062"]
    c = to_voigt(to_ieee_frame(row.tensor, row.structure), "elastic")
    return _number(2 * c[3, 3] / (c[0, 0] - c[0, 1]), 0.01, "rotate C to the cube frame first (to_ieee_frame), then A_Z = 2 C44 / (C11 − C12)")


def _grade_02_2():
    from gmtnet.data import load_dataset
    from gmtnet.properties import elastic_moduli

    row = load_dataset("elastic", include_flagged=False).set_index("material_id").loc["mp-2858"]
    return _number(1e3 / elastic_moduli(row.tensor)["k_reuss"], 1e-3, "β summed over x, y, z equals s_iikk = 1/K_Reuss; in TPa⁻¹ that is 1000 / K_Reuss[GPa]")


def _grade_02_4():
    from gmtnet.data import load_dataset
    from gmtnet.properties import compliance, is_mechanically_stable, poisson_ratio

    axes, count = np.eye(3), 0
    for tensor in load_dataset("elastic", include_flagged=False)["tensor"]:
        if is_mechanically_stable(tensor):
            s = compliance(tensor)
            count += any(poisson_ratio(s, axes[a], axes[b]) < 0 for a, b in ((0, 1), (1, 0), (1, 2), (2, 1), (0, 2), (2, 0)))
    return _number(count, 0.0, "loop over the stable tensors; poisson_ratio(compliance(C), n, m) < 0 for any of the six axis pairs")


def _lif():
    from gmtnet.data import load_dataset

    return load_dataset("elastic", include_flagged=False).set_index("material_id").loc["mp-1138"].structure


def _grade_03_1():
    from gmtnet.edit import strain_tensor

    group, _ = curie_group(_lif(), strain_tensor("shear", 2.0, plane="xy"))
    return _set_of({group}, "a shear ε_xy has the symmetry mmm with axes [110], [1-10], z; intersect it with m-3m")


def _grade_03_3():
    from gmtnet.edit import strain_tensor

    group, _ = curie_group(_lif(), strain_tensor("biaxial", 1.0, plane="xy"))
    return _set_of({group}, "which operations of m-3m keep diag(ε, ε, 0)? curie_group(structure, strain_tensor(...))")


def _grade_03_4():
    supercell = _lif().copy()
    supercell.make_supercell([2, 1, 1])
    return _set_of({_canonical_symbol(analyze_symmetry(supercell).point_group)},
                   "the point group is a property of the crystal, not of the cell chosen to describe it")


def _grade_04_1(answer):
    eps = np.asarray(answer, dtype=float) if answer is not None else None
    if eps is None or eps.shape != (3, 3):
        return False, "pass the predicted 3x3 tensor (p.tensor)"
    isotropic = np.allclose(eps, eps[0, 0] * np.eye(3), atol=1e-9 * max(abs(eps[0, 0]), 1.0))
    if isotropic and eps[0, 0] > 0:
        return True, "right: a cubic crystal's ε is a positive multiple of the identity"
    return False, "Hint: predict for the *cubic* crystal; the projector makes its ε isotropic, ε = ε·I"


def _build() -> dict[str, Callable[[], Callable]]:
    nye = None

    def table():
        nonlocal nye
        if nye is None:
            nye = nye_table()
        return nye

    return {
        "01.1": lambda: _count_dict({"4": 7, "-4": 7, "4/m": 7}, "ρ(−I) = (+1) for rank 4, so the inversion adds no condition on C"),
        "01.2": lambda: _set_of({"6/mmm"}, "a 6-fold axis allows only angular orders m ≡ 0 (mod 6); for |m| ≤ 4 that is m = 0"),
        "01.3": lambda: _set_of({s for s, (system, _) in POINT_GROUPS.items() if system == "cubic"},
                                "the 3-fold axes along ⟨111⟩ permute x, y, z; every cubic group has them"),
        "01.4": _grade_01_4,
        "01.5": lambda: _set_of({s for s in POINT_GROUPS if table().loc[s, "g (axial rank 2)"] > 0 and table().loc[s, "e (rank 3)"] == 0},
                                "compare the g (axial rank 2) and e (rank 3) columns of nye_table()"),
        "01.6": _grade_01_6,
        "01.7": _grade_01_7,
        "02.1": _grade_02_1,
        "02.2": _grade_02_2,
        "02.3": lambda: _set_of({"111"}, "compare young_modulus(s, n) along [1, 0, 0] and [1, 1, 1]/√3 in the cube frame"),
        "02.4": _grade_02_4,
        "03.1": _grade_03_1,
        "03.2": lambda: _count_dict({"dielectric": 2, "piezoelectric": 0}, "4/mmm still contains the inversion: ρ(−I) e = −e"),
        "03.3": _grade_03_3,
        "04.1": lambda: _grade_04_1,
        "04.2": lambda: _number(0, 0.0, "an orthogonal projection never lengthens a vector, and P C_true = C_true"),
        "04.3": lambda: _count_dict(table().groupby("system", sort=False)["ε, α (polar rank 2)"].first().to_dict(),
                                    "read the ε, α (polar rank 2) column of nye_table(); it depends only on the crystal system"),
        "03.4": _grade_03_4,
    }


_GRADERS = _build()
#: Exercise keys ("01.1" = notebook 01, exercise 1) that :func:`check` can grade.
EXERCISES = tuple(_GRADERS)
_CACHE: dict[str, Callable] = {}


@dataclass(frozen=True)
class Grade:
    """The result of :func:`check`: true when right; shows as "✓ right" or "✗ <hint>"."""

    right: bool
    feedback: str

    def __bool__(self) -> bool:
        return bool(self.right)

    def __repr__(self) -> str:
        return ("✓ " if self.right else "✗ ") + self.feedback


def check(key: str, answer) -> Grade:
    """Grade an exercise answer: a :class:`Grade`, true when right, that shows "✓ right" or "✗ " and
    a hint.

    ``key`` is ``"NN.k"``: notebook NN, exercise k (see :data:`EXERCISES`). The expected answer is
    computed by the library when first needed, never stored.
    """
    if key not in _GRADERS:
        raise ValueError(f"unknown exercise {key!r}; expected one of {list(EXERCISES)}")
    if answer is None:
        return Grade(False, "no answer yet: replace None by your answer and run the cell again")
    if key not in _CACHE:
        _CACHE[key] = _GRADERS[key]()
    right, feedback = _CACHE[key](answer)
    return Grade(bool(right), feedback)
