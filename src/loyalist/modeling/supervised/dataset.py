"""Training data from history: snapshots at past cut-offs stacked with their labels, and the out-of-time split.

The rule (DESIGN.md, "Time"): the snapshot at T reads events dated <= T only; its labels read (T, T + horizon]
only. A training cut-off is used only when its label window is complete inside the data; and, so that the
validation is honestly out of time, training cut-offs end their label window on or before the validation cut-off
(T_train + horizon <= T_valid): at T_valid nothing later than T_valid was known.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from loyalist.config.models import FeatureConfig
from loyalist.data.tables import ParquetTable
from loyalist.errors import InsufficientHistoryError
from loyalist.features.cutoffs import cutoff_grid, data_period
from loyalist.features.labels import LabelBuilder, build_labels
from loyalist.features.snapshot import SnapshotPass, build_snapshot

__all__ = [
    "CutoffPlan", "EVENT_DATE_COLUMNS", "events_until", "plan_cutoffs", "labelled_snapshot", "stack_snapshots",
    "split_half", "SnapshotBuilder", "LabelledSnapshots",
]

#: The date that places each event table's rows in time (rows dated after a cut-off are unknown at it).
EVENT_DATE_COLUMNS: dict[str, str] = {
    "orders": "order_date", "order_lines": "order_date", "tickets": "created_at", "surveys": "answered_at",
}


@dataclass(frozen=True)
class CutoffPlan:
    """Which cut-offs train and which validates, for one label horizon."""

    horizon_days: int
    train: tuple[pd.Timestamp, ...]
    valid: pd.Timestamp
    data_start: pd.Timestamp
    data_end: pd.Timestamp
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: Short-history mode: every training cut-off is labelled up to the data end (its own horizon, in
    #: ``horizons``), and validation splits customers instead of time (``valid`` is then the newest cut-off).
    anchored: bool = False
    horizons: tuple[int, ...] = ()

    def as_dict(self) -> dict:
        return {
            "horizon_days": self.horizon_days,
            "train_cutoffs": [str(t.date()) for t in self.train],
            "valid_cutoff": str(self.valid.date()),
            "anchored": self.anchored,
            "horizons": list(self.horizons),
            "data_start": str(self.data_start.date()),
            "data_end": str(self.data_end.date()),
            "notes": list(self.notes),
        }


def plan_cutoffs(
    tables: Mapping[str, pd.DataFrame],
    *,
    horizon_days: int,
    min_history_days: int,
    freq: str = "MS",
    max_cutoffs: int = 12,
    data_end: pd.Timestamp | None = None,
) -> CutoffPlan:
    """Choose the validation cut-off (the newest with a complete label window) and the training cut-offs (the
    newest ``max_cutoffs`` whose label windows end on or before it).

    Raises
    ------
    InsufficientHistoryError
        When the history is shorter than ``min_history_days + 2 * horizon_days`` (no training cut-off fits before the
        validation cut-off). The sentence says how much history there is and what is needed.
    """
    start, end = data_period(tables)
    if data_end is not None:
        end = min(end, pd.Timestamp(data_end).normalize())
    grid = cutoff_grid(start, end, horizon_days=horizon_days, min_history_days=min_history_days, freq=freq,
                       max_cutoffs=10_000)
    needed = min_history_days + 2 * horizon_days
    have = (end - start).days
    if not grid:
        raise InsufficientHistoryError(
            f"The data covers {have} days ({start.date()} .. {end.date()}) but a {horizon_days}-day label window "
            f"after {min_history_days} days of history needs at least {min_history_days + horizon_days} days; "
            "load more history or shorten the horizon."
        )
    valid = grid[-1]
    train = [t for t in grid if t + pd.Timedelta(days=horizon_days) <= valid]
    if not train:
        raise InsufficientHistoryError(
            f"The data covers {have} days ({start.date()} .. {end.date()}); out-of-time validation with a "
            f"{horizon_days}-day horizon needs about {needed} days (history {min_history_days} + two horizons); "
            "load more history or use a shorter horizon."
        )
    return CutoffPlan(horizon_days, tuple(train[-max_cutoffs:]), valid, start, end)


def events_until(tables: Mapping[str, pd.DataFrame], as_of: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """The tables as they were known at the end of day ``as_of``: rows of the event tables
    (:data:`EVENT_DATE_COLUMNS`) dated after that day are dropped, and a ticket resolved later is still open
    (``resolved_at`` NaT). Other tables (customers) are kept as they are. Nothing is mutated.

    This is what ``loyalist train --as-of D`` trains on: every cut-off, label window and learned quantity then
    lies in events <= D.
    """
    end = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)  # end of day D, exclusive bound
    out: dict[str, pd.DataFrame] = {}
    for name, frame in tables.items():
        column = EVENT_DATE_COLUMNS.get(name)
        if column is None or not isinstance(frame, pd.DataFrame) or column not in frame.columns:
            out[name] = frame
            continue
        kept = frame.loc[frame[column] < end]
        if name == "tickets" and "resolved_at" in kept.columns:
            kept = kept.assign(resolved_at=kept["resolved_at"].where(kept["resolved_at"] < end))
        out[name] = kept
    return out


#: Builds the labelled snapshot at a cut-off: (as_of, feature config) -> the frame :func:`labelled_snapshot` returns.
#: The Spark engine passes one (``loyalist.engines.spark.spark_labelled_snapshot``) to build the same rows on Spark.
SnapshotBuilder = Callable[[pd.Timestamp, FeatureConfig], pd.DataFrame]


def labelled_snapshot(
    tables: Mapping[str, pd.DataFrame], as_of: pd.Timestamp, config: FeatureConfig,
    *, builder: SnapshotBuilder | None = None,
) -> pd.DataFrame:
    """The snapshot at ``as_of`` joined with its labels (``churned``, ``future_revenue``, ...); built by
    ``builder`` when one is given (another engine computing the same rows)."""
    if builder is not None:
        return builder(as_of, config)
    snap = build_snapshot(tables, as_of, config)
    return _join_labels(snap, build_labels(tables["orders"], snap["customer_id"], as_of, config))


class LabelledSnapshots:
    """A :data:`SnapshotBuilder` (``(as_of, feature config) -> labelled snapshot``) over fixed tables that prepares
    them once for every cut-off it is asked for (:class:`~loyalist.features.snapshot.SnapshotPass`,
    :class:`~loyalist.features.labels.LabelBuilder`): a training run builds ~20 labelled snapshots of the same
    tables for its two models. Each call returns ``labelled_snapshot(tables, as_of, config)``'s rows."""

    def __init__(self, tables: Mapping[str, pd.DataFrame], *, sequence: ParquetTable | None = None) -> None:
        self.tables = tables
        self._snapshots = SnapshotPass(tables, sequence=sequence)  # sequence: the orders file the frame came from
        self._labels: LabelBuilder | None = None

    def expect(self, cutoffs: Sequence[pd.Timestamp], config: FeatureConfig) -> None:
        """Announce the calls to come at ``cutoffs`` with ``config``: a cut-off announced more than once (by two
        models) has its snapshot built once (:meth:`SnapshotPass.expect`); its labels are each caller's own."""
        for t in cutoffs:
            self._snapshots.expect(t, config)

    def snapshot(self, as_of: pd.Timestamp, config: FeatureConfig) -> pd.DataFrame:
        """The unlabelled snapshot at ``as_of``: ``build_snapshot(tables, as_of, config)``'s frame, from the shared
        preparation of the tables."""
        return self._snapshots.at(as_of, config)

    def __call__(self, as_of: pd.Timestamp, config: FeatureConfig) -> pd.DataFrame:
        snap = self._snapshots.at(as_of, config)
        if self._labels is None:
            self._labels = LabelBuilder(self.tables["orders"])
        return _join_labels(snap, self._labels.at(snap["customer_id"], as_of, config))


