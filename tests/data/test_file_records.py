"""Rows in = rows kept + rows rejected, counted from the file itself (issue 10 section 3).

Malformed lines (a wrong number of fields, an unclosed quote) are rejected one by one with their line number, the
encoding is chosen by plausibility and reported, a repeated column name is refused, and a truncated archive, nested
Parquet cells and year-3000 Parquet timestamps are sentences naming the file.
"""

from __future__ import annotations

import gzip
import lzma

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from loyalist.config.models import DataConfig, SourceConfig
from loyalist.data.prepare import prepare
from loyalist.errors import InputFileError, SchemaError

HEADER = "order_id,customer_id,order_date,amount,channel"


def _lines(n: int = 500) -> list[str]:
    return [f"{i},C{i % 40:03d},2024-{1 + i % 12:02d}-{1 + i % 28:02d},{10 + i % 97}.50,web" for i in range(n)]


def _data_lines(path) -> int:
    """Non-blank physical lines after the header, counted on the bytes (independently of any CSV parser)."""
    raw = path.read_bytes()
    return sum(1 for line in raw.split(b"\n")[1:] if line.strip())


def _prepare(path, **source):
    return prepare(DataConfig(orders=SourceConfig(path=path, **source)))


def test_one_unclosed_quote_rejects_one_line_not_the_rest_of_the_file(tmp_path):
    lines = _lines()
    lines[28] = lines[28].replace(",web", ',"web')  # file line 30: the quote is never closed
    path = tmp_path / "orders.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    result = _prepare(path)
    s = result.summary.iloc[0]
    assert s["rows_in"] == _data_lines(path) == 500
    assert (s["rows_kept"], s["rows_rejected"]) == (499, 1)
    bad = result.rejects[result.rejects["rule"] == "malformed_line"]
    assert bad["source_row"].tolist() == [28]
    assert bad["reason"].tolist() == ['line 30 has an unclosed or misplaced quote ("); fix or remove that line of '
                                      "the file"]
    assert len(result.tables["orders"]) == 499


def test_lines_with_a_wrong_number_of_fields_are_rejected_one_by_one(tmp_path):
    lines = _lines(50)
    lines[4] = "4,C004,2024-05-05"  # line 6: 3 fields
    lines[9] = lines[9] + ",extra"  # line 11: 6 fields
    path = tmp_path / "orders.csv"
    path.write_text("\n".join([HEADER, *lines, "", ""]) + "\n", encoding="utf-8")  # blank lines are not rows
    result = _prepare(path)
    s = result.summary.iloc[0]
    assert s["rows_in"] == _data_lines(path) == s["rows_kept"] + s["rows_rejected"] == 50
    bad = result.rejects[result.rejects["rule"] == "malformed_line"]
    assert list(zip(bad["source_row"], bad["reason"])) == [
        (4, "line 6 has 3 fields but the header has 5; fix or remove that line of the file"),
        (9, "line 11 has 6 fields but the header has 5; fix or remove that line of the file"),
    ]
    # source_row of the other rejects still counts the file's data lines
    lines2 = _lines(20)
    lines2[2] = "2,C002,2024-03-03"  # malformed, line 4
    lines2[5] = "5,C005,not a date,1.0,web"  # unparseable date, line 7
    path2 = tmp_path / "o2.csv"
    path2.write_text("\n".join([HEADER, *lines2]) + "\n", encoding="utf-8")
    rejects = _prepare(path2).rejects
    assert rejects[["source_row", "rule"]].values.tolist() == [[2, "malformed_line"], [5, "unparseable_date"]]


