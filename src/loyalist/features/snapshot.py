"""The point-in-time customer snapshot at cut-off T (one SQL definition, run by DuckDB).

:func:`build_snapshot` validates the canonical tables, hands the columns it needs to DuckDB through Arrow (no copy),
runs the single SQL text of ``sql/snapshot.sql`` (rendered by :func:`snapshot_sql`, bound to T and the windows by
:func:`snapshot_params`), adds the RFM scores and returns the columns of
:data:`loyalist.features.columns.SNAPSHOT_COLUMNS`, whose definitions this module implements.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from loyalist.compute import duckdb_settings
from loyalist.config.models import FeatureConfig
from loyalist.data.sequence import SEQUENCE_COLUMNS
from loyalist.data.tables import ParquetTable
from loyalist.errors import ConfigError, SchemaError
from loyalist.features import engine
from loyalist.features.columns import SNAPSHOT_COLUMNS
from loyalist.features.cutoffs import cutoff_day, cutoff_end
from loyalist.features.rfm import rfm_scores
from loyalist.schema import require_columns

__all__ = ["SnapshotPass", "build_snapshot", "build_snapshots", "snapshot_sql", "snapshot_params", "range_source",
           "coerce_as_of", "SNAPSHOT_DTYPES",
           "view_items", "finish_snapshot"]

_INT = "int64"
_FLOAT = "float64"
_STR = "string"
_DATE = "datetime64[ns]"

#: The dtype of every snapshot column. Counts that are NaN when their source table is absent are float64.
SNAPSHOT_DTYPES: dict[str, str] = {
    **dict.fromkeys(SNAPSHOT_COLUMNS, _FLOAT),
    **dict.fromkeys(("customer_id", "industry", "size", "region", "top_complaint_stage", "rfm_segment"), _STR),
    **dict.fromkeys(("as_of", "first_order_date", "last_order_date"), _DATE),
    **dict.fromkeys(("n_orders", "n_orders_total", "recency_days", "tenure_days", "n_returns", "n_cancelled",
                     "btyd_frequency", "btyd_recency", "btyd_T", "rfm_r", "rfm_f", "rfm_m", "rfm_score"), _INT),
}

# table -> (required columns, optional columns read) and the kind of each column
_READ: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "orders": (("customer_id", "order_date", "amount"), ("status", "margin", "cost", "category", "product_id")),
    "customers": (("customer_id",), ("industry", "size", "region", "signup_date")),
    "tickets": (("customer_id", "created_at"), ("kind", "stage", "resolved_at")),
    "surveys": (("customer_id", "answered_at", "nps_score"), ("satisfaction", "mentions_brand")),
    # read only for the category and product ranges, when orders has neither column (see range_source)
    "order_lines": (("customer_id", "order_date"), ("status", "category", "product_id")),
}
_KIND: dict[str, str] = {
    "customer_id": "string", "industry": "string", "size": "string", "region": "string", "status": "string",
    "kind": "string", "stage": "string", "category": "string", "product_id": "string",
    "order_date": "datetime", "signup_date": "datetime", "created_at": "datetime", "resolved_at": "datetime",
    "answered_at": "datetime",
    "amount": "number", "margin": "number", "cost": "number", "nps_score": "number", "satisfaction": "number",
    "mentions_brand": "bool",
}
#: Optional columns handed to the SQL only when the table has them (the SQL then switches its early-warning ranges).
_OPTIONAL_ONLY = ("category", "product_id")
_ARROW_TYPE = {"string": pa.string(), "datetime": pa.timestamp("ns"), "number": pa.float64(), "bool": pa.bool_()}


def coerce_as_of(as_of: Any, name: str = "as_of") -> pd.Timestamp:
    """The cut-off day D as a naive ``pd.Timestamp`` at midnight (accepts str, date, datetime, Timestamp, numpy
    datetime64; a time of day is dropped: a cut-off date means the end of that day, see
    :func:`loyalist.features.cutoffs.cutoff_end`)."""
    return cutoff_day(as_of, name)


def snapshot_params(as_of: Any, config: FeatureConfig) -> dict[str, Any]:
    """The parameters of the snapshot SQL: ``as_of`` (the day D), ``t`` = the end of day D (the bound of every
    "dated <= T" test), the window bounds (``t`` minus whole days, so windows hold whole days) and the frequency
    floor."""
    t = cutoff_end(as_of)
    day = pd.Timedelta(days=1)
    return {
        "as_of": cutoff_day(as_of),
        "t": t,
        "w_start": t - config.lookback_days * day,
        "trend_start": t - config.trend_window_days * day,
        "trend_prev_start": t - 2 * config.trend_window_days * day,
        "trend_days": int(config.trend_window_days),
        "freq_min_days": int(config.frequency_min_days),
    }


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    text = resources.files("loyalist.features").joinpath("sql/snapshot.sql").read_text(encoding="utf-8")
    # SQL, not HTML: nothing user-supplied is rendered (only the has_* booleans), so no escaping applies.
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             autoescape=False, keep_trailing_newline=True)
    return env.from_string(text)


def snapshot_sql(
    config: FeatureConfig,
    *,
    has_customers: bool,
    has_tickets: bool,
    has_surveys: bool,
    has_margin: bool,
    has_category: bool = False,
    has_product: bool = False,
    ordered: bool = True,
    presequenced: bool = False,
    ranges_from: str = "orders",
) -> str:
    """The snapshot's single SQL definition for the tables at hand (portable text, see :mod:`engine`).

    The windows of ``config`` are not written into the text: they are bound as the parameters ``:t``,
    ``:w_start``, ``:trend_start``, ``:trend_prev_start`` and ``:freq_min_days`` (:func:`snapshot_params`), so
    one text serves every cut-off. The SQL reads ``orders(customer_id, order_date, amount, status[, margin])`` and,
    when present, ``customers``, ``tickets`` and ``surveys``; it returns every snapshot column except the RFM ones,
    sorted by ``customer_id`` (``ordered=False``: in no particular order, for a caller that sorts the streamed
    result itself, see :func:`build_snapshot`). ``presequenced``: ``orders`` also has the columns ``prev_date`` and
    ``customer_first_date`` of each completed order (:func:`build_snapshots`), so the SQL skips its window pass.
    ``ranges_from``: the table the category and product ranges are counted from, ``"orders"`` or
    ``"order_lines"`` (:func:`range_source`).
    """
    if ranges_from not in ("orders", "order_lines"):
        raise ConfigError(f"ranges_from must be 'orders' or 'order_lines'; got {ranges_from!r}.")
    if not isinstance(config, FeatureConfig):
        raise ConfigError(
            f"The 'config' parameter of snapshot_sql must be a FeatureConfig; got {type(config).__name__}."
        )
    return _template().render(
        has_customers=bool(has_customers), has_tickets=bool(has_tickets), has_surveys=bool(has_surveys),
        has_margin=bool(has_margin), has_category=bool(has_category), has_product=bool(has_product),
        ordered=bool(ordered), presequenced=bool(presequenced), ranges_from=ranges_from,
    )


def range_source(columns: Mapping[str, list[str]]) -> tuple[str, bool, bool]:
    """Where the early-warning category and product ranges are counted from, given each table's columns:
    ``(table, has_category, has_product)``. ``orders`` when it has a category or product_id column; else
    ``order_lines`` when it has one (the cleaner keeps them there, one row per product of an order); else none."""
    for name in ("orders", "order_lines"):
        names = columns.get(name)
        if names is not None and ("category" in names or "product_id" in names):
            return name, "category" in names, "product_id" in names
    return "orders", False, False


# ------------------------------------------------------------------------------------------ inputs


def _check_column(table: str, frame: pd.DataFrame, column: str) -> None:
    kind = _KIND[column]
    dtype = frame[column].dtype
    ok = {
        "string": pd.api.types.is_string_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype),
        "datetime": pd.api.types.is_datetime64_dtype(dtype),
        "number": pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype),
        "bool": pd.api.types.is_bool_dtype(dtype),
    }[kind]
    if not ok:
        expected = {"string": "text (string dtype)", "datetime": "naive datetime64",
                    "number": "numeric (float64)", "bool": "boolean"}[kind]
        raise SchemaError(
            f"Column '{column}' of table '{table}' must be {expected}; got dtype {dtype}; "
            "pass the table produced by the cleaner (loyalist.data.clean)."
        )


def _present_columns(table: str, names: list[str], where: str = "") -> list[str]:
    """The columns of :data:`_READ` that ``table`` has (required first); SchemaError when a required one is absent.
    ``where`` names the source in the message (e.g. the file)."""
    required, optional = _READ[table]
    require_columns(names, required, what=f"Table '{table}'{where}", fix="map them in the data config")
    return [c for c in (*required, *optional) if c in names]


def _to_arrow(table: str, frame: pd.DataFrame) -> pa.Table:
    required, optional = _READ[table]
    if not isinstance(frame, pd.DataFrame):
        raise SchemaError(f"Table '{table}' must be a pandas DataFrame; got {type(frame).__name__}.")
    present = _present_columns(table, list(map(str, frame.columns)))
    for column in present:
        _check_column(table, frame, column)
    arrow = engine.frame_to_arrow(frame, present)
    n = arrow.num_rows
    columns: dict[str, pa.ChunkedArray | pa.Array] = {}
    for column in (*required, *optional):
        if column in ("margin", "cost") or (column in _OPTIONAL_ONLY and column not in present):
            continue
        wanted = _ARROW_TYPE[_KIND[column]]
        if column not in present:
            if column == "status":  # every order completed; dictionary-encoded: one byte a row
                columns[column] = pa.DictionaryArray.from_arrays(
                    pa.array(np.zeros(n, dtype=np.int8)), pa.array(["completed"])
                )
            else:
                columns[column] = pa.nulls(n, wanted)
            continue
        col = arrow.column(column)
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        if _KIND[column] == "number" and col.type != pa.float64():
            col = col.cast(pa.float64())
        columns[column] = col
    if table == "orders" and ("margin" in present or "cost" in present):
        amount = columns["amount"]
        margin = arrow.column("margin").cast(pa.float64()) if "margin" in present else None
        from_cost = pc.subtract(amount, arrow.column("cost").cast(pa.float64())) if "cost" in present else None
        if margin is not None and from_cost is not None:
            columns["margin"] = pc.coalesce(margin, from_cost)
        else:
            columns["margin"] = margin if margin is not None else from_cost
    return pa.table(columns)


_SQL_TYPE = {"string": "STRING", "datetime": "TIMESTAMP", "number": "DOUBLE", "bool": "BOOLEAN"}


def _arrow_kind_ok(kind: str, arrow_type: pa.DataType) -> bool:
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if kind == "string":
        return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or (
            hasattr(pa.types, "is_string_view") and pa.types.is_string_view(arrow_type)
        )
    if kind == "datetime":
        return pa.types.is_timestamp(arrow_type) and arrow_type.tz is None
    if kind == "number":
        return pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type)
    return pa.types.is_boolean(arrow_type)


def _to_view(table: str, source: ParquetTable) -> engine.ParquetView:
    """The Parquet counterpart of :func:`_to_arrow`: the same columns and normalisation, as a select list that
    DuckDB runs while it streams the file (the table never enters pandas)."""
    schema = source.schema
    present = _present_columns(table, schema.names, where=f" ('{source.path}')")
    for column in present:
        kind = _KIND[column]
        if not _arrow_kind_ok(kind, schema.field(column).type):
            expected = {"string": "text", "datetime": "a naive timestamp", "number": "numeric",
                        "bool": "boolean"}[kind]
            raise SchemaError(
                f"Column '{column}' of table '{table}' ('{source.path}') must be {expected}; got Parquet type "
                f"{schema.field(column).type}; write the table with the cleaner ('loyalist prepare')."
            )

    items = view_items(table, present)
    if table == "orders" and source.sequenced:  # computed once by 'loyalist prepare' (loyalist.data.sequence)
        items += tuple((column, f'"{column}"') for column in SEQUENCE_COLUMNS)
    return engine.ParquetView(source.path, items)


def view_items(table: str, present: list[str], quote: str = '"') -> tuple[tuple[str, str], ...]:
    """The normalised columns of ``table`` as (name, SQL expression) pairs over a file with the columns
    ``present``: casts to the snapshot's types, NULL for absent optional columns, status 'completed' when absent,
    margin from margin and/or amount - cost. ``quote`` quotes identifiers (DuckDB ``"``, Spark SQL a backtick)."""
    required, optional = _READ[table]

    def quoted(column: str) -> str:
        return quote + column + quote

    items = []
    for column in (*required, *optional):
        if column in ("margin", "cost") or (column in _OPTIONAL_ONLY and column not in present):
            continue
        kind = _KIND[column]
        if column not in present:
            value = "'completed'" if column == "status" else f"CAST(NULL AS {_SQL_TYPE[kind]})"
        elif kind in ("string", "number"):
            value = f"CAST({quoted(column)} AS {_SQL_TYPE[kind]})"
        else:
            value = quoted(column)
        items.append((column, value))
    if table == "orders" and ("margin" in present or "cost" in present):
        margin = f"CAST({quoted('margin')} AS DOUBLE)" if "margin" in present else None
        from_cost = (f"CAST({quoted('amount')} AS DOUBLE) - CAST({quoted('cost')} AS DOUBLE)"
                     if "cost" in present else None)
        margin_value = f"COALESCE({margin}, {from_cost})" if margin and from_cost else (margin or from_cost)
        assert margin_value is not None  # margin or cost is present
        items.append(("margin", margin_value))
    return tuple(items)


def _source(name: str, table: pd.DataFrame | ParquetTable) -> pa.Table | engine.ParquetView:
    return _to_view(name, table) if isinstance(table, ParquetTable) else _to_arrow(name, table)


def _columns(source: pa.Table | engine.ParquetView) -> list[str]:
    return source.names if isinstance(source, engine.ParquetView) else list(source.column_names)


def _present(tables: Mapping[str, pd.DataFrame | ParquetTable | None], name: str) -> bool:
    return tables.get(name) is not None


# --------------------------------------------------------------------------------------- snapshot


def build_snapshot(
    tables: Mapping[str, pd.DataFrame | ParquetTable], as_of: Any, config: FeatureConfig
) -> pd.DataFrame:
    """The customer snapshot at cut-off T = ``as_of``: features from events dated <= T only.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Canonical clean tables (``loyalist.data.schemas``). ``orders`` is required: customer_id, order_date,
        amount, and optionally status (absent = every order completed), margin and/or cost. Optional:
        ``customers`` (customer_id; industry, size, region, signup_date), ``tickets`` (customer_id, created_at;
        kind, stage, resolved_at), ``surveys`` (customer_id, answered_at, nps_score; satisfaction,
        mentions_brand). A table mapped to None counts as absent. Input frames are not modified. Any table may
        instead be a :class:`~loyalist.data.tables.ParquetTable` (a clean table left on disk): DuckDB then
        streams the file with the same normalisation, so a table of tens of millions of orders is never held
        in memory; the result is identical. An orders file written by ``loyalist prepare`` (sorted, with each
        completed order's previous and first order: ``ParquetTable.sequenced``) is read without the SQL's window
        pass over the orders; any other orders file takes the window path (same result).
    as_of : str, date, datetime or Timestamp
        The cut-off day T; it means the end of that day: events timestamped at any time on T are read
        (``'2024-06-30'`` reads events up to 2024-06-30 23:59:59.999999); a time of day in ``as_of`` is dropped.
    config : FeatureConfig
        Windows: look-back W = (T - lookback_days, T], trend windows, frequency floor, RFM bins.

    Returns
    -------
    DataFrame
        One row per customer of the population at T (>= 1 completed order in W), sorted by customer_id, default
        RangeIndex; columns ``SNAPSHOT_COLUMNS`` in order with :data:`SNAPSHOT_DTYPES` (ids and categories
        pandas ``string``, dates datetime64[ns], counts int64 or float64 where NaN is possible, rates float64).
        Columns whose source table (or column: ticket ``kind`` for complaints, ``resolved_at`` for open tickets)
        is absent are all-NaN. Events dated > T are never read. T before every order gives an empty table with
        these columns.

    Raises
    ------
    SchemaError
        ``orders`` is missing, a table lacks a required column or a column has the wrong dtype, or
        ``customers`` repeats a customer_id.
    ConfigError
        ``as_of`` is not a date.
    """
    if not isinstance(config, FeatureConfig):
        raise ConfigError(
            f"The 'config' parameter of build_snapshot must be a FeatureConfig; got {type(config).__name__}."
        )
    params = snapshot_params(as_of, config)
    if not _present(tables, "orders"):
        raise SchemaError(
            f"Table 'orders' is required to build the snapshot; got tables {sorted(k for k in tables)}; "
            "configure data.orders."
        )
    sources = _sources(tables)
    orders = tables["orders"]
    # an orders file written by 'loyalist prepare' carries each completed order's previous and first order for its
    # current content (ParquetTable.sequenced): the SQL reads them instead of its window pass over every order
    presequenced = isinstance(orders, ParquetTable) and orders.sequenced
    return _run(_sql(config, sources, presequenced=presequenced), sources, params, tables, config)


def _sources(tables: Mapping[str, pd.DataFrame | ParquetTable]) -> dict[str, pa.Table | engine.ParquetView]:
    """The tables the snapshot SQL reads, validated and normalised; ``order_lines`` only when the ranges are
    counted from it (:func:`range_source`)."""
    sources = {name: _source(name, tables[name]) for name in _READ
               if name != "order_lines" and _present(tables, name)}
    if _present(tables, "order_lines") and range_source({"orders": _columns(sources["orders"])}) == (
            "orders", False, False):
        sources["order_lines"] = _source("order_lines", tables["order_lines"])
    return sources


def _sql(config: FeatureConfig, sources: Mapping[str, pa.Table | engine.ParquetView],
         presequenced: bool = False) -> str:
    orders_columns = _columns(sources["orders"])
    ranges_from, has_category, has_product = range_source({name: _columns(src) for name, src in sources.items()})
    return snapshot_sql(
        config,
        has_customers="customers" in sources,
        has_tickets="tickets" in sources,
        has_surveys="surveys" in sources,
        has_margin="margin" in orders_columns,
        has_category=has_category,
        has_product=has_product,
        ordered=False,
        presequenced=presequenced,
        ranges_from=ranges_from,
    )


def _run(sql: str, sources: Mapping[str, pa.Table | engine.ParquetView], params: Mapping[str, Any],
         tables: Mapping[str, pd.DataFrame | ParquetTable], config: FeatureConfig,
         ids: pa.Array | None = None) -> pd.DataFrame:
    """Run the snapshot SQL over ``sources`` and finish its result; ``ids``: the sources carry customer_id as codes
    into this sorted array (:func:`_coded`), turned back into the ids when the result is read."""
    spill = duckdb_settings().temp_directory  # the result file goes where DuckDB spills (it makes the folder too)
    if spill is not None:
        Path(spill).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="loyalist-snapshot-", dir=spill) as folder:
        path = Path(folder) / "snapshot.arrow"
        engine.sql_to_arrow_file(sql, sources, params, path)  # DuckDB closed when this returns
        frame = _read_result(path, ids)
    return _finish(frame, tables, config)


