"""Fixtures of the tracking tests: a tiny real model following the loyalist model protocol, its data, and a
temporary MLflow store (SQLite + artifacts) that never leaves ``tmp_path``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pytest

from loyalist.tracking import offline_environment, setup_tracking

from tracking_helpers import make_churn_model, make_frame


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, out-of-time validation) tables."""
    return make_frame(400, seed=1), make_frame(300, seed=2)


@pytest.fixture(scope="module")
def churn_model_factory(frames) -> Callable[..., Any]:
    train, _ = frames
    return lambda informative=True, seed=0: make_churn_model(train, informative=informative, seed=seed)


def _isolate(mp: pytest.MonkeyPatch) -> None:
    """Offline env vars, and MLflow's process-wide URI / experiment restored when the fixture ends."""
    for key, value in offline_environment().items():
        mp.setenv(key, value)
    mp.delenv("MLFLOW_TRACKING_URI", raising=False)
    mp.setattr("mlflow.tracking._tracking_service.utils._tracking_uri", None)
    mp.setattr("mlflow.tracking.fluent._active_experiment_id", None)


@pytest.fixture
def isolated_mlflow(monkeypatch: pytest.MonkeyPatch) -> None:
    _isolate(monkeypatch)


@pytest.fixture(scope="module")
def tracking_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A fresh SQLite store under a temporary root, shared by the tests of one module (creating the tables takes
    a few seconds). Yields root, uri and experiment id."""
    root = tmp_path_factory.mktemp("store")
    with pytest.MonkeyPatch.context() as mp:
        _isolate(mp)
        uri = f"sqlite:///{root / 'mlruns' / 'mlflow.db'}"
        experiment_id = setup_tracking(uri, "loyalist-test", None)
        yield {"root": root, "uri": uri, "experiment_id": experiment_id, "mlruns": root / "mlruns"}
        while mlflow.active_run() is not None:
            mlflow.end_run()


@pytest.fixture
def fresh_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A store of its own for one test (which may delete it)."""
    _isolate(monkeypatch)
    root = tmp_path / "store"
    uri = f"sqlite:///{root / 'mlruns' / 'mlflow.db'}"
    experiment_id = setup_tracking(uri, "loyalist-test", None)
    yield {"root": root, "uri": uri, "experiment_id": experiment_id, "mlruns": root / "mlruns"}
    while mlflow.active_run() is not None:
        mlflow.end_run()
