"""From snapshot rows to a model matrix: which columns, which dtypes, fixed category levels, clear errors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from loyalist.errors import ModelError
from loyalist.schema import require_columns

__all__ = ["FeatureSpec", "make_spec", "to_matrix", "check_columns"]


@dataclass(frozen=True)
class FeatureSpec:
    """The model's input columns: numeric (float64) and categorical (fixed levels learned at fit)."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    levels: dict[str, tuple[str, ...]]

    @property
    def columns(self) -> tuple[str, ...]:
        return self.numeric + self.categorical


def make_spec(
    frame: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str], *, max_levels: int = 50
) -> FeatureSpec:
    """Keep the candidate columns present in ``frame`` that carry information (not all-missing, not constant);
    categorical levels are the ``max_levels`` most frequent values."""
    num = []
    for c in numeric:
        if c not in frame.columns:
            continue
        values = pd.to_numeric(frame[c], errors="coerce")
        # more than one distinct value <=> max > min (missing values skipped): what nunique() > 1 says, without
        # hashing every value (~1 CPU s for the ~70 columns of a 1M-row training table)
        if values.notna().any() and values.max() > values.min():
            num.append(c)
    cat, levels = [], {}
    for c in categorical:
        if c not in frame.columns:
            continue
        counts = frame[c].astype("string").value_counts(dropna=True)
        if len(counts) > 1:
            cat.append(c)
            levels[c] = tuple(str(v) for v in counts.index[:max_levels])
    if not num and not cat:
        raise ModelError("No usable feature column: every candidate feature is missing or constant in the training data.")
    return FeatureSpec(tuple(num), tuple(cat), levels)


def check_columns(frame: pd.DataFrame, required: Sequence[str], what: str = "the input") -> None:
    """Raise one ModelError naming every required column missing from ``frame``."""
    require_columns(frame, required, what=what, kind="feature", show_columns=False, error=ModelError,
                    fix="the model was trained with them; build the input with loyalist's snapshot (same config) "
                        "or add those columns")


def to_matrix(frame: pd.DataFrame, spec: FeatureSpec, *, extra: Sequence[str] = ()) -> pd.DataFrame:
    """The model matrix: numeric columns as float64 (NaN = missing), categoricals as ``category`` with the levels
    of ``spec`` (unseen values become missing). Infinite values are refused, naming the column and a row."""
    check_columns(frame, list(spec.columns) + list(extra))
    # The numeric columns are written straight into one float64 block (the frame's single numeric block, not a
    # copy per column then a consolidating copy): at 931k rows x 53 columns ~0.5 CPU s less per call (issue 14).
    block = np.empty((len(spec.numeric), len(frame)), dtype="float64")
    for j, c in enumerate(spec.numeric):
        try:
            values = pd.to_numeric(frame[c], errors="raise").astype("float64").to_numpy()
        except (ValueError, TypeError) as exc:
            raise ModelError(f"Feature column {c!r} must be numeric; found values such as {frame[c].iloc[0]!r}.") from exc
        bad = np.isinf(values)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ModelError(
                f"Feature column {c!r} has {int(bad.sum())} infinite value(s) (first at row {row}); "
                "replace them by a finite value or leave them missing (NaN)."
            )
        block[j] = values
    out = pd.DataFrame(block.T, columns=list(spec.numeric), index=frame.index, copy=False)
    for c in spec.categorical:
        out[c] = pd.Categorical.from_codes(_level_codes(frame[c], spec.levels[c]), categories=list(spec.levels[c]))
    for c in extra:
        out[c] = pd.to_numeric(frame[c], errors="coerce").astype("float64").to_numpy(copy=True)
    return out


def _level_codes(values: pd.Series, levels: Sequence[str]) -> np.ndarray:
    """The position of each value's text in ``levels``, -1 for a missing or unseen value (what
    ``pd.Categorical(texts, categories=levels)`` codes), looked up by Arrow instead of through Python strings."""
    texts = pa.array(values.astype("string").array)
    found = pc.index_in(texts, value_set=pa.array(list(levels), type=texts.type))
    return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype="int32")