#: Columns a training pass hands to DuckDB as integer codes (:func:`_coded`): the SQL only groups, joins, counts and
#: orders them (never compares them with a constant), and the codes keep the ids' byte order.
CODED_COLUMNS = ("customer_id", "category", "product_id")


def _sorted_values(columns: Sequence[pa.ChunkedArray | pa.Array]) -> pa.Array:
    """The distinct non-null values of ``columns`` (text), in byte order (DuckDB's and Arrow's string order)."""
    chunks = [chunk.cast(pa.large_string()) for column in columns
              for chunk in (column.chunks if isinstance(column, pa.ChunkedArray) else [column])]
    values = pc.unique(pa.chunked_array(chunks, type=pa.large_string()))
    values = values.filter(pc.is_valid(values))
    return values.take(pc.sort_indices(values))


def _coded(sources: Mapping[str, pa.Table | engine.ParquetView]) -> tuple[dict[str, pa.Table | engine.ParquetView],
                                                                             pa.Array | None]:
    """``sources`` with the text columns of :data:`CODED_COLUMNS` replaced by int32 codes into the sorted distinct
    values of that column over every in-memory table (NULL stays NULL), and the customer ids' sorted values (None
    when nothing was coded: a table on disk is streamed as it is).

    Why: DuckDB hashes, joins and orders these columns at every cut-off; integer keys cost ~30% less CPU than
    strings over a 100k-customer training pass (measured, trainone session 16). Same result: the SQL uses these
    columns only as grouping/join keys, in COUNT and in ORDER BY (category ties: the codes are in the values' byte
    order, which is DuckDB's string order), and the result's customer_id codes are mapped back
    (:func:`_read_result`).
    """
    arrow = {name: source for name, source in sources.items() if isinstance(source, pa.Table)}
    if len(arrow) < len(sources):
        return dict(sources), None
    ids = None
    for column in CODED_COLUMNS:
        holders = [name for name, table in arrow.items() if column in table.column_names]
        if not holders:
            continue
        values = _sorted_values([arrow[name].column(column) for name in holders])
        for name in holders:
            table = arrow[name]
            codes = pc.index_in(table.column(column), value_set=values)
            arrow[name] = table.set_column(table.schema.get_field_index(column), column, codes)
        if column == "customer_id":
            ids = values
    return dict(arrow), ids


