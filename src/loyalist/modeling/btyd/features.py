"""BG/NBD and Gamma-Gamma quantities as model features and as baselines.

The snapshot carries each customer's BTYD summary (``btyd_frequency``, ``btyd_recency``, ``btyd_T`` in days,
``btyd_monetary``). :class:`BtydFeaturizer` fits BG/NBD (and Gamma-Gamma on repeat buyers) on one snapshot (events
<= T only, so fitting at T is legitimate) and turns the summaries into horizon-aware quantities:

- ``bg_p_alive``: P(alive at T);
- ``bg_p_no_purchase``: P(no purchase in (T, T + h]) = 1 - P(alive) + P(alive) ((alpha + T) / (alpha + T + h))^(r + x),
  the BG/NBD churn baseline (not 1 - P(alive), which ranks one-time buyers as safe);
- ``bg_expected_purchases``: E[purchases in (T, T + h]];
- ``gg_expected_value``: Gamma-Gamma expected mean spend per purchase day (population mean for non-repeaters);
- ``btyd_value``: bg_expected_purchases x gg_expected_value (the BG/NBD x Gamma-Gamma value baseline).

Time is measured in weeks inside the BTYD models (the published parameters are in weeks).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from loyalist.errors import ModelError, NotFittedError
from loyalist.modeling.btyd.models import BetaGeoModel, GammaGammaModel
from loyalist.schema import require_columns

__all__ = ["BTYD_FEATURES", "BtydFeaturizer", "btyd_features_by_cutoff"]

BTYD_FEATURES: tuple[str, ...] = (
    "bg_p_alive", "bg_p_no_purchase", "bg_expected_purchases", "gg_expected_value", "btyd_value",
)
_INPUT = ("btyd_frequency", "btyd_recency", "btyd_T", "btyd_monetary")
_WEEK = 7.0


def _summary(snapshot: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    require_columns(snapshot, _INPUT, what="The snapshot", kind="BTYD summary", show_columns=False,
                    fix="build it with loyalist's snapshot", error=ModelError)
    x = snapshot["btyd_frequency"].to_numpy(dtype="float64", na_value=np.nan)
    t_x = snapshot["btyd_recency"].to_numpy(dtype="float64", na_value=np.nan) / _WEEK
    big_t = snapshot["btyd_T"].to_numpy(dtype="float64", na_value=np.nan) / _WEEK
    m = snapshot["btyd_monetary"].to_numpy(dtype="float64", na_value=np.nan)
    return x, t_x, big_t, m


class BtydFeaturizer(BaseEstimator):
    """Fit BG/NBD (+ Gamma-Gamma) on a snapshot; transform snapshots into :data:`BTYD_FEATURES` for horizon h days.

    Parameters
    ----------
    horizon_days : the label horizon h of the quantities.
    penalizer : L2 penalty of both fits (small values stabilise tiny samples).
    """

    def __init__(self, horizon_days: int = 90, penalizer: float = 0.0) -> None:
        self.horizon_days = horizon_days
        self.penalizer = penalizer

    def fit(self, snapshot: pd.DataFrame, y=None) -> BtydFeaturizer:
        x, t_x, big_t, m = _summary(snapshot)
        ok = np.isfinite(x) & np.isfinite(t_x) & np.isfinite(big_t) & (big_t > 0)
        # A cut-off too small or without repeat buyers cannot identify BG/NBD: its features are then missing (NaN)
        # and the reason is kept in ``failure_``, rather than stopping the training run.
        self.failure_: str | None = None
        self.bgnbd_: BetaGeoModel | None = None
        # Data with almost no drop-out drive a and b of the Beta mixing distribution to huge values, where the
        # hypergeometric expectation is not computable; a tiny L2 penalty keeps them finite at a negligible cost in
        # likelihood. Try unpenalised first, then the smallest penalty that gives finite predictions.
        probe = (x[ok][:2000], t_x[ok][:2000], big_t[ok][:2000])
        for pen in dict.fromkeys([self.penalizer, 1e-6, 1e-4, 1e-2]):
            try:
                model = BetaGeoModel(penalizer=pen).fit(x[ok], t_x[ok], big_t[ok])
            except ModelError as exc:
                self.failure_ = str(exc)
                break
            with np.errstate(all="ignore"):
                finite = np.isfinite(model.conditional_expected_purchases(13.0, *probe)).all()
            if finite and model.params_["a"] + model.params_["b"] < 1e5:
                self.bgnbd_, self.failure_ = model, None
                break
            self.failure_ = f"BG/NBD predictions not finite with penalizer {pen}"
        repeat = ok & (x > 0) & np.isfinite(m) & (m > 0)
        self.gamma_gamma_: GammaGammaModel | None
        if repeat.sum() >= 10:
            try:
                self.gamma_gamma_ = GammaGammaModel(penalizer=self.penalizer).fit(x[repeat], m[repeat])
            except ModelError:
                self.gamma_gamma_ = None
            # q <= 1 means an infinite expected spend: Gamma-Gamma does not describe these amounts.
            if self.gamma_gamma_ is not None and self.gamma_gamma_.params_["q"] <= 1.0:
                self.gamma_gamma_ = None
        else:
            self.gamma_gamma_ = None
        self.mean_spend_ = float(np.nanmean(m[repeat])) if repeat.any() else float(np.nanmean(m[ok])) if ok.any() else 0.0
        return self

    def transform(self, snapshot: pd.DataFrame, horizon_days: int | None = None) -> pd.DataFrame:
        """:data:`BTYD_FEATURES` for each row (index preserved); rows without a BTYD summary get NaN."""
        if not hasattr(self, "bgnbd_"):
            raise NotFittedError("This BtydFeaturizer is not fitted yet; call fit(snapshot) first.")
        h = float(self.horizon_days if horizon_days is None else horizon_days) / _WEEK
        x, t_x, big_t, m = _summary(snapshot)
        ok = np.isfinite(x) & np.isfinite(t_x) & np.isfinite(big_t) & (big_t > 0)
        out = {name: np.full(len(snapshot), np.nan) for name in BTYD_FEATURES}
        if ok.any() and self.bgnbd_ is not None:
            with np.errstate(all="ignore"):
                self._compute(out, ok, h, x, t_x, big_t, m)
        for name in BTYD_FEATURES:
            out[name][~np.isfinite(out[name])] = np.nan
        return pd.DataFrame(out, index=snapshot.index)

    def _compute(self, out: dict, ok: np.ndarray, h: float, x, t_x, big_t, m) -> None:
        bg = self.bgnbd_
        assert bg is not None  # transform calls _compute only with a fitted BG/NBD
        out["bg_p_alive"][ok] = bg.p_alive(x[ok], t_x[ok], big_t[ok])
        out["bg_p_no_purchase"][ok] = bg.p_no_purchase(h, x[ok], t_x[ok], big_t[ok])
        out["bg_expected_purchases"][ok] = bg.conditional_expected_purchases(h, x[ok], t_x[ok], big_t[ok])
        xm = x[ok]
        if self.gamma_gamma_ is None:  # no usable Gamma-Gamma: shrink each repeat buyer's mean toward the mean
            mm = np.where(np.isfinite(m[ok]) & (m[ok] > 0), m[ok], self.mean_spend_)
            spend = (xm * mm + self.mean_spend_) / (xm + 1.0)
        else:
            spend = np.full(int(ok.sum()), self.mean_spend_)
            mm = np.where(np.isfinite(m[ok]) & (m[ok] > 0), m[ok], 0.0)
            repeat = (xm > 0) & (mm > 0)
            if repeat.any():
                spend[repeat] = self.gamma_gamma_.expected_average_value(xm[repeat], mm[repeat])
            p, q, v = (self.gamma_gamma_.params_[k] for k in ("p", "q", "gamma"))
            spend[~repeat] = p * v / (q - 1)  # the population mean spend (prior mean); q > 1 checked at fit
        out["gg_expected_value"][ok] = spend
        out["btyd_value"][ok] = out["bg_expected_purchases"][ok] * spend

    def survival(
        self, snapshot: pd.DataFrame, horizons_days: tuple[int, ...] = (30, 90, 180), cap_days: float = 365.0,
        churn_probability: np.ndarray | None = None, churn_horizon_days: float | None = None,
    ) -> pd.DataFrame:
        """Time to churn per row (index preserved): ``p_active_<h>d`` for each horizon and ``expected_days_to_churn``
        (:func:`loyalist.modeling.btyd.survival.survival_table`, weeks inside); NaN without a BG/NBD fit or a
        summary. With ``churn_probability`` (one per row, a learned model's P(no purchase in the next
        ``churn_horizon_days``)) the curves start from the P(alive) anchored to it."""
        from loyalist.modeling.btyd.survival import survival_table

        if not hasattr(self, "bgnbd_"):
            raise NotFittedError("This BtydFeaturizer is not fitted yet; call fit(snapshot) first.")
        columns = [f"p_active_{h}d" for h in horizons_days] + ["expected_days_to_churn"]
        out = pd.DataFrame(np.nan, index=snapshot.index, columns=columns)
        x, t_x, big_t, _ = _summary(snapshot)
        ok = np.isfinite(x) & np.isfinite(t_x) & np.isfinite(big_t) & (big_t > 0) & (t_x <= big_t)
        if ok.any() and self.bgnbd_ is not None:
            with np.errstate(all="ignore"):
                q = None if churn_probability is None else np.asarray(churn_probability, dtype="float64")[ok]
                table = survival_table(self.bgnbd_, x[ok], t_x[ok], big_t[ok], time_unit_days=_WEEK,
                                       horizons_days=horizons_days, cap_days=cap_days, churn_probability=q,
                                       churn_horizon_days=churn_horizon_days)
            out.loc[ok, columns] = table[columns].to_numpy()
        return out

    def params(self) -> dict[str, float]:
        """The fitted parameters, flat (for logging)."""
        if not hasattr(self, "bgnbd_"):
            raise NotFittedError("This BtydFeaturizer is not fitted yet; call fit(snapshot) first.")
        if self.bgnbd_ is None:
            return {}
        out = {f"bgnbd_{k}": float(v) for k, v in self.bgnbd_.params_.items()}
        if self.gamma_gamma_ is not None:
            out.update({f"gg_{k}": float(v) for k, v in self.gamma_gamma_.params_.items()})
        return out


def btyd_features_by_cutoff(
    stacked: pd.DataFrame, horizon_days: int, penalizer: float = 0.0
) -> tuple[pd.DataFrame, dict[pd.Timestamp, BtydFeaturizer]]:
    """For stacked snapshots (column ``as_of``), fit one featurizer per cut-off on that cut-off's rows only and
    return the features for every row (index preserved) and the fitted featurizers by cut-off. A column
    ``label_horizon_days`` (one value per cut-off) overrides ``horizon_days`` for that cut-off's rows."""
    parts, fitted = [], {}
    for as_of, rows in stacked.groupby("as_of", sort=True):
        h = int(rows["label_horizon_days"].iloc[0]) if "label_horizon_days" in rows else horizon_days
        f = BtydFeaturizer(horizon_days=h, penalizer=penalizer).fit(rows)
        parts.append(f.transform(rows))
        fitted[pd.Timestamp(as_of)] = f
    return pd.concat(parts).reindex(stacked.index), fitted
