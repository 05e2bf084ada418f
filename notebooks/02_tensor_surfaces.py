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
# # 02 · Directional surfaces: seeing a tensor's anisotropy
#
# **Learning goals.** After this notebook you can
#
# 1. turn a tensor into a directional quantity $f(\mathbf n)$ and draw it as a surface
#    $r = |f(\mathbf n)|$: the dielectric response $\varepsilon(\mathbf n)$, the longitudinal
#    piezoelectric response $e(\mathbf n)$, Young's modulus $E(\mathbf n)$ and the linear
#    compressibility $\beta(\mathbf n)$;
# 2. predict the shape of each surface from the crystal's point group (notebook 01) and
#    recognise it for a cubic, a hexagonal and a monoclinic crystal;
# 3. relate the surfaces to the derived scalars (principal values, averages, moduli,
#    anisotropy indices) and know which scalars hide the anisotropy.
#
# All tensors here are the DFT labels of the bundled data, in the Cartesian frame of their
# structures. Library used: `gmtnet.surfaces` (values on a grid), `gmtnet.plots` (plotly
# figures), `gmtnet.properties` (derived scalars), `gmtnet.viewer` (offline 3D structures).

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
# ## 1 · The directional quantities
#
# For a unit vector $\mathbf n$:
#
# * **Dielectric**: $\varepsilon(\mathbf n) = n_i\varepsilon_{ij}n_j$, the permittivity for a
#   field along $\mathbf n$ (the component of $\mathbf D$ along $\mathbf E$).
# * **Longitudinal piezoelectric response**: $e(\mathbf n) = e_{ijk}n_in_jn_k$ (C/m²), the
#   polarisation along $\mathbf n$ per unit strain stretching along $\mathbf n$. It is **odd**,
#   $e(-\mathbf n) = -e(\mathbf n)$: the surface has lobes of both signs.
# * **Young's modulus**: $1/E(\mathbf n) = s_{ijkl}n_in_jn_kn_l$ with the compliance
#   $s = C^{-1}$ (stiffness against uniaxial stress along $\mathbf n$, GPa).
# * **Linear compressibility**: $\beta(\mathbf n) = s_{iikl}n_kn_l$ (TPa⁻¹), the strain along
#   $\mathbf n$ under unit hydrostatic pressure; $\sum$ over three orthogonal directions gives
#   the volume compressibility $1/K_{\text{Reuss}}$.
#
# A rank-2 quantity such as $\varepsilon(\mathbf n)$ or $\beta(\mathbf n)$ is a quadratic form:
# its surface can at most be an ellipsoid-like shape with three principal axes, and for a cubic
# crystal it is a sphere. Rank 3 ($e$) and rank 4 ($1/E$) polynomials can show the cubic
# anisotropy.
#
# ## 2 · Three crystals from the bundled data
#
# * **cubic**: SiC in the zinc-blende structure (3C-SiC, $F\bar43m$, point group $\bar43m$),
#   in all three datasets;
# * **hexagonal**: LiZnSb ($P6_3mc$, $6mm$, polar), in all three datasets;
# * **monoclinic**: ZrO₂ baddeleyite ($P2_1/c$, $2/m$) for ε and C; it is centrosymmetric, so for
#   the piezoelectric tensor we take monoclinic Ag₂S (point group $m$) instead.

# %%
from gmtnet.data import load_dataset
from gmtnet.viewer import show_structure

data = {kind: load_dataset(kind, include_flagged=False).set_index("material_id") for kind in ["dielectric", "piezoelectric", "elastic"]}
examples = {
    "cubic SiC": {"dielectric": "mp-8062", "piezoelectric": "mp-8062", "elastic": "mp-8062"},
    "hexagonal LiZnSb": {"dielectric": "mp-9919", "piezoelectric": "mp-9919", "elastic": "mp-9919"},
    "monoclinic ZrO2 / Ag2S": {"dielectric": "mp-2858", "piezoelectric": "mp-32669", "elastic": "mp-2858"},
}
rows = []
for name, ids in examples.items():
    for kind, mid in ids.items():
        r = data[kind].loc[mid]
        rows.append({"example": name, "kind": kind, "material_id": mid, "formula": r.formula,
                     "space group": r.spacegroup_symbol, "point group": r.point_group, "residual": r.symmetry_residual})
pd.DataFrame(rows)

