"""The churn-risk list, drift check and atomic writes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loyalist.batch.columns import RISK_LIST_COLUMNS
from loyalist.batch.risk_list import assign_actions, build_risk_list, risk_bands, risk_summary
from loyalist.config import LoyalistConfig
from loyalist.errors import DataQualityError
from loyalist.io import write_parquet
from loyalist.monitoring.drift import drift_reference, psi_table

CUTS = {"medium": 0.3, "high": 0.5, "very_high": 0.7}


def _snapshot(n=6):
    return pd.DataFrame({
        "customer_id": pd.array([f"C{i}" for i in range(n)], dtype="string"),
        "as_of": pd.Timestamp("2024-12-31"), "industry": "it", "size": "small", "region": "east",
        "tenure_days": np.arange(n) * 100.0, "recency_days": np.arange(n) * 10.0, "monetary_total": 100.0,
        "n_orders": 3, "rfm_segment": "champions",
    })


def _loyalty(n=6):
    return pd.DataFrame({
        "loyalty_score": np.linspace(95, 40, n),
        "loyalty_tier": ["devoted", "stable", "stable", "at_risk", "high_risk", "high_risk"][:n],
        "tier_reason": "score",
    })


def test_bands_cut_at_the_configured_probabilities():
    bands = risk_bands(np.array([0.0, 0.29, 0.3, 0.5, 0.69, 0.7, 1.0]), CUTS)
    assert bands.tolist() == ["low", "low", "medium", "high", "high", "very_high", "very_high"]


def test_first_matching_action_rule_wins_and_driver_rules_come_first():
    actions = LoyalistConfig().scoring_job.actions
    tiers = pd.Series(["at_risk", "at_risk", "high_risk", "devoted", "high_risk"])
    groups = pd.Series(["service", "value", "recency", "", ""])
    bands = pd.Series(["high", "low", "very_high", "low", "medium"])
    out = assign_actions(tiers, groups, actions, bands)
    assert out.loc[0, "recommended_action"].startswith("升级为VIP服务通道")  # service driver at high risk
    assert out.loc[1, "recommended_action"].startswith("主动关怀")  # low risk -> the at-risk tier rule
    assert "8折券" in out.loc[2, "recommended_action"]  # recency driver at very high risk
    assert out.loc[3, "owner_department"] == "大客户部 / Key accounts"
    assert out.loc[4, "owner_department"] == "客户成功部 / Customer success"
    # without bands the problem rules (which name bands) never match: the tier decides
    assert assign_actions(tiers, groups, actions).loc[0, "recommended_action"].startswith("主动关怀")


def test_list_has_every_customer_once_the_documented_columns_and_the_sort():
    snap, loy = _snapshot(), _loyalty()
    p = np.array([0.9, 0.1, 0.5, 0.2, 0.8, 0.6])
    v = np.array([10.0, 1000.0, 50.0, 5.0, 100.0, 0.0])
    risk = build_risk_list(snap, loy, churn_probability=p, expected_value=v, band_cuts=CUTS,
                           actions=LoyalistConfig().scoring_job.actions)
    assert list(risk.columns) == list(RISK_LIST_COLUMNS)
    assert sorted(risk["customer_id"]) == sorted(snap["customer_id"])
    np.testing.assert_allclose(risk["value_at_risk"], np.sort(p * v)[::-1])
    assert risk.loc[0, "customer_id"] == "C1"  # 0.1 x 1000 is the largest value at risk
    assert (risk["reason_1"] == "").all()  # nobody explained here
    s = risk_summary(risk)
    assert s["customers"] == 6 and sum(s["tiers"].values()) == 6 and sum(s["bands"].values()) == 6
    assert s["value_at_risk_total"] == pytest.approx(float((p * v).sum()))


def test_duplicate_customers_and_misaligned_outputs_are_refused():
    snap = pd.concat([_snapshot(3), _snapshot(3).head(1)], ignore_index=True)
    with pytest.raises(DataQualityError, match="'C0' more than once"):
        build_risk_list(snap, _loyalty(4), churn_probability=np.zeros(4), expected_value=np.zeros(4),
                        band_cuts=CUTS)
    with pytest.raises(DataQualityError, match="2 and 6 rows"):
        build_risk_list(_snapshot(), _loyalty(), churn_probability=np.zeros(2), expected_value=np.zeros(6),
                        band_cuts=CUTS)


def test_psi_is_zero_on_the_same_data_and_flags_a_shift_but_never_age():
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"x": rng.normal(size=5000), "btyd_T": rng.uniform(0, 100, 5000)})
    ref = drift_reference(train, ["x", "btyd_T"])
    same = psi_table(ref, train)
    assert (same["psi"] < 1e-9).all() and not same["drifted"].any()
    shifted = psi_table(ref, pd.DataFrame({"x": rng.normal(1.0, size=5000), "btyd_T": rng.uniform(200, 300, 5000)}))
    by = shifted.set_index("feature")
    assert by.loc["x", "psi"] > 0.2 and by.loc["x", "drifted"]
    assert by.loc["btyd_T", "psi"] > 0.2 and not by.loc["btyd_T", "drifted"]


def test_a_killed_write_leaves_the_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "churn_risk.parquet"
    old = pd.DataFrame({"customer_id": ["A"], "v": [1.0]})
    write_parquet(old, target)

    def boom(self, path, *args, **kwargs):
        Path(path).write_bytes(b"half a file")
        raise KeyboardInterrupt("killed")

    from pathlib import Path

    monkeypatch.setattr(pd.DataFrame, "to_parquet", boom)
    with pytest.raises(KeyboardInterrupt):
        write_parquet(pd.DataFrame({"customer_id": ["B"], "v": [2.0]}), target)
    monkeypatch.undo()
    pd.testing.assert_frame_equal(pd.read_parquet(target), old)
    assert [p.name for p in tmp_path.iterdir()] == ["churn_risk.parquet"]  # no temp file left


def test_actions_follow_the_diagnosed_problem_with_the_tier_as_fallback():
    """Default table: a customer at medium risk or above gets the action for their top driver group whatever the
    tier (slow service -> the VIP 48-hour channel, spend -> tiered discounts); a low-risk one the tier's action."""
    from loyalist.config.models import ScoringJobConfig

    tiers = pd.Series(["stable", "stable", "devoted", "high_risk", "at_risk"])
    groups = pd.Series(["service", "service", "value", "recency", ""])
    bands = pd.Series(["high", "low", "medium", "very_high", "very_high"])
    out = assign_actions(tiers, groups, ScoringJobConfig().actions, bands)
    acts = out["recommended_action"].tolist()
    assert acts[0].startswith("升级为VIP服务通道，48小时内响应")
    assert acts[1].startswith("交叉销售")  # low risk: the stable tier's strategy
    assert acts[2].startswith("按采购量提供阶梯折扣")
    assert acts[3].startswith("推送老客户专享新品8折券")
    assert acts[4].startswith("主动关怀")  # no diagnosed problem: the at-risk tier's strategy


