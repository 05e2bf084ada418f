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
# # 04 · Appendix B: train a small GMTNet on a CPU
#
# *Optional appendix, "machine learning for tensors" (notebooks 03 and 04). The course itself
# is notebooks 01 and 02.*
#
# **Learning goals.** After this notebook you can
#
# 1. configure a training run (`TrainConfig`: data subset, epochs, time budget, model size) and
#    run it on a CPU in about a minute;
# 2. read a learning curve and evaluate the model on the held-out test split with the paper's
#    metrics, against a trivial baseline and the shipped model;
# 3. explain what the symmetry enforcement (the Neumann projector inside GMTNet) buys: exact
#    symmetry even for slightly distorted inputs, an error that can only go down, and fewer
#    numbers to learn; and what it does not buy.
#
# The task is the static dielectric tensor ε₀ (rank 2, dimensionless): the cheapest of the
# kinds to learn, so a few hundred crystals and a minute of CPU time already give a model that
# beats the baseline. Everything is seeded; the run writes into a temporary directory.

# %%
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from gmtnet.teaching import check, setup_notebook

setup_notebook(torch_threads=1)

# %% [markdown]
# ## 1 · Configure the run
#
# `TrainConfig` holds everything a run depends on (it is saved as `config.json` beside the
# weights). For a CPU-sized run we shrink three things:
#
# * **data**: `max_train=400` of the ~790 usable training crystals (a seeded random subset);
# * **time**: at most 60 epochs, and a `time_limit` of 75 s of training as a safety stop;
# * **model**: `model_options` make the network ~10x smaller than the shipped one: fewer
#   invariant features, multiplicity 4 instead of 16 for the equivariant $l\ge1$ features, edge
#   harmonics up to $l=2$ (enough for a rank-2 tensor: $0e\oplus2e$), two equivariant layers.
#
# The loss is the mean over crystals of $\lVert\hat\varepsilon - \varepsilon\rVert_F / s$, with
# $s$ the RMS label component of the training set: the training-time form of the paper's Fnorm.

# %%
import tempfile
from pathlib import Path

from gmtnet.train import TrainConfig, evaluate_model, train

SMALL = dict(hidden_scalars=32, num_invariant_layers=1, num_equivariant_layers=2, equivariant_scalars=16,
             hidden_mul=4, lmax=2, lmax_hidden=2, num_basis=8, radial_hidden=32)
config = TrainConfig(kind="dielectric", model="gmtnet", epochs=60, batch_size=16, lr=3e-3, warmup_epochs=3,
                     max_train=400, time_limit=75, seed=0, device="auto", model_options=SMALL)
workdir = tempfile.TemporaryDirectory(prefix="gmtnet-nb04-")
out_dir = Path(workdir.name) / "dielectric-small"
config

# %% [markdown]
# ## 2 · Train

# %%
summary = train(config, out_dir, progress=False)
{k: summary[k] for k in ["parameters", "train_crystals", "val_crystals", "epochs_run", "best_epoch", "best_val_fnorm", "device"]}

# %%
log = pd.read_csv(out_dir / "log.csv")
fig = go.Figure()
fig.add_trace(go.Scatter(x=log.epoch, y=log.train_loss * summary["target_scale"], name="train loss × scale"))
fig.add_trace(go.Scatter(x=log.epoch, y=log.val_fnorm, name="validation Fnorm"))
fig.update_layout(title="Learning curve (dimensionless ε units)", xaxis_title="epoch", yaxis_title="mean ‖Δε‖_F", height=380)
fig.show()
print("files written:", sorted(p.name for p in out_dir.iterdir()))

