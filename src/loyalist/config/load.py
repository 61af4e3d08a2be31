"""Load YAML configuration files, merge them in order and validate the result.

Later files override earlier ones key by key (mappings merge deeply; lists and scalars replace). Every
validation problem is reported at once, in one :class:`~loyalist.errors.ConfigError` naming the files.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from loyalist.config.models import LoyalistConfig
from loyalist.errors import ConfigError

__all__ = ["deep_merge", "read_yaml", "load_config", "config_from_dict", "config_to_dict"]


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``base`` updated by ``override``; nested mappings merge, everything else replaces."""
    out: dict[str, Any] = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def read_yaml(path: Path) -> dict[str, Any]:
    """Read one YAML mapping; an empty file is an empty mapping."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Config file '{path}' does not exist; pass an existing YAML file.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"Config file '{path}' is not valid YAML: {exc}".replace("\n", " ")) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"Config file '{path}' must hold a mapping at the top level, got {type(data).__name__}.")
    return data


def _format_errors(exc: ValidationError, origin: str) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "<root>"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see configs/base for the allowed keys)"
        parts.append(f"'{loc}': {msg}")
    return f"Invalid configuration ({origin}): " + "; ".join(parts) + "."


def config_from_dict(data: Mapping[str, Any], origin: str = "<dict>") -> LoyalistConfig:
    """Validate a plain mapping into a :class:`LoyalistConfig`, reporting every problem at once."""
    try:
        return LoyalistConfig.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, origin)) from exc


def load_config(paths: Iterable[Path | str] = (), overrides: Mapping[str, Any] | None = None) -> LoyalistConfig:
    """Merge the YAML files in ``paths`` (in order) over the built-in defaults, then ``overrides``.

    Relative ``path`` entries of data sources are resolved against the folder of the file that names them.
    """
    merged: dict[str, Any] = {}
    names = []
    for p in paths:
        p = Path(p)
        data = read_yaml(p)
        _resolve_source_paths(data, p.parent)
        merged = deep_merge(merged, data)
        names.append(str(p))
    if overrides:
        merged = deep_merge(merged, overrides)
        names.append("overrides")
    return config_from_dict(merged, origin=", ".join(names) or "defaults")


def _resolve_source_paths(data: dict[str, Any], folder: Path) -> None:
    sources = data.get("data")
    if not isinstance(sources, dict):
        return
    for table in ("orders", "customers", "tickets", "surveys"):
        src = sources.get(table)
        if isinstance(src, dict) and isinstance(src.get("path"), str):
            path = Path(src["path"]).expanduser()
            if not path.is_absolute():
                src["path"] = str((folder / path).resolve())


def config_to_dict(config: LoyalistConfig) -> dict[str, Any]:
    """The resolved config as plain JSON-able data (for logging to MLflow and reports)."""
    return config.model_dump(mode="json")
