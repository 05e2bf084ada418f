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
# # 03 · Appendix A: predicting tensors with the shipped GMTNet models
#
# *Optional appendix, "machine learning for tensors" (notebooks 03 and 04). The course itself
# is notebooks 01 and 02; this appendix uses their results.*
#
# **Learning goals.** After this notebook you can
#
# 1. check DFT tensors against their structures' symmetry before learning from them, and
#    recognise a frame mismatch;
# 2. load the shipped models and predict ε, e and C for a crystal, in its own Cartesian frame;
# 3. compare predictions with DFT on the held-out test split using the paper's metrics
#    (Fnorm, EwT, zero-element and equality success) and judge them against trivial baselines;
# 4. verify equivariance: rotate (or mirror) a crystal and the predicted tensor rotates with it,
#    $T(Q\cdot\text{crystal}) = \rho(Q)\,T(\text{crystal})$;
# 5. run a what-if: strain a cubic crystal, predict its new point group with Curie's principle,
#    compare with the re-detected one, and see which elastic constants become independent.
#
# Library used: `gmtnet.Predictor`, `gmtnet.metrics`, `gmtnet.symmetry`, `gmtnet.edit`,
# `gmtnet.teaching`, `gmtnet.plots`, `gmtnet.viewer`. Runs on a CPU in well under a minute.

# %%
import numpy as np
import pandas as pd
import plotly.express as px

from gmtnet import Predictor, symmetry_constraints
from gmtnet.data import load_dataset
from gmtnet.kinds import get_kind
from gmtnet.teaching import check, setup_notebook
from gmtnet.tensors import rotate, to_voigt

setup_notebook(torch_threads=1)
KINDS = ["dielectric", "piezoelectric", "elastic"]

# %% [markdown]
# ## 1 · Before learning: do the labels obey their structures' symmetry?
#
# Every row of the bundled data has a structure and a tensor in the **Cartesian frame of that
# structure**. The loader stores the residual
# $r = \max_g \lVert\rho(g)T - T\rVert_F / \lVert T\rVert_F$ under the point group that spglib
# finds at 0.01 Å. A clean tensor has $r\approx 0$; rows with $r > 0.01$ are flagged
# `asymmetric` and left out of training and testing.

# %%
frames = {kind: load_dataset(kind) for kind in KINDS}
flagged = {kind: df["flags"].map(lambda f: "asymmetric" in f) for kind, df in frames.items()}
summary = pd.DataFrame(
    {
        kind: {
            "rows": len(df),
            "residual < 1e-3": int((df["symmetry_residual"] < 1e-3).sum()),
            "median residual": df["symmetry_residual"].median(),
            "flagged asymmetric": int(flagged[kind].sum()),
            "flagged with r > 1.5": int((flagged[kind] & (df["symmetry_residual"] > 1.5)).sum()),
        }
        for kind, df in frames.items()
    }
).T
assert summary.loc["piezoelectric", ["rows", "flagged asymmetric", "flagged with r > 1.5"]].tolist() == [941, 144, 140]
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
# Most labels obey their structure's symmetry to within $10^{-3}$. The piezoelectric set is
# different: 144 of its 941 rows are flagged, and almost all of them (140) sit near $r = 2$.
# Why 2? If $\rho(g)T = -T$ for some operation (for example a mirror that reverses the polar
# axis of the tensor, because the tensor's axis points elsewhere), then
# $\lVert\rho(g)T - T\rVert = 2\lVert T\rVert$. The source gives $e$ in the IEEE-176 standard
# frame, and it was rotated back to the structure's frame with today's pymatgen convention; for
# these rows no candidate rotation makes the tensor consistent (see the data card).
#
# ### A frame mismatch, found by a query
#
# Which flagged rows are *relabelled axes* rather than noise? Try every proper signed
# permutation $R$ of the axes and keep the rows that some $R$ repairs exactly.
# `find_frame_mismatch` returns the first such row by material id:

