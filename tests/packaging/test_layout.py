"""The installed package stands alone: the CLI and the jobs live in ``loyalist``; nothing imports a top-level
``pipelines`` module (that folder holds scripts a team schedules, not a package)."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_CHILD = """
import importlib, importlib.util, pkgutil, sys
import loyalist.cli, loyalist.jobs
for info in pkgutil.iter_modules(loyalist.jobs.__path__):
    if info.name != "score_spark":  # needs the spark extra; imported below when present
        importlib.import_module("loyalist.jobs." + info.name)
if importlib.util.find_spec("pyspark") is not None:
    importlib.import_module("loyalist.jobs.score_spark")
print(sorted(m for m in sys.modules if m == "pipelines" or m.startswith("pipelines.")))
"""


def test_cli_and_jobs_import_no_top_level_pipelines(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-c", _CHILD], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_only_loyalist_is_packaged():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    find = project["tool"]["setuptools"]["packages"]["find"]
    assert find["where"] == ["src"] and find["include"] == ["loyalist*"]
    assert not (REPO / "pipelines" / "__init__.py").exists()
