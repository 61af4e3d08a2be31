"""LightGBM hyper-parameter search for the churn and value models (``loyalist train --tune N``), on an inner time split.

The out-of-time validation cut-off is split in two by the training job (``valid_fit`` for early stopping and
calibration, ``valid_eval`` for the reported metrics). A search that chose hyper-parameters on either half would
leak: ``valid_eval`` would no longer be unseen, and ``valid_fit`` also selects the number of trees of the final
model. So the search never reads them. It repeats the training protocol one step back in time, inside the training
cut-offs:

- **inner validation** = the newest training cut-off ``T_in``; its customers are split by the same hash as the
  training job (:func:`~loyalist.modeling.supervised.dataset.split_half`): one half early-stops each trial's booster, the
  other half scores the trial (ROC AUC for churn, normalised Gini for value);
- **inner training** = the training cut-offs whose label window ends by ``T_in`` (``T + horizon_days <= T_in``),
  so the inner validation is honestly out of time; when no cut-off is that old (a 365-day value horizon with 12
  monthly cut-offs), every earlier cut-off is used and the trial's ``user_attrs['label_overlap']`` is True.

``valid_fit`` and ``valid_eval`` are only checked to lie after every training cut-off (a guard against passing the
wrong frames). Trial 0 is the configured parameters, so the best is never worse than them on the inner split.

Search space (LightGBM scikit-learn names; ``n_estimators`` stays large, early stopping picks the trees):
``learning_rate`` 0.01-0.2 (log), ``num_leaves`` 7-127 (log), ``min_child_samples`` 10-300 (log),
``subsample`` 0.5-1, ``colsample_bytree`` 0.4-1, ``reg_lambda`` 1e-3-30 (log).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np
import optuna
import pandas as pd

from loyalist.compute import lgbm_threads
from loyalist.config.metrics import higher_is_better
from loyalist.config.models import LoyalistConfig
from loyalist.errors import ConfigError, InsufficientHistoryError, ModelError
from loyalist.modeling.evaluation.metrics import churn_metrics, value_metrics
from loyalist.modeling.supervised.base import DEFAULT_LGBM_PARAMS
from loyalist.modeling.supervised.churn import ChurnModel
from loyalist.modeling.supervised.dataset import split_half, stack_snapshots
from loyalist.modeling.supervised.training import plan_with_fallback
from loyalist.modeling.supervised.value import ValueModel

__all__ = ["tune_lgbm", "tune_lgbm_for", "SEARCH_SPACE", "SEARCH_METRIC", "inner_split"]

#: The metric each kind's search optimises (its direction comes from :mod:`loyalist.config.metrics`).
SEARCH_METRIC: dict[str, str] = {"churn": "roc_auc", "value": "normalised_gini"}

#: name -> (low, high, log scale, integer)
SEARCH_SPACE: dict[str, tuple[float, float, bool, bool]] = {
    "learning_rate": (0.01, 0.2, True, False),
    "num_leaves": (7, 127, True, True),
    "min_child_samples": (10, 300, True, True),
    "subsample": (0.5, 1.0, False, False),
    "colsample_bytree": (0.4, 1.0, False, False),
    "reg_lambda": (1e-3, 30.0, True, False),
}


def inner_split(
    train: pd.DataFrame, horizon_days: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """The inner time split of stacked training snapshots.

    Parameters
    ----------
    train : pandas.DataFrame
        Stacked labelled snapshots (one row per customer and cut-off) with ``customer_id`` and ``as_of``.
    horizon_days : int
        The label horizon of ``train`` (the inner training cut-offs end their label window by the inner
        validation cut-off).

    Returns
    -------
    (inner_train, inner_fit, inner_eval, info)
        Row subsets of ``train``: the inner training cut-offs, and the two halves of the newest cut-off (early
        stopping / objective). ``info``: ``inner_valid_cutoff``, ``inner_train_cutoffs`` (ISO dates) and
        ``label_overlap`` (True when no cut-off respected the gap and all earlier ones were used).

    Raises
    ------
    InsufficientHistoryError
        With fewer than two training cut-offs.
    """
    if "as_of" not in train.columns or "customer_id" not in train.columns:
        raise ModelError(
            "The 'train' rows for hyper-parameter search lack 'as_of' or 'customer_id'; expected stacked labelled "
            "snapshots; build them with loyalist.modeling.supervised.dataset.stack_snapshots."
        )
    cutoffs = sorted(pd.to_datetime(train["as_of"]).unique())
    if len(cutoffs) < 2:
        raise InsufficientHistoryError(
            f"Hyper-parameter search needs at least 2 training cut-offs (the newest validates the trials); got "
            f"{len(cutoffs)}; raise training.max_cutoffs or load more history."
        )
    t_in = pd.Timestamp(cutoffs[-1])
    earlier = [pd.Timestamp(t) for t in cutoffs[:-1]]
    gapped = [t for t in earlier if t + pd.Timedelta(days=int(horizon_days)) <= t_in]
    chosen = gapped or earlier
    as_of = pd.to_datetime(train["as_of"])
    inner_train = train.loc[as_of.isin(chosen).to_numpy()]
    last = train.loc[(as_of == t_in).to_numpy()]
    first = split_half(last["customer_id"])
    info = {
        "inner_valid_cutoff": str(t_in.date()),
        "inner_train_cutoffs": [str(t.date()) for t in chosen],
        "label_overlap": not gapped,
    }
    return inner_train, last.loc[first], last.loc[~first], info


def _check_later(frame: pd.DataFrame | None, name: str, newest: pd.Timestamp) -> None:
    if frame is None or "as_of" not in frame.columns or len(frame) == 0:
        return
    oldest = pd.to_datetime(frame["as_of"]).min()
    if oldest <= newest:
        raise ModelError(
            f"The {name!r} rows start at cut-off {oldest.date()} but the training cut-offs reach {newest.date()}; "
            f"expected the validation cut-off after every training cut-off; pass the validation half as {name!r}."
        )


def _suggest(trial: optuna.trial.Trial) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (lo, hi, log, integer) in SEARCH_SPACE.items():
        if integer:
            out[name] = trial.suggest_int(name, int(lo), int(hi), log=log)
        else:
            out[name] = trial.suggest_float(name, lo, hi, log=log)
    return out


def _start(base: Mapping[str, Any]) -> dict[str, Any]:
    """The configured parameters clipped into the search space (trial 0)."""
    merged = {**DEFAULT_LGBM_PARAMS, **base}
    out: dict[str, Any] = {}
    for name, (lo, hi, _, integer) in SEARCH_SPACE.items():
        v = min(max(float(merged[name]), lo), hi)
        out[name] = int(round(v)) if integer else v
    return out


def tune_lgbm(
    kind: Literal["churn", "value"],
    train: pd.DataFrame,
    valid_fit: pd.DataFrame | None = None,
    valid_eval: pd.DataFrame | None = None,
    n_trials: int = 20,
    seed: int = 0,
    on_trial: Callable[[optuna.trial.FrozenTrial], None] | None = None,
    *,
    horizon_days: int,
    base_params: Mapping[str, Any] | None = None,
    target: str = "future_revenue",
    early_stopping_rounds: int = 50,
    n_jobs: int = 1,
) -> dict[str, Any]:
    """Search LightGBM hyper-parameters of the churn or value model on the inner time split (see module notes).

    Parameters
    ----------
    kind : {'churn', 'value'}
        The model: :class:`~loyalist.modeling.supervised.churn.ChurnModel` (objective ROC AUC, label ``churned``) or
        :class:`~loyalist.modeling.supervised.value.ValueModel` (objective normalised Gini, label ``target``, clipped at 0).
    train : pandas.DataFrame
        Stacked labelled snapshots of the training cut-offs (``customer_id``, ``as_of``, features, labels).
    valid_fit, valid_eval : pandas.DataFrame, optional
        The validation cut-off's halves; never read by the search, only checked to be later than ``train``.
    n_trials : int
        Optuna trials (TPE, seeded by ``seed``); trial 0 is ``base_params``.
    seed : int
        Seed of the sampler and of LightGBM.
    on_trial : callable, optional
        Called with each finished ``optuna.trial.FrozenTrial``; ``user_attrs`` hold ``kind``, ``metric``,
        ``best_iteration``, ``inner_valid_cutoff``, ``inner_train_cutoffs`` and ``label_overlap``.
    horizon_days : int
        The label horizon of ``train`` (for the inner split's gap and the model's BTYD features).
    base_params : mapping, optional
        The configured LightGBM parameters (``training.lgbm_params``); searched ones are overridden, others kept
        (e.g. ``n_estimators``).
    target : str
        Value label column (``future_revenue`` or ``future_margin``).
    early_stopping_rounds : int
        Patience of each trial's early stopping.
    n_jobs : int
        LightGBM threads per trial.

    Returns
    -------
    dict
        The best trial's values of :data:`SEARCH_SPACE` (LightGBM scikit-learn names), ready to merge into
        ``training.lgbm_params`` or the ``params`` of ``train_churn`` / ``train_value``.

    Raises
    ------
    ConfigError
        For an unknown ``kind`` or ``n_trials < 1``.
    InsufficientHistoryError
        With fewer than two training cut-offs, or one label class in the inner split.
    ModelError
        When ``valid_fit`` / ``valid_eval`` are not later than every training cut-off.
    """
    if kind not in ("churn", "value"):
        raise ConfigError(f"The 'kind' parameter of tune_lgbm must be 'churn' or 'value'; got {kind!r}.")
    if not isinstance(n_trials, (int, np.integer)) or n_trials < 1:
        raise ConfigError(f"The 'n_trials' parameter of tune_lgbm must be an integer >= 1; got {n_trials!r}.")
    inner_train, inner_fit, inner_eval, info = inner_split(train, horizon_days)
    newest = pd.Timestamp(info["inner_valid_cutoff"])
    _check_later(valid_fit, "valid_fit", newest)
    _check_later(valid_eval, "valid_eval", newest)
    label = "churned" if kind == "churn" else target
    for name, frame in (("inner training", inner_train), ("inner evaluation", inner_eval)):
        if label not in frame.columns:
            raise ModelError(f"The {name} rows lack the label column {label!r}; build them with labelled snapshots.")
        if kind == "churn" and frame[label].nunique() < 2:
            raise InsufficientHistoryError(
                f"The {name} rows of the hyper-parameter search have one churn class only; use more cut-offs."
            )
    if kind == "value":
        clip = {target: lambda f: f[target].clip(lower=0)}
        inner_train, inner_fit, inner_eval = (f.assign(**clip) for f in (inner_train, inner_fit, inner_eval))
    base = dict(base_params or {})
    metric = SEARCH_METRIC[kind]

    def objective(trial: optuna.trial.Trial) -> float:
        params = {**base, **_suggest(trial)}
        if kind == "churn":
            model = ChurnModel(horizon_days=horizon_days, params=params, calibration="none",
                               early_stopping_rounds=early_stopping_rounds, random_state=seed, n_jobs=n_jobs)
            model.fit(inner_train, inner_fit)
            value = churn_metrics(inner_eval["churned"].to_numpy(), model.score(inner_eval))[metric]
        else:
            model = ValueModel(horizon_days=horizon_days, params=params, target=target,
                               early_stopping_rounds=early_stopping_rounds, random_state=seed, n_jobs=n_jobs)
            model.fit(inner_train, inner_fit)
            value = value_metrics(inner_eval[target].to_numpy(dtype="float64"), model.score(inner_eval))[metric]
        trial.set_user_attr("kind", kind)
        trial.set_user_attr("metric", metric)
        trial.set_user_attr("best_iteration", int(model.best_iteration_))
        for key, v in info.items():
            trial.set_user_attr(key, v)
        return float(value) if math.isfinite(value) else 0.0

    study = optuna.create_study(
        direction="maximize" if higher_is_better(kind, metric) else "minimize",
        sampler=optuna.samplers.TPESampler(seed=seed, multivariate=True),
    )
    study.enqueue_trial(_start(base))
    callbacks = [lambda s, t: on_trial(t)] if on_trial is not None else []
    study.optimize(objective, n_trials=int(n_trials), callbacks=callbacks)
    return dict(study.best_trial.params)


def tune_lgbm_for(
    kind: Literal["churn", "value"],
    tables: Mapping[str, pd.DataFrame],
    config: LoyalistConfig,
    *,
    n_trials: int,
    on_trial: Callable[[optuna.trial.FrozenTrial], None] | None = None,
    builder: Callable[[pd.Timestamp, Any], pd.DataFrame] | None = None,
) -> dict[str, Any]:
    """:func:`tune_lgbm` on the training cut-offs that ``train_churn`` / ``train_value`` would use.

    Plans the cut-offs as training does (:func:`~loyalist.modeling.supervised.training.plan_with_fallback`, the churn or value
    horizon of ``config.features``), stacks the labelled snapshots of the training cut-offs only (the validation
    cut-off is not even built) and searches with ``config.training.random_state`` as seed and
    ``config.training.lgbm_params`` as trial 0.

    Parameters
    ----------
    kind : {'churn', 'value'}
        The model to tune.
    tables : mapping of str to pandas.DataFrame
        The clean canonical tables (``orders`` at least).
    config : LoyalistConfig
        Features (horizons, value basis) and training settings (cut-offs, seed, LightGBM parameters).
    n_trials : int
        Optuna trials.
    on_trial : callable, optional
        Called with each finished trial (see :func:`tune_lgbm`).
    builder : callable, optional
        Builds one labelled snapshot on another engine (``SnapshotBuilder`` of
        :func:`~loyalist.modeling.supervised.dataset.stack_snapshots`; ``train --tune N --engine spark`` passes the Spark one).

    Returns
    -------
    dict
        The best LightGBM parameters of :data:`SEARCH_SPACE`.
    """
    if kind not in ("churn", "value"):
        raise ConfigError(f"The 'kind' parameter of tune_lgbm_for must be 'churn' or 'value'; got {kind!r}.")
    f = config.features
    horizon = f.churn_horizon_days if kind == "churn" else f.value_horizon_days
    plan, _ = plan_with_fallback(tables, config, horizon)
    features = f.model_copy(update={"churn_horizon_days": plan.horizon_days, "value_horizon_days": plan.horizon_days})
    train = stack_snapshots(tables, plan.train, features, builder=builder)
    return tune_lgbm(
        kind, train, None, None, n_trials, config.training.random_state, on_trial,
        horizon_days=plan.horizon_days, base_params=config.training.lgbm_params,
        n_jobs=lgbm_threads(config.compute.lgbm_threads),
        target="future_margin" if f.value_basis == "margin" else "future_revenue",
    )
