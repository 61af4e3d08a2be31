"""Helpers of the tracking tests (a module with a unique name, so test modules can import it safely)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FEATURES = ["recency_days", "n_orders", "monetary_total"]


def make_frame(n: int, seed: int) -> pd.DataFrame:
    """A small customer table: ids, three features (one integer) and a churn label driven by recency."""
    rng = np.random.default_rng(seed)
    recency = rng.integers(0, 365, n)
    n_orders = rng.integers(1, 30, n)
    monetary = rng.gamma(2.0, 150.0, n)
    logit = (recency - 180) / 40 - (n_orders - 15) / 10
    churned = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype("int64")
    return pd.DataFrame({
        "customer_id": [f"C{i:04d}" for i in range(n)],
        "recency_days": recency.astype("int64"),
        "n_orders": n_orders.astype("float64"),
        "monetary_total": monetary,
        "churned": churned,
    })


def make_churn_model(train: pd.DataFrame, *, informative: bool = True, seed: int = 0) -> Any:
    """A fitted loyalist churn model (LogisticRegression on scaled features).

    ``informative=False`` fits it on shuffled labels, so it ranks churn about as well as chance. The class is
    defined inside this function on purpose: cloudpickle then stores it by value, as it does for a model class
    written in a notebook.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    class TinyChurnModel:
        kind = "churn"
        output_name = "churn_probability"

        def __init__(self) -> None:
            self.feature_names_ = list(FEATURES)
            self.estimator_ = make_pipeline(StandardScaler(), LogisticRegression())

        def fit(self, X: pd.DataFrame, y: np.ndarray) -> "TinyChurnModel":
            self.estimator_.fit(X[self.feature_names_].to_numpy(dtype="float64"), y)
            return self

        def score(self, X: pd.DataFrame) -> np.ndarray:
            return self.estimator_.predict_proba(X[self.feature_names_].to_numpy(dtype="float64"))[:, 1]

    y = train["churned"].to_numpy()
    if not informative:
        y = np.random.default_rng(seed).permutation(y)
    return TinyChurnModel().fit(train, y)


def files_under(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")} if path.exists() else set()
