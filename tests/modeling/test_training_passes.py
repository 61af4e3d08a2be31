"""Training builds every cut-off's snapshot and labels with the work they share done once (issue 14, "training
passes"): the same model inputs as one cut-off at a time. Labels are identical (same orders read in the same row
order); snapshot columns are identical except sums of amounts, which DuckDB may add in another order (the
one-at-a-time path itself differs between two runs at that level with two threads), so floats are compared to
1e-12 relative (and 1e-12 absolute, for differences of two sums near zero)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loyalist.config import CleaningConfig, LoyalistConfig
from loyalist.config.models import FeatureConfig
from loyalist.data.clean import clean_tables
from loyalist.data.synthetic import generate
from loyalist.features.labels import LabelBuilder, build_labels
from loyalist.features.snapshot import build_snapshot, build_snapshots
from loyalist.modeling.supervised import training
from loyalist.modeling.supervised.dataset import LabelledSnapshots, labelled_snapshot, stack_snapshots

CONFIG = FeatureConfig()
CUTOFFS = [pd.Timestamp(d) for d in ("2023-03-31", "2023-06-30", "2023-09-30", "2023-12-31", "2024-03-31")]


@pytest.fixture(scope="module")
def tables():
    data = generate(n_customers=400, start="2022-01-01", end="2024-12-31", seed=3, dirty=False)
    out = dict(clean_tables(data.tables(), CleaningConfig()).tables)
    orders = out["orders"]
    # orders on the very same instant as another of the customer's (ties in the SQL's window order), orders at
    # the last instant of a cut-off day and at midnight after it, a returned and a cancelled one, and a margin
    rng = np.random.default_rng(0)
    twins = orders.sample(300, random_state=1).assign(amount=lambda f: f["amount"] * 0.37 + 1.0)
    edge = orders.sample(40, random_state=2).copy()
    edge["order_date"] = pd.Timestamp("2023-06-30 23:59:59.999999")
    edge2 = orders.sample(40, random_state=3).copy()
    edge2["order_date"] = pd.Timestamp("2023-07-01")
    stat = orders.sample(60, random_state=4).copy()
    stat["status"] = np.where(np.arange(60) % 2, "returned", "cancelled")
    orders = pd.concat([orders, twins, edge, edge2, stat], ignore_index=True)
    orders["order_id"] = pd.array([f"X{i}" for i in range(len(orders))], dtype="string")
    orders["margin"] = (orders["amount"] * rng.uniform(0.1, 0.4, len(orders))).astype("float64")
    out["orders"] = orders.sample(frac=1.0, random_state=5).reset_index(drop=True)  # rows in no date order
    return out


def assert_same_inputs(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    assert got.index.equals(want.index)
    for col in want.columns:
        a, b = got[col], want[col]
        assert a.dtype == b.dtype, col
        if pd.api.types.is_float_dtype(b):
            x, y = a.to_numpy(), b.to_numpy()
            assert np.array_equal(np.isnan(x), np.isnan(y)), col
            np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12, err_msg=col)  # atol: differences of sums near 0
        else:
            pd.testing.assert_series_equal(a, b, check_exact=True, obj=col)


def test_build_snapshots_equals_build_snapshot_at_each_cutoff(tables):
    many = list(build_snapshots(tables, CUTOFFS, CONFIG))
    assert len(many) == len(CUTOFFS)
    for t, got in zip(CUTOFFS, many, strict=True):
        want = build_snapshot(tables, t, CONFIG)
        assert len(want) > 100
        assert_same_inputs(got, want)


def test_build_snapshots_without_a_status_column(tables):
    plain = {**tables, "orders": tables["orders"].drop(columns=["status"])}
    for t, got in zip(CUTOFFS[:2], build_snapshots(plain, CUTOFFS[:2], CONFIG), strict=True):
        assert_same_inputs(got, build_snapshot(plain, t, CONFIG))


def test_label_builder_equals_build_labels(tables):
    orders = tables["orders"].copy()
    orders.loc[orders.index[:5], "order_date"] = pd.NaT
    orders["status"] = orders["status"].astype("string")
    orders.loc[orders.index[5:10], "status"] = pd.NA
    labeller = LabelBuilder(orders)
    for h in (90, 30):
        config = CONFIG.model_copy(update={"churn_horizon_days": h, "value_horizon_days": h + 275})
        for t in CUTOFFS:
            population = orders["customer_id"].drop_duplicates().sample(frac=0.8, random_state=7)
            pd.testing.assert_frame_equal(labeller.at(population, t, config),
                                          build_labels(orders, population, t, config), check_exact=True)
    no_margin = orders.drop(columns=["margin"])
    pd.testing.assert_frame_equal(LabelBuilder(no_margin).at(orders["customer_id"], CUTOFFS[1], CONFIG),
                                  build_labels(no_margin, orders["customer_id"], CUTOFFS[1], CONFIG),
                                  check_exact=True)


def test_label_builder_with_missing_and_unknown_customer_ids(tables):
    # the builder groups orders by whole-number customer codes: a missing id must join no customer, and a
    # customer without orders must get the labels of no orders
    orders = tables["orders"].copy()
    orders["customer_id"] = orders["customer_id"].astype("string")
    orders.loc[orders.index[::7], "customer_id"] = pd.NA
    labeller = LabelBuilder(orders)
    population = pd.concat([orders["customer_id"].dropna().drop_duplicates(), pd.Series(["no-such-1", "no-such-2"])])
    for t in CUTOFFS:
        got = labeller.at(population, t, CONFIG)
        pd.testing.assert_frame_equal(got, build_labels(orders, population, t, CONFIG), check_exact=True)
        assert got.loc[got["customer_id"].isin(["no-such-1", "no-such-2"]), "churned"].eq(1).all()


def test_training_rows_are_those_of_one_cutoff_at_a_time(tables):
    """The stacked training and validation rows of train_churn / train_value's preparation, against the rows the
    one-cut-off-at-a-time path built before (labelled_snapshot at each cut-off, concatenated)."""
    config = LoyalistConfig()
    shared = LabelledSnapshots(tables)  # what the training job passes: one preparation for both models
    for horizon in (90, 365):
        plan, _, train, valid = training._prepare(tables, config, horizon, None, shared)
        _, _, train_alone, valid_alone = training._prepare(tables, config, horizon, None)
        assert_same_inputs(train_alone, train)
        assert_same_inputs(valid_alone, valid)
        assert not plan.anchored and len(plan.train) >= 2
        features = config.features.model_copy(update={"churn_horizon_days": plan.horizon_days,
                                                      "value_horizon_days": plan.horizon_days})
        want_train = pd.concat([labelled_snapshot(tables, t, features) for t in plan.train], ignore_index=True)
        want_valid = labelled_snapshot(tables, plan.valid, features)
        assert_same_inputs(train, want_train)
        assert_same_inputs(valid, want_valid)
        # and with the progress callback, the cut-offs are reported in order, validation last
        seen: list[pd.Timestamp] = []
        stack_snapshots(tables, [*plan.train, plan.valid], features, on_cutoff=seen.append)
        assert seen == [*plan.train, plan.valid]


def _count_builds(monkeypatch) -> list[pd.Timestamp]:
    from loyalist.features.snapshot import SnapshotPass

    built: list[pd.Timestamp] = []
    inner = SnapshotPass._build

    def counted(self, as_of, config):
        built.append(pd.Timestamp(as_of))
        return inner(self, as_of, config)

    monkeypatch.setattr(SnapshotPass, "_build", counted)
    return built


def test_an_announced_repeat_is_built_once_and_handed_out_unchanged(tables, monkeypatch):
    from loyalist.features.snapshot import SnapshotPass

    built = _count_builds(monkeypatch)
    t = CUTOFFS[2]
    other_horizon = CONFIG.model_copy(update={"churn_horizon_days": 30, "value_horizon_days": 400})
    shared = SnapshotPass(tables)
    shared.expect(t, CONFIG)
    shared.expect(t, other_horizon)  # the label horizons do not change the snapshot: the same one
    first = shared.at(t, CONFIG)
    want = first.copy()
    first.loc[:, "n_orders"] = -1  # a caller changing its frame does not change the kept one
    second = shared.at(t, other_horizon)
    assert built == [t]
    pd.testing.assert_frame_equal(second, want, check_exact=True)
    assert_same_inputs(second, build_snapshot(tables, t, CONFIG))
    assert not shared._kept  # the last announced call took it
    shared.at(t, CONFIG)  # not announced: built again, not kept
    assert built == [t, t] and not shared._kept
    # other windows are another snapshot
    longer = CONFIG.model_copy(update={"lookback_days": CONFIG.lookback_days + 30})
    shared.expect(t, CONFIG)
    shared.expect(t, longer)
    a, b = shared.at(t, CONFIG), shared.at(t, longer)
    assert built == [t, t, t, t] and not shared._kept
    assert_same_inputs(b, build_snapshot(tables, t, longer))
    assert not a["n_orders"].equals(b["n_orders"]) or len(a) != len(b)


def test_the_training_run_builds_a_cutoff_both_models_share_once(tables, monkeypatch):
    """The run announces both models' cut-offs (jobs.train._announce): the churn model's training cut-off that is
    the value model's validation cut-off is built once, and both models get the rows they got before."""
    from loyalist.jobs.train import _announce

    config = LoyalistConfig()
    before = {h: training._prepare(tables, config, h, None, LabelledSnapshots(tables)) for h in (90, 365)}
    built = _count_builds(monkeypatch)
    shared = LabelledSnapshots(tables)
    _announce(shared, ("churn", "value"), config, tables)
    wanted: list[pd.Timestamp] = []
    for h in (90, 365):
        plan, _, train, valid = training._prepare(tables, config, h, None, shared)
        wanted += [*plan.train, plan.valid]
        assert_same_inputs(train, before[h][2])
        assert_same_inputs(valid, before[h][3])
    assert len(set(wanted)) < len(wanted)  # the two plans share a cut-off here
    assert sorted(built) == sorted(set(wanted))  # each built once
    assert not shared._snapshots._kept  # and nothing left held
