"""prepare's time-zone note (summary.csv ``time_zones``) in the report's data-quality part, in both languages: a
date column whose values carried a time zone or UTC offset, dropped keeping each value's own clock time."""

from __future__ import annotations

import json

import pandas as pd
from markupsafe import escape
from typer.testing import CliRunner

from loyalist.report.inputs import CleanInputs
from loyalist.report.render import render_html
from loyalist.report.summarize import summarize
from loyalist.report.summarize_appendix import time_zones


def _with_zones(clean: CleanInputs, zones: dict[str, dict]) -> CleanInputs:
    rows = clean.rows.assign(time_zones=[json.dumps(zones[t]) if t in zones else None for t in clean.rows["table"]])
    return CleanInputs(tables=clean.tables, rejects=clean.rejects, rows=rows)


def test_the_report_says_which_date_columns_carried_a_time_zone(scored, list_summary, clean):
    zoned = _with_zones(clean, {"orders": {"order_date": {"UTC": 1200}},
                                "tickets": {"created_at": {"+02:00": 150, "+01:00": 50}}})
    out = summarize(scored, list_summary, clean=zoned)
    got = out["appendix"]["data_quality"]["time_zones"]
    assert [(z["table"], z["column"], z["zones"]) for z in got] == [
        ("orders", "order_date", {"UTC": 1200}), ("tickets", "created_at", {"+02:00": 150, "+01:00": 50})]
    one, mixed = got[0]["sentence"], got[1]["sentence"]
    assert one["en"] == ("Date column 'order_date' of the orders table carried the time zone UTC (1,200 values); "
                         "prepare dropped it and each value keeps its UTC clock time, so days and cut-offs are UTC "
                         "days. If your business day is another zone's, convert the column to that zone's local "
                         "time before prepare.")
    assert one["zh"].startswith("订单表的日期列“order_date”带有时区 UTC（1,200 个值）；")
    assert mixed["en"].startswith("Date column 'created_at' of the service tickets table mixes UTC offsets (+02:00 "
                                  "on 150 values, +01:00 on 50 values); ")
    assert "服务工单表的日期列“created_at”混有多个 UTC 偏移（+02:00 150 个值、+01:00 50 个值）" in mixed["zh"]
    json.dumps(out, allow_nan=False, ensure_ascii=False)
    for lang in ("zh", "en"):
        page = render_html(out, lang)
        section = page[page.index('<section id="appendix">'):]
        assert str(escape(one[lang])) in section and str(escape(mixed[lang])) in section


def test_no_time_zone_sentence_without_zones_or_from_an_older_folder(scored, list_summary, clean):
    assert summarize(scored, list_summary, clean=clean)["appendix"]["data_quality"]["time_zones"] == []  # no column
    out = summarize(scored, list_summary, clean=_with_zones(clean, {}))
    assert out["appendix"]["data_quality"]["time_zones"] == []
    assert 'class="generated time-zone"' not in render_html(out, "en")


def test_prepares_summary_csv_feeds_the_report(tmp_path):
    # the real prepare writes the JSON the report reads (an offset, not a zone name, for text values)
    from loyalist.cli import app

    (tmp_path / "orders.csv").write_text(
        "order_id,customer_id,order_date,amount\n1,c1,2024-03-30T23:30:00+08:00,10\n"
        "2,c2,2024-03-31T09:00:00+08:00,20\n", encoding="utf-8")
    (tmp_path / "c.yaml").write_text("data:\n  orders:\n    path: orders.csv\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["prepare", "--config", str(tmp_path / "c.yaml"), "--out",
                                      str(tmp_path / "clean")], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    got = time_zones(pd.read_csv(tmp_path / "clean" / "summary.csv", encoding="utf-8-sig"))
    assert [(z["table"], z["column"], z["zones"]) for z in got] == [("orders", "order_date", {"+08:00": 2})]
    assert got[0]["sentence"]["en"].startswith("Date column 'order_date' of the orders table carried the UTC offset "
                                               "+08:00 (2 values); prepare dropped it and each value keeps its "
                                               "+08:00 clock time, so days and cut-offs are +08:00 days.")
    assert got[0]["sentence"]["zh"].startswith("订单表的日期列“order_date”带有时区偏移 +08:00（2 个值）；")
