"""Learning an uplift model from a past campaign: the library's checks and the 'loyalist uplift' command."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from loyalist.batch.effect import campaign_outcomes
from loyalist.config.models import FeatureConfig
from loyalist.data.campaign import simulate_uplift_campaign
from loyalist.data.synthetic import generate
from loyalist.errors import CampaignError, DataQualityError
from loyalist.features.snapshot import build_snapshot
from loyalist.uplift import (
    AUTO_CANDIDATES,
    AUTO_X_CANDIDATES,
    CrossValidatedUplift,
    TwoModelUplift,
    campaign_training_set,
    evaluate_uplift,
    expected_saved_value,
)

DAY, HORIZON = "2024-06-30", 90


@pytest.fixture(scope="module")
def campaign():
    data = generate(3000, dirty=False, seed=31)
    snap = build_snapshot(data.tables(), DAY, FeatureConfig())
    rng = np.random.default_rng(3)
    assignment = pd.DataFrame({
        "campaign": "spring", "campaign_date": pd.Timestamp(DAY), "customer_id": snap["customer_id"].astype("string"),
        "action": "Call / 致电", "loyalty_tier": rng.choice(["stable", "at_risk"], len(snap)), "risk_band": "high",
        "group": np.where(rng.random(len(snap)) < 0.4, "control", "treatment"), "share": 0.4, "seed": 3})
    world, truth = simulate_uplift_campaign(data.orders, assignment, snap, horizon_days=HORIZON, seed=3)
    return data, snap, assignment, world, truth


def test_training_set_and_its_bad_input(campaign):
    _, snap, assignment, world, _ = campaign
    outcomes = campaign_outcomes(assignment, world, horizon_days=HORIZON)
    data = campaign_training_set(snap, outcomes)
    assert len(data.X) == len(assignment) and data.treatment.sum() == (assignment["group"] == "treatment").sum()
    np.testing.assert_array_equal(data.stay, 1 - outcomes["churn"].to_numpy())
    with pytest.raises(CampaignError, match="control share of 0 "):
        campaign_training_set(snap, outcomes.assign(group="treatment"))
    with pytest.raises(CampaignError, match="control share of 1 "):
        campaign_training_set(snap, outcomes.assign(group="control"))
    stranger = outcomes.copy()
    stranger.loc[0, "customer_id"] = "C-unknown"
    with pytest.raises(CampaignError, match=r"1 of the campaign's .* customers \(e.g. 'C-unknown'\) are not in"):
        campaign_training_set(snap, stranger)
    lonely = outcomes.copy()
    lonely.loc[lonely["loyalty_tier"] == "at_risk", "group"] = "treatment"
    with pytest.raises(CampaignError, match=r"1 stratum\(s\) of the campaign have no control customer \(e.g. "
                                               r"'Call / 致电 / at_risk / high'"):
        campaign_training_set(snap, lonely)
    kept = campaign_training_set(snap, lonely, drop_strata_without_control=True)
    assert kept.dropped_strata == ["Call / 致电 / at_risk / high"]
    assert len(kept.X) == int((lonely["loyalty_tier"] == "stable").sum())
    later = build_snapshot(campaign[0].tables(), "2024-07-31", FeatureConfig())
    with pytest.raises(CampaignError, match="snapshot is as of 2024-07-31 but the campaign is dated 2024-06-30"):
        campaign_training_set(later, outcomes)


def test_evaluation_and_expected_saved_value(campaign):
    _, snap, assignment, world, _ = campaign
    data = campaign_training_set(snap, campaign_outcomes(assignment, world, horizon_days=HORIZON))
    ev = evaluate_uplift(data, lambda: TwoModelUplift(random_state=0), permutations=20)
    assert ev.n_train + ev.n_test == len(data.X) and ev.n_test == pytest.approx(0.3 * len(data.X), abs=1)
    assert set(ev.curves) == {"uplift model", "churn risk", "random"}
    x, q = ev.curves["uplift model"]
    assert x[0] == 0 and x[-1] == ev.n_test and q[-1] == pytest.approx(ev.curves["random"][1][-1])
    assert -1 <= ev.qini <= 1 and ev.qini_random_p95 > 0
    # uplift@30% beside ranking by churn risk and at random (= the held-out treated minus control stay rate)
    from sklearn.model_selection import train_test_split

    cells = data.treatment * 2 + data.stay
    _, te = train_test_split(np.arange(len(data.stay)), test_size=0.3, random_state=0, stratify=cells)
    y, t = data.stay[te], data.treatment[te]
    assert ev.uplift_at_k_random == pytest.approx(y[t == 1].mean() - y[t == 0].mean())
    assert -1 <= ev.uplift_at_k_churn_risk <= 1 and ev.uplift_at_k_churn_risk != ev.uplift_at_k
    assert {"uplift_at_30", "uplift_at_30_churn_risk", "uplift_at_30_random"} <= set(ev.as_metrics())
    # the held-out Qini's bootstrap interval and the control customers it rests on
    assert ev.qini_low < ev.qini < ev.qini_high
    assert ev.n_test_control == int((t == 0).sum()) and ev.n_test_control_churned == int(((t == 0) & (y == 0)).sum())
    assert ev.evidence_is_thin == (ev.qini_low <= 0)
    assert {"qini_low", "qini_high", "n_test_control", "n_test_control_churned"} <= set(ev.as_metrics())
    np.testing.assert_allclose(expected_saved_value(np.array([0.1, -0.2, 0.3]), np.array([1000.0, 500.0, -5.0]),
                                                    np.array([30.0, 30.0, 0.0])), [70.0, -130.0, 0.0])
    # the value if kept: value / P(stay) (P(stay) at least 0.05)
    np.testing.assert_allclose(expected_saved_value(np.array([0.1, -0.2, 0.3]), np.array([1000.0, 500.0, 100.0]),
                                                    30.0, p_stay=np.array([0.5, 1.0, 0.0])),
                               [170.0, -130.0, 570.0])
    with pytest.raises(DataQualityError, match="p_stay has 2 values for 3 customers"):
        expected_saved_value(np.zeros(3), np.ones(3), p_stay=np.ones(2))


def _clean_folder(campaign, tmp_path):
    """The campaign's company as a clean folder under ``tmp_path`` and its assignment as control.parquet beside it."""
    data, _, assignment, world, _ = campaign
    clean = tmp_path / "clean"
    clean.mkdir()
    world.to_parquet(clean / "orders.parquet")
    for name in ("customers", "tickets", "surveys"):
        getattr(data, name).to_parquet(clean / f"{name}.parquet")
    assignment.to_parquet(tmp_path / "control.parquet")
    return clean


