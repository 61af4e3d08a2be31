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
