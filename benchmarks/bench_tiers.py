"""Do the loyalty tiers mean something on this data? Tier shares, churn by tier and tier ROC AUC, out of time.

    python benchmarks/bench_tiers.py --case NAME=CLEAN@CUTOFF[@LIST] [--case ...]
                                     [--presets default,retail,wholesale] [--bootstrap 1000] [--seed 0]
                                     [--json PATH]

For each case (a folder written by ``loyalist prepare`` and a cut-off T whose churn window (T, T + horizon] lies
inside the data), the labelled snapshot at T is built with the folder's feature config (look-back, horizon): the
features use events <= T, the label ``churned`` = no completed order in (T, T + horizon]. Each preset's scoring
(``default`` = the built-in defaults, else ``load_config([], preset=name).scoring``; the folder's own scoring is not
used, so every preset is judged on the same rows) is fitted on the snapshot at T (percentile references: events
<= T only) and scored there. Printed per preset:

- the tier shares and the observed churn rate per tier, and whether churn falls from high risk to devoted;
- ``tier AUC``: ROC AUC of the tier (high risk > at risk > stable > devoted) against ``churned``, with a 95%
  percentile bootstrap interval over customers (``--bootstrap`` resamples, seeded), and the paired bootstrap
  interval of its difference from the first preset; ``score AUC``: the same for ``-loyalty_score``;
- with ``@LIST`` (a churn-risk list scored by ``loyalist score --as-of T`` with a model trained on events <= T,
  e.g. ``loyalist train --as-of T``): per tier the mean churn probability beside the observed churn, whether both
  fall from high risk to devoted, and whether the report's tier caution (high-risk share >= mean probability +
  25 points) would fire.

Nothing here is tuned on the cut-off it reports: choose thresholds on an earlier cut-off (a second case) and read
this one as the out-of-time judgement.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from loyalist.config import load_config
from loyalist.config.models import TIERS
from loyalist.config.resolved import config_for_step
from loyalist.data.prepare import read_clean
from loyalist.modeling.supervised.dataset import labelled_snapshot
from loyalist.scoring.loyalty import LoyaltyScorer
from loyalist.scoring.tiers import tier_ranks

CAUTION_GAP = 0.25  # report.summarize_status.tier_model_gap's default


def auc(y: np.ndarray, risk: np.ndarray) -> float:
    """ROC AUC of ``risk`` (higher = churn) against 0/1 ``y``; ties share credit (mid-ranks); NaN risks excluded."""
    ok = ~np.isnan(risk)
    y, risk = y[ok], risk[ok]
    n1 = float(y.sum())
    n0 = float(len(y)) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = pd.Series(risk).rank(method="average").to_numpy()
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def bootstrap(y: np.ndarray, risks: list[np.ndarray], n: int, seed: int) -> np.ndarray:
    """AUC of each risk on ``n`` customer resamples (the same resamples for every risk): shape (n, len(risks))."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, len(risks)))
    for b in range(n):
        idx = rng.integers(0, len(y), len(y))
        out[b] = [auc(y[idx], r[idx]) for r in risks]
    return out


def interval(values: np.ndarray) -> tuple[float, float]:
    lo, hi = np.nanpercentile(values, [2.5, 97.5])
    return float(lo), float(hi)


def scoring_of(preset: str):
    return load_config([], preset=None if preset == "default" else preset).scoring


def run_case(name: str, clean: Path, cutoff: pd.Timestamp, list_path: Path | None, presets: list[str],
             n_boot: int, seed: int) -> dict:
    config = config_for_step(clean, []).config
    tables = read_clean(clean)
    features = config.features
    end = pd.to_datetime(tables["orders"]["order_date"]).max().normalize()
    if cutoff + pd.Timedelta(days=features.churn_horizon_days) > end:
        sys.exit(f"{name}: the {features.churn_horizon_days}-day window after {cutoff.date()} ends after the data "
                 f"({end.date()}); choose an earlier cut-off.")
    snap = labelled_snapshot(tables, cutoff, features)
    y = snap["churned"].to_numpy(dtype="float64")
    probs = None
    if list_path is not None:
        listed = pd.read_parquet(list_path, columns=["customer_id", "churn_probability"])
        probs = snap[["customer_id"]].merge(listed, on="customer_id", how="left")["churn_probability"].to_numpy(
            dtype="float64")
    rows, tier_risk, score_risk = [], [], []
    for preset in presets:
        out = LoyaltyScorer(scoring_of(preset)).fit(snap).transform(snap)
        ranks = tier_ranks(out["loyalty_tier"]).astype("float64")
        ranks[ranks < 0] = np.nan
        tier_risk.append(ranks)
        score_risk.append(-out["loyalty_score"].to_numpy(dtype="float64", na_value=np.nan))
        reasons = out["tier_reason"].astype("string").fillna("")
        row = {"preset": preset, "n": len(snap), "churn_rate": float(y.mean()),
               "median_score": float(out["loyalty_score"].median()),
               "guard_share": float(reasons.str.startswith("guard").mean())}
        rates = []
        for r, tier in enumerate(TIERS):
            mask = ranks == r
            row[f"share_{tier}"] = float(mask.mean())
            row[f"churn_{tier}"] = float(y[mask].mean()) if mask.any() else float("nan")
            rates.append(row[f"churn_{tier}"])
            if probs is not None:
                row[f"p_{tier}"] = float(np.nanmean(probs[mask])) if mask.any() else float("nan")
        present = [x for x in rates if not np.isnan(x)]
        row["monotone"] = all(a <= b for a, b in itertools.pairwise(present))
        if probs is not None:
            p_rates = [row[f"p_{t}"] for t in TIERS if not np.isnan(row[f"p_{t}"])]
            row["p_monotone"] = all(a <= b for a, b in itertools.pairwise(p_rates))
            row["mean_p"] = float(np.nanmean(probs))
            row["caution_fires"] = bool(row["share_high_risk"] - row["mean_p"] >= CAUTION_GAP)
            row["model_auc"] = auc(y, probs)
        row["tier_auc"] = auc(y, ranks)
        row["score_auc"] = auc(y, score_risk[-1])
        rows.append(row)
    boot = bootstrap(y, tier_risk + score_risk, n_boot, seed)
    k = len(presets)
    for j, row in enumerate(rows):
        row["tier_auc_ci"] = interval(boot[:, j])
        row["score_auc_ci"] = interval(boot[:, k + j])
        row["tier_auc_diff_ci"] = interval(boot[:, j] - boot[:, 0])
    return {"case": name, "clean": str(clean), "cutoff": str(cutoff.date()), "horizon_days":
            features.churn_horizon_days, "lookback_days": features.lookback_days, "n": len(snap),
            "list": str(list_path) if list_path else None, "bootstrap": n_boot, "seed": seed, "rows": rows}