def build_snapshots(
    tables: Mapping[str, pd.DataFrame | ParquetTable], cutoffs: Sequence[Any], config: FeatureConfig
) -> Iterator[pd.DataFrame]:
    """:func:`build_snapshot` at each cut-off of ``cutoffs``, in that order (a generator: each snapshot is built
    when it is asked for), with the work every cut-off shares done once: the tables are validated and handed to
    Arrow once, and each completed order's previous completed order and the customer's first order (the SQL's
    window pass over the sorted orders, about half of a snapshot's DuckDB time) are computed once, in the orders'
    own row order. Each snapshot is the frame :func:`build_snapshot` returns at that cut-off (same rows, columns,
    dtypes and values; the time rule is unchanged: at T only orders dated <= T are read, and the previous and first
    order of such an order are dated <= it).

    With ``orders`` left on disk (a :class:`~loyalist.data.tables.ParquetTable`) each cut-off is built by
    :func:`build_snapshot` (the file is streamed, never held in memory).
    """
    if not isinstance(config, FeatureConfig):
        raise ConfigError(
            f"The 'config' parameter of build_snapshots must be a FeatureConfig; got {type(config).__name__}."
        )
    days = [snapshot_params(t, config) for t in cutoffs]  # every cut-off checked before any work
    if not _present(tables, "orders"):
        raise SchemaError(
            f"Table 'orders' is required to build the snapshot; got tables {sorted(k for k in tables)}; "
            "configure data.orders."
        )
    shared = SnapshotPass(tables)
    for params in days:
        yield shared.at(params["as_of"], config)


