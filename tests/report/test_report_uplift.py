"""The report's targeting-by-uplift block: the Qini curve as a picture with a bilingual sentence (Qini and
uplift@k beside ranking by churn risk and random), found beside the list like the other inputs, and a plain
sentence when no uplift model has been trained."""

from __future__ import annotations

import json

import numpy as np
import pytest

from loyalist.errors import InputFileError
from loyalist.jobs import report as report_job
from loyalist.jobs._ui import Reporter
from loyalist.jobs.uplift import _thin
from loyalist.report.inputs import find_uplift, read_uplift, summary_path
from loyalist.report.render import render_html
from loyalist.report.summarize import summarize
from loyalist.report.summarize_uplift import uplift_section
from loyalist.uplift import qini_auc_score, qini_curve, uplift_at_k


@pytest.fixture(scope="module")
def uplift_result() -> dict:
    """An uplift.json as 'loyalist uplift' writes it, from a held-out sample with a planted effect: the action
    helps half the customers (+30 points of staying) and not the others; the model's score sees the effect with
    noise, churn risk does not."""
    rng = np.random.default_rng(7)
    n = 4000
    persuadable = rng.random(n) < 0.5
    t = (rng.random(n) < 0.5).astype(int)
    base = rng.uniform(0.3, 0.7, n)
    stay = (rng.random(n) < base + 0.3 * persuadable * t).astype(int)
    score = 0.3 * persuadable + rng.normal(0, 0.1, n)
    risk = 1 - base
    curves = {"uplift model": qini_curve(stay, score, t), "churn risk": qini_curve(stay, risk, t)}
    curves["random"] = (np.array([0.0, n]), np.array([0.0, curves["uplift model"][1][-1]]))
    metrics = {"qini": qini_auc_score(stay, score, t), "qini_churn_risk": qini_auc_score(stay, risk, t),
               "qini_random_p95": 0.01, "uplift_at_30": uplift_at_k(stay, score, t, k=0.3),
               "uplift_at_30_churn_risk": uplift_at_k(stay, risk, t, k=0.3),
               "uplift_at_30_random": float(stay[t == 1].mean() - stay[t == 0].mean()),
               "n_train": 9333.0, "n_test": float(n)}
    return {"campaign": "spring", "campaign_date": "2024-06-30", "horizon_days": 90, "method": "two_model",
            "customers": 13333, "control": 6600, "dropped_strata": [], "metrics": metrics, "champion": True,
            "features": ["recency_days"], "k": 0.3, "run_id": "r1", "registered_model": "loyalist-churn-uplift",
            "version": 2, "curves": {k: _thin(x, y) for k, (x, y) in curves.items()}}


def test_no_uplift_model_is_said_plainly(scored, list_summary):
    section = uplift_section(None)
    assert section["trained"] is False
    assert section["sentence"]["en"].startswith("No uplift model has been trained yet: run 'loyalist uplift'")
    assert section["sentence"]["zh"].startswith("尚未训练提升（uplift）模型")
    summary = summarize(scored, list_summary)
    en, zh = render_html(summary, "en").replace("&#39;", "'"), render_html(summary, "zh")
    assert "No uplift model has been trained yet" in en and "尚未训练提升（uplift）模型" in zh
    assert 'data-chart="chart-qini"' not in en and 'data-chart="chart-qini"' not in zh


