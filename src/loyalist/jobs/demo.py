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
on the orders after that date with heterogeneous effects (:func:`loyalist.data.campaign.simulate_uplift_campaign`:
customers who stay only if contacted, who stay anyway, who leave anyway and who leave because they were
contacted) into ``data/demo/after_campaign/`` (a copy of the clean folder with the orders of the world with the
campaign; the per-customer truth in ``outputs/demo/campaign/``); ``loyalist effect`` measures it (treatment vs
control, customers saved, value kept net of cost, an MLflow run in ``<experiment>-campaigns``); ``loyalist
uplift`` learns an uplift model from it for the next plan; and the first report shows the measured effect. The
clean folder, the churn and value models and the current list keep the generated orders (the simulation only
touches the copy, so ``loyalist score --clean data/demo/clean`` still gives the demo's list).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from loyalist.config import DEMO_CONFIG, config_from_dict, deep_merge, read_yaml
from loyalist.config.models import LoyalistConfig
from loyalist.config.resolved import config_for_step
from loyalist.data.synthetic import generate, write_raw
from loyalist.errors import CampaignError
from loyalist.features.cutoffs import resolve_as_of
from loyalist.jobs import effect as effect_job
from loyalist.jobs import loyalty as loyalty_job
from loyalist.jobs import prepare as prepare_job
from loyalist.jobs import report as report_job
from loyalist.jobs import score as score_job
from loyalist.jobs import train as train_job
from loyalist.jobs._ui import Reporter

__all__ = ["CAMPAIGN_HORIZON_DAYS", "DemoResult", "demo_config", "run"]

#: The longest horizon the demo campaign is measured over (shorter when the data end sooner).
CAMPAIGN_HORIZON_DAYS = 90

#: How the demo's customers respond to contact (:class:`loyalist.data.campaign.CampaignResponse`). The library's
#: default (tuned for the uplift benchmark, where contact must hurt often enough for targeting to matter) makes
#: 9% of the contacted customers who would stay leave because of the call, so the demo's whole campaign raised
#: churn by 5 points. Here sleeping dogs are rarer (log-odds -5, +3.5 for quiet customers: about 2% of those who
#: would stay), so the campaign as a whole keeps customers (true effect about -1.7 points on the default demo) while
#: the mass actions barely move churn (one raises it by about a point on the default demo) and the one-to-one
#: interviews keep many: the report shows actions that work beside ones too small to tell.
DEMO_RESPONSE = {"dog": -5.0, "quiet": 3.5}


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
                                      clean_dir=clean_dir, after_dir=workdir / "data" / "demo" / "after_campaign",
                                      out_dir=out_dir, workdir=workdir, env=env, seed=seed, reporter=reporter)
    scores = score_job.run_scoring(config, clean.tables, out_dir=out_dir, workdir=workdir, env=env, reporter=reporter,
                                   drift_baseline=previous[0] if previous else None)
    reporter.rule("Write the loyalty and value report")
    report = report_job.run(scores.paths["parquet"], previous=previous, lang="both", formats="html",
                            out_dir=out_dir / "report", clean_dir=clean_dir, reporter=reporter, config=config,
                            effect=effect.paths["json"] if effect is not None else None)
    reporter.say(f"Report: {report['html_zh']} and {report['html_en']}")
    return DemoResult(config, raw_dir, clean_dir, out_dir, loyalty, models, scores, report, effect, truth)


