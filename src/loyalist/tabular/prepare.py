"""Customer-table mode, the data stage: read the customers table with every column, clean it by the shared rules
and type its columns.

The clean ``customers`` table (written by :func:`loyalist.data.prepare.write_clean` like any clean table):

- the canonical columns of the customers schema the file has (``customer_id``, ``name`` masked, ...);
- ``churn`` (boolean; NA when the flag is empty: such a customer is scored, never trained on);
- every other column of the file under its own name, typed (:mod:`loyalist.tabular.types`): numeric as float64,
  categorical, id and text as ``string``, dates as ``datetime64[ns]``; ``ignore`` columns are left out.

Rules added to the shared cleaning rules (each row in the rejects with its reason; rows in = kept + rejected):
``invalid_churn_flag`` (dropped: a flag that is neither the positive value nor a "no"), ``invalid_tenure``
(dropped: a tenure that is text or negative), ``unparseable_number`` / ``unparseable_date`` (changed: a value of a
numeric or date column that is not a number or a date becomes NaN / NaT).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from loyalist.config.models import CustomerTableConfig, DataConfig
from loyalist.data.clean import CleanResult, DateBounds, ExtraRule, clean_customer_rows
from loyalist.data.dates import DateOrderError, parse_dates
from loyalist.data.load import read_source
from loyalist.data.schemas import PII_COLUMNS, SCHEMAS
from loyalist.errors import ConfigError, SchemaError
from loyalist.tabular.types import infer_types, parse_numbers

__all__ = ["LABEL", "TYPES_FILE", "TablePrepared", "parse_churn_flag", "prepare_customer_table", "read_customer_table"]

#: Name of the churn flag in the clean table.
LABEL = "churn"
#: File beside the clean tables holding the column types (the report of :func:`infer_types`).
TYPES_FILE = "column_types.csv"

_TRUE = ("true", "t", "yes", "y", "1", "1.0", "是", "真", "流失", "churned", "churn", "exited")
_FALSE = ("false", "f", "no", "n", "0", "0.0", "否", "假", "未流失", "stayed", "retained", "active")
_NULLS = ("", "nan", "none", "null", "<na>", "na", "n/a", "#n/a")


@dataclass(frozen=True)
class TablePrepared:
    """The clean result (one table, ``customers``) and the column types (:func:`infer_types` report, every
    column of the clean table but the canonical ones and ``churn``)."""

    result: CleanResult
    types: pd.DataFrame


def _find(name: str, columns: list[str]) -> str | None:
    if name in columns:
        return name
    folded = [c for c in columns if c.strip().casefold() == name.strip().casefold()]
    return folded[0] if len(folded) == 1 else None


def _same(value: object, positive: object) -> bool:
    try:
        return float(value) == float(positive)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value).strip().casefold() == str(positive).strip().casefold()


def parse_churn_flag(col: pd.Series, positive: object = None, *, column: str = "churn") -> tuple[pd.Series, np.ndarray]:
    """The churn flag as a nullable boolean, and the mask of values that are not a flag.

    ``positive`` None: yes/y/true/t/1/是 mean churned, no/n/false/f/0/否 stayed. Given: that value means churned;
    "no" values, or the one other value when the column holds exactly two, mean stayed. Empty cells are NA (not
    invalid). Raises ConfigError when ``positive`` never occurs.
    """
    text = col.astype("string").str.strip()
    empty = text.isna() | text.str.lower().isin(_NULLS)
    low = text.str.lower()
    if positive is None:
        is_true = low.isin(_TRUE).fillna(False)
        is_false = low.isin(_FALSE).fillna(False)
    else:
        present = text[~empty]
        is_true = pd.Series([not e and _same(v, positive) for v, e in zip(text.tolist(), empty.tolist(), strict=True)],
                            index=col.index)
        if not is_true.any():
            seen = sorted(map(str, present.unique()))[:10]
            raise ConfigError(
                f"customer_table.positive is {positive!r} but column {column!r} never holds it (values seen: "
                f"{seen}); set customer_table.positive to the value that means churned."
            )
        others = present[~is_true[~empty]].unique()
        is_false = low.isin(_FALSE).fillna(False) & ~is_true
        if len(others) == 1:
            is_false = is_false | ((text == others[0]).fillna(False) & ~empty)
    bad = (~empty & ~is_true & ~is_false).to_numpy(bool)
    flag = pd.array([pd.NA] * len(col), dtype="boolean")
    flag[is_true.to_numpy(bool)] = True
    flag[is_false.to_numpy(bool) & ~is_true.to_numpy(bool)] = False
    return pd.Series(flag, index=col.index), bad


def _quoted(values: pd.Series) -> np.ndarray:
    return np.array([f"'{v}'" for v in values.astype(str).tolist()], dtype=object)


def prepare_customer_table(data: DataConfig, table: CustomerTableConfig, *, run_date=None) -> TablePrepared:
    """Read, clean and type the customers table of customer-table mode.

    Parameters
    ----------
    data : DataConfig
        ``data.customers`` is the table (other sources are refused); ``data.cleaning`` and the date bounds apply.
    table : CustomerTableConfig
        The churn flag, tenure and value columns and the type overrides.
    run_date : date, optional
        The day the job runs (dates after it are impossible).

    Raises
    ------
    ConfigError
        ``data.customers`` is not configured, another table is, or a named column is not in the file.
    """
    if data.customers is None:
        raise ConfigError("customer_table.churn is set but 'data.customers' is not configured; give the customer "
                          "table's path (or sql) in data.customers.")
    others = [t for t in ("orders", "tickets", "surveys") if getattr(data, t) is not None]
    if others:
        raise ConfigError(f"customer_table.churn is set (customer-table mode) but data.{others[0]} is configured "
                          "too; customer-table mode reads data.customers alone: remove the other tables, or remove "
                          "customer_table.churn to analyse order histories.")
    raw = read_source("customers", data.customers, keep_other=True)
    mapped = data.customers.columns
    canonical = [c for c in SCHEMAS["customers"].columns if c in raw.columns]
    others_cols = [c for c in raw.columns if c not in canonical]
    where = f"'{raw.attrs.get('source')}'"

    def named(key: str, value: str | None) -> str | None:
        if value is None:
            return None
        found = _find(value, others_cols)
        if found is None:
            hint = " (it is mapped to a canonical column in data.customers.columns)" if _find(value, canonical) \
                or value in mapped.values() else ""
            raise SchemaError(f"customer_table.{key} names column {value!r}, which is not in {where}{hint}; its "
                              f"columns are {list(raw.attrs.get('file_columns', raw.columns))}; fix "
                              f"customer_table.{key}.")
        return found

    churn_col = named("churn", table.churn)
    tenure_col = named("tenure", table.tenure)
    value_col = named("value", table.value)
    for key in list(table.types) + list(table.keep):
        if _find(key, others_cols) is None:
            raise SchemaError(f"customer_table names column {key!r} (in types or keep), which is not in {where}; "
                              f"its columns are {list(raw.attrs.get('file_columns', raw.columns))}; fix the name.")
    if LABEL in others_cols and churn_col != LABEL:
        raise SchemaError(f"{where} has a column 'churn' besides the churn flag {churn_col!r}; rename one of them "
                          "(or point customer_table.churn at it).")
    assert churn_col is not None
    flag, bad_flag = parse_churn_flag(raw[churn_col], table.positive, column=churn_col)
    rules = [ExtraRule("invalid_churn_flag", "dropped", churn_col, bad_flag,
                       "'" + churn_col + "' value " + _quoted(raw[churn_col]) + " is neither churned nor stayed; "
                       "set customer_table.positive to the value that means churned")]
    features = [c for c in others_cols if c != churn_col]
    overrides = {_find(k, features) or k: v for k, v in table.types.items()}
    for forced in (tenure_col, value_col):
        if forced is not None:
            overrides.setdefault(forced, "numeric")
    types = infer_types(raw[features], overrides=overrides, max_categories=table.max_categories)
    for key, forced in (("tenure", tenure_col), ("value", value_col)):
        if forced is not None and forced not in table.types:
            types.loc[types["column"] == forced, "why"] = f"customer_table.{key}"
    kinds = dict(zip(types["column"], types["type"], strict=True))
    columns: dict[str, object] = {}
    time_zones: dict[str, dict[str, int]] = {}  # date column -> {zone or UTC offset: values dropped}
    for c in features:
        kind = kinds[c]
        if kind == "numeric":
            numbers = parse_numbers(raw[c])
            text = raw[c].astype("string").str.strip()
            given = text.notna() & ~text.str.lower().isin(_NULLS)
            bad = (given & numbers.isna()).to_numpy(bool)
            if c == tenure_col:
                negative = (numbers < 0).to_numpy(bool)
                rules.append(ExtraRule("invalid_tenure", "dropped", c, bad | negative,
                                       "'" + c + "' value " + _quoted(raw[c]) + np.where(
                                           negative, " is negative", " is not a number") + "; a tenure is a count "
                                       f"of {table.tenure_unit} >= 0"))
            else:
                rules.append(ExtraRule("unparseable_number", "changed", c, bad,
                                       "'" + c + "' value " + _quoted(raw[c]) + " is not a number; set to NaN"))
            columns[c] = numbers.to_numpy("float64")
        elif kind == "date":
            zones: dict[str, int] = {}
            try:
                parsed = pd.Series(parse_dates(raw[c], dayfirst=data.cleaning.dayfirst,
                                               fmt=data.customers.date_format, zones=zones))
            except DateOrderError as exc:
                raise SchemaError(
                    f"Column '{c}' of the customer table {exc.message}; set data.customers.date_format to its format "
                    f"(for example '%d/%m/%Y'), or customer_table.types: {{{c}: text}} to keep it as text."
                ) from exc
            text = raw[c].astype("string").str.strip()
            given = (text.notna() & ~text.str.lower().isin(_NULLS)).to_numpy(bool)
            rules.append(ExtraRule("unparseable_date", "changed", c, given & parsed.isna().to_numpy(bool),
                                   "'" + c + "' value " + _quoted(raw[c]) + " is not a date; set to NaT"))
            columns[c] = parsed.to_numpy()
            if zones:
                time_zones[c] = zones
        elif kind in ("categorical", "id", "text"):
            text = raw[c].astype("string").str.strip()
            columns[c] = text.mask(text.str.lower().isin(_NULLS))
    bounds = DateBounds.of(data.min_date, data.max_date, run_date)
    result, kept = clean_customer_rows(raw, data.cleaning, bounds=bounds, extra_rules=tuple(rules))
    clean = result.tables["customers"]
    if len(clean) == 0:
        from loyalist.errors import DataQualityError

        top = result.rejects.loc[result.rejects["action"] == "dropped", "rule"].value_counts()
        top_rules = ", ".join(f"{r} ({n})" for r, n in top.head(3).items())
        raise DataQualityError(f"Every row of the customer table {where} was rejected ({len(raw)} rows; top rules: "
                               f"{top_rules}); check data.customers.columns and customer_table (churn, positive, tenure).")
    extra = {LABEL: pd.array(flag.to_numpy(object)[kept], dtype="boolean")}
    for c, values in columns.items():
        arr = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
        out = arr[kept]
        extra[c] = pd.array(out, dtype="string") if kinds[c] in ("categorical", "id", "text") else out
    clean = pd.concat([clean, pd.DataFrame(extra, index=clean.index)], axis=1)
    present = [c for c in clean.columns if c not in PII_COLUMNS or c in canonical]
    clean = clean[present]
    types = types.assign(role=[("tenure" if c == tenure_col else "value" if c == value_col else "")
                               for c in types["column"]])
    tables = {"customers": clean}
    return TablePrepared(result=CleanResult(tables=tables, rejects=result.rejects,
                                            summary=_with_time_zones(result.summary, time_zones)),
                         types=types)


def _with_time_zones(summary: pd.DataFrame, zones: dict[str, dict[str, int]]) -> pd.DataFrame:
    """``summary`` (one row, ``customers``) with the time zones the typed date columns carried added to its
    ``time_zones`` JSON, beside those of the canonical date columns (``signup_date``) the shared cleaning found."""
    if not zones:
        return summary
    text = summary["time_zones"].iloc[0] if "time_zones" in summary.columns else None
    merged = {**(json.loads(text) if isinstance(text, str) and text else {}), **zones}
    return summary.assign(time_zones=pd.array([json.dumps(merged, sort_keys=True)] * len(summary), dtype="string"))


def read_customer_table(folder) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The clean customer table and its column types, as :func:`prepare_customer_table` and ``write_clean``
    stored them in ``folder`` (each file checked against the folder's manifest).

    Raises
    ------
    InputFileError
        The folder holds no customer table of customer-table mode.
    """
    from pathlib import Path

    from loyalist.data.prepare import CLEAN_SET
    from loyalist.errors import InputFileError
    from loyalist.io import read_parquet, settle, verify

    folder = Path(folder)
    if folder.is_dir():
        settle(folder, CLEAN_SET)
    path, types_path = folder / "customers.parquet", folder / TYPES_FILE
    if not path.is_file() or not types_path.is_file():
        raise InputFileError(f"Clean data folder '{folder}' has no customer table of customer-table mode "
                             f"('customers.parquet' and '{TYPES_FILE}'); run 'loyalist prepare' with a config that "
                             "sets customer_table.churn, or point --clean at the folder it wrote.")
    verify(path, CLEAN_SET)
    verify(types_path, CLEAN_SET)
    table = read_parquet(path)
    types = pd.read_csv(types_path, encoding="utf-8", keep_default_na=False)
    return table, types
