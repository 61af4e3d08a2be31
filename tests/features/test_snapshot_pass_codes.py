"""A training pass hands customer_id, category and product_id to DuckDB as integer codes (SnapshotPass, issue 14
"training passes"): the snapshot is build_snapshot's, string ids and all.

The codes must keep the values' byte order (DuckDB's string order): the result is sorted by customer_id, and the
main category breaks ties on lines by the first category in that order (its share in the last trend window then
differs between the tied categories). Cut-off T = 2024-06-30 (end of day); W = 2023-07-02 .. 2024-06-30, trend
window 2024-04-02 .. 2024-06-30.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from tests.features.test_snapshot import CONFIG, T, orders, surveys, tickets

from loyalist.features import engine
from loyalist.features.snapshot import SnapshotPass, build_snapshot


def _lines(*rows) -> pd.DataFrame:
    """rows: (customer_id, order_date, amount, category or None, product_id or None)."""
    frame = orders(*[r[:3] for r in rows])
    frame["category"] = pd.array([r[3] for r in rows], dtype="string")
    frame["product_id"] = pd.array([r[4] for r in rows], dtype="string")
    return frame


def _tables(extra=()) -> dict[str, pd.DataFrame]:
    rows = [
        # "10" sorts before "9" as text (not as numbers); "Ä" and "é" after every ASCII id
        ("9", "2023-09-01", 20.0, "b", "p2"), ("9", "2024-05-01", 30.0, "b", "p2"), ("9", "2024-06-01", 10.0, None, None),
        ("10", "2024-01-15", 50.0, "Z", "p1"), ("10", "2024-05-20", 25.0, "a", "p1"),
        # categories "B" and "a" tie on lines before the trend window (one each): "B" < "a" in byte order, so "B"
        # is the main category; its share of the last window's lines is 2/3 ("a" would give 1/3)
        ("Ä", "2023-10-01", 5.0, "a", "p3"), ("Ä", "2023-11-01", 6.0, "B", "p4"),
        ("Ä", "2024-05-01", 7.0, "B", "p4"), ("Ä", "2024-05-02", 8.0, "B", None), ("Ä", "2024-05-03", 9.0, "a", "p3"),
        ("é", "2024-06-30 23:00", 12.0, "é", "p9"),
        *extra,
    ]
    frame = _lines(*rows)
    customers = pd.DataFrame({
        "customer_id": pd.array(["10", "9", "é", "X"], dtype="string"),  # "Ä" has no customers row; "X" no order
        "industry": pd.array(["retail", "b2b", None, "b2b"], dtype="string"),
    })
    return {
        "orders": frame[["order_id", "customer_id", "order_date", "amount", "status"]],
        "order_lines": frame,
        "customers": customers,
        "tickets": tickets(("9", "2024-05-01", "complaint", "delivery", "2024-05-03"),
                           ("Ä", "2024-06-01", "complaint", "billing", None),
                           ("X", "2024-06-01", "inquiry", None, None)),
        "surveys": surveys(("10", "2024-03-01", 9, 4, True), ("é", "2024-06-30", 3, 2, False)),
    }


@pytest.fixture
def coded_sources(monkeypatch):
    """The tables every snapshot SQL run of the test receives."""
    seen = []
    inner = engine.sql_to_arrow_file

    def spy(sql, sources, params, path, **kw):
        seen.append(sources)
        return inner(sql, sources, params, path, **kw)

    monkeypatch.setattr(engine, "sql_to_arrow_file", spy)
    return seen


def test_the_pass_gives_build_snapshots_frame_with_the_ids_as_text(coded_sources):
    tables = _tables()
    want = build_snapshot(tables, T, CONFIG)
    got = SnapshotPass(tables).at(T, CONFIG)
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12)
    assert got["customer_id"].tolist() == ["10", "9", "Ä", "é"]  # byte order of the text
    main = got.set_index("customer_id")["main_category_share"]
    assert main["Ä"] == pytest.approx(2 / 3)  # "B" won the tie with "a"
    # the pass really ran on codes (build_snapshot on text): the two paths were compared, not one path twice
    text, coded = coded_sources
    assert not pa.types.is_integer(text["orders"].schema.field("customer_id").type)
    for name in ("orders", "order_lines", "customers", "tickets", "surveys"):
        assert pa.types.is_integer(coded[name].schema.field("customer_id").type), name
    for column in ("category", "product_id"):
        assert pa.types.is_integer(coded["order_lines"].schema.field(column).type), column


def test_later_ids_and_categories_shift_the_codes_but_not_the_snapshot():
    # rows after T bring new customers and categories that sort between the old ones: every code moves, the
    # snapshot at T does not (time rule: nothing after T reaches it, through the codes either)
    later = [("0", "2024-07-01", 1.0, "A", "p0"), ("95", "2024-08-01", 1.0, "aa", "p25"),
             ("Ä", "2024-07-02", 99.0, "0", "p0"), ("9", "2025-01-01", 99.0, "Ba", "p1")]
    now = SnapshotPass(_tables()).at(T, CONFIG)
    with_later = SnapshotPass(_tables(later)).at(T, CONFIG)
    pd.testing.assert_frame_equal(with_later, now, check_exact=False, rtol=1e-12)


def test_many_cutoffs_of_one_pass_equal_build_snapshot():
    tables = _tables()
    shared = SnapshotPass(tables)
    for as_of in ("2023-12-31", "2024-05-15", T, "2024-09-30"):
        got, want = shared.at(as_of, CONFIG), build_snapshot(tables, as_of, CONFIG)
        pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12)
        assert np.isfinite(got["n_orders"]).all()
