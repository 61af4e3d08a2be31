"""Global drivers, drivers per segment and the diagnosis data of the report, from SHAP contributions.

All functions take the contribution frame of :func:`~loyalist.explain.contributions.explain` (one row per
customer, one column per feature on the raw log-odds scale, plus ``bias`` and ``offset``, which are ignored).

The diagnosis answers "what is the top churn driver of the customers of each tier": a customer's *top driver* is the
observable behaviour (with the snapshot given: :func:`~loyalist.explain.reasons.actionable_contributions`, so
model-derived quantities count as the behaviour they summarise and a problem such as slow service is counted only for
customers whose own value is on the risky side) with the largest positive contribution (customers without any positive
contribution have none and are left out of the shares). Shares per diagnosis group
(:data:`~loyalist.explain.reasons.GROUPS`) are computed over the customers with a top driver, so they sum to 1. The
sentence names the most specific cause that covers at least ``dominance`` of the leading group's customers: a
complaint stage (``top_complaint_stage``) for complaints, else a feature ("slow after-sales response" for
``resolution_hours_mean``), else the group. A feature's issue phrase is used only when those customers' values lie on
the risky side of the population median (e.g. resolution hours above it); otherwise the sentence names the feature
neutrally. The percentage is always the share of the tier's customers (with a top driver) for whom the named cause is
the top driver.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from loyalist.config.models import TIERS
from loyalist.errors import ConfigError, SchemaError
from loyalist.explain.contributions import feature_columns
from loyalist.explain.reasons import (
    FEATURE_TEXT,
    GROUP_TEXT,
    GROUPS,
    actionable_contributions,
    category_label,
    feature_group,
    feature_label,
)
from loyalist.scoring.text import TIER_LABELS

__all__ = ["top_drivers", "global_drivers", "drivers_by", "diagnosis"]

_DRIVER_COLUMNS = ["feature", "group", "mean_abs_shap", "mean_shap", "label_zh", "label_en"]


def _values(contribs: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    feats = feature_columns(contribs)
    return feats, contribs[feats].to_numpy(dtype="float64", na_value=np.nan)


def top_drivers(contribs: pd.DataFrame) -> pd.Series:
    """The feature with the largest positive contribution of each row (first in column order on ties).

    Returns a ``str`` Series on ``contribs.index`` named ``top_driver``; missing where no contribution is positive.
    """
    feats, vals = _values(contribs)
    out = np.full(len(contribs), None, dtype=object)
    if feats:
        vals = np.where(np.isnan(vals), -np.inf, vals)
        best = np.argmax(vals, axis=1)
        has = vals[np.arange(len(vals)), best] > 0
        out[has] = np.asarray(feats, dtype=object)[best[has]]
    return pd.Series(pd.array(out, dtype="str"), index=contribs.index, name="top_driver")


def global_drivers(contribs: pd.DataFrame) -> pd.DataFrame:
    """Mean absolute and mean SHAP value per feature over the rows of ``contribs`` (e.g. the random sample).

    Returns
    -------
    DataFrame
        One row per feature, sorted by ``mean_abs_shap`` descending (ties in column order), index 0..n-1, columns
        ``feature``, ``group`` (diagnosis group), ``mean_abs_shap``, ``mean_shap`` (raw log-odds scale),
        ``label_zh``, ``label_en``. No rows when ``contribs`` has none.
    """
    feats, vals = _values(contribs)
    if len(contribs) == 0 or not feats:
        return pd.DataFrame({c: pd.Series(dtype="float64" if "shap" in c else "str") for c in _DRIVER_COLUMNS})
    frame = pd.DataFrame({
        "feature": pd.array(feats, dtype="str"),
        "group": pd.array([feature_group(f) for f in feats], dtype="str"),
        "mean_abs_shap": np.nanmean(np.abs(vals), axis=0),
        "mean_shap": np.nanmean(vals, axis=0),
        "label_zh": pd.array([feature_label(f, "zh") for f in feats], dtype="str"),
        "label_en": pd.array([feature_label(f, "en") for f in feats], dtype="str"),
    })
    return frame.sort_values("mean_abs_shap", ascending=False, kind="stable").reset_index(drop=True)


def _aligned(segments: pd.Series, index: pd.Index, name: str) -> pd.Series:
    if not isinstance(segments, pd.Series):
        raise SchemaError(f"The {name!r} argument must be a pandas Series aligned with the contributions' index.")
    if len(index) and not index.isin(segments.index).any():
        raise SchemaError(
            f"The {name!r} Series shares no index label with the contributions; pass it indexed like the snapshot "
            "the contributions were computed from."
        )
    return segments.reindex(index).astype("string")


def _segment_order(values) -> list[str]:
    present = set(values)
    return [t for t in TIERS if t in present] + sorted(v for v in present if v not in TIERS)


def drivers_by(contribs: pd.DataFrame, groups: pd.Series) -> pd.DataFrame:
    """Mean |SHAP| and mean SHAP per feature within each segment (tier, industry, risk band ...).

    Parameters
    ----------
    contribs : the contribution frame.
    groups : Series of segment codes aligned by index with ``contribs``; rows whose segment is missing are left out.

    Returns
    -------
    DataFrame
        Long format, one row per (segment, feature): ``segment``, ``feature``, ``group`` (diagnosis group),
        ``mean_abs_shap``, ``mean_shap``, ``n_customers``. Segments in tier order (then alphabetical), features by
        ``mean_abs_shap`` descending within a segment.
    """
    seg = _aligned(groups, contribs.index, "groups")
    feats, vals = _values(contribs)
    parts = []
    for code in _segment_order(seg.dropna().unique()):
        mask = (seg == code).fillna(False).to_numpy(dtype=bool)
        part = pd.DataFrame({
            "segment": pd.array([code] * len(feats), dtype="str"),
            "feature": pd.array(feats, dtype="str"),
            "group": pd.array([feature_group(f) for f in feats], dtype="str"),
            "mean_abs_shap": np.nanmean(np.abs(vals[mask]), axis=0),
            "mean_shap": np.nanmean(vals[mask], axis=0),
            "n_customers": int(mask.sum()),
        })
        parts.append(part.sort_values("mean_abs_shap", ascending=False, kind="stable"))
    if not parts:
        return pd.DataFrame({
            "segment": pd.Series(dtype="str"), "feature": pd.Series(dtype="str"), "group": pd.Series(dtype="str"),
            "mean_abs_shap": pd.Series(dtype="float64"), "mean_shap": pd.Series(dtype="float64"),
            "n_customers": pd.Series(dtype="int64"),
        })
    return pd.concat(parts, ignore_index=True)


# ------------------------------------------------------------------------------------------------ diagnosis


def _ranked(values: pd.Series) -> list[tuple[str, int]]:
    """Value counts (missing left out), largest first, ties by name: deterministic."""
    counts = values.dropna().astype(str).value_counts()
    return sorted(((str(k), int(v)) for k, v in counts.items()), key=lambda kv: (-kv[1], kv[0]))


def _who(tier: str | None) -> tuple[str, str]:
    if tier is None:
        return "客户", "customers"
    entry = TIER_LABELS.get(tier)
    if entry is None:
        return f"{tier}客户", f"{tier.replace('_', '-')} customers"
    return f"{entry['zh']}客户", f"{entry['en'].replace(' ', '-')} customers"


def _risky_side(feature: str, subject: pd.Index, population: pd.Index, snapshot: pd.DataFrame | None) -> bool:
    """Whether the subject customers' median of ``feature`` lies on the risky side of the population median."""
    direction = FEATURE_TEXT.get(feature, {}).get("direction")
    if direction is None or snapshot is None or feature not in snapshot.columns:
        return False
    values = pd.to_numeric(snapshot[feature], errors="coerce")
    sub, pop = values.reindex(subject).median(), values.reindex(population).median()
    if not (np.isfinite(sub) and np.isfinite(pop)):
        return False
    return bool(sub > pop) if direction == "high" else bool(sub < pop)


