"""Cleaning: raw canonical tables -> typed clean tables, with every dropped or changed row recorded.

Rules run in this order (the ``rule`` column of the rejects); a dropped row is recorded once, by the first rule
that drops it; a changed row is kept and logged with the column and ``old -> new`` in ``reason``:

0. ``malformed_line``: a line of a delimited text file that is not a record (a wrong number of fields, an
   unclosed quote), found by the loader (``df.attrs['malformed']``, see :mod:`loyalist.data.textfile`) -- dropped,
   with its line number in ``reason``; it counts in rows_in, so rows in = kept + rejected holds for the lines of
   the file. ``source_row`` is then the position of the record among the data lines (``df.attrs['source_rows']``).

1. ``out_of_scope``: the row fails a source filter (``SourceConfig.filters``, read from ``df.attrs['filters']``;
   a regex searched in the raw value) -- dropped.
2. ``missing_required``: a required column is empty after trimming (or a null token such as ``NULL``, ``N/A``)
   -- dropped.
3. ``normalise_id``: ids (customer_id, order_id, ticket_id) trimmed, ``12345.0`` -> ``12345``, case per
   ``config.id_case`` -- changed. Summarised to stay cheap: one record per distinct changed value (at its first
   kept row, ``(n rows)`` in the reason), at most :data:`MAX_ID_CHANGE_RECORDS` per column, then one record for
   the rest; ``rows_changed`` in the summary still counts every changed row. Only string ids are logged
   (numbers read from typed files are just converted), and not a key the loader synthesised.
4. ``impossible_date``: a date that cannot be real -- a year pandas cannot hold (outside 1678-2261, e.g.
   ``3000-01-01``), before ``min_date``, after ``max_date`` or after the run date (a future date; both whole
   days, given by the caller) -- dropped for a required date, set to NaT (changed) for an optional one; never
   used. ``unparseable_date`` (a required date; optional dates become NaT, changed), ``unparseable_amount`` (amount not
   a number; ``'1,234.50'``, ``'¥1,234'``, ``'$12'``, ``'(12.00)'`` are numbers), ``invalid_nps`` (nps_score not a
   number in 0-10) -- dropped. Optional numbers that do not parse become NaN (``unparseable_number``, changed);
   satisfaction outside 1-5 becomes NaN (``invalid_satisfaction``); flags that are not yes/no become NA
   (``unparseable_flag``).
5. ``test_record``: status ``test``, a customer flagged ``is_test``, an id matching ``config.test_id_patterns``,
   an order line whose ``product_id`` or ``description`` matches ``config.test_product_patterns``; the orders,
   tickets and surveys of a test customer -- dropped. ``zero_amount`` (``config.reject_zero_amount``): a
   completed order (line) with amount 0 -- dropped. ``non_product``: an order line whose ``product_id`` matches
   ``config.non_product_codes`` (postage, carriage, fees, discounts, manual adjustments: not a purchase of a
   product) -- dropped, its status and amount in ``reason`` so the money set aside can be stated
   (:func:`non_product_lines`).
6. ``incomplete_customer`` (``config.drop_incomplete_customers``): a customer row missing one of
   :data:`CUSTOMER_PROFILE_COLUMNS` that the table has; the rows of that customer in the other tables -- dropped.
7. ``duplicate``: an exact duplicate (all canonical columns, after conversion) of an earlier row -- dropped.
   ``duplicate_order_id`` / ``duplicate_customer_id`` / ``duplicate_ticket_id``: a repeated key with other
   content, in order-level orders (no product_id), customers and tickets -- dropped, the first row kept.
   ``order_conflict``: in line-level orders (product_id present), a line whose customer or calendar day differs
   from the order's first line -- dropped.
8. ``unknown_customer`` (customers given and ``config.unknown_customers == 'reject'``): orders, tickets and
   surveys whose customer is not among the clean customers -- dropped.
9. Status: mapped through ``config.status_map`` (case-insensitive; the canonical values map to themselves);
   ``unknown_status`` -- dropped; a missing status is ``completed``. ``negative_amount``: a negative amount on a
   completed order becomes ``returned`` (changed) when ``config.negative_amount_is_return``, else dropped.
10. ``extreme_amount``: a completed order's amount above the ``config.extreme_quantile`` quantile (the
    ``higher`` data value, so cleaning twice changes nothing) of the completed amounts dated up to the end of its
    own day -- never of later ones, so the snapshot at a past cut-off T is cleaned with what was known at T
    (:func:`running_quantile_caps`): flag / cap (changed) / drop / none.

Line-level orders (the source has ``product_id``) are aggregated per order after the rules (see
:func:`_orders_from_lines`; ``product_id`` and ``category`` stay in ``order_lines`` only).
Tickets: ``kind`` lower-cased, complaint kinds (``config.complaint_kinds``) stored as ``complaint``; a
``resolved_at`` before ``created_at`` becomes NaT (``resolved_before_created``, changed). Surveys: nps_score float
in [0, 10], mentions_brand parsed from yes/no/true/false/1/0/是/否. Other text columns are trimmed, and blank
values become missing, without a log entry.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from loyalist.config.models import CleaningConfig
from loyalist.data.dates import DateOrderError, parse_dates
from loyalist.data.privacy import mask_frame
from loyalist.data.schemas import ORDER_STATUSES, PII_COLUMNS, REJECT_COLUMNS, SCHEMAS, TableSchema
from loyalist.data.validate import validate_tables
from loyalist.errors import ConfigError, DataQualityError, SchemaError
from loyalist.schema import YEARS

__all__ = [
    "CleanResult", "clean_tables", "DateBounds", "RULES", "CUSTOMER_PROFILE_COLUMNS", "ORDER_LINE_COLUMNS", "SUMMARY_COLUMNS",
    "MAX_ID_CHANGE_RECORDS", "running_quantile_caps", "ExtraRule", "clean_customer_rows", "non_product_lines",
    "extreme_amount_totals",
]

#: Rule names in the order they are applied (the ``rule`` column of the rejects).
RULES: tuple[str, ...] = (
    "malformed_line", "out_of_scope", "missing_required", "normalise_id", "impossible_date", "unparseable_date", "unparseable_amount",
    "invalid_nps",
    "unparseable_number", "invalid_satisfaction", "unparseable_flag", "test_record", "zero_amount", "non_product",
    "incomplete_customer",
    "duplicate", "duplicate_order_id", "duplicate_customer_id", "duplicate_ticket_id", "order_conflict",
    "unknown_customer", "unknown_status", "negative_amount", "extreme_amount", "resolved_before_created",
    "invalid_churn_flag", "invalid_tenure",
)
#: Customer fields whose absence makes a customer row incomplete (rule 6), when the table has the column.
CUSTOMER_PROFILE_COLUMNS: tuple[str, ...] = ("name", "industry", "size", "region")
#: Columns of the ``order_lines`` table (those the source has; status always).
ORDER_LINE_COLUMNS: tuple[str, ...] = (
    "order_id", "customer_id", "order_date", "product_id", "category", "quantity", "amount", "status", "cost",
    "margin", "channel", "amount_flagged",
)
SUMMARY_COLUMNS: tuple[str, ...] = (
    "table", "rows_in", "rows_kept", "rows_rejected", "rows_changed", "encoding", "encoding_confidence",
    "time_zones",
)

_NULL_TOKENS = ("", "nan", "none", "null", "<na>", "na", "n/a", "#n/a", "nat", "-")
_TRUE = ("true", "t", "yes", "y", "1", "1.0", "是", "真", "对", "有")
_FALSE = ("false", "f", "no", "n", "0", "0.0", "否", "假", "错", "无")
_ID_COLUMNS = ("customer_id", "order_id", "ticket_id")
_CURRENCY = r"[¥￥$€£]|(?i:rmb|cny|usd|eur|gbp|hkd)|元|\s"
_THOUSANDS = r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$"
_TABLE_ORDER = ("customers", "orders", "tickets", "surveys")


@dataclass(frozen=True)
class CleanResult:
    """The output of :func:`clean_tables`.

    Attributes
    ----------
    tables : dict of str to DataFrame
        Clean canonical tables with schema dtypes (ids/text pandas ``string``, dates ``datetime64[ns]``, numbers
        ``float64``, flags ``boolean``), RangeIndex. ``orders`` is at order level (unique order_id) with a
        ``status`` column in ``completed``/``returned``/``cancelled`` (plus ``amount_flagged`` when extreme
        amounts are flagged). When the orders source had ``product_id`` it also holds ``order_lines``
        (:data:`ORDER_LINE_COLUMNS` that the source has).
    rejects : DataFrame
        :data:`~loyalist.data.schemas.REJECT_COLUMNS`; ``action`` is ``dropped`` or ``changed``.
    summary : DataFrame
        :data:`SUMMARY_COLUMNS`, one row per input table (rows of the *source* table: order lines for a
        line-level orders source). rows_in = rows_kept + rows_rejected. ``encoding`` and
        ``encoding_confidence``: how a text file was decoded (see :mod:`loyalist.data.textfile`), missing for
        other sources. ``time_zones``: JSON ``{column: {zone or UTC offset: values}}`` of the date columns whose
        values carried a time zone, which was dropped keeping each value's own wall clock
        (:func:`~loyalist.data.dates.parse_dates`); missing when none did.
    """

    tables: dict[str, pd.DataFrame]
    rejects: pd.DataFrame
    summary: pd.DataFrame


# ------------------------------------------------------------------------------------ value helpers


class _Col:
    """One raw column, factorised: distinct values are converted once and expanded by the codes."""

    def __init__(self, values: pd.Series):
        self.raw = values
        self.codes, uniques = pd.factorize(values, use_na_sentinel=True)
        self.uniques = uniques
        self.utext, self.ustr = _unique_text(uniques)

    def expand(self, uvalues, fill=None):
        """Full-length array from per-unique values (``fill`` where the raw value was NA)."""
        if isinstance(uvalues, pd.Series):
            uvalues = uvalues.array
        if isinstance(uvalues, pd.api.extensions.ExtensionArray):
            return uvalues.take(self.codes, allow_fill=True, fill_value=fill)
        arr = np.asarray(uvalues)
        if fill is None:
            arr = np.append(arr.astype(object), np.array([None], dtype=object))
        else:
            arr = np.append(arr, fill)
        return arr[self.codes]

    @property
    def text(self) -> pd.Series:
        return pd.Series(self.expand(self.utext), index=self.raw.index, dtype="string")

    @property
    def missing(self) -> np.ndarray:
        return self.expand(self.utext.isna().to_numpy(), fill=True).astype(bool)


def _unique_text(uniques: pd.Index) -> tuple[pd.Series, np.ndarray]:
    """Distinct raw values -> trimmed text (NA for blanks and null tokens), and whether each was a string."""
    n = len(uniques)
    dtype = uniques.dtype
    if pd.api.types.is_bool_dtype(dtype):
        text = pd.Series(np.where(np.asarray(uniques, bool), "True", "False"), dtype="string")
        is_str = np.zeros(n, bool)
    elif pd.api.types.is_integer_dtype(dtype):
        text = pd.Series(np.asarray(uniques).astype("int64").astype(str), dtype="string")
        is_str = np.zeros(n, bool)
    elif pd.api.types.is_float_dtype(dtype):
        text = pd.Series(_format_floats(np.asarray(uniques, dtype="float64")), dtype="string")
        is_str = np.zeros(n, bool)
    elif pd.api.types.is_datetime64_any_dtype(dtype):
        text = pd.Series(pd.DatetimeIndex(uniques).strftime("%Y-%m-%d %H:%M:%S"), dtype="string")
        is_str = np.zeros(n, bool)
    elif dtype != object and pd.api.types.is_string_dtype(dtype):  # noqa: E721 (numpy dtype equality)
        text = pd.Series(uniques, dtype="string").str.strip()
        is_str = np.ones(n, bool)
    else:  # object: a mix of Python values (Excel); one pass over the distinct values
        objs = np.asarray(uniques, dtype=object)
        is_str = np.fromiter((isinstance(v, str) for v in objs), bool, n)
        out = np.empty(n, dtype=object)
        for i, v in enumerate(objs):
            if isinstance(v, str):
                out[i] = v.strip()
            elif isinstance(v, (float, np.floating)) and float(v).is_integer():
                out[i] = str(int(v))
            elif isinstance(v, pd.Timestamp):
                out[i] = v.strftime("%Y-%m-%d %H:%M:%S")
            else:
                out[i] = str(v)
        text = pd.Series(out, dtype="string")
    null = text.str.lower().isin(_NULL_TOKENS).to_numpy(dtype=bool, na_value=True)
    return text.mask(null), is_str


def _format_floats(x: np.ndarray) -> np.ndarray:
    out = x.astype(str).astype(object)
    whole = np.isfinite(x) & (np.floor(np.where(np.isfinite(x), x, 0)) == x) & (np.abs(x) < 2**62)
    out[whole] = x[whole].astype("int64").astype(str)
    return out


def _numbers(col: _Col) -> np.ndarray:
    """Parse amounts: numbers pass; text may carry a currency sign or code, thousands commas, or (parentheses)
    for a negative. NaN where missing or unparseable; non-finite values are unparseable."""
    dtype = col.uniques.dtype
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        u = np.asarray(col.uniques, dtype="float64")
    else:
        t = col.utext.astype(object)
        neg = t.str.match(r"^\(.*\)$", na=False)
        t = t.str.replace(r"^\((.*)\)$", r"\1", regex=True).str.replace(_CURRENCY, "", regex=True)
        commas = t.str.contains(",", regex=False, na=False)
        grouped = t.str.match(_THOUSANDS, na=False)
        t = t.where(~commas | ~grouped, t.str.replace(",", "", regex=False)).mask(commas & ~grouped)
        u = pd.to_numeric(t, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        u = np.where(neg.to_numpy(dtype=bool), -u, u)
    u = np.where(np.isfinite(u), u, np.nan)
    return col.expand(u, fill=np.nan).astype("float64")


def _flags(col: _Col) -> np.ndarray:
    """Parse yes/no flags to a float array (1.0, 0.0, NaN)."""
    low = col.utext.str.lower()
    u = np.where(low.isin(_TRUE).to_numpy(bool, na_value=False), 1.0,
                 np.where(low.isin(_FALSE).to_numpy(bool, na_value=False), 0.0, np.nan))
    return col.expand(u, fill=np.nan).astype("float64")


def _contains(texts: pd.Series, pattern: str) -> np.ndarray:
    """Regex search on distinct texts, case-insensitive; NA never matches. A user's pattern may hold capturing
    groups (``'^(post|dot)$'``); only whether it matches counts, so pandas' warning about them is not shown."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "This pattern is interpreted as a regular expression", UserWarning)
        hit = texts.str.contains(pattern, regex=True, case=False, na=False)
    return hit.to_numpy(dtype=bool, na_value=False)


