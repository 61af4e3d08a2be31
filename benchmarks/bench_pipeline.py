"""Training-time and batch-scoring benchmark on generated companies.

    python benchmarks/bench_pipeline.py [--train-customers 100000] [--score-customers 1000000] [--no-record]

1. generate a synthetic company for training (default 100,000 customers, 3 years) and one for scoring
   (default 1,000,000 customers), each as Parquet under benchmarks/_work/ (reused when present);
2. train: churn + value models with their BG/NBD baselines on 6 monthly cut-offs (issue 3 goal: <= 5 minutes);
3. register: log both models to a fresh MLflow store (benchmarks/_work/serve) and make them the champions;
4. score: run `loyalist score --clean benchmarks/_work/company_<n>` as a child process, exactly what a scheduled job
   runs: the snapshot streamed from the clean Parquet orders by DuckDB, loyalty tiers, both champion models, SHAP
   reasons for the top scoring_job.explain_top_k (10,000 by default) by value at risk plus a 10,000 sample for global drivers, actions, fingerprints,
   Parquet + CSV + JSON summary written and an MLflow run (issue 4 goal: <= 120 s and <= 4 GB).
Each phase runs in its own process so its peak memory (ru_maxrss) is its own. Results are appended to
benchmarks/RESULTS.md with the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "_work"
sys.path.insert(0, str(ROOT / "src"))


def _tables_dir(n: int) -> Path:
    return WORK / f"company_{n}"


def phase_generate(n: int) -> dict:
    from loyalist.data.synthetic import generate

    out = _tables_dir(n)
    if (out / "orders.parquet").exists():
        return {"reused": str(out)}
    t = time.perf_counter()
    data = generate(n_customers=n, start="2022-01-01", end="2024-12-31", seed=11, dirty=False)
    out.mkdir(parents=True, exist_ok=True)
    for name, df in data.tables().items():
        df.to_parquet(out / f"{name}.parquet", index=False)
    return {"seconds": round(time.perf_counter() - t, 1), "orders": len(data.orders)}


#: The order columns the snapshot and labels read (a scoring job needs no more of a 34M-row table).
ORDER_COLUMNS = ["customer_id", "order_date", "amount", "status", "cost"]


def _load(n: int) -> dict:
    from loyalist.io import read_parquet

    return {p.stem: read_parquet(p, columns=ORDER_COLUMNS if p.stem == "orders" else None)
            for p in _tables_dir(n).glob("*.parquet")}


def phase_train(n: int) -> dict:
    from loyalist.config import LoyalistConfig
    from loyalist.modeling.supervised.training import train_churn, train_value

    tables = _load(n)
    config = LoyalistConfig.model_validate({"training": {"max_cutoffs": 6}})
    t0 = time.perf_counter()
    churn = train_churn(tables, config)
    t1 = time.perf_counter()
    value = train_value(tables, config)
    t2 = time.perf_counter()
    with open(WORK / "models.pkl", "wb") as fh:
        pickle.dump({"churn": churn.model, "value": value.model}, fh)
    return {
        "customers": n, "orders": len(tables["orders"]), "train_cutoffs": len(churn.plan.train),
        "churn_rows": churn.train_rows, "value_rows": value.train_rows,
        "seconds_churn": round(t1 - t0, 1), "seconds_value": round(t2 - t1, 1), "seconds_total": round(t2 - t0, 1),
        "churn_auc": round(churn.model_metrics["roc_auc"], 4),
        "value_gini": round(value.model_metrics["normalised_gini"], 4),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
    }


def phase_register(n: int) -> dict:
    """Log the trained models to a fresh MLflow store under _work/serve and make them the champions, so the
    scoring phase runs `loyalist score` exactly as a user does (champions loaded through the registry)."""
    import shutil

    from loyalist.config import LoyalistConfig
    from loyalist.data.prepare import STREAMED_TABLES, read_clean
    from loyalist.features.cutoffs import resolve_as_of
    from loyalist.features.snapshot import build_snapshot
    from loyalist.tracking import CHAMPION, log_model, run, set_alias

    from loyalist.jobs._common import start_tracking

    serve = WORK / "serve"
    shutil.rmtree(serve, ignore_errors=True)
    serve.mkdir(parents=True)
    config = LoyalistConfig()
    start_tracking(config, serve, {"MLFLOW_TRACKING_URI": _serve_uri()})
    with open(WORK / "models.pkl", "rb") as fh:
        models = pickle.load(fh)
    tables = read_clean(_tables_dir(n), lazy=STREAMED_TABLES)
    snapshot = build_snapshot(tables, resolve_as_of(tables, None), config.features).head(200)
    versions = {}
    for kind, name in (("churn", config.tracking.churn_model_name), ("value", config.tracking.value_model_name)):
        model = models[kind]
        example = model.model_frame(snapshot) if hasattr(model, "model_frame") else snapshot
        with run(f"bench-register-{kind}") as handle:
            info = log_model(handle, model, registered_name=name, input_example=example)
        set_alias(name, CHAMPION, info.version)
        versions[kind] = info.version
    return {"store": str(serve), "versions": versions}


def _serve_uri() -> str:
    return f"sqlite:///{WORK / 'serve' / 'mlruns' / 'mlflow.db'}"


def phase_score(n: int) -> dict:
    """`loyalist score --clean <company> --out _work/scores` in a child process, as a user runs it: the clean
    orders, tickets and surveys stay on disk (DuckDB streams them), the champions come from the registry, and the
    list is written as Parquet and CSV with its summary and an MLflow run. Wall time and peak RSS are the child's."""
    out = WORK / "scores"
    cli = Path(sys.executable).with_name("loyalist")
    command = [str(cli), "score", "--clean", str(_tables_dir(n)), "--workdir", str(WORK / "serve"),
               "--out", str(out), "--quiet"]
    env = {**os.environ, "MLFLOW_TRACKING_URI": _serve_uri()}
    started = time.perf_counter()
    proc = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"loyalist score failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    summary = json.loads((out / "churn_risk_summary.json").read_text(encoding="utf-8"))
    stages = {k: round(v, 1) for k, v in summary["timings_seconds"].items()}
    return {
        "customers_scored": summary["customers"], "orders": summary["inputs"]["orders"]["rows"],
        "explained": summary["explained"], "seconds_total": round(seconds, 1),
        "seconds_in_stages": round(sum(summary["timings_seconds"].values()), 1),
        "stages": stages, "peak_rss_gb": round(peak, 2),
        "command": " ".join(str(Path(c).relative_to(ROOT)) if c.startswith(str(ROOT)) else c for c in command[1:]),
    }


