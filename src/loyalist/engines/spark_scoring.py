"""The churn-risk list on Spark: the same list as :func:`loyalist.batch.scoring.score_customers`, computed in passes
that scale with the number of customers.

1. **Snapshot** (executors): the snapshot SQL on Spark (:func:`loyalist.engines.spark.spark_snapshot`).
2. **Population statistics** (driver, small): what ranks a customer against all others — the sorted RFM inputs
   and the loyalty scorer's percentile references — from a few columns of the snapshot.
3. **Score** (executors, ``mapInPandas``): per batch of customers, the snapshot's dtypes and RFM scores
   (ranked against the whole population), the loyalty score and tier (:class:`~loyalist.scoring.LoyaltyScorer`
   fitted in 2), and the registered champion models through their MLflow pyfunc, loaded once per executor
   process from the model files shipped with the job: churn probability and expected value.
4. **Reasons** (driver, small): the customers to explain (the very-high band first, then by value at risk, at
   most ``explain_top_k``, the rule of :func:`score_customers`), their SHAP reasons compared with the typical
   values of the low- and medium-risk customers, the global drivers and the drift check, from a profile of the
   population (all of it up to ``profile_rows`` customers, else a random sample).
4b. **Cross-sell** (driver): the DuckDB job's recommender (fitted on the completed order lines up to T, which
   Spark reads and narrows) lists the next products of every customer; the result is joined to the list.
5. **Assemble** (executors): :func:`~loyalist.batch.risk_list.build_risk_list` per batch with the reasons joined
   in, the churn percentile ranked against all customers, the privacy protection applied; sorted by value at risk
   (ties by customer id), as the DuckDB job sorts. With an uplift champion (``uplift_shipment``), its prediction
   is made in pass 3 beside the churn model's and the list gets ``uplift`` and ``expected_saved_value``
   (:func:`~loyalist.batch.risk_list.add_uplift`); ``rank_by="expected_saved_value"`` sorts by that instead (ties
   by the published customer id), as the DuckDB job does.

Up to ``profile_rows`` customers every figure equals the DuckDB job's (a test checks it on the demo data).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from loyalist.batch.columns import RISK_BANDS
from loyalist.batch.control import STRATA, assign_control, assignment_summary, campaign_name
from loyalist.batch.risk_list import add_uplift, build_risk_list
from loyalist.config.models import TIERS, LoyalistConfig
from loyalist.errors import ModelError
from loyalist.features.columns import SNAPSHOT_COLUMNS
from loyalist.features.rfm import RFM_COLUMNS, _significant, rfm_segment
from loyalist.features.snapshot import SNAPSHOT_DTYPES, finish_snapshot
from loyalist.scoring.loyalty import LoyaltyScorer

__all__ = ["ModelShipment", "SparkScoringOutput", "score_customers_spark", "average_rank"]

_RFM_INPUTS = {"recency_days": "rfm_r", "n_orders": "rfm_f", "monetary_total": "rfm_m"}
_SQL_COLUMNS = [c for c in SNAPSHOT_COLUMNS if c not in RFM_COLUMNS]


def average_rank(sorted_reference: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The average rank (1-based, ties share the mean of their positions) of each value among
    ``sorted_reference``, which holds every value of the population: what ``Series.rank(method='average')``
    gives over the whole population, for one batch of it."""
    left = np.searchsorted(sorted_reference, values, side="left")
    right = np.searchsorted(sorted_reference, values, side="right")
    return (left + right + 1) / 2.0


def _rfm_keys(values: pd.Series) -> np.ndarray:
    """The RFM ranking key of :func:`loyalist.features.rfm.quantile_scores` (floats to 12 significant digits)."""
    key = values.to_numpy(dtype=np.float64)
    return _significant(key) if pd.api.types.is_float_dtype(values.dtype) else key


