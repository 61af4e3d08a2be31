"""The report summary: every section's numbers recomputed from the scored list, golden cases by hand, privacy."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from loyalist.config.models import TIERS, ActionRule, ScoringJobConfig
from loyalist.errors import DataQualityError, SchemaError
from loyalist.report.inputs import CleanInputs
from loyalist.report.summarize import ReportOptions, resolve_actions, summarize
from loyalist.report.summarize_actions import match_action
from loyalist.report.text import fmt_pct


@pytest.fixture(scope="module")
def full(scored, list_summary, previous, clean) -> dict:
    return summarize(scored, list_summary, previous=[previous], clean=clean)


@pytest.fixture(scope="module")
def bare(scored) -> dict:
    """The list alone: no summary JSON, no previous list, no clean data."""
    return summarize(scored)


def test_json_able_and_sections(full):
    text = json.dumps(full, allow_nan=False, ensure_ascii=False)
    assert json.loads(text) == full
    for key in ("meta", "overview", "status", "segments", "diagnosis", "recommendations", "tracking", "appendix"):
        assert full[key], key
    assert full["meta"]["as_of"] == "2024-12-31" and full["meta"]["customers"] == 300


def test_input_not_modified(scored, list_summary):
    before = scored.copy()
    summarize(scored, list_summary)
    pd.testing.assert_frame_equal(scored, before)


def test_overview(full, scored, clean):
    scope = full["overview"]["scope"]
    assert scope["customers"] == len(scored)
    assert set(scope["industries"]) == set(scored["industry"])
    assert scope["start"] == "2024-01-02" and scope["lookback_days"] == 365
    rows = {r["table"]: r["rows"] for r in full["overview"]["sources"]["tables"]}
    assert rows["orders"] == len(clean.tables["orders"]) and rows["scored_list"] == 300
    findings = full["overview"]["findings"]
    assert 3 <= len(findings) <= 5
    devoted = (scored["loyalty_tier"] == "devoted").mean()
    assert fmt_pct(devoted) in findings[0]["zh"] and fmt_pct(devoted) in findings[0]["en"]


def test_status_numbers(full, scored, previous):
    st = full["status"]
    counts, _ = np.histogram(scored["loyalty_score"], bins=np.arange(0, 101, 10))
    assert [b["customers"] for b in st["distribution"]["bins"]] == counts.tolist()
    assert st["distribution"]["median"] == pytest.approx(scored["loyalty_score"].median())
    for row in st["tiers"]:
        share = (scored["loyalty_tier"] == row["tier"]).mean()
        prev = (previous["loyalty_tier"] == row["tier"]).mean()
        assert row["share"] == pytest.approx(share)
        assert row["change"] == pytest.approx(share - prev)
    assert sum(r["share"] for r in st["tiers"]) == pytest.approx(1.0)
    assert [r["as_of"] for r in st["trend"]] == ["2024-09-30", "2024-12-31"]
    assert st["trend"][1]["mean_score"] == pytest.approx(scored["loyalty_score"].mean())
    means = scored.groupby("industry")["loyalty_score"].mean()
    assert {r["industry"]: r["mean_score"] for r in st["industry_means"]} == pytest.approx(means.to_dict())


def test_repurchase_from_list_and_top_groups(bare, scored):
    rep = bare["status"]["repurchase"]
    assert rep["source"] == "list"
    assert rep["repeat"] == int((scored["n_orders"] >= 2).sum())
    assert rep["active"] == int((scored["n_orders"] >= 1).sum())
    assert rep["rate"] == pytest.approx(rep["repeat"] / rep["active"])
    assert fmt_pct(rep["rate"]) in rep["sentence"]["zh"]
    expected, every = [], []
    for dim in ("industry", "size", "region"):
        for value, x in scored.groupby(dim):
            active = int((x["n_orders"] >= 1).sum())
            row = (-(x["n_orders"] >= 2).sum() / active, -active, dim, value)
            every.append(row)
            if active >= 30:
                expected.append(row)
    top = [(d, v) for *_, d, v in sorted(expected if len(expected) >= 3 else every)[:3]]
    assert [(g["dimension"], g["group"]) for g in bare["status"]["top_groups"]] == top


def test_repurchase_and_stages_from_clean(full, clean):
    o = clean.tables["orders"]
    window = o[(o["order_date"] > pd.Timestamp("2024-01-01")) & (o["order_date"] <= pd.Timestamp("2024-12-31"))
               & (o["status"] == "completed")]
    per = window.groupby("customer_id").size()
    rep = full["status"]["repurchase"]
    assert (rep["source"], rep["repeat"], rep["active"]) == ("clean", int((per >= 2).sum()), int((per >= 1).sum()))
    t = clean.tables["tickets"]
    t = t[(t["created_at"] > pd.Timestamp("2024-01-01")) & (t["kind"] == "complaint")]
    per_stage = t.groupby("stage")["customer_id"].nunique()
    stage = full["status"]["complaint_stage"]
    assert stage["top"] == per_stage.idxmax()
    base = o.loc[(o["order_date"] > pd.Timestamp("2024-01-01")), "customer_id"].nunique()
    assert stage["stages"][0]["rate"] == pytest.approx(per_stage.max() / base)


def test_complaint_stage_from_list(bare, scored):
    has = (scored["top_complaint_stage"] != "") & (scored["n_complaints"] > 0)
    counts = scored.loc[has, "top_complaint_stage"].value_counts()
    stage = bare["status"]["complaint_stage"]
    assert stage["source"] == "list" and stage["top"] == counts.idxmax()
    assert stage["stages"][0]["rate"] == pytest.approx(counts.max() / len(scored))


def test_segments(full, scored):
    seg = full["segments"]
    for row in seg["by_tier"]:
        x = scored[scored["loyalty_tier"] == row["key"]]
        assert row["customers"] == len(x)
        assert row["mean_tenure"] == pytest.approx(x["tenure_months"].mean())
        counts = x["industry"].value_counts()
        assert row["top_industry"] == sorted(counts[counts == counts.max()].index)[0]
    assert [r["key"] for r in seg["by_tier"]] == [t for t in TIERS if (scored["loyalty_tier"] == t).any()]
    ev = scored["expected_value"].sort_values(ascending=False)
    deciles = seg["deciles"]
    assert [d["customers"] for d in deciles] == [30] * 10
    assert deciles[0]["expected_value"] == pytest.approx(ev.head(30).sum())
    assert deciles[-1]["cumulative_share"] == pytest.approx(1.0)
    assert sum(r["customers"] for r in seg["rfm"]["segments"]) == len(scored)
    profit = seg["profit"]
    assert profit["total"] == pytest.approx(scored["margin_total"].sum())
    assert profit["negative"] == int((scored["margin_total"] < 0).sum())
    assert profit["rate"] == pytest.approx(scored["margin_total"].sum() / scored["monetary_total"].sum())


def test_diagnosis(full, scored, list_summary):
    diag = full["diagnosis"]
    assert [d["feature"] for d in diag["global_drivers"]] == [d["feature"] for d in list_summary["global_drivers"]]
    assert diag["summary_sentences"][0]["en"].startswith("60% of at-risk customers")
    shares = {r["tier"]: r for r in diag["driver_shares"]}
    x = scored[(scored["loyalty_tier"] == "at_risk") & (scored["top_driver_group"] != "")]
    counts = x["top_driver_group"].value_counts()
    assert shares["at_risk"]["customers"] == len(x)
    assert shares["at_risk"]["leading_share"] == pytest.approx(counts.max() / len(x))
    assert sum(shares["at_risk"]["shares"].values()) == pytest.approx(1.0)
    freq = scored["purchase_frequency"]
    flagged = (scored["nps"] >= 50) & ((freq < 2) | (freq <= freq.quantile(0.2)))
    assert diag["flagged"]["count"] == int(flagged.sum()) > 0
    assert {r["customer_id"] for r in diag["flagged"]["customers"]} <= set(scored.loc[flagged, "customer_id"])
    assert any(str(int(flagged.sum())) in s["zh"] and "NPS" in s["zh"] for s in diag["sentences"])


def test_recommendations(full, scored):
    rec = full["recommendations"]
    top = scored.sort_values("value_at_risk", ascending=False).head(10)
    assert [r["customer_id"] for r in rec["plan_customers"]] == list(top["customer_id"])
    actions = ScoringJobConfig().actions
    for r, (_, row) in zip(rec["plan_customers"], top.iterrows()):
        rule = match_action(actions, row["loyalty_tier"], row["top_driver_group"], row["risk_band"])
        assert r["action"]["zh"] == rule.action_zh
        tier = scored.loc[scored["loyalty_tier"] == row["loyalty_tier"], "expected_days_to_churn"]
        days = min(rule.deadline_days, max(1, int(tier.median())))  # before the tier's median time to churn
        assert r["deadline"] == str((pd.Timestamp("2024-12-31") + pd.Timedelta(days=days)).date())
        if row["reason_1"]:
            assert r["problem"]["zh"] == row["reason_1"].split(" / ")[0]
    strategy = {r["tier"]: r for r in rec["strategy"]}
    assert strategy["devoted"]["department"]["zh"] == "大客户部"
    assert strategy["high_risk"]["share"] == pytest.approx((scored["loyalty_tier"] == "high_risk").mean())
    high = scored[scored["loyalty_tier"] == "high_risk"]
    assert strategy["high_risk"]["typical_traits"]["en"].startswith(
        f"median of {len(high):,} customers: last order {int(round(high['recency_days'].median()))} days ago, ")
    assert "3 months" not in strategy["high_risk"]["typical_traits"]["en"]  # not the template's example
    assert strategy["high_risk"]["template_traits"]["en"] == "no purchase for 3 months, or NPS < 30"
    cross = rec["crosssell"]
    eligible = scored["loyalty_tier"].isin(["devoted", "stable"]) & (scored["next_products"] != "")
    assert cross["customers"] == int(eligible.sum())
    assert {r["tier"] for r in cross["rows"]} <= {"devoted", "stable"}
    assert [t["tier"] for t in rec["plan_tiers"]] == ["high_risk", "at_risk", "stable", "devoted"]


def test_tracking_section_and_its_absence(full, bare):
    t = full["tracking"]
    assert t["previous_as_of"] == "2024-09-30" and t["customers"]["both"] == 240 and t["customers"]["gone"] == 30
    assert any("召回率" in s["zh"] for s in t["sentences"])
    assert bare["tracking"] is None
    assert any("--previous" in n["en"] for n in bare["notes"])


def test_appendix(full, scored):
    app = full["appendix"]
    top = scored.sort_values("value_at_risk", ascending=False).head(10)
    assert [r["customer_id"] for r in app["profiles"]] == list(top["customer_id"])
    first = top.iloc[0]
    assert app["indicators"][0]["repurchase_pct"] == pytest.approx(100 * first["repurchase_rate"])
    assert app["indicators"][0]["tier"] == first["loyalty_tier"]
    assert app["model_quality"]["churn"]["rows"][0] == {"scorer": "model", "roc_auc": 0.812, "pr_auc": 0.55,
                                                         "brier": 0.12, "calibration_error": 0.021}
    assert {r["rule"]: r["rows"] for r in app["data_quality"]["rules"]} == {
        "test_order": 3, "duplicate_key": 2, "incomplete_customer": 2}
    assert app["config"]["digest"] and app["config"]["actions_source"] == "list summary"
    assert app["versions"] == {"churn": ["3"], "value": ["2"]}


def test_unavailable_numbers_are_stated(bare):
    notes = " ".join(n["en"] for n in bare["notes"])
    assert "SHAP drivers: not available" in notes
    assert "Model quality beside baselines: not available" in notes
    assert "Data quality (rejects per rule): not available (no --clean folder given)" in notes
    assert bare["diagnosis"]["global_drivers"] == []
    assert bare["appendix"]["profiles"][0]["contact"] is None


def test_no_raw_pii_in_summary(full, factories):
    text = json.dumps(full, ensure_ascii=False)
    for raw in (factories.RAW_PHONE, factories.RAW_EMAIL, factories.RAW_COMPANY, "上海第"):
        assert raw not in text
    contacts = {r["contact"] for r in full["appendix"]["profiles"]}
    assert "139****5678" in contacts and "z***@example-raw.com" in contacts


def test_names_are_masked_again(factories, scored):
    raw = scored.assign(name=scored["name"].where(scored.index != 0, factories.RAW_COMPANY))
    s = summarize(raw)
    assert factories.RAW_COMPANY not in json.dumps(s, ensure_ascii=False)
    assert s["appendix"]["profiles"][0]["name"] == "*科技有限公司"


GOLDEN = pd.DataFrame({
    "customer_id": ["G1", "G2", "G3", "G4", "G5"],
    "as_of": pd.Timestamp("2024-06-30"),
    "loyalty_score": [95.0, 80.0, 70.0, 55.0, 85.0],
    "loyalty_tier": ["devoted", "stable", "at_risk", "high_risk", "stable"],
    "industry": ["it", "it", "retail", "retail", "it"],
    "n_orders": [5.0, 1.0, 2.0, 0.0, 3.0],
    "nps": [80.0, 60.0, 10.0, -20.0, 55.0],
    "purchase_frequency": [10.0, 1.0, 4.0, 0.5, 6.0],
    "top_complaint_stage": ["", "billing", "billing", "delivery", ""],
    "n_complaints": [0.0, 1.0, 2.0, 1.0, 0.0],
    "value_at_risk": [10.0, 50.0, 40.0, 30.0, 20.0],
    "expected_value": [100.0, 90.0, 80.0, 60.0, 70.0],
})


def test_golden_by_hand():
    s = summarize(GOLDEN, options=ReportOptions(top_n=3, min_group_customers=1))
    rep = s["status"]["repurchase"]
    assert (rep["repeat"], rep["active"], rep["rate"]) == (3, 4, 0.75)  # G1, G3, G5 of G1, G2, G3, G5
    # it: G1, G2, G5 active, G1 and G5 repeat = 2/3; retail: G3 active and repeat = 1/1
    groups = [(g["group"], g["rate"]) for g in s["status"]["top_groups"]]
    assert groups == [("retail", 1.0), ("it", pytest.approx(2 / 3))]
    stage = s["status"]["complaint_stage"]
    assert stage["top"] == "billing" and stage["stages"][0]["rate"] == 2 / 5 and stage["stages"][0]["complaints"] == 3
    # frequency quintile: 20th percentile of (10, 1, 4, 0.5, 6) = 0.9; NPS >= 50 and (freq < 2 or <= 0.9): G2
    assert s["diagnosis"]["flagged"]["count"] == 1
    assert s["diagnosis"]["flagged"]["customers"][0]["customer_id"] == "G2"
    assert [r["customer_id"] for r in s["recommendations"]["plan_customers"]] == ["G2", "G3", "G4"]
    assert {r["tier"]: r["share"] for r in s["status"]["tiers"]} == {
        "devoted": 0.2, "stable": 0.4, "at_risk": 0.2, "high_risk": 0.2}
    assert s["segments"]["deciles"] == []  # fewer than 10 customers with a value
    assert s["meta"]["missing_columns"]  # optional columns were absent, the report still renders numbers


def test_loyalty_table_input_derives_tenure_months_and_the_rfm_matrix():
    table = GOLDEN.assign(tenure_days=[365.25, 730.5, 0.0, 30.4375, 91.3125], rfm_r=[5, 5, 3, 1, 3],
                          rfm_f=[5, 1, 3, 1, 4], rfm_m=[5, 2, 3, 1, 4],
                          rfm_segment=["champions", "potential_loyalists", "loyal_customers", "lost", "loyal_customers"])
    s = summarize(table, options=ReportOptions(top_n=5))
    months = {r["customer_id"]: r["tenure_months"] for r in s["appendix"]["profiles"]}
    assert months["G1"] == pytest.approx(12.0) and months["G2"] == pytest.approx(24.0)
    matrix = s["segments"]["rfm"]["matrix"]  # R x FM = (F + M) / 2: (5, 5), (5, 1.5), (3, 3), (1, 1), (3, 4)
    assert matrix["r"] == [1, 3, 5] and matrix["fm"] == [1.0, 1.5, 3.0, 4.0, 5.0]
    assert matrix["counts"] == [[1, 0, 0, 0, 0], [0, 0, 1, 1, 0], [0, 1, 0, 0, 1]]
    segments = {r["segment"]: r["customers"] for r in s["segments"]["rfm"]["segments"]}
    assert segments == {"champions": 1, "loyal_customers": 2, "potential_loyalists": 1, "lost": 1}


def test_actions_from_argument_and_defaults(scored):
    rule = ActionRule(tier="any", action_zh="致电", action_en="Call", department_zh="销售部", department_en="Sales",
                      deadline_days=7)
    s = summarize(scored.head(20), actions=[rule])
    assert s["meta"]["actions_source"] == "argument"
    assert {r["action"]["en"] for r in s["recommendations"]["plan_customers"]} == {"Call"}
    assert s["recommendations"]["plan_customers"][0]["deadline"] == "2025-01-07"
    assert resolve_actions(None, {"config": {"scoring_job": {"actions": [{"bad": 1}]}}})[1] == "defaults"


def test_control_group_customers_get_no_action_in_the_plan(scored):
    """Issue 16 §1: a customer the list holds out (control_group) shows as control, with no department or deadline."""
    top = scored.sort_values(["value_at_risk", "customer_id"], ascending=[False, True]).head(20)
    held = top["customer_id"].iloc[[0, 3]].tolist()
    marked = top.assign(control_group=pd.array(top["customer_id"].isin(held).to_numpy(), dtype="boolean"))
    plan = summarize(marked, options=ReportOptions(top_n=10))["recommendations"]["plan_customers"]
    for r in plan:
        assert r["control_group"] == (r["customer_id"] in held)
        if r["control_group"]:
            assert r["action"]["en"].startswith("Control group") and r["department"] is None and r["deadline"] is None
        else:
            assert r["action"] is not None and not r["action"]["en"].startswith("Control group")


def test_errors_by_message(scored):
    with pytest.raises(SchemaError, match="'loyalty_tier'"):
        summarize(scored.drop(columns="loyalty_tier"))
    two_dates = scored.assign(as_of=[pd.Timestamp("2024-12-31")] * 299 + [pd.Timestamp("2024-11-30")])
    with pytest.raises(DataQualityError, match="2 distinct 'as_of' dates"):
        summarize(two_dates)
    with pytest.raises(DataQualityError, match="no rows"):
        summarize(scored.head(0))


def test_previous_lists_after_the_current_are_ignored(scored, previous):
    later = previous.assign(as_of=pd.Timestamp("2025-03-31"))
    s = summarize(scored, previous=[later])
    assert s["tracking"] is None and s["meta"]["previous_as_of"] == []
    assert any("2025-03-31" in n["en"] and "ignored" in n["en"] for n in s["notes"])


def test_clean_without_tickets_falls_back_to_the_list(scored, clean):
    partial = CleanInputs(tables={"orders": clean.tables["orders"]}, rejects=None, rows=None)
    s = summarize(scored, clean=partial)
    assert s["status"]["complaint_stage"]["source"] == "list"
    assert s["status"]["repurchase"]["source"] == "clean"
    assert not s["appendix"]["data_quality"]["available"]


def test_repurchase_window_includes_the_whole_as_of_day(scored):
    """A cut-off date D means the end of D: an order at 14:00 on D is in the window, one at 14:00 on D+1 is not."""
    from loyalist.report.inputs import CleanInputs
    from loyalist.report.summarize_base import Context, ReportOptions
    from loyalist.report.summarize_status import repurchase_block

    orders = pd.DataFrame({
        "order_id": ["a", "b", "c", "d"], "customer_id": ["C1", "C1", "C2", "C2"],
        "order_date": pd.to_datetime(["2024-06-01 00:00", "2024-12-31 14:00", "2024-06-01 00:00", "2025-01-01 14:00"]),
        "amount": [1.0, 1.0, 1.0, 1.0], "status": ["completed"] * 4,
    })
    ctx = Context(scores=scored, summary={}, previous=[], clean=CleanInputs(tables={"orders": orders}), actions=[],
                  options=ReportOptions(), as_of=pd.Timestamp("2024-12-31"), lookback_days=365)
    block = repurchase_block(ctx)
    assert (block["repeat"], block["active"]) == (1, 2)  # C1 ordered twice by the end of D; C2's second is D+1


def test_scoring_notes_reach_the_report(scored, list_summary):
    from loyalist.report.render import render_html
    from loyalist.report.summarize import summarize

    note = "the 100-day horizon covers calendar months no training label covered; anchored to BG/NBD"
    summary = summarize(scored, {**list_summary, "notes": [note]})
    assert [n["en"] for n in summary["model_notes"]] == [f"Note from the scoring job: {note}"]
    assert "anchored to BG/NBD" in render_html(summary, "en") and "评分作业提示" in render_html(summary, "zh")


def test_the_level_warning_reaches_the_report_in_both_languages(scored, list_summary):
    """The level rule's warning (the scoring summary's ``level``: months of the horizon no training label covered)
    is worded in Chinese and English, once: the scoring job's English note for it is not repeated."""
    from loyalist.report.render import render_html
    from loyalist.report.summarize import summarize

    note = "the 100-day horizon after 2010-08-31 covers calendar months no training label covered (Sep, Oct)"
    level = {"value": {"method": "bgnbd_anchor", "months": [9, 10], "horizon_days": 100, "factor": 1.078,
                       "power": 1.0, "note": note},
             "churn": {"method": "seasonal_index", "months": [12], "horizon_days": 90, "factor": 1.0,
                       "power": 1.25, "note": "..."}}
    other = "The churn model predicts a 90-day horizon; the config says 120 days: the model's horizon is used."
    summary = summarize(scored, {**list_summary, "level": level, "notes": [f"The value model: {note}", other]})
    texts = summary["model_notes"]
    assert len(texts) == 3 and texts[2]["en"] == f"Note from the scoring job: {other}"
    value, churn = texts[0], texts[1]
    assert value["en"].startswith("Warning: the value model's 100-day horizon covers calendar months no training "
                                  "label covered (Sep, Oct); the history holds no earlier year")
    assert "(x1.078)" in value["en"] and "9月、10月" in value["zh"] and "价值模型" in value["zh"]
    assert "×1.078" in value["zh"] and "BG/NBD" in value["zh"]
    assert "seasonal index from earlier years (purchase rate x1.250, which lowers the churn probabilities)" in churn["en"]
    assert "12月" in churn["zh"]
    assert "季节指数" in churn["zh"] and "流失模型" in churn["zh"]
    assert "Sep, Oct" in render_html(summary, "en") and "9月、10月" in render_html(summary, "zh")


