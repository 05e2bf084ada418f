# ---
# jupyter:
#   jupytext:
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · Neumann's principle: what symmetry allows a crystal tensor to be
#
# **Learning goals.** After this notebook you can
#
# 1. write a point-group operation as a $3\times3$ orthogonal matrix and tell rotations from
#    improper operations (mirrors, inversion, rotoinversions);
# 2. state Neumann's principle, $\rho(g)\,T = T$ for every $g$ of the point group, and apply the
#    transformation law of a polar tensor of rank 2, 3 and 4;
# 3. build the exact projector $P = S\cdot\frac{1}{|G|}\sum_g \rho(g)$ and read off from it the
#    allowed form of the dielectric tensor $\varepsilon$, the piezoelectric tensor $e$ and the
#    elastic tensor $C$;
# 4. generate a Nye-style table of independent components for all 32 point groups;
# 5. explain why the cubic class 432 has no piezoelectricity although it lacks inversion;
# 6. check real DFT tensors against their structures' symmetry, and recognise a frame mismatch.
#
# Library used: `gmtnet.pointgroups` (the 32 groups, generated), `gmtnet.symmetry` (the
# projector), `gmtnet.tensors` (Voigt forms, rotations), `gmtnet.data` (the bundled DFT sets).

# %%
import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import plotly.io as pio

from gmtnet.plots import use_offline_notebook_renderer

# plotly.js embedded in the notebook itself and no MathJax from a CDN: figures work offline.
use_offline_notebook_renderer()
np.set_printoptions(precision=4, suppress=True, linewidth=120)
pd.set_option("display.precision", 4)

# %% [markdown]
# ## 1 · Symmetry operations are orthogonal matrices
#
# A point-group operation maps the crystal onto itself while keeping one point fixed. In a
# Cartesian frame it is an orthogonal matrix $R$ ($R^\mathsf{T}R = I$):
#
# * $\det R = +1$: a **proper rotation** by angle $\theta$, with $\operatorname{tr}R = 1 + 2\cos\theta$;
# * $\det R = -1$: an **improper** operation $R = -R'$ (inversion $-I$ times a rotation $R'$):
#   the inversion itself ($\theta = 0$), a mirror ($\theta = 180°$), or a rotoinversion
#   $\bar 3, \bar 4, \bar 6$.
#
# A point group $G$ is a finite set of such matrices closed under multiplication. Crystal
# lattices only allow 1-, 2-, 3-, 4- and 6-fold axes, which leaves exactly **32 crystallographic
# point groups**. `gmtnet.pointgroups` generates each one from two or three generators.

# %%
from gmtnet.pointgroups import POINT_GROUPS, point_group_operations


def describe(R):
    """Name a 3x3 orthogonal matrix: proper/improper, rotation angle of its proper part, axis."""
    d = round(np.linalg.det(R))
    proper = d * R  # the rotation part R' (R = -R' for an improper operation)
    angle = np.degrees(np.arccos(np.clip((np.trace(proper) - 1) / 2, -1, 1)))
    w, v = np.linalg.eig(proper)
    axis = np.real(v[:, np.argmin(np.abs(w - 1))])
    axis = axis / axis[np.argmax(np.abs(axis))]
    if d == 1:
        name = "identity" if angle < 1 else f"{round(360 / angle)}-fold rotation"
    elif angle < 1:
        name = "inversion"
    elif abs(angle - 180) < 1:
        name = "mirror (normal along axis)"
    else:
        name = f"-{round(360 / angle)} rotoinversion"
    return {"det": d, "angle (deg)": round(angle), "axis": (np.round(axis, 3) + 0.0).tolist(), "operation": name}


ops = point_group_operations("4mm")
print(f"4mm has {len(ops)} operations")
pd.DataFrame([describe(R) for R in ops])

# %% [markdown]
# The table lists the identity, the 4-fold rotations about $z$ (90°, 270°), the 2-fold rotation
# and four mirrors containing $z$: that is the point group of a tetragonal polar crystal such
# as PbTiO₃. The orders of all 32 groups, generated rather than typed:

