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
# *Course, part 1 of 2 (notebooks 01 and 02). Notebooks 03 and 04 are an optional appendix,
# "machine learning for tensors".*
#
# **Learning goals.** After this notebook you can
#
# 1. state the conventions behind a tensor table (Voigt factors of $e$, $d$, $C$, $s$; standard
#    axes; static vs high-frequency ε; boundary conditions) and avoid the factor-2 pitfalls;
# 2. write a point-group operation as a $3\times3$ orthogonal matrix, name it (2, 3⁺, 4⁻, m,
#    $\bar4^+$ …) and read a stereogram;
# 3. state Neumann's principle, $\rho(g)\,T = T$ for every $g$ of the point group, and apply the
#    transformation law of polar and axial tensors of rank 1 to 4;
# 4. build the exact projector $P = S\cdot\frac{1}{|G|}\sum_g \rho(g)$ and read off from it the
#    allowed form of any of these tensors;
# 5. generate the full Nye table for all 32 point groups: pyroelectricity, optical activity,
#    ε and thermal expansion, piezoelectricity, elasticity; and reduce a count by the choice of axes;
# 6. explain why the cubic class 432 has no piezoelectricity although it lacks inversion (and
#    is optically active), with the character of the group as the complete argument;
# 7. apply Neumann's principle **site by site** to a per-atom tensor, the Born effective charge
#    Z*: each atom's site-symmetry group fixes its form, and the charges sum to zero.
#
# Library used: `gmtnet.pointgroups` (the 32 groups, generated), `gmtnet.symmetry` (the
# projector, site symmetry), `gmtnet.tensors` (Voigt forms, rotations), `gmtnet.data` (DFT Born
# charges), `gmtnet.teaching` (tables, figures and the exercise checks). Exercises at the end come with a `check(...)` that says whether an answer
# is right; the worked solutions are in collapsed cells after them.

# %%
import numpy as np
import pandas as pd

from gmtnet.pointgroups import POINT_GROUPS, point_group_operations
from gmtnet.symmetry import neumann_constraints
from gmtnet.teaching import allowed_form, check, setup_notebook

setup_notebook()

# %% [markdown]
# ## 0 · Conventions: read these before comparing with a textbook
#
# **Tensors and their Voigt matrices.** Pairs of symmetric indices are contracted to one,
# IEEE order $1{=}xx,\ 2{=}yy,\ 3{=}zz,\ 4{=}yz,\ 5{=}xz,\ 6{=}xy$. Stress-type coefficients
# carry **no** factors, strain-type coefficients **do**, because the Voigt strain vector uses
# the engineering shear $\gamma_4 = 2\varepsilon_{yz}$:
#
# | tensor | relation | Voigt matrix |
# |---|---|---|
# | piezoelectric stress constants $e$ (C/m²) | $P_i = e_{ijk}\,\varepsilon_{jk}$ | $e_{iJ} = e_{ijk}$ |
# | stiffness $C$ (GPa) | $\sigma_{ij} = C_{ijkl}\,\varepsilon_{kl}$ | $C_{IJ} = C_{ijkl}$ |
# | piezoelectric strain constants $d$ (pC/N) | $\varepsilon_{jk} = d_{ijk}E_i$, $d = e\cdot s^E$ | $d_{iJ} = d_{ijk}$ ($J\le3$), $2d_{ijk}$ ($J\ge4$) |
# | compliance $s = C^{-1}$ (1/GPa) | $\varepsilon_{ij} = s_{ijkl}\,\sigma_{kl}$ | $s_{IJ} = s_{ijkl}$, $2s_{ijkl}$ (one of $I,J\ge4$), $4s_{ijkl}$ (both) |
#
# So a relation that looks the same in the full tensors can get a factor 2 in Voigt form. In
# class 32 (α-quartz) the full tensors $e$ and $d$ have the same pattern, but the Voigt tables
# read $e_{26} = -e_{11}$ and $d_{26} = -2d_{11}$ (Nye's table). Computed with quartz-like
# constants (rounded literature values, used only as an example):

# %%
from gmtnet.properties import compliance, piezo_strain_coefficients
from gmtnet.teaching import voigt_compliance
from gmtnet.tensors import from_voigt

e_quartz = np.zeros((3, 6))                                  # C/m², class 32, 2-fold axis along x
e_quartz[0, :2] = 0.171, -0.171
e_quartz[0, 3], e_quartz[1, 4], e_quartz[1, 5] = -0.0406, 0.0406, -0.171
C_quartz = np.array([[86.8, 7.0, 11.9, -18.0, 0, 0], [7.0, 86.8, 11.9, 18.0, 0, 0], [11.9, 11.9, 105.8, 0, 0, 0],
                     [-18.0, 18.0, 0, 58.2, 0, 0], [0, 0, 0, 0, 58.2, -18.0], [0, 0, 0, 0, -18.0, 39.9]])   # GPa
e_full, C_full = from_voigt(e_quartz, "piezoelectric"), from_voigt(C_quartz, "elastic")
ops32 = point_group_operations("32")
assert neumann_constraints(ops32, "piezoelectric").residual(e_full) < 1e-12
assert neumann_constraints(ops32, "elastic").residual(C_full) < 1e-12

