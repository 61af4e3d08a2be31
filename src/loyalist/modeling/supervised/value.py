"""The value model: LightGBM regressor (Tweedie objective, for the many zeros) of revenue in (T, T + horizon]."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import lightgbm as lgb
import numpy as np
import pandas as pd

from loyalist.errors import ModelError
from loyalist.modeling.supervised.base import LgbmModelBase
from loyalist.modeling.supervised.matrix import to_matrix

__all__ = ["ValueModel"]


class ValueModel(LgbmModelBase):
    """Expected revenue (or margin) of each customer in (T, T + horizon] from a snapshot at T.

    Parameters
    ----------
    horizon_days : the value horizon.
    target : label column, ``future_revenue`` (default), ``future_margin`` or ``future_orders`` (purchases).
    tweedie_variance_power : 1 < p < 2; Tweedie handles the point mass at zero and the long right tail.
    offset : start the booster from log(BG/NBD x Gamma-Gamma value over h) (log of BG/NBD expected purchases for
        ``future_orders``), so that the trees learn a
        multiplicative correction and a model trained on a shorter horizon transfers to a longer one.
    """

    kind = "value"
    output_name = "expected_value"
    # Fewer, larger trees (issue 14 §2): the value model is predicted on every customer of a scoring job and never
    # explained (SHAP is the churn model's), so its trees cost prediction time only. On the 20,000-customer benchmark
    # company (validation rows, seeds 0-3): 31 leaves at learning rate 0.1, 262-334 trees, Gini 0.9724-0.9733; at
    # 0.2, 48-137 trees, Gini -0.0009 on average (-0.0002 to -0.0017; the bound is -0.005); 15 leaves at 0.05 had
    # 676 trees (benchmarks/RESULTS.md, "predfast, session 17").
    kind_params: ClassVar[dict[str, object]] = {"learning_rate": 0.2, "num_leaves": 31}

    def __init__(
        self,
        horizon_days: int = 365,
        params: dict | None = None,
        use_btyd: bool = True,
        offset: bool = False,
        target: str = "future_revenue",
        tweedie_variance_power: float = 1.5,
        early_stopping_rounds: int = 100,
        random_state: int = 0,
        n_jobs: int | None = None,
        features=None,
    ) -> None:
        super().__init__(horizon_days, params, use_btyd, offset, early_stopping_rounds, random_state, n_jobs, features)
        self.target = target
        self.tweedie_variance_power = tweedie_variance_power

    @property
    def label(self) -> str:  # type: ignore[override]
        return self.target

    def _offset_values(self, frame: pd.DataFrame) -> np.ndarray:
        column = "bg_expected_purchases" if self.target == "future_orders" else "btyd_value"
        v = frame[column].to_numpy(dtype="float64", na_value=np.nan)
        fallback = np.nanmedian(v) if np.isfinite(v).any() else 1.0
        v = np.where(np.isfinite(v), v, fallback)
        return np.log(np.clip(v, 1e-3, None))

    def fit(
        self, train: pd.DataFrame, valid: pd.DataFrame | None = None, *, train_horizon_days: int | None = None
    ) -> ValueModel:
        """Fit on stacked labelled snapshots (label ``target`` >= 0); early-stop on ``valid``."""
        y = self._check_labels(train, "training")
        if (y < 0).any():
            raise ModelError(
                f"The value label {self.target!r} has {int((y < 0).sum())} negative value(s); the Tweedie objective "
                "needs revenue >= 0 (net returns out of the label or clip at 0)."
            )
        if not (y > 0).any():
            raise ModelError(f"The value label {self.target!r} is zero for every training row; nothing to learn.")
        train_f, valid_f = self._prepare_fit(train, valid, train_horizon_days)
        X = to_matrix(train_f, self.spec_)
        reg = lgb.LGBMRegressor(
            objective="tweedie", tweedie_variance_power=self.tweedie_variance_power, **self._lgbm_params()
        )
        fit_kw: dict = {}
        if self.offset and self.use_btyd:
            fit_kw["init_score"] = self._offset_values(train_f)
        callbacks: list[Callable[..., Any]] = []
        if valid_f is not None:
            yv = np.clip(self._check_labels(valid, "validation"), 0, None)
            fit_kw["eval_X"], fit_kw["eval_y"] = (to_matrix(valid_f, self.spec_),), (yv,)
            if self.offset and self.use_btyd:
                fit_kw["eval_init_score"] = [self._offset_values(valid_f)]
            callbacks.append(lgb.early_stopping(self.early_stopping_rounds, verbose=False))
        else:
            reg.set_params(n_estimators=min(int(reg.get_params()["n_estimators"]), 300))
        reg.fit(X, y, callbacks=callbacks, **fit_kw)
        self.booster_ = reg
        self.best_iteration_ = int(reg.best_iteration_ or reg.n_estimators)
        self.n_train_ = len(train)
        self.train_mean_ = float(y.mean())
        self.level_scale_ = 1.0
        if valid_f is not None and not self.transfers_horizon:
            self.level_scale_ = self._out_of_time_scale(valid, valid_f)
        return self

    def _out_of_time_scale(self, valid: pd.DataFrame, valid_f: pd.DataFrame) -> float:
        """The factor that makes the predicted total of ``valid`` (the newest labelled cut-off's early-stopping
        rows, at the model's own horizon) equal its actual total: the level at the most recent labelled cut-off.

        A Tweedie booster with a log link matches each leaf's mean only at convergence; stopped early it can sit
        well off the total (the 100,000-customer demo company: +16% on its own training rows, +10% out of time with
        31 leaves at learning rate 0.1, which the gate's 10% total-error rule then refused). One number fitted on
        rows the reported metrics never see; it moves no customer relative to another, so the ranking is unchanged.
        1.0 when either total is not positive."""
        y = np.clip(self._check_labels(valid, "validation"), 0, None)
        pred = np.exp(self.booster_.predict(to_matrix(valid_f, self.spec_), raw_score=True))
        total, own = float(y.sum()), float(pred.sum())
        return total / own if total > 0 and own > 0 and np.isfinite(own) else 1.0

    def score(self, snapshot: pd.DataFrame, horizon_days: int | None = None) -> np.ndarray:
        """Expected value over the horizon, one per row (>= 0): the booster's prediction at the level of the newest
        labelled cut-off (``level_scale_``, see :meth:`_out_of_time_scale`); at the model's own horizon the frozen
        level (``level_``, :mod:`loyalist.modeling.supervised.level`) applies on top."""
        value = np.exp(self.raw_score(snapshot, horizon_days)) * float(getattr(self, "level_scale_", 1.0))
        level = getattr(self, "level_", None)
        if level is not None and (horizon_days is None or int(horizon_days) == int(self.horizon_days)):
            value = value * level.factor
        return value