def pct(x: float) -> str:
    return "-" if x is None or np.isnan(x) else f"{100 * x:.1f}%"


def print_case(res: dict) -> None:
    print(f"\n### {res['case']}: cut-off {res['cutoff']}, {res['n']:,} customers, churn in the next "
          f"{res['horizon_days']} days {pct(res['rows'][0]['churn_rate'])}; {res['bootstrap']} bootstrap resamples")
    print("\n| preset | devoted | stable | at risk | high risk | churn devoted / stable / at risk / high risk | "
          "monotone | tier AUC [95%] | vs first [95%] | score AUC [95%] | median score | guard-set tier |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in res["rows"]:
        churn = " / ".join(pct(r[f"churn_{t}"]) for t in TIERS)
        lo, hi = r["tier_auc_ci"]
        dlo, dhi = r["tier_auc_diff_ci"]
        slo, shi = r["score_auc_ci"]
        print(f"| {r['preset']} | {pct(r['share_devoted'])} | {pct(r['share_stable'])} | {pct(r['share_at_risk'])} | "
              f"{pct(r['share_high_risk'])} | {churn} | {'yes' if r['monotone'] else 'NO'} | "
              f"{r['tier_auc']:.3f} [{lo:.3f}, {hi:.3f}] | "
              f"{r['tier_auc'] - res['rows'][0]['tier_auc']:+.3f} [{dlo:+.3f}, {dhi:+.3f}] | "
              f"{r['score_auc']:.3f} [{slo:.3f}, {shi:.3f}] | {r['median_score']:.1f} | {pct(r['guard_share'])} |")
    if res["list"]:
        r0 = res["rows"][0]
        print(f"\nChurn model (list {res['list']}): mean probability {pct(r0['mean_p'])}, ROC AUC "
              f"{r0['model_auc']:.3f}. Per tier, mean churn probability (observed churn):\n")
        print("| preset | devoted | stable | at risk | high risk | probability falls with the tier | "
              "report caution fires |")
        print("|---|---|---|---|---|---|---|")
        for r in res["rows"]:
            cells = " | ".join(f"{pct(r[f'p_{t}'])} ({pct(r[f'churn_{t}'])})" for t in TIERS)
            print(f"| {r['preset']} | {cells} | {'yes' if r['p_monotone'] else 'NO'} | "
                  f"{'yes' if r['caution_fires'] else 'no'} |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", required=True, metavar="NAME=CLEAN@CUTOFF[@LIST]",
                        help="a prepared folder, a cut-off with a complete churn window after it, optionally a list "
                             "scored at that cut-off")
    parser.add_argument("--presets", default="default,retail,wholesale",
                        help="comma-separated presets ('default' = no preset); the first is the reference")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the resamples (default 0)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    presets = [p.strip() for p in args.presets.split(",") if p.strip()]
    results = []
    for spec in args.case:
        name, _, rest = spec.partition("=")
        parts = rest.split("@")
        if not name or len(parts) not in (2, 3):
            parser.error(f"--case {spec!r}: expected NAME=CLEAN@CUTOFF or NAME=CLEAN@CUTOFF@LIST")
        list_path = Path(parts[2]) if len(parts) == 3 else None
        res = run_case(name, Path(parts[0]), pd.Timestamp(parts[1]), list_path, presets, args.bootstrap, args.seed)
        print_case(res)
        results.append(res)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float), encoding="utf-8")


if __name__ == "__main__":
    main()