# %%
from gmtnet.teaching import allowed_form, find_frame_mismatch
from gmtnet.symmetry import symmetry_residual

bad, repairs = find_frame_mismatch(frames["piezoelectric"])
sym_bad = symmetry_constraints(bad.structure, "piezoelectric")
print(bad.material_id, bad.formula, bad.spacegroup_symbol, "point group", bad.point_group, "flags:", bad["flags"])
print(f"residual as stored: {symmetry_residual(bad.tensor, sym_bad.symmetry.rotations):.3f}")
print("allowed form in the structure's frame:\n", allowed_form(sym_bad).to_string())
print("stored e (C/m²):\n", to_voigt(bad.tensor, "piezoelectric"))
assert "asymmetric" in bad["flags"] and bad.symmetry_residual > 1.5 and (repairs["residual"] < 1e-6).all()

# %% [markdown]
# The stored tensor has the right *kind* of pattern but on the wrong axes: its non-zero
# components sit where the allowed form has zeros. Relabelling the axes repairs it, but several
# relabellings do, and they disagree on the **sign** (and here also on which in-plane
# coefficient is which):

# %%
value_columns = repairs.columns.drop(["R (rows)", "residual"])
signs = np.sign(repairs[value_columns].round(6)).drop_duplicates()
print(f"{len(repairs)} repairing rotations, {len(signs)} different sign patterns of the allowed components")
assert len(repairs) > 1 and len(signs) > 1
repairs

# %% [markdown]
# Every repair gives a tensor that obeys the point group exactly, but which one is right cannot
# be decided from the data alone, so the project keeps the row, flags it and leaves it out of
# training and testing. (For consistent rows, too, the absolute sign of $e$ relative to the
# structure cannot be verified without the original calculation; see the data card.)
#
# **Take-away.** A tensor is only meaningful together with its frame. Before training on, or
# comparing, tensors from different sources, check them against their own structure's symmetry.
#
# ## 2 · Load the models
#
# `Predictor.load` reads the shipped weights (safetensors + the resolved config) once;
# `device="auto"` uses a GPU when there is one. Every prediction goes through the same steps:
# spglib finds the point group, the network predicts a full tensor, and the exact Neumann
# projector $P$ of notebook 01 makes forbidden components exactly zero.

# %%
predictor = Predictor.load(kinds=KINDS, device="auto")
for kind in KINDS:
    ensemble = predictor.models[kind]
    n_params = sum(p.numel() for p in ensemble.members[0].parameters())
    print(f"{kind:14s} {len(ensemble)} networks x {n_params:7d} parameters, "
          f"output scale {ensemble.config.target_scale:.3g} {get_kind(kind).unit_label}")

# %% [markdown]
# ## 3 · One crystal from the test split
#
# The test split (10 % of the materials, fixed by a seed) was never seen in training. Take a
# hexagonal crystal from the elastic set and look at it first.

# %%
from gmtnet.viewer import show_structure

elastic = load_dataset("elastic", include_flagged=False)
test = {kind: load_dataset(kind, include_flagged=False).query("split == 'test'").reset_index(drop=True) for kind in KINDS}
row = test["elastic"].query("crystal_system == 'hexagonal'").iloc[0]
print(row.material_id, row.formula, row.spacegroup_symbol, f"{row.nsites} atoms")
show_structure(row.structure, supercell=(2, 2, 1))

# %%
from gmtnet.plots import voigt_heatmap

pred = predictor.predict(row.structure, "elastic")
display(pred)
c = pred.constraints
voigt_heatmap(pred.voigt, "elastic", zero_mask=c.voigt_zero_mask(), equalities=c.voigt_equalities(),
              title=f"GMTNet C (GPa), {row.formula}").show()
voigt_heatmap(to_voigt(row.tensor, "elastic"), "elastic", zero_mask=c.voigt_zero_mask(),
              title=f"DFT C (GPa), {row.formula}").show()

