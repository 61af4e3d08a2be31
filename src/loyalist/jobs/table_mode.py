"""Jobs of customer-table mode (``customer_table.churn`` set): prepare, train and score on one customer table.

The CLI's prepare / train / score commands call these when the resolved config is in that mode; they wire the
library (:mod:`loyalist.tabular`) to files, the terminal and MLflow, like the other jobs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from loyalist.batch.outputs import pseudonym_key
from loyalist.config.models import LoyalistConfig
from loyalist.config.resolved import RESOLVED_FILE, config_hash, resolved_text
from loyalist.data.clean import CleanResult
from loyalist.data.prepare import protect_clean, write_clean
from loyalist.jobs._ui import Reporter
from loyalist.jobs.prepare import time_zone_note
from loyalist.tabular import TYPES_FILE, prepare_customer_table

__all__ = ["is_table_mode", "run_prepare", "run_report", "run_score", "run_train"]


def is_table_mode(config: LoyalistConfig) -> bool:
    """True when the config is in customer-table mode (``customer_table.churn`` names a column)."""
    return config.customer_table.churn is not None


def _types_yaml(types: pd.DataFrame) -> str:
    lines = ["# The column types loyalist inferred; copy the lines to change into your config and edit them:",
             "customer_table:", "  types:"]
    for r in types.itertuples():
        lines.append(f"    {r.column!r}: {r.type}   # {r.why}")
    return "\n".join(lines) + "\n"


def run_prepare(
    config: LoyalistConfig, out_dir: Path, reporter: Reporter | None = None, run_date: pd.Timestamp | None = None,
    env: Mapping[str, str] | None = None, layers: Sequence[str] = (),
) -> CleanResult:
    """Customer-table mode of ``loyalist prepare``: the customers table cleaned and typed into ``out_dir`` with its
    rejects, summary, resolved config and column types (``column_types.csv`` and ``column_types.yaml``, the
    override block to copy)."""
    import os

    reporter = reporter or Reporter(quiet=True)
    run_date = pd.Timestamp.now().normalize() if run_date is None else pd.Timestamp(run_date)
    key = pseudonym_key(config.privacy, dict(os.environ) if env is None else env)
    with reporter.step("Load, clean and type the customer table"):
        prepared = prepare_customer_table(config.data, config.customer_table, run_date=run_date)
        result = protect_clean(prepared.result, config.privacy, key, config.data.cleaning)
    with reporter.step(f"Write the clean customer table and rejects to {out_dir}"):
        extra = {RESOLVED_FILE: resolved_text(config, layers),
                 TYPES_FILE: prepared.types.to_csv(index=False),
                 "column_types.yaml": _types_yaml(prepared.types)}
        write_clean(result, Path(out_dir), extra=extra)
    reporter.say(f"Customer-table mode (churn flag {config.customer_table.churn!r}); resolved config hash "
                 f"{config_hash(config)[:12]}: {Path(out_dir) / RESOLVED_FILE}.")
    s = result.summary
    reporter.table("Rows (in = kept + rejected)", ["table", "rows in", "kept", "rejected", "changed"],
                   [[r.table, int(r.rows_in), int(r.rows_kept), int(r.rows_rejected), int(r.rows_changed)]
                    for r in s.itertuples()])
    t = prepared.types
    reporter.table("Column types (override with customer_table.types; see column_types.yaml)",
                   ["column", "type", "how", "distinct", "missing"],
                   [[r.column, r.type, r.how, int(r.distinct), f"{r.missing_share:.1%}"] for r in t.itertuples()])
    time_zone_note(result, config, reporter)
    churn = result.tables["customers"]["churn"]
    reporter.say(f"Churn flag: {int(churn.sum())} churned, {int((~churn).sum())} stayed, {int(churn.isna().sum())} "
                 "without a flag (scored, not trained on).")
    if len(result.rejects):
        counts = result.rejects.groupby(["rule", "action"]).size().sort_values(ascending=False)
        reporter.table("Rejects and changes by rule", ["rule", "action", "rows"],
                       [[r, a, int(n)] for (r, a), n in counts.head(10).items()])
    return result


# ------------------------------------------------------------------------------------------------ train

#: Version tag: hash of (the clean table's fingerprint, the resolved config); the same key registers nothing new.
TRAIN_KEY_TAG = "loyalist.train_key"


def _snapshot(config: LoyalistConfig, run_date: pd.Timestamp | None) -> pd.Timestamp:
    day = config.customer_table.snapshot_date
    if day is not None:
        return pd.Timestamp(day)
    return pd.Timestamp.now().normalize() if run_date is None else pd.Timestamp(run_date).normalize()


def run_train(
    config: LoyalistConfig, clean_dir: Path, *, workdir: Path, env: Mapping[str, str] | None = None,
    reporter: Reporter | None = None, run_date: pd.Timestamp | None = None,
):
    """Customer-table mode of ``loyalist train``: leakage alarm, k-fold CV of LightGBM beside the baselines, the
    candidate fitted on every labelled customer, logged and registered under ``tracking.churn_model_name``, and
    promoted by the gate (never below the best baseline). Returns the gate's decision."""
    import hashlib

    from loyalist.compute import lgbm_threads
    from loyalist.config.load import config_to_dict
    from loyalist.jobs._common import config_tags, start_tracking
    from loyalist.tabular import read_customer_table
    from loyalist.tabular.card import table_model_card, table_train_description
    from loyalist.tabular.models import TableChurnModel
    from loyalist.tabular.report import survival_figure
    from loyalist.tabular.survival import TableSurvival
    from loyalist.tabular.train import train_table, train_table_survival
    from loyalist.tracking import (
        CHAMPION,
        PromotionDecision,
        data_fingerprint,
        find_version,
        gate,
        get_version,
        log_model,
        run,
        set_version_description,
        store_lock,
    )

    reporter = reporter or Reporter(quiet=True)
    table, types = read_customer_table(clean_dir)
    start_tracking(config, Path(workdir), env)
    name = config.tracking.churn_model_name
    fp = data_fingerprint(table)
    key = hashlib.sha256(f"table|{fp['sha256']}|{config_hash(config)}".encode()).hexdigest()[:16]
    existing = find_version(name, TRAIN_KEY_TAG, key)
    if existing is not None:
        champion = get_version(name, CHAMPION)
        reason = (f"version {existing.version} was trained on the same data fingerprint and config (key {key}), "
                  "so no new version is registered.")
        reporter.say(f"{name}: {reason}")
        return PromotionDecision(False, reason, name, existing.version, champion.version if champion else None,
                                 float("nan"), None)
    ct = config.customer_table
    with reporter.bar(f"Cross-validate LightGBM beside the baselines ({ct.folds} stratified folds, the same for "
                      "every model)", ct.folds, "folds") as advance:
        result = train_table(table, types, ct, seed=config.training.random_state,
                             lgbm_params=config.training.lgbm_params or None, snapshot=_snapshot(config, run_date),
                             n_jobs=lgbm_threads(config.compute.lgbm_threads),
                             progress=lambda message: advance(1, message))
    for note in result.notes:
        reporter.say(f"[yellow]{note}[/yellow]")
    survival, survival_note = None, "Time to churn is off (customer_table.survival: false)."
    if ct.survival:
        with reporter.bar(f"Cross-validate the time-to-churn models (LightGBM hazard, Cox, Kaplan-Meier; {ct.folds} "
                          "folds)", ct.folds, "folds") as advance:
            survival, survival_note = train_table_survival(
                table, result.kinds, ct, seed=config.training.random_state, snapshot=_snapshot(config, run_date),
                progress=lambda message: advance(1, message))
        reporter.say(survival_note)
    if survival is not None:
        sv = survival.cv.summary
        reporter.table(f"Time-to-churn models, {ct.folds}-fold cross-validation on {survival.rows:,} customers "
                       f"(C: higher is better; IBS months 1-{int(survival.cv.months[-1])}: lower is better)",
                       ["model", "c_index", "ibs"],
                       [[m, "" if pd.isna(sv.loc[m, "c_index_mean"]) else
                         f"{sv.loc[m, 'c_index_mean']:.3f} ± {sv.loc[m, 'c_index_std']:.3f}",
                         f"{sv.loc[m, 'ibs_mean']:.4f} ± {sv.loc[m, 'ibs_std']:.4f}"] for m in sv.index])
        # the survival model travels with the registered churn model (one version, one load)
        result.model.survival_ = TableSurvival(  # type: ignore[attr-defined]
            model=survival.model, features=survival.features, tenure_unit=ct.tenure_unit, segment=survival.segment,
            curves=survival.curves, cap_months=ct.max_remaining_months, candidate=survival.candidate)
    s = result.cv.summary
    reporter.table(
        f"Churn models, {ct.folds}-fold cross-validation on {result.n_rows:,} customers (mean ± std over the folds)",
        ["model", "roc_auc", "pr_auc", "brier", "ece", "lift_top_decile"],
        [[m, f"{s.loc[m, 'roc_auc_mean']:.3f} ± {s.loc[m, 'roc_auc_std']:.3f}",
          f"{s.loc[m, 'pr_auc_mean']:.3f}", f"{s.loc[m, 'brier_mean']:.4f}",
          f"{s.loc[m, 'ece_mean']:.3f} ± {s.loc[m, 'ece_std']:.3f}", f"{s.loc[m, 'lift_top_decile_mean']:.2f}"]
         for m in s.index])
    candidate = result.candidate
    score = result.cv.mean(candidate)
    bar = result.cv.mean(result.best_baseline) if candidate == "lightgbm" else None
    lgbm_shape = {}
    if candidate == "lightgbm":
        assert isinstance(result.model, TableChurnModel)
        lgbm_shape = {"lgbm.num_leaves": result.model.num_leaves_, "lgbm.n_trees": result.model.n_trees_,
                      "lgbm.stacked_with_spline_logistic": bool(getattr(result.model, "stacked_", False))}
    with reporter.step(f"Log the run to MLflow and register {name}"), \
            run("train-churn-table", tags=config_tags(config)) as h:
        h.log_config(config_to_dict(config))
        h.log_params({"mode": "customer_table", "candidate": candidate, "folds": ct.folds, "rows": result.n_rows,
                      "base_rate": round(result.base_rate, 6), "n_features": len(result.kinds),
                      "excluded_by_leakage_alarm": ",".join(result.leakage.loc[result.leakage["excluded"],
                                                                               "column"]) or "none",
                      **lgbm_shape})
        h.log_dataset(table, "customer_table", "training")
        for m in s.index:
            h.log_metrics({k: float(v) for k, v in s.loc[m].items()}, prefix=f"cv.{m.replace(':', '_')}.")
        h.log_metrics({f"cv.{k}": float(v) for k, v in s.loc[candidate].items()})
        h.log_table(result.cv.per_fold, "tables/cv_per_fold.csv")
        h.log_table(s.reset_index(), "tables/cv_summary.csv")
        h.log_table(result.leakage, "tables/leakage.csv")
        h.log_table(types, "tables/column_types.csv")
        h.set_tags({"selection.candidate": candidate, "selection.reason": result.reason})
        if survival is not None:
            sv = survival.cv.summary
            for m in sv.index:
                h.log_metrics({k: float(v) for k, v in sv.loc[m].items() if pd.notna(v)}, prefix=f"survival.{m}.")
            h.log_metrics({"survival.c_index": float(sv.loc[survival.candidate, "c_index_mean"]),
                           "survival.ibs": float(sv.loc[survival.candidate, "ibs_mean"])})
            h.log_params({"survival.candidate": survival.candidate, "survival.rows": survival.rows,
                          "survival.segment": survival.segment or "none",
                          "survival.excluded": ",".join(survival.excluded) or "none"})
            h.log_table(sv.reset_index(), "tables/survival_cv.csv")
            h.log_table(survival.cv.per_fold, "tables/survival_per_fold.csv")
            h.log_table(survival.cv.brier, "tables/survival_brier_by_month.csv")
            h.log_table(survival.curves, "tables/survival_curves.csv")
            h.log_figure(survival_figure(survival.curves, survival.segment), "survival/km_by_segment.png")
        h.set_tags({"survival.note": survival_note})
        info = log_model(h, result.model, registered_name=name,
                         input_example=_model_input(table.head(50), result.kinds, config, run_date),
                         tags={"loyalist.mode": "customer_table", "loyalist.candidate": candidate,
                               TRAIN_KEY_TAG: key, "metric.cv_roc_auc": f"{score:.6f}",
                               "data.sha256": fp["sha256"], "selection.reason": result.reason,
                               "loyalist.config_hash": config_hash(config)})
        with store_lock():
            champion = get_version(name, CHAMPION)
            champion_score = None
            if champion is not None and champion.tags.get("data.sha256") == fp["sha256"]:
                champion_score = float(champion.tags.get("metric.cv_roc_auc", "nan"))
            decision = gate(name, info.version, challenger_score=score, champion_score=champion_score,
                            margin=config.training.promotion_margin, metric="cv_roc_auc", baseline_score=bar,
                            baseline_name=f"the {result.best_baseline} baseline")
        h.set_tags({"gate.promoted": decision.promoted, "gate.reason": decision.reason})
        data = {"training data hash": fp["sha256"], "config hash": config_hash(config),
                "snapshot": str(_snapshot(config, run_date).date()), "churn flag": str(ct.churn),
                "tenure": f"{ct.tenure} ({ct.tenure_unit})" if ct.tenure else "not mapped"}
        card = table_model_card(name, info.version, result, decision, data=data, survival=survival,
                                survival_note=survival_note)
        h.log_text(card, "MODEL_CARD.md")
        set_version_description(name, info.version, card,
                                rest=f"the full card is the artifact MODEL_CARD.md of run {h.run_id}")
        h.set_description(table_train_description(name, info.version, result, decision, folds=ct.folds,
                                                  survival=survival, survival_note=survival_note))
    reporter.say(f"Candidate: {result.reason}")
    reporter.say(f"{name} version {info.version}: {decision.reason}")
    return decision