# %%
groups = {symbol: point_group_operations(symbol) for symbol in POINT_GROUPS}
orders = pd.DataFrame(
    {
        "crystal system": [POINT_GROUPS[s][0] for s in groups],
        "order |G|": [len(g) for g in groups.values()],
        "centrosymmetric": [any(np.allclose(R, -np.eye(3)) for R in g) for g in groups.values()],
    },
    index=pd.Index(list(groups), name="point group"),
)
for system, part in orders.groupby("crystal system", sort=False):
    print(f"{system:13s}", ", ".join(f"{s} ({n})" for s, n in part["order |G|"].items()))

# %% [markdown]
# ## 2 · Neumann's principle and the transformation law
#
# Take a physical property tensor $T$ (here: $\varepsilon_{ij}$, $e_{ijk}$, $C_{ijkl}$). If the
# crystal is rotated by $R$, the tensor becomes
#
# $$T'_{ij\dots} = R_{ia}R_{jb}\cdots T_{ab\dots}, \qquad\text{i.e.}\quad T' = \rho(R)\,T,\quad \rho(R) = R\otimes R\otimes\cdots$$
#
# (one factor of $R$ per index). **Neumann's principle**: the symmetry elements of any physical
# property of a crystal include those of its point group. An operation $g$ of the point group
# leaves the crystal unchanged, so it must leave the tensor unchanged:
#
# $$\rho(g)\,T = T \qquad\text{for every } g \in G.$$
#
# $\varepsilon$, $e$ and $C$ are **polar** tensors: an improper operation acts through the same
# formula, with the $\det R = -1$ already inside $R$. For the inversion $R = -I$ this gives
# $\rho(-I) = (-1)^{\text{rank}}$: even-rank tensors ($\varepsilon$, $C$) are unaffected, while an
# odd-rank tensor must satisfy $e = -e$, so **centrosymmetric crystals are not piezoelectric**.
#
# On top of the point group, each tensor has **intrinsic index symmetries** that hold in every
# crystal: $\varepsilon_{ij} = \varepsilon_{ji}$, $e_{ijk} = e_{ikj}$ (strain is symmetric) and
# $C_{ijkl} = C_{jikl} = C_{klij}$ (symmetric stress and strain, and an elastic energy).

# %%
from gmtnet.tensors import rotate

rng = np.random.default_rng(0)
e_random = rng.normal(size=(3, 3, 3))
inversion = -np.eye(3)
print("rank 3 under inversion: rho(-I) e == -e ?", np.allclose(rotate(e_random, inversion), -e_random))
C_random = rng.normal(size=(3, 3, 3, 3))
print("rank 4 under inversion: rho(-I) C == C ? ", np.allclose(rotate(C_random, inversion), C_random))

# %% [markdown]
# ## 3 · The projector onto the allowed tensors
#
# Average any tensor over the group: $\bar T = \frac{1}{|G|}\sum_{g} \rho(g)\,T$. Because
# $\rho(h)\rho(g) = \rho(hg)$ and $hg$ runs over the whole group when $g$ does, $\rho(h)\bar T = \bar T$
# for every $h$: the average is invariant. A tensor that was already invariant is unchanged. So the
# group average $A = \frac{1}{|G|}\sum_g\rho(g)$ is a **projector** onto the invariant tensors
# (for orthogonal $R$ it is even an orthogonal projector, $A = A^\mathsf{T} = A^2$). The
# intrinsic index symmetry is a second projector $S$ (the average over the allowed index
# permutations); the two commute, so
#
# $$P = S\cdot\frac{1}{|G|}\sum_{g\in G}\rho(g)$$
#
# is the orthogonal projector onto the tensors that have the right index symmetry **and** obey
# Neumann's principle. Its trace is the number of independent components. This is exactly what
# `gmtnet.symmetry.neumann_projector` computes, and what GMTNet applies to every prediction.
# Below we build it by hand with `numpy` and compare.

