"""Run this app's Streamlit server on a free local port: for the browser tests, the page benchmarks
and the README screenshot (one copy of the start / health-check / stop logic).

Example:
    >>> with running_app() as app:
    ...     page.goto(app.url)
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ROOT", "CHROMIUM", "CHROMIUM_FLAGS", "LocalApp", "free_port", "wait_healthy", "stop", "running_app"]

#: The repository root (where ``streamlit_app.py`` and ``.streamlit/config.toml`` are).
ROOT = Path(__file__).resolve().parent.parent
#: Debian's Chromium, driven by Playwright (never ``playwright install``, which downloads a browser).
CHROMIUM = Path("/usr/bin/chromium")
#: Headless, offline, and WebGL (3Dmol.js, plotly 3D) on the CPU rasteriser, as --disable-gpu leaves
#: no GPU path.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
]


@dataclass(frozen=True)
class LocalApp:
    """A running server: its base URL, process, start time (``time.monotonic``) and seconds to healthy."""

    url: str
    proc: subprocess.Popen
    t0: float
    healthy_s: float


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    """Poll Streamlit's ``/_stcore/health`` until it answers 200.

    Raises:
        RuntimeError: the server exited; TimeoutError: not healthy within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"streamlit did not become healthy within {timeout} s")


def stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    """Terminate the server, and kill it if it has not exited after ``timeout`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()


@contextmanager
def running_app(
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
    log=None,
    timeout: float = 180,
    root: Path = ROOT,
    plain: bool = False,
) -> Iterator[LocalApp]:
    """Start ``streamlit run streamlit_app.py`` (headless, on a free port, from ``root``), wait until
    it is healthy, yield it, and stop it on exit.

    Args:
        env: the server's environment (default: this process's); usage statistics are always off.
        args: extra ``streamlit run`` options (e.g. ``["--server.fileWatcherType", "none"]``).
        log: a file object for the server's output (default: discarded).
        root: the checkout to serve (``benchmarks/app_speed.py --app-root`` measures another one).
        plain: start exactly as ``streamlit run streamlit_app.py --server.port N`` with ``env`` as
            given, so that the shipped ``.streamlit/config.toml`` alone decides the rest (headless,
            address, usage statistics): what the offline test checks.
    """
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port)]
    environ = dict(os.environ if env is None else env)
    if not plain:
        cmd += ["--server.headless", "true"]
        environ["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] = "false"
    cmd += list(args)
    out = subprocess.DEVNULL if log is None else log
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=root, env=environ, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, timeout)
        yield LocalApp(url, proc, t0, time.monotonic() - t0)
    finally:
        stop(proc)