def _run_table(run_id: str, artifact: str) -> list[dict]:
    """A CSV table the training run logged, as records (empty when the run has none)."""
    import io

    from loyalist.tracking import read_run_text

    text = read_run_text(run_id, artifact) if run_id else None
    if not text:
        return []
    frame = pd.read_csv(io.StringIO(text))
    return json_records(frame)


def json_records(frame: pd.DataFrame) -> list[dict]:
    """Records with plain Python values (NaN -> None)."""
    return [{k: (None if isinstance(v, float) and np.isnan(v) else v.item() if hasattr(v, "item") else v)
             for k, v in row.items()} for row in frame.to_dict(orient="records")]


def run_report(
    scores: Path, list_summary: dict, *, lang: str = "both", out_dir: Path = Path("outputs/report"), top_n: int = 20,
    formats: Sequence[str] = ("html",), browser: str | None = None, reporter: Reporter | None = None,
    previous: Sequence[Path] = (),
) -> dict[str, Path]:
    """Customer-table mode of ``loyalist report`` (HTML, and PDF through Chromium): the risk list's bands, drivers, top customers and
    the model's cross-validated quality beside the baselines; with ``previous`` (earlier risk lists of the same
    table) the comparison with the latest of them by as-of date. Returns the written paths."""
    from loyalist.io import output_set, read_parquet, write_json, write_text
    from loyalist.jobs.report import parse_langs
    from loyalist.tabular.report import render_table_report, summarize_table_report

    reporter = reporter or Reporter(quiet=True)
    def read(path: Path) -> pd.DataFrame:
        return read_parquet(path) if str(path).endswith(".parquet") else pd.read_csv(path, encoding="utf-8-sig")

    risk = read(scores)
    from loyalist.report.inputs import read_scored_list

    earlier = [read_scored_list(p) for p in previous]  # a missing or unreadable file is one sentence
    for path, frame in zip(previous, earlier, strict=True):
        missing = [c for c in ("customer_id", "as_of", "risk_band", "churn_probability") if c not in frame.columns]
        if missing:
            from loyalist.errors import InputFileError

            raise InputFileError(f"The previous list '{path}' lacks the columns {missing}; give a churn_risk list "
                                 "written by 'loyalist score' in customer-table mode.")
    latest = max(earlier, key=lambda f: pd.Timestamp(f["as_of"].iloc[0]) if len(f) else pd.Timestamp.min,
                 default=None)
    summary = summarize_table_report(risk, list_summary, top_n=top_n, previous=latest)
    paths: dict[str, Path] = {}
    with output_set(Path(out_dir), "report") as files:
        write_json(summary, files.path("report_summary.json"))
        paths["summary"] = files.target("report_summary.json")
        for code in parse_langs(lang):
            html = render_table_report(summary, code)
            if "html" in formats:
                write_text(html, files.path(f"report_{code}.html"))
                paths[f"html_{code}"] = files.target(f"report_{code}.html")
            if "pdf" in formats:
                from loyalist.report.render import render_pdf

                render_pdf(html, files.path(f"report_{code}.pdf"), browser=browser)
                paths[f"pdf_{code}"] = files.target(f"report_{code}.pdf")
    reporter.table("Report files (customer-table mode)", ["output", "path"], [[k, str(v)] for k, v in paths.items()])
    return paths


