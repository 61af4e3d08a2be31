"""Clean tables left on disk: :class:`ParquetTable`, and :func:`as_frame` to read either kind into pandas.

A scoring job over tens of millions of orders does not need the orders in pandas: the snapshot SQL reads the clean
Parquet file directly (DuckDB streams it, see :func:`loyalist.features.snapshot.build_snapshot`), the data period
comes from the file's row-group statistics and the input fingerprint from the file itself. A ``ParquetTable`` is
that handle: a path and a table name, with the few DataFrame-like facts the jobs ask of a table (``columns``,
``len``, ``empty``) and :meth:`ParquetTable.read` for the code that does need pandas.

:func:`loyalist.data.prepare.read_clean` returns them for the tables named in its ``lazy`` argument.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from loyalist.data.schemas import SCHEMAS
from loyalist.data.sequence import SEQUENCE_COLUMNS, sequence_marker
from loyalist.errors import InputFileError, SchemaError
from loyalist.schema import require_columns

__all__ = ["ParquetTable", "as_frame", "restore_dtypes", "file_fingerprint"]

_TARGET = {"string": "string", "datetime": "datetime64[ns]", "float": "float64", "bool": "boolean"}


def restore_dtypes(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """The schema dtypes of clean table ``name`` (Parquet keeps most, not pandas ``string`` or ``boolean``)."""
    schema = SCHEMAS["orders" if name == "order_lines" else name]
    kinds = {c: schema.dtypes.get(c, "bool" if c == "amount_flagged" else "string") for c in df.columns}
    return df.astype({c: _TARGET[k] for c, k in kinds.items()})


@dataclass(frozen=True)
class ParquetTable:
    """A clean table stored as one Parquet file, read only when (and as far as) a job needs it.

    Parameters
    ----------
    path : Path
        The Parquet file written by :func:`loyalist.data.prepare.write_clean`.
    name : str
        The canonical table name (``orders``, ``order_lines``, ``customers``, ``tickets``, ``surveys``); it selects
        the dtypes :meth:`read` restores.
    """

    path: Path
    name: str
    _meta: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))
        if self.name not in SCHEMAS and self.name != "order_lines":
            raise SchemaError(f"Unknown table name {self.name!r}; expected one of {sorted([*SCHEMAS, 'order_lines'])}.")
        if not self.path.is_file():
            raise InputFileError(f"Parquet file '{self.path}' of table '{self.name}' does not exist.")

    def _file(self) -> pq.ParquetFile:
        if "file" not in self._meta:
            try:
                self._meta["file"] = pq.ParquetFile(self.path)
            except (OSError, pa.ArrowInvalid) as exc:
                raise InputFileError(
                    f"File '{self.path}' (table '{self.name}') is not a readable Parquet file ({exc}); "
                    "write it again with 'loyalist prepare'."
                ) from exc
        return self._meta["file"]

    @property
    def schema(self) -> pa.Schema:
        """The Arrow schema of the table (pandas index columns left out, and an orders file's sequence columns:
        see :attr:`sequenced`)."""
        schema = self.file_schema
        hidden = SEQUENCE_COLUMNS if self.name == "orders" else ()
        return pa.schema([f for f in schema if f.name not in hidden])

    @property
    def file_schema(self) -> pa.Schema:
        """The Arrow schema of the file itself (pandas index columns left out)."""
        schema = self._file().schema_arrow
        return pa.schema([f for f in schema if not f.name.startswith("__index")])

    @property
    def sequenced(self) -> bool:
        """An orders file that carries, for its current content, each completed order's previous and first order
        (``prev_date``, ``customer_first_date``, sorted by customer and date: :mod:`loyalist.data.sequence`, what
        ``loyalist prepare`` writes); the snapshot then reads them instead of recomputing them. These columns are
        not among :attr:`columns` (they are the file's index, not the table's), whatever the file."""
        if "sequenced" not in self._meta:
            self._meta["sequenced"] = self.name == "orders" and sequence_marker(self._file()) is not None
        return bool(self._meta["sequenced"])

    @property
    def columns(self) -> list[str]:
        return list(self.schema.names)

    @property
    def num_rows(self) -> int:
        return int(self._file().metadata.num_rows)

    def __len__(self) -> int:
        return self.num_rows

    @property
    def empty(self) -> bool:
        return self.num_rows == 0

    def __contains__(self, column: object) -> bool:
        return column in self.columns

    def read(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The table (or these columns of it) as pandas with the schema dtypes, read column by column."""
        from loyalist.io import read_parquet

        if columns is not None:
            require_columns(self.columns, columns, what=f"Table '{self.name}' ('{self.path}')",
                            fix="read only columns the file has, or write it again with loyalist prepare")
        return restore_dtypes(read_parquet(self.path, columns=list(columns) if columns is not None else self.columns),
                              self.name)

    def column_range(self, column: str) -> tuple[Any, Any]:
        """(min, max) of a column over its non-null values, from the row-group statistics when every row group
        has them (no data read), else by reading that column; (None, None) when it has no non-null value."""
        if column not in self.columns:
            raise SchemaError(f"Table '{self.name}' ('{self.path}') has no column {column!r}; got {self.columns}.")
        meta = self._file().metadata
        index = self._file().schema_arrow.get_field_index(column)
        leaf = [i for i in range(meta.num_columns) if meta.schema.column(i).path.split(".")[0] == column]
        lows, highs, ok = [], [], bool(leaf)
        if ok:
            for g in range(meta.num_row_groups):
                col = meta.row_group(g).column(leaf[0])
                stats = col.statistics
                if col.num_values == 0 or (stats is not None and stats.null_count == col.num_values):
                    continue  # an all-null row group adds nothing
                if stats is None or not stats.has_min_max:
                    ok = False
                    break
                lows.append(stats.min)
                highs.append(stats.max)
        if ok:
            if not lows:
                return None, None
            kind = self._file().schema_arrow.field(index).type
            if pa.types.is_timestamp(kind):
                return pd.Timestamp(min(lows)), pd.Timestamp(max(highs))
            return min(lows), max(highs)
        import pyarrow.compute as pc

        values = pq.read_table(self.path, columns=[column]).column(0)
        bounds = pc.min_max(values).as_py()
        lo, hi = bounds["min"], bounds["max"]
        if pa.types.is_timestamp(values.type) and lo is not None:
            return pd.Timestamp(lo), pd.Timestamp(hi)
        return lo, hi


