"""Names a package exports, imported on first use (PEP 562).

A sub-package's ``__init__`` lists ``{name: module}`` and binds the two hooks this returns, so importing one module
of the package (e.g. when MLflow unpickles a model in an environment without the training extras) does not import
the others::

    __getattr__, __dir__ = lazy_exports(__name__, {"BetaGeoModel": "models", ...})
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` of ``package`` for ``exports`` (name -> sub-module)."""

    def __getattr__(name: str) -> Any:
        if name in exports:
            return getattr(importlib.import_module(f"{package}.{exports[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
