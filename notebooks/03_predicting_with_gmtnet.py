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
# # 03 · Predicting tensors with the shipped GMTNet models
#
# **Learning goals.** After this notebook you can
#
# 1. load the shipped models and predict ε, e and C for a crystal, in its own Cartesian frame;
# 2. compare predictions with DFT on the held-out test split using the paper's metrics
#    (Fnorm, EwT, zero-element and equality success) and judge them against trivial baselines;
# 3. verify equivariance: rotate (or mirror) a crystal and the predicted tensor rotates with it,
#    $T(Q\cdot\text{crystal}) = \rho(Q)\,T(\text{crystal})$;
# 4. run a what-if: strain a cubic crystal, watch its point group drop from $m\bar3m$ to
#    $4/mmm$, and see which elastic constants become independent.
#
# Library used: `gmtnet.Predictor`, `gmtnet.metrics`, `gmtnet.symmetry`, `gmtnet.edit`,
# `gmtnet.plots`, `gmtnet.viewer`. Runs on a CPU in about a minute.

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
# ## 1 · Load the models
#
# `Predictor.load` reads the shipped weights (safetensors + the resolved config) once;
# `device="auto"` uses a GPU when there is one. Every prediction goes through the same steps:
# spglib finds the point group, the network predicts a full tensor, and the exact Neumann
# projector $P$ of notebook 01 makes forbidden components exactly zero.

# %%
import json

import torch

from gmtnet import Predictor, symmetry_constraints
from gmtnet.data import load_dataset
from gmtnet.kinds import get_kind
from gmtnet.tensors import rotate, to_voigt
from gmtnet.viewer import show_structure
from gmtnet.weights import shipped_model_dir

# Crystal graphs are small: one CPU thread is about as fast as several and does not slow down
# many-fold when other programs share the CPU. (No effect on a GPU.)
torch.set_num_threads(1)
KINDS = ["dielectric", "piezoelectric", "elastic"]
predictor = Predictor.load(kinds=KINDS, device="auto")
print("device:", predictor.device)
for kind in KINDS:
    ensemble = predictor.models[kind]
    cfg = ensemble.config
    n_params = sum(p.numel() for p in ensemble.members[0].parameters())
    print(f"{kind:14s} {len(ensemble)} networks x {n_params:7d} parameters, "
          f"output scale {cfg.target_scale:.3g} {get_kind(kind).unit_label}")

# %% [markdown]
# ## 2 · One crystal from the test split
#
# The test split (10 % of the materials, fixed by a seed) was never seen in training. Take a
# hexagonal crystal from the elastic set and look at it first.

# %%
elastic = load_dataset("elastic", include_flagged=False)
test = {kind: load_dataset(kind, include_flagged=False).query("split == 'test'").reset_index(drop=True) for kind in KINDS}
row = test["elastic"].query("crystal_system == 'hexagonal'").iloc[0]
print(row.material_id, row.formula, row.spacegroup_symbol, f"{row.nsites} atoms")
show_structure(row.structure, supercell=(2, 2, 1))

# %%
from gmtnet.plots import voigt_heatmap

pred = predictor.predict(row.structure, "elastic")
print("point group", pred.symmetry.point_group, "| independent components", pred.symmetry.n_independent,
      "| zero check", pred.symmetry.zero_ok, "| equality check", pred.symmetry.equality_ok)
c = pred.constraints
fig_pred = voigt_heatmap(pred.voigt, "elastic", zero_mask=c.voigt_zero_mask(), equalities=c.voigt_equalities(),
                         title=f"GMTNet C (GPa), {row.formula}")
fig_dft = voigt_heatmap(to_voigt(row.tensor, "elastic"), "elastic", zero_mask=c.voigt_zero_mask(),
                        title=f"DFT C (GPa), {row.formula}")
fig_pred.show()
fig_dft.show()

