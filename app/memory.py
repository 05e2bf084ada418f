"""Give the server's freed heap back to the operating system once it is idle (glibc ``malloc_trim``).

Under load the app server's resident memory grew from ~580 to ~880 MB and stayed at ~850 MB when
idle (``benchmarks/results/app-load.json``). Most of that growth is memory Python and numpy/torch
have already freed: glibc keeps freed blocks in its arenas (one per thread that allocated, and
Streamlit runs each session's script in its own thread) and returns them to the kernel only when
the top of an arena is free. ``MALLOC_ARENA_MAX=2`` alone did not change that
(``app-load-malloc-arena-2.json``). ``malloc_trim(0)`` walks every arena and releases the free
pages in the middle of them too (``madvise(MADV_DONTNEED)``).

It is called from a daemon thread once the app has had no page run for :data:`IDLE_S` seconds, and
again every :data:`IDLE_S` seconds while it stays idle: Streamlit frees a closed session's state
only ``server.disconnectedSessionTTL`` (120 s) after its websocket closed, so a single trim at the
start of the idle period comes too early. Trimming costs a few to tens of milliseconds (it takes
each arena's lock): nothing once idle, but it would be paid by every page if done after each run.
Only on Linux with glibc; elsewhere (macOS, musl) :func:`trim` does nothing and returns False.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
import threading
import time

__all__ = ["IDLE_S", "CHECK_S", "trim", "touch", "start_idle_trimmer"]

#: Seconds without a page run after which the heap is trimmed.
IDLE_S = 30.0
#: How often the idle thread looks (seconds).
CHECK_S = 5.0

_lock = threading.Lock()
_last_activity = time.monotonic()
_last_trim: float | None = None  # None: nothing to give back before the first page
_thread: threading.Thread | None = None
_malloc_trim = None


def _libc_malloc_trim():
    """glibc's ``malloc_trim`` or None (not Linux, or a libc without it)."""
    global _malloc_trim
    if _malloc_trim is None:
        fn = False
        if sys.platform.startswith("linux"):
            try:
                fn = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
                fn.argtypes, fn.restype = [ctypes.c_size_t], ctypes.c_int
            except (OSError, AttributeError):  # musl has no malloc_trim
                fn = False
        _malloc_trim = fn
    return _malloc_trim or None


def trim() -> bool:
    """Release free heap pages to the OS now; True if glibc released any memory."""
    fn = _libc_malloc_trim()
    return bool(fn(0)) if fn is not None else False


def touch() -> None:
    """Record a page run (the idle clock starts again)."""
    global _last_activity, _last_trim
    with _lock:
        _last_activity = _last_trim = time.monotonic()


def _idle_loop(idle_s: float, check_s: float) -> None:
    global _last_trim
    while True:
        time.sleep(check_s)
        with _lock:
            now = time.monotonic()
            due = _last_trim is not None and now - _last_activity >= idle_s and now - _last_trim >= idle_s
            if due:
                _last_trim = now
        if due:
            trim()


def start_idle_trimmer(idle_s: float = IDLE_S, check_s: float = CHECK_S) -> bool:
    """Start the idle-trim thread once per process; False where there is no ``malloc_trim``."""
    global _thread
    if _libc_malloc_trim() is None:
        return False
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_idle_loop, args=(idle_s, check_s), name="gmtnet-idle-trim", daemon=True)
            _thread.start()
    return True
