"""Batch scoring: the snapshot at the as-of date -> loyalty, churn risk, value, reasons, actions -> the risk list.

Models come in as *scorers*: objects with ``score(snapshot) -> np.ndarray`` (the MLflow pyfunc wrapper
``loyalist.tracking.LoadedModel`` or a loyalist model itself), ``model`` (the loyalist model, for SHAP
contributions and the drift reference) and ``version`` (a label for the list).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from loyalist.batch.risk_list import LIST_SNAPSHOT_COLUMNS, build_risk_list, list_names, risk_summary
from loyalist.compute import lgbm_threads
from loyalist.config.models import LoyalistConfig
from loyalist.data.tables import ParquetTable, as_frame
from loyalist.errors import ModelError
from loyalist.explain import (
    CHUNK_ROWS,
    diagnosis,
    drivers_by,
    explain,
    global_drivers,
    in_chunks,
    sample_labels,
    select_rows,
    top_reasons,
    typical_values,
    with_model_features,
)
from loyalist.features.snapshot import build_snapshot
from loyalist.modeling.btyd.features import BtydFeaturizer
from loyalist.modeling.supervised.base import LgbmModelBase
from loyalist.monitoring.drift import psi_table
from loyalist.scoring.loyalty import LoyaltyScorer

__all__ = ["SCORING_STAGES", "Scorer", "ScoringOutput", "score_customers"]


class Scorer(Protocol):
    @property
    def model(self) -> Any: ...

    version: str

    def score(self, snapshot: pd.DataFrame) -> np.ndarray: ...


@dataclass
class ScoringOutput:
    risk: pd.DataFrame  # unprotected: the caller masks / pseudonymises before writing
    snapshot: pd.DataFrame
    summary: dict
    drift: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)
    #: CPU seconds of the whole process (every thread) per stage, when a ``cpu_clock`` was given.
    cpu: dict[str, float] = field(default_factory=dict)
    #: The process's peak memory (MB) so far at the end of each stage, when a ``peak_mb`` probe was given.
    peak_mb: dict[str, float] = field(default_factory=dict)


def _check_horizons(config: LoyalistConfig, churn: Scorer, value: Scorer,
                    as_of: pd.Timestamp | None = None) -> list[str]:
    from loyalist.modeling.supervised.level import month_names, other_horizon_months

    notes = []
    for kind, scorer, wanted in (("churn", churn, config.features.churn_horizon_days),
                                 ("value", value, config.features.value_horizon_days)):
        # a scorer may carry the model to an asked horizon (loyalist score --churn-horizon-days)
        used = getattr(scorer, "horizon_days", None) or getattr(scorer.model, "horizon_days", None)
        if used != wanted:
            notes.append(
                f"The {kind} model predicts a {used}-day horizon; the config says {wanted} days: the model's "
                "horizon is used."
            )
        level = getattr(scorer.model, "level_", None)  # the model's level rule (loyalist.modeling.supervised.level) warned
        level_note = getattr(level, "note", "")
        if level_note and used == getattr(scorer.model, "horizon_days", None):
            other = other_horizon_months(level, as_of, int(used or 0))
            if other is None or level is None:
                notes.append(f"The {kind} model: {level_note}")
            else:
                assert as_of is not None  # other_horizon_months needs it
                day = pd.Timestamp(as_of).date()
                notes.append(
                    f"The {kind} model carries the level it was given at training for another horizon "
                    f"({', '.join(level.uncovered)}: {level_note}) This list is as of {day}: its {used}-day horizon "
                    f"({', '.join(month_names(other))}) has none of those months, yet the frozen level is applied "
                    f"unchanged, so this list's {kind} level is unchecked; train with --as-of {day} to check it.")
    return notes


def level_warnings(churn: Scorer, value: Scorer, as_of: pd.Timestamp | None = None) -> dict[str, dict]:
    """The level rule's warning per model kind (the summary's ``level``; the report words it in both languages):
    :func:`loyalist.modeling.supervised.level.level_block` of each model scored at its own horizon, where
    :func:`_check_horizons` prints the same note. A list whose horizon after ``as_of`` has none of the months the
    level was set for gets ``as_of`` and ``list_months`` in its block (the report then says the level is unchecked
    for this list, not the training-time warning)."""
    from loyalist.modeling.supervised.level import level_block, other_horizon_months

    out = {}
    for kind, scorer in (("churn", churn), ("value", value)):
        own = getattr(scorer.model, "horizon_days", None)
        used = getattr(scorer, "horizon_days", None) or own
        level = getattr(scorer.model, "level_", None)
        block = level_block(level, int(own or 0)) if used == own else None
        if block is not None:
            other = other_horizon_months(level, as_of, int(own or 0))
            if other is not None:
                block = {**block, "as_of": str(pd.Timestamp(as_of).date()), "list_months": other}
            out[kind] = block
    return out


#: The stages of :func:`score_customers`, in order (``timings`` keys; ``on_stage`` names).
#: From "loyalty" to "names" the predictions and the sample's SHAP contributions run in background threads, and
#: during "survival" the top customers' contributions and the time to churn (row chunks) while this thread words the
#: sample's drivers: a stage's time is this thread's, its CPU every thread's.
SCORING_STAGES: tuple[str, ...] = ("snapshot", "loyalty", "cross_sell", "expected_purchases", "explain_features",
                                   "drift", "names", "churn_model", "value_model", "survival", "explain", "assemble")


def score_customers(
    tables: Mapping[str, pd.DataFrame | ParquetTable],
    as_of: pd.Timestamp,
    config: LoyalistConfig,
    *,
    churn: Scorer,
    value: Scorer,
    next_products: Callable[[pd.Series], pd.Series] | None = None,
    clock: Callable[[], float] | None = None,
    on_stage: Callable[[str, int], None] | None = None,
    cpu_clock: Callable[[], float] | None = None,
    peak_mb: Callable[[], float] | None = None,
    keep_snapshot: bool = True,
    snapshot_source: Callable[[], pd.DataFrame] | None = None,
    mask_names: Callable[[pd.Series], pd.Series] | None = None,
) -> ScoringOutput:
    """Score every customer of the snapshot at ``as_of``.

    ``on_stage(stage, customers)`` (optional) is called as each of :data:`SCORING_STAGES` ends, with the number
    of customers in the snapshot (0 before it exists): a progress bar's hook.

    Steps (each timed when ``clock`` is given): snapshot; loyalty score and tier; churn probability and expected
    value (through the scorers); value at risk and risk bands; SHAP reasons for the customers that matter (the very
    high band and the top ``scoring_job.explain_top_k`` by value at risk) and global drivers from a random sample;
    the action table; cross-sell products; the drift check against the churn model's training rows.

    ``cpu_clock`` (e.g. ``time.process_time``: every thread of the process) and ``peak_mb`` (the process's peak
    memory so far) are read as each stage ends, into ``cpu`` and ``peak_mb`` of the output (the caller injects
    them, like ``clock``).

    ``keep_snapshot=False``: the caller needs no snapshot rows after this (no uplift model to score): the snapshot is
    let go before the list is assembled (only the columns the list reads are kept, copied, until it is built) and
    the output's ``snapshot`` has its columns but no rows; ~700 MB less at the list's assembly at 1M customers.

    ``snapshot_source`` (optional): returns the snapshot ``build_snapshot(tables, as_of, config.features)`` gives,
    e.g. the result of a build the caller started in a thread before loading the models (issue 14); the
    "snapshot" stage is then the time waited for it.

    ``mask_names`` (optional): applied to the list's names (:func:`~loyalist.batch.risk_list.list_names`) while the
    models predict, e.g. the job's privacy masking (:func:`loyalist.data.privacy.mask_values`), which then need not
    run on the finished list's single-threaded tail (issue 14); the list's ``name`` column is its result.
    """
    job = config.scoring_job
    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}
    peaks: dict[str, float] = {}
    t0 = [clock() if clock else 0.0]
    c0 = [cpu_clock() if cpu_clock else 0.0]

    n_customers = [0]

    def lap(name: str) -> None:
        if clock:
            now = clock()
            timings[name] = now - t0[0]
            t0[0] = now
        if cpu_clock:
            used = cpu_clock()
            cpu[name] = used - c0[0]
            c0[0] = used
        if peak_mb:
            peaks[name] = float(peak_mb())
        if on_stage is not None:
            on_stage(name, n_customers[0])

    threads = lgbm_threads(config.compute.lgbm_threads)
    for scorer in (churn, value):
        _set_threads(scorer.model, threads)
    snapshot = snapshot_source() if snapshot_source is not None else build_snapshot(tables, as_of, config.features)
    if snapshot.empty:
        raise ModelError(
            f"No customer has a completed order in the {config.features.lookback_days} days up to {as_of.date()}; "
            "nothing to score (check the as-of date and the data)."
        )
    n_customers[0] = len(snapshot)
    lap("snapshot")
    # Both cores busy (issue 14 §2): LightGBM releases the GIL, so both models' predictions and the SHAP
    # contributions of the global-driver sample (drawn without looking at the scores, as select_rows draws it) run in
    # background threads while this thread does the single-threaded pandas/numpy stages. Every LightGBM call then
    # uses one thread (row chunks spread the work); each result is the one a sequential run gives (tested).
    sample_rows = sample_labels(snapshot.index, job.explain_sample, job.seed)
    for scorer in (churn, value):
        _set_threads(scorer.model, 1)
    try:
        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="loyalist-score") as pool:
            churn_future = pool.submit(_predict_chunks, churn, snapshot, threads)
            value_future = pool.submit(_predict_chunks, value, snapshot, threads)
            sample_future = pool.submit(_explain_chunks, churn.model, snapshot, sample_rows, threads) \
                if len(sample_rows) else None
            loyalty = LoyaltyScorer(config.scoring).fit(snapshot).transform(snapshot)
            lap("loyalty")
            products = next_products(snapshot["customer_id"]) if next_products is not None else None
            lap("cross_sell")
            featurizer, _ = _list_featurizer(value.model, snapshot)
            purchases = _expected_purchases(value.model, snapshot, featurizer)
            lap("expected_purchases")
            frame = with_model_features(churn.model, snapshot)  # the BG/NBD features, so reasons can quote them
            lap("explain_features")
            drift = _input_drift(churn.model, snapshot, frame, job.drift_warn_psi)
            lap("drift")
            # needs neither model: done here, while the predictions run, instead of after them on one core (issue 14)
            names = list_names(snapshot, as_frame(tables.get("customers")))
            if mask_names is not None:
                names = mask_names(names)
            lap("names")
            p = churn_future.result()
            lap("churn_model")
            v = value_future.result()
            lap("value_model")
            if not (np.isfinite(p).all() and np.isfinite(v).all()):
                raise ModelError("The models returned non-finite scores; check the snapshot's feature values.")

            # Explanations: the customers that matter, plus a sample for global drivers.
            var = pd.Series(p * np.clip(v, 0, None), index=snapshot.index)
            pre = pd.DataFrame({"value_at_risk": var, "churn_probability": p}, index=snapshot.index)
            from loyalist.batch.risk_list import risk_bands

            pre["risk_band"] = risk_bands(p, job.risk_band_cuts).to_numpy()
            explain_rows, drawn = select_rows(pre, top_k=job.explain_top_k, sample=job.explain_sample, seed=job.seed)
            assert drawn.equals(sample_rows), "select_rows draws the sample as sample_labels does"
            if len(explain_rows) > job.explain_top_k:
                # TreeSHAP costs ~1 ms a row and core: at most explain_top_k customers, the very-high band first (by
                # value at risk), then the rest of the top by value at risk.
                very_high = (pre.loc[explain_rows, "risk_band"] == "very_high").to_numpy()
                explain_rows = explain_rows[very_high].append(explain_rows[~very_high])[: job.explain_top_k]
            top_rows = explain_rows.difference(sample_rows)  # the sample's contributions are already on their way
            top_future = pool.submit(_explain_chunks, churn.model, snapshot, top_rows, threads) \
                if len(top_rows) else None
            # time to churn from the same BG/NBD fit, its start anchored to the churn model's probability (issue 15
            # §2): scipy's special functions in row chunks on background threads (they release the GIL) beside the
            # top customers' SHAP contributions, while this thread words what needs no survival column (issue 14:
            # the GIL-bound explanation work overlaps the GIL-free work instead of following it)
            survival_future = pool.submit(_survival_chunks, featurizer, snapshot, p,
                                          _churn_horizon(churn, config), threads)
            reasons = None
            extra: dict[str, Any] = {"explained": {"customers": int(len(explain_rows)),
                                                   "sample": int(len(sample_rows))}}
            explaining = bool(len(explain_rows) or len(sample_rows))
            if explaining:
                # "similar customers": same industry, among the customers in the low and medium risk bands
                typical = typical_values(frame, "industry", reference=pre["risk_band"].isin(["low", "medium"]))
                tiers = loyalty["loyalty_tier"].astype("string")
                if sample_future is not None:  # the global drivers need the sample's contributions only
                    extra |= _sample_drivers(sample_future.result().loc[sample_rows], tiers, frame)
            survival = survival_future.result()
            lap("survival")
            if explaining:
                contribs = pd.concat([f.result() for f in (sample_future, top_future) if f is not None])
                if len(explain_rows):
                    reasons = top_reasons(contribs.loc[explain_rows], frame.loc[explain_rows], typical, k=3)
                if not len(sample_rows):
                    extra |= _sample_drivers(contribs.loc[explain_rows], tiers, frame)
            del frame
            lap("explain")
    finally:
        for scorer in (churn, value):
            _set_threads(scorer.model, threads)
    kept = snapshot
    if not keep_snapshot:
        kept = snapshot.iloc[:0].copy()  # the columns, no rows
        snapshot = pd.DataFrame({c: snapshot[c].copy() for c in LIST_SNAPSHOT_COLUMNS if c in snapshot.columns},
                                index=snapshot.index)
    release_free_memory()  # the threads' prediction chunks and copies: back to the system before the list is built
    risk = build_risk_list(
        snapshot, loyalty, churn_probability=p, expected_value=v, band_cuts=job.risk_band_cuts, reasons=reasons,
        expected_purchases=purchases, survival=survival,
        actions=job.actions, next_products=products, names=names,
        churn_model_version=str(churn.version), value_model_version=str(value.version),
    )
    lap("assemble")
    summary = risk_summary(risk) | extra
    summary["drift"] = {
        "psi": {r.feature: round(float(r.psi), 4) for r in drift.itertuples()},
        "warn_level": job.drift_warn_psi,
        "drifted": [r.feature for r in drift.itertuples() if r.drifted],
    }
    summary["notes"] = _check_horizons(config, churn, value, as_of)
    summary["level"] = level_warnings(churn, value, as_of)
    calibration = getattr(churn.model, "survival_calibration_", None)
    if calibration:  # BG/NBD share still buying, predicted vs observed at training (issue 15 §2), for the report
        summary["survival_calibration"] = calibration
    return ScoringOutput(risk, kept, summary, drift, timings, cpu, peaks)


def release_free_memory() -> bool:
    """Hand the heap's free memory back to the system (glibc ``malloc_trim``; False elsewhere). Memory freed by
    the worker threads stays in their malloc arenas and counts in the process's resident memory until then: at
    1M customers the list was built on top of ~1 GB freed but still resident (issue 14)."""
    import ctypes
    import ctypes.util
    import sys

    import pyarrow as pa

    pa.default_memory_pool().release_unused()  # Arrow's own allocator (mimalloc or jemalloc): its free pages too
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.malloc_trim(0))
    except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to trim
        return False


def _predict(scorer: Scorer, snapshot: pd.DataFrame, threads: int) -> np.ndarray:
    """``scorer.score`` in row chunks on ``threads`` threads, each LightGBM call on one thread (see
    :func:`loyalist.explain.in_chunks`); the scores equal one call on the whole snapshot."""
    if threads > 1 and len(snapshot) >= 2 * CHUNK_ROWS:
        _set_threads(scorer.model, 1)
        try:
            parts = in_chunks(lambda part: np.asarray(scorer.score(part), dtype="float64"), snapshot, threads)
        finally:
            _set_threads(scorer.model, threads)
        return np.concatenate(parts)
    return np.asarray(scorer.score(snapshot), dtype="float64")


def _input_drift(model: Any, snapshot: pd.DataFrame, frame: pd.DataFrame, warn_level: float) -> pd.DataFrame:
    """PSI of the model's inputs against its training rows: on ``model.model_frame(snapshot)`` (the snapshot with
    the model's BG/NBD features), which for a loyalist model is ``frame`` (:func:`with_model_features`), not
    computed again; on the snapshot for a model without one."""
    reference = getattr(model, "drift_reference_", None)
    if not reference:
        return pd.DataFrame(columns=["feature", "psi", "drifted"])
    if not isinstance(model, LgbmModelBase):
        frame = model.model_frame(snapshot) if hasattr(model, "model_frame") else snapshot
    return psi_table(reference, frame, warn_level=warn_level)


def _predict_chunks(scorer: Scorer, snapshot: pd.DataFrame, threads: int) -> np.ndarray:
    """``scorer.score`` in row chunks on ``threads`` threads, the model's threads left as they are (one, in
    :func:`score_customers`'s concurrent stages); the scores equal one call on the whole snapshot."""
    parts = in_chunks(lambda part: np.asarray(scorer.score(part), dtype="float64"), snapshot, threads)
    return np.concatenate(parts)


