"""Job: load, validate and clean the configured tables; write clean Parquet tables, rejects and a summary."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from loyalist.config.models import LoyalistConfig
from loyalist.data.clean import CleanResult
from loyalist.data.prepare import prepare, write_clean

from pipelines._ui import Reporter

__all__ = ["run"]


def run(
    config: LoyalistConfig, out_dir: Path, reporter: Reporter | None = None, run_date: pd.Timestamp | None = None
) -> CleanResult:
    """``run_date`` (default: today, read here at the edge): dates after it are rejected as impossible."""
    reporter = reporter or Reporter(quiet=True)
    run_date = pd.Timestamp.now().normalize() if run_date is None else pd.Timestamp(run_date)
    with reporter.step("Load, validate and clean the input tables"):
        result = prepare(config.data, run_date=run_date)
    with reporter.step(f"Write clean tables and rejects to {out_dir}"):
        write_clean(result, Path(out_dir))
    s = result.summary
    reporter.table(
        "Rows per table (in = kept + rejected)",
        ["table", "rows in", "kept", "rejected", "changed"],
        [[r.table, int(r.rows_in), int(r.rows_kept), int(r.rows_rejected), int(r.rows_changed)]
         for r in s.itertuples()],
    )
    if len(result.rejects):
        top = result.rejects.groupby(["table", "rule", "action"]).size().sort_values(ascending=False).head(10)
        reporter.table(
            "Rejects and changes by rule", ["table", "rule", "action", "rows"],
            [[t, r, a, int(n)] for (t, r, a), n in top.items()],
        )
    return result
