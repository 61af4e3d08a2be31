"""Structural validation of the raw tables, before cleaning.

Only the structure is checked here (which tables, which columns); value problems (bad dates, non-numeric
amounts, ...) are not errors: cleaning turns them into rejects.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from loyalist.data.schemas import SCHEMAS, TABLE_NAMES
from loyalist.errors import SchemaError

__all__ = ["validate_tables"]


def validate_tables(raw: Mapping[str, pd.DataFrame]) -> None:
    """Check that the tables can be cleaned; report ALL problems in one :class:`SchemaError`.

    Parameters
    ----------
    raw : mapping of str to DataFrame
        Canonical table name -> frame with canonical column names (as :func:`loyalist.data.load.read_source`
        returns them; ``df.attrs['source']`` and ``df.attrs['file_columns']`` improve the message).

    Checks: ``orders`` is present; every table name is canonical; each table has its required canonical
    columns (``SCHEMAS[table].required``). Extra columns are allowed (cleaning drops them).

    Raises
    ------
    SchemaError
        Naming each table, missing column, source file, the columns that are there, and the mapping to fix.
    """
    problems: list[str] = []
    if "orders" not in raw:
        problems.append(
            f"the 'orders' table is missing (got tables {sorted(raw)}); configure data.orders with a path or sql"
        )
    for table, df in raw.items():
        if table not in SCHEMAS:
            problems.append(f"table {table!r} is not a canonical table; expected one of {list(TABLE_NAMES)}")
            continue
        if not isinstance(df, pd.DataFrame):
            problems.append(f"table {table!r} must be a pandas DataFrame, got {type(df).__name__}")
            continue
        present = [str(c) for c in df.columns]
        missing = [c for c in SCHEMAS[table].required if c not in present]
        if not missing:
            continue
        source = df.attrs.get("source", "<in-memory frame>")
        there = df.attrs.get("file_columns", present)
        cols = ", ".join(repr(c) for c in missing)
        hint = f"map it in data.{table}.columns"
        key = SCHEMAS[table].key
        if key and key[0] in missing:
            hint += f" (or set data.{table}.synthesize_key: true to number the rows when there is no {key[0]!r})"
        problems.append(
            f"table {table!r} (from '{source}') lacks the required column{'s' if len(missing) > 1 else ''} {cols}; "
            f"the columns there are {list(there)}; {hint}"
        )
    if problems:
        raise SchemaError("Invalid input tables: " + "; ".join(problems) + ".")
