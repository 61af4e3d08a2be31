"""Which model may become champion: the learned model only when it beats the best baseline on the same rows.

The rule (issue 11 §2), applied to every candidate, the first version included:

- **churn**: the learned model needs ROC AUC >= the best of ``recency`` and ``bgnbd_no_purchase`` (+ margin) AND a
  Brier score <= BG/NBD P(no purchase)'s (the only probability among the baselines);
- **value**: the learned model needs a normalised Gini >= the best of ``bgnbd_gamma_gamma`` and
  ``last_period_revenue`` (+ margin) AND a total error no larger in size than the best admissible baseline's (or
  than ``total_tolerance``, whichever is larger).

When the learned model loses, the candidate is the best baseline itself (wrapped as a loyalist model by
:mod:`loyalist.modeling.evaluation.baseline_models`). For value, a baseline whose total is far off (more than twice the best
baseline's total error, and more than ``total_tolerance``) does not set the level: last-period revenue on CDNOW
ranks well but predicts +144% of the holdout total. Then the candidate is a blend: the best-ranking baseline's
ranking at the level of the admissible baseline (``level_from``: its predictions rescaled by a frozen factor so
their total equals the admissible baseline's).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["CHURN_GATE_BASELINES", "VALUE_GATE_BASELINES", "Verdict", "judge_against_baselines"]

CHURN_GATE_BASELINES: tuple[str, ...] = ("recency", "bgnbd_no_purchase")
VALUE_GATE_BASELINES: tuple[str, ...] = ("bgnbd_gamma_gamma", "last_period_revenue")


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`judge_against_baselines`.

    ``learned_wins``: the learned model may be the candidate; else ``baseline`` is. ``baseline``: the best
    (admissible) baseline's name; ``metric`` / ``learned_score`` / ``baseline_score``: the primary metric (ROC AUC or
    normalised Gini) of each; ``reason``: one sentence with every figure compared.
    """

    learned_wins: bool
    baseline: str
    metric: str
    learned_score: float
    baseline_score: float
    reason: str
    level_from: str = ""


def _row(metrics: pd.DataFrame, scorer: str) -> pd.Series | None:
    rows = metrics.loc[metrics["scorer"] == scorer]
    return None if rows.empty else rows.iloc[0]


def _num(value) -> float:
    return float(value) if value is not None and pd.notna(value) else float("nan")


def judge_against_baselines(
    kind: str, metrics: pd.DataFrame, *, margin: float = 0.0, total_tolerance: float = 0.10,
    learned: str = "loyalist",
) -> Verdict:
    """Compare the learned model's row of ``metrics`` (a :func:`~loyalist.modeling.evaluation.metrics.compare_churn` /
    ``compare_value`` table on one set of rows) with the gate baselines of ``kind`` ("churn" or "value").

    A NaN metric of the learned model counts as a loss. Baselines absent from the table are skipped; with none
    present the learned model wins by default (and the reason says so).
    """
    model = _row(metrics, learned)
    if model is None:
        raise ValueError(f"The metrics table has no row for the learned model {learned!r}.")
    if kind == "churn":
        return _judge_churn(metrics, model, margin)
    if kind == "value":
        return _judge_value(metrics, model, margin, total_tolerance)
    raise ValueError(f"kind must be 'churn' or 'value'; got {kind!r}.")


def _judge_churn(metrics: pd.DataFrame, model: pd.Series, margin: float) -> Verdict:
    present = {n: r for n in CHURN_GATE_BASELINES if (r := _row(metrics, n)) is not None}
    auc = _num(model["roc_auc"])
    if not present:
        return Verdict(True, "", "roc_auc", auc, float("nan"), "no gate baseline could be computed on these rows.")
    best = max(present, key=lambda n: _num(present[n]["roc_auc"]))
    best_auc = _num(present[best]["roc_auc"])
    briers = {n: _num(r["brier"]) for n, r in present.items() if np.isfinite(_num(r["brier"]))}
    brier = _num(model["brier"])
    auc_ok = np.isfinite(auc) and auc >= best_auc + margin
    brier_ok = not briers or (np.isfinite(brier) and brier <= min(briers.values()))
    parts = [f"ROC AUC {auc:.3f} vs {best} {best_auc:.3f}" + (f" + margin {margin:.3f}" if margin else "")]
    if briers:
        b_name = min(briers, key=briers.__getitem__)
        parts.append(f"Brier {brier:.4f} vs {b_name} {briers[b_name]:.4f}")
    wins = bool(auc_ok and brier_ok)
    lost = [p for p, ok in zip(parts, (auc_ok, brier_ok), strict=False) if not ok]
    reason = (f"the learned churn model beats the baselines ({'; '.join(parts)})" if wins else
              f"the learned churn model loses to the baselines ({'; '.join(lost)}), so the candidate is the "
              f"{best} baseline")
    return Verdict(wins, best, "roc_auc", auc, best_auc, reason + ".")


def _judge_value(metrics: pd.DataFrame, model: pd.Series, margin: float, tol: float) -> Verdict:
    present = {n: r for n in VALUE_GATE_BASELINES if (r := _row(metrics, n)) is not None}
    gini = _num(model["normalised_gini"])
    if not present:
        return Verdict(True, "", "normalised_gini", gini, float("nan"),
                       "no gate baseline could be computed on these rows.")
    errors = {n: abs(_num(r["total_error"])) for n, r in present.items()}
    best_error = min(errors.values())
    admissible = [n for n in present if errors[n] <= max(tol, 2.0 * best_error)]
    bar_name = max(present, key=lambda n: _num(present[n]["normalised_gini"]))
    best_gini = _num(present[bar_name]["normalised_gini"])  # the ranking bar counts every baseline
    level_from = "" if bar_name in admissible else min(admissible, key=errors.__getitem__)
    error = abs(_num(model["total_error"]))
    allowed = max(tol, min(errors[n] for n in admissible))
    gini_ok = np.isfinite(gini) and gini >= best_gini + margin
    total_ok = np.isfinite(error) and error <= allowed
    parts = [f"Gini {gini:.3f} vs {bar_name} {best_gini:.3f}" + (f" + margin {margin:.3f}" if margin else ""),
             f"|total error| {error:.1%} vs allowed {allowed:.1%}"]
    wins = bool(gini_ok and total_ok)
    lost = [p for p, ok in zip(parts, (gini_ok, total_ok), strict=True) if not ok]
    what = (f"the {bar_name} baseline" if not level_from else
            f"the {bar_name} baseline's ranking at the {level_from} level (its total error "
            f"{_num(present[bar_name]['total_error']):+.1%} is too far off to set the level)")
    reason = (f"the learned value model beats the baselines ({'; '.join(parts)})" if wins else
              f"the learned value model loses to the baselines ({'; '.join(lost)}), so the candidate is {what}")
    return Verdict(wins, bar_name, "normalised_gini", gini, best_gini, reason + ".", level_from)
