"""The category and product ranges (issue 11 §4 early warning), counted from one grouping per customer and
category (product) instead of a COUNT(DISTINCT) per window (issue 14 §snapshot): same counts, NULL categories and
products never counted, a customer whose lines in W all lack a category has 0 categories (not NaN).

Cut-off T = 2024-06-30 (the end of that day). Default windows: W = 2023-07-01 .. 2024-06-30, trend window
2024-04-02 .. 2024-06-30, the one before 2024-01-03 .. 2024-04-01.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.features.test_snapshot import check, orders, snap


def _lines(*rows) -> pd.DataFrame:
    """rows: (customer_id, order_date, category or None, product_id or None[, status])."""
    frame = orders(*[(r[0], r[1], 10.0, *r[4:]) for r in rows])
    frame["category"] = pd.array([r[2] for r in rows], dtype="string")
    frame["product_id"] = pd.array([r[3] for r in rows], dtype="string")
    return frame


def test_ranges_count_distinct_named_categories_and_products_per_window():
    result = snap(_lines(
        # A: categories x (W, before both trend windows), y (previous window and last), z (last), one line
        # without a category (last): 3 in W, 2 in the last window, 1 in the one before -> (2 - 1) / 3.
        # Products p1 twice (previous window, last), p2 (last), one line without a product: 2 in W, 2 last,
        # 1 before -> (2 - 1) / 2
        ("A", "2023-08-01", "x", None), ("A", "2024-02-01", "y", "p1"), ("A", "2024-05-01", "y", "p1"),
        ("A", "2024-06-01", "z", "p2"), ("A", "2024-05-02", None, None),
        # B: a category and a product before W only; in W lines without either -> 0 categories, trends NaN
        ("B", "2022-01-01", "old", "p0"), ("B", "2024-06-01", None, None), ("B", "2024-01-10", None, None),
        # C: one line on T's evening (last window); a cancelled line in another category is not bought;
        # a line after T does not exist at T
        ("C", "2024-06-30 23:00", "q", "p9"), ("C", "2024-06-20", "r", "p8", "cancelled"),
        ("C", "2024-07-01 00:00", "s", "p7"),
        # D: the previous window only -> (0 - 1) / 1
        ("D", "2024-03-01", "x", "p1"),
    ))
    check(result, {
        "customer_id": ["A", "B", "C", "D"],
        "n_categories": [3.0, 0.0, 1.0, 1.0],
        "category_range_trend": [(2 - 1) / 3, np.nan, 1.0, -1.0],
        "product_range_trend": [(2 - 1) / 2, np.nan, 1.0, -1.0],
    })
