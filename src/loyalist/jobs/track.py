"""Job: compare two scored lists (previous, current) -> tracking.json and the numbers on the terminal."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loyalist.io import write_json
from loyalist.jobs._ui import Reporter, tier_text
from loyalist.report.inputs import read_scored_list
from loyalist.report.tracking import compare_periods

__all__ = ["TrackResult", "run"]


@dataclass(frozen=True)
class TrackResult:
    tracking: dict[str, Any]
    path: Path


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.1%}"


def run(
    previous: Path, current: Path, out_dir: Path = Path("outputs"), reporter: Reporter | None = None
) -> TrackResult:
    """Section 6's numbers (:func:`loyalist.report.tracking.compare_periods`) as tables and ``tracking.json``."""
    reporter = reporter or Reporter(quiet=True)
    with reporter.step(f"Compare {previous} with {current}"):
        result = compare_periods(read_scored_list(previous), read_scored_list(current))
    path = write_json(result, Path(out_dir) / "tracking.json")
    c, wb, v, d = (result["customers"], result["win_back"], result["value_at_risk_recovered"],
                   result["devoted_share"])
    reporter.table(
        f"Tracking {result['previous_as_of']} -> {result['current_as_of']} ({result['days_between']} days)",
        ["measure", "value"],
        [
            ["customers previous / current / in both", f"{c['previous']:,} / {c['current']:,} / {c['both']:,}"],
            ["new / no longer listed", f"{c['new']:,} / {c['gone']:,}"],
            ["previous high-risk customers", wb["previous_high_risk"]],
            ["won back (ordered after the previous as-of)", wb["won_back"]],
            ["win-back rate", _pct(wb["rate"])],
            ["devoted share previous -> current", f"{_pct(d['previous'])} -> {_pct(d['current'])} "
                                                  f"({100 * d['change']:+.1f} pp)"],
            ["at-risk customers now stable or devoted", v["customers"]],
            ["value at risk recovered", "—" if v["value"] is None else f"{v['value']:,.0f} ({_pct(v['share'])})"],
        ],
    )
    migration = result["migration"]
    cols = list(next(iter(migration.values())).keys())
    reporter.table(
        "Tier migration (rows: previous tier, columns: current tier)",
        ["previous \\ current", *[tier_text(k) if k != "gone" else "not listed now" for k in cols]],
        [[tier_text(row) if row != "new" else "new this period", *[vals.get(k, "") for k in cols]]
         for row, vals in migration.items()],
    )
    reporter.say(f"Tracking numbers: {path}")
    return TrackResult(result, path)
