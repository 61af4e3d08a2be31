"""Coverage of the measured effect's interval (issue 16 §2 goal: the 95% interval covers the true effect in at
least 90% of 100 seeded campaigns), on campaigns simulated with heterogeneous effects.

The generator's orders (3,000 customers, seed 11) and their snapshot at 2024-06-30; the customers with an order in
the look-back get a fixed random tier, band and action; each campaign draws its own 10% control group (seed
1000 + i) and its own customer types (:func:`loyalist.data.campaign.simulate_uplift_campaign`, seed i:
persuadables, sure things, lost causes, sleeping dogs); ``loyalist effect``'s measurement
(:func:`loyalist.batch.effect.measure_effect`) over 90 days is compared with the true mean effect over the
campaign's customers (churn and revenue).

    python benchmarks/bench_effect.py --campaigns 100
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from loyalist.batch.control import assign_control
from loyalist.batch.effect import campaign_outcomes, measure_effect
from loyalist.config.models import FeatureConfig
from loyalist.data.campaign import simulate_uplift_campaign
from loyalist.data.synthetic import generate
from loyalist.features.snapshot import build_snapshot

DAY, HORIZON = pd.Timestamp("2024-06-30"), 90


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=100)
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--share", type=float, default=0.1)
    args = parser.parse_args()
    started = time.perf_counter()
    data = generate(n_customers=args.customers, seed=11, dirty=False)
    snapshot = build_snapshot(data.tables(), DAY, FeatureConfig())
    ids = snapshot["customer_id"].astype(str)
    rng = np.random.default_rng(100)
    risk = pd.DataFrame({"customer_id": ids, "loyalty_tier": rng.choice(["stable", "at_risk"], len(ids)),
                         "risk_band": rng.choice(["medium", "high"], len(ids)),
                         "recommended_action": rng.choice(["Call / 致电", "Coupon / 优惠券"], len(ids))})
    covered = {"churn": 0, "revenue": 0}
    zero = 0
    effects = []
    for seed in range(args.campaigns):
        assignment = assign_control(risk, share=args.share, seed=1000 + seed, campaign="c",
                                    campaign_date=str(DAY.date()))
        world, truth = simulate_uplift_campaign(data.orders, assignment, snapshot, horizon_days=HORIZON, seed=seed)
        table = measure_effect(campaign_outcomes(assignment, world, horizon_days=HORIZON), levels=())
        for outcome in covered:
            row = table[table["outcome"] == outcome].iloc[0]
            covered[outcome] += int(row["ci_low"] <= truth[f"effect_{outcome}"].mean() <= row["ci_high"])
        churn = table[table["outcome"] == "churn"].iloc[0]
        zero += int(churn["ci_low"] <= 0 <= churn["ci_high"])
        effects.append(truth["effect_churn"].mean())
    n = args.campaigns
    print(f"{n} campaigns of {len(ids):,} customers ({args.share:.0%} control), true mean churn effect "
          f"{np.mean(effects):+.4f} (range {np.min(effects):+.4f} to {np.max(effects):+.4f}): the 95% interval "
          f"covered it in {covered['churn']}/{n} (churn) and {covered['revenue']}/{n} (revenue); the churn "
          f"interval covered 0 in {zero}/{n}; {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
