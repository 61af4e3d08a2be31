"""Vectorised parsing of the date formats met in CRM exports.

Each distinct value is parsed once (``pd.factorize``), and the distinct strings are parsed by format group with
regular expressions, so millions of rows with a few thousand distinct dates take well under a second.
"""

from __future__ import annotations

import datetime as dt
import numbers

import numpy as np
import pandas as pd

from loyalist.schema import YEARS

__all__ = ["parse_dates", "DateOrderError", "EXCEL_SERIAL_RANGE", "EXCEL_EPOCH"]


class DateOrderError(ValueError):
    """The day/month order of a column's ``3/5/2024``-style dates contradicts itself or the given format.

    ``message`` completes a sentence that starts with the column's name; the caller adds the table, column and fix.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

#: Numbers in this closed range are read as Excel serial day numbers (1954-10-04 .. 2119-01-10).
EXCEL_SERIAL_RANGE: tuple[float, float] = (20000.0, 80000.0)
#: Day 0 of Excel's (1900, Lotus-compatible) serial date system.
EXCEL_EPOCH = pd.Timestamp("1899-12-30")

_NS = "datetime64[ns]"
_YEAR_MIN, _YEAR_MAX = YEARS  # datetime64[ns] bounds
_COMPACT_MIN, _COMPACT_MAX = 19000101, 21001231

_YEAR_TOKEN = r"(?<!\d)(?:1[6-9]|2[0-2])\d{2}(?!\d)"
_TIME = r"(?:[ T]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}(?:\.\d+)?))?)?"
_PATTERNS = {
    # 2024-03-05, 2024/3/5, 2024.03.05, with an optional time
    "ymd": rf"^(?P<y>\d{{4}})[-/.](?P<m>\d{{1,2}})[-/.](?P<d>\d{{1,2}}){_TIME}$",
    # 3/5/2024 or 5/3/2024 (dayfirst decides when both readings are valid)
    "xxy": rf"^(?P<a>\d{{1,2}})[-/.](?P<b>\d{{1,2}})[-/.](?P<y>\d{{4}}){_TIME}$",
    # 2024年3月5日, 2024年3月5日 14时30分, 2024年3月5日 14:30:05
    "zh": (
        r"^(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]?"
        r"(?:\s*(?P<H>\d{1,2})\s*[时點点:：]\s*(?:(?P<M>\d{1,2})\s*分?)?\s*(?:[:：]?\s*(?P<S>\d{1,2})\s*秒?)?)?$"
    ),
    # 20240305 and 20240305143000
    "compact": r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?:(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})?)?$",
    # Excel serial numbers as text: 45356, 45356.5
    "serial": r"^(?P<n>\d{5}(?:\.\d+)?)$",
}


def parse_dates(
    values: pd.Series, *, dayfirst: bool = False, fmt: str | None = None, zones: dict[str, int] | None = None
) -> pd.Series:
    """Parse dates in mixed formats to ``datetime64[ns]``; ``NaT`` where a value cannot be read.

    Accepted: ISO dates with or without a time (``2024-03-05``, ``2024-03-05 14:30:00``, ``2024-03-05T14:30``),
    slashes or dots (``2024/3/5``, ``3/5/2024``): a column has one day/month order, so when any of its values
    can only be read day first (``25/03/2024``) all of them are, when any can only be read month first
    (``03/25/2024``) all of them are, and ``dayfirst`` decides only when every value reads both ways (a UK
    export's ``01/12/2009`` is 1 December when ``13/12/2009`` is in the same column),
    Chinese (``2024年3月5日``, ``2024年3月5日 14时30分``), compact ``yyyymmdd`` (``20240305`` as int or str, also
    ``yyyymmddHHMMSS``), Excel serial day numbers in :data:`EXCEL_SERIAL_RANGE` (``45356``, ``45356.5`` =
    noon; rounded to the second), and values that already are datetimes (time zones are dropped, wall time kept).
    Anything else goes to pandas' mixed-format parser as a last resort.

    Parameters
    ----------
    values : Series
        Strings, numbers, datetimes or a mix (object dtype); leading and trailing spaces are ignored.
    dayfirst : bool
        Read ``03/04/2024`` as 3 April instead of 4 March.
    fmt : str, optional
        A ``strptime`` format tried first; values it does not match are parsed as above.
    zones : dict, optional
        When given, filled with the time zones the parsed values carried (dropped, each value keeping its own wall
        clock) -> how many values carried each: the zone's name for a time-zone-aware column (``{"UTC": 1000}``
        for a Parquet timestamp stored in UTC), else the UTC offset (``"+08:00"``; ``Z``/``UTC``/``GMT`` are
        ``"+00:00"``) of each text or datetime value that had one. Empty when no value had a zone.

    Returns
    -------
    Series
        ``datetime64[ns]``, same index and name as ``values``.

    Raises
    ------
    DateOrderError
        The column holds values that can only be read day first and others that can only be read month first, or
        ``fmt`` puts the day before the month (or after it) and values it does not match can only be read the other
        way round: either way the values that read both ways cannot be told apart.
    """
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        out_tz = _holdable(s.dt.tz_localize(None))
        if zones is not None and (n := int(out_tz.notna().sum())):
            zones[str(s.dt.tz)] = zones.get(str(s.dt.tz), 0) + n
        return out_tz
    if pd.api.types.is_datetime64_dtype(s.dtype):
        return _holdable(s)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    labels = np.full(len(uniques), None, dtype=object) if zones is not None else None
    parsed = _parse_uniques(uniques, dayfirst=dayfirst, fmt=fmt, labels=labels)
    out = np.full(len(s), np.datetime64("NaT", "ns"))
    has = codes >= 0
    out[has] = parsed[codes[has]]
    if zones is not None and labels is not None:
        carried = np.flatnonzero(pd.notna(labels) & ~np.isnat(parsed))
        if len(carried):
            counts = np.bincount(codes[has], minlength=len(uniques))
            for i in carried:
                zones[labels[i]] = zones.get(labels[i], 0) + int(counts[i])
    return pd.Series(out, index=s.index, name=s.name, dtype=_NS)


#: A UTC offset or zone at the end of a date-time text: ``...14:30+08:00``, ``...14:30:05.1Z``, ``... 14:30 GMT``.
_OFFSET = (r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?P<z>[zZ]|(?i:utc|gmt)|[+-]\d{2}(?::?\d{2})?)"
           r"(?:\s*\((?i:utc|gmt)\))?$")


def _offset_label(offset: dt.timedelta | None) -> str | None:
    """``+08:00`` for an offset of 8 hours (None stays None)."""
    if offset is None:
        return None
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _offset_labels(strings: pd.Series) -> np.ndarray:
    """The UTC offset each date-time text ends with (``+08:00``; ``Z``, ``UTC``, ``GMT`` -> ``+00:00``), else None."""
    z = strings.str.strip().str.extract(_OFFSET)["z"]
    out = np.full(len(strings), None, dtype=object)
    for i, text in enumerate(z.to_numpy(dtype=object)):
        if not isinstance(text, str):
            continue
        if text.lower() in ("z", "utc", "gmt"):
            out[i] = "+00:00"
            continue
        digits = text[1:].replace(":", "")
        out[i] = f"{text[0]}{digits[:2]}:{(digits[2:] or '00')}"
    return out


def _holdable(s: pd.Series) -> pd.Series:
    """A naive datetime Series of any unit as ``datetime64[ns]``; values outside the years datetime64[ns] holds
    (a year-3000 cell of an Excel or Parquet file, read at second or microsecond resolution) become NaT."""
    arr = s.to_numpy()
    out_of_range = (arr < np.datetime64(f"{_YEAR_MIN}-01-01")) | (arr >= np.datetime64(f"{_YEAR_MAX + 1}-01-01"))
    if out_of_range.any():
        arr = np.where(out_of_range, np.datetime64("NaT"), arr)
    return pd.Series(arr.astype(_NS), index=s.index, name=s.name, dtype=_NS)


def _parse_uniques(
    uniques: pd.Index, *, dayfirst: bool, fmt: str | None, labels: np.ndarray | None = None
) -> np.ndarray:
    """Parse distinct values; returns a datetime64[ns] array aligned with ``uniques``; ``labels`` (an object array
    aligned with ``uniques``), when given, gets the UTC offset of each value that carried one (dropped)."""
    n = len(uniques)
    out = np.full(n, np.datetime64("NaT", "ns"))
    if n == 0:
        return out
    dtype = uniques.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return out
    if pd.api.types.is_numeric_dtype(dtype):
        return _from_numbers(np.asarray(uniques, dtype="float64"))
    if pd.api.types.is_string_dtype(dtype) and dtype != object:  # noqa: E721 (numpy dtype equality)
        return _from_strings(pd.Series(uniques.astype(str), dtype=object), dayfirst=dayfirst, fmt=fmt,
                             labels=labels)
    # object dtype: split by the Python type of each distinct value
    objs = np.asarray(uniques, dtype=object)
    is_str = np.fromiter((isinstance(v, str) for v in objs), bool, n)
    is_num = np.fromiter(
        (isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) for v in objs), bool, n
    )
    is_dt = np.fromiter((isinstance(v, (dt.date, np.datetime64)) for v in objs), bool, n)
    if is_str.any():
        sub = np.full(int(is_str.sum()), None, dtype=object) if labels is not None else None
        out[is_str] = _from_strings(pd.Series(objs[is_str], dtype=object), dayfirst=dayfirst, fmt=fmt, labels=sub)
        if labels is not None:
            labels[is_str] = sub
    if is_num.any():
        out[is_num] = _from_numbers(objs[is_num].astype("float64"))
    if is_dt.any():
        stamps = [pd.Timestamp(v) for v in objs[is_dt]]
        if labels is not None:
            labels[is_dt] = [_offset_label(t.utcoffset()) if t.tzinfo is not None else None for t in stamps]
        out[is_dt] = np.array(
            [
                (t.tz_localize(None) if t.tzinfo is not None else t).as_unit("ns").to_datetime64()
                if _YEAR_MIN <= t.year <= _YEAR_MAX
                else np.datetime64("NaT", "ns")
                for t in stamps
            ],
            dtype=_NS,
        )
    return out


def _from_numbers(x: np.ndarray) -> np.ndarray:
    """yyyymmdd integers and Excel serial numbers; anything else is NaT."""
    out = np.full(len(x), np.datetime64("NaT", "ns"))
    finite = np.isfinite(x)
    whole = finite & (np.floor(np.where(finite, x, 0)) == np.where(finite, x, 0))
    compact = whole & (x >= _COMPACT_MIN) & (x <= _COMPACT_MAX)
    if compact.any():
        v = x[compact].astype("int64")
        out[compact] = _assemble(pd.DataFrame({"y": v // 10000, "m": v // 100 % 100, "d": v % 100}))
    lo, hi = EXCEL_SERIAL_RANGE
    serial = finite & (x >= lo) & (x <= hi)
    if serial.any():
        seconds = np.round(x[serial] * 86400.0).astype("int64")
        out[serial] = EXCEL_EPOCH.to_datetime64().astype(_NS) + seconds.astype("timedelta64[s]").astype(
            "timedelta64[ns]"
        )
    return out


def _assemble(parts: pd.DataFrame) -> np.ndarray:
    """Build datetimes from numeric columns y, m, d and optional H, M, S (S may hold fractions)."""
    n = len(parts)
    out = np.full(n, np.datetime64("NaT", "ns"))
    y = pd.to_numeric(parts["y"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    m = pd.to_numeric(parts["m"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    d = pd.to_numeric(parts["d"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)

    def _col(name: str) -> np.ndarray:
        if name not in parts:
            return np.zeros(n)
        v = pd.to_numeric(parts[name], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        return np.nan_to_num(v, nan=0.0)

    hh, mm, ss = _col("H"), _col("M"), _col("S")
    ok = (
        (y >= _YEAR_MIN) & (y <= _YEAR_MAX) & (m >= 1) & (m <= 12) & (d >= 1) & (d <= 31)
        & (hh < 24) & (mm < 60) & (ss < 61)
    )
    if not ok.any():
        return out
    dates = pd.to_datetime(
        pd.DataFrame({"year": y[ok].astype("int64"), "month": m[ok].astype("int64"), "day": d[ok].astype("int64")}),
        errors="coerce",
    ).to_numpy(dtype=_NS)
    offset = np.round((hh[ok] * 3600.0 + mm[ok] * 60.0 + ss[ok]) * 1e6).astype("int64").astype("timedelta64[us]")
    out[ok] = dates + offset.astype("timedelta64[ns]")
    return out


def _from_strings(
    strings: pd.Series, *, dayfirst: bool, fmt: str | None, labels: np.ndarray | None = None
) -> np.ndarray:
    """Parse distinct strings (object Series, RangeIndex) by format group; ``labels`` as in :func:`_parse_uniques`
    (only pandas' fallback parser reads offsets: the format groups take none)."""
    s = strings.str.strip()
    out = np.full(len(s), np.datetime64("NaT", "ns"))
    todo = np.ones(len(s), dtype=bool)
    if fmt is not None:
        parsed = pd.to_datetime(s, format=fmt, errors="coerce").to_numpy(dtype=_NS)
        done = ~np.isnat(parsed)
        out[done], todo = parsed[done], ~done
    for name, pattern in _PATTERNS.items():
        if not todo.any():
            break
        parts = s[todo].str.extract(pattern)
        matched = parts.notna().any(axis=1).to_numpy() if len(parts.columns) else np.zeros(todo.sum(), bool)
        if name == "ymd" or name == "zh" or name == "compact":
            parsed = _assemble(parts)
        elif name == "xxy":
            parsed = _day_month(parts, _column_dayfirst(s[todo][matched], parts[matched], dayfirst, fmt))
        else:  # serial
            parsed = _from_numbers(pd.to_numeric(parts["n"], errors="coerce").to_numpy(dtype="float64"))
        idx = np.flatnonzero(todo)[matched]
        out[idx] = parsed[matched]
        todo[idx] = False
    if todo.any():
        out[todo] = _fallback(s[todo], dayfirst=dayfirst)
        if labels is not None:
            labels[todo] = _offset_labels(s[todo])
    return out


def _format_dayfirst(fmt: str | None) -> bool | None:
    """True when ``fmt`` puts the day before the month, False when after, None without both."""
    if fmt is None or "%d" not in fmt or "%m" not in fmt:
        return None
    return fmt.index("%d") < fmt.index("%m")


def _column_dayfirst(texts: pd.Series, parts: pd.DataFrame, dayfirst: bool, fmt: str | None) -> bool:
    """The day/month order of a column's ``a/b/yyyy`` values: the one its unambiguous values prove, else
    ``dayfirst``; raises :class:`DateOrderError` when they prove both, or the opposite of ``fmt``'s order."""
    a = pd.to_numeric(parts["a"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    b = pd.to_numeric(parts["b"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    only_day_first = (a > 12) & (a <= 31) & (b >= 1) & (b <= 12)
    only_month_first = (b > 12) & (b <= 31) & (a >= 1) & (a <= 12)
    text = texts.to_numpy(dtype=object)
    by_format = _format_dayfirst(fmt)
    if by_format is not None:
        against = only_month_first if by_format else only_day_first
        if against.any():
            n = int(against.sum())
            raise DateOrderError(
                f"has {n:,} distinct value{'s' if n != 1 else ''} such as {text[against][0]!r} that date_format "
                f"{fmt!r} does not match and that can only be read {'month' if by_format else 'day'} first, "
                f"while date_format reads the {'day' if by_format else 'month'} first"
            )
        return by_format
    if only_day_first.any() and only_month_first.any():
        raise DateOrderError(
            f"mixes dates that can only be read day first ({text[only_day_first][0]!r}) with dates that can only "
            f"be read month first ({text[only_month_first][0]!r}), so dates such as 03/04 cannot be read"
        )
    if only_day_first.any():
        return True
    if only_month_first.any():
        return False
    return dayfirst


def _day_month(parts: pd.DataFrame, dayfirst: bool) -> np.ndarray:
    a = pd.to_numeric(parts["a"], errors="coerce")
    b = pd.to_numeric(parts["b"], errors="coerce")
    first, second = (b, a) if dayfirst else (a, b)  # (month, day) in the preferred reading
    month = first.where(first <= 12, second)
    day = second.where(first <= 12, first)
    return _assemble(parts.assign(y=parts["y"], m=month, d=day))


def _fallback(strings: pd.Series, *, dayfirst: bool) -> np.ndarray:
    """pandas' own mixed-format parser, one value at a time when the batch mixes time zones.

    Only strings holding a four-digit year are tried: pandas fills a missing date from today's date
    (``'10:30'`` would become today), and library code never reads the clock.
    """
    out = np.full(len(strings), np.datetime64("NaT", "ns"))
    has_year = strings.str.contains(_YEAR_TOKEN, regex=True, na=False).to_numpy(dtype=bool)
    if has_year.any():
        out[has_year] = _fallback_parse(strings[has_year], dayfirst=dayfirst)
    return out


def _fallback_parse(strings: pd.Series, *, dayfirst: bool) -> np.ndarray:
    try:
        parsed = pd.to_datetime(strings, format="mixed", dayfirst=dayfirst, errors="coerce")
        if isinstance(parsed.dtype, pd.DatetimeTZDtype):
            parsed = parsed.dt.tz_localize(None)
        return parsed.to_numpy(dtype=_NS)
    except (ValueError, TypeError, OverflowError):
        pass
    out = np.full(len(strings), np.datetime64("NaT", "ns"))
    for i, v in enumerate(strings):
        try:
            t = pd.Timestamp(pd.to_datetime(v, dayfirst=dayfirst))
        except (ValueError, TypeError, OverflowError):
            continue
        if t is not pd.NaT and _YEAR_MIN <= t.year <= _YEAR_MAX:
            out[i] = (t.tz_localize(None) if t.tzinfo is not None else t).as_unit("ns").to_datetime64()
    return out