def _subject(lead: str, drivers: pd.Series, snapshot: pd.DataFrame | None, population: pd.Index,
             dominance: float) -> dict:
    """The cause the sentence names: a complaint stage, a feature or the leading group."""
    n_lead = len(drivers)
    if lead == "complaints" and snapshot is not None and "top_complaint_stage" in snapshot.columns:
        stages = _ranked(snapshot["top_complaint_stage"].reindex(drivers.index))
        if stages and stages[0][1] / n_lead >= dominance:
            code, count = stages[0]
            return {"kind": "stage", "code": code, "count": count,
                    "zh": f"{category_label('top_complaint_stage', code, 'zh')}环节投诉",
                    "en": f"complaints about {category_label('top_complaint_stage', code, 'en')}", "plural": True}
    ranked = _ranked(drivers)
    if ranked and ranked[0][1] / n_lead >= dominance:
        feature, count = ranked[0]
        text = FEATURE_TEXT.get(feature, {})
        subject = drivers.index[(drivers == feature).to_numpy(dtype=bool)]
        if text.get("issue_zh") and _risky_side(feature, subject, population, snapshot):
            return {"kind": "feature", "code": feature, "count": count, "zh": text["issue_zh"],
                    "en": text["issue_en"], "plural": bool(text.get("plural"))}
        return {"kind": "feature", "code": feature, "count": count, "zh": f"“{feature_label(feature, 'zh')}”",
                "en": feature_label(feature, "en"), "plural": False}
    g = GROUP_TEXT[lead]
    return {"kind": "group", "code": lead, "count": n_lead, "zh": g["issue_zh"], "en": g["issue_en"],
            "plural": bool(g["plural"])}


