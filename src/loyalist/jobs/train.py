"""Job: train the churn and value models out of time, log them to MLflow, register challengers and gate
promotion to champion on the same evaluation rows."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

from loyalist.config import config_to_dict
from loyalist.config.metrics import SUMMARY_METRICS, Kind, higher_is_better
from loyalist.config.models import LoyalistConfig
from loyalist.data.tables import ParquetTable
from loyalist.errors import InsufficientHistoryError, ModelError
from loyalist.features.cutoffs import resolve_as_of
from loyalist.jobs._common import EVENTS_UNTIL_TAG, config_tags, start_tracking
from loyalist.jobs._ui import Reporter
from loyalist.modeling.evaluation import plots
from loyalist.modeling.evaluation.baseline_models import BaselineChurnModel, BaselineValueModel
from loyalist.modeling.evaluation.card import model_card
from loyalist.modeling.evaluation.metrics import calibration_table, gains_table, value_decile_table
from loyalist.modeling.evaluation.selection import Verdict, judge_against_baselines
from loyalist.modeling.supervised.dataset import LabelledSnapshots, events_until
from loyalist.modeling.supervised.training import (
    ACTIVE_DAYS,
    TrainingResult,
    anchor_baseline_value,
    plan_with_fallback,
    snapshot_requests,
    train_churn,
    train_value,
    unlabelled_snapshot,
)
from loyalist.tracking import (
    CHAMPION,
    PromotionDecision,
    data_fingerprint,
    find_version,
    gate,
    get_version,
    load,
    log_model,
    run,
    set_version_description,
    store_lock,
)

__all__ = ["TrainedModel", "run_training", "table_fingerprints"]

#: Version tag holding the hash of (kind, input data fingerprints, resolved config, as-of, parameters).
TRAIN_KEY_TAG = "loyalist.train_key"


@dataclass(frozen=True)
class TrainedModel:
    """One trained kind. ``result`` is None when an existing version was trained on the same data and config
    (nothing trained, nothing registered); ``candidate`` says what was registered ("loyalist" or a baseline)."""

    kind: str
    result: TrainingResult | None
    name: str
    version: int
    run_id: str
    decision: PromotionDecision
    card: str
    candidate: str = "loyalist"


def table_fingerprints(tables: Mapping[str, pd.DataFrame]) -> dict[str, str]:
    """Each input DataFrame's :func:`~loyalist.tracking.data_fingerprint` (its ``sha256``), by table name.

    Computed once per training run and shared by every model's retraining key: hashing every row of the orders
    cost ~3 CPU s per model at 100,000 customers (issue 14)."""
    return {name: data_fingerprint(df)["sha256"] for name, df in sorted(tables.items())
            if isinstance(df, pd.DataFrame)}


def _train_key(kind: str, config: LoyalistConfig, fingerprints: Mapping[str, str], as_of, params) -> str:
    """Hash of what determines a trained model: its kind, the input tables' fingerprints
    (:func:`table_fingerprints`), the resolved config, the as-of date and the LightGBM parameter overrides."""
    payload = json.dumps({"kind": kind, "tables": dict(sorted(fingerprints.items())),
                          "config": config_to_dict(config),
                          "as_of": None if as_of is None else str(pd.Timestamp(as_of).date()),
                          "params": params or {}}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def _baseline_candidate(kind: str, verdict: Verdict, result: TrainingResult, config: LoyalistConfig,
                        tables: Mapping[str, pd.DataFrame], snapshots=None):
    """The best baseline as a registrable model (the learned model lost to it on the evaluation rows), with its
    BG/NBD fitted at the newest data day (events <= it), where it will score. ``snapshots``: the run's snapshot
    builder (its shared preparation of the tables builds the newest snapshot)."""
    from loyalist.modeling.btyd.features import BtydFeaturizer

    model = result.model
    newest = unlabelled_snapshot(tables, result.plan.data_end, config.features, snapshots)
    btyd = BtydFeaturizer(horizon_days=model.horizon_days).fit(newest) if model.use_btyd else None
    if kind == "churn":
        return BaselineChurnModel(verdict.baseline, horizon_days=model.horizon_days, explainer=model,
                                  btyd=btyd).fit(result.train_snapshot)
    candidate = BaselineValueModel(verdict.baseline, horizon_days=model.horizon_days,
                                   lookback_days=config.features.lookback_days, target=model.target,
                                   explainer=model, level_from=verdict.level_from or None, btyd=btyd).fit(newest)
    note = anchor_baseline_value(candidate, model, tables, result.plan, newest)
    if note:
        result.notes.append(note)
    return candidate


def _candidate_metrics(kind: str, candidate, result: TrainingResult) -> dict[str, float]:
    """The candidate's metrics on the evaluation rows, at their label horizon (as the training table).

    The registered baseline carries a BG/NBD fitted at the newest data day, for scoring; its events include the
    evaluation rows' label window, so scoring those rows with it would judge the baseline with what happened after
    their cut-off (the time rule). It is judged as its recipe stood at the evaluation cut-off instead: with the
    learned model's BG/NBD (fitted on the validation cut-off's rows, events <= it), and a ``level_from`` factor
    taken from the evaluation rows' own predictions (no label)."""
    import copy

    from loyalist.modeling.evaluation.metrics import churn_metrics, value_metrics

    rows = result.eval_snapshot
    if getattr(candidate, "btyd", None) is not None:
        twin = copy.copy(candidate)
        twin.btyd = None  # the explainer's (the learned model's) featurizer
        if kind == "value" and twin.level_from:
            twin.fit(rows)
        candidate = twin
    pred = candidate.score(rows, horizon_days=result.eval_horizon_days or None)
    if kind == "churn":
        out = churn_metrics(rows["churned"].to_numpy(), pred)
    else:
        out = value_metrics(rows[result.model.target].clip(lower=0).to_numpy(dtype="float64"), pred)
    return {k: float(v) for k, v in out.items() if pd.notna(v)}


