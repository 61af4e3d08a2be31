"""The MLflow tracking store and runs: where runs live, and a handle that logs into one run.

The default store is a SQLite database with artifacts in the folder beside it (``sqlite:///<root>/mlruns/mlflow.db``,
artifacts under ``<root>/mlruns/``); the plain-folder store raises since MLflow 3.13. A tracking server is used
instead when the CLI passes its URI (see :func:`resolve_tracking_uri`). Nothing here reads the environment: the
CLI calls :func:`resolve_tracking_uri` with ``os.environ`` and applies :func:`offline_environment` itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar
from urllib.parse import unquote, urlparse

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.data.pandas_dataset import from_pandas  # = mlflow.data.from_pandas, set at run time (unseen by mypy)
from mlflow.entities import DatasetInput, InputTag, Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.types import ColSpec, Schema
from mlflow.types.utils import _infer_schema
from mlflow.utils.time import get_current_time_millis

from loyalist.errors import ConfigError, ModelError, StoreError
from loyalist.io import check_writable, file_lock

__all__ = [
    "RunHandle",
    "data_fingerprint",
    "end_dead_runs",
    "flatten_params",
    "offline_environment",
    "resolve_tracking_uri",
    "run",
    "setup_tracking",
    "sqlite_db_path",
    "store_lock",
]

#: MLflow's limits (``mlflow.utils.validation``): longest param value, params/tags per batch request.
MAX_PARAM_LENGTH = 6000
MAX_TAG_LENGTH = 8000
MAX_INPUT_TAG_LENGTH = 500
_BATCH = 100
_TRUNCATED = "...[truncated]"
#: The run tag the MLflow UI shows (and edits) as the run's description.
DESCRIPTION_TAG = "mlflow.note.content"


# ----------------------------------------------------------------------------------------- the store


def resolve_tracking_uri(configured: str, environ: Mapping[str, str]) -> str:
    """The tracking URI to use: ``MLFLOW_TRACKING_URI`` from ``environ`` when set and not blank, else ``configured``.

    Parameters
    ----------
    configured : str
        The URI from the config (``tracking.tracking_uri``), e.g. ``"sqlite:///mlruns/mlflow.db"``.
    environ : Mapping[str, str]
        The process environment, passed in by the CLI (``os.environ``); the library never reads it itself.
    """
    from_env = environ.get("MLFLOW_TRACKING_URI", "").strip()
    if from_env:
        return from_env
    if not configured or not configured.strip():
        raise ConfigError(
            "The 'tracking.tracking_uri' setting is empty and MLFLOW_TRACKING_URI is not set; expected a URI such "
            "as 'sqlite:///mlruns/mlflow.db'; set one of the two."
        )
    return configured.strip()


#: Experiment tag the MLflow UI reads to choose its layout; ``custom_model_development`` opens on the runs table.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"


def offline_environment() -> dict[str, str]:
    """Environment variables that keep MLflow off the network; the CLI and tests set them before logging.

    ``MLFLOW_DISABLE_TELEMETRY`` stops usage telemetry; ``MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK`` skips the
    ``pip install --dry-run`` check of model requirements; the artifact progress bar is turned off for batch logs.
    """
    return {
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK": "true",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    }


def sqlite_db_path(tracking_uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (relative paths stay relative), or None for any other URI."""
    if not tracking_uri.startswith("sqlite:"):
        return None
    parsed = urlparse(tracking_uri)
    # sqlite:///relative/db -> path "/relative/db"; sqlite:////absolute/db -> path "//absolute/db"
    raw = unquote(parsed.path)
    if raw in ("", "/", "/:memory:"):
        return None
    return Path(raw[1:])


#: The folder whose lock serialises store creation, migrations and promotions (set by :func:`setup_tracking`).
_LOCK: dict[str, Any] = {"path": None, "depth": 0}
_LOCK_GUARD = threading.RLock()


