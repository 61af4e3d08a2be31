"""What a training run costs beyond its LightGBM fits (issue 14, "training passes": goal at most 1.5x at 100k customers).

    python benchmarks/bench_training.py [--customers 100000] [--no-record]

The demo company (``loyalist demo --no-train``) is generated once under benchmarks/_work/training_<n>/ and reused.
Then ``loyalist train`` runs in a child process exactly as a user runs it (both models, the default 12 cut-offs,
the gate's baselines, MLflow logging into a fresh store), with one difference: ``lightgbm.train`` is wrapped so that
the CPU seconds spent inside every LightGBM fit (all threads of the process, ``time.process_time``) are added up.
The floor is that sum, measured in the same run on the same rows; the ratio is the training run's whole CPU over it.
CPU seconds, not wall times, are the figures to judge on a shared machine; the load average is recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "_work"
sys.path.insert(0, str(ROOT / "benchmarks"))

from _machine import machine_line  # noqa: E402
from _measure import measure  # noqa: E402


def _loyalist() -> str:
    return str(Path(sys.executable).with_name("loyalist"))


def company(n: int) -> Path:
    work = WORK / f"training_{n}"
    clean = work / "data" / "demo" / "clean"
    if not clean.is_dir():
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        measure([_loyalist(), "demo", "--workdir", str(work), "--customers", str(n), "--no-train", "--quiet"],
                cwd=str(work))
    return clean


def child(clean: str, workdir: str, out: str) -> None:
    """Run ``loyalist train`` in this process with LightGBM's fits timed; write the sums to ``out`` as JSON."""
    import atexit
    import resource

    import lightgbm
    import lightgbm.engine
    import lightgbm.sklearn

    fits = {"cpu": 0.0, "wall": 0.0, "n": 0}
    inner = lightgbm.engine.train

    def timed_train(*args, **kwargs):
        c, w = time.process_time(), time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            fits["cpu"] += time.process_time() - c
            fits["wall"] += time.perf_counter() - w
            fits["n"] += 1

    lightgbm.train = lightgbm.engine.train = lightgbm.sklearn.train = timed_train

    def dump() -> None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        Path(out).write_text(json.dumps({"fit_cpu": fits["cpu"], "fit_wall": fits["wall"], "fits": fits["n"],
                                         "self_cpu": usage.ru_utime + usage.ru_stime}))

    atexit.register(dump)
    from loyalist.cli import app

    sys.argv = ["loyalist", "train", "--clean", clean, "--workdir", workdir, "--quiet"]
    app()


def run(n: int) -> dict:
    clean = company(n)
    work = WORK / f"training_run_{n}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    out = work / "fits.json"
    env = dict(os.environ, OMP_WAIT_POLICY=os.environ.get("OMP_WAIT_POLICY", "PASSIVE"))
    m = measure([sys.executable, __file__, "--child", str(clean), str(work), str(out)], env=env, cwd=str(work))
    fits = json.loads(out.read_text())
    shutil.rmtree(work, ignore_errors=True)
    return {"customers": n, **m.row(), **{k: round(v, 2) if isinstance(v, float) else v for k, v in fits.items()},
            "ratio": round(m.cpu / fits["fit_cpu"], 2) if fits["fit_cpu"] > 0 else None}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--no-record", action="store_true")
    ap.add_argument("--child", nargs=3, metavar=("CLEAN", "WORKDIR", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(*args.child)
        return {}
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    r = run(args.customers)
    print(r, flush=True)
    text = "\n".join([
        f"### Training against its LightGBM fits: `loyalist train`, {args.customers:,} demo customers ({started})", "",
        f"Command: `python benchmarks/bench_training.py --customers {args.customers}`. Machine: {machine_line()}.", "",
        "| wall s | CPU s | cores used | peak MB | LightGBM fits | CPU s in fits (floor) | ratio CPU / floor | load before |",
        "|---|---|---|---|---|---|---|---|",
        f"| {r['wall']:.1f} | {r['cpu']:.1f} | {r['cores']:.2f} | {r['peak_mb']:.0f} | {r['fits']} | {r['fit_cpu']:.1f} "
        f"| {r['ratio']} | {r['load_before']:.2f} |", ""])
    print(text)
    if not args.no_record:
        from bench_all import record

        record(text)
    return r


if __name__ == "__main__":
    main()