def test_qini_and_uplift_at_k_beside_churn_risk_and_random_in_both_languages(uplift_result):
    section = uplift_section(uplift_result)
    m = uplift_result["metrics"]
    assert section["trained"] and section["qini"] == pytest.approx(m["qini"])
    # the planted effect: the model ranks better than churn risk, and its top 30% gains more than random
    assert m["qini"] > m["qini_churn_risk"] and m["uplift_at_30"] > m["uplift_at_30_random"] + 0.05
    en, zh = section["sentence"]["en"], section["sentence"]["zh"]
    qini, risk = f"{m['qini']:.3f}", f"{m['qini_churn_risk']:.3f}"
    at_k = f"{100 * m['uplift_at_30']:+.1f}".replace("-", "−")
    at_risk = f"{100 * m['uplift_at_30_churn_risk']:+.1f}".replace("-", "−")
    at_random = f"{100 * m['uplift_at_30_random']:+.1f}".replace("-", "−")
    assert en.startswith("The uplift model (two_model) learned from campaign spring of 2024-06-30 (13,333 customers, "
                         "6,600 control) and was judged on 4,000 held-out customers")
    assert (f"normalised Qini {qini}, against {risk} when ranking by churn risk and 0.010 for random rankings" in en)
    assert (f"in the top 30%, the stay rate of contacted minus control customers is {at_k} points, against "
            f"{at_risk} when ranking by churn risk and {at_random} at random." in en)
    assert f"标准化 Qini 系数 {qini}，按流失风险排序为 {risk}" in zh
    assert f"被联系客户与对照组的留存率之差为 {at_k} 个百分点（按流失风险排序为 {at_risk}，随机为 {at_random}）" in zh


def test_the_qini_interval_and_thin_evidence_are_shown_in_both_languages(uplift_result, scored, list_summary):
    """The report says what the uplift job and the demo print: the held-out Qini's 95% interval with the held-out
    control customers (and how many churned) and, when the interval reaches 0, that the evidence is thin."""
    thin = {**uplift_result, "metrics": {**uplift_result["metrics"], "qini": 0.028, "qini_low": -0.0021,
                                         "qini_high": 0.0523, "n_test_control": 133.0,
                                         "n_test_control_churned": 10.0}}
    section = uplift_section(thin)
    en, zh = section["sentence"]["en"], section["sentence"]["zh"]
    assert section["evidence_thin"] is True and section["qini_low"] == pytest.approx(-0.0021)
    assert ("The held-out Qini's 95% interval is −0.002 to +0.052 (133 held-out control customers, 10 of them "
            "churned). The evidence is thin: the interval reaches 0" in en)
    assert "留出 Qini 的 95% 区间为 −0.002 至 +0.052（留出客户中对照组 133 位，其中 10 位流失）。证据不足" in zh
    html_en, html_zh = (render_html(summarize(scored, list_summary, uplift=thin), lang) for lang in ("en", "zh"))
    assert "−0.002 to +0.052" in html_en and "The evidence is thin" in html_en
    assert "−0.002 至 +0.052" in html_zh and "证据不足" in html_zh

    clear = {**thin, "metrics": {**thin["metrics"], "qini_low": 0.011, "qini_high": 0.09}}
    section = uplift_section(clear)
    assert section["evidence_thin"] is False
    assert "interval is +0.011 to +0.090 (133 held-out control" in section["sentence"]["en"]
    assert "evidence is thin" not in section["sentence"]["en"] and "证据不足" not in section["sentence"]["zh"]
    # a result written before the interval existed: neither is said, nothing breaks
    old = uplift_section(uplift_result)
    assert old["evidence_thin"] is None and "interval" not in old["sentence"]["en"]


def test_the_report_draws_the_qini_curve(uplift_result, scored, list_summary):
    summary = summarize(scored, list_summary, uplift=uplift_result)
    assert set(summary["uplift"]["curves"]) == {"uplift model", "churn risk", "random"}
    for lang, title in (("en", "Targeting by uplift"), ("zh", "按提升（uplift）定位客户")):
        html = render_html(summary, lang).replace("&#39;", "'")
        assert title in html and 'data-chart="chart-qini"' in html
        assert summary["uplift"]["sentence"][lang] in html
        assert summary["uplift"]["use"][lang] in html
    # the picture has the three curves: one line each, the churn-risk one with a different colour
    svg = render_html(summary, "en").split('data-chart="chart-qini"')[1].split("</svg>")[0]
    assert "#2c5d8f" in svg and "#f1a340" in svg and "#9aa5b1" in svg


