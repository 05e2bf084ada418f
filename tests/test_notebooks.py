"""The teaching notebooks: structure checks (fast) and a full execution of each one with nbclient.

Each notebook is a jupytext pair (``jupytext.toml``): ``notebooks/0N_name.ipynb`` and
``notebooks/0N_name.py`` in the "percent" format hold the same cells, and the committed ``.ipynb``
carry no outputs. Execution runs the ``.ipynb`` in a ``python3`` kernel with ``notebooks/`` as the
working directory and this checkout's ``gmtnet`` first on the kernel's path, fails on any cell
error, and checks the run time (each notebook must run in under 3 minutes on a 2-core CPU;
``GMTNET_NOTEBOOK_TIME_LIMIT`` overrides the limit in seconds) and the size of the executed copy.
The prose cites numbers that the notebooks compute and pin with ``assert``; the data counts it
cites are also checked here directly (:func:`test_prose_numbers_match_the_library`), without
executing anything.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

import jupytext
import nbclient
import nbformat
from jupytext.config import find_jupytext_configuration_file, load_jupytext_configuration_file

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
NOTEBOOKS = [
    "01_neumann_principle.ipynb",
    "02_tensor_surfaces.ipynb",
    "03_predicting_with_gmtnet.ipynb",
    "04_train_a_small_model.ipynb",
]
#: Seconds one notebook may take end to end (kernel start included).
TIME_LIMIT = float(os.environ.get("GMTNET_NOTEBOOK_TIME_LIMIT", "180"))
#: Seconds one cell may take before nbclient gives up.
CELL_TIMEOUT = 300
#: Largest executed notebook, bytes: plotly.js embedded once (4.8 MB) would exceed it.
MAX_EXECUTED_BYTES = 4_000_000
#: 01 and 02 are the course, 03 and 04 the optional machine-learning appendix.
COURSE = NOTEBOOKS[:2]
#: A <script src="http..."> or a CDN renderer would break the offline promise of the notebooks.
REMOTE_SCRIPT = re.compile(r"<script[^>]*\bsrc\s*=\s*[\"']?(https?:)?//[^\"'> ]*", re.IGNORECASE)


def _read(name: str):
    return nbformat.read(NOTEBOOK_DIR / name, as_version=4)


def _markdown(nb) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "markdown"]


def _cells(nb) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source) for c in nb.cells]


def test_every_notebook_is_listed():
    """Every notebook is listed here and has its .py pair; no .py lies in notebooks/ without one."""
    assert sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb")) == sorted(NOTEBOOKS)
    assert sorted(p.name for p in NOTEBOOK_DIR.glob("*.py")) == sorted(Path(n).with_suffix(".py").name for n in NOTEBOOKS)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_jupytext_config_pairs_notebook_with_percent_script(name):
    """jupytext.toml makes Jupyter (with jupytext) and `jupytext --sync` save both files of a pair."""
    config_file = find_jupytext_configuration_file(str(NOTEBOOK_DIR))
    assert config_file is not None, "no jupytext.toml found for notebooks/"
    formats = load_jupytext_configuration_file(config_file).default_formats(str(NOTEBOOK_DIR / name))
    assert formats == "ipynb,py:percent"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_and_script_pair_hold_the_same_cells(name):
    """After editing either file of a pair, run `jupytext --sync notebooks/*.ipynb` and commit both."""
    nb = jupytext.read(NOTEBOOK_DIR / name)
    script = jupytext.read(NOTEBOOK_DIR / Path(name).with_suffix(".py"), fmt="py:percent")
    assert _cells(nb) == _cells(script), f"{name} and its .py differ: run `jupytext --sync notebooks/{name}`"
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert script.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_notebook_has_no_outputs(name):
    nb = _read(name)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name} cell {i} carries outputs"
            assert cell.execution_count is None, f"{name} cell {i} has an execution count"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_teaching_structure(name):
    """Learning goals first, then prose with equations, and exercises followed by worked solutions."""
    nb = _read(name)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.lstrip().startswith("# ")
    assert "learning goals" in first.source.lower()
    assert re.search(r"^\s*1\.", first.source, re.MULTILINE), "learning goals should be a numbered list"
    text = "\n".join(_markdown(nb))
    assert "$" in text, "expected LaTeX equations in the prose"
    headings = [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "markdown"]
    ex = [i for i, src in headings if re.search(r"^## Exercises\s*$", src, re.MULTILINE)]
    sol = [i for i, src in headings if re.search(r"^## Solutions\s*$", src, re.MULTILINE)]
    assert ex and sol, f"{name} needs '## Exercises' and '## Solutions' sections"
    exercises_cell = nb.cells[ex[0]].source.split("## Solutions")[0]
    n_exercises = len(re.findall(r"^\d+\.\s", exercises_cell.split("## Exercises", 1)[1], re.MULTILINE))
    assert n_exercises >= 2, f"{name}: found {n_exercises} numbered exercises"
    assert ex[0] <= sol[0]
    solution_code = [c for c in nb.cells[sol[0] + 1 :] if c.cell_type == "code"]
    assert len(solution_code) >= 2, "solutions should be worked out in code"
    for k in range(1, n_exercises + 1):
        assert f"Solution {k}" in text, f"{name}: no worked solution for exercise {k}"
    # Every exercise can be graded: a check cell before the solutions, and a solution that passes it.
    number = name[:2]
    before = "\n".join(c.source for c in nb.cells[: sol[0]] if c.cell_type == "code")
    after = "\n".join(c.source for c in nb.cells[sol[0] + 1 :] if c.cell_type == "code")
    for k in range(1, n_exercises + 1):
        assert f'check("{number}.{k}", None)' in before, f"{name}: exercise {k} has no check cell"
        assert f'check("{number}.{k}",' in after, f"{name}: solution {k} does not pass its check"
    # Solutions are collapsed and tagged, not shown under the questions.
    for cell in nb.cells[sol[0] + 1 :]:
        if cell.source.strip().startswith("workdir.cleanup()"):
            continue
        assert "solution" in cell.metadata.get("tags", []), f"{name}: untagged cell after '## Solutions'"
        assert cell.metadata.get("jupyter", {}).get("source_hidden") is True, f"{name}: solution cell not collapsed"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_says_whether_it_is_course_or_appendix(name):
    first = _read(name).cells[0].source
    if name in COURSE:
        assert "*Course, part" in first
    else:
        assert "Appendix" in first and "machine learning for tensors" in first


def _cited(name: str, pattern: str) -> tuple[str, ...]:
    text = "\n".join(_markdown(_read(name)))
    match = re.search(pattern, text)
    assert match, f"{name}: the prose no longer cites {pattern!r}"
    return match.groups()


def test_prose_numbers_match_the_library():
    """Numbers the prose cites, recomputed from the library and the bundled data."""
    import numpy as np

    from gmtnet.data import load_dataset
    from gmtnet.properties import compliance, is_mechanically_stable, max_longitudinal_piezo
    from gmtnet.teaching import independent_up_to_axes, linear_compressibility_matrix, nye_table
    from gmtnet.tensors import to_ieee_frame

    nye = nye_table()
    nb01 = NOTEBOOKS[0]
    assert int(_cited(nb01, r"\*\*(\d+) polar classes\*\*")[0]) == int((nye["p (polar rank 1)"] > 0).sum())
    assert int(_cited(nb01, r"\*\*(\d+) classes are piezoelectric\*\*")[0]) == int((nye["e (rank 3)"] > 0).sum())
    assert int(_cited(nb01, r"\*\*(\d+) classes are optically active\.\*\*")[0]) == int((nye["g (axial rank 2)"] > 0).sum())
    total, free, left = map(int, _cited(nb01, r"\$(\d+) - (\d+) = (\d+)\$ are properties"))
    assert total - free == left == independent_up_to_axes("1", "elastic")

    piezo = load_dataset("piezoelectric")
    flagged = piezo["flags"].map(lambda f: "asymmetric" in f)
    n_flagged, n_rows, n_two = map(int, _cited(NOTEBOOKS[2], r"(\d+) of its (\d+) rows are flagged, and almost all of them \((\d+)\)"))
    assert (n_flagged, n_rows, n_two) == (int(flagged.sum()), len(piezo), int((flagged & (piezo["symmetry_residual"] > 1.5)).sum()))

    elastic = load_dataset("elastic", include_flagged=False)
    nlc = sum(np.linalg.eigvalsh(linear_compressibility_matrix(compliance(t)))[0] < 0 for t in elastic["tensor"] if is_mechanically_stable(t))
    assert int(_cited(NOTEBOOKS[1], r"(\d+) of the stable, unflagged elastic tensors have")[0]) == nlc

    sic = load_dataset("piezoelectric", include_flagged=False).set_index("material_id").loc["mp-8062"]
    value = float(_cited(NOTEBOOKS[1], r"2e_\{14\}/\\sqrt3 = (0\.\d+)\$ C/m²")[0])
    assert round(max_longitudinal_piezo(to_ieee_frame(sic.tensor, sic.structure)).value, 3) == value


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_sources_stay_offline(name):
    code = "\n".join(c.source for c in _read(name).cells if c.cell_type == "code")
    # plotly's "notebook_connected"/"iframe_connected" renderers and py3Dmol's default load from a CDN.
    assert "_connected" not in code and "http://" not in code and "https://" not in code
    assert "import py3Dmol" not in code, "show structures with gmtnet.viewer (offline 3Dmol.js)"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_executes(name, tmp_path):
    """Run the notebook top to bottom in a fresh python3 kernel; any error fails the test."""
    nb = _read(name)
    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    # The kernel imports this checkout's gmtnet, whichever checkout the environment was installed from.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    # One BLAS/OpenMP thread unless the caller chose: on a shared 2-core machine notebook 03 took
    # 86 s with the libraries' default threads and 26 s with one (load average 5-8).
    env.setdefault("OMP_NUM_THREADS", "1")
    start = time.perf_counter()
    try:
        client.execute(env=env)
    finally:
        # Keep the executed copy for inspection when something fails.
        nbformat.write(nb, tmp_path / name)
    seconds = time.perf_counter() - start
    assert seconds < TIME_LIMIT, f"{name} took {seconds:.0f} s (limit {TIME_LIMIT:.0f} s)"
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    size = (tmp_path / name).stat().st_size
    assert size < MAX_EXECUTED_BYTES, f"executed {name} weighs {size / 1e6:.1f} MB: is plotly.js embedded again?"
    # Figures and 3D views must not load anything from the network.
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            html = out.get("data", {}).get("text/html", "")
            html = "".join(html) if isinstance(html, list) else html
            remote = [m.group(0) for m in REMOTE_SCRIPT.finditer(html)]
            assert not remote, f"{name} cell {i} loads a remote script: {remote}"
