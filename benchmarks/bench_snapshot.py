"""Benchmark of the point-in-time snapshot (``loyalist.features.build_snapshot``).

One command::

    python benchmarks/bench_snapshot.py --orders 20000000 --customers 1000000

1. generates order-level data with numpy (seeded) and writes it to Parquet under ``benchmarks/_work/`` (reused when
   present): orders (order_id, customer_id, order_date, amount, status, cost), customers (customer_id, industry,
   size, region, signup_date) and small tickets and surveys tables; the orders are then written again the way
   ``loyalist prepare`` writes them (``--layout prepared``, the default: sorted by customer and date with each
   completed order's previous and first order, :mod:`loyalist.data.sequence`), which every job below reads
   (``--layout generated``: the generator's file, rows in generation order, the snapshot's window path);
2. times, each in its own subprocess (so memory is that job's own; RSS sampled in a thread during the call):
   (a) ``build_snapshot`` on the tables loaded as pandas frames (all indicators, RFM, inter-purchase statistics),
   (a') ``build_snapshot`` on ``ParquetTable`` handles: DuckDB streams the files (the scoring job's path; its time
        includes reading the Parquet, which (a) does before the timed call),
   (b) ``benchmarks/reference_pandas.py``, a vectorised pandas groupby computing the same columns,
   (c) the DuckDB scan floor: ``SELECT count(*), sum(amount)`` plus a cheap aggregate on each other column the
       snapshot reads, over the Parquet file (so every needed column is decoded once) and over the same frames
       in memory (Arrow);
3. prints a table and the ratios, and appends a dated section to ``benchmarks/RESULTS.md``.

Times are wall-clock and CPU seconds of the computation only (loading the Parquet into pandas is timed apart). Peak
RSS is sampled during the call and includes the loaded input frames; the RSS just before the call is shown beside
it so the job's own working memory is visible.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work"
RESULTS = HERE / "RESULTS.md"

START = np.datetime64("2022-01-01T00:00:00", "s")
N_DAYS = 1096  # 2022-01-01 .. 2024-12-31
AS_OF = "2025-01-01"  # T: the whole generated history is <= T

ORDER_COLUMNS = ["customer_id", "order_date", "amount", "status", "cost"]  # what the snapshot reads
INDUSTRIES = ["manufacturing", "it", "retail", "healthcare", "logistics"]
SIZES = ["small", "medium", "large"]
REGIONS = ["east", "south", "north", "west"]
STAGES = ["delivery", "after-sales", "billing", "installation"]
KINDS = ["complaint", "inquiry", "request"]


# ------------------------------------------------------------------------------------------- data


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Arrow strings ``prefix + zero-padded number`` without building Python strings."""
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(pa.scalar(prefix), digits, "")


#: Orders generated and written per chunk: memory stays flat whatever --orders is (no single array of all rows; one
#: string array of 50M ids overflowed Arrow's 32-bit offsets, ArrowCapacityError).
CHUNK_ORDERS = 5_000_000


def _customers(n_customers: int, rng: np.random.Generator) -> dict:
    """Per-customer draws shared by every order chunk."""
    start_day = rng.integers(0, N_DAYS, n_customers)
    weight = rng.gamma(0.8, 1.0, n_customers) * (N_DAYS - start_day)
    return {"start_day": start_day, "cum": np.cumsum(weight), "mean_amount": rng.lognormal(4.0, 1.0, n_customers)}