def _quoted(values) -> np.ndarray:
    """Values as quoted text for reasons (object array, positional)."""
    s = pd.Series(values, dtype="string").fillna("<NA>").to_numpy(dtype=object)
    return "'" + s + "'"


def _str(values) -> np.ndarray:
    """Numbers or dates as text for reasons (object array, positional)."""
    return pd.Series(np.asarray(values)).astype(str).to_numpy(dtype=object)


# ----------------------------------------------------------------------------------------- ledger


@dataclass
class _Segment:
    pos: np.ndarray
    rule: str
    action: str
    column: str | None
    reason: np.ndarray


#: A fixed reason, or one computed from the row mask (called with the mask only; ``...`` because the reasons are
#: often lambdas that bind loop variables as default arguments, which mypy cannot match to a one-argument type).
Reason = str | Callable[..., object]

#: At most this many distinct changed values of one id column get their own ``normalise_id`` record; the rest
#: are summarised in one record (so a table whose ids are all lower case stays cheap to clean).
MAX_ID_CHANGE_RECORDS = 1000


@dataclass
class _IdChange:
    """An id column's normalisation: per distinct raw value, whether it changed, old and new text."""

    column: str
    codes: np.ndarray
    changed_u: np.ndarray
    old_u: np.ndarray
    new_u: np.ndarray

    @property
    def rows(self) -> np.ndarray:
        return np.append(self.changed_u, False)[self.codes]

    def segments(self, alive: np.ndarray) -> list[_Segment]:
        """One record per distinct changed value (at its first kept row, with the row count), at most
        :data:`MAX_ID_CHANGE_RECORDS`, then one record for the remaining values."""
        pos = np.flatnonzero(self.rows & alive)
        if len(pos) == 0:
            return []
        codes = self.codes[pos]
        first = pos[~pd.Series(codes).duplicated().to_numpy()]
        ucodes = self.codes[first]
        counts = np.bincount(codes, minlength=len(self.changed_u))[ucodes]
        shown = slice(0, MAX_ID_CHANGE_RECORDS)
        c = self.column
        reason = (f"'{c}': " + _quoted(self.old_u[ucodes[shown]]) + " -> " + _quoted(self.new_u[ucodes[shown]])
                  + np.where(counts[shown] > 1, " (" + _str(counts[shown]) + " rows)", ""))
        out = [_Segment(first[shown], "normalise_id", "changed", c, reason.astype(object))]
        if len(first) > MAX_ID_CHANGE_RECORDS:
            rest = counts[MAX_ID_CHANGE_RECORDS:]
            out.append(_Segment(
                first[MAX_ID_CHANGE_RECORDS:MAX_ID_CHANGE_RECORDS + 1], "normalise_id", "changed", c,
                np.array([f"'{c}': {len(rest)} more distinct values in {int(rest.sum())} rows were trimmed or "
                          "case-normalised the same way (one record per value is kept for the first "
                          f"{MAX_ID_CHANGE_RECORDS})"], dtype=object),
            ))
        return out


