"""The scoring job builds its snapshot in a thread while the models load (issue 14): under the job's DuckDB memory
limit, handed to the scoring and not kept by the job (the scoring lets its rows go before the list is built)."""

from __future__ import annotations

import gc
import weakref

import pandas as pd
import pytest

import loyalist.jobs.score as score_job
from loyalist.compute import duckdb_settings
from loyalist.config.models import LoyalistConfig


class _Stop(Exception):
    pass


class _Snapshot(pd.DataFrame):
    """A frame a weak reference can follow."""


class _Loaded:
    model = object()


def test_the_early_snapshot_is_built_under_the_limit_and_handed_over_not_kept(monkeypatch, tmp_path):
    config = LoyalistConfig.model_validate({"scoring_job": {"duckdb_memory_limit": "300MB"}})
    seen: dict = {}

    def build(tables, as_of, features):
        seen["limit"] = duckdb_settings().memory_limit
        seen["as_of"] = as_of
        return _Snapshot({"customer_id": ["c1", "c2"]})

    def load_models(config, churn_bundle, value_bundle):
        seen["loaded"] = True
        return score_job._Scorer(_Loaded(), "1"), score_job._Scorer(_Loaded(), "1")

    def score_customers(tables, ts, config, *, snapshot_source, **kwargs):
        frame = snapshot_source()
        assert list(frame["customer_id"]) == ["c1", "c2"]
        seen["frame"] = weakref.ref(frame)
        del frame
        gc.collect()
        seen["kept"] = seen["frame"]() is not None  # anything of the job still holding the snapshot
        raise _Stop

    monkeypatch.setattr(score_job, "start_tracking", lambda config, workdir, env: None)
    monkeypatch.setattr(score_job, "resolve_as_of", lambda tables, as_of: pd.Timestamp("2024-06-30"))
    monkeypatch.setattr(score_job, "build_snapshot", build)
    monkeypatch.setattr(score_job, "_load_models", load_models)
    monkeypatch.setattr(score_job, "_uplift_champion", lambda config: None)
    monkeypatch.setattr(score_job, "_fingerprints", lambda tables: {})
    monkeypatch.setattr(score_job, "score_customers", score_customers)
    before = duckdb_settings()
    with pytest.raises(_Stop):
        score_job.run_scoring(config, {}, out_dir=tmp_path / "out", workdir=tmp_path)
    assert seen["loaded"] and seen["as_of"] == pd.Timestamp("2024-06-30")
    assert seen["limit"] == "300MB"  # the scoring's DuckDB memory limit holds in the snapshot's thread
    assert seen["kept"] is False
    assert duckdb_settings() == before  # and the settings come back after the job


def test_a_failing_snapshot_raises_its_own_error_from_the_job(monkeypatch, tmp_path):
    from loyalist.errors import SchemaError

    def build(tables, as_of, features):
        raise SchemaError("Table 'orders' is required to build the snapshot")

    monkeypatch.setattr(score_job, "start_tracking", lambda config, workdir, env: None)
    monkeypatch.setattr(score_job, "resolve_as_of", lambda tables, as_of: pd.Timestamp("2024-06-30"))
    monkeypatch.setattr(score_job, "build_snapshot", build)
    monkeypatch.setattr(score_job, "_load_models",
                        lambda c, a, b: (score_job._Scorer(_Loaded(), "1"), score_job._Scorer(_Loaded(), "1")))
    monkeypatch.setattr(score_job, "_uplift_champion", lambda config: None)
    monkeypatch.setattr(score_job, "_fingerprints", lambda tables: {})
    with pytest.raises(SchemaError, match="orders"):
        score_job.run_scoring(LoyalistConfig(), {}, out_dir=tmp_path / "out", workdir=tmp_path)