# %% [markdown]
# The validation error falls quickly at first. With only 400 crystals, longer training soon
# stops paying off: the training loss keeps falling while the validation error flattens. The
# weights kept are those of the best validation epoch (an exponential moving average of the
# weights, which is smoother). On a busy machine the 75-second `time_limit` may stop the run
# before the 60 epochs: `epochs_run` above says how far it got, and the numbers below depend
# on it.
#
# ## 3 · Evaluate on the test split
#
# `evaluate_model` rebuilds the model from `config.json` + `model.safetensors` and computes the
# paper's metrics on the unflagged test crystals. We compare with the shipped model (trained on
# all ~790 crystals for 8 minutes on a GPU, with 10x more parameters) and with the
# projected training-mean baseline of notebook 03.

# %%
import json

from gmtnet.data import load_dataset
from gmtnet.metrics import evaluate
from gmtnet.symmetry import symmetry_constraints
from gmtnet.weights import shipped_model_dir

small = evaluate_model(out_dir, "test", progress=False)
shipped = json.loads((shipped_model_dir("dielectric") / "metrics-test.json").read_text())

data = load_dataset("dielectric", include_flagged=False)
test_rows = data.query("split == 'test'")
cons = [symmetry_constraints(s, "dielectric") for s in test_rows.structure]
true = np.stack(test_rows.tensor)
mean_eps = np.stack(data.query("split == 'train'").tensor).mean(axis=0)
baseline = evaluate(np.stack([c.project(mean_eps) for c in cons]), true, "dielectric", cons, test_rows.crystal_system)

columns = ["n", "fnorm", "mean_label_norm", "ewt25", "ewt10", "ewt5", "zero_success", "equality_success"]
pd.DataFrame({"projected train mean": baseline["overall"], "small GMTNet (this notebook)": small["overall"],
              "shipped GMTNet": shipped["overall"]}).T[columns]

# %% [markdown]
# Even this small, briefly trained model beats the symmetry-aware baseline; the shipped model
# is much better still (twice the data, a 10x bigger network, 8 minutes on a GPU). The
# per-crystal-system view:

# %%
per_system = pd.DataFrame(small["per_crystal_system"]).T
per_system["relative fnorm"] = per_system["fnorm"] / per_system["mean_label_norm"]
per_system[["n", "fnorm", "relative fnorm", "ewt25"]]

# %% [markdown]
# ## 4 · What does the symmetry enforcement buy?
#
# GMTNet ends with the projector of notebook 01: the network's raw equivariant output $t$ is
# replaced by $Pt$, where $P$ is built from the crystal's point group. Three consequences.
#
# ### (a) Exact symmetry, even for a slightly distorted input
#
# An O(3)-equivariant network already respects a crystal's symmetry *if the input is exactly
# symmetric*. Real inputs are not: relaxed DFT cells, experimental CIFs and rounded
# coordinates are symmetric only to within a tolerance. Rattle a cubic crystal's atoms by
# up to 0.003 Å: spglib (tolerance 0.01 Å) still calls it cubic, so ε must be isotropic. We run
# the trained network with and without the projector.

# %%
from gmtnet.edit import rattle
from gmtnet.graph import build_graph
from gmtnet.models.network import load_model, run_model

model = load_model(out_dir, device="cpu")
cubic = test_rows.query("crystal_system == 'cubic'").iloc[0]
rattled = rattle(cubic.structure, 0.003, seed=1)
c_r = symmetry_constraints(rattled, "dielectric")
graph = build_graph(rattled, num_neighbors=model.config.num_neighbors)
raw = run_model(model, [graph], None)[0]                       # equivariant network, no projector
projected = run_model(model, [graph], c_r.projector[None])[0]  # what GMTNet outputs
print(cubic.formula, "rattled: detected point group", c_r.point_group)
for name, eps in [("without projector", raw), ("with projector", projected)]:
    verdict = c_r.check(eps)
    print(f"{name:18s} diag {np.diag(eps).round(5)}  max forbidden {verdict['max_forbidden']:.1e}  "
          f"max equality violation {verdict['max_equality_violation']:.1e}  passes: {verdict['zero_ok'] and verdict['equality_ok']}")

