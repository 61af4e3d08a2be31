"""Tests of loyalist.data.dates.parse_dates."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalist.data.dates import DateOrderError, parse_dates

T = pd.Timestamp


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-05", T("2024-03-05")),
        ("2024-03-05 14:30:00", T("2024-03-05 14:30:00")),
        ("2024-03-05T14:30", T("2024-03-05 14:30")),
        ("2024-3-5", T("2024-03-05")),
        ("2024/3/5", T("2024-03-05")),
        ("2024.03.05", T("2024-03-05")),
        ("3/5/2024", T("2024-03-05")),  # month first by default
        ("25/03/2024", T("2024-03-25")),  # only one valid reading
        ("2024年3月5日", T("2024-03-05")),
        ("2024年03月05日 14时30分", T("2024-03-05 14:30")),
        ("2024年3月5日 14:30:05", T("2024-03-05 14:30:05")),
        ("20240305", T("2024-03-05")),
        ("20240305143000", T("2024-03-05 14:30:00")),
        ("45356", T("2024-03-05")),
        ("45356.5", T("2024-03-05 12:00")),
        (20240305, T("2024-03-05")),
        (45356, T("2024-03-05")),
        (45356.25, T("2024-03-05 06:00")),
        (dt.datetime(2024, 3, 5, 1, 2), T("2024-03-05 01:02")),
        (dt.date(2024, 3, 5), T("2024-03-05")),
        ("  2024-03-05  ", T("2024-03-05")),
        ("5 Mar 2024", T("2024-03-05")),
        ("2024-03-05T10:00:00+08:00", T("2024-03-05 10:00")),  # wall time kept, zone dropped
    ],
)
def test_accepted_formats(value, expected):
    out = parse_dates(pd.Series([value], dtype=object))
    assert out.iloc[0] == expected


@pytest.mark.parametrize(
    "value", ["abc", "", "N/A", "2024-02-30", "2024-13-01", "10:30", "12", 12.5, 123, True, "1000-01-01", None]
)
def test_unparseable_is_nat(value):
    # '10:30' would be "today at 10:30" for pandas: the parser never reads the clock
    out = parse_dates(pd.Series([value], dtype=object))
    assert pd.isna(out.iloc[0])


def test_dtype_index_and_name_are_kept():
    s = pd.Series(["2024-03-05", "bad", None], index=[10, 11, 12], name="order_date")
    out = parse_dates(s)
    assert out.dtype == "datetime64[ns]"
    assert list(out.index) == [10, 11, 12]
    assert out.name == "order_date"
    assert out.isna().tolist() == [False, True, True]


def test_dayfirst_decides_ambiguous_dates():
    s = pd.Series(["03/04/2024", "05/04/2024"])
    assert parse_dates(s).tolist() == [T("2024-03-04"), T("2024-05-04")]
    assert parse_dates(s, dayfirst=True).tolist() == [T("2024-04-03"), T("2024-04-05")]
    # '25/04/2024' proves the column day first, whatever the setting
    s = pd.Series(["03/04/2024", "25/04/2024"])
    assert parse_dates(s).tolist() == [T("2024-04-03"), T("2024-04-25")]


def test_explicit_format_first_then_the_others():
    s = pd.Series(["05-03-2024", "2024/3/6", "x"])
    assert parse_dates(s, fmt="%d-%m-%Y").tolist()[:2] == [T("2024-03-05"), T("2024-03-06")]
    assert pd.isna(parse_dates(s, fmt="%d-%m-%Y").iloc[2])


def test_numeric_columns():
    assert parse_dates(pd.Series([19970101, 19980630])).tolist() == [T("1997-01-01"), T("1998-06-30")]
    out = parse_dates(pd.Series([45356.5, np.nan, 5.0]))
    assert out.iloc[0] == T("2024-03-05 12:00")
    assert out.iloc[1:].isna().all()


def test_datetime_input_passes_through_and_drops_time_zone():
    s = pd.Series(pd.to_datetime(["2024-03-05 08:00"]).tz_localize("Asia/Shanghai"))
    out = parse_dates(s)
    assert out.dtype == "datetime64[ns]"
    assert out.iloc[0] == T("2024-03-05 08:00")
    s2 = pd.Series(pd.to_datetime(["2024-03-05"]).as_unit("s"))
    assert parse_dates(s2).dtype == "datetime64[ns]"


def test_many_rows_with_repeats_parse_each_value_once():
    base = pd.date_range("2020-01-01", periods=500, freq="17h")
    s = pd.Series(np.tile(base.strftime("%Y-%m-%d %H:%M:%S"), 400))
    out = parse_dates(s)
    assert len(out) == 200_000
    assert (out.to_numpy() == np.tile(base.to_numpy(), 400)).all()


_FORMATS = [
    lambda d: d.strftime("%Y-%m-%d"),
    lambda d: f"{d.year}/{d.month}/{d.day}",
    lambda d: f"{d.year}年{d.month}月{d.day}日",
    lambda d: d.strftime("%Y%m%d"),
    lambda d: str((d - dt.date(1899, 12, 30)).days),
    lambda d: f"{d.month}/{d.day}/{d.year}" if d.day > 12 else d.isoformat(),
]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.dates(min_value=dt.date(1960, 1, 1), max_value=dt.date(2099, 12, 31)),
                  st.integers(0, len(_FORMATS) - 1)),
        min_size=1, max_size=30,
    )
)
def test_property_every_format_round_trips(items):
    text = pd.Series([_FORMATS[k](d) for d, k in items])
    out = parse_dates(text)
    assert out.tolist() == [T(d) for d, _ in items]


def test_a_column_has_one_day_month_order():
    # a UK export: '01/12/2009' is 1 December because '13/12/2009' in the same column can only be day first;
    # read value by value it was 12 January, and a three-month file spread over a year without a word
    uk = pd.Series(["01/12/2009 07:45", "13/12/2009 10:00", "02/01/2010 09:00"])
    assert parse_dates(uk).tolist() == [T("2009-12-01 07:45"), T("2009-12-13 10:00"), T("2010-01-02 09:00")]
    us = pd.Series(["12/1/2009 7:45", "12/13/2009 10:00", "1/2/2010 9:00"])
    assert parse_dates(us, dayfirst=True).tolist() == [T("2009-12-01 07:45"), T("2009-12-13 10:00"),
                                                       T("2010-01-02 09:00")]
    # every value reads both ways: the setting decides
    both = pd.Series(["01/02/2024", "03/04/2024"])
    assert parse_dates(both).tolist() == [T("2024-01-02"), T("2024-03-04")]
    assert parse_dates(both, dayfirst=True).tolist() == [T("2024-02-01"), T("2024-04-03")]


def test_a_column_that_proves_both_orders_is_an_error():
    s = pd.Series(["25/03/2024", "03/25/2024", "03/04/2024"])
    with pytest.raises(DateOrderError, match=r"'25/03/2024'.*'03/25/2024'"):
        parse_dates(s)


def test_a_format_contradicted_by_the_values_it_does_not_match_is_an_error():
    # US dates with a day-first format: '12/1/2009' matches it (as 12 January), '12/13/2009' does not and can only
    # be month first, so the format is wrong for the column
    s = pd.Series(["12/1/2009 7:45", "12/13/2009 10:00"])
    with pytest.raises(DateOrderError, match=r"'12/13/2009 10:00'.*'%d/%m/%Y %H:%M'.*month first"):
        parse_dates(s, fmt="%d/%m/%Y %H:%M")
    # values the format does not match but that agree with its order are read in that order
    ok = pd.Series(["05/03/2024 10:00", "25/03/2024"])
    assert parse_dates(ok, fmt="%d/%m/%Y %H:%M").tolist() == [T("2024-03-05 10:00"), T("2024-03-25")]
    assert parse_dates(pd.Series(["05/03/2024", "3/25/2024"]), fmt="%Y-%m-%d").tolist() == [
        T("2024-05-03"), T("2024-03-25")]