def _order_chunk(lo: int, hi: int, n_orders: int, n_customers: int, draws: dict, rng: np.random.Generator) -> pa.Table:
    """Orders ``lo .. hi - 1``: order positions below ``n_customers`` belong to that customer (every customer has an
    order), the others to a customer drawn by purchase rate; rows are shuffled within the chunk."""
    n = hi - lo
    first = np.arange(lo, min(hi, n_customers))
    cum = draws["cum"]
    extra = np.searchsorted(cum, rng.random(n - len(first)) * cum[-1], side="right")
    cust = np.concatenate([first, np.minimum(extra, n_customers - 1)])
    rng.shuffle(cust)
    start_day = draws["start_day"]
    span = N_DAYS - start_day[cust]
    day = start_day[cust] + (rng.random(n) * span).astype(np.int64)
    seconds = day * 86400 + rng.integers(8 * 3600, 20 * 3600, n)
    order_date = (START + seconds.astype("timedelta64[s]")).astype("datetime64[ns]")
    amount = np.round(draws["mean_amount"][cust] * rng.lognormal(0.0, 0.5, n), 2)
    status_code = np.searchsorted(np.array([0.93, 0.98]), rng.random(n), side="right")
    status = pa.DictionaryArray.from_arrays(pa.array(status_code.astype(np.int8)),
                                            pa.array(["completed", "returned", "cancelled"])).cast(pa.string())
    cost = np.round(amount * rng.uniform(0.55, 0.85, n), 2)
    return pa.table({
        "order_id": _ids("O", np.arange(lo, hi), 10),
        "customer_id": _ids("C", cust, 8),
        "order_date": pa.array(order_date),
        "amount": amount,
        "status": status,
        "cost": cost,
    })


