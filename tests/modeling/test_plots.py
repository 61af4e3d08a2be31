"""Tests of loyalist.modeling.evaluation.plots: figures with the expected lines and labels, atomic PNG writing."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from matplotlib.figure import Figure
from sklearn.metrics import roc_curve

from loyalist.errors import ConfigError, ModelError
from loyalist.modeling.evaluation.plots import (
    calibration_figure,
    gains_figure,
    pr_figure,
    roc_figure,
    save_figure,
    value_deciles_figure,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def churn_data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 300)
    return {
        "y": y,
        "model": np.clip(0.35 * y + 0.65 * rng.random(300), 0, 1),
        "bgnbd": rng.random(300),
        "recency": rng.integers(0, 365, 300).astype(float),  # a ranking, not a probability
    }


@pytest.fixture(scope="module")
def value_data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(6)
    y = rng.gamma(1.0, 100.0, 300) * (rng.random(300) < 0.6)
    return {"y": y, "model": y * rng.lognormal(0, 0.4, 300) + 1, "last_period": rng.gamma(1.0, 90.0, 300)}


def _labels(ax) -> list[str]:
    return [text.get_text() for text in ax.get_legend().get_texts()]


def _assert_labelled(ax) -> None:
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


def test_roc_figure_has_one_line_per_scorer_plus_chance(churn_data) -> None:
    d = churn_data
    fig = roc_figure(d["y"], {"model": d["model"], "recency": d["recency"], "bgnbd": d["bgnbd"]})
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert len(ax.get_lines()) == 4
    _assert_labelled(ax)
    labels = _labels(ax)
    assert labels[0].startswith("model (AUC ") and labels[-1] == "chance"
    fpr, tpr, _ = roc_curve(d["y"], d["model"])
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), fpr)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), tpr)
    # The model is drawn thicker than the baselines.
    assert ax.get_lines()[0].get_linewidth() > ax.get_lines()[1].get_linewidth()


def test_pr_figure_has_one_line_per_scorer_plus_base_rate(churn_data) -> None:
    d = churn_data
    fig = pr_figure(d["y"], {"model": d["model"], "recency": d["recency"]})
    (ax,) = fig.axes
    assert len(ax.get_lines()) == 3
    _assert_labelled(ax)
    base = ax.get_lines()[-1]
    assert base.get_ydata()[0] == pytest.approx(d["y"].mean())


def test_calibration_figure_has_one_line_per_model_plus_diagonal(churn_data) -> None:
    d = churn_data
    fig = calibration_figure(d["y"], {"model": d["model"], "bgnbd": d["bgnbd"]}, n_bins=5)
    (ax,) = fig.axes
    assert len(ax.get_lines()) == 3
    _assert_labelled(ax)
    assert len(ax.get_lines()[0].get_xdata()) <= 5  # one point per non-empty bin
    assert _labels(ax)[0].startswith("model (ECE ")


def test_calibration_figure_refuses_ranking_scores(churn_data) -> None:
    d = churn_data
    with pytest.raises(ModelError, match=r"probs\['recency'\] must hold probabilities in \[0, 1\]"):
        calibration_figure(d["y"], {"model": d["model"], "recency": d["recency"]})


def test_gains_figure_has_scorers_random_and_perfect(churn_data) -> None:
    d = churn_data
    fig = gains_figure(d["y"], {"model": d["model"], "recency": d["recency"]})
    (ax,) = fig.axes
    lines = ax.get_lines()
    assert len(lines) == 4
    _assert_labelled(ax)
    model = lines[0]
    assert model.get_ydata()[0] == 0.0 and model.get_ydata()[-1] == pytest.approx(1.0)
    assert (np.diff(model.get_ydata()) >= -1e-12).all()
    assert _labels(ax)[2:] == ["random", "perfect"]


def test_value_deciles_figure_has_two_panels(value_data) -> None:
    d = value_data
    fig = value_deciles_figure(d["y"], {"model": d["model"], "last_period": d["last_period"]})
    left, right = fig.axes
    assert len(left.get_lines()) == 2
    assert len(right.get_lines()) == 3
    _assert_labelled(left)
    _assert_labelled(right)
    assert list(left.get_lines()[0].get_xdata()) == list(range(1, 11))
    assert _labels(left)[0].startswith("model (Gini ")


def test_value_deciles_figure_names_the_bad_entry(value_data) -> None:
    d = value_data
    with pytest.raises(ModelError, match=r"preds\['short'\] must have the length of 'y_true'"):
        value_deciles_figure(d["y"], {"model": d["model"], "short": d["model"][:10]})


def test_figures_need_a_mapping(churn_data) -> None:
    with pytest.raises(ModelError, match=r"'scores' must be a non-empty mapping"):
        roc_figure(churn_data["y"], {})


def test_save_figure_writes_a_png_atomically(tmp_path, churn_data) -> None:
    d = churn_data
    target = tmp_path / "new" / "roc.png"
    out = save_figure(roc_figure(d["y"], {"model": d["model"]}), target)
    assert out == target
    data = target.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 1000
    # Overwriting replaces the file and leaves no temporary file behind.
    save_figure(gains_figure(d["y"], {"model": d["model"]}), target)
    assert target.read_bytes() != data
    assert [p.name for p in target.parent.iterdir()] == ["roc.png"]


def test_save_figure_refuses_other_formats(tmp_path, churn_data) -> None:
    fig = roc_figure(churn_data["y"], {"model": churn_data["model"]})
    with pytest.raises(ConfigError, match=r"'path' of save_figure must end in '.png'"):
        save_figure(fig, tmp_path / "roc.pdf")
    assert list(tmp_path.iterdir()) == []


def test_importing_and_drawing_changes_nothing_global() -> None:
    # Reading rcParams["backend"] the normal way would itself resolve the backend (and import pyplot), so the
    # snapshot reads the raw dict values.
    code = (
        "import sys, matplotlib, numpy as np\n"
        "snap = lambda: {k: dict.__getitem__(matplotlib.rcParams, k) for k in dict.keys(matplotlib.rcParams)}\n"
        "before = snap()\n"
        "from loyalist.modeling.evaluation import plots\n"
        "plots.roc_figure(np.array([0, 1, 0, 1]), {'m': np.array([0.1, 0.9, 0.4, 0.6])})\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
        "assert snap() == before, 'rcParams changed'\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
