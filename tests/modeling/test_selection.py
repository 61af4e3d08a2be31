"""The rule that decides whether the learned model or a baseline is the champion candidate (golden tables)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loyalist.modeling.evaluation.selection import judge_against_baselines

nan = np.nan


def _churn(rows):
    return pd.DataFrame(rows, columns=["scorer", "roc_auc", "brier"])


def _value(rows):
    return pd.DataFrame(rows, columns=["scorer", "normalised_gini", "total_error"])


def test_churn_learned_model_wins_only_when_it_beats_auc_and_brier():
    table = _churn([("loyalist", 0.80, 0.150), ("rule_score", 0.85, nan), ("recency", 0.78, nan),
                    ("bgnbd_no_purchase", 0.76, 0.160)])
    v = judge_against_baselines("churn", table)
    assert v.learned_wins and v.baseline == "recency" and v.baseline_score == pytest.approx(0.78)
    # rule_score is not a gate baseline: the bar is recency / BG/NBD only
    assert "recency 0.780" in v.reason


def test_churn_learned_model_loses_on_auc_and_the_best_baseline_is_the_candidate():
    table = _churn([("loyalist", 0.765, 0.150), ("recency", 0.771, nan), ("bgnbd_no_purchase", 0.757, 0.161)])
    v = judge_against_baselines("churn", table)
    assert not v.learned_wins and v.baseline == "recency"
    assert "ROC AUC 0.765 vs recency 0.771" in v.reason and "candidate is the recency baseline" in v.reason


def test_churn_better_ranking_with_worse_brier_still_loses():
    table = _churn([("loyalist", 0.80, 0.170), ("recency", 0.77, nan), ("bgnbd_no_purchase", 0.79, 0.161)])
    v = judge_against_baselines("churn", table)
    assert not v.learned_wins and v.baseline == "bgnbd_no_purchase"
    assert "Brier 0.1700 vs bgnbd_no_purchase 0.1610" in v.reason


def test_churn_margin_raises_the_bar():
    table = _churn([("loyalist", 0.775, 0.150), ("recency", 0.771, nan), ("bgnbd_no_purchase", 0.757, 0.161)])
    assert judge_against_baselines("churn", table).learned_wins
    assert not judge_against_baselines("churn", table, margin=0.01).learned_wins


def test_value_needs_the_best_gini_and_a_total_no_worse_than_the_best_admissible_baseline():
    # CDNOW-sample-like: last period ranks best but its total is +144 %: the candidate is its ranking at the level
    # of BG/NBD x Gamma-Gamma
    table = _value([("loyalist", 0.634, -0.277), ("bgnbd_gamma_gamma", 0.638, -0.156),
                    ("last_period_revenue", 0.680, 1.439)])
    v = judge_against_baselines("value", table)
    assert not v.learned_wins and v.baseline == "last_period_revenue" and v.level_from == "bgnbd_gamma_gamma"
    assert "Gini 0.634 vs last_period_revenue 0.680" in v.reason
    assert "|total error| 27.7% vs allowed 15.6%" in v.reason


def test_value_admissible_best_baseline_keeps_its_own_level():
    table = _value([("loyalist", 0.74, -0.37), ("bgnbd_gamma_gamma", 0.75, -0.316),
                    ("last_period_revenue", 0.704, -0.267)])
    v = judge_against_baselines("value", table)
    assert not v.learned_wins and v.baseline == "bgnbd_gamma_gamma" and v.level_from == ""


def test_value_wins_with_best_gini_and_total_within_tolerance():
    table = _value([("loyalist", 0.72, -0.08), ("bgnbd_gamma_gamma", 0.67, -0.17),
                    ("last_period_revenue", 0.70, 1.22)])
    v = judge_against_baselines("value", table)
    assert v.learned_wins and v.learned_score == pytest.approx(0.72)


def test_value_a_nan_learned_metric_counts_as_a_loss():
    table = _value([("loyalist", nan, 0.0), ("bgnbd_gamma_gamma", 0.5, -0.1)])
    assert not judge_against_baselines("value", table).learned_wins


def test_unknown_kind_and_missing_model_row_are_refused():
    with pytest.raises(ValueError, match="'churn' or 'value'"):
        judge_against_baselines("clv", _value([("loyalist", 0.5, 0.0)]))
    with pytest.raises(ValueError, match="no row for the learned model"):
        judge_against_baselines("value", _value([("bgnbd_gamma_gamma", 0.5, 0.0)]))
