"""The CSV view of the churn-risk list: one language per column set, rounded numbers, BOM'd UTF-8."""

from __future__ import annotations

import pandas as pd
import pytest

from loyalist.batch.csv_view import csv_view
from loyalist.errors import ConfigError
from loyalist.io import write_csv


@pytest.fixture()
def risk() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["C1", "C2"],
        "loyalty_tier": ["high_risk", "stable"],
        "tier_reason": ["guard:no_order_90_days (recency_days 142 > 90)", "score 82.4 >= 75 (stable)"],
        "churn_probability": [0.123456789, 0.5],
        "value_at_risk": [1234.5678, 0.0],
        "risk_band": ["low", "high"],
        "reason_1": ["无订单已 142 天 / 142 days since last order", ""],
        "recommended_action": ["定期回访与关怀 / Regular follow-up and care", "交叉销售 / Cross-sell"],
        "newly_at_risk": [True, False],  # a column the view does not know passes through
    })


def test_one_language_keeps_the_column_names(risk):
    zh = csv_view(risk, "zh")
    assert zh["reason_1"].tolist() == ["无订单已 142 天", ""]
    assert zh["recommended_action"].tolist() == ["定期回访与关怀", "交叉销售"]
    assert zh["loyalty_tier_label"].tolist() == ["高风险流失", "稳定忠诚"]
    assert zh["tier_reason_label"].tolist() == ["守卫规则“90天无消费”：最近消费距今天数 142 > 90", "得分 82.4 ≥ 75，稳定忠诚"]
    en = csv_view(risk, "en")
    assert en["reason_1"].tolist() == ["142 days since last order", ""]
    assert en["risk_band_label"].tolist() == ["low", "high"]
    assert en["newly_at_risk"].tolist() == [True, False]


def test_both_writes_two_column_sets_and_rounds(risk):
    both = csv_view(risk, "both")
    assert {"reason_1_zh", "reason_1_en", "recommended_action_zh", "recommended_action_en"} <= set(both.columns)
    assert "reason_1" not in both.columns
    assert both["churn_probability"].tolist() == [0.1235, 0.5]
    assert both["value_at_risk"].tolist() == [1234.57, 0.0]
    assert risk["churn_probability"].iloc[0] == 0.123456789  # the input is not modified


def test_written_csv_has_a_bom_and_reads_back(risk, tmp_path):
    path = write_csv(csv_view(risk, "zh"), tmp_path / "churn_risk.csv")
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"
    back = pd.read_csv(path, encoding="utf-8-sig")
    assert back.loc[0, "loyalty_tier_label"] == "高风险流失"


def test_unknown_language_is_one_sentence(risk):
    with pytest.raises(ConfigError, match="must be 'zh', 'en' or 'both'; got 'fr'"):
        csv_view(risk, "fr")
