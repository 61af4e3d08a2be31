"""The drift check compares like with like: scoring right after training raises no drift warning."""

from __future__ import annotations

import numpy as np

from loyalist.config.load import load_config
from loyalist.data.synthetic import generate
from loyalist.features.snapshot import build_snapshot
from loyalist.monitoring.drift import drift_reference, psi_table
from loyalist.modeling.supervised.training import train_churn

_MODEL_OUTPUTS = ["bg_p_alive", "bg_p_no_purchase", "bg_expected_purchases", "gg_expected_value", "btyd_value"]


def test_scoring_right_after_training_raises_no_drift_warning():
    data = generate(n_customers=1500, start="2022-01-01", end="2024-06-30", seed=11, dirty=False)
    tables = data.tables()
    config = load_config(overrides={"training": {"lgbm_params": {"n_estimators": 60}, "max_cutoffs": 4}})
    result = train_churn(tables, config)
    model = result.model
    scoring = model.model_frame(build_snapshot(tables, "2024-06-30 23:59:59", config.features))
    psi = psi_table(model.drift_reference_, scoring, warn_level=0.2).set_index("feature")["psi"]
    assert len(psi) > 20 and np.isfinite(psi).all()
    assert psi.drop(["btyd_T", "btyd_recency"]).max() < 0.1, psi.head()  # the age features grow by design
    # the BG/NBD / Gamma-Gamma quantities are compared as scoring computes them (frozen fit, model horizon) ...
    assert psi[_MODEL_OUTPUTS].max() < 0.05, psi[_MODEL_OUTPUTS]
    # ... while the stacked training rows (older cut-offs, each with its own BTYD fit) were not like with like
    stacked, _ = model._with_btyd_stacked(result.train_snapshot, model.train_horizon_days_)
    old = psi_table(drift_reference(stacked, model.spec_.numeric), scoring).set_index("feature")["psi"]
    assert old[_MODEL_OUTPUTS].max() > 2 * psi[_MODEL_OUTPUTS].max()
