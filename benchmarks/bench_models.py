"""Model quality on the fixed public protocols of ../shared/eval, with loyalist run through its CLI.

    python benchmarks/bench_models.py [--protocols cdnow-sample,cdnow-full,retail-2009]
                                      [--variants protocol,product] [--reuse] [--no-record]

For each protocol (../shared/eval/PROTOCOLS.md: calibration / holdout windows, customer-day purchases, labels):

1. loyalist is run as a user runs it, in a fresh folder benchmarks/_work/<protocol>-<variant>/:
   ``loyalist prepare`` -> ``loyalist train --as-of <cal_end> --churn-horizon-days H --value-horizon-days H``
   (trains on events <= cal_end only) -> ``loyalist score --as-of <cal_end>`` (same horizons); the churn-risk list's
   ``churn_probability`` and ``expected_value`` (and ``expected_purchases`` when the list has it) are the
   predictions. Two inputs (``--variants``):
   - ``protocol``: the protocol's own purchases (protocols.py: valid orders merged to customer-days, no date
     truncation beyond the protocol's, no amount cap, no duplicate dropping), written as an orders file; the
     product's cleaning then changes nothing;
   - ``product``: the raw public file through the product's dataset config (configs/datasets/*.yaml) and its
     cleaning (where it differs from the protocol, the two rows show the effect).
2. The predictions are scored with ../shared/eval/metrics.py on ../shared/eval/protocols.py's labels, beside every
   baseline of ../shared/eval/baselines.py on the same labels. The baselines need lifetimes 0.11.3, which breaks
   on pandas 3, so they run **in their own environment**: benchmarks/_work/baselines-venv, created on first use
   from ../shared/eval/requirements.txt (``pip install -r``), through benchmarks/_baselines_dump.py.
3. Active-customer churn (protocols.active_customers, a purchase in the last 90 days of calibration): ROC AUC of
   every churn scorer on that population.

Results go to benchmarks/RESULTS.md (``--no-record`` prints only). ``--reuse`` reuses a protocol's cached result
(benchmarks/_work/<protocol>-<variant>/result.json) instead of rerunning the CLI.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
EVAL = SHARED / "eval"
WORK = ROOT / "benchmarks" / "_work"
DATA = {
    "cdnow-sample": SHARED / "data" / "cdnow" / "CDNOW_sample.txt.gz",
    "cdnow-full": SHARED / "data" / "cdnow" / "CDNOW_master.txt.gz",
    "retail-2009": SHARED / "data" / "online-retail-ii-2009-2010" / "online_retail_II.parquet",
}
PRODUCT_CONFIG = {"cdnow-sample": "cdnow_sample.yaml", "cdnow-full": "cdnow.yaml",
                  "retail-2009": "online_retail_ii.yaml"}
ENV = {"OMP_WAIT_POLICY": "passive", "MLFLOW_DISABLE_TELEMETRY": "true", "MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK": "true",
       "COLUMNS": "220", "OMP_NUM_THREADS": "2"}


def _module(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


protocols = _module("protocols", EVAL / "protocols.py")
metrics = _module("metrics", EVAL / "metrics.py")


# ------------------------------------------------------------------------------------------ baselines


def baselines_python() -> Path:
    """The baselines' own interpreter (created once from ../shared/eval/requirements.txt)."""
    venv = WORK / "baselines-venv"
    py = venv / "bin" / "python"
    ok = venv / ".installed"
    if not ok.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "-r", str(EVAL / "requirements.txt")], check=True)
        ok.write_text("ok\n")
    return py


def run_baselines(name: str) -> tuple[dict, pd.DataFrame]:
    prefix = WORK / "baselines" / name
    prefix.parent.mkdir(parents=True, exist_ok=True)
    if not (Path(f"{prefix}.json").exists() and Path(f"{prefix}.parquet").exists()):
        subprocess.run([str(baselines_python()), str(ROOT / "benchmarks" / "_baselines_dump.py"), str(EVAL), name,
                        str(DATA[name]), str(prefix)], check=True, env={**os.environ, **ENV})
    with open(f"{prefix}.json") as fh:
        res = json.load(fh)
    return res, pd.read_parquet(f"{prefix}.parquet")


# ------------------------------------------------------------------------------------------ loyalist via the CLI