def candidate_sentence(candidate_name: str, baseline: str, metric: str, registered: float | None,
                       refitted: float | None) -> str:
    """Why a registered baseline candidate's figure differs from the same baseline's row in the comparison table:
    the table refits each baseline at the evaluation cut-off, the registered candidate is the fit kept for scoring
    (the churn baseline on the training cut-offs), so the CDNOW sample printed "ROC AUC 0.738 vs bgnbd_no_purchase
    0.741" and then "becomes champion with roc_auc 0.735" with nothing to say the two baselines differ. "" for the
    learned model, or when both figures agree to three decimals."""
    if candidate_name == "loyalist" or not baseline or registered is None or refitted is None:
        return ""
    if f"{registered:.3f}" == f"{refitted:.3f}":
        return ""
    return (f"The gate judged the {candidate_name} baseline as registered for scoring (with the BG/NBD of the "
            f"evaluation cut-off): {metric} {registered:.3f} on the same evaluation rows; the table's "
            f"{refitted:.3f} is {baseline} refitted at the evaluation cut-off, which only the comparison uses.")


def _metric_row(result: TrainingResult, scorer: str) -> dict[str, float]:
    row = result.metrics.loc[result.metrics["scorer"] == scorer].iloc[0]
    return {k: float(v) for k, v in row.drop("scorer").items() if pd.notna(v)}


def _champion_seen_later(name: str, result: TrainingResult) -> str | None:
    """Why the champion cannot be judged on the challenger's evaluation rows, or None when it can.

    A champion validated at a cut-off later than the challenger's was trained on rows at or after the challenger's
    evaluation cut-off, with their labels: on those rows it looks near perfect (a backtest with ``--as-of`` showed
    "champion 1.000"). Such a comparison is refused, not made.

    A champion that learned from events after this run's data end (its ``loyalist.events_until`` tag) is not
    replaced either: this run is a backtest on older data (``--as-of``), and a longer-horizon champion validated at
    an earlier cut-off still had those later events in its labels. A backtest with ``--as-of 2024-06-30
    --value-horizon-days 120`` replaced the production 365-day value champion trained on events to 2024-12-31, and
    the next plain ``loyalist score`` used the backtest's model. An ordinary retrain on newer data is unaffected."""
    info = get_version(name, CHAMPION)
    tags = (info.tags or {}) if info is not None else {}
    seen = tags.get("valid_cutoff")
    if seen:
        try:
            champion_cutoff = pd.Timestamp(seen)
        except ValueError:
            champion_cutoff = None
        if champion_cutoff is not None and champion_cutoff > result.plan.valid:
            return (f"was trained on data up to its validation cut-off {champion_cutoff.date()}, later than this "
                    f"run's evaluation cut-off {result.plan.valid.date()}, so its score on these rows would be "
                    "inflated")
    until = tags.get(EVENTS_UNTIL_TAG)
    if until:
        try:
            champion_until = pd.Timestamp(until).normalize()
        except ValueError:
            return None
        data_end = pd.Timestamp(result.plan.data_end).normalize()
        if champion_until > data_end:
            return (f"learned from events up to {champion_until.date()}, later than this run's data end "
                    f"{data_end.date()} (a backtest on older data does not replace a model that knows more), and "
                    "its labels may cover these evaluation rows")
    return None


