"""Scores and SHAP contributions computed in row chunks on two threads equal one call on the whole snapshot
(issue 14 §2): the parallel scoring job changes how fast, never what."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

import loyalist.batch.scoring as scoring
import loyalist.explain.contributions as contributions
from loyalist.compute import lgbm_threads
from loyalist.batch.risk_list import risk_bands
from loyalist.explain import explain, in_chunks


@pytest.fixture()
def small_chunks(monkeypatch):
    monkeypatch.setattr(contributions, "CHUNK_ROWS", 40)
    monkeypatch.setattr(scoring, "CHUNK_ROWS", 40)


@dataclass
class _Scorer:
    model: object
    version: str = "1"

    def score(self, snapshot: pd.DataFrame) -> np.ndarray:
        return self.model.score(snapshot)


def test_in_chunks_keeps_row_order_and_covers_every_row():
    frame = pd.DataFrame({"x": np.arange(1003)})
    parts = in_chunks(lambda f: f["x"].to_numpy(), frame, 2, chunk_rows=100)
    assert len(parts) == 11
    np.testing.assert_array_equal(np.concatenate(parts), np.arange(1003))
    assert len(in_chunks(lambda f: f, frame, 1, chunk_rows=100)) == 1  # one thread: one call
    assert len(in_chunks(lambda f: f, frame, 2, chunk_rows=600)) == 1  # smaller than two chunks: one call


@pytest.mark.parametrize("model_name", ["churn_model", "offset_model"])
def test_chunked_scores_and_contributions_equal_the_whole_frame_call(small_chunks, request, snapshots, model_name):
    model = request.getfixturevalue(model_name)
    snap = snapshots["score"]
    whole = model.score(snap)
    chunked = scoring._predict(_Scorer(model), snap, 2)
    np.testing.assert_array_equal(chunked, whole)
    assert model.booster_.get_params()["n_jobs"] == lgbm_threads(2)  # restored to the job's thread count after the chunks
    np.testing.assert_array_equal(scoring._predict_chunks(_Scorer(model), snap, 2), whole)
    rows = snap.index[::2]
    one = explain(model, snap, rows=rows)
    two = explain(model, snap, rows=rows, threads=2)
    pd.testing.assert_frame_equal(two, one, check_exact=True)
    assert list(two.index) == list(rows)
    small = explain(model, snap, rows=rows, threads=2, chunk_rows=7)  # many small chunks
    pd.testing.assert_frame_equal(small, one, check_exact=True)


@pytest.fixture(scope="module")
def value_model(snapshots):
    from loyalist.modeling.supervised.value import ValueModel

    def labelled(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(future_revenue=frame["monetary_mean"] * (1 - frame["churned"]) * 1.5)

    small = {"n_estimators": 60, "learning_rate": 0.1, "num_leaves": 15, "min_child_samples": 15}
    return ValueModel(params=small, early_stopping_rounds=20, n_jobs=1).fit(
        labelled(snapshots["train"]), labelled(snapshots["valid"]))


def _sequential_reference(churn, value, snap, config):
    """What score_customers computed before its stages ran concurrently (main at 5347b91): the scores of one call
    each, and the contributions of one explain call on the union of the top rows and the sample."""
    from loyalist.batch.risk_list import risk_bands
    from loyalist.explain import select_rows, with_model_features

    job = config.scoring_job
    p, v = churn.score(snap), value.score(snap)
    pre = pd.DataFrame({"value_at_risk": p * np.clip(v, 0, None), "churn_probability": p}, index=snap.index)
    pre["risk_band"] = risk_bands(p, job.risk_band_cuts).to_numpy()
    top, sample = select_rows(pre, top_k=job.explain_top_k, sample=job.explain_sample, seed=job.seed)
    if len(top) > job.explain_top_k:
        very_high = (pre.loc[top, "risk_band"] == "very_high").to_numpy()
        top = top[very_high].append(top[~very_high])[: job.explain_top_k]
    contribs = explain(churn, snap, rows=top.union(sample))
    return p, v, top, sample, contribs, with_model_features(churn, snap)


@pytest.mark.parametrize("threads", [1, 2])
def test_concurrent_scoring_job_equals_the_sequential_one(monkeypatch, snapshots, churn_model, value_model, threads):
    """score_customers runs both models' predictions and the SHAP contributions in background threads beside the
    pandas stages (issue 14 §2): the risk list and the explanation summary are those of one call per step."""
    from loyalist.batch.risk_list import build_risk_list
    from loyalist.config.models import LoyalistConfig
    from loyalist.explain import diagnosis, global_drivers, top_reasons, typical_values
    from loyalist.scoring.loyalty import LoyaltyScorer

    monkeypatch.setattr(contributions, "CHUNK_ROWS", 40)
    monkeypatch.setattr(scoring, "EXPLAIN_CHUNK_ROWS", 9)
    monkeypatch.setattr(scoring, "SURVIVAL_CHUNK_ROWS", 30)  # time to churn in row chunks on the threads too
    snap = snapshots["score"]
    monkeypatch.setattr(scoring, "build_snapshot", lambda tables, as_of, features: snap)
    config = LoyalistConfig.model_validate({"compute": {"lgbm_threads": threads},
                                            "scoring_job": {"explain_top_k": 40, "explain_sample": 50}})
    churn, value = _Scorer(churn_model), _Scorer(value_model)
    out = scoring.score_customers({}, pd.Timestamp("2023-12-31"), config, churn=churn, value=value)

    p, v, top, sample, contribs, frame = _sequential_reference(churn_model, value_model, snap, config)
    assert len(top.difference(sample)) and len(top.intersection(sample))  # both parts of the explained rows occur
    assert out.summary["explained"] == {"customers": len(top), "sample": len(sample)}
    loyalty = LoyaltyScorer(config.scoring).fit(snap).transform(snap)
    typical = typical_values(frame, "industry", reference=pd.Series(
        risk_bands(p, config.scoring_job.risk_band_cuts).to_numpy(), index=snap.index).isin(["low", "medium"]))
    reasons = top_reasons(contribs.loc[top], frame.loc[top], typical, k=3)
    featurizer, _ = scoring._list_featurizer(value_model, snap)
    expected = build_risk_list(
        snap, loyalty, churn_probability=p, expected_value=v, band_cuts=config.scoring_job.risk_band_cuts,
        reasons=reasons, expected_purchases=scoring._expected_purchases(value_model, snap, featurizer),
        survival=featurizer.survival(snap, churn_probability=p, churn_horizon_days=scoring._churn_horizon(churn, config)),
        actions=config.scoring_job.actions, next_products=None, customers=None,
        churn_model_version="1", value_model_version="1")
    pd.testing.assert_frame_equal(out.risk, expected, check_exact=True)
    tiers = loyalty["loyalty_tier"].astype("string")
    assert out.summary["global_drivers"] == scoring._json_records(global_drivers(contribs.loc[sample]))
    assert out.summary["diagnosis"] == diagnosis(contribs.loc[sample], tiers.loc[sample],
                                                 snapshot=frame.loc[sample])
    from loyalist.monitoring.drift import psi_table

    pd.testing.assert_frame_equal(out.drift, psi_table(churn_model.drift_reference_, churn_model.model_frame(snap),
                                                       warn_level=config.scoring_job.drift_warn_psi))
    assert len(out.drift) > 10
    # the models' own thread count is back after the concurrent stages
    assert churn_model.booster_.get_params()["n_jobs"] == lgbm_threads(threads)


def test_a_job_without_uplift_lets_the_snapshot_go_before_the_list(monkeypatch, snapshots, churn_model, value_model):
    """keep_snapshot=False (issue 14: no uplift model needs the snapshot's rows afterwards): the same list and
    summary, and an output snapshot with every column but no rows."""
    from loyalist.config.models import LoyalistConfig

    snap = snapshots["score"]
    monkeypatch.setattr(scoring, "build_snapshot", lambda tables, as_of, features: snap)
    config = LoyalistConfig.model_validate({"scoring_job": {"explain_top_k": 40, "explain_sample": 50}})
    churn, value = _Scorer(churn_model), _Scorer(value_model)
    kept = scoring.score_customers({}, pd.Timestamp("2023-12-31"), config, churn=churn, value=value)
    let_go = scoring.score_customers({}, pd.Timestamp("2023-12-31"), config, churn=churn, value=value,
                                     keep_snapshot=False)
    pd.testing.assert_frame_equal(let_go.risk, kept.risk, check_exact=True)
    assert let_go.summary == kept.summary
    assert kept.snapshot is snap and len(snap) > 100
    assert list(let_go.snapshot.columns) == list(snap.columns) and let_go.snapshot.empty
    assert (let_go.snapshot.dtypes == snap.dtypes).all()


def test_names_masked_while_the_models_predict_give_the_list_protect_gives(monkeypatch, snapshots, churn_model,
                                                                           value_model):
    """The scoring job masks the list's names while the models predict (issue 14: off the single-threaded tail) and
    protect leaves them alone: the published list equals masking the finished list, with names missing, repeated,
    shared by several customers and customers absent from the customers table."""
    from loyalist.batch.outputs import protect
    from loyalist.config.models import LoyalistConfig
    from loyalist.data.privacy import mask_values

    snap = snapshots["score"]
    monkeypatch.setattr(scoring, "build_snapshot", lambda tables, as_of, features: snap)
    ids = snap["customer_id"].astype("string").tolist()
    names = ["深圳市宏达科技有限公司", "Jane Smith", None, "上海精工制造集团", "13912345678"]
    customers = pd.DataFrame({  # the first 10 customers are absent; one id twice (its first row's name counts)
        "customer_id": pd.array([*ids[10:], ids[11]], dtype="string"),
        "name": pd.array([names[i % len(names)] for i in range(len(ids) - 10)] + ["Someone Else"], dtype="string"),
    })
    config = LoyalistConfig.model_validate({"scoring_job": {"explain_top_k": 40, "explain_sample": 50}})
    churn, value = _Scorer(churn_model), _Scorer(value_model)
    plain = scoring.score_customers({"customers": customers}, pd.Timestamp("2023-12-31"), config, churn=churn,
                                    value=value)
    early = scoring.score_customers({"customers": customers}, pd.Timestamp("2023-12-31"), config, churn=churn,
                                    value=value, mask_names=mask_values)
    expected = protect(plain.risk, config.privacy, None)
    published = protect(early.risk, config.privacy, None, masked=("name",))
    pd.testing.assert_frame_equal(published, expected, check_exact=True)
    absent = published["customer_id"].isin(ids[:10])
    assert published.loc[absent, "name"].isna().all() and absent.sum() == 10
    assert published["name"].notna().sum() > 100 and published["name"].dropna().str.contains("*", regex=False).all()
    assert "*科技有限公司" in set(published["name"].dropna())


def test_time_to_churn_in_row_chunks_equals_one_call(monkeypatch, snapshots, churn_model, value_model):
    """The scoring job's time-to-churn columns computed in row chunks on two threads (issue 14) are, bit for bit,
    those of one call on the whole snapshot."""
    snap = snapshots["score"]
    featurizer, _ = scoring._list_featurizer(value_model, snap)
    p = churn_model.score(snap)
    whole = featurizer.survival(snap, churn_probability=p, churn_horizon_days=90)
    monkeypatch.setattr(scoring, "SURVIVAL_CHUNK_ROWS", 17)
    chunked = scoring._survival_chunks(featurizer, snap, p, 90, 2)
    assert len(snap) > 4 * 17 and whole.notna().all().all()
    pd.testing.assert_frame_equal(chunked, whole, check_exact=True)
    monkeypatch.setattr(scoring, "SURVIVAL_CHUNK_ROWS", len(snap))  # smaller than two chunks: one call
    pd.testing.assert_frame_equal(scoring._survival_chunks(featurizer, snap, p, 90, 2), whole, check_exact=True)
