"""The churn model: LightGBM binary classifier on snapshot features, early-stopped and calibrated out of time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.special import expit, logit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator

from loyalist.errors import InsufficientHistoryError
from loyalist.modeling.contract import ChurnClassifierMixin
from loyalist.modeling.supervised.base import LgbmModelBase
from loyalist.modeling.supervised.matrix import check_columns, to_matrix

__all__ = ["ChurnModel"]

_OFFSET = "__offset__"


class _RawClassifier(ClassifierMixin, BaseEstimator):
    """The fitted booster seen as a classifier on the model matrix (with the offset as a column), so that
    scikit-learn's calibration can wrap it in ``FrozenEstimator``."""

    def __init__(self, booster=None, columns=None) -> None:
        self.booster = booster
        self.columns = columns

    def fit(self, X, y=None):  # pragma: no cover - frozen, never refitted
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return self.booster is not None

    @property
    def classes_(self) -> np.ndarray:
        return np.array([0, 1])

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        raw = self.booster.predict(X[self.columns], raw_score=True)
        return raw + X[_OFFSET].to_numpy() if _OFFSET in X.columns else raw

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = expit(self.decision_function(X))
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


class ChurnModel(ChurnClassifierMixin, LgbmModelBase):
    """P(no completed order in (T, T + horizon]) for each customer of a snapshot at T.

    ``score(snapshot)`` gives the probabilities; scikit-learn's ``predict_proba`` (n x 2), ``predict`` and
    ``classes_`` come from :class:`~loyalist.modeling.contract.ChurnClassifierMixin`.

    Parameters
    ----------
    horizon_days : the churn horizon the probabilities refer to.
    params : LightGBM parameters over :data:`~loyalist.modeling.supervised.base.DEFAULT_LGBM_PARAMS`.
    use_btyd : add BG/NBD quantities (P(alive), P(no purchase in h), expected purchases) as features.
    offset : start the booster from logit(BG/NBD P(no purchase in h)) so the trees learn a correction; this makes a
        model trained on a shorter horizon transferable to a longer one (the horizon enters through the offset).
    calibration : ``"auto"`` (isotonic with >= 5,000 calibration rows, else sigmoid), ``"isotonic"``, ``"sigmoid"``
        or ``"none"``. A model that transfers its horizon applies the map only at the label horizons it was learned
        on (:meth:`calibrated_at`).
    """

    kind = "churn"
    output_name = "churn_probability"
    label = "churned"
    # Fewer trees (issue 14 §2): a scoring job predicts every customer and computes TreeSHAP for ~20,000 of them with
    # these trees. On the 20,000-customer benchmark company (validation rows, seeds 0-4): learning rate 0.05, 175-281
    # trees, ROC AUC 0.9387-0.9390; at 0.15, 60-73 trees, AUC -0.0015 on average (-0.0012 to -0.0022; the bound is
    # -0.002); 0.075 kept the AUC (-0.0004) with 120-163 trees; 31 leaves at 0.1 lost 0.003
    # (benchmarks/RESULTS.md, "predfast, session 17").
    kind_params: ClassVar[dict[str, object]] = {"learning_rate": 0.15}

    def __init__(
        self,
        horizon_days: int = 90,
        params: dict | None = None,
        use_btyd: bool = True,
        offset: bool = False,
        calibration: str = "auto",
        early_stopping_rounds: int = 100,
        random_state: int = 0,
        n_jobs: int | None = None,
        features=None,
    ) -> None:
        super().__init__(horizon_days, params, use_btyd, offset, early_stopping_rounds, random_state, n_jobs, features)
        self.calibration = calibration

    def _offset_values(self, frame: pd.DataFrame) -> np.ndarray:
        p = frame["bg_p_no_purchase"].to_numpy(dtype="float64", na_value=np.nan)
        p = np.where(np.isfinite(p), p, 0.5)
        return logit(np.clip(p, 1e-4, 1 - 1e-4))

    def fit(
        self,
        train: pd.DataFrame,
        valid: pd.DataFrame | None = None,
        *,
        train_horizon_days: int | None = None,
    ) -> ChurnModel:
        """Fit on stacked labelled snapshots ``train``; early-stop and calibrate on ``valid`` (a later cut-off).

        Both frames hold snapshot columns, ``as_of`` and the label ``churned`` (0/1). ``train_horizon_days``: the
        horizon of the labels when it differs from ``horizon_days`` (needs ``offset=True`` to transfer).
        """
        y = self._check_labels(train, "training")
        if len(np.unique(y)) < 2:
            raise InsufficientHistoryError(
                f"The training cut-offs have only one churn class ({int(y[0])} for all {len(y)} rows); "
                "use more cut-offs, a longer history or another horizon."
            )
        train_f, valid_f = self._prepare_fit(train, valid, train_horizon_days)
        X = to_matrix(train_f, self.spec_)
        fit_kw: dict = {}
        if self.offset and self.use_btyd:
            fit_kw["init_score"] = self._offset_values(train_f)
        clf = lgb.LGBMClassifier(objective="binary", **self._lgbm_params())
        callbacks: list[Callable[..., Any]] = []
        if valid_f is not None:
            yv = self._check_labels(valid, "validation")
            Xv = to_matrix(valid_f, self.spec_)
            fit_kw["eval_X"], fit_kw["eval_y"] = (Xv,), (yv,)
            fit_kw["eval_metric"] = "binary_logloss"
            if self.offset and self.use_btyd:
                fit_kw["eval_init_score"] = [self._offset_values(valid_f)]
            callbacks.append(lgb.early_stopping(self.early_stopping_rounds, verbose=False))
        else:
            clf.set_params(n_estimators=min(int(clf.get_params()["n_estimators"]), 300))
        clf.fit(X, y, callbacks=callbacks, **fit_kw)
        self.booster_ = clf
        self.best_iteration_ = int(clf.best_iteration_ or clf.n_estimators)
        self.n_train_ = len(train)
        self.train_churn_rate_ = float(y.mean())
        self.calibrator_ = None
        self.calibration_method_ = "none"
        # The label horizons the calibration map is learned on (mixed in the short-history mode). It is applied to
        # those horizons only: a map learned on 28-119-day labels does not describe 273-day probabilities, where
        # the booster's own (offset) probabilities are better calibrated (issue 11 §3; see score).
        if valid is not None and "label_horizon_days" in valid.columns and len(valid):
            h_cal = pd.to_numeric(valid["label_horizon_days"], errors="coerce")
            self.calibration_horizons_ = (int(h_cal.min()), int(h_cal.max()))
        else:
            h = int(train_horizon_days or self.horizon_days)
            self.calibration_horizons_ = (h, h)
        if valid_f is not None and self.calibration != "none":
            yv = self._check_labels(valid, "validation")
            if len(np.unique(yv)) == 2:
                method = self.calibration
                if method == "auto":
                    method = "isotonic" if len(yv) >= 5000 else "sigmoid"
                Xc = self._calib_matrix(valid_f)
                raw = _RawClassifier(clf, list(self.spec_.columns))
                self.calibrator_ = CalibratedClassifierCV(FrozenEstimator(raw), method=method).fit(Xc, yv.astype(int))
                self.calibration_method_ = method
        return self

    def _calib_matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        X = to_matrix(frame, self.spec_)
        if self.offset and self.use_btyd:
            X[_OFFSET] = self._offset_values(frame)
        return X

    def score(self, snapshot: pd.DataFrame, horizon_days: int | None = None) -> np.ndarray:
        """Calibrated churn probabilities, one per row. At the model's own horizon the frozen level (``level_``,
        :mod:`loyalist.modeling.supervised.level`) shifts the log-odds. A model that transfers its horizon applies
        the calibration map only at the label horizons it was learned on (:meth:`calibrated_at`)."""
        if self.calibrator_ is None or not self.calibrated_at(horizon_days):
            p = expit(self.raw_score(snapshot, horizon_days))
        else:
            self._check_fitted()
            check_columns(snapshot, self.feature_names_, what="The scoring snapshot")
            frame = self._with_btyd_frozen(snapshot, horizon_days)
            p = self.calibrator_.predict_proba(self._calib_matrix(frame))[:, 1]
        level = getattr(self, "level_", None)
        if level is not None and (horizon_days is None or int(horizon_days) == int(self.horizon_days)):
            p = level.churn(p)
        return p

    def calibrated_at(self, horizon_days: int | None = None) -> bool:
        """Whether :meth:`score` applies the calibration map at ``horizon_days`` (default: the model's horizon):
        only within the label horizons it was learned on, or at any horizon when the model does not transfer."""
        if self.calibrator_ is None:
            return False
        lo, hi = getattr(self, "calibration_horizons_", (None, None))
        if lo is None or not self.transfers_horizon:
            return True
        assert hi is not None  # fit sets both ends of calibration_horizons_ together
        h = int(horizon_days or self.horizon_days)
        return lo <= h <= hi

    def uncalibrated(self, snapshot: pd.DataFrame, horizon_days: int | None = None) -> np.ndarray:
        """The booster's probability before calibration (the scale of the SHAP contributions)."""
        return expit(self.raw_score(snapshot, horizon_days))