def test_whether_the_list_uses_it_and_how_it_is_ranked(uplift_result, list_summary):
    used = dict(list_summary) | {"models": {**list_summary.get("models", {}),
                                            "uplift": {"name": "loyalist-churn-uplift", "version": "2"}},
                                 "rank_by": "expected_saved_value"}
    section = uplift_section(uplift_result, used)
    assert section["use"]["en"] == ("This list carries uplift and expected_saved_value from uplift model version 2 "
                                    "and is ranked by expected saved value net of cost.")
    assert section["use"]["zh"].endswith("并按扣除成本后的预期挽回价值排序。")
    by_var = uplift_section(uplift_result, used | {"rank_by": "value_at_risk"})
    assert by_var["use"]["en"].endswith("is ranked by value at risk.")
    unused = uplift_section(uplift_result, list_summary)
    assert unused["use"]["en"].startswith("Uplift model version 2 is champion, but this list was scored without it")
    weak = uplift_section(uplift_result | {"champion": False}, list_summary)
    assert weak["use"]["en"].startswith("Uplift model version 2 does not beat random rankings on Qini")
    assert "未成为冠军模型" in weak["use"]["zh"]


def test_a_result_without_curves_shows_its_qini_png(uplift_result, scored, list_summary, tmp_path):
    png = tmp_path / "qini.png"
    from loyalist.report.charts import qini_figure

    qini_figure({"uplift model": ([0, 10], [0, 3])}).savefig(png)
    older = {k: v for k, v in uplift_result.items() if k not in ("curves", "k")} | {"qini_png": str(png)}
    summary = summarize(scored, list_summary, uplift=older)
    assert summary["uplift"]["k"] == 0.3  # from the uplift_at_30 key
    html = render_html(summary, "en")
    assert '<figure class="chart" id="fig-qini"><img class="chart-png" alt="Qini" src="data:image/png;base64,' in html


def _write(folder, result: dict, day: str, version: int = 1) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "uplift.json").write_text(json.dumps(result | {"campaign_date": day, "campaign": f"c-{day}",
                                                             "version": version}), encoding="utf-8")


def test_find_uplift_beside_the_list(uplift_result, tmp_path):
    scores = tmp_path / "outputs" / "scores" / "churn_risk.parquet"
    scores.parent.mkdir(parents=True)
    assert find_uplift(scores) is None
    _write(tmp_path / "outputs" / "uplift", uplift_result, "2024-06-30", 1)  # the default outputs/uplift
    assert find_uplift(scores) == (tmp_path / "outputs" / "uplift" / "uplift.json").resolve()
    _write(tmp_path / "outputs" / "scores" / "aug", uplift_result, "2024-08-31", 2)
    (tmp_path / "outputs" / "scores" / "other").mkdir()
    (tmp_path / "outputs" / "scores" / "other" / "uplift.json").write_text("{}", encoding="utf-8")  # not a result
    assert find_uplift(scores, as_of="2024-12-31").parent.name == "aug"
    assert find_uplift(scores, as_of="2024-07-31").parent.name == "uplift"  # August's campaign is after the list
    # the version the list was scored with wins over a later campaign
    assert find_uplift(scores, as_of="2024-12-31", version="1").parent.name == "uplift"
    found = read_uplift(tmp_path / "outputs" / "uplift")
    assert found["campaign"] == "c-2024-06-30" and found["qini_png"] is None
    with pytest.raises(InputFileError, match="is not an uplift model result"):
        read_uplift(tmp_path / "outputs" / "scores" / "other")
    with pytest.raises(InputFileError, match="does not exist; pass to --uplift"):
        read_uplift(tmp_path / "nowhere.json")


