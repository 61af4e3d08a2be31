"""The drift page: how this scoring population and its predictions moved, as an HTML page a person reads.

Three parts, each a table with a reading (PSI < 0.1 stable, 0.1-0.2 moderate, > 0.2 significant):

1. **Model inputs against the training rows**: the scoring job's PSI per numeric feature
   (:func:`loyalist.monitoring.drift.psi_table`, deciles of the churn model's training rows).
2. **Categorical features** (industry, size, region, RFM segment, complaint stage, loyalty tier, risk band): the
   share of each category in the baseline list and in this one, and the PSI over the categories.
3. **The prediction itself**: churn probability and expected value, binned at the baseline's deciles, with the
   PSI and the means.

Parts 2 and 3 compare with a *baseline list*, an earlier churn-risk list of the same customers base (last
period's list; the scoring job takes the list it is about to replace, or the one it is given). Without one they
show the current shares and say so. Pure: :func:`summarize_drift` builds plain data, :func:`render_drift_html`
renders it (Jinja2, autoescape on, self-contained page).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from loyalist.catalogue import both, label
from loyalist.report.text import Lang

__all__ = ["CATEGORICAL", "PREDICTIONS", "psi", "reading", "summarize_drift", "render_drift_html"]

#: Categorical columns of the list compared with the baseline, and the catalogue kind labelling their values.
CATEGORICAL: dict[str, str] = {"industry": "industry", "size": "size", "region": "region", "rfm_segment": "rfm",
                               "top_complaint_stage": "stage", "loyalty_tier": "tier", "risk_band": "band"}
#: The model outputs compared with the baseline.
PREDICTIONS: tuple[str, ...] = ("churn_probability", "expected_value")
_EPS = 1e-4
_COLUMN_LABELS = {"churn_probability": {"zh": "流失概率", "en": "churn probability"},
                  "expected_value": {"zh": "预期价值", "en": "expected value"},
                  "industry": {"zh": "所属行业", "en": "industry"}, "size": {"zh": "规模", "en": "size"},
                  "region": {"zh": "区域", "en": "region"}, "rfm_segment": {"zh": "RFM分群", "en": "RFM segment"},
                  "top_complaint_stage": {"zh": "主要投诉环节", "en": "main complaint stage"},
                  "loyalty_tier": {"zh": "忠诚度等级", "en": "loyalty tier"}, "risk_band": {"zh": "风险等级", "en": "risk band"}}


def _feature_label(feature: str) -> dict[str, str]:
    """The reasons' label of a model feature (every snapshot and BG/NBD feature), else the indicator label."""
    from loyalist.explain.reasons import FEATURE_TEXT

    entry = FEATURE_TEXT.get(feature)
    return {"zh": entry["zh"], "en": entry["en"]} if entry else both("indicator", feature)


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two share vectors (same bins): sum (a - e) ln(a / e), shares floored at 1e-4."""
    e = np.clip(np.asarray(expected, dtype="float64"), _EPS, None)
    a = np.clip(np.asarray(actual, dtype="float64"), _EPS, None)
    return float(np.sum((a - e) * np.log(a / e)))


def reading(value: float | None, warn: float = 0.2) -> str:
    """``stable`` (< 0.1), ``moderate`` (< warn) or ``significant``; ``unknown`` for None."""
    if value is None or not np.isfinite(value):
        return "unknown"
    return "stable" if value < 0.1 else "moderate" if value < warn else "significant"


def _categorical(base: pd.Series | None, cur: pd.Series, warn: float) -> dict[str, Any]:
    c = cur.astype("string").fillna("(missing)").value_counts(normalize=True)
    b = base.astype("string").fillna("(missing)").value_counts(normalize=True) if base is not None else None
    cats = list(dict.fromkeys([*(b.index if b is not None else []), *c.index]))
    rows = [{"value": str(k), "baseline": None if b is None else float(b.get(k, 0.0)), "current": float(c.get(k, 0.0))}
            for k in cats]
    value = psi(np.array([float(b.get(k, 0.0)) for k in cats]), np.array([float(c.get(k, 0.0)) for k in cats])) \
        if b is not None else None
    return {"rows": rows, "psi": value, "reading": reading(value, warn)}


def _numeric(base: pd.Series | None, cur: pd.Series, warn: float) -> dict[str, Any]:
    x = pd.to_numeric(cur, errors="coerce").dropna().to_numpy(dtype="float64")
    out: dict[str, Any] = {"current_mean": float(x.mean()) if x.size else None, "baseline_mean": None, "psi": None,
                           "bins": [], "reading": "unknown"}
    if base is None:
        return out
    y = pd.to_numeric(base, errors="coerce").dropna().to_numpy(dtype="float64")
    if not y.size or not x.size:
        return out
    edges = np.unique(np.quantile(y, np.linspace(0, 1, 11)[1:-1]))
    e = np.bincount(np.searchsorted(edges, y, side="right"), minlength=len(edges) + 1) / y.size
    a = np.bincount(np.searchsorted(edges, x, side="right"), minlength=len(edges) + 1) / x.size
    lows = [float(y.min()), *map(float, edges)]
    highs = [*map(float, edges), float(y.max())]
    out.update(baseline_mean=float(y.mean()), psi=psi(e, a), bins=[
        {"from": lo, "to": hi, "baseline": float(bs), "current": float(cs)}
        for lo, hi, bs, cs in zip(lows, highs, e, a, strict=True)])
    out["reading"] = reading(out["psi"], warn)
    return out


def summarize_drift(
    current: pd.DataFrame, *, feature_psi: pd.DataFrame | None = None, baseline: pd.DataFrame | None = None,
    warn_level: float = 0.2,
) -> dict[str, Any]:
    """The drift page's data.

    Parameters
    ----------
    current : the churn-risk list being scored (:data:`~loyalist.batch.columns.RISK_LIST_COLUMNS`).
    feature_psi : the scoring job's ``psi_table`` (feature, psi, drifted), numeric inputs vs the training rows.
    baseline : an earlier churn-risk list (the last period), for the categorical and prediction parts.
    warn_level : the PSI above which a shift is significant (``scoring_job.drift_warn_psi``).
    """
    as_of = str(pd.Timestamp(current["as_of"].iloc[0]).date()) if len(current) else None
    base_as_of = (str(pd.Timestamp(baseline["as_of"].iloc[0]).date())
                  if baseline is not None and len(baseline) else None)
    features = []
    if feature_psi is not None:
        for r in feature_psi.itertuples(index=False):
            value = float(r.psi)
            features.append({"feature": str(r.feature), "label": _feature_label(str(r.feature)), "psi": value,
                             "drifted": bool(r.drifted), "reading": reading(value, warn_level)})
    cats = {col: {"label": _COLUMN_LABELS.get(col, {"zh": col, "en": col}), "kind": kind,
                  **_categorical(baseline[col] if baseline is not None and col in baseline else None, current[col],
                                 warn_level)}
            for col, kind in CATEGORICAL.items() if col in current.columns}
    preds = {col: {"label": _COLUMN_LABELS[col], "format": "pct" if col == "churn_probability" else "money", **_numeric(
        baseline[col] if baseline is not None and col in baseline else None, current[col], warn_level)}
        for col in PREDICTIONS if col in current.columns}
    return {"as_of": as_of, "baseline_as_of": base_as_of, "customers": int(len(current)),
            "baseline_customers": None if baseline is None else int(len(baseline)), "warn_level": warn_level,
            "features": features, "categorical": cats, "predictions": preds,
            "significant": [f["feature"] for f in features if f["reading"] == "significant"]
            + [c for c, v in {**cats, **preds}.items() if v["reading"] == "significant"]}


_READINGS = {"stable": ("稳定", "stable"), "moderate": ("轻度偏移", "moderate shift"),
             "significant": ("显著偏移", "significant shift"), "unknown": ("无基线", "no baseline")}


def render_drift_html(drift: Mapping[str, Any], lang: Lang = "zh") -> str:
    """The drift page as one self-contained HTML page in ``lang``."""
    from loyalist.report.render import _environment
    from loyalist.report.text import fmt_int, fmt_money, fmt_num, fmt_pct

    def fmtv(kind: str, x: Any) -> str:
        return fmt_pct(x) if kind == "pct" else fmt_money(x)

    def value_label(kind: str, code: Any) -> str:
        return label(kind, code, lang) if code != "(missing)" else ("缺失" if lang == "zh" else "missing")

    template = _environment().get_template("drift.html.j2")
    return template.render(
        d=drift, lang=lang, tr=lambda x: x[lang] if isinstance(x, Mapping) else x,
        reading=lambda r: _READINGS.get(r, (r, r))[0 if lang == "zh" else 1], value_label=value_label,
        pct=fmt_pct, num=fmt_num, int=fmt_int, fmtv=fmtv,
    )
