"""Summarise a scored list into the report's plain data (``report_summary.json``), section by section.

The summary is a JSON-able dict; every number the report shows is in it, and every generated sentence is in it
in both languages (``{"zh": ..., "en": ...}``). :mod:`loyalist.report.render` only formats and lays it out.

Keys: ``version``, ``meta``, ``overview``, ``status``, ``segments``, ``diagnosis``, ``recommendations``,
``tracking`` (None without an earlier list), ``newly_at_risk`` (active customers whose churn risk rose since the
earlier list, :mod:`loyalist.report.summarize_newly`; None without one), ``appendix``, ``notes`` (numbers that could
not be computed, and why). The definitions of each number are in the module of its section (``summarize_status``, ...,
:mod:`loyalist.report.tracking`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

import pandas as pd
from pydantic import ValidationError

from loyalist.config.models import ActionRule, ScoringJobConfig
from loyalist.data.privacy import mask_frame
from loyalist.report.inputs import CleanInputs, prepare_list
from loyalist.report.summarize_actions import recommendations_section
from loyalist.report.summarize_appendix import appendix_section
from loyalist.report.summarize_base import Context, ReportOptions, jsonable, num
from loyalist.report.summarize_diagnosis import diagnosis_section
from loyalist.report.summarize_effect import effect_section
from loyalist.report.summarize_newly import newly_at_risk_section
from loyalist.report.summarize_segments import segments_section
from loyalist.report.summarize_status import scope_block, sources_block, status_section
from loyalist.report.summarize_uplift import uplift_section
from loyalist.report.text import SENTENCES, both, fmt_int, fmt_money, fmt_num, fmt_pct, fmt_pp, sentence
from loyalist.report.tracking import compare_periods

__all__ = ["SUMMARY_VERSION", "ReportOptions", "summarize", "resolve_actions", "tracking_section"]

SUMMARY_VERSION = 1
_DEFAULT_LOOKBACK = 365


def resolve_actions(
    actions: Sequence[ActionRule] | None, list_summary: Mapping[str, Any] | None
) -> tuple[list[ActionRule], str]:
    """The action table to use and where it came from: ``actions`` when given ("argument"), else the list
    summary's ``config.scoring_job.actions`` when it validates ("list summary"), else the defaults."""
    if actions is not None:
        return list(actions), "argument"
    job = ((list_summary or {}).get("config") or {}).get("scoring_job")
    if isinstance(job, Mapping) and job.get("actions"):
        try:
            return list(ScoringJobConfig.model_validate(dict(job)).actions), "list summary"
        except ValidationError:
            pass
    return list(ScoringJobConfig.model_validate({}).actions), "defaults"


def _lookback(options: ReportOptions, list_summary: Mapping[str, Any]) -> int:
    if options.lookback_days is not None:
        return int(options.lookback_days)
    value = ((list_summary.get("config") or {}).get("features") or {}).get("lookback_days")
    return int(value) if isinstance(value, (int, float)) and value > 0 else _DEFAULT_LOOKBACK


def _pp(x: Any) -> dict[str, str]:
    return {"zh": fmt_pp(x, "zh"), "en": fmt_pp(x, "en")}


def tracking_section(previous: pd.DataFrame, current: pd.DataFrame) -> dict[str, Any]:
    """Section 6: :func:`~loyalist.report.tracking.compare_periods` plus its sentences."""
    t = compare_periods(previous, current)
    c = t["customers"]
    sentences = [sentence("tracking_period", previous_as_of=t["previous_as_of"], current_as_of=t["current_as_of"],
                          days=t["days_between"], both=fmt_int(c["both"]), new=fmt_int(c["new"]),
                          gone=fmt_int(c["gone"]))]
    wb = t["win_back"]
    if wb["previous_high_risk"]:
        sentences.append(sentence("win_back", previous_high_risk=fmt_int(wb["previous_high_risk"]),
                                  won_back=fmt_int(wb["won_back"]),
                                  rate=fmt_pct(wb["rate"])))
    d = t["devoted_share"]
    sentences.append(sentence("devoted_change", previous=fmt_pct(d["previous"]), current=fmt_pct(d["current"]),
                              change=_pp(d["change"])))
    v = t["value_at_risk_recovered"]
    if v["value"] is not None:
        sentences.append(sentence("var_recovered", n=fmt_int(v["customers"]), value=fmt_money(v["value"]),
                                  share=fmt_pct(v["share"])))
    return {**t, "sentences": sentences}


