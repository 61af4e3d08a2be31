"""Job: batch scoring on Spark (``loyalist score --engine spark``). The same list as ``loyalist.jobs.score``:
the clean Parquet tables by path or URI -> the snapshot SQL on Spark SQL -> the champion models on the executors
-> the churn-risk list as Parquet written by Spark (a folder of part files, in list order), plus the CSV and the
JSON summary when the list is small enough for a CRM (``spark.csv_row_limit``), the drift pages (inputs against
the training rows; categorical features and predictions against the list this run replaces, from a seeded sample
of a large list) and an MLflow run that carries them.

The previous output stays intact when the job fails: Spark writes into a temporary folder beside the target,
which replaces the old list only once it is complete.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from loyalist.batch.control import campaign_run_fields
from loyalist.batch.csv_view import CSV_LANGS, csv_view
from loyalist.batch.outputs import protect, pseudonym_key
from loyalist.config import config_to_dict
from loyalist.config.models import TIERS, LoyalistConfig
from loyalist.errors import ConfigError, InsufficientHistoryError
from loyalist.features.cutoffs import cutoff_end, resolve_as_of
from loyalist.io import write_csv, write_json, write_parquet, write_text
from loyalist.jobs._common import config_tags, start_tracking
from loyalist.jobs._ui import Reporter
from loyalist.jobs.score import (
    _crm_rows,
    _cross_sell,
    _load_models,
    _model_metrics,
    _score_description,
    _Scorer,
    _uplift_champion,
    learned_after_notes,
    peak_mb,
)
from loyalist.report.drift import render_drift_html, summarize_drift
from loyalist.tracking import run

__all__ = ["SparkScoreJobResult", "run_scoring_spark", "start_spark"]


@dataclass(frozen=True)
class SparkScoreJobResult:
    summary: dict
    paths: dict[str, str]
    risk: pd.DataFrame | None  # the list as written to the CSV (None above the row limit)
    timings: dict[str, float]
    run_id: str


def start_spark(config: LoyalistConfig, env: Mapping[str, str] | None):
    """The Spark session of the config. Executors run this Python (``PYSPARK_PYTHON`` unless the environment
    sets it), so they import the same loyalist and model dependencies."""
    from loyalist.engines.spark import spark_session

    env = env or {}
    if not env.get("PYSPARK_PYTHON"):
        os.environ["PYSPARK_PYTHON"] = sys.executable
    return spark_session(config.spark.master, config.spark.conf, app_name=config.spark.app_name,
                         connect_timeout=config.spark.connect_timeout_seconds)


def _ship(spark, scorer: _Scorer, bundle: Path | None):
    """Copy the model's MLflow files (the exported bundle, or the registered version exported from the tracking
    server) to a folder of a unique name and ship it to the executors (SparkContext.addFile)."""
    from loyalist.engines.spark_scoring import ModelShipment
    from loyalist.tracking import export_version

    info = scorer.loaded.info
    staging = Path(tempfile.mkdtemp(prefix="loyalist-models-"))
    folder = staging / f"{info.name}-{info.version}-{uuid.uuid4().hex[:8]}"
    if bundle is not None:
        shutil.copytree(Path(bundle), folder)
    else:
        export_version(info.name, info.version, staging, card="").rename(folder)
    spark.sparkContext.addFile(str(folder), recursive=True)
    return ModelShipment(name=folder.name, folder=str(folder), info=info)


def _data_end(spark) -> tuple[pd.Timestamp, pd.Timestamp]:
    row = spark.sql("SELECT min(order_date) AS first, max(order_date) AS last FROM orders").collect()[0]
    if row["first"] is None:
        raise InsufficientHistoryError("The 'orders' table has no rows; there is no period to analyse.")
    return pd.Timestamp(row["first"]), pd.Timestamp(row["last"])


def _replace(spark, tmp: str, final: str) -> None:
    """Move the finished folder ``tmp`` to ``final`` (any Hadoop file system), the old one out of the way first."""
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    path = jvm.org.apache.hadoop.fs.Path
    target = path(final)
    fs = target.getFileSystem(conf)
    old = path(f"{final}.old-{uuid.uuid4().hex[:8]}")
    if fs.exists(target):
        fs.rename(target, old)
    if not fs.rename(path(tmp), target):
        if fs.exists(old):
            fs.rename(old, target)
        raise OSError(f"could not move '{tmp}' to '{final}'")
    if fs.exists(old):
        fs.delete(old, True)


def _delete(spark, uri: str) -> None:
    jvm = spark.sparkContext._jvm
    p = jvm.org.apache.hadoop.fs.Path(uri)
    fs = p.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    if fs.exists(p):
        fs.delete(p, True)


def _plain_path(uri: str) -> Path | None:
    """The local folder of a plain path (no scheme); None for a URI, which goes through the Hadoop file system
    (``file://`` included, so the tests exercise that route)."""
    return None if "://" in uri else Path(uri)


def _put(spark, out: str, name: str, write) -> str:
    """Write a small file ``name`` into ``out``: directly for a local folder (``write(path)`` is atomic), else into
    a local temporary folder and copied with the Hadoop file system of ``out`` (the driver's view of the cluster's
    storage: s3a://, hdfs://, abfss://, file://...)."""
    local = _plain_path(out)
    if local is not None:
        return str(write(local / name))
    with tempfile.TemporaryDirectory(prefix="loyalist-out-") as folder:
        source = write(Path(folder) / name)
        jvm = spark.sparkContext._jvm
        target = jvm.org.apache.hadoop.fs.Path(f"{out}/{name}")
        fs = target.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
        fs.copyFromLocalFile(False, True, jvm.org.apache.hadoop.fs.Path(f"file://{Path(source).resolve()}"), target)
    return f"{out}/{name}"


def run_scoring_spark(
    config: LoyalistConfig,
    clean: str,
    *,
    as_of=None,
    out_dir: str | Path = "outputs",
    workdir: Path = Path("."),
    env: Mapping[str, str] | None = None,
    reporter: Reporter | None = None,
    churn_bundle: Path | None = None,
    value_bundle: Path | None = None,
    spark=None,
    csv_lang: str = "both",
) -> SparkScoreJobResult:
    """Score on Spark (see the module docstring). ``out_dir``: a local folder or a Hadoop URI (``file://``,
    ``s3a://``, ``hdfs://``...); the CSV (``csv_view`` in ``csv_lang``, as the DuckDB job writes it) and the summary
    are written beside the Parquet list when it has at most ``spark.csv_row_limit`` rows (the summary always)."""
    from loyalist.engines.spark import spark_tables

    if csv_lang not in CSV_LANGS:  # refused before any work is done
        raise ConfigError(f"The CSV language ('--lang') must be 'zh', 'en' or 'both'; got {csv_lang!r}.")
    reporter = reporter or Reporter(quiet=True)
    env = env or {}
    key = pseudonym_key(config.privacy, env)
    start_tracking(config, workdir, env)
    started_job = time.perf_counter()
    with reporter.step("Start Spark"):
        spark = spark or start_spark(config, env)
    reporter.say(f"Spark {spark.version}, master {spark.sparkContext.master}")
    clean = str(clean)
    present = spark_tables(spark, clean)
    first, last = _data_end(spark)
    ts = resolve_as_of({"orders": pd.DataFrame({"order_date": [first, last]})}, as_of)
    with reporter.step("Load the champion models"):
        churn, value = _load_models(config, churn_bundle, value_bundle)
        uplift = _uplift_champion(config)  # the DuckDB job's: uplift columns when there is a champion (issue 16)
        churn_ship = _ship(spark, churn, churn_bundle)
        value_ship = _ship(spark, value, value_bundle)
        uplift_ship = (_ship(spark, _Scorer(uplift, str(uplift.info.version)), None) if uplift is not None
                       else None)
    reporter.say(f"Models: {config.tracking.churn_model_name} {churn.version}, "
                 f"{config.tracking.value_model_name} {value.version}"
                 + (f", {uplift.info.name} {uplift.info.version}" if uplift is not None else ""))
    try:
        return _score_and_write(spark, config, clean, present, ts, churn, value, churn_ship, value_ship, key,
                                out_dir, reporter, started_job, csv_lang, uplift=uplift, uplift_ship=uplift_ship)
    finally:
        for shipment in (churn_ship, value_ship, uplift_ship):
            if shipment is not None:
                shutil.rmtree(Path(shipment.folder).parent, ignore_errors=True)


def _recommender(spark, clean: str, ts: pd.Timestamp):
    """The DuckDB job's cross-sell (``loyalist.jobs.score._cross_sell``: the same recommender and settings), fitted on
    the driver from the order lines Spark reads, or None without order lines."""
    from loyalist.engines.spark import spark_order_lines

    lines = spark_order_lines(spark, clean, cutoff_end(ts))
    return None if lines is None else _cross_sell({"order_lines": lines}, ts)


def _score_and_write(spark, config, clean, present, ts, churn, value, churn_ship, value_ship, key, out_dir,
                     reporter, started_job, csv_lang="both", *, uplift=None, uplift_ship=None) -> SparkScoreJobResult:
    from loyalist.batch.effect import action_costs
    from loyalist.engines.spark_scoring import executor_errors, score_customers_spark

    privacy = config.privacy

    def protect_batch(frame: pd.DataFrame) -> pd.DataFrame:
        return protect(frame, privacy, key)

    out = str(out_dir).rstrip("/")
    final = f"{out}/churn_risk.parquet"
    tmp = f"{out}/.churn_risk.parquet.tmp-{uuid.uuid4().hex[:8]}"
    with reporter.step("Fit the cross-sell recommender on the order lines"):
        t = time.perf_counter()
        recommend = _recommender(spark, clean, ts)
        fit_seconds = time.perf_counter() - t
    with reporter.step(f"Score customers as of {ts.date()} on Spark (snapshot, loyalty, churn, value, reasons, "
                       "cross-sell)"):
        output = score_customers_spark(
            spark, present, ts, config, churn=churn, value=value, churn_shipment=churn_ship,
            value_shipment=value_ship, protect=protect_batch, profile_rows=config.spark.profile_rows,
            names=_names(spark, clean, present), next_products=recommend, uplift=uplift,
            uplift_shipment=uplift_ship, uplift_costs=action_costs(config.scoring_job.actions),
            rank_by=config.scoring_job.rank_by,
        )
    timings = dict(output.timings)
    if recommend is not None:
        timings["cross_sell_fit"] = fit_seconds
    paths: dict[str, str] = {}
    risk_small = None
    local = _plain_path(out)
    if local is not None:
        local.mkdir(parents=True, exist_ok=True)
    # the list this run replaces, when it is an earlier period: the baseline of the drift page's categorical and
    # prediction parts (read before it is replaced, as the DuckDB job does; a local list only)
    baseline = (_previous_rows(local / "churn_risk.parquet", config.scoring_job.seed, output.summary["notes"])
                if local is not None else None)
    if baseline is not None and (baseline.empty or "as_of" not in baseline
                                 or pd.Timestamp(baseline["as_of"].iloc[0]) >= ts):
        baseline = None
    with reporter.step(f"Write the churn-risk list to {out}"):
        t = time.perf_counter()
        try:
            executor_errors(lambda: output.risk.write.mode("overwrite").parquet(tmp))
            timings["write_parquet"] = time.perf_counter() - t
            if output.customers <= config.spark.csv_row_limit:
                t = time.perf_counter()
                risk_small = _read_back(spark, tmp, local is not None)
                timings["collect_csv"] = time.perf_counter() - t
            _replace(spark, tmp, final)
        finally:
            _delete(spark, tmp)
        paths["parquet"] = final
        if risk_small is not None:
            t = time.perf_counter()
            paths["csv"] = _put(spark, out, "churn_risk.csv",
                                lambda target: write_csv(csv_view(_crm_rows(config, risk_small), csv_lang),
                                                         target))
            timings["write_csv"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - started_job
    summary = output.summary | {
        "engine": {"name": "spark", "version": spark.version, "master": spark.sparkContext.master},
        "models": {
            "churn": {"name": config.tracking.churn_model_name, "version": churn.version,
                      "run_id": getattr(getattr(churn.loaded, "info", None), "run_id", None)},
            "value": {"name": config.tracking.value_model_name, "version": value.version,
                      "run_id": getattr(getattr(value.loaded, "info", None), "run_id", None)},
            **({"uplift": {"name": uplift.info.name, "version": str(uplift.info.version)}}
               if uplift is not None else {}),
        },
        "rank_by": config.scoring_job.rank_by if uplift is not None else "value_at_risk",
        "inputs": {name: {"path": f"{clean.rstrip('/')}/{name}.parquet", "columns": cols}
                   for name, cols in present.items()},
        "config": config_to_dict(config),
        "config_hash": config_tags(config)["loyalist.config_hash"],
        "timings_seconds": {k: round(v, 3) for k, v in timings.items()},
        # the DuckDB job's per-stage CPU seconds and peak memory; here only the driver process is measured (the
        # executors' work runs in other processes, on other machines in a cluster)
        "cpu_seconds": {"driver_total": round(time.process_time(), 3)},
        "peak_mb": {"driver_total": round(peak_mb(), 1)},
        "newly_at_risk": None,  # --previous is not supported with --engine spark (the CLI refuses it)
    }
    summary["model_metrics"] = _model_metrics(churn, value)
    # as the DuckDB job: a list whose as-of is before the events its models learned from says so (time rule)
    summary["notes"] = [*summary.get("notes", []), *learned_after_notes(ts, {"churn": churn, "value": value})]
    paths["summary"] = _put(spark, out, "churn_risk_summary.json", lambda target: write_json(summary, target))
    if output.cached is not None:
        output.cached.unpersist()
    assignment = output.assignment
    if assignment is not None:  # the control assignment beside the list, as the DuckDB job writes it (issue 16)
        paths["control"] = _put(spark, out, "churn_risk_control.parquet",
                                lambda target: write_parquet(assignment, target))
        paths["control_csv"] = _put(spark, out, "churn_risk_control.csv",
                                    lambda target: write_csv(assignment, target))
    current = risk_small if risk_small is not None else _drift_rows(spark, final, seed=config.scoring_job.seed)
    drift_page = summarize_drift(current, feature_psi=output.drift, baseline=baseline,
                                 warn_level=config.scoring_job.drift_warn_psi)
    pages = {lang: render_drift_html(drift_page, lang) for lang in ("zh", "en")}
    for lang, html in pages.items():
        paths[f"drift_{lang}"] = _put(spark, out, f"churn_risk_drift_{lang}.html",
                                      lambda target, html=html: write_text(html, target))
    with run("score", tags={"as_of": str(ts.date()), "engine": "spark"}) as h:
        h.log_params({"as_of": str(ts.date()), "churn_model_version": churn.version, "engine": "spark",
                      "value_model_version": value.version, "customers": output.customers})
        h.log_metrics({
            "customers": output.customers, "value_at_risk_total": summary["value_at_risk_total"],
            "expected_value_total": summary["expected_value_total"],
            **{f"tier.{t}": summary["tiers"][t] for t in TIERS},
            **{f"band.{b}": n for b, n in summary["bands"].items()},
            **{f"seconds.{k}": v for k, v in timings.items()},
        })
        h.log_dict({k: v for k, v in summary.items() if k != "config"}, "churn_risk_summary.json")
        h.log_table(output.drift, "drift_psi.csv")
        if assignment is not None:
            h.log_table(assignment, "control/churn_risk_control.csv")
            h.log_metrics({"control.customers": summary["control_group"]["control"],
                           "control.treatment": summary["control_group"]["treatment"]})
            if summary["control_group"]["customers"]:  # the campaign's name, date, seed, share and actions
                tags, params = campaign_run_fields(summary["control_group"])
                h.set_tags(tags)
                h.log_params(params)
                h.log_dict(summary["control_group"], "control/campaign.json")
        with tempfile.TemporaryDirectory(prefix="loyalist-drift-") as folder:
            for lang, html in pages.items():
                h.log_artifact(write_text(html, Path(folder) / f"churn_risk_drift_{lang}.html"), "drift")
        h.set_description(_score_description(config, summary, churn, value, ts).replace(
            "Scored ", "Scored on Spark ", 1))
        run_id = h.run_id
    stages = ", ".join(f"{k} {v:.1f}s" for k, v in timings.items())
    reporter.say(f"{output.customers:,} customers scored on Spark. Time per stage: {stages}")
    for note in summary.get("notes", []):  # the summary's notes on the console, as the DuckDB job prints them
        reporter.say(f"[yellow]Note:[/yellow] {note}")
    for kind, path in paths.items():
        reporter.say(f"Churn-risk list ({kind}): {path}")
    return SparkScoreJobResult(summary, paths, risk_small, timings, run_id)


def _names(spark, clean: str, present: Mapping[str, list[str]]):
    """customer_id -> name from the clean customers file (masked on the executors), or None."""
    if "customers" not in present:
        return None
    from loyalist.engines.spark import table_path

    frame = spark.read.parquet(table_path(clean, "customers"))
    if "name" not in frame.columns:
        return None
    return frame.selectExpr("CAST(customer_id AS STRING) AS customer_id", "CAST(name AS STRING) AS name")


#: Most rows of a list read back for its drift page (a seeded sample above it; the list itself can be any size).
DRIFT_SAMPLE = 200_000


def _drift_rows(spark, uri: str, *, seed: int) -> pd.DataFrame:
    """``as_of``, the categorical columns and the predictions of the list at ``uri``, for the drift page: every row,
    or a seeded sample of about :data:`DRIFT_SAMPLE` rows of a larger list."""
    from loyalist.report.drift import CATEGORICAL, PREDICTIONS

    frame = spark.read.parquet(uri)
    frame = frame.select(*[c for c in ("as_of", *CATEGORICAL, *PREDICTIONS) if c in frame.columns])
    n = frame.count()
    if n > DRIFT_SAMPLE:
        frame = frame.sample(fraction=min(1.0, 1.1 * DRIFT_SAMPLE / n), seed=seed).limit(DRIFT_SAMPLE)
    return frame.toPandas()


def _previous_rows(folder: Path, seed: int, notes: list) -> pd.DataFrame | None:
    """The drift columns of the local list this run replaces (its part files, read with pyarrow: every row, or a
    seeded sample of :data:`DRIFT_SAMPLE` rows); None when there is none, or when it cannot be read as a list (then
    a note says the drift page has no baseline)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.dataset as ds

    from loyalist.report.drift import CATEGORICAL, PREDICTIONS

    parts = sorted(folder.glob("part-*.parquet")) if folder.is_dir() else []
    if not parts:
        return None
    try:
        dataset = ds.dataset([str(p) for p in parts], format="parquet")
        cols = [c for c in ("as_of", *CATEGORICAL, *PREDICTIONS) if c in dataset.schema.names]
        n = dataset.count_rows()
        if n > DRIFT_SAMPLE:
            rows = np.sort(np.random.default_rng(seed).choice(n, size=DRIFT_SAMPLE, replace=False))
            return dataset.take(pa.array(rows), columns=cols).to_pandas()
        return dataset.to_table(columns=cols).to_pandas()
    except (pa.ArrowException, OSError) as exc:
        notes.append(f"The previous list at {folder} could not be read ({str(exc).splitlines()[0][:200]}); the drift "
                     "page compares the categorical features and predictions with no baseline.")
        return None


def _read_back(spark, path: str, local: bool) -> pd.DataFrame:
    """The written list, in list order: the part files are in sort order, and rows keep their order within a file.
    A local folder is read with pyarrow; a URI through the Hadoop file system (each part file whole, in name
    order, streamed to the driver)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if local:
        parts = sorted(Path(path).glob("part-*.parquet"))
        tables = [pq.read_table(p) for p in parts]
    else:
        tables = [pq.read_table(pa.BufferReader(data)) for data in _hadoop_parts(spark, path)]
    return pa.concat_tables(tables).to_pandas() if tables else pd.DataFrame()


def _hadoop_parts(spark, path: str):
    """The bytes of each ``part-*.parquet`` file under ``path`` (any Hadoop URI), in file-name order."""
    jvm = spark.sparkContext._jvm
    folder = jvm.org.apache.hadoop.fs.Path(path)
    fs = folder.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    names = sorted(str(s.getPath().toString()) for s in fs.listStatus(folder)
                   if s.getPath().getName().startswith("part-") and s.getPath().getName().endswith(".parquet"))
    for name in names:
        with tempfile.TemporaryDirectory(prefix="loyalist-part-") as local:
            target = Path(local) / "part.parquet"
            fs.copyToLocalFile(False, jvm.org.apache.hadoop.fs.Path(name),
                               jvm.org.apache.hadoop.fs.Path(f"file://{target}"), True)
            yield target.read_bytes()
