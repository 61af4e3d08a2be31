"""Uplift models on a planted heterogeneous effect: they must rank customers by their true effect far better than
chance, and recover its sign."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from loyalist.errors import DataQualityError, ModelError, NotFittedError
from loyalist.uplift import (
    CrossValidatedUplift,
    LogisticTwoModelUplift,
    TransformedOutcomeUplift,
    TwoModelUplift,
    XLearnerUplift,
    make_uplift_model,
    qini_auc_score,
    random_qini,
)

FAST = {"n_estimators": 80, "learning_rate": 0.05, "num_leaves": 4, "min_child_samples": 100}


def planted(n: int, seed: int, *, control_share: float = 0.5) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Features, contacted flag, binary outcome and the true effect (probability points) per customer.

    Persuadables (x1 > 0.6, region 'north'): +30 points if contacted; sleeping dogs (x1 < 0.2): -15 points; no
    effect elsewhere. x2 moves the base rate only (a response model ranks by it, an uplift model must not).
    """
    rng = np.random.default_rng(seed)
    x1, x2 = rng.random(n), rng.random(n)
    region = rng.choice(["north", "south"], n)
    tau = np.where((x1 > 0.6) & (region == "north"), 0.30, 0.0) - np.where(x1 < 0.2, 0.15, 0.0)
    t = (rng.random(n) >= control_share).astype(int)
    base = 0.2 + 0.5 * x2
    y = (rng.random(n) < np.clip(base + tau * t, 0, 1)).astype(int)
    X = pd.DataFrame({"x1": x1, "x2": x2, "region": region, "noise": rng.normal(size=n)})
    return X, t, y, tau


@pytest.fixture(scope="module")
def data():
    X, t, y, tau = planted(12_000, 0)
    return X.iloc[:8000], t[:8000], y[:8000], X.iloc[8000:], t[8000:], y[8000:], tau[8000:]


@pytest.mark.parametrize("cls", [TwoModelUplift, XLearnerUplift, TransformedOutcomeUplift])
def test_model_beats_random_and_response_on_planted_effect(cls, data):
    Xtr, ttr, ytr, Xte, tte, yte, tau = data
    model = cls(params=FAST, random_state=0).fit(Xtr, ttr, ytr)
    pred = model.predict(Xte)
    noise = random_qini(yte, tte, n_permutations=40, seed=1)
    response = qini_auc_score(yte, Xte["x2"].to_numpy(), tte)  # ranking by the base rate
    oracle = qini_auc_score(yte, tau, tte)  # ranking by the true effect (about 0.073 here; random about 0.02)
    got = qini_auc_score(yte, pred, tte)
    assert got > max(noise, response) + 0.5 * (oracle - noise)
    assert np.corrcoef(pred, tau)[0, 1] > 0.6
    # the persuadables get a clearly positive predicted effect, the sleeping dogs a negative one on average
    assert pred[tau > 0].mean() > 0.15
    assert pred[tau < 0].mean() < 0


def test_x_learner_with_a_small_control_group():
    X, t, y, tau = planted(10_000, 3, control_share=0.1)
    model = XLearnerUplift(params=FAST).fit(X, t, y)
    assert model.propensity_ == pytest.approx(t.mean())
    assert np.corrcoef(model.predict(X), tau)[0, 1] > 0.5


def test_value_outcome():
    X, t, _, tau = planted(8000, 4)
    rng = np.random.default_rng(5)
    value = rng.gamma(2.0, 50.0, len(X)) + 200 * tau * t  # revenue raised by 60 for persuadables
    model = TwoModelUplift(outcome="continuous", params=FAST).fit(X, t, value)
    pred = model.predict(X)
    assert pred[tau > 0].mean() - pred[tau == 0].mean() > 30
    no_effect, effect = model.predict_outcomes(X)
    np.testing.assert_allclose(effect - no_effect, pred)


def test_estimator_contract_and_categories():
    X, t, y, _ = planted(3000, 6)
    model = make_uplift_model("x_learner", params=FAST, random_state=3)
    assert clone(model).get_params()["random_state"] == 3
    with pytest.raises(NotFittedError, match="not fitted"):
        model.predict(X)
    model.fit(X, t, y)
    unseen = X.assign(region="west")  # a category not seen in fit is missing, not an error
    assert np.isfinite(model.predict(unseen)).all()
    with pytest.raises(DataQualityError, match=r"lack the column\(s\) \['region'\]"):
        model.predict(X.drop(columns="region"))
    # same seed, same predictions
    np.testing.assert_array_equal(model.predict(X), clone(model).fit(X, t, y).predict(X))


