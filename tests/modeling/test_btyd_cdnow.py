"""BG/NBD and Gamma-Gamma on the CDNOW sample reproduce the published parameters (published-value oracle).

Protocol of Fader, Hardie & Lee (2005): the 2,357-customer CDNOW sample, calibration 1997-01-01..1997-09-30
(39 weeks, T measured to 1997-09-30 inclusive: a customer acquired on 1997-01-01 has T = 272/7 = 38.86 weeks),
holdout 1997-10-01..1998-06-30 (39 weeks), time unit = weeks, purchases counted as customer-days (same-day
transactions merged). With this convention the calibration has 2,457 repeat purchase days by 946 repeat buyers
(counting raw transaction rows instead would give 2,603 and would not reproduce the papers).

Figures seen when this test was written (pytest -s prints them):
BG/NBD r=0.2426, alpha=4.4136, a=0.7929, b=2.4259, LL=-9582.43 (paper: 0.243, 4.414, 0.793, 2.426, -9582.4);
Gamma-Gamma p=6.2496, q=3.7442, gamma=15.4435 (paper: 6.25, 3.74, 15.44);
holdout repeat purchase days predicted 1653.4 vs actual 1882 (-12.1 %), per-customer RMSE 1.608.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loyalist.modeling.btyd.models import BetaGeoModel, GammaGammaModel
from loyalist.modeling.btyd.summary import customer_days_summary

pytestmark = pytest.mark.realdata

CALIBRATION_END = "1997-09-30"
OBSERVATION_END = "1998-06-30"


@pytest.fixture(scope="module")
def cdnow_summary(request: pytest.FixtureRequest) -> pd.DataFrame:
    try:
        data_dir = Path(request.getfixturevalue("shared_data"))
    except pytest.FixtureLookupError:
        data_dir = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
    path = data_dir / "cdnow" / "CDNOW_sample.txt.gz"
    if not path.is_file():
        pytest.skip(f"CDNOW sample not found at {path} (the shared data folder beside the checkout is absent)")
    raw = pd.read_csv(
        path, sep=r"\s+", header=None, names=["master_id", "customer_id", "date", "cds", "amount"],
        dtype={"master_id": str, "customer_id": str, "date": str},
    )
    orders = raw.assign(order_date=pd.to_datetime(raw["date"], format="%Y%m%d"))
    return customer_days_summary(orders, CALIBRATION_END, observation_end=OBSERVATION_END, time_unit_days=7.0)


@pytest.fixture(scope="module")
def bgnbd(cdnow_summary) -> BetaGeoModel:
    s = cdnow_summary
    return BetaGeoModel().fit(s["frequency"], s["recency"], s["T"])


def test_summary_matches_the_papers_data(cdnow_summary) -> None:
    s = cdnow_summary
    assert len(s) == 2357
    assert s["frequency"].sum() == 2457
    assert (s["frequency"] > 0).sum() == 946
    assert s["T"].max() == pytest.approx(272 / 7)  # acquired 1997-01-01: 38.86 weeks
    assert (s["duration_holdout"] == 39.0).all()


def test_bgnbd_reproduces_published_parameters(bgnbd) -> None:
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    print(f"\nBG/NBD on CDNOW: {bgnbd.params_}, log-likelihood {bgnbd.log_likelihood_:.2f}")
    for key, value in published.items():
        assert bgnbd.params_[key] == pytest.approx(value, rel=0.005), key
    assert bgnbd.log_likelihood_ == pytest.approx(-9582.4, abs=0.1)
    assert bgnbd.converged_


def test_gamma_gamma_reproduces_published_parameters(cdnow_summary) -> None:
    s = cdnow_summary
    model = GammaGammaModel().fit(s["frequency"], s["monetary_value"])
    print(f"\nGamma-Gamma on CDNOW: {model.params_}, log-likelihood {model.log_likelihood_:.2f}")
    published = {"p": 6.25, "q": 3.74, "gamma": 15.44}
    for key, value in published.items():
        assert model.params_[key] == pytest.approx(value, rel=0.01), key
    assert model.n_customers_ == 946
    assert model.converged_


def test_holdout_predictions_match_the_known_baseline(cdnow_summary, bgnbd) -> None:
    # Known baseline on this protocol: aggregate error about -12 %, per-customer RMSE about 1.61.
    s = cdnow_summary
    predicted = bgnbd.predict(s["duration_holdout"], s["frequency"], s["recency"], s["T"])
    actual = s["frequency_holdout"].to_numpy()
    aggregate_error = predicted.sum() / actual.sum() - 1.0
    rmse = float(np.sqrt(np.mean((predicted - actual) ** 2)))
    print(f"\nCDNOW holdout 39 weeks: predicted {predicted.sum():.1f} vs actual {actual.sum()} purchase days "
          f"({aggregate_error:+.1%}), RMSE {rmse:.3f}")
    assert -0.15 <= aggregate_error <= -0.09
    assert 1.5 <= rmse <= 1.7
    # The aggregate model (no customer history) over the same 39 weeks, for comparison: each customer's
    # E[X(T + 39)] - E[X(T)] summed is what the papers' tracking plot shows for the cohort.
    cohort = (bgnbd.expected_purchases_new_customer(s["T"] + 39.0)
              - bgnbd.expected_purchases_new_customer(s["T"])).sum()
    assert cohort == pytest.approx(predicted.sum(), rel=0.05)


#: lifetimes 0.11.3 (pandas 2.3.3, the environment ../shared/eval/baselines.py runs in) on this summary:
#: ``BetaGeoFitter(penalizer_coef=0.0).fit(frequency, recency, T)`` and
#: ``GammaGammaFitter(penalizer_coef=0.0).fit(frequency, monetary_value)`` of the 946 repeat buyers; the holdout
#: sum is ``conditional_expected_number_of_purchases_up_to_time(39, ...)``, the spend sum is
#: ``conditional_expected_average_profit`` of the repeat buyers (audit11, session 17).
LIFETIMES_BGNBD = {"r": 0.24259454342106715, "alpha": 4.413602716077366, "a": 0.7929218333478258,
                   "b": 2.425905728721557}
LIFETIMES_GAMMA_GAMMA = {"p": 6.249572277632703, "q": 3.744224674758835, "gamma": 15.443521018373108}
LIFETIMES_HOLDOUT_PURCHASES = 1653.408724179915
LIFETIMES_MEAN_P_ALIVE = 0.8134398202213655
LIFETIMES_REPEAT_SPEND_SUM = 33464.21377905952


def test_bgnbd_and_gamma_gamma_equal_lifetimes_to_six_digits(cdnow_summary, bgnbd) -> None:
    """Issue 11: each change to the models keeps BG/NBD and Gamma-Gamma equal to lifetimes on CDNOW to 6 digits
    (the published-parameter tests above allow 0.5-1%, room for a silent change of the likelihood or optimiser)."""
    s = cdnow_summary
    for key, value in LIFETIMES_BGNBD.items():
        assert bgnbd.params_[key] == pytest.approx(value, rel=1e-6), key
    predicted = bgnbd.predict(s["duration_holdout"], s["frequency"], s["recency"], s["T"])
    assert predicted.sum() == pytest.approx(LIFETIMES_HOLDOUT_PURCHASES, rel=1e-6)
    assert np.mean(bgnbd.p_alive(s["frequency"], s["recency"], s["T"])) == pytest.approx(LIFETIMES_MEAN_P_ALIVE,
                                                                                       rel=1e-6)
    repeat = s.loc[s["frequency"] > 0]
    gg = GammaGammaModel().fit(repeat["frequency"], repeat["monetary_value"])
    for key, value in LIFETIMES_GAMMA_GAMMA.items():
        assert gg.params_[key] == pytest.approx(value, rel=1e-6), key
    spend = gg.expected_average_value(repeat["frequency"], repeat["monetary_value"])
    assert spend.sum() == pytest.approx(LIFETIMES_REPEAT_SPEND_SUM, rel=1e-6)
