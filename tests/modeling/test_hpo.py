"""LightGBM hyper-parameter search on the inner time split: the split by hand, a 3-trial search that never reads the
validation halves, and the errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loyalist.config.models import LoyalistConfig
from loyalist.data.synthetic import generate
from loyalist.errors import ConfigError, InsufficientHistoryError, ModelError
from loyalist.modeling.supervised.base import DEFAULT_LGBM_PARAMS
from loyalist.modeling.supervised.dataset import labelled_snapshot, split_half, stack_snapshots
from loyalist.modeling.supervised.hpo import SEARCH_SPACE, inner_split, tune_lgbm, tune_lgbm_for
from loyalist.modeling.supervised.training import evaluation_frame, plan_with_fallback

HORIZON = 90


@pytest.fixture(scope="module")
def company() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(stacked training snapshots at 4 monthly cut-offs, validation snapshot) of a 1,000-customer company."""
    tables = generate(n_customers=1000, start="2022-01-01", end="2024-06-30", seed=21, dirty=False).tables()
    cfg = LoyalistConfig.model_validate({"training": {"max_cutoffs": 4}})
    plan, _ = plan_with_fallback(tables, cfg, HORIZON)
    return stack_snapshots(tables, plan.train, cfg.features), labelled_snapshot(tables, plan.valid, cfg.features)


def _cutoff_frame() -> pd.DataFrame:
    cutoffs = pd.to_datetime(["2023-09-30", "2023-10-31", "2023-11-30", "2023-12-31"])
    ids = [f"C{i:03d}" for i in range(40)]
    return pd.DataFrame({
        "customer_id": np.tile(ids, len(cutoffs)),
        "as_of": np.repeat(cutoffs, len(ids)),
        "churned": np.tile([0, 1], len(ids) * len(cutoffs) // 2),
    })


def test_inner_split_by_hand():
    frame = _cutoff_frame()
    inner_train, inner_fit, inner_eval, info = inner_split(frame, horizon_days=60)
    # T_in = 2023-12-31; label windows of 60 days end by then for 09-30 (11-29) and 10-31 (12-30), not 11-30
    assert info == {
        "inner_valid_cutoff": "2023-12-31",
        "inner_train_cutoffs": ["2023-09-30", "2023-10-31"],
        "label_overlap": False,
    }
    assert sorted(inner_train["as_of"].unique()) == list(pd.to_datetime(["2023-09-30", "2023-10-31"]))
    assert len(inner_train) == 80
    # the newest cut-off is split in two by the training job's customer hash
    last = frame.loc[frame["as_of"] == pd.Timestamp("2023-12-31")]
    first = split_half(last["customer_id"])
    assert inner_fit.index.equals(last.index[first]) and inner_eval.index.equals(last.index[~first])
    assert len(inner_fit) + len(inner_eval) == 40 and len(inner_fit) > 0 and len(inner_eval) > 0


def test_inner_split_falls_back_to_all_earlier_cutoffs_when_the_horizon_is_long():
    inner_train, _, _, info = inner_split(_cutoff_frame(), horizon_days=365)
    assert info["label_overlap"] is True
    assert info["inner_train_cutoffs"] == ["2023-09-30", "2023-10-31", "2023-11-30"]
    assert len(inner_train) == 120


def test_inner_split_needs_two_cutoffs():
    one = _cutoff_frame().loc[lambda f: f["as_of"] == pd.Timestamp("2023-12-31")]
    with pytest.raises(InsufficientHistoryError, match="at least 2 training cut-offs"):
        inner_split(one, horizon_days=HORIZON)


def test_tune_lgbm_churn_three_trials(company):
    train, valid = company
    valid_fit, valid_eval = evaluation_frame(valid)
    seen = []
    # the validation halves are passed without features or labels: the search must not read them
    params = tune_lgbm(
        "churn", train, valid_fit[["customer_id", "as_of"]], valid_eval[["customer_id", "as_of"]],
        n_trials=3, seed=0, on_trial=seen.append, horizon_days=HORIZON, base_params={"n_estimators": 150},
    )
    assert set(params) == set(SEARCH_SPACE)
    for name, (lo, hi, _, integer) in SEARCH_SPACE.items():
        assert lo <= params[name] <= hi
        assert isinstance(params[name], int) if integer else isinstance(params[name], float)
    assert len(seen) == 3 and [t.number for t in seen] == [0, 1, 2]
    # trial 0 = loyalist's defaults
    assert seen[0].params["learning_rate"] == DEFAULT_LGBM_PARAMS["learning_rate"]
    assert seen[0].params["num_leaves"] == DEFAULT_LGBM_PARAMS["num_leaves"]
    best = max(seen, key=lambda t: t.value)
    assert params == best.params
    assert all(0.5 < t.value <= 1.0 for t in seen)  # ROC AUC of a model that learned something
    attrs = seen[0].user_attrs
    assert attrs["metric"] == "roc_auc" and attrs["label_overlap"] is False
    assert attrs["inner_valid_cutoff"] == str(pd.Timestamp(train["as_of"].max()).date())
    assert attrs["best_iteration"] >= 1


def test_tune_lgbm_errors(company):
    train, valid = company
    with pytest.raises(ConfigError, match="'kind'"):
        tune_lgbm("survival", train, n_trials=1, horizon_days=HORIZON)
    with pytest.raises(ConfigError, match="'n_trials'"):
        tune_lgbm("churn", train, n_trials=0, horizon_days=HORIZON)
    # a "validation" frame that is not later than the training cut-offs is refused
    with pytest.raises(ModelError, match="'valid_eval'"):
        tune_lgbm("churn", train, None, train, n_trials=1, horizon_days=HORIZON)
    with pytest.raises(ModelError, match="'future_margin'"):
        tune_lgbm("value", train.drop(columns=["future_margin"]), n_trials=1, horizon_days=HORIZON,
                  target="future_margin")


def test_tune_lgbm_value_two_trials(company):
    train, _ = company
    seen = []
    params = tune_lgbm("value", train, n_trials=2, seed=1, on_trial=seen.append, horizon_days=HORIZON,
                       base_params={"n_estimators": 100})
    assert set(params) == set(SEARCH_SPACE)
    assert [t.user_attrs["metric"] for t in seen] == ["normalised_gini", "normalised_gini"]
    assert all(0.0 < t.value <= 1.0 for t in seen)  # the value ranking beats random
    assert params == max(seen, key=lambda t: t.value).params


def test_tune_lgbm_for_uses_the_training_cutoffs():
    tables = generate(n_customers=600, start="2022-01-01", end="2024-06-30", seed=22, dirty=False).tables()
    config = LoyalistConfig.model_validate({"training": {"max_cutoffs": 3, "lgbm_params": {"n_estimators": 80}}})
    plan, _ = plan_with_fallback(tables, config, config.features.churn_horizon_days)
    seen = []
    params = tune_lgbm_for("churn", tables, config, n_trials=2, on_trial=seen.append)
    assert set(params) == set(SEARCH_SPACE) and len(seen) == 2
    # the newest TRAINING cut-off validates the trials: the validation cut-off stays unseen
    assert seen[0].user_attrs["inner_valid_cutoff"] == str(plan.train[-1].date())
    assert plan.valid > plan.train[-1]
    with pytest.raises(ConfigError, match="'kind'"):
        tune_lgbm_for("survival", tables, config, n_trials=1)
