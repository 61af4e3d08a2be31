"""Privacy for every output table: mask personal columns, optionally pseudonymise customer ids."""

from __future__ import annotations

from collections.abc import Collection, Mapping

import pandas as pd

from loyalist.config.models import PrivacyConfig
from loyalist.data.privacy import mask_frame, pseudonymize
from loyalist.data.schemas import PII_COLUMNS
from loyalist.errors import ConfigError

__all__ = ["pseudonym_key", "protect", "protected_columns"]


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


def protected_columns(privacy: PrivacyConfig) -> list[str]:
    """The columns :func:`protect` masks when present: the configured ones and every known PII column."""
    return list(dict.fromkeys([*privacy.mask_columns, *PII_COLUMNS]))


def protect(df: pd.DataFrame, privacy: PrivacyConfig, key: bytes | None, *,
            masked: Collection[str] = ()) -> pd.DataFrame:
    """Mask the configured PII columns (and every known PII column) present in ``df``; replace ``customer_id`` by
    its keyed pseudonym when a key is given. Returns a new frame.

    ``masked``: columns of ``df`` already masked by :func:`loyalist.data.privacy.mask_values` (e.g. the scoring job's
    names, masked while its models predict): left as they are, not masked twice."""
    columns = [c for c in protected_columns(privacy) if c in df.columns and c not in masked]
    out = mask_frame(df, columns) if columns else df.copy(deep=False)  # copy-on-write: nothing copied until changed
    if key is not None and "customer_id" in out.columns:
        out = out.assign(customer_id=pseudonymize(out["customer_id"], key))
    return out
