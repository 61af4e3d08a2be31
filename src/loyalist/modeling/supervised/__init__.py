"""The learned churn and value models (LightGBM) and how they are trained out of time.

- ``churn``: :class:`ChurnModel`; ``value``: :class:`ValueModel`; ``base``: their shared machinery;
- ``matrix``: snapshot rows to a model matrix; ``dataset``: labelled snapshots at past cut-offs;
- ``training``: :func:`train_churn`, :func:`train_value`; ``level``: the level rule; ``hpo``: the search.

Names below are imported on first use (PEP 562), so importing a single module (e.g. when MLflow unpickles a model
in an environment without the training extras) does not import the others.
"""

from __future__ import annotations

from loyalist._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "ChurnModel": "churn",
    "ValueModel": "value",
    "LgbmModelBase": "base",
    "DEFAULT_LGBM_PARAMS": "base",
    "FeatureSpec": "matrix",
    "make_spec": "matrix",
    "to_matrix": "matrix",
    "check_columns": "matrix",
    "CutoffPlan": "dataset",
    "EVENT_DATE_COLUMNS": "dataset",
    "events_until": "dataset",
    "plan_cutoffs": "dataset",
    "labelled_snapshot": "dataset",
    "stack_snapshots": "dataset",
    "split_half": "dataset",
    "SnapshotBuilder": "dataset",
    "TrainingResult": "training",
    "describe_evaluation": "training",
    "plan_with_fallback": "training",
    "train_churn": "training",
    "train_value": "training",
    "evaluation_frame": "training",
    "Level": "level",
    "uncovered_months": "level",
    "seasonal_factor": "level",
    "churn_logit_shift": "level",
    "churn_power": "level",
    "month_span": "level",
    "month_names": "level",
    "set_level": "level",
    "tune_lgbm": "hpo",
    "tune_lgbm_for": "hpo",
    "SEARCH_SPACE": "hpo",
    "SEARCH_METRIC": "hpo",
    "inner_split": "hpo",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
