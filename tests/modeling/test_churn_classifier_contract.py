"""The churn models follow scikit-learn's classifier contract where they claim it: ``predict_proba`` gives the n x 2
probabilities [P(stays), P(churns)] (its second column is ``score``), ``predict`` the 0/1 labels, ``classes_`` is
[0, 1]; scikit-learn's scorers take them as classifiers. The baselines that stand in for the learned model when it
loses (``BaselineChurnModel``) follow it too."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from sklearn.base import is_classifier
from sklearn.metrics import get_scorer, roc_auc_score

from loyalist.config import CleaningConfig, LoyalistConfig
from loyalist.data.clean import clean_tables
from loyalist.data.synthetic import generate
from loyalist.modeling.evaluation.baseline_models import BaselineChurnModel, BaselineValueModel
from loyalist.modeling.supervised.training import train_churn


@pytest.fixture(scope="module")
def trained():
    data = generate(n_customers=600, start="2022-01-01", end="2024-12-31", seed=4, dirty=False)
    tables = clean_tables(data.tables(), CleaningConfig()).tables
    return train_churn(tables, LoyalistConfig.model_validate(yaml.safe_load("training: {max_cutoffs: 4}")))


def _models(result):
    learned = result.model
    recency = BaselineChurnModel("recency", horizon_days=learned.horizon_days, explainer=learned).fit(
        result.train_snapshot)
    bgnbd = BaselineChurnModel("bgnbd_no_purchase", horizon_days=learned.horizon_days, explainer=learned).fit()
    return {"learned": learned, "recency": recency, "bgnbd_no_purchase": bgnbd}


@pytest.mark.parametrize("which", ["learned", "recency", "bgnbd_no_purchase"])
def test_predict_proba_is_n_by_2_and_its_second_column_is_the_churn_probability(trained, which):
    model = _models(trained)[which]
    rows = trained.eval_snapshot
    proba = model.predict_proba(rows)
    assert proba.shape == (len(rows), 2) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(proba[:, 1], model.score(rows), rtol=0, atol=0)
    assert ((proba >= 0) & (proba <= 1)).all()
    assert list(model.classes_) == [0, 1]
    labels = model.predict(rows)
    assert labels.shape == (len(rows),) and set(np.unique(labels)) <= {0, 1}
    np.testing.assert_array_equal(labels, (proba[:, 1] >= 0.5).astype(int))


@pytest.mark.parametrize("which", ["learned", "recency"])
def test_scikit_learn_scorers_take_the_churn_model_as_a_classifier(trained, which):
    model = _models(trained)[which]
    rows, y = trained.eval_snapshot, trained.eval_snapshot["churned"].to_numpy()
    assert is_classifier(model)
    got = get_scorer("roc_auc")(model, rows, y)  # calls predict_proba through scikit-learn's response machinery
    assert got == pytest.approx(roc_auc_score(y, model.score(rows)), abs=1e-12)
    assert got > 0.6
    assert get_scorer("neg_brier_score")(model, rows, y) == pytest.approx(
        -np.mean((model.score(rows) - y) ** 2), abs=1e-12)


def test_the_value_model_claims_no_classifier_contract(trained):
    value = BaselineValueModel(explainer=trained.model).fit()
    assert not is_classifier(value) and not hasattr(value, "predict_proba")
