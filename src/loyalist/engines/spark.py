"""The Spark engine: the snapshot's one SQL text on Spark SQL, over clean Parquet tables given by path or URI.

Nothing here rewrites the features: :func:`spark_snapshot` renders ``features/sql/snapshot.sql`` exactly as the
DuckDB engine does (:func:`loyalist.features.snapshot.snapshot_sql`), inlines the portable functions with their Spark
bodies (:data:`loyalist.features.engine.SPARK_FUNCTIONS`) and binds the same parameters
(:func:`loyalist.features.snapshot.snapshot_params`) to the same ``:name`` markers, which Spark SQL binds natively.
The input tables are Spark temporary views with the same normalisation as the DuckDB views
(:func:`loyalist.features.snapshot.view_items`). The orders file's sequence columns (``prev_date``,
``customer_first_date``, written by ``loyalist prepare``: :mod:`loyalist.data.sequence`) are not read here: Spark
runs the text's window pass (a cluster sorts in parallel, and a file the cluster reads may have been rewritten by
another writer), so the same text gives the same snapshot on both engines (tests/spark compare them on a prepared
folder).

Session semantics that make the two engines agree: timestamps without time zone (``TIMESTAMP_NTZ``, session time
zone UTC), non-ANSI arithmetic (``x / 0`` is NULL, as in DuckDB), Parquet nanosecond timestamps (pandas' default)
read as integers and converted to microseconds here.

``pyspark`` is imported lazily: the module imports without it, and :func:`require_pyspark` says how to install it.
"""

from __future__ import annotations

import re
import socket
import warnings
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from loyalist.config.models import FeatureConfig
from loyalist.errors import EngineError, InputFileError, SchemaError
from loyalist.features import engine
from loyalist.features.snapshot import (
    _KIND,
    _READ,
    _present_columns,
    range_source,
    snapshot_params,
    snapshot_sql,
    view_items,
)

__all__ = [
    "SESSION_CONF",
    "require_pyspark",
    "spark_session",
    "table_path",
    "spark_tables",
    "run_spark_sql",
    "spark_snapshot",
    "spark_labels",
    "spark_labelled_snapshot",
    "spark_order_lines",
]

#: The order-line columns cross-sell reads (as the DuckDB job reads them: ``loyalist/jobs/score.py``).
LINE_COLUMNS: tuple[str, ...] = ("customer_id", "order_date", "product_id", "status")

#: Settings every loyalist Spark session runs with (the config's ``spark.conf`` adds to them; these win).
SESSION_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.sql.ansi.enabled": "false",
    "spark.sql.legacy.parquet.nanosAsLong": "true",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.ui.showConsoleProgress": "false",
}


PANDAS3_WARNING = "PySpark does not yet fully support pandas >= 3"


def require_pyspark():
    """The ``pyspark`` module, or an :class:`EngineError` saying how to install it.

    PySpark 4 warns at each of its pandas call sites (11 lines in one ``score --engine spark``) that it does not
    fully support pandas 3. That warning is silenced here, once the Spark engine is chosen: ``tests/spark`` check that
    every Spark path gives the DuckDB engine's numbers under the pandas the project pins (docs/scale-out.md)."""
    warnings.filterwarnings("ignore", message=re.escape(PANDAS3_WARNING), category=FutureWarning)
    try:
        import pyspark
        from pyspark.sql import SparkSession  # noqa: F401
    except ImportError as exc:
        raise EngineError(
            "--engine spark needs PySpark, which is not installed; install it with "
            "\"pip install 'loyalist[spark]'\" (Java 17 or newer must be on the PATH or in JAVA_HOME)."
        ) from exc
    return pyspark


def _check_master(master: str | None, timeout: float) -> None:
    """A ``spark://host:port`` master that does not accept connections fails here, in seconds, not in Spark's
    minutes of retries."""
    if not master or not master.startswith("spark://"):
        return
    for hostport in master[len("spark://"):].split(","):
        url = urlparse("spark://" + hostport)
        try:
            with socket.create_connection((url.hostname or "", url.port or 7077), timeout=timeout):
                return
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
    raise EngineError(
        f"The Spark master '{master}' cannot be reached ({reason}); start it, or set spark.master in the config "
        "(e.g. local[*]) or the --master of spark-submit."
    )


