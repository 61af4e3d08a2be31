"""BG/NBD purchase model and Gamma-Gamma spend model, fitted by maximum likelihood.

References
----------
- Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting your customers" the easy way: an alternative to
  the Pareto/NBD model. Marketing Science 24(2), 275-284. (BG/NBD: likelihood eq. 6, E[X(t)] eq. 7,
  conditional expectation eq. 10, P(alive) from the appendix note.)
- Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). RFM and CLV: using iso-value curves for customer base
  analysis. Journal of Marketing Research 42(4), 415-430; and Fader & Hardie (2013), "The Gamma-Gamma model of
  monetary value" (note). (Gamma-Gamma likelihood and E[M | x, m_x].)

Both estimators follow the scikit-learn contract: ``__init__`` stores parameters, ``fit`` returns ``self``, learned
state ends in ``_``; using an unfitted model raises :class:`loyalist.errors.NotFittedError`.

Inputs are per customer (one row each, see :func:`loyalist.modeling.btyd.summary.customer_days_summary`):
``frequency`` x = repeat purchases in the calibration period, ``recency`` t_x = time of the last purchase after the
first one, ``T`` = time from the first purchase to the end of calibration, ``monetary_value`` = mean value of the
repeat purchases; times in one unit (weeks in the papers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import optimize, special
from sklearn.base import BaseEstimator

from loyalist.errors import ConfigError, ModelError, NotFittedError

__all__ = ["BetaGeoModel", "GammaGammaModel", "MIN_CUSTOMERS"]

#: Fewest customers (sum of weights) a fit accepts.
MIN_CUSTOMERS: int = 10

_BG_PARAMS: tuple[str, ...] = ("r", "alpha", "a", "b")
_GG_PARAMS: tuple[str, ...] = ("p", "q", "gamma")
_LOG_BOUND = 25.0  # optimisation runs on log-parameters within [-25, 25]
_A_NEAR_ONE, _A_STEP = 1e-7, 1e-5  # E[X] has a removable singularity at a = 1
_GRAD_TOL = 1e-6  # gradient (mean log-likelihood per log-parameter) below which a fit counts as converged


# ------------------------------------------------------------------------------------------ validation


def _row_names(mask: np.ndarray, labels: pd.Index | None, limit: int = 5) -> str:
    """Describe the rows flagged by ``mask`` (index labels of a Series, else positions)."""
    where = np.flatnonzero(mask)
    shown = [labels[i] for i in where[:limit]] if labels is not None else [int(i) for i in where[:limit]]
    kind = "index labels" if labels is not None else "positions"
    more = f" and {where.size - limit} more" if where.size > limit else ""
    return f"{where.size} row(s) ({kind} {shown}{more})"


def _vector(name: str, values: object) -> tuple[np.ndarray, pd.Index | None]:
    """A finite, non-negative float64 1-D array from an array-like, with the Series index if any."""
    labels = values.index if isinstance(values, pd.Series) else None
    try:
        arr = np.asarray(values, dtype="float64")
    except (TypeError, ValueError) as exc:
        raise ModelError(f"The {name!r} argument must be numeric; got values that are not numbers; "
                         "convert it to float first.") from exc
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ModelError(f"The {name!r} argument must be one-dimensional (one value per customer); "
                         f"got shape {arr.shape}; pass a column or a 1-D array.")
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        raise ModelError(f"The {name!r} argument must be finite and >= 0; got negative, NaN or infinite values "
                         f"in {_row_names(bad, labels)}; fix or drop those customers.")
    return arr, labels


def _same_length(**arrays: np.ndarray) -> int:
    lengths = {name: arr.size for name, arr in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ModelError(f"The arguments {', '.join(repr(n) for n in lengths)} must have one value per customer; "
                         f"got lengths {lengths}; pass columns of the same table.")
    return next(iter(lengths.values()))


def _check_rfm(frequency: object, recency: object, T: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate (frequency, recency, T) as BG/NBD inputs; returns float64 arrays."""
    x, labels = _vector("frequency", frequency)
    t_x, _ = _vector("recency", recency)
    big_t, _ = _vector("T", T)
    _same_length(frequency=x, recency=t_x, T=big_t)
    checks = (
        (x != np.round(x), "'frequency' must be a whole number of repeat purchases", "got fractions"),
        (t_x > big_t, "'recency' must not exceed 'T'", "got recency > T"),
        ((x > 0) & (t_x == 0), "'recency' must be > 0 when 'frequency' > 0 (a repeat purchase happens after the "
         "first one)", "got recency 0"),
        ((x == 0) & (t_x > 0), "'recency' must be 0 when 'frequency' is 0", "got recency > 0"),
    )
    for mask, expected, got in checks:
        if mask.any():
            raise ModelError(f"{expected}; {got} in {_row_names(mask, labels)}; pass frequency, recency and T "
                             "from one customer-days summary (customer_days_summary).")
    return x, t_x, big_t


