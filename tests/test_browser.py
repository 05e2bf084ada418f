"""End-to-end browser test: `streamlit run` on 127.0.0.1, Debian's Chromium driven by Playwright.

Checks that the 3D structure canvas (3Dmol.js, WebGL) and the plotly surfaces really render, that
no request leaves the machine, and saves screenshots plus the measured start-up and first-prediction
times in ``test-artifacts/``. Needs /usr/bin/chromium (``apt-get install chromium``; never
``playwright install``, which downloads a browser). Skipped only outside CI when it is missing.
"""

import json
import os
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from app.server import CHROMIUM, CHROMIUM_FLAGS, running_app

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
LOCAL_SCHEMES = {"data", "blob", "about"}
MATERIAL = "mp-9919"  # LiZnSb, P6_3mc: DFT references for ε, e and C

if not CHROMIUM.exists():
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{CHROMIUM} is missing in CI: install it with apt-get install chromium", pytrace=False)
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium); browser test skipped outside CI", allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402



@pytest.fixture(scope="module")
def server():
    # The network guard records (and refuses) any outside connection of the server process.
    guard_log = ARTIFACTS / "network-guard.log"
    ARTIFACTS.mkdir(exist_ok=True)
    guard_log.write_text("")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONPATH": str(Path(__file__).resolve().parent / "netguard"), "GMTNET_NET_GUARD_LOG": str(guard_log)}
    with open(ARTIFACTS / "streamlit.log", "w") as log, running_app(
        env, ["--server.address", "127.0.0.1", "--server.fileWatcherType", "none"], log=log, timeout=120
    ) as app:
        yield {"url": app.url, "t0": app.t0, "healthy_s": app.healthy_s, "guard_log": guard_log}


def is_local_url(url: str) -> bool:
    """True for a URL that stays on this machine (a local scheme, or http(s)/ws(s) to a local host)."""
    p = urlparse(url)
    return p.scheme in LOCAL_SCHEMES or (p.scheme in {"http", "https", "ws", "wss"} and p.hostname in LOCAL_HOSTS)


def _webgl_canvas_painted(frame) -> bool:
    """True when the frame holds a sized canvas with some non-background pixels."""
    return frame.evaluate(
        """() => {
            const c = [...document.querySelectorAll('canvas')].find(c => c.width > 50 && c.height > 50);
            if (!c) return false;
            const probe = document.createElement('canvas');
            probe.width = 64; probe.height = 64;
            const ctx = probe.getContext('2d');
            ctx.drawImage(c, 0, 0, 64, 64);
            const d = ctx.getImageData(0, 0, 64, 64).data;
            const colours = new Set();
            for (let i = 0; i < d.length; i += 4) colours.add(d[i] + ',' + d[i+1] + ',' + d[i+2] + ',' + d[i+3]);
            return colours.size > 3;
        }"""
    )


