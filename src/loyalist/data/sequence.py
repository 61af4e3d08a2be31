"""The clean orders file as ``loyalist prepare`` writes it: sorted by customer and date, with each order's sequence.

Every snapshot needs, for each completed order, the customer's previous completed order and first completed order
(``prev_date``, ``customer_first_date``: the SQL's ``LAG`` and ``MIN`` windows over the orders, about half of a
streamed snapshot's DuckDB time). Both are dated <= the order itself, so they are the same at every cut-off: they
are computed once here, when the clean orders are written, and a snapshot over the file
(:func:`loyalist.features.snapshot.build_snapshot` on a :class:`~loyalist.data.tables.ParquetTable`) reads them
instead of recomputing them (``snapshot.sql``'s ``presequenced`` switch), and aggregates customer-sorted rows.

The file says it carries them with a key-value marker in its Parquet footer (:data:`SEQUENCE_KEY`: JSON with the
version and the row count); :func:`sequence_marker` accepts a file only when the marker is of this version, its
row count is the file's, the file was written by DuckDB (writers that carry the footer's key-value pairs over when
they rewrite a file, like pyarrow after a filter or an edit, are not accepted: the columns may no longer be the
file's) and both columns are there with order_date's type. Any other file (hand-made, written by an older
version, rewritten since) keeps the window path; the result is the same either way, only slower.

Definition (exactly :func:`loyalist.features.snapshot._with_sequence`'s): on a completed order (status
'completed'; every order when the file has no status) with a date, ``prev_date`` is the date of the customer's
previous such order by order_date (NULL on the first) and ``customer_first_date`` the date of the first; both
NULL on every other row (returned, cancelled, no status, no date). Orders of one customer on the same instant get
one another as previous order in some order; every snapshot column built from them is the same either way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["SEQUENCE_KEY", "SEQUENCE_VERSION", "SEQUENCE_COLUMNS", "write_sequenced_orders", "sequence_marker"]

#: Key of the Parquet key-value metadata that marks a sequenced orders file.
SEQUENCE_KEY = "loyalist.sequence"
#: Version of the definition above; a file marked with another version takes the window path.
SEQUENCE_VERSION = 1
#: The columns a sequenced orders file adds after the clean table's own.
SEQUENCE_COLUMNS: tuple[str, ...] = ("prev_date", "customer_first_date")

#: Rows per Parquet row group of the sequenced file (DuckDB's default; a writer buffer of ~one group).
ROW_GROUP_ROWS = 122_880


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def write_sequenced_orders(source: Path, target: Path) -> int:
    """Write the orders Parquet file ``source`` to ``target`` sorted by (customer_id, order_date), undated orders
    last, with :data:`SEQUENCE_COLUMNS` appended and the marker set; returns the number of rows.

    DuckDB does the window and the sort with the configured threads, memory limit and spill folder
    (:func:`loyalist.compute.duckdb_config`), so tens of millions of orders are sorted within the memory limit
    (spilling beyond it), never in pandas. Columns of ``source`` named like :data:`SEQUENCE_COLUMNS` are replaced.
    """
    import duckdb

    from loyalist.compute import duckdb_config

    source, target = Path(source), Path(target)
    names = [n for n in pq.ParquetFile(source).schema_arrow.names if not n.startswith("__index")]
    rows = int(pq.ParquetFile(source).metadata.num_rows)
    missing = [c for c in ("customer_id", "order_date") if c not in names]
    if missing:
        raise ValueError(f"Orders file '{source}' has no column(s) {missing}; it cannot be sequenced.")
    keep = ", ".join(_quote_identifier(n) for n in names if n not in SEQUENCE_COLUMNS)
    completed = "CAST(status AS VARCHAR) = 'completed'" if "status" in names else "TRUE"
    marker = json.dumps({"version": SEQUENCE_VERSION, "rows": rows, "columns": list(SEQUENCE_COLUMNS),
                         "sorted_by": ["customer_id", "order_date"]}, separators=(",", ":"))
    sql = f"""
        COPY (
            SELECT {keep},
                CASE WHEN _seq THEN LAG(order_date) OVER (PARTITION BY customer_id, _seq ORDER BY order_date) END
                    AS prev_date,
                CASE WHEN _seq THEN MIN(order_date) OVER (PARTITION BY customer_id, _seq) END AS customer_first_date
            FROM (
                SELECT *, COALESCE({completed}, FALSE) AND order_date IS NOT NULL AS _seq
                FROM read_parquet({_quote_literal(str(source))})
            )
            ORDER BY customer_id, order_date NULLS LAST
        ) TO {_quote_literal(str(target))}
        (FORMAT parquet, ROW_GROUP_SIZE {ROW_GROUP_ROWS},
         KV_METADATA {{{_quote_literal(SEQUENCE_KEY)}: {_quote_literal(marker)}}})
    """
    con = duckdb.connect(":memory:", config=duckdb_config())
    try:
        con.execute("SET preserve_insertion_order = true")
        con.execute(sql)
    finally:
        con.close()
    return rows


def sequence_marker(file: pq.ParquetFile) -> dict[str, Any] | None:
    """The marker of a sequenced orders file (:func:`write_sequenced_orders`), or None when ``file`` does not
    provably carry :data:`SEQUENCE_COLUMNS` for its current content (see the module docstring)."""
    meta = file.metadata
    raw = (meta.metadata or {}).get(SEQUENCE_KEY.encode())
    if raw is None:
        return None
    try:
        marker = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(marker, dict) or marker.get("version") != SEQUENCE_VERSION:
        return None
    if marker.get("rows") != meta.num_rows or not str(meta.created_by or "").startswith("DuckDB"):
        return None
    schema = file.schema_arrow
    if "order_date" not in schema.names or not pa.types.is_timestamp(schema.field("order_date").type):
        return None
    for column in SEQUENCE_COLUMNS:
        if schema.get_field_index(column) < 0 or schema.field(column).type != schema.field("order_date").type:
            return None
    return marker
