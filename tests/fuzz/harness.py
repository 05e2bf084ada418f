"""Runs the fuzz corpus in worker subprocesses with a per-case watchdog; also the CLI path.

Each worker (:mod:`fuzz.worker`) processes many cases (loading the models once); the parent reads
its ``@@`` lines and watches it:

* a case that does not finish within ``case_timeout`` seconds is a **hang** (the worker is killed
  and a new one continues with the next case);
* a worker that dies during a case (a signal such as SIGSEGV, or any exit) is a **crash** of that
  case;
* a worker whose resident memory exceeds ``memory_limit`` bytes during a case is a **memory**
  blow-up (killed, continued).

``run_cases`` returns ``{index: {"outcome", "message"}}`` with outcome in ``success``, ``clear``,
``unclear``, ``crash``, ``hang``, ``memory``.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).resolve().parent / "worker.py"
OUTCOMES = ("clear", "success", "unclear", "crash", "hang", "memory")


def _drive(indices: list[int], results: dict, *, seed: int, path: str, kinds: str, case_timeout: float,
           startup_timeout: float, memory_limit: int, lock: threading.Lock) -> None:
    remaining = list(indices)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    while remaining:
        cmd = [sys.executable, str(WORKER), "--seed", str(seed), "--path", path, "--kinds", kinds,
               "--cases", ",".join(map(str, remaining))]
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [lines.put(ln) for ln in proc.stdout] + [lines.put(None)], daemon=True).start()
        stderr_tail: list[str] = []
        threading.Thread(target=lambda: [stderr_tail.append(ln) or stderr_tail.__delitem__(slice(0, -40))
                                         for ln in proc.stderr], daemon=True).start()
        ps = psutil.Process(proc.pid)
        current, started, ready = None, time.monotonic(), False
        verdict = None
        while True:
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                line = ""
            if line is None:  # the worker's stdout closed: it exited
                proc.wait()
                if current is not None:
                    verdict = ("crash", f"worker exited with status {proc.returncode} during the case; "
                               + "".join(stderr_tail[-3:])[-300:])
                elif not ready:
                    raise RuntimeError(f"fuzz worker failed to start (status {proc.returncode}):\n" + "".join(stderr_tail))
                break
            if line.startswith("@@"):
                msg = json.loads(line[2:])
                if "ready" in msg:
                    ready, started = True, time.monotonic()
                elif "begin" in msg:
                    current, started = msg["begin"], time.monotonic()
                else:
                    with lock:
                        results[msg["i"]] = {"outcome": msg["outcome"], "message": msg["message"]}
                    remaining.remove(msg["i"])
                    current = None
                continue
            limit = case_timeout if ready else startup_timeout
            if time.monotonic() - started > limit:
                if not ready:
                    proc.kill()
                    raise RuntimeError(f"fuzz worker did not start within {startup_timeout} s")
                verdict = ("hang", f"no answer within {case_timeout:g} s")
            else:
                try:
                    rss = ps.memory_info().rss
                except psutil.Error:
                    rss = 0
                if current is not None and rss > memory_limit:
                    verdict = ("memory", f"resident memory {rss / 1e9:.2f} GB > {memory_limit / 1e9:.2f} GB")
            if verdict is not None:
                proc.kill()
                proc.wait()
                break
        if verdict is not None and current is not None:
            with lock:
                results[current] = {"outcome": verdict[0], "message": verdict[1]}
            remaining.remove(current)


def run_cases(indices: list[int], *, seed: int = 0, path: str = "library", kinds: str = "all", workers: int = 2,
              case_timeout: float = 60.0, startup_timeout: float = 600.0, memory_limit: int = 3_000_000_000) -> dict:
    """Run ``indices`` of ``generate(seed)`` through ``path`` in ``workers`` parallel subprocesses."""
    results: dict[int, dict] = {}
    lock = threading.Lock()
    chunks = [indices[k::workers] for k in range(workers)]
    errors: list[BaseException] = []

    def target(chunk):
        try:
            _drive(chunk, results, seed=seed, path=path, kinds=kinds, case_timeout=case_timeout,
                   startup_timeout=startup_timeout, memory_limit=memory_limit, lock=lock)
        except BaseException as err:  # surfaced below
            errors.append(err)

    threads = [threading.Thread(target=target, args=(c,)) for c in chunks if c]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


# --------------------------------------------------------------------------- CLI

_ERROR_LINE = re.compile(r"^(?P<path>\S.*?): (?P<msg>.*)$")


def run_cli(cases: list, indices: list[int], workdir: Path, *, batch: int = 30, timeout: float = 600.0,
            kinds: tuple[str, ...] = ()) -> dict:
    """``python -m gmtnet predict`` on the given cases (written under ``workdir`` with their own
    names), ``batch`` files per invocation; ``{index: {"outcome", "message"}}``.

    A file is a success when a prediction header was printed for it, clear when the CLI printed a
    clear one-line message for it, unclear otherwise; a batch that dies by a signal or prints a
    traceback marks its unfinished files as crashes, one that runs past ``timeout`` as hangs.
    """
    from fuzz.worker import is_clear

    results: dict[int, dict] = {}
    paths = {}
    for i in indices:
        d = workdir / f"case{i}"
        d.mkdir(parents=True, exist_ok=True)
        p = d / (cases[i].name.replace("/", "_") or "unnamed")
        p.write_bytes(cases[i].data)
        paths[i] = p
    kind_args = [a for k in kinds for a in ("--kind", k)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for start in range(0, len(indices), batch):
        chunk = indices[start : start + batch]
        cmd = [sys.executable, "-m", "gmtnet", "predict", *kind_args, "--device", "cpu", *map(str, (paths[i] for i in chunk))]
        try:
            proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
            out, err, rc, hung = proc.stdout, proc.stderr, proc.returncode, False
        except subprocess.TimeoutExpired as exc:
            out, err, rc, hung = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or ""), "", None, True
        for i in chunk:
            p = str(paths[i])
            mine = [ln for ln in out.splitlines() if ln.startswith(p + ": ")]
            success = [ln for ln in mine if "point group" in ln and "(#" in ln]
            errs = [ln[len(p) + 2 :] for ln in mine if ln not in success]
            if errs:
                results[i] = {"outcome": "clear" if is_clear(errs[0]) else "unclear", "message": errs[0][:500]}
            elif success:
                results[i] = {"outcome": "success", "message": success[0][len(p) + 2 :][:200]}
            elif hung:
                results[i] = {"outcome": "hang", "message": f"the CLI batch ran past {timeout:g} s"}
            else:
                why = f"exit status {rc}" + ("; traceback: " + err.strip().splitlines()[-1][:300] if "Traceback" in err else "")
                results[i] = {"outcome": "crash", "message": why}
    return results


def table(results: dict) -> dict[str, int]:
    """Counts per outcome, in :data:`OUTCOMES` order."""
    counts = {k: 0 for k in OUTCOMES}
    for r in results.values():
        counts[r["outcome"]] += 1
    return counts
