"""The resolved configuration ``loyalist prepare`` stores beside the clean tables, and its hash.

``prepare`` writes ``<clean>/resolved_config.yaml``: every key (defaults + preset + the user's files + overrides),
with a header naming the layers and the hash. Every later step (loyalty, train, score, tune-weights, report) reads
it from the clean folder, so a preset given once to ``prepare`` is used end to end; a step given other config
files layers them over it and names the keys that then differ. Outputs and MLflow runs record the hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from loyalist.config.load import config_to_dict, merge_and_validate, read_yaml, resolve_user_layers, validate_config
from loyalist.config.merge import differing_keys
from loyalist.config.models import LoyalistConfig
from loyalist.errors import ConfigError

__all__ = ["RESOLVED_FILE", "config_hash", "resolved_text", "read_resolved", "StepConfig", "config_for_step"]

#: File name of the resolved config in a clean folder.
RESOLVED_FILE = "resolved_config.yaml"


def config_hash(config: LoyalistConfig) -> str:
    """SHA-256 (hex) of the resolved config's canonical JSON: equal configs, equal hashes."""
    text = json.dumps(config_to_dict(config), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def resolved_text(config: LoyalistConfig, layers: Iterable[str] = ()) -> str:
    """The resolved config as YAML, with a comment header (layers, hash)."""
    names = ["defaults", *layers]
    header = [
        "# The resolved configuration the clean tables beside this file were prepared with (written by",
        "# 'loyalist prepare'; every later step reads it from here). Layers, in order: " + ", ".join(names) + ".",
        f"# config_hash: {config_hash(config)}",
        "# Do not edit: give changes to 'loyalist prepare' (--config / --preset) and prepare again.",
    ]
    body = yaml.safe_dump(config_to_dict(config), sort_keys=False, allow_unicode=True, width=120)
    return "\n".join(header) + "\n" + body


def read_resolved(folder: Path | str) -> LoyalistConfig | None:
    """The resolved config stored in clean folder ``folder``; None when the folder holds none."""
    path = Path(folder) / RESOLVED_FILE
    if not path.is_file():
        return None
    try:
        return validate_config(read_yaml(path), origin=str(path))
    except ConfigError as exc:
        raise ConfigError(f"{exc} The clean folder was prepared by another version or the file was edited; run "
                          "'loyalist prepare' again.") from exc


@dataclass(frozen=True)
class StepConfig:
    """The config a step runs with, and how it relates to the one its data was prepared with."""

    config: LoyalistConfig
    hash: str
    prepared_hash: str | None = None  # None: the clean folder holds no resolved config
    differs: tuple[str, ...] = ()  # dotted keys that differ from the prepared config
    notes: tuple[str, ...] = field(default_factory=tuple)

    def record(self) -> dict[str, Any]:
        """What outputs and MLflow runs record."""
        return {"config_hash": self.hash, "prepared_config_hash": self.prepared_hash,
                "config_differs_from_prepared": list(self.differs)}

    def tags(self) -> dict[str, str]:
        """MLflow tags."""
        return {"loyalist.config_hash": self.hash, "loyalist.prepared_config_hash": self.prepared_hash or "",
                "loyalist.config_name": self.config.name, "loyalist.preset": self.config.preset or ""}


def config_for_step(
    clean_dir: Path | str | None,
    paths: Iterable[Path | str] = (),
    preset: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> StepConfig:
    """The config of a step that reads clean folder ``clean_dir``.

    Without files, preset or overrides: the config the folder was prepared with. With them: they are layered over
    it (a preset under the files), and the keys that then differ are named in ``notes``. A folder without a
    resolved config (or no folder) falls back to the defaults + preset + files, with a note.
    """
    paths = list(paths)
    prepared = read_resolved(clean_dir) if clean_dir is not None and Path(clean_dir).is_dir() else None
    if prepared is None:
        from loyalist.config.load import load_config

        config = load_config(paths, overrides=overrides, preset=preset)
        missing: tuple[str, ...] = ()
        if clean_dir is not None and Path(clean_dir).is_dir():
            missing = (f"'{clean_dir}' holds no {RESOLVED_FILE}: this step uses the defaults and the config given to "
                     "it, which may differ from the one the data was cleaned with; run 'loyalist prepare' again to "
                     "record it.",)
        return StepConfig(config, config_hash(config), None, (), missing)
    prepared_hash = config_hash(prepared)
    if not paths and preset is None and not overrides:
        return StepConfig(prepared, prepared_hash, prepared_hash)
    layers, names, user = resolve_user_layers(paths, preset=preset, overrides=overrides)
    base = config_to_dict(prepared)
    config = merge_and_validate(base, layers, f"{clean_dir}/{RESOLVED_FILE}, " + ", ".join(names), user=user)
    differs = tuple(differing_keys(base, config_to_dict(config)))
    notes: tuple[str, ...] = ()
    if differs:
        shown = ", ".join(differs[:8]) + (f" and {len(differs) - 8} more" if len(differs) > 8 else "")
        notes = (f"The config given to this step differs from the one '{clean_dir}' was prepared with "
                 f"({RESOLVED_FILE}, hash {prepared_hash[:12]}) in {len(differs)} key(s): {shown}. This step uses "
                 "the given values; to use them end to end give them to 'loyalist prepare' instead.",)
    return StepConfig(config, config_hash(config), prepared_hash, differs, notes)
