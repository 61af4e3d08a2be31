"""Run ../shared/eval/baselines.py on one protocol and dump its results and per-customer predictions.

Runs in the baselines' own environment (lifetimes 0.11.3 needs pandas 2; see ../shared/eval/RESULTS-baselines.md),
which bench_models.py creates in benchmarks/_work/baselines-venv:

    python _baselines_dump.py EVAL_DIR PROTOCOL DATA OUT_PREFIX

Writes OUT_PREFIX.json (baselines.run output: every metric and parameter) and OUT_PREFIX.parquet (index
customer_id; one column per baseline score, in the protocol's label order).
"""

from __future__ import annotations

import json
import sys
import warnings

import numpy as np
import pandas as pd


def main() -> None:
    eval_dir, name, data, prefix = sys.argv[1:5]
    sys.path.insert(0, eval_dir)
    import baselines as b
    from protocols import load_protocol

    warnings.filterwarnings("ignore", category=RuntimeWarning)
    p = load_protocol(name, data)
    res = b.run(p)
    y = p.labels
    H = p.horizon_days
    last = p.calibration[p.calibration["date"] > p.cal_end - pd.Timedelta(days=H)]
    f = b.features(p.calibration, p.cal_end, y.index)
    _, bt = b.btyd(p)
    _, lg = b.lightgbm(p)
    preds = pd.DataFrame({
        "recency": f["recency_days"].to_numpy(float),
        "frequency": -f["frequency"].to_numpy(float),
        "bgnbd_1_minus_p_alive": 1 - bt["p_alive"],
        "bgnbd_p_none": bt["p_none"],
        "bgnbd_exp_n": bt["exp_n"],
        "bgnbd_gg_revenue": bt["revenue"],
        "last_period_revenue": last.groupby("customer_id")["amount"].sum().reindex(y.index).fillna(0.0).to_numpy(),
        "last_period_purchases": last.groupby("customer_id").size().reindex(y.index).fillna(0).to_numpy(float),
        "lightgbm_churn": np.asarray(lg["churn"], float),
        "lightgbm_value": np.asarray(lg["value"], float),
    }, index=y.index)
    preds.to_parquet(prefix + ".parquet")
    with open(prefix + ".json", "w") as fh:
        json.dump(res, fh, indent=1, default=float)


if __name__ == "__main__":
    main()
