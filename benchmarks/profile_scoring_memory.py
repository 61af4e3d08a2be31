"""Where the scoring job's memory goes (issue 14): `loyalist score` run in this process (the CLI's own command
function) with a thread sampling the resident memory (VmRSS) every 20 ms; prints, per stage of the job, the RSS at
the stage's end and the highest RSS sampled during it (the summary's ``peak_mb`` is only the running maximum).

    MLFLOW_TRACKING_URI=sqlite:///benchmarks/_work/serve/mlruns/mlflow.db \\
        python benchmarks/profile_scoring_memory.py --clean benchmarks/_work/company_1000000 \\
        --workdir benchmarks/_work/serve --out benchmarks/_work/scores_profile [--config extra.yaml]

Run it after ``bench_scoring.py`` (which generates the company and registers the champions under _work/serve).

With each RSS sample it reads every thread's CPU time (``/proc/self/task/*/stat``, 10 ms ticks), so per stage it
also prints the CPU seconds of every thread, of the main thread and of the busiest single thread, and the stage's
two-core bound ``max(busiest thread, all threads / 2)``: what the stage needs on a quiet 2-core machine at least,
measurable on a loaded one (issue 14: the job's critical path). The sampler's own thread is left out; a thread's
CPU after its last sample (at most 20 ms) is missed.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _thread_cpu(skip: int) -> dict[int, float]:
    """CPU seconds (user + system) of each thread of this process but ``skip`` (the sampler), by thread id."""
    out = {}
    for tid in os.listdir("/proc/self/task"):
        if int(tid) == skip:
            continue
        try:
            with open(f"/proc/self/task/{tid}/stat", encoding="ascii") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended
            continue
        out[int(tid)] = (int(fields[11]) + int(fields[12])) / _TICK
    return out


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clean", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--config", default=None)
    args = ap.parse_args()

    samples: list[tuple[float, float]] = []
    cpu_samples: list[tuple[float, dict[int, float]]] = []
    marks: list[tuple[float, str]] = []
    stop = threading.Event()
    main_tid = threading.get_native_id()

    def sample() -> None:
        me = threading.get_native_id()
        while not stop.is_set():
            now = time.perf_counter()
            samples.append((now, _rss_mb()))
            cpu_samples.append((now, _thread_cpu(me)))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    marks.append((time.perf_counter(), "start"))

    from loyalist.jobs import score as job

    original_mark = job._Meter.mark
    original_score = job.score_customers

    def mark(self, name: str) -> None:
        marks.append((time.perf_counter(), name))
        original_mark(self, name)

    def score_customers(*a, on_stage=None, **kw):
        def stage(name: str, n: int) -> None:
            marks.append((time.perf_counter(), name))
            if on_stage is not None:
                on_stage(name, n)
        return original_score(*a, on_stage=stage, **kw)

    job._Meter.mark = mark  # type: ignore[method-assign]
    job.score_customers = score_customers  # type: ignore[assignment]
    from loyalist.cli import score

    argv = dict(clean=Path(args.clean), workdir=Path(args.workdir), out=Path(args.out), quiet=True)
    if args.config:
        argv["config"] = Path(args.config)
    score(**argv)
    marks.append((time.perf_counter(), "mlflow_run_and_exit"))
    stop.set()
    sampler.join()
    # a thread that ended (a pool's worker, DuckDB's threads) keeps the CPU it had at its last sample: without it
    # the stage it ended in would lose that thread's CPU
    known: dict[int, float] = {}
    carried: list[tuple[float, dict[int, float]]] = []
    for t, c in cpu_samples:
        known = {**known, **c}
        carried.append((t, known))

    def cpu_at(when: float) -> dict[int, float]:
        before = [c for t, c in carried if t <= when]
        return before[-1] if before else {}

    print("| stage | wall s | RSS at end MB | highest RSS in stage MB | CPU s all threads | main thread | "
          "busiest thread | 2-core bound s |")
    print("|---|---|---|---|---|---|---|---|")
    previous = marks[0][0]
    totals = {"cpu": 0.0, "main": 0.0, "bound": 0.0, "busiest": 0.0}
    for when, name in marks[1:]:
        inside = [rss for t, rss in samples if previous <= t <= when] or [0.0]
        at_end = [rss for t, rss in samples if t <= when][-1:] or [0.0]
        start, end = cpu_at(previous), cpu_at(when)
        used = {tid: end[tid] - start.get(tid, 0.0) for tid in end}
        cpu = sum(used.values())
        busiest = max(used.values(), default=0.0)
        bound = max(busiest, cpu / 2)
        main_cpu = used.get(main_tid, 0.0)
        for k, v in (("cpu", cpu), ("main", main_cpu), ("bound", bound), ("busiest", busiest)):
            totals[k] += v
        print(f"| {name} | {when - previous:.1f} | {at_end[0]:,.0f} | {max(inside):,.0f} | {cpu:.2f} | "
              f"{main_cpu:.2f} | {busiest:.2f} | {bound:.2f} |")
        previous = when
    print(f"| total | {marks[-1][0] - marks[0][0]:.1f} | | | {totals['cpu']:.2f} | {totals['main']:.2f} | "
          f"{totals['busiest']:.2f} | {totals['bound']:.2f} |")
    print(f"highest RSS sampled: {max(r for _, r in samples):,.0f} MB")


if __name__ == "__main__":
    main()