d = piezo_strain_coefficients(e_full, C_full)                # d = e·s^E, pC/N, Voigt with factors
s_voigt = voigt_compliance(compliance(C_full))               # 1/GPa, Voigt with factors
print("e (C/m²):\n", e_quartz, "\nd (pC/N):\n", d.round(3))
print(f"e26/e11 = {e_quartz[1, 5] / e_quartz[0, 0]:+.0f},  d26/d11 = {d[1, 5] / d[0, 0]:+.0f},  d11 = {d[0, 0]:.2f} pC/N")
print(f"C66 = (C11 - C12)/2: {C_quartz[5, 5]:.1f} = {(C_quartz[0, 0] - C_quartz[0, 1]) / 2:.1f} GPa;"
      f"  s66 = 2(s11 - s12): {s_voigt[5, 5]:.5f} = {2 * (s_voigt[0, 0] - s_voigt[0, 1]):.5f} 1/GPa")
assert np.isclose(e_quartz[1, 5], -e_quartz[0, 0]) and np.isclose(d[1, 5], -2 * d[0, 0])
assert np.isclose(s_voigt[5, 5], 2 * (s_voigt[0, 0] - s_voigt[0, 1]))
assert np.isclose(s_voigt[3, 3], 4 * compliance(C_full)[1, 2, 1, 2])   # s44 = 4 s2323
assert round(d[0, 0], 1) == 2.3                                         # quartz: d11 ≈ 2.3 pC/N

# %% [markdown]
# (The units: C/m² × 1/GPa = $10^{-9}$ C/N = $10^3$ pC/N.) The projector below works on the full
# tensors, so it never needs these factors; they matter only when you read or write Voigt tables.
#
# **Standard settings.** A table of allowed forms is only meaningful with its axes. This course
# uses those of Nye and IEEE 176 (`gmtnet.pointgroups`): $z$ is the principal axis (the 3-, 4-
# or 6-fold axis, or the 2-fold axis of mm2); the **monoclinic 2-fold axis (or mirror normal)
# is along $y$**; the trigonal and hexagonal 2-fold axis (or mirror normal) is along $x$; the
# cubic 3-fold axes are the body diagonals ⟨111⟩. Real structures come in their own frames
# (notebook 02).
#
# **Which ε.** The dielectric tensor here is the **static** $\varepsilon_0$: the response to a
# field that changes slowly enough for the ions to follow (electrons + lattice, DFPT). The
# **high-frequency** $\varepsilon_\infty$ (optical frequencies, above the phonons) contains only
# the electrons; $n_i = \sqrt{\varepsilon_{\infty,i}}$ are the refractive indices. Both are
# symmetric polar rank-2 tensors with the same allowed form.
#
# **Boundary conditions.** A piezoelectric couples mechanics and electricity, so "the"
# permittivity or stiffness depends on what is held fixed: $\varepsilon^S$ (clamped, constant
# strain) vs $\varepsilon^T$ (free, constant stress), $\varepsilon^T = \varepsilon^S + d\,e^\mathsf{T}$;
# $C^E$ (short-circuited, constant field) vs $C^D$ (open circuit, constant displacement),
# $C^D = C^E + e^\mathsf{T}(\varepsilon^S)^{-1}e/\varepsilon_0$ (vacuum permittivity $\varepsilon_0$ in the
# last term, which makes the units match). DFT databases give $\varepsilon^S$, $C^E$ and $e$ at
# constant field; the difference is small unless the coupling is strong. Symmetry does not care:
# all versions of a tensor share one allowed form.
#
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
# The sense of a rotation matters: $4^+$ turns by $+90°$ (anticlockwise seen from the tip of
# the axis), $4^-$ by $-90°$; they are different operations, and $\sin\theta$ is read from the
# antisymmetric part of $R$. A point group $G$ is a finite set of such matrices closed under
# multiplication. Crystal lattices only allow 1-, 2-, 3-, 4- and 6-fold axes, which leaves
# exactly **32 crystallographic point groups**; `gmtnet.pointgroups` generates each one from two
# or three generators.

# %%
from gmtnet.teaching import operation_table

ops = point_group_operations("4mm")
table = operation_table(ops)
assert sorted(table.symbol) == sorted(["1", "4⁺", "4⁻", "2", "m", "m", "m", "m"])
table

# %% [markdown]
# The identity, $4^+$ and $4^-$ about $z$, the 2-fold rotation about $z$ and four mirrors
# containing $z$ (the axis column is the mirror's normal): the point group of a tetragonal
# polar crystal such as PbTiO₃. The orders of all 32 groups, generated rather than typed:

# %%
groups = {symbol: point_group_operations(symbol) for symbol in POINT_GROUPS}
for system in dict.fromkeys(s for s, _ in POINT_GROUPS.values()):
    print(f"{system:13s}", ", ".join(f"{g} ({len(groups[g])})" for g in groups if POINT_GROUPS[g][0] == system))

