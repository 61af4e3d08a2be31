"""The same SQL text on DuckDB and on Spark gives the same snapshot, labels and churn-risk list."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from loyalist.batch.columns import RISK_LIST_COLUMNS
from loyalist.batch.csv_view import csv_view
from loyalist.cli import app
from loyalist.config.models import FeatureConfig
from loyalist.data.prepare import STREAMED_TABLES, read_clean
from loyalist.data.tables import as_frame
from loyalist.io import write_csv
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
    # same customers in the same order, every column equal, cross-sell's next_products included (and the uplift
    # columns when the demo's campaign made an uplift champion)
    assert list(written.columns)[:len(RISK_LIST_COLUMNS)] == list(RISK_LIST_COLUMNS)
    assert_same_table(duck, written)  # the control group included: the same customers held out, with no action
    assert written["control_group"].to_numpy(dtype=bool).any()
    # the control assignment beside the list is the DuckDB job's, row for row
    duck_control = pd.read_parquet(workdir / "outputs" / "demo" / "churn_risk_control.parquet")
    spark_control = pd.read_parquet(out / "churn_risk_control.parquet")
    pd.testing.assert_frame_equal(duck_control, spark_control)
    assert (written["next_products"].str.count(";") == 2).mean() > 0.9, "cross-sell lists three products"
    assert (written["reason_1"] != "").sum() > 0
    # the CSV is the DuckDB job's CSV (csv_view, both languages)
    duck_csv = pd.read_csv(workdir / "outputs" / "demo" / "churn_risk.csv", dtype={"customer_id": "string"})
    assert_same_table(duck_csv, csv)

    duck_summary = json.loads((workdir / "outputs" / "demo" / "churn_risk_summary.json").read_text())
    spark_summary = json.loads((out / "churn_risk_summary.json").read_text())
    assert set(duck_summary) <= set(spark_summary), set(duck_summary) - set(spark_summary)
    for key in ("as_of", "customers", "tiers", "bands", "newly_at_risk", "control_group"):  # config_hash: the Spark run's config
        assert spark_summary[key] == duck_summary[key], key
    for key in ("expected_value_total", "value_at_risk_total", "mean_churn_probability", "expected_purchases_total"):
        assert spark_summary[key] == pytest.approx(duck_summary[key], rel=1e-9), key
    assert spark_summary["value_at_risk_by_tier"] == pytest.approx(duck_summary["value_at_risk_by_tier"], rel=1e-9)
    assert spark_summary["timings_seconds"]["cross_sell_fit"] > 0
    assert spark_summary["cpu_seconds"]["driver_total"] > 0 and spark_summary["peak_mb"]["driver_total"] > 0
    assert spark_summary["drift"]["psi"] == pytest.approx(duck_summary["drift"]["psi"], rel=1e-6)
    assert spark_summary["engine"]["name"] == "spark"
    assert not [n for n in spark_summary["notes"] if "learned from events up to" in n]  # the list at the data end

    # the drift pages beside the list and with the scoring run in MLflow, as the DuckDB job does
    for lang in ("zh", "en"):
        assert "<html" in (out / f"churn_risk_drift_{lang}.html").read_text(encoding="utf-8").lower()
    from mlflow import MlflowClient

    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()],
                              filter_string="tags.engine = 'spark'")
    assert len(runs) >= 1
    run = runs[0]
    assert {a.path for a in client.list_artifacts(run.info.run_id, "drift")} == {
        "drift/churn_risk_drift_zh.html", "drift/churn_risk_drift_en.html"}
    assert run.data.tags["mlflow.note.content"].startswith(f"Scored on Spark {spark_summary['customers']:,} customers")


def test_score_engine_spark_adds_the_uplift_columns_and_ranks_by_them_as_duckdb_does(spark, demo, spark_config_file,
                                                                                    tmp_path):
    """With an uplift champion and scoring_job.rank_by: expected_saved_value, the Spark list carries the DuckDB
    list's uplift and expected_saved_value, in its order (and the same control group drawn from it)."""
    from mlflow import MlflowClient

    workdir, env = demo
    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    name = "loyalist-churn-uplift"  # registered by the demo's campaign cycle (loyalist uplift)
    added = "champion" not in client.get_registered_model(name).aliases
    if added:  # the demo's model did not beat random: make it champion for this test only
        client.set_registered_model_alias(name, "champion", "1")
    config = tmp_path / "rank.yaml"
    config.write_text(spark_config_file.read_text(encoding="utf-8") + "scoring_job:\n  rank_by: expected_saved_value\n",
                      encoding="utf-8")
    clean = str(workdir / "data" / "demo" / "clean")
    try:
        for engine in ("duckdb", "spark"):
            result = CliRunner().invoke(app, [
                "score", "--engine", engine, "--clean", clean, "--out", str(tmp_path / engine), "--config",
                str(config), "--workdir", str(workdir), "--quiet"], env=env)
            assert result.exit_code == 0, result.output + repr(result.exception)
    finally:
        if added:
            client.delete_registered_model_alias(name, "champion")
    duck = pd.read_parquet(tmp_path / "duckdb" / "churn_risk.parquet")
    written = pd.concat([pd.read_parquet(p) for p in sorted((tmp_path / "spark" / "churn_risk.parquet")
                                                                 .glob("part-*.parquet"))], ignore_index=True)
    assert list(duck.columns) == [*RISK_LIST_COLUMNS, "uplift", "expected_saved_value"]
    assert_same_table(duck, written)
    saved = written["expected_saved_value"].to_numpy()
    assert (np.diff(saved) <= 0).all() and (np.diff(written["value_at_risk"].to_numpy()) > 0).any()
    assert written["uplift"].std() > 0
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "duckdb" / "churn_risk_control.parquet"),
                                  pd.read_parquet(tmp_path / "spark" / "churn_risk_control.parquet"))
    duck_summary, spark_summary = (json.loads((tmp_path / e / "churn_risk_summary.json").read_text())
                                   for e in ("duckdb", "spark"))
    assert spark_summary["rank_by"] == duck_summary["rank_by"] == "expected_saved_value"
    assert spark_summary["models"]["uplift"] == duck_summary["models"]["uplift"]


