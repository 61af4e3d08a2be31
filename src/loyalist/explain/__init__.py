"""loyalist.explain: SHAP explanations of the churn model, per-customer reasons and the diagnosis data.

Contributions are LightGBM's exact TreeSHAP (``pred_contrib``) through the model protocol, checked to add up to the
raw score; the shap package is used only by :mod:`loyalist.explain.plots` (imported when a plot is drawn).

Typical flow of a scoring job::

    individual, sample = select_rows(risk, top_k=cfg.explain_top_k, sample=cfg.explain_sample, seed=cfg.seed)
    frame = with_model_features(model, snapshot)
    typical = typical_values(frame, "industry", reference=risk["risk_band"].isin(["low", "medium"]))
    reasons = top_reasons(explain(model, snapshot, rows=individual), frame, typical)
    sample_contribs = explain(model, snapshot, rows=sample)
    drivers = global_drivers(sample_contribs)
    per_tier = drivers_by(sample_contribs, risk["loyalty_tier"])
    diag = diagnosis(sample_contribs, risk["loyalty_tier"], snapshot=frame)
"""

from loyalist.explain.contributions import (
    ADDITIVITY_TOL,
    CHUNK_ROWS,
    explain,
    feature_columns,
    in_chunks,
    sample_labels,
    select_rows,
    with_model_features,
)
from loyalist.explain.diagnosis import diagnosis, drivers_by, global_drivers, top_drivers
from loyalist.explain.plots import drivers_bar_figure, summary_figure
from loyalist.explain.reasons import (
    FEATURE_TEXT,
    GROUP_TEXT,
    GROUPS,
    feature_group,
    feature_label,
    format_value,
    reason_text,
    top_reasons,
    typical_values,
)

__all__ = [
    "ADDITIVITY_TOL",
    "CHUNK_ROWS",
    "FEATURE_TEXT",
    "GROUP_TEXT",
    "GROUPS",
    "diagnosis",
    "drivers_bar_figure",
    "drivers_by",
    "explain",
    "feature_columns",
    "feature_group",
    "feature_label",
    "format_value",
    "in_chunks",
    "global_drivers",
    "reason_text",
    "sample_labels",
    "select_rows",
    "summary_figure",
    "top_drivers",
    "top_reasons",
    "typical_values",
    "with_model_features",
]
