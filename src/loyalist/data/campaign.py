"""Simulated campaign outcomes with a known effect, for testing the effect measurement (issue 16 §2) and targeting
by uplift (§3).

:func:`plant_effect` takes orders (e.g. from :func:`loyalist.data.synthetic.generate`) and a control assignment
(:func:`loyalist.batch.control.assign_control`) and makes the action work: each control customer, with probability
``effect``, places none of the orders it would have placed in the horizon after the campaign (the action kept
the treated ones buying). The truth is recorded: the expected difference treatment - control per outcome over the
assigned customers.

:func:`simulate_uplift_campaign` makes the effect differ from customer to customer, with four recorded types (see
its docstring): persuadables stay only if contacted, sure things stay anyway, lost causes leave anyway and
sleeping dogs leave because they were contacted. The type depends on what the customer looked like at the campaign
date (the snapshot), so an uplift model can learn it, and the true per-customer effect is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from loyalist.errors import DataQualityError

__all__ = ["plant_effect", "CampaignResponse", "CUSTOMER_TYPES", "simulate_uplift_campaign"]


def plant_effect(
    orders: pd.DataFrame, assignment: pd.DataFrame, *, horizon_days: int, effect: float, seed: int = 0
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Orders with the planted effect, and the true differences (treatment - control) per outcome.

    Returns
    -------
    (orders, truth) : the orders without the removed control customers' window orders (same columns), and
        ``{"churn": -effect * share of assigned customers with a window order, "orders": effect * mean window
        orders, "revenue": effect * mean window revenue}`` over the assigned customers (the expected effect of
        the action on a customer drawn from them).
    """
    if not 0 <= effect <= 1:
        raise ValueError(f"effect must be a probability in [0, 1]; got {effect}")
    day = pd.Timestamp(pd.to_datetime(assignment["campaign_date"]).iloc[0]).normalize()
    start, end = day + pd.Timedelta(days=1), day + pd.Timedelta(days=1 + int(horizon_days))
    when = pd.to_datetime(orders["order_date"])
    ids = orders["customer_id"].astype("string")
    completed = (orders["status"].astype("string").fillna("completed") == "completed") if "status" in orders \
        else pd.Series(True, index=orders.index)
    in_window = (when >= start) & (when < end)
    counted = in_window & completed
    assigned = assignment["customer_id"].astype("string")
    n_orders = ids[counted].value_counts().reindex(assigned.to_numpy()).fillna(0).to_numpy(dtype="float64")
    revenue = (pd.to_numeric(orders.loc[counted, "amount"], errors="coerce").fillna(0.0)
               .groupby(ids[counted].to_numpy()).sum().reindex(assigned.to_numpy()).fillna(0.0).to_numpy())
    truth = {"churn": -effect * float((n_orders > 0).mean()), "orders": effect * float(n_orders.mean()),
             "revenue": effect * float(revenue.mean())}
    control = assigned[(assignment["group"] == "control").to_numpy(dtype=bool)].to_numpy(dtype=object)
    rng = np.random.default_rng(seed)
    lost = set(control[rng.random(len(control)) < effect])
    drop = in_window & ids.isin(lost)
    return orders.loc[~drop.to_numpy(dtype=bool)].reset_index(drop=True), truth


#: The four customer types of a campaign: (churns if not contacted, churns if contacted).
CUSTOMER_TYPES: dict[str, tuple[int, int]] = {
    "persuadable": (1, 0), "sure_thing": (0, 0), "lost_cause": (1, 1), "sleeping_dog": (0, 1),
}


@dataclass(frozen=True)
class CampaignResponse:
    """How customers respond to a retention contact (log-odds; see :func:`simulate_uplift_campaign`).

    Persuadable, among customers who would leave: ``persuade + service * [a complaint or a slow ticket in the
    last 90 days / an open ticket] - gone * clip((recency_days - 90) / 90, 0, 3)``: a call fixes a service problem,
    but does not bring back a customer long gone. Sleeping dog, among customers who would stay: ``dog + quiet *
    [fewer than quiet_orders orders a year and no complaint in the look-back window]``: a call reminds a quiet,
    content customer to review the supplier.
    """

    persuade: float = 1.0
    service: float = 1.5
    gone: float = 2.5
    dog: float = -3.0
    quiet: float = 3.5
    quiet_orders: float = 8.0


