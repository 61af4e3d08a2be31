"""Performance results of issue 14 in benchmarks/RESULTS.md: one section, new results appended at its end."""

from __future__ import annotations

from pathlib import Path

__all__ = ["SECTION", "record"]

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SECTION = "## Performance on a shared machine (issue 14)"
_INTRO = ("Measured with `python -m benchmarks all --size small|medium|large` (or the single scripts named in each "
          "table). Other work shares this machine: judge CPU seconds, cores used and ratios to a floor measured in "
          "the same run, not wall times; the load average before each run is given.")


def record(text: str, path: Path = RESULTS) -> None:
    """Append ``text`` at the end of the issue-14 section of ``path`` (created at the end of the file if missing),
    so other sections stay where they are."""
    body = path.read_text(encoding="utf-8") if path.exists() else ""
    block = text.rstrip("\n") + "\n"
    if SECTION not in body:
        body = body.rstrip("\n") + f"\n\n{SECTION}\n\n{_INTRO}\n\n{block}"
    else:
        start = body.index(SECTION) + len(SECTION)
        nxt = body.find("\n## ", start)
        end = len(body) if nxt < 0 else nxt + 1
        head, tail = body[:end].rstrip("\n"), body[end:]
        body = f"{head}\n\n{block}" + (f"\n{tail}" if tail else "")
    path.write_text(body, encoding="utf-8")