def test_expected_purchases_ride_beside_expected_value():
    snap, loy = _snapshot(), _loyalty()
    p = np.array([0.9, 0.1, 0.5, 0.2, 0.8, 0.6])
    risk = build_risk_list(snap, loy, churn_probability=p, expected_value=np.ones(6), band_cuts=CUTS,
                           expected_purchases=np.arange(6.0))
    by_id = risk.set_index("customer_id")["expected_purchases"]
    assert by_id.to_dict() == {f"C{i}": float(i) for i in range(6)}
    assert risk_summary(risk)["expected_purchases_total"] == 15.0
    assert risk["newly_at_risk"].eq(False).all() and risk["churn_probability_change"].isna().all()


def test_newly_at_risk_are_active_customers_whose_band_rose_into_high():
    from loyalist.batch.risk_list import newly_at_risk

    snap, loy = _snapshot(), _loyalty()  # recency 0, 10, ..., 50 days: all active
    snap = snap.assign(recency_days=[0.0, 10.0, 20.0, 200.0, 40.0, 50.0])
    before = build_risk_list(snap.assign(as_of=pd.Timestamp("2024-09-30")), loy, band_cuts=CUTS,
                             churn_probability=np.array([0.2, 0.6, 0.1, 0.1, 0.9, 0.4]), expected_value=np.ones(6))
    before = before[before["customer_id"] != "C5"]  # C5 was not in the previous list
    now = build_risk_list(snap, loy, churn_probability=np.array([0.75, 0.65, 0.2, 0.8, 0.95, 0.9]),
                          expected_value=np.ones(6), band_cuts=CUTS)
    out, summary = newly_at_risk(now, before)
    got = out.set_index("customer_id")
    # C0 low -> very high (active): newly at risk; C1 was high already; C2 rose but stays low; C3 is not active
    # (200 days); C4 stayed in the risky bands; C5 has no previous value
    assert got["newly_at_risk"].to_dict() == {"C0": True, "C1": False, "C2": False, "C3": False, "C4": False,
                                              "C5": False}
    assert got.loc["C0", "churn_probability_change"] == pytest.approx(0.55)
    assert np.isnan(got.loc["C5", "churn_probability_previous"])
    assert list(out["customer_id"]) == list(now["customer_id"])  # same rows, same order
    assert summary["customers"] == 1 and summary["previous_as_of"] == "2024-09-30" and summary["rising"] == 4
    assert [r["customer_id"] for r in summary["top"]] == ["C0", "C2", "C1", "C4"]  # largest rise first
    with pytest.raises(DataQualityError, match="'risk_band'"):
        newly_at_risk(now, before.drop(columns="risk_band"))


def test_survival_columns_ride_with_their_customer():
    from loyalist.batch.risk_list import SURVIVAL_LIST_COLUMNS

    snap, loy = _snapshot(), _loyalty()
    p = np.array([0.9, 0.1, 0.5, 0.2, 0.8, 0.6])
    survival = pd.DataFrame({"p_active_30d": np.linspace(0.9, 0.4, 6), "p_active_90d": np.linspace(0.8, 0.3, 6),
                             "p_active_180d": np.linspace(0.7, 0.2, 6), "expected_days_to_churn": np.arange(6.0) * 50},
                            index=snap.index)
    risk = build_risk_list(snap, loy, churn_probability=p, expected_value=np.ones(6), band_cuts=CUTS,
                           survival=survival)
    got = risk.set_index("customer_id")
    assert got.loc["C3", "expected_days_to_churn"] == 150.0
    assert got.loc["C5", "p_active_180d"] == pytest.approx(0.2)
    assert set(SURVIVAL_LIST_COLUMNS) <= set(RISK_LIST_COLUMNS)
    empty = build_risk_list(snap, loy, churn_probability=p, expected_value=np.ones(6), band_cuts=CUTS)
    assert empty[list(SURVIVAL_LIST_COLUMNS)].isna().all().all()
    with pytest.raises(DataQualityError, match="survival"):
        build_risk_list(snap, loy, churn_probability=p, expected_value=np.ones(6), band_cuts=CUTS,
                        survival=survival.iloc[:3])
