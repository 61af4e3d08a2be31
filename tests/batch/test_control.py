"""Control groups in the action plan (issue 16 §1): deterministic, stratified, no action for control customers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loyalist.batch.control import ASSIGNMENT_COLUMNS, assign_control, assignment_summary, control_draws, hold_out
from loyalist.config.models import LoyalistConfig
from loyalist.errors import DataQualityError

ACTIONS = ("Call / 致电", "Coupon / 优惠券", "Visit / 拜访")


def _list(n: int = 6000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    action = rng.choice(list(ACTIONS) + [""], size=n, p=[0.4, 0.3, 0.2, 0.1])
    return pd.DataFrame({
        "customer_id": [f"C{i:06d}" for i in rng.permutation(n)],
        "loyalty_tier": rng.choice(["devoted", "stable", "at_risk", "high_risk"], size=n),
        "risk_band": rng.choice(["low", "medium", "high", "very_high"], size=n),
        "recommended_action": pd.array(action, dtype="string"),
        "owner_department": pd.array(np.where(action == "", "", "CS / 客服"), dtype="string"),
        "value_at_risk": rng.gamma(2.0, 100.0, size=n),
    })


def _assign(risk: pd.DataFrame, share: float = 0.1, seed: int = 7) -> pd.DataFrame:
    return assign_control(risk, share=share, seed=seed, campaign="spring", campaign_date="2024-03-31")


def test_draws_are_uniform_and_depend_on_seed_and_id_only():
    ids = pd.Series([f"X{i}" for i in range(20000)])
    u = control_draws(ids, 3)
    assert ((u >= 0) & (u < 1)).all()
    assert abs(u.mean() - 0.5) < 0.01 and abs((u < 0.1).mean() - 0.1) < 0.01
    assert np.array_equal(u[::-1], control_draws(ids[::-1].reset_index(drop=True), 3))  # order does not matter
    assert not np.array_equal(u, control_draws(ids, 4))


def test_draws_are_the_documented_hash_of_seed_and_id():
    """u = BLAKE2b-64(b"loyalist-control:<seed>:" + id) read big-endian / 2**64, per id (a missing id as ""): the
    numbers earlier assignments were drawn with."""
    import hashlib

    ids = pd.Series(["C1", None, "客户-7", "", "P" + "f" * 16], dtype="string")
    expected = [int.from_bytes(hashlib.blake2b(b"loyalist-control:11:" + ("" if c is pd.NA else c).encode("utf-8"),
                                               digest_size=8).digest(), "big") / 2.0**64 for c in ids]
    got = control_draws(ids, 11)
    assert got.dtype == np.float64 and got.tolist() == expected
    assert control_draws(pd.Series([], dtype="string"), 11).shape == (0,)


def test_reruns_give_the_same_split_and_another_seed_another():
    risk = _list()
    a = _assign(risk)
    shuffled = risk.sample(frac=1.0, random_state=5).reset_index(drop=True)  # the list's row order does not matter
    b = _assign(shuffled)
    ctl = lambda x: set(x.loc[x["group"] == "control", "customer_id"])  # noqa: E731
    assert ctl(a) == ctl(b) and len(ctl(a)) > 400
    c = _assign(risk, seed=8)
    assert len(ctl(a) & ctl(c)) < 0.3 * len(ctl(a))  # another seed: a mostly different control group


@pytest.mark.parametrize("share", [0.1, 0.25])
def test_share_is_kept_in_every_stratum(share):
    risk = _list()
    a = _assign(risk, share=share)
    per = a.groupby(["action", "loyalty_tier", "risk_band"])["group"].agg(
        n="size", control=lambda g: int((g == "control").sum()))
    assert len(per) == 3 * 4 * 4
    # round(n * share): within half a customer of the share in every stratum
    assert (np.abs(per["control"] - per["n"] * share) <= 0.5 + 1e-9).all(), per
    assert per["control"].min() >= 1


def test_control_customers_get_no_action_and_are_marked():
    risk = _list()
    a = _assign(risk)
    out = hold_out(risk, a)
    assert len(out) == len(risk) and list(out["customer_id"]) == list(risk["customer_id"])
    control = out["control_group"].to_numpy(dtype=bool)
    assert control.sum() == (a["group"] == "control").sum()
    assert (out.loc[control, "recommended_action"] == "").all()
    assert (out.loc[control, "owner_department"] == "").all()
    kept = ~control
    assert (out.loc[kept, "recommended_action"] == risk.loc[kept, "recommended_action"]).all()
    # customers without an action are in no group
    assert not (risk["recommended_action"] == "").loc[control].any()
    assert set(a["customer_id"]) == set(risk.loc[risk["recommended_action"] != "", "customer_id"])


def test_assignment_matches_the_list():
    risk = _list()
    a = _assign(risk)
    assert list(a.columns) == list(ASSIGNMENT_COLUMNS)
    assert a["customer_id"].is_unique
    merged = a.merge(risk, on="customer_id", suffixes=("", "_list"))
    assert len(merged) == len(a)
    assert (merged["action"] == merged["recommended_action"]).all()
    assert (merged["loyalty_tier"] == merged["loyalty_tier_list"]).all()
    assert (merged["risk_band"] == merged["risk_band_list"]).all()
    assert (a["campaign"] == "spring").all() and (a["seed"] == 7).all() and (a["share"] == 0.1).all()
    assert (a["campaign_date"] == pd.Timestamp("2024-03-31")).all()
    s = assignment_summary(a)
    assert s["control"] + s["treatment"] == s["customers"] == len(a)
    assert s["campaign"] == "spring" and s["campaign_date"] == "2024-03-31" and s["strata_without_control"] == 0


def test_small_strata_can_have_no_control_and_the_summary_says_so():
    risk = _list(n=60)
    s = assignment_summary(_assign(risk))
    assert s["strata_without_control"] > 0 and s["customers_in_strata_without_control"] > 0


@pytest.mark.parametrize("share", [0.0, 1.0, -0.1, 1.5])
def test_share_outside_zero_one_is_one_sentence(share):
    with pytest.raises(DataQualityError, match="strictly between 0 and 1"):
        _assign(_list(n=50), share=share)
    with pytest.raises(ValueError):
        LoyalistConfig(scoring_job={"control_group": {"share": share}})


def test_config_defaults_and_duplicates():
    cg = LoyalistConfig().scoring_job.control_group
    assert cg.enabled and cg.share == 0.1 and cg.crm_export == "flag" and cg.campaign is None
    risk = _list(n=50)
    dup = pd.concat([risk, risk.head(1)], ignore_index=True)
    with pytest.raises(DataQualityError, match="more than once"):
        _assign(dup)


def _held_by_pandas(u: np.ndarray, ids: pd.Series, keys: list[pd.Series], share: float) -> np.ndarray:
    """The hold-out rule as assign_control computed it before issue 14's numpy ranks: pandas' sort by (draw, id),
    cumcount and size per stratum of the keys as text (missing as "")."""
    frame = pd.DataFrame({f"k{i}": k.astype("string").fillna("").to_numpy() for i, k in enumerate(keys)})
    frame["u"], frame["id"] = u, ids.astype("string").to_numpy()
    by = [f"k{i}" for i in range(len(keys))]
    order = frame.sort_values(["u", "id"], kind="mergesort")
    rank = order.groupby(by, sort=False).cumcount().reindex(frame.index) + 1
    size = frame.groupby(by, sort=False)["u"].transform("size")
    return rank.to_numpy() <= np.floor(size.to_numpy() * share + 0.5)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("share", [0.1, 0.5, 0.73])
def test_the_held_rows_are_pandas_rank_per_stratum(ties, share):
    """The numpy ranks hold out exactly the rows pandas' sort and grouped cumcount did, with missing keys and ids, a
    stratum of one row, and (``ties``) equal draws, where the id decides, the missing id last."""
    from loyalist.batch.control import _held

    rng = np.random.default_rng(3)
    n = 5000
    u = rng.random(n)
    if ties:
        u = np.round(u * 40) / 40  # few distinct draws: ties everywhere
    ids = pd.Series([f"C{i:05d}" for i in rng.permutation(n)], dtype="string")
    ids.iloc[[5, 77]] = [pd.NA, ""]  # a missing id and an empty one (same draw, "" before the missing one)
    u[77] = u[5]
    keys = [pd.Series(rng.choice(["a", "b", "c", None], size=n), dtype="string"),
            pd.Series(rng.choice(["x", "y"], size=n), dtype="string"),
            pd.Series(rng.choice(["p", "q", "r"], size=n))]
    keys[0].iloc[9] = "lonely"
    got = _held(u, ids, keys, share)
    assert got.dtype == bool and np.array_equal(got, _held_by_pandas(u, ids, keys, share))
    assert got.sum() > 0 and not got.all()
