"""The compute block reaches the engines: DuckDB connections get the configured threads, memory limit and spill
folder; LightGBM fits and predictions get the configured thread count (issue 14)."""

from __future__ import annotations

import os

import pyarrow as pa
import pytest
from pydantic import ValidationError

from loyalist.compute import DuckdbSettings, duckdb_config, duckdb_settings, lgbm_threads, use_compute
from loyalist.config import LoyalistConfig
from loyalist.features.engine import run_sql
from loyalist.jobs._common import apply_compute

CORES = os.cpu_count() or 1


@pytest.fixture(autouse=True)
def _reset():
    yield
    use_compute()


def test_defaults_are_two_threads_at_most_and_duckdb_own_memory():
    c = LoyalistConfig().compute
    assert (c.lgbm_threads, c.duckdb_threads, c.duckdb_memory_limit, c.duckdb_temp_directory) == \
        ("auto", "auto", None, None)
    assert lgbm_threads(c.lgbm_threads) == min(2, CORES)
    assert lgbm_threads(None) == min(2, CORES)
    assert lgbm_threads(1) == 1
    assert 1 <= lgbm_threads("free") <= min(2, CORES)


@pytest.mark.parametrize("block, key", [
    ({"lgbm_threads": 0}, "lgbm_threads"), ({"lgbm_threads": True}, "lgbm_threads"),
    ({"lgbm_threads": "many"}, "lgbm_threads"), ({"duckdb_threads": "free"}, "duckdb_threads"),
    ({"duckdb_memory_limit": "a lot"}, "duckdb_memory_limit"), ({"duckdb_memory_limit": "1MB"}, "duckdb_memory_limit"),
    ({"threads": 2}, "threads"), ({"blas_threads": 0}, "blas_threads"), ({"blas_threads": "free"}, "blas_threads"),
])
def test_bad_compute_values_are_refused_naming_the_key(block, key):
    with pytest.raises(ValidationError, match=key):
        LoyalistConfig.model_validate({"compute": block})


def _settings() -> dict:
    out = run_sql("SELECT current_setting('threads') AS threads, current_setting('memory_limit') AS memory_limit, "
                  "current_setting('temp_directory') AS temp_directory FROM t", {"t": pa.table({"x": [1]})}, {})
    return out.to_pylist()[0]


def test_config_reaches_every_duckdb_connection(tmp_path):
    config = LoyalistConfig.model_validate({"compute": {"duckdb_threads": 1, "duckdb_memory_limit": "300MB",
                                                        "duckdb_temp_directory": str(tmp_path / "spill")}})
    apply_compute(config)
    assert duckdb_settings() == DuckdbSettings(1, "300MB", str(tmp_path / "spill"))
    got = _settings()
    assert int(got["threads"]) == 1
    assert got["memory_limit"].replace(" ", "") in ("286.1MiB", "300.0MB", "286MiB")  # DuckDB prints it its way
    assert got["temp_directory"] == str(tmp_path / "spill")
    assert duckdb_config(threads=3)["threads"] == 3  # an explicit count wins
    use_compute()
    assert int(_settings()["threads"]) == CORES


def test_lgbm_threads_reach_the_fit_and_the_predictions():
    from loyalist.config import CleaningConfig
    from loyalist.data.clean import clean_tables
    from loyalist.data.synthetic import generate
    from loyalist.modeling.supervised.training import train_churn

    data = generate(n_customers=300, start="2022-01-01", end="2024-06-30", seed=3, dirty=False)
    tables = clean_tables(data.tables(), CleaningConfig()).tables
    config = LoyalistConfig.model_validate({"compute": {"lgbm_threads": 1},
                                            "training": {"lgbm_params": {"n_estimators": 20}}})
    model = train_churn(tables, config).model
    assert model.booster_.get_params()["n_jobs"] == 1
    assert model.booster_.booster_.params.get("num_threads") == 1
    model.set_threads(2)
    assert model.booster_.get_params()["n_jobs"] == 2
    assert model._lgbm_params()["n_jobs"] == min(2, CORES)


def _blas_threads() -> set[int]:
    from threadpoolctl import threadpool_info

    return {int(info["num_threads"]) for info in threadpool_info() if info["user_api"] == "blas"}


def test_blas_threads_default_to_one_and_auto_leaves_the_library_count():
    from threadpoolctl import ThreadpoolController

    import numpy as np  # noqa: F401 - loads numpy's BLAS, whose pool the setting limits
    from loyalist.compute import limit_blas_threads

    assert LoyalistConfig().compute.blas_threads == 1
    controller = ThreadpoolController()
    two = min(2, CORES)
    controller.limit(limits=two, user_api="blas")
    assert _blas_threads() == {two}
    apply_compute(LoyalistConfig())
    assert _blas_threads() == {1}
    with pytest.raises(ValueError, match="BLAS threads"):
        limit_blas_threads(0)
    controller.limit(limits=two, user_api="blas")
    apply_compute(LoyalistConfig.model_validate({"compute": {"blas_threads": "auto"}}))
    assert _blas_threads() == {two}
    apply_compute(LoyalistConfig())  # leave the process as every job leaves it


@pytest.mark.parametrize("scoring, compute, used", [
    ("300MB", None, "300MB"), ("1GB", "200MB", "200MB"), ("200MB", "1GB", "200MB"), (None, "300MB", "300MB"),
    (None, None, None)])
def test_the_scoring_job_limits_duckdb_while_it_scores_then_restores(scoring, compute, used):
    """scoring_job.duckdb_memory_limit (issue 14: the 1M-customer job's peak was DuckDB's working set): the smaller
    of it and compute.duckdb_memory_limit holds while the job scores; the compute settings come back after."""
    from loyalist.jobs.score import _duckdb_memory

    config = LoyalistConfig.model_validate({"compute": {"duckdb_memory_limit": compute, "duckdb_threads": 1},
                                            "scoring_job": {"duckdb_memory_limit": scoring}})
    apply_compute(config)
    before = duckdb_settings()
    with _duckdb_memory(config):
        assert duckdb_settings() == DuckdbSettings(1, used, None)
        if used is not None:
            got = _settings()["memory_limit"].replace(" ", "")
            assert got in {"300MB": ("286.1MiB", "300.0MB", "286MiB"), "200MB": ("190.7MiB", "200.0MB", "190MiB")}[used]
    assert duckdb_settings() == before


def test_the_scoring_memory_limit_is_checked_and_defaults_to_1250mb():
    assert LoyalistConfig().scoring_job.duckdb_memory_limit == "1250MB"
    with pytest.raises(ValidationError, match="duckdb_memory_limit"):
        LoyalistConfig.model_validate({"scoring_job": {"duckdb_memory_limit": "1MB"}})
