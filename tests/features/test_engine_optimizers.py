"""The snapshot SQL runs with DuckDB's ``partitioned_execution`` optimizer switched off (engine.DISABLED_OPTIMIZERS).

On the 931,143-customer scoring company that optimizer split the customer aggregate and the category and product
groupings into customer_id ranges and scanned the whole orders file once per range (a filter after the scan): the
snapshot SQL cost ~60% more CPU and needed more memory (benchmarks/RESULTS.md, "snapscore, session 17"). It only
fires on large files, so these tests check the setting on the connection every snapshot query runs on; the
snapshot's values are checked by the other tests of tests/features and tests/spark, which run with it.
"""

from __future__ import annotations

import duckdb

from loyalist.features import engine


def _known_optimizers() -> set[str]:
    with duckdb.connect(":memory:") as con:
        return {name for (name,) in con.execute("SELECT name FROM duckdb_optimizers()").fetchall()}


def _disabled_on_snapshot_connection() -> set[str]:
    result = engine.run_sql("SELECT current_setting('disabled_optimizers') AS value", {}, {})
    text = result.column("value")[0].as_py() or ""
    return {name.strip() for name in text.split(",") if name.strip()}


def test_snapshot_queries_run_without_partitioned_execution():
    if "partitioned_execution" not in _known_optimizers():  # DuckDB before 2.0 has no such optimizer
        assert "partitioned_execution" not in _disabled_on_snapshot_connection()
        return
    assert "partitioned_execution" in engine.DISABLED_OPTIMIZERS
    assert "partitioned_execution" in _disabled_on_snapshot_connection()


def test_an_optimizer_this_duckdb_does_not_know_is_skipped(monkeypatch):
    known = sorted(_known_optimizers())
    monkeypatch.setattr(engine, "DISABLED_OPTIMIZERS", ("no_such_optimizer", known[0]))
    assert _disabled_on_snapshot_connection() == {known[0]}
    monkeypatch.setattr(engine, "DISABLED_OPTIMIZERS", ("no_such_optimizer",))
    assert _disabled_on_snapshot_connection() == set()