# %% [markdown]
# ### Stereograms
#
# A stereogram draws a group on a disc, the upper hemisphere seen from above: a general
# direction and all its images under the group (● above the equator, ○ below), mirror planes
# as lines (great circles), and rotation axes as symbols (◆ 2, ▲ 3, ■ 4, ⬢ 6; open symbols: the
# axis of $\bar4$ or $\bar6$). The number of poles is the order of the group. Below, 4mm, and
# the two cubic groups of section 5, 432 and $\bar43m$: same order, different operations.

# %%
from gmtnet.teaching import stereogram_figure

for symbol in ["4mm", "432", "-43m"]:
    stereogram_figure(symbol).show()

# %% [markdown]
# **Explore.** With a live kernel, the selector below shows the stereogram of any of the 32
# groups beside the allowed form of the tensor you pick (pyroelectric $p$, dielectric ε,
# gyration $g$, piezoelectric $e$, elastic $C$). A saved, non-running copy of this notebook shows
# only a placeholder here; the static figures above and the tables of section 4 show the same.

# %%
from gmtnet.teaching import point_group_explorer

point_group_explorer("4mm", "piezoelectric")

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
# An **axial** tensor (a pseudotensor) picks up one more factor $\det R$:
# $\rho_{\text{ax}}(R) = \det R\;R\otimes\cdots\otimes R$. The gyration tensor $g_{ij}$ of optical
# activity is axial of rank 2, so, unlike ε, it is reversed by mirrors and by the inversion.
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
from gmtnet.symmetry import neumann_projector, tensor_representation

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
# Write each in Voigt form (no factors: $e_{iJ}=e_{ijk}$, $C_{IJ}=C_{ijkl}$, section 0), take as
# free parameters the first components in reading order that are linearly independent, and
# express every other component through them: `gmtnet.teaching.allowed_form` does this and
# prints the familiar textbook matrices, **derived** from the group operations.

# %%
form_6mm = allowed_form(neumann_constraints(groups["6mm"], "piezoelectric"))
assert form_6mm.loc[1, 5] == form_6mm.loc[2, 4] == "e15" and form_6mm.loc[3, 2] == "e31"
print("Piezoelectric e in 6mm (C/m²):")
form_6mm

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
forms_C = {symbol: allowed_form(neumann_constraints(groups[symbol], "elastic")) for symbol in ["m-3m", "6/mmm", "2/m"]}
for symbol, form in forms_C.items():
    print(f"C in {symbol} ({neumann_constraints(groups[symbol], 'elastic').n_independent} independent), GPa:")
    print(form.to_string(), "\n")
mono = forms_C["2/m"]
assert [mono.loc[i, j] for i, j in [(1, 5), (2, 5), (3, 5), (4, 6)]] == ["C15", "C25", "C35", "C46"]
assert forms_C["6/mmm"].loc[6, 6] == "1/2·C11 - 1/2·C12"

# %% [markdown]
# Note $C_{66} = \tfrac12(C_{11}-C_{12})$ in the hexagonal class: not an equality between two
# components but a linear relation, which the projector finds without being told. In the
# monoclinic standard setting (2-fold axis along $y$) the non-zero off-diagonal couplings are
# $C_{15}, C_{25}, C_{35}, C_{46}$: every component with an odd number of $y$ indices vanishes,
# because the 2-fold rotation about $y$ reverses $x$ and $z$ and keeps $y$. (With the axis along
# $z$, as some books and codes use, they would be $C_{16}, C_{26}, C_{36}, C_{45}$.)
#
# ## 4 · The Nye table for all 32 point groups, generated
#
# Nye's *Physical Properties of Crystals* tabulates, per point group, which properties exist
# and how many independent components they have. Here every column is **computed**: one
# projector per group and tensor, its trace. The columns:
#
# * **p (polar rank 1)**: a vector property such as the spontaneous polarisation, whose
#   temperature change is **pyroelectricity**. A vector survives only if no operation moves it,
#   so only the **polar classes** (a unique axis, no inversion) have one.
# * **g (axial rank 2)**: the symmetric gyration tensor of **optical activity** (rotation of
#   the plane of polarisation). Axial, so mirrors and the inversion reverse it.
# * **ε, α (polar rank 2)**: any symmetric polar rank-2 property: permittivity (static or
#   high-frequency), **thermal expansion** $\alpha_{ij}$ (strain per kelvin), conductivity.
# * **e (rank 3)** and **C (rank 4)**: piezoelectricity and elasticity.

# %%
from gmtnet.teaching import POLAR_CLASSES, nye_table

nye = nye_table()
polar = list(nye.index[nye["p (polar rank 1)"] > 0])
active = list(nye.index[nye["g (axial rank 2)"] > 0])
piezo = list(nye.index[nye["e (rank 3)"] > 0])
print(f"{len(polar)} polar (pyroelectric) classes:", polar)
print(f"{len(active)} optically active classes:", active)
print(f"{len(piezo)} piezoelectric classes; {int(nye.centrosymmetric.sum())} centrosymmetric")
print("optically active but not piezoelectric:", sorted(set(active) - set(piezo)))
print("piezoelectric but not optically active:", sorted(set(piezo) - set(active)))
assert tuple(polar) == POLAR_CLASSES and len(polar) == 10 and len(active) == 15 and len(piezo) == 20
assert sorted(set(active) - set(piezo)) == ["432"]
nye

