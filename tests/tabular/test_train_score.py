"""Customer-table mode end to end through the CLI on a generated table with a known signal, and the library
pieces on hand-made cases: leakage alarm, baselines, risk list."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from loyalist.cli import app
from loyalist.config.models import CustomerTableConfig
from loyalist.tabular import (
    build_table_risk_list,
    expected_remaining_months,
    leakage_report,
    make_folds,
)
from loyalist.tabular.train import train_table

ROOT = Path(__file__).resolve().parents[2]


def _table(n: int = 600, seed: int = 3) -> pd.DataFrame:
    """Churn driven by contract and tenure (known truth), a leaky 'closed_flag' and a row number."""
    rng = np.random.default_rng(seed)
    contract = rng.choice(["monthly", "yearly", "two-year"], n, p=[0.5, 0.3, 0.2])
    tenure = rng.integers(0, 72, n)
    charge = rng.uniform(20, 120, n).round(2)
    logit = -1.0 + 1.6 * (contract == "monthly") - 0.8 * (contract == "two-year") - 0.03 * tenure + 0.01 * charge
    churn = rng.uniform(size=n) < 1 / (1 + np.exp(-logit))
    closed = np.where(rng.uniform(size=n) < 0.995, churn, ~churn).astype(int)
    plan = np.where(rng.uniform(size=n) < 0.05, None, contract)  # some plans missing: scored all the same
    return pd.DataFrame({"cust": [f"K{i:05d}" for i in range(n)], "row": np.arange(1, n + 1), "plan": plan,
                         "months": tenure, "charge": charge, "closed_flag": closed,
                         "left": np.where(churn, "Yes", "No")})


def _config(tmp_path: Path, table: pd.DataFrame, **extra: str) -> Path:
    table.to_csv(tmp_path / "customers.csv", index=False)
    lines = ["name: table-test", "data:", "  customers:", f"    path: {tmp_path / 'customers.csv'}",
             "    columns: {customer_id: cust}", "customer_table:", "  churn: left", "  tenure: months",
             "  value: charge", "  snapshot_date: 2025-06-30"]
    lines += [f"  {k}: {v}" for k, v in extra.items()]
    lines += ["tracking:", "  churn_model_name: table-test-churn", "  value_model_name: table-test-value"]
    path = tmp_path / "table.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_leakage_alarm_finds_the_leaky_column_by_rule():
    t = _table()
    y = (t["left"] == "Yes").to_numpy().astype(int)
    types = pd.DataFrame({"column": ["row", "plan", "months", "charge", "closed_flag"],
                          "type": ["id", "categorical", "numeric", "numeric", "numeric"]})
    rep = leakage_report(t, y, types, make_folds(y, 5, 0), leakage_auc=0.97, id_auc=0.6).set_index("column")
    assert rep.loc["closed_flag", "alarm"] == "leak" and rep.loc["closed_flag", "excluded"]
    assert rep.loc["closed_flag", "auc"] > 0.98
    assert rep.loc["plan", "alarm"] == "" and rep.loc["months", "alarm"] == "" and rep.loc["row", "alarm"] == ""
    kept = leakage_report(t, y, types, make_folds(y, 5, 0), leakage_auc=0.97, id_auc=0.6, keep=["closed_flag"])
    assert not kept.set_index("column").loc["closed_flag", "excluded"]
    # rows sorted by outcome: the row number now predicts the flag
    s = t.sort_values("left").reset_index(drop=True).assign(row=lambda d: np.arange(1, len(d) + 1))
    ys = (s["left"] == "Yes").to_numpy().astype(int)
    rep = leakage_report(s, ys, types, make_folds(ys, 5, 0), leakage_auc=0.97, id_auc=0.6).set_index("column")
    assert rep.loc["row", "alarm"] == "id_predicts"


def test_train_table_judges_lightgbm_beside_the_baselines_on_the_same_folds():
    t = _table(800).assign(churn=lambda d: pd.array(d["left"] == "Yes", dtype="boolean"))
    types = pd.DataFrame({"column": ["plan", "months", "charge", "closed_flag", "row"],
                          "type": ["categorical", "numeric", "numeric", "numeric", "id"]})
    cfg = CustomerTableConfig(churn="left", tenure="months")
    r = train_table(t, types, cfg, seed=0, n_jobs=1)
    assert "closed_flag" not in r.kinds and "row" not in r.kinds
    assert set(r.cv.summary.index) >= {"lightgbm", "logistic", "tenure"}
    assert (r.cv.per_fold.groupby("fold").size() == len(r.cv.summary)).all()  # every model on every fold
    for m in ("lightgbm", "logistic"):
        assert r.cv.mean(m) > r.cv.mean("tenure") > 0.55  # contract matters beyond tenure
    assert r.candidate in ("lightgbm", "logistic") and any("closed_flag" in n for n in r.notes)
    X = t.assign(plan=t["plan"].astype("string"), months=t["months"].astype(float), charge=t["charge"].astype(float))
    p = r.model.score(X)
    assert p.shape == (800,) and 0 < p.min() and p.max() < 1
    from sklearn.base import is_classifier

    assert is_classifier(r.model) and np.allclose(r.model.predict_proba(X)[:, 1], p)


def test_one_class_and_tiny_tables_are_one_sentence():
    from loyalist.errors import DataQualityError

    types = pd.DataFrame({"column": ["x"], "type": ["numeric"]})
    cfg = CustomerTableConfig(churn="left")
    ones = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "churn": pd.array([True] * 4, dtype="boolean")})
    with pytest.raises(DataQualityError, match="every labelled customer has churn = yes"):
        train_table(ones, types, cfg, seed=0)
    three = pd.DataFrame({"x": [1.0, 2.0, 3.0], "churn": pd.array([True, False, True], dtype="boolean")})
    with pytest.raises(DataQualityError, match="5-fold cross-validation needs at least 5 of each"):
        train_table(three, types, cfg, seed=0)


def test_expected_remaining_tenure_and_value_at_risk_by_hand():
    assert expected_remaining_months(np.array([0.5, 0.0, 1.0]), 1.0, 60).tolist() == [1.0, 60.0, 0.0]
    # 12-month window, p = 1 - 0.5**12 -> monthly hazard 0.5 -> 1 further month
    assert expected_remaining_months(np.array([1 - 0.5 ** 12]), 12.0, 60)[0] == pytest.approx(1.0)
    t = pd.DataFrame({"customer_id": ["A", "B"], "months": [3.0, 40.0], "charge": [100.0, 10.0]})
    cfg = CustomerTableConfig(churn="c", tenure="months", value="charge")
    risk = build_table_risk_list(t, np.array([0.5, 0.2]), [["plan = monthly", None, None], [None] * 3], cfg,
                                 band_cuts={"medium": 0.1, "high": 0.3, "very_high": 0.6},
                                 as_of=pd.Timestamp("2025-06-30"), model_name="m", model_version=1)
    a = risk.set_index("customer_id")
    assert a.loc["A", "value_at_risk"] == pytest.approx(0.5 * 100 * 12)
    assert a.loc["A", "expected_value"] == pytest.approx(100 * 1.0)
    assert a.loc["B", "risk_band"] == "medium" and a.loc["A", "risk_band"] == "high"
    assert risk["customer_id"].tolist() == ["A", "B"] and a.loc["A", "reason_1"] == "plan = monthly"


def test_prepare_train_score_by_config_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = _config(tmp_path, _table())
    runner = CliRunner()
    res = runner.invoke(app, ["prepare", "--config", str(config), "--out", "clean", "--quiet"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "clean" / "column_types.yaml").read_text(encoding="utf-8").count(": categorical") == 1
    res = runner.invoke(app, ["train", "--clean", "clean", "--workdir", ".", "--quiet"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["score", "--clean", "clean", "--workdir", ".", "--out", "scores", "--quiet"])
    assert res.exit_code == 0, res.output
    risk = pd.read_parquet(tmp_path / "scores" / "churn_risk.parquet")
    clean = pd.read_parquet(tmp_path / "clean" / "customers.parquet")
    assert len(risk) == int((~clean["churn"]).sum())  # the customers who have not left
    assert risk["value_at_risk"].is_monotonic_decreasing
    risky = risk.loc[risk["risk_band"].isin(["high", "very_high"])]
    assert len(risky) and risky["reason_1"].notna().all()  # a customer at risk is told why
    assert not risk["reason_1"].str.contains("closed_flag", na=False).any()  # the leaky column is not a feature
    summary = json.loads((tmp_path / "scores" / "churn_risk_summary.json").read_text(encoding="utf-8"))
    assert summary["model"]["version"] == 1 and summary["as_of"] == "2025-06-30"
    res = runner.invoke(app, ["report", "--scores", "scores/churn_risk.parquet", "--out", "report", "--lang", "en",
                              "--quiet"])
    assert res.exit_code == 0, res.output
    html = (tmp_path / "report" / "report_en.html").read_text(encoding="utf-8")
    assert "logistic" in html and "closed_flag" in html  # the baselines and the leakage alarm are in the report
    # the same data and config again: nothing new is registered
    res = runner.invoke(app, ["train", "--clean", "clean", "--workdir", "."])
    assert res.exit_code == 0 and "no new version is registered" in " ".join(res.output.split())
    # options that mean nothing without orders are refused, not silently ignored
    for command in (["train", "--only", "value"], ["train", "--tune", "3"], ["train", "--as-of", "2025-01-31"],
                    ["train", "--engine", "spark"], ["score", "--out", "s2", "--previous", "scores/churn_risk.parquet"],
                    ["score", "--out", "s2", "--as-of", "2025-01-31"], ["score", "--out", "s2", "--engine", "spark"]):
        res = runner.invoke(app, [*command, "--clean", "clean", "--workdir", "."])
        said = " ".join(res.output.split())
        flag = next(word for word in command if word.startswith("--") and word != "--out")
        assert res.exit_code == 2 and "on a customer table" in said and flag in said, (command, said)
    assert not (tmp_path / "s2").exists()


def test_the_report_of_customer_table_mode_summarises_the_list():
    from loyalist.tabular.report import render_table_report, summarize_table_report

    risk = pd.DataFrame({"customer_id": ["A", "B", "C"], "churn_probability": [0.8, 0.5, 0.1],
                         "risk_band": ["very_high", "high", "low"], "value_at_risk": [960.0, 300.0, 12.0],
                         "reason_1": ["plan = monthly", "plan = monthly", None], "reason_2": ["months = 2", None, None],
                         "reason_3": [None, None, None]})
    listed = {"as_of": "2025-06-30", "model": {"name": "m", "version": 2, "candidate": "lightgbm"},
              "cv": [{"model": "lightgbm", "roc_auc_mean": 0.85, "roc_auc_std": 0.01, "pr_auc_mean": 0.6,
                      "brier_mean": 0.13, "ece_mean": 0.02}],
              "leakage_alarms": [{"column": "<Complain>", "auc": 0.998, "alarm": "leak", "excluded": True}]}
    s = summarize_table_report(risk, listed, top_n=2)
    assert [b["band"] for b in s["bands"]] == ["very_high", "high", "low"]
    assert s["drivers"] == [{"feature": "plan", "customers": 2, "share": 1.0}]
    assert [c["customer_id"] for c in s["top"]] == ["A", "B"] and s["top"][0]["reasons"] == ["plan = monthly",
                                                                                            "months = 2"]
    html = render_table_report(s, "en")
    assert "&lt;Complain&gt;" in html and "0.850 ±" in html and "960" in html
    assert "客户流失风险报告" in render_table_report(s, "zh")


def test_bad_customer_tables_end_in_one_sentence_through_the_cli(tmp_path, monkeypatch):
    """Issue 15's bad inputs: a third flag value and a tenure of -5 or text are rejects; three rows, or one class,
    cannot train: exit 2 with a sentence, no traceback."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    rows = pd.DataFrame({"cust": ["A", "B", "C", "D", "E"], "row": [1, 2, 3, 4, 5], "plan": ["x"] * 5,
                         "months": ["1", "-5", "ten", "4", "5"], "charge": [1.0] * 5,
                         "left": ["Yes", "No", "No", "Maybe", "No"]})
    config = _config(tmp_path, rows)
    res = runner.invoke(app, ["prepare", "--config", str(config), "--out", "clean", "--quiet"])
    assert res.exit_code == 0, res.output
    rejects = pd.read_csv(tmp_path / "clean" / "rejects.csv", encoding="utf-8-sig")
    assert rejects["rule"].tolist() == ["invalid_tenure", "invalid_tenure", "invalid_churn_flag"]
    res = runner.invoke(app, ["train", "--clean", "clean", "--workdir", ".", "--quiet"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "1 churned and 1 staying customers; 5-fold cross-validation needs at least 5 of each" in " ".join(
        res.output.split())
