"""Job: the whole product on a synthetic company.

generate -> raw files (CSV in UTF-8 and GB18030, Chinese headers) -> prepare (clean + rejects) -> snapshot at the
last order date -> loyalty score and tiers -> train churn and value models (MLflow, champion gate) -> score the
churn-risk list with the champions -> the loyalty and value report (HTML, zh and en).

The demo also scores an earlier cut-off (the month end ``previous_months`` before the last order date) with the
same champion models, so the first report already tracks a period: tier migration, the win-back rate of the
earlier high-risk customers, the change in the devoted share and the score trend. (A real monthly job passes last
month's list with ``loyalist report --previous``.)

One retention campaign cycle runs on that earlier list (issue 16): its action plan went out on the earlier cut-off
date with a control group held out (``churn_risk_control.parquet`` beside it); the campaign's outcome is simulated
on the orders after that date (:func:`loyalist.data.campaign.plant_effect`: a control customer, not contacted,
loses its orders in the horizon with probability :data:`CAMPAIGN_EFFECT`, so the action keeps treated customers
buying); ``loyalist effect`` measures it (treatment vs control, customers saved, value kept net of cost, an MLflow
run in ``<experiment>-campaigns``), and the first report shows the measured effect. The simulated orders and the
planted truth are written to ``outputs/demo/campaign/``; the clean folder, the models and the current list keep
the generated orders (the simulation only touches a copy, so ``loyalist score --clean`` still gives the demo's
list).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from loyalist.config import DEMO_CONFIG, config_from_dict, deep_merge, read_yaml
from loyalist.config.models import LoyalistConfig
from loyalist.config.resolved import config_for_step
from loyalist.data.synthetic import generate, write_raw
from loyalist.features.cutoffs import resolve_as_of
from loyalist.jobs import effect as effect_job
from loyalist.jobs import loyalty as loyalty_job
from loyalist.jobs import prepare as prepare_job
from loyalist.jobs import report as report_job
from loyalist.jobs import score as score_job
from loyalist.jobs import train as train_job
from loyalist.jobs._ui import Reporter

__all__ = ["CAMPAIGN_EFFECT", "CAMPAIGN_HORIZON_DAYS", "DemoResult", "demo_config", "run"]

#: The demo campaign's planted effect: the probability that a control customer (not contacted) loses the orders
#: it would have placed in the horizon (plant_effect's ``effect``).
CAMPAIGN_EFFECT = 0.2
#: The longest horizon the demo campaign is measured over (shorter when the data end sooner).
CAMPAIGN_HORIZON_DAYS = 90


@dataclass(frozen=True)
class DemoResult:
    config: LoyalistConfig
    raw_dir: Path
    clean_dir: Path
    out_dir: Path
    loyalty: loyalty_job.LoyaltyResult
    models: dict | None = None
    scores: score_job.ScoreJobResult | None = None
    report: dict | None = None
    effect: effect_job.EffectResult | None = None
    campaign_truth: dict | None = None


def demo_config(raw_dir: Path, n_customers: int, seed: int) -> LoyalistConfig:
    """The packaged demo config (``loyalist/config/demo.yaml``) with its source paths rebased onto ``raw_dir``."""
    data = read_yaml(DEMO_CONFIG)
    for source in data.get("data", {}).values():
        if isinstance(source, dict) and "path" in source:
            source["path"] = str(Path(raw_dir) / Path(source["path"]).name)
    data = deep_merge(data, {"synthetic": {"n_customers": n_customers, "seed": seed}})
    return config_from_dict(data, origin=str(DEMO_CONFIG))


def run(
    workdir: Path = Path("."),
    n_customers: int = 5000,
    seed: int = 42,
    env: Mapping[str, str] | None = None,
    reporter: Reporter | None = None,
    train: bool = True,
    previous_months: int = 3,
) -> DemoResult:
    reporter = reporter or Reporter(quiet=True)
    workdir = Path(workdir)
    raw_dir = workdir / "data" / "demo" / "raw"
    clean_dir = workdir / "data" / "demo" / "clean"
    out_dir = workdir / "outputs" / "demo"
    config = demo_config(raw_dir, n_customers, seed)
    syn = config.synthetic

    reporter.rule("loyalist demo")
    with reporter.step(f"Generate a synthetic company: {syn.n_customers:,} customers, {syn.start} .. {syn.end}"):
        data = generate(n_customers=syn.n_customers, start=syn.start, end=syn.end, seed=syn.seed, dirty=syn.dirty)
        files = write_raw(data, raw_dir)
    reporter.say(f"Raw files in {raw_dir}: " + ", ".join(sorted(p.name for p in files.values())))

    clean = prepare_job.run(config, clean_dir, reporter, layers=[str(DEMO_CONFIG)])
    # every later step uses the config stored with the clean tables, as 'loyalist <step> --clean' does
    config = config_for_step(clean_dir).config
    loyalty = loyalty_job.run(
        config, clean_dir, as_of=None, out_dir=out_dir, env=env, reporter=reporter, tables=clean.tables
    )
    if not train:
        return DemoResult(config, raw_dir, clean_dir, out_dir, loyalty)
    reporter.rule("Learn from history")
    models = train_job.run_training(config, clean.tables, workdir=workdir, env=env, reporter=reporter)
    reporter.rule("Score the churn-risk list")
    previous = []
    last = resolve_as_of(clean.tables, None)
    effect, truth = None, None
    if previous_months > 0:
        earlier = (last - pd.DateOffset(months=previous_months)) + pd.offsets.MonthEnd(0)
        with reporter.step(f"Score the earlier cut-off {earlier.date()} too, so the report tracks a period"):
            prev = score_job.run_scoring(config, clean.tables, as_of=earlier, out_dir=out_dir / "previous",
                                         workdir=workdir, env=env, reporter=Reporter(quiet=True))
        previous = [prev.paths["parquet"]]
        reporter.say(f"Earlier list: {prev.paths['parquet']}")
        horizon = min(CAMPAIGN_HORIZON_DAYS, (last.normalize() - earlier.normalize()).days)
        if prev.paths.get("control") is not None and horizon >= 1:
            reporter.rule("Run one retention campaign and measure it")
            effect, truth = _campaign(config, clean.tables, Path(prev.paths["control"]), horizon,
                                      clean_dir=clean_dir, out_dir=out_dir, workdir=workdir, env=env, seed=seed,
                                      reporter=reporter)
    scores = score_job.run_scoring(config, clean.tables, out_dir=out_dir, workdir=workdir, env=env, reporter=reporter,
                                   drift_baseline=previous[0] if previous else None)
    reporter.rule("Write the loyalty and value report")
    report = report_job.run(scores.paths["parquet"], previous=previous, lang="both", formats="html",
                            out_dir=out_dir / "report", clean_dir=clean_dir, reporter=reporter, config=config,
                            effect=effect.paths["json"] if effect is not None else None)
    reporter.say(f"Report: {report['html_zh']} and {report['html_en']}")
    return DemoResult(config, raw_dir, clean_dir, out_dir, loyalty, models, scores, report, effect, truth)


def _campaign(
    config: LoyalistConfig, tables: Mapping, control_path: Path, horizon: int, *, clean_dir: Path, out_dir: Path,
    workdir: Path, env: Mapping[str, str] | None, seed: int, reporter: Reporter,
) -> tuple[effect_job.EffectResult, dict]:
    """The campaign of the earlier list: simulate its outcome on a copy of the orders after its date (written to
    ``out_dir/campaign/``), measure it. Returns the effect result and the planted truth (expected differences
    treatment - control per outcome)."""
    from loyalist.batch.outputs import pseudonym_key
    from loyalist.data.campaign import plant_effect
    from loyalist.data.privacy import pseudonymize
    from loyalist.io import write_json, write_parquet

    assignment = pd.read_parquet(control_path)
    day = pd.Timestamp(assignment["campaign_date"].iloc[0]).date()
    n_control = int((assignment["group"] == "control").sum())
    reporter.say(f"Campaign {assignment['campaign'].iloc[0]} on {day}: {len(assignment) - n_control:,} customers get "
                 f"their action, {n_control:,} are held out as the control group ({control_path.name}).")
    orders = tables["orders"]
    orders = orders if isinstance(orders, pd.DataFrame) else orders.to_pandas()
    key = pseudonym_key(config.privacy, env or {})
    with reporter.step(f"Simulate the campaign's outcome over the {horizon} days after {day}"):
        # the assignment carries the published ids: plant on those, keep the raw ids for the tables
        published = orders.assign(_raw_id=orders["customer_id"],
                                  customer_id=pseudonymize(orders["customer_id"], key) if key else orders["customer_id"])
        planted, truth = plant_effect(published, assignment, horizon_days=horizon, effect=CAMPAIGN_EFFECT, seed=seed)
        after = planted.assign(customer_id=planted["_raw_id"]).drop(columns="_raw_id")
        folder = Path(out_dir) / "campaign"
        write_parquet(after, folder / "orders_after_campaign.parquet")
        write_json({"effect": CAMPAIGN_EFFECT, "horizon_days": horizon, "seed": seed, "truth": truth,
                    "simulation": "loyalist.data.campaign.plant_effect"}, folder / "truth.json")
    effect = effect_job.run(control_path, clean_dir, config=config, horizon_days=horizon, env=env,
                            out_dir=Path(out_dir) / "effect", workdir=workdir, reporter=Reporter(quiet=True),
                            orders=after)
    summary = effect.summary if effect.summary is not None else pd.DataFrame()
    overall = summary.iloc[0] if len(summary) else None
    if overall is not None and pd.notna(overall["churn_difference"]):
        net = (f", {overall['net']:,.0f} kept net of the actions' cost ({overall['cost']:,.0f})"
               if pd.notna(overall["net"]) else "")
        reporter.say(
            f"Measured churn: {overall['churn_treatment']:.1%} treated vs {overall['churn_control']:.1%} control, "
            f"{100 * overall['churn_difference']:+.1f} points (95% CI {100 * overall['churn_ci_low']:+.1f} to "
            f"{100 * overall['churn_ci_high']:+.1f}; planted {100 * truth['churn']:+.1f}); about "
            f"{overall['saved']:,.0f} customers kept{net}.")
        flagged = summary[(summary["level"] == "action") & summary["verdict"].isin(["negative", "inconclusive"])]
        if len(flagged):
            reporter.say(f"{len(flagged)} action(s) flagged negative or inconclusive; see the report's 效果跟踪.")
    reporter.say(f"Effect: {effect.paths['summary_csv']} (MLflow experiment {effect_job.campaign_experiment(config)}); "
                 f"rerun: loyalist effect --assignment {control_path} --clean {clean_dir} --orders "
                 f"{folder / 'orders_after_campaign.parquet'} --horizon-days {horizon} --workdir {workdir}")
    return effect, truth
