"""``pip install .`` without the checkout: build the wheel from a copy of the sources, install it into a fresh
virtual environment outside the checkout, and run ``loyalist demo`` end to end from a temporary folder.

The wheel must carry every data file of the package (config defaults, presets, the demo config, the snapshot SQL,
the report templates and CSS) and no top-level ``pipelines`` module. pip installs the dependencies from the
machine's configured indexes / wheel cache, as in ``tests/tracking/test_tracking_fresh_env.py``. Slow: a few
minutes, mostly pip and the demo's training.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "src" / "loyalist"

# Runs in the fresh venv: where loyalist comes from, and whether a top-level 'pipelines' can be imported.
_WHERE = """
import importlib.util, json, loyalist
print(json.dumps({"loyalist": loyalist.__file__, "pipelines": importlib.util.find_spec("pipelines") is not None}))
"""


def _clean_env() -> dict[str, str]:
    """The test's environment without anything that would point the child at this checkout or its venv."""
    drop = ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(MLFLOW_DISABLE_TELEMETRY="true", MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK="true",
               PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONNOUSERSITE="1", OMP_WAIT_POLICY="passive", COLUMNS="120")
    return env


def _data_files() -> set[str]:
    """Every file of the package that is not Python source, as a path inside the wheel."""
    return {f"loyalist/{p.relative_to(PACKAGE).as_posix()}" for p in PACKAGE.rglob("*")
            if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}


def _copy_sources(dst: Path) -> Path:
    """What ``pip install .`` reads: pyproject.toml, README.md and src/ (no caches, no build leftovers)."""
    dst.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, dst / name)
    shutil.copytree(PACKAGE, dst / "src" / "loyalist", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dst


def _run(args: list[str], *, cwd: Path, timeout: int) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=_clean_env(), capture_output=True, text=True,
                          timeout=timeout)


def test_built_wheel_installs_outside_the_checkout_and_runs_the_demo(tmp_path):
    env_dir = tmp_path / "fresh-venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False, clear=True).create(env_dir)
    bindir = env_dir / ("Scripts" if sys.platform == "win32" else "bin")
    python = bindir / ("python.exe" if sys.platform == "win32" else "python")

    sources = _copy_sources(tmp_path / "sources")
    built = _run([python, "-m", "pip", "wheel", "-q", "--no-deps", "-w", tmp_path / "dist", sources],
                 cwd=tmp_path, timeout=900)
    assert built.returncode == 0, built.stderr[-3000:]
    wheel = next((tmp_path / "dist").glob("loyalist-*.whl"))

    names = set(zipfile.ZipFile(wheel).namelist())
    data = _data_files()
    assert {"loyalist/config/demo.yaml", "loyalist/report/templates/report.css"} <= data
    assert data - names == set(), "package data missing from the wheel"
    assert {n.split("/")[0] for n in names} == {"loyalist", wheel.name.split("-py3")[0] + ".dist-info"}, (
        sorted({n.split("/")[0] for n in names}))

    installed = _run([python, "-m", "pip", "install", "-q", wheel], cwd=tmp_path, timeout=1800)
    assert installed.returncode == 0, installed.stderr[-3000:]

    run_dir = tmp_path / "elsewhere"
    run_dir.mkdir()
    where = _run([python, "-c", _WHERE], cwd=run_dir, timeout=300)
    assert where.returncode == 0, where.stderr[-3000:]
    found = json.loads(where.stdout.strip().splitlines()[-1])
    assert Path(found["loyalist"]).is_relative_to(env_dir), found  # the installed copy, not the checkout
    assert found["pipelines"] is False

    demo = _run([bindir / "loyalist", "demo", "--workdir", "w", "--customers", "600", "--seed", "7", "--quiet"],
                cwd=run_dir, timeout=1800)
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-3000:]
    out = run_dir / "w" / "outputs" / "demo"
    risk = pd.read_parquet(out / "churn_risk.parquet")
    assert len(risk) > 100 and risk["churn_probability"].between(0, 1).all()
    assert (out / "churn_risk.csv").stat().st_size > 0
    assert json.loads((out / "churn_risk_summary.json").read_text(encoding="utf-8"))["customers"] == len(risk)
    css = (PACKAGE / "report" / "templates" / "report.css").read_text(encoding="utf-8").splitlines()[0]
    for lang in ("zh", "en"):
        html = (out / "report" / f"report_{lang}.html").read_text(encoding="utf-8")
        assert "<svg" in html and "</html>" in html and css in html  # charts, template and its CSS from the wheel
    assert (run_dir / "w" / "mlruns" / "mlflow.db").is_file()
