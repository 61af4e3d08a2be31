"""Get the level right when the scoring horizon reaches calendar months no training label covered.

A model learns its level (how many customers churn, how much they spend) from its training label windows. When
those windows cover, say, May-August only (a short history) and the scoring horizon is September-December, the
trees carry the summer level into the peak season, and nothing in the training data can correct it. The rule
(issue 11 §3), the same on every data set:

1. :func:`uncovered_months`: the calendar months of the scoring horizon (T, T + h] that no training label window
   (T_i, T_i + h_i] covered.
2. If there are none, the model's own level stands.
3. Otherwise, if every uncovered month *and* every covered month occurs in the history before T (with an active
   base before it, :func:`_monthly_rate`), a **seasonal index** f (:func:`seasonal_factor`) rescales the level:
   purchases per customer of the active base in the horizon's months over those in the training labels' months,
   both from the history. Value x f; churn: the mean probability becomes
   the mean of p^f (a purchase rate x f turns P(no purchase) = exp(-rate h) into its f-th power).
4. Else the level is **anchored** on the scoring cut-off's customers, and a warning says so. The anchor is the
   mean of two levels that describe the whole horizon by construction and err in opposite directions on an ageing
   customer base (:func:`anchor_level`): the BG/NBD level (BG/NBD x Gamma-Gamma for value, BG/NBD expected
   purchases for counts; it models dropout but assumes each live customer's rate is stationary over the whole
   history) and the **run rate** of the last :data:`RUN_RATE_DAYS` days before the cut-off, pro rata to the
   horizon (:func:`run_rate`; the current level, with no further dropout). Churn: the purchase rate is scaled by
   f = anchored purchases / BG/NBD purchases, so the mean probability becomes the mean of P_BG(no purchase)^f.
   When the history is shorter than the run-rate window, the BG/NBD level alone is the anchor.

The result is frozen in the model at training time (:class:`Level`): the value model multiplies its predictions
by ``factor``; the churn model raises its probabilities to the power ``power`` (:func:`churn_power`: the f of
"P(no purchase)^f", found so that the mean hits the level; a rate scaling moves a customer who has almost surely
stopped much less than one at 50%, where a uniform log-odds shift moved both alike and left the protocols' models
under-confident; models saved before it carry ``logit_shift`` instead); the scoring job and the model card print
``note``. Frozen, so that a customer's score never depends on which other customers are scored with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit, logit

__all__ = ["Level", "uncovered_months", "seasonal_factor", "churn_logit_shift", "churn_power", "month_span",
           "month_names", "month_numbers", "level_block", "level_tags",
           "set_level", "run_rate", "anchor_level", "RUN_RATE_DAYS", "other_horizon_months"]

#: The run-rate window of the anchor (days before the cut-off; the window of an "active" customer).
RUN_RATE_DAYS = 90


@dataclass(frozen=True)
class Level:
    """How the level of a model's predictions was set. ``method``: "model" (nothing done), "seasonal_index" or
    "bgnbd_anchor"; ``factor`` (value) / ``logit_shift`` (churn) applied to the predictions; ``note``: the warning
    for the run, the model card and the scoring summary ("" when method is "model")."""

    method: str = "model"
    factor: float = 1.0
    logit_shift: float = 0.0
    note: str = ""
    uncovered: tuple[str, ...] = ()
    #: Value models: the factor on the frozen BG/NBD featurizer's expected purchases (the risk list's
    #: ``expected_purchases``) that puts their total at the same level as the value (1.0: unchanged).
    purchase_factor: float = 1.0
    #: Churn models: the probabilities are raised to this power (1.0: unchanged; see :func:`churn_power`).
    power: float = 1.0

    def churn(self, p: np.ndarray) -> np.ndarray:
        """Churn probabilities ``p`` at this level: ``p ** power`` (a model saved with a ``logit_shift`` gets the
        shift instead)."""
        p = np.asarray(p, dtype="float64")
        power = float(getattr(self, "power", 1.0))
        if power != 1.0:
            return np.clip(p, 0.0, 1.0) ** power
        if self.logit_shift:
            return expit(logit(np.clip(p, 1e-9, 1 - 1e-9)) + self.logit_shift)
        return p


def month_span(start: pd.Timestamp, end: pd.Timestamp) -> set[int]:
    """Calendar months (1-12) with at least one day in (start, end]."""
    if end <= start:
        return set()
    days = pd.date_range(pd.Timestamp(start) + pd.Timedelta(days=1), pd.Timestamp(end), freq="D")
    return set(days.month.unique().tolist())


def uncovered_months(
    label_windows: Iterable[tuple[pd.Timestamp, int]], scoring_cutoff: pd.Timestamp, horizon_days: int
) -> list[int]:
    """Months of (scoring_cutoff, scoring_cutoff + horizon] outside every training label window (T_i, T_i + h_i]."""
    covered: set[int] = set()
    for t, h in label_windows:
        covered |= month_span(pd.Timestamp(t), pd.Timestamp(t) + pd.Timedelta(days=int(h)))
    wanted = month_span(scoring_cutoff, pd.Timestamp(scoring_cutoff) + pd.Timedelta(days=int(horizon_days)))
    return sorted(wanted - covered)


#: The active base of a month (:func:`_monthly_rate`): customers with a purchase in the months before it, up to
#: a year; a month whose base window holds fewer complete months than this does not count.
BASE_MONTHS, MIN_BASE_MONTHS = 12, 6


def _monthly_rate(orders: pd.DataFrame, before: pd.Timestamp) -> pd.Series | None:
    """Purchases (customer-days) per customer of the active base in each calendar month (mean over the years
    seen), from orders <= the end of day ``before``; only complete months count.

    The base of month m is the customers with a purchase in the :data:`BASE_MONTHS` months before m (at least
    :data:`MIN_BASE_MONTHS` complete ones in the history), and only their purchases in m count: a peak made of more
    buyers (the usual retail peak) shows, which "purchases per buyer of the month" hid, and new customers' first
    purchases (acquisition, e.g. a cohort's first quarter) do not pass for a season."""
    o = orders.loc[orders["order_date"] < pd.Timestamp(before).normalize() + pd.Timedelta(days=1),
                   ["customer_id", "order_date"]]
    if o.empty:
        return None
    first = o["order_date"].min()
    days = o.assign(day=o["order_date"].dt.normalize()).drop_duplicates(["customer_id", "day"])
    days = days.assign(period=days["day"].dt.to_period("M"))
    start = first.to_period("M") + (0 if first.day == 1 else 1)  # the first complete month
    stop = (pd.Timestamp(before) + pd.Timedelta(days=1)).to_period("M")  # months before this one are complete
    active = days.drop_duplicates(["customer_id", "period"])[["customer_id", "period"]]
    counts = days.groupby("period").size()
    rows = []
    month = start + MIN_BASE_MONTHS
    while month < stop:
        lo = max(start, month - BASE_MONTHS)
        base = pd.Index(active.loc[(active["period"] >= lo) & (active["period"] < month), "customer_id"].unique())
        if len(base) and month in counts.index:
            bought = days.loc[(days["period"] == month) & days["customer_id"].isin(base)]
            rows.append((month.month, len(bought) / len(base)))
        month += 1
    if not rows:
        return None
    rate = pd.DataFrame(rows, columns=["month", "rate"]).groupby("month")["rate"].mean()
    return rate


def seasonal_factor(
    orders: pd.DataFrame, label_windows: Iterable[tuple[pd.Timestamp, int]], scoring_cutoff: pd.Timestamp,
    horizon_days: int,
) -> float | None:
    """Mean monthly rate over the horizon's months / mean over the training labels' months (None when some month
    is not in the history before the scoring cut-off)."""
    rate = _monthly_rate(orders, scoring_cutoff)
    if rate is None:
        return None
    covered: list[int] = []
    for t, h in label_windows:
        covered += sorted(month_span(pd.Timestamp(t), pd.Timestamp(t) + pd.Timedelta(days=int(h))))
    wanted = sorted(month_span(scoring_cutoff, pd.Timestamp(scoring_cutoff) + pd.Timedelta(days=int(horizon_days))))
    if not covered or not all(m in rate.index for m in set(covered) | set(wanted)):
        return None
    return float(rate.loc[wanted].mean() / rate.loc[covered].mean())


def churn_logit_shift(p: np.ndarray, target_mean: float) -> float:
    """The shift d of the log-odds so that mean(expit(logit(p) + d)) equals ``target_mean``."""
    p = np.clip(np.asarray(p, dtype="float64"), 1e-6, 1 - 1e-6)
    target = float(np.clip(target_mean, 1e-4, 1 - 1e-4))
    z = logit(p)
    return float(brentq(lambda d: expit(z + d).mean() - target, -20.0, 20.0))


def churn_power(p: np.ndarray, target_mean: float) -> float:
    """The power g so that mean(p ** g) equals ``target_mean`` (a purchase rate x g turns P(no purchase) =
    exp(-rate h) into its g-th power); keeps the order of ``p``."""
    p = np.clip(np.asarray(p, dtype="float64"), 1e-9, 1.0)
    target = float(np.clip(target_mean, 1e-4, 1 - 1e-4))
    lo, hi = 1e-3, 1e3
    if (p ** lo).mean() <= target:
        return lo
    if (p ** hi).mean() >= target:
        return hi
    return float(brentq(lambda g: (p ** g).mean() - target, lo, hi))


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def month_names(months: Iterable[int]) -> tuple[str, ...]:
    """Month numbers (1-12) as English abbreviations ("Sep"), as :class:`Level` keeps them."""
    return tuple(_MONTHS[int(m) - 1] for m in months)


def month_numbers(names: Iterable[str]) -> list[int]:
    """The inverse of :func:`month_names` (unknown names are skipped)."""
    return [_MONTHS.index(n) + 1 for n in names if n in _MONTHS]


def other_horizon_months(level: Level | None, as_of: pd.Timestamp | None, horizon_days: int) -> list[int] | None:
    """The months (1-12) of a list's horizon (as_of, as_of + horizon_days] when they include none of the months the
    model's level was set for (``level.uncovered``, found at training for the horizon after the data end); None when
    the level's note describes this list (or there is no note, or no as-of).

    A model carries one frozen level. Online Retail II's churn model was leveled for Jan-Mar (the horizon after
    2010-12-09); the list scored as of 2010-09-09 (horizon Sep-Dec) repeated that note as if it described it."""
    if level is None or not getattr(level, "note", "") or as_of is None:
        return None
    uncovered = set(month_numbers(getattr(level, "uncovered", ()) or ()))
    if not uncovered:
        return None
    start = pd.Timestamp(as_of).normalize()
    months = month_span(start, start + pd.Timedelta(days=int(horizon_days)))
    return None if months & uncovered else sorted(months)


def level_block(level: Level | None, horizon_days: int) -> dict | None:
    """What the scoring summary and the report say about a model's level at its ``horizon_days``: None when the
    level rule found nothing to warn about (every month of the horizon covered by a training label); else
    ``method`` ("seasonal_index", "bgnbd_anchor", or "model" when nothing could check the level), the uncovered
    ``months`` (1-12), the value ``factor`` or churn ``power`` applied, and the English ``note``."""
    if level is None or not getattr(level, "note", ""):
        return None
    return {"method": level.method, "months": month_numbers(level.uncovered), "horizon_days": int(horizon_days),
            "factor": float(level.factor), "power": float(getattr(level, "power", 1.0)), "note": level.note}


def level_tags(level: Level | None) -> dict[str, str]:
    """MLflow tags of a training run / model version for its level rule (``level.method`` "model" when nothing was
    done; ``level.warning`` only when the horizon covers months no training label covered)."""
    if level is None:
        return {}
    tags = {"level.method": level.method, "level.factor": f"{float(level.factor):.6g}",
            "level.power": f"{float(getattr(level, 'power', 1.0)):.6g}"}
    if level.uncovered:
        tags["level.uncovered_months"] = ",".join(level.uncovered)
    if level.note:
        tags["level.warning"] = level.note[:4900]  # MLflow tag values hold 5,000 characters
    return tags


def set_level(
    model, snapshot: pd.DataFrame, btyd: pd.DataFrame, *, orders: pd.DataFrame,
    label_windows: Iterable[tuple[pd.Timestamp, int]], scoring_cutoff: pd.Timestamp,
) -> Level:
    """Decide the :class:`Level` of a fitted churn or value ``model`` for scoring at ``scoring_cutoff`` over its
    own horizon (see the module docstring); ``snapshot``: the customers at ``scoring_cutoff``; ``btyd``: BG/NBD
    quantities for them at the model's horizon, from a BG/NBD fitted at ``scoring_cutoff`` (events <= it only).
    The model's predictions are taken with no level applied."""
    windows = list(label_windows)
    h = int(model.horizon_days)
    missing = uncovered_months(windows, scoring_cutoff, h)
    if not missing or snapshot.empty:
        return Level()
    names = month_names(missing)
    where = (f"the {h}-day horizon after {pd.Timestamp(scoring_cutoff).date()} covers calendar months no training "
             f"label covered ({', '.join(names)})")
    f = seasonal_factor(orders, windows, scoring_cutoff, h)
    raw = np.asarray(model.score(snapshot, horizon_days=h), dtype="float64")
    bg_n = float(btyd["bg_expected_purchases"].astype("float64").fillna(0.0).sum())
    if f is not None and np.isfinite(f) and f > 0:
        method = "seasonal_index"
        how = f"seasonal index {f:.3f} from earlier years"
        if model.kind == "churn":
            return Level(method, 1.0, 0.0, f"{where}: level set by the {how}.", names,
                         power=churn_power(raw, float(np.mean(raw ** f))))
        return Level(method, float(f), 0.0, f"{where}: level set by the {how} (x{f:.3f}).", names,
                     _purchase_factor(model, snapshot, h, f * bg_n))
    method = "bgnbd_anchor"
    customers = snapshot["customer_id"]
    if model.kind == "churn":
        target = btyd["bg_p_no_purchase"].astype("float64")
        if not target.notna().any():
            return Level("model", note=f"{where}, and BG/NBD could not be fitted: the model's level is kept "
                         "(unchecked).", uncovered=names)
        p_bg = target.fillna(target.median()).to_numpy()
        anchored, how = anchor_level(bg_n, orders, customers, scoring_cutoff, h, amount=False)
        f = anchored / bg_n if bg_n > 0 else 1.0
        target_mean = float(np.mean(p_bg ** f))
        return Level(method, 1.0, 0.0, f"{where}: no earlier year has them, so the mean churn probability is "
                     f"anchored to BG/NBD's P(no purchase) at the purchase rate of {how} ({raw.mean():.3f} -> "
                     f"{target_mean:.3f}).", names, power=churn_power(raw, target_mean))
    counts = getattr(model, "target", "") == "future_orders"
    column = "bg_expected_purchases" if counts else "btyd_value"
    total = float(btyd[column].astype("float64").fillna(0.0).sum())
    own = float(raw.sum())
    if not (total > 0 and own > 0):
        return Level("model", note=f"{where}, and no BG/NBD level is available: the model's level is kept "
                     "(unchecked).", uncovered=names)
    if getattr(model, "target", "") == "future_margin":
        anchored, how = total, "the BG/NBD x Gamma-Gamma level"
    else:
        anchored, how = anchor_level(total, orders, customers, scoring_cutoff, h, amount=not counts)
    factor = anchored / own
    purchases = anchored if counts else anchor_level(bg_n, orders, customers, scoring_cutoff, h, amount=False)[0]
    return Level(method, factor, 0.0, f"{where}: no earlier year has them, so the total is anchored to {how} "
                 f"(x{factor:.3f}).", names, _purchase_factor(model, snapshot, h, purchases))


def _purchase_factor(model, snapshot: pd.DataFrame, horizon_days: int, purchases: float) -> float:
    """``purchases`` / the model's frozen BG/NBD expected purchases on ``snapshot`` (1.0 when either is missing)."""
    featurizer = getattr(model, "btyd_", None)
    if featurizer is None or not (purchases > 0):
        return 1.0
    own = float(np.nansum(featurizer.transform(snapshot, horizon_days=horizon_days)["bg_expected_purchases"]
                          .to_numpy(dtype="float64")))
    return float(purchases / own) if own > 0 else 1.0


def run_rate(
    orders: pd.DataFrame, customers: Iterable[str], scoring_cutoff: pd.Timestamp, horizon_days: int, *,
    amount: bool, days: int = RUN_RATE_DAYS,
) -> float | None:
    """The ``customers``' purchases (customer-days; ``amount``: the sum of ``amount``) dated in the ``days`` days
    up to the end of the cut-off day, x ``horizon_days / days``. None when the history (``orders``) starts less
    than ``days`` days before the cut-off (the window would not be complete)."""
    from loyalist.features.cutoffs import cutoff_end

    end = cutoff_end(scoring_cutoff)
    start = end - pd.Timedelta(days=int(days))
    dates = orders["order_date"]
    if orders.empty or dates.min() > start:
        return None
    ids = pd.Index(pd.Series(list(customers), dtype="string").dropna().unique())
    recent = orders.loc[(dates > start) & (dates <= end)]
    recent = recent.loc[recent["customer_id"].astype("string").isin(ids).to_numpy()]
    if amount:
        total = float(pd.to_numeric(recent["amount"], errors="coerce").fillna(0.0).clip(lower=0.0).sum())
    else:
        total = float(len(recent.assign(day=recent["order_date"].dt.normalize())
                          .drop_duplicates(["customer_id", "day"])))
    return total * float(horizon_days) / float(days)


def anchor_level(
    bg_level: float, orders: pd.DataFrame, customers: Iterable[str], scoring_cutoff: pd.Timestamp,
    horizon_days: int, *, amount: bool,
) -> tuple[float, str]:
    """The anchored total over the horizon: the mean of the BG/NBD level ``bg_level`` (purchases, or revenue with
    ``amount``) and the :func:`run_rate` of the same customers; the BG/NBD level alone when there is no complete
    run-rate window. Returns (total, a phrase for the note)."""
    what = "BG/NBD x Gamma-Gamma" if amount else "BG/NBD"
    rr = run_rate(orders, customers, scoring_cutoff, horizon_days, amount=amount)
    if rr is None or not np.isfinite(rr) or not (bg_level > 0):
        return bg_level, f"the {what} level (the history is shorter than the {RUN_RATE_DAYS}-day run-rate window)"
    total = 0.5 * (bg_level + rr)
    return total, (f"the mean of the {what} level ({bg_level:,.0f}) and the last {RUN_RATE_DAYS} days' run rate "
                   f"({rr:,.0f}) = {total:,.0f}")
