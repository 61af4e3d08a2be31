"""Shared pytest fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public data sets beside the checkout (``<repo>/../shared/data``); skips when absent."""
    path = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()
    if not path.is_dir():
        pytest.skip("../shared/data not found beside the checkout: the real-data tests need it (CI has it)")
    return path
