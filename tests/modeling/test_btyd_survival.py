"""BG/NBD time to churn: closed forms against numerical integration and a Monte-Carlo simulation of the process."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from loyalist.errors import ConfigError, ModelError
from loyalist.modeling.btyd import survival as sv
from loyalist.modeling.btyd.models import BetaGeoModel

TRUE = {"r": 0.8, "alpha": 5.0, "a": 0.8, "b": 2.5}


def _model(params: dict[str, float]) -> BetaGeoModel:
    model = BetaGeoModel()
    model.params_ = dict(params)
    return model


def _simulate(n: int, horizon: float, seed: int) -> dict[str, np.ndarray]:
    """Simulate BG/NBD customers from their first purchase at 0 until T + horizon.

    Each customer: lambda ~ Gamma(r, rate alpha), p ~ Beta(a, b); exponential gaps at rate lambda while alive; after
    each repeat purchase, drop out with probability p. Returns the calibration summary (x, t_x, T), the drop-out
    time (inf when still alive at the end) and all purchase times after T.
    """
    rng = np.random.default_rng(seed)
    lam = rng.gamma(TRUE["r"], 1.0 / TRUE["alpha"], n)
    p = rng.beta(TRUE["a"], TRUE["b"], n)
    big_t = rng.uniform(8.0, 40.0, n)
    end = big_t + horizon
    now = np.zeros(n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    death = np.full(n, np.inf)
    future: list[list[float]] = [[] for _ in range(n)]
    active = np.ones(n, dtype=bool)
    while active.any():
        idx = np.flatnonzero(active)
        nxt = now[idx] + rng.exponential(1.0 / lam[idx])
        within = nxt <= end[idx]
        active[idx[~within]] = False
        idx, nxt = idx[within], nxt[within]
        now[idx] = nxt
        cal = nxt <= big_t[idx]
        x[idx[cal]] += 1
        t_x[idx[cal]] = nxt[cal]
        for i, time in zip(idx[~cal], nxt[~cal], strict=True):
            future[i].append(float(time))
        dies = rng.random(idx.size) < p[idx]
        death[idx[dies]] = nxt[dies]
        active[idx[dies]] = False
    return {"x": x, "t_x": t_x, "T": big_t, "death": death, "future": np.array(future, dtype=object)}


@pytest.fixture(scope="module")
def simulated() -> dict[str, np.ndarray]:
    return _simulate(40_000, horizon=52.0, seed=7)


def _close(predicted: float, observed: np.ndarray, label: str) -> None:
    se = max(float(np.sqrt(predicted * (1 - predicted) / observed.size)), 1e-4)
    assert abs(predicted - observed.mean()) < 4 * se + 0.003, (label, predicted, observed.mean(), se)


@pytest.mark.parametrize("t", [0.0, 4.0, 13.0, 26.0, 52.0])
def test_p_alive_at_matches_simulation(simulated, t):
    model = _model(TRUE)
    x, t_x, big_t = simulated["x"], simulated["t_x"], simulated["T"]
    predicted = sv.p_alive_at(model, t, x, t_x, big_t)
    alive = simulated["death"] > big_t + t
    _close(float(predicted.mean()), alive, f"all t={t}")
    for name, group in (("x=0", x == 0), ("x=1-3", (x >= 1) & (x <= 3)), ("x>=4", x >= 4)):
        _close(float(predicted[group].mean()), alive[group], f"{name} t={t}")


def test_p_purchase_between_matches_simulation(simulated):
    model = _model(TRUE)
    x, t_x, big_t = simulated["x"], simulated["t_x"], simulated["T"]
    end = 52.0
    for start in (0.0, 13.0, 26.0, 39.0):
        observed = np.array([any(big_t[i] + start < f <= big_t[i] + end for f in times)
                             for i, times in enumerate(simulated["future"])])
        predicted = sv.p_purchase_between(model, start, end, x, t_x, big_t)
        _close(float(predicted.mean()), observed, f"start={start}")
        curve = sv.share_still_buying(model, x, t_x, big_t, starts=[start], end=end)
        assert curve[0] == pytest.approx(predicted.mean())


def test_expected_time_to_churn_matches_simulation(simulated):
    model = _model(TRUE)
    x, t_x, big_t = simulated["x"], simulated["t_x"], simulated["T"]
    cap = 52.0
    predicted = sv.expected_time_to_churn(model, x, t_x, big_t, cap=cap)
    observed = np.clip(simulated["death"] - big_t, 0.0, cap)
    se = observed.std() / np.sqrt(observed.size)
    assert abs(predicted.mean() - observed.mean()) < 4 * se, (predicted.mean(), observed.mean(), se)
    assert np.all((predicted >= 0) & (predicted <= cap))


def test_p_alive_at_equals_numerical_integral_over_the_posterior():
    model = _model({"r": 0.24, "alpha": 4.41, "a": 0.79, "b": 2.43})  # CDNOW sample parameters (weeks)
    x = np.array([0.0, 1.0, 5.0, 20.0])
    t_x = np.array([0.0, 10.0, 30.0, 35.0])
    big_t = np.array([38.0, 38.0, 38.0, 38.0])
    for t in (4.0, 26.0, 104.0):
        got = sv.p_alive_at(model, t, x, t_x, big_t)
        expected = []
        for xi, ti in zip(x, big_t, strict=True):
            k, beta = 0.24 + xi, 4.41 + ti
            expected.append(integrate.quad(lambda q, k=k, beta=beta, xi=xi, t=t: (beta / (beta + q * t)) ** k
                                           * stats.beta.pdf(q, 0.79, 2.43 + xi), 0, 1, limit=200)[0])
        np.testing.assert_allclose(got, model.p_alive(x, t_x, big_t) * np.array(expected), rtol=1e-7)


def test_curves_start_at_p_alive_and_decrease():
    model = _model(TRUE)
    x, t_x, big_t = np.array([0.0, 2.0, 9.0]), np.array([0.0, 5.0, 30.0]), np.array([20.0, 20.0, 31.0])
    np.testing.assert_allclose(sv.p_alive_at(model, 0.0, x, t_x, big_t), model.p_alive(x, t_x, big_t))
    curve = np.array([sv.p_alive_at(model, t, x, t_x, big_t) for t in np.linspace(0, 200, 30)])
    assert np.all(np.diff(curve, axis=0) <= 1e-12)
    np.testing.assert_allclose(sv.p_purchase_between(model, 0.0, 13.0, x, t_x, big_t),
                               1 - model.p_no_purchase(13.0, x, t_x, big_t), atol=1e-12)
    assert np.all(sv.p_purchase_between(model, 13.0, 13.0, x, t_x, big_t) == 0.0)


def test_quadrature_fallback_agrees_with_the_series():
    params = (0.8, 5.0, 0.8, 2.5)
    x = np.array([0.0, 3.0, 40.0])
    beta = np.array([25.0, 30.0, 45.0])
    t = np.array([10.0, 52.0, 300.0])
    series = sv._g(beta, t, x, params)
    quad = sv._beta_quadrature(params[0] + x, params[2], params[3] + x, t / beta)
    np.testing.assert_allclose(series, quad, rtol=2e-4)


def test_extreme_beta_parameters_stay_finite():
    # Almost no drop-out: a and b huge (what a tiny penalty leaves on some data); P(alive) must stay in [0, 1].
    model = _model({"r": 0.5, "alpha": 3.0, "a": 2e4, "b": 9e4})
    x, t_x, big_t = np.array([0.0, 4.0, 60.0]), np.array([0.0, 9.0, 40.0]), np.array([20.0, 20.0, 41.0])
    table = sv.survival_table(model, x, t_x, big_t)
    assert np.isfinite(table.to_numpy()).all()
    assert ((table.filter(like="p_active") >= 0) & (table.filter(like="p_active") <= 1)).all().all()


def test_survival_table_columns_and_units():
    model = _model(TRUE)
    x, t_x, big_t = np.array([0.0, 2.0]), np.array([0.0, 5.0]), np.array([20.0, 20.0])
    table = sv.survival_table(model, x, t_x, big_t, index=np.array(["c1", "c2"]))
    assert tuple(table.columns) == sv.SURVIVAL_COLUMNS
    np.testing.assert_allclose(table["p_active_90d"], sv.p_alive_at(model, 90 / 7, x, t_x, big_t))
    np.testing.assert_allclose(table["expected_days_to_churn"],
                               7 * sv.expected_time_to_churn(model, x, t_x, big_t, cap=365 / 7))
    # the same customers in days need the model in days: alpha scales with the unit
    model_days = _model({**TRUE, "alpha": TRUE["alpha"] * 7})
    daily = sv.survival_table(model_days, x, t_x * 7, big_t * 7, time_unit_days=1.0, horizons_days=(30,))
    np.testing.assert_allclose(daily["p_active_30d"], table["p_active_30d"], rtol=1e-9)
    np.testing.assert_allclose(daily["expected_days_to_churn"], table["expected_days_to_churn"], rtol=1e-6)


def test_bad_arguments_are_named():
    model = _model(TRUE)
    with pytest.raises(ConfigError, match="end"):
        sv.p_purchase_between(model, 5.0, 1.0, [1.0], [2.0], [3.0])
    with pytest.raises(ConfigError, match="horizons_days"):
        sv.survival_table(model, [1.0], [2.0], [3.0], horizons_days=(0,))
    with pytest.raises(ConfigError, match="cap"):
        sv.expected_time_to_churn(model, [1.0], [2.0], [3.0], cap=-1.0)
    with pytest.raises(ModelError, match="recency"):
        sv.p_alive_at(model, 1.0, [1.0], [5.0], [3.0])
    with pytest.raises(ConfigError, match="BetaGeoModel"):
        sv.p_alive_at(object(), 1.0, [1.0], [2.0], [3.0])  # type: ignore[arg-type]


def _simulated_orders(n: int, seed: int) -> pd.DataFrame:
    """Orders of BG/NBD customers (TRUE parameters, weeks) first buying in the first 12 weeks of 1997."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("1997-01-01")
    rows = []
    for cid in range(n):
        lam = rng.gamma(TRUE["r"], 1.0 / TRUE["alpha"])
        p = rng.beta(TRUE["a"], TRUE["b"])
        now = rng.uniform(0.0, 12.0)
        rows.append((cid, now))
        while True:
            now += rng.exponential(1.0 / lam)
            if now > 80.0:
                break
            rows.append((cid, now))
            if rng.random() < p:
                break
    frame = pd.DataFrame(rows, columns=["customer_id", "week"])
    return pd.DataFrame({"customer_id": frame["customer_id"],
                         "order_date": start + pd.to_timedelta(np.floor(frame["week"] * 7), unit="D"),
                         "amount": 10.0})