# %%
tensors = {name: {kind: data[kind].loc[mid].tensor for kind, mid in ids.items()} for name, ids in examples.items()}
print("hexagonal LiZnSb: the c axis (polar axis) is along", data["elastic"].loc["mp-9919"].structure.lattice.matrix[2].round(3))
show_structure(data["elastic"].loc["mp-9919"].structure, supercell=(2, 2, 1))

# %% [markdown]
# ## 3 · Dielectric surfaces ε(n)
#
# Cubic: one constant, $\varepsilon(\mathbf n) = \varepsilon$ for every $\mathbf n$, a sphere.
# Hexagonal: $\varepsilon(\mathbf n) = \varepsilon_\perp + (\varepsilon_\parallel - \varepsilon_\perp)\,n_z^2$,
# a surface of revolution about $c$. Monoclinic: three different principal values, and only
# one principal axis is fixed by symmetry (the 2-fold axis); the other two can point anywhere
# in the mirror plane.

# %%
from gmtnet.plots import polar_figure, surface_figure
from gmtnet.properties import dielectric_principal

names = list(examples)
fig = surface_figure([tensors[n]["dielectric"] for n in names], "dielectric", "dielectric", titles=names, n_theta=40, n_phi=80)
fig.show()
for n in names:
    values, axes = dielectric_principal(tensors[n]["dielectric"])
    print(f"{n:24s} principal ε {values.round(3)}; axes (rows) {axes.round(2).tolist()}")

# %% [markdown]
# The surfaces share one colour scale and one set of axes, so sizes compare directly. The
# scalars that summarise them: the three **principal values** (eigenvalues) and their axes,
# and the orientational average $\bar\varepsilon = \operatorname{tr}\varepsilon/3$. The average
# hides the anisotropy completely; $\varepsilon_{\max}-\varepsilon_{\min}$ measures it.
#
# ## 4 · Longitudinal piezoelectric surfaces e(n)
#
# Red and blue lobes are positive and negative $e(\mathbf n)$. For $\bar43m$,
# $e(\mathbf n) = 6\,e_{14}\,n_xn_yn_z$ in the cube frame: four positive lobes along four of the
# $\langle111\rangle$ body diagonals and four negative ones along the others (a tetrahedral
# pattern), and zero along the cube axes. For $6mm$ the response is a surface of revolution
# about the polar axis, with different signs up and down the axis: the fingerprint of a polar
# crystal. (Our SiC cell is the primitive fcc cell, so the cube axes are not $x, y, z$; the
# pattern is rotated accordingly.)

# %%
piezo = [tensors[n]["piezoelectric"] for n in names]
fig = surface_figure(piezo, "piezoelectric", "longitudinal_piezo", titles=names, n_theta=40, n_phi=80)
fig.show()

# %%
from gmtnet.properties import max_longitudinal_piezo, piezo_eij_max, piezo_operator_norm
from gmtnet.tensors import to_ieee_frame

rows = []
for n, ids in examples.items():
    e = tensors[n]["piezoelectric"]
    structure = data["piezoelectric"].loc[ids["piezoelectric"]].structure
    longi = max_longitudinal_piezo(e)
    rows.append({
        "example": n,
        "max e(n) (C/m²)": longi.value,
        "at n": longi.n.round(3).tolist(),
        "‖e‖ operator norm (C/m²)": piezo_operator_norm(e)[0],
        "e_ij max, IEEE frame (C/m²)": piezo_eij_max(to_ieee_frame(e, structure))[0],
        "e_ij max, Materials Project": data["piezoelectric"].loc[ids["piezoelectric"]].eij_max,
    })
pd.DataFrame(rows)

