"""Page times of the app in a real browser: prints medians and writes JSON.

    python benchmarks/app_speed.py [--repeats 5] [--out benchmarks/results/app-speed.json]

Starts ``streamlit run streamlit_app.py`` on 127.0.0.1 (the shipped config), drives Debian's
Chromium (/usr/bin/chromium, headless, the flags of tests/test_browser.py) with Playwright and
measures, each ``--repeats`` times (median reported, every sample kept):

* ``first_page_s``: a new browser session until the search page is interactive (the first sample is
  the first visit after the server is up; the process has not loaded torch yet);
* ``new_crystal_s``: opening a bundled crystal by link (``?material_id=``, a new session: the
  browser loads the app again) until the page is complete, the 3D structure view included;
* ``new_crystal_pick_s``: opening another bundled crystal from the search panel's picker in the
  same session, until the page is complete;
* ``tensor_switch_s``: clicking another tensor (ε → e → C → ε …) until complete;
* ``surface_tab_s``: opening the "3D surface" tab of the directional surfaces (two WebGL scenes,
  built only when the tab is open) until both scenes are drawn; the polar-cut tab is reopened
  before the next step;
* ``model_page_s``: Explore → Model until the benchmark table and the parity plot are drawn (the
  first visit, which predicts the test split once per session, is reported apart).

"Complete" means: the expected text is on the page, Streamlit's running indicator is gone, no
element is stale (left over from the previous run, waiting to be replaced), at least the expected
number of plotly figures have drawn their SVG, and, for a new crystal, the 3Dmol canvas of the
structure view exists. The CPU seconds that the server process and the Chromium processes spent
per sample are recorded beside the wall times (``cpu_s``): where the time goes. The load average of
the machine is recorded before and after (other jobs on a shared machine slow every number down).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # app/ is not an installed package
from app.server import free_port as _free_port  # noqa: E402
from app.server import CHROMIUM, CHROMIUM_FLAGS, stop  # noqa: E402
from app.server import wait_healthy as _wait_healthy  # noqa: E402

TARGETS_S = {"first_page_s": 3.0, "new_crystal_s": 1.5, "new_crystal_pick_s": 1.5, "tensor_switch_s": 1.5,
             "model_page_s": 3.0}
KIND_LABELS = {"dielectric": "Static dielectric tensor", "piezoelectric": "Piezoelectric stress tensor",
               "elastic": "Elastic stiffness tensor"}
KIND_SYMBOLS = {"dielectric": "ε₀", "piezoelectric": "e", "elastic": "C"}

_COMPLETE_JS = """([text, nPlots, nScenes, viewer]) => {
    const running = document.querySelector('[data-testid="stStatusWidget"]');
    if (running && running.innerText.match(/Running|Stop/)) return false;
    if (document.querySelector('[data-testid="stElementContainer"][data-stale="true"]')) return false;
    if (!document.body.innerText.includes(text)) return false;
    const plots = [...document.querySelectorAll('.js-plotly-plot')].filter(p => p.querySelector('.main-svg'));
    if (plots.length < nPlots) return false;
    if (document.querySelectorAll('.js-plotly-plot .gl-container canvas').length < nScenes) return false;
    if (viewer) {
        // The 3Dmol view: a same-origin iframe holding a sized canvas.
        const painted = [...document.querySelectorAll('iframe')].some(f => {
            try { const c = f.contentDocument && f.contentDocument.querySelector('canvas'); return !!(c && c.width > 50); }
            catch (e) { return false; }
        });
        if (!painted) return false;
    }
    return true;
}"""
#: Plotly figures on a complete Explore page when the crystal has a DFT reference of the shown
#: kind: Voigt heatmap, polar cuts, difference heatmap (the 3D surface is in a tab of its own).
N_PLOTS = 3


def _wait_complete(page, text: str, n_plots: int, timeout_s: float = 300, n_scenes: int = 0,
                   viewer: bool = False) -> None:
    # A short grace period so that a rerun triggered by the last action has started.
    page.wait_for_timeout(30)
    page.wait_for_function(_COMPLETE_JS, arg=[text, n_plots, n_scenes, viewer], timeout=timeout_s * 1000, polling=25)


class _Cpu:
    """CPU seconds (user + system) of the server process and of this process's Chromium children."""

    def __init__(self, server_pid: int):
        import psutil

        self._psutil = psutil
        self.server = psutil.Process(server_pid)
        self.spent: dict[str, list[dict]] = {}

    def _browser(self) -> float:
        total = 0.0
        for p in self._psutil.Process().children(recursive=True):
            try:
                if "chrom" in p.name().lower():
                    t = p.cpu_times()
                    total += t.user + t.system
            except self._psutil.Error:  # a renderer that has just gone away
                pass
        return total

    def _server(self) -> float:
        t = self.server.cpu_times()
        return t.user + t.system

    def start(self) -> tuple[float, float]:
        return self._server(), self._browser()

    def stop(self, label: str, started: tuple[float, float]) -> None:
        # Renderers that exit during a sample take their CPU time with them: browser figures are
        # lower bounds, mostly for page loads (a new session gets a new renderer).
        self.spent.setdefault(label, []).append(
            {"server": round(self._server() - started[0], 3), "browser": round(self._browser() - started[1], 3)})


