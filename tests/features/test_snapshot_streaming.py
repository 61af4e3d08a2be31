"""The streamed snapshot (record batches read as DuckDB makes them, sorted afterwards) equals the old whole-table path
(the SQL with ORDER BY read as one Arrow table, ``to_pandas``, then the dtypes) byte for byte: dtypes, row order,
values, NA positions. Checked with batches of a few rows (so every column spans many batches, and a batch may have
nulls where the one before had none), on zero rows, on nullable and string/categorical columns, on ids whose byte
order differs from a naive one, and on the Parquet path."""

from __future__ import annotations

import functools
import importlib.util
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from loyalist.config.models import FeatureConfig
from loyalist.data.tables import ParquetTable
from loyalist.errors import SchemaError
from loyalist.features import SNAPSHOT_COLUMNS, SNAPSHOT_DTYPES, build_snapshot, engine, snapshot_sql
from loyalist.features import snapshot as snapshot_module

CONFIG = FeatureConfig()
REPO = Path(__file__).resolve().parents[2]


def whole_table_snapshot(tables, as_of, config=CONFIG) -> pd.DataFrame:
    """The path build_snapshot took before streaming: ORDER BY in the SQL, the whole result as one Arrow table,
    one ``to_pandas``, then finish_snapshot (dtypes, blanks, RFM)."""
    params = snapshot_module.snapshot_params(as_of, config)
    sources = {name: snapshot_module._source(name, tables[name]) for name in snapshot_module._READ
               if tables.get(name) is not None}
    names = snapshot_module._columns(sources["orders"])
    sql = snapshot_sql(config, has_customers="customers" in sources, has_tickets="tickets" in sources,
                       has_surveys="surveys" in sources, has_margin="margin" in names,
                       has_category="category" in names, has_product="product_id" in names)
    assert "ORDER BY p.customer_id" in sql
    result = engine.run_sql(sql, sources, params)
    frame = result.to_pandas(types_mapper=snapshot_module._string_mapper, ignore_metadata=True)
    return snapshot_module._finish(frame, tables, config)


def assert_identical(new: pd.DataFrame, old: pd.DataFrame) -> None:
    """Same columns, dtypes, index and values; numeric and datetime columns compared as raw bytes (so -0.0, NaN
    payloads and NaT count), text columns value by value with NA where NA was."""
    assert list(new.columns) == list(old.columns) == list(SNAPSHOT_COLUMNS)
    assert {c: str(t) for c, t in new.dtypes.items()} == {c: str(t) for c, t in old.dtypes.items()} == SNAPSHOT_DTYPES
    pd.testing.assert_index_equal(new.index, old.index, exact=True)
    for column in new.columns:
        a, b = new[column], old[column]
        if isinstance(a.dtype, np.dtype):
            assert a.to_numpy().tobytes() == b.to_numpy().tobytes(), column
        else:
            assert a.isna().tolist() == b.isna().tolist(), column
            assert a.dropna().tolist() == b.dropna().tolist(), column
    pd.testing.assert_frame_equal(new, old, check_exact=True)


@pytest.fixture
def small_batches(monkeypatch):
    """Stream the result 7 rows at a time (DuckDB's default batch holds every row of these small tables)."""
    monkeypatch.setattr(engine, "stream_sql", functools.partial(engine.stream_sql, batch_rows=7))


