"""Job: the whole product on a synthetic company.

generate -> raw files (CSV in UTF-8 and GB18030, Chinese headers) -> prepare (clean + rejects) -> snapshot at the
last order date -> loyalty score and tiers -> train churn and value models (MLflow, champion gate) -> score the
churn-risk list with the champions -> the loyalty and value report (HTML, zh and en).

The demo also scores an earlier cut-off (the month end ``previous_months`` before the last order date) with the
same champion models, so the first report already tracks a period: tier migration, the win-back rate of the
earlier high-risk customers, the change in the devoted share and the score trend. (A real monthly job passes last
month's list with ``loyalist report --previous``.)
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
from loyalist.jobs import loyalty as loyalty_job
from loyalist.jobs import prepare as prepare_job
from loyalist.jobs import report as report_job
from loyalist.jobs import score as score_job
from loyalist.jobs import train as train_job
from loyalist.jobs._ui import Reporter

__all__ = ["DemoResult", "demo_config", "run"]


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
    if previous_months > 0:
        last = resolve_as_of(clean.tables, None)
        earlier = (last - pd.DateOffset(months=previous_months)) + pd.offsets.MonthEnd(0)
        with reporter.step(f"Score the earlier cut-off {earlier.date()} too, so the report tracks a period"):
            prev = score_job.run_scoring(config, clean.tables, as_of=earlier, out_dir=out_dir / "previous",
                                         workdir=workdir, env=env, reporter=Reporter(quiet=True))
        previous = [prev.paths["parquet"]]
        reporter.say(f"Earlier list: {prev.paths['parquet']}")
    scores = score_job.run_scoring(config, clean.tables, out_dir=out_dir, workdir=workdir, env=env, reporter=reporter,
                                   drift_baseline=previous[0] if previous else None)
    reporter.rule("Write the loyalty and value report")
    report = report_job.run(scores.paths["parquet"], previous=previous, lang="both", formats="html",
                            out_dir=out_dir / "report", clean_dir=clean_dir, reporter=reporter, config=config)
    reporter.say(f"Report: {report['html_zh']} and {report['html_en']}")
    return DemoResult(config, raw_dir, clean_dir, out_dir, loyalty, models, scores, report)
