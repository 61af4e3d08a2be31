"""Concurrent trainings on fresh MLflow stores (issue 10 §4): ten pairs of ``loyalist train`` started at once.

    python benchmarks/bench_concurrent_train.py [--pairs 10] [--customers 600]

Each pair runs two ``loyalist train --only churn`` processes at the same moment on a store that does not exist yet:
both race to create the SQLite database, run MLflow's migrations, create the experiment, register a version and
pass the promotion gate. A pair passes when both exit 0 without a traceback, the store holds two versions, every run
is FINISHED and exactly one version is champion, promoted by the gate (the two models are identical, so the second
cannot beat the first). Prints one line per pair and the tally; the CI test (tests/pipelines/test_concurrent_train.py)
runs two pairs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "pipelines"))

from concurrent_train import CONFIG, check_pair, run_pair, write_clean_data  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--customers", type=int, default=600)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="loyalist-concurrent-") as tmp:
        root = Path(tmp)
        clean = write_clean_data(root / "clean", n_customers=args.customers)
        config = root / "fast.yaml"
        config.write_text(CONFIG)
        failed = 0
        for pair in range(args.pairs):
            workdir = root / f"pair{pair}"
            workdir.mkdir()
            started = time.perf_counter()
            problems = check_pair(workdir, run_pair(clean, workdir, config))
            failed += bool(problems)
            print(f"pair {pair + 1}/{args.pairs}: {'ok' if not problems else 'FAILED'} "
                  f"in {time.perf_counter() - started:.0f} s {'; '.join(problems)[:600]}", flush=True)
        print(f"{args.pairs - failed} of {args.pairs} pairs passed")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
