"""loyalist.schema: the one place that checks required columns, date columns and date arguments."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from loyalist.errors import ConfigError, ModelError, SchemaError
from loyalist.schema import as_day, missing_columns, require_columns, require_naive_datetime


def test_missing_columns_keeps_the_required_order_once() -> None:
    assert missing_columns(["a", "c"], ["d", "a", "b", "d"]) == ["d", "b"]
    assert missing_columns(pd.Index(["a"]), []) == []


def test_require_columns_names_every_missing_column_what_is_there_and_the_fix() -> None:
    frame = pd.DataFrame({"customer_id": ["c1"]})
    with pytest.raises(SchemaError) as info:
        require_columns(frame, ["customer_id", "order_date", "amount"], what="Table 'orders'",
                        fix="map them in the data config")
    assert str(info.value) == ("Table 'orders' lacks the required column(s) 'order_date', 'amount'; "
                               "got columns ['customer_id']; map them in the data config.")
    require_columns(frame, ["customer_id"], what="Table 'orders'", fix="unused")  # nothing missing: no error


def test_require_columns_takes_names_a_kind_and_the_callers_error() -> None:
    with pytest.raises(ModelError) as info:
        require_columns(["x"], ["x", "y"], what="The snapshot", kind="feature", show_columns=False,
                        fix="add them", error=ModelError)
    assert str(info.value) == "The snapshot lacks the feature column(s) 'y'; add them."
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("dates", [
    pd.Series(pd.to_datetime(["2024-01-01"])),
    pd.Series(pd.to_datetime(["2024-01-01"])).astype("datetime64[s]"),
])
def test_naive_datetime_columns_of_any_unit_pass(dates) -> None:
    require_naive_datetime(pd.DataFrame({"d": dates}), "d", what="table 't'", fix="parse it")


def test_a_time_zone_or_text_in_a_date_column_is_refused_with_the_fix() -> None:
    tz = pd.DataFrame({"d": pd.to_datetime(["2024-01-01"]).tz_localize("UTC")})
    with pytest.raises(SchemaError, match=r"Column 'd' of table 't' must hold naive dates .* got datetime64\[\w+, UTC\]; "
                                          r"drop the time zone"):
        require_naive_datetime(tz, "d", what="table 't'", fix="parse it")
    text = pd.DataFrame({"d": ["2024-01-01"]})
    with pytest.raises(SchemaError, match=r"Column 'd' of table 't' must be naive datetime64; got dtype .*; parse it\.$"):
        require_naive_datetime(text, "d", what="table 't'", fix="parse it")


@pytest.mark.parametrize("value", [
    "2024-06-30", "2024-06-30 17:45", dt.date(2024, 6, 30), dt.datetime(2024, 6, 30, 23, 59),
    np.datetime64("2024-06-30T08:00"), pd.Timestamp("2024-06-30 12:00").as_unit("s"),
])
def test_as_day_is_the_naive_midnight_of_the_day(value) -> None:
    day = as_day(value)
    assert day == pd.Timestamp("2024-06-30") and day.tzinfo is None and day.unit == "ns"


@pytest.mark.parametrize(("value", "match"), [
    ("not a date", r"The 'as_of' parameter must be a date such as '2024-06-30'; got 'not a date'\."),
    (None, r"must be a date such as '2024-06-30' \(years 1678-2261\); got None"),
    ("3000-01-01", r"\(years 1678-2261\); got '3000-01-01'"),
    (pd.Timestamp("2024-06-30", tz="UTC"), r"must be a naive date .*; drop the time zone"),
])
def test_as_day_refuses_what_is_not_a_naive_date(value, match) -> None:
    with pytest.raises(ConfigError, match=match):
        as_day(value)


def test_as_day_names_the_parameter_and_raises_the_callers_error() -> None:
    with pytest.raises(SchemaError, match=r"The 'calibration_end' parameter must be a date such as '1997-09-30'"):
        as_day("x", "calibration_end", example="1997-09-30", error=SchemaError)
