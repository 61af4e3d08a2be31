"""Train and evaluate the churn and value models from history, out of time, beside the baselines.

``train_churn`` / ``train_value``:
1. plan the cut-offs (the newest with a complete label window validates; earlier ones whose label windows end
   by then train); when the history is too short for the full horizon, fall back to the longest shorter training
   horizon that fits, with the BG/NBD offset that carries it to the full horizon, and say so in ``notes``;
2. stack labelled snapshots at the training cut-offs; build the validation snapshot;
3. split the validation customers in two halves by a hash of their id: one for early stopping and calibration,
   one for the reported metrics (so nothing reported was tuned on the rows it is measured on);
4. fit the model; score the evaluation half with the model and every baseline; compute the metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from loyalist.compute import lgbm_threads
from loyalist.config.models import FeatureConfig, LoyalistConfig
from loyalist.errors import InsufficientHistoryError
from loyalist.features.cutoffs import data_period
from loyalist.features.snapshot import build_snapshot
from loyalist.modeling.btyd.features import BtydFeaturizer
from loyalist.modeling.evaluation.baselines import churn_baselines, value_baselines
from loyalist.modeling.evaluation.metrics import compare_churn, compare_value
from loyalist.modeling.supervised.churn import ChurnModel
from loyalist.modeling.supervised.dataset import (
    CutoffPlan,
    SnapshotBuilder,
    labelled_snapshot,
    plan_cutoffs,
    split_half,
    stack_snapshots,
)
from loyalist.modeling.supervised.level import Level, set_level
from loyalist.modeling.supervised.value import ValueModel
from loyalist.scoring.loyalty import LoyaltyScorer

__all__ = [
    "ACTIVE_DAYS", "TrainingResult", "active_churn_metrics", "describe_evaluation", "plan_with_fallback",
    "train_churn", "train_value", "evaluation_frame",
]

#: Active customers (issue 11 §4, ../shared/eval/PROTOCOLS.md): a completed order in the last 90 days up to the
#: cut-off (``recency_days <= 90``). Churn among them is what an early warning has to see coming. The default of
#: ``features.active_days``, which :func:`train_churn` uses.
ACTIVE_DAYS = 90


@dataclass
class TrainingResult:
    """A fitted model with the evidence for it."""

    model: ChurnModel | ValueModel
    plan: CutoffPlan
    metrics: pd.DataFrame  # column 'scorer': 'loyalist' (first) then the baselines; metric columns
    eval_frame: pd.DataFrame  # the evaluation half: customer_id, as_of, label(s), model and baseline scores
    train_rows: int
    valid_rows: int
    train_snapshot: pd.DataFrame = field(repr=False)
    eval_snapshot: pd.DataFrame = field(repr=False)  # the evaluation half's snapshot rows (model inputs + labels)
    notes: list[str] = field(default_factory=list)
    #: Where the metrics come from, in one phrase (out of time, or held-out customers in the short-history mode).
    evaluation: str = ""
    #: The label horizon of the evaluation rows (the model's horizon, or shorter in the short-history mode).
    eval_horizon_days: int = 0
    #: Churn only: ``metrics`` on the evaluation rows of customers active at their cut-off (a completed order in
    #: the last ``features.active_days`` days, in its column ``active_days``), the model beside the same baselines;
    #: None when those rows have one class.
    active_metrics: pd.DataFrame | None = None

    @property
    def model_metrics(self) -> dict[str, float]:
        row = self.metrics.loc[self.metrics["scorer"] == "loyalist"].iloc[0]
        return {k: float(v) for k, v in row.drop("scorer").items() if pd.notna(v)}


def plan_with_fallback(
    tables: Mapping[str, pd.DataFrame], config: LoyalistConfig, horizon_days: int
) -> tuple[CutoffPlan, bool]:
    """The cut-off plan at ``horizon_days``, or at the longest shorter horizon that fits (second value True)."""
    t = config.training
    try:
        plan = plan_cutoffs(tables, horizon_days=horizon_days, min_history_days=t.min_history_days,
                            freq=t.cutoff_frequency, max_cutoffs=t.max_cutoffs)
        if len(plan.train) >= min(t.min_cutoffs_out_of_time, t.max_cutoffs):
            return plan, False
        raise InsufficientHistoryError(
            f"Only {len(plan.train)} training cut-off(s) fit before the validation cut-off {plan.valid.date()}."
        )
    except InsufficientHistoryError as first_error:
        # Short history: no cut-off leaves room for a complete label window AND a later validation cut-off.
        # Anchored mode: weekly cut-offs T, each labelled over (T, data end] (its own horizon, between
        # min_train_horizon_days and the full horizon), validated on held-out customers; the BG/NBD offset
        # (P(no purchase) at each row's horizon) carries the model to the full horizon.
        start, end = data_period(tables)
        first = max(start + pd.Timedelta(days=min(t.min_history_days, 90)), end - pd.Timedelta(days=horizon_days))
        last = end - pd.Timedelta(days=max(t.min_train_horizon_days, 7))
        cutoffs = list(pd.date_range(first, last, freq="7D"))[-max(t.max_cutoffs, 14):]
        if len(cutoffs) < 2:
            raise first_error
        horizons = tuple(int((end - c).days) for c in cutoffs)
        note = (
            f"History too short for out-of-time validation at the {horizon_days}-day horizon: trained on "
            f"{len(cutoffs)} weekly cut-offs ({cutoffs[0].date()} .. {cutoffs[-1].date()}) labelled up to the data "
            f"end ({min(horizons)}-{max(horizons)}-day horizons), validated on held-out customers, with the "
            f"BG/NBD offset carrying the model to {horizon_days} days and stronger regularisation."
        )
        plan = CutoffPlan(int(np.median(horizons)), tuple(cutoffs), cutoffs[-1], start, end, (note,),
                          anchored=True, horizons=horizons)
        return plan, True


#: Training cut-offs the short-history fallback wants before it accepts a horizon.
FALLBACK_MIN_CUTOFFS = 8
#: LightGBM settings for the short-history fallback (few, correlated rows): shallow trees, large leaves.
FALLBACK_PARAMS = {"num_leaves": 7, "min_child_samples": 100, "learning_rate": 0.02}


def _rule_scores(config: LoyalistConfig, snapshot: pd.DataFrame) -> pd.Series:
    return LoyaltyScorer(config.scoring).fit(snapshot).transform(snapshot)["loyalty_score"]


def snapshot_requests(plan: CutoffPlan, config: LoyalistConfig) -> tuple[list[pd.Timestamp], FeatureConfig]:
    """The cut-offs whose labelled snapshots a model trained on ``plan`` asks for, and the feature config it asks
    with (:func:`_prepare`): a training run announces them so that two models' common cut-offs are built once."""
    if plan.anchored:
        return list(plan.train), config.features
    features = config.features.model_copy(
        update={"churn_horizon_days": plan.horizon_days, "value_horizon_days": plan.horizon_days}
    )
    return [*plan.train, plan.valid], features


