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


def _long_list(n: int = 503) -> pd.DataFrame:
    """A list of ``n`` rows with every kind of column the view handles: bilingual texts (some missing or without
    ' / '), codes with labels, a categorical tier, rounded numbers with NaN, a whole-day timestamp, nullable booleans
    and a text column missing in every row of the first slices."""
    import numpy as np

    rng = np.random.default_rng(7)
    tiers = ["high_risk", "stable", "at_risk", "growing"]
    reasons = ["无订单已 142 天 / 142 days since last order", "投诉 3 次 / 3 complaints", "", "只有一种语言", None]
    actions = ["定期回访与关怀 / Regular follow-up and care", "交叉销售 / Cross-sell", ""]
    p = rng.random(n)
    p[::17] = np.nan
    late = pd.array([None] * (n // 2) + [f"P{i};P{i + 1}" for i in range(n - n // 2)], dtype="string")
    return pd.DataFrame({
        "customer_id": pd.array([f"C{i:05d}" for i in range(n)], dtype="string"),
        "as_of": pd.Timestamp("2024-12-31"),
        "loyalty_tier": pd.Categorical(rng.choice(tiers, n), categories=tiers),
        "tier_reason": rng.choice(["guard:no_order_90_days (recency_days 142 > 90)", "score 82.4 >= 75 (stable)"], n),
        "churn_probability": p,
        "value_at_risk": rng.random(n) * 1e4,
        "risk_band": pd.array(rng.choice(["low", "medium", "high", "very_high"], n), dtype="string"),
        "reason_1": pd.array(rng.choice(np.array(reasons, dtype=object), n), dtype="string"),
        "recommended_action": pd.array(rng.choice(actions, n), dtype="string"),
        "owner_department": pd.array(rng.choice(["客服部 / Service", ""], n), dtype="string"),
        "control_group": pd.array(rng.random(n) < 0.2, dtype="boolean"),
        "next_products": late,
        "n_orders": rng.integers(0, 50, n),
    })


@pytest.mark.parametrize("lang", ["zh", "en", "both"])
@pytest.mark.parametrize("slice_rows", [1, 7, 100, 10_000])
def test_the_streamed_csv_has_the_bytes_of_the_whole_view(tmp_path, lang, slice_rows):
    from loyalist.batch.csv_view import write_csv_view

    risk = _long_list()
    whole = write_csv(csv_view(risk, lang), tmp_path / "whole.csv")
    streamed = write_csv_view(risk, tmp_path / "streamed.csv", lang, slice_rows=slice_rows)
    assert streamed.read_bytes() == whole.read_bytes()
    lines = streamed.read_bytes().decode("utf-8-sig").splitlines()
    assert len(lines) == len(risk) + 1 and lines[0].startswith('"customer_id","as_of","loyalty_tier"')
    assert lines[1].split(",")[1] == "2024-12-31"  # the whole-day timestamp as a date, as write_csv writes it


def test_the_streamed_csv_keeps_the_masked_rows_only(tmp_path):
    import numpy as np

    from loyalist.batch.csv_view import write_csv_view

    risk = _long_list()
    keep = ~risk["control_group"].to_numpy(dtype=bool)
    keep[:30] = False  # the first slices wholly dropped
    whole = write_csv(csv_view(risk.loc[keep], "both"), tmp_path / "whole.csv")
    streamed = write_csv_view(risk, tmp_path / "streamed.csv", "both", rows=keep, slice_rows=10)
    assert streamed.read_bytes() == whole.read_bytes()
    assert len(streamed.read_bytes().decode("utf-8-sig").splitlines()) == int(keep.sum()) + 1
    none = write_csv_view(risk, tmp_path / "none.csv", "both", rows=np.zeros(len(risk), bool), slice_rows=10)
    assert none.read_bytes() == write_csv(csv_view(risk.iloc[:0], "both"), tmp_path / "empty.csv").read_bytes()


def test_the_streamed_csv_refuses_an_unknown_language_before_writing(tmp_path):
    from loyalist.batch.csv_view import write_csv_view

    with pytest.raises(ConfigError, match="got 'fr'"):
        write_csv_view(_long_list(5), tmp_path / "x.csv", "fr")  # type: ignore[arg-type]
    assert not (tmp_path / "x.csv").exists()
