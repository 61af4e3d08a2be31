"""Chinese and English labels of tiers, indicators and guard rules, read from the one catalogue
(:mod:`loyalist.catalogue`); kept as a module so ``loyalist.scoring`` re-exports them for the churn-risk list.
"""

from __future__ import annotations

from typing import Literal

from loyalist.catalogue import (
    GUARD_LABELS,
    INDICATOR_LABELS,
    REASON_LABELS,
    TIER_LABELS,
    TIER_TRAITS,
    TIER_TYPICAL_TRAITS,
    Lang,
)
from loyalist.catalogue import label as _label

__all__ = [
    "Lang",
    "TIER_LABELS",
    "TIER_TRAITS",
    "TIER_TYPICAL_TRAITS",
    "INDICATOR_LABELS",
    "GUARD_LABELS",
    "REASON_LABELS",
    "label",
    "tier_label",
]


def label(kind: Literal["tier", "traits", "typical_traits", "indicator", "guard", "reason"], code: str,
          lang: Lang = "zh") -> str:
    """The ``lang`` label of ``code`` in the table ``kind``; the code itself when it has no label.

    ``lang`` other than ``'zh'`` falls back to English. A user's own indicator or guard (not in the tables)
    is shown by its code.
    """
    return _label(kind, code, lang)


def tier_label(tier: str, lang: Lang = "zh") -> str:
    """``tier_label('at_risk') -> '潜在流失'``, ``tier_label('at_risk', 'en') -> 'at risk'``."""
    return _label("tier", tier, lang)