def spark_session(master: str | None, conf: Mapping[str, str], *, app_name: str = "loyalist",
                  connect_timeout: float = 5.0, log_level: str = "ERROR"):
    """A Spark session: ``master`` (None keeps the one spark-submit set, else ``local[*]``), the user's ``conf``
    and :data:`SESSION_CONF`. An existing session (spark-submit, a notebook, a test) is reused with those SQL
    settings applied."""
    require_pyspark()
    from pyspark.sql import SparkSession

    _check_master(master, connect_timeout)
    settings = {**{str(k): str(v) for k, v in conf.items()}, **SESSION_CONF}
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    elif SparkSession.getActiveSession() is None:
        from pyspark import SparkConf

        if not SparkConf().contains("spark.master"):
            builder = builder.master("local[*]")
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # the JVM did not start: Java missing, bad master URL, bad setting
        raise EngineError(
            f"Spark could not start ({str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__}); "
            "check Java 17 (JAVA_HOME), SPARK_HOME and spark.master."
        ) from exc
    for key, value in settings.items():
        if key.startswith("spark.sql."):
            spark.conf.set(key, value)
    spark.sparkContext.setLogLevel(log_level)
    return spark


def table_path(clean: str, name: str) -> str:
    """``<clean>/<name>.parquet``: a local folder or any Hadoop-compatible URI (s3a://, abfss://, hdfs://, dbfs:/)."""
    return f"{str(clean).rstrip('/')}/{name}.parquet"


def _read(spark, path: str):
    """The Parquet table at ``path`` as a DataFrame, or None when nothing is there."""
    from pyspark.errors import AnalysisException

    try:
        return spark.read.parquet(path)
    except AnalysisException as exc:
        if "PATH_NOT_FOUND" in str(exc) or "Path does not exist" in str(exc):
            return None
        raise InputFileError(f"Spark cannot read '{path}' as Parquet ({str(exc).splitlines()[0][:200]}); "
                             "write it again with 'loyalist prepare'.") from exc


def _kind_ok(kind: str, dtype) -> tuple[bool, bool]:
    """(the Spark type fits the kind, it is a nanosecond timestamp read as an integer)."""
    from pyspark.sql import types as T

    if kind == "string":
        return isinstance(dtype, (T.StringType, T.VarcharType, T.CharType)), False
    if kind == "datetime":
        if isinstance(dtype, T.LongType):  # Parquet TIMESTAMP(NANOS) read with nanosAsLong
            return True, True
        return isinstance(dtype, (T.TimestampNTZType, T.TimestampType)), False
    if kind == "number":
        return isinstance(dtype, T.NumericType), False
    return isinstance(dtype, T.BooleanType), False


def spark_tables(spark, clean: str, names: tuple[str, ...] = tuple(_READ)) -> dict[str, list[str]]:
    """Register each clean table found under ``clean`` as a Spark temporary view named like the table, with the
    snapshot's normalisation. Returns table -> the columns its file has. ``orders`` is required; the others are
    optional (absent files are absent tables).

    Raises InputFileError without orders, SchemaError for a missing required column or a column of the wrong
    type, DataQualityError-like emptiness is left to the caller (an empty orders table gives an empty snapshot).
    """
    present: dict[str, list[str]] = {}
    for name in names:
        path = table_path(clean, name)
        frame = _read(spark, path)
        if frame is None:
            if name == "orders":
                raise InputFileError(
                    f"Clean data folder '{clean}' has no 'orders.parquet'; run 'loyalist prepare' first or point "
                    "--clean at the folder that has it."
                )
            spark.catalog.dropTempView(name)
            continue
        columns = _present_columns(name, frame.columns, where=f" ('{path}')")
        nanos = []
        for column in columns:
            kind = _KIND[column]
            ok, is_nanos = _kind_ok(kind, frame.schema[column].dataType)
            if not ok:
                expected = {"string": "text", "datetime": "a naive timestamp", "number": "numeric",
                            "bool": "boolean"}[kind]
                raise SchemaError(
                    f"Column '{column}' of table '{name}' ('{path}') must be {expected}; got Spark type "
                    f"{frame.schema[column].dataType.simpleString()}; write the table with 'loyalist prepare'."
                )
            if is_nanos:
                nanos.append(column)
        items = []
        for column, expression in view_items(name, columns, quote="`"):
            if column in nanos:
                expression = f"CAST(timestamp_micros(`{column}` DIV 1000) AS TIMESTAMP_NTZ)"
            elif _KIND.get(column) == "datetime" and column in columns:
                expression = f"CAST(`{column}` AS TIMESTAMP_NTZ)"
            items.append(f"{expression} AS `{column}`")
        frame.selectExpr(*items).createOrReplaceTempView(name)
        present[name] = columns
    return present


