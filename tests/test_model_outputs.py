"""Regression: the models compute what they computed when the fixture was written.

Weights are loaded by ``state_dict`` key, so a refactor of :mod:`gmtnet.models` (moving classes
between modules, reordering layer construction) must leave every output unchanged. Two checks:

* every architecture (and the encoder tensor head), with each parameter filled from a seed derived
  from its ``state_dict`` name, on three small crystals: independent of construction order and of
  the shipped weights, so it holds whatever is retrained;
* the first network of each shipped ensemble (``gmtnet/resources/weights/<kind>/member-0``) loaded
  with :func:`gmtnet.models.network.load_model`, on the same crystals; skipped (saying so) for a kind whose
  ``model.safetensors`` is not the one the fixture was written for.

Outputs are compared without the Neumann projector (the raw network output, structure frames,
kind's unit, full rank) to a relative tolerance of 1e-5 of the tensor's largest component: float32
sums may be reordered by another BLAS, anything else is a change of the model. The fixture
(``tests/data/model_outputs.json``) was written by the single-module code, before it became the package
``gmtnet/models/`` and checked bit-identical after. Rewrite it only when a model is meant to change:
``PYTHONPATH=. python tests/test_model_outputs.py`` from the repository root.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import rattled_perovskite, rocksalt_nacl, wurtzite_zno

from gmtnet.graph import build_graph, collate
from gmtnet.kinds import KINDS
from gmtnet.models import ARCHITECTURES, ModelConfig, build_model
from research.head import EncoderTensorHead, HeadConfig, collate_features
from gmtnet.models.network import load_model
from gmtnet.weights import WEIGHTS_FILE, shipped_model_dir

torch.set_num_threads(1)

FIXTURE = Path(__file__).parent / "data" / "model_outputs.json"
# the per-crystal kinds the fixture was written for; per-atom kinds (Born charges) are checked by
# tests/test_born.py and tests/test_per_atom.py
ALL_KINDS = sorted(k for k, kind in KINDS.items() if not kind.per_atom)
STRUCTURES = {"NaCl": rocksalt_nacl, "ZnO": wurtzite_zno, "SrTiO3-rattled": rattled_perovskite}
SMALL = dict(
    hidden_scalars=16,
    num_invariant_layers=1,
    num_equivariant_layers=2,
    equivariant_scalars=8,
    hidden_mul=4,
    radial_hidden=16,
    num_basis=8,
    num_neighbors=12,
)
HEAD_IRREPS = "8x0e+4x0o+4x1o+4x1e+4x2e+4x2o"
RTOL = 1e-5


def _fill_by_name(module: torch.nn.Module) -> torch.nn.Module:
    """Every parameter drawn from N(0, 1/fan_in) with a seed taken from its state_dict name."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            g = torch.Generator().manual_seed(zlib.crc32(name.encode()))
            fan_in = p.shape[-1] if p.dim() > 1 else 10
            p.copy_(torch.randn(p.shape, generator=g) / fan_in**0.5)
    return module.eval()


def _as_list(t: torch.Tensor) -> list:
    # float32 values need 9 significant digits to round-trip.
    return np.vectorize(lambda x: float(f"{x:.9g}"))(t.double().numpy()).tolist()


def _graph_outputs(model) -> dict[str, list]:
    out = {}
    for name, make in STRUCTURES.items():
        graph = build_graph(make(), num_neighbors=model.config.num_neighbors)
        with torch.no_grad():
            out[name] = _as_list(model(collate([graph]))[0])
    return out


def _head_features() -> list[np.ndarray]:
    from e3nn import o3

    rng = np.random.default_rng(0)
    return [rng.normal(size=(n, o3.Irreps(HEAD_IRREPS).dim)).astype(np.float32) for n in (2, 4, 5)]


def architecture_outputs(architecture: str, kind: str) -> dict[str, list]:
    return _graph_outputs(_fill_by_name(build_model(ModelConfig(kind=kind, architecture=architecture, **SMALL))))


def head_outputs(kind: str) -> list:
    head = _fill_by_name(EncoderTensorHead(HeadConfig(kind=kind, irreps_in=HEAD_IRREPS)))
    with torch.no_grad():
        return _as_list(head(collate_features(_head_features())))


def weights_sha256(kind: str) -> str:
    return hashlib.sha256((shipped_model_dir(kind) / "member-0" / WEIGHTS_FILE).read_bytes()).hexdigest()


def shipped_outputs(kind: str) -> dict[str, list]:
    return _graph_outputs(load_model(shipped_model_dir(kind) / "member-0", device="cpu"))


def assert_close(actual, expected) -> None:
    a, e = np.asarray(actual), np.asarray(expected)
    assert a.shape == e.shape
    scale = max(np.abs(e).max(), 1e-12)
    assert np.abs(a - e).max() <= RTOL * scale, f"max deviation {np.abs(a - e).max():.3g} (largest |t| {scale:.3g})"


@pytest.fixture(scope="module")
def expected_outputs() -> dict:
    return json.loads(FIXTURE.read_text())


@pytest.mark.parametrize("kind", ALL_KINDS)
@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_architecture_outputs_unchanged(expected_outputs, architecture, kind):
    expected = expected_outputs["architectures"][architecture][kind]
    actual = architecture_outputs(architecture, kind)
    assert sorted(actual) == sorted(expected)
    for name in expected:
        assert_close(actual[name], expected[name])


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_encoder_head_outputs_unchanged(expected_outputs, kind):
    assert_close(head_outputs(kind), expected_outputs["head"][kind])


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_shipped_weights_outputs_unchanged(expected_outputs, kind):
    expected = expected_outputs["shipped"][kind]
    if weights_sha256(kind) != expected["sha256"]:
        pytest.skip(f"shipped {kind} weights differ from those the fixture was written for (retrained)")
    actual = shipped_outputs(kind)
    for name in STRUCTURES:
        assert_close(actual[name], expected["outputs"][name])


def _write_fixture() -> None:
    data = {
        "architectures": {a: {k: architecture_outputs(a, k) for k in ALL_KINDS} for a in ARCHITECTURES},
        "head": {k: head_outputs(k) for k in ALL_KINDS},
        "shipped": {k: {"sha256": weights_sha256(k), "outputs": shipped_outputs(k)} for k in ALL_KINDS},
    }
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text(json.dumps(data) + "\n")
    print(f"wrote {FIXTURE} ({FIXTURE.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    _write_fixture()