def test_survival_curves_per_tier_and_deadlines_before_the_median_time_to_churn(scored):
    from loyalist.report.summarize_actions import survival_by_tier

    rows = {r["tier"]: r for r in survival_by_tier(scored)}
    assert set(rows) == set(scored["loyalty_tier"])
    high = scored[scored["loyalty_tier"] == "high_risk"]
    assert rows["high_risk"]["points"][1] == {"days": 90, "share": pytest.approx(high["p_active_90d"].mean())}
    assert rows["high_risk"]["median_days_to_churn"] == pytest.approx(high["expected_days_to_churn"].median())
    # a tier that churns within days: its plan deadline comes forward from the action table's days
    fast = scored.assign(expected_days_to_churn=np.where(scored["loyalty_tier"] == "high_risk", 3.0, 300.0))
    rec = summarize(fast)["recommendations"]
    tiers = {r["tier"]: r for r in rec["plan_tiers"]}
    assert tiers["high_risk"]["deadline"] == "2025-01-03"
    assert tiers["high_risk"]["deadline_basis"]["en"] == "before the tier's median time to churn (3 days)"
    assert tiers["devoted"]["deadline_basis"]["en"].startswith("action table")
    assert tiers["high_risk"]["deadline_soon"] and not tiers["devoted"]["deadline_soon"]
    # without the columns (an older list) there is no curve and the action table decides
    old = summarize(scored.drop(columns=["p_active_30d", "p_active_90d", "p_active_180d", "expected_days_to_churn"]))
    assert old["recommendations"]["survival"] == []
    assert all(r["deadline_basis"]["en"].startswith("action table") for r in old["recommendations"]["plan_tiers"])


