"""One registered model version as loyalist sees it: :class:`ModelVersionInfo`.

Its own module so that both the registry (:mod:`loyalist.tracking.registry`, which makes them) and the loaded model
(:mod:`loyalist.tracking.pyfunc`, which carries one) import it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

__all__ = ["ModelVersionInfo"]


@dataclass(frozen=True)
class ModelVersionInfo:
    """One registered model version.

    Attributes
    ----------
    name, version : str, int
        Registered model name and version number.
    run_id : str
        The run that logged it.
    uri : str
        ``models:/<name>/<version>``.
    aliases : tuple of str
        Its aliases (``champion``, ``challenger``, ``previous``, ...).
    tags : dict
        Version tags (metric values, validation cut-off, ``loyalist.kind``, ...), as text.
    created : pandas.Timestamp or None
        Registration time (UTC).
    """

    name: str
    version: int
    run_id: str
    uri: str
    aliases: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    created: pd.Timestamp | None = None
