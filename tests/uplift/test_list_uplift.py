"""The risk list's uplift columns and the ranking by expected saved value net of cost (issue 16 §3)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from loyalist.batch.risk_list import add_uplift
from loyalist.config.models import LoyalistConfig
from loyalist.errors import ConfigError, DataQualityError
from loyalist.uplift import TwoModelUplift

RISK = pd.DataFrame({
    "customer_id": ["a", "b", "c", "d"],
    "expected_value": [1000.0, 5000.0, 200.0, -10.0],
    "value_at_risk": [900.0, 500.0, 150.0, 0.0],
    "churn_probability": [0.9, 0.1, 0.75, 1.0],
    "recommended_action": ["Call / 致电", "Call / 致电", "", "Coupon / 优惠券"],
})
COSTS = {"Call / 致电": 30.0, "Coupon / 优惠券": 5.0}


def test_expected_saved_value_by_hand():
    out = add_uplift(RISK, np.array([0.1, -0.02, 0.5, 0.3]), costs=COSTS, value_if_kept=False)
    # a: 0.1 x 1000 - 30; b: -0.02 x 5000 - 30 (contact drives b away); c: no action, no cost; d: value clipped at 0
    np.testing.assert_allclose(out["expected_saved_value"], [70.0, -130.0, 100.0, -5.0])
    assert out["customer_id"].tolist() == ["a", "b", "c", "d"]  # the default order is left alone
    ranked = add_uplift(RISK, np.array([0.1, -0.02, 0.5, 0.3]), costs=COSTS, rank_by="expected_saved_value",
                        value_if_kept=False)
    assert ranked["customer_id"].tolist() == ["c", "a", "d", "b"]
    assert "uplift" not in RISK.columns  # the input is not changed
    with pytest.raises(DataQualityError, match="3 predictions for a list of 4"):
        add_uplift(RISK, np.zeros(3))


def test_expected_saved_value_uses_the_value_if_kept_by_default():
    out = add_uplift(RISK, np.array([0.1, -0.02, 0.5, 0.3]), costs=COSTS)
    # value if kept = expected value / P(stay), P(stay) = 1 - churn_probability clipped to at least 0.05:
    # a: 0.1 x 1000 / 0.1 - 30; b: -0.02 x 5000 / 0.9 - 30; c: 0.5 x 200 / 0.25; d: value 0 (clipped), P(stay) 0.05
    np.testing.assert_allclose(out["expected_saved_value"], [970.0, -100.0 / 0.9 - 30.0, 400.0, -5.0])
    ranked = add_uplift(RISK, np.array([0.1, -0.02, 0.5, 0.3]), costs=COSTS, rank_by="expected_saved_value")
    assert ranked["customer_id"].tolist() == ["a", "c", "d", "b"]  # a, likely to leave, is worth most if kept
    gone = RISK.assign(expected_value=[100.0, 0.0, 0.0, 0.0], churn_probability=[1.0, 0.0, 0.0, 0.0])
    assert add_uplift(gone, np.array([0.1, 0, 0, 0]))["expected_saved_value"].iloc[0] == pytest.approx(200.0)
    with pytest.raises(DataQualityError, match="no churn_probability column"):
        add_uplift(RISK.drop(columns="churn_probability"), np.zeros(4))


def test_rank_by_is_checked_at_load():
    assert LoyalistConfig().scoring_job.rank_by == "value_at_risk"
    assert LoyalistConfig(scoring_job={"rank_by": "expected_saved_value"}).scoring_job.rank_by == \
        "expected_saved_value"
    with pytest.raises(ValueError, match="rank_by"):
        LoyalistConfig(scoring_job={"rank_by": "uplift"})


def _planted(n: int, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.random(n)
    t = (rng.random(n) < 0.5).astype(int)
    y = (rng.random(n) < 0.4 + 0.3 * (x > 0.5) * t).astype(int)
    return pd.DataFrame({"recency_days": x * 100}), t, y


def test_scoring_hook_uses_the_uplift_champion(tmp_path):
    from loyalist.jobs.score import _with_uplift
    from loyalist.tracking import CHAMPION, log_model, run, set_alias, setup_tracking

    X, t, y = _planted(4000, 1)
    setup_tracking(f"sqlite:///{tmp_path}/mlflow.db", "loyalist")
    config = LoyalistConfig(scoring_job={"rank_by": "expected_saved_value"})
    snapshot = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "recency_days": [90.0, 10.0, 80.0, 20.0]})
    output = SimpleNamespace(snapshot=snapshot, risk=RISK)
    with pytest.raises(ConfigError, match="rank_by is 'expected_saved_value' but the uplift model "
                                          "'loyalist-churn-uplift' has no champion"):
        _with_uplift(config, output, RISK)
    model = TwoModelUplift(params={"min_child_samples": 50}).fit(X, t, y)
    with run("uplift") as h:
        info = log_model(h, model, registered_name="loyalist-churn-uplift", input_example=X.head(20))
    set_alias("loyalist-churn-uplift", CHAMPION, info.version)
    out, version = _with_uplift(config, output, RISK)
    assert version == str(info.version)
    expected = model.predict(snapshot[["recency_days"]])
    assert expected[0] > expected[1] + 0.1  # the planted effect: recent contact helps only when x > 0.5
    by_id = out.set_index("customer_id")
    np.testing.assert_allclose(by_id.loc[["a", "b", "c", "d"], "uplift"], expected)
    assert out["expected_saved_value"].is_monotonic_decreasing
    unchanged, _ = _with_uplift(LoyalistConfig(), output, RISK)
    assert unchanged["customer_id"].tolist() == ["a", "b", "c", "d"] and "uplift" in unchanged