class _Ledger:
    """Which rows are still alive, and what each rule dropped or changed."""

    def __init__(self, n: int):
        self.n = n
        self.alive = np.ones(n, dtype=bool)
        self.rule = np.full(n, None, dtype=object)
        self.changed = np.zeros(n, dtype=bool)
        self.segments: list[_Segment] = []
        self.id_changes: list[_IdChange] = []

    def _log(self, mask, rule: str, action: str, column: str | None, reason: Reason) -> np.ndarray:
        m = np.asarray(mask, dtype=bool) & self.alive
        if m.any():
            pos = np.flatnonzero(m)
            if callable(reason):
                text = np.asarray(pd.Series(reason(m)).astype(object), dtype=object)
            else:
                text = np.full(len(pos), reason, dtype=object)
            self.segments.append(_Segment(pos, rule, action, column, text))
        return m

    def drop(self, mask, rule: str, column: str | None, reason: Reason) -> np.ndarray:
        m = self._log(mask, rule, "dropped", column, reason)
        self.alive[m] = False
        self.rule[m] = rule
        return m

    def change(self, mask, rule: str, column: str | None, reason: Reason) -> np.ndarray:
        m = self._log(mask, rule, "changed", column, reason)
        self.changed |= m
        return m

    def change_ids(self, change: _IdChange) -> None:
        """Register an id normalisation; it is logged per distinct value of the kept rows, at the end."""
        self.id_changes.append(change)
        self.changed |= change.rows

    def n_changed(self) -> int:
        """Kept rows with at least one change."""
        return int((self.changed & self.alive).sum())

    def final_segments(self) -> list[_Segment]:
        """Id normalisations (summarised), dropped segments, and change segments of the rows finally kept."""
        out = [seg for change in self.id_changes for seg in change.segments(self.alive)]
        for seg in self.segments:
            if seg.action == "changed":
                keep = self.alive[seg.pos]
                if not keep.any():
                    continue
                seg = _Segment(seg.pos[keep], seg.rule, seg.action, seg.column, seg.reason[keep])
            out.append(seg)
        return out


@dataclass
class _Context:
    """What the customers table tells the other tables."""

    test_ids: set = field(default_factory=set)
    incomplete_ids: set = field(default_factory=set)
    known_ids: pd.Index | None = None


@dataclass
class _Outcome:
    table: str
    raw: pd.DataFrame
    ledger: _Ledger
    keys: pd.Series
    kept: pd.DataFrame
    lines: pd.DataFrame | None = None
    malformed: list = field(default_factory=list)  # (source_row, line, reason) of the lines the loader rejected
    encoding: tuple | None = None  # (encoding, confidence) of a text file
    time_zones: dict = field(default_factory=dict)  # column -> {zone or offset: values} dropped by parse_dates
    source_rows: np.ndarray | None = None  # per raw row: its position among the records of the file


# ----------------------------------------------------------------------------------------- cleaning


@dataclass(frozen=True)
class DateBounds:
    """The dates that can be real: from ``min_date`` through the end of the day ``max_date`` (either may be None)."""

    min_date: pd.Timestamp | None = None
    max_date: pd.Timestamp | None = None
    max_reason: str = "after the run date"

    @classmethod
    def of(cls, min_date=None, max_date=None, run_date=None) -> DateBounds:
        """Bounds from a floor, a configured ceiling and the run date (the earlier of the two ceilings wins)."""
        lo = pd.Timestamp(min_date).normalize() if min_date is not None else None
        ceilings = []
        if max_date is not None:
            ceilings.append((pd.Timestamp(max_date).normalize(), f"after data.max_date {pd.Timestamp(max_date).date()}"))
        if run_date is not None:
            ceilings.append((pd.Timestamp(run_date).normalize(),
                             f"after the run date {pd.Timestamp(run_date).date()} (a date in the future)"))
        if lo is not None and any(hi < lo for hi, _ in ceilings):
            hi = min(h for h, _ in ceilings)
            raise ConfigError(f"'data.min_date' {lo.date()} is after the latest possible date {hi.date()} "
                              "(data.max_date or the run date); lower data.min_date.")
        if not ceilings:
            return cls(lo, None)
        hi, why = min(ceilings, key=lambda c: c[0])
        return cls(lo, hi, why)


_YEAR_GROUP = r"(?<!\d)(\d{4})(?:\d{4}(?:\d{6})?)?(?!\d)"  # a 4-digit year, alone or leading yyyymmdd[HHMMSS]
_YEAR_MIN, _YEAR_MAX = YEARS  # what datetime64[ns] holds


def _impossible_dates(c: str, col: _Col, parsed: np.ndarray, bounds: DateBounds) -> tuple[np.ndarray, Callable]:
    """Rows whose date cannot be real, and the reason of each."""
    bad_u = np.zeros(len(col.utext), dtype=bool)  # per distinct value: a year pandas cannot hold
    years = col.utext.str.extractall(_YEAR_GROUP)[0].astype("int64") if len(col.utext) else None
    if years is not None and len(years):
        out = years[(years < _YEAR_MIN) | (years > _YEAR_MAX)]
        if len(out):
            bad_u[out.index.get_level_values(0).unique()] = True
    overflow = col.expand(bad_u, fill=False).astype(bool) & np.isnat(parsed)
    early = np.zeros(len(parsed), bool) if bounds.min_date is None else ~np.isnat(parsed) & (
        parsed < bounds.min_date.to_datetime64())
    late = np.zeros(len(parsed), bool) if bounds.max_date is None else ~np.isnat(parsed) & (
        parsed >= (bounds.max_date + pd.Timedelta(days=1)).to_datetime64())
    lo = bounds.min_date.date() if bounds.min_date is not None else None

    def reason(m):
        text = f"'{c}' value " + _quoted(col.text[m])
        why = np.where(overflow[m], f" has a year outside {_YEAR_MIN}-{_YEAR_MAX}, which no real date has "
                       "(and pandas cannot hold)",
                       np.where(early[m], f" is before data.min_date {lo}", f" is {bounds.max_reason}"))
        return text + why

    return overflow | early | late, reason