# %% [markdown]
# Without the projector the tensor is only approximately isotropic (off-diagonal and unequal
# diagonal entries of order $10^{-4}$–$10^{-3}$), so it fails the paper's checks (forbidden
# components $\le10^{-5}$, forced pairs equal to $10^{-4}$). With the projector it is exactly
# isotropic. For a user this means: the predicted tensor never shows a spurious anisotropy
# that the crystal's symmetry forbids.
#
# ### (b) The error can only go down
#
# If the label obeys the symmetry, $P\varepsilon = \varepsilon$, and $P$ is an orthogonal
# projector, then for any raw prediction $t$
#
# $$\lVert Pt - \varepsilon\rVert_F = \lVert P(t - \varepsilon)\rVert_F \le \lVert t - \varepsilon\rVert_F .$$
#
# Projection removes the part of the error that lies in the forbidden directions and keeps the
# rest. (For ε the paper's Fnorm is the Frobenius norm of the $3\times3$ matrix, so this holds
# exactly for each crystal.)

# %%
from gmtnet.train import prepare_examples

ex = prepare_examples("dielectric", "test", model.config.num_neighbors, progress=False)
raw_all = run_model(model, ex.graphs, None)
proj_all = np.stack([c.project(t) for c, t in zip(ex.constraints, raw_all)])
err_raw = np.linalg.norm((raw_all - ex.targets).reshape(len(ex), -1), axis=1)
err_proj = np.linalg.norm((proj_all - ex.targets).reshape(len(ex), -1), axis=1)
print(f"Fnorm without projector {err_raw.mean():.6f}, with projector {err_proj.mean():.6f}")
print(f"largest per-crystal increase: {(err_proj - err_raw).max():.1e}, largest decrease: {(err_raw - err_proj).max():.1e}")
# Against the exactly symmetrised labels P·ε the inequality holds for every crystal:
sym_targets = np.stack([c.project(t) for c, t in zip(ex.constraints, ex.targets)])
ok = np.linalg.norm((proj_all - sym_targets).reshape(len(ex), -1), axis=1) <= np.linalg.norm((raw_all - sym_targets).reshape(len(ex), -1), axis=1) + 1e-12
print(f"||Pt − Pε|| ≤ ||t − Pε|| for {ok.sum()} of {len(ex)} crystals")
m_raw = evaluate(raw_all, ex.targets, "dielectric", ex.constraints, ex.crystal_systems)["overall"]
print(f"zero-element success without projector {m_raw['zero_success']:.1%}, equality success {m_raw['equality_success']:.1%}")

# %% [markdown]
# On the test structures the change in Fnorm is tiny: an equivariant network on a symmetric
# graph already lands almost in the allowed subspace. The few crystals whose error grows by
# a hair do so because the DFT labels themselves obey the symmetry only to within the 1 % flag
# threshold ($P\varepsilon \approx \varepsilon$, not $=$); measured against the symmetrised
# labels the inequality holds for every crystal. What fails without the projector are the
# strict checks, for crystals whose cells are symmetric only to within the tolerance.
#
# ### (c) Fewer numbers to learn
#
# During training, too, the loss is computed on $Pt$: the network is never penalised for the
# forbidden directions and only has to get the allowed ones right. For ε these are 1 (cubic) to
# 6 (triclinic) numbers instead of 6:

# %%
n_ind = pd.Series([c.n_independent for c in ex.constraints], index=ex.crystal_systems)
n_ind.groupby(level=0).agg(["count", "mean"]).rename(columns={"mean": "independent components of ε"})