class SnapshotPass:
    """Snapshots of the same tables at many cut-offs (:func:`build_snapshots`; a training run keeps one for all
    its models): the tables are validated and handed to Arrow, and the orders' sequence columns computed, on the
    first :meth:`at` and reused by every later one. ``at(as_of, config)`` returns the frame
    ``build_snapshot(tables, as_of, config)`` returns. With ``orders`` left on disk (a ParquetTable) every
    :meth:`at` is :func:`build_snapshot` itself.

    ``sequence``: the sequenced orders file (``loyalist prepare``'s, :attr:`ParquetTable.sequenced`) that the
    orders frame was read from (``read_clean``, possibly cut at a date by ``events_until``): its ``prev_date`` and
    ``customer_first_date`` are read instead of computed, when they provably belong to the frame's rows
    (:func:`_file_sequence`); :attr:`sequence_from` says which was done.

    A snapshot asked for more than once (the churn and value models of a training run share a cut-off) is built
    once when the caller says so beforehand: :meth:`expect` counts the calls to come for a cut-off, and the frame
    is kept only until the last of them (a copy is handed out each time), so at most the announced repeats are
    held, never every snapshot of the run. Snapshots at the same cut-off are the same frame when the windows they
    read are the same (:func:`snapshot_params` and ``rfm_bins``; the label horizons of the config play no part)."""

    def __init__(self, tables: Mapping[str, pd.DataFrame | ParquetTable], *,
                 sequence: ParquetTable | None = None) -> None:
        self.tables = tables
        self.sequence = sequence
        #: Where the orders' sequence columns came from, once the first snapshot is built: ``"file"`` (read from
        #: ``sequence``), ``"computed"`` (:func:`_with_sequence`) or ``"streamed"`` (orders on disk: build_snapshot).
        self.sequence_from: str | None = None
        self._sources: dict[str, pa.Table | engine.ParquetView] | None = None
        self._ids: pa.Array | None = None  # the sorted customer ids the sources' codes point into (_coded)
        self._expected: dict[tuple, int] = {}
        self._kept: dict[tuple, pd.DataFrame] = {}

    @staticmethod
    def _key(as_of: Any, config: FeatureConfig) -> tuple:
        """What a snapshot of these tables depends on: the cut-off's SQL parameters and the RFM bins."""
        return (*sorted(snapshot_params(as_of, config).items()), ("rfm_bins", int(config.rfm_bins)))

    def expect(self, as_of: Any, config: FeatureConfig) -> None:
        """Announce one more call ``at(as_of, config)`` to come: a snapshot announced twice is built once."""
        if not isinstance(config, FeatureConfig):
            raise ConfigError(
                f"The 'config' parameter of build_snapshot must be a FeatureConfig; got {type(config).__name__}."
            )
        key = self._key(as_of, config)
        self._expected[key] = self._expected.get(key, 0) + 1

    def at(self, as_of: Any, config: FeatureConfig) -> pd.DataFrame:
        if not isinstance(config, FeatureConfig):
            raise ConfigError(
                f"The 'config' parameter of build_snapshot must be a FeatureConfig; got {type(config).__name__}."
            )
        key = self._key(as_of, config)
        left = self._expected.get(key, 0) - 1  # announced calls after this one
        if left >= 0:
            self._expected[key] = left
        kept = self._kept.get(key)
        if kept is not None:
            if left > 0:
                return kept.copy()
            del self._kept[key]  # the last announced call takes the kept frame itself
            return kept
        frame = self._build(as_of, config)
        if left > 0:
            self._kept[key] = frame.copy()  # the caller may change its own frame
        return frame

    def _build(self, as_of: Any, config: FeatureConfig) -> pd.DataFrame:
        params = snapshot_params(as_of, config)
        tables = self.tables
        if not _present(tables, "orders"):
            raise SchemaError(
                f"Table 'orders' is required to build the snapshot; got tables {sorted(k for k in tables)}; "
                "configure data.orders."
            )
        if isinstance(tables["orders"], ParquetTable):
            self.sequence_from = "streamed"
            return build_snapshot(tables, as_of, config)
        if self._sources is None:
            sources = _sources(tables)
            orders = sources["orders"]
            assert isinstance(orders, pa.Table)  # a DataFrame source is handed over as Arrow
            from_file = _file_sequence(orders, tables["orders"].index, self.sequence)
            self.sequence_from = "computed" if from_file is None else "file"
            sources["orders"] = _with_sequence(orders) if from_file is None else from_file
            self._sources, self._ids = _coded(sources)
        return _run(_sql(config, self._sources, presequenced=True), self._sources, params, tables, config,
                    ids=self._ids)