def test_bad_input():
    X, t, y, _ = planted(500, 7)
    with pytest.raises(DataQualityError, match="at least 2 control customers"):
        TwoModelUplift().fit(X, np.ones(len(X)), y)
    with pytest.raises(DataQualityError, match="only 0 and 1"):
        TwoModelUplift().fit(X, t, y * 3)
    with pytest.raises(DataQualityError, match="all have the same outcome"):
        TwoModelUplift().fit(X, t, np.where(t == 1, y, 0))
    with pytest.raises(ModelError, match="Unknown uplift method 'causal_forest'"):
        make_uplift_model("causal_forest")


def test_logistic_learner_on_a_linear_effect_and_its_encoding():
    """A linear effect (the persuadables' x1 threshold is smooth enough for a logistic model to rank by it), with a
    skewed, partly missing number and an unseen category at prediction time."""
    X, t, y, tau = planted(12_000, 8)
    rng = np.random.default_rng(9)
    X = X.assign(spend=np.where(rng.random(len(X)) < 0.1, np.nan, rng.lognormal(3.0, 1.5, len(X))))
    model = make_uplift_model("logistic", C=0.5).fit(X.iloc[:8000], t[:8000], y[:8000])
    assert model.design_["log"] == ["spend"] and model.design_["flag"] == ["spend"]
    pred = model.predict(X.iloc[8000:])
    assert np.corrcoef(pred, tau[8000:])[0, 1] > 0.5
    assert qini_auc_score(y[8000:], pred, t[8000:]) > random_qini(y[8000:], t[8000:], n_permutations=40, seed=1)
    no, yes = model.predict_outcomes(X.iloc[8000:])
    np.testing.assert_allclose(yes - no, pred)
    assert ((no > 0) & (no < 1)).all()
    assert np.isfinite(model.predict(X.iloc[8000:].assign(region="west", spend=np.nan))).all()
    value = LogisticTwoModelUplift(outcome="continuous").fit(X, t, 100 * y + 50 * tau * t)
    assert value.predict(X)[tau > 0].mean() > value.predict(X)[tau == 0].mean() + 5
    with pytest.raises(ModelError, match="C must be a positive number"):
        LogisticTwoModelUplift(C=0).fit(X, t, y)


def test_cross_validated_choice_uses_only_the_training_data():
    X, t, y, tau = planted(9000, 10)
    cands = {"stumps": ("two_model", {"params": FAST}), "logistic": ("logistic", {})}
    model = CrossValidatedUplift(candidates=cands, cv=3, repeats=1, se_multiple=0.0, random_state=2).fit(X, t, y)
    assert set(model.cv_scores_) == {"stumps", "logistic"}
    assert all(len(v) == 3 for v in model.cv_scores_.values())
    best = max(model.cv_scores_, key=lambda n: np.mean(model.cv_scores_[n]))
    assert model.choice_ == best  # se_multiple=0: the bare best mean
    # the winner is refitted on everything passed to fit: its predictions are the refitted learner's
    alone = make_uplift_model(cands[best][0], random_state=2, **cands[best][1]).fit(X, t, y)
    np.testing.assert_allclose(model.predict(X), alone.predict(X))
    np.testing.assert_allclose(model.predict_outcomes(X)[0], alone.predict_outcomes(X)[0])
    assert np.corrcoef(model.predict(X), tau)[0, 1] > 0.5
    assert clone(model).get_params()["cv"] == 3
    with pytest.raises(ModelError, match="at least 2 folds"):
        CrossValidatedUplift(cv=1).fit(X, t, y)
    with pytest.raises(ModelError, match="cannot choose among 'auto'"):
        CrossValidatedUplift(candidates={"a": ("auto", {}), "b": ("logistic", {})}).fit(X, t, y)


def test_auto_x_adds_the_x_learner_to_the_choice():
    from loyalist.uplift import AUTO_CANDIDATES, AUTO_X_CANDIDATES, CrossValidatedUpliftX

    from loyalist.uplift import choose_candidate

    # since session 13 the X-learner is one of auto's own candidates (simplest first); auto_x is the same set
    assert list(AUTO_CANDIDATES) == ["logistic", "two_model", "x_learner"] and AUTO_X_CANDIDATES == AUTO_CANDIDATES
    X, t, y, tau = planted(6000, 11)
    model = make_uplift_model("auto_x", random_state=3, params=FAST).fit(X, t, y)
    assert isinstance(model, CrossValidatedUpliftX)
    assert set(model.cv_scores_) == {"logistic", "two_model", "x_learner"}
    assert all(len(v) == 9 for v in model.cv_scores_.values())  # 3 folds x 3 repeats by default
    assert model.choice_ == choose_candidate(model.cv_scores_, 0.5)[0]
    method, extra = AUTO_X_CANDIDATES[model.choice_]
    kwargs = {} if method == "logistic" else {"params": FAST}
    alone = make_uplift_model(method, random_state=3, **kwargs, **extra).fit(X, t, y)
    np.testing.assert_allclose(model.predict(X), alone.predict(X))
    assert clone(model).default_candidates is AUTO_X_CANDIDATES
    with pytest.raises(ModelError, match="cannot choose among 'auto'"):
        CrossValidatedUplift(candidates={"a": ("auto_x", {}), "b": ("logistic", {})}).fit(X, t, y)


