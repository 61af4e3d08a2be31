"""The report's measured campaign effect (效果跟踪): words in both languages, the chart, the flags for negative and
inconclusive actions, picking up the latest effect.json, and saying so when no campaign has been measured."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from loyalist.batch.effect import effect_summary, measure_effect
from loyalist.errors import InputFileError
from loyalist.jobs import report as report_job
from loyalist.jobs._ui import Reporter
from loyalist.report.inputs import find_effect, read_effect, summary_path
from loyalist.report.render import render_html
from loyalist.report.summarize import summarize
from loyalist.report.summarize_effect import action_label, effect_section

WORKS = "升级为VIP服务通道，48小时内响应 / Move to the VIP service channel, answer within 48 h"
HARMS = "发放优惠券 / Coupons"
SMALL = "高管拜访 / Executive visits"


def _outcomes() -> pd.DataFrame:
    """Three actions with known churn rates: one that works (31% -> 24% on 3,000 + 3,000), one that raises churn
    (20% -> 30%), one on 30 + 30 customers with no effect (inconclusive)."""
    rng = np.random.default_rng(3)
    parts = []
    for action, n, p_control, p_treated, cost in ((WORKS, 3000, 0.31, 0.24, 50.0), (HARMS, 2000, 0.20, 0.30, 20.0),
                                                  (SMALL, 30, 0.3, 0.3, 300.0)):
        for group, p in (("control", p_control), ("treatment", p_treated)):
            churn = (rng.random(n) < p).astype(float)
            revenue = np.where(churn == 1, 0.0, rng.gamma(2.0, 500.0, n))
            parts.append(pd.DataFrame({"action": action, "loyalty_tier": "at_risk", "risk_band": "high",
                                       "group": group, "churn": churn, "orders": 1 - churn, "revenue": revenue,
                                       "cost": cost}))
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def effect() -> dict:
    outcomes = _outcomes()
    costs = outcomes.groupby("action")["cost"].first().to_dict()
    summary = effect_summary(measure_effect(outcomes, costs=costs))
    rows = [{k: (None if pd.isna(v) else (v.item() if hasattr(v, "item") else v)) for k, v in r.items()}
            for r in summary.to_dict("records")]
    return {"campaign": "retention-2024-06-30", "campaign_date": "2024-06-30", "horizon_days": 90, "alpha": 0.05,
            "summary": rows}


def _action(section: dict, text: str) -> dict:
    return next(a for a in section["actions"] if a["group"] == text)


def test_no_campaign_measured_yet_is_said_plainly():
    section = effect_section(None)
    assert section["measured"] is False and section["actions"] == []
    assert section["sentence"]["en"].startswith("No campaign has been measured yet: run 'loyalist effect'")
    assert section["sentence"]["zh"].startswith("尚未测量任何活动的效果")


def test_each_action_in_words_with_its_figures(effect):
    section = effect_section(effect)
    works = _action(section, WORKS)
    assert works["verdict"] == "works" and not works["flagged"]
    assert works["label"] == {"zh": "升级为VIP服务通道，48小时内响应", "en": "Move to the VIP service channel, answer within 48 h"}
    en, zh = works["sentence"]["en"], works["sentence"]["zh"]
    # the figures in the words are the figures of the table
    control, treated = f"{100 * works['churn_control']:.1f}%", f"{100 * works['churn_treatment']:.1f}%"
    diff = f"{100 * works['churn_difference']:+.1f}".replace("-", "−")
    assert en.startswith(f"“Move to the VIP service channel, answer within 48 h” cut churn from {control} to {treated}, "
                         f"{diff} points, 95% CI ")
    assert f"{works['n_treatment']:,} treated customers, {works['saved']:,.0f} customers kept" in en
    assert f"{works['net']:,.0f} kept net of its {works['cost']:,.0f} cost" in en
    assert works["cost"] == 50.0 * 3000
    assert zh.startswith(f"「升级为VIP服务通道，48小时内响应」：流失率由对照组的 {control} 降至处理组的 {treated}")
    assert works["churn_ci_high"] < 0 and abs(works["churn_difference"] + 0.07) < 0.03  # planted: -7 points
    # an action whose interval covers zero is not said to have cut or raised churn
    small = _action(section, SMALL)
    assert small["sentence"]["en"].startswith("“Executive visits” moved churn from ")
    assert "变为处理组" in small["sentence"]["zh"]
    # each arm's own interval holds its rate
    assert works["control_low"] < works["churn_control"] < works["control_high"]
    assert works["treatment_low"] < works["churn_treatment"] < works["treatment_high"]


def test_negative_and_inconclusive_actions_are_flagged(effect):
    section = effect_section(effect)
    harms, small = _action(section, HARMS), _action(section, SMALL)
    assert harms["verdict"] == "negative" and harms["flagged"] and harms["churn_ci_low"] > 0
    assert small["verdict"] == "inconclusive" and small["flagged"] and not small["large_enough"]
    # contact that drove customers away says how many were lost, as a positive count with its interval
    lost = f"{-harms['saved']:,.0f} customers lost ({-harms['saved_high']:,.0f} to {-harms['saved_low']:,.0f})"
    assert harms["saved"] < 0 and lost in harms["sentence"]["en"], harms["sentence"]["en"]
    assert f"约多流失 {-harms['saved']:,.0f} 位" in harms["sentence"]["zh"]
    assert len(section["flags"]) == 2
    assert section["flags"][0]["en"].startswith("Check “Coupons”: the interval says contact raised churn (+")
    assert "应停止或调整该措施" in section["flags"][0]["zh"]
    assert section["flags"][1]["en"].startswith("“Executive visits” is inconclusive: with 30 control customers only a "
                                                f"difference of {100 * small['mde']:.1f} points")


def test_the_report_shows_the_effect_with_chart_and_flags_in_both_languages(effect, scored, list_summary):
    summary = summarize(scored, list_summary, effect=effect)
    assert summary["effect"]["measured"] and summary["effect"]["campaign"] == "retention-2024-06-30"
    zh, en = render_html(summary, "zh"), render_html(summary, "en")
    assert "活动效果测量（对照组）" in zh and "Measured campaign effect (control groups)" in en
    assert 'data-chart="chart-effect"' in zh and 'data-chart="chart-effect"' in en
    for html, lang in ((zh, "zh"), (en, "en")):
        for flag in summary["effect"]["flags"]:
            assert f'<p class="flag">{flag[lang]}</p>' in html
        assert html.count('class="verdict-negative flagged"') == 1
        assert html.count('class="verdict-inconclusive flagged"') == 1


def test_without_an_effect_the_report_says_no_campaign_was_measured(scored, list_summary):
    summary = summarize(scored, list_summary)
    assert summary["effect"]["measured"] is False
    en = render_html(summary, "en")
    assert "No campaign has been measured yet" in en.replace("&#39;", "'")
    assert 'data-chart="chart-effect"' not in en
    assert "尚未测量任何活动的效果" in render_html(summary, "zh")


def _write(folder, effect: dict, day: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "effect.json").write_text(json.dumps(effect | {"campaign_date": day, "campaign": f"c-{day}"}),
                                        encoding="utf-8")


def test_find_effect_takes_the_latest_campaign_up_to_the_list_date(effect, tmp_path):
    scores = tmp_path / "outputs" / "scores" / "churn_risk.parquet"
    scores.parent.mkdir(parents=True)
    assert find_effect(scores) is None
    _write(tmp_path / "outputs" / "effect", effect, "2024-06-30")  # the defaults: outputs/effect beside outputs/scores
    assert find_effect(scores) == (tmp_path / "outputs" / "effect" / "effect.json").resolve()
    _write(tmp_path / "outputs" / "scores" / "may", effect, "2024-05-31")  # older campaign, newer file
    _write(tmp_path / "outputs" / "scores" / "aug", effect, "2024-08-31")
    (tmp_path / "outputs" / "scores" / "other").mkdir()
    (tmp_path / "outputs" / "scores" / "other" / "effect.json").write_text("{}", encoding="utf-8")  # not an effect
    assert find_effect(scores, as_of="2024-12-31").parent.name == "aug"
    assert find_effect(scores, as_of="2024-07-31").parent.name == "effect"  # the August campaign is after the list
    assert read_effect(tmp_path / "outputs" / "scores" / "aug")["campaign"] == "c-2024-08-31"
    with pytest.raises(InputFileError, match="is not a campaign effect"):
        read_effect(tmp_path / "outputs" / "scores" / "other")
    with pytest.raises(InputFileError, match="does not exist; pass to --effect"):
        read_effect(tmp_path / "nowhere.json")


def test_the_report_job_picks_up_the_latest_effect_beside_the_list(effect, scored, list_summary, tmp_path):
    current = tmp_path / "scores" / "churn_risk.parquet"
    current.parent.mkdir()
    scored.to_parquet(current, index=False)
    summary_path(current).write_text(json.dumps(list_summary, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "scores" / "report"
    paths = report_job.run(current, lang="en", formats="html", out_dir=out, reporter=Reporter(quiet=True))
    assert json.loads(paths["summary"].read_text(encoding="utf-8"))["effect"]["measured"] is False
    _write(tmp_path / "effect", effect, "2024-06-30")
    paths = report_job.run(current, lang="en", formats="html", out_dir=out, reporter=Reporter(quiet=True))
    summary = json.loads(paths["summary"].read_text(encoding="utf-8"))
    assert summary["effect"]["measured"] and summary["effect"]["campaign"] == "c-2024-06-30"
    assert "Measured campaign effect" in paths["html_en"].read_text(encoding="utf-8")
    # an explicit --effect wins over the one found
    _write(tmp_path / "elsewhere", effect, "2024-03-31")
    paths = report_job.run(current, lang="en", formats="html", out_dir=out, reporter=Reporter(quiet=True),
                           effect=tmp_path / "elsewhere")
    assert json.loads(paths["summary"].read_text(encoding="utf-8"))["effect"]["campaign"] == "c-2024-03-31"


def test_action_label_splits_the_list_text():
    assert action_label("致电 / Call") == {"zh": "致电", "en": "Call"}
    assert action_label("Call") == {"zh": "Call", "en": "Call"}


def test_a_group_of_two_who_all_stayed_gets_a_churn_interval_wider_than_a_point():
    """Each arm's churn rate carries Wilson's interval: 2 control customers who both stayed are not '0% to 0%'
    (the normal approximation's zero-width interval), and a share's interval stays within 0-100%."""
    row = {"level": "action", "group": SMALL, "n_treatment": 15, "n_control": 2, "churn_treatment": 1 / 3,
           "churn_control": 0.0, "churn_difference": 1 / 3, "churn_ci_low": -0.35, "churn_ci_high": 0.58,
           "verdict": "inconclusive", "large_enough": False, "mde": 0.9}
    section = effect_section({"campaign": "c", "campaign_date": "2024-06-30", "horizon_days": 90, "alpha": 0.05,
                              "summary": [row | {"level": "all", "group": "all"}, row]})
    small = _action(section, SMALL)
    assert small["control_low"] == 0 and 0.6 < small["control_high"] < 0.7  # Wilson 0/2: 0 to 0.658
    assert 0.15 < small["treatment_low"] < small["churn_treatment"] < small["treatment_high"] < 0.6


def test_one_customer_kept_or_lost_is_singular():
    """The demo's report said "1 customers lost"; one customer is "1 customer"."""
    row = {"level": "action", "group": SMALL, "n_treatment": 1005, "n_control": 112, "churn_treatment": 0.010,
           "churn_control": 0.009, "churn_difference": 0.001, "churn_ci_low": -0.039, "churn_ci_high": 0.012,
           "saved": -1.03, "saved_low": -12.0, "saved_high": 39.0, "verdict": "no_effect", "large_enough": True,
           "mde": 0.03, "cost": 300.0, "net": -3828213.0, "net_low": -6.9e7, "net_high": 6.2e7}
    section = effect_section({"campaign": "c", "campaign_date": "2024-06-30", "horizon_days": 90, "alpha": 0.05,
                              "summary": [row | {"level": "all", "group": "all", "saved": 6.1}, row]})
    assert "1,005 treated customers, 1 customer lost (-39 to 12)" in _action(section, SMALL)["sentence"]["en"]
    assert "6 customers kept" in section["overall"]["sentence"]["en"]
    assert "约多流失 1 位" in _action(section, SMALL)["sentence"]["zh"]