def _logistic(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def simulate_uplift_campaign(
    orders: pd.DataFrame,
    assignment: pd.DataFrame,
    snapshot: pd.DataFrame,
    *,
    horizon_days: int,
    seed: int = 0,
    response: CampaignResponse | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A campaign whose effect differs per customer, with the truth recorded.

    ``orders`` are the world without the campaign (e.g. :func:`loyalist.data.synthetic.generate`); a customer
    *churns* when it has no completed order in (D, D + horizon] (D = ``campaign_date``, as
    :func:`loyalist.batch.effect.campaign_outcomes` counts it). Each assigned customer gets a type: a customer
    who churns without the campaign is a ``persuadable`` with the probability of :class:`CampaignResponse`, else a
    ``lost_cause``; one who stays is a ``sleeping_dog`` with its probability, else a ``sure_thing``. The
    contacted (``group == "treatment"``) persuadables then buy in the window (a Poisson number, at least one, of
    orders at their look-back rate and mean amount, dated uniformly in the window) and the contacted sleeping dogs
    place none of their window orders. Control customers keep their orders.

    Parameters
    ----------
    assignment : customer_id, group (``control`` / ``treatment``), campaign_date (one date).
    snapshot : the features at D (:func:`loyalist.features.snapshot.build_snapshot`), one row per assigned
        customer: customer_id, recency_days, n_orders, monetary_total, monetary_mean, purchase_frequency and,
        when present, n_complaints_recent, n_slow_tickets, open_tickets, n_complaints (missing = 0).

    Returns
    -------
    (orders, truth) : the orders of the world with the campaign (same columns; added orders have order_id
        ``sim-<n>`` and status ``completed``), and one row per assigned customer: customer_id, group, type,
        p_persuadable, p_sleeping_dog, churn_if_control, churn_if_contacted, revenue_if_control,
        revenue_if_contacted, effect_churn (= churn_if_contacted - churn_if_control: -1 kept, +1 driven away),
        effect_revenue (revenue over the horizon kept by contacting: contacted - control), in assignment order.
    """
    r = response or CampaignResponse()
    need = ["customer_id", "recency_days", "n_orders", "monetary_total", "monetary_mean", "purchase_frequency"]
    missing = [c for c in need if c not in snapshot.columns]
    if missing:
        raise DataQualityError(f"The snapshot lacks the column(s) {missing} the campaign simulation needs; pass "
                               "build_snapshot's table at the campaign date.")
    dates = pd.to_datetime(assignment["campaign_date"]).dropna().unique()
    if len(dates) != 1:
        raise DataQualityError(f"The campaign assignment has {len(dates)} campaign dates; expected exactly one.")
    ids = assignment["customer_id"].astype("string")
    feats = snapshot.assign(customer_id=snapshot["customer_id"].astype("string")).set_index("customer_id")
    absent = ids[~ids.isin(feats.index)]
    if len(absent):
        raise DataQualityError(f"{len(absent)} campaign customer(s) (e.g. {absent.iloc[0]!r}) are not in the "
                               "snapshot at the campaign date; build it from the same orders and date.")
    f = feats.reindex(ids.to_numpy())

    def col(name: str) -> np.ndarray:
        if name not in f.columns:
            return np.zeros(len(f))
        return pd.to_numeric(f[name], errors="coerce").fillna(0.0).to_numpy(dtype="float64")

    day = pd.Timestamp(dates[0]).normalize()
    start, end = day + pd.Timedelta(days=1), day + pd.Timedelta(days=1 + int(horizon_days))
    when = pd.to_datetime(orders["order_date"])
    oid = orders["customer_id"].astype("string")
    completed = (orders["status"].astype("string").fillna("completed") == "completed") if "status" in orders \
        else pd.Series(True, index=orders.index)
    in_window = ((when >= start) & (when < end)).to_numpy(dtype=bool)
    counted = in_window & completed.to_numpy(dtype=bool)
    revenue0 = (pd.to_numeric(orders.loc[counted, "amount"], errors="coerce").fillna(0.0)
                .groupby(oid[counted].to_numpy()).sum().reindex(ids.to_numpy()).fillna(0.0).to_numpy())
    churn0 = ~ids.isin(set(oid[counted].dropna())).to_numpy(dtype=bool)

    service = ((col("n_complaints_recent") > 0) | (col("n_slow_tickets") > 0) | (col("open_tickets") > 0))
    p_persuade = _logistic(r.persuade + r.service * service
                           - r.gone * np.clip((col("recency_days") - 90.0) / 90.0, 0.0, 3.0))
    quiet = (col("purchase_frequency") < r.quiet_orders) & (col("n_complaints") == 0)
    p_dog = _logistic(r.dog + r.quiet * quiet)
    rng = np.random.default_rng(seed)
    u = rng.random(len(ids))
    persuadable = churn0 & (u < p_persuade)
    dog = ~churn0 & (u < p_dog)
    kind = np.where(churn0, np.where(persuadable, "persuadable", "lost_cause"),
                    np.where(dog, "sleeping_dog", "sure_thing"))
    # what a persuadable buys when kept: its look-back rate over the horizon (at least one order)
    rate = col("n_orders") / 365.0 * int(horizon_days)
    n_new = np.where(persuadable, np.maximum(1, rng.poisson(rate)), 0)
    mean_amount = np.where(col("monetary_mean") > 0, col("monetary_mean"), col("monetary_total") /
                           np.maximum(col("n_orders"), 1.0))
    revenue1 = np.where(persuadable, n_new * mean_amount, np.where(dog, 0.0, revenue0))
    treated = (assignment["group"].astype("string") == "treatment").to_numpy(dtype=bool)

    add = np.flatnonzero(persuadable & treated)
    counts = n_new[add]
    new_ids = np.repeat(ids.to_numpy(dtype=object)[add], counts)
    offsets = rng.random(int(counts.sum())) * int(horizon_days) * 86400.0
    added = pd.DataFrame({
        "order_id": [f"sim-{i}" for i in range(len(new_ids))],
        "customer_id": pd.array(new_ids, dtype=orders["customer_id"].dtype),
        "order_date": start + pd.to_timedelta(np.floor(offsets), unit="s"),
        "amount": np.repeat(mean_amount[add], counts),
    })
    if "status" in orders.columns:
        added["status"] = "completed"
    drop = in_window & oid.isin(set(ids.to_numpy(dtype=object)[dog & treated])).to_numpy(dtype=bool)
    kept = orders.loc[~drop]
    world = pd.concat([kept, added.astype({c: kept[c].dtype for c in added.columns if c in kept.columns
                                           and c not in ("order_id", "customer_id", "order_date")})],
                      ignore_index=True)
    world = world.sort_values("order_date", kind="mergesort").reset_index(drop=True)
    churn1 = np.where(persuadable, False, np.where(dog, True, churn0))
    truth = pd.DataFrame({
        "customer_id": ids.to_numpy(dtype=object), "group": assignment["group"].astype("string").to_numpy(),
        "type": kind, "p_persuadable": np.where(churn0, p_persuade, 0.0), "p_sleeping_dog": np.where(churn0, 0.0, p_dog),
        "churn_if_control": churn0.astype(int), "churn_if_contacted": churn1.astype(int),
        "revenue_if_control": revenue0, "revenue_if_contacted": revenue1,
    })
    truth["effect_churn"] = truth["churn_if_contacted"] - truth["churn_if_control"]
    truth["effect_revenue"] = truth["revenue_if_contacted"] - truth["revenue_if_control"]
    return world, truth