def _model_input(table: pd.DataFrame, kinds: Mapping[str, str], config: LoyalistConfig,
                 run_date: pd.Timestamp | None) -> pd.DataFrame:
    from loyalist.tabular import feature_frame

    return feature_frame(table, kinds, _snapshot(config, run_date))


# ------------------------------------------------------------------------------------------------ score


def run_score(
    config: LoyalistConfig, clean_dir: Path, *, out_dir: Path, workdir: Path, env: Mapping[str, str] | None = None,
    reporter: Reporter | None = None, run_date: pd.Timestamp | None = None, include_churned: bool = False,
) -> pd.DataFrame:
    """Customer-table mode of ``loyalist score``: the champion scores the customers of the clean table who have not
    churned (flag no or empty; every row with ``include_churned``); writes ``churn_risk.parquet`` / ``.csv`` /
    ``_summary.json`` as one output set and logs a scoring run. Returns the list as written."""
    import os

    from loyalist.batch.outputs import protect
    from loyalist.io import output_set, write_csv, write_json, write_parquet
    from loyalist.jobs._common import config_tags, start_tracking
    from loyalist.tabular import build_table_risk_list, read_customer_table, top_reasons
    from loyalist.tracking import load, run

    reporter = reporter or Reporter(quiet=True)
    key = pseudonym_key(config.privacy, dict(os.environ) if env is None else env)
    table, types = read_customer_table(clean_dir)
    start_tracking(config, Path(workdir), env)
    name = config.tracking.churn_model_name
    loaded = load(name)
    if loaded.info.tags.get("loyalist.mode") != "customer_table":
        from loyalist.errors import ModelError

        raise ModelError(f"The champion of {name!r} (version {loaded.info.version}) was not trained in customer-table "
                         "mode; set tracking.churn_model_name to the model 'loyalist train' registered for this table.")
    scored = table if include_churned else table.loc[table["churn"].isna() | ~table["churn"].fillna(False).astype(bool)]
    scored = scored.reset_index(drop=True)
    if len(scored) == 0:
        from loyalist.errors import DataQualityError

        raise DataQualityError(f"No customer of '{clean_dir}' is left to score: every one has churn = yes; prepare a "
                               "table of current customers (flag no or empty) and score that.")
    kinds = {c: t for c, t in zip(types["column"], types["type"], strict=True) if c in loaded.feature_names}
    X = _model_input(scored, kinds, config, run_date)[loaded.feature_names]
    as_of = _snapshot(config, run_date)
    with reporter.step(f"Score {len(scored):,} customers with {name} version {loaded.info.version}"):
        p = loaded.score(X)
        model = loaded.model
        reasons: list[list[str | None]] = top_reasons(model.contributions(X), X) if hasattr(model, "contributions") \
            else [[None] * 3 for _ in range(len(X))]
        survival = _survival_columns(model, scored, types, config, run_date, churn_probability=np.asarray(p))
        risk = build_table_risk_list(scored, p, reasons, config.customer_table,
                                     band_cuts=config.scoring_job.risk_band_cuts, as_of=as_of, model_name=name,
                                     model_version=loaded.info.version, survival=survival)
        risk = protect(risk, config.privacy, key)
    summary = {
        "mode": "customer_table", "as_of": str(as_of.date()), "customers": len(risk),
        "model": {"name": name, "version": int(loaded.info.version),
                  "candidate": loaded.info.tags.get("loyalist.candidate"),
                  "cv_roc_auc": loaded.info.tags.get("metric.cv_roc_auc")},
        "by_band": {str(k): int(v) for k, v in risk["risk_band"].value_counts().items()},
        "value_at_risk_total": float(np.nansum(risk["value_at_risk"])) if risk["value_at_risk"].notna().any()
        else None,
        "mean_churn_probability": float(risk["churn_probability"].mean()) if len(risk) else None,
        "selection": loaded.info.tags.get("selection.reason"),
        "cv": _run_table(loaded.info.run_id, "tables/cv_summary.csv"),
        "leakage_alarms": [r for r in _run_table(loaded.info.run_id, "tables/leakage.csv")
                           if isinstance(r.get("alarm"), str) and r["alarm"]],
        "survival": _survival_summary(model, loaded.info.run_id),
    }
    with output_set(out_dir, "churn_risk", as_of=str(as_of.date())) as files:
        write_parquet(risk, files.path("churn_risk.parquet"))
        write_csv(risk, files.path("churn_risk.csv"))
        write_json(summary, files.path("churn_risk_summary.json"))
    with run("score-churn-table", tags=config_tags(config)) as h:
        h.log_params({"mode": "customer_table", "model_version": loaded.info.version, "customers": len(risk)})
        h.log_dict(summary, "churn_risk_summary.json")
        h.set_description(_score_description(name, loaded.info.version, summary, risk, Path(out_dir)))
    top = risk.head(10)
    reporter.table(f"Top customers by value at risk ({len(top)} of {len(risk):,})",
                   ["customer", "p(churn)", "band", "value at risk", "reason 1"],
                   [[r.customer_id, f"{r.churn_probability:.2f}", r.risk_band,
                     "" if pd.isna(r.value_at_risk) else f"{r.value_at_risk:,.0f}", r.reason_1 or ""]
                    for r in top.itertuples()])
    reporter.say(f"Churn-risk list: {Path(out_dir) / 'churn_risk.parquet'} (and .csv, _summary.json)")
    return risk


