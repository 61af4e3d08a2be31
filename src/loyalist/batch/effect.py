"""The measured effect of a campaign (issue 16 §2): treatment vs control from a control assignment
(:mod:`loyalist.batch.control`) and the orders after the campaign.

Outcomes per customer over the horizon: the campaign date D means the end of day D, so the window is
(D, D + horizon] (orders dated D + 1 day 00:00 up to the end of day D + horizon), completed orders only:

- ``churn``: no completed order in the window (1) or at least one (0);
- ``orders``: completed orders in the window; ``revenue``: their amount.

For each group of customers (all, each action, each tier, each band) and each outcome: the treatment and control
means, the difference treatment - control with a 95% (``1 - alpha``) interval, and power: the smallest difference the
sample detects with 80% power at that alpha (``mde``), and ``large_enough`` when the planned ``target`` difference
(e.g. 5 churn points) is at or above it. Orders and revenue get a Welch interval (normal approximation with unequal
variances, :func:`difference`). Churn, a share, gets Newcombe's hybrid score interval (:func:`share_difference`:
the two groups' Wilson intervals combined) and a pooled-variance ``mde``: a Welch interval on 0/1 outcomes covers
far less than 95% when churn is rare or a group is small (a stratum of 1,000 treated and 110 control customers at 1%
churn: 68% coverage, and "contact raised churn" for a third of actions without any effect; 2 control customers who
both stayed: a zero-width control side) and it runs past ±100 points. A group without control (or treatment) customers gets no estimate and
says so.

``total`` (with ``total_low`` / ``total_high``) is the difference times the treated customers: for churn, minus
the customers saved by the action (a negative total is customers kept); for orders and revenue, the orders and
revenue the action added over the horizon. ``cost`` is what the actions given to the group's treated customers
cost (the action table's ``cost`` per treated customer; control customers cost nothing), and on the revenue rows
``net`` (``net_low`` / ``net_high``) is the revenue kept minus that cost: the value kept net of the action's cost,
with its interval (the cost is known, so the interval is the revenue total's shifted by it).

:func:`effect_summary` turns the long table into one row per group (customers saved, value kept net of cost and a
verdict: ``works``, ``negative`` when the interval says contact raised churn, ``no_effect`` when it covers zero
and the sample was large enough, ``inconclusive`` when it covers zero and the sample was too small to tell).

Many groups are judged at once (8 actions, 4 tiers, 4 bands): at a 95% interval each, a campaign whose actions all do
nothing still has one of its 8 actions called harmful (or working) about a third of the time (a sixth for "harmful"
alone). So within each level (the actions, the tiers, the bands) a verdict of ``works`` or ``negative`` also needs
the churn difference's Holm-adjusted p-value (Holm's step-down over that level's groups, the family-wise error at
``alpha``) below ``alpha``; a group whose 95% interval excludes zero but whose adjusted p-value does not gets
``chance`` (it may be chance) and says so. The overall row (one test) is judged by its interval alone, as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from loyalist.config.models import ActionRule
from loyalist.errors import DataQualityError

__all__ = ["OUTCOMES", "EFFECT_COLUMNS", "SUMMARY_COLUMNS", "VERDICTS", "action_costs", "campaign_outcomes",
           "difference", "share_difference", "wilson_interval", "measure_effect", "effect_summary", "holm",
           "is_flagged"]

#: Outcome -> what it is.
OUTCOMES: dict[str, str] = {
    "churn": "share of customers with no completed order in (D, D + horizon]",
    "orders": "completed orders per customer in (D, D + horizon]",
    "revenue": "revenue (order amount) per customer in (D, D + horizon]",
}

#: Columns of the effect table.
EFFECT_COLUMNS: tuple[str, ...] = (
    "level", "group", "outcome", "n_treatment", "n_control", "treatment", "control", "difference", "ci_low",
    "ci_high", "p_value", "mde", "target", "large_enough", "total", "total_low", "total_high", "cost", "net",
    "net_low", "net_high", "note",
)

#: Columns of :func:`effect_summary` (one row per level and group).
SUMMARY_COLUMNS: tuple[str, ...] = (
    "level", "group", "n_treatment", "n_control", "churn_treatment", "churn_control", "churn_difference",
    "churn_ci_low", "churn_ci_high", "large_enough", "mde", "saved", "saved_low", "saved_high", "revenue_kept",
    "revenue_kept_low", "revenue_kept_high", "cost", "net", "net_low", "net_high", "churn_p_value",
    "churn_p_adjusted", "tests", "verdict", "note",
)

#: Verdict -> what it means (the churn difference's interval).
VERDICTS: dict[str, str] = {
    "works": "the interval is below zero: the action lowered churn",
    "negative": "the interval is above zero: contact raised churn",
    "no_effect": "the interval covers zero and the sample was large enough to see the target difference",
    "inconclusive": "the interval covers zero and the sample was too small to tell (underpowered)",
    "chance": "the interval excludes zero, but not once the level's groups are tested together (Holm): it may be "
              "chance",
    "no_estimate": "too few treatment or control customers for an estimate",
}


def action_costs(actions: Sequence[ActionRule]) -> dict[str, float]:
    """The cost per treated customer of each action as the list writes it (``"<action_zh> / <action_en>"``), from
    the config's action table (rules with a ``cost``). Two rules with the same text: the first one's cost (the
    first matching rule wins in the list too)."""
    out: dict[str, float] = {}
    for rule in actions:
        out.setdefault(f"{rule.action_zh} / {rule.action_en}", float(rule.cost))
    return out

_ASSIGNMENT_NEEDS = ("campaign_date", "customer_id", "action", "loyalty_tier", "risk_band", "group")


def campaign_outcomes(assignment: pd.DataFrame, orders: pd.DataFrame, *, horizon_days: int) -> pd.DataFrame:
    """The assignment with ``churn``, ``orders`` and ``revenue`` per customer over (D, D + horizon].

    ``orders`` needs customer_id, order_date and amount (status optional: only ``completed`` rows count), in the
    assignment's id space (both pseudonymised with the same key, or both raw).
    """
    missing = [c for c in _ASSIGNMENT_NEEDS if c not in assignment.columns]
    if missing:
        raise DataQualityError(f"The campaign assignment lacks the column(s) {missing}; pass the "
                               "churn_risk_control.parquet written by 'loyalist score'.")
    if assignment.empty:
        raise DataQualityError("The campaign assignment has no customers; nothing to measure.")
    groups = set(assignment["group"].astype(str))
    if not groups <= {"control", "treatment"}:
        raise DataQualityError(f"The campaign assignment's 'group' column has {sorted(groups - {'control', 'treatment'})}; "
                               "expected only 'control' and 'treatment'.")
    dates = pd.to_datetime(assignment["campaign_date"]).dropna().unique()
    if len(dates) != 1:
        raise DataQualityError(f"The campaign assignment has {len(dates)} campaign dates; expected exactly one "
                               "(one campaign per file).")
    if int(horizon_days) < 1:
        raise DataQualityError(f"The horizon must be at least 1 day; got {horizon_days}.")
    missing = [c for c in ("customer_id", "order_date", "amount") if c not in orders.columns]
    if missing:
        raise DataQualityError(f"The orders lack the column(s) {missing}; pass the clean orders written by "
                               "'loyalist prepare'.")
    day = pd.Timestamp(dates[0]).normalize()
    start, end = day + pd.Timedelta(days=1), day + pd.Timedelta(days=1 + int(horizon_days))
    when = pd.to_datetime(orders["order_date"])
    if len(when.dropna()) == 0 or when.max() < day:
        raise DataQualityError(
            f"The orders end on {None if len(when.dropna()) == 0 else when.max().date()}, before the campaign date "
            f"{day.date()}: there is no outcome to measure yet; pass orders that run past the campaign."
        )
    if when.max() < end - pd.Timedelta(days=1):
        raise DataQualityError(
            f"The orders end on {when.max().date()} but the {horizon_days}-day horizon after the campaign date "
            f"{day.date()} runs to {(end - pd.Timedelta(days=1)).date()}; wait for the horizon to pass or give a "
            "shorter --horizon-days."
        )
    keep = (when >= start) & (when < end)
    if "status" in orders.columns:
        keep &= orders["status"].astype("string").fillna("completed") == "completed"
    window = orders.loc[keep.to_numpy(dtype=bool)]
    ids = window["customer_id"].astype("string")
    per = pd.DataFrame({"orders": ids.groupby(ids.to_numpy()).size(),
                        "revenue": pd.to_numeric(window["amount"], errors="coerce").fillna(0.0)
                        .groupby(ids.to_numpy()).sum()})
    cid = assignment["customer_id"].astype("string").to_numpy(dtype=object)
    out = assignment.copy()
    out["orders"] = per["orders"].reindex(cid).fillna(0).to_numpy(dtype="float64")
    out["revenue"] = per["revenue"].reindex(cid).fillna(0.0).to_numpy(dtype="float64")
    out["churn"] = (out["orders"] == 0).astype("float64")
    return out


def difference(treated: np.ndarray, control: np.ndarray, *, alpha: float = 0.05, power: float = 0.8) -> dict:
    """Mean of treated - mean of control with a Welch (unequal variances) ``1 - alpha`` interval, its two-sided
    p-value and the minimum detectable difference at ``power`` (normal approximation)."""
    t = np.asarray(treated, dtype="float64")
    c = np.asarray(control, dtype="float64")
    mt, mc = float(t.mean()), float(c.mean())
    vt = float(t.var(ddof=1)) if len(t) > 1 else np.nan
    vc = float(c.var(ddof=1)) if len(c) > 1 else np.nan
    se = float(np.sqrt(vt / len(t) + vc / len(c)))
    diff = mt - mc
    z = float(stats.norm.ppf(1 - alpha / 2))
    if not np.isfinite(se) or se == 0:
        return {"treatment": mt, "control": mc, "difference": diff, "ci_low": diff, "ci_high": diff,
                "p_value": np.nan if not np.isfinite(se) else (0.0 if diff else 1.0), "se": se,
                "mde": np.nan if not np.isfinite(se) else 0.0}
    # Welch-Satterthwaite degrees of freedom for the interval (t quantile; ~z for large groups)
    dof = (vt / len(t) + vc / len(c)) ** 2 / ((vt / len(t)) ** 2 / (len(t) - 1) + (vc / len(c)) ** 2 / (len(c) - 1))
    q = float(stats.t.ppf(1 - alpha / 2, dof))
    p = float(2 * stats.t.sf(abs(diff) / se, dof))
    mde = (z + float(stats.norm.ppf(power))) * se
    return {"treatment": mt, "control": mc, "difference": diff, "ci_low": diff - q * se, "ci_high": diff + q * se,
            "p_value": p, "se": se, "mde": mde}


def wilson_interval(events: float, n: float, *, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson's score interval of a share ``events / n`` (inside [0, 1]; ``(nan, nan)`` for ``n < 1``)."""
    if n < 1:
        return np.nan, np.nan
    z = float(stats.norm.ppf(1 - alpha / 2))
    p = events / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def share_difference(treated: np.ndarray, control: np.ndarray, *, alpha: float = 0.05, power: float = 0.8) -> dict:
    """Share of treated - share of control (0/1 outcomes, e.g. churn) with Newcombe's hybrid score ``1 - alpha``
    interval (his method 10: each group's Wilson interval, combined; inside [-1, 1], near 95% coverage for rare
    events and small groups, where a Welch interval covers far less), the two-sided p-value of the pooled
    two-proportion z test and the minimum detectable difference at ``power`` from the pooled variance (the pooled
    share with one event and one non-event added, so two groups without any event still need a sample; at most 1).
    """
    t = np.asarray(treated, dtype="float64")
    c = np.asarray(control, dtype="float64")
    nt, nc, kt, kc = len(t), len(c), float(t.sum()), float(c.sum())
    pt, pc = kt / nt, kc / nc
    diff = pt - pc
    lt, ut = wilson_interval(kt, nt, alpha=alpha)
    lc, uc = wilson_interval(kc, nc, alpha=alpha)
    low = diff - float(np.sqrt((pt - lt) ** 2 + (uc - pc) ** 2))
    high = diff + float(np.sqrt((ut - pt) ** 2 + (pc - lc) ** 2))
    z = float(stats.norm.ppf(1 - alpha / 2))
    pooled = (kt + kc) / (nt + nc)
    se0 = float(np.sqrt(pooled * (1 - pooled) * (1 / nt + 1 / nc)))
    p = float(2 * stats.norm.sf(abs(diff) / se0)) if se0 > 0 else (0.0 if diff else 1.0)
    padded = (kt + kc + 1) / (nt + nc + 2)
    mde = min(1.0, (z + float(stats.norm.ppf(power))) * float(np.sqrt(padded * (1 - padded) * (1 / nt + 1 / nc))))
    return {"treatment": pt, "control": pc, "difference": diff, "ci_low": max(-1.0, low), "ci_high": min(1.0, high),
            "p_value": p, "se": se0, "mde": mde}


