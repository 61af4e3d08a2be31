"""The terminal reporter: --quiet prints nothing but errors, bars count and fit 80 columns, tables say what they cut."""

from __future__ import annotations

import io
import sys

import pytest
from rich.console import Console

from loyalist.jobs._ui import Reporter, tier_text, truncated_title


def test_quiet_mutes_what_libraries_print_inside_a_step(capsys):
    reporter = Reporter(quiet=True)
    with reporter.step("Register the model"):
        print("Successfully registered model 'loyalist-churn'.")  # what MLflow prints on its own
        print("Created version '1' of model 'loyalist-churn'.", file=sys.stderr)
    with reporter.bar("Trials", 3) as advance:
        print("noise")
        advance()
    reporter.say("hello")
    reporter.table("t", ["a"], [[1]])
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_quiet_still_raises_errors():
    with pytest.raises(ValueError, match="bad input"), Reporter(quiet=True).step("Load"):
        raise ValueError("bad input")


def test_bar_reports_the_count_and_fits_80_columns():
    buf = io.StringIO()
    reporter = Reporter(console=Console(file=buf, width=80, force_terminal=False))
    with reporter.bar("Train the churn model: snapshot at each cut-off, then fit", 4, "cut-offs") as advance:
        for date in ("2024-03-31", "2024-04-30", "2024-05-31", "2024-06-30"):
            advance(1, date)
    text = buf.getvalue()
    assert "(4 of 4 cut-offs)" in text
    assert all(len(line) <= 80 for line in text.splitlines())


def test_titles_name_what_they_truncate_and_tiers_read_the_same_everywhere():
    assert truncated_title("Rejects by rule", 10, 21, "rules") == "Rejects by rule (10 of 21 rules)"
    assert truncated_title("Rejects by rule", 4, 4, "rules") == "Rejects by rule (4 rules)"
    assert tier_text("high_risk") == "高风险流失 high risk"
    assert tier_text("mystery") == "mystery"
