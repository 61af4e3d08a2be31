"""How a model is judged: metrics beside baselines, the champion gate, figures and the model card.

- ``metrics``: churn and value metrics, comparisons, gains and calibration tables;
- ``baselines``: the baseline scores; ``baseline_models``: baselines as registrable loyalist models;
- ``selection``: :func:`judge_against_baselines` (the gate); ``plots``: figures; ``card``: :func:`model_card`.

Names below are imported on first use (PEP 562), so importing a single module (e.g. when MLflow unpickles a model
in an environment without the training extras) does not import the others.
"""

from __future__ import annotations

from loyalist._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "churn_metrics": "metrics",
    "value_metrics": "metrics",
    "compare_churn": "metrics",
    "compare_value": "metrics",
    "calibration_table": "metrics",
    "gains_table": "metrics",
    "value_decile_table": "metrics",
    "churn_baselines": "baselines",
    "value_baselines": "baselines",
    "BaselineChurnModel": "baseline_models",
    "BaselineValueModel": "baseline_models",
    "CHURN_GATE_BASELINES": "selection",
    "VALUE_GATE_BASELINES": "selection",
    "Verdict": "selection",
    "judge_against_baselines": "selection",
    "roc_figure": "plots",
    "pr_figure": "plots",
    "calibration_figure": "plots",
    "gains_figure": "plots",
    "value_deciles_figure": "plots",
    "save_figure": "plots",
    "model_card": "card",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
