"""The data stage end to end: load -> validate -> clean, and the clean tables on disk.

Folder layout written by :func:`write_clean` (one output set: staged beside the folder and switched in as a whole,
see :func:`loyalist.io.output_set`)::

    <folder>/<table>.parquet     one per clean table (orders, customers, tickets, surveys, order_lines); orders
                                 sorted by (customer_id, order_date) with each completed order's previous and first
                                 order (loyalist.data.sequence: the snapshot reads them instead of recomputing them)
    <folder>/rejects.parquet     schemas.REJECT_COLUMNS, PII masked in ``record``
    <folder>/rejects.csv         the same, UTF-8 with BOM (opens correctly in Excel)
    <folder>/summary.csv         table, rows_in, rows_kept, rows_rejected, rows_changed
    <folder>/clean.manifest.json the run's id and every file's SHA-256 and size (written last)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from loyalist.config.models import CleaningConfig, DataConfig, PrivacyConfig
from loyalist.data.clean import CleanResult, DateBounds, clean_tables
from loyalist.data.load import load_tables
from loyalist.data.privacy import mask_contact, mask_frame, pseudonymize
from loyalist.data.schemas import PII_COLUMNS
from loyalist.data.sequence import SEQUENCE_COLUMNS, write_sequenced_orders
from loyalist.data.tables import ParquetTable, restore_dtypes
from loyalist.data.validate import validate_tables
from loyalist.errors import InputFileError
from loyalist.io import output_set, read_parquet, settle, verify

__all__ = ["prepare", "protect_clean", "write_clean", "read_clean", "sequenced_orders", "CLEAN_TABLES",
           "STREAMED_TABLES"]

#: Tables :func:`write_clean` may write and :func:`read_clean` reads back, in this order.
CLEAN_TABLES: tuple[str, ...] = ("orders", "order_lines", "customers", "tickets", "surveys")

#: Name of the output set of :func:`write_clean` (its manifest is ``clean.manifest.json``).
CLEAN_SET = "clean"

#: The event tables the snapshot jobs (score, loyalty) leave on disk: ``read_clean(folder, lazy=STREAMED_TABLES)``.
STREAMED_TABLES: tuple[str, ...] = ("orders", "order_lines", "tickets", "surveys")


def prepare(data: DataConfig, *, run_date=None) -> CleanResult:
    """Load the configured tables, validate their structure and clean them.

    Parameters
    ----------
    data : DataConfig
        Sources (``orders`` mandatory), cleaning rules and the possible dates (``min_date``, ``max_date``).
    run_date : date, optional
        The day the job runs (the caller reads the clock): dates after it are rejected as ``impossible_date``.

    Returns
    -------
    CleanResult
        See :class:`loyalist.data.clean.CleanResult`.
    """
    raw = load_tables(data)
    validate_tables(raw)
    bounds = DateBounds.of(data.min_date, data.max_date, run_date)
    return clean_tables(raw, data.cleaning, bounds=bounds)


def _mask_record_pii(record: pd.Series, columns: Iterable[str] = PII_COLUMNS) -> pd.Series:
    """Mask the fields ``columns`` (default the PII columns) inside the JSON records (idempotent: cleaning already
    masked the PII columns)."""
    columns = tuple(columns)

    def one(text):
        if text is None or pd.isna(text):
            return text
        try:
            row = json.loads(text)
        except ValueError:
            return text
        if not isinstance(row, dict) or not any(row.get(c) is not None for c in columns):
            return text
        for c in columns:
            if row.get(c) is not None:
                row[c] = mask_contact(str(row[c]))
        return json.dumps(row, ensure_ascii=False, separators=(",", ":"))

    has_pii = record.str.contains("|".join(re.escape(f'"{c}":') for c in columns), regex=True, na=False)
    if not has_pii.any():
        return record
    return record.mask(has_pii, record[has_pii].map(one)).astype("string")


def protect_clean(
    result: CleanResult, privacy: PrivacyConfig, key: bytes | None, cleaning: CleaningConfig | None = None
) -> CleanResult:
    """The clean result as it may be stored: personal columns masked, and rejects without raw customer ids.

    - Clean tables: the columns of ``privacy.mask_columns`` and :data:`~loyalist.data.schemas.PII_COLUMNS` are
      masked (names ``*科技有限公司``, phones ``139****5678``, e-mails ``z***@example.com``) unless
      ``privacy.raw_pii_in_clean``. Customer ids stay as they are (the jobs join on them; outputs pseudonymise).
    - Rejects: the same columns are masked in each rejected row's ``record``, always (cleaning masks the PII
      columns there; the columns a user adds to ``privacy.mask_columns`` are masked here).
    - Rejects, when ``key`` is given (``privacy.pseudonymize_ids``): every customer id -- the ``key`` of a
      customers row, the ``customer_id`` field of ``record`` and any quoted copy of it in ``reason`` (raw or
      normalised) -- is replaced by its keyed pseudonym, the same one the outputs use (of the normalised id, with
      ``cleaning.id_case``).
    """
    tables = dict(result.tables)
    columns = list(dict.fromkeys([*privacy.mask_columns, *PII_COLUMNS]))
    if not privacy.raw_pii_in_clean:
        tables = {name: mask_frame(df, [c for c in columns if c in df.columns]) if any(
            c in df.columns for c in columns) else df for name, df in tables.items()}
    rejects = result.rejects
    extra = [c for c in columns if c not in PII_COLUMNS]
    if extra and len(rejects):  # the rejected rows' records are an output too: the configured columns masked there
        rejects = rejects.assign(record=_mask_record_pii(rejects["record"].astype("string"), extra))
    if key is not None and len(rejects):
        rejects = _pseudonymize_rejects(rejects, key, (cleaning or CleaningConfig.model_validate({})).id_case)
    return CleanResult(tables=tables, rejects=rejects, summary=result.summary)


def _normalised_id(value: str, id_case: str) -> str:
    """The id as cleaning's normalise_id rule leaves it (trimmed, ``12345.0`` -> ``12345``, case)."""
    text = value.strip()
    text = re.sub(r"^([+-]?\d+)\.0+$", r"\1", text)
    return text.upper() if id_case == "upper" else text.lower() if id_case == "lower" else text