# %%
from gmtnet.symmetry import neumann_constraints, neumann_projector, tensor_representation

ops = groups["6mm"]                                      # e.g. wurtzite ZnO, GaN
rho = tensor_representation(ops, 3)                      # (|G|, 27, 27): R (x) R (x) R
group_average = rho.mean(axis=0)

# S for e_ijk = e_ikj: average of the identity and the swap of the last two indices.
swap = np.zeros((27, 27))
for i, j, k in np.ndindex(3, 3, 3):
    swap[np.ravel_multi_index((i, j, k), (3, 3, 3)), np.ravel_multi_index((i, k, j), (3, 3, 3))] = 1
S = 0.5 * (np.eye(27) + swap)
P = S @ group_average

print("same as the library's projector:", np.allclose(P, neumann_projector(ops, "piezoelectric")))
print("idempotent P @ P == P:", np.allclose(P @ P, P), "| symmetric P == P.T:", np.allclose(P, P.T))
print("independent components of e in 6mm = trace P =", round(np.trace(P)))

# %% [markdown]
# ### Reading off the allowed form
#
# The projector's image is spanned by a few basis tensors (`SymmetryConstraints.basis()`).
# Write each basis tensor in Voigt form (IEEE order: $1{=}xx, 2{=}yy, 3{=}zz, 4{=}yz, 5{=}xz, 6{=}xy$;
# no numerical factors for the stress constants $e_{iJ}=e_{ijk}$ or the stiffnesses
# $C_{IJ}=C_{ijkl}$), pick as free parameters the first components (in reading order) that
# are linearly independent, and express every other component through them. The helper below
# does exactly that and prints the familiar textbook matrices, **derived** from the group
# operations.

# %%
from fractions import Fraction

from gmtnet.tensors import to_voigt, voigt_labels


def allowed_form(constraints, order="ieee"):
    """Voigt matrix of strings: each component as a combination of the free components."""
    kind = constraints.kind
    basis = to_voigt(constraints.basis(), kind, order)          # (n, rows, cols)
    n, rows, cols = basis.shape
    if n == 0:
        return pd.DataFrame(np.full((rows, cols), "0"))
    labels = voigt_labels(kind, order).reshape(-1)
    M = basis.reshape(n, -1)
    # Free components: greedily, in reading order (upper triangle only for the symmetric C and ε).
    candidates = [r * cols + c for r in range(rows) for c in range(cols) if kind.rank == 3 or c >= r]
    pivots = []
    for idx in candidates:
        if np.linalg.matrix_rank(M[:, pivots + [idx]], tol=1e-8) > len(pivots):
            pivots.append(idx)
        if len(pivots) == n:
            break
    K = np.linalg.solve(M[:, pivots], M)                        # component = sum_k K[k, j] * free_k
    cells = []
    for j in range(rows * cols):
        terms = []
        for k, p in enumerate(pivots):
            f = Fraction(K[k, j]).limit_denominator(12)
            if abs(K[k, j]) < 1e-8:
                continue
            coeff = "" if f == 1 else "-" if f == -1 else f"{f}·"
            terms.append(f"{coeff}{labels[p]}")
        cells.append(" + ".join(terms).replace("+ -", "- ") or "0")
    return pd.DataFrame(np.array(cells).reshape(rows, cols), index=range(1, rows + 1), columns=range(1, cols + 1))


print("Piezoelectric e in 6mm (C/m²):")
allowed_form(neumann_constraints(groups["6mm"], "piezoelectric"))

# %% [markdown]
# That is the wurtzite form: $e_{15}=e_{24}$, $e_{31}=e_{32}$, $e_{33}$, three independent
# constants. The same for the dielectric tensor in the seven crystal systems, and for the
# elastic tensor of a cubic, a hexagonal and a monoclinic crystal:

# %%
for symbol in ["-1", "2/m", "mmm", "4/mmm", "6/mmm", "m-3m"]:
    c = neumann_constraints(groups[symbol], "dielectric")
    print(f"ε in {symbol:6s} ({POINT_GROUPS[symbol][0]}, {c.n_independent} independent):")
    print(allowed_form(c).to_string(header=False, index=False), "\n")

