"""Read source tables (CSV/TSV, whitespace text, Excel, Parquet or a DuckDB query) into canonical column names.

Reading converts no values: columns come back as the file holds them (text files: every value a string, only
empty cells missing). Cleaning (:mod:`loyalist.data.clean`) parses them. What cleaning needs from the source
configuration travels in ``df.attrs``:

- ``table``, ``source`` (the path, or ``'sql'``), ``format``, ``encoding`` (text files only),
- ``file_columns`` (the columns the file had, for error messages),
- ``filters`` (canonical column -> regex, from ``SourceConfig.filters``), ``date_format``,
- ``synthesized_key`` (the key column numbered by the loader, when ``synthesize_key`` was used).
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import io
import lzma
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from loyalist.config.models import DataConfig, SourceConfig
from loyalist.data.schemas import SCHEMAS, TABLE_NAMES
from loyalist.data.textfile import AmbiguousEncoding, EncodingChoice, choose_encoding, split_records
from loyalist.errors import ConfigError, InputFileError, SchemaError

__all__ = ["read_source", "load_tables", "detect_encoding"]

_CSV_EXT = {".csv", ".tsv", ".txt", ".dat", ".tab"}
_EXCEL_EXT = {".xlsx", ".xlsm", ".xls"}
_PARQUET_EXT = {".parquet", ".pq"}
_COMPRESSION: dict[str, Callable[[Path, Literal["rb"]], io.BufferedIOBase]] = {
    ".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_SAMPLE_BYTES = 256 * 1024
_CHINESE_ENCODINGS = {"gb2312", "gbk", "gb18030", "hz", "hz_gb_2312", "cp936"}  # read as GB18030, their superset
_DELIMITERS = (",", "\t", ";", "|")


def read_source(table: str, source: SourceConfig, *, keep_other: bool = False) -> pd.DataFrame:
    """Read one table from its source and return it with canonical column names.

    Parameters
    ----------
    table : str
        Canonical table name (``orders``, ``customers``, ``tickets``, ``surveys``).
    source : SourceConfig
        Where the table comes from. Formats: ``csv`` (also ``.tsv``, ``.txt``; ``.gz``/``.bz2``/``.xz``
        compressed; delimiter sniffed unless given), ``whitespace`` (runs of spaces, like CDNOW), ``excel``,
        ``parquet``, or ``sql`` (a DuckDB query; ``{path}`` in it is replaced by the resolved path). ``auto``
        picks by extension. Encoding ``auto``: UTF-8 (BOM ok), else what charset-normalizer detects on a sample
        (Chinese encodings are read as GB18030, the superset of GB2312/GBK).

    Returns
    -------
    DataFrame
        One row per source row (RangeIndex = 0-based row position in the source), the canonical columns of
        ``table`` that the source has (mapped by ``source.columns``, canonical -> user column; unmapped canonical
        columns are looked up by their own name, case-insensitively; other columns are dropped, or kept after
        them under their own names with ``keep_other`` -- customer-table mode), in schema order.
        Values are not converted. With ``synthesize_key`` and no key column, the key is ``'<table>-<row>'``.

    Raises
    ------
    InputFileError
        Missing file, empty file (0 bytes or header only: "has no data rows"), unknown extension, undecodable
        bytes, unreadable content, failing SQL.
    SchemaError
        A column named in ``source.columns`` or ``source.filters`` is not in the source.
    ConfigError
        ``source.columns`` names a column that is not canonical for ``table``.
    """
    if table not in SCHEMAS:
        raise ConfigError(f"Unknown table {table!r}; expected one of {list(TABLE_NAMES)}.")
    where = f"data.{table}"
    path = Path(source.path) if source.path is not None else None
    fmt = _resolve_format(source, path, where)
    attrs: dict[str, object] = {"table": table, "format": fmt}
    if fmt == "sql":
        df = _read_sql(source, path, where)
        attrs["source"] = "sql"
        origin = f"the SQL query of {where}"
    else:
        assert path is not None  # guaranteed by SourceConfig
        _check_file(path, where)
        attrs["source"] = str(path)
        origin = f"'{path}'"
        if fmt in ("csv", "whitespace"):
            df, info = _read_text(path, source, fmt, where)
            attrs.update(info)
        elif fmt == "excel":
            df = _read_excel(path, source, where)
        else:
            df = _read_parquet(path, source, where, every_column=keep_other)
    if len(df) == 0 and not attrs.get("malformed"):
        raise InputFileError(f"Input {origin} for {where} has no data rows; give a file with at least one row.")
    df = df.set_axis([str(c).strip().lstrip("\ufeff") for c in df.columns], axis=1)
    attrs["file_columns"] = list(df.columns)
    out = _map_columns(df, table, source, origin, where, keep_other=keep_other)
    key = SCHEMAS[table].key
    if source.synthesize_key and key and key[0] not in out.columns:
        numbers = pd.Series(np.arange(len(out)), index=out.index).astype("str")
        out[key[0]] = (f"{table}-" + numbers).astype("str")
        out = out[[c for c in SCHEMAS[table].columns if c in out.columns]]
        attrs["synthesized_key"] = key[0]
    missing_filters = [c for c in source.filters if c not in out.columns]
    if missing_filters:
        raise SchemaError(
            f"{where}.filters names {missing_filters} but the table has no such column (it has "
            f"{list(out.columns)}); filter on a mapped canonical column."
        )
    attrs["filters"] = dict(source.filters)
    attrs["date_format"] = source.date_format
    out.attrs.update(attrs)
    return out


def load_tables(data: DataConfig) -> dict[str, pd.DataFrame]:
    """Read every configured table with :func:`read_source`; ``orders`` is mandatory.

    Returns
    -------
    dict
        Canonical table name -> raw frame, only for the tables configured in ``data``.
    """
    if data.orders is None:
        raise ConfigError(
            "'data.orders' is not configured; every analysis needs an orders table: give its 'path' or 'sql'."
        )
    return {t: read_source(t, getattr(data, t)) for t in TABLE_NAMES if getattr(data, t) is not None}


# ------------------------------------------------------------------------------------------- formats


def _strip_compression(path: Path) -> tuple[str, str | None]:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSION:
        return (suffixes[-2] if len(suffixes) > 1 else ""), suffixes[-1]
    return (suffixes[-1] if suffixes else ""), None


def _resolve_format(source: SourceConfig, path: Path | None, where: str) -> str:
    if source.sql is not None or source.format == "sql":
        if source.sql is None:
            raise ConfigError(f"{where}.format is 'sql' but {where}.sql is empty; give the DuckDB query.")
        return "sql"
    if source.format != "auto":
        return source.format
    assert path is not None
    ext, _ = _strip_compression(path)
    if ext in _CSV_EXT:
        return "csv"
    if ext in _EXCEL_EXT:
        return "excel"
    if ext in _PARQUET_EXT:
        return "parquet"
    raise InputFileError(
        f"Input file '{path}' for {where} has an unknown extension {ext or '(none)'!r}; expected .csv, .tsv, "
        f".txt (optionally .gz), .xlsx or .parquet, or set {where}.format."
    )


def _check_file(path: Path, where: str) -> None:
    if not path.is_file():
        raise InputFileError(
            f"Input file '{path}' for {where} does not exist; check {where}.path (relative paths are resolved "
            "against the folder of the YAML file that names them)."
        )
    if path.stat().st_size == 0:
        raise InputFileError(f"Input file '{path}' for {where} is empty (0 bytes) and has no data rows; "
                             "give a file with a header and at least one row.")


def _open_binary(path: Path) -> io.BufferedIOBase:
    _, comp = _strip_compression(path)
    opener = _COMPRESSION.get(comp) if comp else None
    return opener(path, "rb") if opener else open(path, "rb")


def detect_encoding(sample: bytes) -> str | None:
    """The encoding to read ``sample`` with (see :func:`loyalist.data.textfile.choose_encoding`); ``None`` if
    nothing fits. Raises :class:`~loyalist.data.textfile.AmbiguousEncoding` when two encodings are plausible."""
    choice = choose_encoding(sample)
    return None if choice is None else choice.encoding


def _read_bytes(path: Path, where: str) -> bytes:
    """The whole file, decompressed; a truncated or corrupt archive is one sentence naming the file."""
    try:
        with _open_binary(path) as fh:
            return fh.read()
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
        raise InputFileError(
            f"Input file '{path}' for {where} is truncated or corrupt and could not be decompressed "
            f"({str(exc) or type(exc).__name__}); give the complete file (compress it again)."
        ) from exc


def _choose(data: bytes, path: Path, source: SourceConfig, where: str) -> EncodingChoice:
    if source.encoding.lower() != "auto":
        try:
            codecs.lookup(source.encoding)
        except LookupError as exc:
            raise ConfigError(f"{where}.encoding {source.encoding!r} is not a known encoding; use 'auto', "
                              "'utf-8' or 'gb18030'.") from exc
        return EncodingChoice(source.encoding, 1.0, 0)
    try:
        choice = choose_encoding(data[:_SAMPLE_BYTES])
    except AmbiguousEncoding as exc:
        (a, sa, wa), (b, sb, wb) = exc.first, exc.second
        raise InputFileError(
            f"Input file '{path}' for {where} reads plausibly both as {a} ({wa!r}, score {sa:.2f}) and as {b} "
            f"({wb!r}, score {sb:.2f}); set {where}.encoding (its 'encoding:' key) to the right one, "
            f"e.g. 'encoding: {a}'."
        ) from exc
    if choice is None:
        raise InputFileError(
            f"Input file '{path}' for {where} could not be decoded as UTF-8, GB18030 or cp1252; save it as UTF-8 "
            f"or set {where}.encoding."
        )
    return choice


def _read_text(path: Path, source: SourceConfig, fmt: str, where: str) -> tuple[pd.DataFrame, dict]:
    """Read a delimited or whitespace text file; returns the frame and what to record in its attrs (encoding,
    confidence, the malformed lines and the record position of each row)."""
    data = _read_bytes(path, where)
    if not data.strip():
        raise InputFileError(f"Input file '{path}' for {where} has no data rows (it holds no text); "
                             "give a file with a header and at least one row.")
    choice = _choose(data, path, source, where)
    encoding = choice.encoding
    read_encoding = "utf-8-sig" if encoding.lower() in ("utf-8", "utf8") else encoding
    try:
        text = data.decode(read_encoding)
    except UnicodeDecodeError as exc:
        later = None
        if source.encoding.lower() == "auto" and encoding.startswith("utf-8"):
            try:  # the sample was UTF-8, later bytes are not
                later = choose_encoding(data[exc.start:exc.start + _SAMPLE_BYTES])
            except AmbiguousEncoding:
                later = None
        if later is None or later.encoding.startswith("utf-8"):
            raise InputFileError(
                f"Input file '{path}' for {where} could not be decoded with {encoding} at byte {exc.start} "
                f"({exc.reason}); save it as UTF-8 or set {where}.encoding."
            ) from exc
        try:
            text = data.decode(later.encoding)
        except UnicodeDecodeError as exc2:
            raise InputFileError(
                f"Input file '{path}' for {where} could not be decoded with {encoding} or {later.encoding} "
                f"({exc2.reason}); save it as UTF-8 or set {where}.encoding."
            ) from exc2
        choice = later
    info: dict[str, object] = {"encoding": choice.encoding, "encoding_confidence": choice.confidence,
                               "encoding_note": choice.describe()}
    if fmt == "whitespace" or (source.delimiter is not None and len(source.delimiter) != 1):
        sep = r"\s+" if fmt == "whitespace" else source.delimiter
        try:
            df = pd.read_csv(io.StringIO(text), sep=sep, header=0 if source.header else None, dtype=str,
                             keep_default_na=False, na_values=[""])
        except pd.errors.EmptyDataError as exc:
            raise InputFileError(f"Input file '{path}' for {where} has no data rows; "
                                 "give a file with a header and at least one row.") from exc
        except (pd.errors.ParserError, ValueError) as exc:
            raise InputFileError(
                f"Input file '{path}' for {where} could not be parsed as delimited text with delimiter {sep!r} "
                f"({str(exc).splitlines()[0]}); set {where}.delimiter or {where}.format."
            ) from exc
        if not source.header:
            df = df.set_axis([str(c) for c in range(df.shape[1])], axis=1)
        return df, info
    sep = source.delimiter if source.delimiter is not None else _sniff_delimiter(text[:_SAMPLE_BYTES], path)
    records = split_records(text, sep, header=source.header)
    if records.header is not None:
        _check_duplicate_columns([str(c) for c in records.header], f"'{path}'", where)
    if not records.spans and not records.malformed:
        raise InputFileError(f"Input file '{path}' for {where} has no data rows; "
                             "give a file with a header and at least one row.")
    if records.spans:
        try:  # the records only (malformed and blank lines left out), parsed by pandas' C reader
            df = pd.read_csv(io.StringIO(records.text()), sep=sep, header=0 if source.header else None, dtype=str,
                             keep_default_na=False, na_values=[""], skip_blank_lines=False)
        except (pd.errors.ParserError, ValueError) as exc:
            raise InputFileError(
                f"Input file '{path}' for {where} could not be parsed as delimited text with delimiter {sep!r} "
                f"({str(exc).splitlines()[0]}); set {where}.delimiter or {where}.format."
            ) from exc
        if len(df) != len(records.spans):
            raise InputFileError(
                f"Input file '{path}' for {where}: {len(records.spans)} records were found line by line but the "
                f"CSV reader saw {len(df)}; check the quoting of the file or set {where}.delimiter."
            )
    else:
        df = pd.DataFrame({str(c): pd.Series(dtype="str") for c in (records.header or [])})
    if not source.header:
        df = df.set_axis([str(c) for c in range(df.shape[1])], axis=1)
    # record positions in the file (rows and malformed lines interleaved by line): source_row of the rejects
    good = np.asarray(records.starts, dtype="int64")
    bad = np.asarray([line for line, _ in records.malformed], dtype="int64")
    order = np.argsort(np.concatenate([good, bad]), kind="stable")
    position = np.empty(len(order), dtype="int64")
    position[order] = np.arange(len(order))
    info["source_rows"] = position[: len(good)]
    info["malformed"] = [(int(p), line, reason) for p, (line, reason) in zip(position[len(good):], records.malformed, strict=False)]
    return df, info


def _check_duplicate_columns(names: list[str], origin: str, where: str) -> None:
    """A repeated column name would silently use its first copy: refuse it, naming both columns."""
    seen: dict[str, int] = {}
    for k, name in enumerate(names):
        key = str(name).strip().lstrip("\ufeff")
        if key in seen and key and key.lower() != "nan":
            raise SchemaError(
                f"Input {origin} for {where} has two columns named {key!r} (columns {seen[key] + 1} and {k + 1}, "
                "counting from 1); rename one of them in the file so each column name is unique."
            )
        seen.setdefault(key, k)


def _sniff_delimiter(text: str, path: Path) -> str:
    ext, _ = _strip_compression(path)
    if ext in (".tsv", ".tab"):
        return "\t"
    lines = [ln for ln in text.splitlines()[:20] if ln.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines[:10]), delimiters="".join(_DELIMITERS)).delimiter
    except csv.Error:
        counts = {d: lines[0].count(d) for d in _DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] > 0 else ","


def _read_excel(path: Path, source: SourceConfig, where: str) -> pd.DataFrame:
    sheet = source.sheet if source.sheet is not None else 0
    try:
        df = pd.read_excel(path, sheet_name=sheet, header=None)
    except ValueError as exc:
        msg = str(exc).splitlines()[0]
        if "not found" in msg or "out of range" in msg.lower():
            raise InputFileError(
                f"Sheet {sheet!r} of '{path}' for {where} does not exist ({msg}); set {where}.sheet to an "
                "existing sheet name or index."
            ) from exc
        raise InputFileError(f"Excel file '{path}' for {where} could not be read ({msg}); "
                             "save it again as .xlsx.") from exc
    except ImportError as exc:
        raise InputFileError(f"Excel file '{path}' for {where} needs a reader that is not installed ({exc}); "
                             "save it as .xlsx.") from exc
    except Exception as exc:  # openpyxl raises many types on corrupt files
        raise InputFileError(f"Excel file '{path}' for {where} could not be read ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''}); save it again as .xlsx.") from exc
    filled = np.flatnonzero(df.notna().any(axis=1).to_numpy())
    if len(filled) and filled[0] > 0:  # empty rows above the header (a sheet laid out one row down)
        df = df.iloc[filled[0]:].reset_index(drop=True)
    if source.header:  # the header row read as data, so a repeated name is seen before pandas renames it
        names = [f"Unnamed: {k}" if pd.isna(v) else (str(v) if not isinstance(v, str) else v)
                 for k, v in enumerate(df.iloc[0].tolist())] if len(df) else [str(c) for c in df.columns]
        _check_duplicate_columns(names, f"'{path}'", where)
        df = df.iloc[1:].reset_index(drop=True).infer_objects().set_axis(names, axis=1)
    else:
        df = df.set_axis([str(c) for c in range(df.shape[1])], axis=1)
    filled = np.flatnonzero(df.notna().any(axis=1).to_numpy())
    return df.iloc[: filled[-1] + 1 if len(filled) else 0].reset_index(drop=True)  # drop trailing empty rows


def _read_parquet(path: Path, source: SourceConfig, where: str, every_column: bool = False) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
        names = schema.names
        _check_duplicate_columns([str(n) for n in names], f"'{path}'", where)
        wanted = list(names) if every_column else _wanted_columns(names, source)
        for name in wanted:
            kind = schema.field(name).type
            if pa.types.is_nested(kind):
                raise InputFileError(
                    f"Column {name!r} of Parquet file '{path}' for {where} holds nested values ({kind}), not one "
                    f"value per cell; flatten it (e.g. with {where}.sql: SELECT ..., unnest({name}) ...) or map "
                    "another column."
                )
        table = pq.read_table(path, columns=wanted)
    except (OSError, ValueError, pa.ArrowException) as exc:
        if isinstance(exc, InputFileError):
            raise
        raise InputFileError(f"Parquet file '{path}' for {where} could not be read "
                             f"({str(exc).splitlines()[0]}); give an intact Parquet file.") from exc
    # a timestamp column with values outside what datetime64[ns] holds (year 3000) is passed on as text, so that
    # cleaning rejects those values by name (impossible_date) instead of pandas failing on the whole file
    import pyarrow.compute as pc

    for k, f in enumerate(table.schema):
        if pa.types.is_timestamp(f.type) and table.num_rows:
            years = pc.year(table.column(k).cast(pa.timestamp(f.type.unit)))
            bounds = pc.min_max(years).as_py()
            if bounds["min"] is not None and (bounds["min"] < 1678 or bounds["max"] > 2261):
                table = table.set_column(k, f.name, table.column(k).cast(pa.timestamp(f.type.unit)).cast(pa.string()))
    return table.to_pandas()


def _wanted_columns(names: list[str], source: SourceConfig) -> list[str]:
    """The file columns the mapping can use (all mapped names, and every canonical name), so wide files are
    not read whole."""
    targets = {v.strip().casefold() for v in source.columns.values()}
    for schema in SCHEMAS.values():
        targets.update(c.casefold() for c in schema.columns)
    return [n for n in names if str(n).strip().casefold() in targets]


def _read_sql(source: SourceConfig, path: Path | None, where: str) -> pd.DataFrame:
    import duckdb

    query = source.sql or ""
    if "{path}" in query:
        if path is None:
            raise ConfigError(f"{where}.sql uses '{{path}}' but {where}.path is not set; give the file's path.")
        _check_file(path, where)
        query = query.replace("{path}", str(path).replace("'", "''"))
    from loyalist.compute import duckdb_config

    con = duckdb.connect(":memory:", config=duckdb_config())
    try:
        return con.execute(query).df()
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputFileError(f"The SQL query of {where} failed ({first}); fix {where}.sql.") from exc
    finally:
        con.close()


# ------------------------------------------------------------------------------------------- mapping


def _find_column(name: str, columns: list[str]) -> str | None:
    if name in columns:
        return name
    folded = [c for c in columns if c.strip().casefold() == name.strip().casefold()]
    return folded[0] if len(folded) == 1 else None


def _map_columns(df: pd.DataFrame, table: str, source: SourceConfig, origin: str, where: str,
                 keep_other: bool = False) -> pd.DataFrame:
    schema = SCHEMAS[table]
    unknown = [c for c in source.columns if c not in schema.columns]
    if unknown:
        raise ConfigError(
            f"{where}.columns maps {unknown}, which are not canonical columns of {table!r}; expected keys among "
            f"{list(schema.columns)} (canonical name -> your column)."
        )
    file_columns = list(df.columns)
    picked: dict[str, str] = {}
    missing: list[str] = []
    for canon in schema.columns:
        user = source.columns.get(canon)
        found = _find_column(user if user is not None else canon, file_columns)
        if found is not None:
            picked[canon] = found
        elif user is not None:
            missing.append(f"{user!r} (for {canon!r})")
    if missing:
        raise SchemaError(
            f"Column {', '.join(missing)} mapped in {where}.columns is not in {origin}; its columns are "
            f"{file_columns}; fix the mapping in {where}.columns."
        )
    out = pd.DataFrame({canon: df[col] for canon, col in picked.items()}, index=df.index)
    if keep_other:
        used = set(picked.values())
        others = [c for c in file_columns if c not in used and c not in out.columns]
        out = pd.concat([out, df[others]], axis=1)
    return out.reset_index(drop=True)