def measure_effect(
    outcomes: pd.DataFrame,
    *,
    levels: Sequence[str] = ("action", "loyalty_tier", "risk_band"),
    alpha: float = 0.05,
    power: float = 0.8,
    targets: Mapping[str, float] | None = None,
    costs: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """The effect table (:data:`EFFECT_COLUMNS`): one row per (level, group, outcome); level ``all`` first.

    ``targets``: the smallest difference worth detecting per outcome (absolute; default: 5 churn points, 0.5 orders
    and 10% of the control group's mean revenue); ``large_enough`` is ``mde <= target``.
    ``costs``: the cost per treated customer by action (:func:`action_costs`); None: no cost (0). An action that
    is not in ``costs`` has an unknown cost: its groups get no ``cost`` / ``net`` and a note saying so.
    """
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise DataQualityError(f"alpha and power must be in (0, 1); got {alpha} and {power}.")
    targets = {"churn": 0.05, "orders": 0.5, **(targets or {})}
    action = outcomes["action"].astype("string")
    unit_cost = (pd.Series(0.0, index=outcomes.index) if costs is None
                 else action.map(lambda a: costs.get(str(a), np.nan)).astype("float64"))
    outcomes = outcomes.assign(_cost=unit_cost.where(outcomes["group"] == "treatment", 0.0))
    rows = []
    parts: list[tuple[str, str, pd.DataFrame]] = [("all", "all", outcomes)]
    for level in levels:
        for key, part in outcomes.groupby(outcomes[level].astype("string"), sort=True):
            parts.append((level, str(key), part))
    for level, key, part in parts:
        is_t = (part["group"] == "treatment").to_numpy(dtype=bool)
        nt, nc = int(is_t.sum()), int((~is_t).sum())
        cost = float(part["_cost"].sum(skipna=False))
        unknown = sorted(set(part.loc[part["_cost"].isna(), "action"].astype(str)))
        for outcome in OUTCOMES:
            row = {"level": level, "group": key, "outcome": outcome, "n_treatment": nt, "n_control": nc,
                   "cost": cost}
            if nt < 2 or nc < 2:
                side = "control" if nc < 2 else "treatment"
                rows.append(row | {"note": f"fewer than 2 {side} customers: no estimate"})
                continue
            y = part[outcome].to_numpy(dtype="float64")
            compare = share_difference if outcome == "churn" else difference
            d = compare(y[is_t], y[~is_t], alpha=alpha, power=power)
            target = targets.get(outcome, 0.1 * abs(d["control"]))
            rows.append(row | {k: d[k] for k in ("treatment", "control", "difference", "ci_low", "ci_high",
                                                 "p_value", "mde")}
                        | {"target": float(target), "large_enough": bool(d["mde"] <= target),
                           "note": f"cost unknown for {unknown} (not in the action table)" if unknown else "",
                           "total": d["difference"] * nt, "total_low": d["ci_low"] * nt,
                           "total_high": d["ci_high"] * nt}
                        | ({"net": d["difference"] * nt - cost, "net_low": d["ci_low"] * nt - cost,
                            "net_high": d["ci_high"] * nt - cost} if outcome == "revenue" else {}))
    table = pd.DataFrame(rows, columns=list(EFFECT_COLUMNS))
    table["large_enough"] = table["large_enough"].astype("boolean")
    return table


def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error control over the given tests; NaN stays NaN and is not
    counted as a test): the i-th smallest of m p-values times (m - i + 1), made monotone, at most 1."""
    p = np.asarray(p_values, dtype="float64")
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if not len(ok):
        return out
    order = ok[np.argsort(p[ok], kind="mergesort")]
    m = len(order)
    adjusted = np.maximum.accumulate(p[order] * (m - np.arange(m)))
    out[order] = np.minimum(adjusted, 1.0)
    return out


def _verdict(row: Mapping[str, object], alpha: float = 0.05) -> str:
    low, high = row.get("churn_ci_low"), row.get("churn_ci_high")
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return "no_estimate"
    if float(high) < 0 or float(low) > 0:  # type: ignore[arg-type]
        adjusted = row.get("churn_p_adjusted")
        tests = row.get("tests")
        several = tests is not None and pd.notna(tests) and int(tests) > 1  # type: ignore[call-overload]
        if several and adjusted is not None and pd.notna(adjusted) and not float(adjusted) < alpha:  # type: ignore[arg-type]
            return "chance"
        return "works" if float(high) < 0 else "negative"  # type: ignore[arg-type]
    return "no_effect" if bool(row.get("large_enough")) else "inconclusive"


def is_flagged(row: Mapping[str, object]) -> bool:
    """Whether the report, the effect run's metrics and the demo flag a group: contact raised churn (``negative``),
    the sample was too small to tell (``inconclusive``), or churn rose by a margin that may be chance once the
    level's groups are tested together (``chance`` with a positive difference)."""
    verdict = row.get("verdict")
    if verdict in ("negative", "inconclusive"):
        return True
    diff = row.get("churn_difference")
    return verdict == "chance" and diff is not None and pd.notna(diff) and float(diff) > 0  # type: ignore[arg-type]