def _join_labels(snap: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    labels = labels.drop(columns=[c for c in ("as_of",) if c in labels.columns])
    ids = snap["customer_id"]
    if ids.is_unique and labels["customer_id"].reset_index(drop=True).equals(ids.reset_index(drop=True)):
        # the labels of the snapshot's own customers in the snapshot's order (both sorted by id): the merge's
        # result without its hash join
        rest = labels.drop(columns=["customer_id"]).set_axis(snap.index)
        return pd.concat([snap, rest], axis=1)
    return snap.merge(labels, on="customer_id", how="left", validate="one_to_one")


def stack_snapshots(
    tables: Mapping[str, pd.DataFrame],
    cutoffs: Sequence[pd.Timestamp],
    config: FeatureConfig,
    *,
    on_cutoff: Callable[[pd.Timestamp], None] | None = None,
    builder: SnapshotBuilder | None = None,
) -> pd.DataFrame:
    """Labelled snapshots at each cut-off, stacked (one row per customer and cut-off; ``as_of`` says which).

    Without ``builder``, the cut-offs share one preparation of the tables (:class:`LabelledSnapshots`): each
    cut-off's rows are :func:`labelled_snapshot`'s."""
    frames = []
    build = builder or LabelledSnapshots(tables)
    for t in cutoffs:
        frames.append(build(t, config))
        if on_cutoff is not None:
            on_cutoff(t)
    if not frames:
        raise InsufficientHistoryError("No cut-off to build training data from; load more history.")
    return pd.concat(frames, ignore_index=True)


def split_half(customer_ids: pd.Series, salt: str = "loyalist") -> np.ndarray:
    """A deterministic ~50/50 split of customers by a hash of their id: True = first half.

    The validation cut-off's customers are split in two: one half for early stopping and calibration, the other
    for the reported metrics, so that the reported figures are not tuned on the rows they are measured on.
    """
    hashed = pd.util.hash_pandas_object(customer_ids.astype("string") + salt, index=False).to_numpy()
    return (hashed % 2) == 0
