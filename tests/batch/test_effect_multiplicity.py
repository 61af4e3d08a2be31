"""Many groups judged at once: a 'works' / 'negative' verdict within a level (actions, tiers, bands) also needs the
churn difference's Holm-adjusted p-value below alpha, so a campaign whose actions all do nothing does not get one
of them called harmful a tenth of the time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loyalist.batch.effect import effect_summary, holm, is_flagged, measure_effect
from loyalist.report.summarize_effect import effect_section


def test_holm_by_hand():
    # sorted 0.01 0.03 0.04 0.2 -> x4 x3 x2 x1 = 0.04 0.09 0.08 0.2 -> monotone 0.04 0.09 0.09 0.2; NaN not a test
    got = holm([0.04, 0.01, np.nan, 0.2, 0.03])
    np.testing.assert_allclose(got, [0.09, 0.04, np.nan, 0.2, 0.09])
    assert holm([0.6, 0.7])[0] == 1.0 and np.isnan(holm([np.nan])).all()


def _campaign(rng, effects, per=300, control=0.15, base=0.10):
    """One campaign: an action per entry of ``effects`` (the churn change contact causes), ``per`` customers each."""
    k = len(effects)
    action = np.repeat([f"a{j}" for j in range(k)], per)
    group = np.where(rng.random(k * per) < control, "control", "treatment")
    rate = base + np.where(group == "treatment", np.repeat(effects, per), 0.0)
    churn = (rng.random(k * per) < rate).astype(int)
    return pd.DataFrame({"customer_id": np.arange(k * per).astype(str), "action": action, "loyalty_tier": "stable",
                         "risk_band": "high", "group": group, "churn": churn, "orders": 1 - churn,
                         "revenue": (1 - churn) * 100.0})


def test_harmless_actions_are_rarely_called_harmful_together():
    rng = np.random.default_rng(0)
    raw = adjusted = 0
    n = 120
    for _ in range(n):
        s = effect_summary(measure_effect(_campaign(rng, [0.0] * 8)))
        actions = s[s["level"] == "action"]
        assert (actions["tests"] == 8).all()
        raw += bool((actions["churn_ci_low"] > 0).any())  # what the verdict was before: the 95% interval alone
        adjusted += bool((actions["verdict"] == "negative").any())
    # the interval alone called a harmless action harmful in about a tenth of these campaigns (the old verdict)
    assert raw / n >= 0.05, raw
    assert adjusted / n <= 0.025, adjusted


def test_a_real_harm_is_still_called_negative_and_a_marginal_one_may_be_chance():
    rng = np.random.default_rng(4)
    s = effect_summary(measure_effect(_campaign(rng, [0.0] * 7 + [0.15], per=1500)))
    harm = s[(s["level"] == "action") & (s["group"] == "a7")].iloc[0]
    assert harm["verdict"] == "negative" and harm["churn_p_adjusted"] < 0.05 and is_flagged(harm)
    # the overall row is one test: judged by its interval alone, its adjusted p-value is its own
    overall = s[s["level"] == "all"].iloc[0]
    assert overall["tests"] == 1 and overall["churn_p_adjusted"] == pytest.approx(overall["churn_p_value"])

    # a row whose 95% interval excludes zero but whose Holm-adjusted p-value does not: 'chance', flagged when
    # churn rose, with its own sentence in both languages
    row = {"level": "action", "group": "Call / 致电", "n_treatment": 900, "n_control": 100,
           "churn_treatment": 0.14, "churn_control": 0.07, "churn_difference": 0.07, "churn_ci_low": 0.004,
           "churn_ci_high": 0.11, "large_enough": False, "mde": 0.08, "saved": -63.0, "saved_low": -99.0,
           "saved_high": -3.6, "revenue_kept": -1000.0, "revenue_kept_low": -2000.0, "revenue_kept_high": 0.0,
           "cost": 900.0, "net": -1900.0, "net_low": -2900.0, "net_high": -900.0, "churn_p_value": 0.03,
           "churn_p_adjusted": 0.24, "tests": 8}
    from loyalist.batch.effect import _verdict

    assert _verdict(row) == "chance" and _verdict({**row, "tests": 1}) == "negative"
    assert _verdict({**row, "churn_p_adjusted": 0.01}) == "negative"
    section = effect_section({"campaign": "c", "campaign_date": "2024-09-30", "horizon_days": 90, "alpha": 0.05,
                              "summary": [{**row, "verdict": "chance"}]})
    action = section["actions"][0]
    assert action["flagged"] and action["verdict_label"]["en"].startswith("may be chance")
    flag = action["flag"]
    assert "with 8 actions tested together this is not significant (Holm-adjusted p = 0.24)" in flag["en"]
    assert "同时检验 8 项措施后并不显著（Holm 校正 p = 0.24）" in flag["zh"]
    # a fall in churn that may be chance is not flagged (nothing to stop), only labelled
    falling = {**row, "churn_difference": -0.07, "churn_ci_low": -0.11, "churn_ci_high": -0.004, "verdict": "chance"}
    assert not is_flagged(falling)
