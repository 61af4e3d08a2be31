"""What the scheduled pipeline definitions in the checkout's ``pipelines/`` folder share: their command line, the
dated output folders, and the one-sentence error exit of the ``loyalist`` command.

A pipeline definition is a short script a team schedules and edits (``pipelines/monthly_retrain.py``,
``pipelines/weekly_scoring.py``); it reads its arguments with :func:`parse_args`, calls the jobs of
:mod:`loyalist.jobs` in order, and is started through :func:`main` so bad input ends with one sentence and exit 2.

Each run writes its lists under ``<workdir>/outputs/<cut-off YYYY-MM-DD>/``; :func:`earlier_lists` finds the lists
of earlier cut-offs there, so the next run's report tracks the period (tier migration, win-back, trend) and its
scoring compares against the last list (newly at risk, drift).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from loyalist.errors import LoyalistError
from loyalist.jobs._ui import Reporter

__all__ = ["PipelineArgs", "parse_args", "run_folder", "earlier_lists", "main"]

#: The file each dated run folder holds (written by :func:`loyalist.jobs.score.run_scoring`).
RISK_LIST = "churn_risk.parquet"


@dataclass(frozen=True)
class PipelineArgs:
    """A scheduled run's arguments: the config files (applied in order over the defaults), the project folder
    (data/clean, mlruns, outputs live there), the cut-off (None: the last order date) and the terminal output."""

    config: tuple[Path, ...]
    workdir: Path
    as_of: str | None
    reporter: Reporter
    debug: bool = False

    @property
    def clean_dir(self) -> Path:
        return self.workdir / "data" / "clean"

    @property
    def env(self) -> dict[str, str]:
        """The environment, read here at the edge (the library never reads it)."""
        return dict(os.environ)


def _date(text: str) -> str:
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date written YYYY-MM-DD (for example 2024-12-31).") from None


def parse_args(argv: Sequence[str] | None, description: str | None) -> PipelineArgs:
    """``--config FILE`` (repeatable, required), ``--workdir DIR`` (default .), ``--as-of YYYY-MM-DD``, ``--quiet``,
    ``--debug``."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", "-c", type=Path, action="append", required=True,
                        help="YAML config file with your data sources; repeat to layer files in order.")
    parser.add_argument("--workdir", type=Path, default=Path("."),
                        help="Project folder: data/clean, mlruns and outputs/<cut-off> live here (default: .).")
    parser.add_argument("--as-of", type=_date, default=None, help="Cut-off date (default: the last order date).")
    parser.add_argument("--quiet", action="store_true", help="Print nothing but errors.")
    parser.add_argument("--debug", action="store_true", help="Show full tracebacks instead of one-line errors.")
    args = parser.parse_args(argv)
    return PipelineArgs(tuple(args.config), args.workdir, args.as_of, Reporter(quiet=args.quiet), args.debug)


def run_folder(workdir: Path, as_of: pd.Timestamp) -> Path:
    """``<workdir>/outputs/<cut-off YYYY-MM-DD>``: one folder per scored cut-off."""
    return Path(workdir) / "outputs" / f"{pd.Timestamp(as_of):%Y-%m-%d}"


def earlier_lists(workdir: Path, as_of: pd.Timestamp) -> list[Path]:
    """The risk lists of the dated run folders before ``as_of``, oldest first (empty on the first run)."""
    found = []
    for folder in (Path(workdir) / "outputs").glob("????-??-??"):
        try:
            day = pd.Timestamp(dt.date.fromisoformat(folder.name))
        except ValueError:
            continue
        if day < pd.Timestamp(as_of).normalize() and (folder / RISK_LIST).is_file():
            found.append((day, folder / RISK_LIST))
    return [path for _, path in sorted(found)]


def main(pipeline: Callable[[PipelineArgs], object], description: str | None,
         argv: Sequence[str] | None = None) -> int:
    """Run ``pipeline`` with the parsed arguments. Bad input (a :class:`~loyalist.errors.LoyalistError`) prints one
    sentence and returns its exit code (2), as the ``loyalist`` command does; ``--debug`` raises it instead."""
    args = parse_args(argv, description)
    try:
        pipeline(args)
    except LoyalistError as exc:
        if args.debug:
            raise
        print(f"Error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0