def _sample_drivers(sample: pd.DataFrame, tiers: pd.Series, frame: pd.DataFrame) -> dict[str, Any]:
    """The summary's global drivers, drivers by tier and diagnosis from the sample's contributions."""
    return {"global_drivers": _json_records(global_drivers(sample)),
            "drivers_by_tier": _by_segment(drivers_by(sample, tiers.loc[sample.index])),
            "diagnosis": diagnosis(sample, tiers.loc[sample.index], snapshot=frame.loc[sample.index])}


#: Rows per chunk of the time-to-churn columns in a scoring job (spread over the threads).
SURVIVAL_CHUNK_ROWS: int = 100_000


def _survival_chunks(featurizer: BtydFeaturizer, snapshot: pd.DataFrame, churn_probability: np.ndarray,
                     horizon_days: int, threads: int) -> pd.DataFrame:
    """``featurizer.survival`` anchored to ``churn_probability``, in row chunks of :data:`SURVIVAL_CHUNK_ROWS` on
    ``threads`` threads: every row's values are computed from that row alone, so the concatenated chunks equal one
    call on the whole snapshot (tested)."""
    n = len(snapshot)
    if threads <= 1 or n < 2 * SURVIVAL_CHUNK_ROWS:
        return featurizer.survival(snapshot, churn_probability=churn_probability, churn_horizon_days=horizon_days)
    k = max(threads, -(-n // SURVIVAL_CHUNK_ROWS))
    bounds = np.linspace(0, n, k + 1).astype(int)

    def part(a: int, b: int) -> pd.DataFrame:
        return featurizer.survival(snapshot.iloc[a:b], churn_probability=churn_probability[a:b],
                                   churn_horizon_days=horizon_days)

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="loyalist-survival") as pool:
        parts = list(pool.map(part, bounds[:-1].tolist(), bounds[1:].tolist()))
    return pd.concat(parts)


#: Rows per chunk of the SHAP contributions in a scoring job (10,000 rows spread over the threads).
EXPLAIN_CHUNK_ROWS: int = 2_000


def _explain_chunks(model: Any, snapshot: pd.DataFrame, rows: pd.Index, threads: int) -> pd.DataFrame:
    """:func:`loyalist.explain.explain` of ``rows`` in chunks of :data:`EXPLAIN_CHUNK_ROWS` on ``threads`` threads
    (equal to one call on those rows)."""
    return explain(model, snapshot, rows=rows, threads=threads, chunk_rows=EXPLAIN_CHUNK_ROWS)


def _set_threads(model: Any, threads: int) -> None:
    """LightGBM threads of a loaded model's predictions (``compute.lgbm_threads``; a baseline champion's explainer
    too): a registered model otherwise keeps the thread count it was trained with."""
    for m in (model, getattr(model, "explainer", None)):
        setter = getattr(m, "set_threads", None)
        if callable(setter):
            setter(threads)


def _list_featurizer(model: Any, snapshot: pd.DataFrame) -> tuple[BtydFeaturizer, int]:
    """The value model's own frozen BG/NBD featurizer when it has one, else one fitted on this snapshot (events <= T
    only, so legitimate at T), and the value model's horizon."""
    featurizer, horizon = _purchase_featurizer(model)
    if featurizer is None:
        featurizer = BtydFeaturizer(horizon_days=horizon).fit(snapshot)
    return featurizer, horizon


def _expected_purchases(
    model: Any, snapshot: pd.DataFrame, featurizer: BtydFeaturizer | None = None
) -> np.ndarray:
    """BG/NBD expected purchases in the value model's horizon, from :func:`_list_featurizer` (or ``featurizer``)."""
    fitted, horizon = _list_featurizer(model, snapshot) if featurizer is None else (featurizer, _purchase_featurizer(
        model)[1])
    out = fitted.transform(snapshot, horizon_days=horizon)["bg_expected_purchases"].to_numpy(dtype="float64")
    return out * _purchase_level(model)


def _churn_horizon(churn: Any, config: LoyalistConfig) -> int:
    """The horizon (days) of the churn probability: the scorer's asked horizon, else the model's own, else the
    configured churn horizon (as :func:`_check_horizons` reads it)."""
    used = getattr(churn, "horizon_days", None) or getattr(churn.model, "horizon_days", None)
    return int(used or config.features.churn_horizon_days)


def _purchase_level(model: Any) -> float:
    """The value model's frozen level factor for expected purchases (:mod:`loyalist.modeling.supervised.level`; its
    explainer's for a baseline champion), 1.0 when it has none."""
    level = getattr(model, "level_", None) or getattr(getattr(model, "explainer", None), "level_", None)
    return float(getattr(level, "purchase_factor", 1.0) or 1.0)


def _purchase_featurizer(model: Any) -> tuple[Any, int]:
    """The value model's frozen BG/NBD featurizer (or its explainer's, for a baseline champion) and its horizon."""
    horizon = int(getattr(model, "horizon_days", 365) or 365)
    featurizer = getattr(model, "btyd_", None)
    if featurizer is None:
        featurizer = getattr(getattr(model, "explainer", None), "btyd_", None)
    return featurizer, horizon


def _json_records(table: pd.DataFrame) -> list[dict]:
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in table.to_dict("records")]


def _by_segment(table: pd.DataFrame, top: int = 10) -> dict[str, list[dict]]:
    """drivers_by's long table -> {segment: [{feature, group, mean_abs_shap, mean_shap}, ...]} (top per segment)."""
    out: dict[str, list[dict]] = {}
    for seg, part in table.groupby("segment", sort=False):
        out[str(seg)] = _json_records(part.drop(columns=["segment"]).head(top))
    return out
