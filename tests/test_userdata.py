"""Training on a user's own tensor file (gmtnet.userdata, `python -m gmtnet train --data FILE`)."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from ase import Atoms
from ase.io import write

from gmtnet import Predictor
from gmtnet.cli import main
from gmtnet.data import load_dataset
from gmtnet.tensors import VOIGT_PAIRS, ieee_rotation, rotate
from gmtnet.userdata import read_tensor_file

SMALL = {"hidden_scalars": 16, "equivariant_scalars": 8, "hidden_mul": 4, "num_invariant_layers": 1,
         "num_equivariant_layers": 2, "radial_hidden": 16}
KIND = "dielectric_electronic"


@pytest.fixture(scope="module")
def crystals():
    """Twelve small crystals with their ε∞ (structure frame) from the bundled set."""
    df = load_dataset(KIND, include_flagged=False)
    df = df[df["nsites"] <= 6].head(12)
    # Symmetrised: a 6-component Voigt vector cannot carry the DFT's 1e-5 asymmetry.
    return list(df["material_id"]), list(df["structure"]), [0.5 * (t + t.T) for t in df["tensor_electronic"]]


def _atoms(structure, **info):
    atoms = Atoms([s.specie.symbol for s in structure], positions=structure.cart_coords,
                  cell=structure.lattice.matrix, pbc=True)
    atoms.info.update(info)
    return atoms


def _write_xyz(path, crystals, voigt=False, **meta):
    _, structures, tensors = crystals
    frames = []
    for s, t in zip(structures, tensors):
        value = np.array([t[i, j] for i, j in VOIGT_PAIRS["vasp"]]) if voigt else t.reshape(-1)
        frames.append(_atoms(s, eps=value, **meta))
    write(path, frames, format="extxyz")


def test_extxyz_voigt_vasp_order_is_read_back_in_the_structure_frame(tmp_path, crystals):
    path = tmp_path / "eps.xyz"
    _write_xyz(path, crystals, voigt=True, frame="structure", unit="1", voigt_order="vasp")  # ASE drops an empty string
    df = read_tensor_file(path, KIND, tensor_key="eps")
    assert len(df) == 12 and set(df["split"]) == {"train", "val"} and (df["split"] == "val").sum() == 1
    for t, ref in zip(df["tensor_electronic"], crystals[2]):
        # The structure was written in Cartesian coordinates, so the frame is unchanged.
        np.testing.assert_allclose(t, ref, atol=1e-10)


def test_missing_frame_unit_or_order_is_refused_with_a_clear_error(tmp_path, crystals):
    path = tmp_path / "eps.xyz"
    _write_xyz(path, crystals, voigt=True)
    with pytest.raises(ValueError, match="frame is not stated"):
        read_tensor_file(path, KIND, tensor_key="eps")
    with pytest.raises(ValueError, match="unit is not stated"):
        read_tensor_file(path, KIND, frame="structure", tensor_key="eps")
    with pytest.raises(ValueError, match="needs its order stated"):
        read_tensor_file(path, KIND, frame="structure", unit="", tensor_key="eps")
    with pytest.raises(ValueError, match="unit must be one of"):
        read_tensor_file(path, KIND, frame="structure", unit="GPa", voigt_order="vasp", tensor_key="eps")
    with pytest.raises(ValueError, match="no 'tensor' key"):
        read_tensor_file(path, KIND, frame="structure", unit="")
    (tmp_path / "x.csv").write_text("a,b\n")
    with pytest.raises(ValueError, match="unknown data file type '.csv'"):
        read_tensor_file(tmp_path / "x.csv", KIND)


def test_jsonl_and_parquet_with_ieee_frame_metadata(tmp_path, crystals):
    ids, structures, tensors = crystals
    # IEEE-frame labels: the reader must rotate them back onto the structure frame.
    ieee = [rotate(t, ieee_rotation(s)) for s, t in zip(structures, tensors)]
    lines = [json.dumps({"id": i, "structure": s.as_dict(), "tensor": t.tolist(), "frame": "ieee", "unit": "1",
                         "split": "val" if n < 3 else "train"})
             for n, (i, s, t) in enumerate(zip(ids, structures, ieee))]
    (tmp_path / "eps.jsonl").write_text("\n".join(lines) + "\n")
    df = read_tensor_file(tmp_path / "eps.jsonl", KIND)
    assert list(df["material_id"]) == ids and (df["split"] == "val").sum() == 3
    for t, ref in zip(df["tensor_electronic"], tensors):
        np.testing.assert_allclose(t, ref, atol=1e-8)

    table = pa.table({"structure": [s.to(fmt="cif") for s in structures], "eps": [t.reshape(-1).tolist() for t in tensors]})
    table = table.replace_schema_metadata({"gmtnet.frame": "structure", "gmtnet.unit": ""})
    pq.write_table(table, tmp_path / "eps.parquet")
    df = read_tensor_file(tmp_path / "eps.parquet", KIND, tensor_key="eps")
    for t, s, ref in zip(df["tensor_electronic"], df["structure"], tensors):
        # CIF rewrites the cell in a standard orientation: compare frame-invariant eigenvalues.
        np.testing.assert_allclose(np.linalg.eigvalsh(t), np.linalg.eigvalsh(ref), atol=1e-6)


def test_cli_trains_on_a_user_file_and_predictor_loads_the_run(tmp_path, crystals, capsys):
    torch.set_num_threads(1)
    path = tmp_path / "eps.xyz"
    _write_xyz(path, crystals, voigt=True)
    out = tmp_path / "run"
    options = [f"--option={k}={v}" for k, v in SMALL.items()]
    argv = ["train", "--kind", KIND, "--data", str(path), "--tensor-key", "eps", "--frame", "structure",
            "--unit", "", "--voigt-order", "vasp", "--epochs", "2", "--batch-size", "4", "--device", "cpu",
            "--out", str(out), "--quiet", *options]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["train_crystals"] == 11 and summary["val_crystals"] == 1 and summary["epochs_run"] == 2
    assert summary["data"] == str(path)
    predictor = Predictor.load(out)
    assert predictor.kinds == [KIND]
    p = predictor.predict(crystals[1][0], KIND)
    assert p.tensor.shape == (3, 3) and np.isfinite(p.tensor).all()
    assert np.linalg.eigvalsh(p.tensor).min() >= 1.0 - 1e-9  # admissible like every prediction
    # Without the frame the CLI refuses with a message, not a traceback.
    with pytest.raises(SystemExit, match="frame is not stated"):
        main([a for a in argv if a not in ("--frame", "structure")])
