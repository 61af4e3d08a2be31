"""Job: snapshot at the cut-off -> rule-based loyalty score and tiers -> loyalty_scores.parquet / .csv."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from loyalist.batch.loyalty import industry_summary, loyalty_table, tier_summary
from loyalist.batch.outputs import protect, pseudonym_key
from loyalist.config.models import LoyalistConfig
from loyalist.config.resolved import config_hash
from loyalist.data.prepare import STREAMED_TABLES, read_clean
from loyalist.data.tables import as_frame
from loyalist.features.cutoffs import resolve_as_of
from loyalist.features.snapshot import build_snapshot
from loyalist.io import output_set, write_csv, write_json, write_parquet
from loyalist.jobs._ui import Reporter, tier_text
from loyalist.scoring.loyalty import LoyaltyScorer

__all__ = ["LoyaltyResult", "run", "score_tables"]


@dataclass(frozen=True)
class LoyaltyResult:
    as_of: pd.Timestamp
    snapshot: pd.DataFrame
    table: pd.DataFrame  # protected (masked / pseudonymised) as written
    tiers: pd.DataFrame
    industries: pd.DataFrame
    paths: dict[str, Path]


def score_tables(
    config: LoyalistConfig, tables: Mapping[str, pd.DataFrame], as_of, reporter: Reporter
) -> tuple[pd.Timestamp, pd.DataFrame, pd.DataFrame]:
    """Snapshot and loyalty table (unprotected) at the resolved cut-off."""
    ts = resolve_as_of(tables, as_of)
    with reporter.step(f"Build the customer snapshot as of {ts.date()}"):
        snapshot = build_snapshot(tables, ts, config.features)
    with reporter.step(f"Score loyalty for {len(snapshot):,} customers"):
        scores = LoyaltyScorer(config.scoring).fit(snapshot).transform(snapshot)
        table = loyalty_table(snapshot, scores, as_frame(tables.get("customers")))
    return ts, snapshot, table


def run(
    config: LoyalistConfig,
    clean_dir: Path,
    as_of=None,
    out_dir: Path = Path("outputs"),
    env: Mapping[str, str] | None = None,
    reporter: Reporter | None = None,
    tables: Mapping[str, pd.DataFrame] | None = None,
) -> LoyaltyResult:
    reporter = reporter or Reporter(quiet=True)
    key = pseudonym_key(config.privacy, env or {})
    if tables is None:  # the snapshot streams the large tables from their Parquet files (see loyalist.jobs.score)
        tables = read_clean(Path(clean_dir), lazy=STREAMED_TABLES)
    ts, snapshot, table = score_tables(config, tables, as_of, reporter)
    published = protect(table, config.privacy, key)
    out_dir = Path(out_dir)
    tiers = tier_summary(table)
    industries = industry_summary(table)
    with output_set(out_dir, "loyalty_scores", as_of=str(ts.date())) as files:  # replaced as a whole
        write_parquet(published, files.path("loyalty_scores.parquet"))
        write_csv(published, files.path("loyalty_scores.csv"))
        write_json({
            "as_of": str(ts.date()), "customers": len(table),
            "tiers": {r.tier: {"customers": int(r.customers), "share": float(r.share)} for r in tiers.itertuples()},
            "preset": config.preset, "config_hash": config_hash(config),
        }, files.path("loyalty_summary.json"))
    paths = {"parquet": files.target("loyalty_scores.parquet"), "csv": files.target("loyalty_scores.csv"),
             "summary": files.target("loyalty_summary.json")}
    _print(reporter, ts, tiers, industries, paths)
    return LoyaltyResult(ts, snapshot, published, tiers, industries, paths)


def _print(reporter: Reporter, ts, tiers: pd.DataFrame, industries: pd.DataFrame, paths: dict[str, Path]) -> None:
    reporter.table(
        f"Loyalty tiers as of {ts.date()}", ["tier", "customers", "share", "mean score"],
        [[tier_text(r.tier), int(r.customers), f"{r.share:.1%}",
          r.mean_score] for r in tiers.itertuples()],
    )
    reporter.table(
        "Mean loyalty score per industry", ["industry", "customers", "mean score", "devoted", "high risk"],
        [[r.industry, int(r.customers), r.mean_score, f"{r.devoted_share:.1%}", f"{r.high_risk_share:.1%}"]
         for r in industries.itertuples()],
    )
    for kind, path in paths.items():
        reporter.say(f"Loyalty scores ({kind}): {path}")