# %% [markdown]
# The grey crosses mark components that the point group forbids: they are exactly zero in the
# prediction. The hexagonal relation $C_{66}=\frac12(C_{11}-C_{12})$ also holds exactly,
# because the projector, not the network, enforces it.
#
# ### How sure is the model?
#
# Each shipped model is an ensemble of networks trained on different folds with different
# seeds. The prediction is their mean; `pred.std_voigt` is their calibrated spread per
# component (about 68 % of DFT components fall within ±1σ on held-out crystals), and
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

# %% [markdown]
# ## 3 · The whole test split and the paper's metrics
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

results, predictions = [], {}
for kind in KINDS:
    df = test[kind]
    preds = predictor.predict_many(list(df.structure), kind)
    cons = [p.constraints for p in preds]
    pred = np.stack([p.tensor for p in preds])
    true = np.stack(df[get_kind(kind).column])
    predictions[kind] = (pred, true)
    train_rows = load_dataset(kind, include_flagged=False).query("split == 'train'")
    mean_tensor = np.stack(train_rows[get_kind(kind).column]).mean(axis=0)
    baselines = {
        "GMTNet": pred,
        "zero": np.zeros_like(true),
        "projected train mean": np.stack([c.project(mean_tensor) for c in cons]),
    }
    for name, p in baselines.items():
        m = evaluate(p, true, kind, cons, df.crystal_system)["overall"]
        results.append({"kind": kind, "predictor": name, "unit": get_kind(kind).unit_label, **m})
metrics_table = pd.DataFrame(results).set_index(["kind", "predictor"])
metrics_table[["n", "unit", "fnorm", "mean_label_norm", "ewt25", "ewt10", "ewt5", "zero_success", "equality_success"]]

# %% [markdown]
# How to read this honestly:
#
# * **Elastic**: GMTNet's Fnorm is well below both baselines and a good share of crystals is
#   within 25 %: the model has learned real chemistry.
# * **Dielectric**: GMTNet is well ahead of predicting zero or a mean, but on these ~800
#   training crystals the simpler ETGNN-style baseline is as good or better (see
#   `benchmarks/results/ACCURACY.md`): enforcing the symmetry fixes the *form* of the tensor,
#   not its values. ε₀ also includes the ionic (phonon) part, which is large and hard to
#   predict for soft materials; EwT at 5 % is low.
# * **Piezoelectric**: the shipped model is **weak**. Its Fnorm is barely below predicting
#   zero, and no test crystal is within 25 %. Reasons: only ~600 training crystals; many
#   piezo constants are small and of either sign; and the signs of the DFT labels relative to
#   the structure could not be verified (see the data card and notebook 01). Use its output
#   for the *form* of the tensor (which is exact), not for its values.
# * Zero-element and equality success are 100 % for GMTNet because of the projector. A
#   subtlety: when a cell is slightly off its ideal orientation (within spglib's tolerance),
#   the detected symmetry axes are tilted by a tiny angle from $x, y, z$, so a component that
#   is forbidden in the ideal frame has a tiny allowed weight in this one; the checks use the
#   detected operations, so the prediction still passes them exactly. The zero baseline passes
#   the checks trivially: symmetry checks alone say nothing about accuracy.
#
# A parity plot of all elastic components shows the spread:

# %%
from gmtnet.metrics import paper_form
from gmtnet.plots import parity_figure

pred, true = predictions["elastic"]
pv, tv = paper_form(pred, "elastic"), paper_form(true, "elastic")
nonzero = np.abs(tv) > 1e-6
fig = parity_figure(tv[nonzero], pv[nonzero], unit="GPa", title="Elastic constants on the test split: GMTNet vs DFT")
fig.show()

# %% [markdown]
# ## 4 · Equivariance: rotate the crystal, the tensor rotates
#
# If the crystal is rotated by an orthogonal $Q$ (Cartesian positions $r \to Qr$, lattice
# vectors $a \to Qa$), physics says its tensor becomes $\rho(Q)T$, e.g.
# $C'_{ijkl} = Q_{ia}Q_{jb}Q_{kc}Q_{ld}C_{abcd}$. GMTNet is built from O(3)-equivariant layers,
# so it satisfies this for every $Q$, including improper ones (mirrors), for the polar tensors
# ε, e and C. A network that is not equivariant would need the rotation to be undone by a
# frame convention, the kind of convention that went wrong in the flagged piezo rows of
# notebook 01.

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
pd.DataFrame(rows)

