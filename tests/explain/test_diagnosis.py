"""Tests of loyalist.explain.diagnosis: top drivers, global and per-segment drivers, the per-tier diagnosis."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from loyalist.errors import ConfigError, SchemaError
from loyalist.explain import explain, with_model_features
from loyalist.explain.diagnosis import diagnosis, drivers_by, global_drivers, top_drivers
from loyalist.explain.reasons import GROUPS, actionable_contributions


def _contribs(rows: list[dict], index=None) -> pd.DataFrame:
    frame = pd.DataFrame(rows).fillna(0.0)
    return frame.assign(bias=-1.0, offset=0.0).set_axis(index if index is not None else range(len(rows)))


def test_top_drivers_is_the_largest_positive_contribution() -> None:
    contribs = _contribs([
        {"recency_days": 0.2, "nps": 0.5, "n_tickets": 0.5},   # tie: first in column order
        {"recency_days": -0.2, "nps": -0.1, "n_tickets": 0.0},  # nothing positive
        {"recency_days": 0.7, "nps": 0.1, "n_tickets": -3.0},
    ])
    top = top_drivers(contribs)
    assert top.name == "top_driver"
    assert top.iloc[0] == "nps" and top.iloc[2] == "recency_days"
    assert pd.isna(top.iloc[1])


def test_global_drivers_golden() -> None:
    contribs = _contribs([
        {"recency_days": 0.6, "nps": -0.1, "industry": 0.0},
        {"recency_days": -0.2, "nps": 0.3, "industry": 0.0},
        {"recency_days": 0.2, "nps": -0.2, "industry": 0.3},
    ])
    out = global_drivers(contribs)
    assert list(out.columns) == ["feature", "group", "mean_abs_shap", "mean_shap", "label_zh", "label_en"]
    assert list(out["feature"]) == ["recency_days", "nps", "industry"]  # bias and offset left out
    np.testing.assert_allclose(out["mean_abs_shap"], [1.0 / 3, 0.2, 0.1])
    np.testing.assert_allclose(out["mean_shap"], [0.2, 0.0, 0.1], atol=1e-15)
    assert list(out["group"]) == ["recency", "satisfaction", "profile"]
    assert out.loc[0, "label_en"] == "days since last order" and out.loc[0, "label_zh"] == "最近消费距今天数"
    assert len(global_drivers(contribs.iloc[:0])) == 0


def test_drivers_by_segment_golden() -> None:
    contribs = _contribs(
        [{"recency_days": 0.4, "nps": -0.1}, {"recency_days": -0.2, "nps": 0.3}, {"recency_days": 0.1, "nps": 0.9},
         {"recency_days": 5.0, "nps": 5.0}],
        index=pd.Index(["a", "b", "c", "d"]),
    )
    tiers = pd.Series(["high_risk", "high_risk", "devoted", None], index=["a", "b", "c", "d"])
    out = drivers_by(contribs, tiers)
    assert list(out.columns) == ["segment", "feature", "group", "mean_abs_shap", "mean_shap", "n_customers"]
    assert list(zip(out["segment"], out["feature"])) == [
        ("devoted", "nps"), ("devoted", "recency_days"), ("high_risk", "recency_days"), ("high_risk", "nps"),
    ]
    np.testing.assert_allclose(out["mean_abs_shap"], [0.9, 0.1, 0.3, 0.2])
    np.testing.assert_allclose(out["mean_shap"], [0.9, 0.1, 0.1, 0.1])
    assert list(out["n_customers"]) == [1, 1, 2, 2]  # "d" has no tier: left out
    with pytest.raises(SchemaError, match="'groups'"):
        drivers_by(contribs, pd.Series(["x"], index=["zzz"]))


# ------------------------------------------------------------------------------------------------ diagnosis


@pytest.fixture()
def at_risk_case() -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """10 at-risk customers: 6 driven by slow resolution (with slow tickets), 2 by recency, 2 by complaints;
    4 stable customers with quick tickets and long recency, and one stable customer without any positive
    contribution."""
    rows, hours, stages = [], [], []
    for _ in range(6):
        rows.append({"resolution_hours_mean": 0.8, "recency_days": 0.1, "n_complaints": 0.05})
        hours.append(120.0)
        stages.append(None)
    for _ in range(2):
        rows.append({"resolution_hours_mean": 0.1, "recency_days": 0.9, "n_complaints": 0.0})
        hours.append(20.0)
        stages.append(None)
    for _ in range(2):
        rows.append({"resolution_hours_mean": 0.0, "recency_days": 0.2, "n_complaints": 0.6})
        hours.append(10.0)
        stages.append("billing")
    for _ in range(4):
        rows.append({"resolution_hours_mean": -0.3, "recency_days": 0.3, "n_complaints": -0.1})
        hours.append(8.0)
        stages.append(None)
    rows.append({"resolution_hours_mean": -0.3, "recency_days": -0.3, "n_complaints": -0.1})
    hours.append(8.0)
    stages.append(None)
    index = pd.Index([f"C{i:02d}" for i in range(15)])
    contribs = _contribs(rows, index)
    tiers = pd.Series(["at_risk"] * 10 + ["stable"] * 5, index=index)
    snapshot = pd.DataFrame(
        {"resolution_hours_mean": hours, "recency_days": [30.0] * 6 + [150.0] * 2 + [30.0] * 2 + [200.0] * 5,
         "n_complaints": 1.0,
         "top_complaint_stage": pd.array(stages, dtype="str")},
        index=index,
    )
    return contribs, tiers, snapshot


def test_diagnosis_names_the_dominant_feature_with_its_share(at_risk_case) -> None:
    contribs, tiers, snapshot = at_risk_case
    out = diagnosis(contribs, tiers, snapshot=snapshot)
    assert list(out["tiers"]) == ["stable", "at_risk"]  # tier order
    block = out["tiers"]["at_risk"]
    assert block["customers"] == 10 and block["with_driver"] == 10
    assert block["shares"] == {"service": 0.6, "complaints": 0.2, "recency": 0.2, "frequency": 0.0,
                               "satisfaction": 0.0, "value": 0.0, "profile": 0.0}
    assert block["leading_group"] == "service" and block["leading_share"] == 0.6
    assert block["subject"] == {"kind": "feature", "code": "resolution_hours_mean", "share": 0.6,
                                "zh": "售后响应慢", "en": "slow after-sales response"}
    assert block["sentence_en"] == "60% of at-risk customers: slow after-sales response is the top driver"
    assert block["sentence_zh"] == "60% 的潜在流失客户：售后响应慢是首要流失因素"
    stable = out["tiers"]["stable"]
    assert stable["customers"] == 5 and stable["with_driver"] == 4  # the last one has no positive driver
    assert stable["leading_group"] == "recency"
    assert stable["sentence_en"] == "100% of stable customers: a long time since the last order is the top driver"
    assert out["overall"]["with_driver"] == 14
    json.dumps(out, allow_nan=False)  # plain JSON for the report


def test_diagnosis_shares_sum_to_one_on_a_real_model(churn_model, snapshots) -> None:
    score = snapshots["score"]
    contribs = explain(churn_model, score)
    p = churn_model.score(score)
    tiers = pd.Series(np.select([p > 0.6, p > 0.4, p > 0.2], ["high_risk", "at_risk", "stable"], "devoted"),
                      index=score.index)
    out = diagnosis(contribs, tiers, snapshot=with_model_features(churn_model, score))
    assert out["groups"] == list(GROUPS)
    n_positive = (actionable_contributions(contribs, with_model_features(churn_model, score)) > 0).any(axis=1)
    total = 0
    for tier, block in out["tiers"].items():
        in_tier = (tiers == tier).to_numpy()
        assert block["customers"] == int(in_tier.sum())
        assert block["with_driver"] == int(n_positive[in_tier].sum())
        assert sum(block["shares"].values()) == pytest.approx(1.0)
        assert sum(block["counts"].values()) == block["with_driver"]
        assert block["leading_group"] == max(block["shares"], key=block["shares"].get)
        assert block["sentence_en"].endswith("the top driver") and "%" in block["sentence_zh"]
        total += block["customers"]
    assert total == len(score)
    json.dumps(out, allow_nan=False)


def test_diagnosis_refines_complaints_by_stage() -> None:
    index = pd.Index(range(5))
    contribs = _contribs(
        [{"n_complaints": 0.9}, {"n_complaints": 0.9}, {"complaint_rate": 0.9}, {"complaint_rate": 0.9},
         {"n_complaints_recent": 0.9}],
        index,
    )
    snapshot = pd.DataFrame(
        {"top_complaint_stage": pd.array(["after_sales", "after_sales", "after_sales", "after_sales", "delivery"],
                                         dtype="str"),
         "n_complaints": 3.0, "complaint_rate": 0.5, "n_complaints_recent": 1.0},
        index=index,
    )
    out = diagnosis(contribs, pd.Series("high_risk", index=index), snapshot=snapshot)
    block = out["tiers"]["high_risk"]
    assert block["leading_group"] == "complaints"
    assert block["subject"]["kind"] == "stage" and block["subject"]["code"] == "after_sales"
    assert block["sentence_en"] == "80% of high-risk customers: complaints about after-sales are the top driver"
    assert block["sentence_zh"] == "80% 的高风险流失客户：售后环节投诉是首要流失因素"
    # without the snapshot no stage is known and no feature dominates (40/40/20): the group is named
    plain = diagnosis(contribs, pd.Series("high_risk", index=index), snapshot=None)["tiers"]["high_risk"]
    assert plain["subject"]["kind"] == "group"
    assert plain["sentence_en"] == "100% of high-risk customers: complaints are the top driver"


def test_diagnosis_never_names_a_problem_the_customers_do_not_have(at_risk_case) -> None:
    """Problems come from real signals: when the customers driven by resolution time have quick tickets (below the
    median), slow service is not their problem; their next real signal (a complaint) is."""
    contribs, tiers, snapshot = at_risk_case
    quick = snapshot.assign(resolution_hours_mean=np.where(snapshot["resolution_hours_mean"] > 100, 1.0, 50.0))
    block = diagnosis(contribs, tiers, snapshot=quick)["tiers"]["at_risk"]
    assert block["counts"]["service"] == 0  # 1 h and 50 h: none above the median (50 h)
    assert block["leading_group"] == "complaints" and block["counts"]["complaints"] == 8
    assert block["counts"]["recency"] == 2
    assert "resolution" not in block["sentence_en"]
    # customers without any complaint never get complaints as a problem
    none = quick.assign(n_complaints=0.0, top_complaint_stage=pd.array([None] * len(quick), dtype="str"))
    block = diagnosis(contribs, tiers, snapshot=none)["tiers"]["at_risk"]
    assert block["counts"]["complaints"] == 0


def test_diagnosis_tier_without_positive_drivers_and_errors() -> None:
    contribs = _contribs([{"recency_days": -0.5}, {"recency_days": 0.5}], pd.Index(["a", "b"]))
    out = diagnosis(contribs, pd.Series(["devoted", "at_risk"], index=["a", "b"]), snapshot=None)
    devoted = out["tiers"]["devoted"]
    assert devoted["with_driver"] == 0 and devoted["leading_group"] is None
    assert set(devoted["shares"].values()) == {0.0} and devoted["sentence_en"] == ""
    with pytest.raises(SchemaError, match="'tiers'"):
        diagnosis(contribs, pd.Series(["x"], index=["zzz"]), snapshot=None)
    with pytest.raises(ConfigError, match="'dominance'"):
        diagnosis(contribs, pd.Series(["x", "y"], index=["a", "b"]), snapshot=None, dominance=0)