# %% [markdown]
# Read it the way a crystallographer does:
#
# * **10 polar classes** are pyroelectric (and hence also piezoelectric): 1, 2, m, mm2, 4, 4mm,
#   3, 3m, 6, 6mm.
# * **20 classes are piezoelectric**: the 21 non-centrosymmetric ones except 432.
# * **15 classes are optically active.** 432 is the only one that is optically active but not
#   piezoelectric: the gyration tensor is axial, so the octahedral **rotations** of 432 allow an
#   isotropic $g_{ij} = g\,\delta_{ij}$ (a chiral cubic crystal rotates light), while no
#   polar rank-3 tensor survives them (section 5). Conversely $\bar43m$, $\bar6$, $\bar6m2$,
#   3m, 4mm and 6mm are piezoelectric but not optically active: their mirrors reverse $g$.
# * The ε / thermal-expansion column depends only on the crystal system: 1 (cubic: isotropic,
#   a cubic crystal expands equally in all directions), 2 (uniaxial), 3 (orthorhombic), 4
#   (monoclinic), 6 (triclinic).
# * $C$ does not see the inversion (even rank), so groups in the same **Laue class** (e.g. 4,
#   $\bar4$, 4/m) share one count.
#
# **Allowed forms on demand.** `allowed_form(symbol, kind)` for any group and
# `kind` in `"pyroelectric"`, `"dielectric"`, `"gyration"`, `"piezoelectric"`, `"elastic"`:

# %%
print("gyration g in 432:\n", allowed_form("432", "gyration").to_string(), "\n")
print("pyroelectric p in mm2:", allowed_form("mm2", "pyroelectric").to_string(header=False, index=False), "\n")
print("thermal expansion α (= ε form) in 2, 2-fold axis along y:\n", allowed_form("2", "dielectric").to_string(), "\n")
print("piezoelectric e in -42m:")
allowed_form("-42m", "piezoelectric")

# %% [markdown]
# **Against the textbook.** The generated counts agree with Nye (1985) and IEEE 176:

# %%
textbook_e = {"1": 18, "-1": 0, "2": 8, "m": 10, "2/m": 0, "222": 3, "mm2": 5, "mmm": 0, "4": 4, "-4": 4,
              "4/m": 0, "422": 1, "4mm": 3, "-42m": 2, "4/mmm": 0, "3": 6, "-3": 0, "32": 2, "3m": 4,
              "-3m": 0, "6": 4, "-6": 2, "6/m": 0, "622": 1, "6mm": 3, "-6m2": 1, "6/mmm": 0, "23": 1,
              "m-3": 0, "432": 0, "-43m": 1, "m-3m": 0}
textbook_C = {"triclinic": 21, "monoclinic": 13, "orthorhombic": 9, "hexagonal": 5, "cubic": 3}
textbook_eps = {"triclinic": 6, "monoclinic": 4, "orthorhombic": 3, "tetragonal": 2, "trigonal": 2, "hexagonal": 2, "cubic": 1}
assert nye["e (rank 3)"].to_dict() == textbook_e
assert all((nye.loc[nye.system == system, "C (rank 4)"] == n).all() for system, n in textbook_C.items())
assert all((nye.loc[nye.system == system, "ε, α (polar rank 2)"] == n).all() for system, n in textbook_eps.items())
assert nye.loc[["4", "-4", "4/m"], "C (rank 4)"].eq(7).all() and nye.loc[["422", "4mm", "-42m", "4/mmm"], "C (rank 4)"].eq(6).all()
assert nye.loc[["3", "-3"], "C (rank 4)"].eq(7).all() and nye.loc[["32", "3m", "-3m"], "C (rank 4)"].eq(6).all()
print("The generated table agrees with the textbook counts.")

# %% [markdown]
# ### Fewer constants by a choice of axes
#
# The counts above are for **fixed** axes. Where the symmetry leaves the orientation of the
# frame free, one can turn the axes to make some components vanish. A triclinic crystal fixes
# no direction at all: three rotation angles are free, so of the 21 elastic constants only
# $21 - 3 = 18$ are properties of the crystal, the other 3 describe the frame. A monoclinic
# crystal fixes its 2-fold axis but not the rotation about it (13 → 12, e.g. $C_{46}=0$ or
# $C_{15}=0$ by choice), and the same holds about the principal axis of the classes 4, $\bar4$,
# 4/m, 3, $\bar3$ (7 → 6). In hexagonal crystals the rotation about $z$ changes nothing
# ($C$ is transversely isotropic, exercise 2), so the count stays 5.
# `independent_up_to_axes` computes this as the rank of the infinitesimal rotations about the
# free axes acting on a generic allowed tensor:

# %%
from gmtnet.teaching import independent_up_to_axes

reduced = pd.DataFrame(
    {(symbol, kind): {"fixed axes": neumann_constraints(groups[symbol], kind).n_independent,
                      "after choosing the axes": independent_up_to_axes(symbol, kind)}
     for symbol, kind in [("1", "elastic"), ("2/m", "elastic"), ("4/m", "elastic"), ("-3", "elastic"),
                          ("6/m", "elastic"), ("1", "piezoelectric"), ("-1", "dielectric")]}
).T
assert reduced.loc[("1", "elastic")].tolist() == [21, 18] and reduced.loc[("2/m", "elastic")].tolist() == [13, 12]
assert reduced.loc[("4/m", "elastic")].tolist() == reduced.loc[("-3", "elastic")].tolist() == [7, 6]
assert reduced.loc[("6/m", "elastic")].tolist() == [5, 5] and reduced.loc[("-1", "dielectric")].tolist() == [6, 3]
reduced

