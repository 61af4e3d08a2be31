"""Job: export a registered model version (or alias) to models/<name>/<version>/ with its MODEL_CARD.md."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from loyalist.config.models import LoyalistConfig
from loyalist.errors import RegistryError
from loyalist.jobs._common import start_tracking
from loyalist.tracking import ModelVersionInfo, export_version, get_version, read_run_text
from loyalist.tracking.registry import version_info

__all__ = ["run"]


def run(
    config: LoyalistConfig, name: str, version: str, *, out_dir: Path = Path("models"),
    workdir: Path = Path("."), env: Mapping[str, str] | None = None,
) -> Path:
    start_tracking(config, workdir, env)
    info: ModelVersionInfo | None
    if version.isdigit():
        info = version_info(name, int(version))
    else:
        info = get_version(name, version)
        if info is None:
            raise RegistryError(
                f"No model {name!r} with alias {version!r}; list versions with 'loyalist models' or train one with "
                "'loyalist train'."
            )
    card = read_run_text(info.run_id, "MODEL_CARD.md") or (
        f"# Model card: {name} version {info.version}\n\nNo card was logged with this version (run {info.run_id}).\n"
    )
    return export_version(name, info.version, Path(workdir) / out_dir if not Path(out_dir).is_absolute() else out_dir,
                          card=card)
