"""The one place for DuckDB specifics: run a portable SQL text over in-memory tables.

The snapshot SQL (``features/sql/*.sql``) is written in standard SQL plus the few functions of :data:`FUNCTIONS`,
with named parameters written ``:name``. To run that same text on another engine (Spark SQL, say), define those
functions there (Spark: ``CREATE TEMPORARY FUNCTION``) and bind the parameters; nothing else in the text is
DuckDB-specific. Here each call opens a fresh in-memory DuckDB connection, defines the functions as macros (inlined,
so they cost nothing), registers the tables (pandas frames go through Arrow without copying their buffers; a :class:`ParquetView` is
scanned from its file as the query runs), rewrites
``:name`` to DuckDB's ``$name`` and returns the result as an Arrow table (:func:`run_sql`) or as record batches read
while the query runs (:func:`stream_sql`: the result never exists whole in Arrow).
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc

from loyalist.compute import duckdb_config

__all__ = ["FUNCTIONS", "SPARK_FUNCTIONS", "ParquetView", "frame_to_arrow", "inline_functions", "to_duckdb_sql", "run_sql",
           "stream_sql", "sql_to_arrow_file", "BATCH_ROWS"]

#: The non-standard functions the portable SQL may call: name -> (arguments, DuckDB body). Day counts are whole
#: days (floor of the difference), as columns.py defines them.
FUNCTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    # whole days from timestamp a to timestamp b (floor of the difference; b >= a in every use)
    "days_between": (("a", "b"), "CAST(floor((epoch_us(b) - epoch_us(a)) / 86400000000.0) AS BIGINT)"),
    # calendar days from DATE a to DATE b
    "day_diff": (("a", "b"), "date_diff('day', a, b)"),
    # hours (fractional) from timestamp a to timestamp b
    "hours_between": (("a", "b"), "(epoch_us(b) - epoch_us(a)) / 3600000000.0"),
    # a month counter: months of two dates differ by the number of calendar months between them
    "month_index": (("d",), "(EXTRACT(YEAR FROM d) * 12 + EXTRACT(MONTH FROM d))"),
}

#: The same functions for Spark SQL (same names, arguments and results; the Spark engine inlines them into the
#: text, as DuckDB inlines its macros). Spark reads ``1.0`` as a DECIMAL, so the divisions are written on DOUBLE
#: values to give the IEEE results DuckDB gives.
SPARK_FUNCTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "days_between": (
        ("a", "b"),
        "CAST(floor(CAST(unix_micros(CAST(b AS TIMESTAMP_LTZ)) - unix_micros(CAST(a AS TIMESTAMP_LTZ)) AS DOUBLE)"
        " / 86400000000.0D) AS BIGINT)",
    ),
    "day_diff": (("a", "b"), "datediff(b, a)"),
    "hours_between": (
        ("a", "b"),
        "CAST(unix_micros(CAST(b AS TIMESTAMP_LTZ)) - unix_micros(CAST(a AS TIMESTAMP_LTZ)) AS DOUBLE)"
        " / 3600000000.0D",
    ),
    "month_index": (("d",), "(year(d) * 12 + month(d))"),
}

_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def inline_functions(sql: str, functions: Mapping[str, tuple[tuple[str, ...], str]]) -> str:
    """Replace every call ``name(arg, ...)`` of ``functions`` in ``sql`` by its body with the arguments substituted
    (each argument parenthesised), innermost calls included. For engines without SQL macros (Spark SQL)."""
    names = "|".join(re.escape(n) for n in sorted(functions, key=len, reverse=True))
    call = re.compile(rf"(?<![\w.])({names})\s*\(", re.IGNORECASE)
    out = sql
    while (m := call.search(out)) is not None:
        start, i, depth, args, arg_start = m.start(), m.end(), 1, [], m.end()
        while depth:
            if i >= len(out):
                raise ValueError(f"Unbalanced parentheses in the call of {m.group(1)!r} in the SQL text.")
            ch = out[i]
            if ch == "'":
                i = out.index("'", i + 1)
            elif ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                if depth == 0:
                    args.append(out[arg_start:i])
            elif ch == "," and depth == 1:
                args.append(out[arg_start:i])
                arg_start = i + 1
            i += 1
        params, body = functions[m.group(1).lower()]
        if len(args) != len(params):
            raise ValueError(f"SQL function {m.group(1)!r} takes {len(params)} argument(s); got {len(args)}.")
        values = dict(zip(params, (f"({a.strip()})" for a in args), strict=True))
        expanded = re.sub(r"\b(" + "|".join(params) + r")\b", functools.partial(_argument, values), body)
        out = out[:start] + "(" + expanded + ")" + out[i:]
    return out


def _argument(values: dict[str, str], match: re.Match[str]) -> str:
    """The call's argument text for a parameter name matched in a macro body."""
    return values[match.group(1)]


def to_duckdb_sql(sql: str) -> str:
    """Rewrite the portable ``:name`` parameter markers to DuckDB's ``$name`` (``::`` casts are left alone)."""
    return _PARAM.sub(r"$\1", sql)


def frame_to_arrow(frame: pd.DataFrame, columns: Iterable[str]) -> pa.Table:
    """The given columns of ``frame`` as an Arrow table; numpy and Arrow-backed buffers are shared, not copied."""
    return pa.Table.from_pandas(frame[list(columns)], preserve_index=False)


@dataclass(frozen=True)
class ParquetView:
    """A table read straight from a Parquet file: ``SELECT <expression> AS <name>, ... FROM <the file>``.

    ``columns`` are (name, expression) pairs; each expression is portable SQL over the file's columns (casts,
    ``COALESCE``, constants). The engine adds the file scan (DuckDB: ``read_parquet``), which streams the file
    instead of holding it in memory.
    """

    path: Path
    columns: tuple[tuple[str, str], ...]

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.columns]