def _findings(ctx: Context, status: dict, diagnosis: dict, tracking: dict | None) -> list[dict[str, str]]:
    df = ctx.scores
    shares = {r["tier"]: fmt_pct(r["share"]) for r in status["tiers"]}
    out = [sentence("finding_tiers", mean_score=fmt_num(df["loyalty_score"].mean()), **shares)]
    if status.get("tier_model_gap"):  # the high-risk share read without its caution would mislead
        out.append(status["tier_model_gap"])
    var, ev = df["value_at_risk"], df["expected_value"]
    if var.notna().any() and var.sum() > 0:
        k = max(1, int(round(0.1 * len(df))))
        top = var.sort_values(ascending=False).head(k).sum()
        out.append(sentence("finding_var", var_total=fmt_money(var.sum()),
                            var_share=fmt_pct(var.sum() / ev.sum()) if ev.notna().any() and ev.sum() > 0 else "—",
                            top_share=fmt_pct(top / var.sum()), top_n=k))
    lead = next((r for r in diagnosis["driver_shares"] if r["tier"] == "at_risk+high_risk"), None)
    if lead is not None:
        out.append(sentence("finding_driver", share=fmt_pct(lead["leading_share"], 0),
                            group=both("driver_group", lead["leading_group"])))
    if status["repurchase"].get("sentence"):
        out.append(status["repurchase"]["sentence"])
    if tracking is not None:
        out.append(sentence("finding_tracking", previous_as_of=tracking["previous_as_of"],
                            devoted_change=_pp(tracking["devoted_share"]["change"]),
                            win_back=fmt_pct(tracking["win_back"]["rate"])))
    return out[:6 if status.get("tier_model_gap") else 5]