def run_spark_sql(spark, sql: str, params: Mapping[str, Any]):
    """Run the portable ``sql`` on Spark: the functions inlined with their Spark bodies, ``:name`` bound to
    ``params`` (timestamps as naive datetimes, i.e. TIMESTAMP_NTZ). Returns a lazy Spark DataFrame."""
    import pandas as pd

    names = set(engine._PARAM.findall(sql))
    missing = sorted(names - set(params))
    if missing:
        raise ValueError(f"SQL parameters {missing} have no value; pass them in 'params'.")
    args = {k: (v.to_pydatetime() if isinstance(v, pd.Timestamp) else v) for k, v in params.items() if k in names}
    return spark.sql(engine.inline_functions(sql, engine.SPARK_FUNCTIONS), args=args)


def spark_snapshot(spark, present: Mapping[str, list[str]], as_of: Any, config: FeatureConfig):
    """The snapshot SQL at ``as_of`` over the views :func:`spark_tables` registered (``present``): a lazy Spark
    DataFrame with every snapshot column except the RFM ones (which rank the whole population), one row per
    customer. The ``ORDER BY`` of the text is kept, so collecting it gives the DuckDB row order."""
    orders = present["orders"]
    ranges_from, has_category, has_product = range_source(present)
    sql = snapshot_sql(
        config,
        has_customers="customers" in present,
        has_tickets="tickets" in present,
        has_surveys="surveys" in present,
        has_margin="margin" in orders or "cost" in orders,
        has_category=has_category,
        has_product=has_product,
        ranges_from=ranges_from,
    )
    return run_spark_sql(spark, sql, snapshot_params(as_of, config))


def spark_labels(spark, snapshot, as_of: Any, config: FeatureConfig):
    """The labels of :func:`loyalist.features.labels.build_labels` for the customers of ``snapshot`` (a Spark
    DataFrame with customer_id), from the ``orders`` view: completed orders dated in (T, T + horizon] only.
    Columns customer_id, as_of, churned, future_orders, future_revenue, future_margin."""
    import pandas as pd
    from pyspark.sql import functions as F

    params = snapshot_params(as_of, config)
    t, day = params["t"], params["as_of"]  # T = the end of the cut-off day; labels read (T, T + horizon]
    churn_end = t + pd.Timedelta(days=config.churn_horizon_days)
    value_end = t + pd.Timedelta(days=config.value_horizon_days)
    orders = spark.table("orders")
    has_margin = "margin" in orders.columns
    future = orders.where((F.col("order_date") > F.lit(t.to_pydatetime()))
                          & (F.col("order_date") <= F.lit(max(churn_end, value_end).to_pydatetime()))
                          & (F.col("status") == "completed"))
    in_value = F.col("order_date") <= F.lit(value_end.to_pydatetime())
    in_churn = F.col("order_date") <= F.lit(churn_end.to_pydatetime())
    aggs = [
        F.count(F.when(in_value, 1)).alias("future_orders"),
        F.sum(F.when(in_value, F.col("amount"))).alias("future_revenue"),
        F.count(F.when(in_churn, 1)).alias("_churn_orders"),
    ]
    if has_margin:
        aggs.append(F.sum(F.when(in_value, F.col("margin"))).alias("future_margin"))
    grouped = future.groupBy("customer_id").agg(*aggs)
    out = snapshot.select("customer_id").join(grouped, "customer_id", "left")
    margin = (F.when(F.col("future_orders") > 0, F.col("future_margin")).otherwise(F.lit(0.0)) if has_margin
              else F.lit(None).cast("double"))
    return out.select(
        "customer_id",
        F.lit(day.to_pydatetime()).alias("as_of"),
        F.when(F.coalesce(F.col("_churn_orders"), F.lit(0)) > 0, 0).otherwise(1).cast("bigint").alias("churned"),
        F.coalesce(F.col("future_orders"), F.lit(0)).cast("bigint").alias("future_orders"),
        F.coalesce(F.col("future_revenue"), F.lit(0.0)).cast("double").alias("future_revenue"),
        margin.cast("double").alias("future_margin"),
    ).orderBy("customer_id")