# %% [markdown]
# The last row is the familiar one: a symmetric rank-2 tensor has 6 components, but in its
# principal axes only 3 (the principal values); the 3 angles of those axes are the rest.

# %% [markdown]
# ## 5 · Why 432 has no piezoelectricity although it lacks inversion
#
# 21 of the 32 classes are non-centrosymmetric; 20 of them are piezoelectric. The exception is
# the cubic class **432** (octahedral rotations only). Lacking inversion is necessary, not
# sufficient: the rotations themselves must leave some rank-3 tensor symmetric in $jk$
# invariant. Let us watch the allowed subspace shrink as operations are added.

# %%
from gmtnet.pointgroups import generate_group

C4z = np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])              # 4⁺ about z
C3d = np.array([[0.0, 0, 1], [1, 0, 0], [0, 1, 0]])               # 3⁺ about [111]: x -> y -> z -> x
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
# **The polynomial argument, and where it stops.** Contract $e$ with a direction three times:
# $e(\mathbf n) = e_{ijk}n_in_jn_k$ is a cubic polynomial. The only cubic polynomial invariant
# under the 3-fold and 2-fold axes of the cube is $xyz$; a 4-fold rotation about $z$,
# $(x,y,z)\to(-y,x,z)$, sends $xyz \to -xyz$, so in 432 $e(\mathbf n) \equiv 0$. (In $\bar43m$,
# zinc blende, the 4-fold is replaced by $\bar4 = -C_{4z}$, $(x,y,z)\to(y,-x,-z)$, which keeps
# $xyz$: GaAs **is** piezoelectric.) But $e(\mathbf n) \equiv 0$ does **not** prove $e = 0$: the
# polynomial only sees the part of $e$ that is symmetric in all three indices. The 422 tensor
# $e_{14} = -e_{25}$ is an example: it is not zero, yet its longitudinal response vanishes in
# every direction.

# %%
from gmtnet.properties import longitudinal_piezo

n_random = rng.normal(size=(500, 3))
n_random /= np.linalg.norm(n_random, axis=1, keepdims=True)
e422 = neumann_constraints(groups["422"], "piezoelectric").basis()[0]     # unit norm
e23 = neumann_constraints(groups["23"], "piezoelectric").basis()[0]
print("422: |e| =", round(np.linalg.norm(e422), 6), "  max |e(n)| over 500 directions =", np.abs(longitudinal_piezo(e422, n_random)).max())
print(" 23: |e| =", round(np.linalg.norm(e23), 6), "  max |e(n)| over 500 directions =", np.abs(longitudinal_piezo(e23, n_random)).max().round(4))
assert np.abs(longitudinal_piezo(e422, n_random)).max() < 1e-12 < np.abs(longitudinal_piezo(e23, n_random)).max()

# %% [markdown]
# **The complete argument: characters.** $e$ decomposes into O(3) irreps
# $1o\oplus1o\oplus2o\oplus3o$ (`gmtnet.kinds`); the fully symmetric part that $e(\mathbf n)$
# sees is $1o\oplus3o$, the rest, $1o\oplus2o$, is invisible to it (the 422 tensor lives there).
# The number of invariants of an irrep $(l, p)$ in $G$ is the average of its character,
# $n = \frac{1}{|G|}\sum_g \chi_l(\theta_g)\,(\det g)^{[p=o]}$, with
# $\chi_l(\theta)=\sin\big((l+\tfrac12)\theta\big)/\sin(\theta/2)$ for the rotation part. It counts
# every part, so it finishes the proof:

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
    return round(total / len(ops), 6) + 0.0


irreps = get_kind("piezoelectric").irreps.split("+")      # ['1o', '1o', '2o', '3o']
rows = {}
for symbol in ["23", "432", "-43m", "422", "622", "6mm"]:
    counts = [n_invariants(groups[symbol], int(term[:-1]), term[-1]) for term in irreps]
    rows[symbol] = {f"{term} (#{i + 1})": n for i, (term, n) in enumerate(zip(irreps, counts))}
    rows[symbol]["total"] = sum(counts)
    rows[symbol]["projector trace"] = neumann_constraints(groups[symbol], "piezoelectric").n_independent
characters = pd.DataFrame(rows).T
assert (characters["total"] == characters["projector trace"]).all()
assert characters.loc["432"].drop("projector trace").eq(0).all() and characters.loc["422", "2o (#3)"] == 1
characters

