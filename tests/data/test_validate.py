"""Tests of loyalist.data.validate.validate_tables."""

from __future__ import annotations

import pandas as pd
import pytest

from loyalist.config.models import SourceConfig
from loyalist.data.load import read_source
from loyalist.data.validate import validate_tables
from loyalist.errors import SchemaError


def _orders(**drop) -> pd.DataFrame:
    df = pd.DataFrame({"order_id": ["1"], "customer_id": ["c1"], "order_date": ["2024-01-01"], "amount": ["3"]})
    return df.drop(columns=list(drop))


def test_valid_tables_pass():
    assert validate_tables({"orders": _orders(), "customers": pd.DataFrame({"customer_id": ["c1"]})}) is None


def test_missing_required_column_is_named_with_the_mapping_to_fix():
    with pytest.raises(SchemaError, match=r"'orders'.*'order_date'.*map it in data\.orders\.columns"):
        validate_tables({"orders": _orders(order_date=1)})


def test_missing_key_suggests_synthesize_key():
    with pytest.raises(SchemaError, match=r"'order_id'.*synthesize_key"):
        validate_tables({"orders": _orders(order_id=1)})


def test_orders_are_mandatory():
    with pytest.raises(SchemaError, match="'orders' table is missing"):
        validate_tables({"customers": pd.DataFrame({"customer_id": ["c1"]})})


def test_all_problems_in_one_error():
    raw = {
        "orders": _orders(amount=1),
        "tickets": pd.DataFrame({"ticket_id": ["t"], "customer_id": ["c"]}),
        "payments": pd.DataFrame({"x": [1]}),
    }
    with pytest.raises(SchemaError) as info:
        validate_tables(raw)
    msg = str(info.value)
    assert "'amount'" in msg and "data.orders.columns" in msg
    assert "'created_at'" in msg and "data.tickets.columns" in msg
    assert "'payments' is not a canonical table" in msg


def test_message_names_the_source_file_and_its_columns(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("order_id,customer_id,day,amount\n1,c1,2024-01-01,3\n", encoding="utf-8")
    raw = {"orders": read_source("orders", SourceConfig(path=path))}
    with pytest.raises(SchemaError, match=r"lacks the required column 'order_date'") as info:
        validate_tables(raw)
    assert str(path) in str(info.value)
    assert "['order_id', 'customer_id', 'day', 'amount']" in str(info.value)
