"""The leakage alarm: a column that predicts the churn flag (almost) perfectly on its own was probably recorded
after, or because of, the churn (a complaint logged on leaving, a closing balance), and an id-like column that
predicts it says the rows are ordered by outcome. Both are found by rule, never by name.

Each column's own ROC AUC is measured out of fold (the folds of the benchmark): numbers rank as they are (missing
values as their own lowest rank), categories by their churn rate in the other folds; an AUC below 0.5 counts as
its mirror (``max(auc, 1 - auc)``), since a column that ranks backwards predicts just as well.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

__all__ = ["leakage_report", "single_column_auc"]


def _rate_encoding(values: pd.Series, y: np.ndarray, folds: Sequence[tuple[np.ndarray, np.ndarray]],
                   prior: float = 10.0) -> np.ndarray:
    """Out-of-fold churn rate of each row's category (smoothed towards the fold's base rate)."""
    codes = values.astype("string").fillna("<missing>").to_numpy(object)
    out = np.full(len(codes), np.nan)
    for train, test in folds:
        base = y[train].mean()
        frame = pd.DataFrame({"c": codes[train], "y": y[train]})
        stats = frame.groupby("c")["y"].agg(["sum", "count"])
        rate = (stats["sum"] + prior * base) / (stats["count"] + prior)
        out[test] = pd.Series(codes[test]).map(rate).fillna(base).to_numpy(float)
    return out


def single_column_auc(values: pd.Series, y: np.ndarray, kind: str,
                      folds: Sequence[tuple[np.ndarray, np.ndarray]]) -> float:
    """ROC AUC of one column alone, mirrored to >= 0.5 (see the module docstring); NaN when constant."""
    y = np.asarray(y, dtype=int)
    if kind == "numeric" or (kind == "id" and pd.api.types.is_numeric_dtype(values)):
        x = pd.to_numeric(values, errors="coerce").to_numpy(float)
        if np.all(np.isnan(x)):
            return float("nan")
        x = np.where(np.isnan(x), np.nanmin(x) - 1.0, x)
    elif kind == "date":
        x = pd.to_datetime(values).astype("int64").to_numpy(float)
    else:
        x = _rate_encoding(values, y, folds)
    if np.unique(x).size < 2:
        return float("nan")
    auc = float(roc_auc_score(y, x))
    return max(auc, 1.0 - auc)


def leakage_report(
    table: pd.DataFrame, y: np.ndarray, types: pd.DataFrame, folds: Sequence[tuple[np.ndarray, np.ndarray]], *,
    leakage_auc: float, id_auc: float, keep: Iterable[str] = (),
) -> pd.DataFrame:
    """Every candidate column's own AUC and the alarm's verdict.

    Parameters
    ----------
    table : DataFrame
        The labelled customers (one row per ``y``), typed columns.
    types : DataFrame
        ``column`` and ``type`` (see :func:`loyalist.tabular.types.infer_types`); feature types and ids are
        checked.
    leakage_auc, id_auc : float
        Thresholds of the alarm: a feature whose AUC reaches ``leakage_auc`` leaks; an id whose AUC reaches
        ``id_auc`` predicts the flag.
    keep : iterable of str
        Columns the config keeps although they raise the alarm (``customer_table.keep``).

    Returns
    -------
    DataFrame
        ``column``, ``type``, ``auc``, ``alarm`` (``""``, ``leak`` or ``id_predicts``), ``excluded`` (bool: the
        alarm excludes it and the config does not keep it), sorted by ``auc`` descending.
    """
    keep = set(keep)
    rows = []
    for column, kind in zip(types["column"], types["type"], strict=True):
        if kind not in ("numeric", "categorical", "date", "id") or column not in table.columns:
            continue
        auc = single_column_auc(table[column], y, kind, folds)
        alarm = ""
        if np.isfinite(auc):
            if kind == "id" and auc >= id_auc:
                alarm = "id_predicts"
            elif kind != "id" and auc >= leakage_auc:
                alarm = "leak"
        rows.append({"column": column, "type": kind, "auc": auc, "alarm": alarm,
                     "excluded": alarm == "leak" and column not in keep})
    out = pd.DataFrame(rows, columns=["column", "type", "auc", "alarm", "excluded"])
    return out.sort_values("auc", ascending=False, na_position="last").reset_index(drop=True)
