"""loyalist.features: the point-in-time customer snapshot, its labels and RFM scores.

Column definitions live in :mod:`loyalist.features.columns`; DuckDB specifics in :mod:`loyalist.features.engine`.
"""

from loyalist.features.columns import (
    CATEGORICAL_COLUMNS,
    FEATURE_COLUMNS,
    FEATURE_GROUPS,
    LABEL_COLUMNS,
    SNAPSHOT_COLUMNS,
)
from loyalist.features.labels import build_labels, label_window_complete
from loyalist.features.rfm import RFM_SEGMENTS, rfm_scores
from loyalist.features.snapshot import SNAPSHOT_DTYPES, build_snapshot, coerce_as_of, snapshot_params, snapshot_sql

__all__ = [
    "SNAPSHOT_COLUMNS",
    "FEATURE_COLUMNS",
    "CATEGORICAL_COLUMNS",
    "LABEL_COLUMNS",
    "FEATURE_GROUPS",
    "SNAPSHOT_DTYPES",
    "build_snapshot",
    "snapshot_sql",
    "snapshot_params",
    "coerce_as_of",
    "build_labels",
    "label_window_complete",
    "rfm_scores",
    "RFM_SEGMENTS",
]
