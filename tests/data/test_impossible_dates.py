"""Dates that cannot be real are rejected with their own rule, never used (issue 10 section 2).

Future dates (after the run date the CLI passes, or after ``data.max_date``), dates before ``data.min_date`` and
years pandas cannot hold (3000) go to the rejects table as ``impossible_date`` with a reason.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from typer.testing import CliRunner

from loyalist.cli import app
from loyalist.config.models import CleaningConfig, DataConfig, SourceConfig
from loyalist.data.clean import DateBounds, clean_tables
from loyalist.data.prepare import prepare, read_clean
from loyalist.errors import ConfigError
from loyalist.features.cutoffs import data_period

RUN = pd.Timestamp("2026-12-03")


def _orders(dates: list[str]) -> pd.DataFrame:
    return pd.DataFrame({
        "order_id": [str(i) for i in range(len(dates))],
        "customer_id": ["A"] * len(dates),
        "order_date": dates,
        "amount": ["10"] * len(dates),
    }, dtype=object)


def _impossible(result) -> list[tuple[int, str]]:
    r = result.rejects[result.rejects["rule"] == "impossible_date"]
    return list(zip(r["source_row"].tolist(), r["reason"].tolist()))


def test_future_early_and_unholdable_dates_are_rejected_with_their_reason():
    raw = _orders(["2024-01-01", "2099-01-01", "3000-01-01", "1900-01-01", "20300101", "01/02/3000",
                   "2026-12-03 23:59:59", "not a date"])
    result = clean_tables({"orders": raw}, CleaningConfig(), bounds=DateBounds.of("1970-01-01", None, RUN))
    assert _impossible(result) == [
        (1, "'order_date' value '2099-01-01' is after the run date 2026-12-03 (a date in the future)"),
        (2, "'order_date' value '3000-01-01' has a year outside 1678-2261, which no real date has (and pandas "
            "cannot hold)"),
        (3, "'order_date' value '1900-01-01' is before data.min_date 1970-01-01"),
        (4, "'order_date' value '20300101' is after the run date 2026-12-03 (a date in the future)"),
        (5, "'order_date' value '01/02/3000' has a year outside 1678-2261, which no real date has (and pandas "
            "cannot hold)"),
    ]
    assert result.rejects.loc[result.rejects["source_row"] == 7, "rule"].tolist() == ["unparseable_date"]
    orders = result.tables["orders"]
    assert orders["order_id"].tolist() == ["0", "6"]  # the run date itself is a real day
    s = result.summary.iloc[0]
    assert s["rows_in"] == 8 == s["rows_kept"] + s["rows_rejected"]


def test_max_date_from_config_wins_when_earlier_than_the_run_date():
    raw = _orders(["2024-01-01", "2024-06-30 18:00", "2024-07-01"])
    bounds = DateBounds.of(dt.date(1970, 1, 1), dt.date(2024, 6, 30), RUN)
    result = clean_tables({"orders": raw}, CleaningConfig(), bounds=bounds)
    assert _impossible(result) == [(2, "'order_date' value '2024-07-01' is after data.max_date 2024-06-30")]
    with pytest.raises(ConfigError, match="'data.min_date'"):
        DateBounds.of("2025-01-01", "2024-06-30", RUN)


def test_an_impossible_optional_date_becomes_missing_and_is_logged():
    customers = pd.DataFrame({"customer_id": ["A", "B"], "signup_date": ["2023-05-01", "3000-01-01"]}, dtype=object)
    result = clean_tables({"orders": _orders(["2024-01-01"]), "customers": customers}, CleaningConfig(),
                          bounds=DateBounds.of(None, None, RUN))
    kept = result.tables["customers"]
    assert kept["signup_date"].isna().tolist() == [False, True]
    r = result.rejects[result.rejects["rule"] == "impossible_date"]
    assert r[["table", "action", "column"]].values.tolist() == [["customers", "changed", "signup_date"]]


def test_prepare_keeps_a_2099_order_out_of_the_data_period(tmp_path):
    (tmp_path / "orders.csv").write_text(
        "order_id,customer_id,order_date,amount\n"
        "1,A,2024-01-05 10:00,10\n"
        "2,B,2024-03-01 12:00,20\n"
        "3,A,2099-01-01,30\n"
        "4,B,3000-01-01,40\n", encoding="utf-8")
    data = DataConfig(orders=SourceConfig(path=tmp_path / "orders.csv"))
    result = prepare(data, run_date=RUN)
    assert sorted(result.rejects.loc[result.rejects["rule"] == "impossible_date", "source_row"]) == [2, 3]
    assert data_period(result.tables) == (pd.Timestamp("2024-01-05"), pd.Timestamp("2024-03-01"))


def test_the_cli_prepare_rejects_future_dates_by_the_day_it_runs(tmp_path):
    (tmp_path / "orders.csv").write_text(
        "order_id,customer_id,order_date,amount\n"
        "1,A,2024-01-05,10\n"
        "2,A,2099-01-01,30\n", encoding="utf-8")
    (tmp_path / "c.yaml").write_text("data:\n  orders:\n    path: orders.csv\n", encoding="utf-8")
    out = tmp_path / "clean"
    result = CliRunner().invoke(app, ["prepare", "--config", str(tmp_path / "c.yaml"), "--out", str(out),
                                      "--quiet"])
    assert result.exit_code == 0, result.output
    orders = read_clean(out)["orders"]
    assert orders["order_date"].max() == pd.Timestamp("2024-01-05")
    rejects = pd.read_parquet(out / "rejects.parquet")
    assert rejects["rule"].tolist() == ["impossible_date"]
    assert "a date in the future" in rejects["reason"].iloc[0]


def test_an_excel_cell_in_year_3000_is_an_impossible_date(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["order_id", "customer_id", "order_date", "amount"])
    sheet.append(["1", "A", dt.datetime(2024, 1, 5, 10, 0), 10])
    sheet.append(["2", "A", dt.datetime(3000, 1, 1), 20])
    book.save(tmp_path / "orders.xlsx")
    result = prepare(DataConfig(orders=SourceConfig(path=tmp_path / "orders.xlsx")), run_date=RUN)
    assert result.rejects["rule"].tolist() == ["impossible_date"]
    assert "3000-01-01" in result.rejects["reason"].iloc[0]
    assert len(result.tables["orders"]) == 1