# %% [markdown]
# ### What it does not buy
#
# The projector fixes the *form* of the tensor, not its *values*. The accuracy comes from
# the network and the data: a badly trained model still gives perfectly symmetric, wrong
# tensors (see the piezoelectric model in notebook 03). And the symmetry is that of the
# structure *as detected at the tolerance*: a wrong tolerance or a wrong structure gives the
# wrong form, exactly (notebook 03, the strain what-if).
#
# ## Exercises
#
# Each exercise has a cell that calls `check("04.k", answer)`: replace `None` by your answer
# and run it. Worked solutions are in the collapsed cells of the next section.
#
# 1. **Use your model.** Load the model you trained with
#    `Predictor.load(kinds=["dielectric"], model_dirs={"dielectric": out_dir})` and predict ε
#    for the first cubic test crystal (`cubic.structure` above). Pass the predicted $3\times3$
#    tensor to the check: what form must it have?
# 2. **Prove (b) numerically for the elastic kind.** Take a random symmetric elastic tensor
#    $C$ allowed by 6/mmm, add random noise (including forbidden components) 200 times and
#    count the trials in which projecting increases the full-tensor Frobenius error.
# 3. **Fewer numbers to learn.** How many numbers must the network get right for ε of a crystal
#    in each crystal system? Answer as a dict `{"triclinic": ..., ..., "cubic": ...}`.
#
# *Try it (not graded): data matter.* Train the same small model with `max_train=100`,
# `epochs=20`, `time_limit=10` and compare its test Fnorm with the one above.

# %%
check("04.1", None)   # the predicted 3x3 ε

# %%
check("04.2", None)   # a count

# %%
check("04.3", None)   # {"triclinic": ..., "monoclinic": ..., ...}

# %% [markdown]
# ## Solutions
#
# Collapsed and tagged `solution` (remove them for a hand-out with
# `jupyter nbconvert --to notebook --TagRemovePreprocessor.remove_cell_tags='["solution"]' 04_train_a_small_model.ipynb`).

# %% [markdown] jupyter={"source_hidden": true} tags=["solution"]
# **Solution 1.** The crystal is cubic, so the projector makes the prediction a multiple of the identity, whatever the network's values.

# %% jupyter={"source_hidden": true} tags=["solution"]
from gmtnet import Predictor

mine = Predictor.load(kinds=["dielectric"], model_dirs={"dielectric": out_dir}, device="auto")
p = mine.predict(cubic.structure, "dielectric")
print(cubic.formula, p.symmetry.point_group)
print("predicted ε:\n", p.tensor.round(3))
print("DFT ε:\n", np.asarray(cubic.tensor).round(3))
grade = check("04.1", p.tensor)
assert grade
grade

# %% [markdown] jupyter={"source_hidden": true} tags=["solution"]
# **Solution 2.** The projection is orthogonal and the label is a fixed point of it, so the error's component in the forbidden directions is removed and nothing is added. (For C the paper's Fnorm is measured on the $6\times6$ Voigt matrix, a differently weighted norm, in which the inequality need not hold exactly for every crystal; in the full-tensor norm it always does.)

# %% jupyter={"source_hidden": true} tags=["solution"]
from gmtnet.pointgroups import point_group_operations
from gmtnet.symmetry import neumann_constraints
from gmtnet.tensors import symmetrize_indices

rng = np.random.default_rng(0)
c_hex = neumann_constraints(point_group_operations("6/mmm"), "elastic")
C_true = c_hex.project(symmetrize_indices(rng.normal(scale=50, size=(3, 3, 3, 3)), "elastic"))
worse = 0
for _ in range(200):
    noisy = C_true + symmetrize_indices(rng.normal(scale=10, size=(3, 3, 3, 3)), "elastic")
    worse += int(np.linalg.norm(c_hex.project(noisy) - C_true) > np.linalg.norm(noisy - C_true) + 1e-9)
print("projection made the error larger in", worse, "of 200 trials")
grade = check("04.2", worse)
assert grade
grade

# %% [markdown] jupyter={"source_hidden": true} tags=["solution"]
# **Solution 3.** The number of independent components of a symmetric polar rank-2 tensor, from the Nye table of notebook 01 (it depends only on the crystal system).

# %% jupyter={"source_hidden": true} tags=["solution"]
from gmtnet.teaching import nye_table

answer = nye_table().groupby("system", sort=False)["ε, α (polar rank 2)"].first().to_dict()
print(answer)
grade = check("04.3", answer)
assert grade
grade

# %%
workdir.cleanup()   # remove the temporary model directory