def _rfm_from_references(frame: pd.DataFrame, refs: Mapping[str, np.ndarray], bins: int) -> pd.DataFrame:
    """RFM scores of a batch ranked against the whole population (``refs``: sorted keys, recency negated):
    ``ceil(rank * bins / n)``, as :func:`loyalist.features.rfm.rfm_scores` computes them on the whole table."""
    def scores(b: int) -> dict[str, np.ndarray]:
        out = {}
        for column, name in _RFM_INPUTS.items():
            key = _rfm_keys(frame[column])
            key = -key if column == "recency_days" else key
            ref = refs[column]
            out[name] = np.ceil(average_rank(ref, key) * b / len(ref)).astype(np.int64)
        return out

    s = scores(bins)
    q = s if bins == 5 else scores(5)
    return pd.DataFrame({
        "rfm_r": s["rfm_r"], "rfm_f": s["rfm_f"], "rfm_m": s["rfm_m"],
        "rfm_score": s["rfm_r"] * 100 + s["rfm_f"] * 10 + s["rfm_m"],
        "rfm_segment": pd.array(rfm_segment(q["rfm_r"], q["rfm_f"], q["rfm_m"]), dtype="string"),
    }, index=frame.index)


@dataclass(frozen=True)
class ModelShipment:
    """A model the executors load: the local folder of its MLflow files (shipped with ``SparkContext.addFile``
    under ``name``) and the version info the pyfunc wrapper reports in its errors."""

    name: str
    folder: str
    info: Any


#: Per executor process: shipped folder name -> LoadedModel (Python workers are reused, so once per executor).
_EXECUTOR_MODELS: dict[str, Any] = {}


def _executor_model(shipment: ModelShipment):
    model = _EXECUTOR_MODELS.get(shipment.name)
    if model is None:
        import dataclasses
        from pathlib import Path

        from pyspark import SparkFiles

        from loyalist.tracking import load_exported

        model = dataclasses.replace(load_exported(Path(SparkFiles.get(shipment.name))), info=shipment.info)
        _EXECUTOR_MODELS[shipment.name] = model
    return model


def _restore(frame: pd.DataFrame, columns) -> pd.DataFrame:
    """A Spark batch with the snapshot's pandas dtypes (Spark gives microsecond dates, int32 day counts)."""
    for column in columns:
        dtype = SNAPSHOT_DTYPES.get(column)
        if dtype is not None and column in frame.columns and str(frame[column].dtype) != dtype:
            frame[column] = frame[column].astype(dtype)
    return frame


@dataclass
class SparkScoringOutput:
    risk: Any  # Spark DataFrame: the protected list, sorted, RISK_LIST_COLUMNS
    customers: int
    summary: dict
    drift: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)
    assignment: pd.DataFrame | None = None  # the control assignment (scoring_job.control_group), None when off
    cached: Any = None  # a persisted Spark DataFrame behind ``risk``: unpersist it once the list is written


