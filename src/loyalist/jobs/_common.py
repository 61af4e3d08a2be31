"""Wiring shared by the jobs: tracking store setup and reading the clean tables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from loyalist.config.models import LoyalistConfig
from loyalist.tracking import end_dead_runs, offline_environment, resolve_tracking_uri, setup_tracking

__all__ = ["start_tracking", "config_tags", "apply_compute", "EVENTS_UNTIL_TAG"]

#: Model-version tag: the newest day of the events a registered model learned from (its training run's data end).
EVENTS_UNTIL_TAG = "loyalist.events_until"


def config_tags(config: LoyalistConfig) -> dict[str, str]:
    """MLflow tags recording the resolved config a run used (its hash, name and preset)."""
    from loyalist.config.resolved import config_hash

    return {"loyalist.config_hash": config_hash(config), "loyalist.config_name": config.name,
            "loyalist.preset": config.preset or ""}


def apply_compute(config: LoyalistConfig) -> None:
    """Apply the ``compute`` block (:mod:`loyalist.compute`): DuckDB's threads, memory limit and spill folder for
    every connection the library opens from now on, numpy's BLAS threads (``compute.blas_threads``), and passive
    OpenMP waiting unless the environment chose
    (``OMP_WAIT_POLICY`` only takes effect before LightGBM loads: the CLI sets it first thing). LightGBM's thread
    count travels with the config to each fit (``compute.lgbm_threads``)."""
    from loyalist.compute import DuckdbSettings, limit_blas_threads, use_compute

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    c = config.compute
    limit_blas_threads(c.blas_threads)
    temp = c.duckdb_temp_directory
    use_compute(duckdb=DuckdbSettings(threads=None if c.duckdb_threads == "auto" else int(c.duckdb_threads),
                                      memory_limit=c.duckdb_memory_limit,
                                      temp_directory=str(temp) if temp is not None else None))


def start_tracking(config: LoyalistConfig, workdir: Path, env: Mapping[str, str] | None,
                   experiment: str | None = None) -> str:
    """Point MLflow at the configured store (``MLFLOW_TRACKING_URI`` wins); a relative SQLite path is taken
    relative to ``workdir``. Applies the offline MLflow settings (no telemetry, no pip dry runs) and the configured
    HTTP timeout and retries unless the environment sets them; marks KILLED the runs of this machine whose process
    died. ``experiment``: the experiment to make active (default: the configured one). Returns the tracking URI."""
    apply_compute(config)  # every tracked job starts here
    tracking = config.tracking
    http = {"MLFLOW_HTTP_REQUEST_TIMEOUT": str(tracking.http_timeout_seconds),
            "MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(tracking.http_max_retries)}
    for key, value in (offline_environment() | http).items():
        os.environ.setdefault(key, value)
    uri = resolve_tracking_uri(tracking.tracking_uri, env or {})
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not Path(uri[len(prefix):]).is_absolute():
        uri = prefix + str((Path(workdir) / uri[len(prefix):]).resolve())
    experiment_id = setup_tracking(uri, experiment or tracking.experiment, artifact_root=None,
                                   connect_timeout=tracking.connect_timeout_seconds)
    end_dead_runs(experiment_id)  # runs of jobs killed outright (SIGKILL) stop showing as RUNNING
    return uri