def clean_tables(
    raw: Mapping[str, pd.DataFrame], config: CleaningConfig, *, bounds: DateBounds | None = None
) -> CleanResult:
    """Clean the raw tables by the rules of this module.

    Parameters
    ----------
    raw : mapping of str to DataFrame
        Canonical table name -> raw frame with canonical column names (values may be strings), as
        :func:`loyalist.data.load.read_source` returns them. Extra columns are ignored (but kept in the rejects'
        ``record``). Input frames are never modified.
    config : CleaningConfig
        The cleaning rules' parameters.
    bounds : DateBounds, optional
        The dates that can be real (``DateBounds.of(data.min_date, data.max_date, run_date)``, the run date given
        by the job); dates outside are rejected as ``impossible_date``. Years outside 1678-2261 always are.

    Returns
    -------
    CleanResult
        Clean tables, rejects and summary. Per table rows_in = rows_kept + rows_rejected; cleaning a clean
        output again changes nothing and rejects nothing (``extreme_amounts='drop'`` excepted: the quantile of the
        survivors is lower), and never adds rows.

    Raises
    ------
    SchemaError
        A table lacks required columns (see :func:`loyalist.data.validate.validate_tables`).
    ConfigError
        A test-id pattern is not a valid regular expression.
    DataQualityError
        Every order row was rejected.
    """
    validate_tables(raw)
    bounds = bounds if bounds is not None else DateBounds()
    test_pattern = _test_pattern(config)
    _test_pattern(config, "test_product_patterns")
    _test_pattern(config, "non_product_codes")
    ctx = _Context()
    outcomes: dict[str, _Outcome] = {}
    if "customers" in raw:
        out = _clean_table("customers", raw["customers"], config, ctx, test_pattern, bounds)
        outcomes["customers"] = out
        ids = out.keys
        kept_ids = set(out.kept["customer_id"].dropna())
        ctx = _Context(
            test_ids=set(ids[out.ledger.rule == "test_record"].dropna()),
            incomplete_ids=set(ids[out.ledger.rule == "incomplete_customer"].dropna()) - kept_ids,
            known_ids=pd.Index(sorted(kept_ids)) if config.unknown_customers == "reject" else None,
        )
    for table in ("orders", "tickets", "surveys"):
        if table in raw:
            outcomes[table] = _clean_table(table, raw[table], config, ctx, test_pattern, bounds)
    tables: dict[str, pd.DataFrame] = {}
    for table in _TABLE_ORDER:
        if table in outcomes:
            tables[table] = outcomes[table].kept
            if outcomes[table].lines is not None:
                tables["order_lines"] = outcomes[table].lines
    rejects = _rejects(outcomes)
    summary = _summary(outcomes)
    orders = summary.loc[summary["table"] == "orders"].iloc[0]
    if orders["rows_kept"] == 0:
        top = rejects.loc[(rejects["table"] == "orders") & (rejects["action"] == "dropped"), "rule"].value_counts()
        rules = ", ".join(f"{r} ({c})" for r, c in top.head(3).items()) or "none: the table has no rows"
        raise DataQualityError(
            f"Every row of 'orders' was rejected ({orders['rows_in']} rows; top rules: {rules}); check the column "
            "mapping in data.orders.columns and the cleaning settings in data.cleaning."
        )
    return CleanResult(tables=tables, rejects=rejects, summary=summary)


@dataclass(frozen=True)
class ExtraRule:
    """A rule of a caller's own (customer-table mode: ``invalid_churn_flag``, ``invalid_tenure``,
    ``unparseable_number``), applied after this module's rules to the rows still alive: ``mask`` and ``reasons``
    are per raw row (``reasons`` is read where ``mask`` is true)."""

    rule: str
    action: str  # "dropped" | "changed"
    column: str
    mask: np.ndarray
    reasons: np.ndarray


def clean_customer_rows(
    raw: pd.DataFrame, config: CleaningConfig, *, bounds: DateBounds | None = None,
    extra_rules: tuple[ExtraRule, ...] = (),
) -> tuple[CleanResult, np.ndarray]:
    """Customer-table mode: clean a customers table alone (no orders) by this module's rules, then ``extra_rules``.

    Parameters
    ----------
    raw : DataFrame
        The customers table as :func:`loyalist.data.load.read_source` returns it (``keep_other=True``: the
        canonical columns, then the file's other columns, which only appear in the rejects' ``record``).

    Returns
    -------
    (CleanResult, ndarray)
        The result with the one table ``customers`` (canonical columns), its rejects and summary
        (rows in = kept + rejected); and the 0-based positions in ``raw`` of the kept rows, in the clean
        table's order, so the caller can carry the columns this module does not know.
    """
    if "customer_id" not in raw.columns:
        raise SchemaError(
            f"table 'customers' (from '{raw.attrs.get('source', '<in-memory frame>')}') lacks the required column "
            f"'customer_id'; the columns there are {list(raw.attrs.get('file_columns', raw.columns))}; map it in "
            "data.customers.columns."
        )
    for r in extra_rules:
        if r.rule not in RULES or r.action not in ("dropped", "changed"):
            raise ValueError(f"extra rule {r.rule!r} ({r.action!r}) is not a known rule and action; add it to RULES.")
    out = _clean_table("customers", raw, config, _Context(), _test_pattern(config), bounds or DateBounds(),
                       extra_rules=extra_rules)
    outcomes = {"customers": out}
    result = CleanResult(tables={"customers": out.kept}, rejects=_rejects(outcomes), summary=_summary(outcomes))
    return result, np.flatnonzero(out.ledger.alive)


def _test_pattern(config: CleaningConfig, key: str = "test_id_patterns") -> str | None:
    patterns = getattr(config, key)
    if not patterns:
        return None
    for p in patterns:
        try:
            re.compile(p)
        except re.error as exc:
            raise ConfigError(
                f"'data.cleaning.{key}' entry {p!r} is not a valid regular expression ({exc}); "
                "fix or remove it."
            ) from exc
    return "|".join(f"(?:{p})" for p in patterns)


