"""Small versions of benchmarks/bench_uplift.py: Hillstrom (real data, one seed) and the generator's campaigns."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _bench():
    path = REPO / "benchmarks" / "bench_uplift.py"
    spec = importlib.util.spec_from_file_location("_bench_uplift", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.realdata
def test_hillstrom_visit_one_seed(shared_data):
    bench = _bench()
    frame = bench.load(shared_data / "hillstrom-email" / "hillstrom.csv.gz")
    assert frame.shape == (64_000, 12)
    res = bench.run(frame, arm="any", outcome="visit", seeds=[0], permutations=20)
    q = res.set_index("model")["qini"]
    # recorded in benchmarks/RESULTS.md (seed 0): loyalist 0.032, response 0.005, random p95 0.021
    assert q["loyalist"] > q["random_p95"]
    assert q["loyalist"] > q["response"] + 0.01
    # the notebook measurement (pd.get_dummies of all eight columns, two default LogisticRegression):
    # measured 0.038 on seed 0, its response model (the contacted group's) 0.010
    assert q["issue_2m"] > q["random_p95"]
    assert q["issue_2m"] > q["issue_response"] + 0.01
    # one seed: random's p95 of the mean over seeds is that seed's own p95
    assert res.attrs["random_mean_p95"] == pytest.approx(q["random_p95"])
    assert "issue_2m" in bench.verdict(res, "issue_2m")
    u = res.set_index("model")["uplift_at_30"]
    assert 0.05 < u["loyalist"] < 0.12  # the e-mail raises visits by about 8 points among the top 30%


@pytest.mark.slow
def test_generator_uplift_targeting_keeps_more_true_value_than_value_at_risk():
    """Learn from one simulated campaign, target the next (benchmarks/bench_uplift.py with 12,000 generated
    customers per company, seed 0; the benchmark's 5 seeds at 30,000 are in benchmarks/RESULTS.md)."""
    bench = _bench()
    r = bench.run_generator([0], n_customers=12_000).iloc[0]
    assert r["kept_expected_saved_value"] > r["kept_value_at_risk"] > r["kept_random"]
    assert r["persuadables_expected_saved_value"] > 1.5 * r["persuadables_random"]
    assert r["kept_true_effect"] > r["kept_expected_saved_value"]  # the best possible is an upper bound
    # auto's learner: the reference value at risk comes from the default T-learner's control model whatever it chose
    assert r["ratio_reference"] == pytest.approx(r["kept_expected_saved_value"] / r["kept_value_at_risk_reference"])
    # measured here: ratio 1.06 (the benchmark's 30,000-customer companies: 1.22-2.25, the 1.5x goal on 2 of 5 seeds)
