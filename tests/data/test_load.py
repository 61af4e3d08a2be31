"""Tests of loyalist.data.load: formats, encodings, column mapping and the documented errors."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from loyalist.config.models import DataConfig, SourceConfig
from loyalist.data.load import detect_encoding, load_tables, read_source
from loyalist.errors import ConfigError, InputFileError, SchemaError

ORDERS_CSV = (
    "order_no,client,date,total,notes\n"
    "A1,c1,2024-03-05,12.50,first\n"
    "A2,c2,2024/3/6,\"1,234.50\",\n"
)


def _src(path: Path, **kw) -> SourceConfig:
    return SourceConfig(path=path, **kw)


MAPPING = {"order_id": "order_no", "customer_id": "client", "order_date": "date", "amount": "total"}


def test_csv_mapping_drops_extra_columns_and_keeps_values_as_text(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS_CSV, encoding="utf-8")
    df = read_source("orders", _src(path, columns=MAPPING))
    assert list(df.columns) == ["order_id", "customer_id", "order_date", "amount"]
    assert df["amount"].tolist() == ["12.50", "1,234.50"]  # not converted yet
    assert df["order_date"].tolist() == ["2024-03-05", "2024/3/6"]
    assert df.attrs["source"] == str(path)
    assert df.attrs["encoding"] == "utf-8"
    assert df.attrs["file_columns"] == ["order_no", "client", "date", "total", "notes"]
    assert list(df.index) == [0, 1]


def test_unmapped_canonical_columns_are_found_by_name_case_insensitively(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("Order_ID,CUSTOMER_ID,order_date,Amount,Status\n1,c1,2024-01-01,3,paid\n", encoding="utf-8")
    df = read_source("orders", _src(path))
    assert list(df.columns) == ["order_id", "customer_id", "order_date", "amount", "status"]
    assert df.iloc[0].tolist() == ["1", "c1", "2024-01-01", "3", "paid"]


def test_empty_cells_are_missing_but_literal_tokens_are_kept(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("order_id,customer_id,order_date,amount\n1,,2024-01-01,N/A\n", encoding="utf-8")
    df = read_source("orders", _src(path))
    assert pd.isna(df.loc[0, "customer_id"])
    assert df.loc[0, "amount"] == "N/A"


def test_mapped_column_absent_names_it_lists_the_file_columns_and_the_mapping_to_fix(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS_CSV, encoding="utf-8")
    bad = dict(MAPPING, order_date="order_day")
    expected = r"'order_day' \(for 'order_date'\).*'order_no', 'client'.*data\.orders\.columns"
    with pytest.raises(SchemaError, match=expected):
        read_source("orders", _src(path, columns=bad))


def test_mapping_key_that_is_not_canonical_is_a_config_error(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS_CSV, encoding="utf-8")
    with pytest.raises(ConfigError, match="'price'"):
        read_source("orders", _src(path, columns={"price": "total"}))


def test_gb18030_csv_with_chinese_headers_is_detected_and_mapped(tmp_path):
    path = tmp_path / "customers.csv"
    frame = pd.DataFrame({
        "客户编号": ["C001", "C002", "C003"],
        "客户名称": ["深圳市宏达科技有限公司", "上海精工制造集团", "北京某某贸易有限公司"],
        "所属行业": ["信息技术", "制造业", "零售"],
    })
    frame.to_csv(path, index=False, encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # really not UTF-8
    df = read_source("customers", _src(path, columns={"customer_id": "客户编号", "name": "客户名称",
                                                      "industry": "所属行业"}))
    assert df.attrs["encoding"] == "gb18030"
    assert df["name"].tolist() == frame["客户名称"].tolist()
    assert df["industry"].tolist() == ["信息技术", "制造业", "零售"]


def test_utf8_with_bom(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes("\ufefforder_id,customer_id,order_date,amount\n1,客户1,2024-01-01,3\n".encode("utf-8"))
    df = read_source("orders", _src(path))
    assert df.attrs["encoding"] == "utf-8-sig"
    assert df.loc[0, "order_id"] == "1" and df.loc[0, "customer_id"] == "客户1"


def test_detect_encoding():
    assert detect_encoding("编号,名称\n1,深圳某某科技有限公司\n".encode("utf-8")) == "utf-8"
    assert detect_encoding("客户编号,客户名称\nC001,深圳市宏达科技有限公司\n".encode("gb18030") * 5) == "gb18030"


def test_undecodable_bytes_with_a_given_encoding(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes("order_id,customer_id,order_date,amount\n1,客户,2024-01-01,3\n".encode("gb18030"))
    with pytest.raises(InputFileError, match="could not be decoded with utf-8.*data.orders.encoding"):
        read_source("orders", _src(path, encoding="utf-8"))
    with pytest.raises(ConfigError, match="'klingon' is not a known encoding"):
        read_source("orders", _src(path, encoding="klingon"))


def test_zero_byte_file_has_no_data_rows(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(b"")
    with pytest.raises(InputFileError, match="has no data rows"):
        read_source("orders", _src(path))


def test_header_only_file_has_no_data_rows(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("order_id,customer_id,order_date,amount\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="has no data rows"):
        read_source("orders", _src(path))


def test_missing_file(tmp_path):
    with pytest.raises(InputFileError, match=r"'.*nope\.csv'.*does not exist.*data\.orders\.path"):
        read_source("orders", _src(tmp_path / "nope.csv"))


def test_unknown_extension(tmp_path):
    path = tmp_path / "orders.json"
    path.write_text("{}", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"unknown extension '\.json'.*data\.orders\.format"):
        read_source("orders", _src(path))


def test_gzip_csv_and_semicolon_delimiter_sniffed(tmp_path):
    path = tmp_path / "orders.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("order_id;customer_id;order_date;amount\n1;c1;2024-01-01;3,50\n2;c2;2024-01-02;4\n")
    df = read_source("orders", _src(path))
    assert df["amount"].tolist() == ["3,50", "4"]
    assert df.attrs["encoding"] == "utf-8"


def test_tsv(tmp_path):
    path = tmp_path / "orders.tsv"
    path.write_text("order_id\tcustomer_id\torder_date\tamount\n1\tc1\t2024-01-01\t3\n", encoding="utf-8")
    assert read_source("orders", _src(path)).iloc[0].tolist() == ["1", "c1", "2024-01-01", "3"]


def test_whitespace_format_with_and_without_header(tmp_path):
    path = tmp_path / "cdnow.txt"
    path.write_text(" customer_id  date number_of_cds  dollar_value\n 00001 19970101  1   11.77\n"
                    " 00002 19970112  2   12.00\n", encoding="utf-8")
    df = read_source("orders", _src(path, format="whitespace", synthesize_key=True, columns={
        "order_date": "date", "quantity": "number_of_cds", "amount": "dollar_value"}))
    assert list(df.columns) == ["order_id", "customer_id", "order_date", "amount", "quantity"]
    assert df["order_id"].tolist() == ["orders-0", "orders-1"]
    assert df["customer_id"].tolist() == ["00001", "00002"]  # leading zeros kept
    assert df.attrs["synthesized_key"] == "order_id"

    nohead = tmp_path / "sample.txt"
    nohead.write_text(" 00004 0001 19970101  2   29.33\n 00004 0001 19970118  2   29.73\n", encoding="utf-8")
    df = read_source("orders", _src(nohead, format="whitespace", header=False, synthesize_key=True, columns={
        "customer_id": "0", "order_date": "2", "quantity": "3", "amount": "4"}))
    assert df[["customer_id", "order_date", "amount"]].values.tolist() == [
        ["00004", "19970101", "29.33"], ["00004", "19970118", "29.73"]]


def test_excel_file_and_sheet(tmp_path):
    path = tmp_path / "orders.xlsx"
    frame = pd.DataFrame({"订单号": ["A1", "A2"], "客户": ["c1", "c2"],
                          "日期": pd.to_datetime(["2024-03-05", "2024-03-06"]), "金额": [12.5, 30.0]})
    with pd.ExcelWriter(path) as xw:
        pd.DataFrame({"x": [1]}).to_excel(xw, sheet_name="readme", index=False)
        frame.to_excel(xw, sheet_name="orders", index=False)
    src = _src(path, sheet="orders",
               columns={"order_id": "订单号", "customer_id": "客户", "order_date": "日期", "amount": "金额"})
    df = read_source("orders", src)
    assert df["order_id"].tolist() == ["A1", "A2"]
    assert df["amount"].tolist() == [12.5, 30.0]
    assert pd.api.types.is_datetime64_any_dtype(df["order_date"])
    with pytest.raises(InputFileError, match=r"Sheet 'nope'.*data\.orders\.sheet"):
        read_source("orders", _src(path, sheet="nope"))


def test_parquet_file(tmp_path):
    path = tmp_path / "orders.parquet"
    pd.DataFrame({"Invoice": ["1", "2"], "Customer ID": [12345.0, None], "order_date": ["2024-01-01"] * 2,
                  "amount": [1.0, 2.0], "Unused": [0, 0]}).to_parquet(path)
    df = read_source("orders", _src(path, columns={"order_id": "Invoice", "customer_id": "Customer ID"}))
    assert list(df.columns) == ["order_id", "customer_id", "order_date", "amount"]
    assert df["customer_id"].iloc[0] == 12345.0 and pd.isna(df["customer_id"].iloc[1])


def test_sql_source_with_path(tmp_path):
    path = tmp_path / "lines.parquet"
    pd.DataFrame({"Invoice": ["1", "1", "C2"], "Qty": [2, 1, -1], "Price": [1.5, 4.0, 4.0],
                  "Cust": [7, 7, 8], "Day": ["2024-01-01"] * 3}).to_parquet(path)
    sql = ("SELECT Invoice AS order_id, Cust AS customer_id, Day AS order_date, Qty * Price AS amount, "
           "CASE WHEN Invoice LIKE 'C%' THEN 'cancelled' ELSE 'completed' END AS status FROM read_parquet('{path}')")
    df = read_source("orders", SourceConfig(path=path, sql=sql))
    assert df.attrs["source"] == "sql"
    assert df["amount"].tolist() == [3.0, 4.0, -4.0]
    assert df["status"].tolist() == ["completed", "completed", "cancelled"]


def test_sql_errors(tmp_path):
    with pytest.raises(InputFileError, match=r"SQL query of data\.orders failed.*fix data\.orders\.sql"):
        read_source("orders", SourceConfig(sql="SELECT * FROM no_such_table"))
    with pytest.raises(ConfigError, match=r"'\{path\}'.*data\.orders\.path"):
        read_source("orders", SourceConfig(sql="SELECT * FROM read_parquet('{path}')"))
    with pytest.raises(InputFileError, match="has no data rows"):
        read_source("orders", SourceConfig(sql="SELECT 1 AS order_id WHERE false"))


def test_filter_on_unknown_column_is_a_schema_error(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS_CSV, encoding="utf-8")
    with pytest.raises(SchemaError, match=r"data\.orders\.filters.*'region'"):
        read_source("orders", _src(path, columns=MAPPING, filters={"region": "east"}))
    df = read_source("orders", _src(path, columns=MAPPING, filters={"customer_id": "^c1$"}, date_format="%Y"))
    assert df.attrs["filters"] == {"customer_id": "^c1$"}
    assert df.attrs["date_format"] == "%Y"


def test_load_tables_reads_only_configured_tables_and_needs_orders(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS_CSV, encoding="utf-8")
    tables = load_tables(DataConfig(orders=_src(path, columns=MAPPING)))
    assert list(tables) == ["orders"]
    with pytest.raises(ConfigError, match="'data.orders' is not configured"):
        load_tables(DataConfig(customers=_src(path)))
