"""Where the project's shipped configs live (the repository's configs/ folder)."""

from __future__ import annotations

from pathlib import Path

from loyalist.errors import ConfigError

__all__ = ["configs_dir", "preset_path"]


def configs_dir() -> Path:
    """The ``configs/`` folder of the checkout (loyalist is installed editable from its repository)."""
    folder = Path(__file__).resolve().parents[1] / "configs"
    if not folder.is_dir():
        raise ConfigError(
            f"The configs folder '{folder}' is missing; install loyalist from its repository with "
            "\"pip install -e .\" so the shipped configs are available."
        )
    return folder


def preset_path(name: str) -> Path:
    """The YAML file of industry preset ``name``."""
    folder = configs_dir() / "presets"
    path = folder / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in folder.glob("*.yaml"))
        raise ConfigError(f"Unknown preset {name!r}; expected one of {known} (files in '{folder}').")
    return path
