"""Monitoring a model in use: drift between the training snapshot and a scoring snapshot (PSI).

- ``drift``: :func:`drift_reference`, :func:`psi_table`.

Names below are imported on first use (PEP 562), so importing a single module (e.g. when MLflow unpickles a model
in an environment without the training extras) does not import the others.
"""

from __future__ import annotations

from loyalist._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "AGE_FEATURES": "drift",
    "DriftReference": "drift",
    "drift_reference": "drift",
    "psi_table": "drift",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