def _clean_table(
    table: str, raw: pd.DataFrame, config: CleaningConfig, ctx: _Context, test_pattern: str | None,
    bounds: DateBounds, extra_rules: tuple[ExtraRule, ...] = (),
) -> _Outcome:
    schema = SCHEMAS[table]
    attrs = dict(raw.attrs)
    raw = raw.reset_index(drop=True)
    n = len(raw)
    led = _Ledger(n)
    cols = {c: _Col(raw[c]) for c in schema.columns if c in raw.columns}
    work: dict[str, object] = {}

    # 1. out_of_scope
    for c, rx in (attrs.get("filters") or {}).items():
        if c in cols:
            col = cols[c]
            ok = col.expand(_contains_case(col.utext, rx), fill=False).astype(bool)
            led.drop(~ok, "out_of_scope", c,
                     lambda m, col=col, c=c, rx=rx: f"'{c}' value " + _quoted(col.text[m]) + f" does not match "
                     f"the filter {rx!r}")
    # 2. missing_required
    for c in schema.required:
        led.drop(cols[c].missing, "missing_required", c, f"required column '{c}' is empty")
    # 3. normalise_id
    ids_u: dict[str, pd.Series] = {}  # normalised id per distinct raw value, reused by the test-id rule
    for c in _ID_COLUMNS:
        if c in cols:
            ids_u[c] = _normalise_ids(cols[c], c, config, led, logged=c != attrs.get("synthesized_key"))
            work[c] = cols[c].expand(ids_u[c])
    # 4. conversions
    dayfirst, fmt = config.dayfirst, attrs.get("date_format")
    time_zones: dict[str, dict[str, int]] = {}
    for c, kind in schema.dtypes.items():
        if c not in cols or c in work:
            continue
        col = cols[c]
        if kind == "datetime":
            try:
                zones: dict[str, int] = {}
                parsed = parse_dates(raw[c], dayfirst=dayfirst, fmt=fmt, zones=zones).to_numpy()
                if zones:
                    time_zones[c] = zones
            except DateOrderError as exc:
                source = attrs.get("source")
                where = "its SQL query" if source == "sql" else f"'{source}'" if source else "its input"
                fix = ("fix data." + table + ".date_format" if fmt else
                       "set data." + table + ".date_format to the file's format (for example '%d/%m/%Y %H:%M')")
                raise DataQualityError(f"Column '{c}' of table '{table}' ({where}) {exc.message}; {fix}.") from exc
            impossible, why = _impossible_dates(c, col, parsed, bounds)
            bad = np.isnat(parsed) & ~col.missing & ~impossible

            def reason(m, col=col, c=c):
                return f"'{c}' value " + _quoted(col.text[m]) + " is not a date"

            if c in schema.required:
                led.drop(impossible, "impossible_date", c, why)
                led.drop(bad, "unparseable_date", c, reason)
            else:
                led.change(impossible, "impossible_date", c, lambda m, r=why: r(m) + "; set to NaT")
                led.change(bad, "unparseable_date", c, lambda m, r=reason: r(m) + "; set to NaT")
                parsed = np.where(impossible, np.datetime64("NaT", "ns"), parsed)
            work[c] = parsed
        elif kind == "float":
            work[c] = _convert_number(table, c, col, led)
        elif kind == "bool":
            values = _flags(col)
            bad = np.isnan(values) & ~col.missing
            led.change(bad, "unparseable_flag", c,
                       lambda m, col=col, c=c: f"'{c}' value " + _quoted(col.text[m]) + " is not yes/no; set to NA")
            work[c] = values
        else:
            work[c] = col.expand(col.utext)
    if table == "orders":
        work["status"] = _order_status(cols.get("status"), config, n)
    if table == "tickets" and "kind" in cols:
        kinds = pd.Series(work["kind"], dtype="string").str.lower()
        complaint = kinds.isin([k.strip().lower() for k in config.complaint_kinds]).to_numpy(bool, na_value=False)
        work["kind"] = kinds.mask(complaint, "complaint").array
    frame = pd.DataFrame(work, index=raw.index)
    codes = _value_codes(frame, cols, ids_u)

    # 5. test_record, zero_amount
    _test_records(table, frame, cols, ids_u, ctx, test_pattern, led)
    if table == "orders":
        _test_products(frame, cols, config, led)
    # 6. incomplete_customer
    if config.drop_incomplete_customers:
        if table == "customers":
            for c in CUSTOMER_PROFILE_COLUMNS:
                if c in cols:
                    led.drop(cols[c].missing, "incomplete_customer", c, f"customer has no '{c}'")
        elif ctx.incomplete_ids:
            ids = frame["customer_id"]
            led.drop(ids.isin(list(ctx.incomplete_ids)).to_numpy(bool), "incomplete_customer", "customer_id",
                     lambda m: "customer " + _quoted(ids[m]) + " was rejected as incomplete")
    # 7. duplicates
    line_level = table == "orders" and "product_id" in cols
    canonical = [c for c in schema.columns if c in frame.columns]
    _duplicates(codes[canonical], led)
    if line_level:
        _order_conflicts(frame, codes, led)
    elif schema.key:
        _duplicate_keys(frame[schema.key[0]], codes[schema.key[0]], led)
    # 8. unknown_customer
    if table != "customers" and ctx.known_ids is not None:
        ids = frame["customer_id"]
        unknown = ~ids.isin(ctx.known_ids).to_numpy(bool)
        led.drop(unknown, "unknown_customer", "customer_id",
                 lambda m: "customer " + _quoted(ids[m]) + " is not in the clean customers table")
    # 9-10. status, negative and extreme amounts
    if table == "orders":
        frame = _status_rules(frame, cols.get("status"), config, led)
        frame = _extreme_amounts(frame, raw, config, led)
    if table == "tickets" and "resolved_at" in frame.columns and "created_at" in frame.columns:
        early = (frame["resolved_at"] < frame["created_at"]).to_numpy(bool)
        res = frame["resolved_at"]
        led.change(early, "resolved_before_created", "resolved_at",
                   lambda m: "'resolved_at': " + _quoted(res[m].astype(str)) + " -> NaT (before created_at)")
        frame["resolved_at"] = res.mask(early & led.alive)
    for r in extra_rules:
        log = led.drop if r.action == "dropped" else led.change
        log(r.mask, r.rule, r.column, lambda m, r=r: r.reasons[m])

    key = schema.key[0] if schema.key else "customer_id"
    keys = pd.Series(frame[key], dtype="string").fillna(cols[key].text)
    kept = frame.loc[led.alive].reset_index(drop=True)
    extra = ["amount_flagged"] if "amount_flagged" in kept.columns else []
    kept = _cast(kept[[c for c in schema.columns if c in kept.columns and c != "description"] + extra], schema)
    lines = None
    if line_level:
        lines = kept[[c for c in ORDER_LINE_COLUMNS if c in kept.columns]]
        kept = _orders_from_lines(lines)
    source_rows = attrs.get("source_rows")
    if source_rows is not None:
        source_rows = np.asarray(source_rows, dtype="int64")
        if len(source_rows) != n:
            source_rows = None
    return _Outcome(table=table, raw=raw, ledger=led, keys=keys, kept=kept, lines=lines,
                    malformed=list(attrs.get("malformed") or []), source_rows=source_rows,
                    encoding=(attrs["encoding"], attrs.get("encoding_confidence")) if attrs.get("encoding") else None,
                    time_zones=time_zones)


def _contains_case(texts: pd.Series, pattern: str) -> np.ndarray:
    return texts.str.contains(pattern, regex=True, na=False).to_numpy(dtype=bool, na_value=False)


def _normalise_ids(col: _Col, c: str, config: CleaningConfig, led: _Ledger, *, logged: bool) -> pd.Series:
    """Normalised id per distinct raw value (string Series aligned with ``col.uniques``); registers the
    ``normalise_id`` log of the string values that changed."""
    u = col.utext.str.replace(r"^([+-]?\d+)\.0+$", r"\1", regex=True)
    if config.id_case == "upper":
        u = u.str.upper()
    elif config.id_case == "lower":
        u = u.str.lower()
    if logged:
        original = pd.Series(col.uniques.astype(str) if len(col.uniques) else [], dtype="string")
        changed_u = col.ustr & (u != original).to_numpy(bool, na_value=False)
        if changed_u.any():
            led.change_ids(_IdChange(c, col.codes, changed_u, original.to_numpy(dtype=object, na_value=None),
                                     u.to_numpy(dtype=object, na_value=None)))
    return u


