"""`gmtnet screen`: chunking, error rows, resume, derived scalars, and real Dask on loopback.

The Dask tests start one LocalCluster of 2 single-threaded worker processes on 127.0.0.1 (no
dashboard) for the module and screen 240 bundled crystals.
"""

from __future__ import annotations

import json
import os
import signal
import threading

import numpy as np
import pandas as pd
import psutil
import pytest
from distributed import Client
from pymatgen.core import Lattice, Structure

from gmtnet.cli import main
from gmtnet.data import load_dataset
from gmtnet.predict import Prediction, Predictor
from gmtnet.properties import elastic_moduli, max_longitudinal_piezo
from gmtnet.scalars import max_longitudinal, scalar_columns, vrh_moduli
from gmtnet.screen import OUTPUT_COLUMNS, local_cluster, plan_chunks, read_screen, run_screen
from helpers import perovskite_srtio3, rocksalt_nacl, wurtzite_zno

N_DASK = 240
KINDS = ["dielectric", "elastic"]


@pytest.fixture(scope="module")
def crystals() -> pd.DataFrame:
    """240 bundled dielectric crystals (id + structure), in a fixed order."""
    df = load_dataset("dielectric").sort_values("material_id").head(N_DASK)
    return df[["material_id", "structure"]].reset_index(drop=True)


@pytest.fixture(scope="module")
def jsonl(crystals, tmp_path_factory):
    path = tmp_path_factory.mktemp("in") / "crystals.jsonl"
    with path.open("w") as fh:
        for mid, s in zip(crystals["material_id"], crystals["structure"]):
            fh.write(json.dumps({"id": mid, "structure": s.as_dict()}) + "\n")
    return path


@pytest.fixture(scope="module")
def cluster():
    with local_cluster(2) as c:
        yield c


@pytest.fixture(scope="module")
def predictor():
    return Predictor.load(kinds=KINDS)


def _bad_folder(root):
    """Three good structures and five malformed / unusable files (and a non-structure file)."""
    perovskite_srtio3().to(filename=str(root / "srtio3.cif"))
    (root / "nested").mkdir()
    wurtzite_zno().to(filename=str(root / "nested" / "POSCAR"))
    (root / "nacl.json").write_text(json.dumps(rocksalt_nacl().as_dict()))
    (root / "truncated.cif").write_text("data_x\n_cell_length_a 3.9\n_cell_length_b\n")
    (root / "empty.vasp").write_text("")
    (root / "garbage.json").write_text("{not json")
    (root / "molecule.xyz").write_text("1\nno lattice here\nH 0 0 0\n")
    disordered = Structure(Lattice.cubic(4.0), [{"Fe": 0.5, "Co": 0.5}], [[0, 0, 0]])
    (root / "disordered.json").write_text(json.dumps(disordered.as_dict()))
    (root / "README.txt").write_text("not a structure: ignored")


# --------------------------------------------------------------------------- derived scalars


def test_fast_scalars_match_properties_module():
    elastic = load_dataset("elastic").head(40)
    for t in elastic["tensor"]:
        c = np.asarray(t, dtype=float).reshape(3, 3, 3, 3)
        ref, fast = elastic_moduli(c), vrh_moduli(c)
        for key, value in ref.items():
            np.testing.assert_allclose(fast[key], value, rtol=1e-9, atol=1e-9, err_msg=key)
    piezo = load_dataset("piezoelectric").head(40)
    for t in piezo["tensor"]:
        e = np.asarray(t, dtype=float).reshape(3, 3, 3)
        assert max_longitudinal(e) == pytest.approx(max_longitudinal_piezo(e).value, rel=1e-6, abs=1e-9)


