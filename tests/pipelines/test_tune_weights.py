"""The tune-weights job end to end on a synthetic company: overlays and report on disk, MLflow parent run with one
nested run per trial, in a temporary SQLite store."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient

from loyalist.config import default_files, load_config, read_yaml
from loyalist.config.models import LoyalistConfig
from loyalist.data.synthetic import generate
from loyalist.scoring.tuning import METRIC_COLUMNS
from loyalist.tracking import offline_environment

from loyalist.jobs import tune_weights as job

BASE_CONFIGS = default_files()
N_TRIALS = 3


@pytest.fixture
def isolated_mlflow(monkeypatch: pytest.MonkeyPatch):
    """MLflow's process-wide URI and experiment are restored after the test; no network."""
    for key, value in offline_environment().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setattr("mlflow.tracking._tracking_service.utils._tracking_uri", None)
    monkeypatch.setattr("mlflow.tracking.fluent._active_experiment_id", None)
    yield
    while mlflow.active_run() is not None:
        mlflow.end_run()


@pytest.mark.slow  # ~15-20 s: a fresh SQLite MLflow store and ~20 nested runs
def test_tune_weights_job_end_to_end(tmp_path: Path, isolated_mlflow):
    tables = generate(n_customers=800, start="2022-01-01", end="2024-06-30", seed=5, dirty=False,
                      drivers={"complaints": 1.5, "detractor": 0.0}).tables()
    config = LoyalistConfig.model_validate({"training": {"max_cutoffs": 3}, "tracking": {"experiment": "tune-test"}})
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    out_dir = tmp_path / "out"
    result = job.run(
        config, tables, workdir=tmp_path, env={"MLFLOW_TRACKING_URI": uri}, n_trials=N_TRIALS,
        tune_thresholds=True, out_dir=out_dir, min_customers=150,
    )
    assert result.per_industry, "the fixture should tune at least one industry on its own"

    # overlays: one global, one per tuned industry; each loads over the base configs and reproduces "after"
    scopes = ["global", *result.per_industry]
    files = {s: out_dir / job.overlay_filename(s) for s in scopes}
    assert sorted(p.name for p in out_dir.glob("tuned_weights*.yaml")) == sorted(p.name for p in files.values())
    text = files["global"].read_text(encoding="utf-8")
    assert text.startswith("# loyalist tune-weights")
    assert f"before {result.before['roc_auc'].iloc[0]:.4f} -> after {result.after['roc_auc'].iloc[0]:.4f}" in text
    assert read_yaml(files["global"]) == result.overlay()
    for scope, path in files.items():
        res = result if scope == "global" else result.per_industry[scope]
        assert yaml.safe_load(path.read_text(encoding="utf-8")) == res.overlay()
        assert load_config([*BASE_CONFIGS, path]).scoring == res.scoring

    report = pd.read_csv(out_dir / "tuned_weights_report.csv", encoding="utf-8-sig")
    assert list(report.columns) == ["scope", "config", *METRIC_COLUMNS, "valid_cutoff"]
    assert sorted(zip(report["scope"], report["config"])) == sorted((s, c) for s in scopes for c in ("before", "after"))
    after = report.loc[(report["scope"] == "global") & (report["config"] == "after"), "roc_auc"].iloc[0]
    assert after == pytest.approx(result.after["roc_auc"].iloc[0], abs=1e-12)
    assert not list(out_dir.glob(".*.tmp"))  # atomic writes left no temporary file

    # MLflow: the parent run and one nested run per trial (2 stages x scopes)
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("tune-test")
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    parents = [r for r in runs if r.info.run_name == "tune-weights"]
    assert len(parents) == 1
    parent = parents[0]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == len(runs) - 1 == N_TRIALS * 2 * len(scopes)
    assert {r.data.tags["scope"] for r in children} == set(scopes)
    weight_runs = [r for r in children if r.data.tags["stage"] == "weights"]
    assert all("train_auc" in r.data.metrics and "weight.nps" in r.data.params for r in weight_runs)
    assert parent.data.metrics["after.roc_auc"] == pytest.approx(result.after["roc_auc"].iloc[0])
    assert parent.data.metrics["before.roc_auc"] == pytest.approx(result.before["roc_auc"].iloc[0])
    assert parent.data.params["tune_thresholds"] == "True"
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id, "tuning")}
    assert {"tuning/tuned_weights.yaml", "tuning/tuned_weights_report.csv", "tuning/trials.csv"} <= artifacts


@pytest.mark.slow  # two small tuning runs
def test_a_rerun_replaces_the_overlays_as_a_whole(tmp_path: Path, isolated_mlflow):
    # The overlays and the report are one output set: a second run that tunes no industry on its own must not leave
    # the first run's per-industry overlay beside its report (a user adopting tuned_weights_<industry>.yaml would
    # take weights the report no longer shows). The old job wrote each file on its own and removed nothing.
    tables = generate(n_customers=800, start="2022-01-01", end="2024-06-30", seed=5, dirty=False,
                      drivers={"complaints": 1.5, "detractor": 0.0}).tables()
    config = LoyalistConfig.model_validate({"training": {"max_cutoffs": 3}, "tracking": {"experiment": "tune-test"}})
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"}
    out_dir = tmp_path / "out"
    first = job.run(config, tables, workdir=tmp_path, env=env, n_trials=2, out_dir=out_dir, min_customers=150)
    assert first.per_industry and len(list(out_dir.glob("tuned_weights*.yaml"))) == 1 + len(first.per_industry)
    second = job.run(config, tables, workdir=tmp_path, env=env, n_trials=2, out_dir=out_dir, by_industry=False)
    assert not second.per_industry
    assert [p.name for p in out_dir.glob("tuned_weights*.yaml")] == ["tuned_weights.yaml"]
    report = pd.read_csv(out_dir / "tuned_weights_report.csv", encoding="utf-8-sig")
    assert set(report["scope"]) == {"global"}
    assert (out_dir / "tuned_weights.manifest.json").is_file()
