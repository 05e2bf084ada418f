"""Hostile uploads into a running server (Chromium): the server survives, other sessions still work.

One session loads a bundled crystal, then uploads the corpus's worst files (NaN lattice, JSON
naming modules, a 2,000-operation CIF, a 1e9-atom POSCAR, 500k-deep JSON, a dummy species, a zero
cell angle, random bytes, a 2.1 MB file, a Markdown-injection file name). After each: the server
process is alive, the page shows an error and keeps the crystal. A shared link whose
``material_id`` is Markdown is shown as text. Then a second, fresh session gets predictions, and
no request ever left for the hosts named in the injected Markdown. Needs /usr/bin/chromium, like
``test_browser.py``.
"""

import json
import os
import re
import time
from pathlib import Path
from urllib.parse import urlparse

import psutil
import pytest

from test_browser import is_local_url

from app.server import CHROMIUM, CHROMIUM_FLAGS, running_app

from fuzz.corpus import worst_cases

from playwright.sync_api import sync_playwright  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
MATERIAL = "mp-9919"  # LiZnSb
INJECTED_ID = "![x](http://127.0.0.1:9/id.png) [click](http://example.invalid/)"


@pytest.fixture(scope="module")
def server():
    ARTIFACTS.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    with open(ARTIFACTS / "streamlit-hostile.log", "w") as log, running_app(
        env, ["--server.address", "127.0.0.1", "--server.fileWatcherType", "none"], log=log, timeout=120
    ) as app:
        yield {"url": app.url, "proc": app.proc}


def _alive(server) -> None:
    assert server["proc"].poll() is None, f"the server died (exit status {server['proc'].returncode})"


_ALERT_JS = """(prefix) => {
    const texts = [...document.querySelectorAll("[data-testid='stAlert']")].map(e => e.innerText.replaceAll('\\u2060', ''));
    return texts.find(t => t.includes(prefix) && t.includes('the previous crystal is kept')) || false;
}"""


def _injected(page) -> list[str]:
    """Images or links pointing at the hosts named in the injected Markdown (the app's own links
    may carry the query string, with those names in it, and are not counted)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('img, a')].filter(e => {
            const u = e.tagName === 'IMG' ? e.src : e.href;
            try { const h = new URL(u, location.href); return h.port === '9' || h.hostname === 'example.invalid'; }
            catch (err) { return false; }
        }).map(e => e.outerHTML.slice(0, 200))"""
    )


def test_worst_uploads_leave_the_server_serving(server):
    requests: list[str] = []
    report = {"uploads": []}
    proc = psutil.Process(server["proc"].pid)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            a = browser.new_page(viewport={"width": 1400, "height": 1000})
            a.on("request", lambda r: requests.append(r.url))
            a.goto(f"{server['url']}/?material_id={MATERIAL}", wait_until="domcontentloaded")
            heading = a.get_by_role("heading", name=f"LiZnSb ({MATERIAL})")
            heading.wait_for(timeout=180_000)
            a.get_by_text("Predicted ε₀").first.wait_for(timeout=180_000)
            a.get_by_text("Upload your own structure").first.click()
            upload = a.locator("input[type=file]").first
            cases = sorted(worst_cases(), key=lambda c: c.expect == "valid")  # the refused ones first
            for case in cases:
                t0 = time.monotonic()
                upload.set_input_files(files=[{"name": case.name, "mimeType": "application/octet-stream", "buffer": case.data}])
                if case.expect == "valid":  # e.g. JSON whose @module entries are ignored: it loads
                    a.get_by_role("heading", name=case.name).wait_for(timeout=120_000)
                    a.get_by_text("Predicted ε₀").first.wait_for(timeout=180_000)
                    report["uploads"].append({"name": case.name, "seconds": round(time.monotonic() - t0, 2), "loaded": True})
                    _alive(server)
                    continue
                if len(case.data) > 2 * 1024 * 1024:  # over server.maxUploadSize: the browser refuses it
                    a.get_by_text("or smaller").first.wait_for(timeout=60_000)
                    report["uploads"].append({"name": case.name, "seconds": round(time.monotonic() - t0, 2),
                                              "message": "refused by the uploader (server.maxUploadSize)"})
                    _alive(server)
                    assert heading.is_visible()
                    continue
                # The file name is shown literally (word joiners aside, see app/text.py) in the alert.
                handle = a.wait_for_function(_ALERT_JS, arg=f"{case.name}: ", timeout=120_000)
                text = handle.json_value()
                report["uploads"].append({"name": case.name, "seconds": round(time.monotonic() - t0, 2), "message": text[:300]})
                _alive(server)
                assert heading.is_visible(), f"the crystal was replaced after {case.name!r}"
            a.screenshot(path=str(ARTIFACTS / "hostile_uploads.png"))
            # Injected Markdown in the file name rendered as text: no image, no link to its hosts.
            assert not _injected(a)

            # A shared link whose material_id is Markdown: an error, shown literally.
            b = browser.new_page(viewport={"width": 1400, "height": 1000})
            b.on("request", lambda r: requests.append(r.url))
            b.goto(f"{server['url']}/?material_id={INJECTED_ID}", wait_until="domcontentloaded")
            b.get_by_text("is not a material id").first.wait_for(timeout=120_000)
            shown = b.evaluate("() => document.body.innerText").replace("\u2060", "")  # word joiners: see app/text.py
            assert "'![x](http://127.0.0.1:9/id.png) [click](http://example.invalid/)' is not a material id" in shown
            assert not _injected(b)
            b.close()

            # A second, fresh session still gets predictions from the same server.
            c = browser.new_page(viewport={"width": 1400, "height": 1000})
            c.on("request", lambda r: requests.append(r.url))
            t0 = time.monotonic()
            c.goto(f"{server['url']}/?material_id=mp-2133", wait_until="domcontentloaded")
            c.get_by_role("heading", name="ZnO (mp-2133)").wait_for(timeout=180_000)
            # A link opens on a tensor that has a DFT reference (for ZnO not necessarily ε₀).
            c.get_by_text(re.compile(r"^Predicted ")).first.wait_for(timeout=180_000)
            report["second_session_prediction_s"] = round(time.monotonic() - t0, 2)
            _alive(server)
        finally:
            browser.close()
    report["server_rss_mb"] = round(proc.memory_info().rss / 1e6)
    (ARTIFACTS / "hostile-uploads.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
    outside = sorted({u for u in requests if not is_local_url(u) or urlparse(u).port == 9})
    assert not outside, f"requests to injected hosts or off the machine: {outside}"
