"""scikit-learn's classifier contract on the churn models, learned (:class:`~loyalist.modeling.supervised.churn.
ChurnModel`) and baseline (:class:`~loyalist.modeling.evaluation.baseline_models.BaselineChurnModel`, which stands
in for the learned model when it becomes champion).

A churn model's own API is ``score(snapshot) -> P(churn)``. :class:`ChurnClassifierMixin` adds what scikit-learn
expects of a probabilistic binary classifier: ``classes_`` (``[0, 1]``, 1 = churned, the ``churned`` label),
``predict_proba(X)`` (n x 2: ``[P(stays), P(churns)]``, each row summing to 1) and ``predict(X)`` (1 where P(churns)
>= 0.5), and tags it a classifier, so scikit-learn's scorers and displays accept it (``get_scorer("roc_auc")``,
``CalibrationDisplay.from_estimator``). ``score`` keeps its loyalist meaning (the probabilities, not scikit-learn's
accuracy): measure a model with ``sklearn.metrics`` or a scorer. ``fit`` stays loyalist's (labelled snapshots).
Dependency-free beyond numpy and scikit-learn, so unpickling a model imports nothing more.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import ClassifierTags

__all__ = ["ChurnClassifierMixin"]


class ChurnClassifierMixin:
    """``classes_``, ``predict_proba`` and ``predict`` from ``score`` (see the module docstring)."""

    #: The labels, in the column order of :meth:`predict_proba`: 0 = stays, 1 = churns (``churned``).
    classes_ = np.array([0, 1])

    def predict_proba(self, X) -> np.ndarray:
        """``[P(stays), P(churns)]`` for each row of the snapshot ``X`` (the calibrated probabilities of
        ``score(X)`` at the model's own horizon); shape (n, 2)."""
        p = np.asarray(self.score(X), dtype="float64")  # type: ignore[attr-defined]
        return np.column_stack([1.0 - p, p])

    def predict(self, X) -> np.ndarray:
        """1 (churns) where P(churns) >= 0.5, else 0, for each row of ``X``. A campaign picks its own cut (the risk
        bands, or the top customers by value at risk); 0.5 is scikit-learn's convention."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags(multi_class=False)
        return tags
