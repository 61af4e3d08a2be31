"""A synthetic company with known latent truth: the demo's data and the test oracle of the models.

Two modes:

- ``company``: a B2B/B2C supplier whose customers (companies in five industries and three sizes, plus individual
  consumers) buy, complain, open tickets and answer NPS surveys. Purchases are Poisson with a Gamma-distributed
  rate; order values are lognormal around a Gamma-distributed customer mean with a customer-specific coefficient
  of variation. The decision to leave is a continuous-time hazard, ``base_hazard * exp(sum(driver * x))``,
  simulated month by month: the tickets and survey answers of a month are drawn first, and a complaint, a slow
  ticket resolution or a detractor answer raises the hazard from the next month on. The decision is followed by a
  wind-down of 45-180 days (fewer, smaller orders from a narrower range, more complaints, lower NPS) that ends in
  the dropout: service experience comes months before the last order, which is what an early warning must see
  among customers who still look active. So the seed indicators carry real, causal signal and events after a date
  never change what happened before it.
- ``btyd``: the pure BG/NBD purchase process (Fader, Hardie & Lee 2005) in continuous time, with Gamma-Gamma
  order values, all customers acquired in the first 12 weeks (like CDNOW); no tickets or surveys.

Everything is drawn from ``np.random.default_rng(seed)``; the dirty records come from a separate stream, so the
clean rows of ``dirty=True`` are the rows of ``dirty=False``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from loyalist.data.synthetic_io import (
    DIRTY_KINDS,
    DIRTY_LOG_COLUMNS,
    IdScheme,
    digit_strings,
    make_dirty,
    sequence_strings,
    take_strings,
    to_strings,
    write_raw,
)
from loyalist.errors import ConfigError

__all__ = [
    "SyntheticData",
    "generate",
    "write_raw",
    "DEFAULT_DRIVERS",
    "DEFAULT_BTYD_PARAMS",
    "INDUSTRIES",
    "SIZES",
    "REGIONS",
    "CATEGORIES",
    "CHANNELS",
    "TICKET_KINDS",
    "TICKET_STAGES",
    "SEVERITIES",
    "SLOW_HOURS",
]

#: Log-hazard coefficients of the dropout drivers (see :func:`generate` for each covariate).
DEFAULT_DRIVERS: dict[str, float] = {
    "complaints": 0.6, "slow_service": 0.5, "detractor": 0.7, "low_frequency": 0.3, "unstable_value": 0.2,
}
#: BG/NBD (r, alpha in weeks, a, b) and Gamma-Gamma (p, q, gamma) parameters of ``mode="btyd"``.
DEFAULT_BTYD_PARAMS: dict[str, float] = {
    "r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5, "p": 6.25, "q": 3.74, "gamma": 15.44, "acquisition_weeks": 12.0,
}

#: industry code -> (share, orders/yr, mean order value CNY, order-value cv, margin rate, {category: weight})
INDUSTRIES: dict[str, tuple] = {
    "manufacturing": (0.30, 13.0, 60000.0, 0.20, 0.22, {"equipment": 0.45, "spare_parts": 0.45, "consumables": 0.1}),
    "it": (0.20, 18.0, 25000.0, 0.35, 0.38, {"software": 0.6, "services": 0.3, "equipment": 0.1}),
    "retail": (0.20, 30.0, 8000.0, 0.55, 0.18, {"consumables": 0.8, "equipment": 0.1, "services": 0.1}),
    "healthcare": (0.15, 18.0, 30000.0, 0.35, 0.32, {"consumables": 0.5, "equipment": 0.4, "services": 0.1}),
    "logistics": (0.15, 24.0, 12000.0, 0.30, 0.15, {"services": 0.5, "spare_parts": 0.4, "equipment": 0.1}),
}
#: size code -> (share, purchase-rate factor, order-value factor, (min, max) survey respondents, tickets/yr)
SIZES: dict[str, tuple] = {
    "small": (0.50, 0.85, 0.4, (1, 2), 1.0), "medium": (0.35, 1.0, 1.0, (1, 3), 2.0),
    "large": (0.15, 1.3, 3.0, (2, 4), 4.0),
}
#: region code -> (share, cities)
REGIONS: dict[str, tuple] = {
    "east": (0.35, ("上海", "杭州", "苏州", "南京", "宁波")), "south": (0.25, ("深圳", "广州", "东莞", "厦门", "佛山")),
    "north": (0.25, ("北京", "天津", "青岛", "济南", "石家庄")), "west": (0.15, ("成都", "重庆", "西安", "昆明", "贵阳")),
}
#: category -> typical unit price (CNY)
CATEGORIES: dict[str, float] = {
    "equipment": 20000.0, "spare_parts": 800.0, "consumables": 150.0, "software": 5000.0, "services": 3000.0,
}
CHANNELS: tuple[str, ...] = ("sales_rep", "online", "distributor", "phone", "app", "store")
TICKET_KINDS: tuple[str, ...] = ("complaint", "inquiry", "request")
TICKET_STAGES: tuple[str, ...] = ("delivery", "after_sales", "billing", "installation")
SEVERITIES: tuple[str, ...] = ("low", "medium", "high")
#: A ticket resolved after more than this many hours counts as slow service (raises the dropout hazard).
SLOW_HOURS = 72.0

_B2C = {"share": 0.20, "rate": 18.0, "amount": 450.0, "cv": 0.65, "margin": 0.30, "respondents": 0.5}
_EXISTING_SHARE, _EXISTING_YEARS = 0.30, 5.0
_BASE_HAZARD = 0.03  # mean base hazard of the decision to leave, per year
# Wind-down between the decision to leave and the dropout (the last possible order): its length is uniform in
# _WIND_DOWN_DAYS; over it the order rate falls linearly to (1 - _WIND_DOWN_THIN) of the usual rate and the order
# value to (1 - _WIND_DOWN_SPEND) of it, orders come from the main category only with probability
# _WIND_DOWN_NARROW (else the usual mix), complaints come _WIND_DOWN_COMPLAINTS times as often and survey answers
# are _WIND_DOWN_MOOD points lower.
_WIND_DOWN_DAYS = (45.0, 180.0)
_WIND_DOWN_THIN, _WIND_DOWN_SPEND, _WIND_DOWN_NARROW = 0.6, 0.4, 0.9
_WIND_DOWN_COMPLAINTS, _WIND_DOWN_MOOD = 2.0, 2.0
# Gamma shape of a company's gaps between orders (1 would be Poisson; consumers keep 1): B2B customers reorder on a
# rhythm, so an active company that skips a whole quarter is rarely chance.
_B2B_ORDER_SHAPE = 3.0
_ANSWERS_PER_YEAR = 2.0  # per B2B respondent
_PER_CATEGORY = 40  # products per category
_YEAR = 365.25

_BRAND1 = ("宏", "华", "鑫", "瑞", "博", "恒", "天", "金", "永", "嘉", "康", "中", "顺", "精", "盛", "东")
_BRAND1_PY = ("hong", "hua", "xin", "rui", "bo", "heng", "tian", "jin", "yong", "jia", "kang", "zhong", "shun",
              "jing", "sheng", "dong")
_BRAND2 = ("达", "盛", "源", "丰", "远", "通", "成", "泰", "新", "禾", "利", "信", "发", "工", "德", "辉")
_BRAND2_PY = ("da", "sheng", "yuan", "feng", "yuan", "tong", "cheng", "tai", "xin", "he", "li", "xin", "fa", "gong",
              "de", "hui")
_TRADE = {
    "manufacturing": ("制造", "机械", "重工", "精密"), "it": ("科技", "信息技术", "软件", "网络科技"),
    "retail": ("商贸", "百货", "零售", "贸易"), "healthcare": ("医疗器械", "医药", "生物科技", "健康"),
    "logistics": ("物流", "供应链", "运输", "速运"),
}
_LEGAL = ("有限公司", "有限公司", "股份有限公司", "集团")
_SURNAMES = ("张", "王", "李", "赵", "刘", "陈", "杨", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭")
_SURNAMES_PY = ("zhang", "wang", "li", "zhao", "liu", "chen", "yang", "huang", "zhou", "wu", "xu", "sun", "ma", "zhu",
                "hu", "guo")
_GIVEN = ("伟", "芳", "娜", "敏", "静", "磊", "强", "洋", "艳", "勇", "军", "杰", "涛", "明", "超", "秀英")
_TITLES = ("经理", "总监", "主任", "总", "主管")
_MOBILE = (139, 138, 137, 136, 135, 186, 188, 159, 158, 177)


@dataclass(frozen=True, eq=False)
class SyntheticData:
    """A generated data set: the four canonical tables, the latent truth and the parameters used.

    ``customers``, ``orders``, ``tickets``, ``surveys`` use canonical column names (``loyalist.data.schemas``);
    with ``dirty=False`` every column has its canonical dtype, with ``dirty=True`` they are the raw tables (dates,
    ``orders.amount`` and ``surveys.nps_score`` as text) with the dirty rows listed in ``dirty_log``.
    ``truth`` has one row per real (clean) customer. ``params`` is plain JSON-able data.
    """

    customers: pd.DataFrame
    orders: pd.DataFrame
    tickets: pd.DataFrame
    surveys: pd.DataFrame
    truth: pd.DataFrame
    params: dict
    dirty_log: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(DIRTY_LOG_COLUMNS)))

    def tables(self) -> dict[str, pd.DataFrame]:
        """The four tables by canonical name."""
        return {"customers": self.customers, "orders": self.orders, "tickets": self.tickets, "surveys": self.surveys}


# ------------------------------------------------------------------------------------------ arguments


def _check_args(n_customers, start, end, mode, drivers, btyd_params) -> tuple[pd.Timestamp, pd.Timestamp]:
    if isinstance(n_customers, bool) or not isinstance(n_customers, (int, np.integer)) or n_customers < 1:
        raise ConfigError(f"The 'n_customers' parameter of generate must be an integer >= 1; got {n_customers!r}.")
    stamps = []
    for name, value in (("start", start), ("end", end)):
        try:
            ts = pd.Timestamp(value)
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                f"The '{name}' parameter of generate must be a date such as '2022-01-01'; got {value!r}."
            ) from exc
        if pd.isna(ts):
            raise ConfigError(f"The '{name}' parameter of generate must be a date such as '2022-01-01'; got NaT.")
        stamps.append(ts.normalize().as_unit("ns"))
    if stamps[1] <= stamps[0]:
        raise ConfigError(f"The 'end' parameter of generate ({end!r}) must be after 'start' ({start!r}); swap them.")
    if mode not in ("company", "btyd"):
        raise ConfigError(f"The 'mode' parameter of generate must be 'company' or 'btyd'; got {mode!r}.")
    for what, given, allowed in (("drivers", drivers, DEFAULT_DRIVERS), ("btyd_params", btyd_params,
                                                                         DEFAULT_BTYD_PARAMS)):
        for key, value in (given or {}).items():
            if key not in allowed:
                raise ConfigError(
                    f"Unknown key '{key}' in the '{what}' parameter of generate; use one of {sorted(allowed)}."
                )
            if not np.isfinite(float(value)) or (what == "btyd_params" and float(value) <= 0):
                raise ConfigError(
                    f"The '{what}' value of '{key}' must be a finite number"
                    f"{' > 0' if what == 'btyd_params' else ''}; got {value!r}."
                )
    if mode == "btyd" and drivers is not None:
        raise ConfigError("The 'drivers' parameter of generate applies to mode 'company' only; drop it for 'btyd'.")
    if mode == "company" and btyd_params is not None:
        raise ConfigError("The 'btyd_params' parameter of generate applies to mode 'btyd' only; drop it.")
    return stamps[0], stamps[1]


# ------------------------------------------------------------------------------------------ helpers


def _pick(rng: np.random.Generator, shares, n: int) -> np.ndarray:
    """n draws of category codes 0..len(shares)-1 with probabilities proportional to ``shares``."""
    cum = np.cumsum(np.asarray(shares, dtype=float))
    return np.searchsorted(cum / cum[-1], rng.random(n), side="right").clip(max=len(cum) - 1)


def _days_to_ns(start: pd.Timestamp, days: np.ndarray, unit: Literal["D", "s"]) -> np.ndarray:
    """Days since ``start`` (float) -> datetime64[ns], floored to the day ('D') or to the second ('s')."""
    base = start.to_datetime64().astype(f"datetime64[{unit}]")
    scale = 1 if unit == "D" else 86400
    return (base + np.floor(np.asarray(days) * scale).astype(np.int64)).astype("datetime64[ns]")


def _month_edges(start: pd.Timestamp, n_days: int) -> np.ndarray:
    firsts = pd.date_range(start + pd.offsets.MonthBegin(1), start + pd.Timedelta(days=n_days), freq="MS")
    inner = ((firsts - start) / pd.Timedelta(days=1)).to_numpy(dtype=float)
    return np.unique(np.concatenate([[0.0], inner[inner < n_days], [float(n_days)]]))


def _bool(values) -> pd.arrays.BooleanArray:
    return pd.array(np.asarray(values, dtype=bool), dtype="boolean")


# ------------------------------------------------------------------------------------------ company


def _customers(n: int, n_days: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Static customer attributes and latent traits (arrays of length n)."""
    ind_names = list(INDUSTRIES)
    b2c = rng.random(n) < _B2C["share"]
    ind = _pick(rng, [v[0] for v in INDUSTRIES.values()], n)
    ind[b2c] = ind_names.index("retail")
    size = _pick(rng, [v[0] for v in SIZES.values()], n)
    size[b2c] = 0
    region = _pick(rng, [v[0] for v in REGIONS.values()], n)
    existing = rng.random(n) < _EXISTING_SHARE
    signup = np.where(existing, -rng.uniform(1.0, _EXISTING_YEARS * _YEAR, n), rng.uniform(0.0, n_days, n))
    signup = np.floor(signup)

    col = lambda j: np.array([v[j] for v in INDUSTRIES.values()])  # noqa: E731
    scol = lambda j: np.array([v[j] for v in SIZES.values()])  # noqa: E731
    rate_mean = np.where(b2c, _B2C["rate"], col(1)[ind] * scol(1)[size])
    amount_mean = np.where(b2c, _B2C["amount"], col(2)[ind] * scol(2)[size])
    cv_mean = np.where(b2c, _B2C["cv"], col(3)[ind])
    margin_mean = np.where(b2c, _B2C["margin"], col(4)[ind])
    z = rng.standard_normal(n)  # latent dissatisfaction: lower NPS, more complaints
    lo, hi = np.array([v[3][0] for v in SIZES.values()]), np.array([v[3][1] for v in SIZES.values()])
    traits = {
        "b2c": b2c, "industry": ind, "size": size, "region": region, "signup_day": signup,
        "purchase_rate": rng.gamma(5.0, rate_mean / 5.0),
        "mean_amount": rng.gamma(4.0, amount_mean / 4.0),
        "amount_cv": rng.gamma(6.0, cv_mean / 6.0),
        "margin_rate": np.clip(margin_mean + rng.normal(0.0, 0.03, n), 0.12, 0.45),
        "true_nps_propensity": np.clip(10.4 - stats.gamma.ppf(stats.norm.cdf(z), a=1.0, scale=0.55), 0.0, 10.0),
        "complaint_propensity": np.exp(np.log(0.3) + 0.8 * z + 0.5 * rng.standard_normal(n)),
        "ticket_rate": rng.gamma(2.0, scol(4)[size] / 2.0),
        "slow_service": rng.random(n) < 0.2,
        "n_respondents": np.where(b2c, 1, rng.integers(lo[size], hi[size] + 1)),
        "base_hazard": rng.gamma(2.0, _BASE_HAZARD / 2.0, n),
        "dropout_e": rng.exponential(1.0, n),
        "wind_down_days": rng.uniform(*_WIND_DOWN_DAYS, n),
    }
    traits["answer_rate"] = np.where(b2c, _B2C["respondents"], _ANSWERS_PER_YEAR)
    return traits


