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


def test_idle_thread_trims_once_per_idle_period():
    out = _run("""
        import time
        from app import memory
        calls = []
        memory.trim = lambda: calls.append(time.monotonic()) or True
        if not memory.start_idle_trimmer(idle_s=0.3, check_s=0.05):
            print("no-glibc"); raise SystemExit
        memory.touch()
        time.sleep(0.1)
        n_busy = len(calls)          # not yet idle long enough
        time.sleep(0.6)
        n_idle = len(calls)          # trimmed once
        time.sleep(0.5)
        n_still = len(calls)         # and not again while nothing ran
        memory.touch(); time.sleep(0.8)
        print(n_busy, n_idle, n_still, len(calls))
    """)
    if out == "no-glibc":
        pytest.skip("no malloc_trim in this libc")
    assert out.split() == ["0", "1", "1", "2"]
