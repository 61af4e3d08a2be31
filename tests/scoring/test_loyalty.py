"""Tests of loyalist.scoring.loyalty (LoyaltyScorer) and of the scoring YAML docs and presets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from loyalist.config.load import config_to_dict, load_config
from loyalist.config.models import (
    SEED_INDICATORS,
    IndicatorConfig,
    LoyalistConfig,
    ScalingConfig,
    ScoringConfig,
)
from loyalist.errors import ConfigError, NotFittedError, SchemaError
from loyalist.scoring import TIER_DTYPE, LoyaltyScorer, tier_shares

NAN = np.nan
TOL = 1e-9  # hand-computed decimals vs float arithmetic


def _table2() -> pd.DataFrame:
    """The source's Table 2 layout (忠诚度指标计算表), with the guard columns of the snapshot.

    C001 is the source's first row. C002 is its second row with NPS 40 instead of 50. C003 scores "stable" but
    has not ordered for 142 days. C004 has orders only (no surveys, no tickets). C005 has no indicator at all.
    """
    return pd.DataFrame(
        {
            "repurchase_rate": [0.85, 0.70, 0.80, 0.50, NAN],
            "order_value_stability": [0.92, 0.78, 0.90, 0.60, NAN],
            "purchase_frequency": [12.0, 8.0, 9.0, 6.0, NAN],
            "nps": [85.0, 40.0, 60.0, NAN, NAN],
            "complaint_rate": [0.02, 0.15, 0.05, NAN, NAN],
            "recency_days": [12.0, 30.0, 142.0, 20.0, 40.0],
            "n_survey_responses": [3.0, 2.0, 1.0, 0.0, 0.0],
            "industry": ["信息技术", "工业", "工业", None, None],
        },
        index=pd.Index(["C001", "C002", "C003", "C004", "C005"], name="customer_id"),
    )


def test_golden_table2_scores_by_hand():
    snap = _table2()
    out = LoyaltyScorer().fit_transform(snap)
    assert list(out.columns) == [f"{n}_scaled" for n in SEED_INDICATORS] + [
        "loyalty_score", "score_coverage", "loyalty_tier", "tier_reason",
    ]
    assert out.index.equals(snap.index)
    # scaled: ratio x100, frequency/12 x100 (capped), (NPS+100)/2, 100 x (1 - complaint rate)
    expected_scaled = np.array(
        [
            [85.0, 92.0, 100.0, 92.5, 98.0],
            [70.0, 78.0, 200 / 3, 70.0, 85.0],
            [80.0, 90.0, 75.0, 80.0, 95.0],
            [50.0, 60.0, 50.0, NAN, NAN],
            [NAN, NAN, NAN, NAN, NAN],
        ]
    )
    np.testing.assert_allclose(out.iloc[:, :5].to_numpy(), expected_scaled, rtol=0, atol=TOL)
    # C001: .30*85 + .20*92 + .15*100 + .25*92.5 + .10*98 = 25.5 + 18.4 + 15 + 23.125 + 9.8 = 91.825
    # C002: .30*70 + .20*78 + .15*66.67 + .25*70 + .10*85 = 21 + 15.6 + 10 + 17.5 + 8.5 = 72.6
    # C003: .30*80 + .20*90 + .15*75 + .25*80 + .10*95 = 24 + 18 + 11.25 + 20 + 9.5 = 82.75
    # C004: (.30*50 + .20*60 + .15*50) / .65 = 34.5 / .65 = 53.0769...
    np.testing.assert_allclose(out["loyalty_score"].to_numpy(), [91.825, 72.6, 82.75, 34.5 / 0.65, NAN],
                               rtol=0, atol=TOL)
    np.testing.assert_allclose(out["score_coverage"].to_numpy(), [1.0, 1.0, 1.0, 0.65, 0.0], rtol=0, atol=TOL)
    assert out["loyalty_tier"].dtype == TIER_DTYPE
    assert out["loyalty_tier"].astype(object).where(out["loyalty_tier"].notna(), None).tolist() == [
        "devoted", "at_risk", "high_risk", "high_risk", None,
    ]
    assert out["tier_reason"].tolist() == [
        "score 91.8 >= 90 (devoted)",
        "score 72.6 >= 60 (at_risk)",
        "guard:no_order_90_days (recency_days 142 > 90)",  # 82.75 would be stable
        "score 53.1 < 60 (high_risk)",
        "no indicator available",
    ]


def test_orders_only_customer_is_renormalised_over_three_indicators():
    snap = _table2().loc[["C004"]]
    out = LoyaltyScorer().fit_transform(snap)
    scaled = out[["repurchase_rate_scaled", "order_value_stability_scaled", "purchase_frequency_scaled"]].iloc[0]
    weighted_mean = (0.30 * scaled.iloc[0] + 0.20 * scaled.iloc[1] + 0.15 * scaled.iloc[2]) / 0.65
    assert out["loyalty_score"].iloc[0] == pytest.approx(weighted_mean, abs=TOL)
    assert out["score_coverage"].iloc[0] == pytest.approx(0.65, abs=TOL)


def test_min_coverage_leaves_thin_customers_unscored():
    config = ScoringConfig(min_coverage=0.7)
    snap = _table2()
    out = LoyaltyScorer(config).fit_transform(snap)
    assert np.isnan(out.loc["C004", "loyalty_score"])
    assert pd.isna(out.loc["C004", "loyalty_tier"])
    assert out.loc["C004", "tier_reason"] == "score coverage 0.65 < min_coverage 0.7"
    assert out.loc["C001", "loyalty_score"] == pytest.approx(91.825, abs=TOL)


def test_unscored_customer_gets_a_tier_from_a_guard():
    snap = _table2().loc[["C005"]].assign(recency_days=200.0)
    out = LoyaltyScorer().fit_transform(snap)
    assert out["loyalty_tier"].tolist() == ["high_risk"]
    assert out["tier_reason"].tolist() == ["guard:no_order_90_days (recency_days 200 > 90)"]


def test_weights_are_normalised_and_scale_free():
    percent = ScoringConfig(indicators={
        n: IndicatorConfig(weight=c.weight * 100, scaling=c.scaling) for n, c in ScoringConfig().indicators.items()
    })
    a = LoyaltyScorer(percent).fit(_table2())
    b = LoyaltyScorer().fit(_table2())
    assert a.weights_.index.tolist() == list(SEED_INDICATORS)
    np.testing.assert_allclose(a.weights_.to_numpy(), [0.30, 0.20, 0.15, 0.25, 0.10], rtol=0, atol=1e-12)
    pd.testing.assert_series_equal(a.score(_table2()), b.score(_table2()), rtol=0, atol=TOL)


def test_percentile_indicator_uses_the_fitted_reference_and_extra_columns_work():
    config = ScoringConfig(
        indicators={
            "monetary_total": IndicatorConfig(weight=1.0, scaling=ScalingConfig(method="percentile")),
            "spend_trend": IndicatorConfig(weight=1.0, scaling=ScalingConfig(method="cap", cap=1.0)),
            "tenure_days": IndicatorConfig(weight=0.0, scaling=ScalingConfig(method="cap", cap=730.0)),
        },
        guards=[],
    )
    train = pd.DataFrame({"monetary_total": [100.0, 400.0, NAN, 200.0, 200.0], "spend_trend": 0.0,
                          "tenure_days": 365.0})
    scorer = LoyaltyScorer(config).fit(train)
    np.testing.assert_array_equal(scorer.references_["monetary_total"], [100.0, 200.0, 200.0, 400.0])
    assert set(scorer.references_) == {"monetary_total"}
    new = pd.DataFrame({"monetary_total": [50.0, 200.0, 300.0, 1000.0, NAN],
                        "spend_trend": [0.5, -0.2, NAN, 1.0, NAN], "tenure_days": [730.0, 0.0, 0.0, 0.0, 365.0]})
    out = scorer.transform(new)
    np.testing.assert_array_equal(out["monetary_total_scaled"].to_numpy(), [0.0, 75.0, 75.0, 100.0, NAN])
    np.testing.assert_array_equal(out["spend_trend_scaled"].to_numpy(), [50.0, 0.0, NAN, 100.0, NAN])
    np.testing.assert_array_equal(out["tenure_days_scaled"].to_numpy(), [100.0, 0.0, 0.0, 0.0, 50.0])
    # equal weights over the present indicators; tenure has weight 0 and never counts
    np.testing.assert_allclose(out["loyalty_score"].to_numpy(), [25.0, 37.5, 75.0, 100.0, NAN], rtol=0, atol=TOL)
    np.testing.assert_allclose(out["score_coverage"].to_numpy(), [1.0, 1.0, 0.5, 1.0, 0.0], rtol=0, atol=TOL)


def test_sklearn_contract():
    snap = _table2()
    config = ScoringConfig(min_coverage=0.5)
    scorer = LoyaltyScorer(config)
    assert scorer.get_params() == {"config": config}
    assert not hasattr(scorer, "weights_")  # __init__ stores parameters only
    assert scorer.fit(snap) is scorer
    assert scorer.n_features_in_ == snap.shape[1]
    assert list(scorer.feature_names_in_) == list(snap.columns)
    twin = clone(scorer)
    assert twin.config == config and not hasattr(twin, "weights_")
    pd.testing.assert_frame_equal(twin.fit_transform(snap), scorer.transform(snap))
    assert list(scorer.get_feature_names_out()) == list(scorer.transform(snap).columns)
    pd.testing.assert_series_equal(scorer.score(snap), scorer.transform(snap)["loyalty_score"])


def test_inputs_are_not_mutated():
    snap = _table2()
    before = snap.copy()
    LoyaltyScorer().fit_transform(snap)
    pd.testing.assert_frame_equal(snap, before)


def test_tier_shares_of_the_golden_table():
    out = LoyaltyScorer().fit_transform(_table2())
    # 4 tiered customers: 1 devoted, 1 at_risk, 2 high_risk (C005 has no tier)
    assert tier_shares(out["loyalty_tier"]).tolist() == [0.25, 0.0, 0.25, 0.5]


@settings(max_examples=60)
@given(rows=st.lists(st.tuples(*[st.one_of(st.just(NAN), st.floats(-200, 200))] * 5), min_size=1, max_size=20))
def test_score_is_a_weighted_mean_of_the_present_scaled_values(rows):
    snap = pd.DataFrame(rows, columns=list(SEED_INDICATORS)).assign(recency_days=0.0, n_survey_responses=0.0)
    out = LoyaltyScorer().fit_transform(snap)
    scaled = out[[f"{n}_scaled" for n in SEED_INDICATORS]]
    score, coverage = out["loyalty_score"], out["score_coverage"]
    assert ((coverage >= 0) & (coverage <= 1)).all()
    assert (score.isna() == scaled.isna().all(axis=1)).all()
    lo, hi = scaled.min(axis=1), scaled.max(axis=1)
    has = score.notna()
    assert ((score[has] >= lo[has] - TOL) & (score[has] <= hi[has] + TOL)).all()


# --------------------------------------------------------------------------------------------- errors


def test_missing_indicator_column_names_the_column_and_the_configured_indicators():
    snap = _table2().drop(columns=["nps"])
    with pytest.raises(SchemaError, match=r"'nps' \(configured indicators: \['repurchase_rate', .*'complaint_rate'\]"):
        LoyaltyScorer().fit(snap)
    scorer = LoyaltyScorer().fit(_table2())
    with pytest.raises(SchemaError, match="'nps'"):
        scorer.transform(snap)


def test_missing_guard_column_is_reported_with_the_guard():
    snap = _table2().drop(columns=["recency_days"])
    with pytest.raises(SchemaError, match="'recency_days' \\(guard 'no_order_90_days'\\)"):
        LoyaltyScorer().fit(snap)


def test_not_a_frame_is_a_schema_error():
    with pytest.raises(SchemaError, match="pandas DataFrame; got ndarray"):
        LoyaltyScorer().fit(np.zeros((2, 5)))


def test_transform_before_fit_is_not_fitted_error():
    with pytest.raises(NotFittedError, match="not fitted yet, so 'transform' cannot run"):
        LoyaltyScorer().transform(_table2())
    with pytest.raises(NotFittedError, match="'score'"):
        LoyaltyScorer().score(_table2())


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "user.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_all_zero_weights_are_a_config_error_naming_the_key(tmp_path):
    # indicators merge by name into the defaults: every one of the five needs weight 0
    path = _write(tmp_path, "scoring:\n  indicators:\n    nps: {weight: 0, scaling: {method: nps}}\n"
                            "    repurchase_rate: {weight: 0}\n    order_value_stability: {weight: 0}\n"
                            "    purchase_frequency: {weight: 0}\n    complaint_rate: {weight: 0}\n")
    with pytest.raises(ConfigError, match="'scoring.indicators'.*positive weight"):
        load_config([path])


def test_unordered_thresholds_are_a_config_error_naming_the_key(tmp_path):
    path = _write(tmp_path, "scoring:\n  tiers: {devoted: 70, stable: 75, at_risk: 60}\n")
    with pytest.raises(ConfigError, match="'scoring.tiers'.*devoted > stable > at_risk"):
        load_config([path])


def test_cap_scaling_without_cap_is_a_config_error_naming_the_key(tmp_path):
    path = _write(tmp_path, "scoring:\n  indicators:\n    purchase_frequency: {scaling: {method: cap, cap: null}}\n")
    with pytest.raises(ConfigError, match="'scoring.indicators.purchase_frequency.scaling'.*'cap'"):
        load_config([path])


# --------------------------------------------------------------------------------------- YAML docs


def test_loading_nothing_gives_the_defaults():
    assert load_config([]) == LoyalistConfig()


def _changes(preset: str) -> tuple[dict, dict]:
    """The top-level keys a preset changes (over the base), and the base as plain data."""
    base = config_to_dict(load_config([]))
    merged = config_to_dict(load_config([], preset=preset))
    return {k: merged[k] for k in merged if merged[k] != base[k]}, base


def _guard(name: str, days: int) -> dict:
    return {"name": name, "feature": "recency_days", "op": ">", "value": float(days), "tier": "high_risk",
            "min_count_feature": None, "min_count": 1}


@pytest.mark.parametrize(
    ("preset", "industry", "weights", "frequency_cap", "guard"),
    [
        ("manufacturing", "manufacturing", [0.25, 0.30, 0.05, 0.30, 0.10], 6.0, _guard("no_order_180_days", 180)),
        ("retail", "retail", [0.25, 0.15, 0.30, 0.20, 0.10], 24.0, _guard("no_order_60_days", 60)),
    ],
)
def test_presets_differ_from_the_base_only_where_intended(preset, industry, weights, frequency_cap, guard):
    changed, base = _changes(preset)
    assert set(changed) == {"preset", "scoring"}
    assert changed["preset"] == industry
    expected = base["scoring"]
    for name, w in zip(SEED_INDICATORS, weights):
        expected["indicators"][name]["weight"] = w
    expected["indicators"]["purchase_frequency"]["scaling"]["cap"] = frequency_cap
    expected["guards"] = [guard, base["scoring"]["guards"][1]]
    assert changed["scoring"] == expected


def test_manufacturing_preset_scores_by_hand():
    config = load_config([], preset="manufacturing")
    snap = _table2().loc[["C001", "C003"]]
    out = LoyaltyScorer(config.scoring).fit_transform(snap)
    # C001: .25*85 + .30*92 + .05*100 (12/yr over the cap of 6) + .30*92.5 + .10*98 = 21.25+27.6+5+27.75+9.8 = 91.4
    # C003: .25*80 + .30*90 + .05*100 (9/yr) + .30*80 + .10*95 = 20+27+5+24+9.5 = 85.5; 142 days < 180: no guard
    np.testing.assert_allclose(out["loyalty_score"].to_numpy(), [91.4, 85.5], rtol=0, atol=TOL)
    assert out["tier_reason"].tolist() == ["score 91.4 >= 90 (devoted)", "score 85.5 >= 75 (stable)"]


def test_wholesale_preset_differs_from_the_base_only_where_intended():
    changed, base = _changes("wholesale")
    assert set(changed) == {"preset", "scoring"}
    assert changed["preset"] == "wholesale"
    expected = base["scoring"]  # the source's weights, stability / NPS / complaints on their absolute scales
    expected["indicators"]["repurchase_rate"]["scaling"] = {"method": "percentile", "cap": None, "ties": "mean"}
    expected["indicators"]["purchase_frequency"]["scaling"] = {"method": "percentile", "cap": None, "ties": "mean"}
    expected["tiers"] = {"devoted": 80.0, "stable": 60.0, "at_risk": 40.0}
    expected["guards"] = [_guard("no_order_120_days", 120), base["scoring"]["guards"][1]]
    assert changed["scoring"] == expected


def _wholesale_rows() -> pd.DataFrame:
    """Five trade customers without surveys or tickets (the Online Retail shape): NPS and complaints absent."""
    return pd.DataFrame(
        {
            "repurchase_rate": [0.0, 0.0, 0.25, 0.5, 1.0],
            "order_value_stability": [0.9, NAN, 0.6, 0.8, 0.9],
            "purchase_frequency": [2.0, 1.0, 4.0, 8.0, 26.0],
            "nps": [NAN] * 5,
            "complaint_rate": [NAN] * 5,
            "recency_days": [200.0, 30.0, 45.0, 10.0, 3.0],
            "n_survey_responses": [0.0] * 5,
        },
        index=pd.Index(["W1", "W2", "W3", "W4", "W5"], name="customer_id"),
    )


def test_wholesale_preset_scores_by_hand():
    config = load_config([], preset="wholesale")
    out = LoyaltyScorer(config.scoring).fit_transform(_wholesale_rows())
    # mid-rank percentiles among the five: repurchase 0, 0 -> (0 + 2) / 2 / 5 = 20; .25 -> 50; .5 -> 70; 1 -> 90.
    # frequency 2 -> 30, 1 -> 10, 4 -> 50, 8 -> 70, 26 -> 90. Weights over the present indicators: repurchase .30,
    # stability .20, frequency .15 (sum .65; W2 without stability: .45).
    # W1: (.30*20 + .20*90 + .15*30) / .65 = 28.5 / .65 = 43.846 (at risk), but 200 days > 120: the guard -> high risk
    # W2: (.30*20 + .15*10) / .45 = 7.5 / .45 = 16.666...                    -> high risk (score < 40)
    # W3: (.30*50 + .20*60 + .15*50) / .65 = 34.5 / .65 = 53.0769...         -> at risk (40-60)
    # W4: (.30*70 + .20*80 + .15*70) / .65 = 47.5 / .65 = 73.0769...         -> stable (60-80)
    # W5: (.30*90 + .20*90 + .15*90) / .65 = 90                                -> devoted (>= 80)
    np.testing.assert_allclose(out["loyalty_score"].to_numpy(),
                               [28.5 / .65, 7.5 / .45, 34.5 / .65, 47.5 / .65, 90.0], rtol=0, atol=TOL)
    assert out["loyalty_tier"].tolist() == ["high_risk", "high_risk", "at_risk", "stable", "devoted"]
    assert out["tier_reason"].iloc[0] == "guard:no_order_120_days (recency_days 200 > 120)"
    # the defaults (frequency full marks at 12 a year, tiers 90/75/60) put W3, who orders every quarter, in high
    # risk: (.30*25 + .20*60 + .15*33.3) / .65 = 37.7
    base = LoyaltyScorer(load_config([]).scoring).fit_transform(_wholesale_rows())
    assert base["loyalty_tier"].tolist() == ["high_risk"] * 3 + ["at_risk", "devoted"]


def test_a_nested_override_merges_into_the_wholesale_preset(tmp_path):
    """A user's file over --preset wholesale changes the keys it names and keeps the rest of each block."""
    path = tmp_path / "mine.yaml"
    path.write_text("scoring:\n  indicators:\n    purchase_frequency: {weight: 0.25}\n"
                    "    repurchase_rate: {scaling: {ties: weak}}\n  tiers: {devoted: 85}\n", encoding="utf-8")
    scoring = load_config([path], preset="wholesale").scoring
    freq = scoring.indicators["purchase_frequency"]
    assert freq.weight == 0.25 and freq.scaling == ScalingConfig(method="percentile", ties="mean")
    rep = scoring.indicators["repurchase_rate"]
    assert rep.weight == 0.30 and rep.scaling == ScalingConfig(method="percentile", ties="weak")
    assert (scoring.tiers.devoted, scoring.tiers.stable, scoring.tiers.at_risk) == (85.0, 60.0, 40.0)
    assert [g.name for g in scoring.guards] == ["no_order_120_days", "nps_below_30"]
    # a wrong value in the override is caught at load, naming the key
    path.write_text("scoring:\n  indicators:\n    purchase_frequency: {scaling: {ties: average}}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"purchase_frequency.*ties"):
        load_config([path], preset="wholesale")
    path.write_text("scoring:\n  tiers: {stable: 85}\n", encoding="utf-8")  # above the preset's devoted 80
    with pytest.raises(ConfigError, match="devoted"):
        load_config([path], preset="wholesale")


def test_wholesale_scores_at_a_cutoff_ignore_every_later_event():
    """The time rule for the learned scalers: the preset's percentile references are fitted on the snapshot at T,
    so the scores and tiers at T are the same whether the tables hold the events after T or not."""
    from loyalist.data.synthetic import generate
    from loyalist.features.snapshot import build_snapshot
    from loyalist.modeling.supervised.dataset import events_until

    config = load_config([], preset="wholesale")
    tables = generate(n_customers=300, seed=7, dirty=False).tables()
    end = pd.Timestamp(tables["orders"]["order_date"].max())
    as_of = (end - pd.Timedelta(days=200)).normalize()
    later = int((tables["orders"]["order_date"] > as_of + pd.Timedelta(days=1)).sum())
    assert later > 100  # the full tables really hold events after T

    def scored(t):
        snap = build_snapshot(t, as_of, config.features).set_index("customer_id")
        return LoyaltyScorer(config.scoring).fit_transform(snap)

    full, cut = scored(tables), scored(events_until(tables, as_of))
    pd.testing.assert_frame_equal(full, cut)
    assert full["loyalty_tier"].nunique() == 4
