"""Evaluation of churn and value models beside their baselines, on the same out-of-time cut-off.

Churn (binary label, a score where **higher means more likely to churn**): ROC AUC, PR AUC (average precision),
Brier score, log loss, lift and capture in the top fraction (10% by default) and the expected calibration error.
Value (revenue or margin in the value horizon, a prediction where higher means more valuable): normalised Gini,
Spearman, MAE, RMSE, decile MAPE, total-revenue error and capture in the top decile.

Conventions shared by every function here:

- Inputs are one-dimensional array-likes (lists, NumPy arrays, pandas Series) of the same length, matched by
  position. When two pandas objects are given their indexes must be equal (align them first): a silent positional
  match of misaligned Series would give plausible but wrong figures.
- **Ties are shared pro rata.** Ranked quantities (top-fraction lift and capture, gains and decile tables,
  normalised Gini) put a group of tied scores across a boundary in proportion: when the top 10% ends half-way
  through a group of tied rows, half of the group's churners (or value) counts in. This is the expected result
  of breaking the ties at random, so the figures never depend on the order of the rows; counts in the tables
  (``n``) can be fractional for that reason. ROC AUC and average precision use scikit-learn, which treats ties
  the same way (half credit, one threshold per distinct score).
- A score that is not a probability (for example recency in days as a baseline, or minus the loyalty score) is
  fine for ranking metrics; probability metrics (Brier, log loss, ECE) are NaN for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from loyalist.config.metrics import CHURN_COLUMNS, VALUE_COLUMNS
from loyalist.errors import ModelError

__all__ = [
    "churn_metrics",
    "value_metrics",
    "compare_churn",
    "compare_value",
    "calibration_table",
    "gains_table",
    "value_decile_table",
]

#: Keys of :func:`churn_metrics` / :func:`value_metrics`, in order (also the metric columns of
#: :func:`compare_churn` / :func:`compare_value`); names and directions live in :mod:`loyalist.config.metrics`.
_CHURN_KEYS: tuple[str, ...] = tuple(CHURN_COLUMNS)
_VALUE_KEYS: tuple[str, ...] = tuple(VALUE_COLUMNS)

# Probabilities are clipped to [eps, 1 - eps] in the log loss, as scikit-learn does for float64.
_EPS = float(np.finfo(np.float64).eps)


# ------------------------------------------------------------------------------------------ validation


def _quote(name: str) -> str:
    """``'score'`` for an argument; an entry of a mapping (``scores['recency']``) is shown as it is."""
    return name if "[" in name else repr(name)


def _as_vector(values: Any, name: str) -> np.ndarray:
    """Return ``values`` as a finite, non-empty, one-dimensional float array, or raise a ModelError naming it."""
    if isinstance(values, pd.DataFrame):
        raise ModelError(
            f"{_quote(name)} must be one-dimensional; got a DataFrame with {values.shape[1]} column(s); "
            "pass a single column (a Series)."
        )
    if isinstance(values, (pd.Series, pd.Index)):
        if not (pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype)):
            raise ModelError(
                f"{_quote(name)} must be numeric; got dtype {values.dtype}; convert it with pd.to_numeric first."
            )
        arr = values.to_numpy(dtype=float, na_value=np.nan)
    else:
        raw = np.asarray(values)
        try:
            if raw.dtype.kind not in "biufO":  # strings, dates, ...: no silent parsing
                raise TypeError(raw.dtype)
            arr = raw.astype(float)
        except (TypeError, ValueError) as err:
            raise ModelError(
                f"{_quote(name)} must be numeric; got values of dtype {raw.dtype}; convert them to numbers first."
            ) from err
    if arr.ndim != 1:
        raise ModelError(
            f"{_quote(name)} must be one-dimensional; got shape {arr.shape}; pass one column "
            "(for predict_proba output take [:, 1])."
        )
    if arr.size == 0:
        raise ModelError(f"{_quote(name)} is empty; evaluation needs at least one row.")
    bad = int((~np.isfinite(arr)).sum())
    if bad:
        raise ModelError(
            f"{_quote(name)} must be finite; got {bad} NaN or infinite value(s) out of {arr.size}; "
            "drop or impute them before evaluating."
        )
    return arr


def _check_same_rows(y_true: Any, other: Any, y: np.ndarray, x: np.ndarray, name: str) -> None:
    """Raise a ModelError when ``other`` (called ``name``) does not have the rows of ``y_true``."""
    if x.size != y.size:
        raise ModelError(
            f"{_quote(name)} must have the length of 'y_true' ({y.size}); got {x.size}; pass one value per row."
        )
    if isinstance(y_true, pd.Series) and isinstance(other, pd.Series) and not y_true.index.equals(other.index):
        raise ModelError(
            f"{_quote(name)} has a different index from 'y_true'; expected the same rows in the same order; "
            "align it first (e.g. with .reindex(y_true.index))."
        )


def _binary_target(y_true: Any) -> np.ndarray:
    """Validate a churn label with both classes and return it as a float array of 0/1."""
    y = _as_vector(y_true, "y_true")
    if not np.isin(y, (0.0, 1.0)).all():
        found = np.unique(y[~np.isin(y, (0.0, 1.0))])[:5].tolist()
        raise ModelError(
            f"'y_true' must be binary (0/1 or bool) for churn metrics; got other values such as {found}; "
            "encode churned as 1 and retained as 0."
        )
    classes = np.unique(y)
    if classes.size < 2:
        raise ModelError(
            f"'y_true' has only one class ({int(classes[0])}) at this evaluation cut-off; churn metrics need both "
            "churners and retained customers; evaluate on a cut-off with both outcomes or skip it."
        )
    return y


def _churn_pair(y_true: Any, score: Any, name: str = "score") -> tuple[np.ndarray, np.ndarray]:
    y = _binary_target(y_true)
    s = _as_vector(score, name)
    _check_same_rows(y_true, score, y, s, name)
    return y, s


def _value_pair(y_true: Any, y_pred: Any, name: str = "y_pred") -> tuple[np.ndarray, np.ndarray]:
    y = _as_vector(y_true, "y_true")
    if not y.sum() > 0:
        raise ModelError(
            f"'y_true' must have a positive total for value metrics; got a total of {y.sum():g}; "
            "evaluate on a cut-off where customers spent something."
        )
    p = _as_vector(y_pred, name)
    _check_same_rows(y_true, y_pred, y, p, name)
    return y, p


def _check_fraction(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not (
        0 < float(value) <= 1
    ):
        raise ModelError(
            f"The {name!r} parameter must be a number in (0, 1]; got {value!r}; use e.g. 0.1 for the top decile."
        )
    return float(value)


def _check_bins(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ModelError(
            f"The {name!r} parameter must be an integer >= 1; got {value!r}; use e.g. 10 for deciles."
        )
    return int(value)


def _check_mapping(models: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(models, Mapping) or len(models) == 0:
        got = "an empty mapping" if isinstance(models, Mapping) else f"a {type(models).__name__}"
        raise ModelError(
            f"{name!r} must be a non-empty mapping of model name -> values; got {got}; "
            "pass e.g. {'model': p, 'recency': r}."
        )
    return models


def _is_probability(score: np.ndarray) -> bool:
    return bool(score.min() >= 0.0 and score.max() <= 1.0)


# ---------------------------------------------------------------------------------- ranked accumulation


def _ranked_cumulative(key: np.ndarray, *values: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Cumulative sums of ``values`` down the ranking by ``key`` (descending), at the borders of tie groups.

    Returns ``(counts, sums)``: ``counts`` is ``[0, end of group 1, end of group 2, ..., n]`` and each array of
    ``sums`` holds the matching cumulative sums. Linear interpolation between the borders (``np.interp``) gives
    the sums for the top ``x`` rows, any real ``x`` in [0, n], with ties shared pro rata.
    """
    order = np.argsort(-key, kind="stable")
    ranked = key[order]
    borders = np.flatnonzero(np.r_[ranked[1:] != ranked[:-1], True]) + 1
    counts = np.r_[0, borders].astype(float)
    sums = [np.r_[0.0, np.cumsum(v[order])][np.r_[0, borders]] for v in values]
    return counts, sums


