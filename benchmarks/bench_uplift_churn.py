"""Is the generator's 1.5x goal (issue 16 §3) reachable? The ceiling against value at risk with better P(churn).

    OMP_WAIT_POLICY=passive nice -n 10 python benchmarks/bench_uplift_churn.py [--seeds 0-19] [--cache DIR]

The goal: contacting the top 20% by the uplift model keeps >= 1.5x the true value that contacting the top 20% by
value at risk keeps (``bench_uplift.py --generator-only``: learn from company s's simulated campaign, rank company
s+1000's campaign customers). Value at risk is P(churn without contact) x value, so the ratio depends on how well
P(churn) is known: a better churn estimate improves the denominator too. For each source of P(churn) this prints
the ceiling (the simulation's TRUE response functions with that P(churn): ``c x P(persuadable) - (1 - c) x
P(sleeping dog)``, x value if kept) against value at risk computed with the SAME P(churn), and the best possible
(the realised true effect) against it:

- ``t_learner``: the default LightGBM T-learner's control model fitted on the past campaign (bench_uplift's
  reference value at risk);
- ``churn_model``: the product's churn model (:func:`loyalist.modeling.supervised.training.train_churn`, default
  configuration: 90-day labels, month cut-offs, BG/NBD features, calibration, level) trained on ALL customers of
  company s with events up to the campaign date (``events_until``), scored on company s+1000's snapshot at the
  campaign date: what the risk list's ``churn_probability`` would be;
- ``latent``: P(no counted order in the 90 days) from the simulation's latent state at the campaign date, by Monte
  Carlo of :mod:`loyalist.data.synthetic`'s own order process (:func:`latent_churn`): the best P(churn) the
  simulation can tell before the campaign;
- ``realised``: the realised no-contact outcome (0/1; not a probability, the limit).

It also prints the product's ranking (``auto``, expected saved value) against the bench's value at risk (auto's own
control model, as bench_uplift.py) and as the risk list computes it (``add_uplift``: value if kept and value at risk
both from the churn model's ``churn_probability``). Prints only (nothing is appended to RESULTS.md).
``--cache DIR`` keeps each seed's kept sums in DIR/seed<s>.json (a rerun reads them).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _machine import machine_line  # noqa: E402
from bench_uplift import CAMPAIGN_CUSTOMERS, CAMPAIGN_DAY, CAMPAIGN_HORIZON, generated_campaign, true_response  # noqa: E402

from loyalist.uplift.campaign import MIN_P_STAY  # noqa: E402

SOURCES = ("t_learner", "churn_model", "latent", "realised")


def latent_churn(truth: pd.DataFrame, last_order: np.ndarray, *, draws: int = 2000, seed: int = 0) -> np.ndarray:
    """P(no completed order dated D+1 .. D+horizon) per customer from the simulation's state at D (the campaign
    date), by ``draws`` Monte Carlo paths of :mod:`loyalist.data.synthetic`'s order process.

    ``truth``: :func:`loyalist.data.synthetic.generate`'s truth rows of the customers; ``last_order``: each one's
    last order date on or before D. Uses what the simulation knows at D: a dropout (decision + wind-down) on or
    before D is churn for sure; a decision on or before D fixes the dropout and the wind-down thinning (orders kept
    with probability 1 - ``_WIND_DOWN_THIN`` x progress); an undecided customer decides after D at the exponential
    time of its hazard (``base_hazard x hazard_multiplier``; the final multiplier, which may include service events
    after D); orders follow the renewal process (Gamma gaps, shape ``_B2B_ORDER_SHAPE`` for companies and 1 for
    consumers, mean 1 / purchase_rate) with the first gap conditional on exceeding the time since the last order;
    an order counts when completed (the cancel and return rates of ``synthetic._orders``). Decision and dropout
    dates after D are not used.
    """
    from scipy import stats

    from loyalist.data import synthetic as syn

    start = pd.Timestamp("2022-01-01")  # generate()'s default start: day 0 of the simulation

    def day(x: object) -> np.ndarray:
        return ((pd.to_datetime(pd.Series(x)) - start) / pd.Timedelta(days=1)).to_numpy(dtype="float64")

    d = float((pd.Timestamp(CAMPAIGN_DAY) - start).days)
    lo, hi = d + 1.0, d + 1.0 + CAMPAIGN_HORIZON
    rng = np.random.default_rng(seed)
    dec, wd = day(truth["decision_date"]), truth["wind_down_days"].to_numpy(dtype="float64")
    known = np.isfinite(dec) & (dec <= lo)
    dead = known & (dec + wd <= lo)
    last = day(last_order)
    last = np.where(np.isfinite(last), last + 0.5, d - 30.0)
    b2c = (truth["business"].astype(str) == "b2c").to_numpy()
    k = np.where(b2c, 1.0, syn._B2B_ORDER_SHAPE)
    scale = syn._YEAR / truth["purchase_rate"].to_numpy(dtype="float64") / k
    h = (truth["base_hazard"].to_numpy(dtype="float64") * truth["hazard_multiplier"].to_numpy(dtype="float64")
         / syn._YEAR)
    rel = np.minimum(truth["complaint_propensity"].to_numpy(dtype="float64") / 0.35, 4.0)
    p_ok = 1.0 - (0.013 + 0.007 * rel) - (0.02 + 0.01 * rel)  # as synthetic._orders draws cancel / return
    out = np.ones(len(truth))
    for i in np.flatnonzero(~dead):
        d0 = np.full(draws, dec[i]) if known[i] else lo + rng.exponential(1.0 / max(h[i], 1e-12), draws)
        end = d0 + wd[i]
        sf = stats.gamma.sf(max(lo - last[i], 0.0), k[i], scale=scale[i])
        t = last[i] + stats.gamma.isf(rng.random(draws) * sf, k[i], scale=scale[i])
        t = np.where(np.isfinite(t), t, np.inf)
        quiet = np.ones(draws, dtype=bool)  # no counted order in the window yet
        going = np.ones(draws, dtype=bool)
        while True:
            go = going & (t < hi)
            if not go.any():
                break
            frac = np.clip((np.floor(t) + 0.5 - d0) / (end - d0), 0.0, 1.0)
            counted = (go & (t >= lo) & (t < end) & (rng.random(draws) < 1.0 - syn._WIND_DOWN_THIN * frac)
                       & (rng.random(draws) < p_ok[i]))
            quiet &= ~counted
            going = go & quiet & (t < end)
            t = t + rng.gamma(k[i], scale[i], draws)
        out[i] = quiet.mean()
    return out


def churn_sources(seed: int, now: dict, n_customers: int) -> dict[str, np.ndarray]:
    """``churn_model`` and ``latent`` P(churn) for company ``seed + 1000``'s campaign customers (``now``'s order)."""
    from loyalist.config.load import load_config
    from loyalist.data.synthetic import generate
    from loyalist.features.snapshot import build_snapshot
    from loyalist.modeling.supervised.dataset import events_until
    from loyalist.modeling.supervised.training import train_churn

    day = pd.Timestamp(CAMPAIGN_DAY)
    config = load_config(overrides={"compute": {"lgbm_threads": 2}})
    result = train_churn(events_until(generate(n_customers, dirty=False, seed=seed).tables(), day), config)
    data = generate(n_customers, dirty=False, seed=seed + 1000)
    ids = now["truth"]["customer_id"].astype(str).to_numpy()
    snap = build_snapshot(data.tables(), day, config.features)
    snap = snap.assign(customer_id=snap["customer_id"].astype(str)).set_index("customer_id").loc[ids].reset_index()
    orders = data.orders[data.orders["order_date"] <= day]
    last = orders.groupby(orders["customer_id"].astype(str))["order_date"].max().reindex(ids).to_numpy()
    truth = data.truth.assign(customer_id=data.truth["customer_id"].astype(str)).set_index("customer_id").loc[ids]
    return {"churn_model": np.asarray(result.model.score(snap, horizon_days=CAMPAIGN_HORIZON), dtype="float64"),
            "latent": latent_churn(truth, last, seed=seed)}


def run_seed(seed: int, n_customers: int = CAMPAIGN_CUSTOMERS) -> dict:
    """The kept sums of every ranking for one seed (company ``seed`` teaches, ``seed + 1000`` is ranked)."""
    from sklearn.metrics import roc_auc_score

    from loyalist.uplift import CrossValidatedUplift, TwoModelUplift, expected_saved_value

    past, now = generated_campaign(seed, n_customers), generated_campaign(seed + 1000, n_customers)
    auto = CrossValidatedUplift(random_state=seed, n_jobs=2).fit(past["X"], past["t"], past["stay"])
    p0_auto, uplift = auto.predict_outcomes(now["X"])[0], auto.predict(now["X"])
    p0_t = TwoModelUplift(random_state=seed, n_jobs=2).fit(past["X"], past["t"], past["stay"]).predict_outcomes(
        now["X"])[0]
    effect, value = now["truth"]["effect_revenue"].to_numpy(), now["value"]
    realised = now["truth"]["churn_if_control"].to_numpy(dtype="float64")
    churn = {"t_learner": 1 - p0_t, **churn_sources(seed, now, n_customers), "realised": realised}
    k = int(0.2 * len(effect))

    def kept(score: np.ndarray) -> float:
        return float(effect[np.argsort(-score, kind="mergesort")[:k]].sum())

    p_persuade, p_dog = true_response(now["X"])
    row: dict = {"seed": seed, "learner": str(auto.choice_), "best": kept(effect),
                 "product": kept(expected_saved_value(uplift, value, p_stay=p0_auto)),
                 "var_auto": kept((1 - p0_auto) * value),
                 "product_list": kept(expected_saved_value(uplift, value, p_stay=1 - churn["churn_model"]))}
    for name, c in churn.items():
        row[f"var_{name}"] = kept(c * value)
        row[f"ceiling_{name}"] = kept((c * p_persuade - (1 - c) * p_dog) * value / np.clip(1 - c, MIN_P_STAY, 1))
        row[f"auc_{name}"] = float(roc_auc_score(realised, c))
    return row


def _interval(df: pd.DataFrame, num: str, den: str, draws: int = 4000) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    a, b = df[num].to_numpy(), df[den].to_numpy()
    i = rng.integers(0, len(a), (draws, len(a)))
    lo, hi = np.quantile(a[i].sum(axis=1) / b[i].sum(axis=1), [0.025, 0.975])
    return float(lo), float(hi)


def table(df: pd.DataFrame) -> list[str]:
    """Pooled ratios (sum over seeds of kept / sum of kept by the value at risk) with seed-bootstrap intervals."""
    pairs = [("product (auto, expected saved value) / value at risk, both from auto's control model "
              "(bench_uplift.py)", "product", "var_auto"),
             ("product as the risk list computes it: value if kept and value at risk from the churn model",
              "product_list", "var_churn_model")]
    for name in SOURCES:
        pairs += [(f"ceiling with P(churn) = {name} / value at risk with {name}", f"ceiling_{name}", f"var_{name}"),
                  (f"best possible / value at risk with {name}", "best", f"var_{name}")]
    out = ["| ranking / denominator | pooled [95% seed interval] | per seed |", "|---|---|---|"]
    for label, num, den in pairs:
        lo, hi = _interval(df, num, den)
        out.append(f"| {label} | {df[num].sum() / df[den].sum():.3f} [{lo:.2f}, {hi:.2f}] | "
                   + " ".join(f"{x:.2f}" for x in df[num] / df[den]) + " |")
    out += ["", "ROC AUC of P(churn) against the realised no-contact churn of the ranked customers, mean over seeds: "
            + ", ".join(f"{name} {df[f'auc_{name}'].mean():.4f}" for name in SOURCES[:3]) + "."]
    return out


def _seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b or a) + 1))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="0-4", help="e.g. 0-19 or 0-4,15-19")
    ap.add_argument("--cache", type=Path, help="keep each seed's kept sums here (a rerun reads them)")
    args = ap.parse_args(argv)
    t0, c0 = time.perf_counter(), time.process_time()
    rows = []
    for seed in _seeds(args.seeds):
        path = args.cache / f"seed{seed}.json" if args.cache else None
        if path is not None and path.exists():
            rows.append(json.loads(path.read_text()))
            continue
        rows.append(run_seed(seed))
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(rows[-1]))
        print(f"seed {seed}: {time.process_time() - c0:.0f} CPU s so far", file=sys.stderr, flush=True)
    df = pd.DataFrame(rows)
    print("\n".join([f"Seeds {args.seeds}; machine: {machine_line()}", "", *table(df), "",
                     f"Run: {time.process_time() - c0:.0f} CPU s, {time.perf_counter() - t0:.0f} s wall."]))


if __name__ == "__main__":
    main()
