"""A team's tracking server: MLflow on PostgreSQL, two users training at once, one shared champion, scoring by
``models:/<name>@champion``; the database password never reaches a log, a parameter or an artifact."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _loyalist() -> list[str]:
    exe = shutil.which("loyalist") or str(Path(sys.executable).parent / "loyalist")
    return [exe]


def _env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PGPASSWORD", "MLFLOW_TRACKING_URI")}
    env.update({"MLFLOW_TRACKING_URI": url, "MLFLOW_DISABLE_TELEMETRY": "true",
                "MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK": "true", "OMP_WAIT_POLICY": "passive", "COLUMNS": "160"})
    return env


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    from loyalist.data.synthetic import generate

    folder = tmp_path_factory.mktemp("team-clean")
    data = generate(n_customers=600, seed=11, dirty=False)
    for name, frame in data.tables().items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def test_two_users_train_at_once_and_share_one_champion(mlflow_server, postgres, clean, tmp_path):
    from mlflow import MlflowClient

    url = mlflow_server["url"]
    users = {}
    for user in ("alice", "bob"):
        workdir = tmp_path / user
        workdir.mkdir()
        log = open(workdir / "train.log", "wb")
        users[user] = (subprocess.Popen([*_loyalist(), "train", "--clean", str(clean), "--workdir", str(workdir)],
                                        stdout=log, stderr=subprocess.STDOUT, env=_env(url), cwd=workdir), log)
    for user, (proc, log) in users.items():
        proc.wait(timeout=1500)
        log.close()
        assert proc.returncode == 0, (tmp_path / user / "train.log").read_text(errors="replace")[-3000:]

    client = MlflowClient(url)
    for name in ("loyalist-churn", "loyalist-value"):
        versions = client.search_model_versions(f"name='{name}'")
        assert sorted(int(v.version) for v in versions) == [1, 2], name  # both users' models registered
        for v in versions:  # no run lost: every version's run finished on the server
            assert client.get_run(v.run_id).info.status == "FINISHED"
        champions = [v for v in versions if "champion" in client.get_model_version(name, v.version).aliases]
        assert len(champions) == 1, f"{name}: {len(champions)} champions"

    carol = tmp_path / "carol"
    carol.mkdir()
    scored = subprocess.run([*_loyalist(), "score", "--clean", str(clean), "--out", str(carol / "out"),
                             "--workdir", str(carol)], capture_output=True, text=True, env=_env(url), cwd=carol,
                            timeout=1200)
    assert scored.returncode == 0, scored.stdout[-2000:] + scored.stderr[-2000:]
    summary = json.loads((carol / "out" / "churn_risk_summary.json").read_text())
    champion = client.get_model_version_by_alias("loyalist-churn", "champion")
    assert str(summary["models"]["churn"]["version"]) == str(champion.version)

    # the database password is nowhere: not in the clients' output, the server log, run params, tags or artifacts
    secret = postgres["password"]
    texts = [(tmp_path / u / "train.log").read_text(errors="replace") for u in users]
    texts += [scored.stdout, scored.stderr, mlflow_server["log"].read_text(errors="replace")]
    experiment = client.get_experiment_by_name("loyalist")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) >= 5  # 2 users x (churn + value) + the scoring run
    for r in runs:
        texts.append(json.dumps(r.data.params) + json.dumps(r.data.tags))
    assert all(secret not in t for t in texts)
    for path in Path(mlflow_server["artifacts"]).rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _models(url: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    done = subprocess.run([*_loyalist(), "models", "--workdir", str(tmp_path)], capture_output=True, text=True,
                          env=_env(url), cwd=tmp_path, timeout=300)
    return done, time.monotonic() - started


def test_a_server_that_is_down_is_one_sentence(tmp_path):
    done, _ = _models(f"http://127.0.0.1:{_free_port()}", tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "did not answer" in done.stderr


def test_wrong_database_password_is_one_sentence_without_the_password(postgres, tmp_path):
    url = f"postgresql://loyalist:not-the-password@127.0.0.1:{postgres['port']}/mlflow"
    done, _ = _models(url, tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "not-the-password" not in done.stderr + done.stdout
    assert "password" in done.stderr.lower() or "authentication" in done.stderr.lower()


def test_missing_database_driver_is_one_sentence(postgres, tmp_path):
    done, _ = _models(f"postgresql+pg8000://loyalist@127.0.0.1:{postgres['port']}/mlflow", tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "pg8000" in done.stderr
