"""Training's snapshots read each order's previous and first order from the orders file ``loyalist prepare`` wrote
(loyalist.data.sequence) instead of computing them, when the orders frame is that file's rows (read_clean, or cut
at a date by events_until); any other frame computes them. Both give the snapshot build_snapshot gives, at every
cut-off: the file's columns are computed over all orders, but only orders dated <= T are read, and the previous
and first order of such an order are dated <= it (time rule)."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from loyalist.config import CleaningConfig
from loyalist.config.models import FeatureConfig
from loyalist.data.clean import clean_tables
from loyalist.data.prepare import read_clean, sequenced_orders, write_clean
from loyalist.data.sequence import SEQUENCE_KEY
from loyalist.data.synthetic import generate
from loyalist.data.tables import ParquetTable
from loyalist.features import snapshot as snapshot_module
from loyalist.features.snapshot import SnapshotPass, build_snapshot
from loyalist.modeling.supervised.dataset import LabelledSnapshots, events_until

CONFIG = FeatureConfig()
# the first inside the first year (most customers' first order comes later), one mid-way, the data's end
CUTOFFS = [pd.Timestamp(d) for d in ("2022-05-31", "2023-06-30", "2024-12-31")]


def _raw_orders(data) -> dict[str, pd.DataFrame]:
    """The generator's tables with returned and cancelled orders, several orders of one customer on one instant
    and one day, and orders at the last instant of a cut-off day and at midnight after it."""
    tables = dict(clean_tables(data.tables(), CleaningConfig()).tables)
    orders = tables["orders"]
    twins = orders.sample(200, random_state=1).assign(amount=lambda f: f["amount"] * 0.37 + 1.0)
    edge = orders.sample(30, random_state=2).assign(order_date=pd.Timestamp("2023-06-30 23:59:59.999999"))
    after = orders.sample(30, random_state=3).assign(order_date=pd.Timestamp("2023-07-01"))
    stat = orders.sample(60, random_state=4).assign(status=np.where(np.arange(60) % 2, "returned", "cancelled"))
    orders = pd.concat([orders, twins, edge, after, stat], ignore_index=True)
    orders["order_id"] = pd.array([f"X{i}" for i in range(len(orders))], dtype="string")
    orders["status"] = orders["status"].astype("string")
    return {**tables, "orders": orders.sample(frac=1.0, random_state=5).reset_index(drop=True)}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A clean folder as 'loyalist prepare' writes it (orders sorted and sequenced)."""
    data = generate(n_customers=300, start="2022-01-01", end="2024-12-31", seed=11, dirty=False)
    result = clean_tables(data.tables(), CleaningConfig())
    result.tables.update(_raw_orders(data))
    out = tmp_path_factory.mktemp("clean")
    write_clean(result, out)
    return out


@pytest.fixture()
def computed(monkeypatch):
    """Every call of the in-memory sequence computation (_with_sequence)."""
    calls: list[int] = []
    inner = snapshot_module._with_sequence

    def spy(orders):
        calls.append(orders.num_rows)
        return inner(orders)

    monkeypatch.setattr(snapshot_module, "_with_sequence", spy)
    return calls


