"""Tests of loyalist.scoring.tiers: tiers by score, reasons, guards, shares."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalist.config.models import TIERS, GuardRule, ScoringConfig, TierThresholds
from loyalist.errors import SchemaError
from loyalist.scoring.tiers import (
    NO_SCORE_REASON,
    TIER_DTYPE,
    apply_guards,
    assign_tiers,
    score_reasons,
    tier_ranks,
    tier_shares,
)

NAN = np.nan
DEFAULT_GUARDS = ScoringConfig().guards
AT_RISK_GUARD = GuardRule(name="quiet_45_days", feature="recency_days", op=">=", value=45, tier="at_risk")


def _tiers(codes, index=None):
    return pd.Series(pd.Categorical(codes, dtype=TIER_DTYPE), index=index, name="loyalty_tier")


# ------------------------------------------------------------------------------------------ assign_tiers


def test_assign_tiers_bounds_by_hand():
    scores = pd.Series([95.0, 90.0, 89.99, 75.0, 74.9, 60.0, 59.99, 0.0, NAN],
                       index=[f"C{i}" for i in range(9)])
    out = assign_tiers(scores, TierThresholds())
    assert out.dtype == TIER_DTYPE
    assert out.index.equals(scores.index)
    assert out.astype(object).where(out.notna(), None).tolist() == [
        "devoted", "devoted", "stable", "stable", "at_risk", "at_risk", "high_risk", "high_risk", None,
    ]


def test_assign_tiers_custom_thresholds_and_array_input():
    out = assign_tiers(np.array([85.0, 70.0, 50.0, 30.0]), TierThresholds(devoted=80, stable=65, at_risk=40))
    assert out.index.equals(pd.RangeIndex(4))
    assert out.tolist() == ["devoted", "stable", "at_risk", "high_risk"]


_valid_thresholds = st.tuples(
    st.floats(0, 100), st.floats(0, 100), st.floats(0, 100)
).map(sorted).filter(lambda t: t[0] < t[1] < t[2]).map(
    lambda t: TierThresholds(devoted=t[2], stable=t[1], at_risk=t[0])
)


@given(a=st.floats(-50, 150), b=st.floats(-50, 150), thresholds=_valid_thresholds)
def test_a_higher_score_never_gets_a_lower_tier(a, b, thresholds):
    low, high = sorted([a, b])
    ranks = tier_ranks(assign_tiers(np.array([low, high]), thresholds))
    assert ranks[1] <= ranks[0]  # rank 0 = devoted (best), 3 = high_risk


# ---------------------------------------------------------------------------------------- score_reasons


def test_score_reasons_by_hand():
    scores = pd.Series([91.825, 82.4, 89.96, 72.6, 53.0769, NAN, NAN])
    cov = np.array([1.0, 1.0, 1.0, 1.0, 0.65, 0.0, 0.25])
    out = score_reasons(scores, TierThresholds(), coverage=cov, min_coverage=0.5)
    assert out.tolist() == [
        "score 91.8 >= 90 (devoted)",
        "score 82.4 >= 75 (stable)",
        "score 89.96 >= 75 (stable)",  # one decimal would print 90.0 for a stable customer
        "score 72.6 >= 60 (at_risk)",
        "score 53.1 < 60 (high_risk)",
        NO_SCORE_REASON,
        "score coverage 0.25 < min_coverage 0.5",
    ]


# ----------------------------------------------------------------------------------------- apply_guards


def _guard_snapshot():
    # C1 quiet 142 days; C2 NPS 20 with 2 answers; C3 NPS 20 but 0 answers; C4 NaN recency and NaN NPS;
    # C5 both guards; C6 exactly 90 days (not > 90); C7 NPS 20 and a NaN answer count
    return pd.DataFrame(
        {
            "recency_days": [142.0, 10.0, 10.0, NAN, 120.0, 90.0, 5.0],
            "nps": [80.0, 20.0, 20.0, NAN, 10.0, 50.0, 20.0],
            "n_survey_responses": [1.0, 2.0, 0.0, 0.0, 3.0, 1.0, NAN],
        },
        index=pd.Index([f"C{i}" for i in range(1, 8)], name="customer_id"),
    )


def test_default_guards_fire_with_their_reason():
    snap = _guard_snapshot()
    tiers = _tiers(["devoted", "stable", "stable", "devoted", "devoted", "stable", "stable"], snap.index)
    final, reason = apply_guards(snap, tiers, DEFAULT_GUARDS)
    assert final.dtype == TIER_DTYPE
    assert final.index.equals(snap.index) and reason.index.equals(snap.index)
    assert final.tolist() == ["high_risk", "high_risk", "stable", "devoted", "high_risk", "stable", "stable"]
    assert reason.tolist() == [
        "guard:no_order_90_days (recency_days 142 > 90)",
        "guard:nps_below_30 (nps 20 < 30)",
        "score (stable)",  # min_count: no survey answer, the NPS guard does not fire
        "score (devoted)",  # NaN features never fire
        "guard:no_order_90_days (recency_days 120 > 90);guard:nps_below_30 (nps 10 < 30)",
        "score (stable)",  # 90 is not > 90
        "score (stable)",  # a NaN count never satisfies min_count
    ]


def test_min_count_above_one():
    snap = _guard_snapshot()
    guard = GuardRule(name="nps_below_30", feature="nps", op="<", value=30, tier="high_risk",
                      min_count_feature="n_survey_responses", min_count=3)
    final, _ = apply_guards(snap, _tiers(["stable"] * 7, snap.index), [guard])
    # only C5 (NPS 10, 3 answers) has enough answers; C2 (2 answers) does not
    assert final.tolist() == ["stable", "stable", "stable", "stable", "high_risk", "stable", "stable"]


def test_a_guard_caps_but_never_raises():
    snap = pd.DataFrame({"recency_days": [60.0, 60.0, 60.0, 60.0, 60.0, 10.0]})
    tiers = _tiers(["devoted", "stable", "at_risk", "high_risk", None, "devoted"])
    final, reason = apply_guards(snap, tiers, [AT_RISK_GUARD])
    assert final.astype(object).tolist() == ["at_risk", "at_risk", "at_risk", "high_risk", "at_risk", "devoted"]
    assert reason.tolist() == [
        "guard:quiet_45_days (recency_days 60 >= 45)",
        "guard:quiet_45_days (recency_days 60 >= 45)",
        "score (at_risk)",  # already at the cap: the score decided
        "score (high_risk)",
        "guard:quiet_45_days (recency_days 60 >= 45)",  # no score: the guard alone decides
        "score (devoted)",
    ]


def test_the_worst_fired_guard_wins_whatever_the_order():
    snap = pd.DataFrame({"recency_days": [142.0, 60.0, 10.0]})
    ninety = DEFAULT_GUARDS[0]  # > 90 -> high_risk
    tiers = _tiers(["devoted", "devoted", "devoted"])
    for guards in ([ninety, AT_RISK_GUARD], [AT_RISK_GUARD, ninety]):
        final, reason = apply_guards(snap, tiers, guards)
        assert final.tolist() == ["high_risk", "at_risk", "devoted"]
        names = [g.name for g in guards]
        texts = {"no_order_90_days": "guard:no_order_90_days (recency_days 142 > 90)",
                 "quiet_45_days": "guard:quiet_45_days (recency_days 142 >= 45)"}
        # every guard that lowered the tier is listed, in config order
        assert reason.tolist() == [";".join(texts[n] for n in names), "guard:quiet_45_days (recency_days 60 >= 45)",
                                   "score (devoted)"]


def test_score_reasons_are_kept_where_no_guard_lowers():
    snap = pd.DataFrame({"recency_days": [100.0, 10.0], "nps": [NAN, NAN], "n_survey_responses": [0, 0]})
    scores = pd.Series([82.4, NAN])
    tiers = assign_tiers(scores, TierThresholds())
    final, reason = apply_guards(snap, tiers, DEFAULT_GUARDS, reasons=score_reasons(scores, TierThresholds()))
    assert final.astype(object).where(final.notna(), None).tolist() == ["high_risk", None]
    assert reason.tolist() == ["guard:no_order_90_days (recency_days 100 > 90)", NO_SCORE_REASON]


def test_guard_value_printed_consistently_with_the_rule():
    snap = pd.DataFrame({"recency_days": [90.00001, 95.5]})
    _, reason = apply_guards(snap, _tiers(["stable", "stable"]), DEFAULT_GUARDS[:1])
    assert reason.tolist() == [
        "guard:no_order_90_days (recency_days 90.00001 > 90)",
        "guard:no_order_90_days (recency_days 95.5 > 90)",
    ]


def test_equality_guard():
    guard = GuardRule(name="one_order", feature="n_orders", op="==", value=1, tier="at_risk")
    snap = pd.DataFrame({"n_orders": pd.array([1, 2, None], dtype="Int64")})
    final, _ = apply_guards(snap, _tiers(["devoted"] * 3), [guard])
    assert final.tolist() == ["at_risk", "devoted", "devoted"]


def test_tiers_in_another_order_are_aligned_by_label():
    snap = _guard_snapshot().iloc[:2]
    tiers = _tiers(["stable", "devoted"], index=["C2", "C1"])  # C2 stable, C1 devoted
    final, _ = apply_guards(snap, tiers, [])
    assert final.tolist() == ["devoted", "stable"]


def test_missing_guard_column_is_a_schema_error():
    snap = pd.DataFrame({"nps": [10.0]})
    with pytest.raises(SchemaError, match="'recency_days' \\(guard 'no_order_90_days'\\)"):
        apply_guards(snap, _tiers(["stable"]), DEFAULT_GUARDS)


def test_mismatched_rows_are_a_schema_error():
    snap = _guard_snapshot()
    with pytest.raises(SchemaError, match="'tiers' must have one value per snapshot row"):
        apply_guards(snap, _tiers(["stable"]), DEFAULT_GUARDS)
    with pytest.raises(SchemaError, match="index of 'tiers'"):
        apply_guards(snap, _tiers(["stable"] * 7), DEFAULT_GUARDS)


def test_unknown_tier_code_is_a_schema_error():
    with pytest.raises(SchemaError, match="'gold'"):
        tier_ranks(pd.Series(["stable", "gold"], name="loyalty_tier"))


def test_apply_guards_does_not_mutate_inputs():
    snap = _guard_snapshot()
    tiers = _tiers(["devoted"] * 7, snap.index)
    snap_before, tiers_before = snap.copy(), tiers.copy()
    apply_guards(snap, tiers, DEFAULT_GUARDS)
    pd.testing.assert_frame_equal(snap, snap_before)
    pd.testing.assert_series_equal(tiers, tiers_before)


_guards = st.builds(
    GuardRule,
    name=st.just("g"),
    feature=st.just("f"),
    op=st.sampled_from(["<", "<=", ">", ">=", "=="]),
    value=st.floats(-5, 5),
    tier=st.sampled_from(["stable", "at_risk", "high_risk"]),
    min_count_feature=st.sampled_from([None, "n"]),
    min_count=st.integers(0, 3),
)


@given(
    rows=st.lists(
        st.tuples(st.sampled_from([*TIERS, None]), st.one_of(st.floats(-5, 5), st.just(NAN)),
                  st.one_of(st.integers(0, 4).map(float), st.just(NAN))),
        min_size=1, max_size=25,
    ),
    guard=_guards,
)
def test_a_guard_never_raises_a_tier(rows, guard):
    tier_codes, f, n = zip(*rows)
    snap = pd.DataFrame({"f": f, "n": n})
    base = tier_ranks(_tiers(list(tier_codes)))
    final, reason = apply_guards(snap, _tiers(list(tier_codes)), [guard])
    ranks = tier_ranks(final)
    assert (ranks >= base).all()  # rank: 0 devoted ... 3 high_risk, -1 no tier
    cap = TIERS.index(guard.tier)
    lowered = ranks != base
    assert (ranks[lowered] == cap).all()
    assert reason[lowered].str.startswith("guard:g ").all()
    # a NaN feature never fires
    assert not lowered[np.isnan(np.array(f))].any()


# ------------------------------------------------------------------------------------------ tier_shares


def test_tier_shares_by_hand():
    shares = tier_shares(pd.Series(["stable", "devoted", "stable", "high_risk", None]))
    assert shares.index.tolist() == list(TIERS)
    assert shares.tolist() == [0.25, 0.5, 0.0, 0.25]  # 4 tiered customers; the missing one left out


def test_tier_shares_of_nothing_are_zero():
    assert tier_shares(_tiers([None, None])).tolist() == [0.0, 0.0, 0.0, 0.0]
