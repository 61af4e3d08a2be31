"""Why each customer has their tier: the score's tier bounds and the guard rules that moved customers down.

``tier_reason`` (written by :func:`loyalist.scoring.tiers.apply_guards` and ``score_reasons``) reads
``'score 82.4 >= 75 (stable)'``, ``'score 42.0 < 60 (high_risk)'``, ``'score (stable)'``,
``'guard:no_order_90_days (recency_days 142 > 90)'`` (several guards joined by ``';'``), ``'score coverage 0.25 <
min_coverage 0.5'`` or :data:`~loyalist.catalogue.NO_SCORE_REASON`.
:func:`~loyalist.scoring.text.tier_reason_text` turns one into Chinese and English; :func:`guards_block` counts,
per guard rule, the customers it moved down (a customer met by two guards counts under both).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from loyalist.catalogue import LANGS, Lang, both, label
from loyalist.report.summarize_base import Context
from loyalist.report.text import fmt_int, fmt_pct, sentence
from loyalist.scoring.text import guard_counts, tier_reason_text

__all__ = ["guards_block", "tier_reason_text"]

# The catalogue types LANGS as plain strings; every entry is a Lang, which ``label`` needs.
_LANGS = cast("tuple[Lang, ...]", LANGS)

def _plain(v: Any) -> str:
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def _configured_guards(summary: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    guards = (((summary.get("config") or {}).get("scoring") or {}).get("guards")) or []
    return [g for g in guards if isinstance(g, Mapping) and g.get("name")]


def guards_block(ctx: Context, below: float | None, bound: float = 60.0) -> dict[str, Any]:
    """The guard rules (from the list summary's config; else the names found in ``tier_reason``) with the
    customers each moved down, how many customers any guard moved, and the sentence that reconciles the share
    scoring below ``bound`` (the at-risk threshold, the high-risk tier's upper bound; share ``below``) with the
    high-risk share."""
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
                   if g.get("min_count_feature") else "") for lang in _LANGS}
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
            for lang in _LANGS}
        high = float((df["loyalty_tier"] == "high_risk").mean()) if len(df) else None
        out["sentence"] = sentence("guard_moves", moves=moves, high_risk=fmt_pct(high), below=fmt_pct(below),
                                   bound=f"{float(bound):g}")
    return out
