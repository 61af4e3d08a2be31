"""CLI options are validated by the CLI, before any job runs: ranges, types, date forms, output folders."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from loyalist.cli import app


@pytest.fixture
def calls(monkeypatch):
    """Replace every job the CLI can start by a recorder: a test sees whether a job ran and with what."""
    import loyalist.jobs.demo
    import loyalist.jobs.export
    import loyalist.jobs.loyalty
    import loyalist.jobs.prepare
    import loyalist.jobs.report
    import loyalist.jobs.score
    import loyalist.jobs.track
    import loyalist.jobs.train
    import loyalist.jobs.tune_weights

    seen: list[tuple[str, tuple, dict]] = []

    def recorder(name):
        return lambda *a, **k: seen.append((name, a, k))

    jobs = loyalist.jobs
    for module, attr in [(jobs.demo, "run"), (jobs.export, "run"), (jobs.loyalty, "run"), (jobs.prepare, "run"),
                         (jobs.report, "run"), (jobs.score, "run_scoring"), (jobs.track, "run"),
                         (jobs.train, "run_training"), (jobs.tune_weights, "run")]:
        monkeypatch.setattr(module, attr, recorder(f"{module.__name__}.{attr}"))
    monkeypatch.setattr("loyalist.cli._tables", lambda *a, **k: {})
    return seen


def _invoke(args):
    return CliRunner().invoke(app, args, env={"COLUMNS": "200"})


@pytest.mark.parametrize("top", ["-1", "0", "abc"])
def test_report_top_must_be_a_positive_integer(calls, tmp_path, top):
    result = _invoke(["report", "--scores", str(tmp_path / "s.parquet"), "--out", str(tmp_path / "r"), "--top", top])
    assert result.exit_code == 2 and "'--top'" in result.output, result.output
    assert calls == []  # today '--top -1' lists 275 of 276 customers


def test_report_top_in_range_reaches_the_job(calls, tmp_path):
    result = _invoke(["report", "--scores", str(tmp_path / "s.parquet"), "--out", str(tmp_path / "r"), "--top", "3"])
    assert result.exit_code == 0, result.output
    assert calls[0][0] == "loyalist.jobs.report.run" and calls[0][2]["top_n"] == 3


@pytest.mark.parametrize("command", ["loyalty", "score", "train"])
@pytest.mark.parametrize("as_of", ["", "-1", "2024-02-30", "2024-13-01", "31/12/2024", "2024-1-5", "99999-01-01",
                                   "yesterday"])
def test_as_of_must_be_a_real_date_written_yyyy_mm_dd(calls, tmp_path, command, as_of):
    where = ["--workdir", str(tmp_path)] if command == "train" else ["--out", str(tmp_path / "o")]
    result = _invoke([command, "--clean", str(tmp_path), *where, "--as-of", as_of])
    assert result.exit_code == 2, result.output
    assert "'--as-of'" in result.output and "YYYY-MM-DD" in result.output
    assert "Traceback" not in result.output and calls == []


@pytest.mark.parametrize("command", ["loyalty", "score", "train"])
def test_a_valid_as_of_reaches_the_job_unchanged(calls, tmp_path, command):
    where = ["--workdir", str(tmp_path)] if command == "train" else ["--out", str(tmp_path / "o")]
    result = _invoke([command, "--clean", str(tmp_path), *where, "--as-of", "2024-02-29"])
    assert result.exit_code == 0, result.output
    assert calls[0][2]["as_of"] == "2024-02-29"


@pytest.mark.parametrize("args, option", [
    (["demo", "--seed", "-1"], "'--seed'"),
    (["demo", "--customers", "0"], "'--customers'"),
    (["train", "--tune", "-1"], "'--tune'"),
    (["tune-weights", "--trials", "0"], "'--trials'"),
    (["tune-weights", "--min-customers", "0"], "'--min-customers'"),
    (["promote", "loyalist-churn", "0"], "'version'"),
    (["promote", "loyalist-churn", "one"], "'version'"),
    (["demo", "--customers", "many"], "'--customers'"),
    (["demo", "--customers", "100000000000000000000"], "'--customers'"),
])
def test_numbers_out_of_range_or_of_the_wrong_type_are_refused(calls, tmp_path, args, option):
    result = _invoke([*args, *(["--workdir", str(tmp_path)] if args[0] in ("demo", "train") else [])])
    assert result.exit_code == 2, result.output
    assert option in result.output and calls == []


@pytest.mark.parametrize("args", [
    ["prepare"], ["loyalty", "--clean", "."], ["score", "--clean", "."], ["report", "--scores", "x.parquet"],
    ["track", "--previous", "a.parquet", "--current", "b.parquet"], ["tune-weights", "--clean", "."],
])
def test_out_naming_an_existing_file_is_refused_before_the_job_runs(calls, tmp_path, args):
    existing = tmp_path / "churn_risk.csv"
    existing.write_text("a file, not a folder")
    result = _invoke([*args, "--out", str(existing)])
    assert result.exit_code == 2, result.output
    assert f"The --out folder '{existing}' is an existing file, not a folder" in result.output.replace("\n", "")
    assert calls == [] and existing.read_text() == "a file, not a folder"


def test_demo_workdir_naming_a_file_is_refused(calls, tmp_path):
    existing = tmp_path / "file"
    existing.write_text("x")
    result = _invoke(["demo", "--workdir", str(existing)])
    assert result.exit_code == 2 and "The --workdir folder" in result.output and calls == []


def test_help_keeps_square_brackets():
    """Typer renders help as rich markup, where ``[spark]`` is a style tag and vanishes: ``pip install
    'loyalist[spark]'`` was shown as ``pip install 'loyalist'``, an install that does not bring PySpark. Every
    bracketed word of an option's help must reach the screen."""
    import re

    import typer.main

    group = typer.main.get_command(app)
    checked = 0
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        texts = [param.help or "" for param in command.params] + [command.help or ""]
        words = {match for text in texts for match in re.findall(r"[\w'-]*\\?\[\w+\][\w']*", text)}
        if not words:
            continue
        shown = _invoke([name, "--help"]).output
        for word in words:
            checked += 1
            assert word.replace("\\[", "[") in shown, f"'{word}' is missing from 'loyalist {name} --help'"
    assert checked  # the --engine option's help names the extra


