"""Control groups for the action plan: a random share of each action's customers gets no action, so the action's
effect can be measured later (treatment vs control, :mod:`loyalist.batch.effect`).

The split is stratified by (action, loyalty tier, risk band) and deterministic: each customer's place in its stratum
comes from a keyed hash of the seed and the customer id as published (the pseudonym when pseudonymisation is on), so
scoring the same customers again with the same seed holds out the same customers. In a stratum of ``n`` customers,
``round(n * share)`` (halves up) are held out: the share is exact up to half a customer per stratum; a stratum of
fewer than ``0.5 / share`` customers has no control customer.

Customers without a recommended action are in no group (nothing to hold out).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import pandas as pd

from loyalist.errors import DataQualityError

__all__ = ["ASSIGNMENT_COLUMNS", "STRATA", "control_draws", "assign_control", "hold_out", "assignment_summary",
           "campaign_name"]

#: The columns a control assignment is stratified by (columns of the risk list).
STRATA: tuple[str, ...] = ("recommended_action", "loyalty_tier", "risk_band")

#: Columns of the assignment table written beside the list (``churn_risk_control.parquet``).
ASSIGNMENT_COLUMNS: tuple[str, ...] = (
    "campaign", "campaign_date", "customer_id", "action", "loyalty_tier", "risk_band", "group", "share", "seed",
)


def campaign_name(campaign: str | None, as_of: pd.Timestamp) -> str:
    """The campaign's name: the configured one, else ``retention-<as-of date>`` (the same on both engines)."""
    return campaign or f"retention-{pd.Timestamp(as_of).date()}"


def control_draws(ids: pd.Series | Sequence[str], seed: int) -> np.ndarray:
    """A uniform number in [0, 1) per id, from BLAKE2b of the seed and the id (the same on every machine and run)."""
    salt = f"loyalist-control:{int(seed)}:".encode()
    blake = hashlib.blake2b
    texts = pd.Series(ids, dtype="string").fillna("").to_numpy(dtype=object)
    # the digests read as big-endian 64-bit integers by numpy at once (the same numbers as int.from_bytes per id,
    # a third less CPU on a million customers: the control group is on the job's single-threaded tail, issue 14)
    digests = b"".join([blake(salt + str(cid).encode("utf-8"), digest_size=8).digest() for cid in texts])
    return np.frombuffer(digests, dtype=">u8").astype("float64") / 2.0**64


def assign_control(
    risk: pd.DataFrame,
    *,
    share: float,
    seed: int,
    campaign: str,
    campaign_date: str,
    strata: Sequence[str] = STRATA,
) -> pd.DataFrame:
    """The control assignment of a risk list: one row per customer with a recommended action.

    Parameters
    ----------
    risk : the published list (``customer_id`` and the ``strata`` columns; ``recommended_action`` empty = no action).
    share : the share held out per stratum, in (0, 1).
    seed : the seed of the split.
    campaign, campaign_date : written on every row (the campaign's name and its date, the list's as-of date).

    Returns
    -------
    DataFrame with :data:`ASSIGNMENT_COLUMNS` (``group`` is ``"control"`` or ``"treatment"``; ``action`` is the
    action the customer gets, or is held out from), in the list's order.
    """
    if not 0 < share < 1:
        raise DataQualityError(f"The control share must be strictly between 0 and 1; got {share!r} "
                               "(scoring_job.control_group.share).")
    missing = [c for c in ("customer_id", *strata) if c not in risk.columns]
    if missing:
        raise DataQualityError(f"The risk list lacks the column(s) {missing} the control groups are drawn by; pass "
                               "a list written by 'loyalist score'.")
    if risk["customer_id"].duplicated().any():
        dup = risk.loc[risk["customer_id"].duplicated(), "customer_id"].iloc[0]
        raise DataQualityError(f"The risk list has customer {dup!r} more than once; a control group needs one row "
                               "per customer.")
    action = risk["recommended_action"].astype("string").fillna("")
    # the columns read below only, not a copy of every column of the list's rows with an action
    needed = list(dict.fromkeys(["customer_id", *strata, "recommended_action", "loyalty_tier", "risk_band"]))
    rows = risk.loc[(action.str.len() > 0).to_numpy(), needed]
    keys = [rows[c].astype("string").fillna("") for c in strata]
    # Arrow-backed strings, not Python objects (the bilingual action texts as one object per row): the control-group
    # stage rose ~690 MB at 1M customers (issue 14)
    frame = pd.DataFrame({f"k{i}": k for i, k in enumerate(keys)}, index=rows.index)
    frame["u"] = control_draws(rows["customer_id"], seed)
    frame["id"] = rows["customer_id"].astype("string")
    by = [f"k{i}" for i in range(len(keys))]
    # rank by the draw, ties (a 64-bit collision) by id: independent of the list's row order
    order = frame.sort_values(["u", "id"], kind="mergesort")
    rank = order.groupby(by, sort=False).cumcount().reindex(frame.index) + 1
    size = frame.groupby(by, sort=False)["u"].transform("size")
    held = rank.to_numpy() <= np.floor(size.to_numpy() * share + 0.5)
    return pd.DataFrame({
        "campaign": pd.Series(campaign, index=rows.index, dtype="string"),
        "campaign_date": pd.Series(pd.Timestamp(campaign_date), index=rows.index),
        "customer_id": rows["customer_id"].astype("string"),
        "action": rows["recommended_action"].astype("string"),
        "loyalty_tier": rows["loyalty_tier"].astype("string"),
        "risk_band": rows["risk_band"].astype("string"),
        "group": pd.Series(np.where(held, "control", "treatment"), index=rows.index, dtype="string"),
        "share": float(share),
        "seed": int(seed),
    }, columns=list(ASSIGNMENT_COLUMNS)).reset_index(drop=True)


def hold_out(risk: pd.DataFrame, assignment: pd.DataFrame) -> pd.DataFrame:
    """The list with ``control_group`` set (True for the assignment's control customers) and no action for them:
    their ``recommended_action`` and ``owner_department`` are emptied. Returns a new frame, same rows and order."""
    control = set(assignment.loc[assignment["group"] == "control", "customer_id"].astype(str))
    flag = risk["customer_id"].astype("string").isin(control).to_numpy(dtype=bool)
    out = risk.assign(control_group=pd.array(flag, dtype="boolean"))
    for c in ("recommended_action", "owner_department"):
        if c in out.columns:
            out[c] = out[c].astype("string").mask(flag, "")
    return out


def assignment_summary(assignment: pd.DataFrame) -> dict:
    """Counts of an assignment (plain JSON-able data): customers with an action, control, treatment, the strata
    and the strata without a control customer (too small for the share)."""
    groups = assignment.groupby(["action", "loyalty_tier", "risk_band"], observed=True, sort=True)["group"]
    control = groups.apply(lambda g: int((g == "control").sum()))
    size = groups.size()
    first = assignment.iloc[0] if len(assignment) else None
    return {
        "campaign": str(first["campaign"]) if first is not None else None,
        "campaign_date": str(pd.Timestamp(first["campaign_date"]).date()) if first is not None else None,
        "share": float(first["share"]) if first is not None else None,
        "seed": int(first["seed"]) if first is not None else None,
        "customers": int(len(assignment)),
        "control": int((assignment["group"] == "control").sum()),
        "treatment": int((assignment["group"] == "treatment").sum()),
        "strata": int(len(size)),
        "strata_without_control": int((control == 0).sum()),
        "customers_in_strata_without_control": int(size[control == 0].sum()),
    }
