"""Tests of loyalist.data.clean: the golden table, each rule, and the properties of cleaning."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalist.config.models import CleaningConfig
from loyalist.data.clean import CleanResult, clean_tables
from loyalist.data.schemas import REJECT_COLUMNS, SCHEMAS
from loyalist.errors import ConfigError, DataQualityError, SchemaError

T = pd.Timestamp
CFG = CleaningConfig()
NO_EXTREME = CleaningConfig(extreme_amounts="none")


def orders(rows: list[tuple], columns=("order_id", "customer_id", "order_date", "amount", "status")) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(columns), dtype=object)


def rejects_of(result: CleanResult, table: str = "orders", skip=("normalise_id",)) -> list[tuple]:
    """(source_row, rule, action, column) of the rejects of ``table``, without the rules in ``skip``."""
    r = result.rejects[(result.rejects["table"] == table) & ~result.rejects["rule"].isin(list(skip))]
    return [tuple(x) for x in r[["source_row", "rule", "action", "column"]].astype(object)
            .where(r[["source_row", "rule", "action", "column"]].notna(), None).itertuples(index=False)]


# --------------------------------------------------------------------------------------------- golden


def test_golden_five_dirty_orders():
    raw = orders([
        (" o1 ", " c1 ", "2024-03-05", "1,234.50", "Paid"),  # kept, ids normalised
        ("o2", "c2", "not a date", "10", "completed"),  # unparseable_date
        ("o3", "c1", "2024/3/6", "abc", None),  # unparseable_amount
        ("TEST-9", "c3", "2024-03-07", "5", "completed"),  # test_record
        ("O1", "C1", "2024-03-05", "1234.5", "completed"),  # duplicate of row 0 once normalised
    ])
    result = clean_tables({"orders": raw}, CFG)

    expected = pd.DataFrame({
        "order_id": pd.Series(["O1"], dtype="string"),
        "customer_id": pd.Series(["C1"], dtype="string"),
        "order_date": pd.Series([T("2024-03-05")], dtype="datetime64[ns]"),
        "amount": [1234.5],
        "status": pd.Series(["completed"], dtype="string"),
    })
    pd.testing.assert_frame_equal(result.tables["orders"], expected)

    r = result.rejects
    assert list(r.columns) == list(REJECT_COLUMNS)
    assert r["table"].tolist() == ["orders"] * 6
    assert r["source_row"].tolist() == [0, 0, 1, 2, 3, 4]
    assert r["key"].tolist() == ["O1", "O1", "O2", "O3", "TEST-9", "O1"]
    assert r["rule"].tolist() == ["normalise_id", "normalise_id", "unparseable_date", "unparseable_amount",
                                  "test_record", "duplicate"]
    assert r["action"].tolist() == ["changed", "changed", "dropped", "dropped", "dropped", "dropped"]
    assert r["column"].tolist()[:5] == ["customer_id", "order_id", "order_date", "amount", "order_id"]
    assert pd.isna(r["column"].iloc[5])
    assert r["reason"].tolist() == [
        "'customer_id': ' c1 ' -> 'C1'",
        "'order_id': ' o1 ' -> 'O1'",
        "'order_date' value 'not a date' is not a date",
        "'amount' value 'abc' is not a number",
        "'order_id' 'TEST-9' matches a test id pattern",
        "exact duplicate of source row 0",
    ]
    assert json.loads(r["record"].iloc[3]) == {"order_id": "o3", "customer_id": "c1", "order_date": "2024/3/6",
                                               "amount": "abc", "status": None}
    assert result.summary.drop(columns=["encoding", "encoding_confidence", "time_zones"]).to_dict("records") == [
        {"table": "orders", "rows_in": 5, "rows_kept": 1, "rows_rejected": 4, "rows_changed": 1}]


# ------------------------------------------------------------------------------------------ the rules


def test_out_of_scope_uses_the_source_filters_from_attrs():
    raw = orders([("1", "c1", "2024-01-01", "5", None), ("2", "c2", "2024-01-01", "5", None)])
    raw.attrs["filters"] = {"customer_id": "^c1$"}
    result = clean_tables({"orders": raw}, CFG)
    assert result.tables["orders"]["order_id"].tolist() == ["1"]
    assert rejects_of(result) == [(1, "out_of_scope", "dropped", "customer_id")]


@pytest.mark.parametrize("blank", ["", "  ", None, "NULL", "n/a", np.nan])
def test_missing_required(blank):
    raw = orders([("1", blank, "2024-01-01", "5", None), ("2", "c2", "2024-01-01", "5", None)])
    result = clean_tables({"orders": raw}, CFG)
    assert rejects_of(result) == [(0, "missing_required", "dropped", "customer_id")]
    assert result.rejects["reason"].iloc[0] == "required column 'customer_id' is empty"


@pytest.mark.parametrize(("case", "expected"), [("upper", "AB-1"), ("lower", "ab-1"), ("keep", "aB-1")])
def test_id_case(case, expected):
    raw = orders([(" aB-1", "aB-1", "2024-01-01", "5", None)])
    out = clean_tables({"orders": raw}, CleaningConfig(id_case=case)).tables["orders"]
    assert out["order_id"].iloc[0] == expected and out["customer_id"].iloc[0] == expected


def test_float_customer_ids_become_integers_without_a_change_record_but_text_ones_are_logged():
    raw = pd.DataFrame({"order_id": ["1", "2", "3"], "customer_id": [12345.0, 678.0, np.nan],
                        "order_date": ["2024-01-01"] * 3, "amount": [1.0, 2.0, 3.0]})
    result = clean_tables({"orders": raw}, CFG)
    assert result.tables["orders"]["customer_id"].tolist() == ["12345", "678"]
    assert rejects_of(result) == [(2, "missing_required", "dropped", "customer_id")]
    text = raw.assign(customer_id=["12345.0", "678", "9"])
    result = clean_tables({"orders": text}, CFG)
    assert result.tables["orders"]["customer_id"].tolist() == ["12345", "678", "9"]
    assert rejects_of(result, skip=()) == [(0, "normalise_id", "changed", "customer_id")]
    assert result.rejects["reason"].iloc[0] == "'customer_id': '12345.0' -> '12345'"


def test_unparseable_dates_and_amounts():
    raw = orders([
        ("1", "c", "2024年3月5日", "¥1,234", None),
        ("2", "c", "45356", "$12", None),
        ("3", "c", "2024-02-30", "12", None),
        ("4", "c", "2024-03-05", "1.234,50", None),
        ("5", "c", "2024-03-05", "(7.50)", "returned"),
        ("6", "c", "2024-03-05", "N/A", None),
    ])
    result = clean_tables({"orders": raw}, NO_EXTREME)
    out = result.tables["orders"]
    assert out["order_id"].tolist() == ["1", "2", "5"]
    assert out["amount"].tolist() == [1234.0, 12.0, -7.5]
    assert out["order_date"].tolist() == [T("2024-03-05")] * 3
    assert rejects_of(result) == [
        (2, "unparseable_date", "dropped", "order_date"),
        (3, "unparseable_amount", "dropped", "amount"),
        (5, "missing_required", "dropped", "amount"),  # 'N/A' is a null token
    ]


def test_negative_amount_on_completed_order_becomes_a_return_or_is_dropped():
    raw = orders([("1", "C", "2024-01-01", "-5", None), ("2", "C", "2024-01-02", "-5", "cancelled"),
                  ("3", "C", "2024-01-03", "5", None)])
    result = clean_tables({"orders": raw}, NO_EXTREME)
    assert result.tables["orders"]["status"].tolist() == ["returned", "cancelled", "completed"]
    assert rejects_of(result) == [(0, "negative_amount", "changed", "status")]
    assert "'status': 'completed' -> 'returned'" in result.rejects["reason"].iloc[0]
    assert result.summary["rows_changed"].tolist() == [1]

    result = clean_tables({"orders": raw}, CleaningConfig(negative_amount_is_return=False, extreme_amounts="none"))
    assert result.tables["orders"]["order_id"].tolist() == ["2", "3"]
    assert rejects_of(result) == [(0, "negative_amount", "dropped", "amount")]


def test_status_mapping_unknown_and_missing():
    raw = orders([("1", "c", "2024-01-01", "5", " PAID "), ("2", "c", "2024-01-01", "5", "退货"),
                  ("3", "c", "2024-01-01", "5", "lost in space"), ("4", "c", "2024-01-01", "5", ""),
                  ("5", "c", "2024-01-01", "5", "测试"), ("6", "c", "2024-01-01", "5", "Canceled")])
    result = clean_tables({"orders": raw}, NO_EXTREME)
    out = result.tables["orders"]
    assert dict(zip(out["order_id"], out["status"])) == {"1": "completed", "2": "returned", "4": "completed",
                                                        "6": "cancelled"}
    assert rejects_of(result) == [(2, "unknown_status", "dropped", "status"), (4, "test_record", "dropped", "status")]


def test_orders_without_status_column_are_completed():
    raw = orders([("1", "c", "2024-01-01", "5")], columns=("order_id", "customer_id", "order_date", "amount"))
    assert clean_tables({"orders": raw}, CFG).tables["orders"]["status"].tolist() == ["completed"]


def test_duplicate_order_id_with_other_content_keeps_the_first():
    raw = orders([("A", "C1", "2024-01-01", "5", None), ("B", "C1", "2024-01-02", "6", None),
                  ("A", "C1", "2024-01-03", "7", None)])
    result = clean_tables({"orders": raw}, NO_EXTREME)
    assert result.tables["orders"]["amount"].tolist() == [5.0, 6.0]
    assert rejects_of(result) == [(2, "duplicate_order_id", "dropped", "order_id")]
    assert result.rejects["reason"].iloc[0] == "'order_id' 'A' repeats with other content; kept source row 0"


def test_line_level_orders_are_aggregated_and_lines_kept():
    cols = ("order_id", "customer_id", "order_date", "product_id", "quantity", "amount", "status")
    raw = orders([
        ("1", "c1", "2024-01-01 10:00", "p1", "2", "10", "completed"),
        ("1", "c1", "2024-01-01 10:01", "p2", "1", "5.5", "completed"),
        ("C2", "c2", "2024-01-02", "p1", "-1", "-5", "cancelled"),
        ("C2", "c2", "2024-01-02", "p2", "-2", "-4", "cancelled"),
        ("3", "c1", "2024-01-03", "p1", "1", "5", "completed"),
        ("3", "c1", "2024-01-03", "p3", "-1", "-2", "returned"),
    ], columns=cols)
    result = clean_tables({"orders": raw}, NO_EXTREME)
    expected = pd.DataFrame({
        "order_id": pd.Series(["1", "C2", "3"], dtype="string"),
        "customer_id": pd.Series(["C1", "C2", "C1"], dtype="string"),
        "order_date": pd.Series([T("2024-01-01 10:00"), T("2024-01-02"), T("2024-01-03")], dtype="datetime64[ns]"),
        "amount": [15.5, -9.0, 3.0],
        "quantity": [3.0, -3.0, 0.0],
        "status": pd.Series(["completed", "cancelled", "completed"], dtype="string"),
    })
    pd.testing.assert_frame_equal(result.tables["orders"], expected)
    lines = result.tables["order_lines"]
    assert list(lines.columns) == ["order_id", "customer_id", "order_date", "product_id", "quantity", "amount",
                                   "status"]
    assert len(lines) == 6
    assert result.summary["rows_in"].tolist() == [6] and result.summary["rows_kept"].tolist() == [6]


def test_line_level_status_all_returned_and_order_conflict():
    cols = ("order_id", "customer_id", "order_date", "product_id", "amount", "status")
    raw = orders([
        ("R", "C1", "2024-01-05", "p1", "-3", "returned"),
        ("R", "C1", "2024-01-05", "p2", "-1", "cancelled"),
        ("X", "C1", "2024-01-06", "p1", "3", None),
        ("X", "C2", "2024-01-06", "p2", "4", None),  # another customer
        ("X", "C1", "2024-01-07", "p3", "5", None),  # another day
    ], columns=cols)
    result = clean_tables({"orders": raw}, NO_EXTREME)
    out = result.tables["orders"]
    assert dict(zip(out["order_id"], out["status"])) == {"R": "returned", "X": "completed"}
    assert out.loc[out["order_id"] == "X", "amount"].tolist() == [3.0]
    assert rejects_of(result) == [(3, "order_conflict", "dropped", "order_id"),
                                  (4, "order_conflict", "dropped", "order_id")]
    assert result.rejects["reason"].iloc[0].endswith("kept the lines matching source row 2")


def _customers() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["c1", "c2", "c3", "c4", " C1 "],
        "name": ["深圳某某科技有限公司", "张经理", "测试客户", "Acme Trading Ltd", "深圳某某科技有限公司"],
        "industry": ["it", "retail", "it", None, "it"],
        "contact": ["13912345678", "zhang.san@example.com", None, None, "13912345678"],
        "is_test": ["否", "no", "是", "0", "false"],
    })


def test_customers_test_incomplete_duplicates_cascade_to_orders():
    raw_orders = orders([("1", "c1", "2024-01-01", "5", None), ("2", "c2", "2024-01-02", "5", None),
                         ("3", "c3", "2024-01-03", "5", None), ("4", "c4", "2024-01-04", "5", None),
                         ("5", "c9", "2024-01-05", "5", None)])
    result = clean_tables({"customers": _customers(), "orders": raw_orders}, NO_EXTREME)
    cust = result.tables["customers"]
    assert cust["customer_id"].tolist() == ["C1", "C2"]
    assert cust["is_test"].tolist() == [False, False]
    assert str(cust["is_test"].dtype) == "boolean"
    assert rejects_of(result, "customers", skip=()) == [
        (0, "normalise_id", "changed", "customer_id"),
        (1, "normalise_id", "changed", "customer_id"),
        (2, "test_record", "dropped", "is_test"),
        (3, "incomplete_customer", "dropped", "industry"),
        (4, "duplicate", "dropped", None),
    ]
    assert result.tables["orders"]["order_id"].tolist() == ["1", "2"]
    assert [x for x in rejects_of(result) if x[2] == "dropped"] == [
        (2, "test_record", "dropped", "customer_id"),
        (3, "incomplete_customer", "dropped", "customer_id"),
        (4, "unknown_customer", "dropped", "customer_id"),
    ]
    # PII in the rejects' records is masked, Chinese kept as is (not \\u escapes)
    record = result.rejects.loc[(result.rejects["table"] == "customers")
                                & (result.rejects["source_row"] == 4), "record"].iloc[0]
    assert '"name":"*科技有限公司"' in record and '"contact":"139****5678"' in record


def test_unknown_customers_kept_and_incomplete_kept_when_configured():
    raw_orders = orders([("1", "c4", "2024-01-04", "5", None), ("2", "c9", "2024-01-05", "5", None)])
    config = CleaningConfig(unknown_customers="keep", drop_incomplete_customers=False, extreme_amounts="none")
    result = clean_tables({"customers": _customers(), "orders": raw_orders}, config)
    assert result.tables["orders"]["order_id"].tolist() == ["1", "2"]
    assert "C4" in result.tables["customers"]["customer_id"].tolist()


def test_duplicate_customer_id_with_other_content():
    raw = pd.DataFrame({"customer_id": ["c1", "c1"], "industry": ["it", "retail"]})
    result = clean_tables({"customers": raw, "orders": orders([("1", "c1", "2024-01-01", "5", None)])}, CFG)
    assert result.tables["customers"]["industry"].tolist() == ["it"]
    assert rejects_of(result, "customers")[-1] == (1, "duplicate_customer_id", "dropped", "customer_id")


@pytest.mark.parametrize("mode", ["cap", "flag", "drop", "none"])
def test_extreme_amounts(mode):
    amounts = [str(a) for a in range(1, 10)] + ["1000"]
    raw = orders([(str(i), "C", "2024-01-01", a, None) for i, a in enumerate(amounts)])
    config = CleaningConfig(extreme_amounts=mode, extreme_quantile=0.8)
    result = clean_tables({"orders": raw}, config)
    out = result.tables["orders"]
    # the 0.8 quantile ('higher' data value) of 1..9, 1000 is 9
    if mode == "cap":
        assert out["amount"].tolist() == list(range(1, 10)) + [9.0]
        assert rejects_of(result) == [(9, "extreme_amount", "changed", "amount")]
        assert result.rejects["reason"].iloc[0] == ("'amount' 1000.0 -> 9.0 (capped at the 0.8 quantile of "
                                                    "completed amounts dated up to 2024-01-01)")
    elif mode == "flag":
        assert out["amount_flagged"].tolist() == [False] * 9 + [True]
        assert str(out["amount_flagged"].dtype) == "boolean"
        assert rejects_of(result) == [(9, "extreme_amount", "changed", "amount_flagged")]
    elif mode == "drop":
        assert len(out) == 9
        assert rejects_of(result) == [(9, "extreme_amount", "dropped", "amount")]
    else:
        assert out["amount"].max() == 1000.0 and result.rejects.empty


def test_tickets_kinds_and_resolution_before_creation():
    tickets = pd.DataFrame({
        "ticket_id": ["t1", "t2", "t3"], "customer_id": ["C1", "C1", "C1"],
        "created_at": ["2024-01-02", "2024-01-03", "2024-01-04"],
        "kind": ["投诉", "Inquiry", " COMPLAINT "], "resolved_at": ["2024-01-05", "2024-01-01", None],
    })
    result = clean_tables({"orders": orders([("1", "c1", "2024-01-01", "5", None)]), "tickets": tickets}, CFG)
    out = result.tables["tickets"]
    assert out["kind"].tolist() == ["complaint", "inquiry", "complaint"]
    assert out["resolved_at"].isna().tolist() == [False, True, True]
    assert rejects_of(result, "tickets", skip=()) == [
        (0, "normalise_id", "changed", "ticket_id"), (1, "normalise_id", "changed", "ticket_id"),
        (1, "resolved_before_created", "changed", "resolved_at"), (2, "normalise_id", "changed", "ticket_id")]


def test_surveys_nps_flags_and_satisfaction():
    surveys = pd.DataFrame({
        "customer_id": ["C1"] * 6,
        "answered_at": ["2024-01-02"] * 6,
        "nps_score": ["9", "11", "abc", "0", "10", "-1"],
        "mentions_brand": ["是", "yes", "no", "否", "maybe", "1"],
        "satisfaction": ["5", "4", "3", "7", "x", "2"],
        "respondent": ["张经理", "李总监", "王伟", None, "John Smith", "x"],
    })
    result = clean_tables({"orders": orders([("1", "c1", "2024-01-01", "5", None)]), "surveys": surveys}, CFG)
    out = result.tables["surveys"]
    assert out["nps_score"].tolist() == [9.0, 0.0, 10.0]
    assert out["mentions_brand"].tolist() == [True, False, pd.NA]
    assert out["satisfaction"].isna().tolist() == [False, True, True]
    assert out["respondent"].tolist() == ["张经理", pd.NA, "John Smith"]  # clean tables are not masked
    assert rejects_of(result, "surveys") == [
        (1, "invalid_nps", "dropped", "nps_score"), (2, "invalid_nps", "dropped", "nps_score"),
        (3, "invalid_satisfaction", "changed", "satisfaction"),
        (4, "unparseable_flag", "changed", "mentions_brand"), (4, "unparseable_number", "changed", "satisfaction"),
        (5, "invalid_nps", "dropped", "nps_score")]
    record = result.rejects.loc[result.rejects["source_row"] == 1, "record"].iloc[0]
    assert json.loads(record)["respondent"] == "*总监"


def test_output_dtypes_follow_the_schema():
    raw = orders([("1", "c1", "2024-01-01", "5", "paid")]).assign(cost="3", channel=" web ", quantity="2")
    out = clean_tables({"orders": raw}, CFG).tables["orders"]
    kinds = {"string": "string", "datetime": "datetime64[ns]", "float": "float64"}
    for c in out.columns:
        assert str(out[c].dtype) == kinds[SCHEMAS["orders"].dtypes[c]], c
    assert out["channel"].iloc[0] == "web"


def test_input_frames_are_not_modified():
    raw = orders([(" o1 ", " c1 ", "2024-03-05", "1,234.50", "Paid"), ("o1", "c1", "2024-03-05", "-1", None)])
    raw.attrs["filters"] = {}
    before = raw.copy()
    clean_tables({"orders": raw}, CFG)
    pd.testing.assert_frame_equal(raw, before)


def test_every_order_rejected_is_a_data_quality_error_naming_the_top_rules():
    raw = orders([("1", "c", "bad", "5", None), ("2", None, "2024-01-01", "5", None),
                  ("3", "c", "also bad", "5", None)])
    expected = r"Every row of 'orders'.*unparseable_date \(2\), missing_required \(1\)"
    with pytest.raises(DataQualityError, match=expected):
        clean_tables({"orders": raw}, CFG)


def test_missing_required_column_and_bad_pattern():
    with pytest.raises(SchemaError, match="'order_date'"):
        clean_tables({"orders": orders([("1", "c", "5")], columns=("order_id", "customer_id", "amount"))}, CFG)
    with pytest.raises(ValueError, match=r"(?s)test_id_patterns.*'\('"):  # refused when the config is built
        CleaningConfig(test_id_patterns=["("])


def test_synthesized_keys_are_normalised_without_change_records():
    raw = orders([("orders-0", "c", "2024-01-01", "5", None)])
    raw.attrs["synthesized_key"] = "order_id"
    result = clean_tables({"orders": raw}, CFG)
    assert result.tables["orders"]["order_id"].tolist() == ["ORDERS-0"]
    assert rejects_of(result, skip=()) == [(0, "normalise_id", "changed", "customer_id")]


# ----------------------------------------------------------------------------------------- properties

_GOOD = {
    "customer_id": ["c1", " C2", "c3 ", "c4", "C1"],
    "order_date": ["2024-03-05", "2024/3/6", "2024年3月7日", "20240308", "45360", "2024-03-10 12:00", "2024-03-11"],
    "amount": ["12.5", "1,234.50", "¥8", "$3", "7", "20", "35", "60", "0", "99999"],
    "status": ["completed", "completed", "Paid", "returned", "cancelled", None, ""],
}
_BAD = {
    "order_id": [" o2", "O3 ", "TEST-1", "demo_2"],
    "customer_id": ["C9", "test9", ""],
    "order_date": ["bad", "", "2024-02-30"],
    "amount": ["-5", "abc", "", "-2.5"],
    "status": ["test", "weird"],
}


def _mostly_good(draw, column: str):
    """A clean value 4 times in 5, else a dirty one."""
    if draw(st.integers(0, 4)) > 0:
        if column == "order_id":
            return f"o{draw(st.integers(0, 40))}"
        return draw(st.sampled_from(_GOOD[column]))
    return draw(st.sampled_from(_BAD[column]))


@st.composite
def dirty_tables(draw, line_level: bool = False):
    n = draw(st.integers(1, 25))
    rows = []
    for _ in range(n):
        row = {c: _mostly_good(draw, c) for c in ("order_id", "customer_id", "order_date", "amount", "status")}
        if line_level:
            row["product_id"] = draw(st.sampled_from(["p1", "p2", "p3"]))
        rows.append(row)
    # exact duplicates of earlier rows
    for _ in range(draw(st.integers(0, 4))):
        rows.append(dict(rows[draw(st.integers(0, len(rows) - 1))]))
    raw = {"orders": pd.DataFrame(rows, dtype=object)}
    if draw(st.booleans()):
        raw["customers"] = pd.DataFrame({
            "customer_id": ["c1", "c2", "C3", "c4", "test9"],  # C9 unknown, test9 a test id
            "industry": ["it", "retail", draw(st.sampled_from(["it", None])), "it", "it"],
            "is_test": ["no", draw(st.sampled_from(["no", "yes"])), "0", "no", "no"],
        })
    config = CleaningConfig(
        id_case=draw(st.sampled_from(["upper", "lower", "keep"])),
        extreme_amounts=draw(st.sampled_from(["none", "flag", "cap"])),
        extreme_quantile=draw(st.sampled_from([0.55, 0.75, 0.9, 0.999])),
        negative_amount_is_return=draw(st.booleans()),
        unknown_customers=draw(st.sampled_from(["reject", "keep"])),
        drop_incomplete_customers=draw(st.booleans()),
    )
    return raw, config


def _check_accounting(raw, result):
    dropped = result.rejects[result.rejects["action"] == "dropped"]
    for row in result.summary.itertuples():
        assert row.rows_in == len(raw[row.table])
        assert row.rows_in == row.rows_kept + row.rows_rejected
        d = dropped[dropped["table"] == row.table]
        assert len(d) == row.rows_rejected
        assert d["source_row"].is_unique  # each dropped row recorded once
    assert len(result.tables["orders"]) <= len(raw["orders"])
    if "order_lines" in result.tables:
        assert len(result.tables["order_lines"]) <= len(raw["orders"])
    assert result.tables["orders"]["order_id"].is_unique


def _clean_or_none(raw, config):
    try:
        return clean_tables(raw, config)
    except DataQualityError:
        return None  # every order rejected: nothing to re-clean


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dirty_tables())
def test_property_accounting_and_idempotence(case):
    raw, config = case
    result = _clean_or_none(raw, config)
    if result is None:
        return
    _check_accounting(raw, result)
    again = clean_tables(dict(result.tables), config)
    assert again.rejects.empty, again.rejects[["table", "rule", "reason"]].to_string()
    for name, df in result.tables.items():
        pd.testing.assert_frame_equal(again.tables[name], df)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dirty_tables(line_level=True))
def test_property_line_level_accounting_and_idempotence(case):
    raw, config = case
    result = _clean_or_none(raw, config)
    if result is None:
        return
    _check_accounting(raw, result)
    lines = result.tables["order_lines"]
    assert np.isclose(result.tables["orders"]["amount"].sum(), lines["amount"].sum())
    second = {k: v for k, v in result.tables.items() if k != "orders"}
    second["orders"] = second.pop("order_lines")
    again = clean_tables(second, config)
    assert again.rejects.empty, again.rejects[["table", "rule", "reason"]].to_string()
    for name, df in result.tables.items():
        pd.testing.assert_frame_equal(again.tables[name], df)


def test_normalise_id_is_logged_once_per_distinct_value_and_bounded(monkeypatch):
    import loyalist.data.clean as clean_module

    raw = orders([(f"O{i}", cust, "2024-01-01", "5", None)
                  for i, cust in enumerate(["c1", "c1", "c2", "c3", "c4", "C5"])])
    result = clean_tables({"orders": raw}, NO_EXTREME)
    r = result.rejects
    assert r["source_row"].tolist() == [0, 2, 3, 4]
    assert r["reason"].tolist() == ["'customer_id': 'c1' -> 'C1' (2 rows)", "'customer_id': 'c2' -> 'C2'",
                                    "'customer_id': 'c3' -> 'C3'", "'customer_id': 'c4' -> 'C4'"]
    assert result.summary["rows_changed"].tolist() == [5]  # every changed row is counted

    monkeypatch.setattr(clean_module, "MAX_ID_CHANGE_RECORDS", 2)
    r = clean_tables({"orders": raw}, NO_EXTREME).rejects
    assert r["source_row"].tolist() == [0, 2, 3]
    assert r["reason"].iloc[2].startswith("'customer_id': 2 more distinct values in 2 rows")