def _prepare(
    tables: Mapping[str, pd.DataFrame], config: LoyalistConfig, horizon_days: int,
    progress: Callable[[str], None] | None, builder: SnapshotBuilder | None = None,
) -> tuple[CutoffPlan, bool, pd.DataFrame, pd.DataFrame]:
    plan, fallback = plan_with_fallback(tables, config, horizon_days)
    if plan.anchored:
        return _prepare_anchored(tables, config, plan, progress, builder)
    _, features = snapshot_requests(plan, config)
    tick = (lambda t: progress(f"snapshot {t.date()}")) if progress else None
    # one stack for the training and validation cut-offs: they share the preparation of the tables
    stacked = stack_snapshots(tables, [*plan.train, plan.valid], features, on_cutoff=tick, builder=builder)
    is_valid = (stacked["as_of"] == plan.valid).to_numpy()
    train = stacked.loc[~is_valid].reset_index(drop=True)
    valid = stacked.loc[is_valid].reset_index(drop=True)
    return plan, fallback, train, valid


def _prepare_anchored(
    tables: Mapping[str, pd.DataFrame], config: LoyalistConfig, plan: CutoffPlan,
    progress: Callable[[str], None] | None, builder: SnapshotBuilder | None = None,
) -> tuple[CutoffPlan, bool, pd.DataFrame, pd.DataFrame]:
    frames = []
    for t, h in zip(plan.train, plan.horizons, strict=True):
        features = config.features.model_copy(update={"churn_horizon_days": h, "value_horizon_days": h})
        frames.append(labelled_snapshot(tables, t, features, builder=builder).assign(label_horizon_days=h))
        if progress:
            progress(f"snapshot {t.date()}")
    stacked = pd.concat(frames, ignore_index=True)
    # one customer in five (by id hash) is held out, at every cut-off, for early stopping and the metrics
    hashed = pd.util.hash_pandas_object(stacked["customer_id"].astype("string") + "holdout", index=False).to_numpy()
    held = (hashed % 5) == 0
    train, valid = stacked.loc[~held].copy(), stacked.loc[held].copy()
    return plan, True, train, valid


