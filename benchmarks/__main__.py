"""Every performance benchmark against its floor in one run (issue 14 §4).

    python -m benchmarks all --size small|medium|large [--no-record]
    python -m benchmarks snapshot|scoring|threads --size ...

- snapshot: `build_snapshot` streaming the Parquet files (what `loyalist score` runs; the orders file as `loyalist
  prepare` writes it), with DuckDB's default memory and with compute.duckdb_memory_limit (spilling), against the
  DuckDB Parquet scan floor (bench_snapshot.py); the same on the generator's unsorted file (the window path), and
  prepare's sort of the orders (paid once per prepare);
- scoring: `loyalist score` as a child process against LightGBM alone on the same rows (bench_scoring.py);
- threads: `loyalist train --only churn` alone and beside one and two CPU-bound processes (bench_threads.py).

Each row: wall, CPU seconds, cores used, peak memory, the floor and the ratio, the load average before. The table
is appended with the machine to the issue-14 section of benchmarks/RESULTS.md. Model quality is a separate,
longer run: `nice -n 10 python benchmarks/bench_models.py --protocols cdnow-sample --variants protocol`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

#: size -> (snapshot orders, snapshot customers, memory limit; scoring train, score customers; threads customers)
SIZES = {
    "small": {"orders": 2_000_000, "customers": 100_000, "limit": "500MB", "train": 5_000, "score": 50_000,
              "threads": 5_000, "variants": ["auto"]},
    "medium": {"orders": 20_000_000, "customers": 1_000_000, "limit": "500MB", "train": 20_000, "score": 200_000,
               "threads": 20_000, "variants": ["auto", "before"]},
    "large": {"orders": 50_000_000, "customers": 2_500_000, "limit": "500MB", "train": 20_000, "score": 1_000_000,
              "threads": 20_000, "variants": ["auto", "before"]},
    # the snapshot's 100M-order point (run `python -m benchmarks snapshot --size xlarge` under the bigmem lock)
    "xlarge": {"orders": 100_000_000, "customers": 5_000_000, "limit": "500MB", "train": 20_000,
               "score": 1_000_000, "threads": 20_000, "variants": ["auto", "before"]},
}


def snapshot_rows(size: dict) -> list[dict]:
    """The streamed snapshot on the orders file as ``loyalist prepare`` writes it (sorted by customer and date, each
    completed order's previous and first order precomputed: no window pass), at DuckDB's default memory and at the
    size's limit, against the scan floor of that file; then the same snapshot on the generator's own file (rows in
    generation order, no sequence columns: the window path every orders file took before), against its floor; and
    what prepare pays once for it (DuckDB's window and sort of the generator's file, default memory and limit)."""
    import os

    import bench_snapshot as bs

    load = round(os.getloadavg()[0], 2)
    n = f"{size['orders'] / 1e6:g}M orders / {size['customers'] / 1e6:g}M customers"
    paths, _ = bs.ensure_data(size["orders"], size["customers"], 0)
    raw = bs.data_paths(size["orders"], size["customers"], 0, "generated")
    floor = bs.run_in_subprocess("floor_parquet", paths, True)
    raw_floor = bs.run_in_subprocess("floor_parquet", raw, True)
    rows = []

    def row(what: str, r: dict, floor: dict | None, label: str = "DuckDB Parquet scan") -> dict:
        if "error" in r:
            return {"bench": what, "error": r["error"]}
        if r.get("spill_peak_mb") is not None:
            what += f" (spill folder peak {r['spill_peak_mb']:.0f} MB)"
        return {"bench": what, "wall": r["seconds"], "cpu": r["cpu_seconds"], "peak_mb": r["peak_mb"],
                "floor": label if floor else "", "floor_wall": (floor or {}).get("seconds"),
                "floor_cpu": (floor or {}).get("cpu_seconds"), "load": round(os.getloadavg()[0], 2)}

    for limit in (None, size["limit"]):
        bs.MEMORY_LIMIT[0] = limit
        r = bs.run_in_subprocess("snapshot_files", paths, True)
        bs.MEMORY_LIMIT[0] = None
        memory = f"DuckDB memory_limit {limit}" if limit else "DuckDB default memory"
        rows.append(row(f"snapshot streamed, {n}, orders file as `loyalist prepare` writes it, {memory}", r, floor))
    r = bs.run_in_subprocess("snapshot_files", raw, True)
    rows.append(row(f"snapshot streamed, {n}, the generator's orders file (window path), DuckDB default memory", r,
                    raw_floor, "DuckDB Parquet scan of that file"))
    for limit in (None, size["limit"]):
        bs.MEMORY_LIMIT[0] = limit
        r = bs.run_in_subprocess("sequence", raw, True)
        bs.MEMORY_LIMIT[0] = None
        memory = f"DuckDB memory_limit {limit}" if limit else "DuckDB default memory"
        rows.append(row(f"`loyalist prepare`'s sort + sequence of the {n} orders file (once per prepare), {memory}",
                        r, None))
    rows[0]["load"] = load
    return rows


def scoring_rows(size: dict) -> list[dict]:
    import bench_scoring

    r = bench_scoring.main(["--train-customers", str(size["train"]), "--score-customers", str(size["score"]),
                            "--no-record"])
    j, f = r["job"], r["floor"]
    return [{"bench": f"`loyalist score`, {j['customers']:,} customers ({j['explained']['customers']:,} explained "
                      f"+ {j['explained']['sample']:,} sample)", "wall": j["wall"], "cpu": j["cpu"],
             "peak_mb": j["peak_mb"], "floor": "LightGBM predict x2 + pred_contrib, same rows",
             "floor_wall": f["wall"], "floor_cpu": f["cpu"], "load": j["load_before"]}]


def threads_rows(size: dict) -> list[dict]:
    import bench_threads

    rows = bench_threads.main(["--customers", str(size["threads"]), "--variants", *size["variants"], "--no-record"])
    out = []
    for r in rows:
        quiet = next(q for q in rows if q["variant"] == r["variant"] and q["busy"] == 0)
        out.append({"bench": f"`train --only churn`, {size['threads']:,} customers, threads {r['variant']}, beside "
                             f"{r['busy']} busy process(es)", "wall": r["wall"], "cpu": r["cpu"],
                    "peak_mb": r["peak_mb"], "floor": "the same run alone", "floor_wall": quiet["wall"],
                    "load": r["load_before"]})
    return out


BENCHES = {"snapshot": snapshot_rows, "scoring": scoring_rows, "threads": threads_rows}


def table(rows: list[dict], size: str, started: str) -> str:
    from _machine import machine_line

    lines = [f"### `python -m benchmarks all --size {size}` ({started})", "", f"Machine: {machine_line()}.", "",
             "| benchmark | wall s | CPU s | cores used | peak MB | floor | floor wall s | ratio (wall) | ratio (CPU) "
             "| load before |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['bench']} | failed: {r['error']} | | | | | | | | |")
            continue
        ratio = f"{r['wall'] / r['floor_wall']:.1f}x" if r.get("floor_wall") else ""
        ratio_cpu = f"{r['cpu'] / r['floor_cpu']:.1f}x" if r.get("floor_cpu") else ""
        lines.append(f"| {r['bench']} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['cpu'] / max(r['wall'], 1e-9):.2f} | "
                     f"{r['peak_mb']:.0f} | {r['floor']} | {r.get('floor_wall') or 0:.1f} | {ratio} | {ratio_cpu} "
                     f"| {r['load']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=["all", *BENCHES])
    ap.add_argument("--size", choices=sorted(SIZES), default="small")
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args(argv)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rows: list[dict] = []
    for name in (BENCHES if args.what == "all" else [args.what]):
        print(f"== {name} ({args.size})", flush=True)
        rows += BENCHES[name](SIZES[args.size])
    text = table(rows, args.size, started)
    print(text)
    if not args.no_record:
        from bench_all import record

        record(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