def _block(top: pd.Series, tier: str | None, snapshot: pd.DataFrame | None, population: pd.Index,
           dominance: float, group_list: list[str]) -> dict:
    has = top.dropna()
    m = len(has)
    groups_of = has.map(feature_group)
    counts = {g: int((groups_of == g).sum()) for g in group_list}
    who_zh, who_en = _who(tier)
    label = TIER_LABELS.get(tier, {"zh": tier, "en": tier}) if tier is not None else {"zh": "全部", "en": "all"}
    block = {
        "label_zh": label["zh"], "label_en": label["en"],
        "customers": int(len(top)), "with_driver": int(m),
        "counts": counts,
        "shares": {g: (counts[g] / m if m else 0.0) for g in group_list},
        "top_features": [
            {"feature": f, "group": feature_group(f), "share": c / m, "label_zh": feature_label(f, "zh"),
             "label_en": feature_label(f, "en")}
            for f, c in _ranked(has)[:5]
        ],
        "leading_group": None, "leading_share": 0.0, "subject": None, "sentence_zh": "", "sentence_en": "",
    }
    if m == 0:
        return block
    lead = max(group_list, key=lambda g: (counts[g], -group_list.index(g)))
    subject = _subject(lead, has[groups_of == lead], snapshot, population, dominance)
    share = subject["count"] / m
    pct = f"{share * 100:.0f}%"
    block.update(
        leading_group=lead,
        leading_share=counts[lead] / m,
        subject={"kind": subject["kind"], "code": subject["code"], "share": share, "zh": subject["zh"],
                 "en": subject["en"]},
        sentence_zh=f"{pct} 的{who_zh}：{subject['zh']}是首要流失因素",
        sentence_en=f"{pct} of {who_en}: {subject['en']} {'are' if subject['plural'] else 'is'} the top driver",
    )
    return block


def diagnosis(
    contribs: pd.DataFrame,
    tiers: pd.Series,
    *,
    snapshot: pd.DataFrame | None,
    dominance: float = 0.5,
) -> dict:
    """Per tier, the share of customers whose top churn driver falls in each group, and the sentence to report.

    Parameters
    ----------
    contribs : the contribution frame of the explained customers.
    tiers : Series of tier codes (``loyalty_tier``, or any segment such as ``risk_band``) aligned by index with
        ``contribs``; customers with a missing tier count only in ``overall``.
    snapshot : the customers' feature values (same index), used for ``top_complaint_stage`` and to check that a
        named issue is on the risky side (e.g. resolution hours above the median); None skips both refinements.
    dominance : the share of the leading group's customers a single stage or feature must reach to be named.

    Returns
    -------
    dict (JSON-able)
        ``{"groups": [...], "overall": block, "tiers": {tier: block}}`` (tiers in tier order). A block:
        ``label_zh``, ``label_en``, ``customers``, ``with_driver`` (customers with a positive contribution),
        ``counts`` and ``shares`` per group (shares over ``with_driver``, summing to 1), ``top_features`` (the five
        most frequent top drivers with their share), ``leading_group``, ``leading_share``, ``subject`` (``kind``
        stage | feature | group, ``code``, ``share``, ``zh``, ``en``), ``sentence_zh``, ``sentence_en``
        ("60% 的潜在流失客户：售后响应慢是首要流失因素" / "60% of at-risk customers: slow after-sales response is
        the top driver"). A block without any positive driver has zero shares, no leading group, empty sentences.
    """
    if not 0 < dominance <= 1:
        raise ConfigError(f"The 'dominance' parameter must be in (0, 1]; got {dominance!r} instead.")
    # problems come from real signals only: observable behaviours on the risky side (reasons.actionable_contributions)
    top = top_drivers(actionable_contributions(contribs, snapshot) if snapshot is not None else contribs)
    seg = _aligned(tiers, contribs.index, "tiers")
    group_list = list(GROUPS)
    if top.dropna().map(feature_group).eq("other").any():
        group_list.append("other")
    population = contribs.index
    per_tier: dict[str, dict] = {}
    out = {
        "groups": group_list,
        "overall": _block(top, None, snapshot, population, dominance, group_list),
        "tiers": per_tier,
    }
    for code in _segment_order(seg.dropna().unique()):
        mask = (seg == code).fillna(False).to_numpy(dtype=bool)
        per_tier[code] = _block(top[mask], code, snapshot, population, dominance, group_list)
    return out