def _bench_module():
    path = REPO / "benchmarks" / "bench_snapshot.py"
    spec = importlib.util.spec_from_file_location("_bench_snapshot_streaming", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _company(seed: int = 11) -> dict[str, pd.DataFrame]:
    tables = {name: t.to_pandas() for name, t in _bench_module().generate_tables(3_000, 300, seed=seed).items()}
    customers = tables["customers"]
    customers["industry"] = customers["industry"].astype("category")  # categorical text in, text out
    customers["region"] = customers["region"].astype("string")
    return tables


def test_streamed_batches_are_small_here(small_batches):
    tables = _company()
    params = snapshot_module.snapshot_params("2024-07-01", CONFIG)
    sources = {"orders": snapshot_module._source("orders", tables["orders"])}
    sql = snapshot_sql(CONFIG, has_customers=False, has_tickets=False, has_surveys=False, has_margin=True,
                       ordered=False)
    with engine.stream_sql(sql, sources, params) as reader:
        sizes = [batch.num_rows for batch in reader]
    assert len(sizes) > 20 and max(sizes) <= 7 and sum(sizes) > 150


@pytest.mark.parametrize("as_of", ["2024-07-01", "2023-03-15", "2022-09-30"])
def test_streamed_snapshot_equals_the_whole_table_path(small_batches, as_of):
    tables = _company()
    new = build_snapshot(tables, as_of, CONFIG)
    old = whole_table_snapshot(tables, as_of)
    assert len(new) > 10
    if as_of == "2024-07-01":  # the data has the nullable columns this test is about: NaN floats, NA text
        assert new["top_complaint_stage"].isna().any() and new["top_complaint_stage"].notna().any()
        assert new["ipt_std"].isna().any() and new["ipt_std"].notna().any()
        assert new["industry"].notna().all()
    assert_identical(new, old)


def test_streamed_snapshot_equals_the_whole_table_path_from_parquet_files(small_batches):
    tables = _company(seed=12)
    with tempfile.TemporaryDirectory() as folder:
        on_disk = {}
        for name, frame in tables.items():
            path = Path(folder) / f"{name}.parquet"
            frame.to_parquet(path, index=False)
            on_disk[name] = ParquetTable(path, name)
        assert_identical(build_snapshot(on_disk, "2024-07-01", CONFIG), whole_table_snapshot(on_disk, "2024-07-01"))


def test_streamed_snapshot_with_zero_rows_equals_the_whole_table_path(small_batches):
    tables = _company()
    new = build_snapshot(tables, "2020-01-01", CONFIG)
    assert new.empty
    assert_identical(new, whole_table_snapshot(tables, "2020-01-01"))


def test_streamed_snapshot_orders_only_and_one_row(small_batches):
    orders = pd.DataFrame({"customer_id": pd.array(["A"], dtype="string"),
                           "order_date": pd.to_datetime(["2024-02-01"]).astype("datetime64[ns]"),
                           "amount": np.array([10.0])})
    new = build_snapshot({"orders": orders}, "2024-06-30", CONFIG)
    assert len(new) == 1
    assert_identical(new, whole_table_snapshot({"orders": orders}, "2024-06-30"))


def test_streamed_rows_follow_duckdbs_byte_order_of_ids(small_batches):
    """DuckDB's ORDER BY compares the UTF-8 bytes; the streamed path sorts with Arrow, which does too."""
    ids = ["b", "B", "a", "Z", "é", "客户9", "客户10", "a0", "10", "9", "~", "Ä", "e"] * 2
    dates = [f"2024-0{1 + i % 5}-1{i % 9}" for i in range(len(ids))]
    orders = pd.DataFrame({"customer_id": pd.array(ids, dtype="string"),
                           "order_date": pd.to_datetime(dates).astype("datetime64[ns]"),
                           "amount": np.arange(1.0, len(ids) + 1.0)})
    new = build_snapshot({"orders": orders}, "2024-06-30", CONFIG)
    assert new["customer_id"].tolist() == sorted(set(ids), key=lambda s: s.encode("utf-8"))
    assert_identical(new, whole_table_snapshot({"orders": orders}, "2024-06-30"))


def test_duplicate_customers_spread_over_batches_are_still_a_schema_error(small_batches):
    tables = _company()
    customers = tables["customers"]
    active = build_snapshot(tables, "2024-07-01", CONFIG)["customer_id"]
    repeated = customers[customers["customer_id"] == active.iloc[len(active) // 2]]
    tables["customers"] = pd.concat([customers, repeated], ignore_index=True)
    with pytest.raises(SchemaError, match=r"'customer_id'.*'customers'.*more than once"):
        build_snapshot(tables, "2024-07-01", CONFIG)


def test_stream_sql_reads_batches_and_checks_parameters():
    table = pa.table({"x": pa.array(np.arange(10, dtype=np.int64))})
    with engine.stream_sql("SELECT x * :k AS y FROM t", {"t": table}, {"k": 3}, batch_rows=4) as reader:
        batches = list(reader)
    assert [b.num_rows for b in batches] == [4, 4, 2]
    assert pa.Table.from_batches(batches).column("y").to_pylist() == [3 * i for i in range(10)]
    with engine.stream_sql("SELECT x FROM t", {"t": table}, {}) as reader:
        assert reader.read_next_batch().num_rows == 10  # the rest (none) left unread: leaving the block is fine
    with pytest.raises(ValueError, match="'k'"), engine.stream_sql("SELECT :k", {}, {}):
        pass


def test_result_file_goes_to_the_spill_folder_which_is_made_and_left_clean(tmp_path, monkeypatch):
    """compute.duckdb_temp_directory may name a folder that does not exist yet (DuckDB makes it when it spills):
    the snapshot makes it, writes its temporary result file there and removes the file."""
    from loyalist import compute

    seen = []
    original = engine.sql_to_arrow_file

    def spy(sql, tables, params, path, **kwargs):
        seen.append(Path(path))
        return original(sql, tables, params, path, **kwargs)

    spill = tmp_path / "not" / "yet"
    monkeypatch.setattr(engine, "sql_to_arrow_file", spy)
    compute.use_compute(duckdb=compute.DuckdbSettings(memory_limit="200MB", temp_directory=str(spill)))
    try:
        tables = _company()
        new = build_snapshot(tables, "2024-07-01", CONFIG)
    finally:
        compute.use_compute()
    assert len(seen) == 1 and seen[0].parent.parent == spill
    assert spill.is_dir() and list(spill.iterdir()) == []
    assert_identical(new, whole_table_snapshot(tables, "2024-07-01"))
