"""Bad input for campaigns, through the command line: each is one sentence naming the file or key and the fix,
exit code 2, no traceback (issue 16). A stratum without control customers is measured around, and said."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from loyalist.cli import app

DAY = pd.Timestamp("2024-06-30")


def _campaign(folder: Path, n: int = 240, seed: int = 0) -> tuple[Path, Path]:
    """A clean folder (customers, orders before and after DAY) and a campaign file of all its customers."""
    rng = np.random.default_rng(seed)
    ids = [f"C{i:04d}" for i in range(n)]
    days = rng.integers(-200, 120, 6 * n)
    orders = pd.DataFrame({"customer_id": np.repeat(ids, 6), "order_date": DAY + pd.to_timedelta(days, unit="D"),
                           "amount": rng.gamma(2.0, 100.0, 6 * n).round(2), "status": "completed"})
    clean = folder / "clean"
    clean.mkdir(parents=True)
    orders.to_parquet(clean / "orders.parquet", index=False)
    pd.DataFrame({"customer_id": ids}).to_parquet(clean / "customers.parquet", index=False)
    assignment = pd.DataFrame({
        "campaign": "spring", "campaign_date": DAY, "customer_id": ids,
        "action": np.where(np.arange(n) % 2 == 0, "致电 / Call", "优惠券 / Coupon"),
        "loyalty_tier": "at_risk", "risk_band": "high",
        "group": np.where(np.arange(n) % 5 == 0, "control", "treatment"), "share": 0.2, "seed": 0,
    })
    path = folder / "churn_risk_control.parquet"
    assignment.to_parquet(path, index=False)
    return clean, path


def _effect(tmp_path: Path, clean: Path, assignment: Path, *extra: str):
    return CliRunner().invoke(app, [
        "effect", "--assignment", str(assignment), "--clean", str(clean), "--horizon-days", "90",
        "--workdir", str(tmp_path), "--out", str(tmp_path / "out"), *extra,
    ], env={"COLUMNS": "200", "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/mlruns/mlflow.db"})


def _one_sentence(result, *words: str) -> str:
    assert result.exit_code == 2, result.output + repr(result.exception)
    assert "Traceback" not in result.output and "Error: " in result.output, result.output
    # the error is the last thing said (a warning that the test folder has no resolved config may come first)
    said = " ".join(result.output[result.output.index("Error: "):].split())
    assert said.count(". ") == 0 or said.endswith("."), said
    for word in words:
        assert word in said, (word, said)
    return said


def _rewrite(path: Path, **changes) -> None:
    frame = pd.read_parquet(path)
    for column, value in changes.items():
        frame[column] = value(frame) if callable(value) else value
    frame.to_parquet(path, index=False)


def test_a_well_formed_campaign_is_measured(tmp_path):
    clean, assignment = _campaign(tmp_path)
    result = _effect(tmp_path, clean, assignment)
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert (tmp_path / "out" / "effect_summary.csv").is_file()


def test_customers_not_in_the_data_are_refused(tmp_path):
    clean, assignment = _campaign(tmp_path)
    _rewrite(assignment, customer_id=lambda f: f["customer_id"].mask(f.index < 3, "X9999"))
    _one_sentence(_effect(tmp_path, clean, assignment), str(assignment), "has 3 of 240 customers that are not in",
                  "customers.parquet", "'X9999'", "pass the assignment written with this data set's list")


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_a_control_share_of_0_or_1_in_the_file_is_refused(tmp_path, share):
    clean, assignment = _campaign(tmp_path)
    _rewrite(assignment, share=share)
    _one_sentence(_effect(tmp_path, clean, assignment), str(assignment), f"control share of {share:g} (",
                  "column 'share'", "strictly between 0 and 1", "scoring_job.control_group.share, e.g. 0.1")


@pytest.mark.parametrize("share", ["0", "1"])
def test_a_control_share_of_0_or_1_in_the_config_is_refused(tmp_path, share):
    clean, assignment = _campaign(tmp_path)
    (tmp_path / "c.yaml").write_text(f"scoring_job:\n  control_group:\n    share: {share}\n", encoding="utf-8")
    _one_sentence(_effect(tmp_path, clean, assignment, "--config", str(tmp_path / "c.yaml")), "c.yaml",
                  "'scoring_job.control_group.share'", f"(got {share})", "strictly between 0 and 1",
                  "scoring_job.control_group.enabled: false")


@pytest.mark.parametrize(("side", "other"), [("control", "treatment"), ("treatment", "control")])
def test_a_campaign_without_control_or_treatment_customers_is_refused(tmp_path, side, other):
    clean, assignment = _campaign(tmp_path)
    _rewrite(assignment, group=other)
    _one_sentence(_effect(tmp_path, clean, assignment), str(assignment), f"has no {side} customers",
                  f"column 'group' is all '{other}'")


def test_outcomes_dated_before_the_campaign_date_are_refused(tmp_path):
    clean, assignment = _campaign(tmp_path)
    orders = pd.read_parquet(clean / "orders.parquet")
    orders[orders["order_date"] <= DAY].to_parquet(clean / "orders.parquet", index=False)
    _one_sentence(_effect(tmp_path, clean, assignment), str(clean / "orders.parquet"),
                  "are all dated on or before the campaign date 2024-06-30", str(assignment),
                  "pass orders that run past the campaign")


def test_a_stratum_without_control_customers_is_measured_around_and_said(tmp_path):
    clean, assignment = _campaign(tmp_path)
    _rewrite(assignment, group=lambda f: f["group"].mask(f["action"] == "致电 / Call", "treatment"))
    result = _effect(tmp_path, clean, assignment)
    assert result.exit_code == 0, result.output + repr(result.exception)
    said = " ".join(result.output.split())
    assert "have fewer than 2 control (or treatment) customers, so their effect has no estimate" in said
    assert "action '致电 / Call': 120 treated, 0 control" in said and "scoring_job.control_group.share" in said
    summary = pd.read_csv(tmp_path / "out" / "effect_summary.csv", encoding="utf-8-sig")
    assert summary.set_index("group").loc["优惠券 / Coupon", "verdict"] != "no_estimate"  # the rest is measured


def _uplift(tmp_path: Path, clean: Path, assignment: Path, *extra: str):
    return CliRunner().invoke(app, [
        "uplift", "--assignment", str(assignment), "--clean", str(clean), "--horizon-days", "90",
        "--workdir", str(tmp_path), "--out", str(tmp_path / "up"), "--method", "logistic", *extra,
    ], env={"COLUMNS": "200", "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/mlruns/mlflow.db"})


def test_a_customer_on_the_campaign_file_twice_is_refused_by_effect_and_uplift(tmp_path):
    """Two campaign files appended together (or one appended to itself) put customers on it twice: effect counted
    them twice (intervals too narrow) and uplift could hold a customer out that it also trained on (the demo's
    campaign appended to itself: held-out Qini 0.022 -> 0.058, registered as champion)."""
    clean, assignment = _campaign(tmp_path)
    frame = pd.read_parquet(assignment)
    pd.concat([frame, frame.iloc[:10]], ignore_index=True).to_parquet(assignment, index=False)
    for run in (_effect, _uplift):
        _one_sentence(run(tmp_path, clean, assignment), str(assignment), "has customer 'C0000' 2 times",
                      "10 customers are on it more than once", "not files appended together")
    assert not (tmp_path / "out" / "effect.json").exists() and not (tmp_path / "up" / "uplift.json").exists()


@pytest.mark.parametrize(("change", "words"), [
    ({"customer_id": lambda f: f["customer_id"].mask(f.index < 3, "X9999")},
     ("has 3 of 240 customers that are not in", "'X9999'")),
    ({"share": 0.0}, ("has a control share of 0 (column 'share')", "scoring_job.control_group.share")),
    ({"share": 1.0}, ("has a control share of 1 (column 'share')", "scoring_job.control_group.share")),
])
def test_uplift_refuses_what_effect_refuses_in_the_same_sentence(tmp_path, change, words):
    """'loyalist uplift' ran none of effect's campaign checks: a file whose share column says 0 or 1 trained and
    registered a model, and customers not in the data were reported as strata without control."""
    clean, assignment = _campaign(tmp_path)
    _rewrite(assignment, **change)
    _one_sentence(_uplift(tmp_path, clean, assignment, "--drop-uncontrolled-strata"), str(assignment), *words)


def test_an_empty_orders_file_after_the_campaign_says_it_has_no_orders(tmp_path):
    clean, assignment = _campaign(tmp_path)
    pd.read_parquet(clean / "orders.parquet").iloc[:0].to_parquet(clean / "orders.parquet", index=False)
    _one_sentence(_effect(tmp_path, clean, assignment), str(clean / "orders.parquet"), "(it has no orders)",
                  "pass orders that run past the campaign")