def _convert_number(table: str, c: str, col: _Col, led: _Ledger) -> np.ndarray:
    values = _numbers(col)
    bad = np.isnan(values) & ~col.missing
    shown = lambda m: f"'{c}' value " + _quoted(col.text[m])  # noqa: E731
    if c == "amount":
        led.drop(bad, "unparseable_amount", c, lambda m: shown(m) + " is not a number")
    elif c == "nps_score":
        out_of_range = ~np.isnan(values) & ((values < 0) | (values > 10))
        led.drop(bad | out_of_range, "invalid_nps", c, lambda m: shown(m) + " is not a number from 0 to 10")
    else:
        led.change(bad, "unparseable_number", c, lambda m: shown(m) + " is not a number; set to NaN")
        values = np.where(bad, np.nan, values)
        if c == "satisfaction":
            off = ~np.isnan(values) & ((values < 1) | (values > 5))
            led.change(off, "invalid_satisfaction", c, lambda m: shown(m) + " is outside 1-5; set to NaN")
            values = np.where(off, np.nan, values)
    return values


def _status_map(config: CleaningConfig) -> dict[str, str]:
    mapping = {s: s for s in (*ORDER_STATUSES, "test")}
    mapping.update({k.strip().lower(): v for k, v in config.status_map.items()})
    return mapping


def _order_status(col: _Col | None, config: CleaningConfig, n: int) -> np.ndarray:
    """Mapped status per row; ``completed`` when missing, None when unknown."""
    if col is None:
        return np.full(n, "completed", dtype=object)
    u = col.utext.str.lower().map(_status_map(config)).astype(object)
    u = u.where(col.utext.notna(), "completed")
    return col.expand(u.to_numpy(dtype=object), fill="completed")


def _test_records(table, frame, cols, ids_u, ctx, test_pattern, led) -> None:
    if table == "orders":
        led.drop((frame["status"] == "test").to_numpy(bool), "test_record", "status",
                 lambda m: "'status' " + _quoted(cols["status"].text[m]) + " marks a test order")
    if table == "customers" and "is_test" in frame.columns:
        led.drop((frame["is_test"] == 1.0).to_numpy(bool), "test_record", "is_test", "customer is flagged is_test")
    if test_pattern is not None:
        for c, u in ids_u.items():
            ids = frame[c]
            hit = cols[c].expand(_contains(u, test_pattern), fill=False).astype(bool)
            led.drop(hit, "test_record", c,
                     lambda m, ids=ids, c=c: f"'{c}' " + _quoted(ids[m]) + " matches a test id pattern")
    if table != "customers" and ctx.test_ids:
        ids = frame["customer_id"]
        led.drop(ids.isin(list(ctx.test_ids)).to_numpy(bool), "test_record", "customer_id",
                 lambda m: "customer " + _quoted(ids[m]) + " is a test customer")


def _test_products(frame: pd.DataFrame, cols: dict[str, _Col], config: CleaningConfig, led: _Ledger) -> None:
    """Order lines of test products (``config.test_product_patterns`` on product_id or description), and
    completed lines with amount 0 (``config.reject_zero_amount``)."""
    pattern = _test_pattern(config, "test_product_patterns")
    if pattern is not None:
        for c in ("product_id", "description"):
            if c in cols:
                col = cols[c]
                hit = col.expand(_contains(col.utext, pattern), fill=False).astype(bool)
                led.drop(hit, "test_record", c, lambda m, col=col, c=c: f"'{c}' " + _quoted(col.text[m])
                         + " matches a test product pattern (data.cleaning.test_product_patterns)")
    if config.reject_zero_amount:
        zero = ((frame["amount"] == 0) & (frame["status"] == "completed")).to_numpy(bool, na_value=False)
        led.drop(zero, "zero_amount", "amount", "'amount' is 0 on a completed order: not a purchase "
                 "(data.cleaning.reject_zero_amount)")
    pattern = _test_pattern(config, "non_product_codes")
    if pattern is not None and "product_id" in cols:
        col = cols["product_id"]
        hit = col.expand(_contains(col.utext, pattern), fill=False).astype(bool)
        status = pd.Series(frame["status"], dtype=object).fillna("unknown").to_numpy(dtype=object)
        amount = frame["amount"].to_numpy(dtype="float64")
        led.drop(hit, "non_product", "product_id",
                 lambda m: "'product_id' " + _quoted(col.text[m]) + " (" + status[m] + " line, amount "
                 + _str(amount[m]) + ") is a non-product code (data.cleaning.non_product_codes): not a purchase")


_NON_PRODUCT = re.compile(r"^'product_id' '(.*)' \((\w+) line, amount (\S+)\) is a non-product code")


def non_product_lines(rejects: pd.DataFrame | None) -> pd.DataFrame:
    """The order lines set aside as ``non_product``, per code, from the rejects' reasons.

    Returns
    -------
    DataFrame
        Columns ``product_id``, ``lines``, ``completed_amount`` (the lines that were not cancellations),
        ``cancelled_amount``, ``amount`` (their sum); one row per code, most lines first. Empty when none.
    """
    cols = ["product_id", "lines", "completed_amount", "cancelled_amount", "amount"]
    if rejects is None or not len(rejects):
        return pd.DataFrame(columns=cols)
    rows = rejects[(rejects["table"].astype("string") == "orders")
                   & (rejects["rule"].astype("string") == "non_product")]
    if not len(rows):
        return pd.DataFrame(columns=cols)
    parts = rows["reason"].astype("string").str.extract(_NON_PRODUCT)
    amount = pd.to_numeric(parts[2], errors="coerce").fillna(0.0)
    cancelled = (parts[1] == "cancelled").to_numpy(bool, na_value=False)
    frame = pd.DataFrame({"product_id": parts[0].fillna("?"), "lines": 1,
                          "completed_amount": np.where(cancelled, 0.0, amount),
                          "cancelled_amount": np.where(cancelled, amount, 0.0)})
    out = frame.groupby("product_id", sort=False).sum().reset_index()
    out["amount"] = out["completed_amount"] + out["cancelled_amount"]
    return out.sort_values(["lines", "product_id"], ascending=[False, True], kind="stable").reset_index(drop=True)[cols]


def _value_codes(frame: pd.DataFrame, cols: dict[str, _Col], ids_u: dict[str, pd.Series]) -> pd.DataFrame:
    """The converted values as numbers (text -> integer codes, dates -> int64, -1 / NaN for missing), so
    duplicate checks hash numbers; id and text columns reuse the factorisation of their raw column."""
    out = {}
    for c in frame.columns:
        s = frame[c]
        if c in ids_u or (c in cols and c not in ("status", "kind") and isinstance(s.dtype, pd.StringDtype)):
            per_unique = ids_u[c] if c in ids_u else cols[c].utext
            out[c] = np.append(pd.factorize(per_unique, use_na_sentinel=True)[0], -1)[cols[c].codes]
        elif pd.api.types.is_datetime64_dtype(s.dtype):
            out[c] = s.to_numpy().view("int64")
        elif pd.api.types.is_float_dtype(s.dtype):
            out[c] = s.to_numpy()
        else:
            out[c] = pd.factorize(s, use_na_sentinel=True)[0]
    return pd.DataFrame(out, index=frame.index)


def _first_positions(groups: np.ndarray, alive: np.ndarray) -> np.ndarray:
    """For each alive row, the position of the first alive row with the same group value."""
    pos = np.flatnonzero(alive)
    return pd.Series(pos).groupby(groups[alive], sort=False).transform("first").to_numpy()


def _duplicates(codes: pd.DataFrame, led: _Ledger) -> None:
    alive = led.alive.copy()
    sub = codes.loc[alive]
    dup = sub.duplicated(keep="first").to_numpy()
    if not dup.any():
        return
    hashes = np.zeros(len(codes), dtype="uint64")
    hashes[alive] = pd.util.hash_pandas_object(sub, index=False).to_numpy()
    first = np.zeros(len(codes), dtype="int64")
    first[alive] = _first_positions(hashes, alive)
    mask = np.zeros(len(codes), dtype=bool)
    mask[np.flatnonzero(alive)[dup]] = True
    led.drop(mask, "duplicate", None, lambda m: "exact duplicate of source row " + _str(first[m]))