def _as_spark_schema(frame: pd.DataFrame):
    from pyspark.sql import types as T

    def spark_type(series: pd.Series):
        dtype = series.dtype
        if pd.api.types.is_bool_dtype(dtype):
            return T.BooleanType()
        if pd.api.types.is_integer_dtype(dtype):
            return T.LongType()
        if pd.api.types.is_float_dtype(dtype):
            return T.DoubleType()
        if pd.api.types.is_datetime64_dtype(dtype):
            return T.TimestampNTZType()
        return T.StringType()

    return T.StructType([T.StructField(str(c), spark_type(frame[c]), True) for c in frame.columns])


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Categoricals and object columns as strings, so Arrow hands Spark the declared types."""
    out = {}
    for column in frame.columns:
        s = frame[column]
        if isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object:
            s = s.astype("string")
        out[column] = s
    return pd.DataFrame(out, index=frame.index)


def score_customers_spark(
    spark,
    present: Mapping[str, list[str]],
    as_of: pd.Timestamp,
    config: LoyalistConfig,
    *,
    churn,
    value,
    churn_shipment: ModelShipment,
    value_shipment: ModelShipment,
    protect: Callable[[pd.DataFrame], pd.DataFrame],
    profile_rows: int,
    names=None,
    next_products: Callable[[pd.Series], pd.Series] | None = None,
    clock: Callable[[], float] = time.perf_counter,
    uplift=None,
    uplift_shipment: ModelShipment | None = None,
    uplift_costs: Mapping[str, float] | None = None,
    rank_by: str = "value_at_risk",
) -> SparkScoringOutput:
    """Score every customer of the snapshot at ``as_of`` on Spark (see the module docstring for the passes).

    ``present`` comes from :func:`loyalist.engines.spark.spark_tables`; ``churn`` / ``value`` are the models
    loaded on the driver (for the SHAP reasons and the drift reference), ``*_shipment`` the same models as the
    executors load them; ``names`` a Spark DataFrame (customer_id, name) of the customers' names or None;
    ``protect`` masks and pseudonymises a batch of the list (run on the executors); ``next_products`` maps the
    customer ids of the snapshot to their cross-sell products (as :func:`loyalist.batch.scoring.score_customers`
    takes it; run on the driver once, the result joined to the list on the executors) or None (empty column).
    ``uplift`` / ``uplift_shipment``: the uplift model's champion loaded on the driver and as the executors load it
    (None: no uplift columns); ``uplift_costs``: action text -> cost per contacted customer; ``rank_by``: the
    list's order (``scoring_job.rank_by``; ``expected_saved_value`` needs the uplift model).
    Returns the list as a lazy, sorted Spark DataFrame with the columns of :data:`RISK_LIST_COLUMNS` (and
    ``uplift``, ``expected_saved_value`` with an uplift model).
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from loyalist.engines.spark import spark_snapshot
    from loyalist.explain import (
        diagnosis,
        drivers_by,
        explain,
        global_drivers,
        select_rows,
        top_reasons,
        typical_values,
        with_model_features,
    )

    job = config.scoring_job
    features = config.features
    timings: dict[str, float] = {}
    t0 = [clock()]

    def lap(name: str) -> None:
        now = clock()
        timings[name] = now - t0[0]
        t0[0] = now

    ticket_columns = present.get("tickets")
    snapshot = spark_snapshot(spark, present, as_of, features).persist(StorageLevel.MEMORY_AND_DISK)
    n = snapshot.count()
    if n == 0:
        snapshot.unpersist()
        raise ModelError(
            f"No customer has a completed order in the {features.lookback_days} days up to {as_of.date()}; "
            "nothing to score (check the as-of date and the data)."
        )
    lap("snapshot")

    # 2. population statistics: the RFM keys and the percentile references (a few numeric columns)
    scorer_config = config.scoring
    from loyalist.scoring.tiers import guard_columns

    fit_columns = list(dict.fromkeys([*_RFM_INPUTS, *scorer_config.indicators,
                                      *guard_columns(scorer_config.guards)]))
    fit_frame = _restore(snapshot.select(*fit_columns).toPandas(), fit_columns)
    refs = {}
    for column in _RFM_INPUTS:
        key = _rfm_keys(fit_frame[column])
        refs[column] = np.sort(-key if column == "recency_days" else key)
    loyalty_scorer = LoyaltyScorer(scorer_config).fit(fit_frame)
    del fit_frame
    lap("population_stats")

    # 3. score on the executors
    bins = features.rfm_bins
    loyalty_columns = list(loyalty_scorer.get_feature_names_out())
    # broadcast once to each executor, not shipped with every task: they grow with the customers
    stats = spark.sparkContext.broadcast((refs, loyalty_scorer))
    del refs

    def score_batch(frame: pd.DataFrame) -> pd.DataFrame:
        population_refs, scorer = stats.value
        frame = _restore(frame.reset_index(drop=True), _SQL_COLUMNS)
        snap = finish_snapshot(frame, ticket_columns, features,
                               rfm=_rfm_from_references(frame, population_refs, bins))
        loyalty = scorer.transform(snap)
        p = _executor_model(churn_shipment).score(snap)
        v = _executor_model(value_shipment).score(snap)
        if not (np.isfinite(p).all() and np.isfinite(v).all()):
            raise ModelError("The models returned non-finite scores; check the snapshot's feature values.")
        out = pd.concat([snap, _plain(loyalty)], axis=1)
        out["churn_probability"] = p
        out["expected_value"] = v
        if uplift_shipment is not None:  # the DuckDB job's loaded.model.predict on the same snapshot rows
            out["_uplift"] = np.asarray(_executor_model(uplift_shipment).model.predict(snap), dtype="float64")
        return _plain(out)

    sample = snapshot.limit(3).toPandas()
    schema = _as_spark_schema(_local_batch(score_batch, sample, churn, value, churn_shipment, value_shipment,
                                           uplift, uplift_shipment))

    def score_partition(batches):
        for frame in batches:
            yield score_batch(frame)

    scored = snapshot.mapInPandas(score_partition, schema).persist(StorageLevel.MEMORY_AND_DISK)
    var = F.col("churn_probability") * F.greatest(F.col("expected_value"), F.lit(0.0))
    cuts = job.risk_band_cuts
    band = (F.when(F.col("churn_probability") >= cuts["very_high"], "very_high")
            .when(F.col("churn_probability") >= cuts["high"], "high")
            .when(F.col("churn_probability") >= cuts["medium"], "medium").otherwise("low"))
    scored = scored.withColumn("_var", var).withColumn("_band", band)
    executor_errors(scored.count)
    snapshot.unpersist()
    lap("score")

    # 4. reasons for the customers that matter, from a profile of the population
    p_sorted = np.sort(np.asarray(scored.select("churn_probability").toPandas()["churn_probability"],
                                  dtype="float64"))
    snap_cols = list(SNAPSHOT_COLUMNS)
    top = (scored.orderBy(F.when(F.col("_band") == "very_high", 0).otherwise(1), F.desc("_var"), "customer_id")
           .limit(job.explain_top_k).select(*snap_cols, "_var", "_band").toPandas())
    top = _restore(top, snap_cols)
    top.index = pd.Index(top["customer_id"].astype(str), name=None)
    profile = scored if n <= profile_rows else scored.sample(fraction=profile_rows / n, seed=job.seed)
    profile = _restore(profile.orderBy("customer_id")
                       .select(*snap_cols, "churn_probability", "expected_value", "_var", "_band", "loyalty_tier")
                       .toPandas(), snap_cols)
    extra: dict[str, Any] = {"explained": {"customers": int(len(top)), "sample": 0},
                             "profile_customers": int(len(profile)), "population": int(n)}
    reasons = None
    profile_snap = profile[snap_cols]
    model_frame = with_model_features(churn.model, profile_snap)
    typical = typical_values(model_frame, "industry", reference=profile["_band"].isin(["low", "medium"]))
    if len(top):
        top_snap = top[snap_cols]
        contribs = explain(churn.model, top_snap, rows=top_snap.index)
        top_frame = with_model_features(churn.model, top_snap)
        reasons = top_reasons(contribs, top_frame, typical, k=3)
    pre = pd.DataFrame({"value_at_risk": profile["_var"].to_numpy(), "churn_probability":
                        profile["churn_probability"].to_numpy(), "risk_band": profile["_band"].to_numpy()})
    _, sample_rows = select_rows(pre, top_k=0, sample=job.explain_sample, seed=job.seed)
    if len(sample_rows):
        sample_contribs = explain(churn.model, profile_snap, rows=sample_rows)
        tiers = profile["loyalty_tier"].astype("string")
        extra["explained"]["sample"] = int(len(sample_rows))
        extra["global_drivers"] = _json_records(global_drivers(sample_contribs))
        extra["drivers_by_tier"] = _by_segment(drivers_by(sample_contribs, tiers.loc[sample_contribs.index]))
        extra["diagnosis"] = diagnosis(sample_contribs, tiers.loc[sample_contribs.index],
                                       snapshot=model_frame.loc[sample_contribs.index])
    from loyalist.monitoring.drift import psi_table

    reference = getattr(churn.model, "drift_reference_", None)
    if reference:
        frame = churn.model.model_frame(profile_snap) if hasattr(churn.model, "model_frame") else profile_snap
        drift = psi_table(reference, frame, warn_level=job.drift_warn_psi)
    else:
        drift = pd.DataFrame(columns=["feature", "psi", "drifted"])
    lap("explain")

    # 4b. cross-sell: the same recommender as the DuckDB job, on the driver, for every customer of the snapshot
    cross_sell = None
    if next_products is not None:
        ids = scored.select("customer_id").orderBy("customer_id").toPandas()["customer_id"].astype("string")
        products = next_products(ids)
        table = pd.DataFrame({"customer_id": ids.to_numpy(),
                              "_next_products": ids.map(products).astype("string").fillna("").to_numpy()})
        cross_sell = spark.createDataFrame(table.astype("string"), "customer_id string, _next_products string")
        del ids, products, table
    lap("cross_sell")

    # 5. assemble on the executors
    reason_table = (reasons.reset_index(names="customer_id") if reasons is not None
                    else pd.DataFrame(columns=["customer_id", "reason_1", "reason_2", "reason_3",
                                               "top_driver_group"]))
    reason_table = reason_table.astype({"customer_id": "string"})
    base = scored.drop("_var", "_band")
    if names is not None:
        base = base.join(names.dropDuplicates(["customer_id"]).withColumnRenamed("name", "_name"),
                         "customer_id", "left")
    else:
        base = base.withColumn("_name", F.lit(None).cast("string"))
    with_products = cross_sell is not None  # the closure below must not capture the Spark DataFrame
    if with_products:
        base = base.join(cross_sell, "customer_id", "left")
    else:
        base = base.withColumn("_next_products", F.lit(None).cast("string"))
    n_pop = len(p_sorted)
    assembly = spark.sparkContext.broadcast((p_sorted, reason_table))
    del p_sorted
    churn_version, value_version = str(churn.version), str(value.version)
    from loyalist.batch.scoring import _purchase_featurizer, _purchase_level
    purchases_fit, purchases_h = _purchase_featurizer(value.model)
    purchases_level = _purchase_level(value.model)
    from loyalist.batch.scoring import _churn_horizon
    churn_h = _churn_horizon(churn, config)
    with_uplift = uplift_shipment is not None
    costs = dict(uplift_costs or {})

    def assemble_batch(frame: pd.DataFrame) -> pd.DataFrame:
        population_p, reason_table = assembly.value
        frame = _restore(frame.reset_index(drop=True), snap_cols)
        snap = frame[snap_cols]
        loyalty = frame[loyalty_columns]
        mine = reason_table[reason_table["customer_id"].isin(snap["customer_id"])]
        reasons_here = None
        if len(mine):
            position = pd.Series(snap.index, index=snap["customer_id"].astype(str))
            reasons_here = mine.set_index(position.loc[mine["customer_id"].astype(str)].to_numpy()).drop(
                columns=["customer_id"])
        customers = pd.DataFrame({"customer_id": snap["customer_id"], "name": frame["_name"]})
        risk = build_risk_list(
            snap, loyalty, churn_probability=frame["churn_probability"].to_numpy(),
            expected_value=frame["expected_value"].to_numpy(), band_cuts=job.risk_band_cuts,
            expected_purchases=(purchases_fit.transform(snap, horizon_days=purchases_h)["bg_expected_purchases"]
                                .to_numpy(dtype="float64") * purchases_level if purchases_fit is not None else None),
            survival=(purchases_fit.survival(snap, churn_probability=frame["churn_probability"].to_numpy(
                dtype="float64"), churn_horizon_days=churn_h) if purchases_fit is not None else None),
            reasons=reasons_here, actions=job.actions, customers=customers,
            next_products=(pd.Series(frame["_next_products"].astype("string").fillna("").to_numpy(),
                                     index=snap["customer_id"].to_numpy()) if with_products else None),
            churn_model_version=churn_version, value_model_version=value_version,
        )
        p = risk["churn_probability"].to_numpy(dtype="float64")
        risk["churn_percentile"] = average_rank(population_p, p) / n_pop * 100
        sort_id = risk["customer_id"].astype("string")
        risk = protect(risk)
        if with_uplift:  # aligned by customer id: build_risk_list orders its rows by value at risk
            by_id = pd.Series(frame["_uplift"].to_numpy(dtype="float64"),
                              index=snap["customer_id"].astype("string").to_numpy())
            risk = add_uplift(risk, by_id.loc[sort_id.to_numpy()].to_numpy(), costs=costs)
        risk.insert(len(risk.columns), "_sort_id", sort_id.to_numpy())
        return _plain(risk)

    sample = base.limit(3).toPandas()
    schema = _as_spark_schema(assemble_batch(sample))

    def assemble_partition(batches):
        for frame in batches:
            yield assemble_batch(frame)

    assembled = base.mapInPandas(assemble_partition, schema)
    assignment, cached = None, None
    # the list's order: value at risk (ties by the original id, as score_customers sorts before protection), or
    # expected saved value (ties by the published id, as add_uplift sorts the protected list)
    order = (["expected_saved_value", "customer_id"] if with_uplift and rank_by == "expected_saved_value"
             else ["value_at_risk", "_sort_id"])
    if job.control_group.enabled:  # the control group, drawn exactly as the DuckDB job draws it (issue 16)
        assembled, assignment, cached = _hold_out_spark(spark, assembled, config, as_of, order)
    risk = assembled.orderBy(F.desc(order[0]), F.asc(order[1])).drop("_sort_id")
    summary = _summary(risk, as_of) | extra
    if assignment is not None:
        summary["control_group"] = assignment_summary(assignment) | {
            "crm_export": job.control_group.crm_export, "file": "churn_risk_control.parquet"}
    summary["drift"] = {
        "psi": {r.feature: round(float(r.psi), 4) for r in drift.itertuples()},
        "warn_level": job.drift_warn_psi,
        "drifted": [r.feature for r in drift.itertuples() if r.drifted],
    }
    from loyalist.batch.scoring import _check_horizons, level_warnings

    summary["notes"] = _check_horizons(config, churn, value, as_of)
    summary["level"] = level_warnings(churn, value, as_of)
    calibration = getattr(churn.model, "survival_calibration_", None)
    if calibration:  # as the DuckDB job: the training run's BG/NBD share-still-buying check, for the report
        summary["survival_calibration"] = calibration
    if profile_rows < n:
        summary["notes"].append(
            f"Typical values, global drivers and drift come from a random sample of {len(profile):,} of the "
            f"{n:,} customers (spark.profile_rows)."
        )
    lap("assemble")
    return SparkScoringOutput(risk=risk, customers=int(n), summary=summary, drift=drift, timings=timings,
                              assignment=assignment, cached=cached)