def _binned_sums(key: np.ndarray, n_bins: int, *values: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Row counts and sums of ``values`` in ``n_bins`` equal-size bins of the ranking by ``key``, best bin first."""
    counts, sums = _ranked_cumulative(key, *values)
    edges = np.linspace(0.0, float(key.size), n_bins + 1)
    return np.diff(edges), [np.diff(np.interp(edges, counts, s)) for s in sums]


def _top_share(key: np.ndarray, values: np.ndarray, fraction: float) -> float:
    """Share of ``values.sum()`` held by the top ``fraction`` of rows ranked by ``key`` (ties pro rata)."""
    counts, (cum,) = _ranked_cumulative(key, values)
    return float(np.interp(fraction * key.size, counts, cum) / cum[-1])


def _gini(key: np.ndarray, values: np.ndarray) -> float:
    """Gini of ``values`` ranked by ``key`` descending: mean over i = 1..n of (share of total in the top i - i/n)."""
    n = key.size
    counts, (cum,) = _ranked_cumulative(key, values)
    ranks = np.arange(1, n + 1, dtype=float)
    lorenz = np.interp(ranks, counts, cum) / cum[-1]
    return float(np.mean(lorenz - ranks / n))


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation (average ranks for ties); NaN when either side is constant."""
    if a.min() == a.max() or b.min() == b.max():
        return float("nan")
    ra = pd.Series(a).rank(method="average").to_numpy()
    rb = pd.Series(b).rank(method="average").to_numpy()
    return float(np.corrcoef(ra, rb)[0, 1])


# ------------------------------------------------------------------------------------------- tables


def calibration_table(y_true: Any, prob: Any, n_bins: int = 10) -> pd.DataFrame:
    """Observed churn rate against the mean predicted probability, in equal-width probability bins.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Churn label, 0/1 or bool, with both classes.
    prob : array-like of shape (n,)
        Predicted churn probability in [0, 1].
    n_bins : int, default 10
        Number of equal-width bins over [0, 1]: bin ``b`` holds ``b / n_bins <= p < (b + 1) / n_bins`` and the
        last bin also holds p = 1.

    Returns
    -------
    pandas.DataFrame
        One row per bin (``n_bins`` rows, empty bins included), columns ``bin`` (0 = lowest probabilities),
        ``bin_lower``, ``bin_upper``, ``mean_pred``, ``observed_rate`` (NaN in empty bins) and ``n``.

    Raises
    ------
    ModelError
        On invalid inputs, a single-class label or probabilities outside [0, 1].
    """
    y, p = _churn_pair(y_true, prob, "prob")
    n_bins = _check_bins(n_bins, "n_bins")
    if not _is_probability(p):
        raise ModelError(
            f"'prob' must hold probabilities in [0, 1]; got values from {p.min():g} to {p.max():g}; "
            "pass predicted probabilities, not a ranking score."
        )
    bins = np.minimum(np.floor(p * n_bins), n_bins - 1).astype(int)
    n = np.bincount(bins, minlength=n_bins).astype(int)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_pred = np.bincount(bins, weights=p, minlength=n_bins) / n
        observed = np.bincount(bins, weights=y, minlength=n_bins) / n
    edges = np.arange(n_bins + 1) / n_bins
    return pd.DataFrame(
        {
            "bin": np.arange(n_bins),
            "bin_lower": edges[:-1],
            "bin_upper": edges[1:],
            "mean_pred": mean_pred,
            "observed_rate": observed,
            "n": n,
        }
    )


def gains_table(y_true: Any, score: Any, n_bins: int = 10) -> pd.DataFrame:
    """Cumulative gains and lift by score bin (deciles by default), highest scores first.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Churn label, 0/1 or bool, with both classes.
    score : array-like of shape (n,)
        Any score where higher means more likely to churn (probability, recency, minus the loyalty score...).
    n_bins : int, default 10
        Number of equal-size bins of the ranking; ties across a bin border are shared pro rata.

    Returns
    -------
    pandas.DataFrame
        One row per bin, columns ``decile`` (1 = highest scores), ``n`` (n / n_bins each), ``positives``
        (churners in the bin), ``positive_rate``, ``cum_n``, ``cum_positives``, ``cum_capture`` (share of all
        churners in bins 1..decile), ``lift`` (bin rate / base rate) and ``cum_lift``.
    """
    y, s = _churn_pair(y_true, score)
    n_bins = _check_bins(n_bins, "n_bins")
    n, (pos,) = _binned_sums(s, n_bins, y)
    base_rate = y.mean()
    cum_n, cum_pos = np.cumsum(n), np.cumsum(pos)
    return pd.DataFrame(
        {
            "decile": np.arange(1, n_bins + 1),
            "n": n,
            "positives": pos,
            "positive_rate": pos / n,
            "cum_n": cum_n,
            "cum_positives": cum_pos,
            "cum_capture": cum_pos / y.sum(),
            "lift": pos / n / base_rate,
            "cum_lift": cum_pos / cum_n / base_rate,
        }
    )


def value_decile_table(y_true: Any, y_pred: Any, n: int = 10) -> pd.DataFrame:
    """Predicted and actual value by decile of the prediction, highest predictions first.

    Parameters
    ----------
    y_true : array-like of shape (rows,)
        Actual value (revenue or margin) in the value horizon; its total must be positive.
    y_pred : array-like of shape (rows,)
        Predicted value.
    n : int, default 10
        Number of equal-size bins of the prediction ranking; ties across a border are shared pro rata.

    Returns
    -------
    pandas.DataFrame
        One row per bin, columns ``decile`` (1 = highest predictions), ``n`` (rows / n each), ``mean_pred``,
        ``mean_true``, ``sum_pred``, ``sum_true``, ``cum_capture`` (share of the true total in deciles
        1..decile) and ``abs_pct_error`` (``|sum_pred - sum_true| / sum_true``, NaN where ``sum_true`` is 0).
    """
    y, p = _value_pair(y_true, y_pred)
    n_bins = _check_bins(n, "n")
    rows, (sum_pred, sum_true) = _binned_sums(p, n_bins, p, y)
    with np.errstate(invalid="ignore", divide="ignore"):
        ape = np.where(sum_true != 0, np.abs(sum_pred - sum_true) / np.abs(sum_true), np.nan)
    return pd.DataFrame(
        {
            "decile": np.arange(1, n_bins + 1),
            "n": rows,
            "mean_pred": sum_pred / rows,
            "mean_true": sum_true / rows,
            "sum_pred": sum_pred,
            "sum_true": sum_true,
            "cum_capture": np.cumsum(sum_true) / y.sum(),
            "abs_pct_error": ape,
        }
    )


# ------------------------------------------------------------------------------------------ metrics


def churn_metrics(y_true: Any, score: Any, *, top_fraction: float = 0.1, n_bins: int = 10) -> dict[str, float]:
    """Discrimination, calibration and targeting metrics of one churn score.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Churn label at the evaluation cut-off, 0/1 or bool; both classes must be present.
    score : array-like of shape (n,)
        Higher means more likely to churn. A probability, or any ranking score (recency in days, minus the
        loyalty score).
    top_fraction : float, default 0.1
        The targeted share of customers for ``lift_top_decile`` and ``capture_top_decile`` (the key names keep
        "decile" whatever the fraction). The top ``top_fraction * n`` rows may be a fractional count; ties at
        the border are shared pro rata.
    n_bins : int, default 10
        Number of **equal-width** probability bins of the expected calibration error.

    Returns
    -------
    dict[str, float]
        In order: ``roc_auc``; ``pr_auc`` (average precision); ``brier``; ``log_loss`` (probabilities clipped
        to [eps, 1 - eps]); ``lift_top_decile`` (churn rate in the top fraction / base rate);
        ``capture_top_decile`` (share of all churners in the top fraction); ``ece`` (sum over bins of
        bin share x |mean probability - observed rate|); ``base_rate``; ``n``. ``brier``, ``log_loss`` and ``ece``
        are NaN when ``score`` is not in [0, 1] (not a probability).

    Raises
    ------
    ModelError
        When the inputs differ in length, hold non-finite values, ``y_true`` is not binary, or ``y_true`` has only
        one class at this evaluation cut-off (the caller decides whether to skip the cut-off).
    """
    y, s = _churn_pair(y_true, score)
    top_fraction = _check_fraction(top_fraction, "top_fraction")
    n_bins = _check_bins(n_bins, "n_bins")
    capture = _top_share(s, y, top_fraction)
    if _is_probability(s):
        clipped = np.clip(s, _EPS, 1 - _EPS)
        brier = float(np.mean((s - y) ** 2))
        log_loss = float(-np.mean(y * np.log(clipped) + (1 - y) * np.log1p(-clipped)))
        table = calibration_table(y, s, n_bins)
        filled = table[table["n"] > 0]
        ece = float((filled["n"] * (filled["mean_pred"] - filled["observed_rate"]).abs()).sum() / y.size)
    else:
        brier = log_loss = ece = float("nan")
    return {
        "roc_auc": float(roc_auc_score(y, s)),
        "pr_auc": float(average_precision_score(y, s)),
        "brier": brier,
        "log_loss": log_loss,
        "lift_top_decile": capture / top_fraction,
        "capture_top_decile": capture,
        "ece": ece,
        "base_rate": float(y.mean()),
        "n": int(y.size),
    }


def value_metrics(y_true: Any, y_pred: Any, *, n_deciles: int = 10) -> dict[str, float]:
    """Ranking and accuracy metrics of one customer-value prediction.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Actual value (revenue or margin) in the value horizon; its total must be positive.
    y_pred : array-like of shape (n,)
        Predicted value.
    n_deciles : int, default 10
        Number of equal-size prediction bins of ``decile_mape``.

    Returns
    -------
    dict[str, float]
        In order: ``normalised_gini`` (Gini of ``y_true`` ranked by ``y_pred`` / Gini of ``y_true`` ranked by
        itself; 1 = perfect order, -1 = reversed, NaN when every ``y_true`` is equal); ``spearman`` (NaN when
        either side is constant); ``mae``; ``rmse``; ``decile_mape`` (mean over prediction deciles of
        ``|sum pred - sum true| / sum true``; deciles whose true sum is 0 are left out, NaN if all are);
        ``total_error`` (``sum pred / sum true - 1``); ``capture_top_decile`` (share of the true total in the top
        10% by prediction); ``n``. The Gini is the mean over i = 1..n of (share of the true total in the top i
        rows - i / n), with tied predictions shared pro rata.

    Raises
    ------
    ModelError
        When the inputs differ in length, hold non-finite values, or ``y_true`` does not have a positive total.
    """
    y, p = _value_pair(y_true, y_pred)
    n_deciles = _check_bins(n_deciles, "n_deciles")
    perfect = _gini(y, y)
    table = value_decile_table(y, p, n_deciles)
    ape = table["abs_pct_error"].dropna()
    err = p - y
    return {
        "normalised_gini": _gini(p, y) / perfect if perfect > 0 else float("nan"),
        "spearman": _spearman(y, p),
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "decile_mape": float(ape.mean()) if len(ape) else float("nan"),
        "total_error": float(p.sum() / y.sum() - 1),
        "capture_top_decile": _top_share(p, y, 0.1),
        "n": int(y.size),
    }


def compare_churn(
    y_true: Any, scores: Mapping[str, Any], *, top_fraction: float = 0.1, n_bins: int = 10
) -> pd.DataFrame:
    """:func:`churn_metrics` of a model and its baselines on the same labels, one row each.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Churn label at the evaluation cut-off.
    scores : Mapping[str, array-like of shape (n,)]
        Model or baseline name -> score (higher = more likely to churn), e.g.
        ``{"lightgbm": p, "rule_score": -loyalty_score, "recency": recency_days, "bgnbd": p_no_purchase}``.
    top_fraction, n_bins
        As in :func:`churn_metrics`.

    Returns
    -------
    pandas.DataFrame
        One row per entry of ``scores`` in the given order: column ``scorer`` (the name) then the
        :data:`loyalist.config.metrics.CHURN_COLUMNS`.
    """
    scores = _check_mapping(scores, "scores")
    rows = []
    for name, score in scores.items():
        _churn_pair(y_true, score, f"scores[{name!r}]")
        metrics = churn_metrics(y_true, score, top_fraction=top_fraction, n_bins=n_bins)
        rows.append({"scorer": str(name), **metrics})
    return pd.DataFrame(rows, columns=["scorer", *_CHURN_KEYS])


def compare_value(y_true: Any, preds: Mapping[str, Any], *, n_deciles: int = 10) -> pd.DataFrame:
    """:func:`value_metrics` of a model and its baselines on the same actual values, one row each.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Actual value in the value horizon.
    preds : Mapping[str, array-like of shape (n,)]
        Model or baseline name -> predicted value, e.g. ``{"lightgbm": v, "bgnbd_gg": clv}``.
    n_deciles
        As in :func:`value_metrics`.

    Returns
    -------
    pandas.DataFrame
        One row per entry of ``preds`` in the given order: column ``scorer`` (the name) then the
        :data:`loyalist.config.metrics.VALUE_COLUMNS`.
    """
    preds = _check_mapping(preds, "preds")
    rows = []
    for name, pred in preds.items():
        _value_pair(y_true, pred, f"preds[{name!r}]")
        rows.append({"scorer": str(name), **value_metrics(y_true, pred, n_deciles=n_deciles)})
    return pd.DataFrame(rows, columns=["scorer", *_VALUE_KEYS])
