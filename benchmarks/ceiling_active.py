"""How high can an active-customer churn ranking go on the public protocols? A diagnostic, not a model.

    python benchmarks/ceiling_active.py [--protocols cdnow-sample,cdnow-full,retail-2009]

Active customers (../shared/eval/PROTOCOLS.md): a purchase in the 90 days up to the calibration end. On them, with
the snapshot at the calibration end built from the protocol's own customer-day purchases (loyalist's snapshot
features plus the BG/NBD quantities fitted on that snapshot), a logistic regression (log recency, log repeat
purchases, log age, log mean spend, log usual gap, logit BG/NBD P(no purchase in the holdout)) and a small LightGBM on
every snapshot feature are fitted WITH the holdout labels and scored by stratified 5-fold cross-validation: an
in-sample ceiling that no model trained on calibration data alone can be expected to beat by much. Printed beside
the baselines on the same customers (recency, frequency, BG/NBD P(no purchase)) and issue 11's goal (best baseline
+ 0.02). Nothing is recorded: the figures go to benchmarks/RESULTS.md by hand with the command.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.special import logit
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_models as bm

from loyalist.config import LoyalistConfig
from loyalist.features.columns import FEATURE_COLUMNS
from loyalist.features.snapshot import build_snapshot
from loyalist.modeling.btyd.features import BtydFeaturizer


def ceiling(name: str) -> dict[str, float]:
    p = bm.protocols.load_protocol(name, str(bm.DATA[name]))
    orders = bm._protocol_orders(p, name).assign(status="completed")
    end = pd.Timestamp(p.cal_end)
    features = LoyalistConfig().features.model_copy(
        update={"churn_horizon_days": p.horizon_days, "value_horizon_days": p.horizon_days})
    snap = build_snapshot({"orders": orders[orders["order_date"] <= end]}, end, features)
    snap.index = pd.Index(snap["customer_id"].astype(str))
    btyd = BtydFeaturizer(horizon_days=p.horizon_days).fit(snap).transform(snap)
    active = bm.protocols.active_customers(p, days=90)
    rows = snap.loc[snap.index.isin(active)]
    b = btyd.loc[rows.index]
    y = p.labels["churn"].reindex(rows.index).to_numpy()
    p_none = b["bg_p_no_purchase"].fillna(0.5).clip(1e-6, 1 - 1e-6).to_numpy()
    x = np.column_stack([
        np.log1p(rows["recency_days"]), np.log1p(rows["btyd_frequency"]), np.log1p(rows["btyd_T"]),
        np.log1p(rows["monetary_mean"].fillna(0).clip(lower=0)), np.log1p(rows["ipt_mean"].fillna(rows["btyd_T"])),
        logit(p_none),
    ])
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    lr = cross_val_predict(LogisticRegression(max_iter=2000), np.nan_to_num(x), y, cv=folds,
                           method="predict_proba")[:, 1]
    wide = pd.concat([rows[[c for c in FEATURE_COLUMNS if c in rows]].astype("float64"), b], axis=1)
    gbm = lgb.LGBMClassifier(n_estimators=300, learning_rate=0.02, num_leaves=7, min_child_samples=50,
                             subsample=0.8, subsample_freq=1, colsample_bytree=0.8, verbose=-1, n_jobs=1,
                             random_state=0)
    gb = cross_val_predict(gbm, wide, y, cv=folds, method="predict_proba")[:, 1]
    out = {"active": len(rows), "churn_rate": float(y.mean()),
           "recency": roc_auc_score(y, rows["recency_days"]), "frequency": roc_auc_score(y, -rows["btyd_frequency"]),
           "bgnbd_p_none": roc_auc_score(y, p_none), "ceiling_logistic": roc_auc_score(y, lr),
           "ceiling_lightgbm": roc_auc_score(y, gb)}
    out["goal"] = max(out["recency"], out["frequency"], out["bgnbd_p_none"]) + 0.02
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--protocols", default="cdnow-sample,cdnow-full,retail-2009")
    a = ap.parse_args()
    print("| protocol | active (churn rate) | recency | frequency | BG/NBD P(none) | goal (best + 0.02) | "
          "ceiling: logistic, CV on holdout labels | ceiling: LightGBM, CV on holdout labels |")
    print("|---|---|---|---|---|---|---|---|")
    for name in a.protocols.split(","):
        r = ceiling(name)
        print(f"| {name} | {r['active']:,} ({r['churn_rate']:.3f}) | {r['recency']:.3f} | {r['frequency']:.3f} | "
              f"{r['bgnbd_p_none']:.3f} | {r['goal']:.3f} | {r['ceiling_logistic']:.3f} | "
              f"{r['ceiling_lightgbm']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
