"""The scheduled pipeline definitions in ``pipelines/`` run as a team schedules them (``python pipelines/X.py``):
a monthly retrain at an earlier cut-off, then a weekly scoring at the last order date that finds the monthly list
and tracks the period against it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from loyalist.config import DEMO_CONFIG, read_yaml
from loyalist.data.synthetic import generate, write_raw
from loyalist.jobs.schedule import earlier_lists, parse_args, run_folder

REPO = Path(__file__).resolve().parents[2]
PIPELINES = REPO / "pipelines"


def _company(tmp_path: Path, n_customers: int = 500, seed: int = 3) -> Path:
    """Raw files of a synthetic company and a config file pointing at them (what a team writes once)."""
    data = read_yaml(DEMO_CONFIG)
    data["synthetic"].update(n_customers=n_customers, seed=seed)
    syn = data["synthetic"]
    write_raw(generate(n_customers=n_customers, start=syn["start"], end=syn["end"], seed=seed, dirty=syn["dirty"]),
              tmp_path / "raw")
    for source in data["data"].values():
        if isinstance(source, dict) and "path" in source:
            source["path"] = str(tmp_path / "raw" / Path(source["path"]).name)
    config = tmp_path / "company.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return config


def _run(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING")}
    env.update(MLFLOW_DISABLE_TELEMETRY="true", OMP_WAIT_POLICY="passive", COLUMNS="120")
    return subprocess.run([sys.executable, str(PIPELINES / script), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900)


def test_pipeline_folder_holds_only_thin_definitions():
    scripts = sorted(p.name for p in PIPELINES.glob("*.py"))
    assert scripts == ["monthly_retrain.py", "weekly_scoring.py"]
    assert not (PIPELINES / "__init__.py").exists()  # scripts, not an importable top-level package
    for name in scripts:
        lines = (PIPELINES / name).read_text(encoding="utf-8").splitlines()
        assert len(lines) < 60, name
        assert not any("pipelines" in line for line in lines if line.startswith(("import", "from"))), name


@pytest.mark.slow
def test_monthly_retrain_then_weekly_scoring_track_the_period(tmp_path):
    config = _company(tmp_path)
    work = tmp_path / "project"
    monthly = _run("monthly_retrain.py", "--config", str(config), "--workdir", str(work), "--as-of", "2024-09-30",
                   "--quiet", cwd=tmp_path)
    assert monthly.returncode == 0, monthly.stderr[-3000:]
    assert monthly.stdout == ""  # --quiet
    first = work / "outputs" / "2024-09-30"
    assert (first / "churn_risk.parquet").is_file() and (first / "report" / "report_zh.html").is_file()
    assert (work / "mlruns" / "mlflow.db").is_file()

    weekly = _run("weekly_scoring.py", "--config", str(config), "--workdir", str(work), cwd=tmp_path)
    assert weekly.returncode == 0, weekly.stderr[-3000:]
    runs = sorted(p.name for p in (work / "outputs").iterdir())
    assert runs[0] == "2024-09-30" and len(runs) == 2 and runs[1] > "2024-12-01", runs
    second = work / "outputs" / runs[1]
    risk = pd.read_parquet(second / "churn_risk.parquet")
    assert risk["churn_model_version"].astype(str).eq("1").all()  # the monthly champion, no training here
    summary = json.loads((second / "churn_risk_summary.json").read_text(encoding="utf-8"))
    assert summary["newly_at_risk"]["previous_as_of"].startswith("2024-09-30")
    assert (second / "report" / "report_en.html").is_file()


def test_bad_config_is_one_sentence_and_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("features:\n  lookback_days: -5\n", encoding="utf-8")
    result = _run("weekly_scoring.py", "--config", str(bad), "--workdir", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.startswith("Error: ") and "lookback_days" in result.stderr
    assert "Traceback" not in result.stderr


def test_earlier_lists_are_the_dated_runs_before_the_cutoff(tmp_path):
    for day in ("2024-06-30", "2024-03-31", "2024-09-30", "not-a-date"):
        (tmp_path / "outputs" / day).mkdir(parents=True)
        (tmp_path / "outputs" / day / "churn_risk.parquet").write_bytes(b"")
    (tmp_path / "outputs" / "2024-01-31").mkdir()  # no list written there
    found = earlier_lists(tmp_path, pd.Timestamp("2024-09-30"))
    assert [p.parent.name for p in found] == ["2024-03-31", "2024-06-30"]
    assert run_folder(tmp_path, pd.Timestamp("2024-09-30 23:59")) == tmp_path / "outputs" / "2024-09-30"


def test_pipeline_arguments(tmp_path, capsys):
    args = parse_args(["-c", "a.yaml", "--config", "b.yaml", "--as-of", "2024-12-31", "--quiet"], None)
    assert args.config == (Path("a.yaml"), Path("b.yaml")) and args.as_of == "2024-12-31"
    assert args.reporter.quiet and args.clean_dir == Path("data") / "clean"
    with pytest.raises(SystemExit):
        parse_args(["-c", "a.yaml", "--as-of", "31/12/2024"], None)
    assert "YYYY-MM-DD" in capsys.readouterr().err


@pytest.mark.parametrize("script", ["monthly_retrain.py", "weekly_scoring.py"])
def test_pipelines_set_the_commands_environment_before_lightgbm_loads(script):
    """The loyalist command sets OMP_WAIT_POLICY=PASSIVE before LightGBM loads (README, "Threads and memory") and
    quiets MLflow's INFO lines; the cron pipelines imported LightGBM and MLflow without either, so their LightGBM
    threads spun on a shared machine and the log carried 'INFO mlflow.pyfunc: Validating input example ...'."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "MLFLOW_LOGGING_LEVEL")}
    code = ("import os, runpy, sys; runpy.run_path(sys.argv[1], run_name='loaded'); "
            "import lightgbm; print(os.environ.get('OMP_WAIT_POLICY'), os.environ.get('MLFLOW_LOGGING_LEVEL'))")
    out = subprocess.run([sys.executable, "-c", code, str(PIPELINES / script)], env=env, capture_output=True,
                         text=True, check=True, timeout=300).stdout.split()
    assert out == ["PASSIVE", "WARNING"]
