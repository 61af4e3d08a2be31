"""The pyfunc wrapper and the model protocol, without a tracking store."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from loyalist.errors import ModelError
from loyalist.tracking.pyfunc import (
    LoyalistPyfunc,
    as_model_input,
    check_model_protocol,
    dump_model,
)

from tracking_helpers import make_churn_model, make_frame


def _wrapper(model, tmp_path):
    path = dump_model(model, tmp_path / "model.pkl")
    wrapper = LoyalistPyfunc()
    wrapper.load_context(SimpleNamespace(artifacts={"model": str(path)}))
    return wrapper


def test_predict_returns_probabilities_frame_on_the_input_index(tmp_path):
    frame = make_frame(60, seed=4)
    model = make_churn_model(frame)
    wrapper = _wrapper(model, tmp_path)
    scored = wrapper.predict(None, frame.set_index("customer_id"))
    assert list(scored.columns) == ["churn_probability"]
    assert scored.index.equals(pd.Index(frame["customer_id"], name="customer_id"))
    assert scored["churn_probability"].between(0, 1).all()
    np.testing.assert_allclose(scored["churn_probability"].to_numpy(), model.score(frame))


def test_predict_names_the_missing_columns(tmp_path):
    frame = make_frame(10, seed=4)
    wrapper = _wrapper(make_churn_model(frame), tmp_path)
    with pytest.raises(ModelError, match=r"\['recency_days', 'monetary_total'\]"):
        wrapper.predict(None, frame.drop(columns=["recency_days", "monetary_total"]))


class _Labels:
    """A churn model that wrongly returns raw scores outside [0, 1]."""

    feature_names_ = ["x"]
    output_name = "churn_probability"
    kind = "churn"

    def score(self, X):
        return X["x"].to_numpy() * 10


def test_churn_scores_outside_unit_interval_are_refused(tmp_path):
    wrapper = _wrapper(_Labels(), tmp_path)
    with pytest.raises(ModelError, match="'churn_probability' outside \\[0, 1\\]"):
        wrapper.predict(None, pd.DataFrame({"x": [0.05, 0.5]}))
    # a value model may return any non-negative amount
    value_model = _Labels()
    value_model.kind, value_model.output_name = "value", "expected_value"
    out = _wrapper(value_model, tmp_path).predict(None, pd.DataFrame({"x": [0.05, 0.5]}))
    assert out["expected_value"].tolist() == [0.5, 5.0]


def test_check_model_protocol():
    check_model_protocol(_Labels())
    with pytest.raises(ModelError, match=r"lacks \['kind'\]"):
        check_model_protocol(SimpleNamespace(feature_names_=["x"], output_name="y", score=lambda X: X))
    with pytest.raises(ModelError, match="kind 'ltv'"):
        check_model_protocol(SimpleNamespace(feature_names_=["x"], output_name="y", kind="ltv", score=len))
    with pytest.raises(ModelError, match="feature_names_ \\[\\]"):
        check_model_protocol(SimpleNamespace(feature_names_=[], output_name="y", kind="churn", score=len))


def test_as_model_input_casts_numbers_only_and_keeps_the_input():
    df = pd.DataFrame({
        "i": pd.Series([1, 2], dtype="int64"),
        "n": pd.Series([1, None], dtype="Int64"),
        "b": [True, False],
        "s": pd.Series(["a", "b"], dtype="str"),
        "c": pd.Series(["x", None], dtype="category"),
    })
    before = df.copy()
    out = as_model_input(df)
    assert out.dtypes.astype(str).to_dict() == {"i": "float64", "n": "float64", "b": "bool", "s": "str", "c": "str"}
    assert np.isnan(out.loc[1, "n"])
    assert out.loc[0, "c"] == "x" and pd.isna(out.loc[1, "c"])
    pd.testing.assert_frame_equal(df, before)
