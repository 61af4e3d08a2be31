"""Time to churn in the customer-table product, through the CLI: ``loyalist train`` fits the survival model
beside the churn classifier and logs C / IBS beside Cox and Kaplan-Meier; the risk list carries p_active_30d/90d/
180d and expected_days_to_churn; the report draws the curves per segment and dates the action plan; each table
run says what it did and the registered version carries its model card."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from loyalist.cli import app


def _table(n: int = 900, seed: int = 11) -> pd.DataFrame:
    """A subscription table with a known monthly hazard per plan (monthly >> yearly > two-year), staggered
    joining: the flag says who left by the snapshot, tenure the months observed."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(["monthly", "yearly", "two-year"], n, p=[0.5, 0.3, 0.2])
    charge = rng.uniform(20, 120, n).round(2)
    hazard = 0.05 * np.where(plan == "monthly", 1.0, np.where(plan == "yearly", 0.3, 0.1)) * (charge / 70)
    life = rng.geometric(hazard)
    observed = rng.integers(1, 61, n)
    tenure = np.minimum(life, observed)
    churned = life <= observed
    return pd.DataFrame({"cust": [f"S{i:05d}" for i in range(n)], "plan": plan, "months": tenure,
                         "charge": charge, "total": (charge * tenure).round(2),
                         "left": np.where(churned, "Yes", "No")})


def _config(tmp_path: Path, table: pd.DataFrame) -> Path:
    table.to_csv(tmp_path / "customers.csv", index=False)
    lines = ["name: survival-test", "data:", "  customers:", f"    path: {tmp_path / 'customers.csv'}",
             "    columns: {customer_id: cust}", "customer_table:", "  churn: left", "  tenure: months",
             "  value: charge", "  snapshot_date: 2025-06-30", "  folds: 3",
             "tracking:", "  churn_model_name: surv-churn", "  value_model_name: surv-value"]
    path = tmp_path / "table.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("survival-job")
    mp = pytest.MonkeyPatch()
    mp.chdir(tmp_path)
    mp.delenv("MLFLOW_TRACKING_URI", raising=False)
    config = _config(tmp_path, _table())
    runner = CliRunner()
    out = {}
    for step, args in (("prepare", ["prepare", "--config", str(config), "--out", "clean"]),
                       ("train", ["train", "--clean", "clean", "--workdir", "."]),
                       ("score", ["score", "--clean", "clean", "--workdir", ".", "--out", "scores"]),
                       ("report", ["report", "--scores", "scores/churn_risk.parquet", "--out", "report",
                                   "--lang", "both"])):
        res = runner.invoke(app, [*args, "--quiet"])
        assert res.exit_code == 0, (step, res.output, repr(res.exception))
        out[step] = res
    yield tmp_path
    mp.undo()


def _client(root: Path):
    from mlflow import MlflowClient

    return MlflowClient(f"sqlite:///{root / 'mlruns' / 'mlflow.db'}")


def _run(client, name: str):
    ids = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(ids, filter_string=f"attributes.run_name = '{name}'")
    assert len(runs) == 1
    return runs[0]


def test_train_logs_the_survival_models_beside_cox_and_kaplan_meier(story):
    run = _run(_client(story), "train-churn-table")
    m = run.data.metrics
    for model in ("lightgbm_hazard", "cox"):
        assert 0.6 < m[f"survival.{model}.c_index_mean"] <= 1.0
        assert m[f"survival.{model}.ibs_mean"] < m["survival.kaplan_meier.ibs_mean"]
    assert run.data.params["survival.segment"] == "plan"
    # 'total' is charge x tenure: it would hand the survival model its answer
    assert run.data.params["survival.excluded"] == "total"
    assert "survival/km_by_segment.png" in [f.path for f in _client(story).list_artifacts(run.info.run_id, "survival")]


