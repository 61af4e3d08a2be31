"""Simulated campaigns with heterogeneous effects (issue 16 §3): four recorded types, and the world's orders agree
with the recorded truth customer by customer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loyalist.batch.effect import campaign_outcomes
from loyalist.config.models import FeatureConfig
from loyalist.data.campaign import CUSTOMER_TYPES, simulate_uplift_campaign
from loyalist.data.synthetic import generate
from loyalist.errors import DataQualityError
from loyalist.features.snapshot import build_snapshot

DAY, HORIZON = "2024-06-30", 90


@pytest.fixture(scope="module")
def campaign():
    data = generate(4000, dirty=False, seed=21)
    snap = build_snapshot(data.tables(), DAY, FeatureConfig())
    rng = np.random.default_rng(0)
    assignment = pd.DataFrame({
        "campaign": "c", "campaign_date": pd.Timestamp(DAY), "customer_id": snap["customer_id"].astype("string"),
        "action": "call", "loyalty_tier": "all", "risk_band": "all",
        "group": np.where(rng.random(len(snap)) < 0.5, "control", "treatment")})
    world, truth = simulate_uplift_campaign(data.orders, assignment, snap, horizon_days=HORIZON, seed=1)
    return data, snap, assignment, world, truth


def test_four_types_with_their_potential_outcomes(campaign):
    _, _, assignment, _, truth = campaign
    assert set(truth["type"]) == set(CUSTOMER_TYPES)
    assert truth["customer_id"].tolist() == assignment["customer_id"].tolist()
    for kind, (if_control, if_contacted) in CUSTOMER_TYPES.items():
        part = truth[truth["type"] == kind]
        assert (part["churn_if_control"] == if_control).all() and (part["churn_if_contacted"] == if_contacted).all()
    assert ((truth["effect_churn"] == -1) == (truth["type"] == "persuadable")).all()
    assert ((truth["effect_churn"] == 1) == (truth["type"] == "sleeping_dog")).all()
    assert (truth.loc[truth["type"] == "persuadable", "effect_revenue"] > 0).all()
    assert (truth.loc[truth["type"] == "sleeping_dog", "effect_revenue"] <= 0).all()
    assert (truth.loc[truth["type"].isin(["sure_thing", "lost_cause"]), "effect_revenue"] == 0).all()


def test_observed_outcomes_are_the_truth_of_each_group(campaign):
    _, _, assignment, world, truth = campaign
    out = campaign_outcomes(assignment, world, horizon_days=HORIZON)
    treated = (out["group"] == "treatment").to_numpy()
    expected = np.where(treated, truth["churn_if_contacted"], truth["churn_if_control"])
    np.testing.assert_array_equal(out["churn"].to_numpy(), expected)
    revenue = np.where(treated, truth["revenue_if_contacted"], truth["revenue_if_control"])
    np.testing.assert_allclose(out["revenue"].to_numpy(), revenue, rtol=1e-9)


def test_orders_outside_the_window_are_untouched(campaign):
    data, _, _, world, _ = campaign
    day, end = pd.Timestamp(DAY) + pd.Timedelta(days=1), pd.Timestamp(DAY) + pd.Timedelta(days=1 + HORIZON)

    def outside(o: pd.DataFrame) -> pd.DataFrame:
        keep = (o["order_date"] < day) | (o["order_date"] >= end)
        return o.loc[keep].sort_values("order_id").reset_index(drop=True)

    pd.testing.assert_frame_equal(outside(world), outside(data.orders))
    assert list(world.columns) == list(data.orders.columns)
    assert world["order_id"].is_unique


def test_type_follows_the_features(campaign):
    # persuadables among the would-be churners: far more often among recent buyers than among those long gone
    _, snap, _, _, truth = campaign
    churners = truth["churn_if_control"].to_numpy() == 1
    recent = snap["recency_days"].to_numpy() <= 90
    share = lambda m: (truth["type"].to_numpy()[m] == "persuadable").mean()  # noqa: E731
    assert share(churners & recent) > 0.5 > 0.2 > share(churners & (snap["recency_days"].to_numpy() > 270))


def test_customers_missing_from_the_snapshot_are_named(campaign):
    data, snap, assignment, _, _ = campaign
    with pytest.raises(DataQualityError, match=r"1 campaign customer\(s\) \(e.g. 'nobody'\) are not in the snapshot"):
        simulate_uplift_campaign(data.orders, pd.concat([assignment, assignment.iloc[:1].assign(customer_id="nobody")]),
                                 snap, horizon_days=HORIZON)