def _static_log_hazard(t: dict, drivers: Mapping[str, float]) -> np.ndarray:
    low_frequency = np.clip(np.log2(12.0 / t["purchase_rate"]), 0.0, 3.0)
    unstable_value = np.clip(t["amount_cv"] / 0.5, 0.0, 3.0)
    return drivers["low_frequency"] * low_frequency + drivers["unstable_value"] * unstable_value


def _simulate_lives(t: dict, n_days: int, edges: np.ndarray, drivers, with_service: bool, rng) -> dict:
    """Month-by-month decision to leave with service events; returns decision and dropout days, final
    multipliers, tickets, answers.

    The hazard fires a *decision* to leave; the customer then winds down for ``wind_down_days`` (drawn per
    customer, 45-180 days) before the dropout (the end of the life: no event after it). During the wind-down the
    customer still orders (fewer, smaller orders from a narrower range, see :func:`_orders`), complains more and
    answers surveys in a worse mood: the service experience comes months before the last order.
    """
    n = len(t["purchase_rate"])
    obs_start = np.maximum(t["signup_day"], 0.0)
    alive = np.ones(n, dtype=bool)
    decided = np.zeros(n, dtype=bool)
    decision = np.full(n, np.nan)
    end_life = np.full(n, np.inf)
    dropout = np.full(n, np.nan)
    cum_h = np.zeros(n)
    static = _static_log_hazard(t, drivers)
    mult = np.exp(static)
    n_compl, n_slow, n_detr = np.zeros(n), np.zeros(n), np.zeros(n)
    last_compl, last_slow = np.full(n, -np.inf), np.full(n, -np.inf)
    pending_idx, pending_t = np.zeros(0, np.int64), np.zeros(0)  # slow tickets not yet 72 h old
    tickets, answers = [], []
    for m0, m1 in itertools.pairwise(edges):
        # a ticket becomes slow service when it has been open SLOW_HOURS hours; it counts from the next month on
        due = pending_t <= m0
        n_slow += np.bincount(pending_idx[due], minlength=n)
        np.maximum.at(last_slow, pending_idx[due], pending_t[due])
        pending_idx, pending_t = pending_idx[~due], pending_t[~due]
        active = alive & (obs_start < m1)
        a = np.maximum(m0, obs_start)
        undecided = active & ~decided
        dt = np.where(undecided, m1 - a, 0.0)
        log_mult = static + (drivers["complaints"] * np.minimum(n_compl, 3) + drivers["slow_service"]
                             * np.minimum(n_slow, 3) + drivers["detractor"] * np.minimum(n_detr, 3))
        h = t["base_hazard"] / _YEAR * np.exp(log_mult)
        drop = undecided & (cum_h + h * dt >= t["dropout_e"])
        when = np.where(drop, a + (t["dropout_e"] - cum_h) / h, np.inf)
        cum_h = cum_h + h * dt
        decision[drop] = when[drop]
        end_life[drop] = when[drop] + t["wind_down_days"][drop]
        decided |= drop
        mult[undecided] = np.exp(log_mult[undecided])
        ends = active & (end_life < m1)
        dropout[ends] = end_life[ends]
        stop = np.where(ends, np.maximum(end_life, a), m1)
        alive &= ~ends
        live = np.where(active, stop - a, 0.0)
        if not with_service:
            continue
        # tickets of the month
        # while winding down (decided before this month) a customer complains more
        k_c = rng.poisson(t["complaint_propensity"] * np.where(decision < m0, _WIND_DOWN_COMPLAINTS, 1.0)
                          * live / _YEAR)
        k_o = rng.poisson(t["ticket_rate"] * live / _YEAR)
        idx = np.concatenate([np.repeat(np.arange(n), k_c), np.repeat(np.arange(n), k_o)])
        is_c = np.concatenate([np.ones(k_c.sum(), bool), np.zeros(k_o.sum(), bool)])
        when = a[idx] + rng.random(len(idx)) * live[idx]
        sev = np.where(is_c, _pick(rng, (0.3, 0.45, 0.25), len(idx)), _pick(rng, (0.6, 0.3, 0.1), len(idx)))
        median = np.where(t["slow_service"][idx], 96.0, 10.0) * np.array([1.2, 1.0, 0.7])[sev]
        hours = median * np.exp(0.8 * rng.standard_normal(len(idx)))
        hours[rng.random(len(idx)) < 0.035] = np.inf  # never resolved
        slow = hours > SLOW_HOURS
        tickets.append((idx, when, is_c, sev, hours))
        # survey answers of the month (their mood reflects complaints and slow tickets of the last 90 days)
        k_s = rng.poisson(t["n_respondents"] * t["answer_rate"] * live / _YEAR)
        sidx = np.repeat(np.arange(n), k_s)
        swhen = a[sidx] + rng.random(len(sidx)) * live[sidx]
        who = np.floor(rng.random(len(sidx)) * t["n_respondents"][sidx]).astype(np.int64)
        # a respondent answers at most once a day
        _, first = np.unique((sidx * 4 + who) * 40000 + np.floor(swhen).astype(np.int64), return_index=True)
        first.sort()
        sidx, swhen, who = sidx[first], swhen[first], who[first]
        mood = (t["true_nps_propensity"][sidx] - 1.5 * (last_compl[sidx] > swhen - 90)
                - 1.0 * (last_slow[sidx] > swhen - 90) - _WIND_DOWN_MOOD * (decision[sidx] < swhen))
        score = np.clip(np.rint(mood + 0.8 * rng.standard_normal(len(sidx))), 0, 10)
        answers.append((sidx, swhen, score, who))
        # this month's events raise the hazard from the next month on
        n_compl += np.bincount(idx[is_c], minlength=n)
        n_detr += np.bincount(sidx[score <= 6], minlength=n)
        np.maximum.at(last_compl, idx[is_c], when[is_c])
        pending_idx = np.concatenate([pending_idx, idx[slow]])
        pending_t = np.concatenate([pending_t, when[slow] + SLOW_HOURS / 24])
    n_slow += np.bincount(pending_idx, minlength=n)  # slow tickets whose 72 h mark falls in the last month
    return {"obs_start": obs_start, "decision": decision, "end_life": end_life, "dropout": dropout,
            "multiplier": mult,
            "n_complaints": n_compl,
            "n_slow": n_slow, "n_detractor": n_detr, "tickets": tickets, "answers": answers}