# %% [markdown]
# The prediction for the rotated crystal equals the rotated prediction to float32 round-off
# (about $10^{-6}$ relative), while it differs from the unrotated tensor by order one: the
# tensor really moved with the crystal.
#
# ## 5 · What-if: strain a cubic crystal and break its symmetry
#
# LiF (rock salt, $Fm\bar3m$) has a cubic elastic tensor with three constants $C_{11}, C_{12}, C_{44}$.
# Stretch it by 2 % along $x$: the lattice vectors become $a' = (I+\varepsilon)a$ with
# $\varepsilon = \operatorname{diag}(0.02, 0, 0)$ (`gmtnet.edit.strain`). The $x$ axis is no
# longer equivalent to $y$ and $z$: the point group drops to $4/mmm$ with the 4-fold axis along
# $x$. spglib finds this because the distortion (2 % of 4 Å ≈ 0.08 Å) exceeds the tolerance
# of 0.01 Å.

# %%
from gmtnet.edit import newly_allowed, released_equalities, strain

lif = elastic.set_index("material_id").loc["mp-1138"]
strained = strain(lif.structure, "uniaxial", 2.0, axis="x")
before = symmetry_constraints(lif.structure, "elastic")
after = symmetry_constraints(strained, "elastic")
print(f"before: {before.symmetry.spacegroup_symbol} ({before.point_group}), {before.n_independent} independent elastic constants")
print(f"after:  {after.symmetry.spacegroup_symbol} ({after.point_group}), {after.n_independent} independent elastic constants")
print("newly non-zero components:", newly_allowed(before, after))
print("equalities released:", released_equalities(before, after))
print("equalities kept:", after.voigt_equalities())
show_structure(strained)

# %% [markdown]
# No forbidden component becomes allowed here (a tetragonal tensor with its axis along a cube
# axis has the same zeros as a cubic one), but three cubic equalities are **released**:
# $C_{11}$ now differs from $C_{22}=C_{33}$, $C_{12}=C_{13}$ from $C_{23}$, and $C_{55}=C_{66}$
# from $C_{44}$: 6 independent constants instead of 3. The model's prediction follows: only the
# allowed form can come out, and within it the network decides the values.

# %%
labels = ["C11", "C22", "C33", "C12", "C13", "C23", "C44", "C55", "C66"]
idx = {"C11": (0, 0), "C22": (1, 1), "C33": (2, 2), "C12": (0, 1), "C13": (0, 2), "C23": (1, 2), "C44": (3, 3), "C55": (4, 4), "C66": (5, 5)}
scan = []
for percent in [-3, -2, -1, -0.5, -0.1, 0, 0.1, 0.5, 1, 2, 3]:
    s = strain(lif.structure, "uniaxial", percent, axis="x")
    p = predictor.predict(s, "elastic")
    scan.append({"strain %": percent, "point group": p.symmetry.point_group, "independent": p.symmetry.n_independent,
                 **{name: p.voigt[idx[name]] for name in labels}})
scan = pd.DataFrame(scan)
print("DFT (unstrained):", {name: round(float(to_voigt(lif.tensor, 'elastic')[idx[name]]), 1) for name in ["C11", "C12", "C44"]})
scan

# %%
fig = px.line(scan.melt(id_vars=["strain %"], value_vars=["C11", "C22", "C33", "C44", "C55"], var_name="component", value_name="GPa"),
              x="strain %", y="GPa", color="component", markers=True,
              title="Predicted elastic constants of LiF under uniaxial strain along x")
fig.show()