def _check_times(name: str, t: object, n: int) -> np.ndarray:
    """A prediction horizon: a scalar or one value per customer, finite and >= 0."""
    arr, _ = _vector(name, t)
    if arr.size not in (1, n):
        raise ModelError(f"The {name!r} argument must be a scalar or one value per customer ({n}); "
                         f"got {arr.size} values; pass one horizon.")
    return arr if arr.size == n else np.full(n, arr[0])


def _check_penalizer(penalizer: float) -> float:
    if not (isinstance(penalizer, (int, float, np.number)) and not isinstance(penalizer, bool)
            and np.isfinite(penalizer) and penalizer >= 0):
        raise ConfigError(f"The 'penalizer' parameter must be a finite number >= 0; got {penalizer!r}; "
                          "use 0 for plain maximum likelihood.")
    return float(penalizer)


def _check_initial(initial: object, names: tuple[str, ...], default: np.ndarray) -> np.ndarray:
    """Starting values (natural scale) from None, a mapping or a sequence, all finite and > 0."""
    if initial is None:
        return default
    if isinstance(initial, Mapping):
        missing = [n for n in names if n not in initial]
        if missing:
            raise ConfigError(f"The 'initial_params' parameter must give {list(names)}; got keys "
                              f"{sorted(initial)}; add {missing}.")
        raw: object = [initial[n] for n in names]
    elif isinstance(initial, Sequence | np.ndarray) and not isinstance(initial, str):
        raw = initial
    else:
        raise ConfigError(f"The 'initial_params' parameter must be a mapping or a sequence of {list(names)}; "
                          f"got {type(initial).__name__}.")
    try:
        values = np.asarray(raw, dtype="float64").ravel()
    except (TypeError, ValueError):
        values = np.array([np.nan])
    if values.size != len(names) or not np.all(np.isfinite(values) & (values > 0)):
        raise ConfigError(f"The 'initial_params' parameter must hold {len(names)} positive numbers {list(names)}; "
                          f"got {initial!r}.")
    return values


def _check_weights(weights: object, n: int) -> np.ndarray:
    if weights is None:
        return np.ones(n)
    w, _ = _vector("weights", weights)
    _same_length(frequency=np.empty(n), weights=w)
    return w


def _minimize(fun, x0: np.ndarray, max_iter: int, name: str) -> optimize.OptimizeResult:
    """L-BFGS-B on log-parameters with an analytic gradient."""
    if not (isinstance(max_iter, (int, np.integer)) and max_iter >= 1):
        raise ConfigError(f"The 'max_iter' parameter of {name} must be a positive integer; got {max_iter!r}.")
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * x0.size
    return optimize.minimize(
        fun, np.clip(np.log(x0), -_LOG_BOUND, _LOG_BOUND), jac=True, method="L-BFGS-B", bounds=bounds,
        options={"maxiter": int(max_iter), "ftol": 1e-14, "gtol": 1e-9, "maxcor": 20},
    )


def _converged(result: optimize.OptimizeResult) -> bool:
    """Optimiser success, or a line search stopped at machine precision with a vanishing gradient."""
    return bool(result.success or np.max(np.abs(result.jac)) < _GRAD_TOL)


