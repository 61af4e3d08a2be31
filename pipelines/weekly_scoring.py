"""Weekly scoring: prepare -> score with the champion models -> report. No training: the models come from the
monthly retrain (pipelines/monthly_retrain.py) through the MLflow registry's 'champion' alias.

Schedule it every Monday morning (cron ``0 6 * * 1``)::

    python pipelines/weekly_scoring.py --config my_company.yaml --workdir /srv/loyalist

Writes outputs/<cut-off>/ under --workdir: the churn-risk list (newly at risk and drift against last week's
list) and report/ (tier changes and win-back since the earlier lists).
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
from loyalist.jobs import prepare, report, score
from loyalist.jobs.schedule import PipelineArgs, earlier_lists, main, run_folder


def weekly_scoring(args: PipelineArgs) -> None:
    clean = prepare.run(load_config(args.config), args.clean_dir, args.reporter, env=args.env,
                        layers=[str(path) for path in args.config])
    config = config_for_step(args.clean_dir).config  # every later step uses the config stored with the clean tables
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
    sys.exit(main(weekly_scoring, __doc__))