def _sub(phase: str, n: int) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--phase", phase, "--n", str(n)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"phase {phase} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _machine() -> str:
    from _machine import machine_line

    return machine_line()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-customers", type=int, default=100_000)
    parser.add_argument("--score-customers", type=int, default=1_000_000)
    parser.add_argument("--phase", choices=["generate", "train", "register", "score"])
    parser.add_argument("--n", type=int)
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--reuse-models", action="store_true",
                        help="skip training when benchmarks/_work holds the models and timings of a previous run")
    args = parser.parse_args()
    if args.phase:
        fn = {"generate": phase_generate, "train": phase_train, "register": phase_register,
              "score": phase_score}[args.phase]
        print(json.dumps(fn(args.n)))
        return
    WORK.mkdir(parents=True, exist_ok=True)
    gen = {n: _sub("generate", n) for n in (args.train_customers, args.score_customers)}
    print("generate", gen, flush=True)
    saved = WORK / "train_result.json"
    if args.reuse_models and saved.exists() and (WORK / "models.pkl").exists():
        train = json.loads(saved.read_text())
    else:
        train = _sub("train", args.train_customers)
        saved.write_text(json.dumps(train))
    print("train", train, flush=True)
    print("register", _sub("register", args.train_customers), flush=True)
    score = _sub("score", args.score_customers)
    print("score", score, flush=True)
    load = os.getloadavg()
    text = "\n".join([
        f"## Training and batch scoring ({time.strftime('%Y-%m-%d %H:%M')})", "",
        f"Machine: {_machine()}; load average at the end {load[0]:.1f}. "
        "Command: `python benchmarks/bench_pipeline.py`.", "",
        f"- Training (issue 3 goal <= 300 s): {train['customers']:,} customers, {train['orders']:,} orders, "
        f"{train['train_cutoffs']} training cut-offs ({train['churn_rows']:,} churn rows, {train['value_rows']:,} value "
        f"rows): churn {train['seconds_churn']} s + value {train['seconds_value']} s = **{train['seconds_total']} s**, "
        f"peak {train['peak_rss_gb']} GB (out-of-time churn AUC {train['churn_auc']}, value Gini {train['value_gini']}).",
        f"- Scoring (issue 4 goal <= 120 s, <= 4 GB), `loyalist {score['command']}` as a child process: "
        f"{score['customers_scored']:,} customers scored from {score['orders']:,} orders, reasons for "
        f"{score['explained']['customers']:,} + a {score['explained']['sample']:,} sample: **{score['seconds_total']} s**"
        f" wall (process start to exit; {score['seconds_in_stages']} s in the timed stages), peak RSS "
        f"**{score['peak_rss_gb']} GB**. Stages (s): {score['stages']}.", "",
    ])
    print(text)
    if not args.no_record:
        path = ROOT / "benchmarks" / "RESULTS.md"
        prior = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n\n"
        path.write_text(prior.rstrip() + "\n\n" + text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
