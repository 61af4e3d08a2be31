"""Learning an uplift model from several past campaigns pooled: each campaign's rows keep the features of its own
date and the outcomes of its own horizon, and a customer in two campaigns is never learned from and judged on."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import StratifiedKFold, train_test_split

from loyalist.batch.effect import campaign_outcomes
from loyalist.config.models import FeatureConfig
from loyalist.data.campaign import simulate_uplift_campaign
from loyalist.data.synthetic import generate
from loyalist.errors import CampaignError
from loyalist.features.snapshot import build_snapshot
from loyalist.uplift import (
    CrossValidatedUplift,
    LogisticTwoModelUplift,
    campaign_training_set,
    cv_splits,
    evaluate_uplift,
    holdout_split,
    pool_campaigns,
    qini_interval,
    random_qini,
)

HORIZON = 90
DAYS = ("2024-03-31", "2024-06-30")


def _assignment(snap: pd.DataFrame, name: str, day: str, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "campaign": name, "campaign_date": pd.Timestamp(day), "customer_id": snap["customer_id"].astype("string"),
        "action": "Call / 致电", "loyalty_tier": "stable", "risk_band": "high",
        "group": np.where(rng.random(len(snap)) < 0.4, "control", "treatment"), "share": 0.4, "seed": seed})


@pytest.fixture(scope="module")
def two_campaigns():
    """One company, a campaign on 2024-03-31 and another on 2024-06-30 (the second simulated on the world the
    first left), most customers in both."""
    data = generate(2500, dirty=False, seed=41)
    tables = data.tables()
    snaps, assignments, orders = [], [], data.orders
    for i, (name, day) in enumerate(zip(("winter", "spring"), DAYS, strict=True)):
        snap = build_snapshot({**tables, "orders": orders}, day, FeatureConfig())
        assignment = _assignment(snap, name, day, seed=5 + i)
        orders, _ = simulate_uplift_campaign(orders, assignment, snap, horizon_days=HORIZON, seed=5 + i)
        snaps.append(snap)
        assignments.append(assignment)
    # each campaign's features are the snapshot at its own date of the final world (events dated <= that date
    # only: the second campaign changed nothing before its date, so the first snapshot is unchanged by it)
    final = {**tables, "orders": orders}
    sets = [campaign_training_set(build_snapshot(final, day, FeatureConfig()),
                                  campaign_outcomes(a, orders, horizon_days=HORIZON))
            for day, a in zip(DAYS, assignments, strict=True)]
    return data, orders, assignments, sets


def test_pooled_rows_keep_their_own_dates_and_a_customer_stays_on_one_side(two_campaigns):
    _, _, assignments, sets = two_campaigns
    pooled = pool_campaigns(sets)
    assert len(pooled.X) == sum(len(a) for a in assignments) and pooled.pooled
    assert pooled.campaigns == [(pd.Timestamp(d), len(a)) for d, a in zip(DAYS, assignments, strict=True)]
    assert pooled.campaign_date == pd.Timestamp(DAYS[1])
    # the time rule per row: the first campaign's rows carry the snapshot at ITS date, not the later one's
    n1 = len(sets[0].X)
    pd.testing.assert_frame_equal(pooled.X.iloc[:n1].reset_index(drop=True), sets[0].X.reset_index(drop=True))
    np.testing.assert_array_equal(pooled.stay[n1:], sets[1].stay)
    twice = pooled.customer_id[pooled.customer_id.duplicated()]
    assert len(twice) > 1000  # most customers are in both campaigns

    tr, te = holdout_split(pooled, seed=3)
    ids = pooled.customer_id.to_numpy(dtype=object)
    assert len(tr) + len(te) == len(ids) and not set(ids[tr]) & set(ids[te])
    assert 0.25 < len(set(ids[te])) / len(set(ids)) < 0.35
    # a single campaign's split is the plain stratified row split it always was
    single = sets[1]
    rows = np.arange(len(single.stay))
    expected = train_test_split(rows, test_size=0.3, random_state=3, stratify=single.treatment * 2 + single.stay)
    for got, want in zip(holdout_split(single, seed=3), expected, strict=True):
        np.testing.assert_array_equal(got, want)

    strata = pooled.treatment * 2 + pooled.stay
    for train, test in cv_splits(strata, ids, 3, seed=11):
        assert not set(ids[train]) & set(ids[test])
    # unique (or no) groups: exactly the stratified folds the auto learner used before
    plain = list(StratifiedKFold(n_splits=3, shuffle=True, random_state=11).split(np.zeros(len(single.stay)),
                                                                                   single.treatment * 2 + single.stay))
    for groups in (None, single.customer_id.to_numpy(dtype=object)):
        for (a, b), (c, d) in zip(cv_splits(single.treatment * 2 + single.stay, groups, 3, 11), plain, strict=True):
            np.testing.assert_array_equal(a, c)
            np.testing.assert_array_equal(b, d)


def test_auto_learner_folds_keep_a_customer_together(two_campaigns, monkeypatch):
    _, _, _, sets = two_campaigns
    pooled = pool_campaigns(sets)
    seen: list[tuple[set, set]] = []
    real = CrossValidatedUplift._fold_predictions

    def record(self, names, X, t, y, X_test):
        seen.append((set(ids[X.index]), set(ids[X_test.index])))
        return real(self, names, X, t, y, X_test)

    ids = pooled.customer_id.to_numpy(dtype=object)
    monkeypatch.setattr(CrossValidatedUplift, "_fold_predictions", record)
    ev = evaluate_uplift(pooled, lambda: CrossValidatedUplift(random_state=0, n_jobs=1, repeats=1), permutations=5,
                         bootstrap=0)
    assert len(seen) == 3 and all(not a & b for a, b in seen)
    assert ev.n_train + ev.n_test == len(pooled.X)


def test_held_out_interval_and_random_gate_count_a_customer_once():
    """A customer's rows in two pooled campaigns are not two independent samples: the bootstrap interval draws
    customers and a random ranking ranks customers. With every customer on two identical rows, the grouped figures
    are exactly those of the customers once; drawn by row they were too narrow (the interval 0.001 to 0.081 above 0,
    'evidence not thin', against -0.009 to 0.099) and the random 95th percentile, the champion gate, lower."""
    rng = np.random.default_rng(3)
    n = 600
    t = (rng.random(n) < 0.5).astype(int)
    s = rng.random(n)
    y = (rng.random(n) < 0.5 + 0.2 * t * (s > 0.5)).astype(int)
    ids = np.arange(n).astype(str)
    y2, s2, t2, g2 = np.r_[y, y], np.r_[s, s], np.r_[t, t], np.r_[ids, ids]
    once = qini_interval(y, s, t, seed=0)
    assert qini_interval(y2, s2, t2, seed=0, groups=g2) == pytest.approx(once)
    assert random_qini(y2, t2, seed=0, groups=g2) == pytest.approx(random_qini(y, t, seed=0))
    assert once[0] < 0 < qini_interval(y2, s2, t2, seed=0)[0]  # rows drawn alone: "not thin", wrongly
    assert random_qini(y2, t2, seed=0) < random_qini(y, t, seed=0) - 0.01
    # unique labels draw exactly the rows (a single campaign's figures do not move)
    assert qini_interval(y, s, t, seed=0, groups=ids) == once
    assert random_qini(y, t, seed=0, groups=ids) == random_qini(y, t, seed=0)


def test_pooled_evaluation_resamples_held_out_customers(two_campaigns):
    _, _, _, sets = two_campaigns
    pooled = pool_campaigns(sets)
    ev = evaluate_uplift(pooled, lambda: LogisticTwoModelUplift(random_state=0), permutations=20, bootstrap=50,
                         seed=3)
    _, te = holdout_split(pooled, seed=3)
    ids = pooled.customer_id.to_numpy(dtype=object)[te]
    score = ev.model.predict(pooled.X.iloc[te])
    y, t = pooled.stay[te], pooled.treatment[te]
    assert (ev.qini_low, ev.qini_high) == pytest.approx(qini_interval(y, score, t, n_resamples=50, seed=3, groups=ids))
    assert (ev.qini_low, ev.qini_high) != pytest.approx(qini_interval(y, score, t, n_resamples=50, seed=3))
    assert ev.qini_random_p95 == pytest.approx(random_qini(y, t, n_permutations=20, seed=3, groups=ids))
    # a single campaign: the row-wise figures as before
    single = sets[1]
    ev1 = evaluate_uplift(single, lambda: LogisticTwoModelUplift(random_state=0), permutations=20, bootstrap=50,
                          seed=3)
    _, te1 = holdout_split(single, seed=3)
    y1, t1 = single.stay[te1], single.treatment[te1]
    assert (ev1.qini_low, ev1.qini_high) == qini_interval(y1, ev1.model.predict(single.X.iloc[te1]), t1,
                                                          n_resamples=50, seed=3)
    assert ev1.qini_random_p95 == random_qini(y1, t1, n_permutations=20, seed=3)


def test_same_date_twice_is_refused(two_campaigns):
    _, _, _, sets = two_campaigns
    with pytest.raises(CampaignError, match="Two of the campaigns to pool are dated 2024-06-30"):
        pool_campaigns([sets[1], sets[1]])
    with pytest.raises(CampaignError, match="No campaign to learn from"):
        pool_campaigns([])


def test_cli_uplift_learns_from_two_campaigns(two_campaigns, tmp_path):
    from mlflow import MlflowClient
    from typer.testing import CliRunner

    from loyalist.cli import app

    data, orders, assignments, _ = two_campaigns
    clean = tmp_path / "clean"
    clean.mkdir()
    orders.to_parquet(clean / "orders.parquet")
    for name in ("customers", "tickets", "surveys"):
        getattr(data, name).to_parquet(clean / f"{name}.parquet")
    files = []
    for a, day in zip(assignments, DAYS, strict=True):
        files.append(tmp_path / f"control_{day}.parquet")
        a.to_parquet(files[-1])
    store = f"sqlite:///{tmp_path}/mlruns/mlflow.db"
    env = {"COLUMNS": "200", "MLFLOW_TRACKING_URI": store}
    common = ["--clean", str(clean), "--horizon-days", str(HORIZON), "--workdir", str(tmp_path), "--method",
              "logistic"]
    result = CliRunner().invoke(app, ["uplift", "--assignment", str(files[0]), "--assignment", str(files[1]),
                                      *common, "--out", str(tmp_path / "u")], env=env)
    assert result.exit_code == 0, result.output + repr(result.exception)
    meta = json.loads((tmp_path / "u" / "uplift.json").read_text(encoding="utf-8"))
    assert meta["campaign"] == "winter + spring" and meta["campaign_date"] == "2024-03-31 + 2024-06-30"
    assert [(c["campaign"], c["campaign_date"], c["customers"]) for c in meta["campaigns"]] == [
        ("winter", "2024-03-31", len(assignments[0])), ("spring", "2024-06-30", len(assignments[1]))]
    assert meta["customers"] == len(assignments[0]) + len(assignments[1])
    assert meta["control"] == sum(int((a["group"] == "control").sum()) for a in assignments)
    assert meta["metrics"]["n_train"] + meta["metrics"]["n_test"] == meta["customers"]
    # "customers" counts a customer once per campaign; the distinct ones are said beside it
    everyone = pd.concat([a["customer_id"] for a in assignments])
    assert meta["distinct_customers"] == everyone.nunique() < meta["customers"]
    assert meta["held_out_customers"] < meta["metrics"]["n_test"]
    assert 0.25 < meta["held_out_customers"] / meta["distinct_customers"] < 0.35
    run = MlflowClient(store).get_run(meta["run_id"])
    assert run.data.params["campaigns"] == "2" and run.data.tags["campaign"] == "winter + spring"
    version = MlflowClient(store).get_model_version("loyalist-churn-uplift", str(meta["version"]))
    assert "learned from campaigns winter + spring of 2024-03-31 + 2024-06-30" in version.description
    assert f"customers counted once per campaign, {meta['distinct_customers']:,} distinct" in version.description

    # bad input: the same file twice, or two campaigns on one date: one sentence, exit 2, no traceback
    twice = CliRunner().invoke(app, ["uplift", "--assignment", str(files[1]), "--assignment", str(files[1]),
                                     *common, "--out", str(tmp_path / "u2")], env=env)
    said = " ".join(twice.output.split())
    assert twice.exit_code == 2 and f"The assignment {files[1]} is given twice" in said, said
    same_day = tmp_path / "renamed.parquet"
    assignments[1].assign(campaign="spring-copy").to_parquet(same_day)
    clash = CliRunner().invoke(app, ["uplift", "--assignment", str(files[1]), "--assignment", str(same_day),
                                     *common, "--out", str(tmp_path / "u3")], env=env)
    said = " ".join(clash.output.split())
    assert clash.exit_code == 2 and "are both dated 2024-06-30: pool one campaign per date" in said, said
    assert "Traceback" not in twice.output + clash.output
    # a problem in the second of two campaigns names its file (it said "the campaign", which one unknown)
    bad = tmp_path / "no_control.parquet"
    treated = assignments[1]["group"] == "treatment"
    assignments[1].assign(loyalty_tier=np.where(treated & (np.arange(len(treated)) < 40), "vip", "stable")).to_parquet(bad)
    stratum = CliRunner().invoke(app, ["uplift", "--assignment", str(files[0]), "--assignment", str(bad), *common,
                                       "--out", str(tmp_path / "u4")], env=env)
    said = " ".join(stratum.output.split())
    assert stratum.exit_code == 2 and f"In the campaign {bad} (spring, 2024-06-30): " in said, said
    assert "have no control customer" in said and "Traceback" not in stratum.output