def assert_same_snapshot(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Same rows, columns and dtypes; every count, date and text exact; floats to 1e-12 relative (DuckDB's
    parallel sums may add in another order)."""
    assert list(got.columns) == list(want.columns)
    assert got.dtypes.astype(str).tolist() == want.dtypes.astype(str).tolist()
    assert len(got) > 0 and got["customer_id"].tolist() == want["customer_id"].tolist()
    floats = [c for c in got.columns if str(got[c].dtype) == "float64"]
    pd.testing.assert_frame_equal(got.drop(columns=floats), want.drop(columns=floats), check_exact=True)
    pd.testing.assert_frame_equal(got[floats], want[floats], check_exact=False, rtol=1e-12, atol=1e-12)


def test_training_reads_the_sequence_from_the_prepared_file(folder, computed):
    tables = read_clean(folder)
    file = sequenced_orders(folder)
    assert file is not None and file.sequenced
    shared = SnapshotPass(tables, sequence=file)
    alone = SnapshotPass(tables)
    for t in CUTOFFS:
        got = shared.at(t, CONFIG)
        assert_same_snapshot(got, alone.at(t, CONFIG))
        if t == CUTOFFS[1]:  # and build_snapshot's, of the frames (window path) and of the file streamed (scoring's)
            assert_same_snapshot(got, build_snapshot(tables, t, CONFIG))
            assert_same_snapshot(got, build_snapshot({**tables, "orders": file}, t, CONFIG))
    assert shared.sequence_from == "file" and alone.sequence_from == "computed"
    assert computed == [len(tables["orders"])]  # the pass without the file only


def test_orders_after_the_cutoff_do_not_reach_the_snapshot(folder):
    """Time rule: the file's prev_date / customer_first_date are computed over every order, up to the data's end;
    at an early T the snapshot read with them equals the one of the orders dated <= T alone. Customers whose first
    order is after T are not in it; customers with orders on both sides of T get the features of their orders up
    to T (their first order date, order counts and last order are those of the cut history)."""
    tables = read_clean(folder)
    orders = tables["orders"]
    t = CUTOFFS[0]
    end = t + pd.Timedelta(days=1)
    completed = orders.loc[orders["status"].eq("completed").fillna(False) & orders["order_date"].notna()]
    first = completed.groupby("customer_id")["order_date"].min()
    later_first = set(first.index[first >= end])
    both = set(completed.loc[completed["order_date"] < end, "customer_id"]) & set(
        completed.loc[completed["order_date"] >= end, "customer_id"])
    assert len(later_first) > 50 and len(both) > 20  # the cut-off splits the history
    got = SnapshotPass(tables, sequence=sequenced_orders(folder)).at(t, CONFIG)
    cut = {name: (frame.loc[frame["order_date"] < end].reset_index(drop=True) if name == "orders" else frame)
           for name, frame in tables.items()}
    assert_same_snapshot(got, build_snapshot(cut, t, CONFIG))
    assert not later_first & set(got["customer_id"])
    assert both <= set(got["customer_id"])
    assert (got["last_order_date"] < end).all() and (got["first_order_date"] < end).all()
    mine = got.set_index("customer_id").loc[sorted(both)]
    want = completed.loc[completed["order_date"] < end].groupby("customer_id")["order_date"].agg(["min", "count"])
    assert mine["first_order_date"].equals(want.loc[sorted(both), "min"].rename("first_order_date"))
    assert (mine["n_orders_total"].to_numpy() == want.loc[sorted(both), "count"].to_numpy()).all()


def test_a_frame_cut_at_a_date_still_reads_the_file(folder, computed):
    """``loyalist train --as-of D`` trains on events_until(tables, D): a subset of the file's rows, index kept."""
    tables = read_clean(folder)
    cut = events_until(tables, pd.Timestamp("2023-06-30"))
    assert len(cut["orders"]) < len(tables["orders"])
    shared = SnapshotPass(cut, sequence=sequenced_orders(folder))
    for t in (CUTOFFS[0], pd.Timestamp("2023-06-30")):
        assert_same_snapshot(shared.at(t, CONFIG), build_snapshot(cut, t, CONFIG))
    assert shared.sequence_from == "file" and computed == []


def _edited(tables: dict, how: str) -> dict:
    orders = tables["orders"]
    completed = orders.index[orders["status"].eq("completed").fillna(False) & orders["order_date"].notna()]
    if how == "shuffled":  # the rows in another order: index no longer the file's positions
        orders = orders.sample(frac=1.0, random_state=0)
    elif how == "renumbered":  # the file's rows, but numbered from 0 after dropping the first ones
        orders = orders.iloc[100:].reset_index(drop=True)
    elif how == "middle dropped":  # a customer's earlier order left out: the later ones' previous order is gone
        orders = orders.drop(index=completed[len(completed) // 2])
    elif how == "status changed":  # a completed order now cancelled
        orders = orders.copy()
        orders.loc[completed[10], "status"] = "cancelled"
    elif how == "date changed":
        orders = orders.copy()
        orders.loc[completed[10], "order_date"] = orders.loc[completed[10], "order_date"] - pd.Timedelta(days=40)
    else:
        raise AssertionError(how)
    return {**tables, "orders": orders}


@pytest.mark.parametrize("how", ["shuffled", "renumbered", "middle dropped", "status changed", "date changed"])
def test_a_frame_that_is_not_the_files_rows_computes_the_sequence(folder, computed, how):
    tables = _edited(read_clean(folder), how)
    shared = SnapshotPass(tables, sequence=sequenced_orders(folder))
    got = shared.at(CUTOFFS[1], CONFIG)
    assert shared.sequence_from == "computed" and len(computed) == 1
    assert_same_snapshot(got, build_snapshot(tables, CUTOFFS[1], CONFIG))


def test_the_files_columns_are_what_training_reads(folder, tmp_path):
    """A marked file whose prev_date is wrong gives another training snapshot: the file's columns are really read
    (the equalities above are not the computed path twice)."""
    file = sequenced_orders(folder)
    forged = tmp_path / "orders.parquet"
    marker = json.dumps({"version": 1, "rows": file.num_rows})
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * REPLACE (NULL::TIMESTAMP_NS AS prev_date) FROM read_parquet('{file.path}')) "
                f"TO '{forged}' (FORMAT parquet, KV_METADATA {{'{SEQUENCE_KEY}': '{marker}'}})")
    con.close()
    tables = read_clean(folder)
    bad = SnapshotPass(tables, sequence=ParquetTable(forged, "orders"))
    good = SnapshotPass(tables, sequence=file)
    assert bad.at(CUTOFFS[1], CONFIG)["btyd_frequency"].sum() != good.at(CUTOFFS[1], CONFIG)["btyd_frequency"].sum()
    assert bad.sequence_from == good.sequence_from == "file"
    # a file that is not sequenced (another writer) is not read
    plain = tmp_path / "plain.parquet"
    tables["orders"].to_parquet(plain, index=False)
    assert sequenced_orders(tmp_path / "nowhere") is None
    unmarked = SnapshotPass(tables, sequence=ParquetTable(plain, "orders"))
    unmarked.at(CUTOFFS[1], CONFIG)
    assert unmarked.sequence_from == "computed"


def test_the_training_job_hands_the_prepared_file_to_its_snapshots(folder, tmp_path, monkeypatch):
    """`loyalist train --clean FOLDER` passes the folder's sequenced orders file to run_training, whose snapshots
    then read it."""
    from loyalist import cli
    from loyalist.jobs import train as train_job

    seen: dict = {}

    def fake_run_training(config, tables, **kwargs):
        seen.update(kwargs, tables=tables)
        shared = LabelledSnapshots(tables, sequence=kwargs["sequence"])
        shared.snapshot(CUTOFFS[1], config.features)
        seen["from"] = shared._snapshots.sequence_from
        return {}

    monkeypatch.setattr(train_job, "run_training", fake_run_training)
    result = CliRunner().invoke(cli.app, ["train", "--clean", str(folder), "--workdir", str(tmp_path), "--quiet"])
    assert result.exit_code == 0, result.output
    assert isinstance(seen["sequence"], ParquetTable) and seen["sequence"].path == folder / "orders.parquet"
    assert seen["from"] == "file"