def _champion_score(name: str, result: TrainingResult, metric: str) -> float | None:
    """The current champion's metric on exactly the challenger's evaluation rows (None without a champion)."""
    from loyalist.modeling.evaluation.metrics import churn_metrics, value_metrics

    if get_version(name, CHAMPION) is None:
        return None
    champion = load(name, CHAMPION)
    rows = result.eval_snapshot
    h = result.eval_horizon_days or result.plan.horizon_days
    if result.model.kind == "churn":
        pred = champion.model.score(rows, horizon_days=h)
        return float(churn_metrics(rows["churned"].to_numpy(), pred)[metric])
    pred = champion.model.score(rows, horizon_days=h)
    return float(value_metrics(rows[result.model.target].to_numpy(dtype="float64"), pred)[metric])


def _log_plots(handle, result: TrainingResult) -> None:
    ev = result.eval_frame
    if result.model.kind == "churn":
        y = ev["churned"].to_numpy()
        scores = {c.removeprefix("score_"): ev[c].to_numpy() for c in ev.columns if c.startswith("score_")}
        probs = {k: v for k, v in scores.items() if k in ("loyalist", "bgnbd_no_purchase")}
        handle.log_figure(plots.roc_figure(y, scores), "plots/roc.png")
        handle.log_figure(plots.pr_figure(y, scores), "plots/precision_recall.png")
        handle.log_figure(plots.calibration_figure(y, probs), "plots/calibration.png")
        handle.log_figure(plots.gains_figure(y, scores), "plots/gains.png")
        handle.log_table(calibration_table(y, scores["loyalist"]), "tables/calibration.csv")
        handle.log_table(gains_table(y, scores["loyalist"]), "tables/gains.csv")
    else:
        target = result.model.target
        y = ev[target].to_numpy(dtype="float64")
        preds = {c.removeprefix("pred_"): ev[c].to_numpy() for c in ev.columns if c.startswith("pred_")}
        handle.log_figure(plots.value_deciles_figure(y, preds), "plots/value_deciles.png")
        handle.log_table(value_decile_table(y, preds["loyalist"]), "tables/value_deciles.csv")


def _survival_calibration(tables: Mapping[str, pd.DataFrame], result: TrainingResult) -> dict | None:
    """BG/NBD time-to-churn checked on the churn model's own evaluation rows and window (issue 15 §2).

    BG/NBD is fitted on orders dated <= the evaluation cut-off only; for the evaluation customers the predicted share
    still buying at month m (a purchase in (cut-off + 30 m days, window end]) is set beside the observed share, the
    window being the evaluation labels' (cut-off + horizon, at most the data end; in anchored mode up to the data
    end). Both predictions are kept: BG/NBD's own and the one anchored to the learned model's churn probability on
    those rows (what the risk list uses). Returns ``{cutoff, window_end, rows, mae, mae_anchored}`` (rows:
    :func:`loyalist.modeling.btyd.survival.active_share_calibration`'s table as records) or None without an orders
    table or evaluation rows; raises the library's sentence when BG/NBD cannot be fitted.
    """
    from loyalist.data.tables import as_frame
    from loyalist.modeling.btyd.survival import active_share_calibration

    orders = as_frame(tables.get("orders"))
    if orders is None:
        return None
    keep = [c for c in ("customer_id", "order_date", "amount", "status") if c in orders.columns]
    plan, ev = result.plan, result.eval_frame
    if ev is None or ev.empty or "score_loyalist" not in ev:
        return None
    cutoff = pd.Timestamp(ev["as_of"].iloc[0]).normalize()
    data_end = pd.Timestamp(plan.data_end).normalize()
    window_end = data_end if plan.anchored else min(cutoff + pd.Timedelta(days=int(plan.horizon_days)), data_end)
    if window_end <= cutoff:
        return None
    rows = ev[ev["as_of"] == ev["as_of"].iloc[0]]
    probability = pd.Series(rows["score_loyalist"].to_numpy(dtype="float64"), index=rows["customer_id"].to_numpy())
    table, _ = active_share_calibration(orders[keep], cutoff, window_end, churn_probability=probability,
                                        churn_horizon_days=(window_end - cutoff).days)
    return {"cutoff": str(cutoff.date()), "window_end": str(window_end.date()),
            "rows": [{k: (float(v) if k not in ("period", "start_day", "customers") else int(v)) for k, v in r.items()}
                     for r in table.to_dict("records")],
            "mae": float(table["error"].abs().mean()), "mae_anchored": float(table["error_anchored"].abs().mean())}