def _completed_dated(status: pa.ChunkedArray | pa.Array, dates: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """The rows the sequence is defined on: completed orders (status 'completed') with a date."""
    if pa.types.is_dictionary(status.type):
        status = status.cast(status.type.value_type)
    completed = pc.fill_null(pc.equal(status, "completed"), False).to_numpy(zero_copy_only=False)
    return completed & pc.is_valid(dates).to_numpy(zero_copy_only=False)


def _file_sequence(orders: pa.Table, index: pd.Index, file: ParquetTable | None) -> pa.Table | None:
    """``orders`` (the normalised Arrow table of the orders frame, index ``index``) with the ``prev_date`` and
    ``customer_first_date`` of the sequenced orders file ``file`` the frame was read from (``loyalist prepare``
    computed them: :mod:`loyalist.data.sequence`); None when ``file`` is None or not sequenced
    (:attr:`ParquetTable.sequenced`), or when the file's columns cannot be shown to be the frame's own.

    The frame's rows are taken to be the file's rows at the positions its index names (``read_clean`` reads the
    file in its row order with a RangeIndex; ``events_until`` keeps a subset with its labels). The columns are the
    frame's when, at those positions, the file has the same customer_id, order_date and completed flag (what they
    are computed from), and every completed dated order of the file that the frame leaves out is dated after
    every completed dated order it keeps (a frame cut at a date: the previous and first order of a kept order are
    kept). Otherwise the caller computes them (:func:`_with_sequence`); the snapshot is the same either way.
    """
    if file is None or not file.sequenced:
        return None
    n = file.num_rows
    values = index.to_numpy()
    if len(values) != orders.num_rows or len(values) > n or not np.issubdtype(values.dtype, np.integer):
        return None
    whole = isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1 and len(index) == n
    if not whole and len(values) and (values[0] < 0 or values[-1] >= n or not (np.diff(values) > 0).all()):
        return None  # positions must be increasing and inside the file
    take = None if whole else pa.array(values)

    def column(name: str) -> pa.ChunkedArray:  # one column of the file at the frame's rows (read one at a time)
        read = pq.read_table(file.path, columns=[name]).column(0)
        return read if take is None else read.take(take)

    full_dates = pq.read_table(file.path, columns=["order_date"]).column(0)
    flags = (_completed_dated(pq.read_table(file.path, columns=["status"]).column(0), full_dates)
             if "status" in file.file_schema.names else pc.is_valid(full_dates).to_numpy(zero_copy_only=False))
    if take is not None:
        kept = np.zeros(n, dtype=bool)
        kept[values] = True
        stamps = full_dates.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
        inside, outside = stamps[kept & flags], stamps[~kept & flags]
        if len(inside) and len(outside) and outside.min() <= inside.max():
            return None  # a kept order's previous or first order may be left out
        del stamps, kept, inside, outside
        full_dates, flags = full_dates.take(take), flags[values]
    unit = orders.column("order_date").type
    if not (_same_values(full_dates.cast(unit), orders.column("order_date"))
            and np.array_equal(flags, _completed_dated(orders.column("status"), orders.column("order_date")))):
        return None
    del full_dates, flags
    if not _same_values(column("customer_id"), orders.column("customer_id")):
        return None
    return (orders.append_column("prev_date", column("prev_date").cast(unit))
            .append_column("customer_first_date", column("customer_first_date").cast(unit)))


def _same_values(a: pa.ChunkedArray, b: pa.ChunkedArray) -> bool:
    """The same values and nulls at every row (string and large_string alike), without copying either column."""
    if len(a) != len(b) or a.null_count != b.null_count:
        return False
    if a.null_count and not pc.all(pc.equal(pc.is_null(a), pc.is_null(b))).as_py():
        return False
    return bool(pc.all(pc.fill_null(pc.equal(a, b), True)).as_py() is not False)


def _with_sequence(orders: pa.Table) -> pa.Table:
    """``orders`` (the normalised Arrow table) with ``prev_date`` (the customer's previous completed order, by
    order_date) and ``customer_first_date`` (the customer's first completed order) on every completed order with a
    date; NULL on the other rows, which the snapshot SQL never reads for them. These are the SQL's ``LAG`` and
    ``MIN`` windows over the completed orders, the same at every cut-off: both are dated <= the order itself.
    Orders on the same instant get one another as previous order in row order (the SQL's window picks one of them
    too; every column it builds from them is the same either way)."""
    n = orders.num_rows
    status = orders.column("status")
    if pa.types.is_dictionary(status.type):
        status = status.cast(status.type.value_type)
    completed = pc.fill_null(pc.equal(status, "completed"), False).to_numpy(zero_copy_only=False)
    date_col = orders.column("order_date")
    dated = pc.is_valid(date_col).to_numpy(zero_copy_only=False)
    dates = date_col.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
    codes = pc.dictionary_encode(orders.column("customer_id")).combine_chunks().indices
    group = pc.fill_null(codes, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    rows = np.flatnonzero(completed & dated)
    rows = rows[np.lexsort((dates[rows], group[rows]))]  # stable: equal instants keep their row order
    g, d = group[rows], dates[rows]
    starts = np.ones(len(rows), dtype=bool)
    starts[1:] = g[1:] != g[:-1]
    prev = np.empty(len(rows), dtype=np.int64)
    prev[0:1] = 0
    prev[1:] = d[:-1]
    first = d[np.maximum.accumulate(np.where(starts, np.arange(len(rows)), 0))] if len(rows) else d
    prev_full = np.zeros(n, dtype=np.int64)
    prev_null = np.ones(n, dtype=bool)
    prev_full[rows] = prev
    prev_null[rows] = starts
    first_full = np.zeros(n, dtype=np.int64)
    first_null = np.ones(n, dtype=bool)
    first_full[rows] = first
    first_null[rows] = False
    unit = date_col.type
    return (orders.append_column("prev_date", pa.array(prev_full, type=unit, mask=prev_null))
            .append_column("customer_first_date", pa.array(first_full, type=unit, mask=first_null)))


def _read_result(path: Path, ids: pa.Array | None = None) -> pd.DataFrame:
    """The SQL result written to ``path`` (Arrow IPC, in no particular order) as pandas sorted by customer_id: the
    frame that ``to_pandas`` of the whole result with ``ORDER BY customer_id`` gives, with the
    :data:`SNAPSHOT_DTYPES` (same dtypes, row order and values).

    Why a file: DuckDB still holds its hash tables while the last rows stream out (~400 MB at 20M orders), and the
    result is as large again; written to disk as it streams and read back after the connection is closed, the
    result is in memory once (as pandas, filled one column at a time) and never beside DuckDB's working set or
    beside a whole Arrow copy. The SQL ends without ``ORDER BY`` (DuckDB's ordered streaming result cannot spill
    under a memory limit), so the rows are put in order here: Arrow's byte-wise string order is DuckDB's.
    ``ids``: the result's customer_id holds codes into this sorted array (:func:`_coded`); the frame has the ids.
    """
    schema = ipc.open_file(str(path)).schema

    def column(name: str) -> pa.ChunkedArray:
        options = ipc.IpcReadOptions(included_fields=[schema.get_field_index(name)])
        return ipc.open_file(str(path), options=options).read_all().column(0)

    keys = column("customer_id")
    order = pc.sort_indices(keys)  # codes are in the ids' order (_coded)
    _check_unique(keys.take(order) if ids is None else ids.take(keys.take(order)))
    del keys
    columns = {}
    for name in schema.names:
        values = column(name).take(order)
        if name == "customer_id" and ids is not None:
            values = ids.take(values)
        columns[name] = _to_pandas(name, values)
    return pd.DataFrame(columns, copy=False)


def _to_pandas(name: str, values: pa.ChunkedArray) -> Any:
    """One result column as pandas values with its snapshot dtype, as ``to_pandas`` of the whole table and the
    dtype cast of :func:`finish_snapshot` make it; numpy data is writable (a zero-copy view of Arrow is not)."""
    column = pa.table({name: values}).to_pandas(types_mapper=_string_mapper, ignore_metadata=True)[name]
    dtype = SNAPSHOT_DTYPES.get(name)
    if dtype is not None and str(column.dtype) != dtype:
        column = column.astype(dtype)
    out = column.array
    if isinstance(column.dtype, np.dtype):
        data = column.to_numpy()
        out = data if data.flags.writeable else data.copy()
    return out


def _check_unique(ids: pa.ChunkedArray) -> None:
    """The ids in sorted order: a repeated id (from a repeated customers row) is adjacent."""
    ids = ids.combine_chunks()
    if len(ids) > 1:
        same = pc.equal(ids.slice(1), ids.slice(0, len(ids) - 1))
        if pc.any(same).as_py():
            dup = ids[pc.index(same, True).as_py()].as_py()
            raise SchemaError(
                f"Column 'customer_id' of table 'customers' must be unique; got {dup!r} more than once; "
                "deduplicate the customers table (the cleaner does)."
            )


def _string_mapper(arrow_type: pa.DataType):
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return pd.StringDtype()
    return None


def _finish(
    frame: pd.DataFrame, tables: Mapping[str, pd.DataFrame | ParquetTable], config: FeatureConfig
) -> pd.DataFrame:
    tickets = tables.get("tickets")
    return finish_snapshot(frame, None if tickets is None else list(tickets.columns), config)


def finish_snapshot(
    frame: pd.DataFrame,
    ticket_columns: list[str] | None,
    config: FeatureConfig,
    rfm: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The SQL result as the snapshot: enforce the dtypes, blank the columns whose source column is absent
    (``ticket_columns``: the tickets table's columns, None without tickets), add the RFM scores (``rfm``, on the
    frame's index, when they were ranked elsewhere: the Spark engine ranks against the whole population) and order
    the columns."""
    if ticket_columns is not None:
        if "kind" not in ticket_columns:  # complaints cannot be told from other tickets
            for column in ("complaint_rate", "n_complaints", "n_complaints_recent", "complaints_total"):
                frame[column] = np.nan
            frame["top_complaint_stage"] = pd.NA
        if "resolved_at" not in ticket_columns:
            frame["open_tickets"] = np.nan
    for column, dtype in SNAPSHOT_DTYPES.items():
        if column in frame.columns and str(frame[column].dtype) != dtype:
            frame[column] = frame[column].astype(dtype)
    if rfm is None:
        rfm = rfm_scores(frame, bins=config.rfm_bins)
    frame = pd.concat([frame, rfm], axis=1)
    return frame.loc[:, list(SNAPSHOT_COLUMNS)]