def test_app_renders_offline_in_chromium(server):
    timings = {"server_healthy_s": round(server["healthy_s"], 2)}
    requests: list[str] = []
    console_errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
        try:
            # 1. cold start: server start -> interactive search page
            page.goto(server["url"], wait_until="domcontentloaded")
            page.get_by_text("Find a bundled crystal").first.wait_for(timeout=120_000)
            page.get_by_label("Formula").first.wait_for(timeout=60_000)
            timings["cold_start_to_interactive_s"] = round(time.monotonic() - server["t0"], 2)
            page.screenshot(path=str(ARTIFACTS / "01_start.png"))

            # 2. a bundled crystal by link: structure view, tensors, surfaces
            t1 = time.monotonic()
            page.goto(f"{server['url']}/?material_id={MATERIAL}", wait_until="domcontentloaded")
            page.get_by_role("heading", name=f"LiZnSb ({MATERIAL})").wait_for(timeout=120_000)
            timings["crystal_loaded_s"] = round(time.monotonic() - t1, 2)
            page.get_by_text("Predicted ε₀").first.wait_for(timeout=120_000)
            timings["first_prediction_s"] = round(time.monotonic() - t1, 2)
            page.locator(".js-plotly-plot").first.wait_for(timeout=120_000)
            timings["first_plot_s"] = round(time.monotonic() - t1, 2)

            # the 3D structure: an iframe holding 3Dmol's WebGL canvas, painted
            viewer = None
            deadline = time.monotonic() + 60
            while viewer is None and time.monotonic() < deadline:
                for f in page.frames:
                    if f is not page.main_frame and f.evaluate("() => !!window.$3Dmol"):
                        viewer = f
                        break
                else:
                    page.wait_for_timeout(500)
            assert viewer is not None, "no iframe with 3Dmol.js loaded"
            viewer.wait_for_selector("canvas", timeout=30_000)
            page.wait_for_timeout(1500)
            assert _webgl_canvas_painted(viewer), "the 3Dmol canvas is blank"

            # 3Dmol antialiases only on a GPU: on this CPU rasteriser it would cost seconds per view
            # (3Dmol draws through an offscreen WebGL context held by its renderer; py3Dmol names the
            # viewer viewer_<id>.)
            assert viewer.evaluate("""() => { const v = Object.keys(window).filter(k => k.startsWith('viewer_'))
                .map(k => window[k]).find(v => v && v.renderer && v.renderer._gl);
                return v ? v.renderer._gl.getContextAttributes().antialias : 'no viewer'; }""") is False

            # polar cuts (the open tab), then the plotly 3D surfaces (WebGL scenes) in their tab
            page.locator(".js-plotly-plot .polarlayer path").first.wait_for(timeout=60_000)
            page.get_by_role("tab", name="3D surface").first.click()
            page.locator(".js-plotly-plot .gl-container canvas").first.wait_for(timeout=60_000)
            n_scenes = page.evaluate("() => document.querySelectorAll('.js-plotly-plot .gl-container canvas').length")
            assert n_scenes >= 1
            assert not any("WebGL" in e for e in console_errors), console_errors
            page.screenshot(path=str(ARTIFACTS / "02_crystal.png"), full_page=False)
            page.locator(".js-plotly-plot .gl-container").first.scroll_into_view_if_needed()
            page.wait_for_timeout(1000)
            page.screenshot(path=str(ARTIFACTS / "03_surfaces.png"))

            # the IEEE 176 frame switch redraws the tensors, labelled with their frame
            page.locator('[data-testid="stRadio"] label').filter(has_text="IEEE 176 standard frame").first.click()
            page.get_by_text("IEEE 176 frame", exact=False).first.wait_for(timeout=120_000)
            page.locator(".js-plotly-plot").first.wait_for(timeout=120_000)
            page.wait_for_timeout(1000)
            page.screenshot(path=str(ARTIFACTS / "03b_ieee_frame.png"))

            # 3. the other pages render
            for name in ("What-if", "Model"):
                page.get_by_role("link", name=name).first.click()
                page.get_by_role("heading", name="What-if" if name == "What-if" else "Trust the model").wait_for(timeout=120_000)
                page.locator(".js-plotly-plot, [data-testid='stDataFrame']").first.wait_for(timeout=120_000)
                page.wait_for_timeout(1000)
                page.screenshot(path=str(ARTIFACTS / f"04_{name.lower().replace('-', '')}.png"))
                if name == "What-if":
                    # the physics route runs only on request: SevenNet-0 loads offline (the network
                    # guard below would record a download) and its tables appear beside the network's
                    page.get_by_role("button", name="Compute ionic e and ε from physics").click()
                    page.get_by_text("Physics: e_ion").first.wait_for(timeout=300_000)
                    page.get_by_text("Physics: e_ion").first.scroll_into_view_if_needed()
                    page.wait_for_timeout(1000)
                    page.screenshot(path=str(ARTIFACTS / "04b_ionic.png"))
        finally:
            browser.close()
    (ARTIFACTS / "browser-timings.json").write_text(json.dumps(timings, indent=1))
    print("timings:", timings)
    outside = sorted({u for u in requests if not is_local_url(u)})
    assert not outside, f"requests left the machine: {outside}"
    assert not server["guard_log"].read_text().strip(), f"the server reached out: {server['guard_log'].read_text()}"
    assert requests, "no request recorded"


def test_first_load_shows_only_the_apps_navigation(server):
    """Streamlit's automatic page list ("streamlit app, browse, explore, ...") never appears, not
    even before the script's navigation arrives; the app's own links do."""
    seen_auto: set[str] = set()
    links = 0
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        try:
            page.goto(server["url"], wait_until="commit")  # watch from the very first paint
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                info = page.evaluate("""() => ({
                    auto: [...document.querySelectorAll('[data-testid="stSidebarNav"] a')].map(a => a.innerText.trim()),
                    links: [...document.querySelectorAll('[data-testid="stPageLink"]')].map(a => a.innerText.trim()),
                })""")
                seen_auto.update(info["auto"])
                links = max(links, len(info["links"]))
                if links == 4 and time.monotonic() > deadline - 15:
                    break
                page.wait_for_timeout(50)
            page.screenshot(path=str(ARTIFACTS / "00_first_load_navigation.png"))
        finally:
            browser.close()
    assert not seen_auto, f"automatic page list shown: {sorted(seen_auto)}"
    assert links == 4