def generate_tables(n_orders: int, n_customers: int, seed: int = 0, orders_to: Path | None = None,
                    chunk: int = CHUNK_ORDERS) -> dict[str, pa.Table]:
    """Order-level data of ``n_customers`` customers with ``n_orders`` orders over 2022-2024 (numpy, seeded).

    Every customer has at least one order; purchase rates are gamma distributed (a few heavy buyers, many light
    ones); each customer starts at a uniform day and orders at uniform times after it; amounts are log-normal around
    a customer mean; 93% completed, 5% returned, 2% cancelled. Tickets (one per 5 customers) and survey answers (one
    per 10 customers) are small side tables. Orders are made ``chunk`` at a time; with ``orders_to`` each chunk is
    written to that Parquet file as it is made (memory flat at any size) and the result has no ``orders`` entry.
    """
    if n_orders < n_customers:
        raise ValueError("--orders must be at least --customers (every customer has an order)")
    rng = np.random.default_rng(seed)
    cust_ids = _ids("C", np.arange(n_customers), 8)
    draws = _customers(n_customers, rng)
    start_day = draws["start_day"]
    writer = None
    parts = []
    try:
        for lo in range(0, n_orders, chunk):
            part = _order_chunk(lo, min(lo + chunk, n_orders), n_orders, n_customers, draws, rng)
            if orders_to is None:
                parts.append(part)
                continue
            if writer is None:
                writer = pq.ParquetWriter(orders_to, part.schema)
            writer.write_table(part, row_group_size=1_000_000)
    finally:
        if writer is not None:
            writer.close()
    out: dict[str, pa.Table] = {}
    if orders_to is None:
        out["orders"] = pa.concat_tables(parts)

    signup = START + ((start_day - rng.integers(0, 200, n_customers)) * 86400).astype("timedelta64[s]")
    out["customers"] = pa.table({
        "customer_id": cust_ids,
        "industry": pc.take(pa.array(INDUSTRIES), pa.array(rng.integers(0, len(INDUSTRIES), n_customers))),
        "size": pc.take(pa.array(SIZES), pa.array(rng.integers(0, len(SIZES), n_customers))),
        "region": pc.take(pa.array(REGIONS), pa.array(rng.integers(0, len(REGIONS), n_customers))),
        "signup_date": pa.array(signup.astype("datetime64[ns]")),
    })

    n_tickets = max(n_customers // 5, 1)
    t_cust = rng.integers(0, n_customers, n_tickets)
    created = START + (rng.integers(0, N_DAYS * 86400, n_tickets)).astype("timedelta64[s]")
    hours = rng.exponential(48.0, n_tickets)
    resolved = created + (hours * 3600).astype("timedelta64[s]")
    resolved = np.where(rng.random(n_tickets) < 0.05, np.datetime64("NaT"), resolved)
    out["tickets"] = pa.table({
        "ticket_id": _ids("T", np.arange(n_tickets), 9),
        "customer_id": pc.take(cust_ids, pa.array(t_cust)),
        "created_at": pa.array(created.astype("datetime64[ns]")),
        "kind": pc.take(pa.array(KINDS), pa.array(rng.choice(3, n_tickets, p=[0.4, 0.4, 0.2]))),
        "stage": pc.take(pa.array(STAGES), pa.array(rng.integers(0, len(STAGES), n_tickets))),
        "resolved_at": pa.array(resolved.astype("datetime64[ns]")),
    })

    n_answers = max(n_customers // 10, 1)
    out["surveys"] = pa.table({
        "customer_id": pc.take(cust_ids, pa.array(rng.integers(0, n_customers, n_answers))),
        "answered_at": pa.array((START + rng.integers(0, N_DAYS * 86400, n_answers).astype("timedelta64[s]"))
                                .astype("datetime64[ns]")),
        "nps_score": rng.integers(0, 11, n_answers).astype(np.float64),
        "mentions_brand": rng.random(n_answers) < 0.3,
        "satisfaction": rng.integers(1, 6, n_answers).astype(np.float64),
    })
    return out


def data_paths(n_orders: int, n_customers: int, seed: int, layout: str = "prepared") -> dict[str, Path]:
    """The files of one company. ``layout``: ``"prepared"`` (default) = the orders file as ``loyalist prepare``
    writes it (``orders_<tag>_prep.parquet``: sorted by customer and date with each completed order's previous and
    first order, :mod:`loyalist.data.sequence`), made from the generator's file; ``"generated"`` = the generator's
    own file (rows in generation order, no sequence columns: the snapshot takes its window path, as every orders
    file did before prepare sorted them)."""
    tag = f"{n_orders}_{n_customers}_s{seed}_c"  # _c: the chunked generator (draws differ from the one-shot one)
    paths = {name: WORK / f"{name}_{tag}.parquet" for name in ("orders", "customers", "tickets", "surveys")}
    if layout == "prepared":
        paths["orders"] = WORK / f"orders_{tag}_prep.parquet"
    elif layout != "generated":
        raise ValueError(f"layout must be 'prepared' or 'generated'; got {layout!r}")
    return paths


def ensure_data(n_orders: int, n_customers: int, seed: int,
                layout: str = "prepared") -> tuple[dict[str, Path], float | None]:
    """Write the Parquet files unless present; return their paths and the generation time (None when reused).
    The prepared orders file is made from the generated one by what ``loyalist prepare`` runs
    (:func:`loyalist.data.sequence.write_sequenced_orders`, in a subprocess: job ``sequence``)."""
    raw = data_paths(n_orders, n_customers, seed, "generated")
    paths = data_paths(n_orders, n_customers, seed, layout)
    if all(p.exists() for p in paths.values()):
        return paths, None
    WORK.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if not all(p.exists() for p in raw.values()):
        orders_tmp = raw["orders"].with_suffix(".tmp")
        tables = generate_tables(n_orders, n_customers, seed, orders_to=orders_tmp)
        for name, table in tables.items():
            tmp = raw[name].with_suffix(".tmp")
            pq.write_table(table, tmp, row_group_size=1_000_000)
            tmp.replace(raw[name])
        orders_tmp.replace(raw["orders"])
    if layout == "prepared":
        r = run_in_subprocess("sequence", {**raw, "target": paths["orders"]}, True)
        if "error" in r:
            raise RuntimeError(f"sequencing {raw['orders']} failed: {r['error']}")
    return paths, time.perf_counter() - t0


def load_frames(paths: dict[str, Path], extras: bool = True):
    """The canonical pandas frames (orders with only the columns the snapshot reads)."""
    import pandas as pd  # noqa: F401  (pyarrow -> pandas)

    frames = {"orders": pq.read_table(paths["orders"], columns=ORDER_COLUMNS).to_pandas()}
    if extras:
        for name in ("customers", "tickets", "surveys"):
            frames[name] = pq.read_table(paths[name]).to_pandas()
    return frames


# -------------------------------------------------------------------------------------- the jobs


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _folder_mb(folder: Path) -> float:
    total = 0
    for entry in os.scandir(folder):
        try:
            total += entry.stat(follow_symlinks=False).st_size if entry.is_file(follow_symlinks=False) else 0
        except FileNotFoundError:  # removed while listed
            pass
    return total / 2**20


class PeakRSS:
    """Samples this process's RSS every ``interval`` seconds in a thread; ``peak_mb`` is the maximum seen. With
    ``folder`` (DuckDB's spill folder), ``folder_peak_mb`` is the largest total size of its files seen."""

    def __init__(self, interval: float = 0.01, folder: Path | None = None):
        import threading

        self.interval = interval
        self.peak_mb = _rss_mb()
        self.folder = folder
        self.folder_peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, _rss_mb())
            if self.folder is not None and n % 10 == 0:  # every 0.1 s: listing a folder costs more than RSS
                self.folder_peak_mb = max(self.folder_peak_mb, _folder_mb(self.folder))
            n += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> "PeakRSS":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, _rss_mb())