# %% [markdown]
# Three scalars, three meanings: the maximum longitudinal response (a direction property,
# frame-independent), the operator norm (largest polarisation per unit strain of any kind,
# frame-independent), and the largest singular value of the $3\times6$ Voigt matrix
# ($e_{ij}^{\max}$ as Materials Project describes it; it depends on the frame because Voigt
# shear columns are not normalised, so it is evaluated in the IEEE frame). The database's own
# `eij_max` column matches none of them for SiC and Ag₂S (for LiZnSb it equals the longitudinal
# maximum $e_{33}$), so its exact definition in the source is unclear: compare scalars only
# when you know how they were computed.
#
# For SiC the longitudinal maximum is $2e_{14}/\sqrt3 = 0.168$ C/m² along a body diagonal
# ⟨111⟩ of the cube, which in this primitive cell happens to be the structure's $y$ axis. For
# LiZnSb it lies along the polar axis, with opposite signs at $\pm c$.
#
# ## 5 · Young's modulus E(n) and linear compressibility β(n)
#
# A cubic crystal has three elastic constants, and $1/E(\mathbf n)$ is a quartic in
# $\mathbf n$: $\frac1{E(\mathbf n)} = s_{11} - 2\big(s_{11}-s_{12}-\tfrac12 s_{44}\big)(n_x^2n_y^2+n_y^2n_z^2+n_z^2n_x^2)$
# in the cube frame, so $E$ is extremal along $\langle100\rangle$ and $\langle111\rangle$.
# Hexagonal crystals are transversely isotropic (notebook 01, exercise 2): $E(\mathbf n)$
# depends only on the angle to $c$.

# %%
elastic = [tensors[n]["elastic"] for n in names]
fig = surface_figure(elastic, "elastic", "young", titles=names, n_theta=40, n_phi=80)
fig.show()

# %%
fig = polar_figure(elastic, "elastic", "young", names=names)
fig.show()

# %% [markdown]
# The polar cuts make the symmetry easy to read: for LiZnSb the $xy$ cut (perpendicular to
# $c$) is a circle. The linear compressibility is a **rank-2** quantity ($s_{iikl}$ contracts
# two indices), so for a cubic crystal it is a sphere, $\beta = 1/(3K)$, however anisotropic
# $E(\mathbf n)$ is:

# %%
fig = surface_figure(elastic, "elastic", "linear_compressibility", titles=names, n_theta=40, n_phi=80)
fig.show()

# %% [markdown]
# ## 6 · Surfaces and the derived scalars
#
# Polycrystalline averages (Voigt, Reuss, Hill) of the bulk and shear moduli are what a
# single number can tell about a tensor; the universal anisotropy index
# $A^U = 5G_V/G_R + K_V/K_R - 6$ (zero for an isotropic solid) measures how far apart the
# bounds are. The extremes of $E(\mathbf n)$ and $\beta(\mathbf n)$ read off the surfaces are
# the direct view of the anisotropy. The database's own $K_{VRH}$, $G_{VRH}$ are shown for
# comparison.

# %%
from gmtnet.properties import elastic_extrema, elastic_moduli

rows = []
for n, ids in examples.items():
    c = tensors[n]["elastic"]
    mod = elastic_moduli(c)
    ext = elastic_extrema(c, n_samples=800, n_pair_dirs=100, n_angles=18)
    row = data["elastic"].loc[ids["elastic"]]
    rows.append({
        "example": n,
        "K_Hill (GPa)": mod["k_vrh"], "K_VRH database": row.K_VRH,
        "G_Hill (GPa)": mod["g_vrh"], "G_VRH database": row.G_VRH,
        "E_Hill (GPa)": mod["young_vrh"],
        "E min (GPa)": ext["young_min"].value, "E max (GPa)": ext["young_max"].value,
        "E max / E min": ext["young_max"].value / ext["young_min"].value,
        "β min (TPa⁻¹)": ext["compressibility_min"].value, "β max (TPa⁻¹)": ext["compressibility_max"].value,
        "A^U": mod["universal_anisotropy"],
    })
pd.DataFrame(rows).set_index("example").T

# %% [markdown]
# Things to notice:
#
# * Our Hill averages reproduce the database's $K_{VRH}$ and $G_{VRH}$.
# * For cubic SiC, $\beta_{\min} = \beta_{\max}$ (a sphere) while $E_{\max}/E_{\min} > 1$: the
#   compressibility cannot see cubic anisotropy, Young's modulus can. For a cubic crystal
#   $K_V = K_R$, so $A^U$ measures only the shear anisotropy, and the Zener ratio
#   $A_Z = 2C_{44}/(C_{11}-C_{12})$ says the same in one number (exercise 1).
# * $E_{\text{Hill}}$ lies between $E_{\min}$ and $E_{\max}$: an average over directions and
#   grains, not the value along any particular direction.
#
# ## Exercises
#
# 1. **Zener ratio.** Compute $A_Z = 2C_{44}/(C_{11}-C_{12})$ for SiC in the cube frame (rotate
#    the tensor with `gmtnet.tensors.to_ieee_frame`). Is $E$ largest along ⟨111⟩ or ⟨100⟩, and
#    how does that follow from $A_Z$?
# 2. **Sum rule.** Verify that $\beta(\mathbf x)+\beta(\mathbf y)+\beta(\mathbf z) = 1/K_{\text{Reuss}}$
#    for the monoclinic ZrO₂, and that the sum is the same for any three orthogonal directions.
# 3. **Symmetry of the surface.** Show numerically that the Young's modulus surface of LiZnSb
#    is invariant under any rotation about its $c$ axis, and that the longitudinal piezo
#    response changes sign under $\mathbf n \to -\mathbf n$.
#
# ## Solutions
#
# **Solution 1.** In the cube frame, $A_Z > 1$ means the crystal is stiffest along ⟨111⟩
# (as for most cubic crystals); $A_Z < 1$ along ⟨100⟩.