def _eval_rows(valid_eval: pd.DataFrame, plan: CutoffPlan) -> tuple[pd.DataFrame, int]:
    """The evaluation rows and their label horizon: the validation cut-off, or in anchored mode the cut-off whose
    horizon is the plan's (median) horizon."""
    if not plan.anchored:
        return valid_eval, plan.horizon_days
    pick = min(zip(plan.train, plan.horizons, strict=True), key=lambda th: abs(th[1] - plan.horizon_days))
    return valid_eval.loc[valid_eval["as_of"] == pick[0]], int(pick[1])


def describe_evaluation(plan: CutoffPlan, eval_rows: pd.DataFrame, h_eval: int, model_horizon: int) -> str:
    """One honest phrase on where the reported metrics come from (the training table's title, the model card)."""
    n = f"{len(eval_rows):,} customers"
    if not plan.anchored:
        return (f"out of time at {plan.valid.date()} ({n}, {h_eval}-day labels; the half of the validation "
                "customers not used for early stopping or calibration)")
    cut = pd.Timestamp(eval_rows["as_of"].iloc[0]).date() if len(eval_rows) else plan.valid.date()
    return (f"on held-out customers, not out of time: cut-off {cut}, {n} never trained on (1 in 5 by id), labels "
            f"over the {h_eval} days to the data end {plan.data_end.date()}; the model's {model_horizon}-day "
            "horizon is reached through the BG/NBD offset")


def label_windows(plan: CutoffPlan) -> list[tuple[pd.Timestamp, int]]:
    """The (cut-off, horizon) of every label window the model learned from (training and validation)."""
    if plan.anchored:
        return list(zip(plan.train, plan.horizons, strict=True))
    return [(t, plan.horizon_days) for t in (*plan.train, plan.valid)]


def unlabelled_snapshot(tables: Mapping[str, pd.DataFrame], as_of: pd.Timestamp, config: FeatureConfig,
                        builder: SnapshotBuilder | None = None) -> pd.DataFrame:
    """``build_snapshot(tables, as_of, config)``, from the training run's shared preparation of the tables when
    ``builder`` is its :class:`~loyalist.modeling.supervised.dataset.LabelledSnapshots` (same frame)."""
    at = getattr(builder, "snapshot", None)
    return at(as_of, config) if at is not None else build_snapshot(tables, as_of, config)


def fit_level(model, tables: Mapping[str, pd.DataFrame], config: LoyalistConfig, plan: CutoffPlan,
              builder: SnapshotBuilder | None = None) -> Level:
    """Set ``model.level_`` for scoring at the data end over the model's horizon (:mod:`loyalist.modeling.supervised.level`)
    and return it. Uses events <= the data end only (the scoring cut-off of a model trained now). ``builder``:
    the training run's snapshots (:func:`unlabelled_snapshot`)."""
    windows = label_windows(plan)
    from loyalist.modeling.supervised.level import uncovered_months

    if not uncovered_months(windows, plan.data_end, model.horizon_days):
        model.level_ = Level()
        return model.level_
    snapshot = unlabelled_snapshot(tables, plan.data_end, config.features, builder)
    btyd = BtydFeaturizer(horizon_days=model.horizon_days).fit(snapshot).transform(snapshot)
    orders = _completed_orders(tables)
    model.level_ = None
    model.level_ = set_level(model, snapshot, btyd, orders=orders, label_windows=windows,
                             scoring_cutoff=plan.data_end)
    return model.level_