def _timed(out: dict, fn, spill: Path | None = None):
    """Run ``fn`` and record wall seconds, CPU seconds (all threads) and the peak RSS during the call (and the
    peak size of the ``spill`` folder, whose files DuckDB writes beyond its memory limit)."""
    out["rss_before_mb"] = _rss_mb()
    with PeakRSS(folder=spill) as peak:
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        out["seconds"] = time.perf_counter() - t0
        out["cpu_seconds"] = time.process_time() - c0
    out["peak_mb"] = peak.peak_mb
    if spill is not None:
        out["spill_peak_mb"] = peak.folder_peak_mb
    return result


FLOOR_SQL = ("SELECT count(*), sum(amount), max(order_date), max(cost), count(DISTINCT status), "
             "max(length(customer_id)) FROM {source}")


def run_job(job: str, paths: dict[str, Path], extras: bool) -> dict:
    """Run one timed job in this process and return its measurements (called in a subprocess)."""
    import duckdb

    out: dict = {"job": job}
    threads = os.cpu_count() or 1
    if job == "floor_parquet":
        con = duckdb.connect(":memory:", config={"threads": threads})
        source = "read_parquet('{}')".format(str(paths["orders"]).replace("'", "''"))
        _timed(out, lambda: con.sql(FLOOR_SQL.format(source=source)).fetchall())
        return out

    if job in ("snapshot_files", "sequence"):
        from loyalist.compute import DuckdbSettings, use_compute
        from loyalist.config.models import FeatureConfig

        limit = os.environ.get("BENCH_DUCKDB_MEMORY_LIMIT") or None  # --duckdb-memory-limit (compute.duckdb_*)
        spill = None
        if limit:
            spill = WORK / "duckdb_spill"
            spill.mkdir(parents=True, exist_ok=True)
            use_compute(duckdb=DuckdbSettings(memory_limit=limit, temp_directory=str(spill)))
            out["duckdb_memory_limit"] = limit
    if job == "sequence":  # what 'loyalist prepare' adds to writing the orders: DuckDB's window and sort
        from loyalist.data.sequence import write_sequenced_orders

        target = paths.get("target") or WORK / "orders_sequence_check.parquet"
        tmp = target.with_suffix(".tmp")
        out["rows"] = _timed(out, lambda: write_sequenced_orders(paths["orders"], tmp), spill=spill)
        tmp.replace(target)
        if "target" not in paths:
            target.unlink()
        return out

    if job == "snapshot_files":  # the scoring job's path: DuckDB streams the Parquet files, nothing loaded first
        from loyalist.data.tables import ParquetTable
        from loyalist.features import build_snapshot

        names = ("orders", "customers", "tickets", "surveys") if extras else ("orders",)
        tables = {name: ParquetTable(paths[name], name) for name in names}
        snap = _timed(out, lambda: build_snapshot(tables, AS_OF, FeatureConfig()), spill=spill)
        out["rows"] = len(snap)
        return out

    t0 = time.perf_counter()
    frames = load_frames(paths, extras)
    pa.default_memory_pool().release_unused()  # give back what the Parquet -> pandas conversion held
    out["load_seconds"] = time.perf_counter() - t0
    out["input_mb"] = sum(f.memory_usage(deep=True).sum() for f in frames.values()) / 2**20
    from loyalist.config.models import FeatureConfig

    config = FeatureConfig()
    if job == "floor_arrow":
        con = duckdb.connect(":memory:", config={"threads": threads})
        con.register("orders", pa.Table.from_pandas(frames["orders"], preserve_index=False))
        _timed(out, lambda: con.sql(FLOOR_SQL.format(source="orders")).fetchall())
    elif job == "snapshot":
        from loyalist.features import build_snapshot

        snap = _timed(out, lambda: build_snapshot(frames, AS_OF, config))
        out["rows"] = len(snap)
    elif job == "pandas":
        sys.path.insert(0, str(HERE))
        from reference_pandas import snapshot_pandas

        snap = _timed(out, lambda: snapshot_pandas(frames, AS_OF, config))
        out["rows"] = len(snap)
    else:
        raise ValueError(f"unknown job {job!r}")
    return out


