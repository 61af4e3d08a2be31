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


# DuckDB's out-of-memory error as the Arrow reader of a streamed result passes it on (the 931,143-customer snapshot
# under the job's 1GB limit, session 16)
_OOM = OSError("Out of Memory Error: failed to pin block of size 256.0 KiB (953.6 MiB/953.6 MiB used)")


def _tiny_company(n: int = 20_000) -> dict[str, pd.DataFrame]:
    import numpy as np

    rng = np.random.default_rng(0)
    ids = np.array([f"C{i:07d}" for i in range(n)], dtype=object)
    orders = pd.DataFrame({
        "order_id": [f"O{i}" for i in range(2 * n)], "customer_id": np.repeat(ids, 2),
        "order_date": pd.Timestamp("2024-01-10") + pd.to_timedelta(rng.integers(0, 150, 2 * n), unit="D"),
        "amount": rng.uniform(1, 100, 2 * n), "status": "completed"})
    return {"orders": orders, "customers": pd.DataFrame({"customer_id": ids})}


def test_a_snapshot_that_runs_out_of_duckdb_memory_is_built_again_under_twice_the_limit_with_a_note():
    # real DuckDB: 20,000 customers do not fit in 16MB (its hash joins cannot all spill) and do in 32MB
    from loyalist.compute import DuckdbSettings, use_compute
    from loyalist.features import build_snapshot

    tables, config = _tiny_company(), LoyalistConfig()
    ts = pd.Timestamp("2024-06-30")
    expected = build_snapshot(tables, ts, config.features)
    before = duckdb_settings()
    use_compute(duckdb=DuckdbSettings(memory_limit="16MB", threads=1))
    try:
        with pytest.raises(Exception, match="Out of Memory") as raised:
            build_snapshot(tables, ts, config.features)
        assert score_job._duckdb_out_of_memory(raised.value)
        notes: list[str] = []
        got = score_job._snapshot_within_memory(tables, ts, config, notes)
        assert duckdb_settings().memory_limit == "16MB"  # the job's limit again after the second try
    finally:
        use_compute(duckdb=before)
    pd.testing.assert_frame_equal(got, expected)
    assert len(notes) == 1 and "under its 16MB memory limit" in notes[0] and "built under 32MB" in notes[0]
    assert "scoring_job.duckdb_memory_limit" in notes[0]


def _failing_builds(monkeypatch, outcomes: list) -> list:
    """build_snapshot raising / returning ``outcomes`` in turn; returns the memory limits it was called under."""
    limits: list = []

    def build(tables, as_of, features):
        limits.append(duckdb_settings().memory_limit)
        out = outcomes.pop(0)
        if isinstance(out, BaseException):
            raise out
        return out

    monkeypatch.setattr(score_job, "build_snapshot", build)
    return limits


def test_the_second_try_stays_under_the_compute_memory_limit_the_user_set(monkeypatch):
    from loyalist.compute import DuckdbSettings, use_compute

    frame = pd.DataFrame({"customer_id": ["c1"]})
    limits = _failing_builds(monkeypatch, [_OOM, frame])
    config = LoyalistConfig.model_validate({"compute": {"duckdb_memory_limit": "1500MB"},
                                            "scoring_job": {"duckdb_memory_limit": "1GB"}})
    before = duckdb_settings()
    use_compute(duckdb=DuckdbSettings(memory_limit="1GB"))
    try:
        notes: list[str] = []
        assert score_job._snapshot_within_memory({}, pd.Timestamp("2024-06-30"), config, notes) is frame
    finally:
        use_compute(duckdb=before)
    assert limits == ["1GB", "1500MB"] and "built under 1500MB" in notes[0]


@pytest.mark.parametrize("compute_limit, outcomes, message", [
    # the user's ceiling is the limit already used: no second try
    ("1GB", [_OOM], r"under its 1GB memory limit; raise scoring_job\.duckdb_memory_limit"),
    # the second try fails too
    (None, [_OOM, _OOM], r"under its 1GB memory limit and again under 2000MB; raise scoring_job\.duckdb_memory_limit"),
])
def test_a_snapshot_out_of_duckdb_memory_ends_in_one_sentence_naming_the_setting(monkeypatch, compute_limit, outcomes,
                                                                                  message):
    from loyalist.compute import DuckdbSettings, use_compute
    from loyalist.errors import EngineError

    _failing_builds(monkeypatch, list(outcomes))
    config = LoyalistConfig.model_validate({"compute": {"duckdb_memory_limit": compute_limit}})
    before = duckdb_settings()
    use_compute(duckdb=DuckdbSettings(memory_limit="1GB"))
    try:
        with pytest.raises(EngineError, match=message) as raised:
            score_job._snapshot_within_memory({}, pd.Timestamp("2024-06-30"), config, [])
    finally:
        use_compute(duckdb=before)
    assert raised.value.exit_code == 2 and "as of 2024-06-30" in str(raised.value)


def test_other_snapshot_errors_are_not_retried(monkeypatch):
    from loyalist.errors import SchemaError

    limits = _failing_builds(monkeypatch, [SchemaError("Table 'orders' is required"), pd.DataFrame()])
    with pytest.raises(SchemaError, match="orders"):
        score_job._snapshot_within_memory({}, pd.Timestamp("2024-06-30"), LoyalistConfig(), [])
    assert len(limits) == 1
