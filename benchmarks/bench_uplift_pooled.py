"""Does learning from two past campaigns beat learning from the last one? (issue 16 §3, 'loyalist uplift' with
``--assignment`` repeated; :func:`loyalist.uplift.pool_campaigns`)

    nice -n 10 python benchmarks/bench_uplift_pooled.py [--seeds 0-4] [--method auto]

Per seed, company ``seed`` (30,000 generated customers, bench_uplift's generator) runs two retention campaigns, on
2024-03-31 and on 2024-06-30 (the second simulated on the world the first left; each to the customers whose last
order is over 30 days old at its date, 50% control, 90-day horizon), and the uplift model learns either from the
2024-06-30 campaign alone or from both pooled, as ``loyalist uplift`` does (each campaign's features at its own
date, a customer in both kept in one fold of the auto learner's choice). Each model ranks the 2024-06-30 campaign
of company ``seed + 1000`` (bench_uplift's ``generated_campaign``, the same target as its generator goal); the
table gives the true revenue kept by contacting the top 20% by expected saved value (uplift x value if kept) over
the top 20% by value at risk (the default LightGBM T-learner's control model fitted on the last campaign, the same
denominator for both rows), pooled over the seeds with a seed-bootstrap interval. Prints only (no RESULTS record).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_uplift import CAMPAIGN_CONTROL, CAMPAIGN_CUSTOMERS, CAMPAIGN_HORIZON, generated_campaign  # noqa: E402

DAYS = ("2024-03-31", "2024-06-30")


def two_campaigns(seed: int, n_customers: int = CAMPAIGN_CUSTOMERS) -> list:
    """Company ``seed``'s two campaigns as :class:`loyalist.uplift.CampaignTrainingSet` (oldest first)."""
    from loyalist.batch.effect import campaign_outcomes
    from loyalist.config.models import FeatureConfig
    from loyalist.data.campaign import simulate_uplift_campaign
    from loyalist.data.synthetic import generate
    from loyalist.features.snapshot import build_snapshot
    from loyalist.uplift import campaign_training_set

    data = generate(n_customers, dirty=False, seed=seed)
    tables, orders = data.tables(), data.orders
    rng = np.random.default_rng(seed)
    assignments = []
    for day in DAYS:
        snap = build_snapshot({**tables, "orders": orders}, day, FeatureConfig())
        snap = snap[snap["recency_days"] > 30].reset_index(drop=True)
        assignment = pd.DataFrame({
            "campaign": f"c{day}", "campaign_date": pd.Timestamp(day), "customer_id": snap["customer_id"].astype("string"),
            "action": "call", "loyalty_tier": "all", "risk_band": "all",
            "group": np.where(rng.random(len(snap)) < CAMPAIGN_CONTROL, "control", "treatment")})
        orders, _ = simulate_uplift_campaign(orders, assignment, snap, horizon_days=CAMPAIGN_HORIZON, seed=seed)
        assignments.append(assignment)
    final = {**tables, "orders": orders}
    return [campaign_training_set(build_snapshot(final, day, FeatureConfig()),
                                  campaign_outcomes(a, orders, horizon_days=CAMPAIGN_HORIZON))
            for day, a in zip(DAYS, assignments, strict=True)]


def _seeds(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def main(argv: list[str] | None = None) -> None:
    from loyalist.uplift import (
        CrossValidatedUplift,
        TwoModelUplift,
        expected_saved_value,
        make_uplift_model,
        pool_campaigns,
    )

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="0-4")
    ap.add_argument("--method", default="auto")
    args = ap.parse_args(argv)
    rows = []
    t0, c0 = time.perf_counter(), time.process_time()
    for seed in _seeds(args.seeds):
        sets, now = two_campaigns(seed), generated_campaign(seed + 1000)
        last, pooled = sets[-1], pool_campaigns(sets)
        ref = TwoModelUplift(random_state=seed, n_jobs=2).fit(last.X, last.treatment, last.stay)
        p0_ref = ref.predict_outcomes(now["X"])[0]
        effect = now["truth"]["effect_revenue"].to_numpy()
        k = int(0.2 * len(effect))

        def kept(score: np.ndarray, effect: np.ndarray = effect, k: int = k) -> float:
            return float(effect[np.argsort(-score, kind="mergesort")[:k]].sum())

        row = {"seed": seed, "last_rows": len(last.X), "pooled_rows": len(pooled.X),
               "kept_value_at_risk": kept((1 - p0_ref) * now["value"])}
        for name, data in (("last", last), ("pooled", pooled)):
            model = make_uplift_model(args.method, random_state=seed, n_jobs=2)
            if isinstance(model, CrossValidatedUplift) and data.pooled:
                model.fit(data.X, data.treatment, data.stay, groups=data.customer_id.to_numpy(dtype=object))
            else:
                model.fit(data.X, data.treatment, data.stay)
            p0 = model.predict_outcomes(now["X"])[0]
            row[f"kept_{name}"] = kept(expected_saved_value(model.predict(now["X"]), now["value"], p_stay=p0))
            row[f"learner_{name}"] = str(getattr(model, "choice_", args.method))
        rows.append(row)
        print(f"seed {seed}: last {row['kept_last'] / row['kept_value_at_risk']:.3f} ({row['learner_last']}, "
              f"{row['last_rows']:,} rows), pooled {row['kept_pooled'] / row['kept_value_at_risk']:.3f} "
              f"({row['learner_pooled']}, {row['pooled_rows']:,} rows)", flush=True)
    res = pd.DataFrame(rows)
    rng = np.random.default_rng(0)
    print(f"\n| learns from | pooled ratio over seeds {args.seeds} | 95% interval (seeds resampled) |\n|---|---|---|")
    for name in ("last", "pooled"):
        ratio = res[f"kept_{name}"].sum() / res["kept_value_at_risk"].sum()
        draws = [res.iloc[i][f"kept_{name}"].sum() / res.iloc[i]["kept_value_at_risk"].sum()
                 for i in (rng.integers(0, len(res), len(res)) for _ in range(2000))]
        print(f"| {'the 2024-06-30 campaign' if name == 'last' else 'both campaigns pooled'} | {ratio:.3f} | "
              f"[{np.quantile(draws, 0.025):.3f}, {np.quantile(draws, 0.975):.3f}] |")
    print(f"\n{time.process_time() - c0:.0f} CPU s, {time.perf_counter() - t0:.0f} s wall")


if __name__ == "__main__":
    main()