# ------------------------------------------------------------------------------------------- BG/NBD


def _dot(u: np.ndarray, v: np.ndarray) -> float:
    """Inner product of two vectors without BLAS: numpy's ``dot`` hands vectors above ~10,000 elements to
    OpenBLAS threads, whose wake-up cost 6-8 ms per call on a shared 2-core machine (0.003 ms here), which made
    the BG/NBD likelihood 1,000x slower than its arithmetic."""
    return float(np.einsum("i,i->", u, v))


def _bg_negloglik(
    log_params: np.ndarray,
    x_unique: np.ndarray,
    x_index: np.ndarray,
    t_x: np.ndarray,
    big_t: np.ndarray,
    w: np.ndarray,
    penalizer: float,
    fixed: tuple[np.ndarray, np.ndarray, float] | None = None,
) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood of BG/NBD (FHL 2005 eq. 6) and its gradient w.r.t. log-parameters.

    Terms that depend on x only are computed once per distinct x and gathered; per-row work is a few logs.
    ``LL_i = A1 + logsumexp(A2, A3)`` with ``A1 = lnG(r+x) - lnG(r) + r ln(alpha)``,
    ``A2 = lnB(a, b+x) - lnB(a, b) - (r+x) ln(alpha+T)`` and, for x > 0,
    ``A3 = lnB(a+1, b+x-1) - lnB(a, b) - (r+x) ln(alpha+t_x)``.
    ``fixed``: ``(x per row, weight per distinct x, total weight)`` (:func:`_bg_fixed`), which do not depend on the
    parameters, computed once per fit instead of at every step; the values are the same either way.
    """
    r, alpha, a, b = np.exp(log_params)
    x, w_u, total_w = fixed if fixed is not None else _bg_fixed(x_unique, x_index, w)
    xu = x_unique
    pos_u = xu > 0
    bx1 = np.where(pos_u, b + xu - 1.0, 1.0)  # b + x - 1, a dummy 1 where x = 0
    lnb_ab = special.betaln(a, b)
    a1_u = special.gammaln(r + xu) - special.gammaln(r) + r * np.log(alpha)
    c2_u = special.betaln(a, b + xu) - lnb_ab
    c3_u = np.where(pos_u, special.betaln(a + 1.0, bx1) - lnb_ab, -np.inf)

    rx = r + x
    log_at = np.log(alpha + big_t)
    log_atx = np.log(alpha + t_x)
    a2 = c2_u[x_index] - rx * log_at
    a3 = c3_u[x_index] - rx * log_atx  # -inf where x = 0
    m = np.maximum(a2, a3)
    e2 = np.exp(a2 - m)
    e3 = np.exp(a3 - m)
    s = e2 + e3
    ll = a1_u[x_index] + m + np.log(s)
    value = -_dot(w, ll) / total_w

    s2 = w * (e2 / s)  # weighted posterior shares of the two terms
    s3 = w * (e3 / s)
    n_u = xu.size
    s2_u = np.bincount(x_index, weights=s2, minlength=n_u)
    s3_u = np.bincount(x_index, weights=s3, minlength=n_u)

    psi_r, psi_ab = special.digamma(r), special.digamma(a + b)
    psi_abx = special.digamma(a + b + xu)
    d_r = (_dot(w_u, special.digamma(r + xu) - psi_r + np.log(alpha))
           - _dot(s2, log_at) - _dot(s3, log_atx))
    d_alpha = total_w * r / alpha - _dot(s2, rx / (alpha + big_t)) - _dot(s3, rx / (alpha + t_x))
    da2 = psi_ab - psi_abx
    db2 = special.digamma(b + xu) - psi_abx - special.digamma(b) + psi_ab
    da3 = special.digamma(a + 1.0) - psi_abx - special.digamma(a) + psi_ab
    db3 = np.where(pos_u, special.digamma(bx1) - psi_abx - special.digamma(b) + psi_ab, 0.0)
    d_a = _dot(s2_u, da2) + _dot(s3_u, np.where(pos_u, da3, 0.0))
    d_b = _dot(s2_u, db2) + _dot(s3_u, db3)
    params = np.array([r, alpha, a, b])
    grad = -np.array([d_r, d_alpha, d_a, d_b]) * params / total_w
    value += penalizer * np.sum(params**2)
    grad += penalizer * 2.0 * params**2
    return float(value), grad


def _bg_fixed(x_unique: np.ndarray, x_index: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The parameter-free terms of :func:`_bg_negloglik`: each row's x, the weight of each distinct x, the total
    weight."""
    return x_unique[x_index], np.bincount(x_index, weights=w, minlength=x_unique.size), w.sum()


