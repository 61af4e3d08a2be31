"""Job: tune the rule score's indicator weights against observed churn (``loyalist tune-weights``).

plan cut-offs as training does -> stacked labelled snapshots at the training cut-offs + the validation snapshot ->
:func:`loyalist.scoring.tuning.tune_weights` -> ``<out_dir>/tuned_weights.yaml`` (the overlay, with a header
giving the before/after figures), one ``tuned_weights_<industry>.yaml`` per industry tuned on its own and
``<out_dir>/tuned_weights_report.csv`` (before/after per scope), written atomically -> one MLflow run
``tune-weights`` with every Optuna trial as a nested run -> the before/after table on the terminal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import yaml

from loyalist.config import config_to_dict
from loyalist.config.models import TIERS, LoyalistConfig
from loyalist.io import output_set, write_csv, write_text
from loyalist.jobs._common import config_tags, start_tracking
from loyalist.jobs._ui import Reporter, tier_text
from loyalist.modeling.supervised.dataset import CutoffPlan, labelled_snapshot, stack_snapshots
from loyalist.modeling.supervised.training import plan_with_fallback
from loyalist.scoring.tuning import WeightTuningResult, eligible_industries, tune_weights
from loyalist.tracking import RunHandle
from loyalist.tracking import run as mlflow_run

__all__ = ["run", "overlay_text", "overlay_filename"]

def overlay_filename(scope: str) -> str:
    """``tuned_weights.yaml`` for the global scope, ``tuned_weights_<industry>.yaml`` (safe characters) else."""
    if scope == "global":
        return "tuned_weights.yaml"
    safe = re.sub(r"[^\w.-]+", "_", scope.strip()).strip("._") or "unnamed"
    return f"tuned_weights_{safe}.yaml"


def overlay_text(
    result: WeightTuningResult, plan: CutoffPlan, *, n_trials: int, seed: int, filename: str | None = None
) -> str:
    """The overlay as YAML with a comment header: scope, cut-offs, before/after AUC, tier shares, how to use it."""
    b, a = result.before.iloc[0], result.after.iloc[0]

    def shares(row: pd.Series) -> str:
        return " / ".join(f"{row[f'share_{t}']:.0%}" for t in TIERS)

    scope = "all customers" if result.scope == "global" else f"industry {result.scope!r}"
    header = [
        "# loyalist tune-weights: rule-score weights tuned against observed churn "
        f"(Optuna TPE, {n_trials} trials per study, seed {seed}).",
        f"# Scope: {scope}, {result.n_train_customers:,} customers in the training rows.",
        f"# Training cut-offs: {plan.train[0].date()} .. {plan.train[-1].date()} ({len(plan.train)}); "
        f"validation cut-off (out of time): {plan.valid.date()}; churn horizon {plan.horizon_days} days.",
        f"# ROC AUC of the score against churn, validation cut-off: before {b.roc_auc:.4f} -> after {a.roc_auc:.4f}"
        f" (training cut-offs: {b.train_roc_auc:.4f} -> {a.train_roc_auc:.4f}).",
        f"# Tier shares devoted / stable / at risk / high risk (validation): before {shares(b)} -> after {shares(a)}.",
        "# Churn rate falls from high risk to devoted: before "
        f"{'yes' if b.monotone else 'NO'}, after {'yes' if a.monotone else 'NO'}.",
        f"# Active customers (an order in the last {result.active_days} days), validation: score ROC AUC "
        f"{b.active_roc_auc:.4f} -> {a.active_roc_auc:.4f}, tier ROC AUC {b.active_tier_auc:.4f} -> {a.active_tier_auc:.4f}.",
        f"# Tiers set by a guard rule (tuning never changes the guards): {a.guard_share:.1%} of all, "
        f"{a.guard_share_high_risk:.1%} of high risk.",
        *([f"# Not in the data (no value in any training row), so not tuned and kept at the configured share: "
           f"{', '.join(result.absent)}; the other weights share the rest."] if result.absent else []),
        *(f"# DO NOT ADOPT AS IS: {w}." for w in result.warnings),
        "# Use: add this file last when preparing, e.g. loyalist prepare --config <your config> --config "
        f"{filename or overlay_filename(result.scope)}; every later step then uses it.",
    ]
    body = yaml.safe_dump(result.overlay(), sort_keys=False, allow_unicode=True)
    return "\n".join(header) + "\n" + body


@contextmanager
def _quiet_optuna():
    """Optuna prints a line per trial at INFO; the job shows its own progress instead."""
    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(previous)


def _trial_logger(advance):
    """An ``on_trial`` callback: one nested MLflow run per trial, then one step of the progress bar."""

    def log_trial(trial: optuna.trial.FrozenTrial) -> None:
        a = trial.user_attrs
        scope, stage = str(a.get("scope", "global")), str(a.get("stage", "weights"))
        params: dict[str, Any] = {f"weight.{k}": round(v, 6) for k, v in a.get("weights", {}).items()}
        params.update({f"cap.{k}": round(v, 6) for k, v in a.get("caps", {}).items()})
        params.update({f"tiers.{k}": v for k, v in a.get("thresholds", {}).items()})
        with mlflow_run(f"trial-{scope}-{stage}-{trial.number}", nested=True,
                        tags={"scope": scope, "stage": stage, "trial": trial.number}) as h:
            h.log_params(params)
            if stage == "weights":  # objective = the training AUC of the score
                h.log_metrics({"train_auc": a.get("roc_auc")})
            else:  # objective = training AUC of the tiers - tier-share penalty
                h.log_metrics({"train_tier_auc": a.get("roc_auc"), "penalty": a.get("penalty"),
                               "objective": trial.value})
        advance()

    return log_trial


def _log_results(h: RunHandle, result: WeightTuningResult, files: list[Path]) -> None:
    for res in [result, *result.per_industry.values()]:
        # MLflow metric names allow letters, digits and "_-. /:" only
        prefix = "" if res.scope == "global" else re.sub(r"[^\w.\- /:]+", "_", res.scope) + "."
        for name, table in (("before", res.before), ("after", res.after)):
            row = table.iloc[0]
            h.log_metrics({k: float(v) for k, v in row.items() if pd.notna(v)}, prefix=f"{prefix}{name}.")
    h.log_params({f"tuned.weight.{k}": v for k, v in result.weights.items()}
                 | {f"tuned.cap.{k}": v for k, v in result.caps.items()}
                 | ({f"tuned.tiers.{k}": v for k, v in result.thresholds.model_dump().items()}
                    if result.thresholds is not None else {})
                 | {"tuned.industries": sorted(result.per_industry)})
    for path in files:
        h.log_artifact(path, "tuning")
    trials = pd.concat([result.trials, *(r.trials for r in result.per_industry.values())], ignore_index=True)
    h.log_table(trials, "tuning/trials.csv")


def _print(reporter: Reporter, result: WeightTuningResult, config: LoyalistConfig, plan: CutoffPlan) -> None:
    b, a = result.before.iloc[0], result.after.iloc[0]
    rows: list[list[Any]] = [
        ["ROC AUC (validation)", float(b.roc_auc), float(a.roc_auc)],
        ["ROC AUC (training cut-offs)", float(b.train_roc_auc), float(a.train_roc_auc)],
        ["tier ROC AUC (validation)", float(b.tier_auc), float(a.tier_auc)],
        [f"ROC AUC, active customers ({int(a.n_active):,})", float(b.active_roc_auc), float(a.active_roc_auc)],
        ["tier ROC AUC, active customers", float(b.active_tier_auc), float(a.active_tier_auc)],
        ["tier set by a guard rule", f"{b.guard_share:.1%}", f"{a.guard_share:.1%}"],
        ["high risk set by a guard rule", f"{b.guard_share_high_risk:.1%}", f"{a.guard_share_high_risk:.1%}"],
    ]
    for t in TIERS:
        label = tier_text(t)
        rows.append([f"{label}: share", f"{b[f'share_{t}']:.1%}", f"{a[f'share_{t}']:.1%}"])
        rows.append([f"{label}: churn rate", f"{b[f'churn_rate_{t}']:.1%}", f"{a[f'churn_rate_{t}']:.1%}"])
    rows.append(["churn rate falls with the tier", "yes" if b.monotone else "NO", "yes" if a.monotone else "NO"])
    reporter.table(
        f"Rule score before / after tuning, out of time at {plan.valid.date()} ({int(a.n):,} customers)",
        ["metric", "before", "after"], rows,
    )
    reporter.table(
        "Indicator weights", ["indicator", "configured", "tuned"],
        [[n, f"{config.scoring.indicators[n].weight:.4f}",
          f"{w:.4f}" + (" (not in the data: kept)" if n in result.absent else "")]
         for n, w in result.weights.items()],
    )
    for scope, res in [("global", result), *result.per_industry.items()]:
        for warning in res.warnings:
            reporter.say(f"[yellow]Do not adopt as is ({scope}):[/yellow] {warning}.")
    if result.thresholds is not None:
        t0, t1 = config.scoring.tiers, result.thresholds
        reporter.say(f"Tier thresholds: devoted {t0.devoted} -> {t1.devoted}, stable {t0.stable} -> {t1.stable}, "
                     f"at risk {t0.at_risk} -> {t1.at_risk}")
    if result.per_industry:
        reporter.table(
            "Per industry (validation ROC AUC)", ["industry", "customers (training)", "before", "after", "monotone"],
            [[name, r.n_train_customers, float(r.before.roc_auc.iloc[0]), float(r.after.roc_auc.iloc[0]),
              "yes" if bool(r.after.monotone.iloc[0]) else "NO"] for name, r in result.per_industry.items()],
        )


def run(
    config: LoyalistConfig,
    tables: Mapping[str, pd.DataFrame],
    *,
    workdir: Path = Path("."),
    env: Mapping[str, str] | None = None,
    reporter: Reporter | None = None,
    n_trials: int = 100,
    tune_caps: bool = False,
    tune_thresholds: bool = False,
    out_dir: Path = Path("outputs"),
    by_industry: bool = True,
    min_customers: int = 500,
) -> WeightTuningResult:
    """Tune the weights on the training cut-offs, report them out of time, write the overlays, log to MLflow.

    ``tables`` are the clean canonical tables (``orders`` at least). Seeded by ``config.training.random_state``.
    Writes ``<out_dir>/tuned_weights.yaml``, ``<out_dir>/tuned_weights_<industry>.yaml`` (industries with at least
    ``min_customers`` training customers) and ``<out_dir>/tuned_weights_report.csv``.
    """
    reporter = reporter or Reporter(quiet=True)
    out_dir = Path(out_dir)
    uri = start_tracking(config, workdir, env)
    reporter.say(f"MLflow store: {uri}")
    plan, _ = plan_with_fallback(tables, config, config.features.churn_horizon_days)
    for note in plan.notes:
        reporter.say(f"[yellow]Note:[/yellow] {note}")
    features = config.features.model_copy(update={"churn_horizon_days": plan.horizon_days})
    with reporter.bar("Labelled snapshots at the cut-offs", len(plan.train) + 1) as advance:
        train = stack_snapshots(tables, plan.train, features, on_cutoff=lambda t: advance())
        valid = labelled_snapshot(tables, plan.valid, features)
        advance()
    seed = config.training.random_state
    with mlflow_run("tune-weights", tags={"loyalist.job": "tune-weights", **config_tags(config)}) as h:
        h.log_config(config_to_dict(config))
        h.log_params({
            "n_trials": n_trials, "tune_caps": tune_caps, "tune_thresholds": tune_thresholds, "seed": seed,
            "by_industry": by_industry, "min_customers": min_customers, "train_rows": len(train),
            "valid_rows": len(valid), **{f"plan.{k}": v for k, v in plan.as_dict().items()},
        })
        h.log_dataset(train, "tuning_training_snapshot", "training")
        h.log_dataset(valid, "tuning_validation_snapshot", "validation")
        scopes = 1 + (len(eligible_industries(train, min_customers)) if by_industry else 0)
        total = n_trials * (2 if tune_thresholds else 1) * scopes
        with reporter.bar(f"Tune the indicator weights ({scopes} scope(s), {n_trials} trials per study)",
                          total) as advance, _quiet_optuna():
            result = tune_weights(
                train, valid, config.scoring, n_trials=n_trials, tune_caps=tune_caps,
                tune_thresholds=tune_thresholds, seed=seed, by_industry=by_industry, min_customers=min_customers,
                on_trial=_trial_logger(advance), active_days=config.features.active_days,
            )
        names: list[str] = []
        # one output set: a rerun replaces the overlays and the report as a whole (an industry the new run does not
        # tune loses its old overlay; a killed run leaves the previous set as it was)
        with output_set(out_dir, "tuned_weights", valid_cutoff=str(plan.valid.date())) as files:
            for res in [result, *result.per_industry.values()]:
                name = overlay_filename(res.scope)
                if name in names:  # two industries with the same safe name
                    name = name.removesuffix(".yaml") + f"_{len(names)}.yaml"
                names.append(name)
                write_text(overlay_text(res, plan, n_trials=n_trials, seed=seed, filename=name), files.path(name))
            report = result.comparison().assign(valid_cutoff=str(plan.valid.date()))
            write_csv(report, files.path("tuned_weights_report.csv"))
        overlays = [files.target(name) for name in names]
        report_path = files.target("tuned_weights_report.csv")
        _log_results(h, result, [*overlays, report_path])
    _print(reporter, result, config, plan)
    reporter.say(f"Overlay: {overlays[0]} (per industry: {', '.join(p.name for p in overlays[1:]) or 'none'}); "
                 f"report: {report_path}")
    return result
