"""Customer-table mode, data stage: flags, types, rules and rejects (golden tables by hand), and the real tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loyalist.config.models import LoyalistConfig
from loyalist.errors import ConfigError, SchemaError
from loyalist.tabular import infer_types, parse_churn_flag, prepare_customer_table

ROOT = Path(__file__).resolve().parents[2]
RUN_DATE = pd.Timestamp("2026-01-31")


def _config(path: Path, **table) -> LoyalistConfig:
    return LoyalistConfig(data={"customers": {"path": str(path), "columns": {"customer_id": "cid"}}},
                          customer_table={"churn": "left", **table})


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "customers.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_flags_in_every_spelling_and_a_third_value_is_invalid():
    flag, bad = parse_churn_flag(pd.Series(["Yes", "no", "1", "0", "TRUE", "false", "是", "否", "", "maybe"]))
    assert flag.tolist()[:8] == [True, False, True, False, True, False, True, False]
    assert pd.isna(flag.iloc[8]) and pd.isna(flag.iloc[9])
    assert bad.tolist() == [False] * 9 + [True]


def test_a_configured_positive_value_and_its_one_other_value():
    flag, bad = parse_churn_flag(pd.Series(["gone", "here", "gone", "here"]), "gone")
    assert flag.tolist() == [True, False, True, False] and not bad.any()
    flag, bad = parse_churn_flag(pd.Series([1, 0, 2, 1]), 1)
    assert flag.tolist()[:2] == [True, False] and bad.tolist() == [False, False, True, False]
    with pytest.raises(ConfigError, match="customer_table.positive is 'x'.*never holds it"):
        parse_churn_flag(pd.Series(["a", "b"]), "x")


def test_types_are_inferred_from_the_values():
    n = 40
    df = pd.DataFrame({
        "RowNumber": [str(i + 1) for i in range(n)],
        "AccountId": [str(1000 + 7 * i) for i in range(n)],
        "age": [str(20 + i % 30) for i in range(n)],
        "plan": ["a", "b", "c", "d"] * 10,
        "code": [f"X{i:03d}-Q" for i in range(n)],
        "joined": [f"2024-01-{1 + i % 28:02d}" for i in range(n)],
        "note": [f"said thing {i}" for i in range(n)],
        "empty": [""] * n,
    })
    types = infer_types(df, overrides={"plan": "text"}, max_categories=10)
    got = dict(zip(types["column"], types["type"]))
    assert got == {"RowNumber": "id", "AccountId": "id", "age": "numeric", "plan": "text", "code": "id",
                   "joined": "date", "note": "text", "empty": "ignore"}
    assert types.set_index("column").loc["plan", "how"] == "config"


def test_prepare_keeps_every_column_typed_and_rejects_bad_flags_and_tenure(tmp_path):
    path = _csv(tmp_path, "cid,left,months,plan,spend\n"
                          "A1,Yes,3,basic,10\n"
                          "A2,No,-5,basic,12\n"
                          "A3,maybe,4,pro,x\n"
                          "A4,No,ten,pro,13\n"
                          "A5,,7,pro,1 234\n"
                          "A1,Yes,3,basic,10\n")
    cfg = _config(path, tenure="months", types={"spend": "numeric"})
    out = prepare_customer_table(cfg.data, cfg.customer_table, run_date=RUN_DATE)
    clean = out.result.tables["customers"]
    assert clean["customer_id"].tolist() == ["A1", "A5"]
    assert clean["spend"].tolist() == [10.0, 1234.0]
    assert clean["churn"].tolist()[0] is True and pd.isna(clean["churn"].iloc[1])
    assert clean["months"].tolist() == [3.0, 7.0]
    assert clean["plan"].dtype == "string" and clean["spend"].dtype == "float64"
    rej = out.result.rejects.set_index("source_row")
    assert rej.loc[1, "rule"] == "invalid_tenure" and "'-5' is negative" in rej.loc[1, "reason"]
    assert rej.loc[2, "rule"] == "invalid_churn_flag" and "'maybe'" in rej.loc[2, "reason"]
    assert rej.loc[3, "rule"] == "invalid_tenure" and "'ten' is not a number" in rej.loc[3, "reason"]
    assert rej.loc[5, "rule"] == "duplicate"
    s = out.result.summary.iloc[0]
    assert (s.rows_in, s.rows_kept, s.rows_rejected) == (6, 2, 4)
    assert s.rows_in == s.rows_kept + (out.result.rejects["action"] == "dropped").sum()


def test_a_number_that_does_not_parse_is_logged_and_set_to_nan(tmp_path):
    path = _csv(tmp_path, "cid,left,spend\n" + "".join(f"C{i},{'Yes' if i % 2 else 'No'},{i}\n" for i in range(30))
                + "C99,No,lots\n")
    cfg = _config(path, types={"spend": "numeric"})
    out = prepare_customer_table(cfg.data, cfg.customer_table, run_date=RUN_DATE)
    clean = out.result.tables["customers"]
    assert len(clean) == 31 and np.isnan(clean["spend"].iloc[-1])
    rej = out.result.rejects
    assert rej["rule"].tolist() == ["unparseable_number"] and rej["action"].tolist() == ["changed"]


def test_unknown_columns_and_a_second_table_are_one_sentence(tmp_path):
    path = _csv(tmp_path, "cid,left\nA,Yes\nB,No\n")
    cfg = _config(path, tenure="tenure_months")
    with pytest.raises(SchemaError, match="customer_table.tenure names column 'tenure_months', which is not in"):
        prepare_customer_table(cfg.data, cfg.customer_table)
    cfg = LoyalistConfig(data={"customers": {"path": str(path), "columns": {"customer_id": "cid"}},
                               "orders": {"path": str(path)}}, customer_table={"churn": "left"})
    with pytest.raises(ConfigError, match="data.orders is configured too"):
        prepare_customer_table(cfg.data, cfg.customer_table)


def test_names_are_masked_and_never_kept_raw(tmp_path):
    from loyalist.data.prepare import protect_clean

    path = _csv(tmp_path, "cid,left,Surname\nA,Yes,Hargrave\nB,No,Hill\n")
    cfg = LoyalistConfig(data={"customers": {"path": str(path), "columns": {"customer_id": "cid", "name": "Surname"}}},
                         customer_table={"churn": "left"})
    out = prepare_customer_table(cfg.data, cfg.customer_table)
    stored = protect_clean(out.result, cfg.privacy, None).tables["customers"]
    assert "Hargrave" not in stored.to_csv() and "Surname" not in out.types["column"].tolist()


@pytest.mark.realdata
@pytest.mark.parametrize("name, rows, churned", [("telco", 7043, 1869), ("ecommerce", 5630, 948),
                                                  ("bank", 10000, 2038)])
def test_the_dataset_configs_prepare_the_real_tables(shared_data, name, rows, churned):
    from loyalist.config.load import load_config

    cfg = load_config([ROOT / "configs" / "datasets" / f"{name}.yaml"])
    out = prepare_customer_table(cfg.data, cfg.customer_table, run_date=RUN_DATE)
    clean = out.result.tables["customers"]
    assert len(clean) == rows and int(clean["churn"].sum()) == churned
    kinds = dict(zip(out.types["column"], out.types["type"]))
    if name == "telco":
        assert kinds["Contract"] == "categorical" and kinds["TotalCharges"] == "numeric"
        assert clean["TotalCharges"].isna().sum() == 11  # the 11 blanks are missing, not rejected
    if name == "bank":
        assert kinds["RowNumber"] == "id" and "name" in clean.columns
    if name == "ecommerce":
        assert kinds["PreferedOrderCat"] == "categorical" and clean["Tenure"].isna().sum() == 264


@pytest.mark.realdata
def test_the_leakage_alarm_finds_the_bank_column_that_equals_the_flag(shared_data):
    """SOURCE.md says one bank column almost equals the flag; the rule finds it without being told its name."""
    from loyalist.config.load import load_config
    from loyalist.tabular import leakage_report, make_folds

    cfg = load_config([ROOT / "configs" / "datasets" / "bank.yaml"])
    out = prepare_customer_table(cfg.data, cfg.customer_table, run_date=RUN_DATE)
    clean = out.result.tables["customers"]
    y = clean["churn"].astype(bool).to_numpy().astype(int)
    rep = leakage_report(clean, y, out.types, make_folds(y, 5, 0), leakage_auc=0.97, id_auc=0.6)
    raised = rep.loc[rep["alarm"] != ""]
    assert raised["column"].tolist() == ["Complain"] and raised["excluded"].all()
    assert raised["auc"].iloc[0] > 0.99
    ids = rep.loc[rep["type"] == "id"].set_index("column")
    assert set(ids.index) == {"RowNumber"} and ids.loc["RowNumber", "auc"] < 0.6  # numbered, not sorted by outcome


def test_a_table_whose_every_row_is_rejected_is_one_sentence(tmp_path):
    from loyalist.errors import DataQualityError

    path = _csv(tmp_path, "cid,left\nA,maybe\nB,unknown\n")
    cfg = _config(path)
    with pytest.raises(DataQualityError, match=r"Every row of the customer table .* was rejected \(2 rows; top rules: "
                                               r"invalid_churn_flag \(2\)\)"):
        prepare_customer_table(cfg.data, cfg.customer_table)


def test_a_date_that_does_not_parse_is_logged_and_set_to_nat(tmp_path):
    path = _csv(tmp_path, "cid,left,joined\n" + "".join(f"C{i},{'Yes' if i % 2 else 'No'},2024-01-{1 + i:02d}\n"
                                                         for i in range(25)) + "C99,No,someday\n")
    cfg = _config(path, types={"joined": "date"})
    out = prepare_customer_table(cfg.data, cfg.customer_table, run_date=RUN_DATE)
    clean = out.result.tables["customers"]
    assert str(clean["joined"].dtype).startswith("datetime64") and pd.isna(clean["joined"].iloc[-1])
    assert clean["joined"].iloc[0] == pd.Timestamp("2024-01-01")
    assert out.result.rejects["rule"].tolist() == ["unparseable_date"]


def test_date_columns_with_time_zones_are_reported_like_the_event_tables(tmp_path):
    # table mode typed a date column with offsets without a word (and crashed on mixed offsets: pandas' "Mixed
    # timezones detected" from the type inference, a traceback); now summary.csv's time_zones and prepare's note
    # name them as for the event tables, beside the canonical signup_date's
    import json

    from typer.testing import CliRunner

    from loyalist.cli import app

    rows = ["cid,left,months,last_login,signup_date"]
    for i in range(40):
        offset = "+09:00" if i % 4 == 0 else "+08:00"
        rows.append(f"A{i},{'Yes' if i % 3 == 0 else 'No'},{i},2024-03-{1 + i % 28:02d}T23:30:00{offset},"
                    f"2023-01-{1 + i % 28:02d}T10:00:00Z")
    path = _csv(tmp_path, "\n".join(rows) + "\n")
    cfg = _config(path, tenure="months")
    out = prepare_customer_table(cfg.data, cfg.customer_table, run_date=RUN_DATE)
    assert dict(zip(out.types["column"], out.types["type"]))["last_login"] == "date"
    clean = out.result.tables["customers"]
    assert clean["last_login"].iloc[0] == pd.Timestamp("2024-03-01 23:30")  # each value's own clock time
    summary = out.result.summary
    assert json.loads(summary["time_zones"].iloc[0]) == {"last_login": {"+08:00": 30, "+09:00": 10},
                                                         "signup_date": {"+00:00": 40}}
    (tmp_path / "t.yaml").write_text(f"data:\n  customers:\n    path: {path}\n    columns: {{customer_id: cid}}\n"
                                     "customer_table:\n  churn: left\n  tenure: months\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["prepare", "--config", str(tmp_path / "t.yaml"), "--out", str(tmp_path / "c")],
                                env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert (f"Note: date column 'last_login' of table 'customers' ('{path}') mixes UTC offsets (+08:00 on 30 "
            "values, +09:00 on 10 values); each value keeps its own clock time") in text
    assert (f"Note: date column 'signup_date' of table 'customers' ('{path}') carries the UTC offset +00:00 (40 "
            "values); it was dropped") in text
    written = pd.read_csv(tmp_path / "c" / "summary.csv", encoding="utf-8-sig")
    assert json.loads(written["time_zones"].iloc[0])["last_login"] == {"+08:00": 30, "+09:00": 10}
    # a table without zones says nothing
    path.write_text("cid,left,months,last_login\nA1,Yes,3,2024-03-01 10:00\nA2,No,4,2024-03-02 11:00\n",
                    encoding="utf-8")
    result = CliRunner().invoke(app, ["prepare", "--config", str(tmp_path / "t.yaml"), "--out", str(tmp_path / "d")],
                                env={"COLUMNS": "400"})
    assert result.exit_code == 0 and "UTC offset" not in result.output and "time zone" not in result.output
