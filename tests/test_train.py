"""The training harness end to end on a tiny subset (seconds, CPU)."""

import json

import numpy as np
import pytest
import torch

from gmtnet.cli import main
from gmtnet.train import TrainConfig, evaluate_model, prepare_examples, train
from gmtnet.weights import load_model

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
