"""RFM quantile scores with ties, and the 11 named segments."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalist.errors import SchemaError
from loyalist.features import RFM_SEGMENTS, rfm_scores
from loyalist.features.rfm import quantile_scores, rfm_segment

ZH = {
    "champions": "冠军客户", "loyal_customers": "忠诚客户", "potential_loyalists": "潜力客户",
    "new_customers": "新客户", "promising": "有望客户", "need_attention": "需要关注", "about_to_sleep": "即将沉睡",
    "at_risk": "有流失风险", "cannot_lose_them": "不能失去", "hibernating": "休眠客户", "lost": "已流失",
}


def frame(recency, n_orders, monetary) -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": pd.array([f"C{i}" for i in range(len(recency))], dtype="string"),
        "recency_days": np.array(recency, dtype=np.int64),
        "n_orders": np.array(n_orders, dtype=np.int64),
        "monetary_total": np.array(monetary, dtype=np.float64),
    })


def test_golden_quintiles_with_ties():
    # 5 customers: ranks 1..5 -> ceil(rank * 5 / 5) = rank; recency ascending is best.
    # n_orders has a tie (2, 2) at ranks 2 and 3 -> average 2.5 -> ceil(2.5) = 3 for both.
    snapshot = frame([1, 10, 100, 50, 5], [1, 2, 2, 5, 9], [10.0, 20.0, 30.0, 40.0, 50.0])
    result = rfm_scores(snapshot)
    assert result["rfm_r"].tolist() == [5, 3, 1, 2, 4]
    assert result["rfm_f"].tolist() == [1, 3, 3, 4, 5]
    assert result["rfm_m"].tolist() == [1, 2, 3, 4, 5]
    assert result["rfm_score"].tolist() == [511, 332, 133, 244, 455]
    assert str(result["rfm_segment"].dtype) == "string"
    # (R, FM): (5, 1) new, (3, 2.5) need attention, (1, 3) at risk, (2, 4) at risk, (4, 5) champions
    assert result["rfm_segment"].tolist() == ["new_customers", "need_attention", "at_risk", "at_risk", "champions"]
    pd.testing.assert_index_equal(result.index, snapshot.index)


def test_all_equal_values_share_one_score_and_ten_customers_fill_quintiles_in_pairs():
    assert quantile_scores(pd.Series([3, 3, 3, 3]), 5).tolist() == [4, 4, 4, 4]  # average rank 2.5 -> ceil(3.125)
    assert quantile_scores(pd.Series(range(10)), 5).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert quantile_scores(pd.Series(range(10)), 5, higher_is_better=False).tolist() == [5, 5, 4, 4, 3, 3, 2, 2,
                                                                                         1, 1]


def test_float_summation_noise_does_not_split_a_tie():
    noisy = pd.Series([564.86, 564.8599999999999, 1.0, 1000.0])
    scores = quantile_scores(noisy, 5)
    assert scores[0] == scores[1]


def test_bins_other_than_five_keep_quintile_segments():
    snapshot = frame(list(range(10)), list(range(10)), [float(x) for x in range(10)])
    tens = rfm_scores(snapshot, bins=10)
    fives = rfm_scores(snapshot, bins=5)
    assert tens["rfm_f"].tolist() == list(range(1, 11))
    assert tens["rfm_segment"].tolist() == fives["rfm_segment"].tolist()


def test_the_segment_map_covers_every_score_pair_with_all_eleven_segments():
    r, f, m = np.meshgrid(np.arange(1, 6), np.arange(1, 6), np.arange(1, 6), indexing="ij")
    names = rfm_segment(r.ravel(), f.ravel(), m.ravel())
    assert "" not in set(names)
    assert set(names) == set(RFM_SEGMENTS)
    assert len(RFM_SEGMENTS) == 11


@pytest.mark.parametrize(
    ("r", "f", "m", "name"),
    [
        (5, 5, 4, "champions"), (4, 4, 4, "champions"), (3, 5, 5, "loyal_customers"), (5, 3, 3, "loyal_customers"),
        (5, 2, 2, "potential_loyalists"), (4, 1, 2, "potential_loyalists"), (5, 1, 1, "new_customers"),
        (4, 1, 1, "promising"), (3, 2, 3, "need_attention"), (3, 1, 2, "about_to_sleep"), (1, 5, 4, "cannot_lose_them"),
        (2, 5, 5, "at_risk"), (1, 3, 3, "at_risk"), (2, 1, 2, "hibernating"), (1, 1, 1, "lost"), (1, 2, 1, "lost"),
    ],
)
def test_segment_rules(r, f, m, name):
    assert rfm_segment(np.array([r]), np.array([f]), np.array([m]))[0] == name


def test_every_segment_has_zh_and_en_labels():
    for code, spec in RFM_SEGMENTS.items():
        assert spec["zh"] == ZH[code]
        assert spec["en"] and spec["en"][0].isupper()


def test_rfm_input_errors_name_the_problem():
    with pytest.raises(SchemaError, match="monetary_total"):
        rfm_scores(frame([1], [1], [1.0]).drop(columns=["monetary_total"]))
    with pytest.raises(SchemaError, match="'bins'"):
        rfm_scores(frame([1], [1], [1.0]), bins=1)
    with pytest.raises(SchemaError, match="'recency_days'"):
        rfm_scores(frame([1, 2], [1, 1], [1.0, 2.0]).astype({"recency_days": "float64"}).assign(
            recency_days=[1.0, np.nan]))


def test_empty_snapshot_gives_empty_scores():
    result = rfm_scores(frame([], [], []))
    assert result.empty and list(result.columns) == ["rfm_r", "rfm_f", "rfm_m", "rfm_score", "rfm_segment"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 20), min_size=1, max_size=40), st.integers(2, 10))
def test_scores_are_monotone_within_range_and_equal_for_ties(values, bins):
    series = pd.Series(values)
    scores = quantile_scores(series, bins)
    assert scores.min() >= 1 and scores.max() <= bins
    if values.count(max(values)) == 1:
        assert scores[int(np.argmax(values))] == bins  # a unique best value gets the top score
    order = np.argsort(values, kind="stable")
    assert np.all(np.diff(scores[order]) >= 0)  # more is never worse
    for v in set(values):
        assert len(set(scores[series.to_numpy() == v])) == 1