# %% [markdown]
# In 432 no irrep of $e$ has an invariant: the group has only proper rotations, so parity plays
# no role, and the octahedral rotation group $O$ has no invariant in $l = 1, 2, 3$ (its first
# invariant harmonic is $l=4$, $x^4+y^4+z^4$, which is why $C$, with its $4e$ part, feels the
# cubic anisotropy). In 422 the one invariant sits in $2o$, the part $e(\mathbf n)$ cannot
# see. In $\bar43m$ the improper operations multiply the $3o$ character by $\det g = -1$, which
# produces exactly one invariant: $e_{14}$. The same count for the symmetric axial rank-2
# gyration tensor, $0o\oplus2o$ (the $0e\oplus2e$ of ε times one more $\det g$), gives one
# invariant in 432, from $l=0$: the group has no improper operations to flip the sign of a
# pseudoscalar, so an isotropic $g$ survives. Optical activity without piezoelectricity.
#
# ## 6 · Neumann's principle at the site level: Born effective charges
#
# Some tensors belong to an **atom**, not to the crystal. The Born effective charge
# $Z^*_{\kappa,\alpha\beta} = \Omega\,\partial P_\alpha/\partial u_{\kappa\beta}$ (units of $e$) says how much
# polarisation $P_\alpha$ appears when atom $\kappa$ moves along $\beta$: a polar rank-2 tensor, one
# per atom, **not** symmetric in general. It is the physics behind the ionic parts of $e$ and
# $\varepsilon$ (the What-if page of the app computes them from Z* and a pretrained potential).
#
# Which operations must leave $Z^*_\kappa$ unchanged? Only those that leave the **atom** where it is:
# the operations $g = \{R_g|t_g\}$ of the space group that map $\kappa$ onto itself (up to a lattice
# vector) form its **site-symmetry group** $G_\kappa$, a subgroup of the crystal's point group.
# Neumann's principle site by site reads
#
# $$R\,Z^*_\kappa\,R^\mathsf{T} = Z^*_\kappa \quad\text{for } R \in G_\kappa, \qquad Z^*_{g(\kappa)} = R_g\,Z^*_\kappa\,R_g^\mathsf{T}\ \text{for every } g,$$
#
# the second relating symmetry-equivalent atoms. On top comes the **acoustic sum rule**
# $\sum_\kappa Z^*_\kappa = 0$: moving the whole crystal rigidly creates no polarisation (charge
# neutrality). `gmtnet.symmetry.analyze_site_symmetry` finds the site groups and
# `project_per_atom` projects any per-atom tensors onto what they allow, sum rule included. Two
# crystals from the bundled DFPT set (ABINIT, PBEsol; `gmtnet.data.load_dfpt`): rock-salt NaCl
# and wurtzite GaN.

# %%
from gmtnet.data import load_dfpt
from gmtnet.symmetry import analyze_site_symmetry, project_per_atom
from gmtnet.teaching import invariant_basis

dfpt = load_dfpt()
crystals = {"NaCl (rock salt)": dfpt[(dfpt.formula == "NaCl") & (dfpt.spacegroup_number == 225)].iloc[0],
            "GaN (wurtzite)": dfpt[(dfpt.formula == "GaN") & (dfpt.spacegroup_number == 186)].iloc[0]}
site_rows = []
for name, row in crystals.items():
    sites = analyze_site_symmetry(row.structure)
    for k, site in enumerate(row.structure):
        site_rows.append({"crystal": name, "point group": row.point_group, "atom": f"{site.specie.symbol}{k}",
                          "site group": sites.site_symmetry_symbols[k], "|G_κ|": len(sites.site_group(k)),
                          "independent Z* components": len(invariant_basis(sites.site_group(k), 2))})
site_table = pd.DataFrame(site_rows)
assert site_table.loc[site_table.crystal.str.startswith("NaCl"), "independent Z* components"].eq(1).all()
assert site_table.loc[site_table.crystal.str.startswith("GaN"), "independent Z* components"].eq(2).all()
site_table

# %% [markdown]
# In rock salt each atom sits at a centre of full cubic symmetry, $G_\kappa$ = m-3m: **1**
# independent component, $Z^*_\kappa = Z\,I$, isotropic. In wurtzite the crystal's point group is
# 6mm, but the 6-fold axis is a screw axis $6_3$: it maps each Ga onto the *other* Ga (with half a
# lattice vector along $c$), so it relates two atoms instead of constraining one. What stays on a
# Ga (or N) site is 3m (written `3m.` in the oriented symbol): a 3-fold axis along $c$ and three
# mirrors, which leave **2** independent components, $Z_{xx} = Z_{yy} \ne Z_{zz}$ with $z \parallel c$.
# Project random per-atom tensors to see the forms, then compare with DFT:

# %%
rng_z = np.random.default_rng(7)
projected = {}
for name, row in crystals.items():
    z_random = rng_z.normal(size=(len(row.structure), 3, 3))          # any per-atom 3x3 tensors
    projected[name] = project_per_atom(row.structure, z_random, acoustic_sum_rule=True)
    print(f"{name}: allowed Z* of atom 0 (a random tensor, projected):\n", projected[name][0].round(3))
    print("   sum over atoms:", np.abs(projected[name].sum(axis=0)).max().round(12))
z_nacl, z_gan = projected["NaCl (rock salt)"][0], projected["GaN (wurtzite)"][0]
assert np.allclose(z_nacl, z_nacl[0, 0] * np.eye(3))
assert np.isclose(z_gan[0, 0], z_gan[1, 1]) and not np.isclose(z_gan[0, 0], z_gan[2, 2])
assert np.allclose(z_gan, np.diag(np.diag(z_gan)))                    # c is along z in this cell