def test_cli_uplift_registers_a_model_with_its_qini_plot(campaign, tmp_path):
    from mlflow import MlflowClient
    from typer.testing import CliRunner

    from loyalist.cli import app

    assignment = campaign[2]
    clean = _clean_folder(campaign, tmp_path)
    store = f"sqlite:///{tmp_path}/mlruns/mlflow.db"
    env = {"COLUMNS": "200", "MLFLOW_TRACKING_URI": store}
    args = ["uplift", "--assignment", str(tmp_path / "control.parquet"), "--clean", str(clean), "--horizon-days",
            str(HORIZON), "--workdir", str(tmp_path), "--out", str(tmp_path / "u")]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output + repr(result.exception)
    meta = json.loads((tmp_path / "u" / "uplift.json").read_text(encoding="utf-8"))
    assert (tmp_path / "u" / "qini.png").stat().st_size > 1000
    # the curves travel in uplift.json (for the report's picture), thinned to at most 201 points
    assert set(meta["curves"]) == {"uplift model", "churn risk", "random"}
    x = meta["curves"]["uplift model"]["x"]
    assert x[0] == 0 and x[-1] == meta["metrics"]["n_test"] and 2 <= len(x) <= 201 and x == sorted(x)
    assert meta["registered_model"] == "loyalist-churn-uplift" and meta["version"] == 1
    assert meta["customers"] == len(assignment) and meta["control"] == int((assignment["group"] == "control").sum())
    client = MlflowClient(store)
    run = client.get_run(meta["run_id"])
    assert run.data.metrics["qini"] == pytest.approx(meta["metrics"]["qini"])
    assert {f.path for f in client.list_artifacts(run.info.run_id, "plots")} == {"plots/qini.png"}
    version = client.get_model_version("loyalist-churn-uplift", "1")
    # the default method, auto, chose its learner by cross-validated Qini on the campaign's customers with the
    # one-standard-error rule (the simplest learner within se_multiple standard errors of the best mean)
    auto = CrossValidatedUplift()
    folds = auto.cv * auto.repeats
    assert meta["method"] == "auto" and meta["learner"] in AUTO_CANDIDATES
    assert set(meta["learner_cv_qini"]) == set(AUTO_CANDIDATES)
    assert all(len(v) == folds for v in meta["learner_cv_qini"].values())
    sel = meta["learner_selection"]
    assert sel["rule"] == "one-standard-error" and sel["se_multiple"] == auto.se_multiple
    assert (sel["folds"], sel["repeats"]) == (auto.cv, auto.repeats)
    assert sel["best"] == max(sel["mean"], key=lambda n: sel["mean"][n])
    assert meta["learner"] == next(n for n in AUTO_CANDIDATES
                                   if sel["mean"][sel["best"]] - sel["mean"][n] <= sel["se_multiple"] * sel["se"][n])
    assert sel["margin"] == pytest.approx(sel["se_multiple"] * sel["se"][meta["learner"]], abs=1e-5)
    assert version.description.startswith(f"Uplift model (auto: {meta['learner']}, by {auto.cv}-fold")
    assert "learned from campaign spring of 2024-06-30" in version.description
    assert run.data.params["learner_rule"] == "one-standard-error"
    assert float(run.data.params["learner_se_multiple"]) == auto.se_multiple
    assert run.data.metrics[f"cv_qini_{meta['learner']}"] == pytest.approx(sel["mean"][meta["learner"]], abs=1e-5)
    assert "uplift_learner_choice.json" in {f.path for f in client.list_artifacts(run.info.run_id)}
    champion = meta["metrics"]["qini"] > meta["metrics"]["qini_random_p95"]
    assert ("champion" in client.get_registered_model("loyalist-churn-uplift").aliases) == champion == meta["champion"]

    # bad input: one sentence, exit 2, no traceback
    assignment.assign(group="treatment").to_parquet(tmp_path / "all.parquet")
    bad = CliRunner().invoke(app, [*args[:2], str(tmp_path / "all.parquet"), *args[3:]], env=env)
    said = " ".join(bad.output.split())  # the sentence of 'loyalist effect' (the same checks)
    assert bad.exit_code == 2 and "has no control customers (column 'group' is all 'treatment')" in said, said
    assert "Traceback" not in bad.output

    # --method auto_x: the same choice with the X-learner among the candidates, registered as version 2
    xs = CliRunner().invoke(app, [*args[:-1], str(tmp_path / "ux"), "--method", "auto_x"], env=env)
    assert xs.exit_code == 0, xs.output + repr(xs.exception)
    meta_x = json.loads((tmp_path / "ux" / "uplift.json").read_text(encoding="utf-8"))
    assert meta_x["method"] == "auto_x" and meta_x["version"] == 2
    assert set(meta_x["learner_cv_qini"]) == {"logistic", "two_model", "x_learner"}
    sel_x = meta_x["learner_selection"]
    assert meta_x["learner"] == next(n for n in AUTO_X_CANDIDATES if sel_x["mean"][sel_x["best"]]
                                     - sel_x["mean"][n] <= sel_x["se_multiple"] * sel_x["se"][n])
    early = assignment.assign(campaign_date=pd.Timestamp("2026-01-31"))
    early.to_parquet(tmp_path / "early.parquet")
    bad = CliRunner().invoke(app, [*args[:2], str(tmp_path / "early.parquet"), *args[3:]], env=env)
    said = " ".join(bad.output.split())  # the sentence of 'loyalist effect' (the same checks)
    assert bad.exit_code == 2 and "are all dated on or before the campaign date 2026-01-31" in said, said


