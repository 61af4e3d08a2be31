"""Churn among the customers still active at the cut-off (issue 11 §4) in the report: the scoring job carries the
churn run's ``tables/active_customers_vs_baselines.csv`` into the list summary, and the appendix shows it beside the
baselines in both languages, saying plainly when the model is below the best baseline there."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from markupsafe import escape

from loyalist.report.render import render_html
from loyalist.report.summarize import summarize
from loyalist.report.summarize_appendix import ACTIVE_DAYS

_WHOLE = "scorer,n,base_rate,roc_auc,brier\nloyalist,800,0.31,0.861,0.14\nrecency,800,0.31,0.802,\n"
_ACTIVE = ("scorer,n,base_rate,roc_auc,brier\nloyalist,384,0.021,0.712,0.02\nrule_score,384,0.021,0.826,\n"
           "recency,384,0.021,0.750,\nfrequency,384,0.021,0.578,\n")
ACTIVE_ROWS = [
    {"scorer": "loyalist", "n": 384, "base_rate": 0.021, "roc_auc": 0.712, "brier": 0.02},
    {"scorer": "rule_score", "n": 384, "base_rate": 0.021, "roc_auc": 0.826},
    {"scorer": "recency", "n": 384, "base_rate": 0.021, "roc_auc": 0.750},
    {"scorer": "frequency", "n": 384, "base_rate": 0.021, "roc_auc": 0.578},
]


def _scorer(run_id: str):
    return SimpleNamespace(loaded=SimpleNamespace(info=SimpleNamespace(run_id=run_id, tags={})))


def test_the_scoring_job_carries_the_active_customer_table_into_the_summary(monkeypatch):
    from loyalist import tracking
    from loyalist.jobs.score import _model_metrics

    artifacts = {("churn-run", "tables/metrics_vs_baselines.csv"): _WHOLE,
                 ("churn-run", "tables/active_customers_vs_baselines.csv"): _ACTIVE,
                 ("value-run", "tables/metrics_vs_baselines.csv"): "scorer,normalised_gini\nloyalist,0.7\n"}
    monkeypatch.setattr(tracking, "read_run_text", lambda run_id, path: artifacts.get((run_id, path)))
    out = _model_metrics(_scorer("churn-run"), _scorer("value-run"))
    assert out["churn"][0]["roc_auc"] == 0.861 and out["value"] == [{"scorer": "loyalist", "normalised_gini": 0.7}]
    assert [r["scorer"] for r in out["churn_active"]] == ["loyalist", "rule_score", "recency", "frequency"]
    assert out["churn_active"][2] == pytest.approx({"scorer": "recency", "n": 384, "base_rate": 0.021,
                                                    "roc_auc": 0.750, "brier": float("nan")}, nan_ok=True)
    # a run from before the table (or a value run): nothing new
    del artifacts[("churn-run", "tables/active_customers_vs_baselines.csv")]
    assert set(_model_metrics(_scorer("churn-run"), _scorer("value-run"))) == {"churn", "value"}


def test_the_report_shows_active_customer_churn_beside_the_baselines(scored, list_summary):
    summary = json.loads(json.dumps(list_summary, default=str))
    summary["model_metrics"]["churn_active"] = ACTIVE_ROWS
    out = summarize(scored, summary)
    block = out["appendix"]["active_churn"]
    assert block["n"] == 384 and block["base_rate"] == 0.021 and block["active_days"] == ACTIVE_DAYS == 90
    assert block["roc_auc"] == {"loyalist": 0.712, "rule_score": 0.826, "recency": 0.750, "frequency": 0.578}
    assert (block["model"], block["best_baseline"], block["below_best_baseline"]) == (0.712, "rule_score", True)
    first, verdict = block["sentences"]
    assert first["en"] == ("Among customers still active at the cut-off (a completed order in the last 90 days; 384 "
                           "evaluation rows, churn rate 2.1%), ROC AUC: loyalist model 0.712, rule score 0.826, "
                           "recency 0.750, frequency 0.578.")
    assert first["zh"].startswith("在截止日仍活跃的客户中（截止日前 90 天内有已完成订单；评估 384 行，流失率 2.1%），ROC AUC：")
    assert "loyalist 模型 0.712、规则忠诚度得分 0.826、最近消费天数 0.750" in first["zh"]
    assert verdict["en"].startswith("Among these active customers the loyalist model (0.712) is below the best "
                                    "baseline, rule score (0.826, -0.114)")
    assert "低于最佳基线规则忠诚度得分（0.826，差 -0.114）" in verdict["zh"]
    assert out["appendix"]["model_quality"]["churn_active"]["rows"][0]["roc_auc"] == 0.712
    json.dumps(out, allow_nan=False, ensure_ascii=False)
    for lang in ("zh", "en"):
        page = render_html(out, lang)
        section = page[page.index('<section id="appendix">'):]
        assert 'id="active-churn"' in section
        assert str(escape(first[lang])) in section and str(escape(verdict[lang])) in section
        assert 'data-kind="churn_active"' in section
    assert "流失模型：截止日仍活跃的客户" in render_html(out, "zh")


def test_the_report_says_so_when_the_model_is_at_or_above_the_best_baseline(scored, list_summary):
    rows = [dict(r, roc_auc=0.84) if r["scorer"] == "loyalist" else r for r in ACTIVE_ROWS]
    summary = dict(list_summary, model_metrics=dict(list_summary["model_metrics"], churn_active=rows))
    block = summarize(scored, summary)["appendix"]["active_churn"]
    assert block["below_best_baseline"] is False
    assert block["sentences"][1]["en"] == ("Among these active customers the loyalist model (0.840) is at or above "
                                           "the best baseline, rule score (0.826, +0.014).")


def test_an_older_list_without_the_table_shows_nothing_new(scored, list_summary):
    out = summarize(scored, list_summary)
    assert out["appendix"]["active_churn"] is None and "churn_active" not in out["appendix"]["model_quality"]
    for lang in ("zh", "en"):
        assert 'id="active-churn"' not in render_html(out, lang)


def test_the_sentence_states_the_window_the_training_run_used(scored, list_summary):
    # the run's table carries its features.active_days (column active_days); the report said 90 whatever it was
    rows = [dict(r, active_days=60) for r in ACTIVE_ROWS]
    out = summarize(scored, dict(list_summary, model_metrics=dict(list_summary["model_metrics"], churn_active=rows)))
    block = out["appendix"]["active_churn"]
    assert block["active_days"] == 60 != ACTIVE_DAYS
    first = block["sentences"][0]
    assert first["en"].startswith("Among customers still active at the cut-off (a completed order in the last 60 "
                                  "days; 384 evaluation rows")
    assert first["zh"].startswith("在截止日仍活跃的客户中（截止日前 60 天内有已完成订单；")
    # the window describes the table, it is not a scorer's metric: no column for it
    table = out["appendix"]["model_quality"]["churn_active"]
    assert "active_days" not in table["columns"] and all("active_days" not in r for r in table["rows"])
    assert table["active_days"] == 60
    for lang in ("zh", "en"):
        page = render_html(out, lang)
        assert str(escape(first[lang])) in page and " 90 " not in first[lang]
