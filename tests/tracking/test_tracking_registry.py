"""Registry: log -> register -> challenger -> gate -> champion -> load round trips on a temporary SQLite store."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from loyalist.errors import ConfigError, ModelError, RegistryError
from loyalist.tracking import (
    gate,
    get_version,
    list_versions,
    load,
    log_model,
    promote,
    run,
    set_alias,
)


def _log(model, frame, name, tags=None):
    with run("train") as handle:
        return log_model(handle, model, registered_name=name, input_example=frame, tags=tags)


def test_round_trip_gate_promotes_better_and_keeps_worse(tracking_store, frames, churn_model_factory):
    train, valid = frames
    name = "loyalist-churn"

    good = churn_model_factory(informative=True)
    good_auc = roc_auc_score(valid["churned"], good.score(valid))
    v1 = _log(good, train, name, tags={"roc_auc": good_auc, "validation_cutoff": "2024-06-01"})
    assert (v1.name, v1.version, v1.aliases) == (name, 1, ("challenger",))
    assert v1.uri == f"models:/{name}/1"
    assert v1.tags["validation_cutoff"] == "2024-06-01"
    assert float(v1.tags["roc_auc"]) == pytest.approx(good_auc)
    assert v1.tags["loyalist.kind"] == "churn"

    first = gate(name, v1.version, challenger_score=good_auc, champion_score=None, margin=0.0, metric="roc_auc")
    assert first.promoted
    assert "no champion" in first.reason
    assert get_version(name, "champion").version == 1
    assert get_version(name, "challenger") is None

    # scoring path: models:/name@champion -> probabilities in [0, 1] as a DataFrame on the input's index
    loaded = load(name)
    assert loaded.info.version == 1 and "champion" in loaded.info.aliases
    scored = loaded.predict(valid.set_index(valid.index + 1000))
    assert isinstance(scored, pd.DataFrame)
    assert list(scored.columns) == ["churn_probability"]
    assert scored.index.equals(valid.index + 1000)
    assert scored["churn_probability"].dtype == "float64"
    assert scored["churn_probability"].between(0.0, 1.0).all()
    np.testing.assert_allclose(scored["churn_probability"].to_numpy(), good.score(valid), rtol=1e-12)
    assert loaded.model.output_name == "churn_probability"
    assert loaded.model.feature_names_ == ["recency_days", "n_orders", "monetary_total"]

    # a worse challenger is kept out, and the reason says why
    bad = churn_model_factory(informative=False, seed=3)
    bad_auc = roc_auc_score(valid["churned"], bad.score(valid))
    assert bad_auc < good_auc
    v2 = _log(bad, train, name, tags={"roc_auc": bad_auc})
    kept = gate(name, v2.version, challenger_score=bad_auc, champion_score=good_auc, margin=0.0, metric="roc_auc")
    assert not kept.promoted
    assert kept.reason.startswith(
        f"challenger roc_auc {bad_auc:.3f} does not beat champion {good_auc:.3f} + margin 0.000"
    )
    assert kept.champion_version == 1
    assert get_version(name, "champion").version == 1
    assert get_version(name, "challenger").version == 2
    assert get_version(name, "challenger").tags["gate.promoted"] == "false"

    # a better one is promoted; the old champion becomes 'previous'
    v3 = _log(good, train, name)
    better = gate(name, v3.version, challenger_score=good_auc + 0.02, champion_score=good_auc, margin=0.01,
                  metric="roc_auc")
    assert better.promoted
    assert f"challenger roc_auc {good_auc + 0.02:.3f} beats champion {good_auc:.3f} + margin 0.010" in better.reason
    assert get_version(name, "champion").version == 3
    assert get_version(name, "previous").version == 1
    assert get_version(name, "challenger") is None  # v3 took 'challenger' from v2 when logged, then won
    assert load(name).info.version == 3

    # list_versions shows aliases and metric tags as numbers
    table = list_versions([name, "never-registered"])
    assert list(table[["name", "version", "aliases"]].itertuples(index=False, name=None)) == [
        (name, 1, "previous"),
        (name, 2, ""),
        (name, 3, "champion"),
    ]
    assert list(table.columns[:5]) == ["name", "version", "aliases", "created", "run_id"]
    assert table["roc_auc"].dtype == "float64"
    assert table.loc[0, "roc_auc"] == pytest.approx(good_auc)
    assert pd.isna(table.loc[2, "roc_auc"])
    assert str(table["created"].dt.tz) == "UTC"
    assert table["run_id"].str.len().eq(32).all()

    # promote() moves the champion by hand (roll back to version 1)
    promote(name, 1)
    assert get_version(name, "champion").version == 1
    assert get_version(name, "previous").version == 3
    assert load(name).info.version == 1


def test_gate_lower_is_better_and_margin(tracking_store, frames, churn_model_factory):
    train, _ = frames
    name = "loyalist-gate"
    model = churn_model_factory()
    v1 = _log(model, train, name)
    promote(name, v1.version)
    v2 = _log(model, train, name)
    # log loss 0.41 vs 0.40: worse when lower is better
    kept = gate(name, v2.version, challenger_score=0.41, champion_score=0.40, margin=0.0, higher_is_better=False,
                metric="log_loss")
    assert not kept.promoted
    assert kept.reason.startswith("challenger log_loss 0.410 does not beat champion 0.400 - margin 0.000")
    # better by less than the margin: kept
    within = gate(name, v2.version, challenger_score=0.395, champion_score=0.40, margin=0.01,
                  higher_is_better=False, metric="log_loss")
    assert not within.promoted
    # a champion exists but was not scored: never promoted silently
    unscored = gate(name, v2.version, challenger_score=0.30, champion_score=None, margin=0.0, metric="log_loss")
    assert not unscored.promoted
    assert "has no log_loss on this data" in unscored.reason
    assert get_version(name, "champion").version == 1
    # equal scores do not beat the champion
    tie = gate(name, v2.version, challenger_score=0.40, champion_score=0.40, margin=0.0, higher_is_better=False)
    assert not tie.promoted
    assert gate(name, v2.version, challenger_score=0.35, champion_score=0.40, margin=0.01,
                higher_is_better=False).promoted
    assert get_version(name, "champion").version == 2
    with pytest.raises(ConfigError, match="'margin'"):
        gate(name, v2.version, challenger_score=0.3, champion_score=0.4, margin=-0.1)


def test_set_alias_and_missing_versions(tracking_store, frames, churn_model_factory):
    train, _ = frames
    name = "loyalist-alias"
    v1 = _log(churn_model_factory(), train, name)
    set_alias(name, "shadow", v1.version)
    assert get_version(name, "shadow").version == 1
    assert set(get_version(name, "shadow").aliases) == {"challenger", "shadow"}
    with pytest.raises(RegistryError, match="No version 7 of model 'loyalist-alias'"):
        set_alias(name, "champion", 7)
    with pytest.raises(RegistryError, match="No version 1 of model 'no-such-model'"):
        promote("no-such-model", 1)
    assert get_version("no-such-model", "champion") is None


def test_load_missing_alias_raises_registry_error_with_the_sentence(tracking_store, frames, churn_model_factory):
    uri = tracking_store["uri"]
    expected = (
        f"No model 'loyalist-churn-missing' with alias 'champion' in {uri}: train one with 'loyalist train' or "
        "promote a version with 'loyalist promote'."
    )
    with pytest.raises(RegistryError) as missing_model:
        load("loyalist-churn-missing")
    assert str(missing_model.value) == expected

    train, _ = frames
    _log(churn_model_factory(), train, "loyalist-no-champion")  # registered, but only 'challenger'
    with pytest.raises(RegistryError, match="No model 'loyalist-no-champion' with alias 'champion' in "):
        load("loyalist-no-champion")
    assert load("loyalist-no-champion", alias="challenger").info.version == 1


def test_predict_names_missing_feature_columns(tracking_store, frames, churn_model_factory):
    train, valid = frames
    name = "loyalist-features"
    _log(churn_model_factory(), train, name)
    loaded = load(name, alias="challenger")
    with pytest.raises(ModelError, match=r"lacks the feature columns \['n_orders'\]"):
        loaded.predict(valid.drop(columns=["n_orders"]))
    # MLflow's own signature enforcement raises first when the pyfunc is called directly ...
    with pytest.raises(mlflow.exceptions.MlflowException, match="n_orders"):
        loaded.pyfunc.predict(valid.drop(columns=["n_orders"]))
    # ... and its schema errors come back from LoadedModel.predict as a ModelError naming the column
    bad_types = valid.assign(monetary_total=valid["monetary_total"].astype("str") + " EUR")
    with pytest.raises(ModelError, match=r"\(columns \['monetary_total'\]\)"):
        loaded.predict(bad_types)
    # integer features with missing values (floats at scoring time) still fit the signature
    with_gaps = valid.assign(recency_days=valid["recency_days"].astype("float64").where(valid.index % 7 != 0))
    assert len(loaded.predict(with_gaps.fillna({"recency_days": 0.0}))) == len(valid)
    # extra columns (customer_id, label) are ignored
    assert loaded.score(valid).shape == (len(valid),)


def test_log_model_checks_the_model_and_the_example(tracking_store, frames, churn_model_factory):
    train, _ = frames
    model = churn_model_factory()
    with run("bad-inputs") as handle:
        with pytest.raises(ModelError, match=r"lacks the model's feature columns \['monetary_total'\]"):
            log_model(handle, model, registered_name="loyalist-bad", input_example=train.drop(columns="monetary_total"))
        with pytest.raises(ModelError, match=r"lacks \['feature_names_', 'output_name', 'kind', 'score'\]"):
            log_model(handle, object(), registered_name="loyalist-bad", input_example=train)
    assert list_versions(["loyalist-bad"]).empty


def test_log_model_into_a_finished_run_by_id(tracking_store, frames, churn_model_factory):
    train, valid = frames
    with run("fit") as handle:
        run_id = handle.run_id
    info = log_model(run_id, churn_model_factory(), registered_name="loyalist-by-id", input_example=train)
    assert info.run_id == run_id
    assert mlflow.active_run() is None
    assert load("loyalist-by-id", alias="challenger").predict(valid).shape == (len(valid), 1)


def test_text_and_category_features_fit_the_signature(tracking_store):
    class SegmentModel:
        kind = "value"
        output_name = "expected_value"
        feature_names_ = ["monetary_total", "industry"]

        def score(self, X):
            base = X["monetary_total"].to_numpy(dtype="float64")
            return base * (X["industry"].astype("str") == "retail").to_numpy(dtype="float64")

    frame = pd.DataFrame({
        "customer_id": ["A", "B", "C"],
        "monetary_total": pd.Series([100, 200, 300], dtype="int64"),
        "industry": pd.Series(["retail", "b2b", None], dtype="category"),
    })
    with run("train-value") as handle:
        log_model(handle, SegmentModel(), registered_name="loyalist-value", input_example=frame)
    loaded = load("loyalist-value", alias="challenger")
    assert loaded.kind == "value"
    assert loaded.predict(frame)["expected_value"].tolist() == [100.0, 0.0, 0.0]
    as_text = frame.assign(industry=frame["industry"].astype("str"))
    assert loaded.predict(as_text)["expected_value"].tolist() == [100.0, 0.0, 0.0]
