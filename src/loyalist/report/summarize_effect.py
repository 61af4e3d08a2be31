"""The report's measured campaign effect (效果跟踪, issue 16 §2): what ``loyalist effect`` found, in words and data.

Input: the ``effect.json`` a ``loyalist effect`` run wrote (:func:`loyalist.report.inputs.read_effect`): campaign,
campaign_date, horizon_days, alpha and ``summary`` (rows of :func:`loyalist.batch.effect.effect_summary`: one per
level and group, with the churn rates of treatment and control, the difference and its interval, customers saved,
revenue kept, cost, value kept net of cost, large_enough and the verdict).

Output of :func:`effect_section` (JSON-able)::

    measured     False when no campaign has been measured yet (then only ``sentence`` says so)
    sentence     bilingual: the campaign, its date, horizon and group sizes (or the "not measured yet" sentence)
    actions      per action: label (bilingual), the figures above, each arm's churn rate with its own interval
                 (``treatment_low`` / ``_high``, ``control_low`` / ``_high``: Wilson's score interval of a share),
                 verdict, verdict label, flag (negative, inconclusive, or a rise in churn that may be chance once
                 the actions are tested together: :func:`loyalist.batch.effect.is_flagged`) and its sentence
    groups       the same figures per tier and band (level, group, ...) for the table
    flags        bilingual sentences for the flagged actions
    overall      the ``all`` row
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from loyalist.report.summarize_base import num
from loyalist.report.text import both, fmt_int, fmt_money, fmt_pct, sentence

__all__ = ["effect_section", "action_label", "FLAGGED"]

#: Verdicts the report flags whatever the direction (a ``chance`` verdict is flagged when churn rose).
FLAGGED: tuple[str, ...] = ("negative", "inconclusive")


def action_label(text: str) -> dict[str, str]:
    """``"<zh> / <en>"`` (the list's action text) -> ``{"zh", "en"}``; a text without the separator is both."""
    zh, sep, en = str(text).partition(" / ")
    return {"zh": zh, "en": en} if sep else {"zh": str(text), "en": str(text)}


def _points(x: Any, digits: int = 1) -> str:
    """A share difference in points with a true minus sign: ``-0.07 -> '−7.0'``."""
    v = num(x)
    return "—" if v is None else f"{100 * v:+.{digits}f}".replace("-", "−")


def _arm(rate: Any, n: Any, z: float) -> tuple[float | None, float | None]:
    """A group's churn rate interval: Wilson's score interval (the normal approximation gave 2 control customers
    who both stayed the interval 0% to 0%)."""
    p, k = num(rate), num(n)
    if p is None or k is None or k < 1:
        return None, None
    centre = (p + z * z / (2 * k)) / (1 + z * z / k)
    half = z * math.sqrt(max(p * (1 - p), 0.0) / k + z * z / (4 * k * k)) / (1 + z * z / k)
    return max(0.0, centre - half), min(1.0, centre + half)


def _row(r: Mapping[str, Any], z: float) -> dict[str, Any]:
    out = {k: (num(v) if isinstance(v, float) else v) for k, v in r.items()}
    out["treatment_low"], out["treatment_high"] = _arm(r.get("churn_treatment"), r.get("n_treatment"), z)
    out["control_low"], out["control_high"] = _arm(r.get("churn_control"), r.get("n_control"), z)
    verdict = str(r.get("verdict") or "no_estimate")
    out["verdict"] = verdict
    out["verdict_label"] = both("verdict", verdict)
    from loyalist.batch.effect import is_flagged

    out["flagged"] = is_flagged(out)
    return out


def _sentences(row: Mapping[str, Any], label: Mapping[str, str], confidence: str) -> dict[str, Any]:
    diff = num(row.get("churn_difference"))
    if diff is None:
        return {"sentence": None, "flag": None}
    # the verb follows the interval, not the point estimate: "cut" / "raised" only when the interval says so
    verdict = row.get("verdict")
    change = ({"zh": "降至", "en": "cut"} if verdict == "works" else {"zh": "升至", "en": "raised"}
              if verdict == "negative" else {"zh": "变为", "en": "moved"})
    net = num(row.get("net"))
    saved, low, high = num(row.get("saved")), num(row.get("saved_low")), num(row.get("saved_high"))
    lost = saved is not None and saved < 0  # contact drove customers away: say how many were lost
    kept = {"zh": "约多流失", "en": "customers lost"} if lost else {"zh": "约挽留", "en": "customers kept"}
    if lost:
        saved, low, high = (None if v is None else -v for v in (saved, high, low))
    if fmt_int(saved) == "1":  # "1 customer kept", not "1 customers kept"
        kept = {"zh": kept["zh"], "en": kept["en"].replace("customers", "customer")}
    text = sentence(
        "effect_action", action=label, change=change, control=fmt_pct(row.get("churn_control")),
        treatment=fmt_pct(row.get("churn_treatment")), difference=_points(diff), confidence=confidence,
        ci_low=_points(row.get("churn_ci_low")), ci_high=_points(row.get("churn_ci_high")),
        n_treatment=fmt_int(row.get("n_treatment")), saved=fmt_int(saved), kept=kept, saved_low=fmt_int(low),
        saved_high=fmt_int(high),
        cost=fmt_money(row.get("cost")), net=fmt_money(net), net_low=fmt_money(row.get("net_low")),
        net_high=fmt_money(row.get("net_high")),
    )
    flag = None
    if row.get("verdict") == "negative":
        flag = sentence("effect_flag_negative", action=label, difference=_points(diff),
                        ci_low=_points(row.get("churn_ci_low")), ci_high=_points(row.get("churn_ci_high")))
    elif row.get("verdict") == "inconclusive":
        flag = sentence("effect_flag_inconclusive", action=label, n_control=fmt_int(row.get("n_control")),
                        mde=_points(row.get("mde")).lstrip("+"))
    elif row.get("verdict") == "chance" and diff > 0:
        flag = sentence("effect_flag_chance", action=label, difference=_points(diff),
                        ci_low=_points(row.get("churn_ci_low")), ci_high=_points(row.get("churn_ci_high")),
                        tests=fmt_int(row.get("tests")), p_adjusted=f"{num(row.get('churn_p_adjusted')) or 0:.2f}")
    return {"sentence": text, "flag": flag}


def effect_section(effect: Mapping[str, Any] | None) -> dict[str, Any]:
    """The report's measured-effect block from an ``effect.json`` (None: no campaign measured yet)."""
    if not effect or not effect.get("summary"):
        return {"measured": False, "sentence": sentence("effect_none"), "actions": [], "groups": [], "flags": [],
                "overall": None}
    alpha = float(effect.get("alpha") or 0.05)
    z = _normal_quantile(1 - alpha / 2)
    confidence = f"{1 - alpha:.0%}"
    rows = [_row(r, z) for r in effect["summary"]]
    overall = next((r for r in rows if r.get("level") == "all"), None)
    actions = []
    for r in rows:
        if r.get("level") != "action":
            continue
        label = action_label(str(r.get("group")))
        quoted = {"zh": f"「{label['zh']}」", "en": f"“{label['en']}”"}
        actions.append(r | {"label": label} | _sentences(r, quoted, confidence))
    if overall is not None:
        overall = overall | _sentences(overall, {"zh": "整体", "en": "Overall, the campaign"}, confidence)
    groups = [r for r in rows if r.get("level") not in ("all", "action")]
    head = sentence(
        "effect_overall", campaign=str(effect.get("campaign") or "—"), campaign_date=str(effect.get("campaign_date")),
        horizon_days=fmt_int(effect.get("horizon_days")), confidence=confidence,
        n_treatment=fmt_int(overall.get("n_treatment") if overall else None),
        n_control=fmt_int(overall.get("n_control") if overall else None),
    )
    return {
        "measured": True, "sentence": head, "campaign": effect.get("campaign"),
        "campaign_date": effect.get("campaign_date"), "horizon_days": effect.get("horizon_days"),
        "confidence": confidence, "overall": overall, "actions": actions, "groups": groups,
        "flags": [a["flag"] for a in actions if a.get("flag")],
    }


def _normal_quantile(q: float) -> float:
    from scipy import stats

    return float(stats.norm.ppf(q))
