"""Recommenders: the products each customer is likely to buy next (cross-sell), and their evaluation.

- ``crosssell``: :class:`CoPurchaseRecommender`, :class:`PopularityRecommender` and their hit-rate evaluation.

Names below are imported on first use (PEP 562), so importing a single module (e.g. when MLflow unpickles a model
in an environment without the training extras) does not import the others.
"""

from __future__ import annotations

from loyalist._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "CoPurchaseRecommender": "crosssell",
    "PopularityRecommender": "crosssell",
    "hit_rate_at_k": "crosssell",
    "evaluate_crosssell": "crosssell",
    "METHODS": "crosssell",
    "RECOMMENDATION_COLUMNS": "crosssell",
    "EVALUATION_COLUMNS": "crosssell",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
