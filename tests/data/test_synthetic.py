"""Tests of the synthetic company generator (loyalist.data.synthetic, loyalist.data.synthetic_io)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import hyp2f1

from loyalist.config import DEMO_CONFIG, load_config
from loyalist.data.dates import parse_dates
from loyalist.data.schemas import ORDER_STATUSES, SCHEMAS
from loyalist.data.synthetic import (
    CATEGORIES,
    CHANNELS,
    DEFAULT_BTYD_PARAMS,
    DEFAULT_DRIVERS,
    INDUSTRIES,
    REGIONS,
    SEVERITIES,
    SIZES,
    TICKET_KINDS,
    TICKET_STAGES,
    generate,
    write_raw,
)
from loyalist.data.synthetic_io import (
    DIRTY_KINDS,
    RAW_FILES,
    IdScheme,
    digit_strings,
    sequence_strings,
    take_strings,
)
from loyalist.errors import ConfigError, InputFileError

REPO = Path(__file__).resolve().parents[2]
START, END = pd.Timestamp("2022-01-01"), pd.Timestamp("2024-12-31")
ZERO_DRIVERS = {k: 0.0 for k in DEFAULT_DRIVERS}

EXPECTED_KINDS = {
    "orders": {"date_format", "id_format", "amount_thousands", "extreme_amount", "negative_amount", "test_order",
               "test_customer_order", "duplicate_row", "conflicting_order_id", "non_numeric_amount",
               "unknown_customer"},
    "customers": {"date_format", "id_format", "test_customer", "missing_industry", "blank_id", "duplicate_row"},
    "tickets": {"date_format", "id_format", "unknown_customer", "duplicate_row"},
    "surveys": {"date_format", "id_format", "invalid_nps", "unknown_customer", "duplicate_row"},
}


@pytest.fixture(scope="module")
def clean():
    return generate(n_customers=1500, seed=11, dirty=False)


@pytest.fixture(scope="module")
def dirty():
    return generate(n_customers=1500, seed=11, dirty=True)


@pytest.fixture(scope="module")
def btyd():
    return generate(n_customers=20000, seed=3, dirty=False, mode="btyd")


@pytest.fixture(scope="module")
def hazard_pair():
    """The same population with the default drivers and with every driver switched off."""
    return (generate(n_customers=4000, seed=1, dirty=False),
            generate(n_customers=4000, seed=1, dirty=False, drivers=ZERO_DRIVERS))


def _assert_same(a, b) -> None:
    for name in ("customers", "orders", "tickets", "surveys", "truth", "dirty_log"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert a.params == b.params


# ------------------------------------------------------------------------------------------ helpers


def test_id_string_helpers_golden():
    assert list(sequence_strings(12, 3, "O")) == [f"O{i:03d}" for i in range(1, 13)]
    assert list(digit_strings(np.array([0, 7, 123456]), 6, "C")) == ["C000000", "C000007", "C123456"]
    out = take_strings(("a", "bb"), np.array([1, -1, 0]))
    assert out.dtype == "string"
    assert out[0] == "bb" and out[2] == "a" and pd.isna(out[1])


def test_id_scheme_keeps_c9_free_for_unknown_customers():
    ids = IdScheme.for_sizes(950_000, 10, 10)
    assert ids.customer_width == 7
    assert ids.unknown_customer(0) == "C9000000"
    assert list(ids.customer(np.array([950_000]))) == ["C0950000"]
    assert IdScheme.for_sizes(5000, 10, 10).unknown_customer(3) == "C900003"


# ------------------------------------------------------------------------------------------ determinism


def test_same_seed_gives_identical_data():
    _assert_same(generate(n_customers=300, seed=5), generate(n_customers=300, seed=5))
    _assert_same(generate(n_customers=300, seed=5, dirty=False), generate(n_customers=300, seed=5, dirty=False))
    _assert_same(generate(n_customers=500, seed=5, mode="btyd"), generate(n_customers=500, seed=5, mode="btyd"))


def test_different_seed_gives_different_data():
    a, b = generate(n_customers=300, seed=5, dirty=False), generate(n_customers=300, seed=6, dirty=False)
    assert not a.truth["purchase_rate"].equals(b.truth["purchase_rate"])
    assert not a.orders.equals(b.orders)
    assert not a.customers["name"].equals(b.customers["name"])


# ------------------------------------------------------------------------------------------ clean data


@pytest.mark.parametrize("table", ["customers", "orders", "tickets", "surveys"])
def test_clean_tables_have_canonical_columns_and_dtypes(clean, table):
    df = clean.tables()[table]
    schema = SCHEMAS[table]
    assert set(schema.required) <= set(df.columns) <= set(schema.columns)
    expected = {"string": "string", "datetime": "datetime64[ns]", "float": "float64", "bool": "boolean"}
    for col in df.columns:
        assert str(df[col].dtype) == expected[schema.dtypes[col]], (table, col, df[col].dtype)
    assert len(df) > 0
    assert isinstance(df.index, pd.RangeIndex)


def test_clean_orders_are_valid(clean):
    o, c = clean.orders, clean.customers
    assert o["order_id"].is_unique and o["order_id"].str.fullmatch(r"O\d{8}").all()
    assert o["customer_id"].isin(c["customer_id"]).all()
    assert o["order_date"].is_monotonic_increasing
    assert o["order_date"].between(START, END).all()
    assert (o["order_date"] == o["order_date"].dt.normalize()).all()
    assert set(o["status"]) == set(ORDER_STATUSES)
    assert (o["amount"] >= 1).all() and np.allclose(o["amount"] * 100, np.rint(o["amount"] * 100))
    margin = 1 - o["cost"] / o["amount"]
    assert margin.between(0.1, 0.46).all()
    assert o["quantity"].ge(1).all() and (o["quantity"] == np.rint(o["quantity"])).all()
    assert set(o["category"]) <= set(CATEGORIES) and set(o["channel"]) <= set(CHANNELS)
    assert o["product_id"].str.fullmatch(r"P[1-5]0[0-3]\d").all()
    assert not o.duplicated().any()


def test_clean_customers_are_valid(clean):
    c = clean.customers
    assert c["customer_id"].is_unique and c["customer_id"].str.fullmatch(r"C\d{6}").all()
    assert set(c["industry"]) == set(INDUSTRIES) and set(c["size"]) == set(SIZES)
    assert set(c["region"]) == set(REGIONS)
    assert not c["is_test"].any() and c.notna().all().all()
    assert c["name"].str.contains(r"[\u4e00-\u9fff]").all()
    assert c["name"].str.contains("有限公司|集团").mean() > 0.6  # companies; the rest are individual consumers
    phone, mail = c["contact"].str.fullmatch(r"1[3-9]\d{9}"), c["contact"].str.fullmatch(r"[a-z]+@[a-z]+\.com\.cn")
    assert (phone | mail).all() and phone.mean() > 0.5 and mail.any()
    existing = (c["signup_date"] < START).mean()
    assert 0.25 < existing < 0.35
    assert c["signup_date"].max() <= END


def test_clean_service_tables_are_valid(clean):
    t, s = clean.tickets, clean.surveys
    assert t["ticket_id"].is_unique and t["created_at"].is_monotonic_increasing
    assert set(t["kind"]) == set(TICKET_KINDS) and set(t["stage"]) == set(TICKET_STAGES)
    assert set(t["severity"]) == set(SEVERITIES)
    done = t["resolved_at"].notna()
    assert (t.loc[done, "resolved_at"] >= t.loc[done, "created_at"]).all()
    assert t["resolved_at"].max() <= END + pd.Timedelta(days=1)
    assert 0.02 < (~done).mean() < 0.10  # about 5% still open at the end
    assert s["nps_score"].between(0, 10).all() and (s["nps_score"] == np.rint(s["nps_score"])).all()
    assert s["satisfaction"].between(1, 5).all()
    assert s["answered_at"].between(START, END).all()
    assert not s.duplicated(["customer_id", "answered_at", "respondent"]).any()
    per_customer = s.groupby("customer_id")["respondent"].nunique()
    assert per_customer.max() <= 4 and (per_customer > 1).mean() > 0.3
    # satisfaction and brand mentions go with the NPS answer
    assert s["satisfaction"].corr(s["nps_score"]) > 0.3
    assert s.loc[s["nps_score"] >= 9, "mentions_brand"].mean() > s.loc[s["nps_score"] <= 6, "mentions_brand"].mean()


def test_shares_of_returns_cancellations_and_promoters_are_plausible(clean):
    status = clean.orders["status"].value_counts(normalize=True)
    assert 0.02 < status["returned"] < 0.045 and 0.012 < status["cancelled"] < 0.03
    assert (clean.surveys["nps_score"] >= 9).mean() > 0.6


def test_industries_differ_as_described(clean):
    tr = clean.truth
    b2b = tr[tr["business"] == "b2b"]
    rate = b2b.groupby("industry")["purchase_rate"].median()
    cv = b2b.groupby("industry")["amount_cv"].median()
    assert rate["manufacturing"] < rate["retail"] and cv["manufacturing"] < cv["retail"]
    value = b2b.groupby("size")["mean_amount"].median()
    assert value["small"] < value["medium"] < value["large"]
    assert set(tr["business"]) == {"b2b", "b2c"}


def test_order_value_stability_carries_the_latent_cv(clean):
    o = clean.orders
    per = o.groupby("customer_id")["amount"].agg(["mean", "std", "size"])
    per = per[per["size"] >= 8].join(clean.truth.set_index("customer_id")[["amount_cv", "mean_amount"]])
    assert (per["std"] / per["mean"]).corr(per["amount_cv"], method="spearman") > 0.6
    assert per["mean"].corr(per["mean_amount"], method="spearman") > 0.9


# ------------------------------------------------------------------------------------------ truth


def test_truth_is_consistent_with_the_events(clean):
    tr = clean.truth.set_index("customer_id")
    assert list(tr.index) == list(clean.customers["customer_id"])
    assert (tr["alive_at_end"] == tr["dropout_date"].isna()).all()
    dropped = tr["dropout_date"].dropna()
    assert dropped.between(START, END + pd.Timedelta(days=1)).all() and 0 < len(dropped) < len(tr)
    assert (tr["observed_from"] == tr["signup_date"].clip(lower=START)).all()
    for table, col in (("orders", "order_date"), ("tickets", "created_at"), ("surveys", "answered_at")):
        df = clean.tables()[table]
        when = df[col]
        drop = df["customer_id"].map(tr["dropout_date"])
        assert not (when > drop).any(), table  # nothing after the customer's dropout
        assert (when >= df["customer_id"].map(tr["observed_from"])).all(), table
    n_orders = clean.orders.groupby("customer_id").size().reindex(tr.index, fill_value=0)
    assert (n_orders == tr["n_orders"]).all()
    complaints = clean.tickets[clean.tickets["kind"] == "complaint"].groupby("customer_id").size()
    assert (complaints.reindex(tr.index, fill_value=0) == tr["n_complaints"]).all()
    detractors = clean.surveys[clean.surveys["nps_score"] <= 6].groupby("customer_id").size()
    assert (detractors.reindex(tr.index, fill_value=0) == tr["n_detractor_answers"]).all()
    assert (tr["hazard_multiplier"] >= 1).all()


def test_hazard_multiplier_is_explained_by_events_before_the_month(clean):
    """Causality: the multiplier in force in a month comes from the events dated before that month only."""
    tr = clean.truth.set_index("customer_id")
    last = tr["decision_date"].fillna(END + pd.Timedelta(hours=23))
    month = last.dt.to_period("M").dt.start_time  # the month of the decision to leave, or the last month
    t, s = clean.tickets, clean.surveys
    t_month, s_month = t["customer_id"].map(month), s["customer_id"].map(month)
    took = t["resolved_at"] - t["created_at"]
    slow = ((took > pd.Timedelta(hours=72)) | t["resolved_at"].isna()) & (
        t["created_at"] + pd.Timedelta(hours=72) <= t_month)
    complaints = (t["kind"] == "complaint") & (t["created_at"] < t_month)
    detractors = (s["nps_score"] <= 6) & (s["answered_at"] < s_month)

    def count(mask: pd.Series, df: pd.DataFrame) -> pd.Series:
        return df.loc[mask, "customer_id"].value_counts().reindex(tr.index, fill_value=0).clip(upper=3)

    d = DEFAULT_DRIVERS
    log_mult = (d["complaints"] * count(complaints, t) + d["slow_service"] * count(slow, t)
                + d["detractor"] * count(detractors, s)
                + d["low_frequency"] * np.log2(12 / tr["purchase_rate"]).clip(0, 3)
                + d["unstable_value"] * (tr["amount_cv"] / 0.5).clip(0, 3))
    assert np.allclose(np.exp(log_mult.astype(float)), tr["hazard_multiplier"], rtol=1e-9)
    assert (count(slow, t) > 0).sum() > 50 and (count(detractors, s) > 0).sum() > 30


def test_slow_ticket_counts_agree_with_the_tickets(clean):
    tr = clean.truth.set_index("customer_id")
    t = clean.tickets
    slow_done = t[(t["resolved_at"] - t["created_at"]) > pd.Timedelta(hours=72)]["customer_id"].value_counts()
    open_ = t[t["resolved_at"].isna()]["customer_id"].value_counts()
    lo = slow_done.reindex(tr.index, fill_value=0)
    hi = lo + open_.reindex(tr.index, fill_value=0)
    assert (lo <= tr["n_slow_tickets"]).all() and (tr["n_slow_tickets"] <= hi).all()
    by_flag = tr.groupby("slow_service")["n_slow_tickets"].mean()
    assert by_flag[True] > 3 * by_flag[False]


def test_without_service_tables_are_empty_but_typed():
    data = generate(n_customers=200, seed=8, with_service=False)
    assert data.tickets.empty and data.surveys.empty and not data.orders.empty
    assert str(data.tickets["created_at"].dtype) == "datetime64[ns]" and data.surveys["nps_score"].dtype == "float64"
    assert set(data.params["dirty_counts"]) == {"customers", "orders"}
    assert (data.truth[["n_complaints", "n_slow_tickets", "n_detractor_answers"]] == 0).all().all()
    json.dumps(data.params)  # plain data, ready to log


def test_hazard_drivers_raise_dropout(hazard_pair):
    with_drivers, without = hazard_pair

    def excess(tr: pd.DataFrame, flag: pd.Series) -> float:
        dropped = ~tr["alive_at_end"]
        return dropped[flag].mean() - dropped[~flag].mean()

    tr, tr0 = with_drivers.truth, without.truth
    for col in ("n_complaints", "n_slow_tickets", "n_detractor_answers"):
        assert excess(tr, tr[col] > 0) > 0.05, col
        assert excess(tr, tr[col] > 0) > excess(tr0, tr0[col] > 0) + 0.05, col
    assert excess(tr, tr["slow_service"]) > 0.04
    assert abs(excess(tr0, tr0["slow_service"])) < 0.03
    assert (without.truth["hazard_multiplier"] == 1).all()
    assert (~tr["alive_at_end"]).mean() > (~tr0["alive_at_end"]).mean()


def test_drivers_override_defaults_key_by_key():
    data = generate(n_customers=50, seed=2, dirty=False, drivers={"complaints": 2.0})
    assert data.params["drivers"] == {**DEFAULT_DRIVERS, "complaints": 2.0}
    with pytest.raises(ConfigError, match="'foo'"):
        generate(n_customers=50, drivers={"foo": 1.0})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_customers": 0}, "'n_customers'"),
        ({"n_customers": 2.5}, "'n_customers'"),
        ({"start": "not a date"}, "'start'"),
        ({"start": "2024-01-01", "end": "2023-01-01"}, "'end'"),
        ({"mode": "cdnow"}, "'mode'"),
        ({"mode": "btyd", "drivers": {"complaints": 1.0}}, "'drivers'"),
        ({"mode": "btyd", "btyd_params": {"r": -1.0}}, "'r'"),
        ({"btyd_params": {"r": 1.0}}, "'btyd_params'"),
    ],
)
def test_invalid_arguments_are_config_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        generate(**kwargs)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 60), days=st.integers(20, 800))
def test_events_stay_in_the_period_and_before_dropout(seed, n, days):
    end = START + pd.Timedelta(days=days)
    data = generate(n_customers=n, start=str(START.date()), end=str(end.date()), seed=seed, dirty=False)
    tr = data.truth.set_index("customer_id")
    assert len(tr) == n == len(data.customers)
    o = data.orders
    assert o["order_date"].between(START, end).all() and o["order_id"].is_unique
    assert not (o["order_date"] > o["customer_id"].map(tr["dropout_date"])).any()
    assert (o["amount"] > 0).all()
    assert data.surveys["answered_at"].between(START, end).all()
    assert data.tickets["created_at"].between(START, end + pd.Timedelta(days=1)).all()


# ------------------------------------------------------------------------------------------ dirty data


def test_every_dirty_kind_is_present_and_logged(dirty):
    log = dirty.dirty_log
    assert set(log.columns) == {"table", "row", "kind", "column", "key", "effect"}
    for table, kinds in EXPECTED_KINDS.items():
        assert set(dirty.params["dirty_counts"][table]) == kinds
        assert set(log.loc[log["table"] == table, "kind"]) == kinds
    assert set(log["effect"]) == {"reject", "repair", "either"}
    assert (log["effect"] == log["kind"].map(lambda k: DIRTY_KINDS[k][1])).all()
    for table, df in dirty.tables().items():  # every log row points at its row
        part = log[log["table"] == table]
        key = {"orders": "order_id", "tickets": "ticket_id"}.get(table, "customer_id")
        assert (df[key].iloc[part["row"]].to_numpy() == part["key"].to_numpy()).all(), table
    assert set(dirty.params["dirty_kinds"]) == set(DIRTY_KINDS)


def test_dirty_share_is_about_one_to_two_percent(dirty, clean):
    log = dirty.dirty_log
    rows = sum(len(df) for df in clean.tables().values())
    assert 0.01 <= len(log) / rows <= 0.03
    added = sum(len(dirty.tables()[t]) - len(clean.tables()[t]) for t in clean.tables())
    assert 0.005 <= added / rows <= 0.02


def test_dirty_orders_look_as_described(dirty, clean):
    o, log = dirty.orders, dirty.dirty_log
    rows = lambda kind: o.iloc[log.loc[(log["table"] == "orders") & (log["kind"] == kind), "row"]]  # noqa: E731
    test = rows("test_order")
    assert test["order_id"].str.startswith("TEST-").all() and (test["status"] == "test").all()
    assert o.duplicated().sum() == len(rows("duplicate_row"))
    conflict = rows("conflicting_order_id")
    for r in conflict.itertuples():
        same = o[o["order_id"] == r.order_id]
        assert len(same) == 2 and same.index[0] < r.Index and same["amount"].nunique() == 2
    negative = rows("negative_amount")
    assert (pd.to_numeric(negative["amount"]) < 0).all() and (negative["status"] == "completed").all()
    assert {"N/A", "--", "待定"} >= set(rows("non_numeric_amount")["amount"]) and "N/A" in set(o["amount"])
    assert rows("amount_thousands")["amount"].str.contains(",").all()
    ref = clean.orders.set_index("order_id")["amount"]
    extreme = rows("extreme_amount")
    assert np.allclose(pd.to_numeric(extreme["amount"]), 100 * extreme["order_id"].map(ref))
    unknown = rows("unknown_customer")["customer_id"]
    assert unknown.str.fullmatch(r"C9\d{5}").all() and not unknown.isin(dirty.customers["customer_id"]).any()
    ids = rows("id_format")["customer_id"]
    assert (ids != ids.str.strip().str.upper()).all() and ids.str.startswith(" ").any()
    assert ids.str.contains("c").any()
    dates = o["order_date"]
    for pattern in (r"\d{4}-\d{2}-\d{2}", r"\d{4}/\d{2}/\d{2}", r"\d{4}年\d{1,2}月\d{1,2}日", r"\d{5}"):
        assert dates.str.fullmatch(pattern).any(), pattern


def test_dirty_customers_surveys_and_tickets_look_as_described(dirty):
    c, s, t = dirty.customers, dirty.surveys, dirty.tickets
    test = c[c["is_test"]]
    assert len(test) >= 2 and (test["name"] == "测试客户").all()
    assert c["industry"].isna().sum() >= 1
    assert (c["customer_id"].str.strip() == "").sum() >= 1
    assert c.duplicated().sum() >= 1
    assert {"11", "abc"} <= set(s["nps_score"])
    assert t["created_at"].str.contains("时").any() and t["created_at"].str.fullmatch(r"\d{5}\.\d+").any()
    assert not t["customer_id"].isin(c["customer_id"]).all()


def test_clean_rows_survive_unchanged_inside_the_dirty_tables(dirty, clean):
    """The dirt is drawn from its own stream: removing the extra rows and undoing the formats gives the clean rows."""
    log = dirty.dirty_log
    for table, key_cols in (("orders", ["order_id"]), ("tickets", ["ticket_id"]), ("surveys", [])):
        part = log[(log["table"] == table) & ((log["effect"] == "reject") | (log["kind"] == "negative_amount"))]
        raw = dirty.tables()[table].drop(index=part["row"]).reset_index(drop=True)
        ref = clean.tables()[table]
        assert len(raw) == len(ref), table
        for col in key_cols:
            assert (raw[col] == ref[col]).all()
        assert (raw["customer_id"].str.strip().str.upper() == ref["customer_id"]).all()
        for col, schema_type in SCHEMAS[table].dtypes.items():
            if schema_type == "datetime" and col in raw:
                pd.testing.assert_series_equal(parse_dates(raw[col]), ref[col], check_names=False)
    raw = dirty.orders.drop(index=log.loc[(log["table"] == "orders") & ((log["effect"] == "reject") | (
        log["kind"] == "negative_amount")), "row"]).reset_index(drop=True)
    amount = pd.to_numeric(raw["amount"].str.replace(",", "")).to_numpy()
    extreme = raw["order_id"].isin(log.loc[log["kind"] == "extreme_amount", "key"]).to_numpy()
    assert np.array_equal(amount[~extreme], clean.orders["amount"].to_numpy()[~extreme])
    assert pd.to_numeric(dirty.surveys["nps_score"], errors="coerce").notna().sum() == len(dirty.surveys) - (
        dirty.surveys["nps_score"] == "abc").sum()


def test_truth_covers_the_clean_customers_only(dirty, clean):
    pd.testing.assert_frame_equal(dirty.truth, clean.truth)
    extra = set(dirty.customers["customer_id"]) - set(clean.customers["customer_id"])
    assert extra and not extra & set(dirty.truth["customer_id"])


def test_clean_data_has_no_dirt(clean):
    o, c = clean.orders, clean.customers
    assert clean.dirty_log.empty and "dirty_counts" not in clean.params and not clean.params["dirty"]
    assert not o["order_id"].str.startswith("TEST").any() and "test" not in set(o["status"])
    assert not o.duplicated("order_id").any() and not c.duplicated().any()
    assert (o["customer_id"] == o["customer_id"].str.strip().str.upper()).all()
    assert not (o["amount"] < 0).any() and o["amount"].le(o["amount"].quantile(0.999) * 20).all()


# ------------------------------------------------------------------------------------------ btyd


def test_btyd_tables(btyd):
    assert btyd.tickets.empty and btyd.surveys.empty
    assert list(btyd.orders.columns) == ["order_id", "customer_id", "order_date", "amount", "status"]
    assert list(btyd.customers.columns) == ["customer_id", "signup_date", "is_test"]
    first = btyd.orders.groupby("customer_id")["order_date"].min()
    assert (first == btyd.customers.set_index("customer_id")["signup_date"]).all()
    assert first.max() < START + pd.Timedelta(weeks=12)
    assert btyd.params["btyd"] == DEFAULT_BTYD_PARAMS and btyd.params["time_unit"] == "weeks"


def test_btyd_truth_matches_the_process(btyd):
    tr = btyd.truth.set_index("customer_id")
    last = btyd.orders.groupby("customer_id")["order_date"].max()
    dropped = tr["dropout_date"].notna()
    assert (tr["alive_at_end"] == ~dropped).all()
    assert (last[dropped] <= tr.loc[dropped, "dropout_date"]).all()
    # dropout follows the J-th repeat purchase: a customer who dropped made exactly J repeat purchases
    assert (tr.loc[dropped, "n_orders"] - 1 == tr.loc[dropped, "n_repeat_until_dropout"]).all()
    assert (tr.loc[~dropped, "n_orders"] - 1 <= tr.loc[~dropped, "n_repeat_until_dropout"]).all()


def test_btyd_moments_match_the_parameters(btyd):
    bp, tr = btyd.params["btyd"], btyd.truth
    r, alpha, a, b = bp["r"], bp["alpha"], bp["a"], bp["b"]
    assert tr["lambda_week"].mean() == pytest.approx(r / alpha, rel=0.08)
    assert tr["p_dropout"].mean() == pytest.approx(a / (a + b), rel=0.03)
    # E[X(t)] of BG/NBD (Fader, Hardie & Lee 2005, eq. 9) over each customer's observed weeks
    t = tr["observed_weeks"].to_numpy()
    expected = (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))
    observed = tr["n_orders"].to_numpy() - 1
    assert observed.mean() == pytest.approx(expected.mean(), rel=0.06)
    # Gamma-Gamma: the mean of each customer's order values averages to p * gamma / (q - 1)
    spend = btyd.orders.groupby("customer_id")["amount"].mean()
    assert spend.mean() == pytest.approx(bp["p"] * bp["gamma"] / (bp["q"] - 1), rel=0.05)


def test_btyd_dirty_uses_the_kinds_its_tables_allow():
    data = generate(n_customers=400, seed=9, mode="btyd")
    counts = data.params["dirty_counts"]
    assert set(counts) == {"customers", "orders"}
    assert set(counts["orders"]) == EXPECTED_KINDS["orders"]
    assert set(counts["customers"]) == EXPECTED_KINDS["customers"] - {"missing_industry"}
    assert data.customers["is_test"].sum() == counts["customers"]["test_customer"]


def test_btyd_params_can_be_overridden():
    data = generate(n_customers=3000, seed=4, dirty=False, mode="btyd", btyd_params={"r": 1.0, "alpha": 2.0})
    assert data.params["btyd"]["r"] == 1.0
    assert data.truth["lambda_week"].mean() == pytest.approx(0.5, rel=0.08)


# ------------------------------------------------------------------------------------------ raw files


def test_write_raw_writes_the_mapped_files(tmp_path, dirty):
    paths = write_raw(dirty, tmp_path / "raw")
    assert {p.name for p in paths.values()} == {"orders.csv", "customers.csv", "tickets.csv", "surveys.csv"}
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == sorted(p.name for p in paths.values())
    with pytest.raises(UnicodeDecodeError):
        paths["customers"].read_text(encoding="utf-8")
    customers = pd.read_csv(paths["customers"], encoding="gb18030", dtype=str, keep_default_na=False)
    assert list(customers.columns) == ["客户编号", "客户名称", "所属行业", "企业规模", "所在地区", "签约日期", "联系方式", "测试账户"]
    assert len(customers) == len(dirty.customers) and set(customers["测试账户"]) == {"是", "否"}
    assert "测试客户" in set(customers["客户名称"])
    orders = pd.read_csv(paths["orders"], encoding="utf-8", dtype=str, keep_default_na=False)
    assert list(orders.columns) == list(RAW_FILES["orders"][2].values())
    assert (orders["amount_cny"] == dirty.orders["amount"]).all()
    tickets = pd.read_csv(paths["tickets"], encoding="utf-8", dtype=str)
    assert list(tickets.columns) == ["工单号", "客户编号", "创建时间", "类型", "环节", "严重程度", "解决时间"]
    surveys = pd.read_csv(paths["surveys"], encoding="utf-8", dtype=str)
    assert set(surveys["mentions_brand"]) == {"yes", "no"} and "abc" in set(surveys["nps"])


def test_write_raw_round_trips_clean_data(tmp_path, clean):
    paths = write_raw(clean, tmp_path)
    orders = pd.read_csv(paths["orders"], encoding="utf-8", dtype={"order_no": str, "client_id": str, "sku": str})
    assert (orders["order_no"] == clean.orders["order_id"]).all()
    assert (pd.to_datetime(orders["order_date"]) == clean.orders["order_date"]).all()
    assert np.array_equal(orders["amount_cny"].to_numpy(), clean.orders["amount"].to_numpy())
    tickets = pd.read_csv(paths["tickets"], encoding="utf-8")
    assert (pd.to_datetime(tickets["创建时间"]) == clean.tickets["created_at"]).all()
    resolved = pd.to_datetime(tickets["解决时间"]).astype("datetime64[ns]")
    pd.testing.assert_series_equal(resolved, clean.tickets["resolved_at"], check_names=False)


def test_write_raw_skips_empty_tables(tmp_path, btyd):
    assert set(write_raw(btyd, tmp_path)) == {"customers", "orders"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["customers.csv", "orders.csv"]


def test_write_raw_into_a_file_is_an_input_file_error(tmp_path, clean):
    blocker = tmp_path / "taken"
    blocker.write_text("x")
    with pytest.raises(InputFileError, match="'.*taken'"):
        write_raw(clean, blocker)


def test_demo_yaml_loads_and_maps_the_raw_files():
    path = DEMO_CONFIG
    config = load_config([path])
    for table, (name, encoding, headers) in RAW_FILES.items():
        source = getattr(config.data, table)
        assert source is not None and source.path.name == name
        assert source.encoding == encoding and source.format == "csv"
        assert source.columns == headers
    assert config.synthetic.n_customers == 5000 and config.synthetic.dirty
    assert re.search(r"path: orders\.csv", path.read_text(encoding="utf-8"))
