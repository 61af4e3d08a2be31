"""MODEL_CARD.md for a trained model: data and cut-offs, features, metrics beside baselines, calibration, limits."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from loyalist.config.metrics import CHURN_METRICS, VALUE_METRICS

__all__ = ["model_card"]

# metrics where higher is better, from the one registry of metric names and directions
_HIGHER = {m for registry in (CHURN_METRICS, VALUE_METRICS) for m, up in registry.items() if up}


def _table(metrics: pd.DataFrame) -> str:
    cols = [c for c in metrics.columns if c != "scorer"]
    lines = ["| scorer | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for row in metrics.itertuples(index=False):
        d = row._asdict()
        cells = []
        for c in cols:
            v = d[c]
            cells.append("" if pd.isna(v) else (f"{v:,.0f}" if c == "n" else f"{v:.4f}"))
        lines.append(f"| {d['scorer']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]) if text else "not given."


def _gate_scores(gate: Mapping) -> list[str]:
    metric = gate.get("metric") or "score"
    out = []
    score = gate.get("challenger_score")
    if score is not None and pd.notna(score):
        out.append(f"- This version's {metric} on the evaluation rows: {float(score):.4f}")
    champion = gate.get("champion_score")
    if champion is not None and pd.notna(champion):
        out.append(f"- Champion (version {gate.get('champion_version')}) {metric} on the same rows: {float(champion):.4f}")
    return out


def model_card(
    *,
    name: str,
    version: int | str,
    kind: str,
    plan: Mapping,
    metrics: pd.DataFrame,
    features: list[str],
    importance: pd.DataFrame,
    params: Mapping,
    data: Mapping,
    notes: list[str],
    calibration: str | None = None,
    evaluation: str | None = None,
    candidate: str = "loyalist",
    gate: Mapping | None = None,
) -> str:
    """The card's Markdown text. ``metrics``: one row per scorer (``loyalist`` first) as from ``compare_churn`` /
    ``compare_value``; ``plan``: ``CutoffPlan.as_dict()``; ``data``: fingerprints of the training data.

    ``candidate``: what this version is, ``"loyalist"`` (the learned model) or the baseline registered in its place.
    ``gate``: the promotion decision, ``{"promoted": bool, "reason": str}`` plus optionally ``"metric"``,
    ``"challenger_score"``, ``"champion_score"``, ``"champion_version"``. The short parts (what it predicts, the
    gate decision, data and cut-offs, metrics) come first, so a description cut at MLflow's limit keeps them."""
    what = (
        "the probability that a customer active in the look-back window places **no** completed order in the next "
        f"{params.get('horizon_days')} days" if kind == "churn"
        else f"the revenue a customer brings in the next {params.get('horizon_days')} days"
    )
    model_row = metrics.loc[metrics["scorer"] == "loyalist"].iloc[0]
    wins = []
    for m in [c for c in metrics.columns if c in _HIGHER]:
        others = metrics.loc[metrics["scorer"] != "loyalist", m].dropna()
        if len(others) and pd.notna(model_row[m]):
            best = others.max()
            wins.append(f"{m} {model_row[m]:.3f} vs best baseline {best:.3f}")
    top = importance.head(10)
    learned = candidate == "loyalist"
    library = ("loyalist (LightGBM" + (", BG/NBD features" if any(f.startswith("btyd_") for f in features) else "")
               + ")" if learned else f"the `{candidate}` baseline, registered because the learned model lost to it")
    lines = [
        f"# Model card: {name} version {version}",
        "",
        f"**What it predicts**: {what}. Kind: `{kind}`. Model: {library}.",
        "",
    ]
    if gate is not None:
        promoted = bool(gate.get("promoted"))
        lines += [
            "## Promotion gate",
            "",
            f"- Decision: {'promoted to champion' if promoted else 'not promoted (stays challenger)'}.",
            f"- Reason: {_sentence(str(gate.get('reason', '')))}",
            *_gate_scores(gate),
            "",
        ]
    lines += [
        "## Data and cut-offs",
        "",
        f"- Data period: {plan.get('data_start')} .. {plan.get('data_end')}",
        f"- Training cut-offs ({len(plan.get('train_cutoffs', []))}): {', '.join(plan.get('train_cutoffs', []))}",
        (f"- Metrics below: {evaluation}." if evaluation else
         f"- Out-of-time validation cut-off: {plan.get('valid_cutoff')} (label horizon {plan.get('horizon_days')} "
         "days); its customers are split by a hash of the id: one half early-stops"
         + (" and calibrates" if kind == "churn" else "") + " the model, the other half gives the metrics below."),
        *[f"- {k}: {v}" for k, v in data.items()],
        "",
        "## Metrics beside the baselines (same rows)",
        "",
        _table(metrics),
        "",
        ("Summary (learned model): " + "; ".join(wins) + ".") if wins else "",
        "",
        "## Features",
        "",
        f"{len(features)} input columns of the loyalist snapshot: " + ", ".join(f"`{f}`" for f in features) + ".",
        "",
        ("Top features by gain" + ("" if learned else " (of the learned model, which gives this version's reasons)")
         + ": " + ", ".join(f"`{r.feature}`" for r in top.itertuples()) + "."),
        "",
    ]
    if kind == "churn":
        lines += [
            "## Calibration",
            "",
            f"Method: {calibration or 'none'} (scikit-learn `CalibratedClassifierCV` around the frozen booster, fitted "
            "on the validation fit half). `ece` above is the expected calibration error on the evaluation half.",
            "",
        ]
    lines += [
        "## Parameters",
        "",
        *[f"- {k}: {v}" for k, v in params.items()],
        "",
        "## Known limits",
        "",
        "- Trained on the history it was given: a change in the business (pricing, product range, contract terms) "
        "shifts the features; watch the drift check of every scoring job and retrain monthly.",
        "- Customers with a single order carry little signal; their risk leans on recency and the BG/NBD prior.",
        "- The rule-based loyalty score stays the business-facing number; the model "
        + ("ranks churn risk" if kind == "churn" else "estimates customer value") + " and should not be read as a "
        "loyalty score.",
        *[f"- {n}" for n in notes],
        "",
    ]
    return "\n".join(lines)
