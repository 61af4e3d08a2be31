"""Measure one child process honestly on a shared machine: wall, CPU seconds (user + system of the child and the
children it waited for), cores used (CPU / wall), peak RSS, and the load average before and after.

Wall times are noisy when other work runs; CPU seconds, cores used and ratios against a floor measured in the same
run are what a result should be judged by. ``busy(n)`` starts n CPU-bound processes beside a measurement (the
busy-machine rows) and stops them by their own process ids.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass

__all__ = ["Measured", "measure", "busy", "load"]


def load() -> float:
    return round(os.getloadavg()[0], 2)


@dataclass
class Measured:
    wall: float
    cpu: float  # user + system seconds
    user: float
    system: float
    peak_mb: float
    load_before: float
    load_after: float
    returncode: int
    output: str = ""

    @property
    def cores(self) -> float:
        return self.cpu / self.wall if self.wall > 0 else 0.0

    def row(self) -> dict:
        out = asdict(self)
        out.pop("output")
        out["cores"] = round(self.cores, 2)
        return {k: round(v, 2) if isinstance(v, float) else v for k, v in out.items()}


def measure(cmd: Sequence[str], env: Mapping[str, str] | None = None, cwd: str | None = None,
            check: bool = True) -> Measured:
    """Run ``cmd`` to its end and measure it (its rusage through wait4: its own and its waited-for children's)."""
    before = load()
    t = time.perf_counter()
    proc = subprocess.Popen(list(cmd), env=dict(env) if env is not None else None, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    m = Measured(wall, usage.ru_utime + usage.ru_stime, usage.ru_utime, usage.ru_stime, usage.ru_maxrss / 1024,
                 before, load(), proc.returncode, out)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed with exit {proc.returncode}:\n{out[-3000:]}")
    return m


@contextlib.contextmanager
def busy(n: int) -> Iterator[list[int]]:
    """``n`` CPU-bound Python processes (``while True: pass``) for the duration of the block."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        time.sleep(0.5 if n else 0)
        yield [p.pid for p in procs]
    finally:
        for p in procs:
            p.kill()
            p.wait()
