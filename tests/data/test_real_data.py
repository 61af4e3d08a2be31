"""Prepare the real public data sets through their dataset configs (needs ../shared/data beside the checkout)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from loyalist.config import load_config
from loyalist.data import prepare
from loyalist.data.clean import extreme_amount_totals, non_product_lines

pytestmark = pytest.mark.realdata

DATASETS = Path(__file__).resolve().parents[2] / "configs" / "datasets"


def _prepare(name: str):
    return prepare(load_config([DATASETS / f"{name}.yaml"]).data)


def _summary(result) -> dict:
    counts = ["table", "rows_in", "rows_kept", "rows_rejected", "rows_changed"]
    return result.summary[counts].set_index("table").to_dict("index")


def test_cdnow_master(shared_data):
    raw = pd.read_csv(shared_data / "cdnow" / "CDNOW_master.txt.gz", sep=r"\s+", dtype={"customer_id": str})
    result = _prepare("cdnow")
    assert _summary(result) == {
        "orders": {"rows_in": 69_659, "rows_kept": 69_659, "rows_rejected": 0, "rows_changed": 0}}
    assert result.summary[["encoding", "encoding_confidence"]].values.tolist() == [["utf-8", 1.0]]  # ASCII
    assert result.rejects.empty
    orders = result.tables["orders"]
    assert orders["customer_id"].nunique() == 23_570
    assert orders["order_id"].is_unique
    assert orders["order_date"].min() == pd.Timestamp("1997-01-01")
    assert orders["order_date"].max() == pd.Timestamp("1998-06-30")
    assert orders["amount"].sum() == pytest.approx(raw["dollar_value"].sum())  # nothing capped
    assert (orders["amount"] == 0).sum() == 80
    assert orders["quantity"].sum() == raw["number_of_cds"].sum()
    assert (orders["status"] == "completed").all()
    assert "order_lines" not in result.tables


def test_cdnow_sample(shared_data):
    result = _prepare("cdnow_sample")
    assert _summary(result)["orders"]["rows_in"] == 6_919
    assert _summary(result)["orders"]["rows_kept"] == 6_919
    orders = result.tables["orders"]
    assert orders["customer_id"].nunique() == 2_357
    assert orders["customer_id"].str.fullmatch(r"\d{5}").all()  # the master ids, zero-padded


def test_online_retail_ii(shared_data):
    result = _prepare("online_retail_ii")
    summary = _summary(result)
    orders = summary["orders"]
    assert orders["rows_in"] == 525_461
    assert orders["rows_in"] == orders["rows_kept"] + orders["rows_rejected"]
    assert (orders["rows_kept"], orders["rows_rejected"]) == (408_954, 116_507)
    assert summary["customers"] == {"rows_in": 4_383, "rows_kept": 4_383, "rows_rejected": 0, "rows_changed": 0}

    rejects = result.rejects[result.rejects["table"] == "orders"]
    counts = rejects.groupby(["rule", "action"]).size().to_dict()
    assert counts == {
        ("missing_required", "dropped"): 107_927,  # no Customer ID
        ("duplicate", "dropped"): 6_765,  # exact duplicate lines (6 more were non-product lines)
        # flagged (counted in full) above the 0.999 quantile of the completed line amounts up to their day
        ("extreme_amount", "changed"): 357,
        ("test_record", "dropped"): 16,  # TEST001 / TEST002 "This is a test product."
        ("non_product", "dropped"): 1_799,  # POST, M, C2, D, ADJUST, BANK CHARGES, PADS, ADJUST2 lines
    }
    codes = non_product_lines(result.rejects).set_index("product_id")
    assert codes["lines"].to_dict() == {"POST": 822, "M": 650, "C2": 125, "D": 97, "ADJUST": 61, "BANK CHARGES": 26,
                                        "PADS": 15, "ADJUST2": 3}
    assert codes.loc["M", "cancelled_amount"] == pytest.approx(-225_328.41)
    assert codes.loc["POST", "completed_amount"] == pytest.approx(48_741.08)
    assert extreme_amount_totals(result.rejects)["flagged_over"] == pytest.approx(236_507.02)
    tests = rejects[rejects["rule"] == "test_record"]
    assert (tests["column"] == "product_id").all() and tests["reason"].str.contains("'TEST00[12]'").all()
    assert (rejects.loc[rejects["rule"] == "missing_required", "column"] == "customer_id").all()

    lines = result.tables["order_lines"]
    head = result.tables["orders"]
    assert len(lines) == 408_954 and lines["amount_flagged"].sum() == 357
    assert not lines["product_id"].isin(list(codes.index)).any()
    assert len(head) == 22_986 and head["order_id"].is_unique
    assert head["customer_id"].nunique() == 4_314  # 3 customers had only test-product lines, 66 only non-product
    assert head["customer_id"].str.fullmatch(r"\d{5}").all()  # 12345, never 12345.0
    assert head["status"].value_counts().to_dict() == {"completed": 18_966, "cancelled": 4_020}
    assert head["amount"].sum() == pytest.approx(lines["amount"].sum())
    assert head["order_date"].min() == pd.Timestamp("2009-12-01 07:45")
    assert head["order_date"].max() == pd.Timestamp("2010-12-09 20:01")
    customers = result.tables["customers"]
    assert customers["region"].value_counts().head(1).to_dict() == {"United Kingdom": 4_034}
