"""Tests of loyalist.data.prepare: load -> validate -> clean, and the clean folder on disk."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from loyalist.config import load_config
from loyalist.config.models import DataConfig, SourceConfig
from loyalist.data.clean import CleanResult
from loyalist.data.prepare import prepare, read_clean, write_clean
from loyalist.data.tables import ParquetTable
from loyalist.errors import DataQualityError, InputFileError, SchemaError


@pytest.fixture()
def sources(tmp_path):
    (tmp_path / "orders.csv").write_text(
        "订单号,客户编号,下单日期,金额,状态\n"
        "A1,c001,2024-03-05,\"1,200.00\",已完成\n"
        "A2,c002,2024/3/6,88,已完成\n"
        "A3,c999,2024-03-07,10,已完成\n"  # unknown customer
        "A4,c001,2024年3月8日,-20,已完成\n",  # a return
        encoding="utf-8",
    )
    pd.DataFrame({
        "客户编号": ["C001", "c002", "C003"],
        "客户名称": ["深圳市宏达科技有限公司", "上海精工制造集团", "测试客户"],
        "所属行业": ["it", "manufacturing", "it"],
        "联系方式": ["13912345678", "li@example.com", "13800000000"],
        "测试账户": ["否", "否", "是"],
    }).to_csv(tmp_path / "customers.csv", index=False, encoding="gb18030")
    (tmp_path / "demo.yaml").write_text(
        "data:\n"
        "  orders:\n"
        "    path: orders.csv\n"
        "    columns: {order_id: 订单号, customer_id: 客户编号, order_date: 下单日期, amount: 金额, status: 状态}\n"
        "  customers:\n"
        "    path: customers.csv\n"
        "    columns: {customer_id: 客户编号, name: 客户名称, industry: 所属行业, contact: 联系方式, is_test: 测试账户}\n",
        encoding="utf-8",
    )
    return tmp_path


def test_prepare_from_a_yaml_config(sources):
    config = load_config([sources / "demo.yaml"])
    result = prepare(config.data)
    orders = result.tables["orders"]
    assert orders["order_id"].tolist() == ["A1", "A2", "A4"]
    assert orders["amount"].tolist() == [1200.0, 88.0, -20.0]
    assert orders["status"].tolist() == ["completed", "completed", "returned"]
    assert result.tables["customers"]["customer_id"].tolist() == ["C001", "C002"]
    assert result.summary.set_index("table")[["rows_in", "rows_kept", "rows_rejected"]].to_dict("index") == {
        "customers": {"rows_in": 3, "rows_kept": 2, "rows_rejected": 1},
        "orders": {"rows_in": 4, "rows_kept": 3, "rows_rejected": 1},
    }
    dropped = result.rejects[result.rejects["action"] == "dropped"]
    assert dropped[["table", "rule"]].values.tolist() == [["customers", "test_record"],
                                                          ["orders", "unknown_customer"]]


def test_prepare_reports_a_missing_mapped_column(tmp_path):
    (tmp_path / "orders.csv").write_text("id,cust,amount\n1,c,3\n", encoding="utf-8")
    data = DataConfig(orders=SourceConfig(path=tmp_path / "orders.csv",
                                          columns={"order_id": "id", "customer_id": "cust"}))
    with pytest.raises(SchemaError, match=r"'order_date'.*map it in data\.orders\.columns"):
        prepare(data)


def test_write_and_read_clean_round_trip(sources, tmp_path):
    result = prepare(load_config([sources / "demo.yaml"]).data)
    out = tmp_path / "clean"
    paths = write_clean(result, out)
    assert set(paths) == {"orders", "customers", "rejects", "rejects_csv", "summary"}
    assert sorted(p.name for p in out.iterdir()) == [
        "clean.manifest.json", "customers.parquet", "orders.parquet", "rejects.csv", "rejects.parquet",
        "summary.csv"]  # no temp files
    back = read_clean(out)
    assert list(back) == ["orders", "customers"]
    for name, df in result.tables.items():
        if name == "orders":  # written sorted by customer and date (loyalist.data.sequence), the same rows
            df = df.sort_values(["customer_id", "order_date"], kind="stable", na_position="last",
                                ignore_index=True)
        pd.testing.assert_frame_equal(back[name], df)
    assert back["orders"]["order_id"].tolist() == ["A1", "A4", "A2"]
    assert "prev_date" not in back["orders"]  # the file's sequence columns are not the table's
    assert ParquetTable(paths["orders"], "orders").sequenced
    rejects = pd.read_parquet(paths["rejects"])
    assert len(rejects) == len(result.rejects)
    csv = pd.read_csv(paths["rejects_csv"], encoding="utf-8-sig", dtype=str)
    assert csv["rule"].tolist() == result.rejects["rule"].tolist()
    summary = pd.read_csv(paths["summary"], encoding="utf-8-sig")
    assert summary["rows_in"].tolist() == [3, 4]
    # the test customer's record (canonical column names): contact and name masked
    rec = json.loads(rejects.loc[rejects["rule"] == "test_record", "record"].iloc[0])
    assert rec["contact"] == "138****0000" and rec["name"] == "测***"
    assert "13800000000" not in paths["rejects_csv"].read_text(encoding="utf-8-sig")


def test_write_clean_masks_pii_even_when_the_result_was_built_elsewhere(tmp_path):
    record = json.dumps({"customer_id": "C1", "name": "张经理", "contact": "13912345678"}, ensure_ascii=False)
    rejects = pd.DataFrame({"table": ["customers"], "source_row": [0], "key": ["C1"], "rule": ["test_record"],
                            "action": ["dropped"], "column": ["is_test"], "reason": ["x"], "record": [record]})
    orders = pd.DataFrame({"order_id": ["1"], "customer_id": ["C1"], "order_date": pd.to_datetime(["2024-01-01"]),
                           "amount": [1.0], "status": ["completed"]})
    summary = pd.DataFrame({"table": ["orders"], "rows_in": [1], "rows_kept": [1], "rows_rejected": [0],
                            "rows_changed": [0]})
    paths = write_clean(CleanResult(tables={"orders": orders}, rejects=rejects, summary=summary), tmp_path)
    written = json.loads(pd.read_parquet(paths["rejects"])["record"].iloc[0])
    assert written == {"customer_id": "C1", "name": "*经理", "contact": "139****5678"}
    assert "13912345678" not in paths["rejects_csv"].read_text(encoding="utf-8-sig")


def test_write_clean_replaces_existing_files(sources, tmp_path):
    result = prepare(load_config([sources / "demo.yaml"]).data)
    out = tmp_path / "clean"
    out.mkdir()
    (out / "orders.parquet").write_bytes(b"stale")
    write_clean(result, out)
    assert len(read_clean(out)["orders"]) == 3


def test_read_clean_without_orders(tmp_path):
    with pytest.raises(InputFileError, match="has no 'orders.parquet'"):
        read_clean(tmp_path / "nowhere")


def test_source_filters_and_date_format_reach_the_cleaner(tmp_path):
    (tmp_path / "orders.csv").write_text(
        "order_id,customer_id,order_date,amount,channel\n"
        "1,C1,05.03.2024,10,online\n"
        "2,C1,06.03.2024,20,store\n"
        "3,C2,07.03.2024,30,online\n",
        encoding="utf-8",
    )
    data = DataConfig(orders=SourceConfig(path=tmp_path / "orders.csv", filters={"channel": "^online$"},
                                          date_format="%d.%m.%Y"))
    result = prepare(data)
    orders = result.tables["orders"]
    assert orders["order_id"].tolist() == ["1", "3"]
    assert orders["order_date"].tolist() == [pd.Timestamp("2024-03-05"), pd.Timestamp("2024-03-07")]
    rejects = result.rejects
    assert rejects[["source_row", "rule", "column"]].values.tolist() == [[1, "out_of_scope", "channel"]]
    assert rejects["reason"].iloc[0] == "'channel' value 'store' does not match the filter '^online$'"


def test_a_uk_export_is_read_day_first_and_a_contradicting_date_format_stops(tmp_path):
    # Online Retail's UK-style dates: read value by value, '01/12/2009' became 12 January 2009 beside
    # '13/12/2009' = 13 December, and three months of orders spread over a year without a word
    (tmp_path / "orders.csv").write_text(
        "order_id,customer_id,order_date,amount\n"
        "1,C1,01/12/2009 07:45,10\n"
        "2,C1,13/12/2009 10:00,20\n"
        "3,C2,02/01/2010 09:00,30\n",
        encoding="utf-8",
    )
    result = prepare(DataConfig(orders=SourceConfig(path=tmp_path / "orders.csv")))
    assert result.tables["orders"]["order_date"].tolist() == [
        pd.Timestamp("2009-12-01 07:45"), pd.Timestamp("2009-12-13 10:00"), pd.Timestamp("2010-01-02 09:00")]
    # a month-first format on this file: '13/12/2009 10:00' cannot be month first
    with pytest.raises(DataQualityError, match=r"Column 'order_date' of table 'orders' \('.*orders.csv'\) has 1 "
                                               r"distinct value such as '13/12/2009 10:00'.*fix data.orders.date_format"):
        prepare(DataConfig(orders=SourceConfig(path=tmp_path / "orders.csv", date_format="%m/%d/%Y %H:%M")))


def test_an_order_line_export_without_product_id_gets_a_hint(tmp_path):
    # Online Retail II mapped without StockCode: 72,419 of 106,171 rows dropped as duplicate_order_id, exit 0, and
    # nothing said that mapping product_id would sum the lines into orders
    from typer.testing import CliRunner

    from loyalist.cli import app

    (tmp_path / "lines.csv").write_text(
        "Invoice,StockCode,Customer,Date,Amount\n"
        "1,A,c1,2024-03-01,10\n1,B,c1,2024-03-01,5\n2,A,c2,2024-03-02,7\n2,C,c2,2024-03-02,1\n", encoding="utf-8")
    (tmp_path / "c.yaml").write_text(
        "data:\n  orders:\n    path: lines.csv\n"
        "    columns: {order_id: Invoice, customer_id: Customer, order_date: Date, amount: Amount}\n", encoding="utf-8")
    args = ["prepare", "--config", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "clean")]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert ("Note: 2 of 4 order rows repeat an order id with other content and were dropped (duplicate_order_id); if "
            "the file has one row per order line, map product_id") in result.output
    (tmp_path / "c.yaml").write_text(
        "data:\n  orders:\n    path: lines.csv\n    columns: {order_id: Invoice, customer_id: Customer, order_date: "
        "Date, amount: Amount, product_id: StockCode}\n", encoding="utf-8")
    result = CliRunner().invoke(app, args, env={"COLUMNS": "300"})
    assert result.exit_code == 0 and "duplicate_order_id" not in result.output, result.output


def test_sequence_orders_false_writes_the_orders_as_they_are(sources, tmp_path):
    """``data.sequence_orders: false`` (a refresh snapshotted once: prepare's sort would cost more than it saves):
    the orders file is the cleaner's frame in its own row order, not marked, and every reader gets the same table
    and snapshot as from the sequenced file, by the window path."""
    from loyalist.features.snapshot import build_snapshot
    from loyalist.jobs import prepare as prepare_job

    (sources / "off.yaml").write_text("data:\n  sequence_orders: false\n", encoding="utf-8")
    assert load_config([sources / "demo.yaml"]).data.sequence_orders  # the default: sequenced
    on, off = tmp_path / "on", tmp_path / "off"
    prepare_job.run(load_config([sources / "demo.yaml"]), on)
    result = prepare_job.run(load_config([sources / "demo.yaml", sources / "off.yaml"]), off)
    assert ParquetTable(on / "orders.parquet", "orders").sequenced
    plain = ParquetTable(off / "orders.parquet", "orders")
    assert not plain.sequenced and "prev_date" not in pd.read_parquet(plain.path).columns
    back = read_clean(off)
    pd.testing.assert_frame_equal(back["orders"], result.tables["orders"])  # the cleaner's row order
    key = ["customer_id", "order_date"]
    pd.testing.assert_frame_equal(back["orders"].sort_values(key, ignore_index=True), read_clean(on)["orders"])
    assert "sequence_orders: false" in (off / "resolved_config.yaml").read_text(encoding="utf-8")
    for folder in (on, off):
        tables = read_clean(folder, lazy=("orders",))
        snap = build_snapshot(tables, "2024-03-31", load_config([]).features)
        assert snap["customer_id"].tolist() == ["C001", "C002"] and snap["n_orders"].tolist() == [1, 1]


def _prepare_text(tmp_path, data_file: str, out: str) -> str:
    """``loyalist prepare`` of one orders file under ``tmp_path`` into ``out``: its console text on one line."""
    from typer.testing import CliRunner

    from loyalist.cli import app

    (tmp_path / "one.yaml").write_text(f"data:\n  orders:\n    path: {data_file}\n", encoding="utf-8")
    args = ["prepare", "--config", str(tmp_path / "one.yaml"), "--out", str(tmp_path / out)]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_a_utc_parquet_column_and_mixed_offsets_are_said_by_prepare(tmp_path):
    # a time zone was dropped keeping each value's own clock time, without a word: a Parquet column stored in UTC
    # gives UTC days (an order at 23:30 UTC is a day earlier than in Beijing), and one CSV column with +01:00 and
    # +02:00 values gives each value's own local day
    stamps = pd.to_datetime(["2024-03-01 23:30", "2024-03-02 10:00", "2024-03-03 08:00"]).tz_localize("UTC")
    pd.DataFrame({"order_id": ["1", "2", "3"], "customer_id": ["c1", "c1", "c2"], "order_date": stamps,
                  "amount": [10.0, 20.0, 30.0]}).to_parquet(tmp_path / "orders.parquet")
    text = _prepare_text(tmp_path, "orders.parquet", "clean")
    assert (f"Note: date column 'order_date' of table 'orders' ('{tmp_path / 'orders.parquet'}') carries the time "
            "zone UTC (3 values); it was dropped and each value keeps its UTC clock time, so days and cut-offs are "
            "UTC days. If your business day is another zone's, convert the column") in text
    # what was done: the wall clock kept; and the summary records it
    assert read_clean(tmp_path / "clean")["orders"]["order_date"].min() == pd.Timestamp("2024-03-01 23:30")
    summary = pd.read_csv(tmp_path / "clean" / "summary.csv", encoding="utf-8-sig")
    assert json.loads(summary.loc[summary["table"] == "orders", "time_zones"].iloc[0]) == {"order_date": {"UTC": 3}}

    (tmp_path / "orders.csv").write_text(
        "order_id,customer_id,order_date,amount\n"
        "1,c1,2024-03-30T23:30:00+01:00,10\n2,c1,2024-03-31T23:30:00+02:00,20\n3,c2,2024-04-01T09:00:00+02:00,30\n"
        "4,c2,2024-04-02,5\n", encoding="utf-8")
    text = _prepare_text(tmp_path, "orders.csv", "clean2")
    assert (f"Note: date column 'order_date' of table 'orders' ('{tmp_path / 'orders.csv'}') mixes UTC offsets "
            "(+02:00 on 2 values, +01:00 on 1 value); each value keeps its own clock time and the offset is "
            "dropped, so its days are the local days of different offsets, not one clock") in text
    assert read_clean(tmp_path / "clean2")["orders"]["order_date"].sort_values().tolist()[:2] == [
        pd.Timestamp("2024-03-30 23:30"), pd.Timestamp("2024-03-31 23:30")]
    # a file without zones says nothing
    (tmp_path / "orders.csv").write_text("order_id,customer_id,order_date,amount\n1,c1,2024-03-30 23:30,10\n",
                                         encoding="utf-8")
    text = _prepare_text(tmp_path, "orders.csv", "clean3")
    assert "UTC offset" not in text and "time zone" not in text
