"""Figures of the SHAP explanations: the shap summary (beeswarm or bar) and a bar chart of the global drivers.

:func:`summary_figure` draws with the shap package (imported here only, when called: scoring never needs it).
shap draws through pyplot, so the figure is created on a fresh pyplot figure, shap's jitter uses a seeded
``np.random.Generator`` (never the global RNG), and the figure is then closed in pyplot (detached from pyplot's
figure manager) before it is returned: it can still be saved with ``fig.savefig`` and nothing is left open.
:func:`drivers_bar_figure` is plain matplotlib on its own Agg canvas (no pyplot at all). matplotlib itself is imported
when a figure is drawn (0.4 CPU s that the scoring job, which imports this package and draws nothing, never pays).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from loyalist.errors import SchemaError
from loyalist.explain.contributions import _plain, feature_columns
from loyalist.explain.reasons import feature_label
from loyalist.schema import require_columns

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn: the scoring job imports this package, never draws
    from matplotlib.figure import Figure

__all__ = ["summary_figure", "drivers_bar_figure"]


def _feature_matrix(X: pd.DataFrame, feats: list[str], index: pd.Index) -> np.ndarray:
    """Feature values for shap's colouring: numbers as float, categories as their codes (NaN when missing)."""
    cols = []
    for f in feats:
        col = X.loc[index, f]
        numeric = pd.to_numeric(col, errors="coerce") if pd.api.types.is_numeric_dtype(col) else None
        if numeric is None:
            codes = pd.Series(pd.Categorical(col.astype("string")).codes, index=col.index).astype("float64")
            numeric = codes.where(codes >= 0)
        cols.append(numeric.to_numpy(dtype="float64", na_value=np.nan))
    return np.column_stack(cols) if cols else np.zeros((len(index), 0))


def summary_figure(
    contribs: pd.DataFrame,
    X: pd.DataFrame,
    *,
    plot_type: str = "dot",
    max_display: int = 20,
    lang: str = "en",
    seed: int = 0,
) -> Figure:
    """shap's summary plot (beeswarm ``"dot"``, ``"bar"`` or ``"violin"``) of the contributions.

    Parameters
    ----------
    contribs : the contribution frame (rows = customers; ``bias`` and ``offset`` are left out).
    X : the customers' feature values (index covering ``contribs.index``; every feature column of ``contribs``),
        e.g. :func:`~loyalist.explain.contributions.with_model_features` of the snapshot; categorical features are
        coloured by their category code.
    plot_type, max_display : passed to ``shap.summary_plot``.
    lang : ``"en"`` or ``"zh"`` feature labels (Chinese labels need a CJK font in matplotlib).
    seed : seed of the beeswarm jitter.

    Returns
    -------
    matplotlib Figure, already closed in pyplot (save it with ``fig.savefig``).
    """
    import matplotlib.pyplot as plt
    import shap

    feats = feature_columns(contribs)
    require_columns(X, feats, what="The feature frame 'X'", kind="contribution feature", show_columns=False,
                    fix="pass the snapshot with the model's features (loyalist.explain.with_model_features)")
    absent = contribs.index.difference(X.index)
    if len(absent):
        raise SchemaError(f"The feature frame 'X' lacks {len(absent)} explained row(s) (first: {_plain(absent[0])!r}).")
    values = contribs[feats].to_numpy(dtype="float64", na_value=np.nan)
    created = fig = plt.figure()
    try:
        shap.summary_plot(
            values,
            _feature_matrix(X, feats, contribs.index),
            feature_names=[feature_label(f, lang) for f in feats],
            plot_type=plot_type,
            max_display=max_display,
            show=False,
            rng=np.random.default_rng(seed),
        )
        fig = plt.gcf()
    finally:
        plt.close(created)
        plt.close(fig)
    return fig


def drivers_bar_figure(drivers: pd.DataFrame, *, top: int = 15, lang: str = "en") -> Figure:
    """Horizontal bars of mean |SHAP| per feature (the output of :func:`~loyalist.explain.diagnosis.global_drivers`),
    the largest on top, labelled in ``lang`` (``label_en`` / ``label_zh`` when present, else the feature name).

    ``drivers`` needs ``feature`` and ``mean_abs_shap``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    require_columns(drivers, ("feature", "mean_abs_shap"), what="The drivers table",
                    fix="pass the output of global_drivers()")
    rows = drivers.sort_values("mean_abs_shap", ascending=False, kind="stable").head(top).iloc[::-1]
    label_col = f"label_{'zh' if lang == 'zh' else 'en'}"
    labels = (rows[label_col] if label_col in rows.columns else rows["feature"]).astype(str).tolist()
    fig = Figure(figsize=(7.0, 0.35 * len(rows) + 1.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.barh(np.arange(len(rows)), rows["mean_abs_shap"].to_numpy(dtype="float64"),
            color="#2e86c1")
    ax.set_yticks(np.arange(len(rows)), labels)
    ax.set_xlabel("平均|SHAP|（对数几率）" if lang == "zh" else "mean |SHAP| (log-odds)")
    ax.set_title("流失驱动因素" if lang == "zh" else "Churn drivers")
    return fig