def test_survival_calibration_from_the_list_summary(full, bare):
    share = full["recommendations"]["survival_calibration"]
    assert share["cutoff"] == "2024-09-30" and [r["period"] for r in share["rows"]] == [0, 1, 2]
    assert any("2.0 percentage points, and 1.0 when anchored" in s["en"]
               for s in full["recommendations"]["sentences"])
    assert share["rows"][1]["predicted_anchored_share"] == pytest.approx(0.41)
    assert bare["recommendations"]["survival_calibration"] is None


def test_the_revenue_basis_says_in_money_what_spend_counts_and_leaves_out():
    """Online Retail: spend counted completed orders only, while 4,368 cancelled orders, 307,939 cut by the
    extreme-amount cap and 1.19M of guest sales were nowhere in the report; the data-quality block now says so."""
    from loyalist.report.summarize_appendix import revenue_basis

    orders = pd.DataFrame({
        "order_id": ["1", "2", "C3", "R4"], "customer_id": ["a", "b", "a", "b"],
        "order_date": pd.to_datetime(["2024-01-02", "2024-03-01", "2024-03-02", "2024-06-30"]),
        "amount": [100.0, 50.75, -20.0, -5.0], "status": ["completed", "completed", "cancelled", "returned"]})
    rejects = pd.DataFrame({
        "table": ["orders", "orders", "orders", "customers"],
        "rule": ["extreme_amount", "missing_required", "missing_required", "missing_required"],
        "column": ["amount", "customer_id", "customer_id", "customer_id"],
        "reason": ["'amount' 1224.0 -> 100.0 (capped at the 0.999 quantile ...)", "", "", ""],
        "record": ['{"amount":1224.0}', '{"amount":"£1,000.50"}', '{"amount":-0.5}', '{"amount":7}'],
    })
    r = revenue_basis(orders, rejects)
    assert (r["completed_orders"], r["completed_amount"]) == (2, 150.75)
    assert (r["cancelled_orders"], r["cancelled_amount"], r["returned_orders"]) == (1, -20.0, 1)
    assert (r["capped_rows"], r["capped_amount_removed"]) == (1, 1124.0)
    assert (r["no_customer_rows"], r["no_customer_amount"]) == (2, 1000.0)  # the customers table's row is not sales
    assert r["sentence"]["en"] == (
        "Spend, RFM, expected value and the models count completed orders only; the clean data (2024-01-02 .. "
        "2024-06-30, the whole period, not only the look-back window) holds 2 completed orders, 151 in all (capping 1 "
        "extreme amounts removed 1,124); not counted: 1 cancelled orders (-20); 1 returned orders (-5); 2 rows "
        "without a customer id (guest or anonymous sales, 1,000, rejected).")
    assert "不计入：1 笔取消订单（-20）" in r["sentence"]["zh"]
    assert revenue_basis(None, rejects) is None


