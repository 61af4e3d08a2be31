"""loyalist.data: load, validate, clean and prepare the canonical tables; mask personal data.

The public API (the rest of loyalist codes against these names)::

    read_source(table, source) -> DataFrame          load_tables(data) -> dict[str, DataFrame]
    validate_tables(raw) -> None                     parse_dates(values, *, dayfirst, fmt) -> Series
    clean_tables(raw, config) -> CleanResult         prepare(data) -> CleanResult
    write_clean(result, folder) -> dict[str, Path]   read_clean(folder, lazy=()) -> dict[str, DataFrame | ParquetTable]
    ParquetTable(path, name): a clean table left on disk   as_frame(table, columns=None) -> DataFrame
    mask_phone / mask_email / mask_name / mask_contact / mask_frame / pseudonymize
"""

from loyalist.data.clean import CleanResult, clean_tables
from loyalist.data.dates import parse_dates
from loyalist.data.load import load_tables, read_source
from loyalist.data.prepare import prepare, read_clean, write_clean
from loyalist.data.privacy import mask_contact, mask_email, mask_frame, mask_name, mask_phone, pseudonymize
from loyalist.data.tables import ParquetTable, as_frame
from loyalist.data.validate import validate_tables

__all__ = [
    "CleanResult",
    "ParquetTable",
    "as_frame",
    "clean_tables",
    "load_tables",
    "mask_contact",
    "mask_email",
    "mask_frame",
    "mask_name",
    "mask_phone",
    "parse_dates",
    "prepare",
    "pseudonymize",
    "read_clean",
    "read_source",
    "validate_tables",
    "write_clean",
]
