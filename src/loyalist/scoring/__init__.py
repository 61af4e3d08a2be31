"""The rule-based loyalty score, its tiers and their labels.

``LoyaltyScorer`` (a scikit-learn transformer) turns the customer snapshot into ``<indicator>_scaled``,
``loyalty_score``, ``score_coverage``, ``loyalty_tier`` and ``tier_reason``; the functions below are its parts.
"""

from loyalist.scoring.loyalty import SCORE_COLUMNS, LoyaltyScorer
from loyalist.scoring.scaling import numeric_values, percentile_reference, scale_indicator
from loyalist.scoring.text import (
    GUARD_LABELS,
    INDICATOR_LABELS,
    REASON_LABELS,
    TIER_LABELS,
    TIER_TRAITS,
    TIER_TYPICAL_TRAITS,
    label,
    tier_label,
)
from loyalist.scoring.tiers import (
    NO_SCORE_REASON,
    TIER_DTYPE,
    apply_guards,
    assign_tiers,
    guard_columns,
    score_reasons,
    tier_ranks,
    tier_shares,
)

__all__ = [
    "LoyaltyScorer", "SCORE_COLUMNS",
    "scale_indicator", "percentile_reference", "numeric_values",
    "TIER_DTYPE", "NO_SCORE_REASON", "assign_tiers", "tier_ranks", "score_reasons", "guard_columns", "apply_guards",
    "tier_shares",
    "TIER_LABELS", "TIER_TRAITS", "TIER_TYPICAL_TRAITS", "INDICATOR_LABELS", "GUARD_LABELS", "REASON_LABELS",
    "label", "tier_label",
]