def _pseudonymize_rejects(rejects: pd.DataFrame, key: bytes, id_case: str) -> pd.DataFrame:
    records = rejects["record"].astype("string")
    raw_ids: list[str | None] = []
    parsed: list[dict | None] = []
    for text in records.to_numpy(dtype=object, na_value=None):
        row = None
        if text is not None:
            try:
                row = json.loads(text)
            except ValueError:
                row = None
        parsed.append(row if isinstance(row, dict) else None)
        value = row.get("customer_id") if isinstance(row, dict) else None
        raw_ids.append(None if value is None else (str(int(value)) if isinstance(value, float) and value.is_integer()
                                                   else str(value)))
    norm = pd.Series([None if v is None else _normalised_id(v, id_case) for v in raw_ids], dtype="string")
    pseud = pseudonymize(norm, key).to_numpy(dtype=object, na_value=None)
    out_records, out_reasons, out_keys = [], [], []
    for i, (row, raw, p) in enumerate(zip(parsed, raw_ids, pseud, strict=False)):
        reason = rejects["reason"].iat[i]
        k = rejects["key"].iat[i]
        if row is not None and raw is not None:
            row["customer_id"] = p
            out_records.append(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
            if reason is not None and not pd.isna(reason):
                for variant in dict.fromkeys([raw, raw.strip(), norm.iat[i]]):
                    if variant:
                        reason = reason.replace(f"'{variant}'", f"'{p}'")
            if rejects["table"].iat[i] == "customers":
                k = p
        else:
            out_records.append(records.iat[i])
        out_reasons.append(reason)
        out_keys.append(k)
    return rejects.assign(record=pd.array(out_records, dtype="string"), reason=pd.array(out_reasons, dtype="string"),
                          key=pd.array(out_keys, dtype="string"))


def write_clean(result: CleanResult, folder: Path, extra: Mapping[str, str] | None = None, *,
                sequence: bool = True) -> dict[str, Path]:
    """Write the clean tables, rejects and summary to ``folder`` (created if needed) as one output set: the files
    replace the previous run's files as a whole (:func:`loyalist.io.output_set`, manifest ``clean.manifest.json``),
    so a run killed half-way never leaves tables of two runs side by side. ``extra`` maps file names to text
    written in the same set (the resolved config of ``loyalist prepare``). ``sequence``: the orders sorted and
    sequenced (:func:`_write_orders`, config ``data.sequence_orders``); False: written as they are.

    Returns
    -------
    dict of str to Path
        ``<table>`` for each clean table, ``rejects`` (Parquet), ``rejects_csv``, ``summary`` and each ``extra``
        file name.
    """
    folder = Path(folder)
    written: dict[str, Path] = {}
    rejects = result.rejects.assign(record=_mask_record_pii(result.rejects["record"].astype("string")))
    with output_set(folder, CLEAN_SET) as files:
        for name, df in result.tables.items():
            if name == "orders" and sequence:
                _write_orders(df, files.path("orders.parquet"))
            else:
                df.to_parquet(files.path(f"{name}.parquet"), index=False)
            written[name] = files.target(f"{name}.parquet")
        rejects.to_parquet(files.path("rejects.parquet"), index=False)
        written["rejects"] = files.target("rejects.parquet")
        rejects.to_csv(files.path("rejects.csv"), index=False, encoding="utf-8-sig")
        written["rejects_csv"] = files.target("rejects.csv")
        result.summary.to_csv(files.path("summary.csv"), index=False, encoding="utf-8-sig")
        written["summary"] = files.target("summary.csv")
        for filename, text in (extra or {}).items():
            files.path(filename).write_text(text, encoding="utf-8")
            written[filename] = files.target(filename)
    return written


def _write_orders(df: pd.DataFrame, path: Path) -> None:
    """The clean orders as the snapshot reads them fastest: sorted by (customer_id, order_date) with each completed
    order's previous and first order (:func:`loyalist.data.sequence.write_sequenced_orders`; DuckDB sorts within
    the configured memory limit). The frame is written as is first, beside the target, and that copy removed."""
    unsorted = path.with_name(f".{path.name}.unsorted")
    try:
        df.to_parquet(unsorted, index=False)
        write_sequenced_orders(unsorted, path)
    finally:
        unsorted.unlink(missing_ok=True)


def sequenced_orders(folder: Path) -> ParquetTable | None:
    """The clean folder's ``orders.parquet`` as a :class:`ParquetTable` when it carries each order's previous and
    first order for its content (``loyalist prepare`` wrote it: :attr:`ParquetTable.sequenced`), else None. The
    training job hands it to its snapshots with the orders frame :func:`read_clean` read from it."""
    path = Path(folder) / "orders.parquet"
    if not path.is_file():
        return None
    table = ParquetTable(path, "orders")
    return table if table.sequenced else None


def read_clean(folder: Path, *, lazy: Iterable[str] = ()) -> dict[str, pd.DataFrame | ParquetTable]:
    """Read the clean tables written by :func:`write_clean` (not the rejects or summary).

    Parameters
    ----------
    folder : Path
        The folder :func:`write_clean` wrote.
    lazy : iterable of str
        Tables to leave on disk: they come back as :class:`~loyalist.data.tables.ParquetTable` handles, which the
        snapshot reads straight from the file (the scoring job passes ``orders`` and ``order_lines``, so tens of
        millions of orders never enter pandas).

    Returns
    -------
    dict of str to DataFrame or ParquetTable
        The tables of :data:`CLEAN_TABLES` found in ``folder``: DataFrames with the schema dtypes restored, or
        ParquetTable handles for the ``lazy`` ones.

    Raises
    ------
    InputFileError
        The folder or its ``orders.parquet`` is missing.
    """
    folder = Path(folder)
    settle(folder, CLEAN_SET)  # finish a commit a killed 'prepare' left half done
    if not (folder / "orders.parquet").is_file():
        raise InputFileError(
            f"Clean data folder '{folder}' has no 'orders.parquet'; run the data preparation first "
            "(loyalist.data.prepare + write_clean) or point to the folder it wrote."
        )
    lazy = set(lazy)
    unknown = sorted(lazy - set(CLEAN_TABLES))
    if unknown:
        raise ValueError(f"read_clean(lazy=...) names unknown table(s) {unknown}; expected some of {CLEAN_TABLES}.")
    out: dict[str, pd.DataFrame | ParquetTable] = {}
    for name in CLEAN_TABLES:
        path = folder / f"{name}.parquet"
        if path.is_file():
            verify(path, CLEAN_SET)  # the file is the one its run wrote, not a mix of two runs
            if name in lazy:
                out[name] = ParquetTable(path, name)
            else:  # an orders file's sequence columns are not the table's (loyalist.data.sequence)
                out[name] = restore_dtypes(read_parquet(path, exclude=SEQUENCE_COLUMNS if name == "orders" else ()),
                                           name)
    return out

