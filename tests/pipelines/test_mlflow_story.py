"""MLflow tells the whole story, through the real command line: ``loyalist train --quiet`` and ``loyalist score
--quiet`` print nothing at all on success; the registered version's description is its model card (data,
cut-offs, metrics beside the baselines, the gate's decision); every run says what it did; the churn run carries
the SHAP summary plot and drivers table; the scoring run carries the drift pages."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO

import pandas as pd
import pytest
import yaml

import loyalist.jobs.train as train_job
from loyalist.config import LoyalistConfig
from loyalist.config.resolved import RESOLVED_FILE, resolved_text

from concurrent_train import CONFIG, write_clean_data

pytestmark = pytest.mark.slow


def _cli(*args, cwd, timeout=900) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLFLOW_TRACKING_URI": "", "MLFLOW_DISABLE_TELEMETRY": "true",
           "MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK": "true", "OMP_WAIT_POLICY": "passive", "COLUMNS": "120"}
    return subprocess.run([sys.executable, "-m", "loyalist.cli", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    root = tmp_path_factory.mktemp("story")
    clean = write_clean_data(root / "clean", n_customers=500, seed=3)
    # as 'loyalist prepare' leaves it: the resolved config beside the tables (here with fewer cut-offs, for speed)
    config = LoyalistConfig.model_validate(yaml.safe_load(CONFIG))
    (clean / RESOLVED_FILE).write_text(resolved_text(config), encoding="utf-8")
    work = root / "project"
    work.mkdir()
    train = _cli("train", "--clean", clean, "--workdir", work, "--quiet", cwd=work)
    score = _cli("score", "--clean", clean, "--workdir", work, "--out", work / "out", "--quiet", cwd=work)
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{work / 'mlruns' / 'mlflow.db'}")
    return {"train": train, "score": score, "client": client, "work": work}


def _runs(client, name):
    experiments = client.search_experiments()
    runs = client.search_runs([e.experiment_id for e in experiments], filter_string=f"attributes.run_name = '{name}'")
    assert len(runs) == 1, f"expected one {name} run, found {len(runs)}"
    return runs[0]


def test_quiet_train_and_score_print_nothing_on_success(story):
    for job in ("train", "score"):
        done = story[job]
        assert done.returncode == 0, done.stderr[-3000:]
        # MLflow's own "Successfully registered model ..." / "Created version ..." lines used to leak here
        assert done.stdout == "" and done.stderr == "", (job, done.stdout[-2000:], done.stderr[-2000:])


def test_the_registered_version_description_is_its_model_card(story):
    client = story["client"]
    for name, kind in (("loyalist-churn", "churn"), ("loyalist-value", "value")):
        mv = client.get_model_version(name, "1")
        text = mv.description
        assert text.startswith(f"# Model card: {name} version 1"), text[:200]
        assert len(text) <= 5000
        assert "## Promotion gate" in text and "- Decision: promoted to champion." in text
        assert "No champion exists" in text  # the gate's own reason, first version
        assert "## Data and cut-offs" in text and "Training cut-offs (" in text
        assert "## Metrics beside the baselines (same rows)" in text and "| loyalist |" in text
        card = client.download_artifacts(mv.run_id, "MODEL_CARD.md")
        with open(card, encoding="utf-8") as fh:
            full = fh.read()
        assert text == full or text.endswith(f"MODEL_CARD.md of run {mv.run_id}.]")


def test_each_run_says_what_it_did(story):
    client = story["client"]
    churn = _runs(client, "train-churn").data.tags["mlflow.note.content"]
    assert churn.startswith("Trained the churn model (the probability of no completed order in the next 90 days)")
    assert "Registered loyalist-churn version 1" in churn and "Gate: promoted to champion" in churn
    assert "roc_auc 0." in churn and "SHAP summary and drivers of" in churn
    value = _runs(client, "train-value").data.tags["mlflow.note.content"]
    assert value.startswith("Trained the value model") and "Registered loyalist-value version 1" in value
    score = _runs(client, "score").data.tags["mlflow.note.content"]
    assert score.startswith("Scored ") and "loyalist-churn version 1 and loyalist-value version 1" in score
    assert "Drift against the training data" in score


def test_the_churn_run_logs_the_shap_summary_and_drivers(story):
    client = story["client"]
    run = _runs(client, "train-churn")
    files = {a.path for a in client.list_artifacts(run.info.run_id, "shap")}
    assert files == {"shap/summary.png", "shap/drivers.png", "shap/drivers.csv"}
    with open(client.download_artifacts(run.info.run_id, "shap/drivers.csv"), encoding="utf-8") as fh:
        drivers = pd.read_csv(StringIO(fh.read()))
    assert {"feature", "mean_abs_shap", "mean_shap", "label_en"} <= set(drivers.columns)
    assert drivers["mean_abs_shap"].is_monotonic_decreasing and drivers["mean_abs_shap"].iloc[0] > 0
    explained = run.data.metrics["shap.rows_explained"]
    assert 0 < explained <= train_job.SHAP_SAMPLE
    with open(client.download_artifacts(run.info.run_id, "shap/summary.png"), "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    value = _runs(client, "train-value")
    assert client.list_artifacts(value.info.run_id, "shap") == []  # the churn model only


def test_the_churn_run_logs_the_survival_calibration(story):
    """Issue 15 §2: BG/NBD predicted vs observed share still buying per month of the evaluation window."""
    client = story["client"]
    run = _runs(client, "train-churn")
    files = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert "plots/survival_calibration.png" in files
    with open(client.download_artifacts(run.info.run_id, "tables/survival_calibration.csv"), encoding="utf-8") as fh:
        table = pd.read_csv(StringIO(fh.read()))
    assert list(table["period"]) == list(range(len(table))) and len(table) >= 2
    assert table["observed_share"].is_monotonic_decreasing
    assert run.data.metrics["survival.share_mae"] == pytest.approx(table["error"].abs().mean())
    assert run.data.metrics["survival.share_mae_anchored"] == pytest.approx(table["error_anchored"].abs().mean())
    assert table["predicted_anchored_share"].between(0, 1).all()


def test_the_scoring_run_logs_the_drift_pages(story):
    client = story["client"]
    run = _runs(client, "score")
    files = {a.path for a in client.list_artifacts(run.info.run_id, "drift")}
    assert files == {"drift/churn_risk_drift_zh.html", "drift/churn_risk_drift_en.html"}
    with open(client.download_artifacts(run.info.run_id, "drift/churn_risk_drift_en.html"), encoding="utf-8") as fh:
        assert "<html" in fh.read().lower()
