"""Tests of loyalist.explain.contributions: additivity of the TreeSHAP contributions, row choice, model features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalist.errors import ConfigError, ModelError, SchemaError
from loyalist.explain import ADDITIVITY_TOL, explain, feature_columns, select_rows, with_model_features
from loyalist.modeling.btyd.features import BTYD_FEATURES


# ------------------------------------------------------------------------------------------------ explain


@pytest.mark.parametrize("model_name", ["churn_model", "offset_model"])
def test_contributions_plus_bias_and_offset_equal_raw_score_for_every_row(model_name, snapshots, request) -> None:
    model = request.getfixturevalue(model_name)
    score = snapshots["score"]
    contribs = explain(model, score)
    assert list(contribs.index) == list(score.index)
    assert list(contribs.columns) == [*model.spec_.columns, "bias", "offset"]
    gap = np.abs(contribs.to_numpy().sum(axis=1) - model.raw_score(score))
    assert gap.max() < ADDITIVITY_TOL
    if model_name == "offset_model":
        assert contribs["offset"].abs().max() > 0.1  # the BG/NBD init score is part of the sum
    else:
        assert (contribs["offset"] == 0).all()


def test_explain_chosen_rows_equal_the_full_explanation(churn_model, snapshots) -> None:
    score = snapshots["score"]
    full = explain(churn_model, score)
    rows = pd.Index([250, 3, 17])
    part = explain(churn_model, score, rows=rows)
    assert list(part.index) == [250, 3, 17]
    np.testing.assert_allclose(part.to_numpy(), full.loc[rows].to_numpy(), rtol=0, atol=1e-12)
    mask = np.zeros(len(score), dtype=bool)
    mask[[5, 9]] = True
    assert list(explain(churn_model, score, rows=mask).index) == [5, 9]


def test_explain_no_rows_gives_an_empty_frame_with_the_model_columns(churn_model, snapshots) -> None:
    empty = explain(churn_model, snapshots["score"], rows=pd.Index([], dtype="int64"))
    assert len(empty) == 0
    assert list(empty.columns) == [*churn_model.spec_.columns, "bias", "offset"]


def test_explain_raises_when_the_contributions_do_not_add_up(churn_model, snapshots, monkeypatch) -> None:
    original = churn_model.contributions

    def broken(snapshot, horizon_days=None):
        out = original(snapshot, horizon_days)
        return out.assign(recency_days=out["recency_days"] + np.where(np.arange(len(out)) == 7, 1e-3, 0.0))

    monkeypatch.setattr(churn_model, "contributions", broken)
    with pytest.raises(ModelError, match=r"do not add up.*first: row 7,"):
        explain(churn_model, snapshots["score"])


def test_explain_raises_on_non_finite_contributions(churn_model, snapshots, monkeypatch) -> None:
    original = churn_model.contributions
    monkeypatch.setattr(
        churn_model, "contributions", lambda s, h=None: original(s, h).assign(bias=np.nan)
    )
    with pytest.raises(ModelError, match="raw score"):
        explain(churn_model, snapshots["score"], rows=pd.Index([0, 1]))


def test_explain_refuses_unknown_rows_duplicate_index_and_non_models(churn_model, snapshots) -> None:
    score = snapshots["score"]
    with pytest.raises(ConfigError, match="'rows'.*first: 9999"):
        explain(churn_model, score, rows=pd.Index([1, 9999]))
    with pytest.raises(ConfigError, match="'rows' boolean mask"):
        explain(churn_model, score, rows=np.ones(3, dtype=bool))
    with pytest.raises(SchemaError, match="duplicate labels"):
        explain(churn_model, pd.concat([score.iloc[:2], score.iloc[:2]]))
    with pytest.raises(ModelError, match="'contributions'"):
        explain(object(), score)


def test_feature_columns_leave_out_bias_and_offset() -> None:
    frame = pd.DataFrame({"a": [1.0], "bias": [0.1], "b": [2.0], "offset": [0.0]})
    assert feature_columns(frame) == ["a", "b"]


def test_with_model_features_adds_the_btyd_quantities_without_touching_the_input(churn_model, snapshots) -> None:
    score = snapshots["score"]
    before = score.copy()
    frame = with_model_features(churn_model, score)
    pd.testing.assert_frame_equal(score, before)
    assert list(frame.index) == list(score.index)
    for col in BTYD_FEATURES:
        assert col in frame.columns
    expected = churn_model.btyd_.transform(score, horizon_days=churn_model.horizon_days)
    np.testing.assert_allclose(frame["bg_p_alive"].to_numpy(), expected["bg_p_alive"].to_numpy())
    assert frame["bg_p_alive"].between(0, 1).all()


# ------------------------------------------------------------------------------------------------ select_rows


@pytest.fixture()
def risk() -> pd.DataFrame:
    # labels 10..15; by value at risk: 13 (900), 11 (500), 15 (300), 10 (100), 14 (50), 12 (NaN: last)
    return pd.DataFrame(
        {
            "risk_band": ["low", "very_high", "very_high", "medium", "low", "high"],
            "value_at_risk": [100.0, 500.0, np.nan, 900.0, 50.0, 300.0],
        },
        index=pd.Index([10, 11, 12, 13, 14, 15]),
    )


def test_select_rows_takes_the_whole_very_high_band_plus_the_top_k(risk) -> None:
    individual, sample = select_rows(risk, top_k=2, sample=3, seed=0)
    assert list(individual) == [13, 11, 12]  # top 2 by VaR (13, 11) + the band (11, 12), ordered by VaR, NaN last
    assert len(sample) == 3 and sample.is_unique and set(sample) <= set(risk.index)
    only_band, _ = select_rows(risk, top_k=0, sample=0, seed=0)
    assert list(only_band) == [11, 12]
    no_band, _ = select_rows(risk, top_k=3, sample=0, seed=0, band_col=None)
    assert list(no_band) == [13, 11, 15]


def test_select_rows_caps_top_k_and_sample_at_the_number_of_rows(risk) -> None:
    individual, sample = select_rows(risk, top_k=1000, sample=1000, seed=0)
    assert list(individual) == [13, 11, 15, 10, 14, 12]
    assert list(sample) == [10, 11, 12, 13, 14, 15]  # every row, in row order


def test_select_rows_sample_is_deterministic_by_seed() -> None:
    frame = pd.DataFrame({"risk_band": ["low"] * 500, "value_at_risk": np.arange(500.0)})
    _, a = select_rows(frame, top_k=0, sample=50, seed=7)
    _, b = select_rows(frame, top_k=0, sample=50, seed=7)
    _, c = select_rows(frame, top_k=0, sample=50, seed=8)
    assert list(a) == list(b)
    assert list(a) != list(c)
    assert list(a) == sorted(a)


def test_select_rows_errors_name_the_column_or_parameter(risk) -> None:
    with pytest.raises(SchemaError, match="'value_at_risk'"):
        select_rows(risk.drop(columns="value_at_risk"), top_k=1, sample=1, seed=0)
    with pytest.raises(SchemaError, match="'risk_band'"):
        select_rows(risk.drop(columns="risk_band"), top_k=1, sample=1, seed=0)
    with pytest.raises(SchemaError, match="'value_at_risk' must be numeric"):
        select_rows(risk.assign(value_at_risk=["x"] * 6), top_k=1, sample=1, seed=0)
    with pytest.raises(ConfigError, match="'top_k'"):
        select_rows(risk, top_k=-1, sample=1, seed=0)
    with pytest.raises(ConfigError, match="'sample'"):
        select_rows(risk, top_k=1, sample=2.5, seed=0)


@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(
        st.tuples(
            st.sampled_from(["low", "medium", "high", "very_high"]),
            st.one_of(st.floats(0, 1e6), st.just(float("nan"))),
        ),
        min_size=0,
        max_size=40,
    ),
    top_k=st.integers(0, 50),
    sample=st.integers(0, 50),
    seed=st.integers(0, 2**32 - 1),
)
def test_select_rows_properties(data, top_k, sample, seed) -> None:
    frame = pd.DataFrame(data, columns=["risk_band", "value_at_risk"], index=pd.RangeIndex(100, 100 + len(data)))
    individual, drawn = select_rows(frame, top_k=top_k, sample=sample, seed=seed)
    band = set(frame.index[frame["risk_band"] == "very_high"])
    assert individual.is_unique and drawn.is_unique
    assert band <= set(individual)
    assert len(individual) <= len(band) + top_k
    assert len(individual) >= min(top_k, len(frame))
    vals = frame["value_at_risk"].fillna(-np.inf)
    # whatever is left out never has a larger value at risk than the top_k-th explained row
    left_out = vals.drop(individual)
    if top_k and len(left_out):
        kth = np.sort(vals.to_numpy())[::-1][min(top_k, len(vals)) - 1]
        assert (left_out <= kth).all()
    assert len(drawn) == min(sample, len(frame))
