"""Period tracking: a hand-made previous / current pair with every number computed by hand."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalist.config.models import TIERS
from loyalist.errors import DataQualityError, SchemaError
from loyalist.report.tracking import TRACKING_KEYS, compare_periods, score_trend, tier_counts


def _list(as_of: str, rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["customer_id", "loyalty_tier", "loyalty_score", "recency_days",
                                       "value_at_risk"]).assign(as_of=pd.Timestamp(as_of))


#       id   tier         score recency VaR
PREVIOUS = _list("2024-09-30", [
    ("A", "devoted", 92.0, 5.0, 10.0),
    ("B", "stable", 80.0, 8.0, 20.0),
    ("C", "at_risk", 65.0, 40.0, 30.0),
    ("D", "high_risk", 50.0, 100.0, 40.0),
    ("E", "high_risk", 40.0, 120.0, 50.0),
    ("F", "high_risk", 30.0, 200.0, 60.0),
])
CURRENT = _list("2024-12-31", [  # 92 days later
    ("A", "stable", 85.0, 10.0, 1.0),
    ("B", "devoted", 91.0, 5.0, 1.0),
    ("C", "devoted", 93.0, 20.0, 1.0),     # at risk -> devoted: recovered
    ("D", "stable", 76.0, 30.0, 1.0),      # high risk, ordered 30 days ago (< 92): won back, recovered
    ("E", "high_risk", 45.0, 92.0, 1.0),   # last order exactly on the previous as-of: not won back
    ("G", "at_risk", 70.0, 3.0, 1.0),      # new
])                                          # F is gone: counts as not won back


def test_hand_made_pair():
    t = compare_periods(PREVIOUS, CURRENT)
    assert set(t) == set(TRACKING_KEYS)
    assert t["previous_as_of"] == "2024-09-30" and t["current_as_of"] == "2024-12-31"
    assert t["days_between"] == 92
    assert t["customers"] == {"previous": 6, "current": 6, "both": 5, "new": 1, "gone": 1}
    assert t["win_back"] == {"previous_high_risk": 3, "won_back": 1, "still_listed": 2, "not_listed": 1,
                             "rate": pytest.approx(1 / 3)}
    assert t["devoted_share"]["previous"] == pytest.approx(1 / 6)
    assert t["devoted_share"]["current"] == pytest.approx(2 / 6)
    assert t["devoted_share"]["change"] == pytest.approx(1 / 6)
    assert t["value_at_risk_recovered"] == {"customers": 2, "value": 70.0, "previous_at_risk_value": 180.0,
                                            "share": pytest.approx(70 / 180)}
    assert t["tier_moves"] == {"up": 3, "same": 1, "down": 1}
    m = t["migration"]
    assert m["devoted"] == {"devoted": 0, "stable": 1, "at_risk": 0, "high_risk": 0, "gone": 0}
    assert m["stable"] == {"devoted": 1, "stable": 0, "at_risk": 0, "high_risk": 0, "gone": 0}
    assert m["at_risk"] == {"devoted": 1, "stable": 0, "at_risk": 0, "high_risk": 0, "gone": 0}
    assert m["high_risk"] == {"devoted": 0, "stable": 1, "at_risk": 0, "high_risk": 1, "gone": 1}
    assert m["new"] == {"devoted": 0, "stable": 0, "at_risk": 1, "high_risk": 0}
    assert t["mean_score"]["previous"] == pytest.approx(357 / 6)
    assert t["mean_score"]["current"] == pytest.approx(460 / 6)
    assert t["mean_score"]["both_previous"] == pytest.approx(327 / 5)
    shares = {r["tier"]: r for r in t["tiers"]}
    assert shares["high_risk"]["previous_customers"] == 3 and shares["high_risk"]["current_customers"] == 1
    assert shares["high_risk"]["change"] == pytest.approx(1 / 6 - 3 / 6)
    json.dumps(t, allow_nan=False)  # JSON-able, no NaN


def test_inputs_not_modified():
    before = PREVIOUS.copy(), CURRENT.copy()
    compare_periods(PREVIOUS, CURRENT)
    pd.testing.assert_frame_equal(PREVIOUS, before[0])
    pd.testing.assert_frame_equal(CURRENT, before[1])


def test_unknown_recency_and_no_high_risk():
    cur = CURRENT.assign(recency_days=float("nan"))
    assert compare_periods(PREVIOUS, cur)["win_back"]["won_back"] == 0
    prev = PREVIOUS.assign(loyalty_tier="stable")
    wb = compare_periods(prev, CURRENT)["win_back"]
    assert wb["previous_high_risk"] == 0 and wb["rate"] is None


def test_missing_tier_is_no_tier():
    cur = CURRENT.assign(loyalty_tier=CURRENT["loyalty_tier"].where(CURRENT["customer_id"] != "G"))
    t = compare_periods(PREVIOUS, cur)
    assert t["migration"]["new"]["no_tier"] == 1
    assert tier_counts(cur)["no_tier"] == 1


def test_errors_name_the_problem():
    with pytest.raises(DataQualityError, match="'as_of'.*older list to --previous"):
        compare_periods(CURRENT, PREVIOUS)
    with pytest.raises(SchemaError, match="'loyalty_tier'"):
        compare_periods(PREVIOUS.drop(columns="loyalty_tier"), CURRENT)
    with pytest.raises(DataQualityError, match="more than once in 'customer_id'"):
        compare_periods(pd.concat([PREVIOUS, PREVIOUS.head(1)]), CURRENT)


def test_score_trend_sorted_and_unique_dates():
    trend = score_trend([CURRENT, PREVIOUS])
    assert [r["as_of"] for r in trend] == ["2024-09-30", "2024-12-31"]
    assert trend[0]["mean_score"] == pytest.approx(59.5)
    assert trend[1]["shares"]["devoted"] == pytest.approx(2 / 6)
    with pytest.raises(DataQualityError, match="share an as-of date"):
        score_trend([CURRENT, CURRENT])


tier_lists = st.lists(st.sampled_from(TIERS), min_size=1, max_size=25)


@settings(max_examples=40, deadline=None)
@given(prev=tier_lists, cur=tier_lists, recency=st.lists(st.floats(0, 400), min_size=25, max_size=25))
def test_migration_adds_up(prev, cur, recency):
    p = pd.DataFrame({"customer_id": [f"c{i}" for i in range(len(prev))], "loyalty_tier": prev,
                      "loyalty_score": 50.0, "value_at_risk": 1.0, "as_of": pd.Timestamp("2024-01-31")})
    c = pd.DataFrame({"customer_id": [f"c{i}" for i in range(len(cur))], "loyalty_tier": cur,
                      "loyalty_score": 60.0, "recency_days": recency[: len(cur)], "as_of": pd.Timestamp("2024-04-30")})
    t = compare_periods(p, c)
    m = t["migration"]
    for tier in TIERS:  # each previous customer is in exactly one cell of its row
        assert sum(m[tier].values()) == prev.count(tier)
    assert sum(sum(v for k, v in row.items()) for name, row in m.items() if name != "new") == len(prev)
    assert sum(m["new"].values()) == t["customers"]["new"]
    assert t["tier_moves"]["up"] + t["tier_moves"]["same"] + t["tier_moves"]["down"] == t["customers"]["both"]
    wb = t["win_back"]
    assert 0 <= wb["won_back"] <= wb["still_listed"] <= wb["previous_high_risk"]
    if wb["rate"] is not None:
        assert 0.0 <= wb["rate"] <= 1.0
    assert sum(r["current_share"] for r in t["tiers"]) == pytest.approx(1.0)