# %% [markdown]
# The grey crosses mark components that the point group forbids: they are exactly zero in the
# prediction. The hexagonal relation $C_{66}=\frac12(C_{11}-C_{12})$ also holds exactly,
# because the projector, not the network, enforces it.
#
# ### How sure is the model?
#
# Each shipped model is an ensemble of networks trained on different folds with different
# seeds. The prediction is their mean; `pred.std_voigt` is their spread per component,
# calibrated on held-out crystals (the model card gives the coverage), and
# `pred.uncertainty` its Frobenius norm, the model's own estimate of its error in GPa.
# Forbidden components have exactly zero spread: every member obeys the symmetry.
# `pred.warnings` says when the crystal is unlike the training crystals (unseen elements or
# bonds, a bigger cell).

# %%
from gmtnet.metrics import frobenius_errors

print(f"uncertainty {pred.uncertainty:.1f} GPa, actual error against DFT "
      f"{frobenius_errors(pred.tensor[None], row.tensor[None], 'elastic')[0]:.1f} GPa")
print("±1σ (GPa):\n", pred.std_voigt.round(1))
print("warnings:", pred.warnings or "none")
assert np.all(pred.std_voigt[c.voigt_zero_mask()] == 0)

# %% [markdown]
# ## 4 · The whole test split and the paper's metrics
#
# For $N$ test crystals with prediction $\hat T_n$ and DFT label $T_n$ (ε as $3\times3$,
# e as $3\times6$, C as $6\times6$ Voigt matrices):
#
# * $\text{Fnorm} = \frac1N\sum_n \lVert\hat T_n - T_n\rVert_F$, in the tensor's unit;
# * $\text{EwT}_x$ = share of crystals with $\lVert\hat T_n - T_n\rVert_F / \lVert T_n\rVert_F < x$
#   ($x$ = 25 %, 10 %, 5 %);
# * zero-element / equality success: share of crystals whose forbidden components are
#   $\le 10^{-5}$ and whose forced pairs agree to $10^{-4}$.
#
# A metric means little without a baseline. Two trivial ones: predict **zero**, and predict the
# **training-set mean tensor projected onto each crystal's allowed form** (it knows the
# symmetry but nothing about chemistry).

# %%
from gmtnet.metrics import evaluate

results, predictions, constraints = [], {}, {}
for kind in KINDS:
    df = test[kind]
    preds = predictor.predict_many(list(df.structure), kind)
    cons = [p.constraints for p in preds]
    predicted = np.stack([p.tensor for p in preds])
    true = np.stack(df[get_kind(kind).column])
    predictions[kind], constraints[kind] = (predicted, true), cons
    train_rows = load_dataset(kind, include_flagged=False).query("split == 'train'")
    mean_tensor = np.stack(train_rows[get_kind(kind).column]).mean(axis=0)
    baselines = {
        "GMTNet": predicted,
        "zero": np.zeros_like(true),
        "projected train mean": np.stack([c.project(mean_tensor) for c in cons]),
    }
    for name, p in baselines.items():
        m = evaluate(p, true, kind, cons, df.crystal_system)["overall"]
        results.append({"kind": kind, "predictor": name, "unit": get_kind(kind).unit_label, **m})
metrics_table = pd.DataFrame(results).set_index(["kind", "predictor"])
assert (metrics_table.xs("GMTNet", level="predictor")[["zero_success", "equality_success"]] == 1.0).all().all()
assert metrics_table.loc[("elastic", "GMTNet"), "fnorm"] < metrics_table.loc[("elastic", "projected train mean"), "fnorm"]
metrics_table[["n", "unit", "fnorm", "mean_label_norm", "ewt25", "ewt10", "ewt5", "zero_success", "equality_success"]]