def _hold_out_spark(spark, assembled, config: LoyalistConfig, as_of: pd.Timestamp,
                    order: tuple[str, str] | list[str] = ("value_at_risk", "_sort_id")):
    """The list with its control group held out, the assignment (:mod:`loyalist.batch.control`) and the persisted
    frame behind the list (to unpersist once it is written).

    The customers with an action and their strata (four short text columns) come to the driver, where
    :func:`~loyalist.batch.control.assign_control` draws the same split as on DuckDB (a keyed hash of the published
    id, ranked within each action/tier/band stratum); the control ids go back as a broadcast join that flags them
    and empties their action and owner, as :func:`~loyalist.batch.control.hold_out` does. The assembled list is
    persisted so the scoring runs once for both passes."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    cg = config.scoring_job.control_group
    assembled = assembled.persist(StorageLevel.MEMORY_AND_DISK)
    acted = (assembled.where(F.length(F.coalesce(F.col("recommended_action"), F.lit(""))) > 0)
             .select(*dict.fromkeys(["customer_id", *STRATA, *order])).toPandas()
             .sort_values(list(order), ascending=[False, True], kind="mergesort")
             .reset_index(drop=True))  # the list's order, as the DuckDB job's assignment has it
    assignment = assign_control(acted, share=cg.share, seed=cg.seed, campaign=campaign_name(cg.campaign, as_of),
                                campaign_date=str(pd.Timestamp(as_of).date()))
    control = assignment.loc[assignment["group"] == "control", "customer_id"].astype(str).tolist()
    flags = spark.createDataFrame([(cid, True) for cid in control], "customer_id string, _control boolean")
    columns = assembled.columns
    held = F.coalesce(F.col("_control"), F.lit(False))
    out = assembled.join(F.broadcast(flags), "customer_id", "left").withColumn("control_group", held)
    for c in ("recommended_action", "owner_department"):
        if c in columns:
            out = out.withColumn(c, F.when(held, F.lit("")).otherwise(F.col(c)))
    return out.select(*columns), assignment, assembled


def executor_errors(action: Callable[[], Any]) -> Any:
    """Run a Spark action; a loyalist error raised on an executor (a model that rejects the snapshot, say) comes
    back as its one sentence instead of a Java stack trace."""
    from pyspark.errors import PythonException

    try:
        return action()
    except PythonException as exc:
        import re

        found = re.findall(r"loyalist\.errors\.(\w+): (.+)", str(exc))
        if not found:
            raise
        kind, message = found[-1]
        import loyalist.errors as errors

        raise getattr(errors, kind, ModelError)(message.strip()) from None


def _local_batch(score_batch, sample, churn, value, churn_shipment, value_shipment, uplift=None,
                 uplift_shipment=None) -> pd.DataFrame:
    """Run ``score_batch`` on a few rows on the driver (to learn the output schema), with the driver's models in
    place of the executors' copies."""
    saved = dict(_EXECUTOR_MODELS)
    _EXECUTOR_MODELS[churn_shipment.name] = churn.loaded if hasattr(churn, "loaded") else churn
    _EXECUTOR_MODELS[value_shipment.name] = value.loaded if hasattr(value, "loaded") else value
    if uplift_shipment is not None:
        _EXECUTOR_MODELS[uplift_shipment.name] = uplift
    try:
        return score_batch(sample)
    finally:
        _EXECUTOR_MODELS.clear()
        _EXECUTOR_MODELS.update(saved)


