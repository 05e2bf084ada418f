"""The shipped configuration keeps the app local and offline: `streamlit run` with the repository's
.streamlit/config.toml only, every outside connection refused and recorded by a socket guard."""

import os
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

from app.server import running_app

ROOT = Path(__file__).resolve().parent.parent
GUARD = Path(__file__).resolve().parent / "netguard"


def test_shipped_config_is_local_and_quiet():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["address"] == "127.0.0.1"
    assert cfg["server"]["fileWatcherType"] == "none"
    assert cfg["browser"]["gatherUsageStats"] is False
    assert "--server.address" not in (ROOT / "scripts" / "app.sh").read_text()  # the config decides
    docker = (ROOT / "Dockerfile").read_text()
    assert "--server.address=0.0.0.0" in docker  # only the container listens on every interface


def test_guard_refuses_outside_connections(tmp_path):
    log = tmp_path / "net.log"
    env = {**os.environ, "PYTHONPATH": str(GUARD), "GMTNET_NET_GUARD_LOG": str(log)}
    code = "import socket\ntry:\n    socket.socket().connect(('192.0.2.1', 80))\nexcept OSError as e:\n    print('refused', e)\n"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert "blocked by the test guard" in out.stdout
    assert log.read_text().strip() == "connect 192.0.2.1"


def test_server_starts_and_serves_without_any_outside_connection(tmp_path):
    log = tmp_path / "net.log"
    env = {**os.environ, "PYTHONPATH": str(GUARD), "GMTNET_NET_GUARD_LOG": str(log), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("STREAMLIT_SERVER_ADDRESS", None)
    out_path = tmp_path / "streamlit.log"
    with open(out_path, "w") as out, running_app(env, log=out, timeout=120, plain=True) as app:
        with urllib.request.urlopen(app.url, timeout=10) as r:
            assert r.status == 200 and b"<html" in r.read().lower()
        time.sleep(2)  # start-up work after the first request (IP detection, usage stats)
    port = app.url.rsplit(":", 1)[1]
    text = out_path.read_text()
    assert not log.exists() or not log.read_text().strip(), f"outside connections: {log.read_text()}"
    assert "External URL" not in text and "Did not auto detect" not in text, text
    assert f"URL: http://127.0.0.1:{port}" in text, text
