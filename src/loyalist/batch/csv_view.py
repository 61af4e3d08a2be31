"""The CSV view of the churn-risk list: one language per column set, rounded numbers (Excel-friendly).

The Parquet list keeps every value at full precision and its bilingual texts as ``"zh / en"``. The CSV is what a
CRM or marketing team opens in Excel, so :func:`csv_view`:

- splits each bilingual column (:data:`BILINGUAL_COLUMNS`: reasons, recommended action, department) into the
  requested language: ``lang='zh'`` or ``'en'`` keeps the column names with one language; ``'both'`` writes two
  column sets, ``<column>_zh`` and ``<column>_en``;
- adds readable labels of the codes in the same language(s): ``loyalty_tier_label``, ``risk_band_label`` and
  ``tier_reason_label`` (tier codes stay in ``loyalty_tier`` for filters and joins);
- rounds numbers (:data:`ROUNDING`): probabilities and rates to 4 decimals, amounts to 2, percentiles and
  indicators to 1 or 2. Columns it does not know pass through unchanged.

The file itself is written as UTF-8 with a BOM (:func:`loyalist.io.write_csv`), so Excel shows the Chinese text;
:func:`write_csv_view` writes the same bytes one slice of rows at a time, so a million-customer list is never held
twice (its view beside it: ~300 MB more at the end of a 1M-customer scoring job, issue 14).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Literal, cast

import numpy as np
import pandas as pd

from loyalist.catalogue import LANGS, Lang, label
from loyalist.errors import ConfigError
from loyalist.scoring.text import tier_reason_text

__all__ = ["BILINGUAL_COLUMNS", "ROUNDING", "CSV_LANGS", "CSV_SLICE_ROWS", "csv_view", "write_csv_view"]

CSV_LANGS: tuple[str, ...] = ("zh", "en", "both")

#: Columns written as ``"zh / en"`` in the Parquet list.
BILINGUAL_COLUMNS: tuple[str, ...] = ("reason_1", "reason_2", "reason_3", "recommended_action", "owner_department")

#: Column -> decimals in the CSV.
ROUNDING: dict[str, int] = {
    "loyalty_score": 1, "repurchase_rate": 4, "order_value_stability": 4, "purchase_frequency": 2, "nps": 1,
    "complaint_rate": 4, "monetary_total": 2, "margin_total": 2, "churn_probability": 4, "churn_percentile": 1,
    "expected_value": 2, "value_at_risk": 2, "tenure_months": 0,
    "p_active_30d": 4, "p_active_90d": 4, "p_active_180d": 4, "expected_days_to_churn": 1,
}


def _split(series: pd.Series) -> dict[str, pd.Series]:
    """``"zh / en"`` -> ``{"zh": ..., "en": ...}``; a text without ``' / '`` is the same in both languages, a
    missing one is empty. Reasons repeat a lot (a million customers share a few thousand texts), so the distinct
    texts are split once and mapped back by their codes."""
    import pyarrow as pa

    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    pairs = [str(u).split(" / ", 1) for u in uniques]
    take = pa.array(np.where(codes < 0, len(pairs), codes))  # code -1 (missing) -> the last word, ""
    out = {}
    for k, lang in enumerate(("zh", "en")):
        words = pa.array([p[min(k, len(p) - 1)] for p in pairs] + [""], type=pa.large_string())
        out[lang] = pd.Series(pd.arrays.ArrowStringArray(words.take(take)), index=series.index)
    return out


@lru_cache(maxsize=65_536)
def _tier_reason_text(reason: str) -> dict[str, str] | None:
    """:func:`tier_reason_text`, once per distinct reason (the streamed CSV asks again for every slice)."""
    return tier_reason_text(reason)


def _tier_reason_labels(reasons: pd.Series, lang: str) -> pd.Series:
    uniques = {r: _tier_reason_text(r) for r in reasons.dropna().unique()}
    return reasons.map({r: (t or {}).get(lang, "") for r, t in uniques.items()}).fillna("").astype("string")


def csv_view(risk: pd.DataFrame, lang: Literal["zh", "en", "both"] = "both") -> pd.DataFrame:
    """The churn-risk list as written to CSV (module docstring); ``risk`` is not modified.

    Raises
    ------
    ConfigError
        When ``lang`` is not ``'zh'``, ``'en'`` or ``'both'``.
    """
    if lang not in CSV_LANGS:
        raise ConfigError(f"The CSV language ('--lang') must be 'zh', 'en' or 'both'; got {lang!r}.")
    langs = cast(list[Lang], list(LANGS) if lang == "both" else [lang])  # checked against CSV_LANGS above
    out = pd.DataFrame(index=risk.index)
    for col in risk.columns:
        values = risk[col]
        if col in BILINGUAL_COLUMNS:
            split = _split(values)
            for code in langs:
                out[col if len(langs) == 1 else f"{col}_{code}"] = split[code]
            continue
        if col in ROUNDING and pd.api.types.is_numeric_dtype(values):
            values = values.astype("float64").round(ROUNDING[col])
        out[col] = values
        labelled = {"loyalty_tier": "tier", "risk_band": "band"}.get(col)
        if labelled is not None:
            for code in langs:
                name = f"{col}_label" if len(langs) == 1 else f"{col}_label_{code}"
                codes = values.dropna().unique()
                out[name] = values.map({v: label(labelled, v, code) for v in codes}).fillna("").astype("string")
        if col == "tier_reason":
            for code in langs:
                name = "tier_reason_label" if len(langs) == 1 else f"tier_reason_label_{code}"
                out[name] = _tier_reason_labels(values, code)
    return out


#: Rows per slice of :func:`write_csv_view` (~50 MB of view for a bilingual list; two slices are in memory at once).
CSV_SLICE_ROWS: int = 50_000


def write_csv_view(
    risk: pd.DataFrame,
    target: Path | str,
    lang: Literal["zh", "en", "both"] = "both",
    *,
    rows: np.ndarray | None = None,
    slice_rows: int = CSV_SLICE_ROWS,
) -> Path:
    """Write :func:`csv_view` of ``risk`` (of its rows where the boolean mask ``rows`` is True; all rows when None)
    as CSV, atomically: the same bytes as ``write_csv(csv_view(risk[rows], lang), target)``, made and written
    ``slice_rows`` rows at a time, so only one slice's view exists at once.

    Raises
    ------
    ConfigError
        When ``lang`` is not ``'zh'``, ``'en'`` or ``'both'`` (before anything is written).
    """
    from loyalist.io import whole_day_columns, write_csv_parts

    if lang not in CSV_LANGS:
        raise ConfigError(f"The CSV language ('--lang') must be 'zh', 'en' or 'both'; got {lang!r}.")
    if slice_rows < 1:
        raise ValueError(f"slice_rows must be at least 1; got {slice_rows}.")
    keep = None if rows is None else np.asarray(rows, dtype=bool)
    if keep is not None and len(keep) != len(risk):
        raise ValueError(f"The row mask has {len(keep)} values for a list of {len(risk)} rows.")
    # the view's timestamps are the list's own columns, passed through: dated on the kept rows of the whole list,
    # as write_csv dates the whole view
    stamps = [c for c in risk.columns if pd.api.types.is_datetime64_any_dtype(risk[c].dtype)]
    kept = risk[stamps] if keep is None else risk.loc[keep, stamps]
    dates = whole_day_columns(kept)
    del kept

    def parts() -> Iterator[pd.DataFrame]:
        for start in range(0, max(len(risk), 1), slice_rows):
            part = risk.iloc[start:start + slice_rows]  # a view (copy-on-write), not a copy
            if keep is not None:
                part = part.loc[keep[start:start + slice_rows]]
            if len(part) or start == 0:  # the first slice even when empty: the header
                yield csv_view(part, lang)

    return write_csv_parts(parts(), target, dates=dates)
