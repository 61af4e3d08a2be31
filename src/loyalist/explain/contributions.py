"""Exact TreeSHAP contributions of a churn model, checked for additivity, and the choice of rows to explain.

A loyalist model's ``contributions(snapshot)`` is LightGBM's ``pred_contrib``: exact TreeSHAP on the raw (log-odds)
scale, one column per model feature, plus ``bias`` (the expected raw score) and ``offset`` (the BG/NBD init score
when the model uses one, else 0). For every row the columns sum to the model's ``raw_score``. :func:`explain`
returns that frame for the chosen rows and checks the sum, so a broken model or a mismatched input is caught
before any reason is written.

TreeSHAP costs about 0.8 ms per row here (800 s per million rows), so a scoring job explains only the customers
that matter and a random sample for the global drivers: :func:`select_rows`.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import TypeVar

import numpy as np
import pandas as pd

from loyalist.errors import ConfigError, ModelError, SchemaError
from loyalist.modeling.btyd.features import BTYD_FEATURES
from loyalist.schema import require_columns

T = TypeVar("T")

__all__ = [
    "ADDITIVITY_TOL",
    "CHUNK_ROWS",
    "in_chunks",
    "NON_FEATURE_COLUMNS",
    "explain",
    "feature_columns",
    "sample_labels",
    "select_rows",
    "with_model_features",
]

#: Largest accepted |sum of contributions + bias + offset - raw_score| per row (raw, log-odds scale).
ADDITIVITY_TOL: float = 1e-6

#: Columns of a contribution frame that are not features.
NON_FEATURE_COLUMNS: tuple[str, ...] = ("bias", "offset")


def _plain(label):
    """An index label as plain Python (``7`` rather than ``np.int64(7)``) for error sentences."""
    return label.item() if isinstance(label, np.generic) else label


#: Rows per chunk when predictions and contributions run on several threads.
CHUNK_ROWS: int = 20_000


def in_chunks(fn: Callable[[pd.DataFrame], T], frame: pd.DataFrame, threads: int, *,
              chunk_rows: int = CHUNK_ROWS) -> list[T]:
    """``fn`` over consecutive row chunks of ``frame`` on ``threads`` threads, results in row order (one call on the
    whole frame when ``threads`` is 1 or the frame is smaller than two chunks).

    LightGBM's predict and ``pred_contrib`` release the GIL, so chunks run on every thread at once; with each call
    on one LightGBM thread the work is spread without OpenMP barriers between threads (which stall when another
    process holds a core). ``fn`` must treat rows independently: every loyalist score and contribution does, so the
    concatenated result equals one call on the whole frame.
    """
    n = len(frame)
    if threads <= 1 or n < 2 * chunk_rows:
        return [fn(frame)]
    k = max(threads, -(-n // chunk_rows))
    bounds = np.linspace(0, n, k + 1).astype(int)
    parts = [(int(a), int(b)) for a, b in pairwise(bounds) if b > a]
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="loyalist-chunks") as pool:
        return list(pool.map(lambda ab: fn(frame.iloc[ab[0]:ab[1]]), parts))


def feature_columns(contribs: pd.DataFrame) -> list[str]:
    """The feature columns of a contribution frame (every column except ``bias`` and ``offset``)."""
    return [c for c in contribs.columns if c not in NON_FEATURE_COLUMNS]


def _select(snapshot: pd.DataFrame, rows: np.ndarray | pd.Index | None) -> pd.DataFrame:
    if not snapshot.index.is_unique:
        raise SchemaError(
            "The snapshot index has duplicate labels; explanations are matched to customers by index, so pass a "
            "snapshot with a unique index (e.g. snapshot.reset_index(drop=True))."
        )
    if rows is None:
        return snapshot
    values = np.asarray(rows)
    if values.dtype == bool:
        if len(values) != len(snapshot):
            raise ConfigError(
                f"The 'rows' boolean mask must have one entry per snapshot row ({len(snapshot)}); got {len(values)}."
            )
        return snapshot[values]
    labels = pd.Index(rows)
    missing = labels.difference(snapshot.index)
    if len(missing):
        raise ConfigError(
            f"The 'rows' argument names {len(missing)} label(s) absent from the snapshot index (first: "
            f"{_plain(missing[0])!r}); pass labels of snapshot.index, e.g. the output of select_rows on the aligned "
            "risk list."
        )
    return snapshot.loc[labels]


def explain(
    model,
    snapshot: pd.DataFrame,
    *,
    rows: np.ndarray | pd.Index | None = None,
    horizon_days: int | None = None,
    threads: int = 1,
    chunk_rows: int | None = None,
) -> pd.DataFrame:
    """Exact TreeSHAP contributions of ``model`` for the chosen rows of ``snapshot``, checked for additivity.

    Parameters
    ----------
    model : a fitted loyalist model (``ChurnModel`` or ``ValueModel``) with ``contributions`` and ``raw_score``.
    snapshot : DataFrame
        Snapshot rows at one cut-off T (the columns of ``model.feature_names_``), with a unique index.
    rows : labels of ``snapshot.index`` (e.g. from :func:`select_rows`) or a boolean mask; all rows when None.
    horizon_days : the horizon of the BG/NBD features (the model's own when None).
    threads : chunks of the chosen rows computed on this many threads at once (:func:`in_chunks`; the model's
        LightGBM calls then use one thread each). The result does not depend on it.
    chunk_rows : the rows per chunk on several threads (default :data:`CHUNK_ROWS`).

    Returns
    -------
    DataFrame
        Index: the chosen snapshot labels. Columns: one per model feature (raw log-odds scale, positive = raises
        the churn risk), ``bias`` and ``offset``. Each row sums to ``model.raw_score`` of that row. No rows when
        ``rows`` selects none.

    Raises
    ------
    ModelError
        When a row's sum differs from the raw score by more than :data:`ADDITIVITY_TOL` (or is not finite).
    """
    for method in ("contributions", "raw_score"):
        if not callable(getattr(model, method, None)):
            raise ModelError(
                f"The model {type(model).__name__!r} has no {method!r} method; pass a fitted loyalist ChurnModel or "
                "ValueModel."
            )
    chosen = _select(snapshot, rows)
    spec = getattr(model, "spec_", None)
    if len(chosen) == 0 and spec is not None:  # LightGBM refuses empty input: no row, no contribution
        columns = [*spec.columns, *NON_FEATURE_COLUMNS]
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns}, index=chosen.index)
    chunk = CHUNK_ROWS if chunk_rows is None else max(1, int(chunk_rows))
    if threads > 1 and len(chosen) >= 2 * chunk:
        return _explain_threads(model, chosen, horizon_days, threads, chunk)
    return _explain_rows(model, chosen, horizon_days)


def _explain_threads(model, chosen: pd.DataFrame, horizon_days: int | None, threads: int,
                     chunk_rows: int) -> pd.DataFrame:
    setter = getattr(model, "set_threads", None)
    before = getattr(model, "n_jobs", None)
    if callable(setter):
        setter(1)
    try:
        parts = in_chunks(lambda part: _explain_rows(model, part, horizon_days), chosen, threads,
                          chunk_rows=chunk_rows)
    finally:
        if callable(setter):
            setter(before)
    return pd.concat(parts)


def _explain_rows(model, chosen: pd.DataFrame, horizon_days: int | None) -> pd.DataFrame:
    contribs = model.contributions(chosen, horizon_days)
    missing = [c for c in NON_FEATURE_COLUMNS if c not in contribs.columns]
    if missing:
        raise ModelError(
            f"The model's contributions lack the column(s) {missing}; expected one column per feature plus 'bias' "
            "and 'offset' (the loyalist model protocol)."
        )
    raw = np.asarray(model.raw_score(chosen, horizon_days), dtype="float64")
    total = contribs.to_numpy(dtype="float64", na_value=np.nan).sum(axis=1)
    gap = np.abs(total - raw)
    bad = ~(gap <= ADDITIVITY_TOL)  # NaN counts as bad
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ModelError(
            f"The SHAP contributions of {int(bad.sum())} row(s) do not add up to the model's raw score (first: "
            f"row {_plain(chosen.index[first])!r}, |sum - raw_score| = {gap[first]:.3g}, allowed "
            f"{ADDITIVITY_TOL:g}); the model or its input is inconsistent: score and explain with the same model and "
            "snapshot."
        )
    return contribs


def with_model_features(model, snapshot: pd.DataFrame, horizon_days: int | None = None) -> pd.DataFrame:
    """``snapshot`` plus the model's derived BG/NBD features, so reasons can quote their values.

    The BTYD features (``bg_p_alive``, ``bg_p_no_purchase``, ``bg_expected_purchases``, ``gg_expected_value``,
    ``btyd_value``) are computed inside the model from the snapshot's BTYD summary; this returns a copy of
    ``snapshot`` (same index) with those columns replaced or added, using the model's frozen featurizer. A model
    without BG/NBD features returns ``snapshot`` unchanged.
    """
    featurizer = getattr(model, "btyd_", None)
    if not getattr(model, "use_btyd", False) or featurizer is None:
        return snapshot
    h = horizon_days if horizon_days is not None else getattr(model, "horizon_days", None)
    feats = featurizer.transform(snapshot, horizon_days=h)
    return snapshot.drop(columns=[c for c in BTYD_FEATURES if c in snapshot.columns]).join(feats)


def _check_count(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ConfigError(f"The {name!r} parameter must be an integer >= 0; got {value!r} instead.")
    return int(value)


def select_rows(
    risk: pd.DataFrame,
    *,
    top_k: int,
    sample: int,
    seed: int,
    band_col: str | None = "risk_band",
    sort_col: str = "value_at_risk",
    band: str = "very_high",
) -> tuple[pd.Index, pd.Index]:
    """The customers to explain one by one, and a random sample for the global drivers.

    Parameters
    ----------
    risk : DataFrame
        One row per scored customer with ``sort_col`` (numeric, e.g. ``value_at_risk``) and ``band_col`` (e.g.
        ``risk_band``); its index must be the snapshot's (the labels are returned).
    top_k : the number of customers with the largest ``sort_col`` to explain (capped at the number of rows).
    sample : the size of the random sample for the global drivers (capped at the number of rows), drawn without
        replacement from all rows by ``np.random.default_rng(seed)``.
    seed : the sample's seed; the same seed gives the same sample.
    band_col, band : every row whose ``band_col`` equals ``band`` is explained as well (skipped when ``band_col``
        is None). The band is always explained in full; bound its size with the risk-band cuts.
    sort_col : the ranking column, descending; missing values rank last, ties keep the row order.

    Returns
    -------
    (individual, sample) : two pd.Index of ``risk.index`` labels, without duplicates. ``individual`` is the union
    of the band and the top ``top_k``, ordered by ``sort_col`` descending; ``sample`` is in row order.
    """
    top_k = _check_count(top_k, "top_k")
    sample = _check_count(sample, "sample")
    needed = [sort_col] + ([band_col] if band_col is not None else [])
    require_columns(risk, needed, what="The risk list", show_columns=False,
                    fix="they choose the customers to explain; add them or pass other column names")
    try:
        key = pd.to_numeric(risk[sort_col], errors="raise").to_numpy(dtype="float64", na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise SchemaError(
            f"The risk list column {sort_col!r} must be numeric to rank customers; found values such as "
            f"{risk[sort_col].iloc[0]!r}."
        ) from exc
    n = len(risk)
    order = np.argsort(-np.where(np.isnan(key), -np.inf, key), kind="stable")
    chosen = np.zeros(n, dtype=bool)
    chosen[order[: min(top_k, n)]] = True
    if band_col is not None:
        chosen |= (risk[band_col] == band).fillna(False).to_numpy(dtype=bool)
    individual = risk.index[order[chosen[order]]]
    return individual, sample_labels(risk.index, sample, seed)


def sample_labels(index: pd.Index, sample: int, seed: int) -> pd.Index:
    """The random sample of :func:`select_rows` (``sample`` labels of ``index`` drawn without replacement by
    ``np.random.default_rng(seed)``, capped at its length, in row order): it does not depend on the scores, so a
    scoring job can explain it while the models still predict."""
    sample = _check_count(sample, "sample")
    n = len(index)
    rng = np.random.default_rng(seed)
    picked = np.sort(rng.choice(n, size=min(sample, n), replace=False)) if n else np.zeros(0, dtype=int)
    return index[picked]
