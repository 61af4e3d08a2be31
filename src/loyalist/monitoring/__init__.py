"""Monitoring a model in use: drift between the training snapshot and a scoring snapshot (PSI).

- ``drift``: :func:`drift_reference`, :func:`psi_table`.

Names below are imported on first use (PEP 562), so importing a single module (e.g. when MLflow unpickles a model
in an environment without the training extras) does not import the others.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "AGE_FEATURES": "drift",
    "DriftReference": "drift",
    "drift_reference": "drift",
    "psi_table": "drift",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
