"""The app's service layer: the models, the catalogue and every cached computation the pages show.

What it holds is process-wide (shared by all browser sessions); what one session holds (the
current crystal, the tolerance) is in :mod:`app.session`, which builds on this module, never the
other way round. The predictor (torch + one ensemble per kind, several seconds to load) is warmed
in a background thread as soon as the app starts, so the first page is interactive before it is
ready; the first prediction waits for it only if it is still loading.

Refused input and missing models come back as :class:`app.failure.Failure` values in place of a
result (see :func:`predict`, :func:`test_predictions`); other exceptions are bugs and propagate.
"""

from __future__ import annotations

import hashlib
import json
import threading
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st
from pymatgen.core import Structure

from app.failure import Failure
from gmtnet.kinds import KINDS


def app_kinds() -> tuple[str, ...]:
    """The kinds the app shows, in display order: every registered kind (a kind registered after
    start-up, e.g. by a test, appears; one without weights shows why it has no prediction)."""
    return tuple(KINDS)


_warm_lock = threading.Lock()
_warm_futures: dict[str, Future] = {}


def warm_predictor() -> dict[str, Future]:
    """Start loading one predictor per kind, in :func:`app_kinds` order, in a daemon thread (once
    per process, and again for kinds registered since); returns ``{kind: Future}``. The first kind
    is usable after torch and one model have loaded, without waiting for the others."""
    with _warm_lock:
        kinds = [k for k in app_kinds() if k not in _warm_futures]
        if kinds:
            _warm_futures.update({k: Future() for k in kinds})

            def run() -> None:
                try:
                    from gmtnet.predict import Predictor
                except BaseException as err:  # e.g. torch missing: every kind reports it
                    for k in kinds:
                        _warm_futures[k].set_exception(err)
                    return

                def load(k: str) -> None:
                    try:
                        _warm_futures[k].set_result(Predictor.load(kinds=[k], device="auto"))
                    except BaseException as err:  # surfaced to the caller of get_predictor()
                        _warm_futures[k].set_exception(err)

                # What a first visit needs, in order: the default kind's model, plotly (figures);
                # then the other models.
                load(kinds[0])
                try:
                    import plotly.graph_objects  # noqa: F401
                except ImportError:  # only a warm-up: the pages report a missing plotly themselves
                    pass
                for k in kinds[1:]:
                    load(k)

            threading.Thread(target=run, name="gmtnet-predictor-warmup", daemon=True).start()
        return _warm_futures


@st.cache_resource(show_spinner="Loading the GMTNet model…")
def get_predictor(kind: str):
    """The process-wide :class:`gmtnet.predict.Predictor` holding the shipped model of ``kind``."""
    return warm_predictor()[kind].result()


@st.cache_data(show_spinner="Indexing the bundled crystals…")
def get_catalog():
    """The catalogue of bundled reference crystals (:func:`gmtnet.catalog.build_catalog`)."""
    from gmtnet.catalog import build_catalog

    return build_catalog()


def structure_key(structure: Structure) -> str:
    """A cheap content hash of a structure (lattice, species, fractional coordinates), used as
    cache key: hashing the arrays takes microseconds, a JSON round trip milliseconds."""
    h = hashlib.sha1(np.ascontiguousarray(structure.lattice.matrix, dtype=float).tobytes())
    h.update(np.ascontiguousarray(structure.frac_coords, dtype=float).tobytes())
    # A disordered structure (refused by the predictor with its own message) has no .species.
    species = structure.species if structure.is_ordered else structure.species_and_occu
    h.update(" ".join(str(sp) for sp in species).encode())
    return h.hexdigest()


@st.cache_resource(show_spinner=False, max_entries=64)
def _predict_cached(key: str, kind: str, symprec: float, _structure: Structure):
    return get_predictor(kind).predict(_structure, kind, symprec=symprec)


def predict(structure: Structure, symprec: float, kinds=None) -> dict:
    """Predictions ``{kind: Prediction | Failure}`` for the structure at detection tolerance
    ``symprec`` (Å), cached per structure.

    A kind fails alone: a structure the library refuses (disordered, too many atoms, overlapping
    atoms, ...: its ``ValueError``) or a kind whose weights are not installed (``FileNotFoundError``
    from loading its model) gives a :class:`~app.failure.Failure` for that kind."""
    key = structure_key(structure)
    out = {}
    with st.spinner("Predicting tensors…"):
        for k in (app_kinds() if kinds is None else kinds):
            try:
                out[k] = _predict_cached(key, k, symprec, structure)
            except (ValueError, FileNotFoundError) as err:
                out[k] = Failure.from_exception(err)
    return out


