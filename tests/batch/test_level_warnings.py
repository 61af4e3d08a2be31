"""The scoring summary's ``level`` block: the level rule's warning of each model scored at its own horizon."""

from __future__ import annotations

from types import SimpleNamespace

from loyalist.batch.scoring import level_warnings
from loyalist.modeling.supervised.level import Level


def _scorer(level, horizon=100, asked=None):
    return SimpleNamespace(model=SimpleNamespace(level_=level, horizon_days=horizon), horizon_days=asked)


def test_level_warnings_carry_each_models_branch_months_and_factor():
    value = Level("bgnbd_anchor", factor=1.078, note="anchored", uncovered=("Sep", "Oct", "Nov", "Dec"))
    churn = Level("seasonal_index", note="seasonal", uncovered=("Dec",), power=1.25)
    out = level_warnings(_scorer(churn, 90), _scorer(value))
    assert out == {
        "churn": {"method": "seasonal_index", "months": [12], "horizon_days": 90, "factor": 1.0, "power": 1.25,
                  "note": "seasonal"},
        "value": {"method": "bgnbd_anchor", "months": [9, 10, 11, 12], "horizon_days": 100, "factor": 1.078,
                  "power": 1.0, "note": "anchored"},
    }


def test_no_warning_without_a_note_or_when_scored_at_another_horizon():
    anchored = Level("bgnbd_anchor", factor=1.1, note="anchored", uncovered=("Sep",))
    # the level is frozen for the model's own horizon: a list asked at another horizon does not carry it
    assert level_warnings(_scorer(anchored, 100, asked=200), _scorer(Level(), 100)) == {}
    assert level_warnings(_scorer(None), _scorer(anchored, 100, asked=100)) == {"value": {
        "method": "bgnbd_anchor", "months": [9], "horizon_days": 100, "factor": 1.1, "power": 1.0, "note": "anchored"}}


def test_a_list_at_an_earlier_as_of_does_not_repeat_the_training_level_note():
    """Online Retail II: the churn model was leveled for Jan-Mar (the 90-day horizon after 2010-12-09); the list
    scored as of 2010-09-09 (horizon Sep-Dec) printed that note as if it described it. Now the note and the block
    say the frozen level belongs to another horizon and is unchecked for this list."""
    import pandas as pd

    from loyalist.batch.scoring import _check_horizons
    from loyalist.config import LoyalistConfig
    from loyalist.modeling.supervised.level import other_horizon_months
    from loyalist.report.summarize import level_sentence

    note = "the 90-day horizon after 2010-12-09 covers calendar months no training label covered (Jan, Feb, Mar): x."
    churn = Level("bgnbd_anchor", note=note, uncovered=("Jan", "Feb", "Mar"), power=0.835)
    earlier, latest = pd.Timestamp("2010-09-09"), pd.Timestamp("2010-12-09")
    assert other_horizon_months(churn, earlier, 90) == [9, 10, 11, 12]
    assert other_horizon_months(churn, latest, 90) is None  # the list the level was set for
    assert other_horizon_months(churn, pd.Timestamp("2010-11-15"), 90) is None  # shares Jan-Feb: the note applies
    block = level_warnings(_scorer(churn, 90), _scorer(Level(), 90), earlier)["churn"]
    assert (block["as_of"], block["list_months"]) == ("2010-09-09", [9, 10, 11, 12])
    assert "as_of" not in level_warnings(_scorer(churn, 90), _scorer(Level(), 90), latest)["churn"]
    config = LoyalistConfig(features={"churn_horizon_days": 90, "value_horizon_days": 90})
    notes = _check_horizons(config, _scorer(churn, 90), _scorer(Level(), 90), earlier)
    assert notes == [
        "The churn model carries the level it was given at training for another horizon (Jan, Feb, Mar: " + note
        + ") This list is as of 2010-09-09: its 90-day horizon (Sep, Oct, Nov, Dec) has none of those months, yet "
        "the frozen level is applied unchanged, so this list's churn level is unchecked; train with --as-of "
        "2010-09-09 to check it."]
    assert _check_horizons(config, _scorer(churn, 90), _scorer(Level(), 90), latest) == [f"The churn model: {note}"]
    text = level_sentence("churn", block)
    assert text["en"].startswith("Warning: the churn model carries the level it was given at training for another "
                                 "horizon (Jan, Feb, Mar; ")
    assert "This list is as of 2010-09-09: its 90-day horizon (Sep, Oct, Nov, Dec) has none of those months" in text["en"]
    assert "本名单截至 2010-09-09，其 90 天预测期（9月、10月、11月、12月）不含这些月份" in text["zh"]
