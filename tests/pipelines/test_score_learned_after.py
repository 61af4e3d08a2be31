"""A list scored at an as-of before the events its models learned from says so (the time rule: a backtest must
not pass a model that has seen what followed for one that had not)."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from loyalist.jobs._common import EVENTS_UNTIL_TAG
from loyalist.jobs.score import learned_after_notes


def _scorer(version: str, **tags: str) -> SimpleNamespace:
    return SimpleNamespace(version=version, loaded=SimpleNamespace(info=SimpleNamespace(tags=tags)))


def test_a_list_before_the_models_data_end_gets_a_note_per_model():
    scorers = {"churn": _scorer("3", **{EVENTS_UNTIL_TAG: "2024-12-31"}),
               "value": _scorer("2", **{EVENTS_UNTIL_TAG: "2024-06-30"})}
    notes = learned_after_notes(pd.Timestamp("2024-09-30"), scorers)
    assert len(notes) == 1 and notes[0].startswith("The churn model (version 3) learned from events up to 2024-12-31")
    assert "loyalist train --as-of 2024-09-30" in notes[0]
    # on the data end (or later, with newer data) nothing is said; a time of day does not count
    assert learned_after_notes(pd.Timestamp("2024-12-31 18:00"), scorers) == []
    assert learned_after_notes(pd.Timestamp("2025-01-31"), scorers) == []


def test_versions_registered_before_the_tag_use_their_validation_labels_end():
    old = _scorer("1", valid_cutoff="2024-09-30", horizon_days="90", train_horizon_days="90")
    assert len(learned_after_notes(pd.Timestamp("2024-12-28"), {"churn": old})) == 1
    assert learned_after_notes(pd.Timestamp("2024-12-29"), {"churn": old}) == []
    # a short-history (anchored) model's labels end at its data end, which the tags do not give: no guess
    anchored = _scorer("1", valid_cutoff="2024-12-01", horizon_days="90", train_horizon_days="45")
    assert learned_after_notes(pd.Timestamp("2024-12-10"), {"churn": anchored}) == []
    # a bundle without tags, or unreadable ones, says nothing rather than stop the scoring
    assert learned_after_notes(pd.Timestamp("2024-01-01"), {"churn": _scorer("bundle:x"),
                                                           "value": _scorer("1", **{EVENTS_UNTIL_TAG: "n/a"})}) == []
