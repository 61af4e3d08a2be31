"""Order-history survival (issue 15 §2): BG/NBD predicted vs observed share of customers still buying, by month.

    nice -n 10 python benchmarks/bench_survival.py [--protocols cdnow-sample,cdnow-full,retail-2009] [--no-record]

For each protocol of ../shared/eval (PROTOCOLS.md: calibration / holdout windows, purchases = customer-days of valid
orders, population = customers with a calibration purchase), BG/NBD is fitted on the calibration purchases only
(weeks, loyalist's own maximum-likelihood fit, :func:`loyalist.modeling.btyd.survival.active_share_calibration`).
A customer is **still buying at month m** (m = 0, 1, ...) when they make at least one purchase dated in
``(cal_end + 30 m days, hold_end]``; month 0 = any purchase in the holdout = 1 - the protocol's churn label. The
predicted share is the mean over the customers of P(a purchase in that window | calibration history) under BG/NBD.
The table per month and a plot (benchmarks/_work/survival/active_share.png) are written; results are appended to
benchmarks/RESULTS.md with the machine and load (``--no-record`` prints only).

The same prediction anchored to a learned churn probability (as the risk list does,
:func:`loyalist.modeling.btyd.survival.alive_from_churn_probability`) uses the protocol's own LightGBM baseline of
../shared/eval/baselines.py (calibration data only). Also reported per protocol: the mean predicted P(active) at
30/60/90/180 days (latent "alive", not observable) and the mean expected days to churn (restricted mean, capped at
365 days), BG/NBD alone.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
EVAL = SHARED / "eval"
WORK = ROOT / "benchmarks" / "_work" / "survival"
DATA = {
    "cdnow-sample": SHARED / "data" / "cdnow" / "CDNOW_sample.txt.gz",
    "cdnow-full": SHARED / "data" / "cdnow" / "CDNOW_master.txt.gz",
    "retail-2009": SHARED / "data" / "online-retail-ii-2009-2010" / "online_retail_II.parquet",
}


def _module(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def run(name: str) -> dict:
    from loyalist.modeling.btyd import survival as sv

    protocols = _module("protocols", EVAL / "protocols.py")
    _module("metrics", EVAL / "metrics.py")
    baselines = _module("baselines", EVAL / "baselines.py")
    p = protocols.load_protocol(name, str(DATA[name]))
    orders = pd.concat([p.calibration, p.holdout])[["customer_id", "date", "amount"]]
    # A learned churn probability to anchor to: the protocol's own LightGBM baseline (../shared/eval/baselines.py,
    # trained on calibration data only), P(no purchase in the next label_window_days days) at cal_end.
    info, preds = baselines.lightgbm(p)
    churn = pd.Series(preds["churn"], index=p.labels.index)
    started = time.perf_counter()
    table, model = sv.active_share_calibration(orders, p.cal_end, p.hold_end, period_days=30, date_col="date",
                                               churn_probability=churn,
                                               churn_horizon_days=info["label_window_days"])
    seconds = time.perf_counter() - started
    # The protocol's own label must agree with month 0 (any purchase in the holdout): a consistency check.
    observed0 = 1.0 - float(p.labels["churn"].mean())
    if abs(table["observed_share"].iloc[0] - observed0) > 1e-12 or table["customers"].iloc[0] != len(p.labels):
        raise SystemExit(f"{name}: month-0 observed share {table['observed_share'].iloc[0]} != 1 - churn rate "
                         f"{observed0} (or customers differ): the definitions disagree")
    from loyalist.modeling.btyd.summary import customer_days_summary

    summ = customer_days_summary(orders, p.cal_end, date_col="date")
    started = time.perf_counter()
    surv = sv.survival_table(model, summ["frequency"], summ["recency"], summ["T"], index=summ.index)
    seconds_table = time.perf_counter() - started
    return {"name": name, "customers": len(p.labels), "cal": (p.spec.cal_start, p.spec.cal_end),
            "hold_end": p.spec.hold_end, "horizon_days": p.horizon_days, "params": model.params_,
            "penalizer": model.penalizer, "table": table, "seconds_fit": round(seconds, 2),
            "anchor_window": int(info["label_window_days"]),
            "seconds_table": round(seconds_table, 2), "survival_means": surv.mean().to_dict()}


def to_markdown(results: list[dict], command: str, plot: Path) -> str:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from _machine import machine_line

    out = [f"## Order-history survival (issue 15 §2, survorders): BG/NBD share still buying by holdout month "
           f"({pd.Timestamp.now(tz='UTC'):%Y-%m-%d %H:%M} UTC)", "",
           f"Command: `{command}` · machine: {machine_line()}", "",
           "BG/NBD fitted on calibration purchases only (loyalist's MLE, weeks). Still buying at month m = at least "
           "one purchase in (cal_end + 30 m days, hold_end]; month 0 equals 1 - the protocol's churn rate (checked). "
           "Predicted = mean over customers of P(a purchase in that window | history) under BG/NBD. "
           "Anchored = the same with P(alive at cal_end) anchored to a learned churn probability (what the risk "
           "list does): the protocol's own LightGBM baseline of ../shared/eval/baselines.py (calibration data only; "
           "its label window is 136 days on CDNOW, 100 on retail). "
           f"Plot: `{plot.relative_to(ROOT)}` (not committed).", ""]
    for res in results:
        t = res["table"]
        prm = ", ".join(f"{k} {v:.4g}" for k, v in res["params"].items())
        mae = float(t["error"].abs().mean())
        mae_a = float(t["error_anchored"].abs().mean())
        out += [f"### {res['name']}: {res['customers']:,} customers, calibration {res['cal'][0]}..{res['cal'][1]}, "
                f"holdout to {res['hold_end']} ({res['horizon_days']} days)", "",
                f"BG/NBD {prm} (penalizer {res['penalizer']:g}); fit + curve {res['seconds_fit']} s, "
                f"per-customer survival table {res['seconds_table']} s. Mean |predicted - observed| over months "
                f"{mae:.3f}, largest {t['error'].abs().max():.3f} (month "
                f"{int(t.loc[t['error'].abs().idxmax(), 'period'])}); anchored to the LightGBM baseline's "
                f"{res['anchor_window']}-day churn probability: mean {mae_a:.3f}, largest "
                f"{t['error_anchored'].abs().max():.3f}.",
                "", "| month m | from day | observed share | BG/NBD predicted | - observed | anchored predicted "
                "| - observed |", "|---|---|---|---|---|---|---|"]
        for _, r in t.iterrows():
            out.append(f"| {int(r['period'])} | {int(r['start_day'])} | {r['observed_share']:.3f} | "
                       f"{r['predicted_share']:.3f} | {r['error']:+.3f} | {r['predicted_anchored_share']:.3f} | "
                       f"{r['error_anchored']:+.3f} |")
        means = res["survival_means"]
        out += ["", "Mean per-customer prediction at the cut-off: " + ", ".join(
            f"{k} {v:.3f}" if k.startswith("p_") else f"{k} {v:.1f} days (cap 365)" for k, v in means.items()), ""]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--protocols", default="cdnow-sample,cdnow-full,retail-2009")
    parser.add_argument("--no-record", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args()
    names = [n.strip() for n in args.protocols.split(",") if n.strip()]
    missing = [n for n in names if n not in DATA]
    if missing:
        raise SystemExit(f"unknown protocol(s) {missing}; choose from {sorted(DATA)}")
    absent = [str(DATA[n]) for n in names if not DATA[n].exists()]
    if absent:
        raise SystemExit(f"data file(s) not found: {absent}; the protocols need ../shared/data")
    results = [run(n) for n in names]
    from loyalist.modeling.btyd.survival import active_share_figure

    WORK.mkdir(parents=True, exist_ok=True)
    plot = WORK / "active_share.png"
    fig = active_share_figure({r["name"]: r["table"] for r in results},
                              title="BG/NBD: predicted vs observed share still buying")
    fig.savefig(plot, dpi=110)
    command = "nice -n 10 python benchmarks/bench_survival.py" + (
        f" --protocols {args.protocols}" if args.protocols != parser.get_default("protocols") else "")
    text = to_markdown(results, command, plot)
    print(text)
    if not args.no_record:
        with open(ROOT / "benchmarks" / "RESULTS.md", "a", encoding="utf-8") as fh:
            fh.write("\n" + text + "\n")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