def test_a_high_risk_tier_far_above_the_models_churn_gets_a_caution(factories):
    """Online Retail II (a wholesaler): 92.4% high risk by the rule score while the churn model expected 45.5% to
    place no order, and 55.1% of the earlier high-risk customers ordered again; the report said only "92.4% high
    risk". The caution comes right after the tier shares, in the findings and in the status section."""
    make_list_summary, make_previous = factories.list_summary, factories.previous
    df = factories.scored_list(200, seed=5)
    wholesale = df.assign(loyalty_tier="high_risk", churn_probability=0.45)
    s = summarize(wholesale, list_summary=make_list_summary(wholesale), previous=[make_previous(wholesale)])
    gap = s["status"]["tier_model_gap"]
    assert gap["en"].startswith("Caution: 100.0% of customers are high risk by the rule score, while the churn "
                                "model expects 45.0% to place no order in the next ")
    assert "of the previous period's high-risk customers ordered again" in gap["en"]
    assert "devoted >= 90, stable >= 75, at risk >= 60" in gap["en"] and "铁杆忠诚 ≥ 90" in gap["zh"]
    assert s["overview"]["findings"][1] == gap and gap in s["status"]["sentences"]
    # not scored with the wholesale preset: the caution names it, in both languages
    assert gap["en"].endswith("and set scoring.tiers; if customers order every few weeks or months (wholesale, "
                              "distribution), prepare the data again with 'loyalist prepare --preset wholesale': "
                              "repurchase rate and frequency are scored by their percentile among your own customers, "
                              "with tiers at 80/60/40.")
    assert "'loyalist prepare --preset wholesale'" in gap["zh"] and gap["zh"].endswith("等级阈值为 80/60/40。")
    # already scored with it: the caution stays (the gap is measured, not assumed away) without suggesting it again
    summary = make_list_summary(wholesale)
    summary["config"] = {**summary["config"], "preset": "wholesale",
                         "scoring": {**summary["config"]["scoring"],
                                     "tiers": {"devoted": 80.0, "stable": 60.0, "at_risk": 40.0}}}
    gap = summarize(wholesale, list_summary=summary)["status"]["tier_model_gap"]
    assert gap["en"].endswith("and set scoring.tiers.") and "--preset" not in gap["zh"]
    assert "devoted >= 80, stable >= 60, at risk >= 40" in gap["en"]
    # tiers that agree with the model: no caution
    s = summarize(df, list_summary=make_list_summary(df))
    assert s["status"]["tier_model_gap"] is None
    assert not any("Caution" in f["en"] for f in s["overview"]["findings"])