def test_active_share_calibration_on_simulated_orders():
    orders = _simulated_orders(4000, seed=3)
    table, model = sv.active_share_calibration(orders, "1997-09-30", "1998-06-30")
    assert list(table["period"]) == list(range(10)) and list(table["start_day"]) == [30 * m for m in range(10)]
    # observed share at month m: customers with a purchase dated after cal_end + 30 m days (and <= the end)
    cal_end, end = pd.Timestamp("1997-09-30"), pd.Timestamp("1998-06-30")
    seen = orders.loc[orders["order_date"] <= cal_end, "customer_id"].unique()
    last = orders.loc[(orders["order_date"] > cal_end) & (orders["order_date"] <= end)].groupby("customer_id")[
        "order_date"].max().reindex(seen)
    for m in (0, 3, 8):
        expected = float((last > cal_end + pd.Timedelta(days=30 * m)).mean())
        assert table.loc[m, "observed_share"] == pytest.approx(expected)
    assert np.all(np.diff(table["observed_share"]) <= 0) and np.all(np.diff(table["predicted_share"]) <= 0)
    # the model is true here: the predicted curve must follow the observed one
    assert table["error"].abs().max() < 0.03, table
    assert table["customers"].iloc[0] == seen.size
    assert model.params_["r"] == pytest.approx(TRUE["r"], rel=0.25)


