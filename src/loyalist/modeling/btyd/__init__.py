"""Buy-till-you-die models: BG/NBD and Gamma-Gamma, their input summary and their quantities as features.

- ``models``: :class:`BetaGeoModel`, :class:`GammaGammaModel` (maximum likelihood, Fader, Hardie & Lee 2005);
- ``summary``: :func:`customer_days_summary`, the (frequency, recency, T, monetary) table they are fitted on;
- ``features``: :class:`BtydFeaturizer`, P(alive), P(no purchase), expected purchases and value per customer;
- ``survival``: P(still active t days after the cut-off) and the expected days until churn under BG/NBD.

Names below are imported on first use (PEP 562), so importing a single module (e.g. when MLflow unpickles a model
in an environment without the training extras) does not import the others.
"""

from __future__ import annotations

from loyalist._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "BetaGeoModel": "models",
    "GammaGammaModel": "models",
    "MIN_CUSTOMERS": "models",
    "customer_days_summary": "summary",
    "SUMMARY_COLUMNS": "summary",
    "HOLDOUT_COLUMNS": "summary",
    "BTYD_FEATURES": "features",
    "BtydFeaturizer": "features",
    "btyd_features_by_cutoff": "features",
    "SURVIVAL_COLUMNS": "survival",
    "SURVIVAL_HORIZONS_DAYS": "survival",
    "p_alive_at": "survival",
    "p_purchase_between": "survival",
    "expected_time_to_churn": "survival",
    "survival_table": "survival",
    "share_still_buying": "survival",
    "alive_from_churn_probability": "survival",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
