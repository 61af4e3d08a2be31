"""Column types of a customer table, inferred from the values (and overridden by ``customer_table.types``).

Types: ``numeric`` (a model feature, float), ``categorical`` (a model feature, text with few distinct values),
``date`` (a feature as days before the snapshot date), ``id`` (a per-row identifier: never a feature, checked by
the leakage alarm), ``text`` (free text: never a feature), ``ignore``.

Rules, in order, on the non-missing values of a column (the mapped canonical columns, the churn flag and the
value/tenure columns are typed by the caller):

1. numeric: at least 95% parse as numbers. Then ``id`` instead when every value is a distinct integer and the
   column's name looks like an identifier (``id``, ``no``, ``number``, ``row``, ``index``, ``key``, ``code``) or
   the values are consecutive (a row number).
2. date: at least 95% parse as dates and the values hold a date separator (``-``, ``/``, ``.``, ``年``).
3. categorical: at most ``max_categories`` distinct values.
4. id: more than 90% of the values are distinct and hold no space (codes such as ``7590-VHVEG``).
5. text: anything else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["FEATURE_TYPES", "TYPES", "infer_types", "parse_numbers"]

TYPES: tuple[str, ...] = ("numeric", "categorical", "date", "id", "text", "ignore")
#: Types that become model features.
FEATURE_TYPES: tuple[str, ...] = ("numeric", "categorical", "date")

_ID_NAME = re.compile(r"(?i)(?:^|[_\s\-.]|(?<=[a-z]))(id|no|nr|number|num|row|index|idx|key|code)$|^(id|row)")
_NULLS = {"", "nan", "none", "null", "<na>", "na", "n/a", "#n/a", "nat", "-"}
_CURRENCY = re.compile(r"[¥￥$€£%\s]|(?i:rmb|cny|usd|eur|gbp)|元")


def _text(col: pd.Series) -> pd.Series:
    """The values as trimmed text, missing (and null tokens) as NA."""
    text = col.astype("string").str.strip()
    return text.mask(text.str.lower().isin(_NULLS))


def parse_numbers(col: pd.Series) -> pd.Series:
    """Numbers of a raw column (float64; text that is not a number -> NaN). Accepts thousands separators and
    currency signs (``'1,234.5'``, ``'¥12'``); numeric columns pass through."""
    if pd.api.types.is_bool_dtype(col):
        return col.astype("float64")
    if pd.api.types.is_numeric_dtype(col):
        return pd.to_numeric(col, errors="coerce").astype("float64")
    text = _text(col).str.replace(_CURRENCY, "", regex=True)
    thousands = text.str.fullmatch(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?", na=False)
    text = text.mask(thousands, text.str.replace(",", "", regex=False))
    return pd.to_numeric(text, errors="coerce").astype("float64")


def _looks_like_dates(text: pd.Series) -> bool:
    sample = text.dropna().head(500)
    if sample.empty or not sample.str.contains(r"\d", regex=True).all():
        return False
    if not sample.str.contains(r"[-/.年]", regex=True).all():
        return False
    # utc=True: values with different UTC offsets (one zone's summer and winter time) are dates too; without it
    # pandas raises "Mixed timezones detected". Only the detection converts; the column is parsed by parse_dates.
    parsed = pd.to_datetime(sample, errors="coerce", format="mixed", utc=True)
    return bool(parsed.notna().mean() >= 0.95)


def infer_types(
    df: pd.DataFrame, *, overrides: Mapping[str, str] | None = None, max_categories: int = 60,
) -> pd.DataFrame:
    """Infer the type of every column of ``df`` (see the module docstring).

    Parameters
    ----------
    df : DataFrame
        Raw columns (values as the file holds them).
    overrides : mapping of column -> type, optional
        ``customer_table.types``: these columns take the given type (``how`` = ``config``).
    max_categories : int
        Most distinct values of a categorical column.

    Returns
    -------
    DataFrame
        One row per column of ``df``, in order: ``column``, ``type``, ``how`` (``inferred`` | ``config``),
        ``distinct``, ``missing_share``, ``numeric_share``, ``example`` (the most frequent value), ``why``.
    """
    overrides = dict(overrides or {})
    rows = []
    for name in df.columns:
        col = df[name]
        text = _text(col)
        present = text.dropna()
        n = len(present)
        distinct = int(present.nunique())
        numbers = parse_numbers(col)
        numeric_share = float(numbers.notna().sum() / n) if n else 0.0
        example = str(present.value_counts().index[0]) if n else ""
        if name in overrides:
            kind, how, why = overrides[name], "config", "customer_table.types"
        elif n == 0:
            kind, how, why = "ignore", "inferred", "every value is missing"
        elif numeric_share >= 0.95:
            kind, how, why = "numeric", "inferred", f"{numeric_share:.0%} of the values are numbers"
            values = numbers.dropna()
            integral = bool((values == np.round(values)).all())
            if integral and values.nunique() == len(values) and len(values) > 20:
                consecutive = values.max() - values.min() + 1 == len(values)
                if consecutive or _ID_NAME.search(str(name).strip()):
                    kind = "id"
                    why = ("distinct consecutive integers (a row number)" if consecutive
                           else "distinct integers under an identifier's name")
        elif _looks_like_dates(present):
            kind, how, why = "date", "inferred", "the values are dates"
        elif distinct <= max_categories:
            kind, how, why = "categorical", "inferred", f"{distinct} distinct values (at most {max_categories})"
        elif distinct > 0.9 * n and not present.str.contains(r"\s", regex=True).any():
            kind, how, why = "id", "inferred", f"{distinct / n:.0%} of the values are distinct codes"
        else:
            kind, how, why = "text", "inferred", f"{distinct} distinct values (more than {max_categories})"
        rows.append({"column": str(name), "type": kind, "how": how, "distinct": distinct,
                     "missing_share": float(1 - n / len(col)) if len(col) else 1.0,
                     "numeric_share": numeric_share, "example": example[:60], "why": why})
    return pd.DataFrame(rows, columns=["column", "type", "how", "distinct", "missing_share", "numeric_share",
                                       "example", "why"])
