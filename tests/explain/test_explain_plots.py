"""Tests of loyalist.explain.plots: the shap summary figure and the drivers bar chart."""

from __future__ import annotations

import io
import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from loyalist.errors import SchemaError
from loyalist.explain import explain, with_model_features
from loyalist.explain.diagnosis import global_drivers
from loyalist.explain.plots import drivers_bar_figure, summary_figure

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def explained(churn_model, snapshots):
    score = snapshots["score"]
    return explain(churn_model, score), with_model_features(churn_model, score)


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


@pytest.mark.parametrize("plot_type", ["dot", "bar"])
def test_summary_figure_returns_a_closed_figure_and_leaves_global_state_alone(explained, plot_type) -> None:
    contribs, frame = explained
    open_before = plt.get_fignums()
    rng_before = np.random.get_state()[1].copy()
    fig = summary_figure(contribs, frame, plot_type=plot_type, max_display=8)
    assert isinstance(fig, Figure)
    assert plt.get_fignums() == open_before  # closed in pyplot
    np.testing.assert_array_equal(np.random.get_state()[1], rng_before)  # seeded jitter, not the global RNG
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "days since last order" in labels  # the strongest driver of the fixture model, with its label
    assert len([t for t in labels if t]) == 8
    assert _png(fig).startswith(PNG_SIGNATURE)


def test_summary_figure_needs_the_feature_values(explained) -> None:
    contribs, frame = explained
    with pytest.raises(SchemaError, match="'bg_p_alive'"):
        summary_figure(contribs, frame.drop(columns="bg_p_alive"))
    with pytest.raises(SchemaError, match="explained row"):
        summary_figure(contribs, frame.iloc[:10])


def test_drivers_bar_figure_draws_the_top_features_largest_on_top(explained) -> None:
    contribs, _ = explained
    drivers = global_drivers(contribs)
    fig = drivers_bar_figure(drivers, top=5)
    (ax,) = fig.axes
    assert len(ax.patches) == 5
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[::-1] == list(drivers["label_en"].head(5))
    widths = [p.get_width() for p in ax.patches][::-1]
    np.testing.assert_allclose(widths, drivers["mean_abs_shap"].head(5))
    assert ax.get_title() and ax.get_xlabel()
    assert _png(fig).startswith(PNG_SIGNATURE)
    with pytest.raises(SchemaError, match="'mean_abs_shap'"):
        drivers_bar_figure(drivers.drop(columns="mean_abs_shap"))


def test_matplotlib_is_imported_only_when_a_figure_is_drawn() -> None:
    """Importing loyalist.explain (the scoring job does) leaves matplotlib out; drawing still works."""
    code = (
        "import sys\n"
        "import pandas as pd\n"
        "import loyalist.explain as e\n"
        "assert 'matplotlib' not in sys.modules, 'imported with loyalist.explain'\n"
        "fig = e.drivers_bar_figure(pd.DataFrame({'feature': ['recency_days', 'orders_90d'],"
        " 'mean_abs_shap': [0.5, 0.2]}))\n"
        "assert 'matplotlib' in sys.modules\n"
        "import io\n"
        "buf = io.BytesIO(); fig.savefig(buf, format='png')\n"
        "assert buf.getvalue()[:8] == b'\\x89PNG\\r\\n\\x1a\\n'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
