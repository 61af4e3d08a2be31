"""Threads and memory of the engines loyalist drives: LightGBM (OpenMP) and DuckDB.

The jobs (:mod:`loyalist.jobs`) read the ``compute`` block of the config once and call :func:`use_compute`; the
library then opens every DuckDB connection with :func:`duckdb_config` and resolves LightGBM's thread count with
:func:`lgbm_threads`. Nothing here reads YAML or the environment: the CPU count and the load average describe the
machine, and the settings come from the caller. Without a call to :func:`use_compute` the library behaves as the
defaults say (LightGBM on ``min(2, cores)`` threads, DuckDB on every core with its own memory limit).

Why: on a machine shared with other work, an OpenMP team larger than the free cores waits at every barrier for a
thread that is not running (with spin-waiting, it also burns the cores the others need), so a LightGBM fit ran 6-24x
slower under load. The CLI sets ``OMP_WAIT_POLICY=PASSIVE`` before LightGBM loads (the environment can override it)
and the thread count is a config key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

__all__ = ["DuckdbSettings", "lgbm_threads", "limit_blas_threads", "free_cores", "use_compute", "duckdb_config", "duckdb_settings",
           "MAX_LGBM_AUTO"]

#: ``auto`` never asks for more LightGBM threads than this: beyond 2 the fits of loyalist's data sizes gain little
#: and a shared machine loses more.
MAX_LGBM_AUTO = 2


def _cores() -> int:
    return max(1, os.cpu_count() or 1)


def free_cores() -> int:
    """Cores not busy by the 1-minute load average (at least 1)."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # platforms without a load average
        return _cores()
    return max(1, min(_cores(), int(_cores() - load + 0.5)))


def lgbm_threads(setting: int | str | None = "auto") -> int:
    """LightGBM's ``num_threads`` for a config value: an integer >= 1 as given (capped at the cores), ``"auto"``
    (or None) ``min(2, cores)``, ``"free"`` ``min(2, free cores)`` from the load average at the call."""
    if setting is None or setting == "auto":
        return min(MAX_LGBM_AUTO, _cores())
    if setting == "free":
        return min(MAX_LGBM_AUTO, free_cores())
    if isinstance(setting, bool) or not isinstance(setting, int) or setting < 1:
        raise ValueError(f"LightGBM threads must be an integer >= 1, 'auto' or 'free'; got {setting!r}")
    return min(int(setting), _cores())


def limit_blas_threads(setting: int | str | None) -> int | None:
    """Limit numpy's and scikit-learn's BLAS thread pools for the rest of the process (``threadpoolctl``): an
    integer >= 1 as given (capped at the cores), ``"auto"`` or None leaves the libraries' own count. Returns the
    limit set, or None."""
    if setting is None or setting == "auto":
        return None
    if isinstance(setting, bool) or not isinstance(setting, int) or setting < 1:
        raise ValueError(f"BLAS threads must be an integer >= 1 or 'auto'; got {setting!r}")
    from threadpoolctl import ThreadpoolController

    n = min(int(setting), _cores())
    ThreadpoolController().limit(limits=n, user_api="blas")
    return n


@dataclass(frozen=True)
class DuckdbSettings:
    """DuckDB connection settings: ``threads`` (None: every core), ``memory_limit`` (e.g. ``"1GB"``; None: DuckDB's
    own, 80% of RAM) and ``temp_directory`` (where operators spill beyond the limit; None: DuckDB's own)."""

    threads: int | None = None
    memory_limit: str | None = None
    temp_directory: str | None = None


_DUCKDB = [DuckdbSettings()]


def use_compute(*, duckdb: DuckdbSettings | None = None) -> None:
    """Set the DuckDB settings of every connection the library opens from now on (process-wide)."""
    _DUCKDB[0] = duckdb or DuckdbSettings()


def duckdb_settings() -> DuckdbSettings:
    """The DuckDB settings in use (see :func:`use_compute`)."""
    return _DUCKDB[0]


def duckdb_config(threads: int | None = None) -> dict[str, Any]:
    """The ``config`` argument of ``duckdb.connect``: the settings of :func:`use_compute`; ``threads`` (when given)
    wins over the configured thread count."""
    s = _DUCKDB[0]
    out: dict[str, Any] = {"threads": threads or s.threads or _cores()}
    if s.memory_limit:
        out["memory_limit"] = s.memory_limit
    if s.temp_directory:
        out["temp_directory"] = s.temp_directory
    return out