def _duplicate_keys(keys: pd.Series, key_codes: pd.Series, led: _Ledger) -> None:
    alive = led.alive.copy()
    kc = key_codes.to_numpy()
    dup = np.zeros(len(keys), dtype=bool)
    dup[alive] = pd.Series(kc[alive]).duplicated(keep="first").to_numpy()
    if not dup.any():
        return
    first = np.zeros(len(keys), dtype="int64")
    first[alive] = _first_positions(kc, alive)
    key = keys.name
    led.drop(dup, f"duplicate_{key}", key,
             lambda m: f"'{key}' " + _quoted(keys[m]) + " repeats with other content; kept source row "
             + _str(first[m]))


def _order_conflicts(frame: pd.DataFrame, codes: pd.DataFrame, led: _Ledger) -> None:
    alive = led.alive.copy()
    if not alive.any():
        return
    order = codes["order_id"].to_numpy()[alive]
    cust = codes["customer_id"].to_numpy()[alive]
    day = frame["order_date"].to_numpy(dtype="datetime64[D]")[alive].view("int64")
    grouped = pd.DataFrame({"cust": cust, "day": day}).groupby(order, sort=False)
    bad_sub = ((cust != grouped["cust"].transform("first").to_numpy())
               | (day != grouped["day"].transform("first").to_numpy()))
    if not bad_sub.any():
        return
    first = np.zeros(len(frame), dtype="int64")
    first[alive] = _first_positions(codes["order_id"].to_numpy(), alive)
    mask = np.zeros(len(frame), dtype=bool)
    mask[np.flatnonzero(alive)[bad_sub]] = True
    ids = frame["order_id"]
    led.drop(mask, "order_conflict", "order_id",
             lambda m: "order " + _quoted(ids[m]) + " has lines with another customer or day; kept the lines "
             "matching source row " + _str(first[m]))


def _status_rules(frame: pd.DataFrame, col: _Col | None, config: CleaningConfig, led: _Ledger) -> pd.DataFrame:
    status = frame["status"]
    if col is not None:
        led.drop(status.isna().to_numpy(bool), "unknown_status", "status",
                 lambda m: "'status' " + _quoted(col.text[m]) + " is not in data.cleaning.status_map")
    amount = frame["amount"]
    negative = ((status == "completed") & (amount < 0)).to_numpy(bool)
    def shown(m):
        return "'amount' " + _str(amount[m].to_numpy()) + " is negative on a completed order"

    if config.negative_amount_is_return:
        m = led.change(negative, "negative_amount", "status",
                       lambda m: shown(m) + "; 'status': 'completed' -> 'returned'")
        frame["status"] = status.mask(m, "returned")
    else:
        led.drop(negative, "negative_amount", "amount", shown)
    return frame


def running_quantile_caps(
    amounts: np.ndarray, dates: np.ndarray, eligible: np.ndarray, q: float, mode: str = "cap"
) -> np.ndarray:
    """The extreme-amount threshold of each eligible row, learned from the amounts dated up to that row's day.

    The threshold of day d is the ``q`` quantile (the ``higher`` data value) of the eligible amounts dated on or
    before the end of day d, as cleaning leaves them: with ``mode='cap'`` earlier amounts enter capped, with
    ``'drop'`` the dropped ones are left out, with ``'flag'`` every amount enters as it is. Amounts dated after day
    d never change it (the time rule: a snapshot at T reads the same values whatever was appended after T), and
    cleaning capped amounts again gives the same thresholds (the quantile of a prefix does not move when the
    values above it are lowered to it).

    Parameters
    ----------
    amounts, dates : ndarray
        Per row: the amount (float64) and the date (datetime64).
    eligible : ndarray of bool
        The rows the quantile is learned from and applied to (alive completed orders).
    q : float
        The quantile, in (0.5, 1).
    mode : {'cap', 'drop', 'flag'}

    Returns
    -------
    ndarray of float64
        Per row: the threshold of its day (NaN for rows that are not eligible). A row is extreme when its amount is
        above its threshold.

    Notes
    -----
    One pass over the distinct days in time order, keeping only the top ``ceil((1 - q) * n) + 1`` amounts seen so
    far (the quantile needs no more): about (days x that many) operations, a second for millions of orders at
    q = 0.999.
    """
    out = np.full(len(amounts), np.nan)
    pos = np.flatnonzero(eligible)
    if len(pos) == 0:
        return out
    day = dates[pos].astype("datetime64[D]").view("int64")
    order = np.argsort(day, kind="stable")  # pos is ascending: ties keep source order
    pos, day = pos[order], day[order]
    values = amounts[pos].astype("float64")
    starts = np.flatnonzero(np.r_[True, day[1:] != day[:-1]])
    ends = np.r_[starts[1:], len(pos)]
    keep = int(np.ceil((1.0 - q) * len(pos))) + 2  # the largest rank from the top ever needed, plus slack
    top = np.empty(0)  # the largest `keep` amounts of the prefix so far (as cleaning left them), unsorted
    seen = 0
    for a, b in zip(starts, ends, strict=False):
        today = values[a:b]
        k = seen + (b - a)
        idx = int(np.ceil(q * (k - 1)))  # numpy's 'higher' position in the sorted prefix
        from_top = k - 1 - idx  # 0-based rank from the largest
        pool = np.concatenate([top, today])
        threshold = float(-np.partition(-pool, from_top)[from_top])
        out[pos[a:b]] = threshold
        if mode == "cap":
            today = np.minimum(today, threshold)
        elif mode == "drop":
            today = today[today <= threshold]
            k = seen + len(today)
        pool = np.concatenate([top, today])
        top = pool if len(pool) <= keep else -np.partition(-pool, keep - 1)[:keep]
        seen = k
    return out


def _extreme_amounts(frame: pd.DataFrame, raw: pd.DataFrame, config: CleaningConfig, led: _Ledger) -> pd.DataFrame:
    """Rule 10. Each completed order's amount is compared with the threshold learned from the completed amounts
    dated up to its own day (:func:`running_quantile_caps`), never with later data: the snapshot at any past
    cut-off T reads amounts cleaned with what was known at T."""
    mode = config.extreme_amounts
    if mode == "none":
        return frame
    amount = frame["amount"].to_numpy(dtype="float64")
    completed = led.alive & (frame["status"] == "completed").to_numpy(bool)
    dates = frame["order_date"].to_numpy(dtype="datetime64[ns]")
    threshold = running_quantile_caps(amount, dates, completed, config.extreme_quantile, mode)
    extreme = completed & (amount > np.where(np.isnan(threshold), np.inf, threshold))
    q = config.extreme_quantile
    day = pd.Series(dates).dt.strftime("%Y-%m-%d").to_numpy(dtype=object)
    shown = lambda m: "'amount' " + _str(amount[m])  # noqa: E731
    learned = lambda m: f" the {q} quantile of completed amounts dated up to " + day[m]  # noqa: E731
    above = lambda m: " is above" + learned(m) + " (" + _str(threshold[m]) + ")"  # noqa: E731
    if mode == "drop":
        led.drop(extreme, "extreme_amount", "amount", lambda m: shown(m) + above(m))
    elif mode == "cap":
        led.change(extreme, "extreme_amount", "amount",
                   lambda m: shown(m) + " -> " + _str(threshold[m]) + " (capped at" + learned(m) + ")")
        frame["amount"] = np.where(extreme, threshold, amount)
    else:  # flag
        before = np.zeros(len(frame), dtype=bool)
        if "amount_flagged" in raw.columns:
            before = _flags(_Col(raw["amount_flagged"])) == 1.0
        led.change(extreme & ~before, "extreme_amount", "amount_flagged",
                   lambda m: shown(m) + above(m) + "; flagged")
        frame["amount_flagged"] = extreme
    return frame