class BetaGeoModel(BaseEstimator):
    """BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005), fitted by maximum likelihood.

    While alive, a customer buys at Poisson rate lambda ~ Gamma(r, alpha); after each repeat purchase they drop
    out with probability p ~ Beta(a, b).

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty added to the mean negative log-likelihood: ``penalizer * (r^2 + alpha^2 + a^2 + b^2)``
        (as in ``lifetimes``); 0 is plain maximum likelihood.
    initial_params : mapping or sequence, optional
        Starting values for (r, alpha, a, b); default r = a = b = 1 and alpha = mean T / (mean frequency + 1).
    max_iter : int, default 2000
        Maximum L-BFGS-B iterations.

    Attributes
    ----------
    params_ : dict[str, float]
        Fitted ``r``, ``alpha`` (in the time unit of the inputs), ``a``, ``b``.
    log_likelihood_ : float
        Total (weighted) log-likelihood at ``params_``, without the penalty.
    n_customers_ : float
        Customers in the fit (the sum of the weights).
    converged_ : bool
        Whether the optimiser converged (or stopped at machine precision with a vanishing gradient).
    """

    def __init__(self, penalizer: float = 0.0, initial_params: object = None, max_iter: int = 2000) -> None:
        self.penalizer = penalizer
        self.initial_params = initial_params
        self.max_iter = max_iter

    # ----------------------------------------------------------------------------------------- fit

    def fit(self, frequency: object, recency: object, T: object, weights: object = None) -> BetaGeoModel:
        """Fit r, alpha, a, b by maximum likelihood.

        Parameters
        ----------
        frequency, recency, T : array-like of shape (n_customers,)
            Repeat purchases x (whole numbers), time of the last purchase t_x and age T, in one time unit;
            ``0 <= recency <= T``, ``recency > 0`` exactly when ``frequency > 0``.
        weights : array-like of shape (n_customers,), optional
            Number of customers each row stands for (for pre-aggregated rows); default 1 each.

        Returns
        -------
        BetaGeoModel
            ``self``, with ``params_``, ``log_likelihood_``, ``n_customers_``, ``converged_``.
        """
        penalizer = _check_penalizer(self.penalizer)
        x, t_x, big_t = _check_rfm(frequency, recency, T)
        w = _check_weights(weights, x.size)
        if w.sum() < MIN_CUSTOMERS:
            raise ModelError(f"BetaGeoModel needs at least {MIN_CUSTOMERS} customers to fit; got {w.sum():g}; "
                             "use a longer history or a larger customer base.")
        if not np.any((x > 0) & (w > 0)):
            raise ModelError("BetaGeoModel needs repeat buyers (frequency > 0) to estimate the drop-out process "
                             "(a, b); got none; use a longer calibration period.")
        # Compress identical (x, t_x, T) rows: day-resolution data repeats them heavily.
        rows = pd.DataFrame({"x": x, "t_x": t_x, "T": big_t, "w": w})
        rows = rows.loc[rows["w"] > 0].groupby(["x", "t_x", "T"], sort=False)["w"].sum().reset_index()
        x_unique, x_index = np.unique(rows["x"].to_numpy(), return_inverse=True)
        args = (x_unique, x_index, rows["t_x"].to_numpy(), rows["T"].to_numpy(), rows["w"].to_numpy(), penalizer)
        default = np.array([1.0, max(np.average(big_t, weights=w) / (np.average(x, weights=w) + 1.0), 1e-3),
                            1.0, 1.0])
        x0 = _check_initial(self.initial_params, _BG_PARAMS, default)
        fixed = _bg_fixed(x_unique, x_index, args[4])
        result = _minimize(lambda p: _bg_negloglik(p, *args, fixed), x0, self.max_iter, "BetaGeoModel")
        if not np.all(np.isfinite(result.x)):
            raise ModelError("BetaGeoModel's likelihood could not be maximised (non-finite parameters); "
                             "check the inputs or pass 'initial_params'.")
        fitted = np.exp(result.x)
        self.params_ = dict(zip(_BG_PARAMS, (float(v) for v in fitted), strict=True))
        unpenalised, _ = _bg_negloglik(result.x, *args[:-1], 0.0, fixed)
        self.log_likelihood_ = float(-unpenalised * rows["w"].sum())
        self.n_customers_ = float(w.sum())
        self.converged_ = _converged(result)
        return self

    def _fitted(self) -> tuple[float, float, float, float]:
        if not hasattr(self, "params_"):
            raise NotFittedError("This BetaGeoModel is not fitted yet; call 'fit' with frequency, recency and T "
                                 "before predicting.")
        p = self.params_
        return p["r"], p["alpha"], p["a"], p["b"]

    # ----------------------------------------------------------------------------------- predictions

    def _log_odds_dead(self, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray) -> np.ndarray:
        """log(P(dead)/P(alive)) = log(a/(b+x-1)) + (r+x) log((alpha+T)/(alpha+t_x)) for x > 0; -inf for x = 0."""
        r, alpha, a, b = self._fitted()
        pos = x > 0
        with np.errstate(divide="ignore"):
            odds = (np.log(a) - np.log(np.where(pos, b + x - 1.0, 1.0))
                    + (r + x) * (np.log(alpha + big_t) - np.log(alpha + t_x)))
        return np.where(pos, odds, -np.inf)

    def p_alive(self, frequency: object, recency: object, T: object) -> np.ndarray:
        """Probability that each customer is still alive at T.

        ``P(alive | x, t_x, T) = 1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x))``;
        exactly 1 for customers without repeat purchases (BG/NBD drop-out happens only after a repeat purchase).

        Returns
        -------
        numpy.ndarray of shape (n_customers,)
        """
        x, t_x, big_t = _check_rfm(frequency, recency, T)
        return special.expit(-self._log_odds_dead(x, t_x, big_t))

    def _conditional(self, t: np.ndarray, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray) -> np.ndarray:
        r, alpha, a, b = self._fitted()
        alive = special.expit(-self._log_odds_dead(x, t_x, big_t))
        z = t / (alpha + big_t + t)

        def scaled(a_: float) -> np.ndarray:
            # (a+b+x-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)], with the product
            # rewritten by Euler's transformation as (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z) so that the
            # hypergeometric arguments do not grow with x.
            c = a_ + b + x - 1.0
            term = np.exp((a_ - 1.0) * np.log1p(-z)) * special.hyp2f1(a_ + b - 1.0 - r, a_ - 1.0, c, z)
            return c / (a_ - 1.0) * (1.0 - term)

        if abs(a - 1.0) < _A_NEAR_ONE:  # a removable singularity: average both sides (error O(step^2))
            return alive * 0.5 * (scaled(1.0 - _A_STEP) + scaled(1.0 + _A_STEP))
        return alive * scaled(a)

    def conditional_expected_purchases(self, t: object, frequency: object, recency: object, T: object) -> np.ndarray:
        """Expected purchases in (T, T + t] of each customer given their history (FHL 2005 eq. 10).

        Parameters
        ----------
        t : float or array-like of shape (n_customers,)
            Horizon in the time unit of the fit, >= 0.
        frequency, recency, T : array-like of shape (n_customers,)
            The customers' calibration summary.

        Returns
        -------
        numpy.ndarray of shape (n_customers,)
        """
        x, t_x, big_t = _check_rfm(frequency, recency, T)
        return self._conditional(_check_times("t", t, x.size), x, t_x, big_t)

    def predict(self, t: object, frequency: object, recency: object, T: object) -> np.ndarray:
        """Same as :meth:`conditional_expected_purchases`."""
        return self.conditional_expected_purchases(t, frequency, recency, T)

    def p_no_purchase(self, t: object, frequency: object, recency: object, T: object) -> np.ndarray:
        """Probability that each customer makes no purchase in (T, T + t].

        ``1 - P(alive) + P(alive) ((alpha + T) / (alpha + T + t))^(r + x)``: a dead customer never buys; an alive
        one, whose rate has the posterior Gamma(r + x, alpha + T), makes no purchase with that probability. Equals
        1 at t = 0, decreases in t, and tends to 1 - P(alive) as t grows. This is the churn score to compare with
        churn models (unlike 1 - P(alive), it does not rank every one-time buyer as safe).

        Returns
        -------
        numpy.ndarray of shape (n_customers,), values in [0, 1]
        """
        x, t_x, big_t = _check_rfm(frequency, recency, T)
        t_arr = _check_times("t", t, x.size)
        r, alpha, _, _ = self._fitted()
        alive = special.expit(-self._log_odds_dead(x, t_x, big_t))
        silent = np.exp((r + x) * (np.log(alpha + big_t) - np.log(alpha + big_t + t_arr)))
        return np.clip(1.0 - alive + alive * silent, 0.0, 1.0)

    def expected_purchases_new_customer(self, t: object) -> np.ndarray:
        """Expected repeat purchases E[X(t)] in (0, t] of a customer just acquired at time 0 (FHL 2005 eq. 7).

        ``E[X(t)] = (a + b - 1)/(a - 1) [1 - (alpha/(alpha + t))^r 2F1(r, b; a + b - 1; t/(alpha + t))]``.

        Parameters
        ----------
        t : float or array-like
            Horizons, >= 0.

        Returns
        -------
        numpy.ndarray with the shape of ``t`` (1-D; one value for a scalar)
        """
        self._fitted()
        t_arr, _ = _vector("t", t)
        zeros = np.zeros_like(t_arr)
        return self._conditional(t_arr, zeros, zeros, zeros)


