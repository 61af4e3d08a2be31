"""Concurrent ``loyalist train`` pairs on fresh stores, shared by the CI test and the benchmark.

Each pair starts two ``loyalist train --only churn`` processes at the same moment on a store that does not exist yet
(so both race to create the SQLite database, run MLflow's migrations, create the experiment, register the model
and decide the promotion). :func:`check_pair` says what went wrong, if anything.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

CONFIG = "training: {max_cutoffs: 5}\n"


def write_clean_data(folder: Path, n_customers: int = 600, seed: int = 7) -> Path:
    """A small synthetic company, cleaned and written like 'loyalist prepare' does."""
    from loyalist.config import CleaningConfig
    from loyalist.data.clean import clean_tables
    from loyalist.data.prepare import write_clean
    from loyalist.data.synthetic import generate

    data = generate(n_customers=n_customers, start="2022-01-01", end="2024-12-31", seed=seed, dirty=False)
    write_clean(clean_tables(data.tables(), CleaningConfig()), folder)
    return folder


def run_pair(clean: Path, workdir: Path, config: Path, timeout: float = 1200) -> list[subprocess.CompletedProcess]:
    """Start two trainings on the fresh store under ``workdir`` at once; wait for both."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": "", "MLFLOW_DISABLE_TELEMETRY": "true",
           "MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK": "true", "OMP_WAIT_POLICY": "passive", "COLUMNS": "160"}
    cmd = [sys.executable, "-m", "loyalist.cli", "train", "--clean", str(clean), "--workdir", str(workdir),
           "--only", "churn", "--config", str(config), "--quiet"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=workdir)
             for _ in range(2)]
    done = []
    for proc in procs:
        out, _ = proc.communicate(timeout=timeout)
        done.append(subprocess.CompletedProcess(cmd, proc.returncode, out, ""))
    return done


def check_pair(workdir: Path, done: list[subprocess.CompletedProcess]) -> list[str]:
    """Problems of one pair (empty when both runs succeeded and exactly one champion was decided by the gate)."""
    from mlflow import MlflowClient

    problems = [f"run {i} exit {p.returncode}: {' | '.join(p.stdout.strip().splitlines()[-3:])}"
                for i, p in enumerate(done) if p.returncode != 0]
    problems += [f"run {i} printed a traceback" for i, p in enumerate(done) if "Traceback" in p.stdout]
    if problems:
        return problems
    client = MlflowClient(f"sqlite:///{workdir / 'mlruns' / 'mlflow.db'}")
    versions = client.search_model_versions("name='loyalist-churn'")
    if len(versions) != 2:
        return [f"expected 2 registered versions, found {len(versions)}"]
    aliases = client.get_registered_model("loyalist-churn").aliases or {}
    promoted = sorted(int(v.version) for v in versions if v.tags.get("gate.promoted") == "true")
    no_champion = [int(v.version) for v in versions if "no champion exists" in v.tags.get("gate.reason", "")]
    if "champion" not in aliases:
        problems.append(f"no champion; gate decisions {[v.tags.get('gate.reason') for v in versions]}")
    if len(no_champion) != 1:
        problems.append(f"{len(no_champion)} versions were promoted because 'no champion exists' (expected 1)")
    # Same data, same seed: the second model equals the first, so the gate's rule (beat the champion by more than
    # the margin) keeps the first; exactly one version is promoted and it is the champion.
    if len(promoted) != 1 or int(aliases.get("champion", -1)) != promoted[0]:
        problems.append(f"promoted {promoted}, champion alias {aliases.get('champion')}")
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    states = pd.Series([r.info.status for r in runs]).value_counts().to_dict()
    if set(states) != {"FINISHED"}:
        problems.append(f"run states {states}")
    return problems