def test_active_share_figure_draws_both_curves():
    table = pd.DataFrame({"period": [0, 1], "start_day": [0, 30], "predicted_share": [0.5, 0.4],
                          "observed_share": [0.55, 0.41], "customers": [10, 10], "error": [-0.05, -0.01]})
    fig = sv.active_share_figure({"demo": table}, title="t")
    lines = fig.axes[0].get_lines()
    assert len(lines) == 2
    np.testing.assert_allclose(lines[0].get_ydata(), [0.55, 0.41])
    np.testing.assert_allclose(lines[1].get_ydata(), [0.5, 0.4])


def test_featurizer_survival_uses_the_snapshot_summary_in_days():
    from loyalist.modeling.btyd.features import BtydFeaturizer

    orders = _simulated_orders(600, seed=5)
    summ = sv.customer_days_summary(orders, "1997-09-30", time_unit_days=1.0)
    snapshot = pd.DataFrame({"btyd_frequency": summ["frequency"].to_numpy(), "btyd_recency": summ["recency"].to_numpy(),
                             "btyd_T": summ["T"].to_numpy(), "btyd_monetary": summ["monetary_value"].to_numpy()},
                            index=pd.RangeIndex(len(summ)) + 100)
    snapshot.loc[100, "btyd_T"] = np.nan  # a customer without a summary gets NaN
    featurizer = BtydFeaturizer(horizon_days=90).fit(snapshot)
    got = featurizer.survival(snapshot)
    assert list(got.columns) == ["p_active_30d", "p_active_90d", "p_active_180d", "expected_days_to_churn"]
    assert got.index.equals(snapshot.index) and got.loc[100].isna().all()
    rows = snapshot.index[1:]
    x, t_x, big_t = (snapshot.loc[rows, c].to_numpy() for c in ("btyd_frequency", "btyd_recency", "btyd_T"))
    expected = sv.p_alive_at(featurizer.bgnbd_, 90 / 7, x, t_x / 7, big_t / 7)
    np.testing.assert_allclose(got.loc[rows, "p_active_90d"], expected)
    assert (got.loc[rows, "p_active_30d"] >= got.loc[rows, "p_active_180d"]).all()


