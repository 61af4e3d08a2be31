"""Shared pytest fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

# Property tests check values, not speed: hypothesis' 200 ms deadline per example failed
# tests/scoring/test_scaling.py once at load ~20 on this shared 2-core machine (scorecpu, session 16) while the same
# examples pass alone. No deadline; the number of examples stays hypothesis' default.
settings.register_profile("loyalist", deadline=None)
settings.load_profile("loyalist")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public data sets beside the checkout (``<repo>/../shared/data``); skips when absent."""
    path = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()
    if not path.is_dir():
        pytest.skip("../shared/data not found beside the checkout: the real-data tests need it (CI has it)")
    return path
