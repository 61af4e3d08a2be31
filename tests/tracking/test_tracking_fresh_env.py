"""A registered churn model loads and predicts in a fresh virtual environment built only from the model's own
``requirements.txt``: loyalist is not installed there; its code travels with the model (``code_paths``).

The fresh venv is a plain ``python -m venv`` (no system site-packages); pip installs the pinned requirements from the
machine's configured index / wheel cache. The test is slow (tens of seconds to a few minutes, mostly pip).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from loyalist.modeling.supervised.churn import ChurnModel
from loyalist.tracking import log_model, promote, run, setup_tracking

pytestmark = pytest.mark.slow

NAME = "loyalist-churn"
_EXPLAIN_CONFTEST = Path(__file__).resolve().parents[1] / "explain" / "conftest.py"

# Runs inside the fresh venv: loyalist must not be importable from site-packages; the model must load by alias
# and score the input example stored with it.
_CHILD = """\
import importlib.util, json, sys
import mlflow, pandas as pd
assert importlib.util.find_spec("loyalist") is None, "loyalist is installed in the fresh venv"
mlflow.set_tracking_uri(sys.argv[1])
model = mlflow.pyfunc.load_model("models:/{name}@champion")
local = mlflow.artifacts.download_artifacts("models:/{name}@champion", dst_path=sys.argv[2])
example = mlflow.models.Model.load(local).load_input_example(local)
out = model.predict(example)
print(json.dumps({{"columns": list(out.columns), "values": out.iloc[:, 0].tolist(),
                  "loyalist_from": sys.modules["loyalist"].__file__}}))
""".format(name=NAME)


def _make_snapshot():
    spec = importlib.util.spec_from_file_location("loyalist_explain_fixtures", _EXPLAIN_CONFTEST)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_snapshot, module.SMALL_LGBM


def _clean_env() -> dict[str, str]:
    """The test's environment without anything that would let the child find this checkout's loyalist."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(MLFLOW_DISABLE_TELEMETRY="true", PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONNOUSERSITE="1")
    return env


def test_champion_loads_and_predicts_in_a_fresh_venv_without_loyalist(tmp_path, isolated_mlflow):
    make_snapshot, small_lgbm = _make_snapshot()
    train = pd.concat([make_snapshot(400, "2023-03-31", 1), make_snapshot(400, "2023-06-30", 2)], ignore_index=True)
    valid = make_snapshot(400, "2023-09-30", 3)
    model = ChurnModel(params=small_lgbm, calibration="sigmoid", early_stopping_rounds=20, n_jobs=1).fit(train, valid)

    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    experiment_id = setup_tracking(uri, "loyalist-fresh-env", None)
    # the UI opens the experiment on its runs, not on the GenAI traces page
    assert mlflow.MlflowClient().get_experiment(experiment_id).tags["mlflow.experimentKind"] == "custom_model_development"
    with run("train") as handle:
        info = log_model(handle, model, registered_name=NAME, input_example=valid)
    promote(NAME, info.version)

    local = mlflow.pyfunc.load_model(f"models:/{NAME}@champion")
    model_dir = Path(mlflow.artifacts.download_artifacts(f"models:/{NAME}/{info.version}", dst_path=str(tmp_path)))
    requirements = (model_dir / "requirements.txt").read_text(encoding="utf-8")
    assert "loyalist" not in requirements, requirements
    assert (model_dir / "code" / "loyalist" / "modeling" / "supervised" / "churn.py").is_file()
    example = mlflow.models.Model.load(str(model_dir)).load_input_example(str(model_dir))
    assert len(example) == 5
    expected = local.predict(example)["churn_probability"].to_numpy()
    assert np.all((expected > 0) & (expected < 1))

    env_dir = tmp_path / "fresh-venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False, clear=True).create(env_dir)
    python = env_dir / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    env = _clean_env()
    pip = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "-r", str(model_dir / "requirements.txt")],
        capture_output=True, text=True, env=env, timeout=1500,
    )
    assert pip.returncode == 0, pip.stderr[-3000:]

    child = subprocess.run(
        [str(python), "-c", _CHILD, uri, str(tmp_path / "child-download")],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    result = json.loads(child.stdout.strip().splitlines()[-1])
    assert result["columns"] == ["churn_probability"]
    assert not result["loyalist_from"].startswith(str(Path(__file__).resolve().parents[2] / "src"))
    np.testing.assert_allclose(result["values"], expected, rtol=1e-6, atol=1e-9)
