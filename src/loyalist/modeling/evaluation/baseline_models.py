"""Baselines as loyalist models, so a baseline can be registered and become champion when it beats the learned model.

Each class follows the loyalist model protocol (``feature_names_``, ``kind``, ``output_name``, ``horizon_days``,
``score(snapshot, horizon_days=None)``) and is logged with the same MLflow pyfunc as the learned models. The
probability or value comes from the baseline; the per-customer reasons (``contributions``, ``raw_score``) and the
drift reference come from the learned model it was compared with (``explainer``), which the scoring job explains
with, so a baseline champion still gets the churn-risk list's reasons.

- :class:`BaselineChurnModel`: ``bgnbd_no_purchase`` (BG/NBD P(no purchase in (T, T + h]), a probability at any
  horizon) or ``recency`` (days since the last order through a logistic calibration fitted on labelled rows).
- :class:`BaselineValueModel`: ``bgnbd_gamma_gamma`` (BG/NBD expected purchases x Gamma-Gamma spend over h) or
  ``last_period_revenue`` (revenue in the look-back window, scaled to h).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression

from loyalist.errors import ModelError, NotFittedError
from loyalist.modeling.contract import ChurnClassifierMixin
from loyalist.modeling.evaluation.baselines import churn_baselines, value_baselines

__all__ = ["BaselineChurnModel", "BaselineValueModel"]

_CHURN_METHODS = ("bgnbd_no_purchase", "recency")
_VALUE_METHODS = ("bgnbd_gamma_gamma", "last_period_revenue")


class _BaselineBase(BaseEstimator):
    kind = ""
    output_name = ""
    is_baseline = True

    def _check_fitted(self) -> None:
        if not hasattr(self, "feature_names_"):
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit(frame) first.")

    def _frame(self, snapshot: pd.DataFrame, horizon_days: int | None) -> pd.DataFrame:
        """The snapshot with the BTYD quantities at horizon h (from the explainer's frozen featurizer)."""
        self._check_fitted()
        featurizer = self.btyd if self.btyd is not None else getattr(self.explainer, "btyd_", None)
        if featurizer is None:
            return snapshot
        feats = featurizer.transform(snapshot, horizon_days=int(horizon_days or self.horizon_days))
        return pd.concat([snapshot.drop(columns=[c for c in feats.columns if c in snapshot.columns]), feats], axis=1)

    # reasons and drift: the learned model's (see the module docstring)
    @property
    def spec_(self):
        return self.explainer.spec_

    @property
    def btyd_(self):  # the reasons quote the learned model's BG/NBD features
        return getattr(self.explainer, "btyd_", None)

    @property
    def use_btyd(self) -> bool:
        return bool(getattr(self.explainer, "use_btyd", False))

    @property
    def drift_reference_(self):
        return getattr(self.explainer, "drift_reference_", None)

    def model_frame(self, snapshot: pd.DataFrame) -> pd.DataFrame:
        return self.explainer.model_frame(snapshot)

    def raw_score(self, snapshot: pd.DataFrame, horizon_days: int | None = None) -> np.ndarray:
        return self.explainer.raw_score(snapshot, horizon_days)

    def contributions(self, snapshot: pd.DataFrame, horizon_days: int | None = None) -> pd.DataFrame:
        return self.explainer.contributions(snapshot, horizon_days)

    def feature_importance(self) -> pd.DataFrame:
        return self.explainer.feature_importance()

    def _inputs(self, needed: tuple[str, ...]) -> list[str]:
        names = list(getattr(self.explainer, "feature_names_", []))
        return names + [c for c in needed if c not in names]


class BaselineChurnModel(ChurnClassifierMixin, _BaselineBase):
    """A churn baseline as a model: P(no completed order in (T, T + horizon]); scikit-learn's ``predict_proba``,
    ``predict`` and ``classes_`` as on the learned model (:class:`~loyalist.modeling.contract.ChurnClassifierMixin`).

    Parameters
    ----------
    method : ``"bgnbd_no_purchase"`` or ``"recency"``.
    horizon_days : the horizon of the probabilities.
    explainer : the fitted learned :class:`~loyalist.modeling.supervised.churn.ChurnModel` (reasons; its BG/NBD featurizer
        unless ``btyd`` is given).
    btyd : a fitted :class:`~loyalist.modeling.btyd.features.BtydFeaturizer` for the baseline's own BG/NBD (the
        training job fits it at the newest data day, as the protocol's baselines are fitted at the cut-off).
    """

    kind = "churn"
    output_name = "churn_probability"
    label = "churned"

    def __init__(self, method: str = "bgnbd_no_purchase", horizon_days: int = 90, explainer=None,
                 btyd=None) -> None:
        self.method = method
        self.horizon_days = horizon_days
        self.explainer = explainer
        self.btyd = btyd

    def fit(self, frame: pd.DataFrame | None = None, y=None) -> BaselineChurnModel:
        """``frame``: labelled snapshot rows (``churned``) for the recency calibration; unused for BG/NBD."""
        if self.method not in _CHURN_METHODS:
            raise ModelError(f"The churn baseline method must be one of {list(_CHURN_METHODS)}; got {self.method!r}.")
        if self.explainer is None:
            raise ModelError("A baseline model needs the fitted learned model as 'explainer' (BG/NBD, reasons).")
        self.feature_names_ = self._inputs(("recency_days", "n_orders", "btyd_frequency", "btyd_recency", "btyd_T",
                                             "btyd_monetary"))
        self.calibrator_ = None
        if self.method == "recency":
            if frame is None or "churned" not in frame:
                raise ModelError("The recency baseline needs labelled rows (column 'churned') to calibrate on.")
            x = np.log1p(frame["recency_days"].astype("float64").fillna(frame["recency_days"].max()).to_numpy())
            self.calibrator_ = LogisticRegression().fit(x[:, None], frame["churned"].astype(int).to_numpy())
        return self

    def score(self, snapshot: pd.DataFrame, horizon_days: int | None = None) -> np.ndarray:
        frame = self._frame(snapshot, horizon_days)
        if self.method == "recency":
            x = np.log1p(frame["recency_days"].astype("float64").fillna(frame["recency_days"].max()).to_numpy())
            c = self.calibrator_
            assert c is not None  # fit calibrates every recency baseline
            return expit(c.intercept_[0] + c.coef_[0, 0] * x)
        return np.clip(churn_baselines(frame)["bgnbd_no_purchase"], 0.0, 1.0)

    @property
    def transfers_horizon(self) -> bool:
        """BG/NBD gives P(no purchase) at any horizon; the recency calibration holds for its own horizon only."""
        return self.method == "bgnbd_no_purchase"

    def uncalibrated(self, snapshot: pd.DataFrame, horizon_days: int | None = None) -> np.ndarray:
        return self.score(snapshot, horizon_days)


class BaselineValueModel(_BaselineBase):
    """A value baseline as a model: expected revenue in (T, T + horizon].

    Parameters
    ----------
    method : ``"bgnbd_gamma_gamma"`` or ``"last_period_revenue"``.
    horizon_days, lookback_days : the value horizon; the look-back window of last-period revenue.
    explainer : the fitted learned :class:`~loyalist.modeling.supervised.value.ValueModel`.
    btyd : as in :class:`BaselineChurnModel`.
    level_from : another value baseline whose level (total) this one takes: :meth:`fit` freezes
        ``factor_ = sum(level_from predictions) / sum(method predictions)`` over the rows it is given (predictions
        only, no label), so the ranking is ``method``'s and the total ``level_from``'s.
    """

    kind = "value"
    output_name = "expected_value"

    def __init__(self, method: str = "bgnbd_gamma_gamma", horizon_days: int = 365, lookback_days: int = 365,
                 target: str = "future_revenue", explainer=None, level_from: str | None = None,
                 btyd=None) -> None:
        self.method = method
        self.level_from = level_from
        self.btyd = btyd
        self.horizon_days = horizon_days
        self.lookback_days = lookback_days
        self.target = target
        self.explainer = explainer

    @property
    def label(self) -> str:
        return self.target

    def fit(self, frame: pd.DataFrame | None = None, y=None) -> BaselineValueModel:
        if self.method not in _VALUE_METHODS:
            raise ModelError(f"The value baseline method must be one of {list(_VALUE_METHODS)}; got {self.method!r}.")
        if self.explainer is None:
            raise ModelError("A baseline model needs the fitted learned model as 'explainer' (BG/NBD, reasons).")
        self.feature_names_ = self._inputs(("monetary_total", "n_orders", "tenure_days", "btyd_frequency",
                                             "btyd_recency", "btyd_T", "btyd_monetary"))
        self.factor_ = 1.0
        if self.level_from:
            if self.level_from not in _VALUE_METHODS or frame is None:
                raise ModelError(f"'level_from' must be one of {list(_VALUE_METHODS)} with rows to fit on; "
                                 f"got {self.level_from!r}.")
            own = float(self._raw(frame, self.method).sum())
            other = float(self._raw(frame, self.level_from).sum())
            self.factor_ = other / own if own > 0 and other > 0 else 1.0
        return self

    def _raw(self, snapshot: pd.DataFrame, method: str, horizon_days: int | None = None) -> np.ndarray:
        h = int(horizon_days or self.horizon_days)
        frame = self._frame(snapshot, h)
        preds = value_baselines(frame, horizon_days=h, lookback_days=self.lookback_days, target=self.target)
        key = method if self.target != "future_orders" else {
            "bgnbd_gamma_gamma": "bgnbd_purchases", "last_period_revenue": "last_period_orders"}[method]
        return np.clip(np.asarray(preds[key], dtype="float64"), 0.0, None)

    #: Both value baselines scale with the horizon (BG/NBD expected purchases; last-period revenue pro rata).
    transfers_horizon = True

    def score(self, snapshot: pd.DataFrame, horizon_days: int | None = None) -> np.ndarray:
        self._check_fitted()
        return self._raw(snapshot, self.method, horizon_days) * self.factor_
