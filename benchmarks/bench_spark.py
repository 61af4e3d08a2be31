"""The scoring job on DuckDB and on Spark local[2], in the same run, at 1M and 10M orders.

1. train: `loyalist demo` (2,000 customers) in benchmarks/_work/spark/ registers the champion models in a SQLite store;
2. generate: a synthetic company per size, with about ``orders / 34`` customers (the generator's orders per
   customer over three years), clean Parquet tables in benchmarks/_work/spark/company_<orders>/;
3. score: `loyalist score --engine duckdb` and `loyalist score --engine spark` (master local[2]) as child processes,
   exactly as a user runs them; wall time, the job's own time per stage (its summary's timings_seconds) and the
   cost per order and per customer.

    python benchmarks/bench_spark.py                         # 1M and 10M orders
    python benchmarks/bench_spark.py --orders 1000000        # one size

Prints one Markdown block for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

WORK = Path(__file__).resolve().parent / "_work" / "spark"
ORDERS_PER_CUSTOMER = 34.0


def _env() -> dict[str, str]:
    return {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{WORK}/mlruns/mlflow.db", "OMP_WAIT_POLICY": "passive",
            "MLFLOW_DISABLE_TELEMETRY": "true", "MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK": "true",
            "PYSPARK_PYTHON": sys.executable}


def _cli() -> str:
    return str(Path(sys.executable).with_name("loyalist"))


def train() -> None:
    if (WORK / "mlruns" / "mlflow.db").is_file():
        return
    WORK.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([_cli(), "demo", "--workdir", str(WORK), "--customers", "2000", "--seed", "3"],
                          env=_env(), capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"loyalist demo failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


def generate(orders: int) -> tuple[Path, int, int]:
    folder = WORK / f"company_{orders}"
    marker = folder / "sizes.json"
    if not marker.is_file():
        from loyalist.data.synthetic import generate as synth

        folder.mkdir(parents=True, exist_ok=True)
        data = synth(n_customers=max(100, round(orders / ORDERS_PER_CUSTOMER)), start="2022-01-01",
                     end="2024-12-31", seed=11, dirty=False)
        tables = data.tables()
        for name, frame in tables.items():
            frame.to_parquet(folder / f"{name}.parquet", index=False)
        marker.write_text(json.dumps({"orders": len(tables["orders"]), "customers": len(tables["customers"])}))
    sizes = json.loads(marker.read_text())
    return folder, sizes["orders"], sizes["customers"]


def score(engine: str, clean: Path, out: Path) -> dict:
    config = WORK / "spark.yaml"
    config.write_text('spark:\n  master: local[2]\n  conf: {spark.sql.shuffle.partitions: "8", '
                      'spark.ui.enabled: "false", spark.driver.memory: "3g"}\n', encoding="utf-8")
    command = [_cli(), "score", "--engine", engine, "--clean", str(clean), "--out", str(out), "--workdir", str(WORK),
               "--config", str(config), "--quiet"]
    started = time.perf_counter()
    proc = subprocess.run(command, env=_env(), capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    summary = json.loads((out / "churn_risk_summary.json").read_text())
    return {"wall": wall, "stages": summary["timings_seconds"], "customers": summary["customers"]}


def _same_next_products(duck: Path, spark: Path) -> tuple[int, int]:
    """Customers whose cross-sell products (next_products) are the same in both lists, and the customers."""
    import pandas as pd

    a = pd.read_parquet(duck / "churn_risk.parquet", columns=["customer_id", "next_products"])
    parts = sorted((spark / "churn_risk.parquet").glob("part-*.parquet"))
    b = pd.concat([pd.read_parquet(p, columns=["customer_id", "next_products"]) for p in parts], ignore_index=True)
    both = a.merge(b, on="customer_id", suffixes=("_duckdb", "_spark"))
    return int((both["next_products_duckdb"] == both["next_products_spark"]).sum()), len(a)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, nargs="*", default=[1_000_000, 10_000_000])
    args = parser.parse_args()
    train()
    lines = []
    for orders in args.orders:
        clean, n_orders, n_customers = generate(orders)
        results = {engine: score(engine, clean, WORK / f"scores_{engine}_{orders}") for engine in ("duckdb", "spark")}
        d, s = results["duckdb"], results["spark"]
        assert d["customers"] == s["customers"], "the engines scored different populations"
        same, total = _same_next_products(WORK / f"scores_duckdb_{orders}", WORK / f"scores_spark_{orders}")
        print(f"{orders:,} orders: next_products identical for {same:,} of {total:,} customers", flush=True)
        lines.append(
            f"| {n_orders:,} | {n_customers:,} | {d['customers']:,} | {d['wall']:.1f} | {s['wall']:.1f} | "
            f"{s['wall'] / d['wall']:.1f}x | {1e6 * d['wall'] / n_orders:.1f} | {1e6 * s['wall'] / n_orders:.1f} | "
            f"{1e3 * s['wall'] / d['customers']:.2f} |"
        )
        for engine in ("duckdb", "spark"):
            stages = ", ".join(f"{k} {v:.1f}" for k, v in results[engine]["stages"].items())
            lines.append(f"<!-- {orders} {engine} stages (s): {stages} -->")
        print(json.dumps({"orders": n_orders, "customers": n_customers, **results}), flush=True)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _machine import machine_line

    import pyspark

    print(f"Command: `python benchmarks/bench_spark.py --orders {' '.join(map(str, args.orders))}` · machine: "
          f"{machine_line(f'pyspark {pyspark.__version__}')}")
    print("| orders | customers | scored | DuckDB s | Spark local[2] s | Spark / DuckDB | DuckDB us/order | "
          "Spark us/order | Spark ms/customer |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