def _log_survival_calibration(handle, block: dict) -> None:
    from loyalist.modeling.btyd.survival import active_share_figure

    table = pd.DataFrame(block["rows"])
    handle.log_figure(active_share_figure({f"cut-off {block['cutoff']}": table},
                                          title="BG/NBD share still buying: predicted vs observed"),
                      "plots/survival_calibration.png")
    handle.log_table(table, "tables/survival_calibration.csv")
    handle.log_metrics({"survival.share_mae": block["mae"], "survival.share_mae_anchored": block["mae_anchored"]})


#: Evaluation rows explained with TreeSHAP for the churn run's summary plot and drivers table (~2 ms a row for the
#: 100,000-customer demo's churn model; 1,000 rows keep the beeswarm readable and the mean |SHAP| ranking stable, at
#: half the cost of 2,000: ~3 of a training run's CPU s beyond its fits, issue 14).
SHAP_SAMPLE = 1000


def _log_shap(handle, model, rows: pd.DataFrame, seed: int, sample: int = SHAP_SAMPLE) -> int:
    """The SHAP summary (beeswarm) and the global drivers of the churn model on a seeded sample of the evaluation
    rows: ``shap/summary.png``, ``shap/drivers.png`` and ``shap/drivers.csv`` (mean |SHAP| and mean SHAP per
    feature, log-odds). ``model``: the registered candidate (a baseline explains through the learned model, as it
    does in scoring). Returns the number of rows explained."""
    from loyalist.explain import drivers_bar_figure, explain, global_drivers, summary_figure, with_model_features

    rows = rows.reset_index(drop=True)
    if len(rows) > sample:
        picked = np.sort(np.random.default_rng(seed).choice(len(rows), size=sample, replace=False))
        rows = rows.iloc[picked].reset_index(drop=True)
    if rows.empty:
        return 0
    contribs = explain(model, rows)
    drivers = global_drivers(contribs)
    handle.log_figure(summary_figure(contribs, with_model_features(model, rows), seed=seed), "shap/summary.png")
    handle.log_figure(drivers_bar_figure(drivers), "shap/drivers.png")
    handle.log_table(drivers, "shap/drivers.csv")
    handle.log_metrics({"shap.rows_explained": len(rows)})
    return len(rows)


