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
# *Course, part 2 of 2 (notebooks 01 and 02). Notebooks 03 and 04 are an optional appendix,
# "machine learning for tensors".*
#
# **Learning goals.** After this notebook you can
#
# 1. turn a tensor into a directional quantity $f(\mathbf n)$ and draw it as a surface
#    $r = |f(\mathbf n)|$: the dielectric response $\varepsilon(\mathbf n)$, the longitudinal
#    piezoelectric response $e(\mathbf n)$, Young's modulus $E(\mathbf n)$, the linear
#    compressibility $\beta(\mathbf n)$, the shear modulus $G(\mathbf n,\mathbf m)$ and Poisson's
#    ratio $\nu(\mathbf n,\mathbf m)$;
# 2. tell the representation quadric of a rank-2 tensor (an ellipsoid) from its magnitude
#    surface (not one);
# 3. predict the shape of each surface from the crystal's point group (notebook 01) and
#    recognise it for a cubic, a hexagonal and a monoclinic crystal;
# 4. relate the surfaces to the derived scalars (principal values, averages, moduli,
#    anisotropy indices), know which scalars hide the anisotropy, and find a crystal with
#    negative linear compressibility in the data.
#
# All tensors here are the DFT labels of the bundled data (static $\varepsilon_0$, $e$ and
# $C^E$ in the conventions of notebook 01, section 0), in the Cartesian frame of their
# structures. Library used: `gmtnet.surfaces` (values on a grid), `gmtnet.plots` (plotly
# figures), `gmtnet.properties` (derived scalars), `gmtnet.teaching` (the quadric figure and
# the exercise checks), `gmtnet.viewer` (offline 3D structures).

# %%
import numpy as np
import pandas as pd

from gmtnet.data import load_dataset
from gmtnet.plots import polar_figure, surface_figure
from gmtnet.teaching import check, setup_notebook

setup_notebook()

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
# * **Shear modulus and Poisson's ratio** need a second direction $\mathbf m \perp \mathbf n$:
#   $1/G(\mathbf n,\mathbf m) = 4\,s_{ijkl}n_im_jn_km_l$ (shear stress on the plane $\perp\mathbf n$
#   along $\mathbf m$), $\nu(\mathbf n,\mathbf m) = -s_{ijkl}n_in_jm_km_l / s_{ijkl}n_in_jn_kn_l$
#   (contraction along $\mathbf m$ under a stretch along $\mathbf n$). Drawn, as in ELATE, as the
#   minimum and the maximum over $\mathbf m$ for each $\mathbf n$.
#
# **Two surfaces of a rank-2 tensor.** For a symmetric rank-2 tensor such as ε there are two
# classic pictures. The **magnitude surface** $r(\mathbf n) = \mathbf n\cdot\varepsilon\cdot\mathbf n$ is
# what the figures below draw; it is **not** an ellipsoid (for strong anisotropy it is
# peanut-shaped, pinched along the small principal value). The **representation quadric**
# $\mathbf x\cdot\varepsilon\cdot\mathbf x = 1$ is an ellipsoid (for positive principal values), with
# semi-axes $1/\sqrt{\varepsilon_i}$ along the principal axes: its radius along $\mathbf n$ is
# $1/\sqrt{\varepsilon(\mathbf n)}$. Both have the symmetry of the tensor: for a cubic crystal both
# are spheres. Rank 3 ($e$) and rank 4 ($1/E$) polynomials can show the cubic anisotropy.
#
# ## 2 · Three crystals from the bundled data
#
# * **cubic**: SiC in the zinc-blende structure (3C-SiC, $F\bar43m$, point group $\bar43m$),
#   in all three datasets;
# * **hexagonal**: LiZnSb ($P6_3mc$, $6mm$, polar), in all three datasets;
# * **monoclinic**: ZrO₂ baddeleyite ($P2_1/c$, $2/m$) for ε and C; it is centrosymmetric, so for
#   the piezoelectric tensor we take monoclinic Ag₂S (point group $m$) instead.

# %%
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
# one principal axis is fixed by symmetry, the 2-fold axis (here the structure's $y$ axis, as
# in the standard setting); the other two can point anywhere in the plane perpendicular to it.

# %%
from gmtnet.properties import dielectric_principal