def pick_materials(n: int) -> list[str]:
    """Bundled crystals with all three DFT references (small cells first, a stable choice)."""
    from gmtnet.catalog import build_catalog

    cat = build_catalog()
    full = cat[cat["has_dielectric"] & cat["has_piezoelectric"] & cat["has_elastic"]]
    full = full[full["flags"].map(len) == 0].sort_values(["nsites", "material_id"])
    return list(full["material_id"].iloc[: n + 1])


def run(repeats: int, app_root: Path = ROOT) -> dict:
    """All measurements on the app in ``app_root`` (another checkout, e.g. an older commit, for a
    before/after comparison with this same script)."""
    from playwright.sync_api import sync_playwright

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    log = open(ROOT / "test-artifacts" / "app-speed-server.log", "w")
    load_before = os.getloadavg()
    t_start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port)],
                            cwd=app_root, env=env, stdout=log, stderr=subprocess.STDOUT)
    out: dict = {"samples": {}}
    materials = pick_materials(repeats)
    cpu = _Cpu(proc.pid)
    try:
        _wait_healthy(url, proc)
        out["server_healthy_s"] = round(time.monotonic() - t_start, 3)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
            first = []
            for _ in range(repeats):
                ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = ctx.new_page()
                t0, c0 = time.monotonic(), cpu.start()
                page.goto(url, wait_until="domcontentloaded")
                page.get_by_label("Formula").first.wait_for(timeout=300_000)
                first.append(time.monotonic() - t0)
                cpu.stop("first_page_s", c0)
                ctx.close()
            out["samples"]["first_page_s"] = first

            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            # Warm-up (not timed): the first crystal waits for torch and the models to load.
            t0 = time.monotonic()
            page.goto(f"{url}/?material_id={materials[0]}", wait_until="domcontentloaded")
            _wait_complete(page, f"({materials[0]})", N_PLOTS, viewer=True)
            out["first_crystal_after_start_s"] = round(time.monotonic() - t0, 3)
            crystals = []
            for mid in materials[1 : repeats + 1]:
                t0, c0 = time.monotonic(), cpu.start()
                page.goto(f"{url}/?material_id={mid}", wait_until="domcontentloaded")
                _wait_complete(page, f"({mid})", N_PLOTS, viewer=True)
                crystals.append(time.monotonic() - t0)
                cpu.stop("new_crystal_s", c0)
            out["samples"]["new_crystal_s"] = crystals

            # The same crystals again (but the one shown), picked in the search panel of this session
            # (their predictions are cached by now, as they would be for a popular crystal on a server).
            picks = []
            page.get_by_text("Find a bundled crystal").first.click()
            for mid in materials[:repeats]:
                # Not timed: narrow the matches to this id (the picker lists the first 500 only).
                id_box = page.get_by_label("Material id").first
                id_box.fill(mid)
                id_box.press("Enter")
                page.wait_for_function("""() => [...document.querySelectorAll('[data-testid="stCaptionContainer"]')]
                    .some(c => /^1 of /.test(c.innerText)) && !document.querySelector('[data-stale="true"]')""",
                                       timeout=60_000, polling=25)
                box = page.locator('[data-testid="stSelectbox"]').filter(has_text="pick from the matches").first
                t0, c0 = time.monotonic(), cpu.start()
                box.locator("input").first.click()
                box.locator("input").first.fill(mid)
                page.keyboard.press("Enter")
                _wait_complete(page, f"({mid})", N_PLOTS, viewer=True)
                picks.append(time.monotonic() - t0)
                cpu.stop("new_crystal_pick_s", c0)
            out["samples"]["new_crystal_pick_s"] = picks

            switches = []
            order = ["elastic", "dielectric", "piezoelectric"]
            for i in range(repeats + 1):
                kind = order[i % 3]
                t0, c0 = time.monotonic(), cpu.start()
                page.locator('[data-testid="stRadio"] label').filter(has_text=KIND_LABELS[kind]).first.click()
                _wait_complete(page, f"Predicted {KIND_SYMBOLS[kind]} ± 1σ (", N_PLOTS)
                switches.append(time.monotonic() - t0)
                if i:
                    cpu.stop("tensor_switch_s", c0)
            out["first_switch_to_each_kind_s"] = [round(x, 3) for x in switches[:3]]
            out["samples"]["tensor_switch_s"] = switches[1:]  # the first click may still load a model

            surfaces = []
            # An app without the tab (before the 3D surface moved into one) draws it on every run.
            has_tab = page.get_by_role("tab", name="3D surface").count() > 0
            for i in range(repeats if has_tab else 0):
                kind = order[i % 3]
                page.locator('[data-testid="stRadio"] label').filter(has_text=KIND_LABELS[kind]).first.click()
                _wait_complete(page, f"Predicted {KIND_SYMBOLS[kind]} ± 1σ (", N_PLOTS)
                t0, c0 = time.monotonic(), cpu.start()
                page.get_by_role("tab", name="3D surface").first.click()
                # heatmap, 3D surfaces, difference; two WebGL scenes (prediction and DFT)
                _wait_complete(page, f"Predicted {KIND_SYMBOLS[kind]} ± 1σ (", N_PLOTS, n_scenes=2)
                surfaces.append(time.monotonic() - t0)
                cpu.stop("surface_tab_s", c0)
                page.get_by_role("tab", name="Polar cuts").first.click()
                _wait_complete(page, f"Predicted {KIND_SYMBOLS[kind]} ± 1σ (", N_PLOTS)
            if has_tab:
                out["samples"]["surface_tab_s"] = surfaces

            model = []
            for i in range(repeats + 1):
                t0, c0 = time.monotonic(), cpu.start()
                page.get_by_role("link", name="Model").first.click()
                page.get_by_role("heading", name="Trust the model").wait_for(timeout=600_000)
                _wait_complete(page, "Parity on the test split", 1, timeout_s=600)
                model.append(time.monotonic() - t0)
                if i:
                    cpu.stop("model_page_s", c0)
                page.get_by_role("link", name="Explore").first.click()
                page.get_by_role("heading", name="GMTNet Explorer").wait_for(timeout=300_000)
                _wait_complete(page, "Symmetry beside DFT", N_PLOTS)
            out["model_page_first_visit_s"] = round(model[0], 3)
            out["samples"]["model_page_s"] = model[1:]
            browser.close()
    finally:
        stop(proc)
        log.close()
    out["samples"] = {k: [round(x, 3) for x in v] for k, v in out["samples"].items()}
    out["median_s"] = {k: round(statistics.median(v), 3) for k, v in out["samples"].items()}
    out["targets_s"] = TARGETS_S
    out["ratio_to_target"] = {k: round(out["median_s"][k] / TARGETS_S[k], 2) for k in TARGETS_S if k in out["median_s"]}
    out["cpu_s"] = cpu.spent
    out["median_cpu_s"] = {k: {w: round(statistics.median(x[w] for x in v), 3) for w in ("server", "browser")}
                           for k, v in cpu.spent.items()}
    out["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                      "loadavg_before": [round(x, 2) for x in load_before],
                      "loadavg_after": [round(x, 2) for x in os.getloadavg()]}
    out["materials"] = materials
    out["app_root"] = str(app_root)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "app-speed.json"))
    ap.add_argument("--app-root", type=Path, default=ROOT,
                    help="checkout whose app is measured (default: this one), e.g. an older commit's `git archive`")
    args = ap.parse_args()
    if args.repeats < 5:
        raise SystemExit("--repeats must be at least 5 (medians of >= 5)")
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install chromium (never `playwright install`)")
    res = run(args.repeats, args.app_root.resolve())
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n")
    for k, v in res["median_s"].items():
        target = f"target {TARGETS_S[k]:.1f} s" if k in TARGETS_S else "no target   "
        c = res["median_cpu_s"].get(k, {})
        print(f"{k:18s} median {v:7.2f} s   {target}   cpu server {c.get('server', float('nan')):.2f} s, "
              f"browser {c.get('browser', float('nan')):.2f} s   samples {res['samples'][k]}")
    print(f"first crystal after start {res['first_crystal_after_start_s']} s; model page first visit "
          f"{res['model_page_first_visit_s']} s; load average {res['machine']['loadavg_before']} -> "
          f"{res['machine']['loadavg_after']} on {res['machine']['cpus']} CPUs")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