def _campaign(
    config: LoyalistConfig, tables: Mapping, control_path: Path, horizon: int, *, clean_dir: Path, after_dir: Path,
    out_dir: Path, workdir: Path, env: Mapping[str, str] | None, seed: int, reporter: Reporter,
) -> tuple[effect_job.EffectResult | None, dict]:
    """The campaign of the earlier list: simulate its outcome (customers who stay only if contacted, who stay
    anyway, who leave anyway, who leave because they were contacted: :func:`simulate_uplift_campaign`) on a copy
    of the clean data (``after_dir``: the clean folder with the orders of the world with the campaign), measure it
    and learn an uplift model from it. Returns the effect result (None when the campaign is too small to measure;
    a campaign too small to judge an uplift model skips that step, said in one line) and the truth summary (also
    in ``out_dir/campaign/``)."""
    import shutil

    from loyalist.batch.effect import is_flagged
    from loyalist.batch.outputs import pseudonym_key
    from loyalist.data.campaign import CampaignResponse, simulate_uplift_campaign
    from loyalist.data.prepare import CLEAN_SET
    from loyalist.data.privacy import pseudonymize
    from loyalist.features.snapshot import build_snapshot
    from loyalist.io import output_set, write_json, write_parquet
    from loyalist.jobs import uplift as uplift_job

    assignment = pd.read_parquet(control_path)
    day = pd.Timestamp(assignment["campaign_date"].iloc[0]).normalize()
    n_control = int((assignment["group"] == "control").sum())
    reporter.say(f"Campaign {assignment['campaign'].iloc[0]} on {day.date()}: {len(assignment) - n_control:,} customers "
                 f"get their action, {n_control:,} are held out as the control group ({control_path.name}).")
    orders = tables["orders"]
    orders = orders if isinstance(orders, pd.DataFrame) else orders.to_pandas()
    key = pseudonym_key(config.privacy, env or {})
    with reporter.step(f"Simulate the campaign's outcome over the {horizon} days after {day.date()}"):
        snapshot = build_snapshot(dict(tables), day, config.features)
        world_ids = orders["customer_id"]
        if key is not None:  # the assignment carries the published ids: simulate in that id space
            snapshot = snapshot.assign(customer_id=pseudonymize(snapshot["customer_id"], key))
            world_ids = pseudonymize(orders["customer_id"], key)
        world, truth = simulate_uplift_campaign(orders.assign(customer_id=world_ids), assignment, snapshot,
                                                horizon_days=horizon, seed=seed,
                                                response=CampaignResponse(**DEMO_RESPONSE))
        if key is not None:  # back to the raw ids of the clean tables
            raw = orders["customer_id"].drop_duplicates()
            back = dict(zip(pseudonymize(raw, key).astype(str), raw.astype(str), strict=True))
            world = world.assign(customer_id=world["customer_id"].astype(str).map(back)
                                 .astype(orders["customer_id"].dtype))
        with output_set(after_dir, CLEAN_SET) as files:  # the clean folder of the world with the campaign
            for path in sorted(Path(clean_dir).iterdir()):
                if path.is_file() and path.name != "orders.parquet" and not path.name.startswith(".") \
                        and not path.name.endswith(".manifest.json"):
                    shutil.copyfile(path, files.path(path.name))
            world.to_parquet(files.path("orders.parquet"), index=False)
        folder = Path(out_dir) / "campaign"
        write_parquet(truth, folder / "truth.parquet")
        summary: dict[str, Any] = {
                   "simulation": "loyalist.data.campaign.simulate_uplift_campaign", "horizon_days": horizon,
                   "seed": seed, "customers": int(len(truth)),
                   "types": {str(k): int(v) for k, v in truth["type"].value_counts().items()},
                   # randomised groups: treatment - control estimates the mean effect over every assigned customer
                   "true_effect_churn": float(truth["effect_churn"].mean()),
                   "true_effect_revenue": float(truth["effect_revenue"].mean())}
        write_json(summary, folder / "truth.json")
    try:
        effect = effect_job.run(control_path, after_dir, config=config, horizon_days=horizon, env=env,
                                out_dir=Path(out_dir) / "effect", workdir=workdir, reporter=Reporter(quiet=True))
    except CampaignError as exc:  # a small demo company's campaign can be too small to measure: the demo goes on
        reporter.say(f"[yellow]The campaign was not measured: {exc}[/yellow]")
        return None, summary
    rows = effect.summary if effect.summary is not None else pd.DataFrame()
    overall = rows.iloc[0] if len(rows) else None
    if overall is not None and pd.notna(overall["churn_difference"]):
        # each figure with its interval: a demo campaign's revenue difference is mostly noise (a few large
        # customers), and "17,914,406 kept" beside "6 customers kept" read as a result without it
        net = (f", {overall['net']:,.0f} ({overall['net_low']:,.0f} to {overall['net_high']:,.0f}) kept net of the "
               f"actions' cost ({overall['cost']:,.0f})" if pd.notna(overall["net"]) else "")
        kept = overall["saved"] >= 0
        low, high = ((overall["saved_low"], overall["saved_high"]) if kept
                     else (-overall["saved_high"], -overall["saved_low"]))
        reporter.say(
            f"Measured churn: {overall['churn_treatment']:.1%} treated vs {overall['churn_control']:.1%} control, "
            f"{100 * overall['churn_difference']:+.1f} points (95% CI {100 * overall['churn_ci_low']:+.1f} to "
            f"{100 * overall['churn_ci_high']:+.1f}; true {100 * summary['true_effect_churn']:+.1f}); about "
            f"{abs(overall['saved']):,.0f} customers {'kept' if kept else 'lost'} ({low:,.0f} to {high:,.0f}){net}.")
        flagged = rows[(rows["level"] == "action")
                       & pd.Series([is_flagged(r) for r in rows.to_dict("records")], index=rows.index, dtype=bool)]
        if len(flagged):
            reporter.say(f"{len(flagged)} action(s) flagged (negative, inconclusive, or a rise that may be chance); "
                         "see the report's 效果跟踪.")
    reporter.say(f"Effect: {effect.paths['summary_csv']} (MLflow experiment {effect_job.campaign_experiment(config)}); "
                 f"rerun: loyalist effect --assignment {control_path} --clean {after_dir} --horizon-days {horizon} "
                 f"--workdir {workdir}")
    try:
        with reporter.step("Learn an uplift model from the campaign for the next plan"):
            uplift = uplift_job.run(control_path, after_dir, config=config, horizon_days=horizon, env=env,
                                    workdir=workdir, out_dir=Path(out_dir) / "uplift", drop_uncontrolled_strata=True,
                                    reporter=Reporter(quiet=True))
    except CampaignError as exc:  # too few churned control customers in a small demo company to judge one
        reporter.say(f"[yellow]No uplift model learned: {exc}[/yellow]")
        return effect, summary
    reporter.say(uplift_verdict(uplift_job.uplift_model_name(config), uplift.version, uplift.metrics,
                                uplift.champion))
    return effect, summary


