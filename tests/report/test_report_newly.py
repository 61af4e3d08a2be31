"""The report's "newly at risk" view (issue 11 §4): active customers whose churn risk rose since the previous list,
as ``loyalist score --previous`` defines them, in the summary and both languages of the page."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from markupsafe import escape

from loyalist.batch.risk_list import newly_at_risk
from loyalist.report.render import render_html
from loyalist.report.summarize import summarize


@pytest.fixture(scope="module")
def with_previous(scored, list_summary, previous) -> dict:
    return summarize(scored, list_summary, previous=[previous])


def test_the_report_shows_the_newly_at_risk_customers_of_the_previous_list(with_previous, scored, previous):
    block = with_previous["newly_at_risk"]
    listed, expected = newly_at_risk(scored, previous, top=10)
    assert block["source"] == "previous list"
    assert block["previous_as_of"] == str(previous["as_of"].iloc[0].date()) == expected["previous_as_of"]
    assert block["customers"] == int(listed["newly_at_risk"].sum()) == expected["customers"] > 0
    assert block["rising"] == expected["rising"] > block["customers"]
    assert [r["customer_id"] for r in block["top"]] == [r["customer_id"] for r in expected["top"]]
    assert len(block["top"]) == 10  # the report's top_n, largest rise first, every one of them active and rising
    changes = [r["churn_probability_change"] for r in block["top"]]
    assert changes == sorted(changes, reverse=True) and min(changes) > 0
    active = scored.set_index("customer_id")["recency_days"]
    assert all(active[r["customer_id"]] <= block["active_days"] == 90 for r in block["top"])
    first = block["top"][0]
    assert first["reason"] is None or set(first["reason"]) == {"zh", "en"}
    assert block["sentence"]["en"].startswith(
        f"Since the previous list ({block['previous_as_of']}), {block['customers']:,} active customers")
    json.dumps(with_previous, allow_nan=False, ensure_ascii=False)
    for lang in ("zh", "en"):
        page = render_html(with_previous, lang)
        assert 'id="newly-at-risk"' in page and str(escape(block["sentence"][lang])) in page
        assert f"<td>{first['customer_id']}</td>" in page


def test_the_lists_active_window_is_used_with_a_previous_list(scored, list_summary, previous):
    # the list's config (features.active_days) defines active, as in 'loyalist score --previous'; it was 90 always
    config = {**(list_summary.get("config") or {}), "features": {"active_days": 30}}
    block = summarize(scored, dict(list_summary, config=config), previous=[previous])["newly_at_risk"]
    _, expected = newly_at_risk(scored, previous, active_days=30, top=10)
    assert block["active_days"] == 30 and block["customers"] == expected["customers"]
    assert block["rising"] == expected["rising"] < newly_at_risk(scored, previous, top=10)[1]["rising"]
    assert "(an order in the last 30 days)" in block["sentence"]["en"]


def test_without_a_previous_list_the_scoring_jobs_block_is_shown(scored, list_summary):
    given = {"previous_as_of": "2024-09-30", "active_days": 90, "customers": 2, "rising": 5, "top": [
        {"customer_id": "C0007", "churn_probability_previous": 0.31, "churn_probability": 0.74,
         "churn_probability_change": 0.43, "risk_band_previous": "medium", "risk_band": "very_high",
         "reason_1": "无订单已 120 天（通常每 30 天下单一次） / 120 days since last order; usually every 30 days"}]}
    out = summarize(scored, dict(list_summary, newly_at_risk=given))
    block = out["newly_at_risk"]
    assert block["source"] == "list summary" and (block["customers"], block["rising"]) == (2, 5)
    assert block["top"][0]["reason"] == {"zh": "无订单已 120 天（通常每 30 天下单一次）",
                                         "en": "120 days since last order; usually every 30 days"}
    page = render_html(out, "en")
    assert "Since the previous list (2024-09-30), 2 active customers" in page
    assert "31.0% → 74.0%" in page and "+43.0 pp" in page and "120 days since last order; usually every 30" in page


def test_no_newly_at_risk_view_without_an_earlier_list(scored, list_summary):
    out = summarize(scored, list_summary)
    assert out["newly_at_risk"] is None
    assert 'id="newly-at-risk"' not in render_html(out, "zh")
    # an earlier list without the risk columns (e.g. a hand-made file) gives no view rather than an error
    bare = scored.drop(columns=["churn_probability", "risk_band"]).assign(as_of=pd.Timestamp("2024-09-30"))
    assert summarize(scored, list_summary, previous=[bare])["newly_at_risk"] is None