def test_the_scope_names_the_lapsed_customers_the_list_leaves_out():
    """CDNOW sample: 812 of 2,357 customers are scored (an order in the look-back year) and the report said only
    "812 customers"; the scope now names the 1,545 lapsed ones. Pseudonymised lists (other ids) say nothing."""
    from loyalist.report.inputs import CleanInputs
    from loyalist.report.summarize_base import Context, ReportOptions
    from loyalist.report.summarize_status import lapsed_customers, scope_block

    orders = pd.DataFrame({
        "customer_id": ["A", "B", "C", "D", "E"],
        "order_date": pd.to_datetime(["2024-06-01 00:00", "2022-03-01 00:00", "2023-01-01 00:00", "2024-12-31 23:00",
                                     "2025-01-02 00:00"]),
        "amount": [1.0] * 5, "status": ["completed", "completed", "cancelled", "completed", "completed"],
    })
    listed = pd.DataFrame({"customer_id": ["A", "D"], "industry": [None, None], "size": [None, None],
                           "region": [None, None]})

    def ctx(scores):
        return Context(scores=scores, summary={}, previous=[], clean=CleanInputs(tables={"orders": orders}),
                       actions=[], options=ReportOptions(), as_of=pd.Timestamp("2024-12-31"), lookback_days=365)

    # B ordered before the window; C only cancelled; E after the as-of day
    assert lapsed_customers(ctx(listed)) == 1
    scope = scope_block(ctx(listed))["sentence"]
    assert scope["en"].endswith("as of 2024-12-31. 1 more customers ordered before the look-back window but not in it "
                                "(lapsed); they are not in the list or the tier counts.")
    assert "另有 1 位客户" in scope["zh"]
    assert lapsed_customers(ctx(listed.assign(customer_id=["p1", "p2"]))) is None