def _protocol_orders(p, name: str) -> pd.DataFrame:
    """Every customer-day purchase of the protocol's source up to the holdout end (the CLI sees only <= cal_end
    when training and scoring; the holdout rows are there as they would be in a real export)."""
    if name == "retail-2009":
        orders = protocols.read_online_retail(str(DATA[name]))
    else:
        orders = protocols.read_cdnow(str(DATA[name]), sample=name == "cdnow-sample")
    days = protocols.to_customer_days(orders)
    days = days[(days["date"] >= p.cal_start) & (days["date"] <= p.hold_end)]
    return pd.DataFrame({
        "order_id": days["customer_id"] + "-" + days["date"].dt.strftime("%Y%m%d"),
        "customer_id": days["customer_id"],
        "order_date": days["date"],
        "amount": days["amount"],
    })


def _config(p, name: str, variant: str, folder: Path) -> Path:
    if variant == "product":
        return ROOT / "configs" / "datasets" / PRODUCT_CONFIG[name]
    _protocol_orders(p, name).to_parquet(folder / "orders.parquet", index=False)
    path = folder / "protocol.yaml"
    path.write_text(
        "# The protocol's own purchases (customer-days), written by bench_models.py\n"
        "data:\n  orders:\n    path: orders.parquet\n"
        "    columns: {order_id: order_id, customer_id: customer_id, order_date: order_date, amount: amount}\n"
        "  cleaning:\n    extreme_amounts: none\n", encoding="utf-8")
    return path