def test_score_engine_spark_at_an_earlier_as_of_says_its_models_learned_from_later_events(spark, demo,
                                                                                        spark_config_file, tmp_path):
    # the time rule, as the DuckDB job says it (1a39c01): the champions learned from events after this list's
    # as-of (the demo's earlier list), so the Spark list's summary and console say so too; they said nothing
    workdir, env = demo
    earlier = json.loads((workdir / "outputs" / "demo" / "previous" / "churn_risk_summary.json").read_text())
    as_of = earlier["as_of"][:10]
    out = tmp_path / "spark-earlier"
    result = CliRunner().invoke(app, [
        "score", "--engine", "spark", "--clean", str(workdir / "data" / "demo" / "clean"), "--out", str(out),
        "--config", str(spark_config_file), "--workdir", str(workdir), "--as-of", as_of,
    ], env={**env, "COLUMNS": "400"})
    assert result.exit_code == 0, result.output + repr(result.exception)
    summary = json.loads((out / "churn_risk_summary.json").read_text())
    said = [n for n in summary["notes"] if "learned from events up to" in n]
    duck = [n for n in earlier["notes"] if "learned from events up to" in n]
    assert summary["as_of"] == earlier["as_of"] and said == duck and len(said) == 2, summary["notes"]
    assert f"after this list's as-of {as_of}" in " ".join(result.output.split())


def test_score_engine_spark_to_a_uri_writes_the_csv_and_summary_there(spark, demo, spark_config_file, tmp_path):
    """An output given as a URI goes through the Hadoop file system (file:// here, s3a:// or hdfs:// on a
    cluster): the list, its CSV (a list within spark.csv_row_limit, in the --lang asked for) and the summary."""
    workdir, env = demo
    out = tmp_path / "uri-scores"
    result = CliRunner().invoke(app, [
        "score", "--engine", "spark", "--clean", str(workdir / "data" / "demo" / "clean"), "--out", out.as_uri(),
        "--config", str(spark_config_file), "--workdir", str(workdir), "--quiet", "--lang", "en",
    ], env=env)
    assert result.exit_code == 0, result.output + repr(result.exception)
    duck = pd.read_parquet(workdir / "outputs" / "demo" / "churn_risk.parquet")
    written = pd.concat([pd.read_parquet(p) for p in sorted((out / "churn_risk.parquet").glob("part-*.parquet"))],
                        ignore_index=True)
    assert_same_table(duck, written)
    csv = pd.read_csv(out / "churn_risk.csv", dtype={"customer_id": "string"})
    expected = pd.read_csv(write_csv(csv_view(duck, "en"), tmp_path / "expected.csv"), dtype={"customer_id": "string"})
    assert "reason_1" in csv.columns and "reason_1_zh" not in csv.columns  # one language, no _zh/_en pairs
    assert_same_table(expected, csv)
    summary = json.loads((out / "churn_risk_summary.json").read_text())
    assert summary["customers"] == len(duck)


def test_score_engine_spark_above_the_row_limit_writes_no_csv(spark, demo, tmp_path):
    workdir, env = demo
    config = tmp_path / "limit.yaml"
    config.write_text('spark:\n  master: local[2]\n  csv_row_limit: 10\n  conf: {spark.sql.shuffle.partitions: "2", '
                      'spark.ui.enabled: "false"}\n', encoding="utf-8")
    out = tmp_path / "limited"
    result = CliRunner().invoke(app, [
        "score", "--engine", "spark", "--clean", str(workdir / "data" / "demo" / "clean"), "--out", out.as_uri(),
        "--config", str(config), "--workdir", str(workdir), "--quiet",
    ], env=env)
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert not (out / "churn_risk.csv").exists()
    summary = json.loads((out / "churn_risk_summary.json").read_text())
    assert summary["customers"] > 10 and "collect_csv" not in summary["timings_seconds"]
    assert list((out / "churn_risk.parquet").glob("part-*.parquet"))


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


def test_tuning_builds_its_training_snapshots_on_spark(spark, demo):
    """``train --tune N --engine spark``: the Optuna search's training rows come from the Spark builder, at the
    training cut-offs of the plan, and the search runs on them."""
    import functools

    from loyalist.config.models import LoyalistConfig
    from loyalist.engines.spark import spark_labelled_snapshot
    from loyalist.modeling.supervised.hpo import tune_lgbm_for
    from loyalist.modeling.supervised.training import plan_with_fallback

    workdir, _ = demo
    clean = workdir / "data" / "demo" / "clean"
    config = LoyalistConfig()
    config = config.model_copy(update={"training": config.training.model_copy(update={"max_cutoffs": 3})})
    tables = read_clean(clean)
    spark_builder = functools.partial(spark_labelled_snapshot, spark, spark_tables(spark, str(clean)))
    built = []

    def builder(as_of, features):
        built.append(pd.Timestamp(as_of))
        return spark_builder(as_of, features)

    best = tune_lgbm_for("churn", tables, config, n_trials=1, builder=builder)
    plan, _ = plan_with_fallback(tables, config, config.features.churn_horizon_days)
    assert built == list(plan.train) and len(built) >= 2
    assert best and all(isinstance(k, str) for k in best)