def as_frame(table: pd.DataFrame | ParquetTable | None, columns: Sequence[str] | None = None) -> pd.DataFrame | None:
    """A DataFrame for a table of either kind (a ParquetTable is read; ``columns`` limits what is read)."""
    if table is None or isinstance(table, pd.DataFrame):
        return table if table is None or columns is None else table.loc[:, list(columns)]
    if isinstance(table, ParquetTable):
        return table.read(columns)
    raise SchemaError(f"A table must be a pandas DataFrame or a ParquetTable; got {type(table).__name__}.")


def file_fingerprint(table: ParquetTable, *, threads: int | None = None) -> dict[str, Any]:
    """What a run saw of a table on disk: rows, columns, distinct customers and the SHA-256 of the file's bytes.

    The counterpart of :func:`loyalist.tracking.data_fingerprint` for a table that is never loaded into pandas:
    the same ``rows``, ``columns`` and ``customers`` keys; ``sha256`` (first 16 hex digits) hashes the file, so a
    rewritten file with the same rows may get a new value; ``source`` is ``'file'``. ``threads`` limits DuckDB's
    threads for the customer count (default: the configured DuckDB threads, see :mod:`loyalist.compute`).
    """
    digest = hashlib.sha256()
    with open(table.path, "rb") as fh:
        while chunk := fh.read(1 << 24):
            digest.update(chunk)
    out: dict[str, Any] = {"rows": table.num_rows, "columns": len(table.columns)}
    if "customer_id" in table.columns:
        import duckdb

        from loyalist.compute import duckdb_config

        con = duckdb.connect(":memory:", config=duckdb_config(threads))
        try:
            row = con.execute(
                "SELECT count(DISTINCT customer_id) FROM read_parquet(?)", [str(table.path)]
            ).fetchone()
            out["customers"] = int(row[0]) if row is not None else 0
        finally:
            con.close()
    out["sha256"] = digest.hexdigest()[:16]
    out["source"] = "file"
    return out