def _survival_columns(model: object, scored: pd.DataFrame, types: pd.DataFrame, config: LoyalistConfig,
                      run_date: pd.Timestamp | None, *, churn_probability: np.ndarray | None = None,
                      ) -> pd.DataFrame | None:
    """The time-to-churn columns of the risk list (p_active_30d/90d/180d, expected_days_to_churn, segment) from
    the survival model the champion carries, each customer's curve set to the level of ``churn_probability``
    over ``customer_table.churn_window_months`` (``TableSurvival.risk_columns``), so the list's churn
    probability, p_active_30d and the report's act-by dates tell one story; None when the champion carries no
    survival model or no tenure is mapped."""
    survival = getattr(model, "survival_", None)
    tenure = config.customer_table.tenure
    if survival is None or tenure is None or tenure not in scored.columns:
        return None
    kinds = {c: t for c, t in zip(types["column"], types["type"], strict=True) if c in survival.features}
    X = _model_input(scored, kinds, config, run_date)
    out = survival.risk_columns(X, scored[tenure], churn_probability=churn_probability,
                                window_months=config.customer_table.churn_window_months)
    if survival.segment is not None and survival.segment in scored.columns:
        seg = scored[survival.segment].astype("object")
        known = set(survival.curves["segment"].astype(str))
        text = seg.where(seg.notna(), "missing").astype(str)
        out["segment"] = pd.array(text.where(text.isin(known), "other").to_numpy(), dtype="string")
    return out.reset_index(drop=True)