def test_scalar_columns_cubic_and_unstable():
    # Cubic C11=300, C12=100, C44=80 GPa: K = (C11 + 2 C12)/3, Born stable.
    v = np.zeros((6, 6))
    v[:3, :3] = 100.0
    np.fill_diagonal(v[:3, :3], 300.0)
    v[3:, 3:] = 80.0 * np.eye(3)
    from gmtnet.tensors import from_voigt

    cols = scalar_columns("elastic", from_voigt(v, "elastic", "ieee"))
    assert cols["k_vrh"] == pytest.approx(500.0 / 3.0)
    assert cols["born_stable"] is True
    v[3, 3] = -5.0
    cols = scalar_columns("elastic", from_voigt(v, "elastic", "ieee"))
    assert cols["born_stable"] is False and np.isnan(cols["k_vrh"])
    eps = np.diag([2.0, 3.0, 7.0])
    cols = scalar_columns("dielectric_electronic", eps)
    assert (cols["eps_min"], cols["eps_max"], cols["eps_mean"]) == pytest.approx((2.0, 7.0, 4.0))
    assert cols["refractive_index"] == pytest.approx(2.0)
    assert cols["birefringence"] == pytest.approx(np.sqrt(7.0) - np.sqrt(2.0))


# --------------------------------------------------------------------------- in-process


def test_malformed_files_become_error_rows_and_resume_adds_nothing(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    _bad_folder(src)
    out = tmp_path / "out"
    s = run_screen(src, out, kinds=KINDS, workers=0, chunk_size=3, progress=False)
    assert (s.structures, s.chunks, s.rows, s.error_rows) == (8, 3, 16, 10)
    df = read_screen(out)
    assert list(df.columns[: len(OUTPUT_COLUMNS)]) == list(OUTPUT_COLUMNS)
    errors = df[df["error"].notna()].groupby("id")["error"].first()
    assert sorted(errors.index) == ["disordered.json", "empty.vasp", "garbage.json", "molecule.xyz", "truncated.cif"]
    assert "disordered" in errors["disordered.json"] and "empty" in errors["empty.vasp"]
    assert "Lattice" in errors["molecule.xyz"]
    good = df[df["error"].isna()]
    assert sorted(good["id"].unique()) == ["nacl.json", "nested/POSCAR", "srtio3.cif"]
    zno = good[(good["id"] == "nested/POSCAR") & (good["kind"] == "elastic")].iloc[0]
    assert zno["point_group"] == "6mm" and zno["born_stable"] and zno["k_vrh"] > 0
    assert len(zno["tensor"]) == 81 and len(zno["voigt_ieee"]) == 36
    # Resume: a second identical run finds every chunk done and writes nothing new.
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("part-*.parquet")}
    again = run_screen(src, out, kinds=KINDS, workers=0, chunk_size=3, progress=False)
    assert again.chunks_done_before == 3 and again.rows == 16
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("part-*.parquet")} == before
    # A different screen into the same folder is refused, not mixed in.
    with pytest.raises(ValueError, match="another screen"):
        run_screen(src, out, kinds=["dielectric"], workers=0, chunk_size=3, progress=False)


def test_resume_after_interruption_recomputes_only_missing_chunks(tmp_path, jsonl):
    out = tmp_path / "out"
    first = run_screen(jsonl, out, kinds=["dielectric"], workers=0, chunk_size=100, progress=False)
    assert first.chunks == 3
    (out / "part-000001.parquet").unlink()  # as if the run had stopped before chunk 1 finished
    seen = []
    again = run_screen(jsonl, out, kinds=["dielectric"], workers=0, chunk_size=100, progress=False,
                       on_chunk=seen.append)
    assert [c["index"] for c in seen] == [1] and again.chunks_done_before == 2
    df = read_screen(out, with_tensors=False)
    assert len(df) == N_DASK and df["id"].is_unique


def test_inputs_parquet_jsonl_and_ase_db(tmp_path, crystals):
    from ase.db import connect
    from pymatgen.io.ase import AseAtomsAdaptor

    sub = crystals.head(5)
    pq_path = tmp_path / "s.parquet"
    pd.DataFrame({"material_id": sub["material_id"], "structure": [s.to_json() for s in sub["structure"]]}).to_parquet(pq_path)
    db_path = tmp_path / "s.db"
    with connect(str(db_path)) as db:
        for mid, s in zip(sub["material_id"], sub["structure"]):
            db.write(AseAtomsAdaptor.get_atoms(s), material_id=mid)
    jl = tmp_path / "s.jsonl"
    jl.write_text("".join(json.dumps(s.as_dict()) + "\n" for s in sub["structure"]) + '{"lattice": 1}\n')
    results = {}
    for name, path in (("parquet", pq_path), ("ase", db_path), ("jsonl", jl)):
        assert plan_chunks(path, 2)[0].source == name
        run_screen(path, tmp_path / f"out-{name}", kinds=["dielectric"], workers=0, chunk_size=2, progress=False)
        results[name] = read_screen(tmp_path / f"out-{name}")
    assert list(results["parquet"]["id"]) == list(sub["material_id"]) == list(results["ase"]["id"])
    assert results["jsonl"]["error"].notna().tolist() == [False] * 5 + [True]
    for name in ("ase", "jsonl"):
        for a, b in zip(results["parquet"]["tensor"], results[name]["tensor"].head(5)):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="structure"):
        plan_chunks(_write_parquet_without_structures(tmp_path), 2)


