"""The raw side of the synthetic generator: fast id strings, dirty records and the user-like raw files.

:func:`make_dirty` turns the generator's clean canonical tables into the tables a user would really export:
dates become text in mixed formats, amounts become text, and about 1-2% of the rows are dirty in every way the
cleaner handles (test records, duplicates, conflicting order ids, odd id formats, extreme, negative and
non-numeric amounts, unknown customers, incomplete customers, invalid NPS answers). Every dirty row is listed in
a log (table, row position, kind, expected effect), so cleaning tests can check each one.

:func:`write_raw` writes the four tables as the files ``loyalist/config/demo.yaml`` maps (:data:`RAW_FILES`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa

from loyalist.errors import InputFileError
from loyalist.io import atomic_path

__all__ = [
    "RAW_FILES",
    "DIRTY_KINDS",
    "DIRTY_LOG_COLUMNS",
    "HasTables",
    "IdScheme",
    "digit_strings",
    "sequence_strings",
    "take_strings",
    "to_strings",
    "make_dirty",
    "write_raw",
]

class HasTables(Protocol):
    """What :func:`write_raw` writes: anything with ``tables()`` (``loyalist.data.synthetic.SyntheticData``).

    A protocol rather than an import of ``SyntheticData``: the generator imports this module, so this module does
    not import the generator (no import cycle).
    """

    def tables(self) -> Mapping[str, pd.DataFrame | None]: ...


#: table -> (file name, encoding, {canonical column: header in the file}); ``loyalist/config/demo.yaml`` maps these.
RAW_FILES: dict[str, tuple[str, str, dict[str, str]]] = {
    "orders": ("orders.csv", "utf-8", {
        "order_id": "order_no", "customer_id": "client_id", "order_date": "order_date", "amount": "amount_cny",
        "product_id": "sku", "category": "category", "quantity": "qty", "channel": "channel", "status": "status",
        "cost": "cost_cny",
    }),
    "customers": ("customers.csv", "gb18030", {
        "customer_id": "客户编号", "name": "客户名称", "industry": "所属行业", "size": "企业规模", "region": "所在地区",
        "signup_date": "签约日期", "contact": "联系方式", "is_test": "测试账户",
    }),
    "tickets": ("tickets.csv", "utf-8", {
        "ticket_id": "工单号", "customer_id": "客户编号", "created_at": "创建时间", "kind": "类型", "stage": "环节",
        "severity": "严重程度", "resolved_at": "解决时间",
    }),
    "surveys": ("surveys.csv", "utf-8", {
        "customer_id": "customer_id", "answered_at": "answered_at", "nps_score": "nps",
        "mentions_brand": "mentions_brand", "satisfaction": "satisfaction", "respondent": "respondent",
    }),
}

#: kind -> (what it is, the effect a correct cleaner has: 'reject' the row, 'repair' it and keep it, or 'either'
#: when it depends on the cleaning config).
DIRTY_KINDS: dict[str, tuple[str, str]] = {
    "date_format": ("a date written as 2024/03/05, 2024年3月5日 or an Excel serial number such as 45356", "repair"),
    "id_format": ("a customer id with surrounding spaces and/or in lower case, e.g. '  c000123 '", "repair"),
    "amount_thousands": ("an amount written with thousands separators, e.g. '1,234.50'", "repair"),
    "extreme_amount": ("an order amount multiplied by 100", "repair"),
    "negative_amount": ("an extra order row with a negative amount and status 'completed' (a refund)", "repair"),
    "test_order": ("an extra order with status 'test' and an order id 'TEST-...'", "reject"),
    "test_customer": ("an extra customer flagged is_test, named '测试客户'", "reject"),
    "test_customer_order": ("an order of a test customer", "reject"),
    "duplicate_row": ("an exact copy of another row", "reject"),
    "conflicting_order_id": ("an extra row repeating an earlier order id with a different date and amount", "reject"),
    "non_numeric_amount": ("an extra order whose amount is not a number ('N/A', '--', '待定')", "reject"),
    "unknown_customer": ("an extra row for a customer id absent from the customers table (C9...)", "reject"),
    "blank_id": ("an extra customer row whose customer_id is blank", "reject"),
    "missing_industry": ("an extra customer row without industry (no orders)", "either"),
    "invalid_nps": ("an extra survey answer whose nps_score is 11 or 'abc'", "reject"),
}

#: Columns of the dirty log: ``row`` is the 0-based row position in the raw table (= data row in the file).
DIRTY_LOG_COLUMNS: tuple[str, ...] = ("table", "row", "kind", "column", "key", "effect")

_KEYS = {"orders": "order_id", "customers": "customer_id", "tickets": "ticket_id", "surveys": "customer_id"}
_DATE_COLUMNS = {
    "orders": ("order_date",), "customers": ("signup_date",), "tickets": ("created_at", "resolved_at"),
    "surveys": ("answered_at",),
}
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")


# ------------------------------------------------------------------------------------------ id strings


@dataclass(frozen=True)
class IdScheme:
    """Identifier formats: customers ``C`` + ``customer_width`` digits (real customers 1..n, extra customers after
    them, unknown customers ``C9...``), orders ``O`` + digits, tickets ``T`` + digits."""

    customer_width: int
    order_width: int
    ticket_width: int

    @classmethod
    def for_sizes(cls, n_customers: int, n_orders: int, n_tickets: int) -> IdScheme:
        width = max(6, len(str(n_customers + 1000)))
        if n_customers + 1000 >= 9 * 10 ** (width - 1):  # keep C9... free for unknown customers
            width += 1
        return cls(width, max(8, len(str(n_orders + n_orders // 5 + 1000))),
                   max(7, len(str(n_tickets + n_tickets // 5 + 1000))))

    def customer(self, numbers: np.ndarray) -> pd.arrays.ArrowStringArray:
        return digit_strings(numbers, self.customer_width, "C")

    def unknown_customer(self, k: int) -> str:
        return f"C{9 * 10 ** (self.customer_width - 1) + k:0{self.customer_width}d}"

    def order(self, number: int) -> str:
        return f"O{number:0{self.order_width}d}"

    def ticket(self, number: int) -> str:
        return f"T{number:0{self.ticket_width}d}"


def _from_bytes(buf: np.ndarray) -> pd.arrays.ArrowStringArray:
    n, w = buf.shape
    large = (n + 1) * w >= 2**31
    offsets = np.arange(0, (n + 1) * w, w, dtype=np.int64 if large else np.int32)
    kind = pa.LargeStringArray if large else pa.StringArray
    arr = kind.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(buf)))
    return pd.arrays.ArrowStringArray(arr)


def digit_strings(numbers: np.ndarray, width: int, prefix: str = "") -> pd.arrays.ArrowStringArray:
    """``prefix`` + each non-negative integer zero-padded to ``width`` digits, as a pandas ``string`` array."""
    p = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    x = np.asarray(numbers, dtype=np.int64).copy()
    buf = np.empty((len(x), len(p) + width), dtype=np.uint8)
    buf[:, : len(p)] = p
    for j in range(width - 1, -1, -1):
        q = x // 10
        buf[:, len(p) + j] = 48 + (x - q * 10)
        x = q
    return _from_bytes(buf)


def sequence_strings(n: int, width: int, prefix: str) -> pd.arrays.ArrowStringArray:
    """``prefix`` + 1, 2, ..., n zero-padded to ``width`` digits (fast for tens of millions of ids)."""
    p = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    m = n + 1  # numbers 0..n; row 0 is dropped
    buf = np.empty((m, len(p) + width), dtype=np.uint8)
    buf[:, : len(p)] = p
    digits = np.arange(48, 58, dtype=np.uint8)
    for j in range(width):  # the digit of place value 10**j is column width-1-j
        block = np.repeat(digits, 10**j) if 10**j <= m else np.full(1, 48, dtype=np.uint8)
        buf[:, len(p) + width - 1 - j] = np.tile(block, -(-m // len(block)))[:m]
    return _from_bytes(buf[1:])


def take_strings(levels, codes: np.ndarray) -> pd.arrays.ArrowStringArray:
    """``levels[codes]`` as a pandas ``string`` array (negative codes -> <NA>), computed in Arrow.

    ``levels`` is a sequence of str or a pandas string array (e.g. the customer ids, with codes = positions).
    """
    codes = np.asarray(codes)
    small = np.int8 if len(levels) < 127 else np.int16 if len(levels) < 32000 else np.int32
    if isinstance(levels, pd.arrays.ArrowStringArray):
        dictionary = pa.array(levels).cast(pa.string())  # zero-copy view of the Arrow data (+ offset cast)
    else:
        dictionary = pa.array(list(levels), pa.string())
    if (codes < 0).any():
        idx = pa.array(np.where(codes >= 0, codes, 0).astype(small), mask=codes < 0)
    else:
        idx = pa.array(codes.astype(small, copy=False))
    return pd.arrays.ArrowStringArray(dictionary.take(idx))


def to_strings(values: np.ndarray) -> pd.arrays.ArrowStringArray:
    """An object array of Python strings (None -> <NA>) as a pandas ``string`` array."""
    return pd.array(values, dtype="string")


# ------------------------------------------------------------------------------------------ date text


def _iso(values: pd.Series, with_time: bool) -> pd.Series:
    arr = values.to_numpy(dtype="datetime64[ns]")
    text = np.datetime_as_string(arr.astype("datetime64[s]" if with_time else "datetime64[D]"))
    out = pd.Series(text, index=values.index, dtype="string")
    if with_time:
        out = out.str.replace("T", " ", regex=False)
    return out.mask(values.isna())


def _odd_date(ts: pd.Timestamp, style: str, with_time: bool) -> str:
    if style == "slash":
        return ts.strftime("%Y/%m/%d %H:%M:%S" if with_time else "%Y/%m/%d")
    if style == "zh":
        text = f"{ts.year}年{ts.month}月{ts.day}日"
        return text + f" {ts.hour}时{ts.minute:02d}分{ts.second:02d}秒" if with_time else text
    serial = (ts - _EXCEL_EPOCH) / pd.Timedelta(days=1)
    return f"{serial:.6f}" if with_time else str(int(serial))


def _money(values: np.ndarray) -> np.ndarray:
    return np.char.mod("%.2f", np.asarray(values, dtype=float)).astype(object)


# ------------------------------------------------------------------------------------------ dirty rows


class _Assembler:
    """Collect modifications of clean rows and extra rows for one raw table, then interleave them."""

    def __init__(self, table: str, base: pd.DataFrame, rng: np.random.Generator, next_number: Callable[[], int]):
        self.table, self.base, self.rng = table, base.reset_index(drop=True), rng
        self.next_number = next_number  # the next free number of this table's key (orders, tickets)
        self.kind = np.full(len(base), None, dtype=object)
        self.column = np.full(len(base), None, dtype=object)
        self.free = rng.permutation(len(base))  # clean rows not yet touched, in random order
        self.added: list[tuple[pd.DataFrame, str, str, np.ndarray]] = []

    def pick(self, k: int, candidates: np.ndarray | None = None) -> np.ndarray:
        pool = self.free if candidates is None else self.free[np.isin(self.free, candidates)]
        rows = np.sort(pool[:k])
        self.free = self.free[~np.isin(self.free, rows)]
        return rows

    def modify(self, rows: np.ndarray, kind: str, column: str, values) -> None:
        if len(rows):
            col = self.base.columns.get_loc(column)
            self.base.iloc[rows, col] = pd.array(list(values), dtype=self.base[column].dtype)
            self.kind[rows], self.column[rows] = kind, column

    def add(self, rows: pd.DataFrame, kind: str, column: str, after: np.ndarray | None = None) -> None:
        if len(rows):
            n = max(len(self.base), 1)
            low = np.zeros(len(rows), dtype=np.int64) if after is None else np.asarray(after)
            after_pos = low + np.floor(self.rng.random(len(rows)) * (n - low)).astype(np.int64)
            self.added.append((rows.reset_index(drop=True), kind, column, after_pos))

    def build(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        frames = [self.base]
        keys = [2 * np.arange(len(self.base), dtype=np.int64)]
        kinds, columns = [self.kind], [self.column]
        for rows, kind, column, after_pos in self.added:
            frames.append(rows.astype(self.base.dtypes.to_dict()))
            keys.append(2 * after_pos + 1)
            kinds.append(np.full(len(rows), kind, dtype=object))
            columns.append(np.full(len(rows), column, dtype=object))
        out = pd.concat(frames, ignore_index=True)
        order = np.argsort(np.concatenate(keys), kind="stable")
        out = out.iloc[order].reset_index(drop=True)
        kind_of, column_of = np.concatenate(kinds)[order], np.concatenate(columns)[order]
        rows = np.flatnonzero(kind_of != None)  # noqa: E711 (element-wise)
        log = pd.DataFrame({
            "table": pd.array([self.table] * len(rows), dtype="string"),
            "row": rows.astype(np.int64),
            "kind": pd.array(kind_of[rows].tolist(), dtype="string"),
            "column": pd.array(column_of[rows].tolist(), dtype="string"),
            "key": out[_KEYS[self.table]].iloc[rows].astype("string").to_numpy(),
            "effect": pd.array([DIRTY_KINDS[k][1] for k in kind_of[rows]], dtype="string"),
        })
        return out, log


def _count(n: int, share: float, minimum: int) -> int:
    return max(minimum, int(round(share * n)))


def _stringify(table: str, df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in _DATE_COLUMNS[table]:
        if col in out:
            out[col] = _iso(out[col], with_time=table == "tickets")
    if table == "orders":
        out["amount"] = pd.array(_money(out["amount"].to_numpy()), dtype="string")
    if table == "surveys":
        out["nps_score"] = out["nps_score"].map(lambda x: str(int(x))).astype("string")
    return out


def _common_dirt(a: _Assembler, ids: IdScheme, with_unknown: int, with_dup: int) -> None:
    """Kinds shared by every table: id formats, date formats, unknown customers, exact duplicates."""
    n, table = len(a.base), a.table
    rows = a.pick(_count(n, 0.003, 1))
    styles = ("  {} ", "{}", " {}  ")
    a.modify(rows, "id_format", "customer_id",
             [styles[i % 3].format(v.lower() if i % 3 != 2 else v) for i, v in
              enumerate(a.base["customer_id"].iloc[rows])])
    with_time = table == "tickets"
    for col in _DATE_COLUMNS[table]:
        if col not in a.base or (table == "tickets" and col == "resolved_at"):
            continue
        present = np.flatnonzero(a.base[col].notna().to_numpy())
        rows = a.pick(_count(n, 0.006, 3), present)
        for i, r in enumerate(rows):
            style = ("slash", "zh", "excel")[i % 3]
            cols = [col] + (["resolved_at"] if table == "tickets" else [])
            for c in cols:
                v = a.base.at[r, c]
                if not pd.isna(v):
                    a.base.at[r, c] = _odd_date(pd.Timestamp(v), style, with_time)
            a.kind[r], a.column[r] = "date_format", col
    if with_unknown:
        src = a.base.iloc[a.rng.integers(0, n, with_unknown)].copy()
        src["customer_id"] = [ids.unknown_customer(k) for k in range(len(src))]
        if table == "orders":
            src["order_id"] = [ids.order(a.next_number()) for _ in range(len(src))]
        if table == "tickets":
            src["ticket_id"] = [ids.ticket(a.next_number()) for _ in range(len(src))]
        a.add(src, "unknown_customer", "customer_id")
    if with_dup:
        a.add(a.base.iloc[a.pick(with_dup)].copy(), "duplicate_row", "")


def _orders(a: _Assembler, ids: IdScheme, test_customers: list[str]) -> None:
    n = len(a.base)
    completed = np.flatnonzero((a.base["status"] == "completed").to_numpy()) if "status" in a.base else None
    amounts = pd.to_numeric(a.base["amount"]).to_numpy()
    big = np.flatnonzero(amounts >= 1000)
    rows = a.pick(_count(n, 0.002, 1), big if len(big) else None)
    a.modify(rows, "amount_thousands", "amount", [f"{x:,.2f}" for x in amounts[rows]])
    rows = a.pick(_count(n, 0.0005, 1), completed)
    a.modify(rows, "extreme_amount", "amount", _money(amounts[rows] * 100))

    def copies(k: int, new_ids: bool = True) -> pd.DataFrame:
        src = a.base.iloc[a.pick(k, completed)].copy()
        if new_ids:
            src["order_id"] = [ids.order(a.next_number()) for _ in range(len(src))]
        return src

    rows = copies(_count(n, 0.002, 2), new_ids=False)
    rows["order_id"] = [f"TEST-{k + 1:05d}" for k in range(len(rows))]
    if "status" in rows:
        rows["status"] = "test"
    a.add(rows, "test_order", "order_id")
    src = a.pick(_count(n, 0.001, 1), completed)
    rows = a.base.iloc[src].copy()
    rows["amount"] = _money(amounts[src] * 1.5 + 10)
    rows["order_date"] = [(pd.Timestamp(d) + pd.Timedelta(days=2)).strftime("%Y-%m-%d") for d in rows["order_date"]]
    a.add(rows, "conflicting_order_id", "order_id", after=src)
    rows = copies(_count(n, 0.001, 1))
    rows["amount"] = _money(-pd.to_numeric(rows["amount"]).to_numpy())
    a.add(rows, "negative_amount", "amount")
    rows = copies(_count(n, 0.001, 1))
    rows["amount"] = [("N/A", "--", "待定")[i % 3] for i in range(len(rows))]
    a.add(rows, "non_numeric_amount", "amount")
    if test_customers:
        rows = copies(2 * len(test_customers))
        rows["customer_id"] = [test_customers[i // 2] for i in range(len(rows))]
        a.add(rows, "test_customer_order", "customer_id")
    _common_dirt(a, ids, with_unknown=_count(n, 0.002, 1), with_dup=_count(n, 0.003, 2))


def make_dirty(
    tables: dict[str, pd.DataFrame], rng: np.random.Generator, ids: IdScheme, n_customers: int
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame, dict[str, dict[str, int]]]:
    """Turn clean canonical tables into raw ones with dirty records.

    Parameters
    ----------
    tables : dict
        Clean canonical tables (``customers``, ``orders``, ``tickets``, ``surveys``; empty ones are passed through).
    rng : Generator
        The random stream of the dirt (separate from the clean data's, so the clean rows are the same).
    ids : IdScheme
        Id formats of the generated data (new ids continue after the existing ones).
    n_customers : int
        Number of real customers (extra customers are numbered after them).

    Returns
    -------
    raw : dict
        The same tables as text where a user's export would be text: date columns and ``orders.amount`` and
        ``surveys.nps_score`` as ``string``; clean rows keep their relative order, extra rows are interleaved.
    log : DataFrame
        One row per dirty row, columns :data:`DIRTY_LOG_COLUMNS`.
    counts : dict
        table -> kind -> number of dirty rows.
    """
    raw: dict[str, pd.DataFrame] = {}
    logs = []
    counter = {"orders": len(tables["orders"]), "tickets": len(tables.get("tickets", ()))}

    def make(table: str) -> _Assembler | None:
        df = tables.get(table)
        if df is None or df.empty:
            raw[table] = df
            return None
        def next_number() -> int:
            counter[table] = counter.get(table, 0) + 1
            return counter[table]

        return _Assembler(table, _stringify(table, df), rng, next_number)

    test_customers: list[str] = []
    a = make("customers")
    if a is not None:
        n = len(a.base)
        k_test, k_missing, k_blank = _count(n, 0.001, 2), _count(n, 0.002, 1), _count(n, 0.001, 1)
        numbers = np.arange(n_customers + 1, n_customers + 1 + k_test + k_missing)
        new_ids = list(ids.customer(numbers))
        rows = a.base.iloc[rng.integers(0, n, k_test)].copy()
        test_customers = new_ids[:k_test]
        rows["customer_id"] = test_customers
        if "name" in rows:
            rows["name"] = "测试客户"
        rows["is_test"] = True
        a.add(rows, "test_customer", "is_test")
        if "industry" in a.base:
            rows = a.base.iloc[rng.integers(0, n, k_missing)].copy()
            rows["customer_id"], rows["industry"] = new_ids[k_test:], pd.NA
            a.add(rows, "missing_industry", "industry")
        rows = a.base.iloc[rng.integers(0, n, k_blank)].copy()
        rows["customer_id"] = [("", "   ")[i % 2] for i in range(k_blank)]
        a.add(rows, "blank_id", "customer_id")
        _common_dirt(a, ids, with_unknown=0, with_dup=_count(n, 0.002, 1))
        raw["customers"], log = a.build()
        logs.append(log)
    a = make("orders")
    if a is not None:
        _orders(a, ids, test_customers)
        raw["orders"], log = a.build()
        logs.append(log)
    a = make("tickets")
    if a is not None:
        _common_dirt(a, ids, with_unknown=_count(len(a.base), 0.002, 1), with_dup=_count(len(a.base), 0.002, 1))
        raw["tickets"], log = a.build()
        logs.append(log)
    a = make("surveys")
    if a is not None:
        n = len(a.base)
        rows = a.base.iloc[rng.integers(0, n, _count(n, 0.002, 2))].copy()
        rows["nps_score"] = [("11", "abc")[i % 2] for i in range(len(rows))]
        a.add(rows, "invalid_nps", "nps_score")
        _common_dirt(a, ids, with_unknown=_count(n, 0.001, 1), with_dup=_count(n, 0.002, 1))
        raw["surveys"], log = a.build()
        logs.append(log)
    log = pd.concat(logs, ignore_index=True) if logs else pd.DataFrame(columns=list(DIRTY_LOG_COLUMNS))
    counts: dict[str, dict[str, int]] = {}
    for (table, kind), size in log.groupby(["table", "kind"], sort=True).size().items():
        counts.setdefault(str(table), {})[str(kind)] = int(size)
    return raw, log, counts


# ------------------------------------------------------------------------------------------ raw files


def _to_text(table: str, df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in _DATE_COLUMNS[table]:
        if col in out and pd.api.types.is_datetime64_dtype(out[col].dtype):
            out[col] = _iso(out[col], with_time=table == "tickets")
    if table == "customers" and "is_test" in out and not pd.api.types.is_string_dtype(out["is_test"].dtype):
        out["is_test"] = out["is_test"].map({True: "是", False: "否"}).astype("string")
    if table == "surveys" and "mentions_brand" in out and not pd.api.types.is_string_dtype(out["mentions_brand"]):
        out["mentions_brand"] = out["mentions_brand"].map({True: "yes", False: "no"}).astype("string")
    return out


def write_raw(data: HasTables, folder: Path | str) -> dict[str, Path]:
    """Write the generated tables as the user-like raw files the demo reads.

    Files (headers from :data:`RAW_FILES`; ``loyalist/config/demo.yaml`` maps them back to canonical names):

    - ``orders.csv``: UTF-8, English headers (order_no, client_id, order_date, amount_cny, sku, category, qty,
      channel, status, cost_cny);
    - ``customers.csv``: GB18030, Chinese headers (客户编号, 客户名称, 所属行业, 企业规模, 所在地区, 签约日期,
      联系方式, 测试账户 as 是/否);
    - ``tickets.csv``: UTF-8, Chinese headers (工单号, 客户编号, 创建时间, 类型, 环节, 严重程度, 解决时间);
    - ``surveys.csv``: UTF-8 (customer_id, answered_at, nps, mentions_brand as yes/no, satisfaction, respondent).

    Only the columns a table has are written; an empty table (e.g. no tickets in btyd mode) writes no file.
    Dates of clean data are ISO text (``2024-03-05``; ticket times ``2024-03-05 14:30:00``). Each file is written
    to a temporary file in ``folder`` and renamed over the target, so a reader never sees half a file.

    Returns
    -------
    dict
        table -> path of the written file.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputFileError(
            f"Raw data folder '{folder}' cannot be created ({exc.strerror}); pass a writable folder."
        ) from exc
    written: dict[str, Path] = {}
    for table, df in data.tables().items():
        if df is None or df.empty:
            continue
        name, encoding, headers = RAW_FILES[table]
        cols = [c for c in headers if c in df.columns]
        out = _to_text(table, df[cols]).rename(columns=headers)
        target = folder / name
        with atomic_path(target) as tmp:
            out.to_csv(tmp, index=False, encoding=encoding)
        written[table] = target
    return written

