"""Smoke test of the whole product: `loyalist demo` in a temp folder with a temp MLflow store."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from loyalist.batch.columns import RISK_LIST_COLUMNS
from loyalist.batch.scoring import SCORING_STAGES
from loyalist.cli import app
from loyalist.config import DEMO_CONFIG, read_yaml
from loyalist.config.resolved import config_hash, read_resolved

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("demo")
    runner = CliRunner()
    result = runner.invoke(
        app, ["demo", "--workdir", str(workdir), "--customers", "900", "--seed", "5"],
        env={"MLFLOW_TRACKING_URI": f"sqlite:///{workdir}/mlruns/mlflow.db", "COLUMNS": "160"},
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    return workdir, result.output


def test_demo_prints_rows_tiers_models_and_paths(demo_dir):
    workdir, out = demo_dir
    assert "rows in" in out and "kept" in out and "rejected" in out
    assert "铁杆忠诚" in out and "高风险流失" in out
    # the first version passes the baseline bar (or is the baseline) and becomes champion, and says why
    assert re.search(r"loyalist-churn version 1: The learned churn model (beats|loses to) the baselines .*?"
                     r"No\s+champion\s+exists", out, re.S)
    assert "loyalty_scores.parquet" in out and "churn_risk.parquet" in out


def test_demo_rows_are_accounted_for(demo_dir):
    workdir, _ = demo_dir
    summary = pd.read_csv(workdir / "data" / "demo" / "clean" / "summary.csv")
    assert (summary["rows_in"] == summary["rows_kept"] + summary["rows_rejected"]).all()
    rejects = pd.read_parquet(workdir / "data" / "demo" / "clean" / "rejects.parquet")
    dropped = rejects[rejects["action"] == "dropped"].groupby("table").size()
    for row in summary.itertuples():
        assert dropped.get(row.table, 0) == row.rows_rejected


def test_demo_loyalty_scores_have_the_documented_columns(demo_dir):
    workdir, _ = demo_dir
    scores = pd.read_parquet(workdir / "outputs" / "demo" / "loyalty_scores.parquet")
    needed = {
        "customer_id", "as_of", "repurchase_rate", "order_value_stability", "purchase_frequency", "nps",
        "complaint_rate", "loyalty_score", "score_coverage", "loyalty_tier", "tier_reason", "rfm_r", "rfm_f",
        "rfm_m", "rfm_segment",
    }
    assert needed <= set(scores.columns)
    assert {c for c in scores.columns if c.endswith("_scaled")} >= {
        "repurchase_rate_scaled", "nps_scaled", "complaint_rate_scaled"}
    assert scores["customer_id"].is_unique
    assert set(scores["loyalty_tier"].dropna().astype(str)) <= {"devoted", "stable", "at_risk", "high_risk"}
    csv = pd.read_csv(workdir / "outputs" / "demo" / "loyalty_scores.csv", encoding="utf-8-sig")
    assert len(csv) == len(scores)


def test_demo_risk_list_is_complete_sorted_and_masked(demo_dir):
    workdir, _ = demo_dir
    risk = pd.read_parquet(workdir / "outputs" / "demo" / "churn_risk.parquet")
    loyalty = pd.read_parquet(workdir / "outputs" / "demo" / "loyalty_scores.parquet")
    summary = json.loads((workdir / "outputs" / "demo" / "churn_risk_summary.json").read_text(encoding="utf-8"))
    # the demo's own campaign teaches an uplift model first; when the gate makes it champion (it did with seed 5
    # after the value model's 31-leaf trees changed the earlier list's control draw), the list scored next carries
    # its two columns after the documented ones, and only then
    extra = ["uplift", "expected_saved_value"] if "uplift" in summary["models"] else []
    assert list(risk.columns) == [*RISK_LIST_COLUMNS, *extra]
    if extra:
        assert risk["uplift"].between(-1, 1).all() and risk["expected_saved_value"].notna().all()
    assert risk["customer_id"].is_unique
    assert set(risk["customer_id"]) == set(loyalty["customer_id"])  # every eligible customer, once
    assert risk["value_at_risk"].is_monotonic_decreasing
    assert ((risk["churn_probability"] >= 0) & (risk["churn_probability"] <= 1)).all()
    assert (risk["reason_1"].str.len() > 0).mean() > 0.5
    raw = pd.read_csv(workdir / "data" / "demo" / "raw" / "customers.csv", encoding="gb18030", dtype=str)
    names = set(raw["客户名称"].dropna())
    contacts = set(raw["联系方式"].dropna())
    text = risk.to_csv() + (workdir / "outputs" / "demo" / "churn_risk_summary.json").read_text(encoding="utf-8")
    text += loyalty.to_csv()
    leaked = [v for v in names | contacts if len(v) > 3 and v in text]
    assert not leaked, leaked[:5]
    assert summary["customers"] == len(risk)
    assert sum(summary["tiers"].values()) == len(risk)
    assert summary["models"]["churn"]["version"] == "1"


def test_cli_score_streams_the_clean_files_and_gives_the_demo_list(demo_dir, tmp_path):
    """`loyalist score --clean` leaves orders, order lines, tickets and surveys on disk (DuckDB streams the Parquet
    files); with the same champion and config its list equals the one the demo scored from in-memory tables."""
    workdir, _ = demo_dir
    clean = workdir / "data" / "demo" / "clean"
    result = CliRunner().invoke(
        app, ["score", "--clean", str(clean),
              "--workdir", str(workdir), "--out", str(tmp_path / "o")],
        env={"MLFLOW_TRACKING_URI": f"sqlite:///{workdir}/mlruns/mlflow.db", "COLUMNS": "160"},
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    streamed = pd.read_parquet(tmp_path / "o" / "churn_risk.parquet")
    in_memory = pd.read_parquet(workdir / "outputs" / "demo" / "churn_risk.parquet")
    assert set(streamed["churn_model_version"]) == set(in_memory["churn_model_version"]) == {"1"}
    pd.testing.assert_frame_equal(streamed, in_memory)
    summary = json.loads((tmp_path / "o" / "churn_risk_summary.json").read_text(encoding="utf-8"))
    inputs = summary["inputs"]
    orders = pq.ParquetFile(clean / "orders.parquet").metadata.num_rows
    assert inputs["orders"]["source"] == "file" and inputs["orders"]["rows"] == orders
    assert "source" not in inputs["customers"]  # read into pandas: the content fingerprint
    # issue 14: CPU seconds (every thread) and the peak memory so far, per stage, for the benchmark's table
    cpu, peak = summary["cpu_seconds"], summary["peak_mb"]
    assert list(peak) == list(cpu)
    assert {"startup", "load_models", *SCORING_STAGES, "protect", "control_group", "write_parquet",
            "write_csv"} <= set(cpu)
    assert min(cpu.values()) >= 0 and cpu["snapshot"] > 0
    assert list(peak.values()) == sorted(peak.values()) and peak["startup"] > 50  # a running maximum, in MB


def test_cli_loyalty_from_the_clean_files_gives_the_demo_table(demo_dir, tmp_path):
    workdir, _ = demo_dir
    result = CliRunner().invoke(
        app, ["loyalty", "--clean",
              str(workdir / "data" / "demo" / "clean"), "--out", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "loyalty_scores.parquet"),
                                  pd.read_parquet(workdir / "outputs" / "demo" / "loyalty_scores.parquet"))


def test_demo_steps_share_the_config_prepare_stored(demo_dir):
    workdir, _ = demo_dir
    clean, out = workdir / "data" / "demo" / "clean", workdir / "outputs" / "demo"
    resolved = read_resolved(clean)
    assert resolved is not None and resolved.name == "demo"
    risk = pd.read_parquet(out / "churn_risk.parquet").set_index("customer_id")["loyalty_tier"].astype(str)
    loyalty = pd.read_parquet(out / "loyalty_scores.parquet").set_index("customer_id")["loyalty_tier"].astype(str)
    assert (risk.sort_index() == loyalty.reindex(risk.index).sort_index()).all()
    summary = json.loads((out / "churn_risk_summary.json").read_text(encoding="utf-8"))
    loyalty_summary = json.loads((out / "loyalty_summary.json").read_text(encoding="utf-8"))
    assert summary["config_hash"] == loyalty_summary["config_hash"] == config_hash(resolved)


def test_a_preset_given_once_to_prepare_is_used_end_to_end(demo_dir, tmp_path):
    """README flow: prepare --preset retail, then loyalty and score without it. Tiers in the risk list equal
    those in loyalty_scores (34.5% of the demo's customers differed when the preset went to loyalty alone)."""
    workdir, _ = demo_dir
    data = read_yaml(DEMO_CONFIG)
    for source in data["data"].values():
        source["path"] = str(workdir / "data" / "demo" / "raw" / source["path"])
    mine = tmp_path / "my_company.yaml"
    mine.write_text(yaml.safe_dump({"data": data["data"]}, allow_unicode=True), encoding="utf-8")
    runner, clean = CliRunner(), tmp_path / "clean"
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{workdir}/mlruns/mlflow.db", "COLUMNS": "160"}
    steps = [
        ["prepare", "--config", str(mine), "--preset", "retail", "--out", str(clean)],
        ["loyalty", "--clean", str(clean), "--out", str(tmp_path / "out")],
        ["score", "--clean", str(clean), "--workdir", str(workdir), "--out", str(tmp_path / "scores")],
    ]
    for args in steps:
        result = runner.invoke(app, args, env=env)
        assert result.exit_code == 0, result.output + repr(result.exception)
        assert "Warning" not in result.output
    resolved = read_resolved(clean)
    assert resolved.preset == "retail" and resolved.scoring.guards[0].name == "no_order_60_days"
    loyalty = pd.read_parquet(tmp_path / "out" / "loyalty_scores.parquet").set_index("customer_id")
    risk = pd.read_parquet(tmp_path / "scores" / "churn_risk.parquet").set_index("customer_id")
    tiers = loyalty["loyalty_tier"].astype(str).reindex(risk.index)
    assert (tiers == risk["loyalty_tier"].astype(str)).all()
    demo = pd.read_parquet(workdir / "outputs" / "demo" / "loyalty_scores.parquet").set_index("customer_id")
    assert (demo["loyalty_tier"].astype(str).reindex(tiers.index) != tiers).mean() > 0.05  # the preset mattered
    summary = json.loads((tmp_path / "scores" / "churn_risk_summary.json").read_text(encoding="utf-8"))
    assert summary["config_hash"] == config_hash(resolved) and summary["config"]["preset"] == "retail"
    # a step given a config that differs from the prepared one says so, naming the keys
    result = runner.invoke(app, ["loyalty", "--clean", str(clean), "--preset", "manufacturing",
                                 "--out", str(tmp_path / "other")], env=env)
    assert result.exit_code == 0, result.output
    assert "Warning: The config given to this step differs" in result.output
    assert "scoring.guards" in result.output and "preset" in result.output


def test_cli_prints_one_sentence_and_exit_code_2(tmp_path):
    runner = CliRunner()
    bad = tmp_path / "bad.yaml"
    bad.write_text("features:\n  lookbak_days: 3\n", encoding="utf-8")
    result = runner.invoke(app, ["prepare", "--config", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "Error: Invalid configuration" in result.output
    assert "Traceback" not in result.output


def test_cli_score_without_a_champion_says_how_to_get_one(tmp_path, demo_dir):
    workdir, _ = demo_dir
    runner = CliRunner()
    result = runner.invoke(
        app, ["score", "--clean", str(workdir / "data" / "demo" / "clean"), "--workdir", str(tmp_path),
              "--out", str(tmp_path / "o")],
        env={"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/empty.db"},
    )
    assert result.exit_code == 2
    assert "loyalist train" in result.output and "champion" in result.output


def test_cli_as_of_beyond_the_data_is_refused(tmp_path, demo_dir):
    workdir, _ = demo_dir
    result = CliRunner().invoke(
        app, ["loyalty", "--clean", str(workdir / "data" / "demo" / "clean"), "--as-of", "2031-01-01",
              "--out", str(tmp_path)],
    )
    assert result.exit_code == 2
    assert "after the last order in the data" in result.output


def test_first_demo_report_tracks_a_period(demo_dir):
    """The demo scores an earlier cut-off too, so its very first report shows migration, win-back and trend."""
    workdir, _ = demo_dir
    report = workdir / "outputs" / "demo" / "report"
    summary = json.loads((report / "report_summary.json").read_text(encoding="utf-8"))
    tracking = summary["tracking"]
    assert tracking is not None and tracking["previous_as_of"] < tracking["current_as_of"]
    assert tracking["win_back"]["previous_high_risk"] > 0 and tracking["win_back"]["rate"] is not None
    assert sum(sum(row.values()) for row in tracking["migration"].values()) > 0
    assert len(summary["status"]["trend"]) == 2
    html = (report / "report_zh.html").read_text(encoding="utf-8")
    section = html[html.index('<section id="tracking">'):html.index('<section id="appendix">')]
    assert '<table class="migration">' in section and "召回率" in section


def test_demo_report_shows_active_customer_churn_beside_the_baselines(demo_dir):
    """Issue 11 §4: the churn run's active-customer table reaches the list summary and the report's appendix."""
    workdir, _ = demo_dir
    out = workdir / "outputs" / "demo"
    active = json.loads((out / "churn_risk_summary.json").read_text(encoding="utf-8"))["model_metrics"]["churn_active"]
    assert {"loyalist", "recency", "frequency"} <= {r["scorer"] for r in active}
    summary = json.loads((out / "report" / "report_summary.json").read_text(encoding="utf-8"))
    block = summary["appendix"]["active_churn"]
    assert block["n"] == active[0]["n"] > 0 and block["roc_auc"]["loyalist"] == pytest.approx(active[0]["roc_auc"])
    assert isinstance(block["below_best_baseline"], bool) and len(block["sentences"]) == 2
    for lang in ("zh", "en"):
        html = (out / "report" / f"report_{lang}.html").read_text(encoding="utf-8")
        section = html[html.index('<section id="appendix">'):]
        assert 'id="active-churn"' in section
        assert ("ROC AUC：" if lang == "zh" else "ROC AUC: loyalist model ") in section


@pytest.mark.skipif(shutil.which("chromium") is None or shutil.which("pdftotext") is None,
                    reason="needs chromium and pdftotext (apt-get install chromium poppler-utils)")
def test_first_demo_zh_pdf_is_chinese_and_explains_the_guards(demo_dir, tmp_path):
    from loyalist.report.render import render_pdf

    workdir, _ = demo_dir
    report = workdir / "outputs" / "demo" / "report"
    summary = json.loads((report / "report_summary.json").read_text(encoding="utf-8"))
    pdf = render_pdf((report / "report_zh.html").read_text(encoding="utf-8"), tmp_path / "report_zh.pdf")
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    flat = re.sub(r"\s+", "", text)
    for code in ("duplicate", "dropped", "changed", "argument", "roc_auc", "high_risk", "(churn)",
                 "unknown_customer", "features.lookback_days"):
        assert code not in text, f"{code!r} in the zh PDF"
    assert not re.search(r"\d,\d{3}\.000", text)
    guards = summary["status"]["guards"]["rules"]
    assert guards and sum(g["customers"] for g in guards) > 0
    for g in guards:  # the guard table names each rule with the customers it moved
        assert f"“{g['label']['zh']}”下调{g['customers']:,}位" in flat
    assert "等级原因" in flat and "守卫规则" in flat and "六、效果跟踪" in flat and "召回率" in flat


def test_demo_writes_a_drift_page_linked_from_the_report_and_logged_to_mlflow(demo_dir):
    workdir, _ = demo_dir
    out = workdir / "outputs" / "demo"
    page = (out / "churn_risk_drift_zh.html").read_text(encoding="utf-8")
    assert "预测本身的漂移" in page and "类别特征" in page and "对比基线: " in page  # the earlier list is the baseline
    assert 'data-feature="industry"' in page and 'data-column="churn_probability"' in page
    report = (out / "report" / "report_zh.html").read_text(encoding="utf-8")
    assert 'href="../churn_risk_drift_zh.html"' in report
    logged = sorted(p.name for p in (workdir / "mlruns").rglob("churn_risk_drift_*.html"))
    assert "churn_risk_drift_zh.html" in logged and "churn_risk_drift_en.html" in logged


def test_demo_csv_has_one_language_per_column_set(demo_dir):
    workdir, _ = demo_dir
    path = workdir / "outputs" / "demo" / "churn_risk.csv"
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"
    csv = pd.read_csv(path, encoding="utf-8-sig", nrows=50)
    assert {"reason_1_zh", "reason_1_en", "recommended_action_zh", "loyalty_tier_label_zh"} <= set(csv.columns)
    assert not csv["recommended_action_zh"].str.contains(" / ", regex=False).any()
    assert (csv["churn_probability"].round(4) == csv["churn_probability"]).all()


@pytest.mark.parametrize("option", ["--churn-horizon-days", "--value-horizon-days"])
def test_cli_score_refuses_a_horizon_the_champion_cannot_reach(tmp_path, demo_dir, option):
    # issue 11 §1: both horizons are options of 'score' (and 'train'), each reaching its own model
    workdir, _ = demo_dir
    result = CliRunner().invoke(
        app, ["score", "--clean", str(workdir / "data" / "demo" / "clean"), "--workdir", str(workdir),
              "--out", str(tmp_path / "o"), option, "30"],
        env={"MLFLOW_TRACKING_URI": f"sqlite:///{workdir}/mlruns/mlflow.db", "COLUMNS": "160"},
    )
    assert result.exit_code == 2, result.output
    model = "churn" if option.startswith("--churn") else "value"
    flat = " ".join(result.output.split())
    assert f"{option} is 30 but the {model} model" in flat and f"loyalist train {option} 30" in flat, result.output
    assert "Traceback" not in result.output


def test_demo_holds_out_a_control_group_beside_the_list_and_in_mlflow(demo_dir, tmp_path):
    """Issue 16 §1: the list marks the control customers (no action), the assignment beside it matches the list,
    is logged with the scoring run, and a rerun with crm_export: omit holds out the same customers and leaves them
    out of the CSV only."""
    workdir, _ = demo_dir
    out = workdir / "outputs" / "demo"
    risk = pd.read_parquet(out / "churn_risk.parquet")
    assignment = pd.read_parquet(out / "churn_risk_control.parquet")
    control = risk["control_group"].to_numpy(dtype=bool)
    assert 0 < control.sum() < 0.2 * len(risk)
    assert (risk.loc[control, "recommended_action"] == "").all()
    by_id = risk.set_index("customer_id")
    assert set(assignment.loc[assignment["group"] == "control", "customer_id"]) == set(risk.loc[control, "customer_id"])
    treated = assignment[assignment["group"] == "treatment"]
    assert (by_id.loc[treated["customer_id"], "recommended_action"].to_numpy() == treated["action"].to_numpy()).all()
    assert (by_id.loc[assignment["customer_id"], "risk_band"].to_numpy() == assignment["risk_band"].to_numpy()).all()
    assert set(assignment["seed"]) == {0} and set(assignment["share"]) == {0.1}
    summary = json.loads((out / "churn_risk_summary.json").read_text(encoding="utf-8"))["control_group"]
    assert summary["control"] == control.sum() and summary["customers"] == len(assignment)
    logged = sorted(p.name for p in (workdir / "mlruns").rglob("churn_risk_control.*"))
    assert "churn_risk_control.parquet" in logged and "churn_risk_control.csv" in logged
    # the scoring run names the campaign (tags, as the effect and uplift runs do) with its date, seed, share and
    # actions, and keeps them as control/campaign.json: a campaign's assignment is found by name in MLflow
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{workdir}/mlruns/mlflow.db")
    campaign = str(assignment["campaign"].iloc[0])
    # other tests of this module score the same demo folder again (same cut-off, so the same campaign name): the
    # demo's own scoring run is the first one tagged with it
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()],
                              filter_string=f"tags.campaign = '{campaign}' and attributes.run_name = 'score'",
                              order_by=["attributes.start_time ASC"])
    assert runs, f"no scoring run tagged campaign {campaign!r}"
    params = runs[0].data.params
    assert runs[0].data.tags["campaign_date"] == str(assignment["campaign_date"].iloc[0].date())
    assert (params["control.seed"], params["control.share"]) == ("0", "0.1")
    assert {v for k, v in params.items() if k.startswith("control.action.")} == set(assignment["action"])
    logged_block = json.loads(Path(client.download_artifacts(runs[0].info.run_id, "control/campaign.json",
                                                             str(tmp_path))).read_text(encoding="utf-8"))
    assert logged_block == summary and {a["action"] for a in summary["actions"]} == set(assignment["action"])
    assert sum(a["control"] for a in summary["actions"]) == control.sum()
    (tmp_path / "omit.yaml").write_text("scoring_job:\n  control_group:\n    crm_export: omit\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["score", "--clean", str(workdir / "data" / "demo" / "clean"), "--config", str(tmp_path / "omit.yaml"),
              "--workdir", str(workdir), "--out", str(tmp_path / "o")],
        env={"MLFLOW_TRACKING_URI": f"sqlite:///{workdir}/mlruns/mlflow.db", "COLUMNS": "160"},
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    said = " ".join(result.output.split())
    assert f"{int(control.sum()):,} of {len(assignment):,} customers with an action held out" in said
    again = pd.read_parquet(tmp_path / "o" / "churn_risk_control.parquet")
    pd.testing.assert_frame_equal(again, assignment)  # the same split on a rerun
    csv = pd.read_csv(tmp_path / "o" / "churn_risk.csv", encoding="utf-8-sig", usecols=["customer_id"])
    assert set(csv["customer_id"]) == set(risk.loc[~control, "customer_id"])


def test_score_control_share_option_holds_out_that_share_and_refuses_0_or_1(demo_dir, tmp_path):
    """Issue 16 §1 / bad input: the control share from the command line (it was a config key only): held out per
    stratum, written in the assignment and said; 0, 1 or more is one sentence (exit 2), as is a share while control
    groups are off."""
    workdir, _ = demo_dir
    clean = workdir / "data" / "demo" / "clean"
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{workdir}/mlruns/mlflow.db", "COLUMNS": "160"}

    def score(*extra: str):
        return CliRunner().invoke(app, ["score", "--clean", str(clean), "--workdir", str(workdir), "--out",
                                        str(tmp_path / "o"), *extra], env=env)

    for bad in ("0", "1", "1.5", "-0.2"):
        result = score("--control-share", bad)
        said = " ".join(result.output.split())
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output
        assert "is not strictly between 0 and 1" in said and "scoring_job.control_group.enabled: false" in said, said
    (tmp_path / "off.yaml").write_text("scoring_job:\n  control_group:\n    enabled: false\n", encoding="utf-8")
    off = score("--config", str(tmp_path / "off.yaml"), "--control-share", "0.2")
    assert off.exit_code == 2 and "scoring_job.control_group.enabled is false" in " ".join(off.output.split())
    result = score("--control-share", "0.25")
    assert result.exit_code == 0, result.output + repr(result.exception)
    assignment = pd.read_parquet(tmp_path / "o" / "churn_risk_control.parquet")
    assert set(assignment["share"]) == {0.25}
    sizes = assignment.groupby(["action", "loyalty_tier", "risk_band"])["group"].agg(
        n="size", control=lambda g: int((g == "control").sum()))
    assert (sizes["control"] == np.floor(sizes["n"] * 0.25 + 0.5)).all()  # round(n x share) per stratum
    assert "(share 25%, seed 0)" in " ".join(result.output.split())


def test_demo_runs_one_campaign_cycle_and_its_first_report_shows_the_measured_effect(demo_dir):
    """Issue 16: the earlier list's control assignment -> a simulated outcome with heterogeneous effects (truth
    recorded) in a copy of the clean folder -> 'loyalist effect' (files, MLflow run in the campaigns' experiment)
    -> 'loyalist uplift' -> the report's 效果跟踪 shows the measured effect."""
    from mlflow import MlflowClient

    workdir, out = demo_dir
    demo = workdir / "outputs" / "demo"
    truth = json.loads((demo / "campaign" / "truth.json").read_text(encoding="utf-8"))
    per_customer = pd.read_parquet(demo / "campaign" / "truth.parquet")
    effect = json.loads((demo / "effect" / "effect.json").read_text(encoding="utf-8"))
    previous = pd.read_parquet(demo / "previous" / "churn_risk.parquet")
    assert effect["campaign_date"] == str(previous["as_of"].iloc[0].date())
    assert effect["horizon_days"] == truth["horizon_days"] == 90
    overall = next(r for r in effect["summary"] if r["level"] == "all")
    control = pd.read_parquet(demo / "previous" / "churn_risk_control.parquet")
    assert overall["n_control"] == int((control["group"] == "control").sum()) > 0
    assert len(per_customer) == len(control) and set(per_customer["type"]) <= {
        "persuadable", "sure_thing", "lost_cause", "sleeping_dog"}
    # randomised groups: the measured difference covers the true mean effect (seeded, so this run is fixed)
    assert truth["true_effect_churn"] == pytest.approx(per_customer["effect_churn"].mean())
    assert overall["churn_ci_low"] <= truth["true_effect_churn"] <= overall["churn_ci_high"], (overall, truth)
    assert overall["cost"] > 0
    said = " ".join(out.split())
    assert "Measured churn:" in said and f"true {100 * truth['true_effect_churn']:+.1f}" in said
    # customers saved and the value net of cost each with its interval (the demo's revenue difference is mostly noise)
    assert f"({overall['net_low']:,.0f} to {overall['net_high']:,.0f}) kept net of the actions' cost" in said, said
    assert "Uplift model loyalist-churn-uplift version 1" in said
    # the simulation touched a copy of the clean folder only
    after = workdir / "data" / "demo" / "after_campaign"
    assert (after / "clean.manifest.json").is_file() and (after / "resolved_config.yaml").is_file()
    generated = pd.read_parquet(workdir / "data" / "demo" / "clean" / "orders.parquet")
    world = pd.read_parquet(after / "orders.parquet")
    # the copy holds the world with the campaign: the contacted persuadables' added orders (at least one each) and
    # the generated orders less the contacted sleeping dogs' window orders. Compared by order id, not by count: the
    # orders added and the orders removed can be as many (seed 5 with the 31-leaf value model: 54 and 54).
    added = world["order_id"].astype(str).str.startswith("sim-")
    contacted = per_customer[per_customer["group"] == "treatment"]
    assert world.loc[added, "customer_id"].nunique() == (contacted["type"] == "persuadable").sum() > 0
    assert not generated["order_id"].astype(str).str.startswith("sim-").any()  # the clean folder is untouched
    assert set(world.loc[~added, "order_id"]) <= set(generated["order_id"])
    removed = generated[~generated["order_id"].isin(set(world["order_id"]))]
    start = pd.Timestamp(effect["campaign_date"]) + pd.Timedelta(days=1)  # (D, D + horizon], as the effect counts
    assert pd.to_datetime(removed["order_date"]).between(start, start + pd.Timedelta(days=truth["horizon_days"]),
                                                       inclusive="left").all()
    assert removed["customer_id"].nunique() == (contacted["type"] == "sleeping_dog").sum()
    summary = json.loads((demo / "report" / "report_summary.json").read_text(encoding="utf-8"))
    assert summary["effect"]["measured"] and summary["effect"]["campaign_date"] == effect["campaign_date"]
    for lang, words in (("zh", "活动效果测量（对照组）"), ("en", "Measured campaign effect")):
        html = (demo / "report" / f"report_{lang}.html").read_text(encoding="utf-8")
        section = html[html.index('<section id="tracking">'):html.index('<section id="appendix">')]
        assert words in section and 'data-chart="chart-effect"' in section
    client = MlflowClient(f"sqlite:///{workdir}/mlruns/mlflow.db")
    experiment = client.get_experiment_by_name("loyalist-campaigns")  # <tracking.experiment>-campaigns
    assert experiment is not None
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.data.params["campaign_date"] == effect["campaign_date"]
    assert run.data.metrics["all.saved"] == pytest.approx(overall["saved"])


def test_demo_list_has_time_to_churn_and_the_report_draws_it(demo_dir):
    """Issue 15 §2: p_active_30d/90d/180d and expected_days_to_churn in the list, curves per tier and the training
    run's predicted-vs-observed share still buying in the report."""
    workdir, _ = demo_dir
    risk = pd.read_parquet(workdir / "outputs" / "demo" / "churn_risk.parquet")
    p = risk[["p_active_30d", "p_active_90d", "p_active_180d"]]
    assert p.notna().all().all() and ((p >= 0) & (p <= 1)).all().all()
    assert (p["p_active_30d"] >= p["p_active_90d"]).all() and (p["p_active_90d"] >= p["p_active_180d"]).all()
    days = risk["expected_days_to_churn"]
    assert days.between(0, 365).all() and days.nunique() > 10
    # the curves start from the churn model's view: likely churners are expected to stay a much shorter time
    risky, safe = risk["churn_probability"] > 0.5, risk["churn_probability"] < 0.1
    assert risky.sum() >= 5 and safe.sum() >= 5
    assert days[risky].mean() < days[safe].mean() - 60, (days[risky].mean(), days[safe].mean())
    list_summary = json.loads((workdir / "outputs" / "demo" / "churn_risk_summary.json").read_text(encoding="utf-8"))
    calibration = list_summary["survival_calibration"]
    assert calibration["rows"] and 0 <= calibration["mae"] < 1
    report = workdir / "outputs" / "demo" / "report"
    summary = json.loads((report / "report_summary.json").read_text(encoding="utf-8"))
    assert {r["tier"] for r in summary["recommendations"]["survival"]} == set(risk["loyalty_tier"].dropna())
    html = (report / "report_en.html").read_text(encoding="utf-8")
    assert 'data-chart="chart-survival"' in html and 'data-chart="chart-survival_calibration"' in html


def test_a_demo_company_too_small_to_judge_an_uplift_model_still_finishes(tmp_path, monkeypatch):
    """The bad-input suite's 200-customer demo (seed 7) has 1 churned control customer: 'loyalist uplift' rightly
    refuses to judge a model on it, and the demo stopped there (87 suite cases errored in CI). The demo says so in one
    line, keeps the measured effect and writes the report. Forced here so the test does not depend on the draw."""
    from loyalist.errors import CampaignError
    from loyalist.jobs import uplift as uplift_job

    def too_small(*args, **kwargs):
        raise CampaignError("The campaign is too small to judge an uplift model (forced by the test).")

    monkeypatch.setattr(uplift_job, "run", too_small)
    result = CliRunner().invoke(
        app, ["demo", "--workdir", str(tmp_path), "--customers", "200", "--seed", "7"],
        env={"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/mlruns/mlflow.db", "COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "No uplift model learned: The campaign is too small to judge an uplift model (forced by the test)." \
        in result.output
    demo = tmp_path / "outputs" / "demo"
    assert (demo / "effect" / "effect.json").is_file()
    assert not (demo / "uplift").exists()
    for lang in ("zh", "en"):
        assert (demo / "report" / f"report_{lang}.html").is_file()


def test_second_training_keeps_the_champion_unless_beaten(demo_dir, tmp_path):
    """Runs at the end of this module (before the as-of training): its challenger may become the champion, and
    the tests above rescore with the demo's own champion."""
    workdir, _ = demo_dir
    runner = CliRunner()
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{workdir}/mlruns/mlflow.db", "COLUMNS": "160"}
    clean = str(workdir / "data" / "demo" / "clean")
    # the config stored with the clean tables and the same data: the run is the demo's own, nothing new registers
    result = runner.invoke(app, ["train", "--clean", clean, "--workdir", str(workdir), "--only", "churn"], env=env)
    assert result.exit_code == 0, result.output
    assert "same data fingerprint and config" in result.output
    # another seed is another challenger, which the gate judges against the champion
    seed = tmp_path / "seed.yaml"
    seed.write_text("training:\n  random_state: 1\n", encoding="utf-8")
    result = runner.invoke(app, ["train", "--clean", clean, "--workdir", str(workdir), "--only", "churn",
                                 "--config", str(seed)], env=env)
    assert result.exit_code == 0, result.output
    assert "training.random_state" in result.output  # named as differing from the prepared config
    assert re.search(r"version\s+2:.*(does\s+not\s+beat\s+champion|beats\s+champion|never\s+promoted)",
                     result.output, re.S), result.output
    listing = runner.invoke(app, ["models", "--workdir", str(workdir)], env=env)
    assert "champion" in listing.output and "challenger" in listing.output or "previous" in listing.output


def test_the_demo_earlier_list_says_its_models_learned_from_later_events(demo_dir):
    # The time rule: the earlier list (a backtest) is scored by champions trained on the whole history, whose early
    # stopping, calibration, level and BG/NBD read events after its as-of. It said nothing; now its summary (and the
    # console of 'loyalist score') says so, and the list at the data end does not.
    workdir, _ = demo_dir
    demo = workdir / "outputs" / "demo"
    earlier = json.loads((demo / "previous" / "churn_risk_summary.json").read_text(encoding="utf-8"))
    latest = json.loads((demo / "churn_risk_summary.json").read_text(encoding="utf-8"))
    data_end = str(pd.read_parquet(workdir / "data" / "demo" / "clean" / "orders.parquet",
                                   columns=["order_date"])["order_date"].max().date())
    said = [n for n in earlier["notes"] if "learned from events up to" in n]
    assert {n.split(" model ")[0] for n in said} == {"The churn", "The value"}, earlier["notes"]
    assert all(f"up to {data_end}, after this list's as-of {earlier['as_of'][:10]}" in n for n in said), said
    assert not [n for n in latest["notes"] if "learned from events up to" in n], latest["notes"]


def test_cli_train_as_of_learns_from_events_up_to_that_day_and_registers_once(demo_dir):
    """Runs last in this module: it may move the churn champion."""
    workdir, _ = demo_dir
    runner = CliRunner()
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{workdir}/mlruns/mlflow.db", "COLUMNS": "200"}
    args = ["train", "--clean", str(workdir / "data" / "demo" / "clean"), "--workdir", str(workdir),
            "--only", "churn", "--as-of", "2024-06-30", "--churn-horizon-days", "60"]
    first = runner.invoke(app, args, env=env)
    assert first.exit_code == 0, first.output + repr(first.exception)
    assert "Training on events dated up to 2024-06-30 only." in first.output
    valid = re.search(r"out of time at (\d{4}-\d\d-\d\d) \([\d,]+ customers, 60-day labels", first.output)
    assert valid, first.output
    # the validation labels end on or before the as-of day: nothing after it was read
    assert pd.Timestamp(valid.group(1)) + pd.Timedelta(days=60) <= pd.Timestamp("2024-06-30")
    again = runner.invoke(app, args, env=env)
    assert again.exit_code == 0, again.output
    assert re.search(r"same\s+data\s+fingerprint\s+and\s+config", again.output)
