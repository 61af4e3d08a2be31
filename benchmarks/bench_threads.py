"""Training beside busy processes (issue 14 §1): `loyalist train --only churn` alone and beside one and two
CPU-bound processes, per thread setting; CPU seconds, cores used, wall and the ratio to the quiet run.

    python benchmarks/bench_threads.py [--customers 20000] [--busy 0 1 2] [--variants auto one before] [--no-record]

The demo company (``loyalist demo --no-train``) is generated once under benchmarks/_work/threads_<n>/ and reused.
Variants: ``auto`` (the default: compute.lgbm_threads auto = min(2, cores), passive OpenMP wait), ``one``
(compute.lgbm_threads 1), ``free`` (min(2, free cores) by the load average), ``before`` (2 threads with libgomp's
default wait policy, as before issue 14: OMP_WAIT_POLICY set to an empty value, which libgomp ignores).
Each training gets a fresh MLflow store. Wall time beside n busy processes over the quiet wall time is the ratio the
goal names (<= 2 beside two); the load average before each run is recorded because other work on the machine counts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "_work"
sys.path.insert(0, str(ROOT / "benchmarks"))

from _machine import machine_line  # noqa: E402
from _measure import busy, measure  # noqa: E402

VARIANTS = {
    "auto": ({"OMP_WAIT_POLICY": "PASSIVE"}, "compute: {lgbm_threads: auto}\n"),
    "one": ({"OMP_WAIT_POLICY": "PASSIVE"}, "compute: {lgbm_threads: 1}\n"),
    "free": ({"OMP_WAIT_POLICY": "PASSIVE"}, "compute: {lgbm_threads: free}\n"),
    "before": ({"OMP_WAIT_POLICY": ""}, "compute: {lgbm_threads: 2}\n"),
}


def _loyalist() -> str:
    return str(Path(sys.executable).with_name("loyalist"))


def company(n: int) -> Path:
    work = WORK / f"threads_{n}"
    clean = work / "data" / "demo" / "clean"
    if not (clean / "orders.parquet").exists():
        measure([_loyalist(), "demo", "--workdir", str(work), "--customers", str(n), "--no-train", "--quiet"],
                env=_env({}))
    return clean


def _env(extra: dict) -> dict:
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK": "true",
           "COLUMNS": "120"}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.update(extra)
    return env


def train_once(clean: Path, variant: str, n_busy: int) -> dict:
    env_extra, config_text = VARIANTS[variant]
    work = WORK / f"threads_run_{variant}_{n_busy}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    cfg = work / "compute.yaml"
    cfg.write_text(config_text)
    with busy(n_busy):
        m = measure([_loyalist(), "train", "--clean", str(clean), "--workdir", str(work), "--only", "churn",
                     "--config", str(cfg), "--quiet"], env=_env(env_extra), cwd=str(work))
    shutil.rmtree(work, ignore_errors=True)
    return {"variant": variant, "busy": n_busy, **m.row()}


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--busy", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--variants", nargs="+", default=["auto", "before"], choices=sorted(VARIANTS))
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args(argv)
    clean = company(args.customers)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rows = []
    for variant in args.variants:
        for n_busy in args.busy:
            row = train_once(clean, variant, n_busy)
            rows.append(row)
            print(row, flush=True)
    for row in rows:
        quiet = next((r for r in rows if r["variant"] == row["variant"] and r["busy"] == 0), None)
        row["ratio"] = round(row["wall"] / quiet["wall"], 2) if quiet else None
    lines = [f"### Training beside busy processes: `loyalist train --only churn`, {args.customers:,} demo customers "
             f"({started})", "", f"Machine: {machine_line()}.", "",
             "| variant | busy processes | wall s | ratio to quiet | CPU s | cores used | peak MB | load before |",
             "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['variant']} | {r['busy']} | {r['wall']:.1f} | {r['ratio']} | {r['cpu']:.1f} | {r['cores']:.2f} "
              f"| {r['peak_mb']:.0f} | {r['load_before']:.2f} |" for r in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_record:
        from bench_all import record

        record(text)
    return rows


if __name__ == "__main__":
    main()
