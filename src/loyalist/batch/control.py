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
           "campaign_name", "campaign_run_fields"]

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
    import pyarrow as pa

    salted = hashlib.blake2b(f"loyalist-control:{int(seed)}:".encode(), digest_size=8)
    # the ids' UTF-8 bytes from Arrow (no str and encode per id), each hashed by a copy of the salted state (the
    # same digest as hashing salt + id): ~40% less CPU on a million ids than a new hash of a joined bytes per id;
    # the control group is on the scoring job's single-threaded tail (issue 14)
    texts = pa.array(pd.Series(ids, dtype="string").fillna(""), type=pa.large_string())
    digests = []
    for raw in texts.cast(pa.large_binary()).to_pylist():
        h = salted.copy()
        h.update(raw)
        digests.append(h.digest())
    # the digests read as big-endian 64-bit integers by numpy at once (the same numbers as int.from_bytes per id)
    return np.frombuffer(b"".join(digests), dtype=">u8").astype("float64") / 2.0**64


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
    _refuse_duplicates(risk["customer_id"])
    action = risk["recommended_action"].astype("string").fillna("")
    # the columns read below only, not a copy of every column of the list's rows with an action
    needed = list(dict.fromkeys(["customer_id", *strata, "recommended_action", "loyalty_tier", "risk_band"]))
    rows = risk.loc[(action.str.len() > 0).to_numpy(), needed]
    u = control_draws(rows["customer_id"], seed)
    held = _held(u, rows["customer_id"], [rows[c] for c in strata], share)
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


def _refuse_duplicates(ids: pd.Series) -> None:
    """One sentence naming the first id that is on the list twice (missing ids count as one value)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = pa.array(ids.astype("string"), type=pa.large_string())
    if len(pc.unique(values)) == len(values):  # Arrow's hash table (a missing id is one value): no Python per id
        return
    dup = ids.loc[ids.duplicated()].iloc[0]
    raise DataQualityError(f"The risk list has customer {dup!r} more than once; a control group needs one row "
                           "per customer.")


def _held(u: np.ndarray, ids: pd.Series, keys: Sequence[pd.Series], share: float) -> np.ndarray:
    """Whether each row is held out: its rank by the draw ``u`` (ties, a 64-bit collision, by id) within its
    stratum (the ``keys`` as text, missing as "") is at most ``round(size * share)``, halves up.

    The ranks are numpy sorts of the draws and the strata's codes (issue 14: pandas' sort of the draws with the ids
    as a second key and its grouped cumcount were ~2 of the control group's ~4 CPU s at 1M customers, on the
    scoring job's single-threaded tail); with a tie in the draws the order is pandas' sort by (draw, id), as before.
    """
    m = len(u)
    order = np.argsort(u, kind="stable")
    ranked = u[order]
    if m > 1 and bool((ranked[1:] == ranked[:-1]).any()):  # equal draws: the id decides, as it always did
        frame = pd.DataFrame({"u": u, "id": ids.astype("string").to_numpy()})
        order = frame.sort_values(["u", "id"], kind="mergesort").index.to_numpy()
    group = np.zeros(m, dtype=np.int64)
    for key in keys:  # one code per distinct (action, tier, band): mixed radix over each key's codes
        codes, uniques = pd.factorize(key.astype("string").fillna(""))
        group = group * max(len(uniques), 1) + codes
    group = pd.factorize(group)[0]  # dense codes (the radix product can exceed the rows)
    in_order = group[order]
    by_group = np.argsort(in_order, kind="stable")  # each stratum's rows together, by draw within it
    sizes = np.bincount(group, minlength=1)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rank = np.empty(m, dtype=np.int64)
    rank[order[by_group]] = np.arange(m) - starts[in_order[by_group]] + 1
    return rank <= np.floor(sizes[group] * share + 0.5)


def hold_out(risk: pd.DataFrame, assignment: pd.DataFrame) -> pd.DataFrame:
    """The list with ``control_group`` set (True for the assignment's control customers) and no action for them:
    their ``recommended_action`` and ``owner_department`` are emptied. Returns a new frame, same rows and order."""
    import pyarrow as pa
    import pyarrow.compute as pc

    control = pa.array(assignment.loc[assignment["group"] == "control", "customer_id"].astype(str).to_numpy(
        dtype=object), type=pa.large_string())
    # Arrow's hash look-up, not pandas' isin (which turned the set into Python scalars per call), issue 14
    ids = pa.array(risk["customer_id"].astype("string"), type=pa.large_string())
    flag = pc.is_in(ids, value_set=control).to_numpy(zero_copy_only=False).astype(bool)
    out = risk.assign(control_group=pd.array(flag, dtype="boolean"))
    for c in ("recommended_action", "owner_department"):
        if c in out.columns:
            out[c] = out[c].astype("string").mask(flag, "")
    return out


def assignment_summary(assignment: pd.DataFrame) -> dict:
    """Counts of an assignment (plain JSON-able data): customers with an action, control, treatment, the strata
    and the strata without a control customer (too small for the share), and per action (by its text) its
    customers and control customers."""
    groups = assignment.groupby(["action", "loyalty_tier", "risk_band"], observed=True, sort=True)["group"]
    control = groups.apply(lambda g: int((g == "control").sum()))
    size = groups.size()
    held = (assignment["group"] == "control").groupby(assignment["action"].astype(str), sort=True)
    actions = [{"action": str(a), "customers": int(g.size), "control": int(g.sum())} for a, g in held]
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
        "actions": actions,
    }


def campaign_run_fields(block: dict) -> tuple[dict[str, str], dict[str, object]]:
    """The scoring run's MLflow tags and params of its control assignment (the list summary's ``control_group``
    block): ``campaign`` / ``campaign_date`` tags, as the effect and uplift runs carry them, so a campaign's
    assignment is found by name in MLflow, and params with its seed, share and actions (``control.action.<i>``)."""
    tags = {"campaign": str(block["campaign"]), "campaign_date": str(block["campaign_date"])}
    params: dict[str, object] = {"control.campaign": block["campaign"], "control.campaign_date": block["campaign_date"],
                                 "control.seed": block["seed"], "control.share": block["share"]}
    params |= {f"control.action.{i}": a["action"] for i, a in enumerate(block.get("actions") or [], 1)}
    return tags, params