def uplift_verdict(name: str, version: object, metrics: dict[str, float], champion: bool) -> str:
    """The demo's sentence on its uplift model: the held-out Qini with its 95% interval beside random rankings,
    on how many held-out customers (control, churned control) the gate judged, the gate's decision, and, when the
    interval reaches 0, that the evidence is thin (one split of a campaign this size cannot tell the model from
    random targeting; the gate reads the point estimate only)."""
    get = metrics.get
    qini, p95, n_test, low, high = (get(k) for k in ("qini", "qini_random_p95", "n_test", "qini_low", "qini_high"))
    bounds = (low, high) if low is not None and high is not None and math.isfinite(low) and math.isfinite(high) \
        else None
    text = f"Uplift model {name} version {version}"
    if qini is not None:
        text += f": held-out Qini {qini:.3f}" + (
            f" (95% interval {bounds[0]:+.3f} to {bounds[1]:+.3f})" if bounds is not None else "")
        if p95 is not None and n_test is not None:
            control = (f" ({get('n_test_control'):,.0f} control, {get('n_test_control_churned'):,.0f} of them "
                       "churned)" if get("n_test_control") is not None and get("n_test_control_churned") is not None
                       else "")
            text += f" vs {p95:.3f} for random rankings (95th percentile) on {n_test:,.0f} held-out customers{control}"
    text += ("; champion, so the list scored next gets uplift and expected_saved_value from it "
             "(scoring_job.rank_by: expected_saved_value ranks the plan by it)." if champion
             else "; not better than random on held-out customers, so it stays challenger and the list scored next "
                  "gets no uplift columns (the plan keeps ranking by value at risk).")
    if bounds is not None and not bounds[0] > 0:
        text += (" The evidence is thin: the interval reaches 0, so this one split of the campaign cannot tell the "
                 "model from random targeting (the gate compares the point estimate only); a larger campaign or "
                 "control group would.")
    return text
