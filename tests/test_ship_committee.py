"""``scripts/ship_ensembles.py --committee``: a grouped-CV committee is calibrated on predictions
each crystal got from the one member that never saw it."""

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from gmtnet.data import N_FOLDS, load_dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from ship_ensembles import anisotropic, committee_folds, committee_oof  # noqa: E402


def _runs(tmp_path, folds):
    dirs = []
    for i, f in enumerate(folds):
        d = tmp_path / f"run-{i}"
        d.mkdir()
        (d / "config.json").write_text(json.dumps({"train": {"group_cv_fold": f}}))
        dirs.append(d)
    return dirs


def test_committee_folds_reads_each_members_held_out_fold(tmp_path):
    assert committee_folds(_runs(tmp_path, [3, 0, 4, 1, 2])) == [3, 0, 4, 1, 2]


@pytest.mark.parametrize("folds", [[0, 1, 2, 3], [0, 1, 2, 3, 3], [0, 1, 2, 3, 5]])
def test_committee_needs_one_member_per_fold(tmp_path, folds):
    with pytest.raises(ValueError, match=f"one member per grouped fold 0..{N_FOLDS - 1}, got folds"):
        committee_folds(_runs(tmp_path, folds))


def test_a_run_without_grouped_fold_is_refused_by_name(tmp_path):
    dirs = _runs(tmp_path, [0, 1, 2, 3, 4])
    (dirs[2] / "config.json").write_text(json.dumps({"train": {"exclude_fold": 2}}))
    with pytest.raises(ValueError, match="run-2: not a grouped cross-validation run"):
        committee_folds(dirs)


class _MembersPredictor:
    """Predictor stand-in: member m predicts the row's label plus m (so the member used is visible)."""

    def __init__(self, labels: dict, n_members: int):
        self.labels, self.n = labels, n_members
        self.models = {"dielectric_electronic": SimpleNamespace(std_scale=2.0)}

    def predict_many(self, structures, kind):
        out = []
        for s in structures:
            members = np.stack([self.labels[id(s)] + m for m in range(self.n)])
            out.append(SimpleNamespace(tensor=members.mean(0), members=members, std=members.std(0, ddof=1) * 2.0))
        return out


def test_out_of_fold_rows_take_the_member_that_held_their_fold_out():
    df = load_dataset("dielectric_electronic", include_flagged=False)
    df = df.groupby("split").head(12)  # a few rows of every split, the test rows among them
    labels = {id(s): np.asarray(t, dtype=float) for s, t in zip(df.structure, df.tensor_electronic, strict=True)}
    folds = [2, 0, 4, 1, 3]  # member i held out grouped fold folds[i]
    out = committee_oof(_MembersPredictor(labels, len(folds)), "dielectric_electronic", df, folds)
    rows = df[df.split != "test"]
    assert len(out["mean"]) == len(rows)  # the test rows are never used
    member = np.array([folds.index(f) for f in rows.group_fold])
    shift = (out["mean"] - out["true"])[:, 0, 0]
    assert np.allclose(shift, member)
    # raw (uncalibrated) spread: the Prediction's σ divided by the ensemble's scale
    assert np.allclose(out["std"], np.std(np.arange(len(folds)), ddof=1))


def test_anisotropic_is_the_eigenvalue_ratio_above_two():
    t = np.stack([np.diag([1.0, 1.0, 1.9]), np.diag([1.0, 2.5, 2.5]), np.diag([3.0, 3.0, 3.0])])
    assert anisotropic(t, "dielectric_electronic").tolist() == [False, True, False]


def _gcv_doc(tmp_path):
    g = {"n": 10, "ewt25": 0.5, "ewt25_ci95": [0.2, 0.8], "fnorm": 3.0}
    doc = {
        "offset_pbesol_over_pbe": 1.03,
        "variants": {  # the ε∞ entries predate the "kind" field, as in the committed grouped-cv.json
            "union": {"fold_mean_ewt25": [0.8, 0.7, 0.9], "mp": {"all": g, "anisotropic": g}, "dfpt": {"all": g, "anisotropic": g}},
            "eps0-mp": {"kind": "dielectric", "epochs": 40, "fold_mean_ewt25": [0.6, 0.5, 0.7],
                        "mp": {"all": g, "anisotropic": g, "high_eps": {**g, "n": 3}}},
        },
        "test_split": {"shipped": {**g, "members": 5}, "eps0-shipped": {**g, "members": 5, "kind": "dielectric"},
                       "eps0-mp": {**g, "members": 5, "kind": "dielectric"}},
    }
    path = tmp_path / "grouped-cv.json"
    path.write_text(json.dumps(doc))
    return path


def test_the_card_quotes_only_its_own_kinds_grouped_cv(tmp_path):
    from ship_ensembles import grouped_cv_summary, grouped_cv_table

    path = _gcv_doc(tmp_path)
    eps_inf, eps0 = grouped_cv_summary("dielectric_electronic", path), grouped_cv_summary("dielectric", path)
    assert list(eps_inf["variants"]) == ["union"] and list(eps_inf["test_split"]) == ["shipped"]
    assert list(eps0["variants"]) == ["eps0-mp"] and list(eps0["test_split"]) == ["eps0-shipped", "eps0-mp"]
    assert grouped_cv_summary("elastic", path) is None
    table = grouped_cv_table(eps0)
    assert "DFPT" not in table and "high ε" in table and "40 epochs" in table
    assert "| eps0-mp | 60.0 % [50.0 %, 70.0 %] |" in table
    assert "DFPT (PBE level)" in grouped_cv_table(eps_inf)


