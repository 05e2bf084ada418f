"""The physics route on What-if ("Born charges × potential: ionic e and ε") under Streamlit's AppTest.

It runs only when its button is pressed: loading the page states the cost and computes nothing.
Pressed on wurtzite ZnO (4 atoms, SevenNet-0 for real when ``sevenn`` is installed) it shows e_ion
(IEEE Voigt 3 × 6, C/m²) and ε_ion beside the network's e and ε₀ − ε∞, the frame and the Born-charge
source; a rerun takes the cached result. A cell over the atom limit and a crystal the computation
refuses come back as a message, never a traceback.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import perovskite_srtio3, wurtzite_zno
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run` puts the app's folder on sys.path; AppTest does not
    sys.path.insert(0, str(ROOT))

from app import service  # noqa: E402
from app.session import Crystal  # noqa: E402
from app.text import plain  # noqa: E402
from gmtnet import ionic  # noqa: E402

TIMEOUT = 300  # the first run loads torch and the models on a slow, shared CPU
HAS_SEVENN = importlib.util.find_spec("sevenn") is not None


@pytest.fixture
def calls(monkeypatch):
    """Counts the library calls of the physics route (through the real functions), on fresh caches."""
    counts = {"ionic_response": 0, "load_potential": 0}
    real_response, real_load = ionic.ionic_response, ionic.load_potential

    def response(*args, **kwargs):
        counts["ionic_response"] += 1
        return real_response(*args, **kwargs)

    def load(*args, **kwargs):
        counts["load_potential"] += 1
        return real_load(*args, **kwargs)

    monkeypatch.setattr(ionic, "ionic_response", response)
    monkeypatch.setattr(ionic, "load_potential", load)
    service.reset_ionic()
    yield counts
    service.reset_ionic()


def whatif(structure, label: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "whatif.py"), default_timeout=TIMEOUT)
    at.session_state["crystal"] = Crystal(structure=structure, label=label)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def captions(at: AppTest) -> str:
    return " ".join(c.value for c in at.caption)


def test_page_load_states_the_cost_and_computes_nothing(calls):
    at = whatif(wurtzite_zno(), "ZnO (test)")
    assert "Born charges × potential: ionic e and ε" in [s.value for s in at.subheader]
    assert at.button(key="w_ionic").label == "Compute ionic e and ε from physics"
    calls_expected = ionic.n_evaluations(wurtzite_zno())
    assert f"**{calls_expected} potential evaluations, about" in captions(at)
    assert f"Cells up to {service.IONIC_MAX_ATOMS} atoms" in captions(at)
    assert calls == {"ionic_response": 0, "load_potential": 0}
    assert not any("e_ion" in m.value for m in at.markdown)


@pytest.mark.skipif(not HAS_SEVENN, reason="sevenn (SevenNet-0) is not installed: pip install sevenn==0.13.0")
def test_button_runs_sevennet_and_shows_the_tables_beside_the_network(calls):
    import torch

    torch.set_num_threads(1)
    s = wurtzite_zno()
    at = whatif(s, "ZnO (test)")
    n_tables = len(at.dataframe)
    at.button(key="w_ionic").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert calls["ionic_response"] == 1
    tables = at.dataframe[n_tables:]
    assert len(tables) == 6  # e_ion | network e, ε_ion | network ε₀ − ε∞, ε∞ + ε_ion | network ε₀
    e_ion, e_net, eps_ion, eps_net, eps0_phys, eps0_net = (t.value for t in tables)
    assert list(e_ion.columns) == list(e_net.columns) and e_ion.shape == (3, 6) and eps_ion.shape == (3, 3)
    assert eps_net.shape == (3, 3)
    # ε∞ + ε_ion is the network's ε∞ plus the physics table: ε₀(net) − [ε∞ + ε_ion] = (ε₀ − ε∞)(net) − ε_ion
    f = lambda t: np.asarray(t, dtype=float)  # noqa: E731
    assert np.allclose(f(eps0_net) - f(eps0_phys), f(eps_net) - f(eps_ion), atol=1e-9)
    # wurtzite with +c from Zn to O along the c-parallel bond (the helper's cell): e33 > 0, e31 < 0
    assert e_ion.iloc[2, 2] > 0 and e_ion.iloc[2, 0] < 0
    assert np.allclose(np.asarray(eps_ion, dtype=float), np.asarray(eps_ion, dtype=float).T)
    text = " ".join(m.value for m in at.markdown)
    assert "Born charges: **" in text and "structure frame" in text and "Voigt order IEEE 176" in text
    source = ionic.born_charges(s).source  # no material id: predicted when the born kind ships, else formal
    assert f"Born charges: **{plain(source)}**" in text  # as the page escapes it ("predicted:born" is link-like)
    assert any(m.value.startswith("Largest ionic component: e33 = +") for m in at.markdown)
    notes = captions(at)
    assert "clamped-ion (electronic) part is **not included**" in notes and "ε₀ − ε∞" in notes
    assert "ε∞ + ε_ion is a physics-informed estimate" in notes
    # a rerun (any widget) shows the same result from the cache, without computing again
    at.run()
    assert len(at.dataframe) == n_tables + 6 and calls["ionic_response"] == 1


def test_cell_over_the_atom_limit_is_refused_without_a_button(calls):
    big = perovskite_srtio3().make_supercell((3, 3, 1), in_place=False)  # 45 atoms
    assert len(big) > service.IONIC_MAX_ATOMS
    at = whatif(big, "SrTiO3 3x3x1 (test)")
    refused = [e.value for e in at.error if e.value.startswith("No ionic estimate: ")]
    assert refused and f"at most {service.IONIC_MAX_ATOMS} atoms" in refused[0] and "45" in refused[0]
    assert not [b for b in at.button if b.key == "w_ionic"]
    assert calls == {"ionic_response": 0, "load_potential": 0}


def test_a_refused_crystal_shows_a_message_not_a_traceback(calls, monkeypatch):
    monkeypatch.setattr(ionic, "load_potential", lambda *a, **k: object())  # no potential needed
    service.reset_ionic()

    def refuse(*args, **kwargs):
        raise ValueError("no formal oxidation states for ZnO (test refusal)")

    monkeypatch.setattr(ionic, "ionic_response", refuse)
    try:
        at = whatif(wurtzite_zno(), "ZnO (test)")
        at.button(key="w_ionic").click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert [e.value for e in at.error] == ["No ionic estimate: no formal oxidation states for ZnO (test refusal)"]
    finally:
        service.reset_ionic()


def test_an_element_the_potential_does_not_know_is_refused(monkeypatch):
    class Potential:
        type_map = {30: 0}  # knows Zn only

    monkeypatch.setattr(ionic, "load_potential", lambda *a, **k: Potential())
    service.reset_ionic()
    try:
        failure = service.ionic_estimate(wurtzite_zno(), None, 0.01)
    finally:
        service.reset_ionic()
    assert failure.error == "ValueError" and failure.message.startswith("SevenNet-0 was not trained on O")


def test_largest_component_sign_sentence():
    from app.tables import largest_component_signs

    physics = np.zeros((3, 6))
    physics[2, 2], physics[2, 0] = 0.40, -0.17
    network = np.zeros((3, 6))
    network[2, 2] = -0.32
    assert largest_component_signs(physics, network) == (
        "Largest ionic component: e33 = +0.4 C/m² (physics) against -0.32 C/m² (network): **opposite signs**.")
    assert largest_component_signs(physics, -network).endswith(": same sign.")
    assert largest_component_signs(physics, np.zeros((3, 6))).endswith("the network predicts it as zero.")
    assert largest_component_signs(np.zeros((3, 6)), network) is None  # centrosymmetric: nothing to compare
    with pytest.raises(ValueError, match="3x6"):
        largest_component_signs(np.zeros((3, 3)), network)