#: The two frames the app can show tensors in.
FRAMES = {
    "structure": "structure frame (Cartesian axes of the cell as loaded)",
    "ieee": "IEEE 176 standard frame (as Materials Project and textbooks)",
}


@st.cache_resource(show_spinner=False, max_entries=64)
def _ieee_view(key: str, _structure: Structure) -> tuple[np.ndarray, Structure]:
    from pymatgen.core import Lattice

    from gmtnet.tensors import ieee_rotation

    rot = ieee_rotation(_structure)
    rotated = Structure(Lattice(_structure.lattice.matrix @ rot.T), _structure.species, _structure.frac_coords)
    return rot, rotated


def frame_view(structure: Structure, frame: str) -> tuple[np.ndarray, Structure]:
    """``(R, structure in that frame)``: R rotates structure-frame tensors into ``frame``
    (identity for ``"structure"``); the structure is the same crystal with rotated axes."""
    if frame == "structure":
        return np.eye(3), structure
    return _ieee_view(structure_key(structure), structure)


@st.cache_resource(show_spinner=False, max_entries=256)
def _prediction_in_frame(key: str, kind: str, symprec: float, frame: str, _pred, _structure: Structure):
    from gmtnet.symmetry import symmetry_constraints

    rot, rotated = frame_view(_structure, frame)
    return _pred.in_frame(rot, symmetry_constraints(rotated, kind, symprec=symprec))


def in_frame(pred, structure: Structure, frame: str, symprec: float):
    """A :class:`gmtnet.predict.Prediction` expressed in ``frame`` (a :class:`~app.failure.Failure`
    passes through); ``symprec`` (Å) is the tolerance it was predicted at."""
    if isinstance(pred, Failure) or frame == "structure":
        return pred
    return _prediction_in_frame(structure_key(structure), pred.kind.name, symprec, frame, pred, structure)


@st.cache_resource(show_spinner=False, max_entries=256)
def reference(material_id: str, kind: str) -> dict | None:
    """The DFT reference in the frame of the shown structure (:func:`gmtnet.catalog.reference_in_shown_frame`)."""
    from gmtnet.catalog import reference_in_shown_frame

    return reference_in_shown_frame(material_id, kind)


REPO_ROOT = Path(__file__).resolve().parent.parent
BENCHMARK_JSON = REPO_ROOT / "benchmarks" / "results" / "accuracy.json"


@st.cache_data(show_spinner=False)
def benchmark_table() -> pd.DataFrame | None:
    """The accuracy benchmark (``benchmarks/results/accuracy.json``) as a table, or None if absent."""
    if not BENCHMARK_JSON.is_file():
        return None
    doc = json.loads(BENCHMARK_JSON.read_text())
    rows = [
        {
            "target": r["kind"], "model": r["model"], "n test": r["n"], "Fnorm": round(r["fnorm"], 4),
            "unit": r["unit"], "rel. Fnorm": round(r["fnorm"] / r["mean_label_norm"], 3),
            "EwT25 %": round(100 * r["ewt25"], 1), "EwT10 %": round(100 * r["ewt10"], 1),
            "EwT5 %": round(100 * r["ewt5"], 1), "zero %": round(100 * r["zero_success"], 1),
            "equality %": round(100 * r["equality_success"], 1), "params": r.get("parameters"),
        }
        for r in doc["results"]
    ]
    return pd.DataFrame(rows)


def model_card(kind: str) -> str:
    """The shipped model card (markdown) of a kind."""
    from gmtnet.weights import shipped_model_dir

    try:
        path = shipped_model_dir(kind) / "MODEL_CARD.md"
    except FileNotFoundError:  # a kind registered before its weights ship
        return f"No model card for {kind}: its weights are not installed."
    return path.read_text() if path.is_file() else f"No model card for {kind}."