def test_models_table_is_readable_in_80_columns(monkeypatch):
    """'loyalist models' printed one eight-column table: at 80 columns every name and alias became 'loyali…' /
    'champi…', so a new user could not tell the churn champion from the value model's previous version."""
    import pandas as pd

    import loyalist.jobs._common
    import loyalist.tracking

    versions = pd.DataFrame({
        "name": ["loyalist-churn", "loyalist-churn", "loyalist-value", "loyalist-value"],
        "version": [1, 2, 1, 2],
        "aliases": ["champion", "challenger", "previous", "champion"],
        "metric.roc_auc": [0.932, 0.905, None, None],
        "metric.pr_auc": [0.777, 0.678, None, None],
        "metric.normalised_gini": [None, None, 0.970, 0.962],
        "metric.spearman": [None, None, 0.927, 0.884],
        "valid_cutoff": ["2024-09-30", "2024-06-30", "2023-12-31", "2024-06-30"],
    })
    monkeypatch.setattr(loyalist.jobs._common, "start_tracking", lambda *a, **k: None)
    monkeypatch.setattr(loyalist.tracking, "list_versions", lambda names: versions)
    result = CliRunner().invoke(app, ["models"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "…" not in result.output, result.output
    for text in ["loyalist-churn", "loyalist-value", "champion", "challenger", "previous", "0.932", "0.962",
                 "2024-06-30"]:
        assert text in result.output, (text, result.output)
    churn_part, value_part = result.output.split("loyalist-value")
    assert "normalised_gini" not in churn_part and "roc_auc" not in value_part