def test_the_revenue_basis_states_non_product_lines_and_flagged_amounts():
    """Online Retail: 1,799 postage, manual, carriage, discount and fee lines counted as purchases; now they are
    set aside as non_product and the report says how many and how much. With extreme_amounts: flag, the lines above
    the threshold are counted in full and the sentence says by how much they exceed it."""
    from loyalist.config.models import CleaningConfig
    from loyalist.data.clean import clean_tables
    from loyalist.report.summarize_appendix import revenue_basis

    raw = pd.DataFrame({
        "order_id": ["1", "1", "1", "1", "2", "C3", "4"], "customer_id": ["a", "a", "a", "a", "b", "a", "b"],
        "order_date": ["2024-01-02"] * 4 + ["2024-01-03", "2024-01-04", "2024-01-05"],
        "product_id": ["85123A", "21232", "22111", "POST", "M", "M", "22423"],
        "amount": ["100", "10", "20", "18", "250.5", "-99.5", "5000"],
        "status": ["completed"] * 5 + ["cancelled", "completed"]}, dtype=object)
    result = clean_tables({"orders": raw}, CleaningConfig(non_product_codes=["^(?:post|m)$"], extreme_amounts="flag",
                                                          extreme_quantile=0.6))
    r = revenue_basis(result.tables["orders"], result.rejects)
    assert (r["non_product_lines"], r["non_product_amount"], r["non_product_cancelled_amount"]) == (3, 268.5, -99.5)
    assert (r["flagged_rows"], r["flagged_amount_above"], r["capped_rows"]) == (1, 4900.0, 0)
    assert r["completed_amount"] == 5130.0  # the flagged line counts in full
    assert r["sentence"]["en"] == (
        "Spend, RFM, expected value and the models count completed orders only; the clean data (2024-01-02 .. "
        "2024-01-05, the whole period, not only the look-back window) holds 2 completed orders, 5,130 in all (1 "
        "extreme amounts are flagged but counted in full, 4,900 above the threshold); not counted: 3 lines with "
        "non-product codes (postage, carriage, fees, discounts, manual adjustments: M, POST; 268 on lines not "
        "cancelled, -100 on cancelled ones; see data.cleaning.non_product_codes; rejected).")
    assert "3 行非商品代码" in r["sentence"]["zh"] and "1 行极端金额已标记但全额计入" in r["sentence"]["zh"]