def test_the_risk_list_carries_the_time_to_churn_columns(story):
    risk = pd.read_parquet(story / "scores" / "churn_risk.parquet")
    cols = ["p_active_30d", "p_active_90d", "p_active_180d", "expected_days_to_churn"]
    assert set(cols) <= set(risk.columns) and risk[cols].notna().all().all()
    assert ((risk["p_active_30d"] >= risk["p_active_90d"]) & (risk["p_active_90d"] >= risk["p_active_180d"])).all()
    assert (risk["p_active_30d"] < 1).all() and (risk["p_active_180d"] > 0).all()
    assert risk["expected_days_to_churn"].between(0, 60 * 365.25 / 12 + 1e-6).all()  # capped at 60 months
    by_plan = risk.groupby("segment")["p_active_180d"].median()
    assert by_plan["monthly"] < by_plan["yearly"] < by_plan["two-year"]  # the known hazards' order
    # higher churn probability goes with a shorter expected time (both models read the same plans)
    rho = risk["churn_probability"].corr(risk["expected_days_to_churn"], method="spearman")
    assert rho < -0.3


def test_the_report_draws_the_curves_and_dates_the_plan(story):
    summary = json.loads((story / "report" / "report_summary.json").read_text(encoding="utf-8"))
    plan = summary["survival"]["plan"]
    assert {r["segment"] for r in plan} == {"monthly", "yearly", "two-year"}
    first = plan[0]
    assert first["segment"] == "monthly"  # the soonest deadline: the plan that leaves fastest
    assert first["act_by"] == str((pd.Timestamp("2025-06-30")
                                   + pd.Timedelta(days=int(first["median_days_to_churn"]))).date())
    # the date is the median of the segment's high / very-high customers (the ones the plan is about), whose
    # expected time to churn follows the churn probability the list shows
    risk = pd.read_parquet(story / "scores" / "churn_risk.parquet")
    for r in plan:
        part = risk.loc[risk["segment"] == r["segment"]]
        hot = part.loc[part["risk_band"].isin(["high", "very_high"])]
        basis = hot if len(hot) else part
        assert r["median_days_to_churn"] == pytest.approx(basis["expected_days_to_churn"].median())
    assert np.allclose(1 - risk["p_active_30d"], risk["churn_probability"], atol=0.02)
    for lang in ("en", "zh"):
        html = (story / "report" / f"report_{lang}.html").read_text(encoding="utf-8")
        assert 'data-chart="chart-survival"' in html and first["act_by"] in html


def test_table_runs_say_what_they_did_and_the_version_has_its_card(story):
    client = _client(story)
    train = _run(client, "train-churn-table").data.tags["mlflow.note.content"]
    assert train.startswith("Trained the customer-table churn model") and "Registered surv-churn version 1" in train
    assert "Time to churn:" in train and "Gate: promoted to champion" in train
    score = _run(client, "score-churn-table").data.tags["mlflow.note.content"]
    assert score.startswith("Scored ") and "surv-churn version 1" in score and "expected days to churn" in score
    card = client.get_model_version("surv-churn", "1").description
    assert card.startswith("# surv-churn version 1 (customer-table mode)") and len(card) <= 5000
    assert "## Time to churn" in card and "| cox |" in card and "## Gate" in card


def _cli_case(tmp_path: Path, table: pd.DataFrame, monkeypatch) -> tuple[CliRunner, list]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    config = _config(tmp_path, table)
    runner = CliRunner()
    prepared = runner.invoke(app, ["prepare", "--config", str(config), "--out", "clean", "--quiet"])
    trained = runner.invoke(app, ["train", "--clean", "clean", "--workdir", ".", "--quiet"]) \
        if prepared.exit_code == 0 else None
    return runner, [prepared, trained]


def _one_sentence(res) -> str:
    said = " ".join(res.output.split())
    assert res.exit_code == 2 and "Traceback" not in res.output and not isinstance(res.exception, AssertionError)
    return said


def test_an_all_churned_table_cannot_train_and_says_so(tmp_path, monkeypatch):
    table = _table(40).assign(left="Yes")
    _, (prepared, trained) = _cli_case(tmp_path, table, monkeypatch)
    assert prepared.exit_code == 0, prepared.output
    said = _one_sentence(trained)
    assert "every labelled customer has churn = yes (40 rows)" in said and "needs both churned and staying" in said


def test_a_three_row_table_cannot_train_and_says_so(tmp_path, monkeypatch):
    table = _table(3).assign(left=["Yes", "No", "No"])
    _, (prepared, trained) = _cli_case(tmp_path, table, monkeypatch)
    assert prepared.exit_code == 0, prepared.output
    said = _one_sentence(trained)
    assert "1 churned and 2 staying customers; 3-fold cross-validation needs at least 3 of each" in said


