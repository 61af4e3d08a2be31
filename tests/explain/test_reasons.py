"""Tests of loyalist.explain.reasons: feature texts, number formats, typical values and the top reasons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loyalist.errors import ConfigError, SchemaError
from loyalist.explain import explain, with_model_features
from loyalist.explain.reasons import (
    ALL_KEY,
    FEATURE_TEXT,
    GROUPS,
    PROXY_FEATURES,
    actionable_contributions,
    feature_group,
    format_value,
    reason_text,
    top_reasons,
    typical_values,
)
from loyalist.features.columns import CATEGORICAL_COLUMNS, FEATURE_COLUMNS, FEATURE_GROUPS
from loyalist.modeling.btyd.features import BTYD_FEATURES

ALL_FEATURES = [*FEATURE_COLUMNS, *BTYD_FEATURES, *CATEGORICAL_COLUMNS]


# ------------------------------------------------------------------------------------------------ texts


@pytest.mark.parametrize("feature", ALL_FEATURES)
def test_every_model_feature_has_text_in_both_languages(feature) -> None:
    entry = FEATURE_TEXT[feature]
    assert entry["zh"] and entry["en"]
    assert entry["group"] in GROUPS
    assert "{value}" in entry["reason_zh"] and "{value}" in entry["reason_en"]
    sample = "after_sales" if entry["format"] == "category" else 0.25
    text = reason_text(feature, sample, sample)
    zh, en = text.split(" / ")
    assert zh and en
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh)  # Chinese characters in the Chinese part
    assert en.isascii()
    shown = "after" if entry["format"] == "category" else format_value(0.25, entry["format"])
    assert shown in en


def test_groups_follow_the_columns_contract_and_the_documented_btyd_mapping() -> None:
    for group, feats in FEATURE_GROUPS.items():
        for f in feats:
            assert feature_group(f) == group
    assert [feature_group(f) for f in BTYD_FEATURES] == ["recency", "recency", "frequency", "value", "value"]
    assert {f: feature_group(f) for f in CATEGORICAL_COLUMNS} == {
        "industry": "profile", "size": "profile", "region": "profile",
        "top_complaint_stage": "complaints", "rfm_segment": "recency",
    }
    assert feature_group("my_own_feature") == "other"


@pytest.mark.parametrize(
    ("value", "fmt", "expected"),
    [
        (142.0, "days", "142"),
        (1234567.8, "money", "1,234,568"),
        (-1500.0, "money", "-1,500"),
        (0.25, "pct", "25%"),
        (0.031, "pct", "3.1%"),
        (0.0, "pct", "0%"),
        (-0.4, "signed_pct", "-40%"),
        (0.05, "signed_pct", "+5%"),
        (3.0, "count", "3"),
        (3.5, "count", "3.5"),
        (0.923, "stability", "0.92"),
        (12.34, "per_year", "12.3"),
        (-0.2, "nps", "0"),
        (float("nan"), "days", ""),
        (None, "money", ""),
    ],
)
def test_format_value(value, fmt, expected) -> None:
    assert format_value(value, fmt) == expected


def test_reason_text_states_the_customer_value_and_the_typical_value() -> None:
    assert reason_text("recency_days", 142, 35) == (
        "无订单已 142 天（同类客户通常 35 天） / 142 days since last order (similar customers: 35)"
    )
    assert reason_text("monetary_total", 1234567.8, 98765.4) == (
        "统计期内消费 1,234,568（同类客户通常 98,765） / spend of 1,234,568 in the period (similar customers: 98,765)"
    )
    assert reason_text("n_complaints_recent", 1, 0) == (
        "近期投诉 1 次（同类客户通常 0 次） / 1 recent complaint (similar customers: 0)"
    )
    assert reason_text("recency_days", 142, None) == "无订单已 142 天 / 142 days since last order"
    assert reason_text("nps", np.nan, 40) == "NPS值：无数据（同类客户通常 40） / NPS: no data (similar customers: 40)"
    assert reason_text("top_complaint_stage", "after_sales", "delivery") == (
        "投诉集中在售后环节 / complaints mostly about after-sales"
    )
    assert reason_text("rfm_segment", "at_risk", "loyal_customers") == (
        "RFM 分群：有流失风险（同类客户多为忠诚客户） / RFM segment: at risk (most similar customers: loyal customers)"
    )


# ------------------------------------------------------------------------------------------------ typical values


@pytest.fixture()
def small() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "industry": pd.array(["it", "it", "it", "retail", "retail", None], dtype="str"),
            "recency_days": [10.0, 20.0, 90.0, 5.0, 7.0, 400.0],
            "nps": [50.0, np.nan, -100.0, 100.0, 0.0, 0.0],
            "rfm_segment": pd.array(["lost", "champions", "champions", "lost", "lost", "lost"], dtype="str"),
        },
        index=pd.Index([5, 6, 7, 8, 9, 10]),
    )


def test_typical_values_are_medians_per_industry_and_overall(small) -> None:
    before = small.copy()
    typ = typical_values(small, "industry", min_size=2)
    pd.testing.assert_frame_equal(small, before)
    assert typ.index.name == "industry"
    assert list(typ.index) == ["it", "retail", ALL_KEY]
    assert typ.loc["it", "recency_days"] == 20.0
    assert typ.loc["it", "nps"] == -25.0  # median of 50 and -100 (NaN skipped)
    assert typ.loc["retail", "recency_days"] == 6.0
    assert typ.loc[ALL_KEY, "recency_days"] == 15.0  # all six customers, the unknown industry included
    assert typ.loc["it", "rfm_segment"] == "champions"
    assert typ.loc[ALL_KEY, "rfm_segment"] == "lost"
    assert list(typ["n_customers"]) == [3, 2, 6]


def test_typical_values_min_size_reference_and_no_grouping(small) -> None:
    assert list(typical_values(small, "industry", min_size=3).index) == ["it", ALL_KEY]
    healthy = pd.Series([True, True, False, True, True, False], index=small.index)
    typ = typical_values(small, "industry", reference=healthy, min_size=2)
    assert typ.loc["it", "recency_days"] == 15.0  # 10 and 20: the risky customer 7 is not typical
    assert typ.loc[ALL_KEY, "recency_days"] == 8.5  # 10, 20, 5, 7
    assert list(typ["n_customers"]) == [2, 2, 4]
    nobody = typical_values(small, "industry", reference=np.zeros(6, dtype=bool), min_size=2)
    assert nobody.loc[ALL_KEY, "n_customers"] == 6  # an empty reference falls back to every customer
    flat = typical_values(small.drop(columns="industry"), "industry")
    assert list(flat.index) == [ALL_KEY] and flat.index.name is None
    with pytest.raises(ConfigError, match="'reference'"):
        typical_values(small, reference=np.ones(2, dtype=bool))
    with pytest.raises(SchemaError, match="'ipt_mean'"):
        typical_values(small, features=["ipt_mean"])


# ------------------------------------------------------------------------------------------------ top reasons


def test_top_reasons_golden_table(small) -> None:
    """Reasons are observable behaviours on the risky side, model-derived quantities are credited to the behaviour
    they summarise, and days since the last order are compared with the customer's own usual gap."""
    snap = small.assign(ipt_mean=[5.0, np.nan, 30.0, 2.0, 3.0, 100.0])
    contribs = pd.DataFrame(
        {
            "recency_days": [0.9, -0.2, 0.1, -0.5],
            "nps": [0.3, 0.4, -0.1, -0.5],
            "rfm_segment": [0.5, -0.1, 0.0, -0.1],
            "bg_p_alive": [0.2, 0.0, 0.0, 0.3],
            "industry": [0.0, 0.0, 2.0, 0.0],
            "bias": [5.0, 5.0, 5.0, 5.0],
            "offset": [9.0, 9.0, 9.0, 9.0],
        },
        index=pd.Index([5, 7, 8, 10]),
    )
    typ = typical_values(snap, "industry", min_size=2)
    out = top_reasons(contribs, snap, typ, k=3)
    assert list(out.columns) == [
        "reason_1", "reason_2", "reason_3", "reason_1_feature", "reason_2_feature", "reason_3_feature",
        "top_driver_group",
    ]
    assert list(out.index) == [5, 7, 8, 10]
    # 5: recency 0.9 + RFM segment 0.5 + P(alive) 0.2, 10 days against its own 5; its NPS 50 is above the it
    # median (-25), so not a reason although its contribution is positive. 7: NPS -100 below -25. 8: recency
    # 5 days against its own 2 (industry, a profile attribute, never). 10: nothing raises its risk (-0.5 - 0.1 + 0.3).
    assert list(out["reason_1_feature"]) == ["recency_days", "nps", "recency_days", ""]
    assert list(out["reason_2_feature"]) == ["", "", "", ""]
    assert list(out["top_driver_group"]) == ["recency", "satisfaction", "recency", ""]
    assert out.loc[5, "reason_1"] == "无订单已 10 天（通常每 5 天下单一次） / 10 days since last order; usually every 5 days"
    assert out.loc[7, "reason_1"] == "NPS -100（同类客户通常 -25） / NPS -100 (similar customers: -25)"
    assert out.loc[8, "reason_1"] == "无订单已 5 天（通常每 2 天下单一次） / 5 days since last order; usually every 2 days"
    assert out.loc[10, "reason_1"] == "" and out.loc[7, "reason_2"] == ""
    # without the customer's own gap, days since the last order are compared with similar customers
    plain = top_reasons(contribs, snap.assign(ipt_mean=np.nan), typ, k=1)
    assert plain.loc[5, "reason_1"] == ""  # 10 days is below the it median (20): not a reason
    assert plain.loc[8, "reason_1"] == ""  # 5 days is below the retail median (6)


