"""Monthly retrain: prepare -> train -> score -> report, the whole cycle on the newest data.

Schedule it once a month, after the month's data has landed (cron ``0 4 2 * *``)::

    python pipelines/monthly_retrain.py --config my_company.yaml --workdir /srv/loyalist

Writes under --workdir: data/clean/ (clean tables, rejects, the config every step used), mlruns/ (new model
versions; a challenger becomes champion only when it beats the baselines and the champion) and
outputs/<cut-off>/ (churn_risk list, report/). Earlier runs' lists in outputs/ feed the report's tracking section.
"""

from __future__ import annotations

import os
import sys

# As the loyalist command does, before LightGBM and MLflow load: LightGBM's threads sleep at a barrier instead of
# spinning on a core another job needs, and MLflow's INFO lines stay out of the job's log (unless --debug).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
if "--debug" not in sys.argv:
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")

from loyalist.config import load_config
from loyalist.config.resolved import config_for_step
from loyalist.features.cutoffs import resolve_as_of
from loyalist.jobs import prepare, report, score, train
from loyalist.jobs.schedule import PipelineArgs, earlier_lists, main, run_folder


def monthly_retrain(args: PipelineArgs) -> None:
    clean = prepare.run(load_config(args.config), args.clean_dir, args.reporter, env=args.env,
                        layers=[str(path) for path in args.config])
    config = config_for_step(args.clean_dir).config  # every later step uses the config stored with the clean tables
    train.run_training(config, clean.tables, workdir=args.workdir, env=args.env, reporter=args.reporter,
                       as_of=args.as_of)
    as_of = resolve_as_of(clean.tables, args.as_of)
    earlier = earlier_lists(args.workdir, as_of)
    scores = score.run_scoring(config, clean.tables, as_of=as_of, out_dir=run_folder(args.workdir, as_of),
                               workdir=args.workdir, env=args.env, reporter=args.reporter,
                               previous=earlier[-1] if earlier else None,
                               drift_baseline=earlier[-1] if earlier else None)
    report.run(scores.paths["parquet"], previous=earlier, lang="both", formats="html",
               out_dir=run_folder(args.workdir, as_of) / "report", clean_dir=args.clean_dir,
               reporter=args.reporter, config=config)


if __name__ == "__main__":
    sys.exit(main(monthly_retrain, __doc__))
