"""Time to churn under BG/NBD: P(still active t days after the cut-off) and the expected days until churn.

BG/NBD (Fader, Hardie & Lee 2005) says a customer, while alive, buys at Poisson rate ``lambda`` and drops out right
after each repeat purchase with probability ``p``; ``lambda ~ Gamma(r, alpha)`` and ``p ~ Beta(a, b)`` across
customers. Here *active* means *alive* in that sense (not yet dropped out), the latent state whose present value
is :meth:`~loyalist.modeling.btyd.models.BetaGeoModel.p_alive`.

Derivation (all times in the model's unit, ``x, t_x, T`` the customer's calibration summary):

- The purchases that end a customer's life are a thinning of their purchase process: while alive, purchases come at
  rate ``lambda`` and each one is fatal with probability ``p``, so the time to drop-out from any moment the
  customer is alive is exponential with rate ``lambda p`` (memoryless). Given ``(lambda, p)`` and alive at T:
  ``P(alive at T + t) = exp(-lambda p t)``.
- Given the history and alive at T, the posterior is ``lambda ~ Gamma(r + x, alpha + T)`` and
  ``p ~ Beta(a, b + x)``, independent (the alive branch of the likelihood is ``lambda^x (1-p)^x e^(-lambda T)``).
- Integrating ``lambda`` out: ``E[exp(-lambda p t)] = ((alpha+T)/(alpha+T+p t))^(r+x)``; integrating ``p`` out:
  ``G(beta, t) = E_p[(beta / (beta + p t))^(r+x)] = 2F1(r+x, a; a+b+x; -t/beta)``, computed with Pfaff's
  transformation as ``(beta/(beta+t))^a 2F1(a+b-r, a; a+b+x; t/(beta+t))`` (argument in [0, 1), parameters that do
  not grow with x), or by quadrature over the Beta quantiles where the series is not usable.
- Hence ``S(t) = P(alive at T + t | history) = P(alive at T) G(alpha + T, t)``, with ``S(0) = P(alive at T)``.

Observable counterpart (what the calibration against real holdouts compares): a customer *still buys at s* when they
make at least one purchase in ``(T + s, T + H]`` (H = end of the observed window). Given ``(lambda, p)`` and alive
at T, that is ``exp(-lambda p s) (1 - exp(-lambda (H - s)))`` (alive at T + s, then at least one purchase in the rest
of the window), and integrating as above:
``P(buys in (T+s, T+H]) = P(alive at T) [G(alpha+T, s) - ((alpha+T)/(alpha+T+H-s))^(r+x) G(alpha+T+H-s, s)]``.

**Expected days to churn** (``expected_days_to_churn``) is the restricted mean of the time from the cut-off to the
drop-out, capped at ``cap_days``: ``integral_0^cap S(t) dt`` in days. A customer already gone at the cut-off counts
0, one sure to stay alive throughout counts ``cap_days``. The plain (uncapped) mean is infinite for many customers
(``E[1/lambda]`` diverges when ``r + x <= 1``), so the cap (default 365 days) is part of the definition. The expected
day of the customer's last purchase follows from it: a customer who drops out does so right after a purchase, so the
expected drop-out day *is* the expected day of the last purchase (within the cap).

**Anchored to a learned churn model** (:func:`alive_from_churn_probability`, what the risk list uses): BG/NBD's
P(alive at T) counts every one-time buyer as alive, so on its own it can rank a customer the churn model sees as
gone among the safest. Given the learned model's P(no purchase in (T, T + h]) = q, the curve starts instead from the
P(alive at T) that makes BG/NBD's own P(no purchase in h) equal q, and keeps BG/NBD's future drop-out process.

Pure library code: no configuration, environment or clock is read here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import special

from loyalist.errors import ConfigError, ModelError
from loyalist.modeling.btyd.models import BetaGeoModel, _check_rfm, _check_times, _vector
from loyalist.modeling.btyd.summary import customer_days_summary

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "SURVIVAL_HORIZONS_DAYS",
    "SURVIVAL_COLUMNS",
    "p_alive_at",
    "p_purchase_between",
    "expected_time_to_churn",
    "survival_table",
    "share_still_buying",
    "alive_from_churn_probability",
    "fit_bgnbd",
    "active_share_calibration",
    "active_share_figure",
]

#: Horizons (days after the cut-off) of the ``p_active_<h>d`` columns of :func:`survival_table`.
SURVIVAL_HORIZONS_DAYS: tuple[int, ...] = (30, 60, 90, 180)
#: Columns of :func:`survival_table` with the default horizons, in order.
SURVIVAL_COLUMNS: tuple[str, ...] = (
    *(f"p_active_{h}d" for h in SURVIVAL_HORIZONS_DAYS), "expected_days_to_churn",
)
_QUANTILE_NODES = 64  # Gauss-Legendre nodes of the fallback quadrature over the Beta quantiles
_CAP_NODES = 48  # Gauss-Legendre nodes of the restricted-mean integral


def _params(model: BetaGeoModel) -> tuple[float, float, float, float]:
    if not isinstance(model, BetaGeoModel):
        raise ConfigError(f"The 'model' argument must be a fitted BetaGeoModel; got {type(model).__name__}.")
    return model._fitted()


def _beta_quadrature(k: np.ndarray, a: float, bx: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """E_p[(1 + p ratio)^(-k)] for p ~ Beta(a, bx), by Gauss-Legendre over the quantile q of p (robust fallback)."""
    q, w = np.polynomial.legendre.leggauss(_QUANTILE_NODES)
    q, w = (q + 1.0) / 2.0, w / 2.0
    p = special.betaincinv(a, bx[:, None], q[None, :])  # shape (n, nodes)
    return np.exp(-k[:, None] * np.log1p(p * ratio[:, None])) @ w


def _g(beta: np.ndarray, t: np.ndarray, x: np.ndarray, params: tuple[float, float, float, float]) -> np.ndarray:
    """G(beta, t) = E_p[(beta / (beta + p t))^(r + x)] with p ~ Beta(a, b + x); 1 at t = 0."""
    r, _, a, b = params
    k = r + x
    z = t / (beta + t)
    with np.errstate(all="ignore"):
        out = np.exp(a * np.log1p(-z)) * special.hyp2f1(a + b - r, a, a + b + x, z)
    # G lies between its values at p = 1 and p = 0: a result outside (or not finite) means the series failed.
    lower = np.exp(-k * np.log1p(t / beta))
    bad = ~np.isfinite(out) | (out < lower * (1 - 1e-9)) | (out > 1 + 1e-9)
    if bad.any():
        out[bad] = _beta_quadrature(k[bad], a, b + x[bad], t[bad] / beta[bad])
    return np.clip(np.where(t > 0, out, 1.0), lower, 1.0)


def _alive_now(model: BetaGeoModel, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray) -> np.ndarray:
    return special.expit(-model._log_odds_dead(x, t_x, big_t))


def _alive_override(alive_now: object, n: int) -> np.ndarray:
    arr = np.asarray(alive_now, dtype="float64").ravel()
    if arr.size != n or not np.all(np.isfinite(arr) & (arr >= 0) & (arr <= 1)):
        raise ConfigError(f"The 'alive_now' argument must hold one probability in [0, 1] per customer ({n}); got "
                          f"{arr.size} values or values outside [0, 1]; pass alive_from_churn_probability's output.")
    return arr


def alive_from_churn_probability(
    model: BetaGeoModel, churn_probability: object, horizon: float, frequency: object, recency: object, T: object
) -> np.ndarray:
    """P(alive at T) anchored to a learned churn model: the value that makes BG/NBD's P(no purchase in (T, T + h])
    equal the model's churn probability q.

    BG/NBD gives ``q = 1 - pi + pi s`` with ``s = ((alpha+T)/(alpha+T+h))^(r+x)`` the chance an alive customer makes
    no purchase in h (posterior Gamma(r+x, alpha+T) purchase rate); solving, ``pi = (1 - q) / (1 - s)``, clipped to
    [0, 1] (q < s means the learned model expects more buying than BG/NBD does even for a surely alive customer).
    The future drop-out process stays BG/NBD's, so the curve keeps its shape and starts from the learned model's
    view of who is still there. With q = BG/NBD's own ``p_no_purchase(h)`` it gives back ``p_alive``.
    """
    r, alpha, _, _ = _params(model)
    x, _, big_t = _check_rfm(frequency, recency, T)
    h = _check_times("horizon", horizon, x.size)
    q, _ = _vector("churn_probability", churn_probability)
    if q.size != x.size or np.any(q > 1):
        raise ConfigError(f"The 'churn_probability' argument must hold one probability in [0, 1] per customer "
                          f"({x.size}); got {q.size} values or values above 1.")
    silent = np.exp(-(r + x) * np.log1p(h / (alpha + big_t)))
    with np.errstate(divide="ignore", invalid="ignore"):
        pi = np.where(silent < 1.0, (1.0 - q) / (1.0 - silent), 1.0)
    return np.clip(np.nan_to_num(pi, nan=1.0), 0.0, 1.0)


def p_alive_at(
    model: BetaGeoModel, t: object, frequency: object, recency: object, T: object, *, alive_now: object = None
) -> np.ndarray:
    """P(the customer is still alive, i.e. has not dropped out, at T + t), given their calibration summary.

    ``P(alive at T) * G(alpha + T, t)`` (module docstring); equals :meth:`BetaGeoModel.p_alive` at t = 0 and
    decreases in t.

    Parameters
    ----------
    model : BetaGeoModel
        Fitted, in the same time unit as the inputs.
    t : float or array-like of shape (n_customers,)
        Time after T (>= 0), in the model's unit.
    frequency, recency, T : array-like of shape (n_customers,)
    alive_now : array-like of shape (n_customers,), optional
        P(alive at T) to start from instead of BG/NBD's own (e.g. :func:`alive_from_churn_probability`).

    Returns
    -------
    numpy.ndarray of shape (n_customers,), values in [0, 1]
    """
    params = _params(model)
    x, t_x, big_t = _check_rfm(frequency, recency, T)
    t_arr = _check_times("t", t, x.size)
    alpha = params[1]
    alive = _alive_now(model, x, t_x, big_t) if alive_now is None else _alive_override(alive_now, x.size)
    return alive * _g(alpha + big_t, t_arr, x, params)


def p_purchase_between(
    model: BetaGeoModel, start: object, end: object, frequency: object, recency: object, T: object, *,
    alive_now: object = None,
) -> np.ndarray:
    """P(at least one purchase in (T + start, T + end]) given the calibration summary (0 <= start <= end).

    With ``start = 0`` this is ``1 - BetaGeoModel.p_no_purchase(end)``. It is the model's counterpart of "still
    buying at ``start``" when the observed window ends at ``end``. ``alive_now`` as in :func:`p_alive_at`.

    Returns
    -------
    numpy.ndarray of shape (n_customers,), values in [0, 1]
    """
    params = _params(model)
    x, t_x, big_t = _check_rfm(frequency, recency, T)
    s = _check_times("start", start, x.size)
    e = _check_times("end", end, x.size)
    if np.any(e < s):
        raise ConfigError("The 'end' argument of p_purchase_between must not be before 'start'; got end < start; "
                          "pass a window (start, end] with start <= end.")
    r, alpha, _, _ = params
    u = e - s
    beta = alpha + big_t
    silent = np.exp(-(r + x) * np.log1p(u / beta))  # ((alpha+T)/(alpha+T+u))^(r+x)
    inner = _g(beta, s, x, params) - silent * _g(beta + u, s, x, params)
    alive = _alive_now(model, x, t_x, big_t) if alive_now is None else _alive_override(alive_now, x.size)
    return np.clip(alive * inner, 0.0, 1.0)


def expected_time_to_churn(
    model: BetaGeoModel, frequency: object, recency: object, T: object, *, cap: float, alive_now: object = None
) -> np.ndarray:
    """Restricted mean time from T to the drop-out, capped at ``cap``: ``integral_0^cap P(alive at T + t) dt``.

    In the model's time unit; 0 for a customer surely gone, ``cap`` for one surely alive throughout. The expected
    day of the last purchase within the cap is the same quantity (a customer drops out right after a purchase).
    Computed by Gauss-Legendre quadrature (S is smooth and monotone in t). ``alive_now`` as in :func:`p_alive_at`.
    """
    params = _params(model)
    if not (isinstance(cap, (int, float, np.number)) and np.isfinite(cap) and cap > 0):
        raise ConfigError(f"The 'cap' argument of expected_time_to_churn must be a finite number > 0; got {cap!r}.")
    x, t_x, big_t = _check_rfm(frequency, recency, T)
    nodes, weights = np.polynomial.legendre.leggauss(_CAP_NODES)
    nodes, weights = (nodes + 1.0) * cap / 2.0, weights * cap / 2.0
    alive = _alive_now(model, x, t_x, big_t) if alive_now is None else _alive_override(alive_now, x.size)
    beta = params[1] + big_t
    total = np.zeros(x.size)
    for node, weight in zip(nodes, weights, strict=True):
        total += weight * _g(beta, np.full(x.size, node), x, params)
    return np.clip(alive * total, 0.0, float(cap))


def survival_table(
    model: BetaGeoModel,
    frequency: object,
    recency: object,
    T: object,
    *,
    time_unit_days: float = 7.0,
    horizons_days: Sequence[int] = SURVIVAL_HORIZONS_DAYS,
    cap_days: float = 365.0,
    index: pd.Index | None = None,
    churn_probability: object = None,
    churn_horizon_days: float | None = None,
) -> pd.DataFrame:
    """Per customer: ``p_active_<h>d`` for each horizon h (days) and ``expected_days_to_churn`` (days, capped).

    Parameters
    ----------
    model : BetaGeoModel
        Fitted with times in units of ``time_unit_days`` days (7 = weeks, as the snapshot featurizer does).
    frequency, recency, T : array-like of shape (n_customers,)
        Calibration summary in that unit.
    time_unit_days : float, default 7.0
    horizons_days : sequence of int, default (30, 60, 90, 180)
    cap_days : float, default 365
        Cap of the restricted mean (see the module docstring).
    index : pandas.Index, optional
        Index of the returned frame (default a RangeIndex).
    churn_probability, churn_horizon_days : optional
        A learned model's P(no purchase in (T, T + horizon]) per customer and that horizon in days: the curves then
        start from :func:`alive_from_churn_probability` instead of BG/NBD's own P(alive at T).

    Returns
    -------
    pandas.DataFrame with columns ``p_active_<h>d`` ... and ``expected_days_to_churn`` (float64).
    """
    if not (isinstance(time_unit_days, (int, float, np.number)) and np.isfinite(time_unit_days)
            and time_unit_days > 0):
        raise ConfigError(f"The 'time_unit_days' argument must be a positive number of days; got {time_unit_days!r}.")
    bad = [h for h in horizons_days if not (isinstance(h, (int, np.integer)) and h > 0)]
    if bad or not horizons_days:
        raise ConfigError(f"The 'horizons_days' argument must be positive whole numbers of days; got "
                          f"{list(horizons_days)!r}; pass e.g. (30, 60, 90, 180).")
    unit = float(time_unit_days)
    alive = None
    if churn_probability is not None:
        if not (isinstance(churn_horizon_days, (int, float, np.number)) and churn_horizon_days > 0):
            raise ConfigError(f"The 'churn_horizon_days' argument must be a positive number of days with "
                              f"'churn_probability'; got {churn_horizon_days!r}.")
        alive = alive_from_churn_probability(model, churn_probability, float(churn_horizon_days) / unit,
                                             frequency, recency, T)
    out = {f"p_active_{int(h)}d": p_alive_at(model, h / unit, frequency, recency, T, alive_now=alive)
           for h in horizons_days}
    out["expected_days_to_churn"] = expected_time_to_churn(model, frequency, recency, T, cap=cap_days / unit,
                                                           alive_now=alive) * unit
    return pd.DataFrame(out, index=index)


def share_still_buying(
    model: BetaGeoModel,
    frequency: object,
    recency: object,
    T: object,
    *,
    starts: Sequence[float],
    end: float,
) -> np.ndarray:
    """Predicted share of the customers with a purchase in (T + s, T + end], for each s in ``starts``.

    The mean of :func:`p_purchase_between` over the customers: the predicted curve that the calibration against a
    real holdout compares with the observed share (customers with at least one purchase dated after T + s and up
    to T + end). Times in the model's unit.

    Returns
    -------
    numpy.ndarray of shape (len(starts),)
    """
    return np.array([float(np.mean(p_purchase_between(model, s, end, frequency, recency, T))) for s in starts])


def fit_bgnbd(frequency: object, recency: object, T: object, *, penalizer: float = 0.0) -> BetaGeoModel:
    """Fit BG/NBD; when the maximum-likelihood fit drives the Beta parameters to huge values (almost no drop-out)
    retry with the smallest L2 penalty of 1e-6, 1e-4, 1e-2 that keeps ``a + b < 1e5`` (as the snapshot featurizer
    does). Raises :class:`loyalist.errors.ModelError` when no fit is usable."""
    model: BetaGeoModel | None = None
    for pen in dict.fromkeys([float(penalizer), 1e-6, 1e-4, 1e-2]):
        model = BetaGeoModel(penalizer=pen).fit(frequency, recency, T)
        if model.params_["a"] + model.params_["b"] < 1e5:
            return model
    raise ModelError("BG/NBD could not be fitted with finite drop-out parameters even with an L2 penalty of 0.01; "
                     f"got {model.params_ if model else {}}; use a longer calibration period.")


def active_share_calibration(
    orders: pd.DataFrame,
    calibration_end: object,
    observation_end: object,
    *,
    period_days: int = 30,
    time_unit_days: float = 7.0,
    penalizer: float = 0.0,
    customer_col: str = "customer_id",
    date_col: str = "order_date",
    amount_col: str = "amount",
    churn_probability: pd.Series | None = None,
    churn_horizon_days: float | None = None,
) -> tuple[pd.DataFrame, BetaGeoModel]:
    """Predicted vs observed share of customers still buying, by period of a holdout.

    BG/NBD is fitted on purchases dated <= ``calibration_end`` only (customer-days, :func:`customer_days_summary`);
    the population is the customers with a purchase by then. A customer is **still buying at period m**
    (m = 0, 1, ...) when they make at least one purchase dated in ``(calibration_end + m * period_days,
    observation_end]``; period 0 is "buys at all in the holdout" (1 - the churn label). The predicted share is the
    mean of :func:`p_purchase_between` over the same customers and window. Periods start while
    ``m * period_days`` is before the holdout's length.

    With ``churn_probability`` (a learned model's P(no purchase in (calibration_end, + churn_horizon_days]),
    indexed by customer id, scored at ``calibration_end``) the population is the customers it scores that have a
    calibration purchase, and the table also has ``predicted_anchored_share`` / ``error_anchored``: the same
    prediction started from :func:`alive_from_churn_probability` (what the risk list uses).

    Returns
    -------
    (table, model)
        ``table`` has one row per period: ``period``, ``start_day`` (days after the cut-off), ``predicted_share``,
        ``observed_share``, ``customers``, ``error`` (predicted - observed); ``model`` is the fitted BG/NBD.
    """
    if not (isinstance(period_days, (int, np.integer)) and period_days > 0):
        raise ConfigError(f"The 'period_days' argument must be a positive whole number of days; got {period_days!r}.")
    summary = customer_days_summary(orders, calibration_end, observation_end=observation_end,
                                    time_unit_days=time_unit_days, customer_col=customer_col, date_col=date_col,
                                    amount_col=amount_col)
    model = fit_bgnbd(*(summary[c].to_numpy() for c in ("frequency", "recency", "T")), penalizer=penalizer)
    alive = None
    horizon = 0.0
    if churn_probability is not None:
        if not (isinstance(churn_horizon_days, (int, float, np.number)) and churn_horizon_days > 0):
            raise ConfigError(f"The 'churn_horizon_days' argument must be a positive number of days with "
                              f"'churn_probability'; got {churn_horizon_days!r}.")
        horizon = float(churn_horizon_days) / float(time_unit_days)
        scored = churn_probability[~churn_probability.index.duplicated()]
        summary = summary.loc[summary.index.isin(scored.index)]
        if summary.empty:
            raise ConfigError("The 'churn_probability' argument scores none of the customers with a calibration "
                              "purchase; pass probabilities indexed by the same customer ids.")
    x, t_x, big_t = (summary[c].to_numpy() for c in ("frequency", "recency", "T"))
    if churn_probability is not None:
        alive = alive_from_churn_probability(model, scored.reindex(summary.index).to_numpy(dtype="float64"),
                                             horizon, x, t_x, big_t)
    cal_end = pd.Timestamp(calibration_end).normalize()
    obs_end = pd.Timestamp(observation_end).normalize()
    hold_days = int((obs_end - cal_end).days)
    days = orders[date_col].dt.normalize()
    keep = (days > cal_end) & (days <= obs_end) & orders[customer_col].isin(summary.index)
    if "status" in orders.columns:
        keep &= orders["status"].eq("completed").fillna(False).to_numpy(dtype=bool)
    last = days[keep].groupby(orders.loc[keep, customer_col]).max().reindex(summary.index)
    last_day = (last - cal_end).dt.days.to_numpy(dtype="float64")  # NaN: no purchase in the holdout
    rows = []
    unit = float(time_unit_days)
    for m in range(int(np.ceil(hold_days / period_days))):
        start = m * period_days
        observed = np.nan_to_num(last_day, nan=-1.0) > start
        predicted = p_purchase_between(model, start / unit, hold_days / unit, x, t_x, big_t)
        row = {"period": m, "start_day": start, "predicted_share": float(predicted.mean()),
               "observed_share": float(observed.mean()), "customers": int(x.size)}
        if alive is not None:
            row["predicted_anchored_share"] = float(
                p_purchase_between(model, start / unit, hold_days / unit, x, t_x, big_t, alive_now=alive).mean())
        rows.append(row)
    table = pd.DataFrame(rows)
    table["error"] = table["predicted_share"] - table["observed_share"]
    if alive is not None:
        table["error_anchored"] = table["predicted_anchored_share"] - table["observed_share"]
    return table, model


def active_share_figure(tables: Mapping[str, pd.DataFrame], *, title: str = "") -> Figure:
    """Predicted (dashed) vs observed (solid) share of customers still buying per holdout period, one colour per
    entry of ``tables`` (tables from :func:`active_share_calibration`). Drawn on its own Agg canvas (no pyplot);
    English labels only (no CJK font needed: MLflow and benchmark artifacts)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for i, (name, table) in enumerate(tables.items()):
        colour = f"C{i}"
        ax.plot(table["period"], table["observed_share"], color=colour, marker="o", linewidth=2.0,
                label=f"{name}: observed")
        ax.plot(table["period"], table["predicted_share"], color=colour, marker="x", linestyle="--",
                linewidth=1.5, label=f"{name}: BG/NBD predicted")
        if "predicted_anchored_share" in table:
            ax.plot(table["period"], table["predicted_anchored_share"], color=colour, marker="+", linestyle=":",
                    linewidth=1.5, label=f"{name}: BG/NBD anchored to the churn model")
    ax.set_xlabel("holdout month m (still buying = a purchase after day 30 m of the holdout)")
    ax.set_ylabel("share of customers still buying")
    ax.set_ylim(0, None)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return fig