# %%
for symbol in ["m-3m", "6/mmm", "2/m"]:
    c = neumann_constraints(groups[symbol], "elastic")
    print(f"C in {symbol} ({c.n_independent} independent), GPa:")
    print(allowed_form(c).to_string(), "\n")

# %% [markdown]
# Note $C_{66} = \tfrac12(C_{11}-C_{12})$ in the hexagonal class: not an equality between two
# components but a linear relation, which the projector finds without being told. (Our
# monoclinic setting has the 2-fold axis along $z$, so the non-zero off-diagonal couplings are
# $C_{16}, C_{26}, C_{36}, C_{45}$.)
#
# ## 4 · A Nye-style table for all 32 point groups, generated
#
# Nye's *Physical Properties of Crystals* tabulates the number of independent components per
# point group. Here the table is **computed**: one projector per group and kind, its trace.

# %%
nye = pd.DataFrame(
    {
        "system": [POINT_GROUPS[s][0] for s in groups],
        "|G|": [len(g) for g in groups.values()],
        "centrosymmetric": orders["centrosymmetric"].to_list(),
        "ε (rank 2)": [neumann_constraints(g, "dielectric").n_independent for g in groups.values()],
        "e (rank 3)": [neumann_constraints(g, "piezoelectric").n_independent for g in groups.values()],
        "C (rank 4)": [neumann_constraints(g, "elastic").n_independent for g in groups.values()],
    },
    index=pd.Index(list(groups), name="point group"),
)
nye

# %% [markdown]
# Sanity check against the standard values (Nye 1985; the IEEE 176 standard): the table agrees
# with them. Note that $C$ does not care about inversion (even rank), so groups in the same
# **Laue class** (e.g. 4, $\bar4$, 4/m) share one count, while $e$ vanishes in all 11
# centrosymmetric groups.

# %%
textbook_e = {"1": 18, "-1": 0, "2": 8, "m": 10, "2/m": 0, "222": 3, "mm2": 5, "mmm": 0, "4": 4, "-4": 4,
              "4/m": 0, "422": 1, "4mm": 3, "-42m": 2, "4/mmm": 0, "3": 6, "-3": 0, "32": 2, "3m": 4,
              "-3m": 0, "6": 4, "-6": 2, "6/m": 0, "622": 1, "6mm": 3, "-6m2": 1, "6/mmm": 0, "23": 1,
              "m-3": 0, "432": 0, "-43m": 1, "m-3m": 0}
textbook_C = {"triclinic": 21, "monoclinic": 13, "orthorhombic": 9, "hexagonal": 5, "cubic": 3}
assert nye["e (rank 3)"].to_dict() == textbook_e
for system, n in textbook_C.items():
    assert (nye.loc[nye.system == system, "C (rank 4)"] == n).all()
assert nye.loc[["4", "-4", "4/m"], "C (rank 4)"].eq(7).all() and nye.loc[["422", "4mm", "-42m", "4/mmm"], "C (rank 4)"].eq(6).all()
assert nye.loc[["3", "-3"], "C (rank 4)"].eq(7).all() and nye.loc[["32", "3m", "-3m"], "C (rank 4)"].eq(6).all()
print("The generated table agrees with the textbook counts.")

fig = px.imshow(
    nye[["ε (rank 2)", "e (rank 3)", "C (rank 4)"]].T,
    text_auto=True, aspect="auto", color_continuous_scale="Blues",
    labels={"x": "point group", "y": "tensor", "color": "independent"},
    title="Independent components per point group (computed with the Neumann projector)",
)
fig.update_layout(height=330)
fig.show()

# %% [markdown]
# ## 5 · Why 432 has no piezoelectricity although it lacks inversion
#
# 21 of the 32 classes are non-centrosymmetric; 20 of them are piezoelectric. The exception is
# the cubic class **432** (octahedral rotations only). Lacking inversion is necessary, not
# sufficient: the rotations themselves must leave some rank-3 tensor symmetric in $jk$
# invariant. Let us watch the allowed subspace shrink as operations are added.

