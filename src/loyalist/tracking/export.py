"""Export a registered model version to a folder that loads without the tracking store.

Layout of ``<out_dir>/<name>/<version>/``: the MLflow model files (``MLmodel``, ``python_model.pkl``,
``artifacts/model.pkl``, ``requirements.txt``, ``input_example.json``, ...; ``mlflow.pyfunc.load_model(path)``
loads it), ``MODEL_CARD.md`` (text given by the caller) and ``registry.json`` (name, version, run id, aliases and
tags at export time). The folder appears whole or not at all: it is written to a temporary sibling and renamed.
"""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import shutil
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException

from loyalist.errors import ConfigError, InputFileError, LoyalistError, RegistryError, StoreError
from loyalist.io import _os_error, check_writable, clean_stale
from loyalist.tracking.pyfunc import LoadedModel
from loyalist.tracking.registry import ModelVersionInfo, version_info

__all__ = ["CARD_FILE", "REGISTRY_FILE", "export_version", "load_exported"]

CARD_FILE = "MODEL_CARD.md"
REGISTRY_FILE = "registry.json"


def _safe_part(value: str, what: str) -> str:
    if not value or value in (".", "..") or "/" in value or "\\" in value:
        raise ConfigError(
            f"The {what} {value!r} cannot name an export folder; expected no '/' or '\\\\' and not '.' or '..'; "
            "rename the registered model."
        )
    return value


def export_version(name: str, version: int, out_dir: Path, *, card: str) -> Path:
    """Write version ``version`` of registered model ``name`` to ``out_dir/<name>/<version>/``; returns that path.

    Parameters
    ----------
    name, version : str, int
        The registered model version (RegistryError when absent).
    out_dir : Path
        The exports root, typically the project's ``models/`` folder.
    card : str
        The model card (Markdown), written as ``MODEL_CARD.md``.

    An existing export of the same version is replaced.
    """
    info = version_info(name, version)
    parent = Path(out_dir) / _safe_part(name, "model name")
    target = parent / str(info.version)
    check_writable(parent, what="the --out folder")
    clean_stale(parent)  # staging folders of exports killed outright
    staging = parent / f".{info.version}.staging-{os.getpid()}-{secrets.token_hex(4)}"
    staging.mkdir()
    try:
        bundle = staging / "bundle"
        try:
            mlflow.artifacts.download_artifacts(artifact_uri=info.uri, dst_path=str(bundle))
        except MlflowException as exc:
            raise _download_error(exc, name, info, parent) from exc
        if not (bundle / "MLmodel").is_file():
            raise RegistryError(
                f"The artifacts of model {name!r} version {info.version} in {mlflow.get_registry_uri()} hold no "
                "'MLmodel' file; expected an MLflow model; log the model again with 'loyalist train'."
            )
        (bundle / CARD_FILE).write_text(card, encoding="utf-8")
        record = {
            "name": info.name,
            "version": info.version,
            "run_id": info.run_id,
            "uri": info.uri,
            "aliases": list(info.aliases),
            "tags": info.tags,
            "created": info.created.isoformat() if info.created is not None else None,
            "registry_uri": mlflow.get_registry_uri(),
        }
        (bundle / REGISTRY_FILE).write_text(json.dumps(record, indent=2, ensure_ascii=False), encoding="utf-8")
        previous = None
        if target.exists():
            previous = staging / "previous"
            target.rename(previous)
        try:
            bundle.rename(target)
        except OSError:
            if previous is not None:
                previous.rename(target)
            raise
    except OSError as exc:
        if isinstance(exc, LoyalistError):
            raise
        raise _os_error(exc, parent, "the --out folder") from exc  # full or read-only while writing the bundle
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


#: Errors of the destination side of a download: the --out folder is at fault, not the store.
_DESTINATION_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)


def _download_error(exc: Exception, name: str, info: ModelVersionInfo, out: Path) -> LoyalistError:
    """One sentence for a failed artifact download. MLflow folds the per-file errors into one message (the OSError
    is not chained), so the errno is read from its text: a full or read-only --out folder is an OutputError,
    anything else a store that cannot be read."""
    codes = [int(n) for n in re.findall(r"\[Errno (\d+)\]", str(exc))]
    for code in codes:
        if code in _DESTINATION_ERRNOS:
            return _os_error(OSError(code, os.strerror(code)), out, "the --out folder")
    detail = next((ln.strip() for ln in str(exc).splitlines()[1:] if ln.strip() and not ln.startswith("#####")),
                  type(exc).__name__)
    return StoreError(
        f"The artifacts of model {name!r} version {info.version} cannot be read from {info.uri} ({detail[:200]}); "
        "check that the store's artifact folder exists and is readable, or train the model again."
    )


def load_exported(path: Path) -> LoadedModel:
    """Load a folder written by :func:`export_version` (no tracking store needed).

    Raises
    ------
    InputFileError
        When ``path`` holds no ``MLmodel`` file.
    """
    folder = Path(path)
    if not (folder / "MLmodel").is_file():
        raise InputFileError(
            f"The folder '{folder}' holds no 'MLmodel' file; expected a model exported by export_version "
            "(models/<name>/<version>/); export the version again."
        )
    record_file = folder / REGISTRY_FILE
    fix = f"export the version again with 'loyalist export' (the bundle '{folder}' is damaged)"
    try:
        record = json.loads(record_file.read_text(encoding="utf-8")) if record_file.is_file() else {}
        if not isinstance(record, dict):
            raise ValueError(f"expected a JSON object, got {type(record).__name__}")
        info = ModelVersionInfo(
            name=str(record.get("name", folder.parent.name)),
            version=int(record.get("version", folder.name if folder.name.isdigit() else 0)),
            run_id=str(record.get("run_id", "")),
            uri=str(folder.resolve().as_uri()),
            aliases=tuple(record.get("aliases", ())),
            tags=dict(record.get("tags", {})),
            created=pd.Timestamp(record["created"]) if record.get("created") else None,
        )
    except (OSError, ValueError, TypeError) as exc:  # JSONDecodeError, UnicodeDecodeError are ValueErrors
        raise InputFileError(f"'{record_file}' cannot be read ({exc}); {fix}.") from exc
    try:
        pyfunc = mlflow.pyfunc.load_model(str(folder))
        model = pyfunc.unwrap_python_model().model
    except Exception as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputFileError(f"The model bundle '{folder}' cannot be loaded ({text[:300]}); {fix}.") from exc
    return LoadedModel(pyfunc=pyfunc, model=model, info=info)
