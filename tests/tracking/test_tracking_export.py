"""Export of a registered version to a self-contained folder, loadable after the store is gone."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from loyalist.errors import InputFileError, OutputError, RegistryError, StoreError
from loyalist.tracking import export_version, load, load_exported, log_model, offline_environment, promote, run

# Runs in a fresh interpreter: no tracking store, no test modules on the path, an empty working directory.
_SCORE_ELSEWHERE = """
import sys
import pandas as pd
from loyalist.tracking import load_exported
model = load_exported(sys.argv[1])
frame = pd.read_parquet(sys.argv[2])
model.predict(frame).to_parquet(sys.argv[3])
"""


def test_export_then_load_without_the_store(fresh_store, frames, churn_model_factory, tmp_path, monkeypatch):
    train, valid = frames
    name = "loyalist-churn"
    model = churn_model_factory()
    with run("train") as handle:
        info = log_model(handle, model, registered_name=name, input_example=train, tags={"roc_auc": 0.75})
    promote(name, info.version)
    expected = load(name).predict(valid)

    out_dir = tmp_path / "models"
    card = "# loyalist-churn v1\n\nChurn in the next 90 days. 中文说明。\n"
    path = export_version(name, info.version, out_dir, card=card)
    assert path == out_dir / name / "1"
    assert (path / "MODEL_CARD.md").read_text(encoding="utf-8") == card
    assert (path / "MLmodel").is_file()
    assert (path / "artifacts" / "model.pkl").is_file()
    requirements = (path / "requirements.txt").read_text(encoding="utf-8")
    assert "mlflow==" in requirements and "loyalist" not in requirements  # loyalist ships as code, not a pin
    assert (path / "code" / "loyalist" / "tracking" / "pyfunc.py").is_file()
    record = json.loads((path / "registry.json").read_text(encoding="utf-8"))
    assert (record["name"], record["version"], record["aliases"]) == (name, 1, ["champion"])
    assert record["tags"]["roc_auc"] == "0.75"
    assert sorted(p.name for p in (out_dir / name).iterdir()) == ["1"]  # no temporary folder left

    # exporting again replaces the folder; a missing version or a folder without a model is refused
    path = export_version(name, info.version, out_dir, card=card + "\nRe-exported.\n")
    assert (path / "MODEL_CARD.md").read_text(encoding="utf-8").endswith("Re-exported.\n")
    assert sorted(p.name for p in (out_dir / name).iterdir()) == ["1"]
    with pytest.raises(RegistryError, match="No version 9 of model 'loyalist-churn'"):
        export_version(name, 9, out_dir, card="x")
    assert not (out_dir / name / "9").exists()
    with pytest.raises(InputFileError, match="holds no 'MLmodel' file"):
        load_exported(out_dir)

    # atomic: a download that fails half-way leaves the previous export whole and no temporary folder
    def broken_download(artifact_uri, dst_path):
        Path(dst_path).mkdir(parents=True)
        (Path(dst_path) / "MLmodel").write_text("partial", encoding="utf-8")
        raise OSError("disk full")

    with monkeypatch.context() as mp:
        mp.setattr(mlflow.artifacts, "download_artifacts", broken_download)
        with pytest.raises(OSError, match="disk full"):
            export_version(name, info.version, out_dir, card="never written")
    assert (path / "MODEL_CARD.md").read_text(encoding="utf-8").endswith("Re-exported.\n")
    assert "partial" not in (path / "MLmodel").read_text(encoding="utf-8")
    assert sorted(p.name for p in (out_dir / name).iterdir()) == ["1"]

    # the store disappears: the export still loads, through loyalist and through plain MLflow
    shutil.rmtree(fresh_store["mlruns"])
    loaded = load_exported(path)
    assert (loaded.info.name, loaded.info.version, loaded.info.run_id) == (name, 1, info.run_id)
    got = loaded.predict(valid)
    assert list(got.columns) == ["churn_probability"]
    np.testing.assert_allclose(got["churn_probability"].to_numpy(), expected["churn_probability"].to_numpy())
    plain = mlflow.pyfunc.load_model(str(path)).predict(valid[loaded.feature_names].astype("float64"))
    np.testing.assert_allclose(plain["churn_probability"].to_numpy(), expected["churn_probability"].to_numpy())


@pytest.mark.slow
def test_exported_model_scores_in_another_process_without_the_store(fresh_store, frames, churn_model_factory,
                                                                   tmp_path):
    train, valid = frames
    with run("train") as handle:
        info = log_model(handle, churn_model_factory(), registered_name="loyalist-churn", input_example=train)
    expected = load("loyalist-churn", alias="challenger").predict(valid)
    path = export_version("loyalist-churn", info.version, tmp_path / "models", card="card")
    shutil.rmtree(fresh_store["mlruns"])

    # another process, elsewhere, with no store: the model class travelled inside the pickle
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    valid.to_parquet(tmp_path / "valid.parquet")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_") and k != "PYTHONPATH"}
    env.update(offline_environment())
    done = subprocess.run(
        [sys.executable, "-c", _SCORE_ELSEWHERE, str(path), str(tmp_path / "valid.parquet"),
         str(tmp_path / "scored.parquet")],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    scored = pd.read_parquet(tmp_path / "scored.parquet")
    np.testing.assert_allclose(scored["churn_probability"].to_numpy(), expected["churn_probability"].to_numpy())
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("code, error, words", [
    (errno.ENOSPC, OutputError, "the disk is full"),
    (errno.EROFS, OutputError, "the file system is read-only"),
    (errno.ENOENT, StoreError, "cannot be read from models:/loyalist-churn/1"),
])
def test_a_failed_download_is_one_sentence_naming_the_side_at_fault(fresh_store, frames, churn_model_factory,
                                                                    tmp_path, monkeypatch, code, error, words):
    """MLflow folds each file's OSError into one MlflowException of many lines (bad-input case fs-full-out-export
    printed it raw): a full or read-only --out folder is an OutputError, a store that cannot be read a StoreError."""
    from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository

    train, _ = frames
    with run("train") as handle:
        info = log_model(handle, churn_model_factory(), registered_name="loyalist-churn", input_example=train)

    def failing(self, remote_file_path, local_path):
        raise OSError(code, os.strerror(code), local_path)

    monkeypatch.setattr(LocalArtifactRepository, "_download_file", failing)
    out_dir = tmp_path / "models"
    with pytest.raises(error, match=words) as caught:
        export_version("loyalist-churn", info.version, out_dir, card="card")
    assert "\n" not in str(caught.value) and "#####" not in str(caught.value)
    assert list((out_dir / "loyalist-churn").iterdir()) == []  # no staging folder left
