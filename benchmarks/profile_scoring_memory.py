"""Where the scoring job's memory goes (issue 14): `loyalist score` run in this process (the CLI's own command
function) with a thread sampling the resident memory (VmRSS) every 20 ms; prints, per stage of the job, the RSS at
the stage's end and the highest RSS sampled during it (the summary's ``peak_mb`` is only the running maximum).

    MLFLOW_TRACKING_URI=sqlite:///benchmarks/_work/serve/mlruns/mlflow.db \\
        python benchmarks/profile_scoring_memory.py --clean benchmarks/_work/company_1000000 \\
        --workdir benchmarks/_work/serve --out benchmarks/_work/scores_profile [--config extra.yaml]

Run it after ``bench_scoring.py`` (which generates the company and registers the champions under _work/serve).
"""

from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path


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
    marks: list[tuple[float, str]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append((time.perf_counter(), _rss_mb()))
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
    print("| stage | wall s | RSS at end MB | highest RSS in stage MB |")
    print("|---|---|---|---|")
    previous = marks[0][0]
    for when, name in marks[1:]:
        inside = [rss for t, rss in samples if previous <= t <= when] or [0.0]
        at_end = [rss for t, rss in samples if t <= when][-1:] or [0.0]
        print(f"| {name} | {when - previous:.1f} | {at_end[0]:,.0f} | {max(inside):,.0f} |")
        previous = when
    print(f"highest RSS sampled: {max(r for _, r in samples):,.0f} MB")


if __name__ == "__main__":
    main()
