"""A plain pandas implementation of the snapshot, for the benchmark and as an independent correctness check.

It computes the same columns as ``loyalist.features.build_snapshot`` (definitions in
``loyalist/features/columns.py``) with vectorised pandas/numpy only: customer ids are factorised once to integer
codes, every indicator is a ``groupby`` on those codes (``sort=False``), the inter-purchase gaps come from
``drop_duplicates`` + ``diff`` on (customer, day) pairs, and RFM uses ``rank``. It shares no code with the SQL path
(only the config object and the column list), so agreement between the two is evidence that both are right.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from loyalist.config.models import FeatureConfig
from loyalist.features.columns import SNAPSHOT_COLUMNS

__all__ = ["snapshot_pandas"]

def _whole_days(later: pd.Series, earlier: pd.Series | pd.Timestamp) -> np.ndarray:
    return ((later - earlier) // pd.Timedelta(days=1)).to_numpy()


def _rfm(values: pd.Series, bins: int, higher_is_better: bool) -> np.ndarray:
    if values.dtype.kind == "f":  # ties are judged to 12 significant digits (float summation noise)
        v = values.to_numpy(dtype=np.float64)
        ok = np.isfinite(v) & (v != 0)
        unit = 10.0 ** (np.floor(np.log10(np.where(ok, np.abs(v), 1.0))) - 11)
        values = pd.Series(np.where(ok, np.round(v / unit) * unit, v), index=values.index)
    rank = (values if higher_is_better else -values).rank(method="average", pct=True)
    return np.ceil(np.round(rank.to_numpy() * bins, 9)).astype(np.int64)


def _segment(r: np.ndarray, f: np.ndarray, m: np.ndarray) -> np.ndarray:
    fm = (f + m) / 2
    out = np.full(len(r), "", dtype=object)
    # the same disjoint 11-segment grid as loyalist.features.rfm, written as an explicit table lookup
    grid = {
        5: [(4.0, "champions"), (3.0, "loyal_customers"), (1.5, "potential_loyalists"), (1.0, "new_customers")],
        4: [(4.0, "champions"), (3.0, "loyal_customers"), (1.5, "potential_loyalists"), (1.0, "promising")],
        3: [(3.0, "loyal_customers"), (2.0, "need_attention"), (1.0, "about_to_sleep")],
        2: [(2.0, "at_risk"), (1.0, "hibernating")],
        1: [(4.0, "cannot_lose_them"), (2.0, "at_risk"), (1.0, "lost")],
    }
    for score, bands in grid.items():
        for low, name in bands:
            hit = (r == score) & (fm >= low) & (out == "")
            out[hit] = name
    return out


def snapshot_pandas(tables: dict[str, pd.DataFrame], as_of, config: FeatureConfig) -> pd.DataFrame:
    """The snapshot at ``as_of`` computed with pandas; same rows, columns and dtypes as ``build_snapshot``."""
    day = pd.Timestamp(as_of).normalize()
    t = day + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)  # a cut-off date means the end of that day
    w_start = t - pd.Timedelta(days=config.lookback_days)
    tr = pd.Timedelta(days=config.trend_window_days)

    orders = tables["orders"]
    orders = orders[orders["order_date"] <= t]
    status = orders["status"] if "status" in orders.columns else pd.Series("completed", index=orders.index)
    codes, uniques = pd.factorize(orders["customer_id"])
    comp_mask = (status == "completed").to_numpy()
    date = orders["order_date"].to_numpy()
    amount = orders["amount"].to_numpy(dtype=np.float64)
    c = pd.DataFrame({"code": codes[comp_mask], "date": date[comp_mask], "amount": amount[comp_mask]})
    for col in ("category", "product_id"):
        if col in orders.columns:
            c[col] = orders[col].to_numpy()[comp_mask]
    if "margin" in orders.columns or "cost" in orders.columns:
        margin = orders["margin"].to_numpy(dtype=np.float64) if "margin" in orders.columns else None
        from_cost = amount - orders["cost"].to_numpy(dtype=np.float64) if "cost" in orders.columns else None
        if margin is not None and from_cost is not None:
            margin = np.where(np.isnan(margin), from_cost, margin)
        elif margin is None:
            margin = from_cost
        c["margin"] = margin[comp_mask]
    else:
        c["margin"] = np.nan
    c["day"] = c["date"].dt.floor("D")
    in_w = c["date"] > w_start
    cw = c[in_w]

    g_all = c.groupby("code", sort=False)
    out = pd.DataFrame({
        "n_orders_total": g_all.size(),
        "first_order_date": g_all["date"].min(),
        "last_order_date": g_all["date"].max(),
    })
    g_w = cw.groupby("code", sort=False)
    wstats = pd.DataFrame({
        "n_orders": g_w.size(),
        "monetary_total": g_w["amount"].sum(),
        "monetary_mean": g_w["amount"].mean(),
        "monetary_std": g_w["amount"].std(ddof=1),
        "margin_total": g_w["margin"].sum(min_count=1),
        "first_in_w": g_w["date"].min(),
        "active_months": cw["date"].dt.to_period("M").groupby(cw["code"], sort=False).nunique(),
    })
    out = wstats.join(out, how="left")  # population: >= 1 completed order in W
    idx = out.index

    def sum_between(lo, hi):
        m = (c["date"] > lo) & (c["date"] <= hi)
        return c.loc[m].groupby("code", sort=False)["amount"].sum().reindex(idx, fill_value=0.0)

    out["spend_last"] = sum_between(t - tr, t)
    out["spend_prev"] = sum_between(t - 2 * tr, t - tr)

    def count_between(lo, hi):
        m = (c["date"] > lo) & (c["date"] <= hi)
        return c.loc[m].groupby("code", sort=False).size().reindex(idx, fill_value=0)

    last, prev = count_between(t - tr, t), count_between(t - 2 * tr, t - tr)
    out["order_trend"] = ((last - prev) / (last + prev)).where(last + prev > 0, 0.0).astype(float)

    # the customer's recent order size and pace against their own earlier ones in W
    def mean_between(lo, hi):
        m = (c["date"] > lo) & (c["date"] <= hi)
        return c.loc[m].groupby("code", sort=False)["amount"].mean().reindex(idx)

    size_last, size_before = mean_between(t - tr, t), mean_between(w_start, t - tr)
    out["amount_ratio"] = (size_last / size_before).where((size_last > 0) & (size_before > 0))
    n_before = count_between(w_start, t - tr)
    first_seen = out["first_order_date"].where(out["first_order_date"] > w_start, w_start)
    span = pd.Series(_whole_days(pd.Series(t - tr, index=idx), first_seen), index=idx)
    rate_ratio = (last / config.trend_window_days) / (n_before / span)
    out["order_rate_ratio"] = rate_ratio.where((n_before > 0) & (span >= config.trend_window_days)).astype(float)

    # ranges of categories and products: last trend window against the previous one, over W
    for col, name in (("category", "category_range_trend"), ("product_id", "product_range_trend")):
        out[name] = np.nan
        if col in c.columns:
            def distinct(lo, hi, col=col):
                m = (c["date"] > lo) & (c["date"] <= hi)
                return c.loc[m].groupby("code", sort=False)[col].nunique().reindex(idx, fill_value=0)
            n_w = distinct(w_start, t)
            out[name] = ((distinct(t - tr, t) - distinct(t - 2 * tr, t - tr)) / n_w.where(n_w > 0)).astype(float)
            if col == "category":
                out["n_categories"] = n_w.astype(float)
    if "n_categories" not in out.columns:
        out["n_categories"] = np.nan

    # the main category (most lines in W before the trend window, ties alphabetical) and its shares
    out["main_category_share"] = np.nan
    out["main_category_share_trend"] = np.nan
    if "category" in c.columns:
        lines = c[(c["date"] > w_start) & c["category"].notna()]
        is_last = lines["date"] > t - tr
        counts = pd.DataFrame({"code": lines["code"], "category": lines["category"].astype(str),
                               "before": (~is_last).astype(int), "last": is_last.astype(int)})
        counts = counts.groupby(["code", "category"], sort=False)[["before", "last"]].sum().reset_index()
        totals = counts.groupby("code")[["before", "last"]].sum()
        top = counts.sort_values(["code", "before", "category"], ascending=[True, False, True])
        top = top.drop_duplicates("code").set_index("code")
        ok = totals["before"] > 0
        share_before = (top["before"] / totals["before"]).where(ok)
        share_last = (top["last"] / totals["last"].where(totals["last"] > 0)).where(ok)
        out["main_category_share"] = share_last.reindex(idx).astype(float)
        out["main_category_share_trend"] = (share_last - share_before).reindex(idx).astype(float)

    # inter-purchase times over distinct order days in W
    days_w = cw[["code", "day"]].drop_duplicates().sort_values(["code", "day"])
    gap = days_w.groupby("code", sort=False)["day"].diff() / pd.Timedelta(days=1)
    gaps = pd.DataFrame({"code": days_w["code"], "gap": gap}).dropna()
    gg = gaps.groupby("code", sort=False)["gap"]
    out["ipt_mean"] = gg.mean().reindex(idx)
    out["ipt_std"] = gg.std(ddof=1).reindex(idx)
    out["ipt_last"] = gg.last().reindex(idx)
    out["ipt_last_ratio"] = out["ipt_last"] / out["ipt_mean"]

    # BTYD summary over customer-days (whole history)
    days_all = c.groupby(["code", "day"], sort=True)["amount"].sum().reset_index()
    first_day = days_all.groupby("code", sort=False)["day"].transform("min")
    repeat = days_all[days_all["day"] != first_day]
    gd = days_all.groupby("code", sort=False)
    n_days = gd.size().reindex(idx)
    out["btyd_frequency"] = n_days - 1
    out["btyd_recency"] = ((gd["day"].max() - gd["day"].min()) // pd.Timedelta(days=1)).reindex(idx)
    out["btyd_T"] = ((t - gd["day"].min()) // pd.Timedelta(days=1)).reindex(idx)
    out["btyd_monetary"] = repeat.groupby("code", sort=False)["amount"].mean().reindex(idx).fillna(0.0)

    # returns and cancellations in W
    o_mask = ((orders["order_date"] > w_start).to_numpy())
    other = pd.DataFrame({"code": codes[o_mask], "status": status.to_numpy()[o_mask]})
    for name, value in (("n_returns", "returned"), ("n_cancelled", "cancelled")):
        out[name] = other[other["status"] == value].groupby("code", sort=False).size().reindex(idx, fill_value=0)

    out.index = pd.Index(uniques[idx], name="customer_id")
    ids = out.index

    # customers
    signup = pd.Series(pd.NaT, index=ids, dtype="datetime64[ns]")
    for col in ("industry", "size", "region"):
        out[col] = pd.Series(pd.NA, index=ids, dtype="string")
    if tables.get("customers") is not None:
        cust = tables["customers"].set_index("customer_id")
        for col in ("industry", "size", "region"):
            if col in cust.columns:
                out[col] = cust[col].reindex(ids).astype("string")
        if "signup_date" in cust.columns:
            s = cust["signup_date"].reindex(ids)
            signup = s.where(s <= t)

    # tickets
    ticket_cols = ("n_tickets", "n_complaints", "n_complaints_recent", "resolution_hours_mean", "open_tickets",
                   "complaint_rate", "complaint_trend", "days_since_complaint", "n_slow_tickets",
                   "resolution_hours_trend", "complaints_total", "slow_tickets_total")
    for col in ticket_cols:
        out[col] = np.nan
    out["top_complaint_stage"] = pd.Series(pd.NA, index=ids, dtype="string")
    if tables.get("tickets") is not None:
        tk = tables["tickets"]
        ever = tk[tk["created_at"] <= t]  # the whole service history <= T
        if "kind" in ever.columns:
            out["complaints_total"] = ((ever["kind"] == "complaint").groupby(ever["customer_id"]).sum()
                                       .reindex(ids, fill_value=0).astype(float))
        resolved = ever["resolved_at"] if "resolved_at" in ever.columns else pd.Series(pd.NaT, index=ever.index)
        open_ever = resolved.isna() | (resolved > t)
        slow_ever = (((resolved <= t) & ((resolved - ever["created_at"]) / pd.Timedelta(hours=1) > 72))
                     | (open_ever & ((t - ever["created_at"]) / pd.Timedelta(hours=1) > 72)))
        out["slow_tickets_total"] = slow_ever.groupby(ever["customer_id"]).sum().reindex(ids, fill_value=0).astype(float)
        tk = tk[(tk["created_at"] <= t) & (tk["created_at"] > w_start)]
        gt = tk.groupby("customer_id")
        out["n_tickets"] = gt.size().reindex(ids, fill_value=0).astype(float)
        if "kind" in tk.columns:
            comp = tk[tk["kind"] == "complaint"]
            out["n_complaints"] = comp.groupby("customer_id").size().reindex(ids, fill_value=0).astype(float)
            recent = comp[comp["created_at"] > t - tr]
            out["n_complaints_recent"] = (recent.groupby("customer_id").size().reindex(ids, fill_value=0)
                                          .astype(float))
            out["complaint_rate"] = np.minimum(1.0, out["n_complaints"] / out["n_orders"])
            before = comp[(comp["created_at"] > t - 2 * tr) & (comp["created_at"] <= t - tr)]
            out["complaint_trend"] = out["n_complaints_recent"] - (
                before.groupby("customer_id").size().reindex(ids, fill_value=0).astype(float))
            last_c = comp.groupby("customer_id")["created_at"].max().reindex(ids)
            out["days_since_complaint"] = pd.Series(_whole_days(pd.Series(t, index=ids), last_c), index=ids
                                                    ).astype(float)
            if "stage" in comp.columns:
                counts = comp.dropna(subset=["stage"]).groupby(["customer_id", "stage"]).size().rename("n")
                counts = counts.reset_index().sort_values(["customer_id", "n", "stage"],
                                                          ascending=[True, False, True])
                top = counts.drop_duplicates("customer_id").set_index("customer_id")["stage"]
                out["top_complaint_stage"] = top.reindex(ids).astype("string")
        if "resolved_at" in tk.columns:
            done = tk[tk["resolved_at"] <= t]
            hours = (done["resolved_at"] - done["created_at"]) / pd.Timedelta(hours=1)
            out["resolution_hours_mean"] = hours.groupby(done["customer_id"]).mean().reindex(ids)
            is_open = tk["resolved_at"].isna() | (tk["resolved_at"] > t)
            out["open_tickets"] = is_open.groupby(tk["customer_id"]).sum().reindex(ids, fill_value=0).astype(float)
            took = (tk["resolved_at"] - tk["created_at"]) / pd.Timedelta(hours=1)
            age = (t - tk["created_at"]) / pd.Timedelta(hours=1)
            slow = ((tk["resolved_at"] <= t) & (took > 72)) | (is_open & (age > 72))
            out["n_slow_tickets"] = slow.groupby(tk["customer_id"]).sum().reindex(ids, fill_value=0).astype(float)
            recent = done["created_at"] > t - tr
            earlier = (done["created_at"] > t - 2 * tr) & ~recent
            h_last = hours[recent].groupby(done["customer_id"][recent]).mean().reindex(ids)
            h_prev = hours[earlier].groupby(done["customer_id"][earlier]).mean().reindex(ids)
            out["resolution_hours_trend"] = h_last - h_prev

    # surveys
    for col in ("nps", "n_survey_responses", "satisfaction_mean", "brand_mention_rate", "nps_last", "nps_change",
                "detractor_answers_total", "nps_recent", "nps_recent_change"):
        out[col] = np.nan
    if tables.get("surveys") is not None:
        sv = tables["surveys"]
        ever = sv[(sv["answered_at"] <= t) & sv["nps_score"].notna()]  # the whole history <= T
        out["detractor_answers_total"] = ((ever["nps_score"] <= 6).groupby(ever["customer_id"]).sum()
                                          .reindex(ids, fill_value=0).astype(float))
        recent = ever["answered_at"] > t - 2 * tr
        out["nps_recent"] = ever[recent].groupby("customer_id")["nps_score"].mean().reindex(ids)
        earlier = ever[~recent].groupby("customer_id")["nps_score"].mean().reindex(ids)
        out["nps_recent_change"] = out["nps_recent"] - earlier
        sv = sv[(sv["answered_at"] <= t) & (sv["answered_at"] > w_start)]
        gs = sv.groupby("customer_id")
        out["n_survey_responses"] = gs.size().reindex(ids, fill_value=0).astype(float)
        score = sv["nps_score"]
        valid = score.notna()
        nps = ((score >= 9).astype(float) - (score <= 6).astype(float))[valid].groupby(sv["customer_id"][valid])
        out["nps"] = (nps.mean() * 100).reindex(ids)
        answered = sv[valid].assign(day=sv["answered_at"][valid].dt.floor("D"))
        is_last = answered["day"] == answered.groupby("customer_id")["day"].transform("max")
        out["nps_last"] = answered[is_last].groupby("customer_id")["nps_score"].mean().reindex(ids)
        before = answered[~is_last].groupby("customer_id")["nps_score"].mean().reindex(ids)
        out["nps_change"] = out["nps_last"] - before
        if "satisfaction" in sv.columns:
            out["satisfaction_mean"] = gs["satisfaction"].mean().reindex(ids)
        if "mentions_brand" in sv.columns:
            out["brand_mention_rate"] = gs["mentions_brand"].mean().reindex(ids).astype(float)

    # derived indicators
    month = lambda s: s.dt.year * 12 + s.dt.month  # noqa: E731
    observed_months = month(pd.Series(t, index=ids)) - month(out["first_in_w"]) + 1
    out["repurchase_rate"] = ((out["active_months"] - 1) / (observed_months - 1)).where(observed_months >= 2)
    stab = (1 - out["monetary_std"] / out["monetary_mean"]).clip(0, 1)
    out["order_value_stability"] = stab.where((out["n_orders"] >= 2) & (out["monetary_mean"] > 0))
    start = out["first_order_date"].where(out["first_order_date"] > w_start, w_start)
    observed_days = np.maximum(_whole_days(pd.Series(t, index=ids), start), config.frequency_min_days)
    out["purchase_frequency"] = out["n_orders"] * 365.25 / observed_days
    out["recency_days"] = _whole_days(pd.Series(t, index=ids), out["last_order_date"])
    tenure_start = out["first_order_date"].where(~(signup < out["first_order_date"]), signup)
    out["tenure_days"] = _whole_days(pd.Series(t, index=ids), tenure_start)
    total = out["spend_last"] + out["spend_prev"]
    out["spend_trend"] = ((out["spend_last"] - out["spend_prev"]) / total).where(total != 0, 0.0)
    out["recency_ipt_ratio"] = out["recency_days"] / out["ipt_mean"]
    out["return_rate"] = out["n_returns"] / (out["n_orders"] + out["n_returns"])
    out["as_of"] = pd.Series(day, index=ids, dtype="datetime64[ns]")

    # RFM
    bins = config.rfm_bins
    r = _rfm(out["recency_days"], bins, False)
    f = _rfm(out["n_orders"], bins, True)
    m = _rfm(out["monetary_total"], bins, True)
    out["rfm_r"], out["rfm_f"], out["rfm_m"] = r, f, m
    out["rfm_score"] = r * 100 + f * 10 + m
    q = (r, f, m) if bins == 5 else (_rfm(out["recency_days"], 5, False), _rfm(out["n_orders"], 5, True),
                                     _rfm(out["monetary_total"], 5, True))
    out["rfm_segment"] = pd.array(_segment(*q), dtype="string")

    out = out.reset_index().sort_values("customer_id", ignore_index=True)
    out["customer_id"] = out["customer_id"].astype("string")
    return out.loc[:, list(SNAPSHOT_COLUMNS)]