@contextmanager
def store_lock() -> Iterator[None]:
    """Hold the store's lock for the ``with`` block: an ``fcntl`` lock on the SQLite store's folder, so that
    processes on this machine create and migrate the database, and decide promotions, one at a time.

    Re-entrant within a process (a promotion inside a locked block does not wait for itself). Without a SQLite
    store (a tracking server) only the threads of this process are serialised; the server orders its own writes.
    The kernel drops the lock when the process dies, so a killed run never leaves it held.
    """
    with _LOCK_GUARD:
        path = _LOCK["path"]
        if path is None or _LOCK["depth"] or not Path(path).is_dir():
            _LOCK["depth"] += 1
            try:
                yield
            finally:
                _LOCK["depth"] -= 1
            return
        with file_lock(path):
            _LOCK["depth"] += 1
            try:
                yield
            finally:
                _LOCK["depth"] -= 1


def _check_sqlite(db_path: Path) -> None:
    """A one-sentence :class:`StoreError` when ``db_path`` exists but is not a healthy SQLite database."""
    if not db_path.exists() or (db_path.is_file() and db_path.stat().st_size == 0):
        return  # MLflow creates it
    fix = "restore it from a backup, or move it away so that a new store is created"
    if not db_path.is_file():
        raise StoreError(f"The MLflow store '{db_path}' is not a file; {fix}.")
    try:
        with open(db_path, "rb") as fh:
            header = fh.read(16)
    except OSError as exc:
        raise StoreError(f"The MLflow store '{db_path}' cannot be read ({exc.strerror}); fix its permissions.") from exc
    if header != b"SQLite format 3\x00":
        raise StoreError(f"The MLflow store '{db_path}' is not a SQLite database; {fix}.")
    try:
        con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
        try:
            result = con.execute("PRAGMA quick_check(1)").fetchone()
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise StoreError(f"The MLflow store '{db_path}' is damaged ({exc}); {fix}.") from exc
    if not result or result[0] != "ok":
        raise StoreError(f"The MLflow store '{db_path}' is damaged ({result[0] if result else 'no answer'}); {fix}.")


def _check_server(tracking_uri: str, timeout: float) -> None:
    """A one-sentence :class:`StoreError` when the tracking server at an ``http(s)`` URI does not answer within
    ``timeout`` seconds (any HTTP answer counts: the server or a proxy is there)."""
    import urllib.error
    import urllib.request

    url = tracking_uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return
    except urllib.error.HTTPError:
        return
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise StoreError(
            f"The MLflow tracking server {tracking_uri!r} did not answer within {timeout:g} s ({reason}); start it "
            "or fix MLFLOW_TRACKING_URI / 'tracking.tracking_uri'."
        ) from exc


def _store_error(exc: BaseException, tracking_uri: str) -> StoreError:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    db_path = sqlite_db_path(tracking_uri)
    if db_path is not None:
        if "readonly" in text or "read-only" in text or "unable to open" in text:
            return StoreError(
                f"The MLflow store '{db_path}' cannot be written ({text}); make its folder writable or point "
                "'tracking.tracking_uri' elsewhere."
            )
        return StoreError(
            f"The MLflow store '{db_path}' cannot be used ({text}); restore it from a backup, or move it away so "
            "that a new store is created."
        )
    if "Invalid Host header" in text:  # MLflow >= 3.5 answers 403 to a host name not in --allowed-hosts
        host = urlparse(tracking_uri).netloc.rpartition("@")[2] or tracking_uri
        return StoreError(
            f"The MLflow tracking server {_redact(tracking_uri)!r} refuses requests addressed to {host!r} ({text}); "
            f"start 'mlflow server' with --allowed-hosts {host} (the name and port users put in "
            "MLFLOW_TRACKING_URI; docs/team-setup.md)."
        )
    return StoreError(
        f"The MLflow tracking store {tracking_uri!r} failed ({text}); check that the server is up and the URI is "
        "right (MLFLOW_TRACKING_URI / 'tracking.tracking_uri')."
    )


_DATABASE_SCHEMES = ("postgresql", "mysql", "mssql")


def _redact(uri: str) -> str:
    """``uri`` without its password (``postgresql://user:***@host/db``)."""
    parsed = urlparse(uri)
    if parsed.password is None:
        return uri
    netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@", 1)
    return parsed._replace(netloc=netloc).geturl()


