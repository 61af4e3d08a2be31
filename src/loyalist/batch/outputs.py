"""Privacy for every output table: mask personal columns, optionally pseudonymise customer ids."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from loyalist.config.models import PrivacyConfig
from loyalist.data.privacy import mask_frame, pseudonymize
from loyalist.data.schemas import PII_COLUMNS
from loyalist.errors import ConfigError

__all__ = ["pseudonym_key", "protect"]


def pseudonym_key(privacy: PrivacyConfig, environ: Mapping[str, str]) -> bytes | None:
    """The pseudonymisation key from the environment variable named in config (``None`` when not enabled).

    The key never appears in config, logs or outputs: only the variable's name does.
    """
    if not privacy.pseudonymize_ids:
        return None
    value = environ.get(privacy.key_env)
    if not value:
        raise ConfigError(
            f"privacy.pseudonymize_ids is on but the environment variable {privacy.key_env!r} is not set; "
            f"export a secret of at least 16 characters in {privacy.key_env}, or turn pseudonymisation off."
        )
    return value.encode("utf-8")


def protect(df: pd.DataFrame, privacy: PrivacyConfig, key: bytes | None) -> pd.DataFrame:
    """Mask the configured PII columns (and every known PII column) present in ``df``; replace ``customer_id`` by
    its keyed pseudonym when a key is given. Returns a new frame."""
    columns = [c for c in dict.fromkeys([*privacy.mask_columns, *PII_COLUMNS]) if c in df.columns]
    out = mask_frame(df, columns) if columns else df.copy(deep=False)  # copy-on-write: nothing copied until changed
    if key is not None and "customer_id" in out.columns:
        out = out.assign(customer_id=pseudonymize(out["customer_id"], key))
    return out