names = list(examples)
fig = surface_figure([tensors[n]["dielectric"] for n in names], "dielectric", "dielectric", titles=names, n_theta=30, n_phi=60)
fig.show()
principal = {n: dielectric_principal(tensors[n]["dielectric"]) for n in names}
for n, (values, axes) in principal.items():
    print(f"{n:24s} principal ε {values.round(3)}; axes (rows) {axes.round(2).tolist()}")
values, axes = principal["monoclinic ZrO2 / Ag2S"]
assert np.abs(axes @ [0, 1, 0]).max() > 0.999          # one principal axis is the 2-fold axis y

# %% [markdown]
# The surfaces share one colour scale and one set of axes, so sizes compare directly. The
# scalars that summarise them: the three **principal values** (eigenvalues) and their axes,
# and the orientational average $\bar\varepsilon = \operatorname{tr}\varepsilon/3$. The average
# hides the anisotropy completely; $\varepsilon_{\max}-\varepsilon_{\min}$ measures it.
#
# The representation quadric of the monoclinic ε beside its magnitude surface: the quadric is
# an ellipsoid whose longest semi-axis, $1/\sqrt{\varepsilon_{\min}}$, lies along the direction
# of the *smallest* permittivity; the magnitude surface is longest along the largest.

# %%
from gmtnet.teaching import quadric_figure

eps_zro2 = tensors["monoclinic ZrO2 / Ag2S"]["dielectric"]
quadric = quadric_figure(eps_zro2, title="ZrO₂ ε₀: representation quadric and magnitude surface")
quadric.show()
radius = np.sqrt(np.asarray(quadric.data[0].x) ** 2 + np.asarray(quadric.data[0].y) ** 2 + np.asarray(quadric.data[0].z) ** 2)
print(f"largest quadric radius {radius.max():.4f} vs 1/sqrt(ε_min) = {1 / np.sqrt(values.min()):.4f}")
assert abs(radius.max() - 1 / np.sqrt(values.min())) < 0.01 / np.sqrt(values.min())

# %% [markdown]
# ## 4 · Longitudinal piezoelectric surfaces e(n)
#
# Red and blue lobes are positive and negative $e(\mathbf n)$. For $\bar43m$,
# $e(\mathbf n) = 6\,e_{14}\,n_xn_yn_z$ in the cube frame: four positive lobes along four of the
# $\langle111\rangle$ body diagonals and four negative ones along the other four (a tetrahedral
# pattern), and zero along the cube axes. For $6mm$ the response is a surface of revolution
# about the polar axis, with different signs up and down the axis: the fingerprint of a polar
# crystal. (Our SiC cell is the primitive fcc cell, so the cube axes are not $x, y, z$; the
# pattern is rotated accordingly.)

# %%
piezo = [tensors[n]["piezoelectric"] for n in names]
fig = surface_figure(piezo, "piezoelectric", "longitudinal_piezo", titles=names, n_theta=30, n_phi=60)
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
scalars = pd.DataFrame(rows).set_index("example")
ours = scalars[["max e(n) (C/m²)", "‖e‖ operator norm (C/m²)", "e_ij max, IEEE frame (C/m²)"]]
matches = ours.apply(lambda col: np.isclose(col, scalars["e_ij max, Materials Project"], rtol=1e-3)).any(axis=1)
assert matches.to_dict() == {"cubic SiC": False, "hexagonal LiZnSb": True, "monoclinic ZrO2 / Ag2S": False}
scalars

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
# **Where is the maximum?** For SiC the optimiser returns one direction, but the maximum is
# not unique: in the cube frame $e(\mathbf n) = 6e_{14}n_xn_yn_z$ takes its largest value
# $2e_{14}/\sqrt3$ at **four equivalent** ⟨111⟩ directions (those with $n_xn_yn_z>0$ when
# $e_{14}>0$), related by the 2-fold and 3-fold axes of $\bar43m$, and the opposite value at the
# other four:

# %%
from gmtnet.properties import longitudinal_piezo
from gmtnet.tensors import to_voigt

