"""The training harness end to end on a tiny subset (seconds, CPU)."""

import json

import numpy as np
import pytest
import torch

from gmtnet.cli import main
from gmtnet.train import TrainConfig, evaluate_model, prepare_examples, train
from gmtnet.models.network import load_model

SMALL = {"hidden_scalars": 16, "equivariant_scalars": 8, "hidden_mul": 4, "num_invariant_layers": 1,
         "num_equivariant_layers": 2, "radial_hidden": 16}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("run")
    cfg = TrainConfig(kind="piezoelectric", epochs=2, max_train=24, batch_size=8, device="cpu", model_options=SMALL)
    summary = train(cfg, out, progress=False, command="pytest")
    return cfg, out, summary


def test_training_writes_weights_config_log_and_summary(trained):
    _, out, summary = trained
    for name in ("model.safetensors", "config.json", "log.csv", "summary.json", "checkpoint.pt"):
        assert (out / name).is_file()
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["kind"] == "piezoelectric" and config["command"] == "pytest"
    assert config["model"]["target_scale"] > 0
    assert summary["train_crystals"] == 24 and summary["epochs_run"] == 2
    assert len((out / "log.csv").read_text().strip().splitlines()) == 3  # header + 2 epochs


def test_training_resumes_where_it_stopped(trained):
    cfg, out, _ = trained
    cfg.epochs = 3
    summary = train(cfg, out, resume=True, progress=False)
    assert summary["epochs_run"] == 3
    assert len((out / "log.csv").read_text().strip().splitlines()) == 4


def test_saved_model_evaluates_with_exact_symmetry(trained):
    _, out, _ = trained
    model = load_model(out, "cpu")
    assert model.config.kind == "piezoelectric"
    metrics = evaluate_model(out, split="val", device="cpu", progress=False)
    assert metrics["overall"]["n"] > 50
    assert metrics["overall"]["zero_success"] == 1.0 and metrics["overall"]["equality_success"] == 1.0
    assert set(metrics["per_crystal_system"]) >= {"cubic", "hexagonal"}


def test_random_frame_examples_rotate_labels_with_structures():
    plain = prepare_examples("dielectric", "val", 16, limit=5, progress=False)
    turned = prepare_examples("dielectric", "val", 16, limit=5, progress=False, random_frame_seed=3)
    assert plain.material_ids == turned.material_ids
    # Same crystals, new frames: the label's invariants (trace, norm) are kept, the matrices are not.
    for a, b in zip(plain.targets, turned.targets):
        np.testing.assert_allclose([np.trace(a), np.linalg.norm(a)], [np.trace(b), np.linalg.norm(b)], rtol=1e-12)
    assert not np.allclose(plain.targets, turned.targets)