def _summary(risk, as_of: pd.Timestamp) -> dict:
    """:func:`loyalist.batch.risk_list.risk_summary` computed by Spark (one aggregation pass)."""
    from pyspark.sql import functions as F

    rows = risk.groupBy("loyalty_tier", "risk_band").agg(
        F.count(F.lit(1)).alias("n"), F.sum("value_at_risk").alias("var"), F.sum("expected_value").alias("ev"),
        F.sum("churn_probability").alias("p"), F.sum(F.nanvl("expected_purchases", F.lit(0.0))).alias("ep"),
    ).toPandas()
    n = int(rows["n"].sum())
    tiers = rows.groupby("loyalty_tier")["n"].sum()
    bands = rows.groupby("risk_band")["n"].sum()
    var_tier = rows.groupby("loyalty_tier")["var"].sum()
    return {
        "as_of": str(as_of.date()) if n else None,
        "customers": n,
        "tiers": {t: int(tiers.get(t, 0)) for t in TIERS},
        "bands": {b: int(bands.get(b, 0)) for b in RISK_BANDS},
        "value_at_risk_by_tier": {t: float(var_tier.get(t, 0.0)) for t in TIERS},
        "expected_value_total": float(rows["ev"].sum()),
        "value_at_risk_total": float(rows["var"].sum()),
        "mean_churn_probability": float(rows["p"].sum() / n) if n else None,
        "expected_purchases_total": float(rows["ep"].fillna(0.0).sum()),
    }


def _json_records(table: pd.DataFrame) -> list[dict]:
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in table.to_dict("records")]


def _by_segment(table: pd.DataFrame, top: int = 10) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for seg, part in table.groupby("segment", sort=False):
        out[str(seg)] = _json_records(part.drop(columns=["segment"]).head(top))
    return out


