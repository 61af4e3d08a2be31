"""The ``loyalist`` command. Each command reads config, then calls one job in ``pipelines/``.

A problem the user can fix (a :class:`~loyalist.errors.LoyalistError`) is printed as one sentence with exit code 2;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from loyalist.errors import LoyalistError

__all__ = ["app", "main"]

app = typer.Typer(
    name="loyalist",
    help="Customer loyalty, churn risk and customer value: rule score, models, scoring lists and reports.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

_STATE: dict[str, Any] = {"debug": False}

F = TypeVar("F", bound=Callable[..., Any])

ConfigOpt = Annotated[
    list[Path] | None,
    typer.Option("--config", "-c", help="YAML config file(s), applied in order over the defaults."),
]
PresetOpt = Annotated[
    str | None,
    typer.Option("--preset", help="Industry preset from configs/presets (e.g. manufacturing, retail)."),
]


def _friendly(func: F) -> F:
    """Turn a LoyalistError into one printed sentence and exit code 2 (unless --debug)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LoyalistError as exc:
            if _STATE["debug"]:
                raise
            typer.secho(f"Error: {exc}", fg=typer.colors.RED, err=True)
            raise typer.Exit(code=exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks instead of one-line errors.")] = False,
) -> None:
    _STATE["debug"] = debug


def _load(config: list[Path] | None, preset: str | None = None, overrides: dict | None = None):
    from pipelines._paths import preset_path

    from loyalist.config import load_config

    paths: list[Path] = []
    if preset:
        paths.append(preset_path(preset))
    paths.extend(config or [])
    return load_config(paths, overrides=overrides)


def _env() -> dict[str, str]:
    """The environment, read once here at the edge (the library never reads it)."""
    return dict(os.environ)


@app.command()
@_friendly
def demo(
    workdir: Annotated[Path, typer.Option(help="Folder for data/demo, outputs/demo and mlruns.")] = Path("."),
    customers: Annotated[int, typer.Option(help="Synthetic customers to generate.")] = 5000,
    seed: Annotated[int, typer.Option(help="Random seed of the generator.")] = 42,
    quiet: Annotated[bool, typer.Option(help="Print nothing but errors.")] = False,
) -> None:
    """Generate a synthetic company, clean it, build the snapshot and score loyalty end to end."""
    from pipelines import demo as job
    from pipelines._ui import Reporter

    job.run(workdir=workdir, n_customers=customers, seed=seed, env=_env(), reporter=Reporter(quiet=quiet))


@app.command()
@_friendly
def prepare(
    config: ConfigOpt = None,
    out: Annotated[Path, typer.Option(help="Folder for the clean tables and rejects.")] = Path("data/clean"),
    quiet: Annotated[bool, typer.Option(help="Print nothing but errors.")] = False,
) -> None:
    """Load, validate and clean the configured tables; write clean Parquet tables and the rejects table."""
    from pipelines import prepare as job
    from pipelines._ui import Reporter

    cfg = _load(config)
    job.run(cfg, out_dir=out, reporter=Reporter(quiet=quiet))


@app.command()
@_friendly
def loyalty(
    config: ConfigOpt = None,
    preset: PresetOpt = None,
    clean: Annotated[Path, typer.Option(help="Folder of clean tables written by 'loyalist prepare'.")] = Path(
        "data/clean"
    ),
    as_of: Annotated[str | None, typer.Option(help="Cut-off date (default: the last order date).")] = None,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("outputs"),
    quiet: Annotated[bool, typer.Option(help="Print nothing but errors.")] = False,
) -> None:
    """Build the snapshot at the cut-off and write the rule-based loyalty score and tier of every customer."""
    from pipelines import loyalty as job
    from pipelines._ui import Reporter

    cfg = _load(config, preset)
    job.run(cfg, clean_dir=clean, as_of=as_of, out_dir=out, env=_env(), reporter=Reporter(quiet=quiet))


def main() -> None:  # pragma: no cover - console entry point
    app(prog_name="loyalist")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
