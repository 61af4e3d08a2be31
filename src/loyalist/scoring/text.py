"""Chinese and English labels of tiers, indicators and guard rules, read from the one catalogue
(:mod:`loyalist.catalogue`); kept as a module so ``loyalist.scoring`` re-exports them for the churn-risk list.

:func:`tier_reason_text` reads a ``tier_reason`` (written by :func:`loyalist.scoring.tiers.apply_guards` and
``score_reasons``: ``'score 82.4 >= 75 (stable)'``, ``'score (stable)'``, ``'guard:no_order_90_days
(recency_days 142 > 90)'`` joined by ``';'``, ``'score coverage 0.25 < min_coverage 0.5'``, or the no-score text)
in Chinese and English; :func:`guard_counts` counts the customers each guard moved down.
"""

from __future__ import annotations

import re
from typing import Any, Literal, cast

import pandas as pd

from loyalist.catalogue import (
    GUARD_LABELS,
    INDICATOR_LABELS,
    LANGS,
    NO_SCORE_REASON,
    REASON_LABELS,
    TIER_LABELS,
    TIER_REASON_TEXT,
    TIER_TRAITS,
    TIER_TYPICAL_TRAITS,
    Lang,
    both,
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
    "tier_reason_text",
    "guard_counts",
]

# The catalogue types LANGS as plain strings; every entry is a Lang, which ``label`` needs.
_LANGS = cast("tuple[Lang, ...]", LANGS)


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


_SCORE = re.compile(r"^score (?P<score>[-\d.]+) (?P<op>>=|<) (?P<bound>[-\d.]+) \((?P<tier>\w+)\)$")
_SCORE_PLAIN = re.compile(r"^score \((?P<tier>\w+)\)$")
_GUARD = re.compile(r"^guard:(?P<name>[^ ]+) \((?P<feature>\w+) (?P<value>\S+) (?P<op>[<>=!]+) (?P<bound>\S+)\)$")
_COVERAGE = re.compile(r"^score coverage (?P<coverage>[\d.]+) < min_coverage (?P<minimum>[\d.]+)$")


def _one(part: str) -> dict[str, str] | None:
    part = part.strip()
    if m := _SCORE.match(part):
        return {lang: TIER_REASON_TEXT["score"][lang].format(
            score=m["score"], op="≥" if m["op"] == ">=" else "<", bound=m["bound"], tier=label("tier", m["tier"], lang))
            for lang in _LANGS}
    if m := _SCORE_PLAIN.match(part):
        return {lang: TIER_REASON_TEXT["score_plain"][lang].format(tier=label("tier", m["tier"], lang))
                for lang in _LANGS}
    if m := _GUARD.match(part):
        return {lang: TIER_REASON_TEXT["guard"][lang].format(
            guard=label("guard", m["name"], lang), feature=label("indicator", m["feature"], lang), value=m["value"],
            op=m["op"], bound=m["bound"]) for lang in _LANGS}
    if m := _COVERAGE.match(part):
        return {lang: TIER_REASON_TEXT["coverage"][lang].format(coverage=m["coverage"], minimum=m["minimum"])
                for lang in _LANGS}
    if part == NO_SCORE_REASON:
        return both("reason", part)
    return None


def tier_reason_text(reason: Any) -> dict[str, str] | None:
    """``tier_reason`` in both languages (guards joined by '；' / '; '); unknown text is kept as it is."""
    if reason is None or (isinstance(reason, float) and pd.isna(reason)) or not str(reason).strip():
        return None
    parts = [p for p in str(reason).split(";") if p.strip()]
    texts = [_one(p) or {"zh": p.strip(), "en": p.strip()} for p in parts]
    return {"zh": "；".join(t["zh"] for t in texts), "en": "; ".join(t["en"] for t in texts)}


def guard_counts(reasons: pd.Series) -> dict[str, int]:
    """Guard name -> customers whose tier it lowered, from the ``tier_reason`` column."""
    names = reasons.astype("string").fillna("").str.findall(r"guard:([^ ;]+) ")
    counts: dict[str, int] = {}
    for items in names:
        for name in dict.fromkeys(items):
            counts[name] = counts.get(name, 0) + 1
    return counts
