"""Early warning on the synthetic generator (issue 11 §4): does the churn model see churn coming in customers who
still look active?

    python benchmarks/bench_early_warning.py [--customers 20000] [--seeds 7,8] [--as-of 2024-06-30] [--no-record]

For each seed, in a fresh folder benchmarks/_work/early-warning-<seed>/, as a user runs it:
``loyalist demo --no-train`` (generate the synthetic company, write the raw files, prepare) -> ``loyalist train
--as-of T`` (events <= T only) -> ``loyalist score --as-of T``. Labels come from the clean orders with
the product's own definition (``build_labels``: churned = no completed order in (T, T + 90 days]); the generator's
dropout truth is not used for the label, so the figures are what a team would measure.

Active customers (``../shared/eval/PROTOCOLS.md``): at least one completed order in the 90 days up to T. On them,
ROC AUC of the model's churn probability beside recency (days since the last completed order), frequency (fewer
completed orders <= T = churn) and BG/NBD P(no purchase in the horizon) (fitted on the snapshot at T).

Goals (issue 11): active-customer churn AUC >= 0.70 and >= recency + 0.15. Appends a dated section with the machine
to benchmarks/RESULTS.md (``--no-record``: print only).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "_work"
RESULTS = HERE / "RESULTS.md"
sys.path.insert(0, str(HERE))

from _machine import machine_line

ENV = {"OMP_WAIT_POLICY": "passive", "MLFLOW_DISABLE_TELEMETRY": "true", "MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK": "true"}
HORIZON = 90
ACTIVE_DAYS = 90


def _cli(args: list[str], folder: Path) -> float:
    env = {**os.environ, **ENV, "MLFLOW_TRACKING_URI": f"sqlite:///{folder}/mlruns/mlflow.db"}
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "loyalist.cli", *args, "--quiet"], cwd=folder, env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"loyalist {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return round(time.perf_counter() - t0, 1)


def run(seed: int, customers: int, as_of: str) -> dict:
    from loyalist.config.resolved import config_for_step
    from loyalist.features.labels import build_labels

    folder = WORK / f"early-warning-{seed}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    clean = folder / "data" / "demo" / "clean"
    h = ["--churn-horizon-days", str(HORIZON)]
    seconds = {
        "demo": _cli(["demo", "--workdir", ".", "--customers", str(customers), "--seed", str(seed), "--no-train"],
                     folder),
        "train": _cli(["train", "--clean", str(clean), "--workdir", ".", "--as-of", as_of, *h],
                      folder),
        "score": _cli(["score", "--clean", str(clean), "--workdir", ".", "--as-of", as_of, "--out", "scores", *h],
                      folder),
    }
    orders = pd.read_parquet(clean / "orders.parquet")
    risk = pd.read_parquet(folder / "scores" / "churn_risk.parquet").drop_duplicates("customer_id")
    risk["customer_id"] = risk["customer_id"].astype("string")
    features = config_for_step(clean).config.features.model_copy(update={"churn_horizon_days": HORIZON})
    labels = build_labels(orders, risk["customer_id"], as_of, features)
    t = pd.Timestamp(as_of) + pd.Timedelta(days=1)  # the end of day T
    done = orders[(orders["status"] == "completed") & (orders["order_date"] < t)]
    by = done.groupby(done["customer_id"].astype("string"))["order_date"]
    last, count = by.max(), by.size()
    frame = risk.set_index("customer_id").join(labels.set_index("customer_id")["churned"])
    frame["recency"] = (t - last.reindex(frame.index)).dt.total_seconds() / 86400.0
    frame["n_orders"] = count.reindex(frame.index).fillna(0)
    active = frame[frame["recency"] <= ACTIVE_DAYS].dropna(subset=["recency"])
    y = active["churned"].to_numpy()
    out = {"seed": seed, "customers": int(len(frame)), "active": int(len(active)),
           "active_churn_rate": float(y.mean()), "churn_rate": float(frame["churned"].mean()), "seconds": seconds,
           "auc": {"loyalist": roc_auc_score(y, active["churn_probability"]),
                   "recency": roc_auc_score(y, active["recency"]),
                   "frequency": roc_auc_score(y, -active["n_orders"])},
           "auc_all": roc_auc_score(frame["churned"], frame["churn_probability"])}
    out["auc"]["BG/NBD P(none)"] = roc_auc_score(y, _bgnbd_p_none(clean, as_of).reindex(active.index).fillna(0.5))
    return out


def _bgnbd_p_none(clean: Path, as_of: str) -> pd.Series:
    """The BG/NBD baseline: P(no purchase in the horizon), fitted on the snapshot at T (events <= T only), by id."""
    from loyalist.config.resolved import config_for_step
    from loyalist.data.prepare import read_clean
    from loyalist.features.snapshot import build_snapshot
    from loyalist.modeling.btyd.features import BtydFeaturizer
    from loyalist.modeling.supervised.dataset import events_until

    cut = pd.Timestamp(as_of)
    features = config_for_step(clean).config.features.model_copy(update={"churn_horizon_days": HORIZON})
    snapshot = build_snapshot(events_until(dict(read_clean(clean)), cut), cut, features)
    p_none = BtydFeaturizer(horizon_days=HORIZON).fit(snapshot).transform(snapshot)["bg_p_no_purchase"]
    return pd.Series(p_none.to_numpy(), index=snapshot["customer_id"].astype("string").to_numpy())


def _markdown(results: list[dict], command: str, as_of: str) -> str:
    lines = [f"## Early warning on the generator (issue 11 §4, {time.strftime('%Y-%m-%d %H:%M')})", "",
             f"Command: `{command}` · {machine_line()}",
             f"Through the CLI: `loyalist demo --no-train` -> `train --as-of {as_of}` -> "
             f"`score --as-of {as_of}`; label: no completed order in the next {HORIZON} days (`build_labels`); "
             f"active = a completed order in the {ACTIVE_DAYS} days up to the cut-off.", "",
             "| seed | customers | active (churn rate) | loyalist active AUC | recency | frequency | BG/NBD P(none) "
             "| loyalist - recency | goal (>= 0.70 and >= recency + 0.15) | all-customer AUC |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        a = r["auc"]
        gap = a["loyalist"] - a["recency"]
        ok = a["loyalist"] >= 0.70 and gap >= 0.15
        lines.append(f"| {r['seed']} | {r['customers']:,} | {r['active']:,} ({r['active_churn_rate']:.3f}) | "
                     f"{a['loyalist']:.3f} | {a['recency']:.3f} | {a['frequency']:.3f} | "
                     f"{a.get('BG/NBD P(none)', float('nan')):.3f} | {gap:+.3f} | {'met' if ok else '**missed**'} | "
                     f"{r['auc_all']:.3f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=20000)
    ap.add_argument("--seeds", default="7,8")
    ap.add_argument("--as-of", default="2024-06-30")
    ap.add_argument("--no-record", action="store_true")
    a = ap.parse_args()
    results = []
    for seed in [int(s) for s in a.seeds.split(",")]:
        r = run(seed, a.customers, a.as_of)
        print(r, flush=True)
        results.append(r)
    command = "python benchmarks/bench_early_warning.py " + " ".join(sys.argv[1:])
    text = _markdown(results, command.strip(), a.as_of)
    print(text)
    if not a.no_record:
        with RESULTS.open("a", encoding="utf-8") as fh:
            fh.write("\n" + text)
    aucs = [r["auc"]["loyalist"] for r in results]
    print(f"mean active AUC {np.mean(aucs):.3f}")


if __name__ == "__main__":
    main()