# %%
for name, row in crystals.items():
    z_dft = np.asarray(row.born_charges)                               # e, frame of row.structure
    symmetric = project_per_atom(row.structure, z_dft, acoustic_sum_rule=True)
    print(f"{name} ({row.material_id}): DFT Z* of {row.structure[0].specie.symbol} (e)\n", z_dft[0].round(3))
    print(f"   |sum over atoms| = {np.abs(z_dft.sum(axis=0)).max():.1e} e;"
          f"  change under the site projection = {np.abs(symmetric - z_dft).max():.1e} e")
    assert np.abs(z_dft.sum(axis=0)).max() < 1e-5 and np.abs(symmetric - z_dft).max() < 1e-3
z_ga = np.asarray(crystals["GaN (wurtzite)"].born_charges)[0]
assert crystals["GaN (wurtzite)"].structure[0].specie.symbol == "Ga"
assert np.isclose(z_ga[0, 0], z_ga[1, 1], atol=1e-3) and z_ga[2, 2] - z_ga[0, 0] > 0.05

# %% [markdown]
# DFT obeys both rules: the sum is zero and projecting onto the site forms changes nothing
# (to round-off). GaN's Ga carries a larger charge along $c$ than across it, which a
# crystal-level argument cannot tell you: for a rank-2 tensor 6mm and 3m happen to allow the same
# uniaxial form, but in a **cubic** crystal the two levels differ. In a cubic perovskite such as
# KTaO₃ the crystal's ε is isotropic, yet each oxygen sits on a site with a 4-fold axis along its
# Ta–O bond only, so its Z* is uniaxial (exercise 7). A GMTNet model of Z* imposes exactly these
# site forms and the sum rule by construction (`gmtnet.symmetry.SiteSymmetry.project`).
#
# ## Exercises
#
# Each exercise has a cell that calls `check("01.k", answer)`: replace `None` by your answer
# and run it; it says "right" or gives a hint. Worked solutions are in the collapsed cells of
# the next section.
#
# 1. **Laue classes.** How many independent elastic constants do 4, $\bar4$ and 4/m have?
#    Answer as a dict `{"4": ..., "-4": ..., "4/m": ...}` and explain with $\rho(-I)$.
# 2. **Transverse isotropy.** Project a random elastic tensor onto the 6/mmm and onto the 4/mmm
#    form and rotate it about $z$ by 17°. Which of the two groups give an elastic tensor that is
#    invariant under *every* rotation about $z$? Answer as a list of symbols.
# 3. **Isotropic ε.** List every point group whose allowed dielectric tensor is a multiple of
#    the identity.
# 4. **Find the symmetry from the tensor.** Given the Voigt matrix
#    $e = \begin{pmatrix}0&0&0&0&e_{15}&0\\0&0&0&e_{15}&0&0\\e_{31}&e_{31}&e_{33}&0&0&0\end{pmatrix}$
#    with generic values, which of the 32 point groups (standard settings) allow it?
# 5. **Chirality without piezoelectricity.** Which point groups are optically active but not
#    piezoelectric?
# 6. **The factor 2.** In class 32, what is $d_{26}/d_{11}$ (Voigt, pC/N)? Compute it from any
#    allowed $e$ and $C$ with `piezo_strain_coefficients`.
# 7. **Site symmetry in a cubic crystal.** KTaO₃ ($Pm\bar3m$, in `load_dfpt()`: formula
#    `"KTaO3"`, space group 221) has point group m-3m. How many independent components does the
#    Born charge Z* have on each site? Answer as a dict `{"K": ..., "Ta": ..., "O": ...}`.

# %%
check("01.1", None)   # e.g. {"4": ..., "-4": ..., "4/m": ...}

# %%
check("01.2", None)   # e.g. ["6/mmm"]

# %%
check("01.3", None)   # a list of point-group symbols

# %%
check("01.4", None)   # a list of point-group symbols

# %%
check("01.5", None)   # a list of point-group symbols

# %%
check("01.6", None)   # a number

# %%
check("01.7", None)   # e.g. {"K": ..., "Ta": ..., "O": ...}

# %% [markdown]
# ## Solutions
#
# The solution cells are collapsed (click to expand) and tagged `solution`, so that a lecturer
# can hand out the notebook without them:
# `jupyter nbconvert --to notebook --TagRemovePreprocessor.remove_cell_tags='["solution"]' 01_neumann_principle.ipynb`.

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 1.** $\rho(-I) = (-1)^4 = +1$ for a rank-4 tensor, so adding the inversion to a group adds no condition on $C$, and replacing a rotation $g$ by $-g$ changes nothing either: 4, $\bar4$ (generated by $-C_4$) and 4/m impose the same constraints on an even-rank tensor.

