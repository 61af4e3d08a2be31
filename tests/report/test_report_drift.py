"""The drift page: PSI per categorical feature and for the predictions, against an earlier list."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loyalist.report.drift import psi, reading, render_drift_html, summarize_drift


def test_psi_is_zero_for_equal_shares_and_grows_with_the_shift():
    assert psi([0.5, 0.5], [0.5, 0.5]) == pytest.approx(0.0)
    assert psi([0.5, 0.5], [0.9, 0.1]) == pytest.approx(0.4 * np.log(1.8) - 0.4 * np.log(0.2))
    assert [reading(x) for x in (0.05, 0.15, 0.3, None)] == ["stable", "moderate", "significant", "unknown"]


def test_same_list_is_stable_and_a_shifted_one_is_significant(scored):
    earlier = scored.assign(as_of=scored["as_of"] - pd.Timedelta(days=91))
    same = summarize_drift(scored, baseline=earlier)
    assert same["categorical"]["industry"]["psi"] == pytest.approx(0.0, abs=1e-9)
    assert same["predictions"]["churn_probability"]["psi"] == pytest.approx(0.0, abs=1e-9)
    assert same["significant"] == []
    shifted = scored.assign(industry="retail", churn_probability=np.clip(scored["churn_probability"] + 0.4, 0, 1))
    moved = summarize_drift(shifted, baseline=earlier)
    assert moved["categorical"]["industry"]["reading"] == "significant"
    assert moved["predictions"]["churn_probability"]["reading"] == "significant"
    assert {"industry", "churn_probability"} <= set(moved["significant"])


def test_without_a_baseline_the_page_says_so(scored):
    d = summarize_drift(scored, feature_psi=pd.DataFrame({"feature": ["recency_days"], "psi": [0.31],
                                                         "drifted": [True]}))
    assert d["baseline_as_of"] is None and d["predictions"]["churn_probability"]["psi"] is None
    assert d["significant"] == ["recency_days"]
    zh, en = render_drift_html(d, "zh"), render_drift_html(d, "en")
    assert "没有基线名单" in zh and "最近消费距今天数" in zh and "显著偏移" in zh
    assert "No baseline list" in en and "days since last order" in en
