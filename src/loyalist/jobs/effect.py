"""Job: the measured effect of a campaign (issue 16 §2). A control assignment (churn_risk_control.parquet written by
'loyalist score') and the clean orders after it -> effect.csv (long table), effect_summary.csv (per group: customers
saved, value kept net of cost, verdict), effect.json and tables on the terminal; and a run in the MLflow experiment
for campaigns (``<tracking.experiment>-campaigns``): params campaign, date, seed, share and horizon, metrics per
action / tier / band, the tables as artifacts and a description in plain words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from loyalist.batch.effect import (
    OUTCOMES,
    action_costs,
    campaign_outcomes,
    effect_summary,
    is_flagged,
    measure_effect,
)
from loyalist.batch.outputs import pseudonym_key
from loyalist.config.models import LoyalistConfig
from loyalist.data.privacy import pseudonymize
from loyalist.errors import CampaignError, DataQualityError, InputFileError
from loyalist.io import output_set, write_csv, write_json
from loyalist.jobs._common import config_tags, start_tracking
from loyalist.jobs._ui import Reporter

__all__ = ["EffectResult", "campaign_experiment", "run"]

#: Metrics logged per group (columns of the effect summary).
_METRICS = ("n_treatment", "n_control", "churn_treatment", "churn_control", "churn_difference", "churn_ci_low",
            "churn_ci_high", "mde", "saved", "saved_low", "saved_high", "revenue_kept", "revenue_kept_low",
            "revenue_kept_high", "cost", "net", "net_low", "net_high")


def campaign_experiment(config: LoyalistConfig) -> str:
    """The MLflow experiment of the effect runs: ``<tracking.experiment>-campaigns``."""
    return f"{config.tracking.experiment}-campaigns"


@dataclass(frozen=True)
class EffectResult:
    table: pd.DataFrame
    paths: dict[str, Path]
    summary: pd.DataFrame | None = None
    meta: dict | None = None
    run_id: str | None = None


def _read_assignment(path: Path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"The campaign assignment {path} does not exist; pass the churn_risk_control.parquet "
                             "(or .csv) that 'loyalist score' wrote beside the list.")
    try:
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path, encoding="utf-8-sig", dtype={"customer_id": "string"},
                               parse_dates=["campaign_date"])
        return pd.read_parquet(path)
    except (ValueError, OSError) as exc:
        raise DataQualityError(f"The campaign assignment {path} cannot be read ({exc}); pass the "
                               "churn_risk_control.parquet (or .csv) that 'loyalist score' wrote.") from exc


def _read_orders(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputFileError(f"{path} does not exist; pass with --clean the folder 'loyalist prepare' wrote (or with "
                             "--orders an orders Parquet file), with orders that run past the campaign date and its "
                             "horizon.")
    import pyarrow.parquet as pq

    names = set(pq.ParquetFile(path).schema_arrow.names)
    return pd.read_parquet(path, columns=[c for c in ("customer_id", "order_date", "amount", "status") if c in names])


def _customer_ids(clean_dir: Path, key: bytes | None) -> set[str] | None:
    """The customer ids of the clean customers table in the published id space, or None without that table."""
    path = Path(clean_dir) / "customers.parquet"
    if not path.is_file():
        return None
    ids = pd.read_parquet(path, columns=["customer_id"])["customer_id"]
    if key is not None:
        ids = pseudonymize(ids, key)
    return set(ids.dropna().astype(str))


def _check_campaign(assignment: pd.DataFrame, path: Path, orders: pd.DataFrame, orders_name: str,
                    customers: set[str] | None) -> None:
    """The campaign file can be measured against these orders: its customers are in the data, each once, it has
    control and treatment customers, its share is in (0, 1), the orders run past its date. Each problem is one
    sentence. 'loyalist uplift' runs the same checks."""
    if "customer_id" in assignment.columns:
        ids = assignment["customer_id"].astype("string").fillna("")
        where = f"the customers table (customers.parquet) or {orders_name}" if customers is not None else orders_name
        known = (customers or set()) | set(orders["customer_id"].dropna().astype(str))
        unknown = ids[~ids.isin(known)]
        if len(unknown):
            raise CampaignError(
                f"The campaign file {path} has {len(unknown):,} of {len(ids):,} customers that are not in {where} "
                f"(e.g. {unknown.iloc[0]!r}); pass the assignment written with this data set's list (same "
                "pseudonymisation key and setting) or the --clean folder it was scored from."
            )
        repeated = ids[ids.duplicated(keep=False)]
        if len(repeated):
            first = repeated.iloc[0]
            raise CampaignError(
                f"The campaign file {path} has customer {first!r} {int((ids == first).sum())} times "
                f"({repeated.nunique():,} customers are on it more than once, {len(repeated):,} rows); a campaign "
                "has one row per customer, and a customer counted twice makes the intervals too narrow: pass one "
                "scoring run's churn_risk_control.parquet, not files appended together (measure each campaign on "
                "its own)."
            )
    if "share" in assignment.columns:
        shares = pd.to_numeric(assignment["share"], errors="coerce")
        bad = shares[~((shares > 0) & (shares < 1))]
        if len(bad):
            raise CampaignError(
                f"The campaign file {path} has a control share of {float(bad.iloc[0]):g} (column 'share'); it must be "
                "strictly between 0 and 1 (0 holds no one out, 1 contacts no one): rescore the list with "
                "scoring_job.control_group.share, e.g. 0.1."
            )
    if "group" in assignment.columns:
        groups = assignment["group"].astype("string")
        for side, other in (("control", "treatment"), ("treatment", "control")):
            if not (groups == side).any():
                raise CampaignError(
                    f"The campaign file {path} has no {side} customers (column 'group' is all {other!r}), so "
                    f"there is nothing to compare the {other} customers with; "
                    + ("rescore the list with scoring_job.control_group.enabled: true and a share such as 0.1."
                       if side == "control" else "pass the assignment of a campaign that contacted customers.")
                )
    if "campaign_date" in assignment.columns and "order_date" in orders.columns:
        day = pd.to_datetime(assignment["campaign_date"], errors="coerce").max()
        when = pd.to_datetime(orders["order_date"], errors="coerce")
        if pd.notna(day) and (when.isna().all() or when.max() <= day.normalize() + pd.Timedelta(days=1)
                              - pd.Timedelta(microseconds=1)):
            last = ("it has no orders" if len(orders) == 0 else "no dates" if when.isna().all()
                    else f"the last on {when.max().date()}")
            raise CampaignError(
                f"The outcomes in {orders_name} are all dated on or before the campaign date {day.date()} of {path} "
                f"({last}); pass orders that run past the campaign and its horizon (a later 'loyalist prepare')."
            )


def run(
    assignment_path: Path,
    clean_dir: Path,
    *,
    config: LoyalistConfig,
    horizon_days: int,
    env: Mapping[str, str] | None = None,
    out_dir: Path = Path("outputs/effect"),
    reporter: Reporter | None = None,
    alpha: float = 0.05,
    workdir: Path | None = None,
    orders: pd.DataFrame | Path | None = None,
) -> EffectResult:
    """Treatment vs control per action, tier and band over ``horizon_days`` after the campaign date.

    The orders' customer ids are pseudonymised with the environment's key when the config pseudonymises ids
    (the assignment carries the published ids). ``orders``: the orders after the campaign (a frame or a Parquet
    file) instead of ``clean_dir``/orders.parquet (e.g. a simulated outcome). With ``workdir`` the run is logged
    to MLflow (the store of ``tracking.tracking_uri``, relative to ``workdir``) in the experiment
    :func:`campaign_experiment`."""
    reporter = reporter or Reporter(quiet=True)
    assignment = _read_assignment(assignment_path)
    frame = orders if isinstance(orders, pd.DataFrame) else _read_orders(
        Path(clean_dir) / "orders.parquet" if orders is None else Path(orders))
    key = pseudonym_key(config.privacy, env or {})
    if key is not None:
        frame = frame.assign(customer_id=pseudonymize(frame["customer_id"], key))
    orders_name = str(Path(clean_dir) / "orders.parquet") if orders is None else (
        "the given orders" if isinstance(orders, pd.DataFrame) else str(orders))
    _check_campaign(assignment, Path(assignment_path), frame, orders_name, _customer_ids(clean_dir, key))
    with reporter.step(f"Measure the effect over {horizon_days} days"):
        outcomes = campaign_outcomes(assignment, frame, horizon_days=horizon_days)
        table = measure_effect(outcomes, alpha=alpha, costs=action_costs(config.scoring_job.actions))
        summary = effect_summary(table, alpha=alpha)
    out_dir = Path(out_dir)
    date = str(pd.Timestamp(pd.to_datetime(assignment["campaign_date"]).iloc[0]).date())
    meta = {"campaign": str(assignment["campaign"].iloc[0]) if "campaign" in assignment else None,
            "campaign_date": date, "horizon_days": int(horizon_days), "alpha": alpha,
            "customers": int(len(assignment)), "outcomes": OUTCOMES,
            "rows": _records(table), "summary": _records(summary)}
    seed, share = (_number(assignment[c].iloc[0]) if c in assignment else None for c in ("seed", "share"))
    meta |= {"seed": None if seed is None else int(seed), "share": share, "assignment": str(assignment_path)}
    run_id = None
    # one output set: the tables and effect.json (which the report reads) are replaced as a whole, or not at all
    with output_set(out_dir, "effect", campaign_date=date) as files:
        staged = {"csv": write_csv(table, files.path("effect.csv")),
                  "summary_csv": write_csv(summary, files.path("effect_summary.csv")),
                  "json": write_json(meta, files.path("effect.json"))}
        if workdir is not None:
            with reporter.step("Log the effect run to MLflow"):
                run_id = _log_run(config, workdir, env, meta, summary, staged)
            meta["run_id"] = run_id
            write_json(meta, files.path("effect.json"))
    paths = {kind: files.target(path.name) for kind, path in staged.items()}
    _print(reporter, table, meta)
    _print_value(reporter, summary, meta)
    short = summary[summary["verdict"] == "no_estimate"]
    if len(short):  # a stratum too small for the share holds out no one: said, not an error (the rest is measured)
        first = short.iloc[0]
        reporter.say(
            f"{len(short):,} group(s) of {assignment_path} have fewer than 2 control (or treatment) customers, so "
            f"their effect has no estimate (e.g. {first['level']} {str(first['group'])!r}: {first['n_treatment']:,} "
            f"treated, {first['n_control']:,} control); hold out a larger share (scoring_job.control_group.share) "
            "or measure them over a larger campaign."
        )
    return EffectResult(table, paths, summary, meta, run_id)


def _number(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)  # type: ignore[arg-type]


def _log_run(config: LoyalistConfig, workdir: Path, env: Mapping[str, str] | None, meta: dict,
             summary: pd.DataFrame, paths: dict[str, Path]) -> str:
    """One MLflow run per measurement in the campaigns' experiment; returns its id."""
    from loyalist.tracking import run

    start_tracking(config, workdir, env, experiment=campaign_experiment(config))
    actions = [str(g) for g in summary.loc[summary["level"] == "action", "group"]]
    with run(f"effect-{meta['campaign']}", tags={"campaign": meta["campaign"], "campaign_date": meta["campaign_date"],
                                                 **config_tags(config)}) as h:
        h.log_params({"campaign": meta["campaign"], "campaign_date": meta["campaign_date"], "seed": meta["seed"],
                      "share": meta["share"], "horizon_days": meta["horizon_days"], "alpha": meta["alpha"],
                      "customers": meta["customers"], "assignment": meta["assignment"],
                      **{f"action.{i}": text for i, text in enumerate(actions, 1)}})
        number = {text: i for i, text in enumerate(actions, 1)}
        metrics: dict[str, float | None] = {}
        for _, row in summary.iterrows():
            level, group = str(row["level"]), str(row["group"])
            prefix = ("all" if level == "all" else f"action.{number[group]}" if level == "action"
                      else f"{level}.{group}")
            metrics |= {f"{prefix}.{m}": _number(row[m]) for m in _METRICS}
            metrics[f"{prefix}.flagged"] = float(is_flagged(row))
        h.log_metrics(metrics)
        for kind in ("csv", "summary_csv", "json"):
            h.log_artifact(paths[kind], "effect")
        h.set_description(_description(meta, summary))
        return h.run_id


