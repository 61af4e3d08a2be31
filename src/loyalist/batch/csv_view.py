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

The file itself is written as UTF-8 with a BOM (:func:`loyalist.io.write_csv`), so Excel shows the Chinese text.
"""

from __future__ import annotations

from typing import Literal, cast

import numpy as np
import pandas as pd

from loyalist.catalogue import LANGS, Lang, label
from loyalist.errors import ConfigError
from loyalist.scoring.text import tier_reason_text

__all__ = ["BILINGUAL_COLUMNS", "ROUNDING", "CSV_LANGS", "csv_view"]

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


def _tier_reason_labels(reasons: pd.Series, lang: str) -> pd.Series:
    uniques = {r: tier_reason_text(r) for r in reasons.dropna().unique()}
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