def _check_database(tracking_uri: str, timeout: float) -> None:
    """A one-sentence :class:`StoreError` when a database tracking URI (``postgresql://...``) cannot be used: its
    driver is not installed, or the database refuses the connection (down, wrong credentials). The password of
    the URI never appears in the message."""
    import sqlalchemy
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

    parsed = urlparse(tracking_uri)
    scheme = parsed.scheme.split("+")[0]
    shown = _redact(tracking_uri)
    connect_args = {"connect_timeout": max(1, int(timeout))} if scheme in ("postgresql", "mysql") else {}
    try:
        engine = sqlalchemy.create_engine(tracking_uri, connect_args=connect_args)
    except (ImportError, NoSuchModuleError, ArgumentError) as exc:
        driver = (parsed.scheme.split("+")[1] if "+" in parsed.scheme
                  else {"postgresql": "psycopg"}.get(scheme, scheme))
        raise StoreError(
            f"The database driver {driver!r} for the tracking store {shown!r} is not installed; install it "
            f"(e.g. pip install '{'psycopg[binary]' if driver == 'psycopg' else driver}') or change "
            "MLFLOW_TRACKING_URI."
        ) from exc
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        reason = " ".join(str(getattr(exc, "orig", exc)).split())[:200]
        if parsed.password:
            reason = reason.replace(parsed.password, "***")
        raise StoreError(
            f"The tracking database {shown!r} refused the connection ({reason}); check the user and password "
            "(PGPASSWORD or the URI) and that the database is running."
        ) from exc
    finally:
        engine.dispose()


def setup_tracking(
    tracking_uri: str, experiment: str, artifact_root: Path | None = None, *, connect_timeout: float = 5.0,
) -> str:
    """Point MLflow at ``tracking_uri`` and make ``experiment`` the active one; returns its id. Idempotent.

    For a ``sqlite:///`` URI the database folder is created (MLflow creates the tables). The experiment is created
    when absent, with ``artifact_location`` = ``artifact_root`` (default for SQLite: the database's folder, so the
    store is ``<root>/mlruns/mlflow.db`` with artifacts under ``<root>/mlruns/``; for a server: the server's
    default). An experiment that exists keeps its artifact location; a deleted one is restored.

    Store creation, MLflow's schema migrations and the experiment's creation run under :func:`store_lock`, so two
    jobs starting on a fresh store do not race. Faults are one sentence (:class:`~loyalist.errors.StoreError`): a
    file that is not SQLite or is damaged, a store folder that cannot be written, a server that does not answer
    within ``connect_timeout`` seconds.

    Parameters
    ----------
    tracking_uri : str
        ``sqlite:///<path>`` or a server URI (``http(s)://...``, ``databricks``). The plain-folder store
        (a bare path or ``file:``) is rejected: MLflow 3 no longer supports it.
    experiment : str
        Experiment name.
    artifact_root : Path or None
        Folder for the artifacts of a new experiment.
    connect_timeout : float
        Seconds to wait for an ``http(s)`` tracking server to answer before giving up.
    """
    if tracking_uri.startswith("file:") or ("://" not in tracking_uri and tracking_uri != "databricks"):
        raise ConfigError(
            f"The tracking URI {tracking_uri!r} is a plain folder, which MLflow 3 no longer supports as a store; "
            "expected 'sqlite:///<folder>/mlflow.db' or a server URI; change 'tracking.tracking_uri'."
        )
    db_path = sqlite_db_path(tracking_uri)
    if db_path is not None:
        check_writable(db_path.parent, what="the MLflow store folder")
        if artifact_root is None:
            artifact_root = db_path.parent
        _LOCK["path"] = db_path.parent
    else:
        _LOCK["path"] = None
        if tracking_uri.startswith(("http://", "https://")):
            _check_server(tracking_uri, connect_timeout)
        elif urlparse(tracking_uri).scheme.split("+")[0] in _DATABASE_SCHEMES:
            _check_database(tracking_uri, connect_timeout)
    location = None
    if artifact_root is not None:
        artifact_root = Path(artifact_root).resolve()
        check_writable(artifact_root, what="the MLflow artifact folder")
        location = artifact_root.as_uri()

    from sqlalchemy.exc import SQLAlchemyError

    with store_lock():
        if db_path is not None:
            _check_sqlite(db_path)
        try:
            mlflow.set_tracking_uri(tracking_uri)
            client = MlflowClient(tracking_uri)
            found = client.get_experiment_by_name(experiment)
            client.search_registered_models(max_results=1)  # creates the registry's store too, under the lock
            if found is None:
                try:
                    experiment_id = client.create_experiment(experiment, artifact_location=location)
                except MlflowException:  # another user created it in the meantime (a shared server)
                    found = client.get_experiment_by_name(experiment)
                    if found is None:
                        raise
                    experiment_id = found.experiment_id
            else:
                experiment_id = found.experiment_id
                if found.lifecycle_stage == "deleted":
                    client.restore_experiment(experiment_id)
            if found is None or EXPERIMENT_KIND_TAG not in (found.tags or {}):
                # Without it the MLflow 3 UI opens the experiment on its (empty) GenAI traces page, not on runs.
                tag_experiment_kind(client, experiment_id)
        except (MlflowException, SQLAlchemyError, sqlite3.Error) as exc:
            raise _store_error(exc, tracking_uri) from exc
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


