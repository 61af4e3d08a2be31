"""Tests of loyalist.scoring.scaling: each method by hand, NaN handling, errors, and properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalist.config.models import ScalingConfig
from loyalist.errors import ModelError, SchemaError
from loyalist.scoring.scaling import numeric_values, percentile_reference, scale_indicator

NAN = np.nan


def _scaled(values, method, cap=None, reference=None, name="x"):
    return scale_indicator(pd.Series(values, name=name, dtype="float64"), ScalingConfig(method=method, cap=cap),
                           reference)


@pytest.mark.parametrize(
    ("method", "cap", "values", "expected"),
    [
        # 100 * clip(x, 0, 1)
        ("ratio", None, [0.85, 0.92, 1.2, -0.1, NAN], [85.0, 92.0, 100.0, 0.0, NAN]),
        # 100 * clip(x / 12, 0, 1): 12/yr -> 100, 6/yr -> 50, 24/yr capped, 3/yr -> 25
        ("cap", 12.0, [12.0, 6.0, 24.0, 3.0, NAN], [100.0, 50.0, 100.0, 25.0, NAN]),
        # 100 * (1 - clip(x / 1, 0, 1)): complaint rate 0.02 -> 98
        ("inverse", 1.0, [0.02, 0.15, 0.0, 1.5, NAN], [98.0, 85.0, 100.0, 0.0, NAN]),
        # 100 * (1 - clip(x / 0.5, 0, 1)): 0.1 -> 80, 0.25 -> 50
        ("inverse", 0.5, [0.1, 0.25, 0.5, 0.0, NAN], [80.0, 50.0, 0.0, 100.0, NAN]),
        # (x + 100) / 2 clipped: 85 -> 92.5, 50 -> 75, -100 -> 0, 0 -> 50, out of range clipped
        ("nps", None, [85.0, 50.0, -100.0, 0.0, 130.0, NAN], [92.5, 75.0, 0.0, 50.0, 100.0, NAN]),
    ],
)
def test_methods_by_hand(method, cap, values, expected):
    out = _scaled(values, method, cap)
    np.testing.assert_allclose(out.to_numpy(), expected, rtol=0, atol=1e-12)


def test_percentile_by_hand():
    # reference 1, 2, 2, 4: share of reference values <= x
    ref = np.array([1.0, 2.0, 2.0, 4.0])
    out = _scaled([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, NAN], "percentile", reference=ref)
    np.testing.assert_array_equal(out.to_numpy(), [0.0, 25.0, 75.0, 75.0, 100.0, 100.0, NAN])


def test_percentile_mid_rank_by_hand():
    # ties: mean = the mean of the shares < x and <= x; reference 0, 0, 0, 1, 2 (a repurchase rate of 0 for 3 of 5)
    ref = np.array([0.0, 0.0, 0.0, 1.0, 2.0])
    out = scale_indicator(pd.Series([0.0, 0.5, 1.0, 2.0, 3.0, -1.0, NAN]),
                          ScalingConfig(method="percentile", ties="mean"), ref)
    # 0: (0/5 + 3/5) / 2 = 30 (the weak percentile gives 60); 0.5: 3/5 both = 60; 1: (3 + 4) / 10 = 70; 2: 90;
    # above and below the reference: 100 and 0
    np.testing.assert_allclose(out.to_numpy(), [30.0, 60.0, 70.0, 90.0, 100.0, 0.0, NAN], rtol=0, atol=1e-12)
    weak = scale_indicator(pd.Series([0.0, 1.0]), ScalingConfig(method="percentile"), ref)
    np.testing.assert_array_equal(weak.to_numpy(), [60.0, 80.0])  # the default stays the weak percentile


def test_percentile_ties_is_validated():
    with pytest.raises(ValueError, match="ties"):
        ScalingConfig(method="percentile", ties="max")


def test_percentile_empty_reference_gives_nan():
    out = _scaled([1.0, 2.0], "percentile", reference=np.array([]))
    assert out.isna().all()


def test_percentile_reference_sorts_and_drops_missing():
    ref = percentile_reference(pd.Series([3.0, NAN, 1.0, 2.0, 1.0]))
    np.testing.assert_array_equal(ref, [1.0, 1.0, 2.0, 3.0])


def test_keeps_index_and_name_and_does_not_mutate():
    s = pd.Series([0.5, NAN, 0.25], index=pd.Index(["C3", "C1", "C2"], name="customer_id"), name="repurchase_rate")
    before = s.copy()
    out = scale_indicator(s, ScalingConfig(method="ratio"))
    assert out.index.equals(s.index)
    assert out.name == "repurchase_rate"
    assert out.dtype == "float64"
    pd.testing.assert_series_equal(s, before)
    np.testing.assert_array_equal(out.to_numpy(), [50.0, NAN, 25.0])


def test_nullable_and_text_numbers_are_accepted():
    ints = pd.Series([3, pd.NA, 12], dtype="Int64", name="purchase_frequency")
    out = scale_indicator(ints, ScalingConfig(method="cap", cap=12.0))
    np.testing.assert_array_equal(out.to_numpy(), [25.0, NAN, 100.0])
    text = pd.Series(["0.5", None, "1"], name="repurchase_rate")
    np.testing.assert_array_equal(numeric_values(text), [0.5, NAN, 1.0])


def test_non_numeric_column_is_a_schema_error():
    s = pd.Series(["high", "low"], name="nps")
    with pytest.raises(SchemaError, match="'nps' must be numeric"):
        scale_indicator(s, ScalingConfig(method="nps"))


def test_percentile_without_reference_is_an_error():
    with pytest.raises(ModelError, match="'spend_trend' needs the 'reference'"):
        _scaled([1.0], "percentile", name="spend_trend")


def test_percentile_with_unsorted_reference_is_an_error():
    with pytest.raises(ModelError, match="ascending"):
        _scaled([1.0], "percentile", reference=np.array([3.0, 1.0]))
    with pytest.raises(ModelError, match="without NaN"):
        _scaled([1.0], "percentile", reference=np.array([1.0, NAN]))


# ------------------------------------------------------------------------------------------ properties

_any_float = st.floats(allow_nan=True, allow_infinity=True, width=64)
_configs = st.sampled_from(
    [
        ScalingConfig(method="ratio"),
        ScalingConfig(method="cap", cap=12.0),
        ScalingConfig(method="cap", cap=0.5),
        ScalingConfig(method="inverse", cap=1.0),
        ScalingConfig(method="inverse", cap=3.0),
        ScalingConfig(method="nps"),
        ScalingConfig(method="percentile"),
        ScalingConfig(method="percentile", ties="mean"),
    ]
)


@given(values=st.lists(_any_float, max_size=30), scaling=_configs,
       ref=st.lists(st.floats(allow_nan=False, allow_infinity=True), max_size=20))
def test_scaled_values_are_in_0_100_and_nan_stays_nan(values, scaling, ref):
    s = pd.Series(values, dtype="float64")
    out = scale_indicator(s, scaling, np.sort(np.array(ref, dtype="float64")))
    present = out.dropna()
    assert ((present >= 0) & (present <= 100)).all()
    # missing in -> missing out; present in -> present out (unless the percentile reference is empty)
    assert out[s.isna()].isna().all()
    if not (scaling.method == "percentile" and len(ref) == 0):
        assert out[s.notna()].notna().all()


@given(values=st.lists(st.floats(allow_nan=False, allow_infinity=True), min_size=1, max_size=40),
       ref=st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=40))
def test_percentile_scaling_is_monotone(values, ref):
    ordered = pd.Series(sorted(values), dtype="float64")
    for ties in ("weak", "mean"):
        out = scale_indicator(ordered, ScalingConfig(method="percentile", ties=ties),
                              percentile_reference(pd.Series(ref)))
        assert (np.diff(out.to_numpy()) >= 0).all()


@given(values=st.lists(st.floats(allow_nan=False, allow_infinity=True), min_size=1, max_size=40), scaling=_configs)
def test_rising_values_never_lower_the_scale_except_inverse(values, scaling):
    ordered = pd.Series(sorted(values), dtype="float64")
    out = scale_indicator(ordered, scaling, np.array([0.0, 1.0, 5.0])).to_numpy()
    steps = np.diff(out)
    if scaling.method == "inverse":
        assert (steps <= 0).all()
    else:
        assert (steps >= 0).all()
