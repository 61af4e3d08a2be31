"""CPU seconds (user + system, every thread, and child processes) of each step of ``loyalist demo``, in-process.

    cd <empty folder> && PYTHONPATH=<checkout>/src python <checkout>/benchmarks/profile_demo.py [customers]

Runs :func:`loyalist.jobs.demo.run` as ``loyalist demo`` does (5,000 customers, seed 42 unless a count is given)
and prints one line per step: generate, write_raw, prepare, loyalty, train, score (earlier cut-off), the campaign
(its snapshot, simulation, effect, uplift), score, report, with the imports first and the total last. Works on older
checkouts too (it wraps the job modules' functions by name), so two commits can be compared step by step.

``OMP_WAIT_POLICY`` is set to PASSIVE first, as the CLI does (loyalist.cli): without it LightGBM's OpenMP threads
spin at every barrier and a loaded machine doubles or triples the uplift step's CPU (172 instead of 14 CPU s at
load 25), which is not what ``loyalist demo`` costs. Run two checkouts side by side to give them the same load.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ROWS: list[tuple[int, str, float, float, float]] = []
_DEPTH = [0]


def _cpu() -> tuple[float, float]:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + children.ru_utime, own.ru_stime + children.ru_stime


def _wrap(module: Any, name: str, label: str) -> None:
    fn = getattr(module, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        (u0, s0), w0 = _cpu(), time.perf_counter()
        _DEPTH[0] += 1
        try:
            return fn(*args, **kwargs)
        finally:
            _DEPTH[0] -= 1
            u1, s1 = _cpu()
            ROWS.append((_DEPTH[0], label, u1 - u0, s1 - s0, time.perf_counter() - w0))

    setattr(module, name, timed)


def main() -> None:
    customers = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    (u0, s0), w0 = _cpu(), time.perf_counter()
    import loyalist.cli  # noqa: F401  the CLI's own imports
    import loyalist.data.campaign as campaign
    import loyalist.features.snapshot as snapshot
    from loyalist.jobs import demo, effect, loyalty, prepare, report, score, train, uplift
    from loyalist.jobs._ui import Reporter

    u1, s1 = _cpu()
    ROWS.append((0, "imports", u1 - u0, s1 - s0, time.perf_counter() - w0))
    for module, name, label in [
        (demo, "generate", "generate"), (demo, "write_raw", "write_raw"), (prepare, "run", "prepare"),
        (loyalty, "run", "loyalty"), (train, "run_training", "train"), (score, "run_scoring", "score"),
        (report, "run", "report"), (effect, "run", "effect"), (uplift, "run", "uplift"),
        (campaign, "simulate_uplift_campaign", "simulate"),
        # imported inside the campaign step and the jobs that read it at call time
        (snapshot, "build_snapshot", "build_snapshot (campaign)"), (demo, "_campaign", "campaign (all)"),
    ]:
        _wrap(module, name, label)
    demo.run(workdir=Path("."), n_customers=customers, seed=42, env=dict(os.environ), reporter=Reporter(quiet=True))
    u2, s2 = _cpu()
    ROWS.append((0, "total", u2 - u0, s2 - s0, time.perf_counter() - w0))
    print(f"{'step':32s} {'user':>7s} {'sys':>6s} {'CPU':>7s} {'wall':>7s}")
    for depth, label, user, system, wall in ROWS:
        print(f"{'  ' * depth + label:32s} {user:7.2f} {system:6.2f} {user + system:7.2f} {wall:7.2f}")
    print(f"maxrss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss:,} kB; load {os.getloadavg()}")


if __name__ == "__main__":
    main()