_CAPPED = re.compile(r"^'amount' (-?[0-9.eE+-]+) -> (-?[0-9.eE+-]+) \(capped at")
_FLAGGED = re.compile(r"^'amount' (-?[0-9.eE+-]+) is above .* \((-?[0-9.eE+-]+)\); flagged$")


def extreme_amount_totals(rejects: pd.DataFrame | None) -> dict[str, float]:
    """What rule 10 did to the orders' money, from the rejects' reasons: ``capped_rows`` and ``capped_cut`` (the
    amount the cap removed), ``flagged_rows`` and ``flagged_over`` (how far the flagged amounts, counted in full,
    exceed their thresholds). Zeros when the rule changed nothing."""
    out = {"capped_rows": 0, "capped_cut": 0.0, "flagged_rows": 0, "flagged_over": 0.0}
    if rejects is None or not len(rejects):
        return out
    reasons = rejects.loc[(rejects["table"].astype("string") == "orders")
                          & (rejects["rule"].astype("string") == "extreme_amount"), "reason"].astype("string")
    for name, rx, key in (("capped", _CAPPED, "cut"), ("flagged", _FLAGGED, "over")):
        parts = reasons.str.extract(rx)
        diff = pd.to_numeric(parts[0], errors="coerce") - pd.to_numeric(parts[1], errors="coerce")
        out[f"{name}_rows"], out[f"{name}_{key}"] = int(diff.notna().sum()), float(diff.sum())
    return out


def _cast(df: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    out = {}
    for c in df.columns:
        kind = schema.dtypes.get(c, "bool" if c == "amount_flagged" else "string")
        s = df[c]
        if kind == "string":
            out[c] = s.astype("string")
        elif kind == "datetime":
            out[c] = s.astype("datetime64[ns]")
        elif kind == "float":
            out[c] = s.astype("float64")
        else:
            out[c] = pd.array(pd.Series(s, dtype="float64").map({1.0: True, 0.0: False}), dtype="boolean") \
                if s.dtype != bool else s.astype("boolean")
    return pd.DataFrame(out, index=df.index)


def _orders_from_lines(lines: pd.DataFrame) -> pd.DataFrame:
    """Aggregate order lines to one row per order_id (in order of first appearance).

    customer_id, channel: first line; order_date: earliest line; amount, quantity, cost, margin: sums (NaN
    when all lines are NaN); status: ``cancelled`` when every line is cancelled, ``returned`` when every line is
    returned or cancelled, else ``completed``; amount_flagged: any line flagged.
    """
    g = lines.groupby("order_id", sort=False)
    out = pd.DataFrame({"customer_id": g["customer_id"].first(), "order_date": g["order_date"].min()})
    out["amount"] = g["amount"].sum(min_count=1)
    for c in ("quantity", "cost", "margin"):
        if c in lines.columns:
            out[c] = g[c].sum(min_count=1)
    if "channel" in lines.columns:
        out["channel"] = g["channel"].first()
    status = lines["status"]
    flags = pd.DataFrame({
        "order_id": lines["order_id"],
        "cancelled": (status == "cancelled").to_numpy(bool),
        "not_completed": (status != "completed").to_numpy(bool),
    }).groupby("order_id", sort=False).all().reindex(out.index)
    out["status"] = np.where(flags["cancelled"], "cancelled", np.where(flags["not_completed"], "returned",
                                                                       "completed"))
    if "amount_flagged" in lines.columns:
        out["amount_flagged"] = g["amount_flagged"].any()
    out = out.rename_axis("order_id").reset_index()
    cols = [c for c in SCHEMAS["orders"].columns if c in out.columns] + (
        ["amount_flagged"] if "amount_flagged" in out.columns else [])
    return _cast(out[cols], SCHEMAS["orders"])


# ------------------------------------------------------------------------------------------ outputs


def _records(raw: pd.DataFrame, pos: np.ndarray) -> np.ndarray:
    """The raw rows at ``pos`` as compact JSON (non-ASCII kept), PII columns masked."""
    if len(pos) == 0:
        return np.array([], dtype=object)
    rows = mask_frame(raw.iloc[pos], PII_COLUMNS)
    text = rows.to_json(orient="records", lines=True, force_ascii=False, date_format="iso", default_handler=str)
    # pandas escapes every '/' as '\/'; undo it (the only backslash right before a '/' is that escape)
    lines = text.replace("\\/", "/").split("\n")
    return np.array(lines[: len(pos)], dtype=object)


def _rejects(outcomes: dict[str, _Outcome]) -> pd.DataFrame:
    frames = []
    for table in _TABLE_ORDER:
        if table not in outcomes:
            continue
        out = outcomes[table]
        if out.malformed:
            frames.append(pd.DataFrame({
                "table": table,
                "source_row": np.array([m[0] for m in out.malformed], dtype="int64"),
                "key": None, "rule": "malformed_line", "action": "dropped", "column": None,
                "reason": [f"line {line} {why}; fix or remove that line of the file" for _, line, why in out.malformed],
                "record": None,
            }))
        segments = out.ledger.final_segments()
        if not segments:
            continue
        pos = np.concatenate([s.pos for s in segments])
        uniq, inverse = np.unique(pos, return_inverse=True)
        records = _records(out.raw, uniq)[inverse]
        keys = out.keys.to_numpy(dtype=object, na_value=None)
        rows = out.source_rows[pos] if out.source_rows is not None else pos
        frames.append(pd.DataFrame({
            "table": table,
            "source_row": rows.astype("int64"),
            "key": keys[pos],
            "rule": np.concatenate([np.full(len(s.pos), s.rule, dtype=object) for s in segments]),
            "action": np.concatenate([np.full(len(s.pos), s.action, dtype=object) for s in segments]),
            "column": np.concatenate([np.full(len(s.pos), s.column, dtype=object) for s in segments]),
            "reason": np.concatenate([s.reason for s in segments]),
            "record": records,
        }).sort_values("source_row", kind="stable"))
    if not frames:
        rejects = pd.DataFrame({c: pd.Series(dtype="int64" if c == "source_row" else "string")
                                for c in REJECT_COLUMNS})
    else:
        rejects = pd.concat(frames, ignore_index=True)
        order = rejects["table"].map({t: k for k, t in enumerate(_TABLE_ORDER)})
        rejects = rejects.assign(_t=order).sort_values(["_t", "source_row"], kind="stable").drop(columns="_t")
        rejects = rejects.reset_index(drop=True)
    return rejects.astype({c: ("int64" if c == "source_row" else "string") for c in REJECT_COLUMNS})[
        list(REJECT_COLUMNS)]


def _summary(outcomes: dict[str, _Outcome]) -> pd.DataFrame:
    rows = []
    for table in _TABLE_ORDER:
        if table not in outcomes:
            continue
        led = outcomes[table].ledger
        bad = len(outcomes[table].malformed)
        n_changed = led.n_changed()
        kept = int(led.alive.sum())
        enc = outcomes[table].encoding or (None, None)
        rows.append({"table": table, "rows_in": led.n + bad, "rows_kept": kept, "rows_rejected": led.n - kept + bad,
                     "rows_changed": n_changed, "encoding": enc[0],
                     "encoding_confidence": np.nan if enc[1] is None else float(enc[1]),
                     "time_zones": json.dumps(outcomes[table].time_zones, sort_keys=True)
                     if outcomes[table].time_zones else None})
    summary = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    return summary.astype({"table": "string", "rows_in": "int64", "rows_kept": "int64", "rows_rejected": "int64",
                           "rows_changed": "int64", "encoding": "string", "encoding_confidence": "float64",
                           "time_zones": "string"})
