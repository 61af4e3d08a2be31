"""One Spark session (local[2], two shuffle partitions) for every Spark test, and the demo company scored by the
DuckDB job, which the Spark results are compared with."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed: pip install -e '.[test]' installs it")

if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("Java 17 is not installed: PySpark needs it (.ci/run installs openjdk-17-jre-headless)",
                allow_module_level=True)

from loyalist.cli import app  # noqa: E402

#: Spark settings of the tests: 2 cores, tiny shuffles, no UI.
SPARK_TEST_CONF = {"spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2", "spark.ui.enabled": "false",
                   "spark.driver.memory": "1g"}


@pytest.fixture(scope="session")
def spark():
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from loyalist.engines.spark import spark_session

    session = spark_session("local[2]", SPARK_TEST_CONF, app_name="loyalist-tests")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def spark_config_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("spark-config") / "spark.yaml"
    conf = "\n".join(f'    {k}: "{v}"' for k, v in SPARK_TEST_CONF.items())
    path.write_text(f"spark:\n  master: local[2]\n  conf:\n{conf}\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """``loyalist demo`` (900 customers): clean tables, champion models and the DuckDB churn-risk list."""
    workdir = tmp_path_factory.mktemp("spark-demo")
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{workdir}/mlruns/mlflow.db", "COLUMNS": "160"}
    result = CliRunner().invoke(app, ["demo", "--workdir", str(workdir), "--customers", "900", "--seed", "5"], env=env)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return workdir, env