def test_anchoring_to_bgnbd_own_churn_probability_changes_nothing():
    model = _model(TRUE)
    x, t_x, big_t = np.array([0.0, 2.0, 9.0, 1.0]), np.array([0.0, 5.0, 30.0, 2.0]), np.array([20.0, 20.0, 31.0, 40.0])
    own = model.p_no_purchase(13.0, x, t_x, big_t)
    np.testing.assert_allclose(sv.alive_from_churn_probability(model, own, 13.0, x, t_x, big_t),
                               model.p_alive(x, t_x, big_t), rtol=1e-10)
    plain = sv.survival_table(model, x, t_x, big_t)
    anchored = sv.survival_table(model, x, t_x, big_t, churn_probability=own, churn_horizon_days=91)
    np.testing.assert_allclose(anchored.to_numpy(), plain.to_numpy(), rtol=1e-9)


def test_anchoring_follows_the_learned_churn_probability():
    model = _model(TRUE)
    x, t_x, big_t = np.zeros(3), np.zeros(3), np.full(3, 20.0)  # three identical one-time buyers: BG/NBD says alive
    q = np.array([0.8, 0.9, 0.97])  # above the 0.72 chance that an alive one-time buyer is silent 90 days
    table = sv.survival_table(model, x, t_x, big_t, churn_probability=q, churn_horizon_days=90)
    assert np.all(np.diff(table["p_active_90d"]) < 0) and np.all(np.diff(table["expected_days_to_churn"]) < 0)
    assert sv.p_alive_at(model, 0.0, x, t_x, big_t).min() == 1.0  # unanchored: all three the same, alive
    # a churn probability below BG/NBD's silence probability of a surely alive customer clips at alive
    silent = np.exp(-(TRUE["r"]) * np.log1p((90 / 7) / (TRUE["alpha"] + 20.0)))
    assert sv.alive_from_churn_probability(model, [silent / 2], 90 / 7, [0.0], [0.0], [20.0])[0] == 1.0
    with pytest.raises(ConfigError, match="churn_horizon_days"):
        sv.survival_table(model, x, t_x, big_t, churn_probability=q)
    with pytest.raises(ConfigError, match="churn_probability"):
        sv.alive_from_churn_probability(model, [0.5], 13.0, x, t_x, big_t)


def test_active_share_calibration_anchored_to_a_churn_probability():
    orders = _simulated_orders(1500, seed=11)
    plain, model = sv.active_share_calibration(orders, "1997-09-30", "1998-06-30")
    summ = sv.customer_days_summary(orders, "1997-09-30")
    x, t_x, big_t = (summ[c].to_numpy() for c in ("frequency", "recency", "T"))
    own = pd.Series(model.p_no_purchase(273 / 7, x, t_x, big_t), index=summ.index)
    # BG/NBD's own churn probability: the anchored prediction is BG/NBD's
    table, _ = sv.active_share_calibration(orders, "1997-09-30", "1998-06-30", churn_probability=own,
                                           churn_horizon_days=273)
    np.testing.assert_allclose(table["predicted_anchored_share"], plain["predicted_share"], rtol=1e-9)
    # any churn probability q at least BG/NBD's silence probability of an alive customer (no clipping): month 0 of
    # the anchored prediction (a purchase anywhere in the window) is exactly the mean of 1 - q
    silent = np.exp(-(model.params_["r"] + x) * np.log1p((273 / 7) / (model.params_["alpha"] + big_t)))
    q = pd.Series(silent + (1 - silent) * np.random.default_rng(0).random(x.size), index=summ.index)
    table, _ = sv.active_share_calibration(orders, "1997-09-30", "1998-06-30", churn_probability=q,
                                           churn_horizon_days=273)
    assert table.loc[0, "predicted_anchored_share"] == pytest.approx(float((1 - q).mean()), rel=1e-9)
    # only the scored customers count
    half = own.iloc[::2]
    table, _ = sv.active_share_calibration(orders, "1997-09-30", "1998-06-30", churn_probability=half,
                                           churn_horizon_days=273)
    assert table["customers"].iloc[0] == len(half)