def _create_view(con: duckdb.DuckDBPyConnection, name: str, view: ParquetView) -> None:
    if not re.fullmatch(r"[A-Za-z_]\w*", name):
        raise ValueError(f"Table name {name!r} is not a plain SQL identifier.")
    path = str(Path(view.path)).replace("'", "''")
    select = ", ".join(f'{expression} AS "{column}"' for column, expression in view.columns)
    con.execute(f"CREATE TEMP VIEW {name} AS SELECT {select} FROM read_parquet('{path}')")


#: DuckDB optimizers switched off for the snapshot SQL. ``partitioned_execution`` (DuckDB 2) splits a large
#: aggregate into customer_id ranges from the Parquet statistics and runs one full scan of the file per range: the
#: range test is a filter after the scan, not a row-group skip. At 931,143 customers (34.7M presorted orders,
#: DuckDB 2.0.1, 1250MB limit) it read the orders three times for the customer aggregate and three times each for
#: the category and product groupings: the snapshot SQL cost 41.7 CPU s with it and 26.4 without, peaked at 1,697
#: vs 1,608 MB, and without it passes under 700MB where with it 800MB ran out of memory (snapscore, session 17).
DISABLED_OPTIMIZERS = ("partitioned_execution",)


def _connect(threads: int | None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:", config=duckdb_config(threads))
    known = {name for (name,) in con.execute("SELECT name FROM duckdb_optimizers()").fetchall()}
    disabled = [name for name in DISABLED_OPTIMIZERS if name in known]  # older DuckDB versions lack some
    if disabled:
        con.execute(f"SET disabled_optimizers = '{','.join(disabled)}'")
    con.execute(";\n".join(
        f"CREATE TEMP MACRO {name}({', '.join(args)}) AS {body}" for name, (args, body) in FUNCTIONS.items()
    ))
    return con


#: Rows per record batch of :func:`stream_sql`: one batch and its pandas conversion are a few MB (a 59-column
#: snapshot batch is ~28 MB), few enough batches that their overhead is noise.
BATCH_ROWS = 65_536


def _open(sql: str, tables: Mapping[str, pa.Table | ParquetView], params: Mapping[str, Any],
          threads: int | None) -> tuple[duckdb.DuckDBPyConnection, dict[str, Any]]:
    """A fresh connection with ``tables`` registered, and the parameters of ``sql`` to bind."""
    names = set(_PARAM.findall(sql))
    missing = sorted(names - set(params))
    if missing:
        raise ValueError(f"SQL parameters {missing} have no value; pass them in 'params'.")
    con = _connect(threads)
    try:
        for name, table in tables.items():
            if isinstance(table, ParquetView):
                _create_view(con, name, table)
            else:
                con.register(name, table)
    except BaseException:
        con.close()
        raise
    return con, {name: value for name, value in params.items() if name in names}


def run_sql(
    sql: str,
    tables: Mapping[str, pa.Table | ParquetView],
    params: Mapping[str, Any],
    *,
    threads: int | None = None,
) -> pa.Table:
    """Run the portable ``sql`` over ``tables`` (name -> Arrow table or :class:`ParquetView`) with ``params``
    bound to ``:name`` markers.

    A fresh in-memory connection is used and closed, so calls share no state; ``threads`` defaults to the
    configured DuckDB threads (:func:`loyalist.compute.use_compute`; every core when not set), which also bring
    the memory limit and the spill folder. Returns the result as one Arrow table.
    """
    con, bound = _open(sql, tables, params, threads)
    try:
        return con.sql(to_duckdb_sql(sql), params=bound).to_arrow_table()
    finally:
        con.close()


@contextlib.contextmanager
def stream_sql(
    sql: str,
    tables: Mapping[str, pa.Table | ParquetView],
    params: Mapping[str, Any],
    *,
    threads: int | None = None,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[pa.RecordBatchReader]:
    """:func:`run_sql` with the result read batch by batch: ``with stream_sql(...) as reader: for batch in
    reader: ...``. DuckDB produces each batch of ``batch_rows`` rows when it is read, so the caller can convert
    and drop it before the next one; the whole result is never held in Arrow. The connection closes when the
    block ends (an unread rest of the result is discarded).

    Under a memory limit, a streamed result does not end in an ``ORDER BY``: DuckDB's ordered streaming
    result cannot spill (20M orders under a 500MB limit: out of memory), so sort after reading.
    """
    con, bound = _open(sql, tables, params, threads)
    try:
        yield con.sql(to_duckdb_sql(sql), params=bound).to_arrow_reader(batch_rows)
    finally:
        con.close()


def sql_to_arrow_file(
    sql: str,
    tables: Mapping[str, pa.Table | ParquetView],
    params: Mapping[str, Any],
    path: str | Path,
    *,
    threads: int | None = None,
) -> int:
    """Run ``sql`` like :func:`run_sql` and write its result, batch by batch as DuckDB makes it, to the Arrow IPC
    file ``path`` (the exact Arrow buffers :func:`run_sql` would return, uncompressed); returns the row count.

    For a result too large to hold beside DuckDB's own working memory: the process holds one batch at a time, and
    the connection (with everything DuckDB built) is closed before the caller reads the file back column by
    column (``pyarrow.ipc.open_file`` with ``IpcReadOptions(included_fields=...)``).
    """
    rows = 0
    with stream_sql(sql, tables, params, threads=threads) as reader, ipc.new_file(str(path), reader.schema) as out:
        for batch in reader:
            out.write_batch(batch)
            rows += batch.num_rows
    return rows
