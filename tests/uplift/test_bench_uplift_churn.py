"""benchmarks/bench_uplift_churn.py's latent P(churn) stays faithful to the generator it mirrors."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

REPO = Path(__file__).resolve().parents[2]


def _bench():
    sys.path.insert(0, str(REPO / "benchmarks"))
    path = REPO / "benchmarks" / "bench_uplift_churn.py"
    spec = importlib.util.spec_from_file_location("_bench_uplift_churn", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_latent_churn_matches_the_generated_no_contact_outcome():
    """The Monte Carlo of the simulation's order process from its state at the campaign date predicts who places
    no completed order in the next 90 days: calibrated in the mean and ranking far better than any model can
    (on the benchmark's 30,000-customer companies: ROC AUC 0.974-0.981, mean within 0.006 of the realised rate).
    A change to the generator's order process that the oracle does not follow fails here."""
    from loyalist.data.synthetic import generate

    bench = _bench()
    data = generate(3000, dirty=False, seed=7)
    day = pd.Timestamp(bench.CAMPAIGN_DAY)
    orders = data.orders
    ids = orders.loc[orders["order_date"] <= day, "customer_id"].astype(str).unique()
    last = orders[orders["order_date"] <= day].groupby(orders["customer_id"].astype(str))["order_date"].max()
    window = orders[(orders["order_date"] > day) & (orders["order_date"] <= day + pd.Timedelta(days=90))
                    & (orders["status"].astype(str) == "completed")]
    churned = ~pd.Index(ids).isin(window["customer_id"].astype(str).unique())
    truth = data.truth.assign(customer_id=data.truth["customer_id"].astype(str)).set_index("customer_id").loc[ids]
    p = bench.latent_churn(truth, last.reindex(ids).to_numpy(), draws=300, seed=0)
    assert p.shape == (len(ids),) and np.all((p >= 0) & (p <= 1))
    # measured: ROC AUC 0.978, mean 0.1173 vs 0.1178 realised (2,589 customers); without the decisions known at
    # the date AUC 0.55, with purchase rates off by 2x AUC 0.963 and mean 0.096: both fail
    assert roc_auc_score(churned, p) > 0.97
    assert abs(p.mean() - churned.mean()) < 0.012
