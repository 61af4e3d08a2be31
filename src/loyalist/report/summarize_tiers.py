"""Why each customer has their tier: the score's tier bounds and the guard rules that moved customers down.

``tier_reason`` (written by :func:`loyalist.scoring.tiers.apply_guards` and ``score_reasons``) reads
``'score 82.4 >= 75 (stable)'``, ``'score 42.0 < 60 (high_risk)'``, ``'score (stable)'``,
``'guard:no_order_90_days (recency_days 142 > 90)'`` (several guards joined by ``';'``), ``'score coverage 0.25 <
min_coverage 0.5'`` or :data:`~loyalist.catalogue.NO_SCORE_REASON`. :func:`tier_reason_text` turns one into
Chinese and English; :func:`guards_block` counts, per guard rule, the customers it moved down (a customer met by
two guards counts under both).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from loyalist.catalogue import LANGS, NO_SCORE_REASON, TIER_REASON_TEXT, both, label
from loyalist.report.summarize_base import Context
from loyalist.report.text import fmt_int, fmt_pct, sentence

__all__ = ["tier_reason_text", "guards_block", "guard_counts"]

_SCORE = re.compile(r"^score (?P<score>[-\d.]+) (?P<op>>=|<) (?P<bound>[-\d.]+) \((?P<tier>\w+)\)$")
_SCORE_PLAIN = re.compile(r"^score \((?P<tier>\w+)\)$")
_GUARD = re.compile(r"^guard:(?P<name>[^ ]+) \((?P<feature>\w+) (?P<value>\S+) (?P<op>[<>=!]+) (?P<bound>\S+)\)$")
_COVERAGE = re.compile(r"^score coverage (?P<coverage>[\d.]+) < min_coverage (?P<minimum>[\d.]+)$")


def _one(part: str) -> dict[str, str] | None:
    part = part.strip()
    if m := _SCORE.match(part):
        return {lang: TIER_REASON_TEXT["score"][lang].format(
            score=m["score"], op="≥" if m["op"] == ">=" else "<", bound=m["bound"], tier=label("tier", m["tier"], lang))
            for lang in LANGS}
    if m := _SCORE_PLAIN.match(part):
        return {lang: TIER_REASON_TEXT["score_plain"][lang].format(tier=label("tier", m["tier"], lang))
                for lang in LANGS}
    if m := _GUARD.match(part):
        return {lang: TIER_REASON_TEXT["guard"][lang].format(
            guard=label("guard", m["name"], lang), feature=label("indicator", m["feature"], lang), value=m["value"],
            op=m["op"], bound=m["bound"]) for lang in LANGS}
    if m := _COVERAGE.match(part):
        return {lang: TIER_REASON_TEXT["coverage"][lang].format(coverage=m["coverage"], minimum=m["minimum"])
                for lang in LANGS}
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


def _plain(v: Any) -> str:
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def _configured_guards(summary: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    guards = (((summary.get("config") or {}).get("scoring") or {}).get("guards")) or []
    return [g for g in guards if isinstance(g, Mapping) and g.get("name")]


def guards_block(ctx: Context, below_60: float | None) -> dict[str, Any]:
    """The guard rules (from the list summary's config; else the names found in ``tier_reason``) with the
    customers each moved down, how many customers any guard moved, and the sentence that reconciles the share
    scoring below 60 with the high-risk share."""
    df = ctx.scores
    counts = guard_counts(df["tier_reason"]) if "tier_reason" in df else {}
    moved_any = int(df["tier_reason"].astype("string").fillna("").str.contains("guard:", regex=False).sum()) \
        if "tier_reason" in df else 0
    rules = []
    for g in _configured_guards(ctx.summary):
        cond = {lang: f"{label('indicator', g.get('feature'), lang)} {g.get('op')} {_plain(g.get('value'))}"
                + (f"（{label('indicator', g['min_count_feature'], lang)} ≥ {g.get('min_count')}）" if lang == "zh"
                   and g.get("min_count_feature") else
                   f" ({label('indicator', g['min_count_feature'], lang)} >= {g.get('min_count')})"
                   if g.get("min_count_feature") else "") for lang in LANGS}
        rules.append({"name": str(g["name"]), "label": both("guard", g["name"]), "condition": cond,
                      "tier": str(g.get("tier")), "customers": int(counts.get(str(g["name"]), 0))})
    for name, n in counts.items():
        if name not in {r["name"] for r in rules}:
            rules.append({"name": name, "label": both("guard", name), "condition": None, "tier": None,
                          "customers": int(n)})
    out: dict[str, Any] = {"rules": rules, "moved": moved_any, "moved_share": moved_any / len(df) if len(df) else None}
    if rules:
        moves = {lang: ("；" if lang == "zh" else "; ").join(
            sentence("guard_move", guard=r["label"], customers=fmt_int(r["customers"]))[lang] for r in rules)
            for lang in LANGS}
        high = float((df["loyalty_tier"] == "high_risk").mean()) if len(df) else None
        out["sentence"] = sentence("guard_moves", moves=moves, high_risk=fmt_pct(high), below_60=fmt_pct(below_60))
    return out