# %% [markdown]
# How to read this honestly:
#
# * **Elastic**: GMTNet's Fnorm is well below both baselines and a good share of crystals is
#   within 25 %: the model has learned real chemistry.
# * **Dielectric**: GMTNet is ahead of predicting zero or a mean, but on this small training
#   set a simpler equivariant baseline is as good or better (see the model card):
#   enforcing the symmetry fixes the *form* of the tensor, not its values. ε₀ also includes the
#   ionic (phonon) part, which is large and hard to predict for soft materials; EwT at 5 % is low.
# * **Piezoelectric**: the shipped model is **weak**. Its Fnorm is barely below predicting
#   zero. Reasons: few training crystals; many piezo constants are small and of either
#   sign; and the signs of the DFT labels relative to the structure could not be verified
#   (section 1). Use its output for the *form* of the tensor (which is exact), not for its values.
# * Zero-element and equality success are 100 % for GMTNet because of the projector. The zero
#   baseline passes the checks trivially: symmetry checks alone say nothing about accuracy.
#
# Per crystal system (elastic), with the relative error Fnorm / mean label norm, since stiff
# cubic metals have large labels; small groups make these numbers noisy:

# %%
predicted, true = predictions["elastic"]
per_system = pd.DataFrame(evaluate(predicted, true, "elastic", constraints["elastic"], test["elastic"].crystal_system)["per_crystal_system"]).T
per_system["relative fnorm"] = per_system["fnorm"] / per_system["mean_label_norm"]
per_system[["n", "fnorm", "mean_label_norm", "relative fnorm", "ewt25"]].sort_values("relative fnorm")

# %%
from gmtnet.metrics import paper_form
from gmtnet.plots import parity_figure

pv, tv = paper_form(predicted, "elastic"), paper_form(true, "elastic")
nonzero = np.abs(tv) > 1e-6
parity_figure(tv[nonzero], pv[nonzero], unit="GPa", title="Elastic constants on the test split: GMTNet vs DFT").show()

# %% [markdown]
# ## 5 · Equivariance: rotate the crystal, the tensor rotates
#
# If the crystal is rotated by an orthogonal $Q$ (Cartesian positions $r \to Qr$, lattice
# vectors $a \to Qa$), physics says its tensor becomes $\rho(Q)T$, e.g.
# $C'_{ijkl} = Q_{ia}Q_{jb}Q_{kc}Q_{ld}C_{abcd}$. GMTNet is built from O(3)-equivariant layers,
# so it satisfies this for every $Q$, including improper ones (mirrors), for the polar tensors
# ε, e and C. A network that is not equivariant would need the rotation to be undone by a
# frame convention, the kind of convention that went wrong in the flagged piezo rows of
# section 1.

# %%
from pymatgen.core import Lattice, Structure
from scipy.spatial.transform import Rotation


def transformed(structure, Q):
    """The same crystal with lattice vectors a -> Q a (rows: L Q^T); fractional coordinates kept."""
    return Structure(Lattice(structure.lattice.matrix @ Q.T), structure.species, structure.frac_coords)


crystal = test["piezoelectric"].query("crystal_system == 'monoclinic'").iloc[0]
print("crystal:", crystal.material_id, crystal.formula, crystal.spacegroup_symbol)
Q_rot = Rotation.random(random_state=7).as_matrix()
Q_mirror = Q_rot @ np.diag([1.0, 1.0, -1.0])             # an improper operation (det -1)
rows = []
for kind in KINDS:
    T = predictor.predict(crystal.structure, kind).tensor
    for name, Q in [("random rotation", Q_rot), ("rotation x mirror", Q_mirror)]:
        T_new = predictor.predict(transformed(crystal.structure, Q), kind).tensor
        expected = rotate(T, Q)
        rows.append({"kind": kind, "operation": name, "det Q": round(np.linalg.det(Q)),
                     "|T|": np.linalg.norm(T),
                     "|T(Q·crystal) − ρ(Q)T| / |T|": np.linalg.norm(T_new - expected) / np.linalg.norm(T),
                     "|T(Q·crystal) − T| / |T|": np.linalg.norm(T_new - T) / np.linalg.norm(T)})
