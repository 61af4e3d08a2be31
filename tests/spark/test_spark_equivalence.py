"""The same SQL text on DuckDB and on Spark gives the same snapshot, labels and churn-risk list."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from loyalist.cli import app
from loyalist.config.models import FeatureConfig
from loyalist.data.prepare import STREAMED_TABLES, read_clean
from loyalist.data.tables import as_frame
from loyalist.engines.spark import spark_labels, spark_snapshot, spark_tables
from loyalist.engines.spark_scoring import _rfm_from_references, _rfm_keys
from loyalist.features.labels import build_labels
from loyalist.features.rfm import rfm_scores
from loyalist.features.snapshot import build_snapshot, finish_snapshot

pytestmark = pytest.mark.slow

_DATES = {"as_of", "first_order_date", "last_order_date"}


def assert_same_table(duck: pd.DataFrame, spark: pd.DataFrame, *, skip=()) -> None:
    """Same columns in the same order, same rows in the same order; counts, dates and text exactly equal, floats
    within 1e-9 relative."""
    assert list(spark.columns) == list(duck.columns)
    assert len(spark) == len(duck)
    for column in duck.columns:
        if column in skip:
            continue
        a, b = duck[column], spark[column]
        if column in _DATES:
            np.testing.assert_array_equal(pd.to_datetime(a).to_numpy("datetime64[ns]"),
                                          pd.to_datetime(b).to_numpy("datetime64[ns]"), err_msg=column)
        elif pd.api.types.is_float_dtype(a.dtype):
            np.testing.assert_allclose(b.to_numpy(dtype="float64"), a.to_numpy(dtype="float64"),
                                       rtol=1e-9, atol=0, equal_nan=True, err_msg=column)
        elif pd.api.types.is_integer_dtype(a.dtype):
            np.testing.assert_array_equal(b.to_numpy(dtype="int64"), a.to_numpy(dtype="int64"), err_msg=column)
        else:
            left = a.astype("string").fillna("<NA>").to_numpy(dtype=object)
            right = b.astype("string").fillna("<NA>").to_numpy(dtype=object)
            np.testing.assert_array_equal(right, left, err_msg=column)


@pytest.mark.parametrize("as_of", ["2023-06-30", "2024-09-30", "2024-12-31"])
def test_snapshot_and_labels_are_the_same_on_both_engines(spark, demo, as_of):
    workdir, _ = demo
    clean = workdir / "data" / "demo" / "clean"
    config = FeatureConfig()
    tables = read_clean(clean, lazy=STREAMED_TABLES)
    duck = build_snapshot(tables, as_of, config)

    present = spark_tables(spark, str(clean))
    frame = spark_snapshot(spark, present, as_of, config).toPandas()
    ours = finish_snapshot(frame, present.get("tickets"), config)
    assert len(duck) > 300
    assert_same_table(duck, ours)

    labels = build_labels(as_frame(tables["orders"]), duck["customer_id"], as_of, config)
    spark_lab = spark_labels(spark, spark_snapshot(spark, present, as_of, config), as_of, config).toPandas()
    assert_same_table(labels, spark_lab)
    if as_of != "2024-12-31":  # a label window inside the data: some customers churn, some buy
        assert 0 < labels["churned"].sum() < len(labels)


def test_rfm_ranked_against_the_population_equals_ranking_the_whole_table(spark, demo):
    workdir, _ = demo
    duck = build_snapshot(read_clean(workdir / "data" / "demo" / "clean", lazy=STREAMED_TABLES), "2024-09-30",
                          FeatureConfig())
    refs = {c: np.sort(-_rfm_keys(duck[c]) if c == "recency_days" else _rfm_keys(duck[c]))
            for c in ("recency_days", "n_orders", "monetary_total")}
    whole = rfm_scores(duck, bins=5)
    # ranked in three uneven batches, as the executors see them
    parts = [duck.iloc[:100], duck.iloc[100:101], duck.iloc[101:]]
    batched = pd.concat([_rfm_from_references(p, refs, 5) for p in parts])
    assert_same_table(whole, batched)


def test_score_engine_spark_writes_the_duckdb_list(spark, demo, spark_config_file, tmp_path):
    workdir, env = demo
    out = tmp_path / "spark-scores"
    result = CliRunner().invoke(app, [
        "score", "--engine", "spark", "--clean", str(workdir / "data" / "demo" / "clean"), "--out", str(out),
        "--config", str(spark_config_file), "--workdir", str(workdir), "--quiet",
    ], env=env)
    assert result.exit_code == 0, result.output + repr(result.exception)
    duck = pd.read_parquet(workdir / "outputs" / "demo" / "churn_risk.parquet")
    csv = pd.read_csv(out / "churn_risk.csv", dtype={"customer_id": "string"})
    parts = sorted((out / "churn_risk.parquet").glob("part-*.parquet"))
    assert parts, "Spark wrote no Parquet part files"
    written = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    # same customers in the same order, every column equal (cross-sell is not computed on Spark)
    assert_same_table(duck, written, skip={"next_products"})
    assert (written["next_products"] == "").all()
    assert csv["customer_id"].tolist() == duck["customer_id"].astype(str).tolist()
    assert (written["reason_1"] != "").sum() > 0

    duck_summary = json.loads((workdir / "outputs" / "demo" / "churn_risk_summary.json").read_text())
    spark_summary = json.loads((out / "churn_risk_summary.json").read_text())
    for key in ("as_of", "customers", "tiers", "bands"):
        assert spark_summary[key] == duck_summary[key], key
    for key in ("expected_value_total", "value_at_risk_total", "mean_churn_probability"):
        assert spark_summary[key] == pytest.approx(duck_summary[key], rel=1e-9), key
    assert spark_summary["drift"]["psi"] == pytest.approx(duck_summary["drift"]["psi"], rel=1e-6)
    assert spark_summary["engine"]["name"] == "spark"


def test_training_snapshots_and_labels_are_the_same_on_both_engines(spark, demo):
    """``train --engine spark`` builds the stacked training rows on Spark: the same rows as DuckDB + pandas."""
    import functools

    from loyalist.engines.spark import spark_labelled_snapshot
    from loyalist.modeling.supervised.dataset import stack_snapshots

    workdir, _ = demo
    clean = workdir / "data" / "demo" / "clean"
    config = FeatureConfig()
    tables = read_clean(clean)
    cutoffs = [pd.Timestamp("2023-12-31"), pd.Timestamp("2024-06-30")]
    duck = stack_snapshots(tables, cutoffs, config)
    builder = functools.partial(spark_labelled_snapshot, spark, spark_tables(spark, str(clean)))
    ours = stack_snapshots(tables, cutoffs, config, builder=builder)
    assert set(duck["as_of"]) == set(cutoffs) and {"churned", "future_revenue"} <= set(duck.columns)
    assert_same_table(duck, ours)
