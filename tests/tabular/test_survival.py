"""Time to churn in customer-table mode: Kaplan-Meier and the IPCW Brier score against independent computations,
the LightGBM hazard against a simulated truth, and the conditional survival of the risk list."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loyalist.tabular import make_folds
from loyalist.tabular import survival as sv


def _simulated(n: int = 1500, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Monthly hazard known per customer (plan and charge), staggered entry: censored at the months observed.
    Returns X, durations (whole months), events, the true monthly hazard."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(["monthly", "yearly", "two-year"], n, p=[0.5, 0.3, 0.2])
    charge = rng.uniform(20, 120, n)
    hazard = 0.06 * np.where(plan == "monthly", 1.0, np.where(plan == "yearly", 0.35, 0.12)) * (charge / 70) ** 0.8
    life = rng.geometric(hazard)  # month of leaving, 1, 2, ...
    observed = rng.integers(1, 73, n)  # months since joining at the snapshot
    durations = np.minimum(life, observed).astype(float)
    events = life <= observed
    X = pd.DataFrame({"plan": pd.array(plan, dtype="string"), "charge": charge})
    return X, durations, events, hazard


def test_kaplan_meier_matches_scikit_survival():
    from sksurv.nonparametric import kaplan_meier_estimator

    _, d, e, _ = _simulated(400, seed=1)
    months = np.arange(1, 61, dtype=float)
    ours = sv.km_curve(d, e, months)
    times, surv = kaplan_meier_estimator(e, d)
    theirs = np.concatenate([[1.0], surv])[np.searchsorted(times, months, side="right")]
    np.testing.assert_allclose(ours, theirs, atol=1e-12)


def test_integrated_brier_matches_scikit_survival_on_continuous_times():
    from sksurv.metrics import integrated_brier_score
    from sksurv.util import Surv

    rng = np.random.default_rng(8)
    life, cens = rng.exponential(20, 600), rng.uniform(1, 60, 600)
    d, e = np.minimum(life, cens), life <= cens
    months = np.arange(2, 31, dtype=float)
    s = np.exp(-months[None, :] / rng.uniform(10, 30, (300, 1)))
    ours, _ = sv.integrated_brier(d[:300], e[:300], d[300:], e[300:], s, months)
    theirs = integrated_brier_score(Surv.from_arrays(e[:300], d[:300]), Surv.from_arrays(e[300:], d[300:]), s,
                                    months)
    assert ours == pytest.approx(theirs, rel=1e-6)


def test_km_by_segment_orders_the_plans_and_gives_their_median():
    X, d, e, _ = _simulated(2000, seed=2)
    curves = sv.km_by_segment(X["plan"], d, e, [6, 12, 24]).set_index("segment")
    assert curves.loc["monthly", "s_12"] < curves.loc["yearly", "s_12"] < curves.loc["two-year", "s_12"]
    # geometric life with hazard ~0.06 for monthly plans: median ~ 11-12 months
    assert 7 <= curves.loc["monthly", "median_months"] <= 16
    assert curves["customers"].sum() == 2000


def test_brier_without_censoring_is_the_plain_brier_score():
    rng = np.random.default_rng(3)
    d = rng.integers(1, 30, 300).astype(float)
    e = np.ones(300, dtype=bool)
    months = np.array([5.0, 10.0, 20.0])
    s = rng.uniform(size=(300, 3))
    _, scores = sv.integrated_brier(d, e, d, e, s, months)
    plain = [np.mean(((d > t).astype(float) - s[:, j]) ** 2) for j, t in enumerate(months)]
    np.testing.assert_allclose(scores, plain)


def test_the_true_curves_beat_kaplan_meier_and_the_hazard_model_comes_close_to_the_truth():
    X, d, e, hazard = _simulated(3000, seed=4)
    months = np.arange(1, 49, dtype=float)
    train, test = np.arange(2000), np.arange(2000, 3000)
    truth = (1 - hazard[test, None]) ** months[None, :]
    km = np.tile(sv.km_curve(d[train], e[train], months), (len(test), 1))
    ibs_truth, _ = sv.integrated_brier(d[train], e[train], d[test], e[test], truth, months)
    ibs_km, _ = sv.integrated_brier(d[train], e[train], d[test], e[test], km, months)
    assert ibs_truth < ibs_km - 0.01
    model = sv.HazardModel(random_state=0, n_jobs=1).fit(X.iloc[train], d[train], e[train])
    s = model.survival(X.iloc[test], months)
    ibs_model, _ = sv.integrated_brier(d[train], e[train], d[test], e[test], s, months)
    assert ibs_model < ibs_km and ibs_model - ibs_truth < 0.01
    c_truth = sv.concordance(d[test], e[test], -hazard[test])
    c_model = sv.concordance(d[test], e[test], model.score(X.iloc[test]))
    assert c_model > c_truth - 0.02
    # the hazard is constant in time here: the learned 12-month survival of each plan is near the truth
    for plan in ("monthly", "yearly"):
        rows = np.flatnonzero(X["plan"].iloc[test].to_numpy() == plan)
        assert abs(s[rows, 11].mean() - truth[rows, 11].mean()) < 0.06


def test_conditional_survival_and_expected_remaining_follow_the_curve():
    X, d, e, _ = _simulated(1500, seed=5)
    model = sv.CoxModel().fit(X, d, e)
    rows = X.head(5)
    tenure = np.array([0.0, 3.0, 12.0, 12.0, 40.0])
    p = sv.conditional_survival(model, rows, tenure, [1.0, 3.0, 6.0])
    assert (np.diff(p, axis=1) <= 1e-12).all() and ((p >= 0) & (p <= 1)).all()
    full = model.survival(rows, np.array([12.0, 15.0]))
    assert p[2, 1] == pytest.approx(full[2, 1] / full[2, 0])
    rem = sv.expected_remaining(model, rows, tenure, 60)
    assert ((rem > 0) & (rem <= 60)).all()
    assert rem[2] == pytest.approx(np.trapezoid(sv.conditional_survival(model, rows.iloc[[2]], [12.0],
                                                                        np.arange(0, 61.0))[0], dx=1.0))


def test_duration_leaks_find_a_column_computed_from_tenure():
    X, d, _, _ = _simulated(800, seed=6)
    X = X.assign(total=X["charge"] * d, noise=np.random.default_rng(0).normal(size=len(d)))
    assert set(sv.duration_leaks(X, d)) == {"total"}


def test_fit_table_survival_judges_every_model_on_the_same_folds():
    X, d, e, _ = _simulated(900, seed=7)
    X = X.assign(total=X["charge"] * d)
    folds = make_folds(e.astype(int), 3, 0)
    result = sv.fit_table_survival(X, d, e, folds, seed=0, n_jobs=1, horizon=36)
    assert set(result.excluded) == {"total"} and "total" not in result.features
    assert list(result.cv.summary.index) == ["kaplan_meier", sv.HAZARD, sv.COX]
    assert (result.cv.per_fold.groupby("model").size() == 3).all()
    km_ibs = result.cv.mean("kaplan_meier", "ibs")
    assert result.cv.mean(result.candidate, "ibs") < km_ibs
    assert result.cv.mean(result.candidate) > 0.65
    assert result.segment == "plan" and set(result.curves["segment"]) == {"monthly", "yearly", "two-year"}


def test_tenure_units_become_months():
    np.testing.assert_allclose(sv.tenure_months(pd.Series([1, 2.5]), "years"), [12.0, 30.0])
    np.testing.assert_allclose(sv.tenure_months(pd.Series(["61", None]), "days"), [61 / sv.DAYS_PER_MONTH, np.nan])
    keep = sv.survival_data(np.array([0.0, 3.0, np.nan, 4.0]), np.array([True, False, True, None], dtype=object))
    assert keep.tolist() == [1]


def test_a_sub_month_horizon_sees_churn_with_whole_month_tenures():
    X, d, e, _ = _simulated(1200, seed=9)
    for model in (sv.CoxModel().fit(X, d, e), sv.HazardModel(n_jobs=1).fit(X, d, e)):
        p30 = sv.conditional_survival(model, X.head(50), np.full(50, 6.0), [30 / sv.DAYS_PER_MONTH])[:, 0]
        p1m = sv.conditional_survival(model, X.head(50), np.full(50, 6.0), [1.0])[:, 0]
        assert (p30 < 1).all() and (p30 >= p1m).all()
        at = model.survival(X.head(50), np.array([5.0, 6.0, 7.0]))
        assert (np.diff(at, axis=1) <= 0).all()


def test_past_the_longest_tenure_customers_still_leave():
    X, d, e, _ = _simulated(1200, seed=10)
    for model in (sv.CoxModel().fit(X, d, e), sv.HazardModel(n_jobs=1).fit(X, d, e)):
        p = sv.conditional_survival(model, X.head(20), np.full(20, d.max() + 5), [3.0, 6.0])
        assert (p[:, 0] < 1).all() and (p[:, 1] < p[:, 0]).all()


def test_the_brier_horizon_stops_where_few_customers_are_still_observed():
    # most tenures are short: past the 90th percentile G(t) is near 0 and 1 / G(t) would explode the score
    rng = np.random.default_rng(12)
    n = 800
    X = pd.DataFrame({"x": rng.normal(size=n)})
    life = rng.geometric(0.04 * np.exp(0.5 * X["x"].to_numpy()))
    observed = np.where(rng.uniform(size=n) < 0.97, rng.integers(1, 20, n), rng.integers(20, 61, n))
    d, e = np.minimum(life, observed).astype(float), life <= observed
    cv = sv.cross_validate_survival(X, d, e, {sv.COX: sv.CoxModel}, make_folds(e.astype(int), 3, 0), horizon=60)
    assert cv.months[-1] == np.floor(np.quantile(d, 0.9)) < 20
    assert (cv.summary["ibs_mean"] < 0.25).all()


def test_the_list_curves_take_the_classifier_level_and_keep_the_model_shape():
    X, d, e, _ = _simulated(1500, seed=8)
    model = sv.HazardModel(n_jobs=1).fit(X, d, e)
    ts = sv.TableSurvival(model=model, features=list(X.columns), tenure_unit="months", segment=None,
                          curves=pd.DataFrame(), cap_months=60, candidate="lightgbm_hazard")
    rows = X.head(40)
    tenure = np.arange(40, dtype=float) % 24
    plain = ts.risk_columns(rows, tenure)
    # without a churn probability: the survival model's own curve, as before
    cs = sv.conditional_survival(model, rows, tenure, [h / sv.DAYS_PER_MONTH for h in sv.HORIZONS_DAYS])
    assert np.allclose(plain[["p_active_30d", "p_active_90d", "p_active_180d"]].to_numpy(), cs)
    assert np.allclose(plain["expected_days_to_churn"],
                       sv.expected_remaining(model, rows, tenure, 60) * sv.DAYS_PER_MONTH)
    p = np.linspace(0.02, 0.6, 40)
    for window in (1.0, 3.0):
        lv = ts.risk_columns(rows, tenure, churn_probability=p, window_months=window)
        # P(left within the flag's window) is the classifier's p: S(window) ** k = 1 - p
        sw = sv.conditional_survival(model, rows, tenure, [window])[:, 0]
        k = sv.level_to_classifier(sw, p)
        assert np.allclose(sw ** k, 1 - p)
        # the shape is the model's: every horizon is its curve to the same power
        assert np.allclose(lv["p_active_90d"], cs[:, 1] ** k)
        assert (lv["p_active_30d"] >= lv["p_active_90d"]).all() and (lv["p_active_90d"] >= lv["p_active_180d"]).all()
    lv = ts.risk_columns(rows, tenure, churn_probability=p, window_months=1.0)
    assert np.allclose(1 - lv["p_active_30d"], p, atol=0.02)  # 30 days is 0.99 of a month
    # a higher churn probability gives a shorter expected time to churn, whatever the tenure
    assert lv["expected_days_to_churn"].corr(pd.Series(p), method="spearman") < -0.9
    assert lv["expected_days_to_churn"].median() < plain["expected_days_to_churn"].median()
