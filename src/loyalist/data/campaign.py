"""Simulated campaign outcomes with a known effect, for testing the effect measurement (issue 16 §2).

:func:`plant_effect` takes orders (e.g. from :func:`loyalist.data.synthetic.generate`) and a control assignment
(:func:`loyalist.batch.control.assign_control`) and makes the action work: each control customer, with probability
``effect``, places none of the orders it would have placed in the horizon after the campaign (the action kept
the treated ones buying). The truth is recorded: the expected difference treatment - control per outcome over the
assigned customers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["plant_effect"]


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
