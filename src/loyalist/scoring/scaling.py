"""Put an indicator's raw values on the 0-100 scale of the loyalty score.

Every method maps a customer-level indicator (one value per customer, NaN = absent) to a float in [0, 100]; NaN
stays NaN, so an absent indicator stays absent and the score re-normalises its weights over the others. The
methods are those of :class:`~loyalist.config.models.ScalingConfig`:

==============  ==========================================  ==============================================
method          formula                                     typical indicator
==============  ==========================================  ==============================================
``ratio``       ``100 * clip(x, 0, 1)``                     repurchase_rate, order_value_stability
``cap``         ``100 * clip(x / cap, 0, 1)``               purchase_frequency (cap = orders/yr for 100)
``inverse``     ``100 * (1 - clip(x / cap, 0, 1))``         complaint_rate (cap 1: ``100 * (1 - rate)``)
``nps``         ``clip((x + 100) / 2, 0, 100)``             nps in [-100, 100]
``percentile``  ``100 * share of reference values <= x``    any numeric column (learned by ``fit``)
==============  ==========================================  ==============================================

The percentile is the empirical CDF of the reference (``kind="weak"`` of ``scipy.stats.percentileofscore``):
the largest reference value earns 100, ties share a value, and values outside the reference range are 0 or 100.
With ``ties: mean`` it is the mid-rank (``kind="mean"``: the mean of the shares < x and <= x), so a value that
many customers share (a repurchase rate of 0 for 60% of them) earns half its share (30), not all of it (60).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from loyalist.config.models import ScalingConfig
from loyalist.errors import ModelError, SchemaError

__all__ = ["scale_indicator", "percentile_reference", "numeric_values"]


def _label(values: pd.Series) -> str:
    return repr(str(values.name)) if values.name is not None else "'<unnamed>'"


def numeric_values(values: pd.Series) -> np.ndarray:
    """The values of ``values`` as a float64 array, missing values (NaN, None, ``pd.NA``) as NaN.

    Parameters
    ----------
    values : pandas.Series
        Numeric (int, float, bool, nullable Int64/Float64) or text holding numbers.

    Returns
    -------
    numpy.ndarray
        1-D float64, same length and order as ``values``.

    Raises
    ------
    SchemaError
        When the column holds values that are not numbers.
    """
    if isinstance(values.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(values.dtype):
        try:
            values = pd.to_numeric(values.astype(object), errors="raise")
        except (TypeError, ValueError) as exc:
            raise SchemaError(
                f"Column {_label(values)} must be numeric to be scored or guarded; got dtype '{values.dtype}' with "
                "non-numeric values; convert it to numbers or remove it from scoring.indicators / scoring.guards."
            ) from exc
    return values.to_numpy(dtype="float64", na_value=np.nan)


def percentile_reference(values: pd.Series) -> np.ndarray:
    """The sorted non-missing values of ``values``: the reference of the ``percentile`` scaling.

    Parameters
    ----------
    values : pandas.Series
        One indicator for the customers of the reference snapshot (the one ``LoyaltyScorer.fit`` sees).

    Returns
    -------
    numpy.ndarray
        1-D float64, ascending, without NaN (may be empty when every value is missing).
    """
    x = numeric_values(values)
    return np.sort(x[~np.isnan(x)])


def _check_reference(reference: np.ndarray | None, values: pd.Series) -> np.ndarray:
    if reference is None:
        raise ModelError(
            f"Percentile scaling of {_label(values)} needs the 'reference' values learned from a snapshot; got "
            "None; pass percentile_reference(<reference column>) or use a fitted LoyaltyScorer."
        )
    ref = np.asarray(reference, dtype="float64")
    if ref.ndim != 1 or np.isnan(ref).any() or (ref.size > 1 and bool(np.any(np.diff(ref) < 0))):
        raise ModelError(
            f"The percentile 'reference' of {_label(values)} must be a 1-D ascending array without NaN; got "
            f"shape {ref.shape}; build it with percentile_reference(<reference column>)."
        )
    return ref


def scale_indicator(
    values: pd.Series, scaling: ScalingConfig, reference: np.ndarray | None = None
) -> pd.Series:
    """Scale one indicator to 0-100 with the configured method.

    Parameters
    ----------
    values : pandas.Series
        One value per customer (any index); NaN = the indicator is absent for that customer.
    scaling : ScalingConfig
        ``method`` (ratio, cap, inverse, nps, percentile) and ``cap`` where the method needs it.
    reference : numpy.ndarray, optional
        Only for ``percentile``: the sorted non-missing reference values (:func:`percentile_reference`).
        An empty reference scales every value to NaN (nothing to compare against).

    Returns
    -------
    pandas.Series
        float64 in [0, 100] with the index and name of ``values``; NaN where ``values`` is missing.

    Raises
    ------
    SchemaError
        When ``values`` is not numeric.
    ModelError
        When ``percentile`` is asked for without a valid ``reference``.
    """
    x = numeric_values(values)
    missing = np.isnan(x)
    method = scaling.method
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if method == "ratio":
            out = 100.0 * np.clip(x, 0.0, 1.0)
        elif method == "cap":
            assert scaling.cap is not None  # ScalingConfig's validator requires a cap for 'cap' and 'inverse'
            out = 100.0 * np.clip(x / float(scaling.cap), 0.0, 1.0)
        elif method == "inverse":
            assert scaling.cap is not None  # ScalingConfig's validator requires a cap for 'cap' and 'inverse'
            out = 100.0 * (1.0 - np.clip(x / float(scaling.cap), 0.0, 1.0))
        elif method == "nps":
            out = np.clip((x + 100.0) / 2.0, 0.0, 100.0)
        elif method == "percentile":
            ref = _check_reference(reference, values)
            if ref.size == 0:
                out = np.full(x.shape, np.nan)
            else:
                upper = np.searchsorted(ref, x, side="right")
                if scaling.ties == "mean":
                    out = 50.0 * (upper + np.searchsorted(ref, x, side="left")) / ref.size
                else:
                    out = 100.0 * upper / ref.size
        else:  # pragma: no cover - ScalingConfig only admits the methods above
            raise ModelError(f"Scaling method {method!r} is unknown; use ratio, cap, inverse, nps or percentile.")
    out = np.where(missing, np.nan, out)
    return pd.Series(out, index=values.index, name=values.name, dtype="float64")