def summarize(
    scores: pd.DataFrame,
    list_summary: Mapping[str, Any] | None = None,
    *,
    previous: Sequence[pd.DataFrame] = (),
    clean: CleanInputs | None = None,
    actions: Sequence[ActionRule] | None = None,
    options: ReportOptions | None = None,
    effect: Mapping[str, Any] | None = None,
    uplift: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The report's data, from a scored list and what lies beside it.

    Parameters
    ----------
    scores : DataFrame
        The churn-risk list (:data:`~loyalist.batch.columns.RISK_LIST_COLUMNS`; at least customer_id, as_of,
        loyalty_score, loyalty_tier), one row per customer, one as-of date. Not modified.
    list_summary : mapping, optional
        Its ``churn_risk_summary.json`` (:data:`~loyalist.batch.columns.SUMMARY_KEYS`): drivers, diagnosis,
        model metrics, models, inputs, drift and config. Parts that are missing make notes, not errors.
    previous : sequence of DataFrame
        Earlier scored lists of the same customers (any order): the last by as-of date is "the previous period"
        for tier changes and tracking; all of them make the score trend.
    clean : CleanInputs, optional
        Clean tables, rejects and row counts of ``loyalist prepare`` for the data-level numbers.
    actions : sequence of ActionRule, optional
        The action table; default: the list summary's config, else the built-in table.
    options : ReportOptions, optional
    effect : mapping, optional
        The latest measured campaign effect (``effect.json`` of ``loyalist effect``); None: the report says that
        no campaign has been measured yet.
    uplift : mapping, optional
        The trained uplift model's evaluation (``uplift.json`` of ``loyalist uplift``) for the Qini block; None: the
        report says that no uplift model has been trained.

    Returns
    -------
    dict
        JSON-able; keys described in the module docstring.
    """
    options = options or ReportOptions()
    list_summary = dict(list_summary or {})
    df, missing = prepare_list(scores, "scored list")
    df = mask_frame(df, ["name"])
    prev = sorted((prepare_list(p, "previous list")[0] for p in previous), key=lambda p: p["as_of"].iloc[0])
    as_of = df["as_of"].iloc[0]
    ignored = [str(p["as_of"].iloc[0].date()) for p in prev if p["as_of"].iloc[0] >= as_of]
    prev = [p for p in prev if p["as_of"].iloc[0] < as_of]
    rules, source = resolve_actions(actions, list_summary)
    ctx = Context(scores=df, summary=list_summary, previous=prev, clean=clean, actions=rules, options=options,
                  as_of=as_of, lookback_days=_lookback(options, list_summary), missing_columns=tuple(missing))

    status = status_section(ctx)
    segments = segments_section(ctx)
    diagnosis = diagnosis_section(ctx)
    recommendations = recommendations_section(ctx)
    tracking = tracking_section(prev[-1], df) if prev else None
    appendix = appendix_section(ctx)
    appendix["config"]["actions_source"] = source
    overview = {
        "goal": sentence("goal"),
        "scope": scope_block(ctx),
        "sources": sources_block(ctx),
        "findings": _findings(ctx, status, diagnosis, tracking),
        "totals": {"customers": int(len(df)), "mean_score": num(df["loyalty_score"].mean()),
                   "expected_value": num(df["expected_value"].sum(min_count=1)),
                   "value_at_risk": num(df["value_at_risk"].sum(min_count=1))},
    }
    notes = [n for sec in (status, segments, diagnosis, recommendations, appendix) for n in sec.get("notes", [])]
    levels = {k: b for k, b in (list_summary.get("level") or {}).items() if isinstance(b, dict)}
    said = {f"The {k} model: {b.get('note', '')}" for k, b in levels.items()}  # the same warning, in English only
    model_notes = [level_sentence(k, b) for k, b in levels.items()] + [
        sentence("model_note", note=str(n)) for n in list_summary.get("notes") or [] if str(n).strip() and n not in said]
    if ignored:
        notes.append(sentence("unavailable", what={"zh": f"上期名单（{', '.join(ignored)}）", "en": f"previous list(s) "
                                                   f"({', '.join(ignored)})"},
                              why={"zh": "日期不早于本期截止日期，已忽略", "en": "not earlier than the current as-of date; ignored"}))
    if tracking is None:
        notes.append(sentence("unavailable", what={"zh": "效果跟踪", "en": "tracking"},
                              why={"zh": "未提供上期名单（--previous）", "en": "no previous list (--previous) given"}))
    meta = {
        "as_of": str(as_of.date()), "customers": int(len(df)), "missing_columns": list(missing),
        "lookback_days": ctx.lookback_days, "previous_as_of": [str(p["as_of"].iloc[0].date()) for p in prev],
        "clean_data": clean is not None, "list_summary": bool(list_summary), "actions_source": source,
        "options": asdict(options),
    }
    return jsonable({
        "version": SUMMARY_VERSION, "meta": meta, "overview": overview, "status": status, "segments": segments,
        "diagnosis": diagnosis, "recommendations": recommendations, "tracking": tracking,
        "newly_at_risk": newly_at_risk_section(df, prev, list_summary, top=options.top_n),
        "effect": effect_section(effect), "uplift": uplift_section(uplift, list_summary), "appendix": appendix,
        "notes": notes, "model_notes": model_notes,
    })


_MODEL_NAMES = {"churn": {"zh": "流失模型", "en": "churn model"}, "value": {"zh": "价值模型", "en": "value model"}}


def level_sentence(kind: str, block: Mapping[str, Any]) -> dict[str, str]:
    """The level rule's warning for one model (the scoring summary's ``level`` block, see
    :func:`loyalist.modeling.supervised.level.level_block`) in both languages: which months of the horizon no
    training label covered, and how the level was set (seasonal index, BG/NBD and run-rate anchor, or unchecked)."""
    months = [int(m) for m in block.get("months") or []]
    method = str(block.get("method") or "model")
    factor = float(block.get("power" if kind == "churn" else "factor") or 1.0)
    how_key = f"level_how_{method}" if method in ("seasonal_index", "bgnbd_anchor") else "level_how_model"
    # value: the factor on the total; churn: the power g of P(no purchase)^g, i.e. the factor on the purchase rate
    if kind == "churn" and how_key != "level_how_model":
        # a purchase-rate factor below 1 means fewer purchases, i.e. higher churn probabilities
        direction = SENTENCES["level_churn_up" if factor < 0.9995 else "level_churn_down" if factor > 1.0005
                              else "level_churn_same"]
        how = {lang: SENTENCES[how_key + "_churn"][lang].format(factor=f"{factor:.3f}", direction=direction[lang])
               for lang in ("zh", "en")}
    else:
        how = {lang: SENTENCES[how_key][lang].format(factor=f"{factor:.3f}") for lang in ("zh", "en")}  # no capital
    def names(ms: list[int]) -> dict[str, str]:
        return {"zh": "、".join(f"{m}月" for m in ms), "en": ", ".join(pd.Timestamp(2000, m, 1).strftime("%b") for m in ms)}

    model = _MODEL_NAMES.get(kind, {"zh": kind, "en": f"{kind} model"})
    if block.get("as_of") and block.get("list_months"):  # a list at another as-of: the level is not about it
        return sentence("level_other_horizon", model=model, horizon=int(block.get("horizon_days") or 0),
                        months=names(months), how=how, as_of=str(block["as_of"]),
                        list_months=names([int(m) for m in block["list_months"]]))
    return sentence("level_warning", model=model, horizon=int(block.get("horizon_days") or 0), months=names(months),
                    how=how)
