"""How high can a churn ranking go on the CDNOW protocol? A diagnostic, not a model.

    python benchmarks/ceiling_cdnow.py

Fits a logistic regression (log recency, log repeat purchases, log age, log mean spend) and a small LightGBM on
the calibration-end snapshot WITH the holdout labels, scored by 5-fold cross-validation: an in-sample ceiling
that no model trained on calibration data alone can be expected to beat by much.
"""

from __future__ import annotations

import sys
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_predict

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_models import ROOT, customer_day_orders  # noqa: E402

from loyalist.config import LoyalistConfig, load_config  # noqa: E402
from loyalist.data.prepare import prepare  # noqa: E402
from loyalist.features.labels import build_labels  # noqa: E402
from loyalist.features.snapshot import build_snapshot  # noqa: E402


def ceiling(config_file: str) -> dict[str, float]:
    tables = dict(prepare(load_config([ROOT / "configs" / "datasets" / config_file]).data).tables)
    orders = customer_day_orders(tables["orders"])
    end = pd.Timestamp("1997-09-30")
    features = LoyalistConfig().features.model_copy(update={"churn_horizon_days": 273, "value_horizon_days": 273})
    snap = build_snapshot({"orders": orders[orders["order_date"] <= end]}, end, features)
    y = build_labels(orders, snap["customer_id"], end, features)["churned"].to_numpy()
    x = np.column_stack([np.log1p(snap["recency_days"]), np.log1p(snap["btyd_frequency"]), np.log1p(snap["btyd_T"]),
                         np.log1p(snap["monetary_mean"].fillna(0))])
    logit = cross_val_predict(LogisticRegression(), x, y, cv=5, method="predict_proba")[:, 1]
    cols = ["recency_days", "btyd_frequency", "btyd_T", "monetary_mean", "ipt_mean", "ipt_last", "n_orders",
            "monetary_total"]
    gbm = cross_val_predict(lgb.LGBMClassifier(n_estimators=200, learning_rate=0.03, num_leaves=7,
                                               min_child_samples=50, verbose=-1),
                            snap[cols].astype(float), y, cv=5, method="predict_proba")[:, 1]
    return {"recency": roc_auc_score(y, snap["recency_days"]), "logistic_cv_with_holdout_labels":
            roc_auc_score(y, logit), "lightgbm_cv_with_holdout_labels": roc_auc_score(y, gbm)}


if __name__ == "__main__":
    for name in ("cdnow_sample.yaml", "cdnow.yaml"):
        print(name, {k: round(v, 4) for k, v in ceiling(name).items()})