equivariance = pd.DataFrame(rows)
assert (equivariance["|T(Q·crystal) − ρ(Q)T| / |T|"] < 1e-4).all()
assert (equivariance["|T(Q·crystal) − T| / |T|"] > 100 * equivariance["|T(Q·crystal) − ρ(Q)T| / |T|"]).all()
equivariance

# %% [markdown]
# The prediction for the rotated crystal equals the rotated prediction to float32 round-off,
# while it differs from the unrotated tensor by far more than that: the tensor really moved with
# the crystal. (For ε the change is small beside |T|, because most of a dielectric tensor is its
# isotropic part, which no rotation changes.)
#
# ## 6 · What-if: strain a cubic crystal, and Curie's principle
#
# **Curie's principle**: when a cause acts on a system, the symmetry that remains is the
# symmetry the two have in common. For a homogeneous strain $\varepsilon$ of a crystal with
# point group $G$, the strained crystal has (at most) the **intersection group**
#
# $$G' = G \cap G_\varepsilon = \{\,g\in G : g\,\varepsilon\,g^\mathsf{T} = \varepsilon\,\},$$
#
# where $G_\varepsilon$ is the symmetry of the strain ellipsoid ($\infty/mmm$ about the axis for a
# uniaxial strain, $mmm$ for a general one). Any non-zero strain that is not isotropic lowers
# $m\bar3m$ to a subgroup; no tolerance enters. `gmtnet.teaching.curie_group` computes $G'$.
#
# LiF (rock salt, $Fm\bar3m$) has a cubic elastic tensor with three constants $C_{11}, C_{12}, C_{44}$.
# Stretch it by 2 % along $x$ (`gmtnet.edit.strain`, lattice vectors $a' = (I+\varepsilon)a$ with
# $\varepsilon = \operatorname{diag}(0.02, 0, 0)$). Curie predicts $4/mmm$ with the 4-fold axis
# along $x$; spglib, which re-detects the symmetry from the strained cell at 0.01 Å, agrees
# because the distortion (2 % of 4 Å ≈ 0.08 Å) exceeds its tolerance.

# %%
from gmtnet.edit import newly_allowed, released_equalities, strain, strain_tensor
from gmtnet.teaching import curie_caption, curie_group

lif = elastic.set_index("material_id").loc["mp-1138"]
strained = strain(lif.structure, "uniaxial", 2.0, axis="x")
before = symmetry_constraints(lif.structure, "elastic")
after = symmetry_constraints(strained, "elastic")
predicted_group, kept = curie_group(before.symmetry, strain_tensor("uniaxial", 2.0, axis="x"))
print(f"before: {before.symmetry.spacegroup_symbol} ({before.point_group}), {before.n_independent} independent elastic constants")
print(f"Curie:  {before.point_group} ∩ G_strain = {predicted_group} ({len(kept)} of {len(before.symmetry.rotations)} operations kept)")
print(f"after:  {after.symmetry.spacegroup_symbol} ({after.point_group}), {after.n_independent} independent elastic constants")
print(curie_caption(lif.structure, strained))
print("newly non-zero components:", newly_allowed(before, after))
print("equalities released:", released_equalities(before, after))
assert predicted_group == after.point_group == "4/mmm" and (before.n_independent, after.n_independent) == (3, 6)

# %% [markdown]
# No forbidden component becomes allowed here (a tetragonal tensor with its axis along a cube
# axis has the same zeros as a cubic one), but three cubic equalities are **released**:
# $C_{11}$ now differs from $C_{22}=C_{33}$, $C_{12}=C_{13}$ from $C_{23}$, and $C_{55}=C_{66}$
# from $C_{44}$: 6 independent constants instead of 3. The model's prediction follows: only the
# allowed form can come out, and within it the network decides the values. A scan over the
# strain, with Curie's group beside the re-detected one:

