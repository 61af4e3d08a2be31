"""Plain-words texts of customer-table training: the run's description and the registered version's model card
(Markdown), as transaction mode has them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from loyalist.tabular.survival import TableSurvivalResult
from loyalist.tabular.train import TableTrainResult

__all__ = ["table_model_card", "table_train_description"]


def _survival_line(survival: TableSurvivalResult | None, survival_note: str) -> str:
    if survival is None:
        return survival_note
    s = survival.cv.summary
    km = s.loc["kaplan_meier", "ibs_mean"]
    return (f"Time to churn: {survival.candidate} fitted on {survival.rows:,} customers ({survival.churned:,} "
            f"churned); {len(survival.cv.per_fold['fold'].unique())}-fold C {s.loc[survival.candidate, 'c_index_mean']:.3f} ± "
            f"{s.loc[survival.candidate, 'c_index_std']:.3f}, integrated Brier score "
            f"{s.loc[survival.candidate, 'ibs_mean']:.3f} (Kaplan-Meier {km:.3f}).")


def table_train_description(
    name: str, version: int, result: TableTrainResult, decision: Any, *, folds: int,
    survival: TableSurvivalResult | None = None, survival_note: str = "",
) -> str:
    """What a ``train-churn-table`` run did, in plain words with its key figures."""
    s = result.cv.summary
    c = result.candidate
    excluded = list(result.leakage.loc[result.leakage["excluded"], "column"])
    return (
        f"Trained the customer-table churn model (P(churn) from one row per customer) on {result.n_rows:,} labelled "
        f"customers (churn rate {result.base_rate:.1%}), {len(result.kinds)} feature columns"
        + (f" ({', '.join(excluded)} left out by the leakage alarm)" if excluded else "")
        + f". {folds}-fold stratified cross-validation, the same folds for every model: {c} ROC AUC "
        f"{s.loc[c, 'roc_auc_mean']:.3f} ± {s.loc[c, 'roc_auc_std']:.3f}, ECE {s.loc[c, 'ece_mean']:.3f}; best "
        f"baseline {result.best_baseline} {s.loc[result.best_baseline, 'roc_auc_mean']:.3f}. {result.reason} "
        + _survival_line(survival, survival_note)
        + f" Registered {name} version {version}. Gate: {'promoted to champion' if decision.promoted else 'not promoted'}; "
        f"{decision.reason} The model card is the version's description and the artifact MODEL_CARD.md."
    )


def _table(frame: pd.DataFrame, columns: Mapping[str, str]) -> list[str]:
    lines = ["| " + " | ".join(columns.values()) + " |", "|" + "---|" * len(columns)]
    for _, r in frame.iterrows():
        cells = []
        for col in columns:
            v = r[col]
            cells.append(f"{v:.4f}" if isinstance(v, float) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def table_model_card(
    name: str, version: int, result: TableTrainResult, decision: Any, *, data: Mapping[str, str],
    survival: TableSurvivalResult | None = None, survival_note: str = "",
) -> str:
    """The Markdown model card of a customer-table version: what it predicts, the data, the cross-validated
    quality beside the baselines, the leakage alarm, the time-to-churn model and the gate."""
    s = result.cv.summary.reset_index()
    lines = [f"# {name} version {version} (customer-table mode)", "",
             "Predicts P(churn) of each customer from one row of attributes (the churn flag's period); the risk list "
             "adds the expected remaining tenure, value at risk and reasons (the features raising the risk most).", "",
             "## Data", "", *[f"- {k}: {v}" for k, v in data.items()],
             f"- labelled customers: {result.n_rows:,}, churn rate {result.base_rate:.3f}",
             f"- features ({len(result.kinds)}): " + ", ".join(f"{c} ({k})" for c, k in result.kinds.items()), "",
             "## Quality (stratified cross-validation, the same folds for every model; mean over the folds)", "",
             *_table(s, {"model": "model", "roc_auc_mean": "ROC AUC", "roc_auc_std": "± std", "pr_auc_mean": "PR AUC",
                         "brier_mean": "Brier", "ece_mean": "ECE"}), "",
             f"Candidate: **{result.candidate}**. {result.reason}", "", "## Leakage alarm", ""]
    lines += result.notes or ["Nothing raised."]
    lines += ["", "## Time to churn", ""]
    if survival is None:
        lines.append(survival_note or "Not fitted.")
    else:
        sv = survival.cv.summary.reset_index()
        lines += [_survival_line(survival, survival_note), "",
                  *_table(sv, {"model": "model", "c_index_mean": "C", "c_index_std": "± std", "ibs_mean": "IBS",
                               "ibs_std": "± std"}), "",
                  "Features: " + ", ".join(survival.features) + "."]
        if survival.excluded:
            lines.append("Left out: " + "; ".join(f"{c} ({why})" for c, why in survival.excluded.items()) + ".")
        if survival.segment is not None:
            med = survival.curves[["segment", "customers", "median_months"]]
            lines += ["", f"Kaplan-Meier median lifetime by {survival.segment} (months; blank: above half still "
                      "customers at the longest tenure):", "", *_table(med, {"segment": survival.segment,
                                                                            "customers": "customers",
                                                                            "median_months": "median months"})]
    lines += ["", "## Gate", "", f"{'Promoted to champion' if decision.promoted else 'Not promoted'}: {decision.reason}"]
    return "\n".join(lines) + "\n"
