"""The customer-table churn models: the stack of LightGBM and a spline logistic regression is taken only when it
wins on out-of-fold rows, and its reasons add up per column."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import log_loss

from loyalist.tabular.models import LogisticChurnModel, TableChurnModel


def _frame(n: int, seed: int, *, smooth: bool) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"tenure": rng.uniform(0, 72, n), "charge": rng.normal(70, 20, n),
                      "plan": pd.array(rng.choice(["a", "b", "c"], n), dtype="string")})
    if smooth:  # an additive, curved log-odds: what the spline partner models and shallow trees only step through
        z = 2.5 * np.exp(-X["tenure"] / 12) + 0.03 * (X["charge"] - 70) - 1.2 + (X["plan"] == "a").to_numpy(dtype=float) * 0.8
    else:  # one interaction of two thresholds: trees find it, an additive model cannot
        z = np.where((X["tenure"] < 20) & (X["charge"] > 70), 2.5, -2.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-np.asarray(z, dtype=float)))).astype(int)
    X.loc[X.sample(frac=0.05, random_state=seed).index, "charge"] = np.nan
    return X, y


def test_spline_logistic_fits_a_curve_the_one_hot_baseline_cannot():
    X, y = _frame(3000, 1, smooth=True)
    Xt, yt = _frame(3000, 2, smooth=True)
    plain = LogisticChurnModel().fit(X, y)
    spline = LogisticChurnModel(splines=5).fit(X, y)
    assert log_loss(yt, spline.score(Xt)) < log_loss(yt, plain.score(Xt)) - 0.005
    contrib = spline.contributions(Xt)
    assert list(contrib.columns) == ["tenure", "charge", "plan"]
    assert contrib["tenure"].abs().mean() > contrib["plan"].abs().mean() > 0


def test_the_stack_is_chosen_by_inner_log_loss_and_only_when_it_wins():
    X, y = _frame(2000, 3, smooth=True)
    m = TableChurnModel(n_jobs=1).fit(X, y)
    ll = m.inner_log_loss_
    assert m.stacked_ == (ll["lightgbm+logistic"] < ll["lightgbm"])
    assert m.stacked_, ll  # the additive curve: the partner helps on rows it did not see
    assert "stacked" in m.choice_ and m.meta_.coef_.shape == (1, 2)
    Xi, yi = _frame(2000, 4, smooth=False)
    mi = TableChurnModel(n_jobs=1).fit(Xi, yi)
    ll = mi.inner_log_loss_
    assert mi.stacked_ == (ll["lightgbm+logistic"] < ll["lightgbm"])
    if not mi.stacked_:
        assert mi.meta_.coef_.shape == (1, 1) and not hasattr(mi, "logistic_")
    off = TableChurnModel(n_jobs=1, stack_logistic=False).fit(X, y)
    assert not off.stacked_ and list(off.inner_log_loss_) == ["lightgbm"] and off.choice_ == "LightGBM alone"


def test_stacked_probabilities_are_calibrated_and_reasons_follow_the_log_odds():
    X, y = _frame(3000, 5, smooth=True)
    Xt, yt = _frame(3000, 6, smooth=True)
    m = TableChurnModel(n_jobs=1).fit(X, y)
    p = m.score(Xt)
    assert np.all((p > 0) & (p < 1)) and abs(p.mean() - yt.mean()) < 0.03
    c = m.contributions(Xt)
    assert list(c.columns) == ["tenure", "charge", "plan"]
    logit = np.log(p / (1 - p))
    # the contributions are the calibrated log-odds up to a constant: their row sums follow the score exactly
    assert np.corrcoef(c.sum(axis=1), logit)[0, 1] > 0.999
    assert np.std(logit - c.sum(axis=1)) < 1e-6 * max(1.0, np.std(logit)) + 1e-6
