"""The store (URI resolution, setup), run handles and data fingerprints."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import mlflow
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mlflow import MlflowClient

from loyalist.errors import ConfigError, ModelError
from loyalist.tracking import (
    data_fingerprint,
    load,
    log_model,
    offline_environment,
    resolve_tracking_uri,
    run,
    setup_tracking,
)
from loyalist.tracking.store import flatten_params, row_hashes_of, sqlite_db_path

from tracking_helpers import files_under, make_churn_model, make_frame

REPO_ROOT = Path(__file__).resolve().parents[2]

# ----------------------------------------------------------------------------------------- the store


def test_resolve_tracking_uri_honours_mlflow_tracking_uri():
    configured = "sqlite:///mlruns/mlflow.db"
    assert resolve_tracking_uri(configured, {"MLFLOW_TRACKING_URI": "http://mlflow:5000"}) == "http://mlflow:5000"
    assert resolve_tracking_uri(configured, {"MLFLOW_TRACKING_URI": "  "}) == configured
    assert resolve_tracking_uri(configured, {"PATH": "/bin"}) == configured
    with pytest.raises(ConfigError, match="'tracking.tracking_uri'"):
        resolve_tracking_uri("", {})


def test_offline_environment_has_the_two_switches():
    env = offline_environment()
    assert env["MLFLOW_DISABLE_TELEMETRY"] == "true"
    assert env["MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK"] == "true"
    assert all(isinstance(v, str) for v in env.values())


@pytest.mark.parametrize(
    ("uri", "path"),
    [
        ("sqlite:///mlruns/mlflow.db", Path("mlruns/mlflow.db")),
        ("sqlite:////srv/loyalist/mlruns/mlflow.db", Path("/srv/loyalist/mlruns/mlflow.db")),
        ("http://mlflow:5000", None),
        ("sqlite:///:memory:", None),
    ],
)
def test_sqlite_db_path(uri, path):
    assert sqlite_db_path(uri) == path


def test_setup_tracking_rejects_the_plain_folder_store(tmp_path, isolated_mlflow):
    with pytest.raises(ConfigError, match="plain folder"):
        setup_tracking(str(tmp_path / "mlruns"), "x", None)
    with pytest.raises(ConfigError, match="plain folder"):
        setup_tracking((tmp_path / "mlruns").as_uri(), "x", None)
    assert not (tmp_path / "mlruns").exists()


def test_run_without_setup_raises(isolated_mlflow):
    with pytest.raises(ConfigError, match="'train'.*setup_tracking"):
        with run("train"):
            pass


def test_flatten_params():
    nested = {"a": {"b": 1, "c": {"d": [1, 2]}, "e": {}}, "f": None, "g": "x"}
    assert flatten_params(nested) == {"a.b": "1", "a.c.d": "[1, 2]", "a.e": "{}", "f": "None", "g": "x"}


# ------------------------------------------------------------------------------ everything in tmp_path


def test_setup_log_register_load_writes_nothing_outside_tmp_path(tmp_path, monkeypatch, isolated_mlflow):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    repo_mlruns_before = files_under(REPO_ROOT / "mlruns")
    root = tmp_path / "project"
    uri = f"sqlite:///{root / 'mlruns' / 'mlflow.db'}"

    first = setup_tracking(uri, "loyalist", None)
    assert setup_tracking(uri, "loyalist", None) == first  # idempotent
    assert (root / "mlruns" / "mlflow.db").is_file()
    experiment = MlflowClient(uri).get_experiment(first)
    assert experiment.artifact_location == (root / "mlruns").resolve().as_uri()

    train = make_frame(120, seed=5)
    model = make_churn_model(train)
    with run("train-churn", tags={"job": "train"}) as handle:
        handle.log_metrics({"roc_auc": 0.8})
        info = log_model(handle, model, registered_name="loyalist-churn", input_example=train)
    assert load("loyalist-churn", alias="challenger").predict(train).shape == (120, 1)

    assert list(cwd.iterdir()) == []
    assert files_under(REPO_ROOT / "mlruns") == repo_mlruns_before
    artifact_files = files_under(root / "mlruns")
    assert any(name.endswith("MLmodel") for name in artifact_files)
    assert any(name.endswith("artifacts/model.pkl") for name in artifact_files)
    assert info.run_id == handle.run_id


# ------------------------------------------------------------------------------------------ run handle


def test_run_handle_logs_params_config_metrics_tags_and_artifacts(tracking_store, tmp_path):
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    config = {"training": {"max_cutoffs": 12, "promotion_metric": "roc_auc"}, "industries": ["retail", "b2b"]}
    table = pd.DataFrame({"decile": [1, 2, 3], "lift": [3.2, 1.9, 1.1], "cutoff": pd.to_datetime(["2024-01-01"] * 3)})
    extra = tmp_path / "notes.txt"
    extra.write_text("hello", encoding="utf-8")
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])

    with run("train-churn", tags={"job": "train"}) as handle:
        handle.log_params({"long": "x" * 7000, "n": 3})
        handle.log_config(config)
        handle.log_metrics({"roc_auc": 0.8125, "brier": 0.1, "skipped": None}, prefix="oot.")
        handle.log_metrics({"loss": 0.5}, step=2)
        handle.set_tags({"cutoffs": ["2024-01-01", "2024-02-01"]})
        handle.log_table(table, "tables/lift.csv")
        handle.log_table(table, "tables/lift.json")
        handle.log_table(table, "tables/lift.parquet")
        handle.log_dict({"a": 1}, "summary.json")
        handle.log_figure(fig, "plots/roc.png")
        handle.log_artifact(extra, "docs")
        with pytest.raises(ModelError, match="'oot.auc' must be a number"):
            handle.log_metrics({"auc": "high"}, prefix="oot.")
        with pytest.raises(ConfigError, match="'tables/lift.xlsx'"):
            handle.log_table(table, "tables/lift.xlsx")
    plt.close(fig)

    client = MlflowClient(tracking_store["uri"])
    logged = client.get_run(handle.run_id)
    assert logged.info.status == "FINISHED"
    assert logged.info.run_name == "train-churn"
    params = logged.data.params
    assert len(params["long"]) == 6000 and params["long"].endswith("...[truncated]")
    assert params["n"] == "3"
    assert params["training.max_cutoffs"] == "12"
    assert params["training.promotion_metric"] == "roc_auc"
    assert json.loads(params["industries"]) == ["retail", "b2b"]
    assert logged.data.metrics == {"oot.roc_auc": 0.8125, "oot.brier": 0.1, "loss": 0.5}
    assert logged.data.tags["job"] == "train"
    assert json.loads(logged.data.tags["cutoffs"]) == ["2024-01-01", "2024-02-01"]

    files = {f.path for f in client.list_artifacts(handle.run_id)}
    assert {"config.yaml", "summary.json", "tables", "plots", "docs"} <= files
    local = Path(mlflow.artifacts.download_artifacts(run_id=handle.run_id, dst_path=str(tmp_path / "dl")))
    assert "max_cutoffs: 12" in (local / "config.yaml").read_text(encoding="utf-8")
    assert pd.read_csv(local / "tables" / "lift.csv")["lift"].tolist() == [3.2, 1.9, 1.1]
    assert json.loads((local / "tables" / "lift.json").read_text(encoding="utf-8"))["columns"] == [
        "decile", "lift", "cutoff"
    ]
    assert pd.read_parquet(local / "tables" / "lift.parquet").equals(table)
    assert (local / "plots" / "roc.png").read_bytes()[:4] == b"\x89PNG"
    assert (local / "docs" / "notes.txt").read_text(encoding="utf-8") == "hello"


def test_run_marks_failed_on_error(tracking_store):
    with pytest.raises(RuntimeError, match="boom"):
        with run("broken") as handle:
            raise RuntimeError("boom")
    assert MlflowClient(tracking_store["uri"]).get_run(handle.run_id).info.status == "FAILED"


def test_nested_runs_log_into_their_own_run(tracking_store):
    with run("parent") as parent:
        with run("child", nested=True) as child:
            parent.log_metrics({"m": 1.0})
            child.log_metrics({"m": 2.0})
    client = MlflowClient(tracking_store["uri"])
    assert client.get_run(parent.run_id).data.metrics == {"m": 1.0}
    child_run = client.get_run(child.run_id)
    assert child_run.data.metrics == {"m": 2.0}
    assert child_run.data.tags["mlflow.parentRunId"] == parent.run_id


def test_log_dataset_records_input_and_fingerprint(tracking_store):
    frame = make_frame(50, seed=9).assign(segment=pd.Series(["a", "b"] * 25, dtype="str"))
    before = frame.copy()
    with run("data") as handle:
        fp = handle.log_dataset(frame, "snapshot", "training")
    pd.testing.assert_frame_equal(frame, before)
    logged = MlflowClient(tracking_store["uri"]).get_run(handle.run_id)
    (dataset_input,) = logged.inputs.dataset_inputs
    assert dataset_input.dataset.name == "snapshot"
    input_tags = {t.key: t.value for t in dataset_input.tags}
    assert input_tags["mlflow.data.context"] == "training"
    assert input_tags["loyalist.sha256"] == fp["sha256"] == dataset_input.dataset.digest
    from mlflow.types.utils import _infer_schema

    assert json.loads(dataset_input.dataset.schema)["mlflow_colspec"] == _infer_schema(frame).to_dict()
    assert logged.data.tags["fingerprint.snapshot.rows"] == "50"
    assert logged.data.tags["fingerprint.snapshot.customers"] == "50"
    assert fp == data_fingerprint(frame)


# ------------------------------------------------------------------------------------------ fingerprint


def test_data_fingerprint_golden():
    df = pd.DataFrame({"customer_id": ["A", "A", "B", None], "amount": [1.0, 2.0, 3.0, 4.0]})
    fp = data_fingerprint(df)
    assert {k: fp[k] for k in ("rows", "columns", "customers")} == {"rows": 4, "columns": 2, "customers": 2}
    assert len(fp["sha256"]) == 16 and int(fp["sha256"], 16) >= 0
    assert "customers" not in data_fingerprint(df.rename(columns={"customer_id": "id"}))
    assert data_fingerprint(df.rename(columns={"customer_id": "id"}))["sha256"] != fp["sha256"]
    assert data_fingerprint(df.iloc[:3])["sha256"] != fp["sha256"]
    assert data_fingerprint(pd.DataFrame())["rows"] == 0


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.tuples(st.integers(-5, 5), st.floats(allow_nan=False, width=32), st.text(max_size=3)),
                    min_size=1, max_size=12),
    seed=st.integers(0, 1000),
)
def test_data_fingerprint_ignores_row_and_column_order_but_not_values(values, seed):
    df = pd.DataFrame(values, columns=["n", "x", "s"])
    shuffled = df.sample(frac=1.0, random_state=seed)[["s", "n", "x"]]
    assert data_fingerprint(shuffled) == data_fingerprint(df)
    changed = df.assign(n=df["n"].where(df.index != 0, df.loc[0, "n"] + 100))
    assert data_fingerprint(changed)["sha256"] != data_fingerprint(df)["sha256"]


def test_row_hashes_equal_pandas_on_ids_codes_and_missing_values():
    # the fast path hashes nearly unique text columns without factorising them first; the hashes must be pandas'
    rng = np.random.default_rng(3)
    n = 500
    frame = pd.DataFrame({
        "order_id": pd.array([f"o{i:05d}" for i in range(n)], dtype="str"),
        "channel": pd.array(rng.choice(["web", "store", None], n), dtype="str"),
        "obj_ids": np.array([f"x{i}" if i % 7 else None for i in range(n)], dtype=object),
        "amount": rng.normal(size=n),
        "day": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D"),
        "flag": pd.array(rng.choice([True, False, None], n), dtype="boolean"),
        "cat": pd.Categorical(rng.choice(["a", "b"], n)),
        "count": rng.integers(0, 9, n),
    })
    expected = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    np.testing.assert_array_equal(row_hashes_of(frame), expected)
    np.testing.assert_array_equal(row_hashes_of(frame.iloc[:0]), expected[:0])


def test_data_fingerprint_changes_with_one_value_of_an_id_column():
    frame = pd.DataFrame({"order_id": pd.array([f"o{i}" for i in range(300)], dtype="str"),
                          "amount": np.arange(300.0)})
    changed = frame.copy()
    changed.loc[123, "order_id"] = "o-changed"
    assert data_fingerprint(changed)["sha256"] != data_fingerprint(frame)["sha256"]
    assert data_fingerprint(frame.iloc[::-1])["sha256"] == data_fingerprint(frame)["sha256"]


class _RacingClient:
    """A client whose set_experiment_tag fails as PostgreSQL does when another user inserted the tag first."""

    def __init__(self, tag_after: str | None):
        self.tag_after = tag_after

    def set_experiment_tag(self, experiment_id, key, value):
        from mlflow.exceptions import MlflowException

        raise MlflowException('duplicate key value violates unique constraint "experiment_tag_pk"')

    def get_experiment(self, experiment_id):
        from types import SimpleNamespace

        from loyalist.tracking.store import EXPERIMENT_KIND_TAG

        return SimpleNamespace(tags={} if self.tag_after is None else {EXPERIMENT_KIND_TAG: self.tag_after})


def test_two_users_setting_the_experiment_kind_at_once_is_not_an_error():
    """The team-server test failed once this way: both users set the kind tag, the second insert hit the key."""
    from mlflow.exceptions import MlflowException

    from loyalist.tracking.store import EXPERIMENT_KIND, tag_experiment_kind

    tag_experiment_kind(_RacingClient(EXPERIMENT_KIND), "1")  # the other user's tag is there: fine
    with pytest.raises(MlflowException):
        tag_experiment_kind(_RacingClient(None), "1")  # still missing: a real failure, raised


class _AliasRace:
    """set_registered_model_alias fails like PostgreSQL when another user inserted the same alias first."""

    def __init__(self, failures: int, message: str = 'duplicate key value violates unique constraint '
                                                      '"registered_model_alias_pk"'):
        self.failures, self.message, self.calls = failures, message, 0

    def set_registered_model_alias(self, name, alias, version):
        from mlflow.exceptions import MlflowException

        self.calls += 1
        if self.calls <= self.failures:
            raise MlflowException(self.message)


def test_an_alias_write_that_lost_a_race_on_a_shared_server_is_tried_again(monkeypatch):
    """The team-server test failed once with UniqueViolation on registered_model_alias_pk (two users registering
    at once). The lost race is retried; any other failure, or a race lost every time, is raised."""
    from mlflow.exceptions import MlflowException

    import loyalist.tracking.registry as registry
    import loyalist.tracking.store as store

    monkeypatch.setattr(store.time, "sleep", lambda seconds: None)
    won = _AliasRace(failures=1)
    registry._write_alias(won, "m", "challenger", 2)
    assert won.calls == 2
    with pytest.raises(MlflowException):
        registry._write_alias(_AliasRace(failures=1, message="RESOURCE_DOES_NOT_EXIST"), "m", "challenger", 2)
    always = _AliasRace(failures=99)
    with pytest.raises(MlflowException):
        registry._write_alias(always, "m", "challenger", 2)
    assert always.calls == store.RACE_ATTEMPTS
    # SQLite says it its own way (two local jobs logging the same dataset at once)
    sqlite_race = _AliasRace(failures=2, message="UNIQUE constraint failed: datasets.experiment_id, datasets.name")
    store.retry_lost_race(lambda: sqlite_race.set_registered_model_alias("m", "a", "1"))
    assert sqlite_race.calls == 3


def test_an_alias_update_that_lost_a_race_is_tried_again(monkeypatch):
    """tests/pipelines/test_concurrent_train.py failed once under load: two jobs moving the same alias, the loser's
    UPDATE matched no row (SQLAlchemy's StaleDataError, through MLflow). It is retried like a lost insert."""
    from sqlalchemy.orm.exc import StaleDataError

    import loyalist.tracking.store as store

    monkeypatch.setattr(store.time, "sleep", lambda seconds: None)
    message = ("UPDATE statement on table 'registered_model_aliases' expected to update 1 row(s); "
               "0 were matched.")
    via_mlflow = _AliasRace(failures=1, message=message)
    store.retry_lost_race(lambda: via_mlflow.set_registered_model_alias("m", "champion", "2"))
    assert via_mlflow.calls == 2
    calls = []

    def stale() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise StaleDataError(message)
        return "done"

    assert store.retry_lost_race(stale) == "done"
    assert len(calls) == 2

    def other() -> None:
        raise StaleDataError("something else went wrong")

    with pytest.raises(StaleDataError):
        store.retry_lost_race(other)


def test_dataset_schema_equals_mlflow_inference_with_missing_values_past_the_sample():
    from mlflow.types.utils import _infer_schema

    from loyalist.tracking.store import SCHEMA_SAMPLE_ROWS, dataset_schema

    n = SCHEMA_SAMPLE_ROWS + 500
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({
        "customer_id": pd.Series([f"C{i}" for i in range(n)], dtype="str"),
        "amount": rng.random(n),
        "late_nan": rng.random(n),
        "count": np.arange(n, dtype="int64"),
        "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(n) % 400, unit="D"),
        "segment": pd.Series(["a", "b"] * (n // 2), dtype="object"),
        "flag": np.arange(n) % 2 == 0,
        "late_missing_text": pd.Series(["x"] * n, dtype="object"),
        "empty_head": pd.Series([None] * SCHEMA_SAMPLE_ROWS + ["y"] * 500, dtype="object"),
    })
    frame.loc[n - 1, "late_nan"] = np.nan
    frame.loc[n - 2, "when"] = pd.NaT
    frame.loc[n - 3, "late_missing_text"] = None
    expected = _infer_schema(frame)
    got = dataset_schema(frame)
    assert got == expected
    assert {c.name: c.required for c in got.inputs} == {
        "customer_id": True, "amount": True, "late_nan": False, "count": True, "when": False, "segment": True,
        "flag": True, "late_missing_text": False, "empty_head": False,
    }
    assert dataset_schema(frame.head(0)) == _infer_schema(frame.head(0))
