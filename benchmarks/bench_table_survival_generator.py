"""Customer-table survival against the synthetic generator's truth (issue 15 §2, "on the generator against its
truth").

    python benchmarks/bench_table_survival_generator.py [--customers 4000] [--seed 7]

A customer table is built from ``loyalist.data.synthetic.generate``'s truth (company mode, clean): tenure = whole
months from the later of sign-up and the window's start to the dropout (or the window's end), churn = a dropout
happened; the attributes a customer table would hold (industry, size, region, business) plus the latent purchase
rate and amount variation (the generator's static hazard drivers). The LightGBM hazard and Cox are judged beside
Kaplan-Meier by :func:`loyalist.tabular.survival.cross_validate_survival` (5 stratified folds, months 1..36), and
beside the C of the generator's true log hazard in force (base hazard x multiplier, which includes latent and
service-event parts no table column holds): the ceiling. Prints only.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from loyalist.data.synthetic import generate
from loyalist.tabular import make_folds
from loyalist.tabular import survival as sv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    g = generate(n_customers=args.customers, seed=args.seed, dirty=False)
    t = g.truth
    end = pd.Timestamp(g.params.get("end", "2024-12-31")) + pd.Timedelta(days=1)
    start = pd.to_datetime(t["signup_date"]).clip(lower=pd.Timestamp(g.params.get("start", "2022-01-01")))
    stop = pd.to_datetime(t["dropout_date"]).fillna(end)
    d = np.ceil(((stop - start).dt.days / sv.DAYS_PER_MONTH).to_numpy())
    e = t["dropout_date"].notna().to_numpy()
    keep = d > 0
    X = pd.DataFrame({"industry": t["industry"].astype("string"), "size": t["size"].astype("string"),
                      "region": t["region"].astype("string"), "business": t["business"].astype("string"),
                      "purchase_rate": t["purchase_rate"], "amount_cv": t["amount_cv"]})[keep].reset_index(drop=True)
    d, e = d[keep], e[keep]
    true_log_h = np.log(t["base_hazard"].to_numpy()[keep]) + np.log(t["hazard_multiplier"].to_numpy()[keep])
    folds = make_folds(e.astype(int), 5, 0)
    cv = sv.cross_validate_survival(X, d, e, {sv.HAZARD: lambda: sv.HazardModel(n_jobs=1), sv.COX: sv.CoxModel},
                                    folds, horizon=36)
    print(f"{len(d):,} customers, {e.mean():.3f} dropped out, longest tenure {d.max():.0f} months")
    print(cv.summary.round(4).to_string())
    cs = [sv.concordance(d[te], e[te], -true_log_h[te]) for _, te in folds]
    print(f"truth (the generator's log hazard in force) C {np.mean(cs):.4f} ± {np.std(cs, ddof=1):.4f}")


if __name__ == "__main__":
    main()