# %% tags=["solution"] jupyter={"source_hidden": true}
answer = {symbol: neumann_constraints(groups[symbol], "elastic").n_independent for symbol in ["4", "-4", "4/m"]}
print(answer, "| rho(-I) on rank 4 is the identity:", np.allclose(tensor_representation(-np.eye(3)[None], 4)[0], np.eye(81)))
grade = check("01.1", answer)
assert grade
grade

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 2.** Decompose $C$ into spherical-harmonic parts $l \le 4$, $|m| \le l$; a rotation by $\varphi$ about $z$ multiplies the part $m$ by $e^{im\varphi}$. A 6-fold axis allows only $m \equiv 0 \pmod 6$, which for $|m| \le 4$ means $m = 0$: the parts that do not depend on the angle at all, so hexagonal elasticity is transversely isotropic. A 4-fold axis also allows $m = \pm4$, so a 4/mmm tensor changes under a 17° rotation.

# %% tags=["solution"] jupyter={"source_hidden": true}
from scipy.spatial.transform import Rotation

from gmtnet.tensors import symmetrize_indices

C_any = symmetrize_indices(np.random.default_rng(1).normal(size=(3, 3, 3, 3)), "elastic")
R17 = Rotation.from_euler("z", 17, degrees=True).as_matrix()
answer = []
for symbol in ["6/mmm", "4/mmm"]:
    C_sym = neumann_constraints(groups[symbol], "elastic").project(C_any)
    change = np.linalg.norm(rotate(C_sym, R17) - C_sym) / np.linalg.norm(C_sym)
    print(f"{symbol}: relative change under a 17° rotation about z = {change:.2e}")
    if change < 1e-12:
        answer.append(symbol)
grade = check("01.2", answer)
assert grade
grade

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 3.** The allowed subspace must be spanned by the identity: exactly the cubic groups, whose 3-fold axes along ⟨111⟩ permute $x, y, z$; $R I R^\mathsf{T} = I$ for every rotation, so the tensor is isotropic.

# %% tags=["solution"] jupyter={"source_hidden": true}
answer = []
for symbol, ops in groups.items():
    basis = neumann_constraints(ops, "dielectric").basis()
    if len(basis) == 1 and np.allclose(basis[0] / basis[0][0, 0], np.eye(3)):
        answer.append(symbol)
print(answer)
grade = check("01.3", answer)
assert grade
grade

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 4.** Build the tensor and test it against every group with the projector: a group allows the tensor when projecting leaves it unchanged. It is exactly the general form of 4mm and of 6mm, and a special case of the forms of their subgroups whose operations all keep $z$: 1, m (mirror normal along $y$, so the mirror contains $z$), mm2, 4, 3, 3m and 6 (3m, for example, also allows $e_{22}$, which here is zero). The monoclinic 2 is not among them: in the standard setting its axis is $y$, and it reverses $z$; nor is any group with an operation that reverses $z$ ($\bar4$, 422, centrosymmetric groups). Neumann's principle says what must vanish or be equal: the *form* of a tensor limits the possible point groups, it does not single one out.

# %% tags=["solution"] jupyter={"source_hidden": true}
v = np.zeros((3, 6))
v[0, 4] = v[1, 3] = 0.7     # e15 = e24
v[2, 0] = v[2, 1] = -0.4    # e31 = e32
v[2, 2] = 1.3               # e33
e_test = from_voigt(v, "piezoelectric")
answer = [s for s, g in groups.items() if neumann_constraints(g, "piezoelectric").residual(e_test) < 1e-9]
print("groups that allow this tensor:", answer)
grade = check("01.4", answer)
assert grade
grade

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 5.** Read two columns of the generated table.

# %% tags=["solution"] jupyter={"source_hidden": true}
answer = list(nye.index[(nye["g (axial rank 2)"] > 0) & (nye["e (rank 3)"] == 0)])
print(answer)
grade = check("01.5", answer)
assert grade
grade

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 6.** The full tensors $d_{ijk}$ and $e_{ijk}$ have the same pattern; the Voigt column 6 of $d$ carries the factor 2 of the engineering shear strain.

# %% tags=["solution"] jupyter={"source_hidden": true}
answer = d[1, 5] / d[0, 0]          # d from section 0 (quartz-like constants, class 32)
print(f"d26/d11 = {answer:.3f}")
grade = check("01.6", answer)
assert grade
grade

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 7.** Count the invariants of each atom's own site group. K and Ta sit on m-3m sites (isotropic, 1 component); each O sits on a 4/mmm site whose 4-fold axis points along its Ta–O–Ta chain, so its Z* is uniaxial about that axis (2 components), though the crystal is cubic. The DFT charges show it: the three oxygens carry the same two values along different axes.

# %% tags=["solution"] jupyter={"source_hidden": true}
ktao3 = dfpt[(dfpt.formula == "KTaO3") & (dfpt.spacegroup_number == 221)].iloc[0]
sites = analyze_site_symmetry(ktao3.structure)
answer = {}
for k, site in enumerate(ktao3.structure):
    answer[site.specie.symbol] = len(invariant_basis(sites.site_group(k), 2))
print(answer, "| site groups:", sites.site_symmetry_symbols)
z_o = np.asarray(ktao3.born_charges)[[site.specie.symbol == "O" for site in ktao3.structure]]
print("DFT Z* diagonals of the three O (e):\n", np.diagonal(z_o, axis1=1, axis2=2).round(2))
grade = check("01.7", answer)
assert grade
grade
