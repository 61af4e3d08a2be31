"""Wiring shared by the jobs: tracking store setup and reading the clean tables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from loyalist.config.models import LoyalistConfig
from loyalist.tracking import offline_environment, resolve_tracking_uri, setup_tracking

__all__ = ["start_tracking"]


def start_tracking(config: LoyalistConfig, workdir: Path, env: Mapping[str, str] | None) -> str:
    """Point MLflow at the configured store (``MLFLOW_TRACKING_URI`` wins); a relative SQLite path is taken
    relative to ``workdir``. Applies the offline MLflow settings (no telemetry, no pip dry runs) unless the
    environment sets them. Returns the tracking URI."""
    for key, value in offline_environment().items():
        os.environ.setdefault(key, value)
    uri = resolve_tracking_uri(config.tracking.tracking_uri, env or {})
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not Path(uri[len(prefix):]).is_absolute():
        uri = prefix + str((Path(workdir) / uri[len(prefix):]).resolve())
    setup_tracking(uri, config.tracking.experiment, artifact_root=None)
    return uri
