"""Targeting by uplift (issue 16 §3): who changes their behaviour because they were contacted.

- ``models``: :class:`TwoModelUplift` (T-learner), :class:`XLearnerUplift`, :class:`TransformedOutcomeUplift` on
  LightGBM, fitted on a past randomised campaign (treatment vs control and the outcome).
- ``campaign``: :func:`campaign_training_set` (a past campaign's assignment and outcomes joined to the snapshot at
  its date, with its bad-input checks), :func:`evaluate_uplift` (held-out Qini beside churn risk and random),
  :func:`expected_saved_value`.
- ``metrics``: :func:`qini_curve`, :func:`qini_auc_score` (normalised like scikit-uplift), :func:`uplift_at_k`,
  :func:`random_qini`, :func:`qini_interval`.

Names below are imported on first use (PEP 562), so importing a single module (e.g. when MLflow unpickles a model
in an environment without the training extras) does not import the others.
"""

from __future__ import annotations

from loyalist._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "DEFAULT_UPLIFT_PARAMS": "models",
    "TwoModelUplift": "models",
    "XLearnerUplift": "models",
    "TransformedOutcomeUplift": "models",
    "LogisticTwoModelUplift": "models",
    "CrossValidatedUplift": "models",
    "AUTO_CANDIDATES": "models",
    "CrossValidatedUpliftX": "models",
    "AUTO_X_CANDIDATES": "models",
    "choose_candidate": "models",
    "cv_fold_seeds": "models",
    "cv_splits": "models",
    "UPLIFT_METHODS": "models",
    "make_uplift_model": "models",
    "uplift_features": "models",
    "CampaignTrainingSet": "campaign",
    "UpliftEvaluation": "campaign",
    "campaign_training_set": "campaign",
    "pool_campaigns": "campaign",
    "holdout_split": "campaign",
    "evaluate_uplift": "campaign",
    "expected_saved_value": "campaign",
    "qini_curve": "metrics",
    "perfect_qini_curve": "metrics",
    "qini_auc_score": "metrics",
    "uplift_at_k": "metrics",
    "random_qini": "metrics",
    "qini_interval": "metrics",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