#: compute.duckdb_memory_limit of the streamed snapshot job (--duckdb-memory-limit), spilling to _work/duckdb_spill.
MEMORY_LIMIT: list[str | None] = [None]


def run_in_subprocess(job: str, paths: dict[str, Path], extras: bool) -> dict:
    cmd = [sys.executable, __file__, "--job", job, "--paths", json.dumps({k: str(v) for k, v in paths.items()})]
    if not extras:
        cmd.append("--orders-only")
    env = {**os.environ, "BENCH_DUCKDB_MEMORY_LIMIT": MEMORY_LIMIT[0] or ""}
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        return {"job": job, "error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------------------- report


def machine() -> dict:
    """nproc, RAM, CPU model, load average and library versions (the description every benchmark shares)."""
    import duckdb
    import pandas as pd

    sys.path.insert(0, str(HERE))
    from _machine import machine as describe

    return describe(f"duckdb {duckdb.__version__}, pandas {pd.__version__}, pyarrow {pa.__version__}")


def format_report(args, results: dict[str, dict], gen_seconds: float | None, load_before: str) -> str:
    m = machine()
    when = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    scope = ("orders only" if args.orders_only else "orders + customers, tickets, surveys") + (
        "; orders file as `loyalist prepare` writes it" if args.layout == "prepared" else "; the generator's orders file")
    lines = [
        f"### {when}: {args.orders:,} orders / {args.customers:,} customers ({scope})",
        "",
        f"Machine: {m['nproc']} cores, {m['ram_gb']} GB RAM, {m['cpu']}; {m['versions']}. "
        f"Load average (1, 5, 15 min) before: {load_before}; after: {m['load']}.",
        "",
        "| job | wall s | CPU s | Parquet -> pandas s | input frames MB | RSS before MB | peak RSS MB "
        "| peak - before MB | rows |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    names = {
        "snapshot": "(a) build_snapshot (DuckDB) on pandas frames",
        "snapshot_files": "(a') build_snapshot streaming the Parquet files (what `loyalist score` runs)",
        "pandas": "(b) pandas reference",
        "floor_parquet": "(c) DuckDB scan floor, Parquet",
        "floor_arrow": "(c') DuckDB scan floor, in-memory Arrow",
    }
    for job, r in results.items():
        if "error" in r:
            lines.append(f"| {names[job]} | failed: {r['error']} | | | | | | | |")
            continue
        load = f"{r['load_seconds']:.2f}" if "load_seconds" in r else ""
        inp = f"{r['input_mb']:.0f}" if "input_mb" in r else ""
        lines.append(
            f"| {names[job]} | {r['seconds']:.2f} | {r['cpu_seconds']:.2f} | {load} | {inp} "
            f"| {r['rss_before_mb']:.0f} | {r['peak_mb']:.0f} | {r['peak_mb'] - r['rss_before_mb']:.0f} "
            f"| {r.get('rows', '')} |"
        )
    snap = results.get("snapshot", {}).get("seconds")
    ratios = []
    if snap:
        for job, label in (("floor_parquet", "snapshot / Parquet floor"), ("floor_arrow", "snapshot / Arrow floor")):
            if results.get(job, {}).get("seconds"):
                ratios.append(f"{label} = {snap / results[job]['seconds']:.1f}x")
        files = results.get("snapshot_files", {}).get("seconds")
        if files and results.get("floor_parquet", {}).get("seconds"):
            ratios.append(f"streamed snapshot / Parquet floor = {files / results['floor_parquet']['seconds']:.1f}x")
        if results.get("pandas", {}).get("seconds"):
            ratios.append(f"pandas / snapshot = {results['pandas']['seconds'] / snap:.1f}x")
    if ratios:
        lines += ["", "Ratios (wall): " + "; ".join(ratios) + "."]
    if gen_seconds is not None:
        lines.append(f"Data generated in {gen_seconds:.1f} s (numpy, seed {args.seed}).")
    limit = results.get("snapshot_files", {}).get("duckdb_memory_limit")
    if limit:
        lines.append(f"(a') ran with compute.duckdb_memory_limit = {limit}, spilling to benchmarks/_work/duckdb_spill.")
    if args.note:
        lines += ["", f"Note: {args.note}"]
    lines.append("")
    return "\n".join(lines)


def record(report: str) -> None:
    """Append the report to RESULTS.md (append-only: other benchmarks write their own sections)."""
    header = "## Snapshot (`benchmarks/bench_snapshot.py`)"
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n", encoding="utf-8")
    text = RESULTS.read_text(encoding="utf-8")
    with RESULTS.open("a", encoding="utf-8") as handle:
        if header not in text:
            handle.write("\n" + header + "\n\n" + SECTION_INTRO + "\n")
        handle.write("\n" + report)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--orders-only", action="store_true", help="no customers/tickets/surveys tables")
    parser.add_argument("--skip", default="", help="comma-separated jobs to skip: snapshot, pandas, floor")
    parser.add_argument("--repeat", type=int, default=1, help="run each job this many times; keep the fastest")
    parser.add_argument("--note", default="", help="a remark recorded with the results (e.g. machine load)")
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    parser.add_argument("--duckdb-memory-limit", default=None,
                        help="compute.duckdb_memory_limit for the streamed snapshot (a') e.g. 1GB; spills beyond it")
    parser.add_argument("--layout", choices=["prepared", "generated"], default="prepared",
                        help="orders file as loyalist prepare writes it (default) or as the generator writes it")
    parser.add_argument("--job", help=argparse.SUPPRESS)
    parser.add_argument("--paths", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.job:  # child process: one job, JSON on the last stdout line
        paths = {k: Path(v) for k, v in json.loads(args.paths).items()}
        print(json.dumps(run_job(args.job, paths, not args.orders_only)))
        return 0

    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    MEMORY_LIMIT[0] = args.duckdb_memory_limit
    paths, gen_seconds = ensure_data(args.orders, args.customers, args.seed, args.layout)
    print(f"data: {paths['orders']} ({'generated in %.1f s' % gen_seconds if gen_seconds else 'reused'})")
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    jobs = [j for j in ("floor_parquet", "floor_arrow", "snapshot", "snapshot_files", "pandas")
            if j not in skip and not (j.startswith("floor") and "floor" in skip)]
    results = {}
    for job in jobs:
        runs = [run_in_subprocess(job, paths, not args.orders_only) for _ in range(max(args.repeat, 1))]
        ok = [r for r in runs if "error" not in r]
        results[job] = min(ok, key=lambda r: r["seconds"]) if ok else runs[0]
        print(job, results[job], flush=True)
    report = format_report(args, results, gen_seconds, load_before)
    print()
    print(report)
    if not args.no_record:
        record(report)
    return 0


SECTION_INTRO = (
    "Goal at 20M orders / 1M customers on a 2-core machine: snapshot <= 10 s, <= 2 GB peak, <= 15x the scan floor.\n"
    "Each job runs in its own subprocess after loading its input; 'wall s' and 'CPU s' (all threads) cover the "
    "timed call only. 'Peak RSS' is sampled every 10 ms during the call and includes the input frames ('RSS "
    "before'); 'peak - before' is the job's own working memory. The floor reads every column the snapshot needs "
    "(`count(*), sum(amount)` plus a cheap aggregate on each other column). The machine is shared: the load average "
    "is recorded with each run, and wall times under load are longer than CPU times suggest."
)

if __name__ == "__main__":
    raise SystemExit(main())