def test_typical_traits_are_this_datas_medians_not_the_templates_example():
    """Online Retail II: the strategy table's "typical traits" were the source template's example ("no purchase for
    3 months, or NPS < 30", "tenure > 2 years") beside a 60-day guard and one year of data; they now state the
    tier's medians, and a tier without customers shows the example marked as such."""
    from loyalist.report.summarize_actions import observed_traits

    tier = pd.DataFrame({"recency_days": [50.0, 56.0, 90.0], "purchase_frequency": [2.0, 4.06, 6.0],
                         "tenure_months": [5.0, 11.0, 12.0], "repurchase_rate": [0.2, 0.4, 0.5],
                         "nps": [float("nan")] * 3})
    assert observed_traits(tier, "high_risk") == {
        "zh": "3 位客户的中位数：最近一次消费在 56 天前，每年消费 4.1 次，合作 11 个月，月度复购率 40%",
        "en": "median of 3 customers: last order 56 days ago, 4.1 orders a year, tenure 11 months, monthly "
              "repurchase rate 40%"}
    assert observed_traits(tier.iloc[:0], "devoted")["en"] == (
        "no customers this period (the template's example: high repurchase, high NPS, few complaints, tenure > 2 years)")
    assert observed_traits(tier[["nps"]], "at_risk")["zh"] == "范本示例：消频下降，或近期有投诉记录"