def test_a_tenure_column_of_text_rejects_every_row_with_a_sentence(tmp_path, monkeypatch):
    table = _table(30).assign(months="ten")
    _, (prepared, _) = _cli_case(tmp_path, table, monkeypatch)
    said = _one_sentence(prepared)
    assert "Every row of the customer table" in said and "invalid_tenure (30)" in said


def test_a_table_without_usable_tenures_trains_the_churn_model_and_says_why_no_survival(tmp_path, monkeypatch):
    table = _table(300).assign(months=0)  # every customer joined this month: no month observed
    runner, (prepared, trained) = _cli_case(tmp_path, table, monkeypatch)
    assert prepared.exit_code == 0 and trained.exit_code == 0, (prepared.output, trained.output)
    res = runner.invoke(app, ["train", "--clean", "clean", "--workdir", "."])  # same data: says what it has
    client = _client(tmp_path)
    run = _run(client, "train-churn-table")
    assert "have a tenure above 0" in run.data.tags["survival.note"] and "survival.lightgbm_hazard.ibs_mean" \
        not in run.data.metrics
    assert "no new version is registered" in " ".join(res.output.split())
    res = runner.invoke(app, ["score", "--clean", "clean", "--workdir", ".", "--out", "scores", "--quiet"])
    assert res.exit_code == 0, res.output
    risk = pd.read_parquet(tmp_path / "scores" / "churn_risk.parquet")
    assert "p_active_90d" not in risk.columns and risk["churn_probability"].notna().all()


def test_the_report_compares_with_a_previous_list(story):
    """``loyalist report --previous`` in table mode: an earlier list where some customers were riskier, one has
    gone and one is new."""
    risk = pd.read_parquet(story / "scores" / "churn_risk.parquet")
    prev = risk.copy()
    prev["as_of"] = pd.Timestamp("2025-03-31")
    prev.loc[prev.index[:5], "risk_band"] = "very_high"  # five customers were riskier
    # the first current customer is new; a very-high customer of the previous list is gone
    prev = pd.concat([prev.iloc[1:], prev.iloc[:1].assign(customer_id="GONE-1", risk_band="very_high")])
    path = story / "scores" / "previous_risk.parquet"
    prev.to_parquet(path, index=False)
    res = CliRunner().invoke(app, ["report", "--scores", str(story / "scores" / "churn_risk.parquet"),
                                   "--previous", str(path), "--out", str(story / "report-tracked"), "--lang", "both",
                                   "--quiet"])
    assert res.exit_code == 0, (res.output, repr(res.exception))
    k = json.loads((story / "report-tracked" / "report_summary.json").read_text(encoding="utf-8"))["tracking"]
    assert k["previous_as_of"] == "2025-03-31" and k["current_as_of"] == "2025-06-30"
    n = len(risk)
    assert k["customers"] == {"previous": n, "current": n, "both": n - 1, "new": 1, "gone": 1}
    moved = int((risk["risk_band"].iloc[1:5] != "very_high").sum())  # the first row left the previous list
    assert k["moves"]["down"] == moved and k["moves"]["up"] == 0 and k["moves"]["same"] == n - 1 - moved
    assert k["previous_high"]["gone"] == 1
    assert sum(k["migration"]["very_high"].values()) == sum(b["previous"] for b in k["bands"]
                                                            if b["band"] == "very_high")
    assert k["mean_probability_both"]["change"] == pytest.approx(0.0)
    for lang, word in (("en", "Compared with the previous list"), ("zh", "与上期对比")):
        assert word in (story / "report-tracked" / f"report_{lang}.html").read_text(encoding="utf-8")
    bad = story / "scores" / "bad_previous.csv"
    risk[["customer_id"]].to_csv(bad, index=False)
    res = CliRunner().invoke(app, ["report", "--scores", str(story / "scores" / "churn_risk.parquet"),
                                   "--previous", str(bad), "--out", str(story / "report-bad"), "--quiet"])
    assert res.exit_code == 2 and "bad_previous.csv" in res.output and "lacks the columns" in res.output
    res = CliRunner().invoke(app, ["report", "--scores", str(story / "scores" / "churn_risk.parquet"),
                                   "--previous", str(story / "scores" / "nowhere.csv"), "--out",
                                   str(story / "report-bad"), "--quiet"])
    assert res.exit_code == 2 and "nowhere.csv" in res.output and "does not exist" in res.output