def _orders(t: dict, lives: dict, start, n_days: int, rng) -> tuple[pd.DataFrame, int]:
    """Orders while alive, sorted by day; ``customer_id`` holds customer positions (the caller maps them).

    Order times are a stationary renewal process at the customer's rate: gaps are Gamma with shape
    :data:`_B2B_ORDER_SHAPE` for companies (they reorder on a rhythm) and 1 (Poisson) for consumers; the first
    order after the observation start is the forward recurrence time (a length-biased gap times a uniform)."""
    n = len(t["purchase_rate"])
    stop = np.where(np.isnan(lives["dropout"]), n_days, lives["dropout"])
    span = np.maximum(stop - lives["obs_start"], 0.0)
    shape = np.where(t["b2c"], 1.0, _B2B_ORDER_SHAPE)
    mean_gap = _YEAR / t["purchase_rate"]
    expected = span / mean_gap
    room = np.ceil(expected + 5.0 * np.sqrt(expected + 1.0) + 2.0).astype(np.int64)  # gaps drawn per customer
    gidx = np.repeat(np.arange(n, dtype=np.int32), room)
    first = np.zeros(len(gidx), dtype=bool)
    starts = np.cumsum(room) - room
    first[starts] = True
    gaps = rng.gamma(shape[gidx] + first, 1.0) * (mean_gap / shape)[gidx]
    gaps[first] *= rng.random(int(first.sum()))
    cum = np.cumsum(gaps)
    cum -= np.repeat(cum[starts] - gaps[starts], room)
    keep = cum < span[gidx]
    idx = gidx[keep]
    m = len(idx)
    day = np.floor(lives["obs_start"][idx] + cum[keep]).astype(np.int16 if n_days < 32000 else np.int32)
    del gidx, first, gaps, cum, keep
    order = np.argsort(day, kind="stable")
    idx, day = idx[order], day[order]
    del order
    # wind-down: progress in [0, 1] from the decision to leave to the (planned) dropout; orders thin out
    decided = np.isfinite(lives["decision"])
    frac = np.zeros(m)
    if decided.any():
        late = np.flatnonzero(decided[idx])
        d0 = lives["decision"][idx[late]]
        frac[late] = np.clip((day[late] + 0.5 - d0) / (lives["end_life"][idx[late]] - d0), 0.0, 1.0)
        keep = rng.random(m) >= _WIND_DOWN_THIN * frac
        idx, day, frac = idx[keep], day[keep], frac[keep]
        m = len(idx)
    sd = np.sqrt(np.log1p(t["amount_cv"] ** 2))
    mu = np.log(t["mean_amount"]) - sd**2 / 2
    amount = np.maximum(np.round(np.exp(mu[idx] + sd[idx] * rng.standard_normal(m))
                                 * (1.0 - _WIND_DOWN_SPEND * frac), 2), 1.0)
    # products: each customer favours a few neighbouring products of its two main categories
    cats = list(CATEGORIES)
    n_cat = len(cats)
    prefs = np.array([[v[5].get(c, 0.0) for c in cats] for v in INDUSTRIES.values()])
    cum = np.cumsum(prefs / prefs.sum(axis=1, keepdims=True), axis=1)[t["industry"]]
    main = np.minimum((rng.random(n)[:, None] > cum).sum(axis=1), n_cat - 1).astype(np.int8)
    second = np.minimum((rng.random(n)[:, None] > cum).sum(axis=1), n_cat - 1).astype(np.int8)
    anchor = rng.integers(0, _PER_CATEGORY, n * n_cat, dtype=np.int16)
    u = rng.random(m, dtype=np.float32)
    anyc = np.minimum((u - 0.9) * 10 * n_cat, n_cat - 1).astype(np.int8)
    cat = np.where(u < 0.7, main[idx], np.where(u < 0.9, second[idx], anyc))
    narrow = (frac > 0) & (rng.random(m, dtype=np.float32) < _WIND_DOWN_NARROW)  # winding down: main category
    cat = np.where(narrow, main[idx], cat)
    geometric = (stats.geom.ppf((np.arange(64) + 0.5) / 64, 0.35) - 1).astype(np.int16)  # offsets 0, 1, 2, ...
    code = cat.astype(np.int16) * _PER_CATEGORY + (
        (anchor[idx.astype(np.int64) * n_cat + cat] + geometric[rng.integers(0, 64, m, dtype=np.int8)]) % _PER_CATEGORY)
    price = np.repeat(np.array(list(CATEGORIES.values())), _PER_CATEGORY) * np.exp(
        0.6 * rng.standard_normal(n_cat * _PER_CATEGORY))
    quantity = np.maximum(np.rint(amount / price[code]), 1.0)
    # channel: the customer's preferred one (among B2B or B2C channels) 80% of the time
    b2c = t["b2c"]
    b2c_channels = np.array([1, 4, 5], dtype=np.int8)  # online, app, store
    pref = np.where(b2c, b2c_channels[_pick(rng, (0.6, 0.3, 0.1), n)], _pick(rng, (0.45, 0.3, 0.15, 0.1), n))
    channel = pref.astype(np.int8)[idx]
    switch = np.flatnonzero(rng.random(m, dtype=np.float32) >= 0.8)
    w = rng.random(len(switch))
    channel[switch] = np.where(b2c[idx[switch]], b2c_channels[(w * 3).astype(np.int8)], (w * 4).astype(np.int8))
    # status: complaining customers return and cancel more
    rel = np.minimum(t["complaint_propensity"] / 0.35, 4.0)
    p_cancel, p_return = 0.013 + 0.007 * rel, 0.02 + 0.01 * rel
    u = rng.random(m, dtype=np.float32)
    status = np.zeros(m, dtype=np.int8)
    odd = np.flatnonzero(u < (p_cancel + p_return).max())  # only these can be returned or cancelled
    c, uo = idx[odd], u[odd]
    status[odd] = np.where(uo < p_cancel[c], 2, np.where(uo < p_cancel[c] + p_return[c], 1, 0))
    products = digit_strings(1000 * np.repeat(np.arange(1, n_cat + 1), _PER_CATEGORY)
                             + np.tile(np.arange(_PER_CATEGORY), n_cat), 4, "P")
    frame = pd.DataFrame({
        "order_id": sequence_strings(m, IdScheme.for_sizes(n, m, 0).order_width, "O"),
        "customer_id": idx,  # replaced by the caller
        "order_date": _days_to_ns(start, day, "D"),
        "amount": amount,
        "product_id": take_strings(list(products), code),
        "category": take_strings(cats, cat),
        "quantity": quantity,
        "channel": take_strings(CHANNELS, channel),
        "status": take_strings(("completed", "returned", "cancelled"), status),
        "cost": np.round(amount * (1.0 - t["margin_rate"][idx]), 2),
    }, copy=False)
    return frame, m