def _train_one(
    kind: Kind, config: LoyalistConfig, tables: Mapping[str, pd.DataFrame], reporter: Reporter,
    params: dict | None, tags: Mapping[str, str] | None, as_of=None, snapshots=None,
    fingerprints: Mapping[str, str] | None = None,
) -> TrainedModel:
    trainer, name = (
        (train_churn, config.tracking.churn_model_name) if kind == "churn"
        else (train_value, config.tracking.value_model_name)
    )
    metric = config.training.promotion_metric if kind == "churn" else config.training.value_promotion_metric
    key = _train_key(kind, config, table_fingerprints(tables) if fingerprints is None else fingerprints, as_of,
                     params)
    existing = find_version(name, TRAIN_KEY_TAG, key)
    if existing is not None:
        champion = get_version(name, CHAMPION)
        reason = (f"version {existing.version} was trained on the same data fingerprint and config (key {key}), "
                  "so no new version is registered.")
        reporter.say(f"{name}: {reason}")
        decision = PromotionDecision(False, reason, name, existing.version,
                                     champion.version if champion else None, float("nan"), None)
        return TrainedModel(kind, None, name, existing.version, existing.run_id, decision, "",
                            existing.tags.get("loyalist.candidate", "loyalist"))
    horizon = config.features.churn_horizon_days if kind == "churn" else config.features.value_horizon_days
    plan, _ = plan_with_fallback(tables, config, horizon)  # only to count the cut-offs for the progress bar
    n_cutoffs = len(plan.train) + (0 if plan.anchored else 1)
    with reporter.bar(f"Train the {kind} model: snapshot at each cut-off, then fit and validate out of time",
                      n_cutoffs, "cut-offs") as advance:
        result = trainer(tables, config, params=params, snapshots=snapshots,
                         progress=lambda message: advance(1, message.removeprefix("snapshot ")))
    for note in result.notes:
        reporter.say(f"[yellow]Note:[/yellow] {note}")
    model = result.model
    verdict = judge_against_baselines(kind, result.metrics, margin=config.training.promotion_margin)
    if verdict.learned_wins:
        candidate, candidate_name = model, "loyalist"
        m = _metric_row(result, "loyalist")
    else:
        candidate = _baseline_candidate(kind, verdict, result, config, tables, snapshots)
        candidate_name = verdict.baseline + (f"@{verdict.level_from}_level" if verdict.level_from else "")
        m = _candidate_metrics(kind, candidate, result)
    # The baseline bar is for the learned model. A baseline candidate was already chosen as the best baseline; its
    # frozen fit (on the training cut-offs) can score a hair below the same baseline refitted on the validation rows,
    # and holding it to that bar left no champion at all on a fresh store.
    bar = (_metric_row(result, verdict.baseline).get(metric)
           if verdict.baseline and candidate_name == "loyalist" else None)
    btyd_params = {}
    if model.use_btyd:
        assert model.btyd_ is not None  # fit gives every use_btyd model its frozen featurizer
        btyd_params = {f"btyd.{k}": v for k, v in model.btyd_.params().items()}
    survival = None
    if kind == "churn" and model.use_btyd:
        try:
            survival = _survival_calibration(tables, result)
        except (ModelError, InsufficientHistoryError) as exc:  # BG/NBD not identifiable here: say so, train on
            reporter.say(f"[yellow]Note:[/yellow] no survival calibration plot: {exc}")
        if survival is not None:
            # carried by the registered model, so the scoring job's summary and the report can show it
            candidate.survival_calibration_ = survival
    with reporter.step(f"Log the {kind} run to MLflow and register {name}"), \
            run(f"train-{kind}", tags={**config_tags(config), **(tags or {})}) as h:
        h.log_config(config_to_dict(config))
        h.log_params({
            "kind": kind, "horizon_days": model.horizon_days, "train_horizon_days": result.plan.horizon_days,
            "offset": model.offset, "best_iteration": model.best_iteration_, "train_rows": result.train_rows,
            "valid_rows": result.valid_rows, "n_features": len(model.spec_.columns), "candidate": candidate_name,
            "as_of": "" if as_of is None else str(pd.Timestamp(as_of).date()), "evaluation": result.evaluation,
            **{f"plan.{k}": v for k, v in result.plan.as_dict().items()},
            **{f"lgbm.{k}": v for k, v in model._lgbm_params().items()},
            **({"calibration": model.calibration_method_, "active_days": config.features.active_days}
               if kind == "churn" else {}),
            **btyd_params,
        })
        fp = h.log_dataset(result.train_snapshot,
                           f"{kind}_training_snapshot", "training")
        h.log_dataset(result.eval_snapshot,
                      f"{kind}_evaluation_snapshot", "evaluation")
        for row in result.metrics.itertuples(index=False):
            d = row._asdict()
            h.log_metrics({k: v for k, v in d.items() if k != "scorer"}, prefix=f"{d['scorer']}.")
        h.log_metrics(m, prefix="oot.")
        h.log_table(result.metrics, "tables/metrics_vs_baselines.csv")
        if result.active_metrics is not None:
            for row in result.active_metrics.itertuples(index=False):
                d = row._asdict()
                h.log_metrics({k: v for k, v in d.items() if k not in ("scorer", "active_days")},
                              prefix=f"active.{d['scorer']}.")
            h.log_table(result.active_metrics, "tables/active_customers_vs_baselines.csv")
        h.log_table(model.feature_importance(), "tables/feature_importance.csv")
        h.log_dict(result.plan.as_dict(), "cutoffs.json")
        # the level rule's method and warning (months of the horizon no training label covered), on the run and the
        # version: the scoring job and the report repeat it
        level_tags = _level_tags(candidate, model)
        h.set_tags({"selection.candidate": candidate_name, "selection.reason": verdict.reason, **level_tags})
        _log_plots(h, result)
        if survival is not None:
            _log_survival_calibration(h, survival)
        explained = (_log_shap(h, candidate, result.eval_snapshot, seed=config.training.random_state)
                     if kind == "churn" else 0)
        info = log_model(
            h, candidate, registered_name=name,
            input_example=result.eval_snapshot[candidate.feature_names_].head(20),
            tags={f"metric.{k}": f"{v:.6f}" for k, v in m.items()} | {
                "valid_cutoff": str(result.plan.valid.date()), "horizon_days": str(model.horizon_days),
                "train_horizon_days": str(result.plan.horizon_days), "loyalist.kind": kind,
                # the newest day of the events the model learned from (labels, calibration, level, BG/NBD): a
                # list scored at an earlier as-of says so (loyalist.jobs.score)
                EVENTS_UNTIL_TAG: str(pd.Timestamp(result.plan.data_end).date()),
                "loyalist.candidate": candidate_name, TRAIN_KEY_TAG: key, "selection.reason": verdict.reason,
                "loyalist.config_hash": config_tags(config)["loyalist.config_hash"], **level_tags,
            },
        )
        with store_lock():  # concurrent jobs: the champion scored here is the one the gate compares against
            unfair = _champion_seen_later(name, result)
            champion_score = None if unfair else _champion_score(name, result, metric)
            decision = gate(
                name, info.version, challenger_score=m.get(metric), champion_score=champion_score,
                margin=config.training.promotion_margin, higher_is_better=higher_is_better(kind, metric),
                metric=metric,
                baseline_score=bar, baseline_name=f"the {verdict.baseline} baseline", champion_note=unfair,
            )
        h.set_tags({"gate.promoted": decision.promoted, "gate.reason": decision.reason})
        what = ("the learned LightGBM model" if candidate_name == "loyalist"
                else f"the {candidate_name} baseline (the learned model lost to it)")
        figures = candidate_sentence(candidate_name, verdict.baseline, metric, m.get(metric),
                                     _metric_row(result, verdict.baseline).get(metric) if verdict.baseline else None)
        card = model_card(
            name=name, version=info.version, kind=kind, plan=result.plan.as_dict(), metrics=result.metrics,
            features=list(model.feature_names_), importance=model.feature_importance(),
            params={"horizon_days": model.horizon_days, "train_horizon_days": result.plan.horizon_days,
                    "best_iteration": model.best_iteration_, "offset": model.offset},
            data={"training rows": f"{result.train_rows:,}", "training data hash": fp.get("sha256", ""),
                  "trained on events up to": "all" if as_of is None else str(pd.Timestamp(as_of).date())},
            notes=[f"This version is {what}: {verdict.reason}", *([figures] if figures else []),
                   f"Metrics: {result.evaluation}.",
                   *([active] if (active := active_sentence(result)) else []), *result.notes],
            calibration=getattr(model, "calibration_method_", None), evaluation=result.evaluation,
            candidate=candidate_name,
            gate={"promoted": decision.promoted, "reason": decision.reason, "metric": metric,
                  "challenger_score": m.get(metric), "champion_score": champion_score,
                  "champion_version": decision.champion_version},
        )
        h.log_text(card, "MODEL_CARD.md")
        # The version's page in the MLflow UI shows the card (cut to MLflow's 5,000 characters if need be).
        set_version_description(name, info.version, card,
                                rest=f"the full card is the artifact MODEL_CARD.md of run {h.run_id}")
        h.set_description(_train_description(kind, name, info.version, what, result, m, metric, verdict, decision,
                                             as_of)
                          + (f" SHAP summary and drivers of {explained:,} evaluation rows: shap/." if explained else ""))
    _print_metrics(reporter, kind, result, decision, info.version, name, verdict, figures)
    return TrainedModel(kind, result, name, info.version, info.run_id, decision, card, candidate_name)