def test_one_standard_error_rule_keeps_the_simpler_learner_on_a_near_tie():
    from loyalist.uplift import choose_candidate

    # Hillstrom seed 43's inner folds: LightGBM ahead by 0.0001 on average, with fold differences of +-0.004
    near = {"logistic": [0.0330, 0.0412, 0.0362], "two_model": [0.0371, 0.0369, 0.0367]}
    choice, fig = choose_candidate(near, se_multiple=1.0)
    assert choice == "logistic" and fig["best"] == "two_model"
    assert fig["mean"]["two_model"] - fig["mean"]["logistic"] < fig["se"]["logistic"]
    assert choose_candidate(near, se_multiple=0.0)[0] == "two_model"  # the bare best mean flips on it
    # a clear win (every fold, by far more than the folds' spread) switches
    clear = {"logistic": [0.020, 0.024, 0.022], "two_model": [0.035, 0.040, 0.036]}
    assert choose_candidate(clear, se_multiple=1.0)[0] == "two_model"
    assert choose_candidate(clear, se_multiple=50.0)[0] == "logistic"  # a big enough multiple never switches
    # three candidates: the first (simplest) one within the margin of the best, not the best
    three = {"logistic": [0.030, 0.031, 0.029], "two_model": [0.036, 0.037, 0.035], "x_learner": [0.037, 0.036, 0.037]}
    choice, fig = choose_candidate(three, se_multiple=1.0)
    assert fig["best"] == "x_learner" and choice == "two_model"
    assert fig["se"]["x_learner"] == 0.0
    with pytest.raises(ModelError, match="same folds"):
        choose_candidate({"a": [0.1, 0.2], "b": [0.1]})
    with pytest.raises(ModelError, match="non-negative"):
        choose_candidate(near, se_multiple=-1)


def test_cross_validated_choice_follows_the_rule_and_is_deterministic():
    from loyalist.uplift import choose_candidate

    X, t, y, _tau = planted(9000, 12)
    cands = {"logistic": ("logistic", {}), "stumps": ("two_model", {"params": FAST})}
    model = CrossValidatedUplift(candidates=cands, cv=3, repeats=2, random_state=4, se_multiple=1.0).fit(X, t, y)
    assert all(len(v) == 6 for v in model.cv_scores_.values())
    assert model.choice_ == choose_candidate(model.cv_scores_, 1.0)[0]
    sel = model.selection_
    assert sel["rule"] == "one-standard-error" and sel["folds"] == 3 and sel["repeats"] == 2
    assert sel["se_multiple"] == 1.0 and sel["margin"] == pytest.approx(sel["se"][model.choice_])
    # the planted effect lives in an interaction the logistic cannot draw: the trees win clearly
    assert model.choice_ == "stumps" and sel["best"] == "stumps"
    again = CrossValidatedUplift(candidates=cands, cv=3, repeats=2, random_state=4, se_multiple=1.0).fit(X, t, y)
    assert again.cv_scores_ == model.cv_scores_ and again.choice_ == model.choice_
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    # a learner against itself under another name is a tie: the first listed is kept
    twin = CrossValidatedUplift(candidates={"a": ("logistic", {}), "b": ("logistic", {})}, random_state=4).fit(X, t, y)
    assert twin.cv_scores_["a"] == twin.cv_scores_["b"] and twin.choice_ == "a"
    with pytest.raises(ModelError, match="repeats must be at least 1"):
        CrossValidatedUplift(repeats=0).fit(X, t, y)
    with pytest.raises(ModelError, match="se_multiple must be"):
        CrossValidatedUplift(se_multiple=-0.5).fit(X, t, y)


def test_refit_choice_keeps_the_judged_learner_without_choosing_again(monkeypatch):
    import loyalist.uplift.models as models

    X, t, y, _tau = planted(9000, 12)
    cands = {"logistic": ("logistic", {}), "stumps": ("two_model", {"params": FAST})}
    judged = CrossValidatedUplift(candidates=cands, cv=3, repeats=1, random_state=4, se_multiple=0.5)
    judged.fit(X.iloc[:6000], t[:6000], y[:6000])
    with pytest.raises(NotFittedError):
        CrossValidatedUplift(candidates=cands).refit_choice(X, t, y)

    def no_choice(*args, **kwargs):
        raise AssertionError("refit_choice must not choose again")

    monkeypatch.setattr(models, "choose_candidate", no_choice)
    refit = judged.refit_choice(X, t, y)
    assert refit is not judged and refit.get_params() == judged.get_params()
    assert refit.choice_ == judged.choice_
    assert refit.cv_scores_ == judged.cv_scores_ and refit.selection_ == judged.selection_
    # the chosen learner fitted on all the rows, as a fresh fit of it gives; the judged model is left as it was
    fresh = judged._candidate(judged.choice_).fit(X, t, y)
    np.testing.assert_allclose(refit.predict(X), fresh.predict(X))
    assert not np.allclose(refit.predict(X), judged.predict(X))