def test_a_quoted_field_over_two_lines_is_one_record(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(HEADER + '\n1,C1,2024-01-01,10,"web\nshop"\n2,C2,2024-01-02,"1,200.00",web\n', encoding="utf-8")
    result = _prepare(path)
    assert result.summary["rows_in"].tolist() == [2] and result.rejects.empty
    assert result.tables["orders"]["amount"].tolist() == [10.0, 1200.0]
    assert result.tables["orders"]["channel"].tolist() == ["web\nshop", "web"]


def test_a_latin1_file_is_read_as_latin1_and_the_choice_is_reported(tmp_path):
    lines = [f"{i},C{i},2024-01-{1 + i % 28:02d},10,{'télévente' if i % 2 else 'boutique'}" for i in range(434)]
    path = tmp_path / "orders.csv"
    path.write_bytes(("\n".join([HEADER, *lines]) + "\n").encode("latin-1"))
    result = _prepare(path)
    assert set(result.tables["orders"]["channel"]) == {"télévente", "boutique"}
    s = result.summary.iloc[0]
    assert s["encoding"] == "cp1252" and s["encoding_confidence"] >= 0.9


def test_two_plausible_encodings_that_disagree_stop_with_a_sentence_naming_encoding(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_bytes(("customer_id,name\n" + "\n".join(f"C{i},a\u00c4\u00e3b" for i in range(5)) + "\n")
                     .encode("latin-1"))  # 'aÄãb' in Latin-1 is 'a你b' in GB18030
    data = DataConfig(orders=SourceConfig(path=path), customers=SourceConfig(path=path))
    with pytest.raises(InputFileError, match=r"gb18030 .*cp1252.*encoding:"):
        prepare(data)
    ok = DataConfig(orders=SourceConfig(path=tmp_path / "x.csv"), customers=SourceConfig(path=path, encoding="cp1252"))
    from loyalist.data.load import read_source

    assert read_source("customers", ok.customers)["name"].iloc[0] == "aÄãb"


def test_a_chinese_gb18030_file_is_still_read_as_gb18030(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_bytes("客户编号,客户名称\nC1,深圳市宏达科技有限公司\nC2,上海精工制造集团\n".encode("gb18030"))
    from loyalist.data.load import read_source

    df = read_source("customers", SourceConfig(path=path, columns={"customer_id": "客户编号", "name": "客户名称"}))
    assert df["name"].tolist() == ["深圳市宏达科技有限公司", "上海精工制造集团"]
    assert df.attrs["encoding"] == "gb18030" and df.attrs["encoding_confidence"] == 1.0


def test_a_repeated_column_name_is_refused_naming_both(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("order_id,customer_id,order_date,amount,amount\n1,C1,2024-01-01,10,20\n", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"two columns named 'amount' \(columns 4 and 5"):
        _prepare(path)
    xlsx = tmp_path / "orders.xlsx"
    pd.DataFrame([["1", "C1", "2024-01-01", 10, 20]]).to_excel(xlsx, index=False, header=[
        "order_id", "customer_id", "order_date", "amount", "amount "])
    with pytest.raises(SchemaError, match=r"orders.xlsx' for data.orders has two columns named 'amount' \(columns 4 and 5"):
        _prepare(xlsx)


@pytest.mark.parametrize("suffix,opener", [(".csv.gz", gzip.compress), (".csv.xz", lzma.compress)])
def test_a_truncated_archive_is_a_sentence_naming_the_file(tmp_path, suffix, opener):
    full = opener(("\n".join([HEADER, *_lines(3000)]) + "\n").encode("utf-8"))
    path = tmp_path / f"orders{suffix}"
    path.write_bytes(full[: len(full) // 2])
    with pytest.raises(InputFileError, match=rf"'{path}' for data.orders is truncated or corrupt"):
        _prepare(path)


def test_nested_parquet_cells_are_a_sentence_naming_file_and_column(tmp_path):
    path = tmp_path / "orders.parquet"
    pq.write_table(pa.table({"order_id": ["1"], "customer_id": ["C1"], "order_date": ["2024-01-01"],
                             "amount": [[1.0, 2.0]]}), path)
    with pytest.raises(InputFileError, match=r"Column 'amount' of Parquet file '.*orders.parquet'.*nested"):
        _prepare(path)


def test_year_3000_parquet_timestamps_are_rejected_by_name(tmp_path):
    path = tmp_path / "orders.parquet"
    stamps = pa.array([pd.Timestamp("2024-01-05 10:00").to_pydatetime(), pd.Timestamp("3000-01-01").to_pydatetime()],
                      type=pa.timestamp("us"))
    pq.write_table(pa.table({"order_id": ["1", "2"], "customer_id": ["C1", "C2"], "order_date": stamps,
                             "amount": [10.0, 20.0]}), path)
    result = _prepare(path)
    assert result.rejects["rule"].tolist() == ["impossible_date"]
    assert "'3000-01-01" in result.rejects["reason"].iloc[0]
    assert result.tables["orders"]["order_date"].tolist() == [pd.Timestamp("2024-01-05 10:00")]


def test_a_shift_jis_file_is_not_read_as_a_western_code_page(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_bytes(("customer_id,name\n" + "\n".join(f"C{i},山田太郎" for i in range(30)) + "\n").encode("shift_jis"))
    from loyalist.data.load import read_source

    df = read_source("customers", SourceConfig(path=path))
    assert set(df["name"]) == {"山田太郎"} and df.attrs["encoding"] == "cp932"


def test_a_koi8_r_file_is_not_read_as_half_width_katakana(tmp_path):
    # bad-input case enc-koi8-r-x: the detector's best guess, cp932, read 'телефон' as 'ﾔﾅﾌﾅﾆﾏﾎ' with exit 0;
    # every guess as clean as the best is scored now, and several plausible readings that disagree are refused
    path = tmp_path / "orders.csv"
    lines = [f"{i},C{i},2024-01-{1 + i % 28:02d},10,{'телефон' if i % 3 == 0 else 'online'}" for i in range(150)]
    path.write_bytes(("\n".join([HEADER, *lines]) + "\n").encode("koi8-r"))
    with pytest.raises(InputFileError, match=r"encoding:"):
        _prepare(path)
    from loyalist.data.load import read_source

    named = read_source("orders", SourceConfig(path=path, encoding="koi8-r"))
    assert "телефон" in set(named["channel"])


def test_a_big5_file_is_not_read_as_rare_hangul(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_bytes(("customer_id,name\n" + "\n".join(f"C{i},電話銷售" for i in range(30)) + "\n").encode("big5"))
    from loyalist.data.load import read_source

    df = read_source("customers", SourceConfig(path=path))
    assert set(df["name"]) == {"電話銷售"} and df.attrs["encoding"] == "big5"