def test_top_reasons_unknown_industry_uses_all_customers_and_a_mapping_works(small) -> None:
    contribs = pd.DataFrame({"recency_days": [1.0], "bias": [0.0], "offset": [0.0]}, index=pd.Index([10]))
    typ = typical_values(small, "industry", min_size=2)
    out = top_reasons(contribs, small, typ, k=1)
    assert out.loc[10, "reason_1"] == "无订单已 400 天（同类客户通常 15 天） / 400 days since last order (similar customers: 15)"
    assert list(out.columns) == ["reason_1", "reason_1_feature", "top_driver_group"]
    fixed = top_reasons(contribs, small, {"recency_days": 30.0}, k=2)
    assert fixed.loc[10, "reason_1"].endswith("(similar customers: 30)")
    assert fixed.loc[10, "reason_2"] == ""


def test_top_reasons_errors(small) -> None:
    contribs = pd.DataFrame({"ipt_mean": [0.5], "bias": [0.0], "offset": [0.0]}, index=pd.Index([5]))
    with pytest.raises(SchemaError, match="'ipt_mean'.*with_model_features"):
        top_reasons(contribs, small, {}, k=3)
    with pytest.raises(SchemaError, match="first: 99"):
        top_reasons(contribs.set_axis([99]), small, {}, k=3)
    with pytest.raises(ConfigError, match="'k'"):
        top_reasons(contribs, small, {}, k=0)


