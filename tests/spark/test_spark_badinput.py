"""Bad input on the Spark engine: one sentence and exit code 2, and a failed job leaves the previous list intact."""

from __future__ import annotations

import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from loyalist.cli import app
from loyalist.errors import EngineError

pytestmark = pytest.mark.slow


def _score(clean, out, config, env, *extra):
    return CliRunner().invoke(app, ["score", "--engine", "spark", "--clean", str(clean), "--out", str(out),
                                    "--config", str(config), "--quiet", *extra], env=env)


def _one_sentence(result) -> str:
    assert result.exit_code == 2, result.output + repr(result.exception)
    lines = result.output.strip().splitlines()
    errors = [i for i, line in enumerate(lines) if line.startswith("Error: ")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    # Only warnings (e.g. the clean folder's stored config differs) may come before the one error sentence.
    assert all(line.startswith("Warning: ") for line in lines[: errors[0]]), result.output
    return "\n".join(lines[errors[0]:])


def test_missing_column_is_named(spark, demo, spark_config_file, tmp_path):
    workdir, env = demo
    clean = tmp_path / "clean"
    clean.mkdir()
    orders = pd.read_parquet(workdir / "data" / "demo" / "clean" / "orders.parquet").drop(columns=["amount"])
    orders.to_parquet(clean / "orders.parquet", index=False)
    message = _one_sentence(_score(clean, tmp_path / "out", spark_config_file, env, "--workdir", str(workdir)))
    assert "'amount'" in message and "orders" in message


def test_empty_orders_table(spark, demo, spark_config_file, tmp_path):
    workdir, env = demo
    clean = tmp_path / "clean"
    clean.mkdir()
    orders = pd.read_parquet(workdir / "data" / "demo" / "clean" / "orders.parquet").iloc[:0]
    orders.to_parquet(clean / "orders.parquet", index=False)
    message = _one_sentence(_score(clean, tmp_path / "out", spark_config_file, env, "--workdir", str(workdir)))
    assert "'orders' table has no rows" in message


def test_missing_clean_folder(spark, demo, spark_config_file, tmp_path):
    workdir, env = demo
    message = _one_sentence(_score(tmp_path / "nowhere", tmp_path / "out", spark_config_file, env,
                                   "--workdir", str(workdir)))
    assert "orders.parquet" in message


def test_unreachable_master(demo, tmp_path):
    workdir, env = demo
    config = tmp_path / "master.yaml"
    config.write_text("spark:\n  master: spark://127.0.0.1:9\n  connect_timeout_seconds: 2\n", encoding="utf-8")
    message = _one_sentence(_score(workdir / "data" / "demo" / "clean", tmp_path / "out", config, env,
                                   "--workdir", str(workdir)))
    assert "spark://127.0.0.1:9" in message and "cannot be reached" in message


def test_without_pyspark_the_error_says_how_to_install_it(monkeypatch):
    from loyalist.engines.spark import require_pyspark

    monkeypatch.setitem(sys.modules, "pyspark", None)
    with pytest.raises(EngineError, match=r"pip install 'loyalist\[spark\]'"):
        require_pyspark()


def test_a_failed_job_leaves_the_previous_list_intact(spark, demo, spark_config_file, tmp_path, monkeypatch):
    import loyalist.jobs.score_spark as job

    workdir, env = demo
    out = tmp_path / "out"
    previous = out / "churn_risk.parquet"
    previous.mkdir(parents=True)
    (previous / "part-00000-previous.parquet").write_bytes(b"the previous list")
    (out / "churn_risk.csv").write_text("customer_id\nC1\n", encoding="utf-8")

    def fail(*args, **kwargs):
        raise OSError("disk full while reading the list back")

    monkeypatch.setattr(job, "_read_back", fail)
    result = _score(workdir / "data" / "demo" / "clean", out, spark_config_file, env, "--workdir", str(workdir))
    assert result.exit_code != 0
    assert isinstance(result.exception, OSError)
    assert (previous / "part-00000-previous.parquet").read_bytes() == b"the previous list"
    assert (out / "churn_risk.csv").read_text(encoding="utf-8") == "customer_id\nC1\n"
    assert sorted(p.name for p in out.iterdir()) == ["churn_risk.csv", "churn_risk.parquet"]  # no temp folder left


def test_output_uris_survive_the_command_line():
    """typer hands --out/--clean over as a Path, which folds 'scheme://' to 'scheme:/'; the job gets the URI back
    (file:///x must not become file://x, a host named x)."""
    from pathlib import Path

    from loyalist.cli import _uri

    for uri in ("file:///tmp/scores", "s3a://bucket/scores", "hdfs://namenode:8020/lake/scores", "/tmp/scores"):
        assert _uri(Path(uri)) == uri