def _survival_summary(model: object, run_id: str) -> dict | None:
    """The survival part of the list's summary: the curves' segment, the Kaplan-Meier curves and medians, and the
    cross-validated C / IBS of the models (None without a survival model)."""
    survival = getattr(model, "survival_", None)
    if survival is None:
        return None
    return {"segment": survival.segment, "candidate": survival.candidate,
            "curves": json_records(survival.curves), "cv": _run_table(run_id, "tables/survival_cv.csv")}


def _score_description(name: str, version: int, summary: dict, risk: pd.DataFrame, out_dir: Path) -> str:
    """What a ``score-churn-table`` run did, in plain words with its key figures."""
    bands = summary.get("by_band", {})
    top = ", ".join(f"{bands[b]:,} {b.replace('_', '-')}" for b in ("very_high", "high", "medium", "low") if b in bands)
    var = summary.get("value_at_risk_total")
    text = (f"Scored {len(risk):,} current customers of the customer table (as of {summary['as_of']}) with {name} "
            f"version {version} ({summary['model'].get('candidate')}): mean P(churn) "
            f"{summary.get('mean_churn_probability') or 0:.3f}; risk bands {top or 'none'}"
            + (f"; value at risk {var:,.0f}" if var is not None else "") + ".")
    if "expected_days_to_churn" in risk.columns:
        text += (f" Time to churn from the survival model: median P(still a customer in 90 days) "
                 f"{risk['p_active_90d'].median():.2f}, median expected days to churn "
                 f"{risk['expected_days_to_churn'].median():.0f} (capped).")
    return text + f" The list is {out_dir / 'churn_risk.parquet'} (and .csv, _summary.json)."