sic_piezo = data["piezoelectric"].loc["mp-8062"]
e_cube = to_ieee_frame(sic_piezo.tensor, sic_piezo.structure)          # cube axes
e14 = to_voigt(e_cube, "piezoelectric")[0, 3]
diagonals = np.array([[sx, sy, sz] for sx in (1, -1) for sy in (1, -1) for sz in (1, -1)]) / np.sqrt(3)
along = pd.Series(longitudinal_piezo(e_cube, diagonals), index=[str((np.sign(d) * 1).astype(int).tolist()) for d in diagonals])
found = max_longitudinal_piezo(e_cube)
print(f"e14 = {e14:.4f} C/m²; 2 e14/√3 = {2 * e14 / np.sqrt(3):.4f}; optimiser: {found.value:.4f} at {found.n.round(3).tolist()}")
assert np.isclose(found.value, 2 * abs(e14) / np.sqrt(3), rtol=1e-4) and round(found.value, 3) == 0.168
assert (np.isclose(along, found.value, rtol=1e-6).sum(), np.isclose(along, -found.value, rtol=1e-6).sum()) == (4, 4)
along.rename("e(n) along the body diagonal (C/m²)").to_frame()

# %% [markdown]
# So the longitudinal maximum of SiC is $2e_{14}/\sqrt3 = 0.168$ C/m², reached along four of the
# eight body diagonals. For LiZnSb the maximum lies along the polar axis, with opposite signs
# at $\pm c$.

# %% [markdown]
# ## 5 · Young's modulus E(n) and linear compressibility β(n)
#
# A cubic crystal has three elastic constants, and $1/E(\mathbf n)$ is a quartic in
# $\mathbf n$: $\frac1{E(\mathbf n)} = s_{11} - 2\big(s_{11}-s_{12}-\tfrac12 s_{44}\big)(n_x^2n_y^2+n_y^2n_z^2+n_z^2n_x^2)$
# in the cube frame, so $E$ is extremal along $\langle100\rangle$ and $\langle111\rangle$. Mind
# the Voigt factors of notebook 01: these are **Voigt** compliances, $s_{11} = s_{1111}$,
# $s_{12} = s_{1122}$ but $s_{44} = 4s_{2323}$; with the tensor component the bracket would read
# $s_{11}-s_{12}-2s_{2323}$. Checked on SiC:

# %%
from gmtnet.properties import compliance, young_modulus
from gmtnet.teaching import voigt_compliance

sic = data["elastic"].loc["mp-8062"]
s_cube = compliance(to_ieee_frame(sic.tensor, sic.structure))
sv = voigt_compliance(s_cube)
n = np.array([0.3, -0.5, 0.81]) / np.linalg.norm([0.3, -0.5, 0.81])
quartic = n[0] ** 2 * n[1] ** 2 + n[1] ** 2 * n[2] ** 2 + n[2] ** 2 * n[0] ** 2
formula = 1 / (sv[0, 0] - 2 * (sv[0, 0] - sv[0, 1] - 0.5 * sv[3, 3]) * quartic)
print(f"s44 = {sv[3, 3]:.6f} = 4 s2323 = {4 * s_cube[1, 2, 1, 2]:.6f} 1/GPa;  E(n) formula {formula:.2f} GPa, tensor {young_modulus(s_cube, n):.2f} GPa")
# The stored tensor is cubic to within its symmetry residual, so the cubic formula agrees to that level.
assert np.isclose(formula, young_modulus(s_cube, n), rtol=1e-3) and np.isclose(sv[3, 3], 4 * s_cube[1, 2, 1, 2])

# %% [markdown]
# Hexagonal crystals are transversely isotropic (notebook 01, exercise 2): $E(\mathbf n)$
# depends only on the angle to $c$.

# %%
elastic = [tensors[n]["elastic"] for n in names]
fig = surface_figure(elastic, "elastic", "young", titles=names, n_theta=30, n_phi=60)
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
fig = surface_figure(elastic, "elastic", "linear_compressibility", titles=names, n_theta=30, n_phi=60)
fig.show()

# %% [markdown]
# ## 6 · Shear modulus G(n, m) and Poisson's ratio ν(n, m)
#
# Both depend on two directions, so each direction $\mathbf n$ gets two surfaces: the minimum
# and the maximum over $\mathbf m\perp\mathbf n$. For an isotropic solid the two coincide; the
# gap between them is anisotropy. Here for the monoclinic ZrO₂:

# %%
zro2 = tensors["monoclinic ZrO2 / Ag2S"]["elastic"]
for quantity in ["shear_min", "shear_max"]:
    surface_figure(zro2, "elastic", quantity, titles=[f"ZrO₂: {quantity.replace('_', ' ')} G(n)"], n_theta=24, n_phi=48, height=380).show()
surface_figure(zro2, "elastic", "poisson_min", titles=["ZrO₂: Poisson's ratio ν(n), min over m"], n_theta=24, n_phi=48, height=380).show()

# %% [markdown]
# ### Negative linear compressibility in the data
#
# $\beta(\mathbf n) = \mathbf n^\mathsf{T}B\,\mathbf n$ with $B_{kl} = s_{iikl}$: a quadratic form, so
# a crystal **expands** along some direction under hydrostatic pressure exactly when $B$ has a
# negative eigenvalue (negative linear compressibility, NLC; the volume still shrinks, since
# $\operatorname{tr}B = 1/K_{\text{Reuss}} > 0$). A query over every mechanically stable,
# unflagged elastic tensor of the bundled data:

# %%
from gmtnet.properties import is_mechanically_stable
from gmtnet.teaching import linear_compressibility_matrix

records = []
for mid, row in data["elastic"].iterrows():
    if not is_mechanically_stable(row.tensor):
        continue
    beta = np.linalg.eigvalsh(linear_compressibility_matrix(compliance(row.tensor)))
    records.append({"material_id": mid, "formula": row.formula, "space group": row.spacegroup_symbol,
                    "β min (TPa⁻¹)": beta[0], "β max (TPa⁻¹)": beta[2]})
nlc_scan = pd.DataFrame(records).set_index("material_id")
nlc = nlc_scan[nlc_scan["β min (TPa⁻¹)"] < 0].sort_values("β min (TPa⁻¹)")
print(f"{len(nlc)} of the {len(nlc_scan)} stable, unflagged elastic tensors have negative linear compressibility")
assert (len(nlc), len(nlc_scan)) == (28, len(nlc_scan)) and len(nlc_scan) > 2000
nlc.head()

# %% [markdown]
# 28 of the stable, unflagged elastic tensors have a direction of negative linear
# compressibility. DFT elastic constants of soft or layered crystals are noisy, so treat single
# rows with care; the most pronounced case, drawn with the diverging colour scale (blue:
# $\beta<0$, expansion under pressure):

# %%
nlc_id = nlc.index[0]
nlc_row = data["elastic"].loc[nlc_id]
fig = surface_figure(nlc_row.tensor, "elastic", "linear_compressibility",
                     titles=[f"{nlc_row.formula} ({nlc_id}, {nlc_row.spacegroup_symbol}): β(n), TPa⁻¹"], n_theta=30, n_phi=60)
fig.show()
assert nlc.loc[nlc_id, "β min (TPa⁻¹)"] < 0 < nlc.loc[nlc_id, "β max (TPa⁻¹)"]

# %% [markdown]
# ## 7 · Surfaces and the derived scalars
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
moduli = pd.DataFrame(rows).set_index("example")
assert np.allclose(moduli["K_Hill (GPa)"], moduli["K_VRH database"], rtol=1e-6)
assert np.allclose(moduli["G_Hill (GPa)"], moduli["G_VRH database"], rtol=1e-6)
cubic = moduli.loc["cubic SiC"]
assert np.isclose(cubic["β min (TPa⁻¹)"], cubic["β max (TPa⁻¹)"], rtol=1e-4) and cubic["E max / E min"] > 1.05
assert (moduli["E min (GPa)"] < moduli["E_Hill (GPa)"]).all() and (moduli["E_Hill (GPa)"] < moduli["E max (GPa)"]).all()
moduli.T

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
# Each exercise has a cell that calls `check("02.k", answer)`: replace `None` by your answer
# and run it. Worked solutions are in the collapsed cells of the next section.
#
# 1. **Zener ratio.** Compute $A_Z = 2C_{44}/(C_{11}-C_{12})$ for SiC in the cube frame (rotate
#    the tensor with `gmtnet.tensors.to_ieee_frame`).
# 2. **Sum rule.** Compute $\beta(\mathbf x)+\beta(\mathbf y)+\beta(\mathbf z)$ in TPa⁻¹ for the
#    monoclinic ZrO₂ (`data["elastic"].loc["mp-2858"]`), and show that the sum is the same for
#    any three orthogonal directions. What is it?
# 3. **Stiffest direction.** Is Young's modulus of SiC largest along ⟨100⟩ or ⟨111⟩? Answer
#    `"100"` or `"111"`, and say how it follows from $A_Z$.
# 4. **Auxetic or not?** How many of the stable, unflagged elastic tensors have a direction
#    pair with negative Poisson's ratio in the $xy$, $yz$ or $xz$ plane pairs
#    $(\mathbf n,\mathbf m)\in\{(x,y),(y,x),(y,z),(z,y),(x,z),(z,x)\}$? (A first look at auxetic
#    behaviour, restricted to the coordinate axes.)