def _level_tags(candidate, learned) -> dict[str, str]:
    """MLflow tags of the level rule (:func:`loyalist.modeling.supervised.level.level_tags`) of the registered
    candidate (a baseline candidate: its explainer's, the learned model's)."""
    from loyalist.modeling.supervised.level import level_tags

    level = getattr(candidate, "level_", None) or getattr(getattr(candidate, "explainer", None), "level_", None)
    return level_tags(level if level is not None else getattr(learned, "level_", None))


def active_sentence(result: TrainingResult) -> str:
    """One sentence on churn among the customers still active at the cut-off (issue 11 §4): the learned model's ROC
    AUC beside each baseline's on those evaluation rows; "" without them."""
    table = result.active_metrics
    if table is None or table.empty:
        return ""
    aucs = ", ".join(f"{r.scorer} {r.roc_auc:.3f}" for r in table.itertuples(index=False) if pd.notna(r.roc_auc))
    first = table.iloc[0]
    days = int(first["active_days"]) if "active_days" in table.columns else ACTIVE_DAYS
    return (f"Active customers (a completed order in the {days} days up to the cut-off; {int(first['n']):,} "
            f"evaluation rows, churn rate {float(first['base_rate']):.3f}), ROC AUC: {aucs}.")


def _train_description(kind: str, name: str, version: int, what: str, result: TrainingResult, m: Mapping,
                       metric: str, verdict: Verdict, decision: PromotionDecision, as_of) -> str:
    """What a training run did, in plain words with its key figures (the run's description in MLflow)."""
    plan = result.plan
    cutoffs = plan.train
    span = (f"{cutoffs[0].date()} to {cutoffs[-1].date()}" if len(cutoffs) > 1
            else f"{cutoffs[0].date()}" if cutoffs else "none")
    target = (f"the probability of no completed order in the next {result.model.horizon_days} days" if kind == "churn"
              else f"each customer's revenue in the next {result.model.horizon_days} days")
    score = m.get(metric)
    baseline = (f" (best baseline {verdict.baseline} {verdict.baseline_score:.3f})"
                if verdict.baseline and pd.notna(verdict.baseline_score) else "")
    return (
        f"Trained the {kind} model ({target}) on {result.train_rows:,} customer rows from {len(cutoffs)} monthly "
        f"cut-offs ({span}), events dated up to "
        + (f"{pd.Timestamp(as_of).date()}" if as_of is not None else f"{plan.data_end.date()} (all data)")
        + f". Evaluated {result.evaluation}: {metric} "
        + ("n/a" if score is None else f"{score:.3f}") + f"{baseline}. "
        f"{verdict.reason[:1].upper()}{verdict.reason[1:]} "
        f"Registered {name} version {version}, {what}. "
        f"Gate: {'promoted to champion' if decision.promoted else 'not promoted'}; {decision.reason} "
        "The model card is the version's description and the artifact MODEL_CARD.md."
    )