T = TypeVar("T")

#: How often a write is tried when a concurrent writer inserted the same row first (see :func:`retry_lost_race`).
RACE_ATTEMPTS = 4


def _lost_race(exc: BaseException) -> bool:
    text = str(exc)
    # an insert that lost to another writer's insert; or an update of a row (an alias) that another writer replaced
    # between the read and the write (SQLAlchemy's StaleDataError, "expected to update 1 row(s); 0 were matched")
    return "duplicate key" in text or "UNIQUE constraint failed" in text or "0 were matched" in text


def retry_lost_race(call: Callable[[], T]) -> T:
    """Run ``call``; when it fails because another job inserted the same row first (PostgreSQL's UniqueViolation,
    SQLite's UNIQUE constraint: two users registering, tagging or logging the same dataset at once), or changed the
    row this write updates (an alias moved by another job between MLflow's read and its update), try again, as
    the row now exists and the write becomes an update or a link. Other failures, or a race lost
    :data:`RACE_ATTEMPTS` times, are raised."""
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.orm.exc import StaleDataError

    for attempt in range(RACE_ATTEMPTS):
        try:
            return call()
        except (MlflowException, IntegrityError, StaleDataError) as exc:
            if attempt == RACE_ATTEMPTS - 1 or not _lost_race(exc):
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")  # the loop returns or raises