# %%
labels = ["C11", "C22", "C33", "C12", "C13", "C23", "C44", "C55", "C66"]
idx = {"C11": (0, 0), "C22": (1, 1), "C33": (2, 2), "C12": (0, 1), "C13": (0, 2), "C23": (1, 2), "C44": (3, 3), "C55": (4, 4), "C66": (5, 5)}
scan = []
for percent in [-3, -2, -1, -0.5, -0.1, 0, 0.1, 0.5, 1, 2, 3]:
    s = strain(lif.structure, "uniaxial", percent, axis="x")
    p = predictor.predict(s, "elastic")
    curie = curie_group(before.symmetry, strain_tensor("uniaxial", percent, axis="x"))[0] if percent else before.point_group
    scan.append({"strain %": percent, "Curie": curie, "detected": p.symmetry.point_group, "independent": p.symmetry.n_independent,
                 **{name: p.voigt[idx[name]] for name in labels}})
scan = pd.DataFrame(scan)
assert (scan.loc[scan["strain %"] != 0, "Curie"] == "4/mmm").all()
assert scan.set_index("strain %").loc[[-0.1, 0.1], "detected"].eq("m-3m").all()
print("DFT (unstrained):", {name: round(float(to_voigt(lif.tensor, 'elastic')[idx[name]]), 1) for name in ["C11", "C12", "C44"]})
scan

# %%
fig = px.line(scan.melt(id_vars=["strain %"], value_vars=["C11", "C22", "C33", "C44", "C55"], var_name="component", value_name="GPa"),
              x="strain %", y="GPa", color="component", markers=True,
              title="Predicted elastic constants of LiF under uniaxial strain along x")
fig.show()

# %% [markdown]
# Two lessons. First, Curie's principle says that **every** non-zero uniaxial strain lowers
# $m\bar3m$ to $4/mmm$; at ±0.1 % the distortion (0.004 Å) is below spglib's 0.01 Å tolerance,
# so the *detected* group stays cubic and the prediction is still exactly cubic. The
# intersection group is the physics; the detected group is a measurement at a tolerance, so
# the allowed form jumps where the detection switches while the values change smoothly.
# Second, the model was trained on relaxed equilibrium structures only; how well it
# extrapolates to strained cells is not validated. Treat the numbers as a qualitative
# what-if, and the *form* (what symmetry allows) as exact.
#
# ## Exercises
#
# Each exercise has a cell that calls `check("03.k", answer)`: replace `None` by your answer
# and run it. Worked solutions are in the collapsed cells of the next section.
#
# 1. **Shear instead of stretch.** Apply a 2 % engineering shear strain in the $xy$ plane to
#    LiF. What is the new point group (Curie, and re-detected)? Which elastic components become
#    non-zero?
# 2. **Which kinds notice?** For the 2 % uniaxial strain, how many independent components do
#    ε and e have after the strain? Answer `{"dielectric": ..., "piezoelectric": ...}` and
#    explain the piezoelectric answer.
# 3. **Biaxial strain.** What point group does Curie's principle give for LiF under a 1 %
#    biaxial strain in the $xy$ plane? Where is the 4-fold axis?
# 4. **Supercells.** What point group does spglib detect for a $2\times1\times1$ supercell of
#    LiF, whose lattice is tetragonal? Is the predicted tensor the same as for the cell?

# %%
check("03.1", None)   # a point-group symbol

# %%
check("03.2", None)   # {"dielectric": ..., "piezoelectric": ...}

# %%
check("03.3", None)   # a point-group symbol

# %%
check("03.4", None)   # a point-group symbol

