"""Where a `loyalist train` run's CPU goes, by part, without a profiler's inflation (issue 14, "training passes").

    python benchmarks/profile_training.py OUT.json WORKDIR [CLEAN]

Runs `loyalist train --clean CLEAN --workdir WORKDIR --quiet` in this process with `time.process_time` timers
wrapped around the functions listed below (each part's CPU excludes the wrapped parts it calls; "rest" is what no
wrapper covers). cProfile inflated Python-heavy parts 3-10x against these timers (e.g. MLflow's package map 1.98
profiled vs 0.19 s real), so it showed imports and MLflow logging as ~25 CPU s where they cost ~6. CLEAN defaults to
the 100,000-customer company of bench_training.py (benchmarks/_work/training_100000/data/demo/clean).
"""
import argparse
import importlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip(),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("out", help="the JSON file the CPU seconds by part are written to")
parser.add_argument("workdir", help="a folder the run may delete and recreate")
parser.add_argument("clean", nargs="?", help="the clean folder to train on (default: bench_training.py's 100,000-customer "
                    "company, benchmarks/_work/training_100000/data/demo/clean)",
                    default=str(Path(__file__).resolve().parent / "_work" / "training_100000" / "data" / "demo" / "clean"))
args = parser.parse_args()
out, work, clean = str(Path(args.out).resolve()), Path(args.workdir).resolve(), str(Path(args.clean).resolve())
shutil.rmtree(work, ignore_errors=True)
work.mkdir(parents=True)
os.chdir(work)
acc = {}
stack = []
def wrap(modname, attr, label):
    mod = importlib.import_module(modname)
    obj = mod
    parts = attr.split(".")
    for p in parts[:-1]:
        obj = getattr(obj, p)
    inner = getattr(obj, parts[-1])
    def timed(*a, **k):
        c = time.process_time(); stack.append(0.0)
        try:
            return inner(*a, **k)
        finally:
            d = time.process_time() - c; child = stack.pop()
            acc[label] = acc.get(label, 0.0) + d - child   # exclusive of wrapped children
            if stack: stack[-1] += d
    setattr(obj, parts[-1], timed)
    return timed
# Passive OpenMP waiting, as `loyalist train` runs (its CLI callback sets it) and as bench_training.py's child: the
# variable is read when LightGBM's OpenMP runtime loads, i.e. at the import below, before the CLI callback runs.
# Without it, LightGBM's idle threads spin: under load a run cost 672 CPU s here instead of ~330 (session 16).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import lightgbm
import lightgbm.engine
import lightgbm.sklearn

t = wrap("lightgbm.engine", "train", "lgb.train")
lightgbm.train = lightgbm.sklearn.train = t
wrap("lightgbm.basic", "Booster.predict", "lgb.predict")
c = time.process_time()
import loyalist.cli
import loyalist.jobs.train  # noqa: F401  (its import cost is what this line measures)

