"""Non-product order lines (postage, carriage, fees, discounts, manual adjustments) are set aside as the rule
``non_product``, with their money stated, so they count as no purchase, order, product or cross-sell item."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from loyalist.config.models import CleaningConfig
from loyalist.data.clean import clean_tables, non_product_lines

RETAIL_CODES = ["^(?:post|dot|c2|m|d|bank charges)$"]


def _lines() -> pd.DataFrame:
    # order 1: two products and postage; order 2: postage alone (not a purchase); order 3: a manual line and a
    # product; order C4: a cancelled manual line; order 5: a product whose id merely starts with 'POST'
    return pd.DataFrame({
        "order_id": ["1", "1", "1", "2", "3", "3", "C4", "5"],
        "customer_id": ["A", "A", "A", "B", "B", "B", "A", "C"],
        "order_date": ["2010-01-05"] * 3 + ["2010-01-06"] * 3 + ["2010-01-07", "2010-01-08"],
        "product_id": ["85123A", "22423", "POST", "post", "M", "21232", "M", "POSTBOX"],
        "amount": ["10.5", "20", "18", "15", "250.25", "4", "-99.5", "6"],
        "status": ["completed"] * 6 + ["cancelled", "completed"],
    }, dtype=object)


def test_non_product_lines_are_set_aside_with_their_money():
    result = clean_tables({"orders": _lines()}, CleaningConfig(non_product_codes=RETAIL_CODES))
    rej = result.rejects[result.rejects["rule"] == "non_product"]
    assert rej["source_row"].tolist() == [2, 3, 4, 6]
    assert rej["reason"].iloc[0] == ("'product_id' 'POST' (completed line, amount 18.0) is a non-product code "
                                     "(data.cleaning.non_product_codes): not a purchase")
    lines = result.tables["order_lines"]
    assert lines["product_id"].tolist() == ["85123A", "22423", "21232", "POSTBOX"]
    orders = result.tables["orders"].set_index("order_id")
    assert orders.index.tolist() == ["1", "3", "5"]  # order 2 (postage alone) and C4 (manual alone) are no orders
    assert orders.loc["1", "amount"] == 30.5 and orders.loc["3", "amount"] == 4.0
    s = result.summary.iloc[0]
    assert s["rows_in"] == 8 == s["rows_kept"] + s["rows_rejected"] and s["rows_rejected"] == 4
    codes = non_product_lines(result.rejects)
    assert codes.to_dict("records") == [
        {"product_id": "M", "lines": 2, "completed_amount": 250.25, "cancelled_amount": -99.5, "amount": 150.75},
        {"product_id": "POST", "lines": 1, "completed_amount": 18.0, "cancelled_amount": 0.0, "amount": 18.0},
        {"product_id": "post", "lines": 1, "completed_amount": 15.0, "cancelled_amount": 0.0, "amount": 15.0},
    ]
    # money in = money kept + money set aside (no amount is lost without a record)
    raw = pd.to_numeric(_lines()["amount"]).sum()
    assert lines["amount"].sum() + codes["amount"].sum() == pytest.approx(raw)


def test_the_default_codes_are_service_words_and_an_empty_list_turns_the_rule_off():
    default = clean_tables({"orders": _lines()}, CleaningConfig())
    assert default.rejects.loc[default.rejects["rule"] == "non_product", "source_row"].tolist() == [2, 3]
    assert "M" in set(default.tables["order_lines"]["product_id"])  # a one-letter code is a company's own choice
    off = clean_tables({"orders": _lines()}, CleaningConfig(non_product_codes=[]))
    assert "non_product" not in set(off.rejects["rule"]) and len(off.tables["order_lines"]) == 8
    assert non_product_lines(off.rejects).empty


def test_order_level_data_without_product_id_is_untouched():
    orders = _lines().drop(columns="product_id").drop_duplicates("order_id")
    result = clean_tables({"orders": orders}, CleaningConfig(non_product_codes=RETAIL_CODES))
    assert "non_product" not in set(result.rejects["rule"])


def test_a_bad_non_product_pattern_is_refused_at_load():
    with pytest.raises(ValidationError, match="non_product_codes"):
        CleaningConfig(non_product_codes=["("])


def test_prepare_states_the_money_of_non_product_lines_and_of_the_cap(tmp_path):
    # Online Retail II: 1,799 non-product lines and a cap that removed 3.5% of a wholesaler's revenue were a rule
    # count in the console ("extreme_amount changed 419"), with no money beside them
    from typer.testing import CliRunner

    from loyalist.cli import app

    (tmp_path / "lines.csv").write_text(
        "Invoice,StockCode,Customer,Date,Amount\n"
        "1,85123A,c1,2024-03-01,10\n1,22423,c1,2024-03-01,20\n1,21232,c1,2024-03-01,30\n1,POST,c1,2024-03-01,18\n"
        "2,M,c2,2024-03-02,250.5\n2,21232,c2,2024-03-02,5000\n", encoding="utf-8")
    mapping = ("data:\n  orders:\n    path: lines.csv\n    columns: {order_id: Invoice, customer_id: Customer, "
               "order_date: Date, amount: Amount, product_id: StockCode}\n  cleaning:\n"
               "    non_product_codes: ['^(?:post|m)$']\n    extreme_quantile: 0.6\n")
    (tmp_path / "c.yaml").write_text(mapping, encoding="utf-8")
    args = ["prepare", "--config", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "clean")]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert ("Note: 2 order lines with non-product codes (data.cleaning.non_product_codes) were set aside as "
            "non_product, not purchases: 268.50 on completed lines, 0.00 on cancelled ones; by code, lines (amount): "
            "M 1 (250), POST 1 (18).") in text
    # day 2's threshold: the 0.6 quantile ('higher') of 10, 20, 30, 5000 is 30
    assert ("Note: the extreme-amount cap lowered 1 completed order lines to the 0.6 quantile of the amounts before "
            "them, removing 4,970.00 (98.2% of the completed amount before the cap).") in text
    (tmp_path / "c.yaml").write_text(mapping + "    extreme_amounts: flag\n", encoding="utf-8")
    result = CliRunner().invoke(app, args, env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Note: 1 completed order lines are above the 0.6 quantile of the amounts before them, by 4,970.00" in text
    assert "cap lowered" not in text