# %%
check("02.1", None)   # a number

# %%
check("02.2", None)   # a number, TPa⁻¹

# %%
check("02.3", None)   # "100" or "111"

# %%
check("02.4", None)   # a count

# %% [markdown]
# ## Solutions
#
# Collapsed and tagged `solution` (remove them for a hand-out with
# `jupyter nbconvert --to notebook --TagRemovePreprocessor.remove_cell_tags='["solution"]' 02_tensor_surfaces.ipynb`).

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 1.** Rotate to the cube frame, then read the Voigt matrix.

# %% tags=["solution"] jupyter={"source_hidden": true}
c_cube = to_voigt(to_ieee_frame(sic.tensor, sic.structure), "elastic")
zener = 2 * c_cube[3, 3] / (c_cube[0, 0] - c_cube[0, 1])
print(f"C11 {c_cube[0, 0]:.1f}, C12 {c_cube[0, 1]:.1f}, C44 {c_cube[3, 3]:.1f} GPa; Zener ratio {zener:.2f}")
grade = check("02.1", zener)
assert grade
grade

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 2.** $\sum_k\beta(\mathbf e_k) = s_{iikk}$, a trace, hence the same for every orthonormal triad, and equal to $1/K_{\text{Reuss}}$:

# %% tags=["solution"] jupyter={"source_hidden": true}
from scipy.spatial.transform import Rotation

from gmtnet.properties import TPA_PER_GPA, linear_compressibility

s_zro2 = compliance(zro2)
k_reuss = elastic_moduli(zro2)["k_reuss"]
sums = [sum(linear_compressibility(s_zro2, Q[:, k]) for k in range(3)) for Q in [np.eye(3), Rotation.random(random_state=2).as_matrix()]]
print(f"sums over two triads: {sums[0]:.4f}, {sums[1]:.4f} TPa⁻¹;  1/K_Reuss = {TPA_PER_GPA / k_reuss:.4f} TPa⁻¹")
assert np.isclose(sums[0], sums[1])
grade = check("02.2", sums[0])
assert grade
grade

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 3.** In the cube frame, $A_Z > 1$ means the shear stiffness $C_{44}$ is large compared with $\frac12(C_{11}-C_{12})$, and the crystal is stiffest along ⟨111⟩ (as for most cubic crystals); $A_Z < 1$ along ⟨100⟩.

# %% tags=["solution"] jupyter={"source_hidden": true}
e100, e111 = young_modulus(s_cube, np.array([1.0, 0, 0])), young_modulus(s_cube, np.ones(3) / np.sqrt(3))
print(f"A_Z = {zener:.2f};  E<100> = {e100:.1f} GPa, E<111> = {e111:.1f} GPa")
grade = check("02.3", "111" if e111 > e100 else "100")
assert grade
grade

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 4.** Evaluate $\nu(\mathbf n,\mathbf m)$ for the six axis pairs of every stable tensor.

# %% tags=["solution"] jupyter={"source_hidden": true}
from gmtnet.properties import poisson_ratio

axes3 = np.eye(3)
pairs = [(0, 1), (1, 0), (1, 2), (2, 1), (0, 2), (2, 0)]
auxetic = 0
for mid in nlc_scan.index:
    s = compliance(data["elastic"].loc[mid].tensor)
    auxetic += any(poisson_ratio(s, axes3[a], axes3[b]) < 0 for a, b in pairs)
print(auxetic, "tensors have a negative Poisson's ratio for a pair of coordinate axes")
grade = check("02.4", auxetic)
assert grade
grade
