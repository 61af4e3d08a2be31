"""The fast, deterministic subset of the bad-input suite (``Case.ci``), as ordinary pytest tests.

Cases that still fail on main are ``xfail(strict=True)`` with their finding (:mod:`known`); the whole suite runs
with ``python -m tests.badinput --all``.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from .cases import SEED, generate_cases
from .fixtures import Base, build_base, golden_records
from .known import KNOWN_FAILING
from .oracle import TRACEBACK, Case, Spec, _judge_exit, _last_traceback_line, prepare_ledger_problems

_PLACEHOLDER = Base(*(Path("/nonexistent-badinput"),) * 9, golden_rows=0)
_ALL = generate_cases(_PLACEHOLDER, SEED)
_CI_IDS = [c.id for c in _ALL if c.ci]


@pytest.fixture(scope="session")
def badinput_base(tmp_path_factory) -> Base:
    saved = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    base = build_base(tmp_path_factory.mktemp("badinput") / "base")
    os.environ.pop("MLFLOW_TRACKING_URI", None)  # mlflow.set_tracking_uri exported the fixture's store
    if saved is not None:
        os.environ["MLFLOW_TRACKING_URI"] = saved
    return base


@pytest.fixture(scope="session")
def badinput_cases(badinput_base) -> dict[str, Case]:
    return {c.id: c for c in generate_cases(badinput_base, SEED)}


def _param(case_id: str):
    if case_id in KNOWN_FAILING:
        return pytest.param(case_id, marks=pytest.mark.xfail(strict=True, reason=KNOWN_FAILING[case_id]))
    return case_id


@pytest.mark.slow
@pytest.mark.parametrize("case_id", [_param(i) for i in _CI_IDS])
def test_bad_input_case(case_id, badinput_cases, tmp_path, monkeypatch):
    from .oracle import run_case

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    result = run_case(badinput_cases[case_id], tmp_path)
    assert result.ok, f"{case_id} ({result.case.desc}): {result.outcome}: {result.detail}  [{result.command}]"


# ------------------------------------------------------------------------------- the suite's own contract


def test_generator_is_deterministic_and_large_enough():
    again = generate_cases(_PLACEHOLDER, SEED)
    assert [c.id for c in again] == [c.id for c in _ALL]
    assert len(_ALL) >= 500
    assert {c.area for c in _ALL} <= {"config", "data", "ops", "models", "report"}
    families = Counter(c.id.split("-")[0] for c in _ALL)
    for family in ("enc", "delim", "quote", "hdr", "amount", "date", "id", "size", "file", "pq", "xls", "src",
                   "cfg", "cli", "fs", "kill", "conc"):
        assert families[family] > 0, family


def test_every_command_and_config_section_is_covered():
    ids = {c.id for c in _ALL}
    for cmd in ("demo", "prepare", "loyalty", "train", "score", "promote", "models", "export", "tune-weights",
                "report", "track"):
        assert any(i.startswith(f"cli-{cmd}-") for i in ids), cmd
    for section in ("data", "features", "scoring", "privacy", "synthetic", "training", "tracking", "scoring_job"):
        assert any(i.startswith(f"cfg-{section}.") for i in ids), section


def test_known_failures_name_ci_cases():
    assert set(KNOWN_FAILING) <= set(_CI_IDS), sorted(set(KNOWN_FAILING) - set(_CI_IDS))


def test_oracle_sorts_outcomes():
    case = Case("x", "ops", "inproc", lambda f: None, "x")
    spec = Spec([], cwd=Path("."))
    tb = f"{TRACEBACK}:\n  File 'a.py', line 1\nKeyError: 'foo'\n"
    assert _judge_exit(case, spec, 1, tb) == ("traceback", "KeyError: 'foo'")
    assert _judge_exit(case, spec, 2, "Error: 'x' is wrong; fix it.")[0] == "clean_error"
    assert _judge_exit(case, spec, 1, "Aborted.")[0] == "wrong_answer"
    assert _judge_exit(case, spec, 0, "")[0] == "handled"
    assert _judge_exit(case, Spec([], cwd=Path("."), must_fail=True), 0, "")[0] == "wrong_answer"
    assert _judge_exit(case, Spec([], cwd=Path("."), must_succeed=True), 2, "Error: no")[0] == "wrong_answer"
    assert _judge_exit(case, Spec([], cwd=Path("."), checks=[lambda: "tier wrong"]), 0, "") == \
        ("wrong_answer", "tier wrong")
    assert _last_traceback_line(tb) == "KeyError: 'foo'"


def test_ledger_check_counts_against_the_file(tmp_path):
    (tmp_path / "summary.csv").write_text("table,rows_in,rows_kept,rows_rejected,rows_changed\n"
                                          "orders,10,8,2,0\ncustomers,5,5,1,0\n")
    problems = prepare_ledger_problems(tmp_path, {"orders": 11})
    assert any("customers" in p for p in problems)          # 5 != 5 + 1
    assert any("file holds 11" in p for p in problems)      # the suite's own count differs
    assert not prepare_ledger_problems(tmp_path, None)[1:]  # only the customers line without a file count


def test_golden_records_are_deterministic():
    rows = golden_records()
    assert rows == golden_records()
    assert len({r[0] for r in rows}) == len(rows)