def _print_metrics(reporter: Reporter, kind: Kind, result: TrainingResult, decision, version: int, name: str,
                   verdict: Verdict, figures: str = "") -> None:
    cols = [c for c in SUMMARY_METRICS[kind] if c in result.metrics.columns]
    reporter.table(
        f"{kind} model {result.evaluation}, beside the baselines", ["scorer", *cols],
        [[r["scorer"], *[("" if pd.isna(r[c]) else float(r[c])) for c in cols]] for _, r in result.metrics.iterrows()],
    )
    gate_reason = decision.reason[0].upper() + decision.reason[1:]
    if kind == "churn" and (active := active_sentence(result)):
        reporter.say(active)
    reporter.say(f"{name} version {version}: {verdict.reason[0].upper()}{verdict.reason[1:]} {gate_reason}"
                 + (f" {figures}" if figures else ""))


def run_training(
    config: LoyalistConfig,
    tables: Mapping[str, pd.DataFrame],
    *,
    workdir: Path = Path("."),
    env: Mapping[str, str] | None = None,
    reporter: Reporter | None = None,
    kinds: tuple[str, ...] = ("churn", "value"),
    params: dict | None = None,
    tags: Mapping[str, str] | None = None,
    tune_trials: int = 0,
    as_of=None,
    snapshots=None,
    sequence: ParquetTable | None = None,
) -> dict[str, TrainedModel]:
    """Train, register and gate each kind. ``as_of``: train from events dated <= that day only (end of day); the
    newest label windows then end on it. ``snapshots``: builds the labelled training snapshots on another engine
    (``train --engine spark``: ``loyalist.engines.spark.spark_labelled_snapshot``); DuckDB when None.
    ``sequence``: the clean orders file ``tables['orders']`` was read from (``read_clean``); when ``loyalist
    prepare`` sequenced it, the snapshots read each order's previous and first order from it instead of computing
    them (:class:`~loyalist.features.snapshot.SnapshotPass`)."""
    reporter = reporter or Reporter(quiet=True)
    uri = start_tracking(config, workdir, env)
    reporter.say(f"MLflow store: {uri}")
    if as_of is not None:
        as_of = resolve_as_of(tables, as_of)
        tables = events_until(tables, as_of)
        reporter.say(f"Training on events dated up to {as_of.date()} only.")
    out: dict[str, TrainedModel] = {}
    fingerprints = table_fingerprints(tables)  # once per run: every model's retraining key reads them
    # one preparation of the tables for every labelled snapshot of the run (both models, ~20 cut-offs)
    if snapshots is None:
        snapshots = LabelledSnapshots(tables, sequence=sequence)
        _announce(snapshots, kinds, config, tables)
    for name in kinds:
        kind = cast(Kind, name)  # the callers pass "churn" and/or "value" (the CLI's choices)
        kind_params = dict(params or {})
        if tune_trials > 0:
            kind_params.update(_tune(kind, config, tables, tune_trials, reporter, snapshots))
        out[kind] = _train_one(kind, config, tables, reporter, kind_params, tags, as_of, snapshots, fingerprints)
    return out