acc["import cli+jobs.train"] = time.process_time() - c
for m, a, l in [
    ("loyalist.jobs.train", "table_fingerprints", "table_fingerprints"),
    ("loyalist.jobs.train", "start_tracking", "start_tracking"),
    ("loyalist.jobs.train", "log_model", "log_model"),
    ("loyalist.jobs.train", "_log_plots", "_log_plots"),
    ("loyalist.jobs.train", "_log_shap", "_log_shap"),
    ("loyalist.jobs.train", "_survival_calibration", "_survival_calibration"),
    ("loyalist.jobs.train", "_log_survival_calibration", "_log_survival_calibration"),
    ("loyalist.jobs.train", "_baseline_candidate", "_baseline_candidate"),
    ("loyalist.jobs.train", "model_card", "model_card"),
    ("loyalist.jobs.train", "gate", "gate"),
    ("loyalist.jobs.train", "set_version_description", "set_version_description"),
    ("loyalist.tracking.store", "RunHandle.log_dataset", "log_dataset"),
    ("loyalist.tracking.store", "RunHandle.log_metrics", "log_metrics"),
    ("loyalist.tracking.store", "RunHandle.log_config", "log_config"),
    ("loyalist.tracking.store", "RunHandle.log_table", "log_table"),
    ("loyalist.tracking.store", "RunHandle.log_figure", "log_figure(savefig)"),
    ("loyalist.tracking.store", "RunHandle.log_params", "log_params"),
    ("loyalist.tracking.store", "RunHandle.set_tags", "set_tags"),
    ("loyalist.modeling.supervised.dataset", "LabelledSnapshots.__call__", "labelled snapshots"),
    ("loyalist.modeling.btyd.features", "BtydFeaturizer.fit", "btyd fit"),
    ("loyalist.modeling.btyd.features", "BtydFeaturizer.transform", "btyd transform"),
    ("loyalist.modeling.supervised.training", "fit_level", "fit_level"),
    ("loyalist.modeling.supervised.matrix", "to_matrix", "to_matrix"),
    ("loyalist.cli", "_tables", "read tables"),
    ("loyalist.modeling.supervised.churn", "ChurnModel.fit", "ChurnModel.fit (excl.)"),
    ("loyalist.modeling.supervised.value", "ValueModel.fit", "ValueModel.fit (excl.)"),
    ("loyalist.modeling.supervised.churn", "ChurnModel.score", "ChurnModel.score"),
    ("loyalist.modeling.supervised.value", "ValueModel.score", "ValueModel.score"),
    ("loyalist.modeling.supervised.training", "_rule_scores", "_rule_scores"),
    ("loyalist.modeling.supervised.training", "compare_churn", "compare_churn"),
    ("loyalist.modeling.supervised.training", "compare_value", "compare_value"),
    ("loyalist.modeling.supervised.training", "active_churn_metrics", "active_churn_metrics"),
    ("loyalist.modeling.supervised.training", "churn_baselines", "churn_baselines"),
    ("loyalist.modeling.supervised.training", "value_baselines", "value_baselines"),
    ("loyalist.modeling.supervised.training", "stack_snapshots", "stack_snapshots (excl.)"),
    ("loyalist.modeling.supervised.training", "plan_with_fallback", "plan_with_fallback"),
    ("loyalist.modeling.supervised.base", "make_spec", "make_spec"),
    ("loyalist.modeling.supervised.base", "drift_reference", "drift_reference"),
    ("loyalist.features.snapshot", "SnapshotPass.at", "SnapshotPass.at"),
    ("loyalist.features.labels", "LabelBuilder.at", "LabelBuilder.at"),
    ("loyalist.modeling.btyd.models", "BetaGeoModel.fit", "BetaGeoModel.fit"),
    ("loyalist.modeling.btyd.models", "GammaGammaModel.fit", "GammaGammaModel.fit"),
    ("loyalist.modeling.btyd.survival", "active_share_calibration", "active_share_calibration"),
    ("loyalist.explain.contributions", "explain", "explain"),
    ("loyalist.explain.plots", "summary_figure", "summary_figure"),
    ("sklearn.calibration", "CalibratedClassifierCV.fit", "CalibratedClassifierCV.fit"),
    ("loyalist.cli", "_step_config", "cli _step_config"),
]:
    try:
        wrap(m, a, l)
    except Exception as e:
        print("cannot wrap", m, a, e)
sys.argv = ["loyalist", "train", "--clean", clean, "--workdir", str(work), "--quiet"]
try:
    loyalist.cli.app()
except SystemExit:
    pass
total = time.process_time()
acc["TOTAL"] = total
acc["rest (unwrapped)"] = total - sum(v for k, v in acc.items() if k != "TOTAL")
Path(out).write_text(json.dumps(acc, indent=1))
for k, v in sorted(acc.items(), key=lambda kv: -kv[1]):
    print(f"{v:8.2f}  {k}")
