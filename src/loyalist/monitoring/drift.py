"""Drift between the training snapshot and a scoring snapshot: population stability index (PSI) per feature.

PSI = sum over bins of (a - e) * ln(a / e), with e the training share and a the scoring share of a bin. Bins are
the training deciles of each numeric feature (plus a bin for missing values). Common reading: < 0.1 stable,
0.1-0.2 moderate shift, > 0.2 significant shift.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["AGE_FEATURES", "DriftReference", "drift_reference", "psi_table"]

#: Features that grow with the calendar by construction (customer age, history length): their PSI against older
#: training cut-offs is reported but never raises the drift warning.
AGE_FEATURES: frozenset[str] = frozenset({"btyd_T", "btyd_recency", "tenure_days", "n_orders_total"})

_EPS = 1e-4


class DriftReference(dict):
    """feature -> (inner bin edges, expected shares incl. a final 'missing' bin)."""


def _shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    missing = ~np.isfinite(values)
    idx = np.searchsorted(edges, values[~missing], side="right")
    counts = np.bincount(idx, minlength=len(edges) + 1).astype("float64")
    counts = np.append(counts, missing.sum())
    total = counts.sum()
    return counts / total if total else counts


def drift_reference(frame: pd.DataFrame, features: Sequence[str], bins: int = 10) -> DriftReference:
    """Decile edges and shares of each numeric feature of the training rows."""
    ref = DriftReference()
    for f in features:
        if f not in frame.columns:
            continue
        values = pd.to_numeric(frame[f], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            continue
        edges = np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1]))
        ref[f] = (edges, _shares(values, edges))
    return ref


def psi_table(reference: DriftReference, frame: pd.DataFrame, *, warn_level: float = 0.2) -> pd.DataFrame:
    """PSI of every reference feature present in ``frame``: feature, psi, drifted (psi > warn_level, never for
    :data:`AGE_FEATURES`), sorted by psi."""
    rows = []
    for f, (edges, expected) in reference.items():
        if f not in frame.columns:
            continue
        values = pd.to_numeric(frame[f], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        actual = _shares(values, np.asarray(edges))
        e = np.clip(np.asarray(expected), _EPS, None)
        a = np.clip(actual, _EPS, None)
        rows.append((f, float(np.sum((a - e) * np.log(a / e)))))
    out = pd.DataFrame(rows, columns=["feature", "psi"])
    out["drifted"] = (out["psi"] > warn_level) & ~out["feature"].isin(AGE_FEATURES)
    return out.sort_values("psi", ascending=False).reset_index(drop=True)