def test_the_report_job_and_cli_pick_up_the_uplift_result(uplift_result, scored, list_summary, tmp_path):
    from typer.testing import CliRunner

    from loyalist.cli import app

    current = tmp_path / "scores" / "churn_risk.parquet"
    current.parent.mkdir()
    scored.to_parquet(current, index=False)
    summary_path(current).write_text(json.dumps(list_summary, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "report"
    paths = report_job.run(current, lang="en", formats="html", out_dir=out, reporter=Reporter(quiet=True))
    assert json.loads(paths["summary"].read_text(encoding="utf-8"))["uplift"]["trained"] is False
    _write(tmp_path / "uplift", uplift_result, "2024-06-30")
    paths = report_job.run(current, lang="en", formats="html", out_dir=out, reporter=Reporter(quiet=True))
    assert json.loads(paths["summary"].read_text(encoding="utf-8"))["uplift"]["campaign"] == "c-2024-06-30"
    assert 'data-chart="chart-qini"' in paths["html_en"].read_text(encoding="utf-8")
    _write(tmp_path / "elsewhere", uplift_result, "2024-03-31")
    result = CliRunner().invoke(app, ["report", "--scores", str(current), "--lang", "en", "--out", str(out),
                                      "--uplift", str(tmp_path / "elsewhere"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "report_summary.json").read_text(encoding="utf-8"))["uplift"]["campaign"] == \
        "c-2024-03-31"
    bad = CliRunner().invoke(app, ["report", "--scores", str(current), "--out", str(out), "--uplift",
                                   str(tmp_path / "nowhere")])
    assert bad.exit_code == 2 and "does not exist; pass to --uplift" in bad.output


def test_missing_figures_are_dashes_not_errors():
    section = uplift_section({"campaign_date": "2024-06-30", "metrics": {"qini": 0.05}})
    assert section["trained"] and "normalised Qini 0.050, against — when ranking by churn risk" in \
        section["sentence"]["en"]
    assert section["curves"] is None and section["uplift_at_k"] is None


def _with_uplift(scored):
    """The list with uplift columns whose order differs from value at risk: the action helps the customers with
    little value at risk most (so the top by expected saved value is not the top by value at risk)."""
    rng = np.random.default_rng(11)
    var = scored["value_at_risk"].fillna(0).to_numpy()
    uplift = np.where(var < np.median(var), 0.3, -0.05) * rng.uniform(0.5, 1.0, len(scored))
    saved = uplift * scored["expected_value"].clip(lower=0).fillna(0).to_numpy() - 20.0
    return scored.assign(uplift=uplift, expected_saved_value=saved)


def test_the_action_plan_follows_the_lists_ranking(scored, list_summary):
    ranked = _with_uplift(scored)
    by_saved = dict(list_summary) | {"rank_by": "expected_saved_value"}
    top_n = 8
    want = ranked.sort_values(["expected_saved_value", "customer_id"], ascending=[False, True]).head(top_n)
    by_var = ranked.sort_values(["value_at_risk", "customer_id"], ascending=[False, True]).head(top_n)
    assert set(want["customer_id"]).isdisjoint(by_var["customer_id"])  # the two rankings really differ here
    from loyalist.report.summarize_base import ReportOptions

    rec = summarize(ranked, by_saved, options=ReportOptions(top_n=top_n))["recommendations"]
    assert rec["plan_ranking"] == "expected_saved_value"
    assert [r["customer_id"] for r in rec["plan_customers"]] == list(want["customer_id"])
    assert [r["expected_saved_value"] for r in rec["plan_customers"]] == pytest.approx(
        list(want["expected_saved_value"]))
    intro = rec["sentences"][1]
    assert intro["en"].startswith(f"The action plan lists the top {top_n} customers by expected saved value net of "
                                  "cost (uplift × value if kept − the action's cost, the list's own order)")
    assert intro["zh"].startswith("行动计划按扣除成本后的预期挽回价值")
    summary = summarize(ranked, by_saved, options=ReportOptions(top_n=top_n))
    for lang, head in (("en", "expected saved value (net of cost)"), ("zh", "预期挽回价值（扣除成本）")):
        html = render_html(summary, lang)
        assert f"<th>{head}</th>" in html and html.count('<td class="n saved">') == top_n + len(rec["plan_tiers"])
    # the same list ranked by value at risk (the default, and any list summary without rank_by)
    for summ in (dict(list_summary) | {"rank_by": "value_at_risk"}, {k: v for k, v in list_summary.items()
                                                                     if k != "rank_by"}):
        rec = summarize(ranked, summ, options=ReportOptions(top_n=top_n))["recommendations"]
        assert rec["plan_ranking"] == "value_at_risk"
        assert [r["customer_id"] for r in rec["plan_customers"]] == list(by_var["customer_id"])
        assert " customers by value at risk and one line per tier group" in rec["sentences"][1]["en"]
    assert "<th>expected saved value (net of cost)</th>" not in render_html(
        summarize(ranked, list_summary, options=ReportOptions(top_n=top_n)), "en")


def test_ranked_by_saved_value_without_the_column_falls_back_and_says_so(scored, list_summary):
    rec = summarize(scored, dict(list_summary) | {"rank_by": "expected_saved_value"})["recommendations"]
    assert rec["plan_ranking"] == "value_at_risk"
    top = scored.sort_values(["value_at_risk", "customer_id"], ascending=[False, True]).head(10)
    assert [r["customer_id"] for r in rec["plan_customers"]] == list(top["customer_id"])
    assert any("the list summary says the list is ranked by expected_saved_value but the list has no such figures"
               in n["en"] for n in rec["notes"])


def test_find_uplift_reads_a_pooled_model_of_several_campaigns(uplift_result, tmp_path):
    """An uplift model learned from campaigns pooled ('loyalist uplift --assignment A --assignment B') writes
    campaign_date "d1 + d2": the report finds it (it was skipped as 'no date', so a list scored with the pooled
    model got the older single campaign's Qini beside 'this list uses version 2'), dates it by its latest campaign
    (a list before that campaign does not take it) and says which campaigns it learned from."""
    scores = tmp_path / "outputs" / "scores" / "churn_risk.parquet"
    scores.parent.mkdir(parents=True)
    _write(tmp_path / "outputs" / "uplift", uplift_result, "2024-06-30", 1)
    pooled = tmp_path / "outputs" / "scores" / "pooled"
    _write(pooled, uplift_result, "2024-03-31 + 2024-08-31", 2)
    assert find_uplift(scores, as_of="2024-12-31") == (pooled / "uplift.json").resolve()  # latest campaign: Aug
    assert find_uplift(scores, as_of="2024-12-31", version="2") == (pooled / "uplift.json").resolve()
    assert find_uplift(scores, as_of="2024-12-31", version="1").parent.name == "uplift"
    # a list dated before the pooled model's later campaign does not take it, though its first campaign is earlier
    assert find_uplift(scores, as_of="2024-07-31").parent.name == "uplift"
    section = uplift_section(read_uplift(pooled))
    assert "2024-03-31 + 2024-08-31" in section["sentence"]["en"] and "2024-03-31 + 2024-08-31" in section["sentence"]["zh"]


def test_a_pooled_model_says_how_many_distinct_customers_it_learned_from(uplift_result):
    """'customers' of a pooled model counts a customer once per campaign (1,543 rows of 785 people on the demo with
    a second campaign); the report says so and names the campaigns, in both languages. One campaign: no such
    sentence."""
    pooled = uplift_result | {
        "campaign": "winter + spring", "campaign_date": "2024-03-31 + 2024-06-30", "customers": 13333,
        "distinct_customers": 7000, "held_out_customers": 2100,
        "campaigns": [{"campaign": "winter", "campaign_date": "2024-03-31", "customers": 6000},
                      {"campaign": "spring", "campaign_date": "2024-06-30", "customers": 7333}]}
    said = uplift_section(pooled)["sentence"]
    assert ("It pools 2 past campaigns (winter 2024-03-31, spring 2024-06-30): a customer counts once per campaign, "
            "so the 13,333 customers above are 7,000 distinct ones; the held-out judgement holds customers out whole "
            "(2,100 distinct held-out customers)") in said["en"]
    assert "该模型汇总了 2 次历史活动（winter 2024-03-31、spring 2024-06-30）" in said["zh"]
    assert "实为 7,000 位不同客户" in said["zh"] and "2,100 位不同的留出客户" in said["zh"]
    assert "pools" not in uplift_section(uplift_result)["sentence"]["en"]
    assert "汇总了" not in uplift_section(uplift_result)["sentence"]["zh"]