def test_leaf_minimum_is_capped_at_a_fifth_of_the_rows():
    from loyalist.uplift.models import DEFAULT_UPLIFT_PARAMS, leaf_minimum

    configured = DEFAULT_UPLIFT_PARAMS["min_child_samples"]
    # every group of 1,000 rows or more keeps the configured leaf minimum (the benchmarks' campaigns fit as before)
    assert leaf_minimum(configured, 1000) == configured == 200
    assert leaf_minimum(configured, 22_000) == 200
    assert leaf_minimum(configured, 999) == 199
    # the demo campaign's 308 control customers in its training part: a stump can split again
    assert leaf_minimum(configured, 308) == 61
    assert leaf_minimum(configured, 3) == 1
    model = TwoModelUplift()
    assert model._lgbm_params(2, 308)["min_child_samples"] == 61
    assert model._lgbm_params(2)["min_child_samples"] == 200
    # a leaf minimum the caller names is taken as given
    assert TwoModelUplift(params={"min_child_samples": 150})._lgbm_params(2, 308)["min_child_samples"] == 150


@pytest.mark.parametrize("cls", [TwoModelUplift, XLearnerUplift])
def test_lightgbm_learners_learn_from_a_small_control_group(cls):
    """A campaign with 10% control and 3,000 customers (about 300 control customers, as the demo's): with the
    default 200 customers per leaf the control model could not split (a constant), so the T-learner ranked by
    P(stay if contacted) alone and its uplift had nothing of the planted effect's sign on the sleeping dogs."""
    X, t, y, _ = planted(3000, 7, control_share=0.1)
    assert 250 < (t == 0).sum() < 350
    model = cls(random_state=0).fit(X, t, y)
    no_effect, _ = model.predict_outcomes(X)
    assert np.unique(no_effect.round(12)).size > 1  # the control model varies with the features
    assert model.model_control_.booster_.dump_model()["tree_info"][0]["num_leaves"] > 1
    Xte, _, _, tau_te = planted(20_000, 8, control_share=0.5)
    pred = model.predict(Xte)
    # the persuadables rank above the sleeping dogs (a response model would not: x2, not x1, drives the base rate)
    assert pred[tau_te > 0].mean() > pred[tau_te < 0].mean() + 0.05


def test_the_t_learner_reads_the_x_learners_outcome_models_in_each_fold(monkeypatch):
    """The default choice cross-validates the LightGBM T- and X-learners; the X-learner fits the T-learner's two
    outcome models first, so each fold fits them once: the T-learner's fold scores are those of its own fits."""
    import loyalist.uplift.models as models

    X, t, y, _tau = planted(3000, 7, control_share=0.15)
    params = {"n_estimators": 40, "num_leaves": 2}
    cands = {"logistic": ("logistic", {}), "t": ("two_model", {"params": params}),
             "x": ("x_learner", {"params": params})}
    fits: list[str] = []
    original = TwoModelUplift.fit

    def counted(self, *args, **kwargs):
        fits.append(type(self).__name__)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(TwoModelUplift, "fit", counted)
    shared = CrossValidatedUplift(candidates=cands, cv=3, repeats=2, random_state=3).fit(X, t, y)
    # 6 folds: the X-learner fitted once per fold (its outcome models serve the T-learner), plus the chosen refit
    assert fits.count("TwoModelUplift") <= 1 and fits.count("XLearnerUplift") >= 6
    monkeypatch.setattr(TwoModelUplift, "fit", original)
    # the same folds with each learner fitted on its own: equal scores to the digit, and the same choice
    alone = {n: CrossValidatedUplift(candidates={"logistic": cands["logistic"], n: cands[n]}, cv=3, repeats=2,
                                     random_state=3).fit(X, t, y).cv_scores_[n] for n in ("t", "x")}
    assert shared.cv_scores_["t"] == alone["t"] and shared.cv_scores_["x"] == alone["x"]
    # a T-learner with other parameters than the X-learner's is fitted on its own
    other = {**cands, "t": ("two_model", {"params": {**params, "n_estimators": 30}})}
    assert models.CrossValidatedUplift(candidates=other)._t_learner_source("t", list(other)) is None
    assert models.CrossValidatedUplift(candidates=cands)._t_learner_source("t", list(cands)) == "x"
    assert models.CrossValidatedUplift()._t_learner_source("two_model", list(models.AUTO_CANDIDATES)) == "x_learner"