# %%
from gmtnet.pointgroups import generate_group

C4z = np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])              # 90° about z
C3d = np.array([[0.0, 0, 1], [1, 0, 0], [0, 1, 0]])               # 120° about [111]: x -> y -> z -> x
cases = {
    "4-fold about z alone (group 4)": generate_group([C4z]),
    "3-fold about [111] alone": generate_group([C3d]),
    "23 (2-folds + 3-fold)": groups["23"],
    "422 (4-fold + 2-fold)": groups["422"],
    "432 (4-fold + 3-fold)": generate_group([C4z, C3d]),
    "-43m (-4 + 3-fold)": groups["-43m"],
}
for name, ops in cases.items():
    c = neumann_constraints(ops, "piezoelectric")
    eqs = c.voigt_equalities()
    shown = eqs if len(eqs) <= 4 else f"{len(eqs)} equalities, e.g. {eqs[:2]}"
    print(f"{name:32s} |G|={len(ops):2d}  independent e: {c.n_independent}   {shown}")

# %% [markdown]
# Read the output: the cubic rotations of 23 allow one constant, $e_{14}=e_{25}=e_{36}$ (the
# three-fold axis permutes $x\to y\to z$). The 4-fold axis of 422 allows one constant too, but
# with **the opposite sign**, $e_{14} = -e_{25}$. Group 432 contains both, so
# $e_{14} = e_{25} = -e_{25}$, hence zero: nothing survives.
#
# In polynomial language, a rank-3 tensor contracted with a direction, $e_{ijk}n_in_jn_k$, is a
# cubic polynomial. The only cubic polynomial invariant under the 3-fold and 2-fold axes of
# the cube is $xyz$. A 4-fold rotation about $z$, $(x,y,z)\to(-y,x,z)$, sends $xyz \to -xyz$.
# In $\bar43m$ (zinc blende, GaAs) the 4-fold is replaced by the rotoinversion
# $\bar4 = -C_{4z}$, $(x,y,z)\to(y,-x,-z)$, which keeps $xyz$: zinc blende **is** piezoelectric.
#
# The same statement with group characters: $e$ decomposes into O(3) irreps $1o\oplus1o\oplus2o\oplus3o$
# (`gmtnet.kinds`). The number of invariants of an irrep $(l, p)$ in $G$ is
# $n = \frac{1}{|G|}\sum_g \chi_l(\theta_g)\,(\det g)^{[p=o]}$, with
# $\chi_l(\theta)=\sin\big((l+\tfrac12)\theta\big)/\sin(\theta/2)$ for the rotation part:

# %%
from gmtnet.kinds import get_kind


def n_invariants(ops, l, parity):
    """Multiplicity of the trivial representation of G in the O(3) irrep (l, parity)."""
    total = 0.0
    for R in ops:
        d = np.linalg.det(R)
        theta = np.arccos(np.clip((np.trace(d * R) - 1) / 2, -1, 1))
        chi = 2 * l + 1 if theta < 1e-9 else np.sin((l + 0.5) * theta) / np.sin(theta / 2)
        total += chi * (d if parity == "o" else 1.0)
    return round(total / len(ops), 6)


irreps = get_kind("piezoelectric").irreps.split("+")      # ['1o', '1o', '2o', '3o']
rows = {}
for symbol in ["23", "432", "-43m", "422", "622", "6mm"]:
    counts = [n_invariants(groups[symbol], int(term[:-1]), term[-1]) + 0.0 for term in irreps]
    rows[symbol] = {f"{term} (#{i + 1})": n for i, (term, n) in enumerate(zip(irreps, counts))}
    rows[symbol]["total"] = sum(counts)
    rows[symbol]["projector trace"] = neumann_constraints(groups[symbol], "piezoelectric").n_independent
pd.DataFrame(rows).T