def test_cli_evaluate_shipped_model(tmp_path, capsys):
    out = tmp_path / "m.json"
    assert main(["evaluate", "--kind", "dielectric_electronic", "--device", "cpu", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "overall" in text and "ewt25" in text and "dielectric_electronic" in text
    metrics = json.loads(out.read_text())
    assert metrics["overall"]["zero_success"] == 1.0 and metrics["overall"]["equality_success"] == 1.0


def test_bad_training_config():
    with pytest.raises(ValueError, match="unknown model"):
        TrainConfig(kind="elastic", model="resnet")
    with pytest.raises(ValueError, match="unknown tensor kind"):
        TrainConfig(kind="thermal")


def test_loss_takes_the_closest_candidate_and_ignores_padding():
    from gmtnet.train import candidate_loss

    e = torch.randn(2, 3, 3, 3)
    cands = torch.stack([torch.stack([e[0], -e[0]]), torch.stack([e[1], -e[1]])])
    mask = torch.tensor([[True, True], [True, False]])
    pred = torch.stack([-e[0], -e[1]])
    # Row 0: -e is a candidate (no error); row 1: its second slot is padding, so the error is 2|e|.
    expected = (2 * e[1].norm()) / 2
    assert candidate_loss(pred, cands, mask, 1.0).item() == pytest.approx(expected.item(), rel=1e-5)
    assert candidate_loss(pred, cands, torch.ones(2, 2, dtype=torch.bool), 1.0).item() == pytest.approx(0.0, abs=1e-5)


def test_cross_validation_fold_trains_outside_the_fold_and_evaluates_on_it(tmp_path):
    torch.set_num_threads(1)
    cfg = TrainConfig(kind="piezoelectric", epochs=1, max_train=16, batch_size=8, device="cpu", model_options=SMALL, cv_fold=2)
    summary = train(cfg, tmp_path, progress=False)
    assert summary["cv_fold"] == 2 and summary["val_crystals"] == 0 and summary["best_epoch"] == 0
    metrics = evaluate_model(tmp_path, device="cpu", progress=False, fold=2, predictions_path=tmp_path / "p.npz")
    assert metrics["split"] == "fold 2"
    with np.load(tmp_path / "p.npz") as z:
        ids, cands, mask = z["material_ids"], z["candidates"], z["candidate_mask"]
    from gmtnet.data import load_dataset

    frame = load_dataset("piezoelectric", include_flagged=False).set_index("material_id")
    assert set(frame.loc[ids, "fold"]) == {2}
    assert len(ids) == metrics["overall"]["n"] == (frame["fold"] == 2).sum()
    assert metrics["overall"]["n_ambiguous"] == int((mask.sum(axis=1) > 1).sum()) > 0
    assert metrics["unique_rows"]["n"] + metrics["overall"]["n_ambiguous"] == len(ids)
    assert cands.shape[:2] == mask.shape
    with pytest.raises(ValueError, match="cv_fold"):
        TrainConfig(kind="elastic", cv_fold=5)


def test_fine_tuning_a_member_starts_from_the_weights_and_leaves_out_its_fold(trained, tmp_path):
    _, base, _ = trained
    start = load_model(base, "cpu")
    cfg = TrainConfig(kind="piezoelectric", epochs=1, max_train=16, batch_size=8, device="cpu", lr=1e-4,
                      init_from=str(base), exclude_fold=2, seed=2)
    summary = train(cfg, tmp_path, progress=False)
    tuned = load_model(tmp_path, "cpu")
    assert tuned.config.to_dict() == start.config.to_dict()  # same architecture and target scale
    assert summary["exclude_fold"] == 2 and summary["train_crystals"] == 16
    moved = [not torch.equal(a, b) for a, b in zip(start.state_dict().values(), tuned.state_dict().values())]
    assert any(moved)
    kept = prepare_examples("piezoelectric", "train", 16, progress=False, folds=(0, 1, 3, 4), split_and_folds=True)
    fold2 = set(prepare_examples("piezoelectric", "train", 16, progress=False, folds=(2,), split_and_folds=True).material_ids)
    assert kept.material_ids and not fold2 & set(kept.material_ids)
    with pytest.raises(ValueError, match="drop model_options"):
        TrainConfig(kind="piezoelectric", init_from=str(base), model_options=SMALL)
    with pytest.raises(ValueError, match="exclude_fold"):
        TrainConfig(kind="piezoelectric", exclude_fold=7)


def test_evaluate_averages_an_ensemble_directory(trained, tmp_path):
    from gmtnet.models.ensemble import save_ensemble

    _, base, _ = trained
    ens = save_ensemble([base, base], tmp_path / "ens", {"std_scale": 1.0})
    single = evaluate_model(base, split="val", device="cpu", progress=False)
    double = evaluate_model(ens, split="val", device="cpu", progress=False)
    assert double["overall"]["fnorm"] == pytest.approx(single["overall"]["fnorm"], rel=1e-9)


def test_grouped_cv_on_the_union_learns_a_dfpt_scale_and_leaves_the_fold_out(tmp_path):
    from gmtnet.train import SOURCES, union_frame

    torch.set_num_threads(1)
    cfg = TrainConfig(kind="dielectric_electronic", epochs=1, max_train=24, batch_size=8, device="cpu",
                      model_options=SMALL, group_cv_fold=1, add_dfpt=True)
    summary = train(cfg, tmp_path, progress=False)
    assert summary["group_cv_fold"] == 1 and summary["val_crystals"] == 0 and summary["add_dfpt"]
    scales = summary["source_scales"]
    assert scales[SOURCES[0]] == 1.0 and scales[SOURCES[1]] != 1.0  # only the DFPT scale is learned
    # The same seeded subset the run trained on: both sources, nothing of the held-out chemistry.
    ex = prepare_examples("dielectric_electronic", "train", 16, limit=24, seed=0, progress=False, folds=(0, 2, 3, 4),
                          frame=union_frame(), fold_column="group_fold")
    frame = union_frame().set_index(["material_id"])
    assert set(ex.sources.tolist()) == {0, 1}
    assert set(frame.loc[ex.material_ids, "group_fold"]) <= {0, 2, 3, 4}
    assert load_model(tmp_path, "cpu").config.kind == "dielectric_electronic"
    with pytest.raises(ValueError, match="add_dfpt"):
        TrainConfig(kind="elastic", add_dfpt=True)
    with pytest.raises(ValueError, match="cannot be combined"):
        TrainConfig(kind="dielectric_electronic", cv_fold=1, group_cv_fold=2)


def test_relative_loss_divides_by_the_label_norm():
    from gmtnet.train import candidate_loss

    pred = torch.zeros(2, 3, 3)
    cands = torch.stack([torch.eye(3) * 2, torch.eye(3) * 20])[:, None]
    mask = torch.ones(2, 1, dtype=torch.bool)
    assert candidate_loss(pred, cands, mask, 1.0, relative=True).item() == pytest.approx(1.0, rel=1e-5)
    assert candidate_loss(pred, cands, mask, 1.0).item() == pytest.approx((2 + 20) * np.sqrt(3) / 2, rel=1e-5)
    with pytest.raises(ValueError, match="unknown loss"):
        TrainConfig(kind="dielectric_electronic", loss="l2")


def test_union_frame_of_eps0_is_the_bundled_rows_only():
    """No DFPT ε₀ exists: the ε₀ grouped-CV runs train and are scored on Materials Project rows only."""
    from gmtnet.data import load_dataset
    from gmtnet.train import union_frame

    frame = union_frame("dielectric")
    assert set(frame.label_source) == {0}
    assert len(frame) == len(load_dataset("dielectric", include_flagged=False))
    assert set(union_frame().label_source) == {0, 1}  # ε∞ keeps both sources