@pytest.fixture(scope="module")
def explained(churn_model, snapshots):
    score = snapshots["score"]
    contribs = explain(churn_model, score)
    frame = with_model_features(churn_model, score)
    healthy = churn_model.score(score) < 0.3
    typ = typical_values(frame, "industry", reference=healthy, min_size=20)
    return contribs, frame, typ, top_reasons(contribs, frame, typ, k=3)


def test_reasons_match_the_largest_positive_contributions(explained) -> None:
    contribs, frame, typ, reasons = explained
    actionable = actionable_contributions(contribs, frame, typ)
    assert not set(actionable.columns) & set(PROXY_FEATURES)  # P(alive), BG/NBD outputs, RFM scores: never reasons
    n_positive = 0
    for label, row in actionable.iterrows():
        positive = sorted(((v, f) for f, v in row.items() if v > 0), key=lambda vf: -vf[0])[:3]
        expected = [f for _, f in positive] + [""] * (3 - len(positive))
        got = [reasons.loc[label, f"reason_{j}_feature"] for j in (1, 2, 3)]
        assert got == expected, label
        n_positive += len(positive)
        for f in expected:  # every shown reason is on the risky side of what it is compared with
            if not f or FEATURE_TEXT[f]["direction"] is None:
                continue
            own = frame.loc[label, "ipt_mean"] if f == "recency_days" else np.nan
            ref = own if np.isfinite(own) else _typical(typ, frame, label, f)
            v = frame.loc[label, f]
            assert (v > ref) if FEATURE_TEXT[f]["direction"] == "high" else (v < ref), (label, f, v, ref)
    assert n_positive > len(contribs)  # the check ran on real reasons


def test_reason_text_quotes_the_customer_and_typical_values(explained) -> None:
    _, frame, typ, reasons = explained
    recency_rows = reasons.index[reasons["reason_1_feature"] == "recency_days"]
    assert len(recency_rows) >= 5
    for label in recency_rows:
        days = f"{frame.loc[label, 'recency_days']:.0f}"
        own = frame.loc[label, "ipt_mean"]
        zh, en = reasons.loc[label, "reason_1"].split(" / ")
        if np.isfinite(own):  # the customer's own rhythm
            assert zh == f"无订单已 {days} 天（通常每 {own:,.0f} 天下单一次）"
            assert en == f"{days} days since last order; usually every {own:,.0f} days"
        else:
            typical = f"{_typical(typ, frame, label, 'recency_days'):.0f}"
            assert zh == f"无订单已 {days} 天（同类客户通常 {typical} 天）"
            assert en == f"{days} days since last order (similar customers: {typical})"
    for label in reasons.index[(reasons["reason_1"] != "") & (reasons["reason_1_feature"] != "recency_days")]:
        text = reasons.loc[label, "reason_1"]
        feature = reasons.loc[label, "reason_1_feature"]
        assert text == reason_text(feature, frame.loc[label, feature], _typical(typ, frame, label, feature))


def _typical(typ: pd.DataFrame, frame: pd.DataFrame, label, feature):
    industry = frame.loc[label, "industry"]
    key = industry if isinstance(industry, str) and industry in typ.index else ALL_KEY
    return typ.loc[key, feature] if feature in typ.columns else None
