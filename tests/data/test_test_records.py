"""Test records are recognised by product (id or description) and zero-price lines too (issue 10 section 3)."""

from __future__ import annotations

import pandas as pd
import pytest

from loyalist.config import load_config
from loyalist.config.models import CleaningConfig
from loyalist.data.clean import clean_tables
from loyalist.data.prepare import prepare
from loyalist.errors import ConfigError

REPO = __import__("pathlib").Path(__file__).resolve().parents[2]


def _lines() -> pd.DataFrame:
    return pd.DataFrame({
        "order_id": ["1", "1", "2", "3", "4", "5"],
        "customer_id": ["A", "A", "B", "C", "D", "E"],
        "order_date": ["2010-01-05"] * 6,
        "product_id": ["85123A", "TEST001", "TEST002", "22423", "84029G", "21232"],
        "description": ["WHITE HANGING HEART", "This is a test product.", "nan", "Test Product kit",
                        "KNITTED UNION FLAG", "STRAWBERRY CERAMIC"],
        "amount": ["10.2", "0", "3", "5", "0", "7"],
    }, dtype=object)


def test_test_products_by_id_or_description_are_rejected():
    result = clean_tables({"orders": _lines()}, CleaningConfig())
    r = result.rejects[result.rejects["rule"] == "test_record"]
    assert list(zip(r["source_row"], r["column"])) == [(1, "product_id"), (2, "product_id"), (3, "description")]
    assert r["reason"].iloc[0] == ("'product_id' 'TEST001' matches a test product pattern "
                                   "(data.cleaning.test_product_patterns)")
    lines = result.tables["order_lines"]
    assert lines["product_id"].tolist() == ["85123A", "84029G", "21232"]
    assert "description" not in lines.columns and "description" not in result.tables["orders"].columns
    s = result.summary.iloc[0]
    assert s["rows_in"] == 6 == s["rows_kept"] + s["rows_rejected"]


def test_zero_price_lines_are_rejected_when_configured():
    result = clean_tables({"orders": _lines()}, CleaningConfig(reject_zero_amount=True))
    zero = result.rejects[result.rejects["rule"] == "zero_amount"]
    assert zero["source_row"].tolist() == [4]  # row 1 (also price 0) was already a test record
    assert result.tables["order_lines"]["product_id"].tolist() == ["85123A", "21232"]
    kept = clean_tables({"orders": _lines()}, CleaningConfig(test_product_patterns=[]))
    assert "TEST001" in set(kept.tables["order_lines"]["product_id"])  # both rules can be switched off


def test_a_bad_test_product_pattern_is_a_config_error():
    with pytest.raises(ConfigError, match="'data.cleaning.test_product_patterns' entry '\\('"):
        clean_tables({"orders": _lines()}, CleaningConfig(test_product_patterns=["("]))


@pytest.mark.realdata
def test_online_retail_test_product_customers_are_not_customers(shared_data):
    config = load_config([REPO / "configs" / "datasets" / "online_retail_ii.yaml"])
    result = prepare(config.data)
    lines = result.tables["order_lines"]
    assert not lines["product_id"].str.upper().str.startswith("TEST").any()
    raw = pd.read_parquet(shared_data / "online-retail-ii-2009-2010" / "online_retail_II.parquet")
    raw = raw[raw["Customer ID"].notna()]
    only_test = raw.groupby("Customer ID")["StockCode"].agg(lambda s: s.str.startswith("TEST").all())
    test_customers = {str(int(c)) for c in only_test[only_test].index}
    assert len(test_customers) >= 2
    assert not test_customers & set(result.tables["orders"]["customer_id"])