# %% [markdown]
# In 432 no irrep of $e$ has an invariant: the group has only proper rotations, so parity plays
# no role, and the octahedral rotation group $O$ has no invariant in $l = 1, 2, 3$ (its first
# invariant harmonic is $l=4$, $x^4+y^4+z^4$, which is why $C$, with its $4e$ part, feels the
# cubic anisotropy). In $\bar43m$ the improper operations multiply the $3o$ character by
# $\det g = -1$, which produces exactly one invariant: $e_{14}$.
#
# ## 6 · Real data: do the bundled DFT tensors obey their structures' symmetry?
#
# Every row of the bundled data has a structure and a tensor in the **Cartesian frame of that
# structure**. The loader stores the residual
# $r = \max_g \lVert\rho(g)T - T\rVert_F / \lVert T\rVert_F$ under the point group that spglib
# finds at 0.01 Å. A clean tensor has $r\approx 0$; rows with $r > 0.01$ are flagged
# `asymmetric` and left out of training and testing.

# %%
from gmtnet.data import load_dataset

frames = {kind: load_dataset(kind) for kind in ["dielectric", "piezoelectric", "elastic"]}
summary = pd.DataFrame(
    {
        kind: {
            "rows": len(df),
            "residual < 1e-3": int((df["symmetry_residual"] < 1e-3).sum()),
            "median residual": df["symmetry_residual"].median(),
            "flagged asymmetric": int(df["flags"].map(lambda f: "asymmetric" in f).sum()),
            "share asymmetric": df["flags"].map(lambda f: "asymmetric" in f).mean(),
        }
        for kind, df in frames.items()
    }
).T
summary

# %%
hist = pd.concat(
    [pd.DataFrame({"log10 residual": np.log10(df["symmetry_residual"].clip(lower=1e-16)), "dataset": kind})
     for kind, df in frames.items()]
)
fig = px.histogram(hist, x="log10 residual", color="dataset", barmode="overlay", nbins=60, opacity=0.6,
                   title="Symmetry residual of the DFT labels (log10; 1e-16 = exact to machine precision)")
fig.add_vline(x=-2, line_dash="dash", annotation_text="flag threshold 0.01")
fig.add_vline(x=np.log10(2), line_dash="dot", annotation_text="2: frame mismatch")
fig.show()

# %% [markdown]
# Most labels obey their structure's symmetry to within $10^{-3}$; typical residuals of
# $10^{-5}$–$10^{-4}$ are the numerical noise of the calculations. The dielectric and elastic
# rows that are flagged sit just above the threshold ($r \approx 0.01$–$0.05$: noisy DFT,
# e.g. stress–strain fits). The piezoelectric set is different: about 19 % of its rows (176
# of 941) are flagged, and almost all of them sit at $r \approx 2$. Why 2? If $\rho(g)T = -T$ for some operation (for example a
# mirror that reverses the polar axis of the tensor, because the tensor's axis points elsewhere),
# then $\lVert\rho(g)T - T\rVert = 2\lVert T\rVert$. The data card explains the origin: the source
# gives $e$ in the IEEE-176 standard frame, and it was rotated back to the structure's frame with
# today's pymatgen convention; for most of these rows the source used another axis convention.
#
# ### A clean row and a mismatched row
#
# First a clean one, AgI in the zinc-blende structure ($\bar43m$), shown in 3D with the
# project's offline viewer:

# %%
from gmtnet.symmetry import symmetry_constraints, symmetry_residual
from gmtnet.viewer import show_structure

piezo = frames["piezoelectric"].set_index("material_id")
clean = piezo.loc["mp-22925"]
print(clean.formula, clean.spacegroup_symbol, clean.point_group, "residual", clean.symmetry_residual)
print("lattice vectors (rows, Å):\n", clean.structure.lattice.matrix)
print("e in the structure's frame (C/m², IEEE Voigt order):")
print(to_voigt(clean.tensor, "piezoelectric"))
R_ieee = np.asarray(clean.ieee_rotation).reshape(3, 3)     # structure frame -> IEEE frame (cube axes)
print("e in the IEEE frame, rotate(e, R_ieee):")
print(to_voigt(rotate(clean.tensor, R_ieee), "piezoelectric"))
show_structure(clean.structure)

