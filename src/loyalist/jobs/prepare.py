"""Job: load, validate and clean the configured tables; write clean Parquet tables, rejects and a summary."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from loyalist.batch.outputs import pseudonym_key
from loyalist.config.models import LoyalistConfig
from loyalist.config.resolved import RESOLVED_FILE, config_hash, resolved_text
from loyalist.data.clean import CleanResult, extreme_amount_totals, non_product_lines
from loyalist.data.prepare import prepare, protect_clean, write_clean
from loyalist.jobs._ui import Reporter, truncated_title

__all__ = ["run", "time_zone_note"]


def run(
    config: LoyalistConfig, out_dir: Path, reporter: Reporter | None = None, run_date: pd.Timestamp | None = None,
    env: Mapping[str, str] | None = None, layers: Sequence[str] = (),
) -> CleanResult:
    """Clean the configured tables into ``out_dir``, with the resolved config (``resolved_config.yaml``) every
    later step reads from there; ``layers`` names what ``config`` was merged from (for its header).
    ``run_date`` (default: today) and ``env`` (default: the process environment) are read here, at the edge:
    dates after the run date are rejected as impossible; the pseudonymisation key comes from the environment.
    Returns the result as stored (personal columns masked, rejects pseudonymised when configured)."""
    from loyalist.jobs import table_mode

    if table_mode.is_table_mode(config):  # one customer table with a churn flag (issue 15)
        return table_mode.run_prepare(config, out_dir, reporter, run_date=run_date, env=env, layers=layers)
    reporter = reporter or Reporter(quiet=True)
    run_date = pd.Timestamp.now().normalize() if run_date is None else pd.Timestamp(run_date)
    key = pseudonym_key(config.privacy, dict(os.environ) if env is None else env)
    with reporter.step("Load, validate and clean the input tables"):
        result = protect_clean(prepare(config.data, run_date=run_date), config.privacy, key, config.data.cleaning)
    with reporter.step(f"Write clean tables and rejects to {out_dir}"):
        write_clean(result, Path(out_dir), extra={RESOLVED_FILE: resolved_text(config, layers)},
                    sequence=config.data.sequence_orders)
    preset = f"preset {config.preset}" if config.preset else "no preset"
    reporter.say(f"Resolved config ({preset}, hash {config_hash(config)[:12]}): {Path(out_dir) / RESOLVED_FILE}; "
                 "later steps reading this folder use it.")
    s = result.summary
    reporter.table(
        "Rows per table (in = kept + rejected)",
        ["table", "rows in", "kept", "rejected", "changed"],
        [[r.table, int(r.rows_in), int(r.rows_kept), int(r.rows_rejected), int(r.rows_changed)]
         for r in s.itertuples()],
    )
    for r in s.itertuples():
        if isinstance(r.encoding, str):
            reporter.say(f"{r.table}: text decoded as {r.encoding} (confidence {r.encoding_confidence:.2f})")
    time_zone_note(result, config, reporter)
    if config.privacy.raw_pii_in_clean:
        reporter.say("Names and contacts are stored RAW (unmasked) in the clean tables "
                     "(privacy.raw_pii_in_clean: true); keep that folder private.")
    else:
        reporter.say("Names and contacts are stored masked in the clean tables.")
    if key is not None:
        reporter.say("Customer ids in the rejects tables are pseudonymised (privacy.pseudonymize_ids).")
    if len(result.rejects):
        counts = result.rejects.groupby(["table", "rule", "action"]).size().sort_values(ascending=False)
        top = counts.head(10)
        reporter.table(
            truncated_title("Rejects and changes by rule", len(top), len(counts), "rules"),
            ["table", "rule", "action", "rows"],
            [[t, r, a, int(n)] for (t, r, a), n in top.items()],
        )
        _line_level_hint(result, reporter)
        _non_product_note(result, reporter)
        _extreme_amount_note(result, reporter, config.data.cleaning.extreme_quantile)
    return result


def time_zone_note(result: CleanResult, config: LoyalistConfig, reporter: Reporter) -> None:
    """Say which date columns carried a time zone, that it was dropped keeping each value's own wall clock (so
    days and cut-offs are that zone's days: UTC days for a Parquet column stored in UTC), and when one column
    mixes UTC offsets, that its days are the local days of different offsets (summary.csv's ``time_zones``)."""
    if "time_zones" not in result.summary.columns:
        return
    for r in result.summary.itertuples():
        if not isinstance(r.time_zones, str):
            continue
        source = getattr(config.data, str(r.table), None)
        where = ("its SQL query" if source is not None and source.path is None
                 else f"'{source.path}'" if source is not None else "its input")
        for column, zones in json.loads(r.time_zones).items():
            head = f"Note: date column '{column}' of table '{r.table}' ({where})"
            if len(zones) > 1:
                shown = ", ".join(f"{z} on {n:,} value{'s' if n != 1 else ''}"
                                  for z, n in sorted(zones.items(), key=lambda kv: -kv[1]))
                reporter.say(f"{head} mixes UTC offsets ({shown}); each value keeps its own clock time and the "
                             "offset is dropped, so its days are the local days of different offsets, not one "
                             "clock: right for one zone's summer and winter time, not for times from different zones "
                             "(convert the column to one zone before prepare then).")
                continue
            (zone, n), = zones.items()
            offset = zone[:1] in "+-"
            reporter.say(f"{head} carries {'the UTC offset' if offset else 'the time zone'} {zone} ({n:,} value{'s' if n != 1 else ''}); "
                         f"it was dropped and each value keeps its {zone} clock time, so days and cut-offs are "
                         f"{'UTC' if zone in ('UTC', '+00:00') else zone} days. If your business day is another "
                         "zone's, convert the column to that zone's local time before prepare.")


def _extreme_amount_note(result: CleanResult, reporter: Reporter, quantile: float) -> None:
    """Say in money what the extreme-amount cap removed (Online Retail II: 418 wholesale lines, 263,571, 3.0% of
    completed revenue, 410 of them at their product's usual unit price), and how to keep such lines, or how far
    the flagged lines exceed their thresholds."""
    t = extreme_amount_totals(result.rejects)
    orders = result.tables.get("orders")
    if orders is None or not (t["capped_rows"] or t["flagged_rows"]):
        return
    completed = float(orders.loc[orders["status"] == "completed", "amount"].sum())
    if t["capped_rows"]:
        share = t["capped_cut"] / (completed + t["capped_cut"]) if completed + t["capped_cut"] > 0 else 0.0
        reporter.say(f"Note: the extreme-amount cap lowered {int(t['capped_rows']):,} completed order lines to the "
                     f"{quantile} quantile of the amounts before them, removing {t['capped_cut']:,.2f} ({share:.1%} of "
                     "the completed amount before the cap). If such lines are real (a wholesaler's bulk orders), set "
                     "data.cleaning.extreme_amounts: flag to count them in full and mark them (amount_flagged).")
    if t["flagged_rows"]:
        reporter.say(f"Note: {int(t['flagged_rows']):,} completed order lines are above the {quantile} quantile of the "
                     f"amounts before them, by {t['flagged_over']:,.2f} in all; they are counted in full and marked "
                     "(amount_flagged, data.cleaning.extreme_amounts: flag).")


def _non_product_note(result: CleanResult, reporter: Reporter, shown: int = 6) -> None:
    """Say how many order lines, and how much money, the non_product rule set aside, per code (the largest
    first), so a wrong code in data.cleaning.non_product_codes is seen before it costs a product its sales."""
    codes = non_product_lines(result.rejects)
    if codes.empty:
        return
    n, done, cancelled = int(codes["lines"].sum()), float(codes["completed_amount"].sum()), float(
        codes["cancelled_amount"].sum())
    top = ", ".join(f"{r.product_id} {int(r.lines):,} ({r.amount:,.0f})" for r in codes.head(shown).itertuples())
    more = f", {len(codes) - shown} more codes" if len(codes) > shown else ""
    reporter.say(f"Note: {n:,} order lines with non-product codes (data.cleaning.non_product_codes) were set aside as "
                 f"non_product, not purchases: {done:,.2f} on completed lines, {cancelled:,.2f} on cancelled ones; "
                 f"by code, lines (amount): {top}{more}. Remove a code from the list if it is a product.")


def _line_level_hint(result: CleanResult, reporter: Reporter) -> None:
    """An order-line export mapped as orders (no product_id): every line after an invoice's first is dropped as
    ``duplicate_order_id`` (Online Retail II: 72,419 of 106,171 rows), true but silent on the fix; say it when
    such rows are a tenth of the table or more."""
    rows = result.summary.loc[result.summary["table"] == "orders", "rows_in"]
    if rows.empty or "product_id" in result.tables.get("orders", pd.DataFrame()).columns:
        return
    if "order_lines" in result.tables:
        return
    rej = result.rejects
    n = int(((rej["table"] == "orders") & (rej["rule"] == "duplicate_order_id")).sum())
    if n and n >= 0.1 * int(rows.iloc[0]):
        reporter.say(f"Note: {n:,} of {int(rows.iloc[0]):,} order rows repeat an order id with other content and were "
                     "dropped (duplicate_order_id); if the file has one row per order line, map product_id (and "
                     "quantity) in data.orders.columns so the lines are summed into orders.")
