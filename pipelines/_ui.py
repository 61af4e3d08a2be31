"""Terminal output for the jobs: a Rich console, step progress and tables. Jobs take a ``Reporter``; tests pass
``Reporter(quiet=True)``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

__all__ = ["Reporter"]


class Reporter:
    """Prints what a job does. ``quiet`` silences everything (tests, scheduled jobs that log elsewhere)."""

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
    def step(self, description: str) -> Iterator[None]:
        """A spinner with elapsed time while a step runs; a tick when it ends."""
        if self.quiet:
            yield
            return
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
            console=self.console, transient=True,
        ) as progress:
            progress.add_task(description, total=None)
            yield
        self.console.print(f"[green]✓[/green] {description}")

    @contextmanager
    def bar(self, description: str, total: int) -> Iterator[Any]:
        """A progress bar; yields a callable ``advance(n=1)``."""
        if self.quiet:
            yield lambda n=1: None
            return
        with Progress(
            TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(), console=self.console, transient=True,
        ) as progress:
            task = progress.add_task(description, total=total)
            yield lambda n=1: progress.advance(task, n)
        self.console.print(f"[green]✓[/green] {description}")

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if self.quiet:
            return
        table = Table(title=title, title_justify="left")
        for i, col in enumerate(columns):
            table.add_column(col, justify="left" if i == 0 else "right")
        for row in rows:
            table.add_row(*[_fmt(v) for v in row])
        self.console.print(table)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 1 or value == 0 else f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
