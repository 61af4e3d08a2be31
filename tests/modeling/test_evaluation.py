"""Tests of loyalist.modeling.evaluation.metrics: hand-computed golden cases, scikit-learn agreement, properties, errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from loyalist.config.metrics import CHURN_COLUMNS, VALUE_COLUMNS
from loyalist.errors import ModelError
from loyalist.modeling.evaluation.metrics import (
    calibration_table,
    churn_metrics,
    compare_churn,
    compare_value,
    gains_table,
    value_decile_table,
    value_metrics,
)

# ------------------------------------------------------------------------------------------ fixtures

# 20 customers with distinct scores 20..1; by rank (highest score first) the churners are at ranks 1, 3, 4, 8
# and 19, i.e. 5 churners, base rate 0.25. Rows are stored in a shuffled order so no test trusts row order.
_RANK_LABELS = np.array([1, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0])
_PERM = np.random.default_rng(7).permutation(20)
Y20 = _RANK_LABELS[_PERM]
S20 = (20 - np.arange(20))[_PERM].astype(float)

# 4 customers for the value metrics: true value and predicted value.
V_TRUE = np.array([10.0, 0.0, 30.0, 0.0])
V_PRED = np.array([2.0, 1.0, 4.0, 3.0])

# 4 customers for the probability metrics.
Y4 = np.array([0, 1, 1, 1])
P4 = np.array([0.1, 0.15, 0.8, 0.95])



def _assert_same_metrics(a: dict[str, float], b: dict[str, float]) -> None:
    assert list(a) == list(b)
    for key in a:
        assert a[key] == pytest.approx(b[key], abs=1e-12, nan_ok=True), key


# ----------------------------------------------------------------------------------- churn: golden


def test_lift_and_capture_on_20_rows_by_hand() -> None:
    # Top 10% = the 2 highest scores: ranks 1 (churner) and 2 (not) -> 1 of 5 churners.
    m = churn_metrics(Y20, S20)
    assert m["capture_top_decile"] == pytest.approx(1 / 5, abs=1e-12)
    assert m["lift_top_decile"] == pytest.approx((1 / 2) / 0.25, abs=1e-12)  # 2.0
    assert m["base_rate"] == 0.25
    assert m["n"] == 20
    # Top 25% = 5 rows: ranks 1..5 hold churners 1, 3, 4 -> 3 of 5, precision 3/5 / 0.25 = lift 2.4.
    m25 = churn_metrics(Y20, S20, top_fraction=0.25)
    assert m25["capture_top_decile"] == pytest.approx(0.6, abs=1e-12)
    assert m25["lift_top_decile"] == pytest.approx(2.4, abs=1e-12)


def test_scores_that_are_not_probabilities_give_nan_probability_metrics() -> None:
    m = churn_metrics(Y20, S20)  # scores 1..20
    assert math.isnan(m["brier"]) and math.isnan(m["log_loss"]) and math.isnan(m["ece"])
    # 15 negatives x 5 positives = 75 pairs; the churners at ranks 1, 3, 4, 8, 19 outrank 15, 14, 14, 11 and 1
    # negatives: 55 of 75 pairs ordered correctly.
    assert m["roc_auc"] == pytest.approx(55 / 75, abs=1e-12)


def test_ties_at_the_top_fraction_border_are_shared_pro_rata() -> None:
    # 10 rows, top 10% = 1 row, but the two best rows tie at 0.9 (one churner, one not): half a churner of 2.
    y = np.array([0, 1, 0, 0, 0, 0, 1, 0, 0, 0])
    s = np.array([0.9, 0.9, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01])
    m = churn_metrics(y, s)
    assert m["capture_top_decile"] == pytest.approx(0.25, abs=1e-12)
    assert m["lift_top_decile"] == pytest.approx(2.5, abs=1e-12)
    # The order of the tied rows does not matter.
    _assert_same_metrics(churn_metrics(y[[1, 0, *range(2, 10)]], s), m)


def test_probability_metrics_on_4_rows_by_hand() -> None:
    m = churn_metrics(Y4, P4)
    # Bins of width 0.1: {0.1, 0.15} -> bin 1 (mean 0.125, rate 0.5), 0.8 -> bin 8, 0.95 -> bin 9.
    # ECE = (2 * 0.375 + 1 * 0.2 + 1 * 0.05) / 4 = 0.25.
    assert m["ece"] == pytest.approx(0.25, abs=1e-12)
    assert m["brier"] == pytest.approx((0.01 + 0.7225 + 0.04 + 0.0025) / 4, abs=1e-12)
    assert m["log_loss"] == pytest.approx(-(math.log(0.9) + math.log(0.15) + math.log(0.8) + math.log(0.95)) / 4)
    assert m["roc_auc"] == 1.0
    assert m["pr_auc"] == 1.0
    assert m["base_rate"] == 0.75
    assert list(m) == list(CHURN_COLUMNS)


def test_calibration_table_by_hand() -> None:
    t = calibration_table(Y4, P4)
    assert list(t.columns) == ["bin", "bin_lower", "bin_upper", "mean_pred", "observed_rate", "n"]
    assert t["n"].tolist() == [0, 2, 0, 0, 0, 0, 0, 0, 1, 1]
    assert t.loc[1, "mean_pred"] == pytest.approx(0.125)
    assert t.loc[1, "observed_rate"] == 0.5
    assert t.loc[9, "observed_rate"] == 1.0
    assert t["observed_rate"].isna().sum() == 7  # empty bins
    assert t["bin_lower"].iloc[3] == pytest.approx(0.3) and t["bin_upper"].iloc[3] == pytest.approx(0.4)


def test_calibration_bins_are_closed_on_the_left_and_the_last_holds_one() -> None:
    t = calibration_table([0, 1, 1, 0], [0.0, 0.3, 1.0, 0.5], n_bins=10)
    assert t["n"].tolist() == [1, 0, 0, 1, 0, 1, 0, 0, 0, 1]


def test_gains_table_on_20_rows_by_hand() -> None:
    t = gains_table(Y20, S20, n_bins=4)
    # Quarters of 5 ranks: churners at ranks {1, 3, 4}, {8}, {}, {19}.
    assert t["decile"].tolist() == [1, 2, 3, 4]
    assert t["n"].tolist() == [5.0, 5.0, 5.0, 5.0]
    assert t["positives"].tolist() == pytest.approx([3, 1, 0, 1])
    assert t["positive_rate"].tolist() == pytest.approx([0.6, 0.2, 0.0, 0.2])
    assert t["cum_capture"].tolist() == pytest.approx([0.6, 0.8, 0.8, 1.0])
    assert t["lift"].tolist() == pytest.approx([2.4, 0.8, 0.0, 0.8])
    assert t["cum_lift"].tolist() == pytest.approx([2.4, 1.6, 4 / 15 / 0.25, 1.0])


def test_gains_table_first_decile_matches_churn_metrics_capture() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 137)
    s = np.round(rng.random(137), 1)  # many ties
    t = gains_table(y, s)
    assert t["cum_capture"].iloc[0] == pytest.approx(churn_metrics(y, s)["capture_top_decile"], abs=1e-12)
    assert t["n"].sum() == pytest.approx(137)
    assert t["positives"].sum() == pytest.approx(y.sum())


# --------------------------------------------------------------------------- churn: scikit-learn


@pytest.mark.parametrize("decimals", [None, 1])
def test_agrees_with_scikit_learn_on_random_data(decimals: int | None) -> None:
    rng = np.random.default_rng(11)
    y = rng.integers(0, 2, 500)
    p = np.clip(0.3 * y + 0.7 * rng.random(500), 0, 1)
    if decimals is not None:
        p = np.round(p, decimals)  # ties and exact 0 / 1 probabilities
    m = churn_metrics(y, p)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert m["pr_auc"] == pytest.approx(average_precision_score(y, p), abs=1e-12)
    assert m["brier"] == pytest.approx(brier_score_loss(y, p), abs=1e-12)
    assert m["log_loss"] == pytest.approx(log_loss(y, p), rel=1e-9)


def test_accepts_bool_labels_and_series_with_equal_indexes() -> None:
    idx = pd.Index([f"c{i}" for i in range(20)])
    a = churn_metrics(pd.Series(Y20.astype(bool), index=idx), pd.Series(S20, index=idx))
    _assert_same_metrics(a, churn_metrics(Y20, S20))


# ----------------------------------------------------------------------------------- churn: properties


@st.composite
def _labelled_scores(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(2, 40))
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    y[0], y[1] = 0, 1  # both classes
    s = np.array(draw(st.lists(st.integers(0, 5), min_size=n, max_size=n)), dtype=float) / 5  # ties
    return y, s


@settings(max_examples=60, deadline=None)
@given(data=_labelled_scores(), seed=st.integers(0, 2**16), fraction=st.floats(0.05, 1.0))
def test_churn_metrics_do_not_depend_on_row_order(data, seed, fraction) -> None:
    y, s = data
    perm = np.random.default_rng(seed).permutation(y.size)
    a = churn_metrics(y, s, top_fraction=fraction)
    b = churn_metrics(y[perm], s[perm], top_fraction=fraction)
    _assert_same_metrics(a, b)
    assert 0 <= a["capture_top_decile"] <= 1
    assert a["lift_top_decile"] == pytest.approx(a["capture_top_decile"] / fraction)


@settings(max_examples=60, deadline=None)
@given(data=_labelled_scores())
def test_ranking_metrics_are_invariant_to_monotone_transforms(data) -> None:
    y, s = data
    a = churn_metrics(y, s)
    b = churn_metrics(y, np.exp(3 * s) * 10 + 7)  # not a probability any more
    for key in ("roc_auc", "pr_auc", "capture_top_decile", "lift_top_decile"):
        assert a[key] == pytest.approx(b[key], abs=1e-12), key
    assert math.isnan(b["brier"])


@settings(max_examples=60, deadline=None)
@given(data=_labelled_scores(), bins=st.integers(1, 12))
def test_gains_table_accounts_for_every_row_and_churner(data, bins) -> None:
    y, s = data
    t = gains_table(y, s, n_bins=bins)
    assert len(t) == bins
    assert t["n"].sum() == pytest.approx(y.size)
    assert t["positives"].sum() == pytest.approx(y.sum())
    assert t["cum_capture"].iloc[-1] == pytest.approx(1.0)
    assert (np.diff(t["cum_capture"]) >= -1e-12).all()
    c = calibration_table(y, s, n_bins=bins)
    assert c["n"].sum() == y.size


# ----------------------------------------------------------------------------------- value: golden


def test_value_metrics_on_4_rows_by_hand() -> None:
    m = value_metrics(V_TRUE, V_PRED, n_deciles=2)
    # Ranked by prediction: 30, 0, 10, 0 of a total 40 -> shares 0.75, 0.75, 1, 1 against 0.25, 0.5, 0.75, 1:
    # Gini = (0.5 + 0.25 + 0.25 + 0) / 4 = 0.25. Perfect order 30, 10, 0, 0: (0.5 + 0.5 + 0.25 + 0) / 4 = 0.3125.
    assert m["normalised_gini"] == pytest.approx(0.25 / 0.3125, abs=1e-12)  # 0.8
    assert m["mae"] == pytest.approx((8 + 1 + 26 + 3) / 4)
    assert m["rmse"] == pytest.approx(math.sqrt((64 + 1 + 676 + 9) / 4))
    assert m["total_error"] == pytest.approx(10 / 40 - 1)
    # Halves by prediction: {30, 0} predicted 4 + 3 = 7 -> 23/30; {10, 0} predicted 3 -> 7/10.
    assert m["decile_mape"] == pytest.approx((23 / 30 + 7 / 10) / 2)
    # Top 10% of 4 rows = 0.4 of the best-predicted row (true 30): 12 of 40.
    assert m["capture_top_decile"] == pytest.approx(0.3)
    # Average ranks: true (3, 1.5, 4, 1.5), predicted (2, 1, 4, 3): covariance 3 / sqrt(4.5 * 5).
    assert m["spearman"] == pytest.approx(3 / math.sqrt(22.5))
    assert m["spearman"] == pytest.approx(spearmanr(V_TRUE, V_PRED).statistic)
    assert m["n"] == 4
    assert list(m) == list(VALUE_COLUMNS)


def test_normalised_gini_is_one_for_perfect_and_minus_one_for_reversed() -> None:
    y = np.array([0.0, 0.0, 5.0, 12.0, 40.0, 3.0, 0.0])
    assert value_metrics(y, y)["normalised_gini"] == pytest.approx(1.0, abs=1e-12)
    assert value_metrics(y, -y)["normalised_gini"] == pytest.approx(-1.0, abs=1e-12)
    assert value_metrics(y, np.ones_like(y))["normalised_gini"] == pytest.approx(0.0, abs=1e-12)


def test_value_decile_table_by_hand() -> None:
    t = value_decile_table(V_TRUE, V_PRED, n=2)
    assert list(t.columns) == [
        "decile", "n", "mean_pred", "mean_true", "sum_pred", "sum_true", "cum_capture", "abs_pct_error"
    ]
    assert t["sum_pred"].tolist() == pytest.approx([7.0, 3.0])
    assert t["sum_true"].tolist() == pytest.approx([30.0, 10.0])
    assert t["mean_pred"].tolist() == pytest.approx([3.5, 1.5])
    assert t["mean_true"].tolist() == pytest.approx([15.0, 5.0])
    assert t["cum_capture"].tolist() == pytest.approx([0.75, 1.0])
    assert t["abs_pct_error"].tolist() == pytest.approx([23 / 30, 0.7])


def test_decile_mape_leaves_out_deciles_without_true_value() -> None:
    # Top half: predicted 4 + 3 = 7 for a true 10 -> 0.3; bottom half has a true sum of 0 -> left out.
    t = value_decile_table([5, 5, 0, 0], [4, 3, 2, 1], n=2)
    assert math.isnan(t["abs_pct_error"].iloc[1])
    assert value_metrics([5, 5, 0, 0], [4, 3, 2, 1], n_deciles=2)["decile_mape"] == pytest.approx(0.3)


def test_constant_inputs_give_nan_where_undefined() -> None:
    m = value_metrics([2.0, 2.0, 2.0], [1.0, 2.0, 3.0])
    assert math.isnan(m["normalised_gini"]) and math.isnan(m["spearman"])
    assert m["total_error"] == 0.0


# ---------------------------------------------------------------------------------- value: properties

_values = st.lists(st.integers(0, 1000), min_size=2, max_size=40).filter(lambda v: len(set(v)) > 1)


@settings(max_examples=80, deadline=None)
@given(y=_values, seed=st.integers(0, 2**16))
def test_normalised_gini_is_invariant_to_monotone_transforms_of_the_prediction(y, seed) -> None:
    y = np.array(y, dtype=float)
    pred = np.round(np.random.default_rng(seed).normal(size=y.size), 1)  # ties included
    base = value_metrics(y, pred)
    for transformed in (np.exp(pred), pred**3, 1000 * pred - 5, np.arctan(pred)):
        other = value_metrics(y, transformed)
        assert other["normalised_gini"] == pytest.approx(base["normalised_gini"], abs=1e-9)
        assert other["capture_top_decile"] == pytest.approx(base["capture_top_decile"], abs=1e-9)
    assert -1 - 1e-9 <= base["normalised_gini"] <= 1 + 1e-9
    assert value_metrics(y, y)["normalised_gini"] == pytest.approx(1.0)
    assert value_metrics(y, -y)["normalised_gini"] == pytest.approx(-1.0)


@settings(max_examples=60, deadline=None)
@given(y=_values, seed=st.integers(0, 2**16), bins=st.integers(1, 12))
def test_value_decile_table_keeps_the_totals(y, seed, bins) -> None:
    y = np.array(y, dtype=float)
    pred = np.round(np.random.default_rng(seed).gamma(1.0, 50.0, size=y.size))
    t = value_decile_table(y, pred, n=bins)
    assert t["sum_true"].sum() == pytest.approx(y.sum())
    assert t["sum_pred"].sum() == pytest.approx(pred.sum())
    assert t["n"].sum() == pytest.approx(y.size)
    assert t["cum_capture"].iloc[-1] == pytest.approx(1.0)


# ------------------------------------------------------------------------------------------ compare


def test_compare_churn_has_one_row_per_model_in_order() -> None:
    t = compare_churn(Y20, {"model": S20, "reversed": -S20, "probability": S20 / 20})
    assert t["scorer"].tolist() == ["model", "reversed", "probability"]
    assert list(t.columns) == ["scorer", *CHURN_COLUMNS]
    assert t.loc[0, "roc_auc"] == pytest.approx(55 / 75)
    assert t.loc[1, "roc_auc"] == pytest.approx(20 / 75)
    assert math.isnan(t.loc[0, "brier"]) and not math.isnan(t.loc[2, "brier"])


def test_compare_value_has_one_row_per_model_in_order() -> None:
    t = compare_value(V_TRUE, {"model": V_PRED, "perfect": V_TRUE})
    assert t["scorer"].tolist() == ["model", "perfect"]
    assert list(t.columns) == ["scorer", *VALUE_COLUMNS]
    assert t["normalised_gini"].tolist() == pytest.approx([0.8, 1.0])


# ------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("y", "s", "match"),
    [
        ([0, 1, 1], [0.1, 0.2], r"'score' must have the length of 'y_true' \(3\); got 2"),
        ([0, 1, np.nan], [0.1, 0.2, 0.3], r"'y_true' must be finite; got 1 NaN"),
        ([0, 1, 1], [0.1, np.inf, 0.3], r"'score' must be finite"),
        ([0, 1, 2], [0.1, 0.2, 0.3], r"'y_true' must be binary"),
        ([1, 1, 1], [0.1, 0.2, 0.3], r"'y_true' has only one class \(1\) at this evaluation cut-off"),
        ([], [], r"'y_true' is empty"),
        ([0, 1], np.ones((2, 2)), r"'score' must be one-dimensional; got shape \(2, 2\)"),
        (["no", "yes"], [0.1, 0.2], r"'y_true' must be numeric"),
        (pd.Series(["0", "1"]), [0.1, 0.2], r"'y_true' must be numeric; got dtype str"),
        (pd.Series([0, 1], index=[1, 2]), pd.Series([0.1, 0.2], index=[2, 3]), r"'score' has a different index"),
        (pd.Series([0, 1, None], dtype="Int64"), [0.1, 0.2, 0.3], r"'y_true' must be finite"),
    ],
)
def test_churn_input_errors_name_the_argument(y, s, match) -> None:
    with pytest.raises(ModelError, match=match):
        churn_metrics(y, s)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"top_fraction": 0.0}, r"'top_fraction' parameter must be a number in \(0, 1\]; got 0.0"),
        ({"top_fraction": 1.5}, r"'top_fraction'"),
        ({"n_bins": 0}, r"'n_bins' parameter must be an integer >= 1; got 0"),
        ({"n_bins": 2.5}, r"'n_bins'"),
    ],
)
def test_churn_parameter_errors(kwargs, match) -> None:
    with pytest.raises(ModelError, match=match):
        churn_metrics(Y20, S20, **kwargs)


def test_calibration_table_rejects_scores_that_are_not_probabilities() -> None:
    with pytest.raises(ModelError, match=r"'prob' must hold probabilities in \[0, 1\]; got values from 1 to 20"):
        calibration_table(Y20, S20)


def test_value_errors_name_the_argument() -> None:
    with pytest.raises(ModelError, match=r"'y_true' must have a positive total"):
        value_metrics([0, 0, 0], [1, 2, 3])
    with pytest.raises(ModelError, match=r"'y_pred' must have the length of 'y_true' \(4\); got 3"):
        value_metrics(V_TRUE, [1, 2, 3])
    with pytest.raises(ModelError, match=r"'y_pred' must be finite"):
        value_metrics(V_TRUE, [1, 2, np.nan, 3])
    with pytest.raises(ModelError, match=r"'n_deciles' parameter must be an integer >= 1"):
        value_metrics(V_TRUE, V_PRED, n_deciles=0)
    with pytest.raises(ModelError, match=r"'n' parameter must be an integer >= 1"):
        value_decile_table(V_TRUE, V_PRED, n=-1)


def test_compare_errors_name_the_model() -> None:
    with pytest.raises(ModelError, match=r"'scores' must be a non-empty mapping .* got an empty mapping"):
        compare_churn(Y20, {})
    with pytest.raises(ModelError, match=r"'scores' must be a non-empty mapping .* got a list"):
        compare_churn(Y20, [S20])
    with pytest.raises(ModelError, match=r"scores\['recency'\] must have the length of 'y_true'"):
        compare_churn(Y20, {"model": S20, "recency": S20[:5]})
    with pytest.raises(ModelError, match=r"preds\['bgnbd'\] must be finite"):
        compare_value(V_TRUE, {"model": V_PRED, "bgnbd": [1.0, np.nan, 2.0, 3.0]})


def test_inputs_are_not_mutated() -> None:
    y = pd.Series(Y20)
    s = pd.Series(S20)
    y_before, s_before = y.copy(), s.copy()
    churn_metrics(y, s)
    gains_table(y, s)
    value_metrics(s, y + 1.0)
    pd.testing.assert_series_equal(y, y_before)
    pd.testing.assert_series_equal(s, s_before)


# ----------------------------------------------------------------------------------------- real data


@pytest.mark.realdata
def test_tenure_baseline_on_telco_churn() -> None:
    path = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "telco-customer-churn"
    csv = path / "Telco-Customer-Churn.csv.gz"
    if not csv.exists():
        pytest.skip(f"real data not available: {csv} is absent (the shared data folder sits beside the checkout)")
    telco = pd.read_csv(csv, usecols=["tenure", "MonthlyCharges", "Churn"])
    y = (telco["Churn"] == "Yes").astype(int)
    score = -telco["tenure"].astype(float)  # short tenure = more churn; integer months: many ties
    m = churn_metrics(y, score)
    assert m["n"] == 7043
    assert m["base_rate"] == pytest.approx(1869 / 7043)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert m["pr_auc"] == pytest.approx(average_precision_score(y, score), abs=1e-12)
    assert m["roc_auc"] > 0.7  # tenure is a known strong churn signal in this data set
    assert 1 < m["lift_top_decile"] <= 1 / m["base_rate"]
    reordered = telco.sort_values(["tenure", "MonthlyCharges"]).index
    _assert_same_metrics(m, churn_metrics(y.loc[reordered], score.loc[reordered]))
    t = gains_table(y, score)
    assert t["cum_capture"].iloc[0] == pytest.approx(m["capture_top_decile"], abs=1e-12)