# %% [markdown]
# The stored cell is the primitive fcc cell, whose Cartesian axes are **not** the cube axes,
# so in the structure's frame the tensor looks busy, although it obeys the symmetry exactly
# (residual ≈ 0). Rotated into the IEEE frame, whose axes are the cube axes, it takes the
# textbook $\bar43m$ form: only $e_{14}=e_{25}=e_{36}$. The form depends on the frame; the
# physics does not. Now a
# flagged row, Li₂WS₄ ($I\bar42m$, point group $\bar42m$). Its structure's $\bar4$ axis is
# $z$ (the cell is tetragonal with $c$ along $z$), so the allowed form is $e_{14}=e_{25}$ and $e_{36}$:

# %%
bad = piezo.loc["mp-867695"]
sym_bad = symmetry_constraints(bad.structure, "piezoelectric")
print(bad.formula, bad.spacegroup_symbol, bad.point_group, "flags:", bad["flags"])
print("lattice (Å):\n", bad.structure.lattice.matrix)
print("allowed form:")
print(allowed_form(sym_bad).to_string())
print("\nstored e (C/m²):")
print(to_voigt(bad.tensor, "piezoelectric"))
print("residual:", symmetry_residual(bad.tensor, sym_bad.symmetry.rotations))
show_structure(bad.structure)

# %% [markdown]
# The stored tensor has the *shape* of a $\bar42m$ tensor ($e_{14}$, $e_{25}$, $e_{36}$ only),
# but the large constant sits in $e_{25}$ where $e_{36}$ should be: the tensor's $\bar4$ axis
# points along $y$, not $z$. Rotating the tensor by 90° about $x$ (which takes $y$ to $z$)
# repairs it. But several rotations repair it, and they disagree on the **sign** of $e$:

# %%
import itertools

repairs = []
for perm in itertools.permutations(range(3)):
    for signs in itertools.product([1, -1], repeat=3):
        R = np.zeros((3, 3))
        R[range(3), perm] = signs
        if np.linalg.det(R) < 0:          # proper rotations only
            continue
        rotated = rotate(bad.tensor, R)
        r = symmetry_residual(rotated, sym_bad.symmetry.rotations)
        if r < 1e-6:
            v = to_voigt(rotated, "piezoelectric")
            repairs.append({"R (rows)": R.astype(int).tolist(), "residual": r, "e14": v[0, 3], "e25": v[1, 4], "e36": v[2, 5]})
pd.DataFrame(repairs)

# %% [markdown]
# Every repairing rotation gives a tensor that obeys $\bar42m$ exactly, but half of them give
# $e_{36} = +0.053$ and half $-0.053$ C/m². Which one is right cannot be decided from the data
# alone, so the project keeps the row but flags it and leaves it out of training and testing.
# (For consistent rows, too, the absolute sign of $e$ relative to the structure cannot be
# verified without the original calculation — see the data card.)
#
# **Take-away.** A tensor is only meaningful together with its frame. Before training on, or
# comparing, tensors from different sources, check them against their own structure's symmetry.
#
# ## Exercises
#
# 1. **Laue classes.** Show numerically that the elastic tensor has the same number of
#    independent components in 4, $\bar4$ and 4/m, and explain why with $\rho(-I)$.
# 2. **Transverse isotropy.** Take a random elastic tensor, project it onto the 6/mmm form and
#    show that it is invariant under a rotation about $z$ by an arbitrary angle (say 17°), not
#    only by 60°. Is the same true for the 4/mmm form?
# 3. **Isotropic ε.** Show that a dielectric tensor allowed by any cubic group is a multiple of
#    the identity, and hence invariant under every rotation.
# 4. **Find the symmetry from the tensor.** Given the Voigt matrix
#    $e = \begin{pmatrix}0&0&0&0&e_{15}&0\\0&0&0&e_{15}&0&0\\e_{31}&e_{31}&e_{33}&0&0&0\end{pmatrix}$
#    with generic values, which of the 32 point groups allow it?
#
# ## Solutions