def _completed_orders(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    orders = tables["orders"]
    if "status" in orders:
        orders = orders.loc[orders["status"].astype("string").fillna("completed") == "completed"]
    return orders


def anchor_baseline_value(candidate, learned, tables: Mapping[str, pd.DataFrame], plan: CutoffPlan,
                          snapshot: pd.DataFrame) -> str:
    """Give a value baseline registered in place of ``learned`` the same anchored level as the learned model
    (:func:`loyalist.modeling.supervised.level.anchor_level`) when the learned model's level was anchored and the baseline
    carries the BG/NBD x Gamma-Gamma level (its method or ``level_from``): ``candidate.factor_`` is rescaled so
    its total on ``snapshot`` (the customers at the data end) is the anchored total. Returns the note ("" when
    nothing changed)."""
    from loyalist.modeling.supervised.level import anchor_level

    level = getattr(learned, "level_", None)
    bg_level = "bgnbd_gamma_gamma" in (candidate.method, candidate.level_from)
    if level is None or level.method != "bgnbd_anchor" or not bg_level or candidate.target == "future_margin":
        return ""
    own = float(np.sum(candidate.score(snapshot)))
    if not own > 0:
        return ""
    anchored, how = anchor_level(own, _completed_orders(tables), snapshot["customer_id"], plan.data_end,
                                 int(candidate.horizon_days), amount=candidate.target != "future_orders")
    candidate.factor_ = float(candidate.factor_) * anchored / own
    return f"The baseline's total is anchored like the learned model's: {how} (x{anchored / own:.3f})."


def evaluation_frame(valid: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split the validation cut-off's rows into (fit half, evaluation half)."""
    first = split_half(valid["customer_id"])
    return valid.loc[first].copy(), valid.loc[~first].copy()


def active_churn_metrics(eval_rows: pd.DataFrame, scores: Mapping[str, Any],
                         days: int = ACTIVE_DAYS) -> pd.DataFrame | None:
    """:func:`~loyalist.modeling.evaluation.metrics.compare_churn` of ``scores`` (one array per scorer, aligned with
    ``eval_rows``) on the rows whose customer had a completed order in the last ``days`` days up to the cut-off
    (``recency_days <= days``), with a last column ``active_days`` (= ``days``, so the table carries the window it
    was computed for: the report states it); None when those rows do not hold both churn classes."""
    active = (pd.to_numeric(eval_rows["recency_days"], errors="coerce") <= days).to_numpy()
    y = eval_rows["churned"].to_numpy()[active]
    if len(np.unique(y)) < 2:
        return None
    return compare_churn(y, {k: np.asarray(v)[active] for k, v in scores.items()}).assign(active_days=int(days))


def train_churn(
    tables: Mapping[str, pd.DataFrame],
    config: LoyalistConfig,
    *,
    params: dict | None = None,
    progress: Callable[[str], None] | None = None,
    model_options: Mapping[str, Any] | None = None,
    snapshots: SnapshotBuilder | None = None,
) -> TrainingResult:
    """Train the churn model for ``config.features.churn_horizon_days`` and evaluate it out of time.

    ``model_options``: extra :class:`ChurnModel` arguments (e.g. ``features``, ``use_btyd``)."""
    horizon = config.features.churn_horizon_days
    plan, fallback, train, valid = _prepare(tables, config, horizon, progress, snapshots)
    for name, frame in (("training cut-offs", train), ("validation cut-off", valid)):
        if frame["churned"].nunique() < 2:
            raise InsufficientHistoryError(
                f"The {name} have only one churn class (churned={int(frame['churned'].iloc[0])} for all "
                f"{len(frame)} customers); a churn model needs both; use a longer history or another horizon."
            )
    valid_fit, valid_eval = evaluation_frame(valid)
    model = ChurnModel(
        horizon_days=horizon, params={**(FALLBACK_PARAMS if fallback else {}), **config.training.lgbm_params,
                                      **(params or {})}, offset=fallback,
        random_state=config.training.random_state,
        **{"n_jobs": lgbm_threads(config.compute.lgbm_threads), **dict(model_options or {})},
    ).fit(train, valid_fit, train_horizon_days=plan.horizon_days)
    # Evaluate at the labels' own horizon on one cut-off of the evaluation rows.
    valid_eval, h_eval = _eval_rows(valid_eval, plan)
    rule = pd.concat([_rule_scores(config, part) for _, part in valid.groupby("as_of")])
    ev = valid_eval.assign(loyalty_score=rule.reindex(valid_eval.index))
    if model.use_btyd:
        assert model.btyd_ is not None  # fit gives every use_btyd model its frozen featurizer
        ev = pd.concat([ev, model.btyd_.transform(ev, horizon_days=h_eval)], axis=1)
    scores = {"loyalist": model.score(valid_eval, horizon_days=h_eval), **churn_baselines(ev)}
    metrics = compare_churn(ev["churned"].to_numpy(), scores)
    active = active_churn_metrics(ev, scores, days=config.features.active_days)
    frame = ev[["customer_id", "as_of", "churned"]].assign(**{f"score_{k}": v for k, v in scores.items()})
    notes = list(plan.notes)
    if model.calibrator_ is not None and not model.calibrated_at(horizon):
        lo, hi = model.calibration_horizons_
        notes.append(f"The {model.calibration_method_} calibration map learned on the {lo}-{hi}-day labels is not "
                     f"applied at the {horizon}-day horizon: the probabilities there are the model's own (through "
                     "the BG/NBD offset), at the level below.")
    # after the evaluation: it concerns the scoring horizon only
    level = fit_level(model, tables, config, plan, snapshots)
    if level.note:
        notes.append(level.note)
    return TrainingResult(model, plan, metrics, frame, len(train), len(valid), train, valid_eval, notes,
                          describe_evaluation(plan, valid_eval, h_eval, horizon), h_eval, active)


def train_value(
    tables: Mapping[str, pd.DataFrame],
    config: LoyalistConfig,
    *,
    params: dict | None = None,
    progress: Callable[[str], None] | None = None,
    target: str | None = None,
    model_options: Mapping[str, Any] | None = None,
    snapshots: SnapshotBuilder | None = None,
) -> TrainingResult:
    """Train the value model for ``config.features.value_horizon_days`` and evaluate it out of time.

    ``target``: the label to predict; default ``future_revenue`` (``future_margin`` when
    ``features.value_basis`` is margin); ``future_orders`` predicts the number of purchases.
    ``model_options``: extra :class:`ValueModel` arguments (e.g. ``features``, ``use_btyd``).
    """
    horizon = config.features.value_horizon_days
    if target is None:
        target = "future_margin" if config.features.value_basis == "margin" else "future_revenue"
    plan, fallback, train, valid = _prepare(tables, config, horizon, progress, snapshots)
    if target == "future_margin" and train[target].isna().all():
        raise InsufficientHistoryError(
            "features.value_basis is 'margin' but the orders have no cost or margin column; map one or use 'revenue'."
        )
    train = train.assign(**{target: train[target].clip(lower=0)})
    valid = valid.assign(**{target: valid[target].clip(lower=0)})
    valid_fit, valid_eval = evaluation_frame(valid)
    model = ValueModel(
        horizon_days=horizon, params={**(FALLBACK_PARAMS if fallback else {}), **config.training.lgbm_params,
                                      **(params or {})}, offset=fallback,
        target=target, random_state=config.training.random_state,
        **{"n_jobs": lgbm_threads(config.compute.lgbm_threads), **dict(model_options or {})},
    ).fit(train, valid_fit, train_horizon_days=plan.horizon_days)
    valid_eval, h_eval = _eval_rows(valid_eval, plan)
    ev = valid_eval
    if model.use_btyd:
        assert model.btyd_ is not None  # fit gives every use_btyd model its frozen featurizer
        ev = pd.concat([ev, model.btyd_.transform(ev, horizon_days=h_eval)], axis=1)
    preds = {
        "loyalist": model.score(valid_eval, horizon_days=h_eval),
        **value_baselines(ev, horizon_days=h_eval, lookback_days=config.features.lookback_days, target=target),
    }
    metrics = compare_value(ev[target].to_numpy(dtype="float64"), preds)
    frame = ev[["customer_id", "as_of", target]].assign(**{f"pred_{k}": np.asarray(v) for k, v in preds.items()})
    # after the evaluation: it concerns the scoring horizon only
    level = fit_level(model, tables, config, plan, snapshots)
    notes = list(plan.notes) + ([level.note] if level.note else [])
    return TrainingResult(model, plan, metrics, frame, len(train), len(valid), train, valid_eval, notes,
                          describe_evaluation(plan, valid_eval, h_eval, horizon), h_eval)