def test_small_groups_do_not_head_the_repeat_rate_ranking_and_counts_are_shown():
    """Online Retail II: region Austria (10 customers, 90%) and Belgium (15, 80%) headed "the three customer groups
    with the highest repeat-customer rate" above France (45) and the UK (3,900); groups now need 30 active
    customers, and the sentence gives each group's size."""
    from loyalist.report.summarize import summarize
    from loyalist.report.summarize_base import ReportOptions

    assert ReportOptions().min_group_customers == 30
    rows = []
    for region, n, repeat in (("Austria", 10, 9), ("Belgium", 15, 12), ("France", 45, 35), ("Germany", 60, 40),
                              ("United Kingdom", 300, 150)):
        rows += [{"region": region, "n_orders": 2.0 if i < repeat else 1.0} for i in range(n)]
    base = GOLDEN.iloc[[0]].drop(columns=["industry", "n_orders"])
    df = base.loc[base.index.repeat(len(rows))].reset_index(drop=True).assign(
        customer_id=[f"C{i:04d}" for i in range(len(rows))], region=[r["region"] for r in rows],
        n_orders=[r["n_orders"] for r in rows])
    s = summarize(df)
    assert [g["group"] for g in s["status"]["top_groups"]] == ["France", "Germany", "United Kingdom"]
    text = next(x for x in s["status"]["sentences"] if "highest repeat-customer rate" in x["en"])
    assert "(77.8% of 45 customers)" in text["en"] and "（77.8%，45 位客户）" in text["zh"]


def test_the_score_sentences_use_the_lists_high_risk_bound(factories):
    """With the wholesale preset (tiers 80/60/40) the report said "64.6% of customers score below 60" and "45.7% are
    high risk although only 64.6% score below 60" (Online Retail II at 2010-12-09): 60 is the stable bound there;
    the high-risk tier is a score below 40 plus the guards' customers."""
    from loyalist.config.load import load_config
    from loyalist.scoring.tiers import assign_tiers

    df = factories.scored_list(200, seed=5)
    scores = pd.Series(np.linspace(0.0, 99.5, len(df)), index=df.index)
    tiers = load_config([], preset="wholesale").scoring.tiers
    tier = assign_tiers(scores, tiers).astype("string")
    guarded = (scores >= 40) & (scores < 60) & (np.arange(len(df)) % 4 == 0)  # 10 at-risk customers moved down
    df = df.assign(loyalty_score=scores, loyalty_tier=tier.where(~guarded, "high_risk"),
                   tier_reason=pd.Series("score", index=df.index, dtype="string").where(
                       ~guarded, "guard:no_order_120_days (recency_days 150 > 120)"))
    summary = factories.list_summary(df)
    summary["config"] = load_config([], preset="wholesale").model_dump(mode="json")
    status = summarize(df, list_summary=summary)["status"]
    below_40 = float((scores < 40).mean())  # 80 of 200
    assert status["distribution"]["below_at_risk"] == pytest.approx(below_40)
    assert status["distribution"]["at_risk_bound"] == 40.0
    assert status["distribution"]["tier_bounds"] == {"devoted": 80.0, "stable": 60.0, "at_risk": 40.0}
    en = [t["en"] for t in status["sentences"]]
    assert any(t.endswith("40.0% of customers score below 40 (the high-risk bound).") for t in en), en
    guard = next(t for t in en if t.startswith("Beyond the score"))
    assert "No order in 120 days moved 10 customers" in guard
    assert guard.endswith("so 45.0% of customers are high risk although only 40.0% score below 40."), guard
    zh = [t["zh"] for t in status["sentences"]]
    assert any("得分低于 40 分（高风险流失线）" in t for t in zh) and any("而得分低于 40 的只有 40.0%" in t for t in zh)
    # the defaults' lists keep 60
    summary["config"] = load_config([]).model_dump(mode="json")
    status = summarize(df, list_summary=summary)["status"]
    assert status["distribution"]["at_risk_bound"] == 60.0
    assert any(t["en"].endswith("60.0% of customers score below 60 (the high-risk bound).") for t in status["sentences"])


def test_a_score_trend_with_percentile_indicators_says_the_mean_hides_their_level(factories):
    """Online Retail II with the wholesale preset: "The mean score moved from 47.4 on 2010-09-09 to 47.4 on
    2010-12-09 (+0.0)": repurchase rate and frequency are ranked within each list, so their level cannot move the
    mean; the report now says so and where to look instead. Lists with absolute scales say nothing more."""
    from loyalist.config.load import load_config

    df = factories.scored_list(200, seed=5)
    summary = factories.list_summary(df)
    summary["config"] = load_config([], preset="wholesale").model_dump(mode="json")
    s = summarize(df, list_summary=summary, previous=[factories.previous(df)])
    en = [t["en"] for t in s["status"]["sentences"]]
    i = next(i for i, t in enumerate(en) if t.startswith("The mean score moved"))
    assert en[i + 1] == ("Monthly repurchase rate and purchase frequency are scored by percentile among each list's own "
                         "customers, so a rise or fall of their overall level does not show in the mean score; judge the trend by "
                         "tier migration, win-back and observed churn.")
    assert s["status"]["sentences"][i + 1]["zh"].endswith("按本期客户的百分位计分（每期都与当期客户相比），其整体水平的升降不会体现在平均得分中；"
                                                        "判断趋势请看等级迁移、召回率与实际流失。")
    s = summarize(df, list_summary=factories.list_summary(df), previous=[factories.previous(df)])
    assert not any("by percentile" in t["en"] for t in s["status"]["sentences"])