def _write_parquet_without_structures(tmp_path):
    path = tmp_path / "nostruct.parquet"
    pd.DataFrame({"x": [1, 2]}).to_parquet(path)
    return path


def test_cli_screen(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    _bad_folder(src)
    assert main(["screen", str(src), "--out", str(tmp_path / "o"), "--kinds", "dielectric", "--workers", "0", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["structures"] == 8 and summary["error_rows"] == 5
    assert main(["screen", str(tmp_path / "missing"), "--out", str(tmp_path / "o2"), "--quiet"]) == 2
    assert "no such file or folder" in capsys.readouterr().out


# --------------------------------------------------------------------------- real Dask


def _expected(predictor, crystals, kind):
    return predictor.predict_many(list(crystals["structure"]), kind)


def test_dask_two_workers_identical_to_sequential_predict_many(cluster, crystals, jsonl, predictor, tmp_path):
    # Loopback only, no dashboard; workers import this checkout's package (not another copy).
    with Client(cluster) as client:
        info = client.scheduler_info()
        files = set(client.run(lambda: __import__("gmtnet").__file__).values())
    addresses = [info["address"], *info["workers"], *(w["nanny"] for w in info["workers"].values())]
    assert len(info["workers"]) == 2 and all(a.startswith("tcp://127.0.0.1:") for a in addresses), addresses
    me = psutil.Process(os.getpid())
    listening = [c.laddr.ip for p in (me, *me.children(recursive=True)) for c in p.net_connections() if c.status == "LISTEN"]
    assert listening and set(listening) == {"127.0.0.1"}, listening
    assert files == {__import__("gmtnet").__file__}
    out = tmp_path / "out"
    # chunk_size = predict_many's batch size: the same crystals share a forward pass on both sides.
    s = run_screen(jsonl, out, kinds=KINDS, scheduler=cluster.scheduler_address, chunk_size=64, progress=False)
    assert (s.structures, s.rows, s.error_rows) == (N_DASK, N_DASK * len(KINDS), 0)
    df = read_screen(out)
    for kind in KINDS:
        rows = df[df["kind"] == kind].set_index("id").loc[list(crystals["material_id"])]
        expected = _expected(predictor, crystals, kind)
        assert all(isinstance(r, Prediction) for r in expected)
        got = np.stack([np.asarray(t) for t in rows["tensor"]])
        want = np.stack([r.tensor.ravel() for r in expected])
        np.testing.assert_array_equal(got, want)
        assert list(rows["point_group"]) == [r.symmetry.point_group for r in expected]


def test_dask_worker_killed_mid_run_every_row_once(cluster, jsonl, tmp_path):
    with Client(cluster) as client:
        pids = client.run(os.getpid)
    victim = sorted(pids.values())[0]
    killed = threading.Event()

    def kill_after_first(info):
        if not killed.is_set():
            killed.set()
            os.kill(victim, signal.SIGKILL)  # the worker process itself, mid-run

    out = tmp_path / "out"
    s = run_screen(jsonl, out, kinds=["dielectric"], scheduler=cluster.scheduler_address, chunk_size=20,
                   progress=False, on_chunk=kill_after_first)
    assert killed.is_set()
    with Client(cluster) as client:
        assert victim not in client.run(os.getpid).values()  # the nanny started a new process
    df = read_screen(out, with_tensors=False)
    assert s.rows == len(df) == N_DASK and s.error_rows == 0
    assert df["id"].is_unique and set(df["id"]) == set(pd.read_json(jsonl, lines=True)["id"])