# %% [markdown]
# Two lessons. First, at ±0.1 % the distortion (0.004 Å) is below spglib's 0.01 Å tolerance:
# the crystal is still detected as cubic and the prediction is still exactly cubic. Symmetry
# detection is a yes/no decision at a tolerance, so the allowed form jumps while the values
# change smoothly. Second, the model was trained on relaxed equilibrium structures only; how
# well it extrapolates to strained cells is not validated. Treat the numbers as a
# qualitative what-if, and the *form* (what symmetry allows) as exact.
#
# ## Exercises
#
# 1. **Shear instead of stretch.** Apply a 2 % engineering shear strain in the $xy$ plane to
#    LiF. What is the new point group, and which elastic components become non-zero?
# 2. **Which kinds notice?** For the 2 % uniaxial strain, how many independent components do
#    ε and e have before and after? Explain the piezoelectric answer.
# 3. **Where is the model worst?** Compute the elastic Fnorm per crystal system on the test
#    split and the relative error Fnorm / mean label norm.
# 4. **Supercells.** Is the prediction for a $2\times1\times1$ supercell the same as for the
#    cell? Why should it be?
#
# ## Solutions
#
# **Solution 1.** A shear $\varepsilon_{xy}$ stretches the $[110]$ diagonal and shortens
# $[1\bar10]$: the crystal becomes orthorhombic ($mmm$) with axes along $[110]$, $[1\bar10]$
# and $z$ (space group $Immm$). Seen from the $xyz$ frame, which is rotated by 45° about $z$
# from those axes, the orthorhombic tensor has $C_{16}$, $C_{26}$, $C_{36}$ and $C_{45}$
# non-zero: 9 independent constants, as for any orthorhombic crystal:

# %%
sheared = strain(lif.structure, "shear", 2.0, plane="xy")
after_shear = symmetry_constraints(sheared, "elastic")
print(after_shear.symmetry.spacegroup_symbol, after_shear.point_group, after_shear.n_independent, "independent")
print("newly non-zero:", newly_allowed(before, after_shear))
p = predictor.predict(sheared, "elastic")
print("predicted C16, C26, C45 (GPa):", p.voigt[0, 5].round(2), p.voigt[1, 5].round(2), p.voigt[3, 4].round(2))

# %% [markdown]
# **Solution 2.** ε goes from 1 to 2 independent components ($\varepsilon_{xx} \ne \varepsilon_{yy}=\varepsilon_{zz}$).
# $e$ stays zero: $4/mmm$ still contains the inversion, and $\rho(-I)e = -e$.

# %%
for kind in ["dielectric", "piezoelectric"]:
    b, a = symmetry_constraints(lif.structure, kind), symmetry_constraints(strained, kind)
    print(f"{kind:14s} before {b.n_independent}, after {a.n_independent}")

# %% [markdown]
# **Solution 3.**

# %%
pred, true = predictions["elastic"]
cons = [symmetry_constraints(s, "elastic") for s in test["elastic"].structure]
per_system = pd.DataFrame(evaluate(pred, true, "elastic", cons, test["elastic"].crystal_system)["per_crystal_system"]).T
per_system["relative fnorm"] = per_system["fnorm"] / per_system["mean_label_norm"]
per_system[["n", "fnorm", "mean_label_norm", "relative fnorm", "ewt25"]].sort_values("relative fnorm")

# %% [markdown]
# Small groups (a handful of crystals) make these numbers noisy; compare the relative Fnorm,
# not the absolute one, since stiff cubic metals have large labels.
#
# **Solution 4.** A supercell is the same crystal: same atoms, same point group (the library
# takes the point group from spglib's standardized cell, so a supercell that breaks the
# *lattice* symmetry still gets the full group), and the complete-shell neighbour graph sees the
# same environments. The prediction is the same to float32 round-off:

# %%
cell = lif.structure
supercell = cell.copy()
supercell.make_supercell([2, 1, 1])
a, b = predictor.predict(cell, "elastic").voigt, predictor.predict(supercell, "elastic").voigt
print(f"{len(cell)} vs {len(supercell)} atoms; max |difference| = {np.abs(a - b).max():.2e} GPa")
