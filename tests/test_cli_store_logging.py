"""A store failure is one sentence: MLflow's own ERROR line with a traceback (``mlflow.store.db.utils``) is silenced
unless ``--debug`` (bad-input cases fs-full-mlruns-*: the sentence came after a full SQLAlchemy traceback)."""

from __future__ import annotations

import logging

import pytest
from typer.testing import CliRunner

from loyalist.cli import app

STORE_LOGGER = "mlflow.store.db.utils"


@pytest.fixture
def no_report_job(monkeypatch):
    import loyalist.jobs.report

    monkeypatch.setattr(loyalist.jobs.report, "run", lambda *a, **k: None)
    yield
    logging.getLogger(STORE_LOGGER).setLevel(logging.NOTSET)


def _run(tmp_path, *extra):
    args = [*extra, "report", "--scores", str(tmp_path / "s.parquet"), "--out", str(tmp_path / "r"), "--top", "3"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output


def _store_error_is_printed() -> bool:
    import mlflow  # noqa: F401  (its logging set-up runs at import)
    from mlflow.utils.logging_utils import _configure_mlflow_loggers

    _configure_mlflow_loggers("mlflow")  # MLflow's set-up again, as a later import would: the level must survive
    return logging.getLogger(STORE_LOGGER).isEnabledFor(logging.ERROR)


def test_store_error_traceback_of_mlflow_is_silenced_without_debug(no_report_job, tmp_path):
    logging.getLogger(STORE_LOGGER).setLevel(logging.NOTSET)
    assert _store_error_is_printed()  # MLflow's default: the ERROR line and its traceback are printed
    _run(tmp_path)
    assert not _store_error_is_printed()


def test_debug_shows_mlflow_store_errors(no_report_job, tmp_path):
    _run(tmp_path)
    _run(tmp_path, "--debug")
    assert _store_error_is_printed()
