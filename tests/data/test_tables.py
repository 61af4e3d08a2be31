"""Tests of loyalist.data.tables (clean tables left on disk) and the jobs' use of them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from loyalist.config.models import FeatureConfig
from loyalist.data.prepare import read_clean
from loyalist.data.tables import ParquetTable, as_frame, file_fingerprint
from loyalist.errors import InputFileError, InsufficientHistoryError, SchemaError
from loyalist.features.cutoffs import data_period, resolve_as_of
from loyalist.features.snapshot import build_snapshot


def _orders(n: int = 6) -> pd.DataFrame:
    return pd.DataFrame({
        "order_id": pd.array([f"O{i}" for i in range(n)], dtype="string"),
        "customer_id": pd.array(["A", "B", "A", "C", "B", "A"][:n], dtype="string"),
        "order_date": pd.to_datetime(
            ["2024-01-03 10:00", "2024-02-01", "2024-03-15", "2024-04-01", "2024-05-20", "2024-06-29 18:30"][:n],
            format="ISO8601",
        ).astype("datetime64[ns]"),
        "amount": np.array([10.0, 20.0, 30.0, 40.0, 50.0, 60.0][:n]),
        "status": pd.array(["completed", "completed", "returned", "completed", "completed", "completed"][:n],
                           dtype="string"),
    })


@pytest.fixture()
def clean_dir(tmp_path):
    _orders().to_parquet(tmp_path / "orders.parquet", index=False)
    pd.DataFrame({
        "customer_id": pd.array(["A", "B", "C"], dtype="string"),
        "industry": pd.array(["it", "it", "retail"], dtype="string"),
    }).to_parquet(tmp_path / "customers.parquet", index=False)
    return tmp_path


def test_read_clean_leaves_the_lazy_tables_on_disk_and_reads_them_back_identically(clean_dir):
    eager = read_clean(clean_dir)
    lazy = read_clean(clean_dir, lazy=("orders", "tickets"))  # no tickets file: nothing to leave
    assert isinstance(lazy["orders"], ParquetTable) and isinstance(lazy["customers"], pd.DataFrame)
    assert "tickets" not in lazy
    orders = lazy["orders"]
    assert len(orders) == orders.num_rows == 6 and not orders.empty
    assert orders.columns == list(eager["orders"].columns) and "order_date" in orders
    pd.testing.assert_frame_equal(orders.read(), eager["orders"])
    pd.testing.assert_frame_equal(as_frame(orders, ["customer_id", "amount"]), eager["orders"][["customer_id", "amount"]])
    assert as_frame(eager["orders"]) is eager["orders"] and as_frame(None) is None
    with pytest.raises(ValueError, match="unknown table"):
        read_clean(clean_dir, lazy=("order",))
    with pytest.raises(SchemaError, match=r"lacks the required column\(s\) 'nope'; got columns \[.*'customer_id'"):
        orders.read(["customer_id", "nope"])
    with pytest.raises(SchemaError, match="DataFrame or a ParquetTable"):
        as_frame([1, 2])


def test_column_range_from_statistics_or_from_the_data(tmp_path):
    orders = _orders()
    orders.to_parquet(tmp_path / "with.parquet", index=False, row_group_size=2)
    pq.write_table(pa.Table.from_pandas(orders, preserve_index=False), tmp_path / "without.parquet",
                   write_statistics=False)
    want = (orders["order_date"].min(), orders["order_date"].max())
    for name in ("with", "without"):
        table = ParquetTable(tmp_path / f"{name}.parquet", "orders")
        assert table.column_range("order_date") == want, name
        assert table.column_range("amount") == (10.0, 60.0), name
    with pytest.raises(SchemaError, match="no column"):
        table.column_range("nope")
    blank = orders.assign(amount=np.nan)
    blank.to_parquet(tmp_path / "blank.parquet", index=False)
    assert ParquetTable(tmp_path / "blank.parquet", "orders").column_range("amount") == (None, None)


def test_data_period_and_as_of_agree_for_frames_and_files(clean_dir):
    eager, lazy = read_clean(clean_dir), read_clean(clean_dir, lazy=("orders",))
    assert data_period(lazy) == data_period(eager) == (pd.Timestamp("2024-01-03"), pd.Timestamp("2024-06-29"))
    assert resolve_as_of(lazy, None) == resolve_as_of(eager, None)
    with pytest.raises(InsufficientHistoryError, match="after the last order"):
        resolve_as_of(lazy, "2024-07-01")
    _orders().iloc[:0].to_parquet(clean_dir / "empty.parquet", index=False)
    with pytest.raises(InsufficientHistoryError, match="no rows"):
        data_period({"orders": ParquetTable(clean_dir / "empty.parquet", "orders")})


def test_missing_or_unreadable_files_and_unknown_names_are_clear_errors(tmp_path):
    with pytest.raises(InputFileError, match="does not exist"):
        ParquetTable(tmp_path / "orders.parquet", "orders")
    (tmp_path / "orders.parquet").write_text("not parquet", encoding="utf-8")
    with pytest.raises(InputFileError, match="not a readable Parquet file.*loyalist prepare"):
        ParquetTable(tmp_path / "orders.parquet", "orders").columns
    with pytest.raises(SchemaError, match="Unknown table name"):
        ParquetTable(tmp_path / "orders.parquet", "invoices")


def test_file_fingerprint_counts_rows_and_customers_and_follows_the_bytes(clean_dir):
    table = ParquetTable(clean_dir / "orders.parquet", "orders")
    first = file_fingerprint(table)
    assert first["rows"] == 6 and first["columns"] == 5 and first["customers"] == 3 and first["source"] == "file"
    assert file_fingerprint(table) == first
    changed = _orders().assign(amount=lambda d: d["amount"].where(d.index != 3, 41.0))
    changed.to_parquet(clean_dir / "orders.parquet", index=False)
    second = file_fingerprint(ParquetTable(clean_dir / "orders.parquet", "orders"))
    assert second["rows"] == first["rows"] and second["sha256"] != first["sha256"]


def test_snapshot_from_files_names_the_file_column_and_fix(tmp_path):
    config = FeatureConfig()
    bad = _orders().assign(order_date=lambda d: d["order_date"].dt.strftime("%Y-%m-%d"))
    bad.to_parquet(tmp_path / "orders.parquet", index=False)
    with pytest.raises(SchemaError, match=r"'order_date' of table 'orders' \('.*orders.parquet'\).*timestamp.*prepare"):
        build_snapshot({"orders": ParquetTable(tmp_path / "orders.parquet", "orders")}, "2024-06-30", config)
    _orders().drop(columns=["amount"]).to_parquet(tmp_path / "orders.parquet", index=False)
    with pytest.raises(SchemaError, match="lacks the required column.*'amount'"):
        build_snapshot({"orders": ParquetTable(tmp_path / "orders.parquet", "orders")}, "2024-06-30", config)
    zoned = _orders().assign(order_date=lambda d: d["order_date"].dt.tz_localize("Asia/Shanghai"))
    zoned.to_parquet(tmp_path / "orders.parquet", index=False)
    with pytest.raises(SchemaError, match="naive timestamp"):
        build_snapshot({"orders": ParquetTable(tmp_path / "orders.parquet", "orders")}, "2024-06-30", config)


def test_snapshot_from_files_normalises_like_the_frames(tmp_path):
    """Integer amounts, dictionary-encoded text, cost without margin and a file with a quote in its path."""
    config = FeatureConfig()
    frame = _orders().assign(cost=np.array([4.0, 5.0, np.nan, 6.0, 7.0, 8.0]))
    folder = tmp_path / "o'brien"
    folder.mkdir()
    table = pa.Table.from_pandas(frame.assign(amount=frame["amount"].astype("int64")), preserve_index=False)
    table = table.set_column(table.schema.get_field_index("customer_id"), "customer_id",
                             table.column("customer_id").dictionary_encode())
    pq.write_table(table, folder / "orders.parquet")
    streamed = build_snapshot({"orders": ParquetTable(folder / "orders.parquet", "orders")}, "2024-06-30", config)
    in_memory = build_snapshot({"orders": frame}, "2024-06-30", config)
    pd.testing.assert_frame_equal(streamed, in_memory, check_exact=True)
    assert streamed["margin_total"].notna().any()
