"""Jobs of customer-table mode (``customer_table.churn`` set): prepare, train and score on one customer table.

The CLI's prepare / train / score commands call these when the resolved config is in that mode; they wire the
library (:mod:`loyalist.tabular`) to files, the terminal and MLflow, like the other jobs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from loyalist.batch.outputs import pseudonym_key
from loyalist.config.models import LoyalistConfig
from loyalist.config.resolved import RESOLVED_FILE, config_hash, resolved_text
from loyalist.data.clean import CleanResult
from loyalist.data.prepare import protect_clean, write_clean
from loyalist.tabular import TYPES_FILE, prepare_customer_table

from pipelines._ui import Reporter

__all__ = ["run_prepare", "is_table_mode"]


def is_table_mode(config: LoyalistConfig) -> bool:
    """True when the config is in customer-table mode (``customer_table.churn`` names a column)."""
    return config.customer_table.churn is not None


def _types_yaml(types: pd.DataFrame) -> str:
    lines = ["# The column types loyalist inferred; copy the lines to change into your config and edit them:",
             "customer_table:", "  types:"]
    for r in types.itertuples():
        lines.append(f"    {r.column!r}: {r.type}   # {r.why}")
    return "\n".join(lines) + "\n"


def run_prepare(
    config: LoyalistConfig, out_dir: Path, reporter: Reporter | None = None, run_date: pd.Timestamp | None = None,
    env: Mapping[str, str] | None = None, layers: Sequence[str] = (),
) -> CleanResult:
    """Customer-table mode of ``loyalist prepare``: the customers table cleaned and typed into ``out_dir`` with its
    rejects, summary, resolved config and column types (``column_types.csv`` and ``column_types.yaml``, the
    override block to copy)."""
    import os

    reporter = reporter or Reporter(quiet=True)
    run_date = pd.Timestamp.now().normalize() if run_date is None else pd.Timestamp(run_date)
    key = pseudonym_key(config.privacy, dict(os.environ) if env is None else env)
    with reporter.step("Load, clean and type the customer table"):
        prepared = prepare_customer_table(config.data, config.customer_table, run_date=run_date)
        result = protect_clean(prepared.result, config.privacy, key, config.data.cleaning)
    with reporter.step(f"Write the clean customer table and rejects to {out_dir}"):
        extra = {RESOLVED_FILE: resolved_text(config, layers),
                 TYPES_FILE: prepared.types.to_csv(index=False),
                 "column_types.yaml": _types_yaml(prepared.types)}
        write_clean(result, Path(out_dir), extra=extra)
    reporter.say(f"Customer-table mode (churn flag {config.customer_table.churn!r}); resolved config hash "
                 f"{config_hash(config)[:12]}: {Path(out_dir) / RESOLVED_FILE}.")
    s = result.summary
    reporter.table("Rows (in = kept + rejected)", ["table", "rows in", "kept", "rejected", "changed"],
                   [[r.table, int(r.rows_in), int(r.rows_kept), int(r.rows_rejected), int(r.rows_changed)]
                    for r in s.itertuples()])
    t = prepared.types
    reporter.table("Column types (override with customer_table.types; see column_types.yaml)",
                   ["column", "type", "how", "distinct", "missing"],
                   [[r.column, r.type, r.how, int(r.distinct), f"{r.missing_share:.1%}"] for r in t.itertuples()])
    churn = result.tables["customers"]["churn"]
    reporter.say(f"Churn flag: {int(churn.sum())} churned, {int((~churn).sum())} stayed, {int(churn.isna().sum())} "
                 "without a flag (scored, not trained on).")
    if len(result.rejects):
        counts = result.rejects.groupby(["rule", "action"]).size().sort_values(ascending=False)
        reporter.table("Rejects and changes by rule", ["rule", "action", "rows"],
                       [[r, a, int(n)] for (r, a), n in counts.head(10).items()])
    return result