def _announce(snapshots: LabelledSnapshots, kinds: tuple[str, ...], config: LoyalistConfig,
              tables: Mapping[str, pd.DataFrame]) -> None:
    """Tell the run's snapshots which cut-offs each model will ask for, so that a cut-off two models share (the
    value model's validation cut-off is one of the churn model's training cut-offs by default) is built once. A
    model that does not train after all (its version exists) leaves at most those shared snapshots held until the
    run ends."""
    for name in kinds:
        horizon = config.features.churn_horizon_days if name == "churn" else config.features.value_horizon_days
        try:
            plan, _ = plan_with_fallback(tables, config, horizon)
        except InsufficientHistoryError:
            continue  # the model's own training says so, in its own words
        snapshots.expect(*snapshot_requests(plan, config))


def _tune(kind: Kind, config: LoyalistConfig, tables, n_trials: int, reporter: Reporter, snapshots=None) -> dict:
    """LightGBM hyper-parameters searched by Optuna on an inner time split of the training cut-offs; every trial
    is a nested MLflow run. ``snapshots``: the training job's snapshot builder (Spark with ``--engine spark``)."""
    from loyalist.modeling.supervised.hpo import tune_lgbm_for

    with reporter.step(f"Tune the {kind} model's LightGBM parameters ({n_trials} Optuna trials)"), \
            run(f"tune-{kind}") as parent:
        def log_trial(trial) -> None:
            with run(f"tune-{kind}-trial-{trial.number}", nested=True) as child:
                child.log_params(trial.params)
                if trial.value is not None:
                    child.log_metrics({"objective": trial.value})
                child.set_description(
                    f"Optuna trial {trial.number + 1} of {n_trials} for the {kind} model's LightGBM parameters: "
                    + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in trial.params.items())
                    + (f"; objective {trial.value:.4f} on the inner time split." if trial.value is not None
                       else "; no objective (the trial failed or was pruned)."))

        best = tune_lgbm_for(kind, tables, config, n_trials=n_trials, on_trial=log_trial, builder=snapshots)
        parent.log_params({f"best.{k}": v for k, v in best.items()})
        parent.set_description(
            f"Searched the {kind} model's LightGBM parameters with {n_trials} Optuna trials (nested runs), each "
            "trained on the earlier training cut-offs and scored on a later one (an inner time split). Best: "
            + (", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in best.items()) or "none")
            + f". The train-{kind} run that follows uses them.")
    reporter.say(f"Best {kind} parameters: {best}")
    return best