def spark_labelled_snapshot(spark, present: Mapping[str, list[str]], as_of: Any, config: FeatureConfig):
    """What :func:`loyalist.modeling.supervised.dataset.labelled_snapshot` returns, built on Spark: the snapshot SQL and the
    labels computed by the cluster, collected (one row per customer: training data for LightGBM), the RFM scores
    ranked on the collected snapshot, the labels joined on customer_id. Pass
    ``functools.partial(spark_labelled_snapshot, spark, present)`` as the training job's ``snapshots``."""
    from pyspark import StorageLevel

    from loyalist.features.snapshot import finish_snapshot

    snapshot = spark_snapshot(spark, present, as_of, config).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        snap = finish_snapshot(snapshot.toPandas(), present.get("tickets"), config)
        labels = spark_labels(spark, snapshot, as_of, config).drop("as_of").toPandas()
    finally:
        snapshot.unpersist()
    labels = labels.astype({"customer_id": "string"})
    return snap.merge(labels, on="customer_id", how="left", validate="one_to_one")


def spark_order_lines(spark, clean: str, until: Any):
    """The order lines the cross-sell recommender can learn from at a cut-off, read by Spark and collected to the
    driver as pandas (``customer_id``, ``order_date``, ``product_id`` and ``status`` when present), or None when
    ``<clean>/order_lines.parquet`` is absent or has no ``product_id``.

    Spark only narrows the rows: completed (or status-less) lines with a customer and a product, dated <= ``until``
    (pass the end of the cut-off day). The recommender applies its own cut-off and status rule again when it fits,
    so the lines it uses are exactly those the DuckDB job gives it."""
    import pandas as pd
    from pyspark.sql import functions as F

    path = table_path(clean, "order_lines")
    frame = _read(spark, path)
    if frame is None or "product_id" not in frame.columns:
        return None
    missing = [c for c in ("customer_id", "order_date") if c not in frame.columns]
    if missing:
        raise SchemaError(f"The table 'order_lines' ('{path}') lacks the column(s) {missing} cross-sell needs; "
                          "write it with 'loyalist prepare'.")
    columns = [c for c in LINE_COLUMNS if c in frame.columns]
    date_type = frame.schema["order_date"].dataType
    ok, nanos = _kind_ok("datetime", date_type)
    if not ok:
        raise SchemaError(f"Column 'order_date' of table 'order_lines' ('{path}') must be a naive timestamp; got "
                          f"Spark type {date_type.simpleString()}; write the table with 'loyalist prepare'.")
    date = (F.expr("CAST(timestamp_micros(`order_date` DIV 1000) AS TIMESTAMP_NTZ)") if nanos
            else F.col("order_date").cast("timestamp_ntz"))
    lines = frame.select(*[(date if c == "order_date" else F.col(c).cast("string")).alias(c) for c in columns])
    keep = (F.col("customer_id").isNotNull() & F.col("product_id").isNotNull()
            & (F.col("order_date") <= F.lit(pd.Timestamp(until).to_pydatetime())))
    if "status" in columns:
        keep &= F.col("status").isNull() | (F.lower(F.col("status")) == "completed")
    out = lines.where(keep).toPandas()
    out["order_date"] = pd.to_datetime(out["order_date"]).astype("datetime64[ns]")
    return out.astype({c: "string" for c in columns if c != "order_date"})