# %% [markdown]
# ## Solutions
#
# Collapsed and tagged `solution` (remove them for a hand-out with
# `jupyter nbconvert --to notebook --TagRemovePreprocessor.remove_cell_tags='["solution"]' 03_predicting_with_gmtnet.ipynb`).

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 1.** A shear $\varepsilon_{xy}$ stretches the $[110]$ diagonal and shortens $[1\bar10]$: the strain's symmetry is $mmm$ with axes $[110]$, $[1\bar10]$, $z$, and its intersection with $m\bar3m$ is $mmm$ with those axes (space group $Immm$). Seen from the $xyz$ frame, rotated by 45° about $z$ from those axes, the orthorhombic tensor has $C_{16}$, $C_{26}$, $C_{36}$ and $C_{45}$ non-zero: 9 independent constants, as for any orthorhombic crystal.

# %% tags=["solution"] jupyter={"source_hidden": true}
sheared = strain(lif.structure, "shear", 2.0, plane="xy")
after_shear = symmetry_constraints(sheared, "elastic")
print(curie_caption(lif.structure, sheared))
print(after_shear.symmetry.spacegroup_symbol, after_shear.point_group, after_shear.n_independent, "independent")
print("newly non-zero:", newly_allowed(before, after_shear))
p = predictor.predict(sheared, "elastic")
print("predicted C16, C26, C45 (GPa):", p.voigt[0, 5].round(2), p.voigt[1, 5].round(2), p.voigt[3, 4].round(2))
grade = check("03.1", after_shear.point_group)
assert grade
grade

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 2.** ε goes from 1 to 2 independent components ($\varepsilon_{xx} \ne \varepsilon_{yy}=\varepsilon_{zz}$). $e$ stays zero: $4/mmm$ still contains the inversion, and $\rho(-I)e = -e$. Curie: a strain is centrosymmetric (it is a rank-2 polar tensor), so it can never remove the inversion.

# %% tags=["solution"] jupyter={"source_hidden": true}
answer = {kind: symmetry_constraints(strained, kind).n_independent for kind in ["dielectric", "piezoelectric"]}
print("after:", answer, "| before:", {kind: symmetry_constraints(lif.structure, kind).n_independent for kind in answer})
grade = check("03.2", answer)
assert grade
grade

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 3.** An equal stretch along $x$ and $y$ singles out $z$: the strain has the symmetry $\infty/mmm$ about $z$, and the intersection with $m\bar3m$ is $4/mmm$ with the 4-fold axis along $z$.

# %% tags=["solution"] jupyter={"source_hidden": true}
from gmtnet.teaching import describe_operation

group, kept = curie_group(before.symmetry, strain_tensor("biaxial", 1.0, plane="xy"))
fourfold = {tuple(describe_operation(R)["axis"]) for R in kept if describe_operation(R)["symbol"] in ("4⁺", "4⁻")}
print(group, "4-fold axis:", fourfold)
grade = check("03.3", group)
assert grade and fourfold == {(0.0, 0.0, 1.0)}
grade

# %% [markdown] tags=["solution"] jupyter={"source_hidden": true}
# **Solution 4.** A supercell is the same crystal: same atoms, same point group (the library takes the point group from spglib's standardized cell, so a supercell that breaks the *lattice* symmetry still gets the full group), and the complete-shell neighbour graph sees the same environments. The prediction is the same to float32 round-off.

# %% tags=["solution"] jupyter={"source_hidden": true}
cell = lif.structure
supercell = cell.copy()
supercell.make_supercell([2, 1, 1])
a, b = predictor.predict(cell, "elastic"), predictor.predict(supercell, "elastic")
print(f"{len(cell)} vs {len(supercell)} atoms; point groups {a.symmetry.point_group}, {b.symmetry.point_group}; "
      f"max |difference| = {np.abs(a.voigt - b.voigt).max():.2e} GPa")
grade = check("03.4", b.symmetry.point_group)
assert grade and np.abs(a.voigt - b.voigt).max() < 1e-2
grade
