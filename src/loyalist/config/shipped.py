"""The configuration shipped inside the package: the defaults, the industry presets and the demo's config.

``defaults/*.yaml`` are THE defaults of every key (one file per concern, each value documented); the typed
models in :mod:`loyalist.config.models` hold no default values of their own but fill each block from here.
``presets/<name>.yaml`` hold only the keys an industry changes. These are package data (found through
:mod:`importlib.resources`), so a wheel or a non-editable install works like a checkout.
"""

from __future__ import annotations

import copy
import functools
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from loyalist.config.merge import deep_merge
from loyalist.errors import ConfigError

__all__ = ["DEFAULTS_DIR", "PRESETS_DIR", "DEMO_CONFIG", "defaults", "section_defaults", "preset_names",
           "preset_path", "default_files"]

_ROOT = Path(str(resources.files("loyalist.config")))
#: The folder of the default files (one per concern).
DEFAULTS_DIR: Path = _ROOT / "defaults"
#: The folder of the industry presets.
PRESETS_DIR: Path = _ROOT / "presets"
#: The demo company's config (column mappings of the synthetic raw files).
DEMO_CONFIG: Path = _ROOT / "demo.yaml"


def default_files() -> list[Path]:
    """The default files, in name order."""
    return sorted(DEFAULTS_DIR.glob("*.yaml"))


@functools.cache
def _defaults() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    seen: dict[str, Path] = {}
    for path in default_files():
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key in data:  # one concern per file: two files setting the same top-level key is a packaging bug
            if key in seen:
                raise ConfigError(f"The default files '{seen[key]}' and '{path}' both set {key!r}; keep it in one.")
            seen[key] = path
        merged = deep_merge(merged, data)
    return merged


def defaults() -> dict[str, Any]:
    """Every default value as plain data (a fresh copy)."""
    return copy.deepcopy(_defaults())


def section_defaults(section: tuple[str, ...]) -> dict[str, Any]:
    """The defaults of one block, e.g. ``("data", "cleaning")`` (a fresh copy; empty when the block has none)."""
    node: Any = _defaults()
    for key in section:
        node = node.get(key) if isinstance(node, dict) else None
    return copy.deepcopy(node) if isinstance(node, dict) else {}


def preset_names() -> list[str]:
    """Names of the shipped industry presets."""
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))


def preset_path(name: str) -> Path:
    """The YAML file of industry preset ``name``."""
    path = PRESETS_DIR / f"{name}.yaml"
    if not isinstance(name, str) or "/" in name or "\\" in name or not path.is_file():
        import difflib

        known = preset_names()
        close = difflib.get_close_matches(str(name), known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(f"Unknown preset {name!r}; {hint}expected one of {known}.")
    return path
