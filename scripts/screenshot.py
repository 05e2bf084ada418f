"""Regenerate the README screenshot (``docs/screenshot.png``) from the running app.

    .venv/bin/python scripts/screenshot.py [--material mp-9919] [--kind elastic] [--out docs/screenshot.png]

Starts the app on a free local port, opens the crystal by link in headless Chromium (Debian's
``/usr/bin/chromium``, driven by Playwright; nothing is downloaded), switches the tensor view to
the IEEE 176 frame and captures the tensor panel: the prediction with its ±1σ, the uncertainty
metric, any warnings, and the DFT reference beside it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a plain script from the checkout: app/ is not an installed package

from app.server import CHROMIUM, CHROMIUM_FLAGS, running_app  # noqa: E402


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--material", default="mp-9919", help="bundled material id (default: LiZnSb, P6_3mc)")
    ap.add_argument("--kind", default="elastic", choices=["dielectric", "dielectric_electronic", "piezoelectric", "elastic"],
                    help="tensor shown (default: elastic)")
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshot.png"))
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    from gmtnet.kinds import KINDS

    with running_app() as app, sync_playwright() as pw:
        url = app.url
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100}, device_scale_factor=1)
        page.goto(f"{url}/?material_id={args.material}", wait_until="domcontentloaded")
        page.get_by_text("Predicted ", exact=False).first.wait_for(timeout=180_000)
        title = KINDS[args.kind].title  # the Tensor radio reads "<symbol> <title>"
        page.locator('[data-testid="stRadio"] label').filter(has_text=title).first.click()
        page.get_by_text("± 1σ", exact=False).first.wait_for(timeout=180_000)
        page.locator('[data-testid="stRadio"] label').filter(has_text="IEEE 176 standard frame").first.click()
        page.get_by_text("IEEE 176 frame", exact=False).first.wait_for(timeout=180_000)
        page.wait_for_timeout(2500)  # let the tables and figures settle after the rerun
        # Put the tensor panel's heading at the top of the view: metric, tables and allowed form below.
        page.get_by_text(KINDS[args.kind].title, exact=False).nth(1).evaluate("e => e.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(1000)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=args.out)
        browser.close()
    print("wrote", args.out)


if __name__ == "__main__":
    main()
