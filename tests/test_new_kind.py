"""A new tensor kind is one object: registered inside this test, it runs everywhere.

The kind is a symmetric rank-2 tensor with no admissibility bound (a thermal-expansion-like α in
1/K, whose eigenvalues may be negative), built from :class:`gmtnet.kinds.SymmetricMatrixKind` with
nothing but its fields, and a small randomly initialised two-network ensemble saved to a temporary
weights directory. It goes through ``Predictor.predict`` and ``predict_many``, the CLI (``predict``
and ``screen``), the derived scalars, the surfaces and the Properties rows, without any other
module knowing its name. A kind registered without weights is listed in ``Predictor.missing``.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import explore_bundled_zno, register_with_random_weights, rocksalt_nacl, triclinic_cell, wurtzite_zno
from test_model import SMALL

from gmtnet import kinds
from gmtnet.kinds import SymmetricMatrixKind, get_kind, register_kind, unregister_kind

NAME = "thermal_expansion_test"


def _make_kind(weights: Path | None, name: str = NAME) -> SymmetricMatrixKind:
    return SymmetricMatrixKind(
        name=name,
        title="Thermal expansion (test registration)",
        symbol="α",
        rank=2,
        formula="ij=ji",
        unit="1/K",
        weights=None if weights is None else str(weights),
    )


@pytest.fixture(scope="module")
def new_kind(tmp_path_factory):
    torch.set_num_threads(1)
    kind = register_with_random_weights(_make_kind, tmp_path_factory.mktemp("new_kind"), **SMALL)
    yield kind
    unregister_kind(kind)


@pytest.fixture(scope="module")
def predictor(new_kind):
    from gmtnet.predict import Predictor

    return Predictor.load(kinds=[new_kind], device="cpu")


def test_the_kind_derives_its_form_from_the_formula(new_kind):
    from e3nn import o3

    assert o3.Irreps(new_kind.irreps) == o3.Irreps("0e+2e").simplify()
    assert new_kind.voigt_shape == (3, 3) and new_kind.voigt_symmetric
    assert new_kind.floor is None and not new_kind.per_atom
    assert get_kind(NAME) is new_kind and kinds.KINDS[NAME] is new_kind
    t = np.arange(9.0).reshape(3, 3)
    np.testing.assert_array_equal(new_kind.symmetrize(t), 0.5 * (t + t.T))
    with pytest.raises(ValueError, match="registered already"):
        register_kind(_make_kind(None))


def test_predict_and_predict_many(new_kind, predictor):
    s = rocksalt_nacl()
    p = predictor.predict(s, NAME)
    assert p.kind is new_kind and p.tensor.shape == (3, 3) and p.unit == "1/K"
    assert p.members is not None and p.members.shape == (2, 3, 3)
    # cubic: isotropic, exactly; no bound, so nothing was clipped
    np.testing.assert_array_equal(p.tensor, p.tensor[0, 0] * np.eye(3))
    assert p.admissible_shift == 0.0 and p.symmetry.zero_ok and p.symmetry.equality_ok
    many = predictor.predict_many([s, wurtzite_zno(), triclinic_cell()], new_kind)
    assert [r.tensor.shape for r in many] == [(3, 3)] * 3
    np.testing.assert_allclose(many[0].tensor, p.tensor, rtol=1e-5)  # float32 batches of other sizes
    np.testing.assert_array_equal(many[2].tensor, many[2].tensor.T)
    assert p.to_dict()["unit"] == "1/K"


def test_no_bound_means_no_clipping(new_kind):
    from gmtnet.admissible import is_admissible, make_admissible, min_eigenvalue

    t = np.diag([-1e-5, 2e-5, 3e-5])
    np.testing.assert_array_equal(make_admissible(t, NAME), t)
    assert min_eigenvalue(t, NAME) is None and is_admissible(t, NAME) is True


def test_scalars_surfaces_and_properties(new_kind):
    from gmtnet.properties import derived_properties, properties_table
    from gmtnet.scalars import SCALAR_COLUMNS, scalar_columns
    from gmtnet.surfaces import SURFACE_QUANTITIES, directional_values, polar_cut, quantities_for

    t = np.array([[-1.0, 0.2, 0.0], [0.2, 2.0, 0.0], [0.0, 0.0, 3.0]]) * 1e-5
    cols = scalar_columns(NAME, t)
    w = np.linalg.eigvalsh(t)
    assert cols == {f"{NAME}_min": w[0], f"{NAME}_mid": w[1], f"{NAME}_max": w[2], f"{NAME}_mean": float(np.trace(t) / 3)}
    assert SCALAR_COLUMNS[f"{NAME}_min"] == ("1/K", "smallest principal value of α", (NAME,))
    (q,) = quantities_for(NAME)
    assert q.kinds == (NAME,) and q.signed and SURFACE_QUANTITIES[q.name] == q
    n, v = directional_values(t, NAME, q.name, 6, 8)
    np.testing.assert_allclose(v, np.einsum("...i,ij,...j->...", n, t, n), rtol=0, atol=1e-20)
    _, d, cut = polar_cut(t, NAME, q.name, "xy", 5)
    np.testing.assert_allclose(cut, np.einsum("...i,ij,...j->...", d, t, d), rtol=0, atol=1e-20)
    rows = {r["quantity"]: r for r in properties_table(derived_properties(t, NAME))}
    assert rows["principal values"]["unit"] == "1/K" and "average α" in rows


def test_cli_predict(new_kind, tmp_path):
    from gmtnet.cli import main

    cif = tmp_path / "zno.cif"
    wurtzite_zno().to(filename=str(cif))
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["predict", str(cif), "--kind", NAME, "--device", "cpu", "--json", str(tmp_path / "p.json")])
    text = out.getvalue()
    assert code == 0, text
    assert "Thermal expansion (test registration) α [1/K]" in text and "± 1σ" in text
    (record,) = json.loads((tmp_path / "p.json").read_text())
    assert record["kind"] == NAME and np.asarray(record["tensor"]).shape == (3, 3)


@pytest.mark.parametrize("workers", [0, 1])
def test_cli_screen(new_kind, tmp_path, workers):
    """In this process (0) and on a Dask worker process (1), which imports only the shipped kinds:
    the screen sends the kind object with each task and the worker registers it."""
    from gmtnet.cli import main
    from gmtnet.screen import read_screen

    folder = tmp_path / "in"
    folder.mkdir()
    for name, make in (("nacl", rocksalt_nacl), ("zno", wurtzite_zno)):
        make().to(filename=str(folder / f"{name}.cif"))
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["screen", str(folder), "--out", str(tmp_path / "out"), "--kinds", NAME, "--workers", str(workers),
                     "--quiet"])
    assert code == 0, out.getvalue()
    df = read_screen(tmp_path / "out")
    assert list(df["kind"]) == [NAME, NAME] and set(df["unit"]) == {"1/K"} and df["error"].isna().all()
    for _, row in df.iterrows():
        t = np.asarray(row["tensor"]).reshape(3, 3)
        assert row[f"{NAME}_max"] == np.linalg.eigvalsh(0.5 * (t + t.T))[2]


def test_registered_without_weights_is_missing(new_kind, tmp_path):
    from gmtnet.predict import Predictor, installed_kinds

    ghost = register_kind(_make_kind(tmp_path / "not-there", name="thermal_expansion_ghost"))
    try:
        assert "thermal_expansion_ghost" not in installed_kinds() and NAME in installed_kinds()
        p = Predictor.load(kinds=None, device="cpu", members=1, model_dirs=None)
        assert p.missing == ("thermal_expansion_ghost",) and NAME in p.kinds and "elastic" in p.kinds
        with pytest.raises(ValueError, match="not installed"):
            p.predict(rocksalt_nacl(), ghost)
        with pytest.raises(FileNotFoundError):
            Predictor.load(kinds=[ghost], device="cpu")
        from gmtnet.cli import main

        out = io.StringIO()
        with redirect_stdout(out):
            assert main(["predict", "x.cif", "--kind", ghost.name]) == 2
        assert "no weights for 'thermal_expansion_ghost'" in out.getvalue()
        (tmp_path / "in").mkdir()
        rocksalt_nacl().to(filename=str(tmp_path / "in" / "nacl.cif"))
        out = io.StringIO()
        with redirect_stdout(out):
            code = main(["screen", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--kinds", ghost.name,
                         "--workers", "0", "--quiet"])
        assert code == 2 and "no weights for 'thermal_expansion_ghost'" in out.getvalue()
    finally:
        unregister_kind(ghost)


def test_explore_page_shows_the_new_kind(new_kind):
    """Explore under Streamlit's AppTest: the kind is a choice, with its prediction, Voigt table,
    allowed form, derived rows and surfaces, and no DFT reference (none is bundled)."""
    with explore_bundled_zno(NAME) as at:
        assert "α Thermal expansion (test registration)" in at.radio(key="x_kind").options
        text = " ".join(m.value for m in at.markdown)
        assert "Thermal expansion (test registration)" in text and "1/K" in text and "± 1σ" in text
        assert any("No DFT reference" in c.value for c in at.caption)
        assert any(m.label == "Uncertainty, 1σ (1/K)" for m in at.metric)
        # the allowed-form heatmap and the polar cuts of α(n)
        assert len(at.get("plotly_chart")) == 2
        derived = [df.value for df in at.dataframe if "quantity" in getattr(df.value, "columns", [])]
        assert any("average α" in list(d["quantity"]) for d in derived)