@st.cache_data(show_spinner="Predicting the test split (once per session)…")
def test_predictions(kind: str) -> pd.DataFrame | Failure:
    """Predictions on the unflagged test split of ``kind``: one row per Voigt component with
    ``material_id``, ``formula``, ``component``, ``dft`` and ``predicted`` (kind's units, IEEE Voigt,
    each structure's own frame); a :class:`~app.failure.Failure` when the kind's weights are not
    installed."""
    from gmtnet.data import load_dataset
    from gmtnet.predict import PredictionError
    from gmtnet.tensors import to_voigt, voigt_labels

    frame = load_dataset(kind, include_flagged=False)
    test = frame[frame["split"] == "test"].reset_index(drop=True)
    k = KINDS[kind]
    try:
        predictor = get_predictor(kind)
    except FileNotFoundError as err:
        return Failure.from_exception(err)
    results = predictor.predict_many(list(test["structure"]), kind)
    labels = voigt_labels(kind, "ieee").ravel()
    rows = []
    for rec, res in zip(test.itertuples(index=False), results):
        if isinstance(res, PredictionError):
            continue
        true = to_voigt(np.asarray(getattr(rec, k.column)), kind, "ieee").ravel()
        sigma = res.std_voigt.ravel() if res.std is not None else np.full(true.size, np.nan)
        for name, t, p, e in zip(labels, true, res.voigt.ravel(), sigma):
            rows.append({"material_id": rec.material_id, "formula": rec.formula, "component": str(name), "dft": t,
                         "predicted": p, "sigma": e})
    return pd.DataFrame(rows)


def ensemble_table() -> pd.DataFrame:
    """The shipped ensembles' test-split figures and calibration (from each ``ensemble.json``); a
    kind whose weights are not installed has no row, nor has a per-atom kind (Born charges: scored
    per atom, in its model card)."""
    from gmtnet.models.ensemble import ENSEMBLE_FILE
    from gmtnet.weights import shipped_model_dir

    rows = []
    for kind, k in KINDS.items():
        if k.per_atom:  # scored per atom, not per crystal: its figures are in its model card
            continue
        try:
            directory = shipped_model_dir(kind)
        except FileNotFoundError:
            continue
        meta = json.loads((directory / ENSEMBLE_FILE).read_text())
        m = meta["metrics_test"]["ensemble"]["overall"]
        prev = meta["metrics_test"].get("previous", {}).get("overall", {})
        cal = meta["calibration"]["test"]
        rows.append({
            "target": kind, "networks": meta["members"], "n test": m["n"], "unit": k.unit_label,
            "Fnorm": round(m["fnorm"], 4), "Fnorm 95 %": f"{m['fnorm_ci95'][0]:.3g}–{m['fnorm_ci95'][1]:.3g}",
            "EwT25 %": round(100 * m["ewt25"], 1), "previous single network: Fnorm": round(prev.get("fnorm", np.nan), 4),
            "previous EwT25 %": round(100 * prev.get("ewt25", np.nan), 1),
            "within ±1σ %": round(100 * cal["within_1sigma"], 1), "Spearman(σ, error)": round(cal["spearman"], 2),
        })
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- the physics route (issue 17)

#: Largest cell (atoms) the app runs the physics route on. Cost grows as (orbits × 6 + 13) force
#: calls × (seconds per call ∝ atoms): the 40-atom crystal of benchmarks/ionic_speed.py took a
#: median 135 s, and one without symmetry would need 253 calls of ~0.8 s, about 3.5 minutes,
#: already longer than a page visit should block; the CLI has no limit.
IONIC_MAX_ATOMS = 40
#: Seconds per atom per SevenNet-0 force call on the app's CPU: 0.02 s, one torch thread on a
#: shared 2-core machine (benchmarks/results/ionic-speed.json: 0.022, 0.014 and 0.032 s for its
#: 5-, 20- and 40-atom crystals at load 5-10; 0.08 s per call for wurtzite ZnO, 4 atoms).
IONIC_SECONDS_PER_ATOM_CALL = 0.02
#: Seconds to load SevenNet-0 from the sevenn wheel, once per server process (measured 5.7 s).
IONIC_LOAD_SECONDS = 6.0

_ionic_lock = threading.Lock()


def ionic_refusal(structure: Structure) -> Failure | None:
    """Why the app will not run the physics route on ``structure`` (too many atoms, disordered),
    as a :class:`~app.failure.Failure`; None when it will."""
    if not structure.is_ordered:
        return Failure("the physics route needs an ordered crystal (every site one element)", "ValueError")
    if len(structure) > IONIC_MAX_ATOMS:
        return Failure(f"the physics route runs on cells of at most {IONIC_MAX_ATOMS} atoms in the app; this one has "
                       f"{len(structure)} (use `python -m gmtnet ionic` for larger cells)", "ValueError")
    return None


