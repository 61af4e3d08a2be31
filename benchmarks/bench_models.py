"""Model-quality benchmark on fixed public protocols: loyalist beside every baseline.

    python benchmarks/bench_models.py [--protocols cdnow_sample,cdnow_full,online_retail] [--no-record]

Protocols (issue 3):
- CDNOW 2,357 sample and full 23,570: calibration 1997-01-01..1997-09-30, holdout 1997-10-01..1998-06-30 (273 days);
- Online Retail II 2009-2010: valid lines (not a "C" invoice, quantity > 0, price > 0, customer id present), an order
  = an invoice; calibration 2009-12-01..2010-08-31, holdout 2010-09-01..2010-12-09 (100 days).
Purchases are customer-days (same-day orders merged); the population is the customers with a purchase in
calibration; labels come from the holdout only; the models see calibration data only and score at its last day.
The loyalist pipeline is used as a user would: the dataset config, the cleaner, snapshots at past cut-offs inside
calibration, out-of-time validation, then scoring at the calibration end. Results go to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from loyalist.config import LoyalistConfig, load_config  # noqa: E402
from loyalist.data.prepare import prepare  # noqa: E402
from loyalist.features.labels import build_labels  # noqa: E402
from loyalist.features.snapshot import build_snapshot  # noqa: E402
from loyalist.modeling.baselines import churn_baselines, value_baselines  # noqa: E402
from loyalist.modeling.evaluation import compare_churn, compare_value  # noqa: E402
from loyalist.modeling.training import train_churn, train_value  # noqa: E402
from loyalist.scoring.loyalty import LoyaltyScorer  # noqa: E402

PROTOCOLS = {
    "cdnow_sample": dict(config="cdnow_sample.yaml", calib_end="1997-09-30", holdout_end="1998-06-30"),
    "cdnow_full": dict(config="cdnow.yaml", calib_end="1997-09-30", holdout_end="1998-06-30"),
    "online_retail": dict(config="online_retail_ii.yaml", calib_end="2010-08-31", holdout_end="2010-12-09"),
}


def customer_day_orders(orders: pd.DataFrame) -> pd.DataFrame:
    """Completed orders merged to one purchase per customer and day (amounts summed)."""
    done = orders.loc[orders["status"].astype("string").fillna("completed") == "completed"]
    day = done["order_date"].dt.normalize()
    agg = {"amount": "sum"}
    for c in ("cost", "margin"):
        if c in done:
            agg[c] = "sum"
    out = done.assign(order_date=day).groupby(["customer_id", "order_date"], as_index=False).agg(agg)
    out["order_id"] = out["customer_id"].astype(str) + "-" + out["order_date"].dt.strftime("%Y%m%d")
    out["status"] = "completed"
    return out


def run_protocol(name: str, shared: Path) -> dict:
    spec = PROTOCOLS[name]
    t0 = time.perf_counter()
    cfg_file = ROOT / "configs" / "datasets" / spec["config"]
    data_cfg = load_config([cfg_file]).data
    tables = dict(prepare(data_cfg).tables)
    tables["orders"] = customer_day_orders(tables["orders"])
    tables.pop("order_lines", None)
    calib_end = pd.Timestamp(spec["calib_end"])
    holdout_end = pd.Timestamp(spec["holdout_end"])
    horizon = int((holdout_end - calib_end).days)
    calib = {k: (v.loc[v["order_date"] <= calib_end] if k == "orders" else v) for k, v in tables.items()}
    config = LoyalistConfig.model_validate({
        "features": {"churn_horizon_days": horizon, "value_horizon_days": horizon, "lookback_days": 365},
        "training": {"min_history_days": 28},
    })
    t_prep = time.perf_counter() - t0

    churn = train_churn(calib, config)
    value = train_value(calib, config)
    purchases = train_value(calib, config, target="future_orders")
    t_train = time.perf_counter() - t0 - t_prep

    # Score at the calibration end; labels from the holdout only.
    snap = build_snapshot(calib, calib_end, config.features)
    labels = build_labels(tables["orders"], snap["customer_id"], calib_end, config.features)
    snap = snap.merge(labels.drop(columns=["as_of"]), on="customer_id", how="left", validate="one_to_one")
    snap["loyalty_score"] = LoyaltyScorer(config.scoring).fit(snap).transform(snap)["loyalty_score"]
    btyd = churn.model.btyd_.__class__(horizon_days=horizon).fit(snap)  # BG/NBD fitted on calibration, at T
    feats = btyd.transform(snap)
    ev = pd.concat([snap, feats], axis=1)

    p = churn.model.score(snap, horizon_days=horizon)
    y_churn = ev["churned"].to_numpy()
    churn_table = compare_churn(y_churn, {"loyalist": p, **churn_baselines(ev)})

    v = value.model.score(snap, horizon_days=horizon)
    y_value = ev["future_revenue"].to_numpy(dtype="float64")
    value_table = compare_value(
        y_value, {"loyalist": v, **value_baselines(ev, horizon_days=horizon, lookback_days=365)})

    n = purchases.model.score(snap, horizon_days=horizon)
    y_n = ev["future_orders"].to_numpy(dtype="float64")
    bg_n = ev["bg_expected_purchases"].to_numpy(dtype="float64")
    bg_n = np.where(np.isfinite(bg_n), bg_n, np.nanmean(bg_n))  # customers first seen on the last day: T = 0
    purchase_rows = []
    for scorer, pred in (("loyalist", n), ("bgnbd", bg_n)):
        purchase_rows.append({
            "scorer": scorer, "predicted": float(pred.sum()), "actual": float(y_n.sum()),
            "aggregate_error": float(pred.sum() / y_n.sum() - 1), "rmse": float(np.sqrt(np.mean((pred - y_n) ** 2))),
        })
    return {
        "name": name, "customers": len(snap), "horizon_days": horizon, "churn_rate": float(y_churn.mean()),
        "churn": churn_table, "value": value_table, "purchases": pd.DataFrame(purchase_rows),
        "notes": churn.notes, "train_plan": churn.plan.as_dict(), "seconds": {
            "prepare": round(t_prep, 1), "train_3_models": round(t_train, 1),
            "total": round(time.perf_counter() - t0, 1)},
        "bgnbd_params": {k: round(v, 4) for k, v in btyd.params().items()},
    }


def _machine() -> str:
    from _machine import machine_line

    return machine_line()


def _md(df: pd.DataFrame, cols: list[str]) -> str:
    cols = [c for c in cols if c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        lines.append("| " + " | ".join(f"{r[c]:.3f}" if isinstance(r[c], float) else str(r[c]) for c in cols) + " |")
    return "\n".join(lines)


def to_markdown(results: list[dict]) -> str:
    out = [f"## Model quality on the public protocols ({pd.Timestamp.now():%Y-%m-%d %H:%M})", "",
           f"Machine: {_machine()}. Command: `python benchmarks/bench_models.py`.", ""]
    for r in results:
        out += [f"### {r['name']}: {r['customers']:,} customers, holdout {r['horizon_days']} days, "
                f"churn rate {r['churn_rate']:.3f}", ""]
        out += ["Churn (holdout labels, scored at the calibration end):", "",
                _md(r["churn"], ["scorer", "roc_auc", "pr_auc", "brier", "lift_top_decile", "capture_top_decile",
                                 "ece"]), ""]
        out += ["Value (holdout revenue):", "",
                _md(r["value"], ["scorer", "normalised_gini", "spearman", "mae", "decile_mape", "total_error",
                                 "capture_top_decile"]), ""]
        out += ["Purchases (customer-days in the holdout):", "",
                _md(r["purchases"], ["scorer", "predicted", "actual", "aggregate_error", "rmse"]), ""]
        out += [f"Training plan: {r['train_plan']['horizon_days']}-day training labels, "
                f"{len(r['train_plan']['train_cutoffs'])} training cut-offs "
                f"({r['train_plan']['train_cutoffs'][0]} .. {r['train_plan']['train_cutoffs'][-1]}), "
                f"validation {r['train_plan']['valid_cutoff']}. BG/NBD at the calibration end: {r['bgnbd_params']}. "
                f"Seconds: {r['seconds']}.", ""]
        out += [f"Note: {n}" for n in r["notes"]] + [""]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--protocols", default="cdnow_sample,cdnow_full,online_retail")
    parser.add_argument("--no-record", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args()
    shared = (ROOT / ".." / "shared" / "data").resolve()
    if not shared.is_dir():
        sys.exit(f"{shared} not found: the model benchmark needs ../shared/data beside the checkout.")
    results = []
    for name in args.protocols.split(","):
        print(f"== {name}", flush=True)
        r = run_protocol(name.strip(), shared)
        for part in ("churn", "value", "purchases"):
            print(r[part].to_string(index=False, float_format=lambda x: f"{x:.4f}"))
        print(r["notes"], r["seconds"], flush=True)
        results.append(r)
    text = to_markdown(results)
    if not args.no_record:
        path = ROOT / "benchmarks" / "RESULTS.md"
        prior = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n\n"
        path.write_text(prior.rstrip() + "\n\n" + text + "\n", encoding="utf-8")
        print(f"recorded in {path}")


if __name__ == "__main__":
    main()
