"""Qini curve, normalised Qini (scikit-uplift's normalisation) and uplift@k: golden values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from loyalist.errors import DataQualityError
from loyalist.uplift import (
    perfect_qini_curve,
    qini_auc_score,
    qini_curve,
    qini_interval,
    random_qini,
    uplift_at_k,
)

# six customers: outcome, contacted, score (already in descending score order)
Y = np.array([1, 0, 1, 0, 1, 0])
T = np.array([1, 1, 0, 0, 1, 0])
S = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])


def test_qini_curve_by_hand():
    # n=3: treated outcomes 1, control outcomes 1 scaled by 2 treated / 1 control -> 1 - 2 = -1
    x, q = qini_curve(Y, S, T)
    np.testing.assert_array_equal(x, [0, 1, 2, 3, 4, 5, 6])
    np.testing.assert_allclose(q, [0, 1, 1, -1, 0, 0.5, 1])


def test_qini_curve_does_not_depend_on_input_order():
    perm = np.array([5, 2, 0, 4, 1, 3])
    _, q = qini_curve(Y[perm], S[perm], T[perm])
    np.testing.assert_allclose(q, [0, 1, 1, -1, 0, 0.5, 1])


def test_ties_enter_together():
    x, q = qini_curve(Y, np.zeros(6), T)
    np.testing.assert_array_equal(x, [0, 6])
    np.testing.assert_allclose(q, [0, 1])
    assert qini_auc_score(Y, np.zeros(6), T) == pytest.approx(0.0)


def test_perfect_curve_by_hand():
    # score +1 treated responders (0, 4), -1 control responder (2), 0 the rest: points after 2, 5 and 6 customers
    x, q = perfect_qini_curve(Y, T)
    np.testing.assert_array_equal(x, [0, 2, 5, 6])
    np.testing.assert_allclose(q, [0, 2, 2, 1])
    x, q = perfect_qini_curve(Y, T, negative_effect=False)  # gain 2 - 3 * 1 / 3 = 1 at once
    np.testing.assert_allclose(x, [0, 1, 6])
    np.testing.assert_allclose(q, [0, 1, 1])


def test_normalised_qini_by_hand():
    # areas (trapezoids): actual 2.0, random line (0,0)-(6,1) 3.0, perfect 9.5 -> (2 - 3) / (9.5 - 3) = -2/13
    assert qini_auc_score(Y, S, T) == pytest.approx(-2 / 13)
    # without negative effects the perfect area is 0.5 + 5 = 5.5 -> (2 - 3) / (5.5 - 3)
    assert qini_auc_score(Y, S, T, negative_effect=False) == pytest.approx(-1 / 2.5)
    assert qini_auc_score(Y, Y * T - Y * (1 - T), T) == pytest.approx(1.0)


def test_uplift_at_k_by_hand():
    # top int(6 * 0.5) = 3: treated (1, 0) -> 0.5, control (1) -> 1
    assert uplift_at_k(Y, S, T, k=0.5) == pytest.approx(-0.5)
    # top int(3 * 0.5) = 1 of each group: treated customer 0 (1), control customer 2 (1)
    assert uplift_at_k(Y, S, T, k=0.5, strategy="by_group") == pytest.approx(0.0)
    # top 1 holds no control customer
    assert np.isnan(uplift_at_k(Y, S, T, k=0.2))


def _planted(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random(n)
    tau = 0.3 * (x > 0.5) - 0.1 * (x < 0.2)  # persuadables on the right, a few put off on the left
    t = (rng.random(n) < 0.5).astype(int)
    y = (rng.random(n) < 0.3 + tau * t).astype(int)
    return y, t, tau


def test_perfect_ranking_beats_random_and_a_reversed_one_loses():
    y, t, tau = _planted(4000, 1)
    noise = random_qini(y, t, n_permutations=50, seed=2)
    assert 0 < noise < 0.1
    assert qini_auc_score(y, y * t - y * (1 - t), t) == pytest.approx(1.0)
    assert qini_auc_score(y, tau, t) > noise + 0.1  # the true effect ranks far better than chance
    assert qini_auc_score(y, -tau, t) < -noise


def test_bad_input_is_one_sentence():
    with pytest.raises(DataQualityError, match="both contacted and control"):
        qini_auc_score(Y, S, np.ones(6))
    with pytest.raises(DataQualityError, match="one length"):
        qini_curve(Y, S[:5], T)
    with pytest.raises(DataQualityError, match="binary"):
        qini_auc_score(Y * 2.5, S, T)
    with pytest.raises(DataQualityError, match=r"only 0 \(control\) and 1"):
        qini_curve(Y, S, T * 2)
    with pytest.raises(DataQualityError, match="no customer has a positive outcome"):
        qini_auc_score(np.zeros(6), S, T)
    with pytest.raises(DataQualityError, match="strictly between 0 and 1"):
        uplift_at_k(Y, S, T, k=1.0)


def _campaign(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A randomised campaign whose effect (+20 points of the outcome) is known: half the customers respond to
    contact, half do not; the score is the true effect (1 / 0)."""
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 2, n)
    responsive = rng.random(n) < 0.5
    y = (rng.random(n) < 0.3 + 0.4 * (t * responsive)).astype(int)
    return y, responsive.astype(float), t


def test_qini_interval_is_narrow_on_a_large_campaign_and_covers_zero_on_a_tiny_one():
    y, s, t = _campaign(20_000, 1)
    low, high = qini_interval(y, s, t, n_resamples=100, seed=0)
    q = qini_auc_score(y, s, t)
    assert 0 < low < q < high and high - low < 0.1
    # the same true ranking judged on 60 customers: one split of that size cannot tell it from random
    y, s, t = _campaign(60, 2)
    low, high = qini_interval(y, s, t, n_resamples=100, seed=0)
    assert low <= 0 < high
    assert qini_interval(y, s, t, n_resamples=100, seed=0) == (low, high)  # seeded


def test_qini_interval_keeps_both_groups_and_checks_its_arguments():
    # 2 control customers: a plain bootstrap could draw no control customer at all (no Qini); drawing within the
    # contacted and the control group never does, and resamples without any responder are skipped
    y, t = np.array([1, 0, 0, 0, 0, 0, 1, 0]), np.array([1, 1, 1, 1, 1, 1, 0, 0])
    low, high = qini_interval(y, np.arange(8.0), t, n_resamples=50, seed=3)
    assert -1 <= low <= high <= 1
    with pytest.raises(DataQualityError, match="n_resamples must be >= 2"):
        qini_interval(y, np.arange(8.0), t, n_resamples=1)
    with pytest.raises(DataQualityError, match="no customer has a positive outcome"):
        qini_interval(np.zeros(8), np.arange(8.0), t, n_resamples=5)