def ionic_cost(structure: Structure, symprec: float) -> tuple[int, float]:
    """``(potential evaluations, estimated seconds)`` of :func:`ionic_estimate` for ``structure``
    before any relaxation: :func:`gmtnet.ionic.n_evaluations` × :data:`IONIC_SECONDS_PER_ATOM_CALL`
    × atoms, plus :data:`IONIC_LOAD_SECONDS` while SevenNet-0 is not loaded yet in this process."""
    from gmtnet.ionic import n_evaluations

    calls = n_evaluations(structure, symprec=symprec)
    seconds = calls * IONIC_SECONDS_PER_ATOM_CALL * len(structure)
    if not _potential_loaded:
        seconds += IONIC_LOAD_SECONDS
    return calls, seconds


_potential_loaded = False


@st.cache_resource(show_spinner=False)
def get_potential():
    """SevenNet-0 as an ASE calculator (:func:`gmtnet.ionic.load_potential`, CPU), once per process."""
    global _potential_loaded
    from gmtnet.ionic import load_potential

    calc = load_potential()
    _potential_loaded = True
    return calc


def _born_predictor():
    """The app's cached predictor of the per-atom Born-charge kind, or None when that kind is not
    registered or has no weights (then :func:`gmtnet.ionic.born_charges` uses the formal charges)."""
    from gmtnet.ionic import BORN_KIND

    if BORN_KIND not in app_kinds():
        return None
    try:
        return get_predictor(BORN_KIND)
    except FileNotFoundError:
        return None


@st.cache_data(show_spinner=False, max_entries=32)
def _ionic_cached(key: str, material_id: str | None, symprec: float, _structure: Structure):
    from gmtnet import ionic

    try:
        calc = get_potential()
    except (ImportError, FileNotFoundError) as err:  # sevenn or its checkpoint missing on this install
        return Failure.from_exception(err)
    known = getattr(calc, "type_map", None)  # atomic numbers the potential was trained on
    if known is not None:
        unknown = sorted({el.symbol for el in _structure.composition.elements if el.Z not in known})
        if unknown:
            return Failure(f"SevenNet-0 was not trained on {', '.join(unknown)}: no force constants for this crystal",
                           "ValueError")
    try:
        # One computation at a time: ionic_response counts the calls of the shared calculator by
        # wrapping it, and two sessions on 2 cores would only slow each other down.
        with _ionic_lock:
            born = ionic.born_charges(_structure, material_id, predictor=_born_predictor())
            return ionic.ionic_response(_structure, calc, material_id=material_id, born=born, symprec=symprec)
    except ValueError as err:  # no Born charges (metal, elemental), a structure the potential refuses
        return Failure.from_exception(err)


def reset_ionic() -> None:
    """Forget the loaded potential and every cached ionic estimate (for a process whose potential
    or Born-charge model changed, e.g. a test that replaces them)."""
    global _potential_loaded
    get_potential.clear()
    _ionic_cached.clear()
    _potential_loaded = False


def ionic_estimate(structure: Structure, material_id: str | None, symprec: float):
    """The physics route for ``structure``: a :class:`gmtnet.ionic.IonicResponse` (e_ion in C/m²
    and ε_ion, structure frame; Born charges DFT when ``material_id`` is in the DFPT set, else
    predicted by the installed "born" kind, else formal), or a :class:`~app.failure.Failure` (too
    many atoms, sevenn missing, an element SevenNet-0 does not know, no Born charges). Cached per
    structure, Materials Project id and ``symprec`` (Å): a rerun costs nothing. Slow (see
    :func:`ionic_cost`): the pages call it only on request."""
    refused = ionic_refusal(structure)
    if refused is not None:
        return refused
    return _ionic_cached(structure_key(structure), material_id, symprec, structure)


def reset_models() -> None:
    """Forget the loaded predictors and every cached prediction, once a running warm-up has
    finished, so that the next request loads the models afresh from the installed weights (for a
    process whose weights changed, e.g. a test that hides one kind's weights)."""
    for fut in warm_predictor().values():
        fut.exception()  # waits; a failed load is the caller's to see again after the reset
    with _warm_lock:
        _warm_futures.clear()
    for cached in (get_predictor, _predict_cached, test_predictions):
        cached.clear()