def test_demo_verdict_says_when_the_held_out_evidence_is_thin():
    """The demo's held-out part has ~133 control customers (10 churned): its Qini interval reaches 0, and the
    sentence must say so beside the gate's decision; a clear interval gets no such warning."""
    from loyalist.jobs.demo import uplift_verdict

    metrics = {"qini": 0.028, "qini_random_p95": 0.018, "n_test": 1321.0, "qini_low": -0.041, "qini_high": 0.093,
               "n_test_control": 133.0, "n_test_control_churned": 10.0}
    thin = " ".join(uplift_verdict("loyalist-churn-uplift", 1, metrics, True).split())
    assert ("held-out Qini 0.028 (95% interval -0.041 to +0.093) vs 0.018 for random rankings (95th percentile) on "
            "1,321 held-out customers (133 control, 10 of them churned); champion") in thin
    assert "The evidence is thin: the interval reaches 0" in thin
    clear = uplift_verdict("m", 2, {**metrics, "qini_low": 0.004}, False)
    assert "stays challenger" in clear and "thin" not in clear
    # a model judged before the interval existed (no qini_low / qini_high): no interval, no claim either way
    old = uplift_verdict("m", 3, {k: v for k, v in metrics.items() if k not in ("qini_low", "qini_high")}, True)
    assert "interval" not in old and "thin" not in old


def test_uplift_files_are_replaced_as_a_whole(campaign, tmp_path, monkeypatch):
    # qini.png and uplift.json are one output set: a rerun that fails before its end (here uplift.json cannot be
    # written) leaves the previous result whole. The old job saved qini.png first, so a failed rerun left its new
    # picture beside the previous run's uplift.json (the report reads both).
    from loyalist.config.models import LoyalistConfig
    from loyalist.jobs import uplift as uplift_job

    clean = _clean_folder(campaign, tmp_path)
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/mlruns/mlflow.db"}
    config, out = LoyalistConfig.model_validate({}), tmp_path / "u"
    kwargs = {"config": config, "horizon_days": HORIZON, "env": env, "workdir": tmp_path, "out_dir": out}
    first = uplift_job.run(tmp_path / "control.parquet", clean, method="logistic", **kwargs)
    assert first.paths == {"json": out / "uplift.json", "qini_png": out / "qini.png"}
    before = {name: (out / name).read_bytes() for name in ("qini.png", "uplift.json")}

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(uplift_job, "write_json", broken)
    with pytest.raises(OSError, match="space"):  # another learner: another Qini curve, so another picture
        uplift_job.run(tmp_path / "control.parquet", clean, method="two_model", **kwargs)
    assert {name: (out / name).read_bytes() for name in before} == before
