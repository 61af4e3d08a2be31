"""Two ``loyalist train`` at once on a fresh store: both succeed, the store is not bricked by MLflow's migrations,
exactly one champion, decided by the gate (ten pairs: ``python benchmarks/bench_concurrent_train.py``)."""

from __future__ import annotations

import pytest

from concurrent_train import CONFIG, check_pair, run_pair, write_clean_data

pytestmark = pytest.mark.slow

PAIRS = 2  # keeps CI time reasonable; the benchmark runs ten


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return write_clean_data(tmp_path_factory.mktemp("clean") / "clean")


@pytest.mark.parametrize("pair", range(PAIRS))
def test_two_concurrent_trainings_on_a_fresh_store(clean, tmp_path, pair):
    config = tmp_path / "fast.yaml"
    config.write_text(CONFIG)
    workdir = tmp_path / "project"
    workdir.mkdir()
    done = run_pair(clean, workdir, config)
    assert check_pair(workdir, done) == []
