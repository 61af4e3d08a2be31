"""Scores and SHAP contributions computed in row chunks on two threads equal one call on the whole snapshot
(issue 14 §2): the parallel scoring job changes how fast, never what."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

import loyalist.batch.scoring as scoring
import loyalist.explain.contributions as contributions
from loyalist.compute import lgbm_threads
from loyalist.explain import explain, in_chunks


@pytest.fixture()
def small_chunks(monkeypatch):
    monkeypatch.setattr(contributions, "CHUNK_ROWS", 40)
    monkeypatch.setattr(scoring, "CHUNK_ROWS", 40)


@dataclass
class _Scorer:
    model: object
    version: str = "1"

    def score(self, snapshot: pd.DataFrame) -> np.ndarray:
        return self.model.score(snapshot)


def test_in_chunks_keeps_row_order_and_covers_every_row():
    frame = pd.DataFrame({"x": np.arange(1003)})
    parts = in_chunks(lambda f: f["x"].to_numpy(), frame, 2, chunk_rows=100)
    assert len(parts) == 11
    np.testing.assert_array_equal(np.concatenate(parts), np.arange(1003))
    assert len(in_chunks(lambda f: f, frame, 1, chunk_rows=100)) == 1  # one thread: one call
    assert len(in_chunks(lambda f: f, frame, 2, chunk_rows=600)) == 1  # smaller than two chunks: one call


@pytest.mark.parametrize("model_name", ["churn_model", "offset_model"])
def test_chunked_scores_and_contributions_equal_the_whole_frame_call(small_chunks, request, snapshots, model_name):
    model = request.getfixturevalue(model_name)
    snap = snapshots["score"]
    whole = model.score(snap)
    chunked = scoring._predict(_Scorer(model), snap, 2)
    np.testing.assert_array_equal(chunked, whole)
    assert model.booster_.get_params()["n_jobs"] == lgbm_threads(2)  # restored to the job's thread count after the chunks
    rows = snap.index[::2]
    one = explain(model, snap, rows=rows)
    two = explain(model, snap, rows=rows, threads=2)
    pd.testing.assert_frame_equal(two, one, check_exact=True)
    assert list(two.index) == list(rows)
