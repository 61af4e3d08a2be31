"""Export a registered model version to a folder that loads without the tracking store.

Layout of ``<out_dir>/<name>/<version>/``: the MLflow model files (``MLmodel``, ``python_model.pkl``,
``artifacts/model.pkl``, ``requirements.txt``, ``input_example.json``, ...; ``mlflow.pyfunc.load_model(path)``
loads it), ``MODEL_CARD.md`` (text given by the caller) and ``registry.json`` (name, version, run id, aliases and
tags at export time). The folder appears whole or not at all: it is written to a temporary sibling and renamed.
"""

from __future__ import annotations

import json
import shutil
import os
import secrets
from pathlib import Path

import mlflow
import pandas as pd

from loyalist.errors import ConfigError, InputFileError, RegistryError
from loyalist.io import check_writable, clean_stale
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
        mlflow.artifacts.download_artifacts(artifact_uri=info.uri, dst_path=str(bundle))
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
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


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
    except Exception as exc:  # noqa: BLE001 - MLflow, YAML, pickle and import errors of one named folder
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputFileError(f"The model bundle '{folder}' cannot be loaded ({text[:300]}); {fix}.") from exc
    return LoadedModel(pyfunc=pyfunc, model=model, info=info)
