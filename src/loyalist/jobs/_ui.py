"""Terminal output for the jobs: a Rich console, step progress, progress bars and tables. Jobs take a
``Reporter``; tests pass ``Reporter(quiet=True)``.

Readable at 80 columns: the timer comes before the (ellipsised) description, so it never falls off the edge, and a
bar is ``description  ━━━━━━━━━━  i/N  elapsed  ETA``. ``quiet`` prints nothing but errors: every step and bar then
also mutes what libraries print on their own (MLflow's "Successfully registered model ..." lines); errors still
reach the command line as exceptions.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column, Table

__all__ = ["Reporter", "truncated_title", "tier_text"]

#: Widest description a bar keeps beside its counts and times (80 columns in all).
_BAR_TEXT = 34


class Reporter:
    """Prints what a job does. ``quiet`` silences everything but errors (tests, scheduled jobs that log
    elsewhere)."""

    def __init__(self, quiet: bool = False, console: Console | None = None) -> None:
        self.quiet = quiet
        self.console = console or Console(stderr=False, highlight=False)

    def say(self, text: str) -> None:
        if not self.quiet:
            self.console.print(text)

    def rule(self, title: str) -> None:
        if not self.quiet:
            self.console.rule(title)

    @contextmanager
    def muted(self) -> Iterator[None]:
        """When quiet, what libraries print to stdout / stderr inside the block goes nowhere."""
        if not self.quiet:
            yield
            return
        with open(os.devnull, "w", encoding="utf-8") as null, redirect_stdout(null), redirect_stderr(null):
            yield

    @contextmanager
    def step(self, description: str) -> Iterator[None]:
        """A spinner with the elapsed time (first, so 80 columns never cut it off) while a step runs; a tick when
        it ends."""
        if self.quiet:
            with self.muted():
                yield
            return
        with Progress(
            SpinnerColumn(), TimeElapsedColumn(), _text_column(),
            console=self.console, transient=True,
        ) as progress:
            progress.add_task(description, total=None)
            yield
        self.console.print(f"[green]✓[/green] {description}")

    @contextmanager
    def bar(self, description: str, total: int | None, unit: str = "") -> Iterator[Callable[..., None]]:
        """A progress bar with the count ``i/N``, the elapsed time and the time remaining; yields
        ``advance(n=1, note=None)`` (``note`` replaces the text after the description, e.g. the cut-off date).
        ``total=None`` counts without a bar or an ETA. The final line says how many were done."""
        if self.quiet:
            with self.muted():
                yield lambda n=1, note=None: None
            return
        short = description if len(description) <= _BAR_TEXT else description[:_BAR_TEXT - 1] + "…"
        columns = [_text_column(_BAR_TEXT), BarColumn(bar_width=16),
                   MofNCompleteColumn(), TimeElapsedColumn()]
        if total is not None:
            columns.append(TimeRemainingColumn(compact=True))
        done = [0]
        with Progress(*columns, console=self.console, transient=True) as progress:
            task = progress.add_task(short, total=total)

            def advance(n: int = 1, note: str | None = None) -> None:
                done[0] += n
                text = short if note is None else f"{short[:_BAR_TEXT - len(note) - 3]}… {note}" \
                    if len(short) + len(note) + 1 > _BAR_TEXT else f"{short} {note}"
                progress.update(task, advance=n, description=text)

            yield advance
        count = f"{done[0]:,}" + (f" of {total:,}" if total is not None else "") + (f" {unit}" if unit else "")
        self.console.print(f"[green]✓[/green] {description} ({count})")

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if self.quiet:
            return
        table = Table(title=title, title_justify="left")
        for i, col in enumerate(columns):  # numbers right, text left (a wrapped reason stays readable)
            numeric = all(isinstance(r[i], (int, float)) or _looks_numeric(r[i]) for r in rows if i < len(r))
            table.add_column(col, justify="right" if i > 0 and numeric else "left")
        for row in rows:
            table.add_row(*[_fmt(v) for v in row])
        self.console.print(table)


def _text_column(width: int | None = None) -> TextColumn:
    """The description column: one line, cut with an ellipsis rather than wrapped or pushing the timer out."""
    return TextColumn("{task.description}", table_column=Column(no_wrap=True, overflow="ellipsis", max_width=width))


def truncated_title(title: str, shown: int, total: int, what: str) -> str:
    """A table title that names what it leaves out: ``'Rejects by rule (10 of 21 rules)'``."""
    return f"{title} ({shown:,} of {total:,} {what})" if shown < total else f"{title} ({total:,} {what})"


def tier_text(tier: Any) -> str:
    """The one tier label of every terminal table: ``'high_risk'`` -> ``'高风险流失 high risk'``."""
    from loyalist.catalogue import TIER_LABELS

    entry = TIER_LABELS.get(str(tier))
    return f"{entry['zh']} {entry['en']}" if entry else str(tier)


def _looks_numeric(value: Any) -> bool:
    text = str(value).strip().rstrip("%")
    return text.replace(",", "").replace(".", "", 1).lstrip("+-").isdigit() or text in ("", "—")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 1 or value == 0 else f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