def effect_summary(table: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """One row per (level, group) of an effect table (:data:`SUMMARY_COLUMNS`), in the table's order.

    ``saved`` = -(churn difference) x treated customers (customers kept by the action; ``saved_low`` /
    ``saved_high`` from the interval), ``revenue_kept`` = revenue difference x treated customers, ``net`` =
    revenue kept - the treated customers' action cost, ``large_enough`` / ``mde`` of the churn difference, and
    the :data:`VERDICTS` key. ``churn_p_value`` is the churn difference's two-sided p-value, ``churn_p_adjusted``
    its Holm adjustment over the groups of its level with an estimate (``tests`` of them; the overall row is one
    test), which a ``works`` / ``negative`` verdict needs below ``alpha`` (else ``chance``).
    """
    rows = []
    for (level, group), part in table.groupby(["level", "group"], sort=False):
        by = part.set_index("outcome")
        churn, revenue = by.loc["churn"], by.loc["revenue"]
        row = {
            "level": level, "group": group, "n_treatment": int(churn["n_treatment"]),
            "n_control": int(churn["n_control"]), "churn_treatment": churn["treatment"],
            "churn_control": churn["control"], "churn_difference": churn["difference"],
            "churn_ci_low": churn["ci_low"], "churn_ci_high": churn["ci_high"],
            "large_enough": churn["large_enough"], "mde": churn["mde"],
            "saved": -churn["total"], "saved_low": -churn["total_high"], "saved_high": -churn["total_low"],
            "revenue_kept": revenue["total"], "revenue_kept_low": revenue["total_low"],
            "revenue_kept_high": revenue["total_high"], "cost": revenue["cost"], "net": revenue["net"],
            "net_low": revenue["net_low"], "net_high": revenue["net_high"],
            "note": churn["note"] if isinstance(churn["note"], str) else "",
            "churn_p_value": churn["p_value"],
        }
        rows.append(row)
    frame = pd.DataFrame(rows)
    if len(frame):
        p = pd.to_numeric(frame["churn_p_value"], errors="coerce")
        frame["churn_p_adjusted"] = np.nan
        frame["tests"] = 0
        for _, idx in frame.groupby("level", sort=False).groups.items():
            frame.loc[idx, "churn_p_adjusted"] = holm(p.loc[idx].to_numpy())
            frame.loc[idx, "tests"] = int(p.loc[idx].notna().sum())
        frame["verdict"] = [_verdict(r, alpha) for r in frame.to_dict("records")]
    out = frame.reindex(columns=list(SUMMARY_COLUMNS))
    out["large_enough"] = out["large_enough"].astype("boolean")
    return out