def _cli(args: list[str], folder: Path, log: Path) -> float:
    exe = Path(sys.executable).parent / "loyalist"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-c", "from loyalist.cli import main; main()"]
    env = {**os.environ, **ENV, "MLFLOW_TRACKING_URI": f"sqlite:///{folder}/mlruns/mlflow.db"}
    started = time.perf_counter()
    with log.open("a", encoding="utf-8") as fh:
        fh.write(f"$ loyalist {' '.join(args)}\n")
        fh.flush()
        done = subprocess.run(cmd + args, cwd=folder, env=env, stdout=fh, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        sys.exit(f"loyalist {args[0]} failed (exit {done.returncode}); see {log}")
    return round(time.perf_counter() - started, 1)


def run_loyalist(p, name: str, variant: str) -> dict:
    folder = WORK / f"{name}-{variant}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    cfg = _config(p, name, variant, folder)
    log = folder / "cli.log"
    cut, h = str(p.cal_end.date()), str(p.horizon_days)
    horizons = ["--churn-horizon-days", h, "--value-horizon-days", h]
    seconds = {
        "prepare": _cli(["prepare", "--config", str(cfg), "--out", "clean"], folder, log),
        "train": _cli(["train", "--config", str(cfg), "--clean", "clean", "--workdir", ".", "--as-of", cut,
                       *horizons], folder, log),
        "score": _cli(["score", "--config", str(cfg), "--clean", "clean", "--workdir", ".", "--as-of", cut,
                       "--out", "scores", *horizons], folder, log),
    }
    risk = pd.read_parquet(folder / "scores" / "churn_risk.parquet")
    text = log.read_text(encoding="utf-8")
    decisions = [line.strip() for line in text.splitlines()
                 if line.strip().startswith(("loyalist-churn version", "loyalist-value version", "Note:",
                                                      "Active customers"))]
    titles = [line.strip() for line in text.splitlines() if " model " in line and "beside the baselines" in line]
    return {"risk": risk, "seconds": seconds, "decisions": decisions, "titles": titles, "log": str(log)}


# ------------------------------------------------------------------------------------------ metrics


def _churn_row(y: pd.Series, score: np.ndarray, active: pd.Index, prob: bool) -> dict:
    out = metrics.churn_metrics(y.to_numpy(), score, is_probability=prob)
    mask = y.index.isin(active)
    out["active_auc"] = metrics.churn_metrics(y.to_numpy()[mask], np.asarray(score)[mask])["roc_auc"]
    return out


def evaluate(name: str, variants: list[str], reuse: bool) -> dict:
    p = protocols.load_protocol(name, str(DATA[name]))
    y = p.labels
    active = protocols.active_customers(p, days=90)
    base_res, base = run_baselines(name)
    base = base.reindex(y.index)
    rows: list[dict] = []

    def add(scorer, churn=None, prob=False, value=None, count=None, note=""):
        r = {"scorer": scorer, "note": note}
        if churn is not None:
            r["churn"] = _churn_row(y["churn"], np.asarray(churn, float), active, prob)
        if value is not None:
            r["value"] = metrics.value_metrics(y["value"].to_numpy(), np.asarray(value, float))
        if count is not None:
            r["count"] = metrics.count_metrics(y["count"].to_numpy(), np.asarray(count, float))
        rows.append(r)

    runs = {}
    for variant in variants:
        cache = WORK / f"{name}-{variant}" / "result.json"
        if reuse and cache.exists():
            cached = json.loads(cache.read_text())
            rows.extend(cached["rows"])
            runs[variant] = cached["run"]
            continue
        run = run_loyalist(p, name, variant)
        risk = run.pop("risk").drop_duplicates("customer_id").set_index("customer_id")
        missing = int((~y.index.isin(risk.index)).sum())
        risk = risk.reindex(y.index)
        prob = risk["churn_probability"].fillna(risk["churn_probability"].mean())
        value = risk["expected_value"].fillna(0.0)
        count = risk["expected_purchases"].fillna(0.0) if "expected_purchases" in risk else None
        label = f"loyalist ({'protocol purchases' if variant == 'protocol' else 'product cleaning'})"
        before = len(rows)
        add(label, prob, True, value, count, note=f"{missing} protocol customers not in the list" if missing else "")
        run.update(missing_customers=missing, has_expected_purchases=count is not None,
                   champions={"churn": risk["churn_model_version"].dropna().astype(str).unique().tolist(),
                              "value": risk["value_model_version"].dropna().astype(str).unique().tolist()})
        runs[variant] = run
        cache.write_text(json.dumps({"rows": rows[before:], "run": run}, default=float, indent=1))

    add("recency-only (days since last purchase)", base["recency"])
    add("frequency-only (fewer purchases = churn)", base["frequency"])
    add("BG/NBD 1 - P(alive)", base["bgnbd_1_minus_p_alive"], True)
    add("BG/NBD P(no purchase in holdout)", base["bgnbd_p_none"], True, count=base["bgnbd_exp_n"])
    add("BG/NBD x Gamma-Gamma E[revenue]", value=base["bgnbd_gg_revenue"])
    add("last-period revenue / purchases", value=base["last_period_revenue"], count=base["last_period_purchases"])
    add("LightGBM (baselines.py)", base["lightgbm_churn"], True, base["lightgbm_value"])
    return {"name": name, "customers": int(len(y)), "churn_rate": float(y["churn"].mean()),
            "active": int(len(active)), "active_churn_rate": float(y.loc[active, "churn"].mean()),
            "horizon_days": p.horizon_days, "cal": [p.spec.cal_start, p.spec.cal_end], "hold_end": p.spec.hold_end,
            "holdout_revenue": float(y["value"].sum()), "holdout_purchases": int(y["count"].sum()),
            "rows": rows, "runs": runs,
            "baseline_params": {k: base_res["params"][k] for k in ("bgnbd", "gg")}}


# ------------------------------------------------------------------------------------------ output

COLS = [("churn", "roc_auc", "ROC AUC", 3), ("churn", "pr_auc", "PR AUC", 3), ("churn", "brier", "Brier", 4),
        ("churn", "ece", "ECE", 3), ("churn", "mean_prob", "mean p / obs.", 3),
        ("churn", "active_auc", "active AUC", 3), ("value", "norm_gini", "Gini", 3),
        ("value", "spearman", "Spearman", 3), ("value", "mae", "MAE", 2), ("value", "decile_mape", "decile MAPE", 3),
        ("value", "total_err_pct", "revenue err %", 1), ("count", "total_err_pct", "purchases err %", 1),
        ("count", "rmse", "purch. RMSE", 3), ("count", "pearson", "purch. r", 3)]


def _cell(r: dict, kind: str, key: str, nd: int) -> str:
    m = r.get(kind)
    if not m or key not in m or m[key] is None or not np.isfinite(m[key]):
        return ""
    if key == "mean_prob":
        return f"{m[key]:.3f} / {m['base_rate']:.3f}"
    return f"{m[key]:.{nd}f}"


def goals(res: dict) -> list[str]:
    """The issue's goals for each loyalist row, met or missed, with the figures."""
    out = []
    base_rows = [r for r in res["rows"] if not r["scorer"].startswith("loyalist")]
    best_auc = max((r["churn"]["roc_auc"], r["scorer"]) for r in base_rows if "churn" in r)
    best_act = max((r["churn"]["active_auc"], r["scorer"]) for r in base_rows if "churn" in r)
    best_gini = max((r["value"]["norm_gini"], r["scorer"]) for r in base_rows if "value" in r)
    bg_mape = next(r["value"]["decile_mape"] for r in base_rows if r["scorer"].startswith("BG/NBD x"))
    for r in res["rows"]:
        if not r["scorer"].startswith("loyalist"):
            continue
        c, v, n = r["churn"], r["value"], r.get("count")

        def mark(ok):
            return "met" if ok else "**missed**"
        items = [
            f"churn AUC {c['roc_auc']:.3f} vs best baseline {best_auc[0]:.3f} ({best_auc[1]}) + 0.01: "
            f"{mark(c['roc_auc'] >= best_auc[0] + 0.01)}",
            f"value Gini {v['norm_gini']:.3f} vs best {best_gini[0]:.3f} ({best_gini[1]}): "
            + ("tie (the same ranking)" if abs(v['norm_gini'] - best_gini[0]) < 1e-4
               else mark(v['norm_gini'] >= best_gini[0])),
            f"revenue total {v['total_err_pct']:+.1f}%: {mark(abs(v['total_err_pct']) <= 10)}",
            ("purchases total: not in the churn-risk list (no expected purchases column): **missed**" if n is None
             else f"purchases total {n['total_err_pct']:+.1f}%: {mark(abs(n['total_err_pct']) <= 10)}"),
            f"decile MAPE {v['decile_mape']:.3f} vs BG/NBD x GG {bg_mape:.3f}: {mark(v['decile_mape'] <= bg_mape)}",
            f"ECE {c['ece']:.3f}: {mark(c['ece'] <= 0.03)}",
            f"mean predicted churn {c['mean_prob']:.3f} vs observed {c['base_rate']:.3f}: "
            f"{mark(abs(c['mean_prob'] - c['base_rate']) <= 0.03)}",
            f"active-customer AUC {c['active_auc']:.3f} vs best {best_act[0]:.3f} ({best_act[1]}) + 0.02: "
            f"{mark(c['active_auc'] >= best_act[0] + 0.02)}",
        ]
        out.append(f"- {r['scorer']}: " + "; ".join(items) + ".")
    return out


def summary_table(results: list[dict]) -> str:
    """One line per protocol and loyalist input: loyalist / the best baseline for each goal (the README's table)."""
    head = ("| protocol (input) | churn ROC AUC: loyalist / best baseline | Brier / BG/NBD | ECE | mean p / obs. "
            "| active AUC / best | value Gini / best | decile MAPE / BG/NBD x GG | revenue total err % / BG/NBD x GG |")
    lines = [head, "|---" * 9 + "|"]
    for res in results:
        base = [r for r in res["rows"] if not r["scorer"].startswith("loyalist")]
        auc = max(r["churn"]["roc_auc"] for r in base if "churn" in r)
        act = max(r["churn"]["active_auc"] for r in base if "churn" in r)
        gini = max(r["value"]["norm_gini"] for r in base if "value" in r)
        bg = next(r for r in base if r["scorer"].startswith("BG/NBD P(no"))["churn"]
        bgv = next(r for r in base if r["scorer"].startswith("BG/NBD x"))["value"]
        for r in res["rows"]:
            if not r["scorer"].startswith("loyalist"):
                continue
            c, v = r["churn"], r["value"]
            variant = "protocol purchases" if "protocol" in r["scorer"] else "product cleaning"
            lines.append(
                f"| {res['name']} ({variant}) | {c['roc_auc']:.3f} / {auc:.3f} | {c['brier']:.4f} / {bg['brier']:.4f} "
                f"| {c['ece']:.3f} | {c['mean_prob']:.3f} / {c['base_rate']:.3f} | {c['active_auc']:.3f} / {act:.3f} "
                f"| {v['norm_gini']:.3f} / {gini:.3f} | {v['decile_mape']:.3f} / {bgv['decile_mape']:.3f} "
                f"| {v['total_err_pct']:+.1f} / {bgv['total_err_pct']:+.1f} |")
    return "\n".join(lines)


def to_markdown(results: list[dict], command: str) -> str:
    from _machine import machine_line

    out = [f"## Model quality on the public protocols, through the CLI ({pd.Timestamp.now():%Y-%m-%d %H:%M})", "",
           f"Command: `{command}` · machine: {machine_line()}", "",
           "loyalist: `loyalist prepare` -> `loyalist train --as-of <cal_end> --churn-horizon-days H "
           "--value-horizon-days H` -> `loyalist score --as-of <cal_end>` (same horizons), in a fresh folder and "
           "MLflow store per protocol; its churn-risk list is scored with ../shared/eval/metrics.py on "
           "../shared/eval/protocols.py's labels. Baselines: ../shared/eval/baselines.py run unchanged in its own "
           "environment (lifetimes 0.11.3, pandas 2.3.3; benchmarks/_work/baselines-venv), its per-customer "
           "predictions scored with the same metrics on the same labels. 'protocol purchases' = loyalist fed the "
           "protocol's own customer-day purchases; 'product cleaning' = the raw file through "
           "configs/datasets/*.yaml and loyalist's cleaning. 'mean p / obs.' = mean predicted churn probability / "
           "observed churn rate; 'active AUC' = ROC AUC among customers with a purchase in the last 90 days of "
           "calibration. Blank = the metric does not apply.", "", "Summary (loyalist / best baseline on the same "
           "labels; the full tables follow):", "", summary_table(results), ""]
    for res in results:
        out += [f"### {res['name']}: {res['customers']:,} customers, calibration {res['cal'][0]}..{res['cal'][1]}, "
                f"holdout to {res['hold_end']} ({res['horizon_days']} days), churn rate {res['churn_rate']:.3f}; "
                f"active customers {res['active']:,} (churn rate {res['active_churn_rate']:.3f}); holdout revenue "
                f"{res['holdout_revenue']:,.2f}, purchases {res['holdout_purchases']:,}", ""]
        out += ["| scorer | " + " | ".join(c[2] for c in COLS) + " |", "|---" * (len(COLS) + 1) + "|"]
        for r in res["rows"]:
            name = f"**{r['scorer']}**" if r["scorer"].startswith("loyalist") else r["scorer"]
            note = f" ({r['note']})" if r.get("note") else ""
            out.append(f"| {name}{note} | " + " | ".join(_cell(r, *c[:2], c[3]) for c in COLS) + " |")
        out += ["", "Goals (issue 11):", *goals(res), ""]
        for variant, run in res["runs"].items():
            out.append(f"- CLI run, {variant}: seconds {run['seconds']}; champions used by the list: churn "
                       f"{run['champions']['churn']}, value {run['champions']['value']}.")
            out += [f"  - {t}" for t in run.get("titles", [])]
            out += [f"  - {d}" for d in run["decisions"]]
        out.append("")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--protocols", default="cdnow-sample,cdnow-full,retail-2009")
    parser.add_argument("--variants", default="protocol,product")
    parser.add_argument("--reuse", action="store_true", help="reuse cached CLI results in benchmarks/_work")
    parser.add_argument("--no-record", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args()
    missing = [str(DATA[n]) for n in args.protocols.split(",") if not DATA[n].exists()]
    if missing:
        sys.exit(f"Data not found: {missing}; the model benchmark needs ../shared/data beside the checkout.")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    WORK.mkdir(parents=True, exist_ok=True)
    results = []
    for name in args.protocols.split(","):
        print(f"== {name}", flush=True)
        results.append(evaluate(name.strip(), args.variants.split(","), args.reuse))
    command = "python benchmarks/bench_models.py" + (
        f" --protocols {args.protocols}" if args.protocols != parser.get_default("protocols") else "") + (
        f" --variants {args.variants}" if args.variants != parser.get_default("variants") else "")
    text = to_markdown(results, command)
    print(text)
    (WORK / "last_results.md").write_text(text, encoding="utf-8")
    if not args.no_record:
        path = ROOT / "benchmarks" / "RESULTS.md"
        prior = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n\n"
        path.write_text(prior.rstrip() + "\n\n" + text + "\n", encoding="utf-8")
        print(f"recorded in {path}")


if __name__ == "__main__":
    main()
