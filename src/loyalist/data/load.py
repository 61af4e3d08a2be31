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
import lzma
from pathlib import Path

import numpy as np
import pandas as pd

from loyalist.config.models import DataConfig, SourceConfig
from loyalist.data.schemas import SCHEMAS, TABLE_NAMES
from loyalist.errors import ConfigError, InputFileError, SchemaError

__all__ = ["read_source", "load_tables", "detect_encoding"]

_CSV_EXT = {".csv", ".tsv", ".txt", ".dat", ".tab"}
_EXCEL_EXT = {".xlsx", ".xlsm", ".xls"}
_PARQUET_EXT = {".parquet", ".pq"}
_COMPRESSION = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_SAMPLE_BYTES = 256 * 1024
_CHINESE_ENCODINGS = {"gb2312", "gbk", "gb18030", "hz", "hz_gb_2312", "cp936"}  # read as GB18030, their superset
_DELIMITERS = (",", "\t", ";", "|")


def read_source(table: str, source: SourceConfig) -> pd.DataFrame:
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
        columns are looked up by their own name, case-insensitively; other columns are dropped), in schema order.
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
            df, encoding = _read_text(path, source, fmt, where)
            attrs["encoding"] = encoding
        elif fmt == "excel":
            df = _read_excel(path, source, where)
        else:
            df = _read_parquet(path, source, where)
    if len(df) == 0:
        raise InputFileError(f"Input {origin} for {where} has no data rows; give a file with at least one row.")
    df = df.set_axis([str(c).strip().lstrip("\ufeff") for c in df.columns], axis=1)
    attrs["file_columns"] = list(df.columns)
    out = _map_columns(df, table, source, origin, where)
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


def _open_binary(path: Path):
    _, comp = _strip_compression(path)
    opener = _COMPRESSION.get(comp) if comp else None
    return opener(path, "rb") if opener else open(path, "rb")


def detect_encoding(sample: bytes) -> str | None:
    """The encoding to read ``sample`` with: ``utf-8`` / ``utf-8-sig`` when it decodes as UTF-8, ``gb18030``
    when charset-normalizer sees a Chinese encoding, else charset-normalizer's best guess; ``None`` if nothing fits.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = list(from_bytes(sample))
    names = [m.encoding.lower() for m in matches]
    if any(n in _CHINESE_ENCODINGS for n in names) or not names:
        try:
            codecs.getincrementaldecoder("gb18030")().decode(sample, final=False)
            return "gb18030"
        except UnicodeDecodeError:
            return names[0] if names else None
    return names[0]


def _read_text(path: Path, source: SourceConfig, fmt: str, where: str) -> tuple[pd.DataFrame, str]:
    with _open_binary(path) as fh:
        try:
            sample = fh.read(_SAMPLE_BYTES)
        except (OSError, EOFError, lzma.LZMAError) as exc:
            raise InputFileError(f"Input file '{path}' for {where} could not be decompressed ({exc}); "
                                 "give an intact file.") from exc
    if not sample.strip():
        raise InputFileError(f"Input file '{path}' for {where} has no data rows (it holds no text); "
                             "give a file with a header and at least one row.")
    auto = source.encoding.lower() == "auto"
    if not auto:
        try:
            codecs.lookup(source.encoding)
        except LookupError as exc:
            raise ConfigError(f"{where}.encoding {source.encoding!r} is not a known encoding; use 'auto', "
                              "'utf-8' or 'gb18030'.") from exc
    encoding = detect_encoding(sample) if auto else source.encoding
    if encoding is None:
        raise InputFileError(
            f"Input file '{path}' for {where} could not be decoded as UTF-8 or GB18030; save it as UTF-8 or set "
            f"{where}.encoding."
        )
    read_encoding = "utf-8-sig" if encoding.lower() in ("utf-8", "utf8") else encoding
    if fmt == "whitespace":
        sep = r"\s+"
    elif source.delimiter is not None:
        sep = source.delimiter
    else:
        sep = _sniff_delimiter(sample, read_encoding, path)
    kwargs = dict(
        sep=sep, header=0 if source.header else None, dtype=str, keep_default_na=False, na_values=[""],
        compression="infer", encoding_errors="strict",
    )
    tried = [read_encoding]
    try:
        try:
            df = pd.read_csv(path, encoding=read_encoding, **kwargs)
        except UnicodeDecodeError:
            if not auto or read_encoding == "gb18030":
                raise
            read_encoding, encoding = "gb18030", "gb18030"  # the sample was UTF-8 but a later part is not
            tried.append(read_encoding)
            df = pd.read_csv(path, encoding=read_encoding, **kwargs)
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"Input file '{path}' for {where} could not be decoded with {' or '.join(tried)} ({exc.reason}); "
            f"save it as UTF-8 or set {where}.encoding."
        ) from exc
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
    return df, encoding


def _sniff_delimiter(sample: bytes, encoding: str, path: Path) -> str:
    ext, _ = _strip_compression(path)
    if ext in (".tsv", ".tab"):
        return "\t"
    text = sample.decode(encoding, errors="ignore")
    lines = [ln for ln in text.splitlines()[:20] if ln.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines[:10]), delimiters="".join(_DELIMITERS)).delimiter
    except csv.Error:
        counts = {d: lines[0].count(d) for d in _DELIMITERS}
        best = max(counts, key=counts.get)
        return best if counts[best] > 0 else ","


def _read_excel(path: Path, source: SourceConfig, where: str) -> pd.DataFrame:
    sheet = source.sheet if source.sheet is not None else 0
    try:
        df = pd.read_excel(path, sheet_name=sheet, header=0 if source.header else None)
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
    if not source.header:
        df = df.set_axis([str(c) for c in range(df.shape[1])], axis=1)
    filled = np.flatnonzero(df.notna().any(axis=1).to_numpy())
    return df.iloc[: filled[-1] + 1 if len(filled) else 0].reset_index(drop=True)  # drop trailing empty rows


def _read_parquet(path: Path, source: SourceConfig, where: str) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
        wanted = _wanted_columns(names, source)
        return pd.read_parquet(path, columns=wanted)
    except (OSError, ValueError) as exc:
        raise InputFileError(f"Parquet file '{path}' for {where} could not be read "
                             f"({str(exc).splitlines()[0]}); give an intact Parquet file.") from exc


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
    con = duckdb.connect(":memory:")
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


def _map_columns(df: pd.DataFrame, table: str, source: SourceConfig, origin: str, where: str) -> pd.DataFrame:
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
    return out.reset_index(drop=True)
