"""Server-side load test of the app: N concurrent sessions exploring crystals over loopback.

Starts ``streamlit run streamlit_app.py`` on 127.0.0.1 and drives it with N headless clients that
speak Streamlit's own websocket protocol (``/_stcore/stream``, protobuf ``BackMsg``/``ForwardMsg``),
so the browsers' rendering cost is left out and the server is measured on its own. Each session
loops for ``--duration`` seconds: ask for a random bundled crystal (``?material_id=…``, as a shared
link does), wait until the page has sent a predicted tensor (a "Predicted …" block) and the
run has finished. Reported: time to a prediction (p50/p95), requests, errors (exceptions or error
alerts on the page), timeouts, the server's resident memory after warm-up, at peak and after an
idle period, and the load average (other processes on the machine share its CPUs).

    python benchmarks/app_load.py --sessions 8 --duration 120

Writes ``benchmarks/results/app-load.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # app/ is not an installed package
from app.server import free_port, wait_healthy  # noqa: E402
from app.server import stop as stop_server  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "app-load.json"
# A shared link opens on a tensor that has a DFT reference (not always ε₀): any predicted block counts.
MARKER = "Predicted "


def _texts(msg: ForwardMsg) -> list[str]:
    """Markdown / alert bodies of a delta (where the page's text is)."""
    if msg.WhichOneof("type") != "delta" or msg.delta.WhichOneof("type") != "new_element":
        return []
    el = msg.delta.new_element
    kind = el.WhichOneof("type")
    if kind == "markdown":
        return [el.markdown.body]
    if kind == "alert":
        return [f"ALERT:{el.alert.format}:{el.alert.body}"]
    if kind == "exception":
        return [f"EXCEPTION:{el.exception.type}: {el.exception.message}"]
    return []


async def one_request(ws, material_id: str, timeout: float) -> tuple[float | None, list[str]]:
    """Ask for one crystal; seconds to the prediction (None if none came) and problems seen."""
    back = BackMsg(rerun_script=ClientState(query_string=f"material_id={material_id}", page_script_hash=""))
    t0 = time.monotonic()
    await ws.send(back.SerializeToString())
    got, problems = None, []
    deadline = t0 + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            problems.append("timeout")
            return got, problems
        try:
            raw = await asyncio.wait_for(ws.recv(), timeout=left)
        except asyncio.TimeoutError:
            problems.append("timeout")
            return got, problems
        msg = ForwardMsg.FromString(raw)
        for text in _texts(msg):
            if got is None and MARKER in text:
                got = time.monotonic() - t0
            if text.startswith("EXCEPTION") or text.startswith("ALERT:1:"):  # 1: error alerts
                problems.append(text[:200])
        if msg.WhichOneof("type") == "script_finished":
            # A rerun we requested may first stop the one in progress (status "rerun"): keep reading.
            name = ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished)
            if name == "FINISHED_SUCCESSFULLY" and got is not None:
                return got, problems
            if name == "FINISHED_WITH_COMPILE_ERROR":
                problems.append(name)
                return got, problems


async def session(url: str, ids: list[str], seed: int, until: float, timeout: float, log: list) -> None:
    rng = random.Random(seed)
    ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
    async with websockets.connect(ws_url, subprotocols=["streamlit"], max_size=None) as ws:
        while time.monotonic() < until:
            mid = rng.choice(ids)
            seconds, problems = await one_request(ws, mid, timeout)
            log.append({"session": seed, "material_id": mid, "seconds": seconds, "problems": problems})


async def run_sessions(url: str, ids: list[str], n: int, duration: float, timeout: float) -> list[dict]:
    log: list[dict] = []
    until = time.monotonic() + duration
    await asyncio.gather(*(session(url, ids, k, until, timeout, log) for k in range(n)))
    return log


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=8)
    ap.add_argument("--duration", type=float, default=120.0, help="seconds of load")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds before a request counts as timed out")
    ap.add_argument("--idle", type=float, default=180.0,
                    help="seconds of idle after the load (longer than server.disconnectedSessionTTL, 120 s)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()

    from gmtnet.catalog import build_catalog

    ids = sorted(build_catalog()["material_id"])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    cmd = [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port), "--server.fileWatcherType", "none"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = psutil.Process(proc.pid)
    samples: list[tuple[float, int]] = []
    try:
        wait_healthy(url, proc)
        # Warm-up: one session asks for a few crystals (first imports, first predictions), then we
        # wait until the background thread has loaded every model (resident memory stable).
        warm = asyncio.run(run_sessions(url, ids[:: max(1, len(ids) // 8)][:8], 1, 20.0, 300.0))
        if not warm or any(r["seconds"] is None for r in warm):
            raise RuntimeError(f"warm-up failed: {warm}")
        rss_warm, t_warm = server.memory_info().rss, time.monotonic()
        while time.monotonic() - t_warm < 180:
            time.sleep(10)
            rss = server.memory_info().rss
            if abs(rss - rss_warm) < 0.01 * rss_warm:
                break
            rss_warm = rss

        stop = False

        def sampler():
            while not stop:
                samples.append((time.monotonic(), server.memory_info().rss))
                time.sleep(0.5)

        import threading

        th = threading.Thread(target=sampler, daemon=True)
        th.start()
        t0 = time.monotonic()
        load_before = os.getloadavg()
        log = asyncio.run(run_sessions(url, ids, args.sessions, args.duration, args.timeout))
        wall = time.monotonic() - t0
        load_after = os.getloadavg()
        time.sleep(args.idle)
        stop = True
        th.join()
        rss_idle = server.memory_info().rss
        alive = proc.poll() is None
    finally:
        stop_server(proc)

    times = [r["seconds"] for r in log if r["seconds"] is not None]
    timeouts = sum("timeout" in r["problems"] for r in log)
    errors = [p for r in log for p in r["problems"] if p != "timeout"]
    peak = max(rss for _, rss in samples)
    result = {
        "benchmark": "app_load",
        "what": "time from asking for a bundled crystal (?material_id=) to its first predicted tensor on the page, "
                "per request, with N concurrent websocket sessions (no browsers), loopback",
        "sessions": args.sessions,
        "duration_s": round(wall, 1),
        "requests": len(log),
        "predictions": len(times),
        "errors": len(errors),
        "error_examples": errors[:5],
        "timeouts": timeouts,
        "timeout_s": args.timeout,
        "p50_s": round(statistics.median(times), 3) if times else None,
        "p95_s": round(percentile(times, 0.95), 3) if times else None,
        "max_s": round(max(times), 3) if times else None,
        "server_rss_mb": {"after_warm_up": round(rss_warm / 1e6), "peak": round(peak / 1e6),
                          f"idle_{args.idle:g}s_after": round(rss_idle / 1e6)},
        "idle_over_warm_up": round(rss_idle / rss_warm, 3),
        "server_alive": alive,
        "load_average_1_5_15": {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in load_after]},
        "cpus": os.cpu_count(),
        "malloc_arena_max": os.environ.get("MALLOC_ARENA_MAX"),
        "note": "the machine's CPUs are shared with other jobs while this runs: see load_average",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if (alive and not errors and not timeouts) else 1


if __name__ == "__main__":
    sys.exit(main())
