"""The rule-based loyalty score: a weighted mean of indicators on a 0-100 scale, and its tiers.

The source's composite score (复购率 30% + 客单价稳定性 20% + 消费频次 15% + NPS 25% + (1 - 投诉率) 10%)
as a scikit-learn transformer. Each configured indicator is scaled to 0-100 (:mod:`loyalist.scoring.scaling`); the
score of a customer is the weighted mean over the indicators *present for that customer*, so a customer without
surveys is scored on the behavioural indicators alone, and ``score_coverage`` says how much of the configured
weight that was. Tiers come from the score and are capped by the guard rules (:mod:`loyalist.scoring.tiers`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils.validation import check_is_fitted

from loyalist.config.models import ScoringConfig
from loyalist.errors import NotFittedError, SchemaError
from loyalist.scoring.scaling import percentile_reference, scale_indicator
from loyalist.scoring.tiers import apply_guards, assign_tiers, guard_columns, score_reasons

__all__ = ["LoyaltyScorer", "SCORE_COLUMNS"]

#: Output columns of :meth:`LoyaltyScorer.transform` after the ``<indicator>_scaled`` columns.
SCORE_COLUMNS: tuple[str, ...] = ("loyalty_score", "score_coverage", "loyalty_tier", "tier_reason")

# Coverage is a sum of float weights: compare it to min_coverage with this slack.
_COVERAGE_EPS = 1e-9


def _check_snapshot(snapshot: object, config: ScoringConfig, method: str, *, guards: bool = True) -> pd.DataFrame:
    """Check, all at once, that the snapshot has every column the indicators (and guards) read."""
    if not isinstance(snapshot, pd.DataFrame):
        raise SchemaError(
            f"LoyaltyScorer.{method} expects the customer snapshot as a pandas DataFrame; got "
            f"{type(snapshot).__name__}; pass the frame built by loyalist.features (one row per customer)."
        )
    problems = []
    missing_ind = [c for c in config.indicators if c not in snapshot.columns]
    if missing_ind:
        problems.append(
            f"the indicator column(s) {', '.join(repr(c) for c in missing_ind)} "
            f"(configured indicators: {list(config.indicators)})"
        )
    missing_guard = {
        c: n for c, n in guard_columns(config.guards if guards else []).items() if c not in snapshot.columns
    }
    if missing_guard:
        problems.append(
            "the guard column(s) "
            + ", ".join(f"{c!r} (guard {', '.join(repr(x) for x in n)})" for c, n in missing_guard.items())
        )
    if problems:
        raise SchemaError(
            f"The snapshot given to LoyaltyScorer.{method} lacks {' and '.join(problems)}; add these numeric "
            "columns to the snapshot or remove them from scoring.indicators / scoring.guards."
        )
    return snapshot


class LoyaltyScorer(TransformerMixin, BaseEstimator):
    """Weighted 0-100 loyalty score, tier and tier reason per customer.

    Parameters
    ----------
    config : ScoringConfig, optional
        Indicators (weight + scaling), tier thresholds, guards and ``min_coverage``; default ``ScoringConfig()``
        (the source's 30/20/15/25/10 weights, tiers 90/75/60, guards ``no_order_90_days`` and ``nps_below_30``).

    Attributes
    ----------
    config_ : ScoringConfig
        The configuration used (``config`` or the default).
    indicators_ : tuple of str
        The configured indicators, in config order.
    weights_ : pandas.Series
        Weight per indicator, normalised to sum to 1 (index = ``indicators_``).
    references_ : dict of str to numpy.ndarray
        For each indicator scaled by ``percentile``: its sorted non-missing values in the fitted snapshot.
    n_features_in_ : int
        Number of columns of the fitted snapshot.
    feature_names_in_ : numpy.ndarray
        Their names.

    Notes
    -----
    The score of customer i is ``sum_j w_j * s_ij / sum_j w_j`` over the indicators j whose scaled value
    ``s_ij`` is present; ``score_coverage = sum_j w_j`` over those indicators (weights normalised to sum to 1).
    When the coverage is 0 or below ``config.min_coverage`` the score is NaN; such a customer has no tier
    (tier_reason ``'no indicator available'``) unless a guard fires.
    """

    def __init__(self, config: ScoringConfig | None = None):
        self.config = config

    # ------------------------------------------------------------------------------------------- fit

    def fit(self, snapshot: pd.DataFrame, y: object = None) -> LoyaltyScorer:
        """Learn the percentile references and the normalised weights.

        Parameters
        ----------
        snapshot : pandas.DataFrame
            One row per customer with every configured indicator column and the guards' columns
            (see :mod:`loyalist.features.columns`). Only ``percentile`` indicators learn from the values.
        y : ignored
            Present for the scikit-learn API.

        Returns
        -------
        LoyaltyScorer
            ``self``, fitted.
        """
        config = self.config if self.config is not None else ScoringConfig.model_validate({})
        _check_snapshot(snapshot, config, "fit")
        names = tuple(config.indicators)
        raw = np.array([config.indicators[n].weight for n in names], dtype="float64")
        self.config_ = config
        self.indicators_ = names
        self.weights_ = pd.Series(raw / raw.sum(), index=pd.Index(list(names), dtype="str"), name="weight")
        self.references_ = {
            n: percentile_reference(snapshot[n])
            for n in names
            if config.indicators[n].scaling.method == "percentile"
        }
        self.n_features_in_ = snapshot.shape[1]
        self.feature_names_in_ = np.asarray([str(c) for c in snapshot.columns], dtype=object)
        return self

    # ------------------------------------------------------------------------------------- transform

    def _check_fitted(self, method: str) -> None:
        try:
            check_is_fitted(self, attributes=["weights_", "indicators_", "references_", "config_"])
        except SklearnNotFittedError as exc:
            raise NotFittedError(
                f"This LoyaltyScorer is not fitted yet, so '{method}' cannot run; call 'fit' with a customer "
                "snapshot first (or 'fit_transform')."
            ) from exc

    def _scores(self, snapshot: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        """Scaled indicators (frame), score and coverage (arrays)."""
        scaled = pd.DataFrame(
            {
                f"{n}_scaled": scale_indicator(
                    snapshot[n], self.config_.indicators[n].scaling, self.references_.get(n)
                ).to_numpy()
                for n in self.indicators_
            },
            index=snapshot.index,
        )
        s = scaled.to_numpy(dtype="float64")
        w = self.weights_.to_numpy()
        present = ~np.isnan(s)
        coverage = np.where(present, w, 0.0).sum(axis=1)
        coverage = np.where(present.all(axis=1), 1.0, np.clip(coverage, 0.0, 1.0))
        weighted = np.where(present, s * w, 0.0).sum(axis=1)
        ok = (coverage > 0) & (coverage >= self.config_.min_coverage - _COVERAGE_EPS)
        with np.errstate(invalid="ignore", divide="ignore"):
            score = np.where(ok, np.clip(weighted / coverage, 0.0, 100.0), np.nan)
        return scaled, score, coverage

    def transform(self, snapshot: pd.DataFrame) -> pd.DataFrame:
        """Score, tier and explain each customer.

        Parameters
        ----------
        snapshot : pandas.DataFrame
            One row per customer with the configured indicator columns (NaN = absent for that customer) and the
            guards' columns; other columns are ignored.

        Returns
        -------
        pandas.DataFrame
            Indexed like ``snapshot``, columns:

            - ``<indicator>_scaled`` for each configured indicator: float64 0-100, NaN when absent;
            - ``loyalty_score``: float64 0-100, weights re-normalised over the indicators present; NaN when
              none is present or the coverage is below ``min_coverage``;
            - ``score_coverage``: float64 0-1, share of the configured weight present;
            - ``loyalty_tier``: categorical (devoted, stable, at_risk, high_risk), after the guards; NaN when
              there is no score and no guard fired;
            - ``tier_reason``: str, e.g. ``'score 82.4 >= 75 (stable)'`` or
              ``'guard:no_order_90_days (recency_days 142 > 90)'`` or ``'no indicator available'``.

        Raises
        ------
        NotFittedError
            Before ``fit``.
        SchemaError
            When an indicator or guard column is absent or not numeric.
        """
        self._check_fitted("transform")
        _check_snapshot(snapshot, self.config_, "transform")
        scaled, score, coverage = self._scores(snapshot)
        cfg = self.config_
        score_s = pd.Series(score, index=snapshot.index, name="loyalty_score")
        tiers = assign_tiers(score_s, cfg.tiers)
        reasons = score_reasons(score_s, cfg.tiers, coverage=coverage, min_coverage=cfg.min_coverage)
        tier, reason = apply_guards(snapshot, tiers, cfg.guards, reasons=reasons)
        return scaled.assign(
            loyalty_score=score_s,
            score_coverage=pd.Series(coverage, index=snapshot.index),
            loyalty_tier=tier,
            tier_reason=reason,
        )

    def score(self, snapshot: pd.DataFrame) -> pd.Series:
        """Only the ``loyalty_score`` (float64 0-100, NaN without indicators), indexed like ``snapshot``.

        Cheaper than :meth:`transform` (no tiers, no reasons), e.g. inside weight tuning.
        """
        self._check_fitted("score")
        _check_snapshot(snapshot, self.config_, "score", guards=False)
        _, score, _ = self._scores(snapshot)
        return pd.Series(score, index=snapshot.index, name="loyalty_score")

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Names of the columns :meth:`transform` returns."""
        self._check_fitted("get_feature_names_out")
        return np.asarray([f"{n}_scaled" for n in self.indicators_] + list(SCORE_COLUMNS), dtype=object)