# -------------------------------------------------------------------------------------- Gamma-Gamma


def _gg_negloglik(
    log_params: np.ndarray, x: np.ndarray, m: np.ndarray, penalizer: float,
    fixed: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood of the Gamma-Gamma model and its gradient w.r.t. log-parameters.

    ``ln f(m | x) = lnG(px+q) - lnG(px) - lnG(q) + q ln(gamma) + (px-1) ln(m) + px ln(x) - (px+q) ln(gamma + m x)``.
    ``fixed``: ``(ln m, ln x, m x)``, the terms that do not depend on the parameters (:func:`_gg_fixed`), computed
    once per fit instead of at every step; the values are the same either way.
    """
    p, q, gamma = np.exp(log_params)
    log_m, log_x, mx = fixed if fixed is not None else _gg_fixed(x, m)
    px = p * x
    pxq = px + q
    gmx = gamma + mx
    log_gmx = np.log(gmx)
    psi_pxq = special.digamma(pxq)
    ll = (special.gammaln(pxq) - special.gammaln(px) - special.gammaln(q) + q * np.log(gamma)
          + (px - 1.0) * log_m + px * log_x - pxq * log_gmx)
    d_p = np.sum(x * (psi_pxq - special.digamma(px) + log_m + log_x - log_gmx))
    d_q = np.sum(psi_pxq - special.digamma(q) + np.log(gamma) - log_gmx)
    d_gamma = np.sum(q / gamma - pxq / gmx)
    params = np.array([p, q, gamma])
    n = x.size
    value = -ll.sum() / n + penalizer * np.sum(params**2)
    grad = -np.array([d_p, d_q, d_gamma]) * params / n + penalizer * 2.0 * params**2
    return float(value), grad


def _gg_fixed(x: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The parameter-free terms of :func:`_gg_negloglik`: ``ln m``, ``ln x`` and ``m x``."""
    return np.log(m), np.log(x), m * x


class GammaGammaModel(BaseEstimator):
    """Gamma-Gamma model of the mean spend per purchase (Fader, Hardie & Lee 2005), fitted by maximum likelihood.

    A customer's purchase values are Gamma(p, nu) with nu ~ Gamma(q, gamma) across customers; so the mean spend
    of a customer is p / nu and the population mean is p gamma / (q - 1). The model assumes spend is independent
    of purchase frequency: ``frequency_monetary_corr_`` reports that correlation among the repeat buyers.

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty ``penalizer * (p^2 + q^2 + gamma^2)`` added to the mean negative log-likelihood.
    initial_params : mapping or sequence, optional
        Starting values for (p, q, gamma); default p = 1, q = 2, gamma = mean spend of the repeat buyers.
    max_iter : int, default 2000
        Maximum L-BFGS-B iterations.

    Attributes
    ----------
    params_ : dict[str, float]
        Fitted ``p``, ``q``, ``gamma`` (gamma in money units).
    log_likelihood_ : float
    n_customers_ : int
        Repeat buyers used by the fit (rows with frequency > 0).
    converged_ : bool
    frequency_monetary_corr_ : float
        Pearson correlation of frequency and monetary value among the repeat buyers (near 0 supports the model).
    """

    def __init__(self, penalizer: float = 0.0, initial_params: object = None, max_iter: int = 2000) -> None:
        self.penalizer = penalizer
        self.initial_params = initial_params
        self.max_iter = max_iter

    def fit(self, frequency: object, monetary_value: object) -> GammaGammaModel:
        """Fit p, q, gamma on the repeat buyers (rows with frequency > 0; the others are ignored).

        Parameters
        ----------
        frequency : array-like of shape (n_customers,)
            Repeat purchases x.
        monetary_value : array-like of shape (n_customers,)
            Mean value of the repeat purchases; must be > 0 where frequency > 0.

        Returns
        -------
        GammaGammaModel
            ``self``, with ``params_``, ``log_likelihood_``, ``n_customers_``, ``converged_``.
        """
        penalizer = _check_penalizer(self.penalizer)
        x_all, labels = _vector("frequency", frequency)
        m_all, _ = _vector("monetary_value", monetary_value)
        _same_length(frequency=x_all, monetary_value=m_all)
        repeat = x_all > 0
        if not repeat.any():
            raise ModelError("GammaGammaModel needs repeat buyers (frequency > 0) to fit; got none; "
                             "use a longer calibration period.")
        zero_spend = repeat & (m_all <= 0)
        if zero_spend.any():
            raise ModelError(f"'monetary_value' must be > 0 for repeat buyers (frequency > 0); got 0 in "
                             f"{_row_names(zero_spend, labels)}; drop zero-value purchases or those customers.")
        x, m = x_all[repeat], m_all[repeat]
        if x.size < MIN_CUSTOMERS:
            raise ModelError(f"GammaGammaModel needs at least {MIN_CUSTOMERS} repeat buyers to fit; got {x.size}; "
                             "use a longer history or a larger customer base.")
        x0 = _check_initial(self.initial_params, _GG_PARAMS, np.array([1.0, 2.0, float(m.mean())]))
        fixed = _gg_fixed(x, m)
        result = _minimize(lambda p: _gg_negloglik(p, x, m, penalizer, fixed), x0, self.max_iter, "GammaGammaModel")
        if not np.all(np.isfinite(result.x)):
            raise ModelError("GammaGammaModel's likelihood could not be maximised (non-finite parameters); "
                             "check the inputs or pass 'initial_params'.")
        self.params_ = dict(zip(_GG_PARAMS, (float(v) for v in np.exp(result.x)), strict=True))
        unpenalised, _ = _gg_negloglik(result.x, x, m, 0.0, fixed)
        self.log_likelihood_ = float(-unpenalised * x.size)
        self.n_customers_ = int(x.size)
        self.converged_ = _converged(result)
        self.frequency_monetary_corr_ = (
            float(np.corrcoef(x, m)[0, 1]) if x.size > 1 and x.std() > 0 and m.std() > 0 else float("nan")
        )
        return self

    def _fitted(self) -> tuple[float, float, float]:
        if not hasattr(self, "params_"):
            raise NotFittedError("This GammaGammaModel is not fitted yet; call 'fit' with frequency and "
                                 "monetary_value before predicting.")
        return self.params_["p"], self.params_["q"], self.params_["gamma"]

    def expected_average_value(self, frequency: object, monetary_value: object) -> np.ndarray:
        """Expected mean spend per future purchase of each customer, E[M | x, m_x].

        ``p (gamma + x m_x) / (p x + q - 1)``: a weighted mean of the population mean ``p gamma / (q - 1)`` and
        the customer's own mean ``m_x``; customers with x = 0 get the population mean.

        Returns
        -------
        numpy.ndarray of shape (n_customers,)
        """
        p, q, gamma = self._fitted()
        x, labels = _vector("frequency", frequency)
        m, _ = _vector("monetary_value", monetary_value)
        _same_length(frequency=x, monetary_value=m)
        denom = p * x + q - 1.0
        if np.any(denom <= 0):
            raise ModelError(f"The expected spend is infinite where p x + q <= 1 (fitted q = {q:.3g}); got such "
                             f"{_row_names(denom <= 0, labels)}; predict for repeat buyers only or refit.")
        return p * (gamma + x * m) / denom

    def clv(
        self,
        bgnbd: BetaGeoModel,
        frequency: object,
        recency: object,
        T: object,
        monetary_value: object,
        *,
        horizon: float,
        discount_rate: float = 0.0,
        step: float = 1.0,
    ) -> np.ndarray:
        """Expected revenue of each customer over (T, T + horizon].

        The horizon is cut into steps of ``step`` time units (the last one may be shorter); the purchases
        expected in step k (from ``bgnbd``'s conditional expectation) times ``expected_average_value`` are
        discounted by ``(1 + discount_rate) ** t_k`` with t_k the end of the step. With ``discount_rate=0``
        this is exactly ``bgnbd.conditional_expected_purchases(horizon) * expected_average_value``.

        Parameters
        ----------
        bgnbd : BetaGeoModel
            A fitted purchase model in the same time unit.
        frequency, recency, T, monetary_value : array-like of shape (n_customers,)
        horizon : float
            Length of the future window in time units (> 0).
        discount_rate : float, default 0.0
            Discount rate per time unit (>= 0); e.g. a 10 % yearly rate in weeks is ``1.10 ** (1 / 52) - 1``.
        step : float, default 1.0
            Step of the discounting grid in time units (> 0).

        Returns
        -------
        numpy.ndarray of shape (n_customers,)
        """
        for name, arg, ok in (
            ("horizon", horizon, lambda v: v > 0),
            ("discount_rate", discount_rate, lambda v: v >= 0),
            ("step", step, lambda v: v > 0),
        ):
            if not (isinstance(arg, (int, float, np.number)) and np.isfinite(arg) and ok(arg)):
                bound = ">= 0" if name == "discount_rate" else "> 0"
                raise ConfigError(f"The {name!r} argument of clv must be a finite number {bound}; got {arg!r}.")
        if not isinstance(bgnbd, BetaGeoModel):
            raise ModelError(f"The 'bgnbd' argument of clv must be a fitted BetaGeoModel; got "
                             f"{type(bgnbd).__name__}.")
        bgnbd._fitted()
        value = self.expected_average_value(frequency, monetary_value)
        x, t_x, big_t = _check_rfm(frequency, recency, T)
        if discount_rate == 0:
            return bgnbd._conditional(np.full(x.size, float(horizon)), x, t_x, big_t) * value
        n_steps = int(np.ceil(horizon / step - 1e-12))
        ends = np.minimum(np.arange(1, n_steps + 1) * float(step), float(horizon))
        total = np.zeros(x.size)
        previous = np.zeros(x.size)
        for t_k in ends:
            current = bgnbd._conditional(np.full(x.size, t_k), x, t_x, big_t)
            total += (current - previous) / (1.0 + discount_rate) ** t_k
            previous = current
        return total * value