def _description(meta: dict, summary: pd.DataFrame) -> str:
    """What an effect run measured, in plain words with its key figures (the run's description in MLflow)."""
    from loyalist.report.summarize_effect import effect_section

    section = effect_section({**meta, "summary": _records(summary)})
    parts = [section["sentence"]["en"]]
    if section["overall"] and section["overall"].get("sentence"):
        parts.append(section["overall"]["sentence"]["en"])
    parts += [a["sentence"]["en"] for a in section["actions"] if a.get("sentence")]
    parts += [f["en"] for f in section["flags"]]
    parts.append("The effect table (effect/effect.csv), the summary per action, tier and band "
                 "(effect/effect_summary.csv) and effect.json are this run's artifacts.")
    return " ".join(parts)


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as plain JSON values (missing -> None)."""
    return [{k: (None if pd.isna(v) else (v.item() if hasattr(v, "item") else v)) for k, v in r.items()}
            for r in frame.to_dict("records")]


def _print_value(reporter: Reporter, summary: pd.DataFrame, meta: dict) -> None:
    def span(row: pd.Series, a: str, lo: str, hi: str) -> str:
        return "—" if pd.isna(row[a]) else f"{row[a]:,.0f} ({row[lo]:,.0f} to {row[hi]:,.0f})"

    reporter.table(
        f"Campaign {meta['campaign']} of {meta['campaign_date']}: customers saved and value kept net of the "
        f"actions' cost over {meta['horizon_days']} days ({1 - meta['alpha']:.0%} interval)",
        ["level", "group", "treated / control", "customers saved", "revenue kept", "cost", "net of cost", "verdict"],
        [[r["level"], str(r["group"])[:40], f"{r['n_treatment']:,} / {r['n_control']:,}",
          span(r, "saved", "saved_low", "saved_high"), span(r, "revenue_kept", "revenue_kept_low", "revenue_kept_high"),
          "—" if pd.isna(r["cost"]) else f"{r['cost']:,.0f}", span(r, "net", "net_low", "net_high"),
          str(r["verdict"]).replace("_", " ")]
         for _, r in summary.iterrows()],
    )


def _fmt(row: pd.Series, scale: float, unit: str) -> list[str]:
    if pd.isna(row["difference"]):
        return ["—", "—", "—", row["note"], "—"]
    return [f"{row['treatment'] * scale:,.1f}{unit}", f"{row['control'] * scale:,.1f}{unit}",
            f"{row['difference'] * scale:+,.1f}{unit} ({row['ci_low'] * scale:+,.1f} to {row['ci_high'] * scale:+,.1f})",
            "yes" if row["large_enough"] else f"no (detects ±{row['mde'] * scale:,.1f}{unit})",
            (f"{-row['total']:,.0f} customers kept ({-row['total_high']:,.0f} to {-row['total_low']:,.0f})"
             if row["outcome"] == "churn"
             else f"{row['total']:+,.0f} ({row['total_low']:+,.0f} to {row['total_high']:+,.0f})")]


def _print(reporter: Reporter, table: pd.DataFrame, meta: dict) -> None:
    for outcome, scale, unit in (("churn", 100.0, " pts"), ("orders", 1.0, ""), ("revenue", 1.0, "")):
        part = table[table["outcome"] == outcome]
        reporter.table(
            f"Campaign {meta['campaign']} of {meta['campaign_date']}: {outcome} over {meta['horizon_days']} days "
            f"(treatment - control, {1 - meta['alpha']:.0%} interval)",
            ["level", "group", "treated / control", "treatment", "control", "difference", "sample large enough",
             "total over the treated"],
            [[r["level"], str(r["group"])[:40], f"{r['n_treatment']:,} / {r['n_control']:,}", *_fmt(r, scale, unit)]
             for _, r in part.iterrows()],
        )