def _names(t: dict, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Company names (深圳市宏达科技有限公司), contacts (mobile or e-mail) and respondent names per customer."""
    n = len(t["b2c"])
    b1, b2 = rng.integers(0, len(_BRAND1), n), rng.integers(0, len(_BRAND2), n)
    cities = [c for v in REGIONS.values() for c in v[1]]
    city_of = np.array([i * 5 for i in range(len(REGIONS))])[t["region"]] + rng.integers(0, 5, n)
    trade = np.array([" "] * n, dtype=object)
    for j, ind in enumerate(INDUSTRIES):
        sel = t["industry"] == j
        trade[sel] = np.array(_TRADE[ind], dtype=object)[rng.integers(0, 4, sel.sum())]
    city = np.array(cities, dtype=object)[city_of] + np.where(rng.random(n) < 0.5, "市", "")
    brand = np.array(_BRAND1, dtype=object)[b1] + np.array(_BRAND2, dtype=object)[b2]
    company = city + brand + trade + np.array(_LEGAL, dtype=object)[rng.integers(0, len(_LEGAL), n)]
    sur = rng.integers(0, len(_SURNAMES), n)
    person = np.array(_SURNAMES, dtype=object)[sur] + np.array(_GIVEN, dtype=object)[rng.integers(0, len(_GIVEN), n)]
    name = np.where(t["b2c"], person, company)
    phone = np.array(_MOBILE, dtype=np.int64)[rng.integers(0, len(_MOBILE), n)] * 10**8 + rng.integers(0, 10**8, n)
    phone_s = np.asarray(digit_strings(phone, 11), dtype=object)
    mail = (np.array(_SURNAMES_PY, dtype=object)[sur] + "@" + np.array(_BRAND1_PY, dtype=object)[b1]
            + np.array(_BRAND2_PY, dtype=object)[b2] + ".com.cn")
    contact = np.where(t["b2c"] | (rng.random(n) < 0.6), phone_s, mail)
    resp = (np.array(_SURNAMES, dtype=object)[rng.integers(0, len(_SURNAMES), (n, 4))]
            + np.array(_TITLES, dtype=object)[rng.integers(0, len(_TITLES), (n, 4))])
    resp[t["b2c"], 0] = person[t["b2c"]]
    return name, contact, resp


def _company(n, start, n_days, rng, with_service, drivers) -> tuple[dict, pd.DataFrame, dict, IdScheme]:
    t = _customers(n, n_days, rng)
    lives = _simulate_lives(t, n_days, _month_edges(start, n_days), drivers, with_service, rng)
    orders, m = _orders(t, lives, start, n_days, rng)
    name, contact, resp = _names(t, rng)
    n_tickets = sum(len(x[0]) for x in lives["tickets"])
    ids = IdScheme.for_sizes(n, m, n_tickets)
    cust_ids = ids.customer(np.arange(1, n + 1))
    n_orders = np.bincount(orders["customer_id"].to_numpy(), minlength=n).astype(np.int64)
    orders["customer_id"] = take_strings(cust_ids, orders["customer_id"].to_numpy())
    inds, sizes, regions = list(INDUSTRIES), list(SIZES), list(REGIONS)
    signup = _days_to_ns(start, t["signup_day"], "D")
    customers = pd.DataFrame({
        "customer_id": cust_ids, "name": to_strings(name), "industry": take_strings(inds, t["industry"]),
        "size": take_strings(sizes, t["size"]), "region": take_strings(regions, t["region"]),
        "signup_date": signup, "contact": to_strings(contact), "is_test": _bool(np.zeros(n, bool)),
    })
    tickets, surveys = _service_tables(lives, resp, cust_ids, ids, start, n_days, rng)
    dropout = _days_to_ns(start, np.nan_to_num(lives["dropout"], nan=0.0), "s")
    dropout = np.where(np.isnan(lives["dropout"]), np.datetime64("NaT", "ns"), dropout).astype("datetime64[ns]")
    decided = np.isfinite(lives["decision"])
    decision = np.where(decided, _days_to_ns(start, np.where(decided, lives["decision"], 0.0), "s"),
                        np.datetime64("NaT", "ns")).astype("datetime64[ns]")
    truth = pd.DataFrame({
        "customer_id": cust_ids, "business": take_strings(("b2b", "b2c"), t["b2c"].astype(int)),
        "industry": customers["industry"].array, "size": customers["size"].array,
        "region": customers["region"].array, "signup_date": signup,
        "observed_from": _days_to_ns(start, lives["obs_start"], "D"),
        "purchase_rate": t["purchase_rate"], "mean_amount": t["mean_amount"], "amount_cv": t["amount_cv"],
        "margin_rate": t["margin_rate"], "dropout_date": dropout, "alive_at_end": np.isnan(lives["dropout"]),
        "base_hazard": t["base_hazard"], "hazard_multiplier": lives["multiplier"],
        "decision_date": decision, "wind_down_days": t["wind_down_days"],
        "service_log_hazard": np.log(lives["multiplier"]) - _static_log_hazard(t, drivers),
        "true_nps_propensity": t["true_nps_propensity"], "complaint_propensity": t["complaint_propensity"],
        "ticket_rate": t["ticket_rate"], "slow_service": t["slow_service"],
        "n_respondents": t["n_respondents"].astype(np.int64),
        "n_complaints": lives["n_complaints"].astype(np.int64), "n_slow_tickets": lives["n_slow"].astype(np.int64),
        "n_detractor_answers": lives["n_detractor"].astype(np.int64),
        "n_orders": n_orders,
    })
    tables = {"customers": customers, "orders": orders, "tickets": tickets, "surveys": surveys}
    params = {
        "industries": {k: {"share": v[0], "orders_per_year": v[1], "mean_order_value": v[2], "order_value_cv": v[3],
                           "margin_rate": v[4], "categories": v[5]} for k, v in INDUSTRIES.items()},
        "sizes": {k: {"share": v[0], "rate_factor": v[1], "value_factor": v[2], "respondents": list(v[3]),
                      "tickets_per_year": v[4]} for k, v in SIZES.items()},
        "b2c": dict(_B2C), "existing_share": _EXISTING_SHARE, "base_hazard_mean": _BASE_HAZARD,
        "slow_hours": SLOW_HOURS, "answers_per_year": _ANSWERS_PER_YEAR,
    }
    return tables, truth, params, ids


def _stack(parts: list[tuple], j: int, dtype) -> np.ndarray:
    return np.concatenate([p[j] for p in parts]).astype(dtype) if parts else np.zeros(0, dtype)


def _service_tables(lives, resp, cust_ids, ids: IdScheme, start, n_days, rng) -> tuple[pd.DataFrame, pd.DataFrame]:
    idx, when, is_c, sev, hours = (_stack(lives["tickets"], j, d) for j, d in
                                   enumerate((np.int64, float, bool, np.int64, float)))
    order = np.lexsort((idx, when))
    idx, when, is_c, sev, hours = idx[order], when[order], is_c[order], sev[order], hours[order]
    k = len(idx)
    kind = np.where(is_c, 0, np.where(rng.random(k) < 0.6, 1, 2))
    stage = np.where(is_c, _pick(rng, (0.3, 0.4, 0.15, 0.15), k), _pick(rng, (0.25, 0.35, 0.25, 0.15), k))
    done = when + hours / 24
    resolved = done < n_days  # never resolved (inf) or resolved after the end: open at the end
    resolved_at = np.where(resolved, _days_to_ns(start, np.where(resolved, done, 0.0), "s"),
                           np.datetime64("NaT", "ns")).astype("datetime64[ns]")
    tickets = pd.DataFrame({
        "ticket_id": sequence_strings(k, ids.ticket_width, "T"), "customer_id": take_strings(cust_ids, idx),
        "created_at": _days_to_ns(start, when, "s"), "kind": take_strings(TICKET_KINDS, kind),
        "stage": take_strings(TICKET_STAGES, stage), "severity": take_strings(SEVERITIES, sev),
        "resolved_at": resolved_at,
    })
    sidx, swhen, score, who = (_stack(lives["answers"], j, d) for j, d in
                               enumerate((np.int64, float, float, np.int64)))
    day = np.floor(swhen)
    order = np.lexsort((who, sidx, day))
    sidx, day, score, who = sidx[order], day[order], score[order], who[order]
    k = len(sidx)
    mention = rng.random(k) < np.where(score >= 9, 0.75, np.where(score >= 7, 0.3, 0.08))
    satisfaction = np.clip(np.rint(1 + 4 * score / 10 + 0.6 * rng.standard_normal(k)), 1, 5)
    surveys = pd.DataFrame({
        "customer_id": take_strings(cust_ids, sidx), "answered_at": _days_to_ns(start, day, "D"), "nps_score": score,
        "mentions_brand": _bool(mention), "satisfaction": satisfaction,
        "respondent": to_strings(resp[sidx, who] if k else np.zeros(0, object)),
    })
    return tickets, surveys


# ------------------------------------------------------------------------------------------ btyd


def _btyd(n, start, n_days, rng, bp: dict) -> tuple[dict[str, pd.DataFrame], pd.DataFrame, dict, IdScheme]:
    """BG/NBD with Gamma-Gamma values; times in weeks from each customer's first purchase."""
    lam = rng.gamma(bp["r"], 1.0 / bp["alpha"], n)  # purchases per week while alive
    p = rng.beta(bp["a"], bp["b"], n)  # dropout probability after each repeat purchase
    t0 = rng.uniform(0.0, min(bp["acquisition_weeks"] * 7.0, n_days), n)  # first purchase, days since start
    horizon = (n_days - t0) / 7.0  # weeks observed after the first purchase
    j = rng.geometric(p)  # repeat purchases until dropout (the last one is followed by dropout)
    n_t = rng.poisson(lam * horizon)  # purchases the Poisson clock makes in the window
    idx = np.repeat(np.arange(n, dtype=np.int64), n_t)
    times = rng.random(len(idx)) * horizon[idx]
    order = np.lexsort((times, idx))
    idx, times = idx[order], times[order]
    rank = np.arange(len(idx)) - np.repeat(np.cumsum(n_t) - n_t, n_t)
    jth = np.full(n, np.nan)
    hit = rank == j[idx] - 1
    jth[idx[hit]] = times[hit]
    # dropout after the window: memoryless Poisson clock from the end of the window
    late = np.isnan(jth)
    tau = np.where(late, horizon + rng.gamma(np.maximum(j - n_t, 1), 1.0 / np.maximum(lam, 1e-12)), jth)
    keep = rank < j[idx]
    idx, times = idx[keep], times[keep]
    o_idx = np.concatenate([np.arange(n), idx])
    o_days = np.concatenate([t0, t0[idx] + times * 7.0])
    day = np.floor(o_days).astype(np.int64)
    order = np.lexsort((o_idx, day))
    o_idx, day = o_idx[order], day[order]
    nu = rng.gamma(bp["q"], 1.0 / bp["gamma"], n)
    amount = np.maximum(np.round(rng.gamma(bp["p"], 1.0 / nu[o_idx]), 2), 0.01)
    m = len(o_idx)
    ids = IdScheme.for_sizes(n, m, 0)
    cust_ids = ids.customer(np.arange(1, n + 1))
    orders = pd.DataFrame({
        "order_id": sequence_strings(m, ids.order_width, "O"), "customer_id": take_strings(cust_ids, o_idx),
        "order_date": _days_to_ns(start, day, "D"), "amount": amount,
        "status": take_strings(("completed",), np.zeros(m, np.int64)),
    })
    first = _days_to_ns(start, t0, "D")
    customers = pd.DataFrame({"customer_id": cust_ids, "signup_date": first, "is_test": _bool(np.zeros(n, bool))})
    in_window = tau < horizon
    drop_day = t0 + tau * 7.0
    dropout = np.where(in_window, _days_to_ns(start, np.where(in_window, drop_day, 0.0), "s"),
                       np.datetime64("NaT", "ns")).astype("datetime64[ns]")
    truth = pd.DataFrame({
        "customer_id": cust_ids, "first_purchase": first, "lambda_week": lam, "purchase_rate": lam * _YEAR / 7.0,
        "p_dropout": p, "n_repeat_until_dropout": j.astype(np.int64), "dropout_weeks": tau,
        "dropout_date": dropout, "alive_at_end": ~in_window, "nu": nu, "mean_amount": bp["p"] / nu,
        "observed_weeks": horizon, "n_orders": np.bincount(o_idx, minlength=n).astype(np.int64),
    })
    empty_t = pd.DataFrame({
        "ticket_id": pd.array([], dtype="string"), "customer_id": pd.array([], dtype="string"),
        "created_at": np.array([], "datetime64[ns]"), "kind": pd.array([], dtype="string"),
        "stage": pd.array([], dtype="string"), "severity": pd.array([], dtype="string"),
        "resolved_at": np.array([], "datetime64[ns]"),
    })
    empty_s = pd.DataFrame({
        "customer_id": pd.array([], dtype="string"), "answered_at": np.array([], "datetime64[ns]"),
        "nps_score": np.array([], float), "mentions_brand": pd.array([], dtype="boolean"),
        "satisfaction": np.array([], float), "respondent": pd.array([], dtype="string"),
    })
    tables = {"customers": customers, "orders": orders, "tickets": empty_t, "surveys": empty_s}
    return tables, truth, {"btyd": dict(bp), "time_unit": "weeks"}, ids


# ------------------------------------------------------------------------------------------ entry point


def generate(
    n_customers: int = 5000,
    start: str = "2022-01-01",
    end: str = "2024-12-31",
    seed: int = 42,
    dirty: bool = True,
    mode: Literal["company", "btyd"] = "company",
    with_service: bool = True,
    drivers: Mapping[str, float] | None = None,
    *,
    btyd_params: Mapping[str, float] | None = None,
) -> SyntheticData:
    """Generate a synthetic company (deterministic by ``seed``) with its latent truth.

    Parameters
    ----------
    n_customers : int
        Real customers (test and dirty customers come on top when ``dirty``).
    start, end : str
        The period, both days included; every event is dated in it. In ``company`` mode about 30% of the
        customers signed up before ``start`` (their history before it is not in the tables), the others sign up
        uniformly over the period.
    seed : int
        Seed of ``np.random.default_rng``; the dirty records use a separate stream derived from it.
    dirty : bool
        Return raw tables with dirty records (see ``loyalist.data.synthetic_io.DIRTY_KINDS``; listed row by row
        in ``dirty_log``, counted in ``params['dirty_counts']``); ``False`` returns clean canonical dtypes.
    mode : {'company', 'btyd'}
        The company simulation or the pure BG/NBD + Gamma-Gamma process.
    with_service : bool
        ``company`` mode: simulate tickets and surveys (``False``: empty tables, and the hazard then only has
        the static drivers; fast for benchmarks). Ignored in ``btyd`` mode (never any).
    drivers : mapping, optional
        Log-hazard coefficients overriding :data:`DEFAULT_DRIVERS` key by key. Covariates, per customer:
        ``complaints`` = complaint tickets so far (capped at 3); ``slow_service`` = tickets so far resolved after
        more than :data:`SLOW_HOURS` hours (capped at 3); ``detractor`` = survey answers 0-6 so far (capped at 3);
        ``low_frequency`` = ``clip(log2(12 / purchase_rate), 0, 3)``; ``unstable_value`` = ``clip(cv / 0.5, 0, 3)``.
        Events of a month act from the next month on.
    btyd_params : mapping, optional
        ``btyd`` mode: overrides of :data:`DEFAULT_BTYD_PARAMS` (r, alpha in weeks, a, b, p, q, gamma,
        acquisition_weeks).

    Returns
    -------
    SyntheticData
        ``customers`` (customer_id, name, industry, size, region, signup_date, contact, is_test; btyd:
        customer_id, signup_date = first purchase, is_test), ``orders`` (order_id, customer_id, order_date,
        amount, product_id, category, quantity, channel, status, cost; one row per order, sorted by date;
        btyd: order_id, customer_id, order_date, amount, status), ``tickets`` (ticket_id, customer_id,
        created_at, kind, stage, severity, resolved_at; ``resolved_at`` NaT = still open at the end),
        ``surveys`` (customer_id, answered_at, nps_score, mentions_brand, satisfaction, respondent) and
        ``truth``, one row per real customer. Company truth: customer_id, business (b2b/b2c), industry, size,
        region, signup_date, observed_from, purchase_rate (orders/yr while alive), mean_amount, amount_cv,
        margin_rate, dropout_date (the instant, NaT = no dropout in the period; nothing happens after it),
        alive_at_end, base_hazard (per year), hazard_multiplier (in force at the decision to leave or at the end),
        decision_date (the instant the hazard fired the decision to leave, NaT = none in the period; the
        dropout follows ``wind_down_days`` later), wind_down_days, service_log_hazard (the part of
        log(hazard_multiplier) due to complaints, slow tickets and detractor answers: how service-driven the
        decision was), true_nps_propensity (mean answer
        0-10), complaint_propensity (complaints/yr), ticket_rate (other tickets/yr), slow_service,
        n_respondents, n_complaints, n_slow_tickets (tickets open longer than :data:`SLOW_HOURS`, including
        those still open at the end), n_detractor_answers, n_orders (all statuses). BTYD truth:
        customer_id, first_purchase, lambda_week, purchase_rate, p_dropout, n_repeat_until_dropout,
        dropout_weeks (from the first purchase; may lie beyond the window), dropout_date, alive_at_end, nu,
        mean_amount (= p / nu), observed_weeks, n_orders.
    """
    start_ts, end_ts = _check_args(n_customers, start, end, mode, drivers, btyd_params)
    n_days = int((end_ts - start_ts) / pd.Timedelta(days=1)) + 1
    n = int(n_customers)
    seq = np.random.SeedSequence(seed)
    clean_seq, dirt_seq = seq.spawn(2)
    rng = np.random.default_rng(clean_seq)
    params: dict = {
        "n_customers": n, "start": str(start_ts.date()), "end": str(end_ts.date()), "seed": seed, "dirty": dirty,
        "mode": mode, "with_service": bool(with_service and mode == "company"),
    }
    if mode == "company":
        drv = {**DEFAULT_DRIVERS, **{k: float(v) for k, v in (drivers or {}).items()}}
        params["drivers"] = drv
        tables, truth, extra, ids = _company(n, start_ts, n_days, rng, with_service, drv)
    else:
        bp = {**DEFAULT_BTYD_PARAMS, **{k: float(v) for k, v in (btyd_params or {}).items()}}
        tables, truth, extra, ids = _btyd(n, start_ts, n_days, rng, bp)
    params.update(extra)
    params["rows"] = {k: int(len(v)) for k, v in tables.items()}
    log = pd.DataFrame({c: pd.array([], dtype="int64" if c == "row" else "string") for c in DIRTY_LOG_COLUMNS})
    if dirty:
        tables, log, counts = make_dirty(tables, np.random.default_rng(dirt_seq), ids, n)
        params["dirty_counts"] = counts
        params["dirty_kinds"] = {k: v[0] for k, v in DIRTY_KINDS.items()}
    return SyntheticData(**tables, truth=truth, params=params, dirty_log=log)