def tag_experiment_kind(client: MlflowClient, experiment_id: str) -> None:
    """Set the experiment's kind tag. On a shared server two users starting at once both set it, and the loser's
    insert fails on the tag's primary key (PostgreSQL's UniqueViolation): then the tag is there, which is all this
    asks; any other failure is raised."""
    try:
        client.set_experiment_tag(experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
    except MlflowException:
        if (client.get_experiment(experiment_id).tags or {}).get(EXPERIMENT_KIND_TAG) != EXPERIMENT_KIND:
            raise


def end_dead_runs(experiment_id: str, *, host: str | None = None) -> list[str]:
    """Mark KILLED the runs of ``experiment_id`` still RUNNING whose process (tags ``loyalist.host`` /
    ``loyalist.pid`` written by :func:`run`) no longer exists on this machine; returns their ids.

    A run killed with SIGKILL (or by the machine going down) cannot end itself; the next job cleans it up.
    Runs of other machines and runs without those tags are left alone.
    """
    host = host or socket.gethostname()
    client = MlflowClient()
    dead: list[str] = []
    with store_lock():
        running = client.search_runs(
            [experiment_id], filter_string=f"attributes.status = 'RUNNING' and tags.`loyalist.host` = '{host}'",
            max_results=1000,
        )
        for found in running:
            pid = found.data.tags.get("loyalist.pid", "")
            if not pid.isdigit() or _pid_alive(int(pid)):
                continue
            client.set_terminated(found.info.run_id, status="KILLED")
            dead.append(found.info.run_id)
    return dead


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ------------------------------------------------------------------------------------------ helpers


def _truncate(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - len(_TRUNCATED)] + _TRUNCATED


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple, dict, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return json.dumps(items, default=str, ensure_ascii=False)
    return str(value)


def flatten_params(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Flatten nested mappings into ``{"a.b.c": "value"}``; lists become JSON text, other values ``str()``.

    Empty nested mappings become ``"{}"`` so that the key still shows.
    """
    flat: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten_params(value, prefix=f"{name}."))
        elif isinstance(value, Mapping):
            flat[name] = "{}"
        else:
            flat[name] = _as_text(value)
    return flat


def _plain_config(config: Any) -> dict[str, Any]:
    """A pydantic model (``model_dump(mode="json")``) or a mapping, as a JSON-safe dict."""
    if hasattr(config, "model_dump"):
        return config.model_dump(mode="json")
    if isinstance(config, Mapping):
        return json.loads(json.dumps(dict(config), default=str))
    raise ConfigError(
        f"The config to log must be a mapping or a pydantic model; got {type(config).__name__!r}; pass "
        "the LoyalistConfig or its model_dump()."
    )


#: Rows of a text column looked at to tell a nearly unique column (ids) from a repetitive one (codes, channels).
_DISTINCT_SAMPLE = 10_000


def _column_hashes(series: pd.Series) -> np.ndarray:
    """``pandas.util.hash_pandas_object(series, index=False)`` as uint64, the same values, faster on id columns.

    pandas hashes a text column through its distinct values by default (``categorize=True``): a win for codes
    that repeat, a loss for ids that do not (factorising 3.5 million order ids cost 1.2 of their 1.6 CPU s,
    hashing them directly 0.45). Both give the same hashes for columns without missing values, so the choice,
    made on the first rows, changes the cost only."""
    categorize = True
    if series.dtype.kind in "OSUT" or isinstance(series.dtype, pd.StringDtype):
        head = series.iloc[:_DISTINCT_SAMPLE]
        # a missing value hashes differently on the two paths: direct hashing only for columns without any
        categorize = head.nunique(dropna=False) <= len(head) // 2 or bool(series.isna().any())
    return pd.util.hash_pandas_object(series, index=False, categorize=categorize).to_numpy(dtype=np.uint64)


def row_hashes_of(frame: pd.DataFrame) -> np.ndarray:
    """One uint64 per row, equal to ``pandas.util.hash_pandas_object(frame, index=False)`` (each column hashed by
    :func:`_column_hashes`, then combined as pandas combines them, like a tuple's hash)."""
    out = np.full(len(frame), 0x345678, dtype=np.uint64)
    n = frame.shape[1]
    mult = np.uint64(1000003)
    for i in range(n):
        out ^= _column_hashes(frame.iloc[:, i])
        out *= mult
        mult += np.uint64(82520 + 2 * (n - i))
    out += np.uint64(97531)
    return out


def data_fingerprint(df: pd.DataFrame) -> dict[str, Any]:
    """A small, order-independent fingerprint of a table, to record which data a run saw.

    Parameters
    ----------
    df : pandas.DataFrame
        Any table; a ``customer_id`` column, when present, is counted.

    Returns
    -------
    dict
        ``rows`` (int), ``columns`` (int), ``customers`` (distinct non-null ``customer_id``; only when that column
        exists) and ``sha256``: the first 16 hex digits of the SHA-256 of the sorted column names and the sorted
        row hashes (``pandas.util.hash_pandas_object``, index excluded). Reordering rows or columns keeps it;
        changing a value, a column name or the row count changes it. The index is ignored.
    """
    columns = sorted(map(str, df.columns))
    framed = df.set_axis(list(map(str, df.columns)), axis=1)[columns]
    digest = hashlib.sha256()
    digest.update(json.dumps(columns, ensure_ascii=False).encode("utf-8"))
    if len(framed.columns) and len(framed):
        row_hashes = np.sort(row_hashes_of(framed))
        digest.update(row_hashes.tobytes())
    digest.update(str(len(framed)).encode("ascii"))
    out: dict[str, Any] = {"rows": int(len(df)), "columns": int(df.shape[1])}
    if "customer_id" in df.columns:
        out["customers"] = int(df["customer_id"].nunique(dropna=True))
    out["sha256"] = digest.hexdigest()[:16]
    return out


# --------------------------------------------------------------------------------------------- runs


class RunHandle:
    """Logs into one MLflow run, named by ``run_id`` (safe with nested runs: nothing goes to "the active run").

    Parameters
    ----------
    run_id : str
        The run to log into.
    tracking_uri : str or None
        The store; default: the one set by :func:`setup_tracking`.
    """

    def __init__(self, run_id: str, tracking_uri: str | None = None) -> None:
        self.run_id = run_id
        self.tracking_uri = tracking_uri or mlflow.get_tracking_uri()
        self._client = MlflowClient(self.tracking_uri)

    def __repr__(self) -> str:
        return f"RunHandle(run_id={self.run_id!r})"

    # params, tags, metrics -----------------------------------------------------------------------

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log flat params; values become text, longer than MLflow's 6000 characters are cut with a marker."""
        items = [Param(str(k), _truncate(_as_text(v), MAX_PARAM_LENGTH)) for k, v in params.items()]
        for start in range(0, len(items), _BATCH):
            self._client.log_batch(self.run_id, params=items[start : start + _BATCH])

    def log_config(self, config: Any, artifact_file: str = "config.yaml") -> None:
        """Log a config (mapping or pydantic model) as a YAML/JSON artifact and as flattened params (``a.b.c``)."""
        plain = _plain_config(config)
        self._client.log_dict(self.run_id, plain, artifact_file)
        self.log_params(flatten_params(plain))

    def log_metrics(self, metrics: Mapping[str, Any], prefix: str = "", step: int | None = None) -> None:
        """Log numeric metrics as ``prefix + name`` (e.g. ``prefix="oot."``); None values are skipped.

        The values of one call share one time stamp (MLflow's clock) and are written in batches; ``step`` (default
        0) orders repeated values of a metric.
        """
        numbers: dict[str, float] = {}
        for key, value in metrics.items():
            if value is None:
                continue
            try:
                numbers[f"{prefix}{key}"] = float(value)
            except (TypeError, ValueError) as exc:
                raise ModelError(
                    f"The metric {prefix + str(key)!r} must be a number; got {value!r}; log text with set_tags."
                ) from exc
        # one batch write per 100 metrics instead of a store transaction per metric (a training run logs ~150)
        now = get_current_time_millis()
        items = [Metric(key, number, now, step or 0) for key, number in numbers.items()]
        for start in range(0, len(items), _BATCH):
            self._client.log_batch(self.run_id, metrics=items[start : start + _BATCH])

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set run tags (values as text, cut at MLflow's 8000 characters)."""
        items = [RunTag(str(k), _truncate(_as_text(v), MAX_TAG_LENGTH)) for k, v in tags.items()]
        for start in range(0, len(items), _BATCH):
            self._client.log_batch(self.run_id, tags=items[start : start + _BATCH])

    def set_description(self, text: str) -> None:
        """The run's description in the MLflow UI (the ``mlflow.note.content`` tag): what the run did, in plain
        words; cut at MLflow's 8000 characters."""
        self.set_tags({DESCRIPTION_TAG: text})

    # artifacts -----------------------------------------------------------------------------------

    def log_artifact(self, path: Path | str, artifact_path: str | None = None) -> None:
        """Upload a local file or folder into the run's artifacts (under ``artifact_path`` when given)."""
        local = Path(path)
        if local.is_dir():
            self._client.log_artifacts(self.run_id, str(local), artifact_path)
        else:
            self._client.log_artifact(self.run_id, str(local), artifact_path)

    def log_dict(self, d: Mapping[str, Any], artifact_file: str) -> None:
        """Log a mapping as JSON (``.json``) or YAML (``.yaml``/``.yml``) at ``artifact_file``."""
        self._client.log_dict(self.run_id, json.loads(json.dumps(dict(d), default=str)), artifact_file)

    def log_text(self, text: str, artifact_file: str) -> None:
        """Log text (e.g. a Markdown model card) at ``artifact_file``."""
        self._client.log_text(self.run_id, text, artifact_file)

    def log_table(self, df: pd.DataFrame, artifact_file: str) -> None:
        """Log a table as ``.csv``, ``.parquet`` or ``.json`` (MLflow's table format: columns + data).

        The file is replaced when it exists (MLflow's own ``log_table`` would append to it).
        """
        target = PurePosixPath(artifact_file)
        suffix = target.suffix.lower()
        if suffix not in (".csv", ".parquet", ".json"):
            raise ConfigError(
                f"The table artifact {artifact_file!r} has an unknown extension; expected '.csv', '.parquet' or "
                "'.json'; rename it."
            )
        with tempfile.TemporaryDirectory(prefix="loyalist-table-") as tmp:
            local = Path(tmp) / target.name
            if suffix == ".csv":
                df.to_csv(local, index=False)
            elif suffix == ".parquet":
                df.to_parquet(local, index=False)
            else:
                df.to_json(local, orient="split", index=False, date_format="iso", force_ascii=False)
            parent = str(target.parent) if str(target.parent) != "." else None
            self._client.log_artifact(self.run_id, str(local), parent)

    def log_figure(self, fig: Any, artifact_file: str) -> None:
        """Log a matplotlib figure as an image (``.png``/``.svg``/...) at ``artifact_file``; the figure stays open."""
        self._client.log_figure(self.run_id, fig, artifact_file, save_kwargs={"bbox_inches": "tight"})

    # data ----------------------------------------------------------------------------------------

    def fingerprint(self, df: pd.DataFrame, name: str = "data") -> dict[str, Any]:
        """Compute :func:`data_fingerprint` of ``df`` and record it as run tags ``fingerprint.<name>.<key>``."""
        fp = data_fingerprint(df)
        self.set_tags({f"fingerprint.{name}.{key}": value for key, value in fp.items()})
        return fp

    def log_dataset(self, df: pd.DataFrame, name: str, context: str) -> dict[str, Any]:
        """Log ``df`` as an MLflow dataset input of the run (``mlflow.data.from_pandas``, schema + digest = the
        fingerprint's sha256, no rows)
        with ``context`` (e.g. "training", "validation", "scoring"); its fingerprint goes to the input tags and the
        run tags. Returns the fingerprint."""
        fp = self.fingerprint(df, name)
        tags = [InputTag(f"loyalist.{k}", _truncate(str(v), MAX_INPUT_TAG_LENGTH)) for k, v in fp.items()]
        tags.append(InputTag("mlflow.data.context", context))
        with warnings.catch_warnings():
            # MLflow hints that integer columns cannot hold missing values: irrelevant to a logged dataset schema.
            warnings.filterwarnings("ignore", message=".*integer column", category=UserWarning)
            # The digest is loyalist's fingerprint of every row: MLflow's own maps type() over every cell of the
            # first 10,000 rows in Python (16 CPU s of a 100,000-customer training's four datasets).
            dataset = from_pandas(df, name=name, digest=str(fp["sha256"]))
            # PandasDataset.schema is a cached property; set it so MLflow does not walk every value in Python.
            dataset.__dict__["schema"] = dataset_schema(df)
            # Dataset._to_mlflow_entity is how mlflow.log_input builds the entity; used here to log by run id.
            entity = DatasetInput(dataset=dataset._to_mlflow_entity(), tags=tags)
        # two runs logging the same dataset at once both insert its row; the loser retries and links the row
        retry_lost_race(lambda: self._client.log_inputs(self.run_id, datasets=[entity]))
        return fp


SCHEMA_SAMPLE_ROWS = 1_000


def dataset_schema(df: pd.DataFrame) -> Schema | None:
    """The MLflow schema of ``df``, equal to ``mlflow.types.utils._infer_schema(df)`` (what ``from_pandas`` logs),
    at a fraction of the cost: MLflow tests every value of every column for a missing value in a Python loop
    (about 10 s of CPU for a 120,000-row training table, 7 s still for a 10,000-row sample); here the types come
    from the first :data:`SCHEMA_SAMPLE_ROWS` rows and ``required`` from a vectorised ``isna`` over all rows. Object columns whose
    sample holds only missing values fall back to MLflow's full inference. None when MLflow cannot infer it
    (as ``PandasDataset.schema`` gives)."""
    try:
        sample = _infer_schema(df.head(SCHEMA_SAMPLE_ROWS))
    except Exception:  # PandasDataset.schema also turns any inference failure into None
        return None
    specs: list[Any] = []
    for spec, col in zip(sample.inputs, df.columns, strict=True):
        series = df[col]
        if series.dtype.kind == "O" and len(df) > SCHEMA_SAMPLE_ROWS and series.head(SCHEMA_SAMPLE_ROWS).isna().all():
            try:
                return _infer_schema(df)
            except Exception:  # as above
                return None
        specs.append(ColSpec.from_json_dict(**{**spec.to_dict(), "required": not bool(series.isna().any())}))
    return Schema(specs)


@contextmanager
def run(name: str, *, tags: Mapping[str, Any] | None = None, nested: bool = False) -> Iterator[RunHandle]:
    """Start an MLflow run in the experiment set by :func:`setup_tracking`; ends it FINISHED, FAILED on an error,
    or KILLED when the job is interrupted (Ctrl-C, SIGTERM turned into ``SystemExit`` by the CLI).

    The run is tagged with ``loyalist.host`` and ``loyalist.pid``, so that a run whose process was killed outright
    is marked KILLED by the next job (:func:`end_dead_runs`).

    Parameters
    ----------
    name : str
        Run name (e.g. ``"train-churn"``).
    tags : mapping or None
        Run tags (values as text).
    nested : bool
        Start as a child of the active run.
    """
    if not mlflow.tracking.is_tracking_uri_set():
        raise ConfigError(
            f"The MLflow store for run {name!r} is not set; expected setup_tracking(uri, experiment) first; "
            "call it with the configured tracking URI."
        )
    str_tags = {str(k): _truncate(_as_text(v), MAX_TAG_LENGTH) for k, v in (tags or {}).items()}
    str_tags |= {"loyalist.host": socket.gethostname(), "loyalist.pid": str(os.getpid())}
    try:
        active = mlflow.start_run(run_name=name, nested=nested, tags=str_tags)
    except Exception as exc:
        fault = _store_fault(exc)
        if fault is not None:
            raise fault from exc
        raise
    try:
        yield RunHandle(active.info.run_id, mlflow.get_tracking_uri())
    except (KeyboardInterrupt, SystemExit):
        _end(active.info.run_id, "KILLED")
        raise
    except BaseException as exc:
        _end(active.info.run_id, "FAILED")
        fault = _store_fault(exc) if isinstance(exc, Exception) else None
        if fault is not None:
            raise fault from exc
        raise
    _end(active.info.run_id, "FINISHED")


#: Words of SQLite errors that mean the store's disk or folder, not the job, is at fault.
_STORE_FAULTS = ("database or disk is full", "disk I/O error", "readonly database", "unable to open database file")


def _store_fault(exc: Exception) -> StoreError | None:
    """A one-sentence :class:`StoreError` for a full, read-only or failing store disk met while logging (None for
    any other error, which is the job's own)."""
    text = str(exc)
    if not any(words in text for words in _STORE_FAULTS):
        return None
    found = next(words for words in _STORE_FAULTS if words in text)
    return StoreError(
        f"The MLflow store {mlflow.get_tracking_uri()!r} cannot be written ({found}); free space on its disk or fix "
        "its permissions, then run the job again."
    )


def _end(run_id: str, status: str) -> None:
    """End ``run_id`` (the innermost active run) with ``status``; ending is best effort while an error unwinds."""
    try:
        current = mlflow.active_run()
        if current is not None and current.info.run_id == run_id:
            mlflow.end_run(status)
        else:
            MlflowClient().set_terminated(run_id, status=status)
    except Exception as exc:
        if status != "FINISHED":  # a broken store cannot record the end; the error that stopped the job is reported
            return
        fault = _store_fault(exc)
        if fault is not None:
            raise fault from exc
        raise


def read_run_text(run_id: str, artifact_file: str) -> str | None:
    """The text of one artifact of a run (None when the run has no such artifact)."""
    try:
        return mlflow.artifacts.load_text(f"runs:/{run_id}/{artifact_file}")
    except Exception:
        return None


def read_run_metrics(run_id: str) -> dict[str, float]:
    """The latest value of every metric of a run."""
    return dict(MlflowClient().get_run(run_id).data.metrics)