# %%
from gmtnet.properties import compliance, young_modulus
from gmtnet.tensors import to_voigt

sic = data["elastic"].loc["mp-8062"]
c_cube = to_voigt(to_ieee_frame(sic.tensor, sic.structure), "elastic")
zener = 2 * c_cube[3, 3] / (c_cube[0, 0] - c_cube[0, 1])
s_cube = compliance(to_ieee_frame(sic.tensor, sic.structure))
e100 = young_modulus(s_cube, np.array([1.0, 0, 0]))
e111 = young_modulus(s_cube, np.ones(3) / np.sqrt(3))
print(f"C11 {c_cube[0, 0]:.1f}, C12 {c_cube[0, 1]:.1f}, C44 {c_cube[3, 3]:.1f} GPa; Zener ratio {zener:.2f}")
print(f"E<100> = {e100:.1f} GPa, E<111> = {e111:.1f} GPa")

# %% [markdown]
# **Solution 2.** $\sum_k\beta(\mathbf e_k) = s_{iikk}$, a trace, hence the same for every orthonormal triad:

# %%
from gmtnet.properties import linear_compressibility, TPA_PER_GPA
from scipy.spatial.transform import Rotation

zro2 = tensors["monoclinic ZrO2 / Ag2S"]["elastic"]
s = compliance(zro2)
k_reuss = elastic_moduli(zro2)["k_reuss"]
for Q in [np.eye(3), Rotation.random(random_state=2).as_matrix()]:
    total = sum(linear_compressibility(s, Q[:, k]) for k in range(3))
    print(f"sum over a triad: {total:.4f} TPa⁻¹;  1/K_Reuss = {TPA_PER_GPA / k_reuss:.4f} TPa⁻¹")

# %% [markdown]
# **Solution 3.** Evaluate on random directions, rotated about the $c$ axis by an arbitrary
# angle. The stored DFT tensor obeys the hexagonal symmetry only to within its residual
# (0.5 %), so $E$ changes at that level; projected onto the $6mm$ form it is exactly
# transversely isotropic.

# %%
from gmtnet.properties import longitudinal_piezo
from gmtnet.surfaces import directional_values

lizn = data["elastic"].loc["mp-9919"]
c_axis = lizn.structure.lattice.matrix[2] / np.linalg.norm(lizn.structure.lattice.matrix[2])
R = Rotation.from_rotvec(np.radians(23) * c_axis).as_matrix()
dirs = Rotation.random(20, random_state=4).apply([0, 0, 1.0])
from gmtnet import symmetry_constraints

for label, C in [("DFT tensor as stored", lizn.tensor),
                 ("projected onto 6mm", symmetry_constraints(lizn.structure, "elastic").project(lizn.tensor))]:
    s_l = compliance(C)
    change = np.abs(young_modulus(s_l, dirs @ R.T) / young_modulus(s_l, dirs) - 1).max()
    print(f"{label:22s}: largest relative change of E under a 23° rotation about c = {change:.1e}")
e_l = tensors["hexagonal LiZnSb"]["piezoelectric"]
print("e(-n) = -e(n):", np.allclose(longitudinal_piezo(e_l, -dirs), -longitudinal_piezo(e_l, dirs)))
n_grid, values = directional_values(e_l, "piezoelectric", "longitudinal_piezo", n_theta=20, n_phi=40)
print(f"e(n) ranges from {values.min():.3f} to {values.max():.3f} C/m² over the sphere")
