"""Evaluation figures: a model beside its baselines on the same axes, on the same out-of-time labels.

Every function returns a :class:`matplotlib.figure.Figure` drawn on its own Agg canvas: nothing global changes
(no ``matplotlib.use``, no pyplot, no rcParams), so the module is safe to import in a notebook, a server or a
test. The first entry of the mapping is drawn as **the model** (thick line), the others as baselines (thin lines);
reference lines (chance, perfect calibration, random targeting) are grey and dashed. :func:`save_figure` writes a
PNG atomically.

Scores follow :mod:`loyalist.modeling.evaluation.metrics`: higher means more likely to churn (or more valuable).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

from loyalist.errors import ConfigError, ModelError
from loyalist.io import atomic_path
from loyalist.modeling.evaluation.metrics import (
    _check_mapping,
    _churn_pair,
    _ranked_cumulative,
    _value_pair,
    calibration_table,
    churn_metrics,
    value_decile_table,
    value_metrics,
)

__all__ = [
    "roc_figure",
    "pr_figure",
    "calibration_figure",
    "gains_figure",
    "value_deciles_figure",
    "save_figure",
]

_REFERENCE: dict[str, Any] = {"color": "0.55", "linestyle": "--", "linewidth": 1.0}
# The legend positions the figures use (matplotlib types ``loc`` as a Literal of its names).
_LegendLoc = Literal["best", "lower right", "upper right", "upper left"]


def _new_figure(ncols: int = 1, width: float = 6.0) -> tuple[Figure, list[Axes]]:
    fig = Figure(figsize=(width * ncols, 5.0), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def _style(position: int) -> dict[str, Any]:
    """Line style of the ``position``-th entry: the model first and thick, baselines thin."""
    return {"linewidth": 2.4 if position == 0 else 1.3, "zorder": 3 if position == 0 else 2}


def _finish(ax: Axes, title: str, xlabel: str, ylabel: str, legend_loc: _LegendLoc = "best") -> None:
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(loc=legend_loc, fontsize="small")


def roc_figure(y_true: Any, scores: Mapping[str, Any], *, title: str = "ROC curve") -> Figure:
    """ROC curves of a churn model and its baselines.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Churn label (0/1 or bool) with both classes.
    scores : Mapping[str, array-like of shape (n,)]
        Name -> score, higher = more likely to churn; the first entry is the model.
    title : str
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
        One axes: one line per entry of ``scores`` (labelled with its ROC AUC) plus the chance diagonal.
    """
    scores = _check_mapping(scores, "scores")
    fig, (ax,) = _new_figure()
    for i, (name, score) in enumerate(scores.items()):
        y, s = _churn_pair(y_true, score, f"scores[{name!r}]")
        fpr, tpr, _ = roc_curve(y, s)
        ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(y, s):.3f})", **_style(i))
    ax.plot([0, 1], [0, 1], label="chance", **_REFERENCE)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    _finish(ax, title, "False positive rate (retained customers flagged)", "True positive rate (churners caught)",
            "lower right")
    return fig


def pr_figure(y_true: Any, scores: Mapping[str, Any], *, title: str = "Precision-recall curve") -> Figure:
    """Precision-recall curves of a churn model and its baselines.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Churn label (0/1 or bool) with both classes.
    scores : Mapping[str, array-like of shape (n,)]
        Name -> score, higher = more likely to churn; the first entry is the model.
    title : str
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
        One axes: one step line per entry of ``scores`` (labelled with its average precision) plus the base
        rate (the precision of random targeting).
    """
    scores = _check_mapping(scores, "scores")
    fig, (ax,) = _new_figure()
    base_rate = float("nan")
    for i, (name, score) in enumerate(scores.items()):
        y, s = _churn_pair(y_true, score, f"scores[{name!r}]")
        precision, recall, _ = precision_recall_curve(y, s)
        ax.step(recall, precision, where="post", label=f"{name} (AP {average_precision_score(y, s):.3f})",
                **_style(i))
        base_rate = float(y.mean())
    ax.axhline(base_rate, label=f"random (base rate {base_rate:.3f})", **_REFERENCE)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    _finish(ax, title, "Recall (share of churners caught)", "Precision (share of flagged who churn)", "upper right")
    return fig


def calibration_figure(
    y_true: Any, probs: Mapping[str, Any], *, n_bins: int = 10, title: str = "Calibration"
) -> Figure:
    """Reliability diagram: observed churn rate against mean predicted probability, per equal-width bin.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Churn label (0/1 or bool) with both classes.
    probs : Mapping[str, array-like of shape (n,)]
        Name -> predicted churn probability in [0, 1]; the first entry is the model. Ranking scores that are
        not probabilities (recency, minus the loyalty score) have no place here and raise a ModelError.
    n_bins : int, default 10
        Equal-width probability bins (see :func:`loyalist.modeling.evaluation.metrics.calibration_table`); empty bins
        are not drawn.
    title : str
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
        One axes: one line with markers per entry of ``probs`` (labelled with its ECE) plus the diagonal of
        perfect calibration.
    """
    probs = _check_mapping(probs, "probs")
    fig, (ax,) = _new_figure()
    for i, (name, prob) in enumerate(probs.items()):
        label = f"probs[{name!r}]"
        y, p = _churn_pair(y_true, prob, label)
        if p.min() < 0 or p.max() > 1:
            raise ModelError(
                f"{label} must hold probabilities in [0, 1] for a calibration figure; got values from "
                f"{p.min():g} to {p.max():g}; leave ranking baselines out of this figure."
            )
        table = calibration_table(y, p, n_bins)
        table = table[table["n"] > 0]
        ece = churn_metrics(y, p, n_bins=n_bins)["ece"]
        ax.plot(table["mean_pred"], table["observed_rate"], marker="o", label=f"{name} (ECE {ece:.3f})",
                **_style(i))
    ax.plot([0, 1], [0, 1], label="perfectly calibrated", **_REFERENCE)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    _finish(ax, title, "Mean predicted churn probability", "Observed churn rate", "upper left")
    return fig


def gains_figure(
    y_true: Any, scores: Mapping[str, Any], *, title: str = "Cumulative gains", n_points: int = 1001
) -> Figure:
    """Cumulative gains: share of all churners caught when targeting the top x% by score.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Churn label (0/1 or bool) with both classes.
    scores : Mapping[str, array-like of shape (n,)]
        Name -> score, higher = more likely to churn; the first entry is the model.
    title : str
        Axes title.
    n_points : int, default 1001
        Points per curve along the targeted share (ties are shared pro rata, so the curve is exact at them).

    Returns
    -------
    matplotlib.figure.Figure
        One axes: one line per entry of ``scores`` (labelled with its capture in the top 10%), plus random
        targeting (the diagonal) and the perfect ranking, i.e. ``len(scores) + 2`` lines.
    """
    scores = _check_mapping(scores, "scores")
    fig, (ax,) = _new_figure()
    share = np.linspace(0.0, 1.0, max(int(n_points), 2))
    y = np.array([])
    for i, (name, score) in enumerate(scores.items()):
        y, s = _churn_pair(y_true, score, f"scores[{name!r}]")
        counts, (cum,) = _ranked_cumulative(s, y)
        caught = np.interp(share * y.size, counts, cum) / cum[-1]
        top10 = float(np.interp(0.1 * y.size, counts, cum) / cum[-1])
        ax.plot(share, caught, label=f"{name} (top 10%: {top10:.0%} of churners)", **_style(i))
    ax.plot([0, 1], [0, 1], label="random", **_REFERENCE)
    ax.plot([0, y.mean(), 1], [0, 1, 1], label="perfect", color="0.3", linestyle=":", linewidth=1.0)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    _finish(ax, title, "Share of customers targeted (highest score first)", "Share of churners caught",
            "lower right")
    return fig


def value_deciles_figure(
    y_true: Any, preds: Mapping[str, Any], *, n_deciles: int = 10, title: str = "Customer value by predicted decile"
) -> Figure:
    """Actual value by decile of predicted value, and predicted against actual per decile.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Actual value (revenue or margin) in the value horizon; its total must be positive.
    preds : Mapping[str, array-like of shape (n,)]
        Name -> predicted value; the first entry is the model.
    n_deciles : int, default 10
        Equal-size bins of each prediction's ranking.
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes. Left: mean actual value per predicted decile (decile 1 = highest predictions), one line per
        entry of ``preds`` labelled with its normalised Gini (a good ranking falls steeply). Right: mean
        predicted against mean actual value per decile, one line per entry plus the identity diagonal.
    """
    preds = _check_mapping(preds, "preds")
    fig, (left, right) = _new_figure(ncols=2, width=5.5)
    low, high = np.inf, -np.inf
    for i, (name, pred) in enumerate(preds.items()):
        _value_pair(y_true, pred, f"preds[{name!r}]")
        table = value_decile_table(y_true, pred, n_deciles)
        gini = value_metrics(y_true, pred, n_deciles=n_deciles)["normalised_gini"]
        left.plot(table["decile"], table["mean_true"], marker="o", label=f"{name} (Gini {gini:.3f})", **_style(i))
        right.plot(table["mean_true"], table["mean_pred"], marker="o", label=str(name), **_style(i))
        values = np.r_[table["mean_true"].to_numpy(), table["mean_pred"].to_numpy()]
        low, high = min(low, float(values.min())), max(high, float(values.max()))
    right.plot([low, high], [low, high], label="predicted = actual", **_REFERENCE)
    left.set_xticks(range(1, n_deciles + 1))
    _finish(left, "Actual value by predicted decile", "Decile of predicted value (1 = highest)",
            "Mean actual value")
    _finish(right, "Predicted vs actual, per decile", "Mean actual value", "Mean predicted value", "upper left")
    fig.suptitle(title)
    return fig


def save_figure(fig: Figure, path: str | os.PathLike[str], *, dpi: int = 150) -> Path:
    """Write ``fig`` as a PNG at ``path`` atomically (a temporary file in the same folder, then a rename).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure, e.g. from :func:`roc_figure`.
    path : str or path-like
        Destination ending in ``.png``; missing parent folders are created. An existing file is replaced
        only once the new one is completely written.
    dpi : int, default 150
        Resolution.

    Returns
    -------
    pathlib.Path
        The written path.
    """
    target = Path(path)
    if target.suffix.lower() != ".png":
        raise ConfigError(
            f"The 'path' of save_figure must end in '.png'; got {str(target)!r}; give the file a .png name."
        )
    with atomic_path(target) as tmp:  # the user's umask applies, a killed run leaves no half figure
        fig.savefig(tmp, format="png", dpi=dpi)  # png always renders through Agg, whatever the canvas
    return target