# %% [markdown]
# **Solution 1.** $\rho(-I) = (-1)^4 = +1$ for a rank-4 tensor, so adding the inversion to a group adds no condition on $C$, and replacing a rotation $g$ by $-g$ changes nothing either: 4, $\bar4$ (generated by $-C_4$) and 4/m impose the same constraints on an even-rank tensor.

# %%
for symbol in ["4", "-4", "4/m"]:
    print(symbol, neumann_constraints(groups[symbol], "elastic").n_independent)
print("rho(-I) on rank 4 is the identity:", np.allclose(tensor_representation(-np.eye(3)[None], 4)[0], np.eye(81)))

# %% [markdown]
# **Solution 2.** Decompose $C$ into spherical-harmonic parts $l \le 4$, $|m| \le l$; a rotation by $\varphi$ about $z$ multiplies the part $m$ by $e^{im\varphi}$. A 6-fold axis allows only $m \equiv 0 \pmod 6$, which for $|m| \le 4$ means $m = 0$: the parts that do not depend on the angle at all, so hexagonal elasticity is transversely isotropic. A 4-fold axis also allows $m = \pm4$, so a 4/mmm tensor changes under a 17° rotation.

# %%
from gmtnet.tensors import symmetrize_indices

def rot_z(deg):
    t = np.radians(deg)
    return np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])

C_any = symmetrize_indices(np.random.default_rng(1).normal(size=(3, 3, 3, 3)), "elastic")
for symbol in ["6/mmm", "4/mmm"]:
    C_sym = neumann_constraints(groups[symbol], "elastic").project(C_any)
    change = np.linalg.norm(rotate(C_sym, rot_z(17)) - C_sym) / np.linalg.norm(C_sym)
    print(f"{symbol}: relative change under a 17° rotation about z = {change:.2e}")

# %% [markdown]
# **Solution 3.** A cubic group's $\varepsilon$ has one independent component and the identity is invariant under everything, so the allowed subspace is spanned by $I$; $R I R^\mathsf{T} = I$ for every rotation.

# %%
from scipy.spatial.transform import Rotation

for symbol in ["23", "m-3", "432", "-43m", "m-3m"]:
    basis = neumann_constraints(groups[symbol], "dielectric").basis()
    assert len(basis) == 1 and np.allclose(basis[0] / basis[0][0, 0], np.eye(3))
Q = Rotation.random(random_state=3).as_matrix()
print("cubic ε basis is the identity; invariant under a random rotation:", np.allclose(rotate(np.eye(3), Q), np.eye(3)))

# %% [markdown]
# **Solution 4.** Build the tensor and test it against every group with the projector: a group allows the tensor when projecting leaves it unchanged.

# %%
from gmtnet.tensors import from_voigt

v = np.zeros((3, 6))
v[0, 4] = v[1, 3] = 0.7     # e15 = e24
v[2, 0] = v[2, 1] = -0.4    # e31 = e32
v[2, 2] = 1.3               # e33
e_test = from_voigt(v, "piezoelectric")
allowed = [s for s, g in groups.items() if neumann_constraints(g, "piezoelectric").residual(e_test) < 1e-9]
print("groups that allow this tensor:", allowed)

# %% [markdown]
# It is exactly the general form of 4mm and of 6mm (three constants), and a special case of
# the forms of their subgroups 1, 2, mm2, 4, 3, 3m and 6 (in this notebook's settings, axes
# along $z$, mirrors containing $z$): 3m, for example, also allows $e_{22}$, which here happens
# to be zero. No group with an operation that reverses $z$ ($\bar4$, 422, any centrosymmetric
# group) allows it. Neumann's principle only says what must vanish or be equal: a tensor that
# looks more symmetric than the crystal is allowed, a less symmetric one is not, so the
# *form* of a tensor limits which point groups are possible; it does not single one out.
