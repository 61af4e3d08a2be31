"""The orders file as ``loyalist prepare`` writes it (sorted by customer and date, each completed order's previous
and first order precomputed: loyalist.data.sequence) gives the snapshot the window path gives, and only a file
that provably carries those columns for its content skips the window."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from loyalist.config.models import FeatureConfig
from loyalist.data.sequence import SEQUENCE_COLUMNS, SEQUENCE_KEY, write_sequenced_orders
from loyalist.data.tables import ParquetTable
from loyalist.errors import SchemaError
from loyalist.features import snapshot as snapshot_module
from loyalist.features.snapshot import _with_sequence, build_snapshot

CONFIG = FeatureConfig()
CUTOFFS = ("2023-06-30", "2024-02-29", "2024-12-31")  # inside the history (orders after them) and at its end


def _orders(seed: int = 3, n: int = 4_000, customers: int = 150) -> pd.DataFrame:
    """Orders over 2022-2024 with returns, cancellations, a missing status, undated rows, several orders of one
    customer on the same instant and on the same day, margins, in no particular row order."""
    rng = np.random.default_rng(seed)
    cust = rng.integers(0, customers, n)
    seconds = rng.integers(0, 3 * 365 * 86400, n)
    dates = (np.datetime64("2022-01-01T00:00:00", "s") + seconds.astype("timedelta64[s]")).astype("datetime64[ns]")
    status = rng.choice(["completed", "returned", "cancelled"], n, p=[0.85, 0.1, 0.05]).astype(object)
    status[rng.random(n) < 0.01] = None
    frame = pd.DataFrame({
        "order_id": pd.array([f"O{i:05d}" for i in range(n)], dtype="string"),
        "customer_id": pd.array([f"C{c:04d}" for c in cust], dtype="string"),
        "order_date": dates,
        "amount": np.round(rng.lognormal(4.0, 1.0, n), 2),
        "status": pd.array(status, dtype="string"),
        "margin": np.round(rng.normal(10.0, 5.0, n), 2),
    })
    same = rng.choice(n, 300, replace=False)  # copies on the same instant, and later on the same day
    twins = frame.iloc[same].assign(order_id=lambda d: "S" + d["order_id"], amount=lambda d: d["amount"] + 1.0)
    later = frame.iloc[same[:100]].assign(order_id=lambda d: "L" + d["order_id"],
                                          order_date=lambda d: d["order_date"].dt.normalize()
                                          + pd.Timedelta(hours=23, minutes=59))
    frame = pd.concat([frame, twins, later], ignore_index=True)
    frame.loc[rng.choice(len(frame), 25, replace=False), "order_date"] = pd.NaT  # undated rows
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def _customers(orders: pd.DataFrame) -> pd.DataFrame:
    ids = pd.Series(orders["customer_id"].unique(), dtype="string")
    return pd.DataFrame({"customer_id": ids, "industry": pd.array(["it", "retail"] * (len(ids) // 2)
                                                                   + ["it"] * (len(ids) % 2), dtype="string")})


def assert_same_snapshot(new: pd.DataFrame, old: pd.DataFrame) -> None:
    """Same rows, columns and dtypes; every count, date and text exact; floats to 1e-9 relative."""
    assert list(new.columns) == list(old.columns)
    assert new.dtypes.astype(str).tolist() == old.dtypes.astype(str).tolist()
    assert len(new) > 0 and new["customer_id"].tolist() == old["customer_id"].tolist()
    floats = [c for c in new.columns if str(new[c].dtype) == "float64"]
    pd.testing.assert_frame_equal(new.drop(columns=floats), old.drop(columns=floats), check_exact=True)
    pd.testing.assert_frame_equal(new[floats], old[floats], check_exact=False, rtol=1e-9, atol=0.0)


@pytest.fixture()
def files(tmp_path):
    orders = _orders()
    raw = tmp_path / "raw_orders.parquet"
    orders.to_parquet(raw, index=False)
    sequenced = tmp_path / "orders.parquet"
    assert write_sequenced_orders(raw, sequenced) == len(orders)
    return orders, raw, sequenced


@pytest.fixture()
def paths_taken(monkeypatch):
    """The ``presequenced`` switch of every snapshot SQL rendered."""
    seen: list[bool] = []
    original = snapshot_module._sql

    def spy(config, sources, presequenced=False):
        seen.append(presequenced)
        return original(config, sources, presequenced=presequenced)

    monkeypatch.setattr(snapshot_module, "_sql", spy)
    return seen


def test_the_sequenced_file_is_sorted_and_carries_the_in_memory_sequence(files):
    orders, raw, sequenced = files
    back = pq.read_table(sequenced).to_pandas()
    assert ParquetTable(sequenced, "orders").sequenced and not ParquetTable(raw, "orders").sequenced
    assert sorted(back["order_id"]) == sorted(orders["order_id"])  # the same rows
    key = back[["customer_id"]].assign(t=back["order_date"].astype("int64").where(back["order_date"].notna()))
    assert key.equals(key.sort_values(["customer_id", "t"], na_position="last", kind="stable"))
    # exactly _with_sequence's columns: NULL on non-completed and undated rows, the previous / first completed order
    table = snapshot_module._to_arrow("orders", orders)
    memory = _with_sequence(table).to_pandas().assign(order_id=orders["order_id"].to_numpy())
    merged = back.merge(memory, on="order_id", suffixes=("", "_memory"), validate="one_to_one")
    assert merged["prev_date"].notna().sum() > 3_000 and merged["customer_first_date"].isna().sum() > 400
    # per order the same, but among orders of one customer on the same instant (which of them is "previous" is
    # not defined): there the same values over the tied orders
    assert (merged["customer_first_date"].isna() == merged["customer_first_date_memory"].isna()).all()
    assert (merged["customer_first_date"].dropna() == merged["customer_first_date_memory"].dropna()).all()
    tied = merged.duplicated(["customer_id", "order_date"], keep=False) & merged["order_date"].notna()
    assert tied.sum() >= 300
    untied = merged[~tied]
    assert (untied["prev_date"].isna() == untied["prev_date_memory"].isna()).all()
    assert (untied["prev_date"].dropna() == untied["prev_date_memory"].dropna()).all()

    def values(frame, column):
        return sorted(frame.groupby(["customer_id", "order_date"])[column]
                      .agg(lambda v: tuple(sorted(v.astype("int64").where(v.notna(), -1)))).items())

    assert values(merged[tied], "prev_date") == values(merged[tied], "prev_date_memory")
    completed = (back["status"] == "completed").fillna(False) & back["order_date"].notna()
    assert back.loc[~completed, list(SEQUENCE_COLUMNS)].isna().all().all()


@pytest.mark.parametrize("as_of", CUTOFFS)
def test_presequenced_file_gives_the_window_snapshot(files, paths_taken, as_of):
    orders, raw, sequenced = files
    customers = _customers(orders)
    window = build_snapshot({"orders": ParquetTable(raw, "orders"), "customers": customers}, as_of, CONFIG)
    fast = build_snapshot({"orders": ParquetTable(sequenced, "orders"), "customers": customers}, as_of, CONFIG)
    frames = build_snapshot({"orders": orders, "customers": customers}, as_of, CONFIG)
    assert paths_taken == [False, True, False]
    assert_same_snapshot(fast, window)
    assert_same_snapshot(fast, frames)
    assert fast["n_returns"].sum() > 0 and fast["n_cancelled"].sum() > 0
    assert (fast["last_order_date"] <= pd.Timestamp(as_of) + pd.Timedelta(days=1)).all()  # time rule
    if as_of != CUTOFFS[-1]:  # orders after the cut-off exist and are not read
        assert (orders["order_date"] > pd.Timestamp(as_of) + pd.Timedelta(days=1)).any()


def test_the_precomputed_columns_are_what_the_snapshot_reads(files, tmp_path):
    """A marked file whose prev_date is wrong gives another snapshot: the fast path really reads the file's columns
    (so the equality above is not the window path twice)."""
    _orders, _raw, sequenced = files
    forged = tmp_path / "forged.parquet"
    rows = pq.ParquetFile(sequenced).metadata.num_rows
    marker = json.dumps({"version": 1, "rows": rows})
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * REPLACE (NULL::TIMESTAMP_NS AS prev_date) FROM read_parquet('{sequenced}')) "
                f"TO '{forged}' (FORMAT parquet, KV_METADATA {{'{SEQUENCE_KEY}': '{marker}'}})")
    assert ParquetTable(forged, "orders").sequenced
    good = build_snapshot({"orders": ParquetTable(sequenced, "orders")}, "2024-06-30", CONFIG)
    bad = build_snapshot({"orders": ParquetTable(forged, "orders")}, "2024-06-30", CONFIG)
    assert not good["btyd_frequency"].equals(bad["btyd_frequency"])


def test_files_without_a_valid_marker_take_the_window_path(files, tmp_path, paths_taken):
    _orders, raw, sequenced = files
    table = pq.read_table(sequenced)
    # rewritten by pyarrow after a filter: the footer's marker is carried over, the sequence may be stale
    filtered = table.filter(table.column("amount").to_numpy() > 60.0)
    pq.write_table(filtered, tmp_path / "filtered.parquet")
    # the same content, rewritten by pyarrow untouched (row count equal, writer not DuckDB)
    pq.write_table(table, tmp_path / "rewritten.parquet")
    # another version of the marker; a marker that is not JSON; a marker whose row count is not the file's
    for name, marker in (("v2", json.dumps({"version": 2, "rows": table.num_rows})), ("junk", "{not json"),
                         ("rows", json.dumps({"version": 1, "rows": table.num_rows + 1}))):
        con = duckdb.connect()
        con.execute(f"COPY (SELECT * FROM read_parquet('{sequenced}')) TO '{tmp_path / name}.parquet' "
                    f"(FORMAT parquet, KV_METADATA {{'{SEQUENCE_KEY}': '{marker}'}})")
    # a marked file without one of the columns
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * EXCLUDE (customer_first_date) FROM read_parquet('{sequenced}')) TO "
                f"'{tmp_path / 'partial.parquet'}' (FORMAT parquet, KV_METADATA "
                f"{{'{SEQUENCE_KEY}': '{json.dumps({'version': 1, 'rows': table.num_rows})}'}})")
    names = ("filtered", "rewritten", "v2", "junk", "rows", "partial")
    assert pq.ParquetFile(tmp_path / "filtered.parquet").metadata.metadata[SEQUENCE_KEY.encode()]  # carried over
    for name in names:
        handle = ParquetTable(tmp_path / f"{name}.parquet", "orders")
        assert not handle.sequenced, name
        assert not set(SEQUENCE_COLUMNS) & set(handle.columns)  # never part of the table
    paths_taken.clear()
    for name in names:
        path = tmp_path / f"{name}.parquet"
        got = build_snapshot({"orders": ParquetTable(path, "orders")}, "2024-06-30", CONFIG)
        content = pq.read_table(path).to_pandas().drop(columns=[c for c in SEQUENCE_COLUMNS if c in
                                                                 pq.read_schema(path).names])
        assert_same_snapshot(got, build_snapshot({"orders": content}, "2024-06-30", CONFIG))
    assert paths_taken == [False, False] * len(names)
    # only orders files are sequenced; a customers file never is
    assert not ParquetTable(raw, "order_lines").sequenced


def test_sequenced_files_keep_the_clear_errors(files, tmp_path):
    orders, _raw, _sequenced = files
    bad = orders.assign(amount=orders["amount"].astype(str))
    bad.to_parquet(tmp_path / "bad_raw.parquet", index=False)
    write_sequenced_orders(tmp_path / "bad_raw.parquet", tmp_path / "bad.parquet")
    handle = ParquetTable(tmp_path / "bad.parquet", "orders")
    assert handle.sequenced
    with pytest.raises(SchemaError, match=r"'amount' of table 'orders' \('.*bad.parquet'\) must be numeric"):
        build_snapshot({"orders": handle}, "2024-06-30", CONFIG)
    orders.drop(columns=["order_date"]).to_parquet(tmp_path / "no_date.parquet", index=False)
    with pytest.raises(ValueError, match=r"no_date.parquet' has no column\(s\) \['order_date'\]"):
        write_sequenced_orders(tmp_path / "no_date.parquet", tmp_path / "x.parquet")
