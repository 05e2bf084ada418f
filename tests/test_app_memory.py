"""The app server gives freed heap back to the OS once idle (app.memory, glibc malloc_trim)."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="malloc_trim is glibc's")


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_trim_returns_freed_fragmented_heap_to_the_os():
    """Freed blocks pinned between live ones stay resident without a trim (what the server showed
    under load), and trim() gives them back."""
    out = _run("""
        import os
        from app import memory
        if not memory.start_idle_trimmer(idle_s=3600):
            print("no-glibc"); raise SystemExit
        page = os.sysconf("SC_PAGE_SIZE")
        rss = lambda: int(open("/proc/self/statm").read().split()[1]) * page
        blocks = [bytes(4000) for _ in range(60_000)]  # ~240 MB of malloc'd (not pymalloc) blocks
        keep = blocks[::50]  # every 50th stays alive: the heap cannot shrink from its top
        del blocks
        before = rss()
        released = memory.trim()
        after = rss()
        print(released, before, after)
    """)
    if out == "no-glibc":
        pytest.skip("no malloc_trim in this libc")
    released, before, after = out.split()
    assert released == "True"
    assert int(before) - int(after) > 150e6, (before, after)


def test_idle_thread_trims_only_while_idle_and_at_most_once_per_idle_interval():
    """No trim before the first page or while pages run; once idle for idle_s, one trim per idle_s
    (closed sessions are freed later than the idle period starts)."""
    out = _run("""
        import time
        from app import memory
        calls = []
        memory.trim = lambda: calls.append(time.monotonic()) or True
        if not memory.start_idle_trimmer(idle_s=0.4, check_s=0.02):
            print("no-glibc"); raise SystemExit
        time.sleep(0.6)
        n_before = len(calls)            # no page yet: nothing to trim
        for _ in range(10):              # pages every 0.1 s: never idle for 0.4 s
            memory.touch(); time.sleep(0.1)
        n_busy = len(calls)
        time.sleep(1.5)                  # idle: trims at ~0.4, 0.8, 1.2 s
        print(n_before, n_busy, len(calls))
    """)
    if out == "no-glibc":
        pytest.skip("no malloc_trim in this libc")
    n_before, n_busy, n_idle = map(int, out.split())
    assert (n_before, n_busy) == (0, 0) and 2 <= n_idle <= 4, out
