"""The report and track jobs end to end from files (Parquet and CSV lists, summary JSON, a clean folder)."""

from __future__ import annotations

import json

import pytest

from loyalist.config.models import LoyalistConfig
from loyalist.errors import ConfigError, InputFileError, LoyalistError
from loyalist.report.inputs import read_scored_list, summary_path

from loyalist.jobs import report as report_job
from loyalist.jobs import track as track_job
from loyalist.jobs._ui import Reporter


@pytest.fixture(scope="module")
def files(tmp_path_factory, scored, list_summary, previous) -> dict:
    folder = tmp_path_factory.mktemp("scores")
    current = folder / "churn_risk.parquet"
    scored.to_parquet(current, index=False)
    summary_path(current).write_text(json.dumps(list_summary, ensure_ascii=False), encoding="utf-8")
    prev = folder / "churn_risk_2024q3.csv"
    previous.to_csv(prev, index=False, encoding="utf-8-sig")
    return {"current": current, "previous": prev}


def test_csv_and_parquet_read_back_alike(files, scored, previous):
    assert read_scored_list(files["current"])["customer_id"].tolist() == scored["customer_id"].tolist()
    back = read_scored_list(files["previous"])
    assert back["customer_id"].tolist() == previous["customer_id"].tolist()
    assert str(back["customer_id"].dtype) == "string"


def test_report_job_writes_summary_and_both_languages(files, clean_folder, tmp_path, factories):
    out = tmp_path / "report"
    paths = report_job.run(files["current"], [files["previous"]], lang="both", formats="html", out_dir=out,
                           clean_dir=clean_folder, reporter=Reporter(quiet=True))
    assert set(paths) == {"summary", "html_zh", "html_en"}
    assert sorted(p.name for p in out.iterdir()) == ["report.manifest.json", "report_en.html",
                                                     "report_summary.json", "report_zh.html"]
    summary = json.loads(paths["summary"].read_text(encoding="utf-8"))
    assert summary["tracking"]["previous_as_of"] == "2024-09-30"
    assert summary["meta"]["clean_data"] and summary["status"]["repurchase"]["source"] == "clean"
    assert summary["diagnosis"]["global_drivers"][0]["feature"] == "recency_days"  # from the summary JSON
    for path in paths.values():
        text = path.read_text(encoding="utf-8")
        for raw in (factories.RAW_PHONE, factories.RAW_EMAIL, factories.RAW_COMPANY):
            assert raw not in text
    assert "忠诚度现状" in paths["html_zh"].read_text(encoding="utf-8")


def test_report_job_config_gives_actions_and_window(files, tmp_path):
    config = LoyalistConfig.model_validate({"features": {"lookback_days": 180}})
    paths = report_job.run(files["current"], lang="en", formats=["html"], out_dir=tmp_path, config=config, top_n=3)
    summary = json.loads(paths["summary"].read_text(encoding="utf-8"))
    assert summary["meta"]["lookback_days"] == 180 and summary["meta"]["actions_source"] == "argument"
    assert len(summary["recommendations"]["plan_customers"]) == 3
    assert set(paths) == {"summary", "html_en"}


def test_report_job_errors(files, tmp_path):
    with pytest.raises(ConfigError, match="'--lang'"):
        report_job.run(files["current"], lang="fr", out_dir=tmp_path)
    with pytest.raises(ConfigError, match="'--format'.*\\['docx'\\]"):
        report_job.run(files["current"], formats="html,docx", out_dir=tmp_path)
    with pytest.raises(LoyalistError, match="PDF output needs a headless Chromium"):
        report_job.run(files["current"], formats="pdf", out_dir=tmp_path, browser="no-such-browser-xyz")
    with pytest.raises(InputFileError, match="does not exist"):
        report_job.run(tmp_path / "missing.parquet", out_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing written when the inputs are wrong


def test_track_job(files, tmp_path):
    result = track_job.run(files["previous"], files["current"], out_dir=tmp_path, reporter=Reporter(quiet=True))
    assert result.path == tmp_path / "tracking.json"
    written = json.loads(result.path.read_text(encoding="utf-8"))
    assert written == result.tracking
    assert written["customers"]["both"] == 240 and written["days_between"] == 92


def test_track_job_prints_tables(files, tmp_path):
    from io import StringIO

    from rich.console import Console

    buffer = StringIO()
    track_job.run(files["previous"], files["current"], out_dir=tmp_path,
                  reporter=Reporter(console=Console(file=buffer, width=140)))
    text = buffer.getvalue()
    assert "win-back rate" in text and "Tier migration" in text and "tracking.json" in text


@pytest.mark.parametrize("top", [0, -1])
def test_top_below_one_is_one_sentence(tmp_path, top):
    from loyalist.errors import ConfigError
    from loyalist.jobs import report as job

    with pytest.raises(ConfigError, match="'--top' option must be a whole number of customers >= 1; got"):
        job.run(tmp_path / "missing.parquet", out_dir=tmp_path / "r", top_n=top)