def test_the_elastic_card_table_shows_vrh_errors_and_the_rule_verdict(tmp_path):
    from ship_ensembles import grouped_cv_summary, grouped_cv_table

    path = _gcv_doc(tmp_path)
    doc = json.loads(path.read_text())
    g = {"n": 188, "ewt25": 0.7, "ewt25_ci95": [0.6, 0.8], "fnorm": 80.0, "k_vrh_mae": 15.0, "k_vrh_mae_ci95": [12.0, 18.0],
         "g_vrh_mae": 16.0, "g_vrh_mae_ci95": [13.0, 19.0]}
    doc["variants"]["elastic-mp"] = {"kind": "elastic", "epochs": 20, "fold_mean_ewt25": [0.6, 0.5, 0.7],
                                     "fold_mean_k_vrh_mae": [15.0, 13.0, 17.0], "mp": {"all": g}}
    verdict = {"rule": {}, "checks": {"ewt25": True, "fnorm": False, "k_vrh_mae": True, "g_vrh_mae": True}, "ship": False}
    doc["test_split"] |= {"elastic-finetuned": {**g, "members": 5, "kind": "elastic"},
                          "elastic-mp": {**g, "members": 5, "kind": "elastic", "verdict": verdict}}
    path.write_text(json.dumps(doc))
    el = grouped_cv_summary("elastic", path)
    assert list(el["variants"]) == ["elastic-mp"] and list(el["test_split"]) == ["elastic-finetuned", "elastic-mp"]
    table = grouped_cv_table(el)
    assert "| elastic-mp | 20 | 60.0 % [50.0 %, 70.0 %] | 70.0 % [60.0 %, 80.0 %] (n = 188) | 80.0 | 15.0 [12.0, 18.0] | 15.0 [13.0, 17.0] |" in table
    assert "fnorm fails" in table and "keep the fine-tuned ensemble" in table
    assert "K_VRH" not in grouped_cv_table(grouped_cv_summary("dielectric", path))


def test_the_eps_inf_card_marks_the_shipped_recipe_and_quotes_the_paired_verdict(tmp_path):
    from ship_ensembles import committee_variant, grouped_cv_summary, grouped_cv_table

    path = _gcv_doc(tmp_path)
    doc = json.loads(path.read_text())
    g = {"n": 10, "ewt25": 0.6, "ewt25_ci95": [0.3, 0.9], "fnorm": 2.5}
    doc["variants"]["union-relative"] = {"kind": "dielectric_electronic", "mp": {"all": g, "anisotropic": g},
                                         "dfpt": {"all": g, "anisotropic": g}}

    def diff(d, lo, hi, n):
        return {"n": n, "candidate": 0.6, "reference": 0.6 - d, "difference": d, "difference_ci95": [lo, hi]}

    doc["paired"] = {"union-relative vs union": {
        "reference": "union",
        "mp": {"all": diff(0.036, 0.016, 0.058, 895), "anisotropic": diff(-0.02, -0.10, 0.06, 62)},
        "dfpt": {"all": diff(0.018, 0.001, 0.035, 1358), "anisotropic": diff(-0.118, -0.206, -0.029, 68)},
        "verdict": {"checks": {"pooled_mp_higher": True, "anisotropic_not_worse_beyond_interval": True},
                    "anisotropic_allowed_drop": 0.08, "ship": True}}}
    doc["shipped_recipe"] = "i.e. the union-relative committee itself"
    path.write_text(json.dumps(doc))
    eps_inf = grouped_cv_summary("dielectric_electronic", path)
    assert "paired" in eps_inf and "paired" not in grouped_cv_summary("dielectric", path)  # ε∞ recipes only
    meta = {"command": "python scripts/ship_ensembles.py --committee --members runs/grouped_cv/union-relative/fold-0"}
    assert committee_variant(meta) == "union-relative" and committee_variant({"command": "--members m-0"}) is None
    table = grouped_cv_table(eps_inf, committee_variant(meta))
    assert "| + DFPT rows, learned per-source scale, relative loss (shipped) |" in table
    assert "| after: + DFPT rows, learned per-source scale |" in table  # union: no longer marked
    assert "MP +3.6 [+1.6, +5.8] (n = 895)" in table and "DFPT anisotropic -11.8 [-20.6, -2.9] (n = 68)" in table
    assert "beyond 8.0 points" in table and "`union-relative` ships." in table
    assert '"shipped" = the ε∞ ensemble shipped when the report ran, i.e. the union-relative committee itself' in table
    # a card written before more than one union recipe existed keeps its marking
    assert "learned per-source scale (shipped)" in grouped_cv_table(grouped_cv_summary("dielectric_electronic", _gcv_doc(tmp_path)))
