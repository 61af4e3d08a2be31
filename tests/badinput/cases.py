"""The bad-input cases: a deterministic (seeded) generator over every entry point.

Families (case id prefix): ``enc`` encodings, ``delim`` delimiters, ``quote`` quoting, ``hdr`` headers,
``amt`` amounts, ``date`` dates, ``id`` ids, ``size`` sizes, ``file`` empty/compressed/odd files, ``xls`` Excel,
``pq`` Parquet, ``src`` source config, ``cfg`` every config key with wrong types / out-of-range / absurd values,
``cli`` every option of every command, ``fs`` file-system and store faults, ``kill`` kills at seeded random
points, ``conc`` concurrent runs. Each case names the area that owns a failure (config, data, ops, models, report).
"""

from __future__ import annotations

import csv
import gzip
import json
import lzma
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .fixtures import (GOLDEN_HEADER, GOLDEN_MAPPING, GOOD_CUSTOMER, LAST_DATE, LOST_CUSTOMER, Base,
                       golden_records, golden_yaml, write_golden_csv)
from .oracle import TRACEBACK, Case, Spec, limit, prepare_ledger_problems

__all__ = ["generate_cases", "SEED"]

SEED = 20261203
TIERS = {"devoted", "stable", "at_risk", "high_risk"}


# ----------------------------------------------------------------------------------------------- checks


def _clean_orders(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(Path(folder) / "orders.parquet")


def _rejects(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(Path(folder) / "rejects.parquet")


def check_kept(folder: Path, n: int):
    def check():
        got = len(_clean_orders(folder))
        return None if got == n else f"kept {got} orders, expected {n}"
    return check


def check_rejected_id(folder: Path, order_id: str, what: str):
    def check():
        kept = set(_clean_orders(folder)["order_id"].astype(str))
        rej = _rejects(folder)
        in_rejects = ((rej["table"] == "orders") & (rej["key"].astype(str).str.upper() == order_id.upper())
                      & (rej["action"] == "dropped")).any()
        if order_id.upper() in {k.upper() for k in kept}:
            return f"order {order_id} with {what} is kept in the clean orders"
        if not in_rejects:
            return f"order {order_id} with {what} is not in the rejects table as dropped"
        return None
    return check


def check_finite_amounts(folder: Path):
    def check():
        a = pd.to_numeric(_clean_orders(folder)["amount"], errors="coerce").to_numpy(dtype=float)
        bad = int((~np.isfinite(a)).sum())
        return f"{bad} clean orders have a non-finite amount" if bad else None
    return check


def check_text_in_column(folder: Path, column: str, text: str):
    def check():
        vals = set(_clean_orders(folder)[column].astype(str))
        return None if text in vals else f"{column} value {text!r} is not in the clean orders (got {sorted(vals)[:5]})"
    return check


def check_tier(out: Path, customer: str, tier: str):
    def check():
        df = pd.read_parquet(Path(out) / "loyalty_scores.parquet")
        row = df.loc[df["customer_id"].astype(str) == customer]
        if row.empty:
            return f"customer {customer} is missing from loyalty_scores"
        got = row["loyalty_tier"].iloc[0]
        return None if got == tier else f"customer {customer} has tier {got}, expected {tier}"
    return check


def check_n_orders(out: Path, customer: str, n: int):
    def check():
        df = pd.read_parquet(Path(out) / "loyalty_scores.parquet")
        got = df.loc[df["customer_id"].astype(str) == customer, "n_orders"]
        return None if (len(got) and int(got.iloc[0]) == n) else \
            f"customer {customer} has n_orders {list(got)}, expected {n} (an order on the cut-off day counts)"
    return check


def check_loyalty_sane(out: Path):
    def check():
        df = pd.read_parquet(Path(out) / "loyalty_scores.parquet")
        if df.empty:
            return "loyalty_scores is empty"
        s = pd.to_numeric(df["loyalty_score"], errors="coerce")
        if s.isna().all():
            return "every loyalty_score is NaN"
        if ((s < 0) | (s > 100)).any():
            return f"loyalty_score outside [0, 100]: {s.min()} .. {s.max()}"
        bad = set(df["loyalty_tier"].dropna()) - TIERS
        return f"unknown tiers {bad}" if bad else None
    return check


def check_scores_sane(out: Path, min_rows: int):
    def check():
        df = pd.read_parquet(Path(out) / "churn_risk.parquet")
        p = pd.to_numeric(df["churn_probability"], errors="coerce")
        if len(df) < min_rows:
            return f"churn list has {len(df)} customers, expected at least {min_rows}"
        if p.isna().any() or ((p < 0) | (p > 1)).any():
            return "churn_probability missing or outside [0, 1]"
        csv_rows = len(pd.read_csv(Path(out) / "churn_risk.csv"))
        return None if csv_rows == len(df) else f"churn_risk.csv has {csv_rows} rows, the Parquet {len(df)}"
    return check


def check_report_sane(out: Path, top: int | None = None):
    def check():
        files = sorted(p.name for p in Path(out).glob("report_*.html"))
        return None if files else f"no report HTML in {out}"
    return check


# ----------------------------------------------------------------------------------------------- helpers


def _copy_project(base: Base, folder: Path, *, store: bool = True, clean: bool = True) -> None:
    if store:
        shutil.copytree(base.demo / "mlruns", folder / "mlruns", dirs_exist_ok=True)
        _relocate_store(folder / "mlruns" / "mlflow.db", base.demo / "mlruns", folder / "mlruns")
    if clean:
        shutil.copytree(base.clean, folder / "clean", dirs_exist_ok=True)


#: Where the store records absolute artifact locations (a copied store still pointed into the shared fixtures).
_LOCATIONS = (("experiments", "artifact_location"), ("runs", "artifact_uri"), ("logged_models", "artifact_location"),
              ("model_versions", "storage_location"), ("model_versions", "source"))


def _relocate_store(db: Path, old: Path, new: Path) -> None:
    """Point a copied store's artifact locations at the copy: otherwise every case that logs a run writes its
    artifacts into the shared fixture store (all workers at once), and a killed run's leftovers land outside the
    case folder where no check looks."""
    if not db.is_file():
        return
    with sqlite3.connect(db) as c:
        tables = {r[0] for r in c.execute("select name from sqlite_master where type='table'")}
        a, b = f"file://{old}", f"file://{new}"
        for table, column in _LOCATIONS:
            if table in tables:
                c.execute(f"update {table} set {column} = ? || substr({column}, ?) "  # noqa: S608 (fixed names)
                          f"where {column} = ? or substr({column}, 1, ?) = ?", (b, len(a) + 1, a, len(a) + 1, a + "/"))


def _write_yaml(path: Path, doc: dict) -> Path:
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _set_path(doc: dict, path: list, value) -> dict:
    cur = doc
    for k in path[:-1]:
        cur = cur.setdefault(k, {})
    cur[path[-1]] = value
    return doc


def _leftovers(folder: Path) -> list[str]:
    found = []
    for p in Path(folder).rglob("*"):
        n = p.name
        if n.endswith(".tmp") or n.startswith(".tmp") or (p.is_dir() and n.startswith("tmp")) or ".staging" in n:
            found.append(str(p.relative_to(folder)))
    return found


def _rerun(argv: list[str], cwd: Path, timeout: float = 120):
    """A check that reruns a command in a subprocess and wants exit 0 without traceback."""
    def check():
        env = dict(os.environ)
        env.pop("MLFLOW_TRACKING_URI", None)
        try:
            p = subprocess.run([sys.executable, "-m", "loyalist.cli", *argv], cwd=cwd, env=env,
                               timeout=limit(timeout), capture_output=True, text=True)
        except subprocess.TimeoutExpired:
            return f"HANG:rerun of 'loyalist {' '.join(argv)}' ran past {limit(timeout):.0f} s"
        text = p.stdout + p.stderr
        if TRACEBACK in text:
            last = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith(" ")][-1]
            return f"TRACEBACK:rerun after the fault: {last}"
        if p.returncode != 0:
            err = [ln for ln in text.splitlines() if ln.strip()]
            return f"rerun of 'loyalist {' '.join(argv)}' after the fault exits {p.returncode}: {err[-1] if err else ''}"
        return None
    return check


def _no_leftovers(folder: Path):
    def check():
        left = _leftovers(folder) if Path(folder).exists() else []
        return f"temporary files left behind: {left[:5]}" if left else None
    return check


def _empty_folder(folder: Path, what: str):
    def check():
        left = sorted(p.name for p in Path(folder).iterdir()) if Path(folder).is_dir() else []
        return f"{what} still holds {left[:5]}" if left else None
    return check


def _no_running_runs(db: Path):
    def check():
        if not Path(db).is_file():
            return None
        with sqlite3.connect(db) as c:
            n = c.execute("select count(*) from runs where status='RUNNING'").fetchone()[0]
        return f"{n} MLflow run(s) left RUNNING after the kill" if n else None
    return check


def _one_champion(db: Path, name: str):
    def check():
        if not Path(db).is_file():
            return f"no store at {db}"
        with sqlite3.connect(db) as c:
            n = c.execute("select count(*) from registered_model_aliases where name=? and alias='champion'",
                          (name,)).fetchone()[0]
        return None if n == 1 else f"{n} champion aliases for {name} (expected exactly 1)"
    return check


def _outputs_consistent(out: Path):
    def check():
        pq, cs = Path(out) / "churn_risk.parquet", Path(out) / "churn_risk.csv"
        if not pq.exists() and not cs.exists():
            return None
        if pq.exists() != cs.exists():
            return "only one of churn_risk.parquet / .csv exists"
        a, b = pd.read_parquet(pq), pd.read_csv(cs)
        if len(a) != len(b):
            return f"churn_risk.parquet has {len(a)} rows, churn_risk.csv {len(b)}"
        if str(a["as_of"].iloc[0])[:10] != str(b["as_of"].iloc[0])[:10]:
            return f"Parquet as_of {a['as_of'].iloc[0]} != CSV as_of {b['as_of'].iloc[0]}"
        return None
    return check


# ---------------------------------------------------------------------------------------------- families


def _golden_case(base: Base, cid: str, desc: str, mutate, *, area: str = "data", ci: bool = False,
                 encoding: str = "utf-8", delimiter: str = ",", quoting: int = csv.QUOTE_MINIMAL,
                 source_extra: dict | None = None, raw_bytes=None, must_fail: bool = False,
                 must_succeed: bool = False, known=None, filename: str = "orders.csv", header=None,
                 count_rows: bool = True, mapping: dict | None = None) -> Case:
    """A prepare case over the golden orders file mutated by ``mutate(rows) -> rows``.

    ``known(out, rows)`` returns extra checks (known answers). ``raw_bytes(text_bytes) -> bytes`` post-processes
    the written bytes (compression, corruption).
    """

    def build(folder: Path) -> Spec:
        rows = [list(r) for r in golden_records()]
        rows = mutate(rows) if mutate else rows
        hdr = GOLDEN_HEADER if header is None else header
        path = folder / filename
        write_golden_csv(path, hdr, rows, encoding=encoding, delimiter=delimiter, quoting=quoting)
        if raw_bytes is not None:
            path.write_bytes(raw_bytes(path.read_bytes()))
        cfg = golden_yaml(folder / "case.yaml", path, source_extra, mapping=mapping)
        out = folder / "clean"
        checks = known(out, rows) if known else []
        return Spec(["prepare", "--config", str(cfg), "--out", str(out), "--quiet"], cwd=folder,
                    prepare_out=out, rows_in={"orders": len(rows)} if count_rows else None, checks=checks,
                    must_fail=must_fail, must_succeed=must_succeed)

    return Case(cid, area, "inproc", build, desc, ci=ci, timeout=60)


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9]+", "-", text.encode("ascii", "ignore").decode()).strip("-") or "x"


def _pick(rng: random.Random, rows: list[list[str]]) -> int:
    """A row index not of the two known customers (their answers stay known)."""
    while True:
        i = rng.randrange(len(rows))
        if rows[i][1] not in (GOOD_CUSTOMER, LOST_CUSTOMER, "G02"):
            return i


def _set_cell(col: int, value: str, seed: int):
    def mutate(rows):
        i = _pick(random.Random(seed), rows)
        rows[i][col] = value
        return rows
    return mutate


def _mutated_id(col: int, seed: int) -> str:
    rows = golden_records()
    return rows[_pick(random.Random(seed), rows)][0]


def encoding_cases(base: Base, rng: random.Random) -> list[Case]:
    out = []
    n = len(golden_records())

    def with_channel(text):
        def mutate(rows):
            for r in rows:
                if r[1] not in (GOOD_CUSTOMER, LOST_CUSTOMER) and r[5] == "phone":
                    r[5] = text
            return rows
        return mutate

    for enc in ("utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16", "utf-16-le", "utf-32"):
        out.append(_golden_case(
            base, f"enc-{enc}", f"golden orders saved as {enc}", None, encoding=enc, ci=enc in ("utf-8", "gbk"),
            must_succeed=enc in ("utf-8", "utf-8-sig", "gb18030", "gbk"),
            known=lambda o, rows: [check_kept(o, n)]))
    ascii_header = ["order_id", "customer_id", "order_date", "amount", "status", "channel"]
    for enc, text in (("latin-1", "télévente"), ("cp1252", "télévente€"), ("latin-1", "Köln-Süd"),
                      ("cp1252", "naïve café"), ("shift_jis", "電話販売"), ("big5", "電話銷售"),
                      ("koi8-r", "телефон"), ("cp1251", "телефон")):
        out.append(_golden_case(
            base, f"enc-{enc}-{_slug(text)}", f"a {enc} file with channel {text!r}",
            with_channel(text), encoding=enc, ci=(enc, text) in (("latin-1", "télévente"), ("koi8-r", "телефон")),
            header=ascii_header, mapping={},
            known=lambda o, rows, text=text: [check_text_in_column(o, "channel", text)]))

    def mixed(b: bytes) -> bytes:  # half UTF-8, then one GB18030 line, then UTF-8 again
        lines = b.split(b"\n")
        k = len(lines) // 2
        lines[k] = lines[k].replace(b"online", "线上渠道".encode("gb18030"))
        return b"\n".join(lines)
    out.append(_golden_case(base, "enc-mixed-utf8-gb18030", "one GB18030 line inside a UTF-8 file", None,
                            raw_bytes=mixed))

    def invalid(b: bytes) -> bytes:
        lines = b.split(b"\n")
        lines[len(lines) // 3] += b"\xff\xfe\xfa"
        return b"\n".join(lines)
    out.append(_golden_case(base, "enc-invalid-bytes", "bytes valid in no encoding at the end of one line", None,
                            raw_bytes=invalid, ci=True))
    out.append(_golden_case(base, "enc-nul-byte", "a NUL byte inside one line", None,
                            raw_bytes=lambda b: b.replace(b"online", b"onl\x00ine", 1)))
    out.append(_golden_case(base, "enc-late-invalid", "invalid bytes after the 256 KB detection sample",
                            lambda rows: rows * 1, raw_bytes=lambda b: b + b"O99999,G05,2024-01-01,1,completed,\xe9t\xe9\n"
                            + b"", count_rows=False,
                            known=lambda o, rows: []))
    for enc_cfg, enc_file in (("utf-8", "gb18030"), ("gb18030", "utf-16"), ("ascii", "utf-8"),
                              ("nonsense-enc", "utf-8"), ("", "utf-8"), ("utf-32", "utf-8"), ("latin-1", "utf-8")):
        out.append(_golden_case(
            base, f"enc-cfg-{enc_cfg or 'empty'}-file-{enc_file}", f"encoding: {enc_cfg!r} on a {enc_file} file",
            None, encoding=enc_file, source_extra={"encoding": enc_cfg}, area="data",
            ci=enc_cfg == "nonsense-enc"))
    return out


def delimiter_cases(base: Base, rng: random.Random) -> list[Case]:
    out = []
    n = len(golden_records())
    for name, d in (("semicolon", ";"), ("tab", "\t"), ("pipe", "|"), ("space", " ")):
        out.append(_golden_case(base, f"delim-{name}", f"delimiter {d!r}, sniffed", None, delimiter=d,
                                ci=name == "semicolon", known=lambda o, rows: [check_kept(o, n)]))
    for name, d, given in (("semicolon-said-comma", ";", ","), ("comma-said-tab", ",", "\t"),
                           ("empty", ",", ""), ("multichar", ",", ",,"), ("newline", ",", "\n"),
                           ("quote", ",", '"'), ("regex", ",", r"\s*,\s*")):
        out.append(_golden_case(base, f"delim-cfg-{name}", f"file delimiter {d!r}, config delimiter {given!r}",
                                None, delimiter=d, source_extra={"delimiter": given}, ci=name == "empty"))

    def one_line_semicolon(rows):
        return rows
    out.append(_golden_case(
        base, "delim-mixed-line", "one line uses ';' in a comma file", None,
        raw_bytes=lambda b: b.replace(b"O00010,", b"O00010;", 1).replace(b"\nO00010;", b"\nO00010;", 1)
        .replace(b"O00010;G", b"O00010;G", 1), ci=True))

    def extra_field(b: bytes) -> bytes:
        lines = b.split(b"\n")
        lines[7] += b",EXTRA,MORE"
        return b"\n".join(lines)
    out.append(_golden_case(base, "delim-extra-fields", "one line has two extra fields", None, raw_bytes=extra_field,
                            ci=True))

    def short_line(b: bytes) -> bytes:
        lines = b.split(b"\n")
        lines[9] = b",".join(lines[9].split(b",")[:3])
        return b"\n".join(lines)
    out.append(_golden_case(base, "delim-short-line", "one line has 3 of 6 fields", None, raw_bytes=short_line))
    out.append(_golden_case(base, "delim-trailing", "every line ends with a delimiter", None,
                            raw_bytes=lambda b: b.replace(b"\n", b",\n"), known=lambda o, rows: [check_kept(o, n)]))
    out.append(_golden_case(base, "delim-crlf", "CRLF line ends", None, raw_bytes=lambda b: b.replace(b"\n", b"\r\n"),
                            must_succeed=True, known=lambda o, rows: [check_kept(o, n)]))
    out.append(_golden_case(base, "delim-cr-only", "old Mac CR line ends", None,
                            raw_bytes=lambda b: b.replace(b"\n", b"\r")))
    out.append(_golden_case(base, "delim-blank-lines", "blank lines between records", None,
                            raw_bytes=lambda b: b.replace(b"\n", b"\n\n"), known=lambda o, rows: [check_kept(o, n)]))
    return out


def quoting_cases(base: Base, rng: random.Random) -> list[Case]:
    out = []
    n = len(golden_records())
    out.append(_golden_case(base, "quote-all", "every field quoted", None, quoting=csv.QUOTE_ALL,
                            must_succeed=True, known=lambda o, rows: [check_kept(o, n)]))
    out.append(_golden_case(base, "quote-nonnumeric", "non-numeric fields quoted", None,
                            quoting=csv.QUOTE_NONNUMERIC, known=lambda o, rows: [check_kept(o, n)]))

    def unclosed(b: bytes) -> bytes:
        lines = b.split(b"\n")
        k = len(lines) // 4
        parts = lines[k].split(b",")
        parts[5] = b'"' + parts[5]
        lines[k] = b",".join(parts)
        return b"\n".join(lines)
    out.append(_golden_case(base, "quote-unclosed", "an unclosed quote in one field swallows the next lines", None,
                            raw_bytes=unclosed, ci=True))

    def unclosed_last(b: bytes) -> bytes:
        return b.rstrip(b"\n") + b'"\n'
    out.append(_golden_case(base, "quote-unclosed-last", "a stray quote at the end of the last line", None,
                            raw_bytes=unclosed_last))
    out.append(_golden_case(base, "quote-inner-unescaped", 'a quote inside a field: ab"c', None,
                            raw_bytes=lambda b: b.replace(b",phone\n", b',ph"one\n', 1)))

    def embedded_nl(rows):
        i = _pick(random.Random(11), rows)
        rows[i][5] = "on\nline"
        return rows
    out.append(_golden_case(base, "quote-embedded-newline", "a quoted field with a newline inside", embedded_nl,
                            known=lambda o, rows: [check_kept(o, n)]))

    def embedded_delim(rows):
        i = _pick(random.Random(12), rows)
        rows[i][5] = "web, app"
        return rows
    out.append(_golden_case(base, "quote-embedded-delimiter", "a quoted field with the delimiter inside",
                            embedded_delim, must_succeed=True, known=lambda o, rows: [check_kept(o, n)]))
    out.append(_golden_case(base, "quote-single-quotes", "fields in single quotes", None,
                            raw_bytes=lambda b: b.replace(b",completed,", b",'completed',")))
    out.append(_golden_case(base, "quote-amount-quoted-thousands", 'amount "1,000.00" quoted with a comma', None,
                            raw_bytes=lambda b: b.replace(b",1000.00,", b',"1,000.00",'),
                            known=lambda o, rows: [check_kept(o, n)]))
    return out


def header_cases(base: Base, rng: random.Random) -> list[Case]:
    out = []
    n = len(golden_records())
    dup = list(GOLDEN_HEADER)
    dup[5] = "金额"  # the amount column name twice
    out.append(_golden_case(base, "hdr-duplicate", "the amount header appears twice (second copy is the channel)",
                            None, header=dup, must_fail=True, ci=True))
    out.append(_golden_case(base, "hdr-missing-required", "no amount column", lambda rows: [r[:3] + r[4:] for r in rows],
                            header=GOLDEN_HEADER[:3] + GOLDEN_HEADER[4:], must_fail=True, ci=True))
    out.append(_golden_case(base, "hdr-none", "no header line at all (config says header: true)", None, header=[],
                            must_fail=True, count_rows=False))
    out.append(_golden_case(base, "hdr-only", "a header and no rows", lambda rows: [], must_fail=True, ci=True))
    out.append(_golden_case(base, "hdr-spaces-case", "header names padded with spaces", None,
                            header=[f"  {h} " for h in GOLDEN_HEADER], known=lambda o, rows: [check_kept(o, n)]))
    out.append(_golden_case(base, "hdr-reordered", "columns in another order",
                            lambda rows: [r[::-1] for r in rows], header=GOLDEN_HEADER[::-1],
                            must_succeed=True, known=lambda o, rows: [check_kept(o, n)]))
    out.append(_golden_case(base, "hdr-extra-columns", "20 extra columns",
                            lambda rows: [r + [str(k) for k in range(20)] for r in rows],
                            header=GOLDEN_HEADER + [f"x{k}" for k in range(20)],
                            must_succeed=True, known=lambda o, rows: [check_kept(o, n)]))
    out.append(_golden_case(base, "hdr-empty-name", "one header cell empty", None,
                            header=GOLDEN_HEADER[:5] + [""]))
    out.append(_golden_case(base, "hdr-repeated-midfile", "the header line repeated in the middle",
                            lambda rows: rows[:50] + [list(GOLDEN_HEADER)] + rows[50:],
                            known=lambda o, rows: [check_kept(o, n)]))
    out.append(_golden_case(base, "hdr-mapping-wrong-case", "mapping names a column with other case",
                            None, header=["ORDER_ID", "customer_id", "Order_Date", "AMOUNT", "status", "channel"],
                            mapping={}, known=lambda o, rows: [check_kept(o, n)]))
    out.append(_golden_case(base, "hdr-mapping-ambiguous", "two columns differ only by case (amount, AMOUNT)",
                            lambda rows: [r + [r[3]] for r in rows],
                            header=["order_id", "customer_id", "order_date", "amount", "status", "channel", "AMOUNT"],
                            mapping={}))
    out.append(_golden_case(base, "hdr-unicode-bom-midheader", "a BOM inside a header cell", None,
                            header=["订单号", "\ufeff客户编号", "下单日期", "金额", "状态", "渠道"]))
    out.append(_golden_case(base, "hdr-very-long", "a 100,000-character header cell", None,
                            header=GOLDEN_HEADER + ["h" * 100_000], known=lambda o, rows: [check_kept(o, n)],
                            raw_bytes=None))
    return out


AMOUNTS_DROP = {"abc": "amount-abc", "": "amount-empty", "   ": "amount-blank", "N/A": "amount-na",
                "1.2.3": "amount-dots", "12abc": "amount-suffix", "0x10": "amount-hex", "--5": "amount-dblneg"}
AMOUNTS_NONFINITE = {"inf": "amount-inf", "-inf": "amount-neginf", "Infinity": "amount-infinity",
                     "1e309": "amount-1e309", "NaN": "amount-nan-text", "nan": "amount-nan-lower",
                     "-1e400": "amount-neg-1e400"}
AMOUNTS_OK = {"1,234.50": "amount-thousands", "¥1,234": "amount-yen", "$12": "amount-dollar",
              "(12.00)": "amount-parens", "1e3": "amount-sci", "0": "amount-zero", "-0": "amount-negzero",
              "99999999999999999999999": "amount-huge", "0.000001": "amount-tiny", "1.234,50": "amount-euro",
              " 12.5 ": "amount-padded", "12.5元": "amount-yuan", "+12": "amount-plus", "１２３": "amount-fullwidth",
              "1 234,50": "amount-space-thousands", "-100": "amount-negative"}


def amount_cases(base: Base, rng: random.Random) -> list[Case]:
    out = []
    n = len(golden_records())
    for k, (value, name) in enumerate(AMOUNTS_DROP.items()):
        oid = _mutated_id(3, 100 + k)
        out.append(_golden_case(base, name, f"amount {value!r} in one row", _set_cell(3, value, 100 + k),
                                ci=name in ("amount-abc",),
                                known=lambda o, rows, oid=oid, value=value: [
                                    check_rejected_id(o, oid, f"amount {value!r}"), check_kept(o, n - 1)]))
    for k, (value, name) in enumerate(AMOUNTS_NONFINITE.items()):
        oid = _mutated_id(3, 200 + k)
        out.append(_golden_case(base, name, f"amount {value!r} in one row", _set_cell(3, value, 200 + k),
                                ci=name in ("amount-inf", "amount-1e309"),
                                known=lambda o, rows: [check_finite_amounts(o)]))
    for k, (value, name) in enumerate(AMOUNTS_OK.items()):
        out.append(_golden_case(base, name, f"amount {value!r} in one row", _set_cell(3, value, 300 + k),
                                known=lambda o, rows: [check_finite_amounts(o)]))

    def all_nan(rows):
        for r in rows:
            r[3] = "NaN"
        return rows
    out.append(_golden_case(base, "amount-all-nan", "every amount NaN", all_nan, must_fail=True))

    def all_inf(rows):
        for r in rows:
            r[3] = "inf"
        return rows
    out.append(_golden_case(base, "amount-all-inf", "every amount inf", all_inf, must_fail=True, ci=True))

    def all_neg(rows):
        for r in rows:
            r[3] = "-" + r[3]
        return rows
    out.append(_golden_case(base, "amount-all-negative", "every amount negative (all returns)", all_neg))
    return out


DATES_FUTURE = {"2099-01-01": "date-2099", "3000-01-01": "date-3000", "9999-12-31": "date-9999",
                "2262-04-12": "date-2262", "1800-01-01": "date-1800", "0001-01-01": "date-0001",
                "1677-09-21": "date-1677", "1900-01-01": "date-1900"}
DATES_BAD = {"2024-02-30": "date-feb30", "2024-13-01": "date-month13", "not a date": "date-text", "": "date-empty",
             "NaT": "date-nat", "2024-06-30T25:00": "date-hour25", "00/00/0000": "date-zeros", "today": "date-today",
             "99999999": "date-8digits", "-1": "date-minus1", "1e10": "date-1e10"}
DATES_OK = {"2024/03/05": "date-slashes", "2024年3月5日": "date-chinese", "45356": "date-excel-serial",
            "03/05/2024": "date-us", "2024-03-05 14:30:00": "date-timestamp", "2024-03-05T14:30:00+08:00": "date-tz",
            " 2024-03-05 ": "date-padded", "20240305": "date-compact", "5 Mar 2024": "date-words",
            "2024-03-05 14:30:00.123456789": "date-nanos", "1709596800": "date-epoch-s",
            "1709596800000": "date-epoch-ms", "2024-3-5": "date-no-zero-pad", "24-03-05": "date-two-digit-year"}


def date_cases(base: Base, rng: random.Random) -> list[Case]:
    out = []
    n = len(golden_records())
    for k, (value, name) in enumerate(DATES_FUTURE.items()):
        oid = _mutated_id(2, 400 + k)
        impossible = value[:4] in ("2099", "3000", "9999", "2262", "1800", "0001", "1677")
        out.append(_golden_case(base, name, f"order date {value} in one row", _set_cell(2, value, 400 + k),
                                ci=name in ("date-2099", "date-3000"),
                                known=(lambda o, rows, oid=oid, value=value: [
                                    check_rejected_id(o, oid, f"date {value}"), check_kept(o, n - 1)])
                                if impossible else None))
    for k, (value, name) in enumerate(DATES_BAD.items()):
        oid = _mutated_id(2, 500 + k)
        out.append(_golden_case(base, name, f"order date {value!r} in one row", _set_cell(2, value, 500 + k),
                                ci=name == "date-feb30",
                                known=lambda o, rows, oid=oid, value=value: [
                                    check_rejected_id(o, oid, f"date {value!r}")]))
    for k, (value, name) in enumerate(DATES_OK.items()):
        out.append(_golden_case(base, name, f"order date {value!r} in one row", _set_cell(2, value, 600 + k),
                                known=(lambda o, rows: [check_kept(o, n)]) if name in (
                                    "date-slashes", "date-chinese", "date-excel-serial") else None))

    def all_future(rows):
        for r in rows:
            r[2] = "2099-" + r[2][5:]
        return rows
    out.append(_golden_case(base, "date-all-2099", "every order dated 2099", all_future, must_fail=True))

    def all_bad(rows):
        for r in rows:
            r[2] = "garbage"
        return rows
    out.append(_golden_case(base, "date-all-garbage", "no date parses", all_bad, must_fail=True, ci=True))
    for fmt, name in (("%d.%m.%Y", "datefmt-wrong"), ("%Q", "datefmt-invalid-directive"), ("", "datefmt-empty"),
                      ("%Y", "datefmt-year-only"), ("%Y-%m-%d", "datefmt-right")):
        out.append(_golden_case(base, name, f"date_format {fmt!r}", None, source_extra={"date_format": fmt},
                                area="config" if name != "datefmt-right" else "data",
                                must_succeed=name == "datefmt-right", ci=name == "datefmt-invalid-directive",
                                known=(lambda o, rows: [check_kept(o, n)]) if name == "datefmt-right" else None))
    return out


def id_cases(base: Base, rng: random.Random) -> list[Case]:
    out = []
    n = len(golden_records())
    specs = [
        (1, "", "id-customer-empty", "drop"), (1, "   ", "id-customer-blank", "drop"),
        (1, "NULL", "id-customer-null", "drop"), (0, "", "id-order-empty", "drop"),
        (1, "C" * 10_000, "id-customer-10k-chars", None), (1, "客户一号", "id-customer-chinese", None),
        (1, "G😀1", "id-customer-emoji", None), (1, "1.0", "id-customer-float", None),
        (1, "007", "id-customer-leading-zeros", None), (0, "TEST-1", "id-order-test", "drop"),
        (1, "test_customer", "id-customer-test", "drop"), (1, "g05", "id-customer-lowercase", None),
        (1, "G05\u200b", "id-customer-zero-width", None), (0, "O00001", "id-order-duplicate", "drop"),
        (1, "=cmd|' /C calc'!A0", "id-customer-formula", None), (1, "G\x0705", "id-customer-control-char", None),
        (0, "1e5", "id-order-sci", None), (1, "-", "id-customer-dash", "drop"),
    ]
    for k, (col, value, name, expect) in enumerate(specs):
        oid = _mutated_id(col, 700 + k)

        def known(o, rows, oid=oid, value=value, expect=expect, col=col):
            if expect != "drop":
                return []
            if col == 0:  # the order id itself changed: the row is dropped, kept falls by one
                return [check_kept(o, n - 1)]
            return [check_rejected_id(o, oid, f"customer id {value!r}")]
        out.append(_golden_case(base, name, f"{'order' if col == 0 else 'customer'} id {value[:30]!r} in one row",
                                _set_cell(col, value, 700 + k), known=known, ci=name in ("id-customer-empty",)))
    return out


def size_cases(base: Base, rng: random.Random) -> list[Case]:
    out = []
    out.append(_golden_case(base, "size-one-row", "a single data row", lambda rows: rows[-1:],
                            known=lambda o, rows: [check_kept(o, 1)]))
    out.append(_golden_case(base, "size-one-column", "only the order id column", lambda rows: [r[:1] for r in rows],
                            header=GOLDEN_HEADER[:1], must_fail=True))

    def many(rows, k=700):
        big = []
        for j in range(k):
            for r in rows:
                big.append([f"{r[0]}-{j}", r[1], r[2], r[3], r[4], r[5]])
        return big
    out.append(_golden_case(base, "size-100k-rows", "about 120,000 rows", many,
                            known=lambda o, rows: [check_kept(o, len(rows))]))
    out.append(_golden_case(base, "size-wide-2000-cols", "2,000 columns", lambda rows: [r + ["x"] * 2000 for r in rows],
                            header=GOLDEN_HEADER + [f"c{k}" for k in range(2000)],
                            known=lambda o, rows: [check_kept(o, len(rows))]))

    def huge_cell(rows):
        rows[5][5] = "x" * 2_000_000
        return rows
    out.append(_golden_case(base, "size-2mb-cell", "one 2 MB cell", huge_cell))
    return out


def file_cases(base: Base, rng: random.Random) -> list[Case]:
    out = []
    n = len(golden_records())
    for name, payload in (("file-zero-bytes", b""), ("file-whitespace", b"   \n\n  \t\n"), ("file-newline", b"\n"),
                          ("file-bom-only", b"\xef\xbb\xbf"), ("file-binary-garbage", bytes(random.Random(5).randbytes(5000))),
                          ("file-zip-as-csv", b"PK\x03\x04" + bytes(random.Random(6).randbytes(500))),
                          ("file-html-as-csv", b"<html><body><table><tr><td>1</td></tr></table></body></html>\n"),
                          ("file-json-as-csv", json.dumps([{"a": 1}]).encode())):
        out.append(_golden_case(base, name, name.removeprefix("file-").replace("-", " "), None,
                                raw_bytes=lambda b, payload=payload: payload, must_fail=True, count_rows=False,
                                ci=name in ("file-zero-bytes", "file-binary-garbage")))
    out.append(_golden_case(base, "file-gz-valid", "gzip-compressed CSV", None, filename="orders.csv.gz",
                            raw_bytes=lambda b: gzip.compress(b), must_succeed=True,
                            known=lambda o, rows: [check_kept(o, n)]))
    out.append(_golden_case(base, "file-gz-truncated", "a truncated .gz", None, filename="orders.csv.gz",
                            raw_bytes=lambda b: gzip.compress(b * 30)[: len(gzip.compress(b * 30)) // 2],
                            must_fail=True, count_rows=False, ci=True))
    out.append(_golden_case(base, "file-xz-truncated", "a truncated .xz", None, filename="orders.csv.xz",
                            raw_bytes=lambda b: lzma.compress(b * 30)[: len(lzma.compress(b * 30)) // 2],
                            must_fail=True, count_rows=False))
    out.append(_golden_case(base, "file-gz-not-gzip", "a .gz that is plain text", None, filename="orders.csv.gz",
                            must_fail=True, count_rows=False))
    out.append(_golden_case(base, "file-bz2-garbage", "a .bz2 of garbage", None, filename="orders.csv.bz2",
                            raw_bytes=lambda b: b"BZh9" + bytes(random.Random(8).randbytes(300)),
                            must_fail=True, count_rows=False))
    out.append(_golden_case(base, "file-no-extension", "a file without extension", None, filename="orders",
                            count_rows=False))
    out.append(_golden_case(base, "file-parquet-named-csv", "Parquet bytes in orders.csv", None,
                            raw_bytes=lambda b: _parquet_bytes(), must_fail=True, count_rows=False))
    out.append(_golden_case(base, "file-xlsx-named-csv", "xlsx bytes in orders.csv", None,
                            raw_bytes=lambda b: _xlsx_bytes(), must_fail=True, count_rows=False))
    return out


def _golden_frame() -> pd.DataFrame:
    return pd.DataFrame(golden_records(), columns=GOLDEN_HEADER)


def _parquet_bytes() -> bytes:
    import io

    buf = io.BytesIO()
    _golden_frame().to_parquet(buf, index=False)
    return buf.getvalue()


def _xlsx_bytes() -> bytes:
    import io

    buf = io.BytesIO()
    _golden_frame().to_excel(buf, index=False)
    return buf.getvalue()


def _frame_case(cid: str, desc: str, make, *, fmt: str, source_extra: dict | None = None, must_fail=False,
                must_succeed=False, known=None, ci=False, area="data", rows_in: int | None = None) -> Case:
    """A prepare case over a DataFrame written as Parquet or Excel by ``make(folder) -> path``."""

    def build(folder: Path) -> Spec:
        path = make(folder)
        cfg = golden_yaml(folder / "case.yaml", path, source_extra)
        out = folder / "clean"
        return Spec(["prepare", "--config", str(cfg), "--out", str(out), "--quiet"], cwd=folder, prepare_out=out,
                    rows_in={"orders": rows_in} if rows_in is not None else None,
                    checks=known(out) if known else [], must_fail=must_fail, must_succeed=must_succeed)
    return Case(cid, area, "inproc", build, desc, ci=ci, timeout=60)


def parquet_cases(base: Base, rng: random.Random) -> list[Case]:
    out = []
    n = len(golden_records())

    def typed() -> pd.DataFrame:
        df = _golden_frame()
        df["金额"] = df["金额"].astype(float)
        df["下单日期"] = pd.to_datetime(df["下单日期"])
        return df

    def writer(fn):
        def make(folder: Path) -> Path:
            p = folder / "orders.parquet"
            obj = fn()
            if isinstance(obj, pd.DataFrame):
                obj.to_parquet(p, index=False)
            else:
                import pyarrow.parquet as pq

                pq.write_table(obj, p)
            return p
        return make

    out.append(_frame_case("pq-typed", "typed Parquet (float amount, timestamp date)", writer(typed), fmt="parquet",
                           must_succeed=True, known=lambda o: [check_kept(o, n)], rows_in=n, ci=True))

    def with_value(col, value, dtype=None):
        def fn():
            df = typed()
            if dtype:
                df[col] = df[col].astype(dtype)
            df.loc[7, col] = value
            return df
        return fn
    oid7 = golden_records()[7][0]
    for name, col, value, dtype, known in (
        ("pq-amount-nan", "金额", np.nan, None, lambda o: [check_rejected_id(o, oid7, "NaN amount")]),
        ("pq-amount-inf", "金额", np.inf, None, lambda o: [check_finite_amounts(o)]),
        ("pq-amount-neginf", "金额", -np.inf, None, lambda o: [check_finite_amounts(o)]),
        ("pq-amount-1e308", "金额", 1e308, None, lambda o: [check_finite_amounts(o)]),
        ("pq-date-nat", "下单日期", pd.NaT, None, lambda o: [check_rejected_id(o, oid7, "NaT date")]),
        ("pq-date-2099", "下单日期", pd.Timestamp("2099-01-01"), None,
         lambda o: [check_rejected_id(o, oid7, "date 2099-01-01")]),
    ):
        out.append(_frame_case(name, f"Parquet with {value!r} in {col}", writer(with_value(col, value, dtype)),
                               fmt="parquet", known=known, rows_in=n, ci=name in ("pq-amount-inf",)))

    def year3000():
        import pyarrow as pa

        t = pa.Table.from_pandas(_golden_frame(), preserve_index=False)
        dates = pa.array([pd.Timestamp(d).to_pydatetime() for d in _golden_frame()["下单日期"]], pa.timestamp("us"))
        import datetime as dt

        dates = pa.array([dt.datetime(3000, 1, 1) if i == 7 else d.as_py() for i, d in enumerate(dates)],
                         pa.timestamp("us"))
        return t.set_column(2, "下单日期", dates)
    out.append(_frame_case("pq-date-year3000", "a year-3000 timestamp in a Parquet file", writer(year3000),
                           fmt="parquet", known=lambda o: [check_rejected_id(o, oid7, "date 3000-01-01")],
                           rows_in=n, ci=True))

    def list_cells():
        import pyarrow as pa

        t = pa.Table.from_pandas(_golden_frame(), preserve_index=False)
        return t.set_column(5, "渠道", pa.array([["a", "b"]] * t.num_rows))
    out.append(_frame_case("pq-list-cells", "list cells in the channel column", writer(list_cells), fmt="parquet",
                           rows_in=n))

    def struct_amount():
        import pyarrow as pa

        t = pa.Table.from_pandas(_golden_frame(), preserve_index=False)
        return t.set_column(3, "金额", pa.array([{"v": 1.0, "c": "cny"}] * t.num_rows))
    out.append(_frame_case("pq-struct-amount", "struct cells in the amount column", writer(struct_amount),
                           fmt="parquet", rows_in=n))

    def tz_dates():
        df = typed()
        df["下单日期"] = df["下单日期"].dt.tz_localize("Asia/Shanghai")
        return df
    out.append(_frame_case("pq-date-tz", "timezone-aware timestamps", writer(tz_dates), fmt="parquet",
                           known=lambda o: [check_kept(o, n)], rows_in=n))

    def int_dates():
        df = typed()
        df["下单日期"] = df["下单日期"].astype("int64")
        return df
    out.append(_frame_case("pq-date-int-ns", "dates as int64 nanoseconds", writer(int_dates), fmt="parquet",
                           rows_in=n))

    def decimal_amount():
        import decimal

        import pyarrow as pa

        t = pa.Table.from_pandas(_golden_frame(), preserve_index=False)
        return t.set_column(3, "金额", pa.array([decimal.Decimal(v) for v in _golden_frame()["金额"]],
                                                pa.decimal128(18, 2)))
    out.append(_frame_case("pq-amount-decimal", "decimal128 amounts", writer(decimal_amount), fmt="parquet",
                           known=lambda o: [check_kept(o, n)], rows_in=n))

    def uint_ids():
        df = typed()
        df["客户编号"] = np.arange(len(df), dtype="uint64") % 20 + 2**63
        return df
    out.append(_frame_case("pq-uint64-ids", "uint64 customer ids above 2^63", writer(uint_ids), fmt="parquet",
                           rows_in=n))

    def all_null_amount():
        df = typed()
        df["金额"] = np.nan
        return df
    out.append(_frame_case("pq-amount-all-null", "every amount null", writer(all_null_amount), fmt="parquet",
                           must_fail=True, rows_in=n))

    def categorical():
        df = typed()
        df["客户编号"] = df["客户编号"].astype("category")
        return df
    out.append(_frame_case("pq-categorical-ids", "dictionary-encoded customer ids", writer(categorical),
                           fmt="parquet", known=lambda o: [check_kept(o, n)], rows_in=n))

    def empty():
        return typed().iloc[:0]
    out.append(_frame_case("pq-zero-rows", "a Parquet file with no rows", writer(empty), fmt="parquet",
                           must_fail=True))

    def trunc(folder: Path) -> Path:
        p = folder / "orders.parquet"
        typed().to_parquet(p, index=False)
        b = p.read_bytes()
        p.write_bytes(b[: len(b) // 2])
        return p
    out.append(_frame_case("pq-truncated", "a truncated Parquet input", trunc, fmt="parquet", must_fail=True, ci=True))

    def dup_cols():
        import pyarrow as pa

        t = pa.Table.from_pandas(_golden_frame(), preserve_index=False)
        return pa.table([*t.columns, t.column(5)], names=[*t.column_names, "金额"])
    out.append(_frame_case("pq-duplicate-column", "two Parquet columns named like the amount", writer(dup_cols),
                           fmt="parquet", must_fail=True))
    return out


def excel_cases(base: Base, rng: random.Random) -> list[Case]:
    out = []
    n = len(golden_records())

    def xlsx(fn, sheet="orders"):
        def make(folder: Path) -> Path:
            p = folder / "orders.xlsx"
            df = fn()
            with pd.ExcelWriter(p) as w:
                df.to_excel(w, index=False, sheet_name=sheet)
            return p
        return make

    def typed():
        df = _golden_frame()
        df["金额"] = df["金额"].astype(float)
        df["下单日期"] = pd.to_datetime(df["下单日期"])
        return df
    out.append(_frame_case("xls-valid", "a typed xlsx", xlsx(typed), fmt="excel", must_succeed=True,
                           known=lambda o: [check_kept(o, n)], rows_in=n, ci=True))
    for sheet, name in (("nope", "xls-sheet-missing"), (99, "xls-sheet-index-99"), (-1, "xls-sheet-negative"),
                        ("", "xls-sheet-empty-name")):
        out.append(_frame_case(name, f"sheet {sheet!r}", xlsx(typed), fmt="excel", source_extra={"sheet": sheet},
                               must_fail=name != "xls-sheet-negative",  # -1: the last sheet, as in Python
                               ci=name == "xls-sheet-missing"))

    def dup():
        df = _golden_frame()
        df.columns = GOLDEN_HEADER[:5] + ["金额"]
        return df
    out.append(_frame_case("xls-duplicate-header", "the amount header twice in an xlsx", xlsx(dup), fmt="excel",
                           must_fail=True))

    def errors():
        df = typed().astype(object)
        df.loc[3, "金额"] = "#DIV/0!"
        df.loc[4, "下单日期"] = "#VALUE!"
        return df
    out.append(_frame_case("xls-error-cells", "#DIV/0! and #VALUE! cells", xlsx(errors), fmt="excel", rows_in=n,
                           known=lambda o: [check_kept(o, n - 2)]))

    def corrupt(folder: Path) -> Path:
        p = xlsx(typed)(folder)
        b = p.read_bytes()
        p.write_bytes(b[: len(b) // 3])
        return p
    out.append(_frame_case("xls-truncated", "a truncated xlsx", corrupt, fmt="excel", must_fail=True, ci=True))

    def header_row2(folder: Path) -> Path:
        p = folder / "orders.xlsx"
        df = typed()
        with pd.ExcelWriter(p) as w:
            pd.DataFrame([["客户订单导出 2024"]]).to_excel(w, index=False, header=False, sheet_name="s")
            df.to_excel(w, index=False, startrow=2, sheet_name="s")
        return p
    out.append(_frame_case("xls-title-rows", "a title row above the header", header_row2, fmt="excel",
                           must_fail=True))

    def empty_book(folder: Path) -> Path:
        p = folder / "orders.xlsx"
        pd.DataFrame().to_excel(p, index=False)
        return p
    out.append(_frame_case("xls-empty", "an xlsx with an empty sheet", empty_book, fmt="excel", must_fail=True))

    def inf_cells():
        df = typed()
        df.loc[3, "金额"] = 1e308 * 10
        return df
    out.append(_frame_case("xls-amount-inf", "an inf amount cell", xlsx(inf_cells), fmt="excel",
                           known=lambda o: [check_finite_amounts(o)]))

    def xls_dates_as_numbers():
        df = typed()
        df["下单日期"] = (df["下单日期"] - pd.Timestamp("1899-12-30")).dt.days
        return df
    out.append(_frame_case("xls-serial-dates", "dates as Excel serial numbers", xlsx(xls_dates_as_numbers),
                           fmt="excel", known=lambda o: [check_kept(o, n)], rows_in=n))
    return out


def source_cases(base: Base, rng: random.Random) -> list[Case]:
    """Mutations of the source block of the config (path, format, sql, filters, columns, ...)."""
    out = []
    n = len(golden_records())

    def case(cid, desc, extra, *, must_fail=False, ci=False, mapping=None, known=None, area="config"):
        return _golden_case(base, cid, desc, None, source_extra=extra, must_fail=must_fail, ci=ci, area=area,
                            mapping=mapping, count_rows=False, known=known)

    out += [
        case("src-path-missing", "path to a file that does not exist", {"path": "/nonexistent/orders.csv"},
             must_fail=True, ci=True),
        case("src-path-dir", "path is a folder", {"path": "/tmp"}, must_fail=True),
        case("src-path-empty", "path ''", {"path": ""}, must_fail=True),
        case("src-path-dev-null", "path /dev/null", {"path": "/dev/null"}, must_fail=True),
        case("src-path-list", "path is a list", {"path": ["a.csv", "b.csv"]}, must_fail=True),
        case("src-format-parquet-on-csv", "format parquet on a CSV", {"format": "parquet"}, must_fail=True, ci=True),
        case("src-format-excel-on-csv", "format excel on a CSV", {"format": "excel"}, must_fail=True),
        case("src-format-whitespace-on-csv", "format whitespace on a CSV", {"format": "whitespace"}),
        case("src-format-unknown", "format json", {"format": "json"}, must_fail=True),
        case("src-sql-invalid", "sql is not SQL", {"sql": "SELEC nothing"}, must_fail=True, ci=True),
        case("src-sql-empty-result", "sql returns no rows",
             {"sql": "SELECT * FROM read_csv_auto('{path}') WHERE 1=0"}, must_fail=True),
        case("src-sql-path-missing", "sql uses {path} with a missing file",
             {"sql": "SELECT * FROM read_csv_auto('{path}')", "path": "/nonexistent.csv"}, must_fail=True),
        case("src-sql-wrong-columns", "sql returns other columns", {"sql": "SELECT 1 AS x"}, must_fail=True),
        case("src-sql-typed", "sql returns typed columns",
             {"sql": "SELECT * FROM read_csv_auto('{path}')"}, known=lambda o, rows: [check_kept(o, n)], area="data"),
        case("src-sql-huge-range", "sql over range(500,000) rows",
             {"sql": "SELECT 'O'||range AS 订单号, 'G01' AS 客户编号, DATE '2024-01-01' AS 下单日期, 1.0 AS 金额, "
                     "'completed' AS 状态, 'x' AS 渠道 FROM range(500000)"}, area="data"),
        case("src-filters-bad-regex", "a filter regex that does not compile", {"filters": {"channel": "(unclosed"}},
             must_fail=True, ci=True),
        case("src-filters-unknown-col", "a filter on a column the table lacks", {"filters": {"cost": "x"}},
             must_fail=True),
        case("src-filters-match-nothing", "a filter no row matches", {"filters": {"channel": "^zzz$"}},
             must_fail=True),
        case("src-filters-not-str", "a filter value that is a number", {"filters": {"channel": 5}}),
        case("src-columns-not-canonical", "mapping a non-canonical column", {"columns": {"foo": "金额"}},
             must_fail=True),
        case("src-columns-int-value", "mapping to an int", {"columns": {**GOLDEN_MAPPING, "amount": 3}}),
        case("src-columns-two-to-one", "two canonical columns mapped to one file column",
             {"columns": {**GOLDEN_MAPPING, "cost": "金额"}}),
        case("src-columns-same-target", "amount mapped to the date column",
             {"columns": {**GOLDEN_MAPPING, "amount": "下单日期"}}, must_fail=True),
        case("src-synthesize-key-present", "synthesize_key with order_id present", {"synthesize_key": True},
             known=lambda o, rows: [check_kept(o, n)], area="data"),
        case("src-header-false", "header: false with a header line", {"header": False}, must_fail=True),
        case("src-sheet-on-csv", "sheet on a CSV source", {"sheet": "x"}),
        case("src-encoding-int", "encoding: 5", {"encoding": 5}, must_fail=True),
        case("src-delimiter-int", "delimiter: 1", {"delimiter": 1}),
        case("src-unknown-key", "a misspelt key 'delimeter'", {"delimeter": ";"}, must_fail=True, ci=True),
    ]
    # other tables: a customers source that is broken while orders are fine
    for cid, desc, src, must_fail in (
        ("src-customers-missing-file", "customers path missing", {"path": "/nonexistent/c.csv"}, True),
        ("src-customers-no-id", "customers without customer_id", {"path": "CUSTFILE_NOID"}, True),
        ("src-tickets-empty", "tickets file header only", {"path": "TICKETS_EMPTY"}, True),
        ("src-surveys-nps-text", "surveys with nps 'abc' and 11", {"path": "SURVEYS_BAD"}, False),
    ):
        out.append(_multi_table_case(base, cid, desc, src, must_fail))
    return out


def _multi_table_case(base: Base, cid: str, desc: str, src: dict, must_fail: bool) -> Case:
    def build(folder: Path) -> Spec:
        rows = golden_records()
        orders = write_golden_csv(folder / "orders.csv", GOLDEN_HEADER, rows)
        doc = {"data": {"orders": {"path": str(orders), "columns": GOLDEN_MAPPING}}}
        marker = src.get("path")
        counts = {"orders": len(rows)}
        if marker == "CUSTFILE_NOID":
            p = folder / "customers.csv"
            p.write_text("name,industry\nA,retail\nB,it\n", encoding="utf-8")
            doc["data"]["customers"] = {"path": str(p)}
        elif marker == "TICKETS_EMPTY":
            p = folder / "tickets.csv"
            p.write_text("ticket_id,customer_id,created_at\n", encoding="utf-8")
            doc["data"]["tickets"] = {"path": str(p)}
        elif marker == "SURVEYS_BAD":
            p = folder / "surveys.csv"
            p.write_text("customer_id,answered_at,nps_score\nG01,2024-01-01,abc\nG01,2024-02-01,11\n"
                         "G01,2024-03-01,9\nG02,2024-03-01,-1\nG02,2024-03-01,inf\n", encoding="utf-8")
            doc["data"]["surveys"] = {"path": str(p)}
            counts["surveys"] = 5
        else:
            doc["data"]["customers"] = dict(src)
        cfg = _write_yaml(folder / "case.yaml", doc)
        out = folder / "clean"
        return Spec(["prepare", "--config", str(cfg), "--out", str(out), "--quiet"], cwd=folder, prepare_out=out,
                    rows_in=counts, must_fail=must_fail)
    return Case(cid, "data", "inproc", build, desc, timeout=60)


# ------------------------------------------------------------------------------------------ config keys


def _leaves(d, prefix=()):
    """(path, default value) of every leaf key of the default config; lists of models expand their first item."""
    for k, v in d.items():
        p = (*prefix, k)
        if isinstance(v, dict) and v and k not in ("status_map", "risk_band_cuts", "lgbm_params", "filters",
                                                    "columns"):
            yield from _leaves(v, p)
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            yield p, v
            for kk, vv in v[0].items():
                yield (*p, 0, kk), vv
        else:
            yield p, v


def _bad_values(default) -> list[tuple[str, object]]:
    if isinstance(default, bool):
        return [("str", "maybe"), ("int2", 2), ("list", [True])]
    if isinstance(default, int):
        return [("str", "abc"), ("neg", -1), ("zero", 0), ("huge", 10**12), ("float", 1.5), ("null", None),
                ("inf", float("inf"))]
    if isinstance(default, float):
        return [("str", "abc"), ("neg", -1.0), ("zero", 0.0), ("huge", 1e308), ("inf", float("inf")),
                ("nan", float("nan")), ("null", None)]
    if isinstance(default, str):
        return [("int", 123), ("empty", ""), ("long", "x" * 5000), ("null", None), ("list", ["a"]),
                ("slash", "../../etc/x")]
    if isinstance(default, list):
        return [("str", "notalist"), ("nulls", [None]), ("ints", [123]), ("empty", [])]
    if isinstance(default, dict):
        return [("str", "notadict"), ("bogus", {"bogus": 1}), ("empty", {})]
    if default is None:
        return [("int", 123), ("list", [1]), ("dict", {"a": 1}), ("str", "x")]
    return [("str", "abc")]


_SECTION_COMMAND = {"data": "prepare", "synthetic": "prepare", "features": "loyalty", "scoring": "loyalty",
                    "privacy": "loyalty", "name": "loyalty", "industry": "loyalty", "output_dir": "loyalty",
                    "training": "train", "tracking": "models", "scoring_job": "score"}
# absurd values a type table does not produce, per key
_EXTRA_VALUES = {
    ("training", "promotion_metric"): [("foo", "foo")],
    ("training", "value_promotion_metric"): [("foo", "foo")],
    ("training", "lgbm_params"): [("lr0", {"learning_rate": 0}), ("leaves-neg", {"num_leaves": -1}),
                                  ("objective", {"objective": "nonsense"}), ("unknown", {"bogus_param": 1}),
                                  ("lr-str", {"learning_rate": "fast"})],
    ("features", "churn_horizon_days"): [("1e12", 10**12)],
    ("features", "value_horizon_days"): [("1e12", 10**12)],
    ("features", "lookback_days"): [("1e12", 10**12), ("100000", 100000)],
    ("scoring", "indicators", "repurchase_rate", "weight"): [("inf", float("inf")), ("nan", float("nan")),
                                                             ("1e308", 1e308)],
    ("tracking", "experiment"): [("slash", "a/b"), ("empty", ""), ("spaces", "   ")],
    ("tracking", "churn_model_name"): [("slash", "a/b:c"), ("empty", ""), ("percent", "%$#")],
    ("tracking", "tracking_uri"): [("nonexistent-dir", "sqlite:////nonexistent/dir/mlflow.db"),
                                   ("garbage", "garbage://x"), ("file", "file:///tmp/x")],
    ("data", "cleaning", "test_id_patterns"): [("bad-regex", ["(unclosed"]), ("match-all", [".*"])],
    ("data", "cleaning", "non_product_codes"): [("bad-regex", ["(post"]), ("match-all", [".*"])],
    ("scoring_job", "risk_band_cuts"): [("unordered", {"medium": 0.9, "high": 0.5, "very_high": 0.7})],
    ("privacy", "key_env"): [("unset-var", "NO_SUCH_VAR_X")],
    ("privacy", "pseudonymize_ids"): [("on-no-key", True)],
    ("scoring", "tiers", "devoted"): [("101", 101.0)],
}


#: Values the issue names as invalid although their type is right: exit 0 with them is a wrong answer.
_MUST_FAIL = {
    ("training", "lgbm_params"): {"lr0", "leaves-neg", "objective", "unknown", "lr-str", "str"},
    ("training", "promotion_metric"): {"foo", "empty", "long", "slash", "int"},
    ("training", "value_promotion_metric"): {"foo", "empty", "long", "slash", "int"},
    ("data", "cleaning", "test_id_patterns"): {"bad-regex"},
    ("data", "cleaning", "non_product_codes"): {"bad-regex"},
    ("scoring_job", "risk_band_cuts"): {"unordered"},
    ("privacy", "pseudonymize_ids"): {"on-no-key"},
    ("scoring", "tiers", "devoted"): {"101"},
}


def _must_fail(path: tuple, vname: str) -> bool | None:
    if vname in _MUST_FAIL.get(path, ()):
        return True
    if path[:2] == ("scoring", "indicators") and path[-1] == "weight" and vname in ("inf", "nan"):
        return True  # weights finite and >= 0 (issue 10 section 1)
    return None


def config_cases(base: Base, rng: random.Random) -> list[Case]:
    from loyalist.config import config_to_dict
    from loyalist.config.models import LoyalistConfig

    defaults = config_to_dict(LoyalistConfig())
    out = []
    leaves = list(_leaves(defaults))
    for path, default in leaves:
        values = _bad_values(default)
        names = {v for v, _ in values}
        values += [(v, x) for v, x in _EXTRA_VALUES.get(tuple(path), []) if v not in names]
        for vname, value in values:
            cid = "cfg-" + ".".join(str(p) for p in path) + "-" + vname
            out.append(_config_case(base, cid, list(path), default, value, must_fail=_must_fail(tuple(path), vname)))
    # unknown keys, one per section, and non-mapping files
    for section in ("data", "features", "scoring", "training", "tracking", "scoring_job", "privacy"):
        out.append(_config_case(base, f"cfg-{section}-unknown-key", [section, "lookbak_days"], None, 1,
                                must_fail=True))
    for name, text in (("cfg-file-list", "- a\n- b\n"), ("cfg-file-scalar", "42\n"), ("cfg-file-bad-yaml", "a: [\n"),
                       ("cfg-file-tabs", "data:\n\torders: x\n"), ("cfg-file-latin1", None),
                       ("cfg-file-binary", None), ("cfg-file-empty", ""), ("cfg-file-anchor-bomb", None),
                       ("cfg-file-python-tag", "a: !!python/object/apply:os.system ['echo hi']\n"),
                       ("cfg-file-dup-keys", "features:\n  lookback_days: 100\n  lookback_days: 200\n")):
        out.append(_config_file_case(base, name, text))
    return out


def _config_case(base: Base, cid: str, path: list, default, value, must_fail: bool | None = None) -> Case:
    section = path[0]
    command = _SECTION_COMMAND.get(section, "loyalty")
    # wrong types are errors; other values may be legitimately accepted (judged by the outputs' sanity)
    wrong_type = (value is None and default is not None and not _nullable(path)) or (
        isinstance(default, (int, float)) and not isinstance(default, bool) and isinstance(value, str)) or (
        isinstance(default, dict) and isinstance(value, str)) or (isinstance(default, list) and isinstance(value, str))
    if must_fail is None:
        must_fail = bool(wrong_type)

    def build(folder: Path) -> Spec:
        doc: dict = {}
        if isinstance(path[-2] if len(path) > 1 else None, int):  # an item of a list of models
            items = json.loads(json.dumps(_get(path[:-2])))
            items[0][path[-1]] = value
            _set_path(doc, path[:-2], items)
        else:
            _set_path(doc, path, value)
        bad = _write_yaml(folder / "bad.yaml", doc)
        if command == "prepare":
            out = folder / "clean"
            return Spec(["prepare", "--config", str(base.golden_yaml), "--config", str(bad), "--out", str(out),
                         "--quiet"], cwd=folder, prepare_out=out, rows_in={"orders": base.golden_rows},
                        must_fail=must_fail)
        if command == "loyalty":
            out = folder / "out"
            return Spec(["loyalty", "--config", str(bad), "--clean", str(base.golden_clean), "--out", str(out),
                         "--quiet"], cwd=folder, checks=[check_loyalty_sane(out)], must_fail=must_fail,
                        env={"LOYALIST_PSEUDONYM_KEY": ""} if section == "privacy" else {})
        if command == "train":
            shutil.copytree(base.clean, folder / "clean")
            kind = "value" if "value" in str(path[-1]) else "churn"
            return Spec(["train", "--config", str(bad), "--clean", str(folder / "clean"), "--workdir", str(folder),
                         "--only", kind, "--quiet"], cwd=folder, must_fail=must_fail)
        if command == "models":
            _copy_project(base, folder, clean=False)
            return Spec(["models", "--config", str(bad), "--workdir", str(folder)], cwd=folder, must_fail=must_fail)
        _copy_project(base, folder)
        out = folder / "scores"
        return Spec(["score", "--config", str(bad), "--clean", str(folder / "clean"), "--workdir", str(folder),
                     "--out", str(out), "--quiet"], cwd=folder, must_fail=must_fail,
                    checks=[check_scores_sane(out, 100)])

    area = "config"
    timeout = 300 if command == "train" else (180 if command == "score" else 60)
    return Case(cid, area, "inproc", build, f"config {'.'.join(map(str, path))} = {str(value)[:40]!r} ({command})",
                timeout=timeout, ci=cid in _CI_CONFIG)


_CI_CONFIG = {"cfg-features.lookback_days-str", "cfg-scoring.indicators.repurchase_rate.weight-inf",
              "cfg-features.churn_horizon_days-1e12", "cfg-training.promotion_metric-foo",
              "cfg-data.cleaning.test_id_patterns-bad-regex", "cfg-scoring.tiers.devoted-101",
              "cfg-training.lgbm_params-lr0", "cfg-tracking.experiment-slash", "cfg-file-latin1",
              "cfg-file-bad-yaml", "cfg-features-unknown-key", "cfg-scoring_job.explain_top_k-neg",
              "cfg-data.cleaning.extreme_quantile-nan", "cfg-privacy.pseudonymize_ids-on-no-key",
              "cfg-file-dup-keys", "cfg-scoring_job.seed-neg", "cfg-scoring_job.actions-empty"}


def _nullable(path: list) -> bool:
    """Whether the config model declares the key at ``path`` optional (``X | None``): null is then a valid value
    even where the default is not null (e.g. ``scoring_job.actions[0].driver_group``: null means any driver)."""
    import types
    import typing

    from pydantic import BaseModel

    from loyalist.config.models import LoyalistConfig

    tp: typing.Any = LoyalistConfig
    for part in path:
        args = typing.get_args(tp)
        if typing.get_origin(tp) in (typing.Union, types.UnionType):
            tp = next((a for a in args if a is not type(None)), None)
            args = typing.get_args(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(part))
            if field is None:
                return False
            tp = field.annotation
        elif typing.get_origin(tp) is dict:
            tp = args[1]
        elif typing.get_origin(tp) is list:
            tp = args[0]
        else:
            return False
    return typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in typing.get_args(tp)


def _get(path):
    from loyalist.config import config_to_dict
    from loyalist.config.models import LoyalistConfig

    d = config_to_dict(LoyalistConfig())
    for p in path:
        d = d[p]
    return d


def _config_file_case(base: Base, cid: str, text: str | None) -> Case:
    def build(folder: Path) -> Spec:
        p = folder / "bad.yaml"
        if cid == "cfg-file-latin1":
            p.write_bytes("name: télévente\n".encode("latin-1"))
        elif cid == "cfg-file-binary":
            p.write_bytes(bytes(random.Random(9).randbytes(400)))
        elif cid == "cfg-file-anchor-bomb":
            lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
            for k in range(1, 9):
                lines.append(f"a{k}: &a{k} [*{'a' if k == 1 else 'a' + str(k - 1)}, *{'a' if k == 1 else 'a' + str(k - 1)}, "
                             f"*{'a' if k == 1 else 'a' + str(k - 1)}, *{'a' if k == 1 else 'a' + str(k - 1)}]")
            p.write_text("\n".join(lines) + "\n")
        else:
            p.write_text(text, encoding="utf-8")
        out = folder / "clean"
        return Spec(["prepare", "--config", str(base.golden_yaml), "--config", str(p), "--out", str(out), "--quiet"],
                    cwd=folder, prepare_out=out, must_fail=cid not in ("cfg-file-empty",))
    return Case(cid, "config", "inproc", build, f"config file: {cid.removeprefix('cfg-file-')}", timeout=30,
                ci=cid in _CI_CONFIG)


# ------------------------------------------------------------------------------------------------ CLI


def cli_cases(base: Base, rng: random.Random) -> list[Case]:
    out: list[Case] = []

    def c(cid, argv_fn, *, area="ops", must_fail=False, must_succeed=False, ci=False, checks=None, timeout=60,
          project=True, mode="inproc", desc=None, debug=False):
        def build(folder: Path) -> Spec:
            if project:
                _copy_project(base, folder)
            argv = argv_fn(folder)
            return Spec([str(a) for a in argv], cwd=folder, must_fail=must_fail, must_succeed=must_succeed,
                        checks=checks(folder) if checks else [], debug=debug)
        out.append(Case(cid, area, mode, build, desc or cid, ci=ci, timeout=timeout))

    G = base.golden_clean
    # ---- global
    c("cli-no-args", lambda f: [], project=False)
    c("cli-unknown-command", lambda f: ["frobnicate"], must_fail=True, project=False)
    c("cli-help", lambda f: ["--help"], must_succeed=True, project=False)
    for cmd in ("demo", "prepare", "loyalty", "train", "score", "promote", "models", "export", "tune-weights",
                "report", "track"):
        c(f"cli-{cmd}-help", lambda f, cmd=cmd: [cmd, "--help"], must_succeed=True, project=False)
        c(f"cli-{cmd}-unknown-option", lambda f, cmd=cmd: [cmd, "--bogus-option", "1"], must_fail=True,
          project=False)
    c("cli-debug-bad-config", lambda f: ["--debug", "prepare", "--config", "/nonexistent.yaml"], project=False,
      desc="--debug shows the traceback by design; it must end in the loyalist error, not another one", debug=True)
    # ---- demo
    for name, val in (("neg", "-1"), ("zero", "0"), ("one", "1"), ("nine", "9"), ("str", "many"),
                      ("float", "10.5"), ("huge", str(10**20))):
        c(f"cli-demo-customers-{name}", lambda f, val=val: ["demo", "--workdir", f / "w", "--customers", val,
                                                            "--no-train", "--quiet"],
          area="ops", must_fail=name in ("neg", "zero", "str", "float", "huge"), project=False,
          ci=name in ("neg", "one"), timeout=90)
    for name, val in (("neg", "-1"), ("huge", str(2**64)), ("str", "x")):
        c(f"cli-demo-seed-{name}", lambda f, val=val: ["demo", "--workdir", f / "w", "--customers", "30", "--seed", val,
                                                       "--no-train", "--quiet"], project=False, timeout=90)
    c("cli-demo-workdir-file", lambda f: (f / "afile").write_text("x") and ["demo", "--workdir", f / "afile",
                                                                          "--customers", "30", "--no-train"],
      must_fail=True, project=False, ci=True)
    # ---- prepare
    c("cli-prepare-no-config", lambda f: ["prepare", "--out", f / "o"], must_fail=True, project=False, ci=True)
    c("cli-prepare-config-missing", lambda f: ["prepare", "--config", f / "nope.yaml", "--out", f / "o"],
      must_fail=True, project=False)
    c("cli-prepare-config-dir", lambda f: ["prepare", "--config", f, "--out", f / "o"], must_fail=True, project=False)
    c("cli-prepare-out-file", lambda f: (f / "afile").write_text("x") and ["prepare", "--config", base.golden_yaml,
                                                                           "--out", f / "afile"],
      must_fail=True, project=False, ci=True)
    c("cli-prepare-out-empty", lambda f: ["prepare", "--config", base.golden_yaml, "--out", ""], project=False)
    c("cli-prepare-out-devnull", lambda f: ["prepare", "--config", base.golden_yaml, "--out", "/dev/null"],
      must_fail=True, project=False)
    c("cli-prepare-out-under-file", lambda f: (f / "afile").write_text("x") and [
        "prepare", "--config", base.golden_yaml, "--out", f / "afile" / "sub"], must_fail=True, project=False)
    c("cli-prepare-out-over-input", lambda f: (shutil.copytree(base.golden_clean, f / "g"), [
        "prepare", "--config", base.golden_yaml, "--out", f / "g"])[1], project=False,
      checks=lambda f: [lambda: None if not prepare_ledger_problems(f / "g", {"orders": base.golden_rows}) else
                        "; ".join(prepare_ledger_problems(f / "g", {"orders": base.golden_rows}))])
    # ---- loyalty (golden project): known answers
    c("cli-loyalty-golden", lambda f: ["loyalty", "--clean", G, "--out", f / "o", "--quiet"], area="data",
      must_succeed=True, project=False, ci=True,
      checks=lambda f: [check_tier(f / "o", GOOD_CUSTOMER, "devoted"), check_tier(f / "o", LOST_CUSTOMER, "high_risk"),
                        check_n_orders(f / "o", "G02", 1)])
    c("cli-loyalty-asof-lastday", lambda f: ["loyalty", "--clean", G, "--as-of", LAST_DATE, "--out", f / "o", "--quiet"],
      area="data", must_succeed=True, project=False, ci=True,
      checks=lambda f: [check_n_orders(f / "o", "G02", 1), check_tier(f / "o", GOOD_CUSTOMER, "devoted")])
    c("cli-loyalty-asof-nextday", lambda f: ["loyalty", "--clean", G, "--as-of", "2024-07-01", "--out", f / "o",
                                             "--quiet"], area="data", must_succeed=True, project=False,
      checks=lambda f: [check_n_orders(f / "o", "G02", 1)])
    for name, val in (("empty", ""), ("minus1", "-1"), ("text", "yesterday"), ("feb30", "2024-02-30"),
                      ("2099", "2099-01-01"), ("1900", "1900-01-01"), ("compact", "20240630"),
                      ("time", "2024-06-30T12:00"), ("year3000", "3000-01-01"), ("tz", "2024-06-30+08:00"),
                      ("spaces", "  2024-06-30 "), ("before-data", "2020-01-01"), ("huge", "99999-01-01")):
        for cmd in ("loyalty", "score"):
            def argv(f, val=val, cmd=cmd):
                if cmd == "loyalty":
                    return ["loyalty", "--clean", G, "--as-of", val, "--out", f / "o", "--quiet"]
                return ["score", "--clean", f / "clean", "--workdir", f, "--as-of", val, "--out", f / "o", "--quiet"]
            c(f"cli-{cmd}-asof-{name}", argv, area="data",
              must_fail=name in ("empty", "minus1", "text", "feb30", "year3000", "huge", "2099", "before-data"),
              project=cmd == "score", ci=name in ("empty", "minus1") and cmd == "loyalty",
              timeout=120 if cmd == "score" else 60)
    for opt, val, name in (("--clean", "/nonexistent", "clean-missing"), ("--clean", "EMPTY", "clean-empty-dir"),
                           ("--clean", "FILE", "clean-file"), ("--preset", "nope", "preset-unknown"),
                           ("--preset", "", "preset-empty"), ("--preset", "../presets/retail", "preset-traversal"),
                           ("--out", "FILE", "out-file"), ("--config", "/nonexistent.yaml", "config-missing")):
        for cmd in ("loyalty", "train", "score", "tune-weights"):
            def argv(f, opt=opt, val=val, cmd=cmd):
                v = val
                if val == "EMPTY":
                    (f / "empty").mkdir(exist_ok=True)
                    v = f / "empty"
                elif val == "FILE":
                    (f / "afile").write_text("x")
                    v = f / "afile"
                a = [cmd, "--clean", f / "clean"] + ([] if cmd == "loyalty" else ["--workdir", f])
                if cmd == "tune-weights":
                    a += ["--trials", "1"]
                if cmd == "train":
                    a += ["--only", "churn"]
                a += ["--quiet", opt, v]
                if opt == "--out" and cmd in ("train",):
                    return None
                return a
            if opt == "--out" and cmd == "train":
                continue
            c(f"cli-{cmd}-{name}", argv, must_fail=name not in ("preset-traversal", "preset-empty"), area="ops",
              ci=name in ("clean-empty-dir", "out-file") and cmd == "score", timeout=180)
    # ---- train
    for name, val in (("only-x", ["--only", "x"]), ("only-empty", ["--only", ""]), ("tune-neg", ["--tune", "-1"]),
                      ("tune-str", ["--tune", "many"]), ("workdir-file", "WORKDIR_FILE")):
        def argv(f, val=val):
            if val == "WORKDIR_FILE":
                (f / "afile").write_text("x")
                return ["train", "--clean", f / "clean", "--workdir", f / "afile", "--only", "churn", "--quiet"]
            return ["train", "--clean", f / "clean", "--workdir", f, "--quiet", *val]
        c(f"cli-train-{name}", argv, must_fail=True, ci=name in ("tune-neg", "only-x"), timeout=180)
    c("cli-train-golden-too-little-history", lambda f: ["train", "--clean", G, "--workdir", f, "--quiet"],
      area="models", project=False, timeout=180)
    # ---- score
    for name, argv_fn, mf in (
        ("churn-bundle-missing", lambda f: ["--churn-bundle", f / "nope"], True),
        ("churn-bundle-empty-dir", lambda f: (f / "b").mkdir() or ["--churn-bundle", f / "b"], True),
        ("churn-bundle-garbage", lambda f: ((f / "b").mkdir(), (f / "b" / "MLmodel").write_text("garbage: [")) and
         ["--churn-bundle", f / "b"], True),
        ("churn-bundle-file", lambda f: (f / "afile").write_text("x") and ["--churn-bundle", f / "afile"], True),
        ("value-bundle-garbage", lambda f: ((f / "b").mkdir(), (f / "b" / "model.pkl").write_bytes(b"\x80\x04junk"))
         and ["--value-bundle", f / "b"], True),
        ("workdir-empty", lambda f: (f / "w").mkdir() or ["--workdir", f / "w"], True),
    ):
        c(f"cli-score-{name}", lambda f, a=argv_fn: ["score", "--clean", f / "clean", "--workdir", f, "--out", f / "o",
                                                     "--quiet", *a(f)],
          must_fail=mf, ci=name in ("churn-bundle-garbage", "workdir-empty"), timeout=120)
    c("cli-score-valid", lambda f: ["score", "--clean", f / "clean", "--workdir", f, "--out", f / "o", "--quiet"],
      must_succeed=True, checks=lambda f: [check_scores_sane(f / "o", 100)], timeout=120, area="models")
    # ---- promote / models / export
    for name, args, mf in (("unknown-model", ["nope-model", "1"], True), ("version-999", ["loyalist-churn", "999"], True),
                           ("version-neg", ["loyalist-churn", "-1"], True), ("version-zero", ["loyalist-churn", "0"], True),
                           ("version-str", ["loyalist-churn", "abc"], True), ("name-empty", ["", "1"], True),
                           ("valid", ["loyalist-churn", "1"], False)):
        c(f"cli-promote-{name}", lambda f, args=args: ["promote", *args, "--workdir", f], must_fail=mf,
          must_succeed=not mf, ci=name in ("version-999", "valid"))
    c("cli-models-valid", lambda f: ["models", "--workdir", f], must_succeed=True)
    c("cli-models-empty-workdir", lambda f: (f / "w").mkdir() or ["models", "--workdir", f / "w"])
    c("cli-models-workdir-file", lambda f: (f / "afile").write_text("x") and ["models", "--workdir", f / "afile"],
      must_fail=True)
    for name, args, mf in (("unknown-model", ["nope-model"], True), ("alias-unknown", ["loyalist-churn", "bogus"], True),
                           ("version-999", ["loyalist-churn", "999"], True), ("valid", ["loyalist-churn"], False),
                           ("out-file", ["loyalist-churn", "--out", "FILE"], True)):
        def argv(f, args=args):
            a = []
            for x in args:
                if x == "FILE":
                    (f / "afile").write_text("x")
                    x = f / "afile"
                a.append(x)
            return ["export", *a, "--workdir", f] + ([] if "--out" in args else ["--out", f / "models"])
        c(f"cli-export-{name}", argv, must_fail=mf, must_succeed=not mf, ci=name == "out-file")
    # ---- tune-weights
    for name, args in (("trials-zero", ["--trials", "0"]), ("trials-neg", ["--trials", "-5"]),
                       ("min-customers-zero", ["--min-customers", "0"]), ("trials-str", ["--trials", "x"])):
        c(f"cli-tune-weights-{name}", lambda f, args=args: ["tune-weights", "--clean", f / "clean", "--workdir", f,
                                                            "--out", f / "o", "--quiet", *args], must_fail=True,
          project=True)
    c("cli-tune-weights-min-customers-huge", lambda f: ["tune-weights", "--clean", f / "clean", "--workdir", f,
                                                        "--out", f / "o", "--quiet", "--trials", "2",
                                                        "--min-customers", str(10**9)], timeout=180, area="models")
    # ---- report / track
    S = base.scores
    for name, args, mf in (
        ("top-neg", ["--top", "-1"], True), ("top-zero", ["--top", "0"], False), ("top-huge", ["--top", str(10**9)], False),
        ("lang-xx", ["--lang", "xx"], True), ("lang-empty", ["--lang", ""], True), ("format-docx", ["--format", "docx"], True),
        ("format-empty", ["--format", ""], True), ("format-html-dup", ["--format", "html,html"], False),
        ("out-file", ["--out", "FILE"], True), ("clean-missing", ["--clean", "/nonexistent"], True),
        ("clean-garbage", ["--clean", "GARBAGE"], True), ("previous-missing", ["--previous", "/nonexistent.parquet"], True),
        ("previous-same", ["--previous", str(S)], False), ("config-missing", ["--config", "/nonexistent.yaml"], True),
    ):
        def argv(f, args=args):
            a = []
            for x in args:
                if x == "FILE":
                    (f / "afile").write_text("x")
                    x = f / "afile"
                if x == "GARBAGE":
                    (f / "g").mkdir(exist_ok=True)
                    (f / "g" / "orders.parquet").write_bytes(b"garbage")
                    (f / "g" / "summary.csv").write_bytes(b"\x00\x01")
                    x = f / "g"
                a.append(x)
            return ["report", "--scores", S, "--out", f / "r", "--quiet", *a] if "--out" not in args else \
                ["report", "--scores", S, "--quiet", *a]
        c(f"cli-report-{name}", argv, area="report", must_fail=mf, project=False, timeout=120,
          ci=name in ("top-neg", "lang-xx", "clean-garbage"),
          checks=(lambda f: [check_report_sane(f / "r")]) if not mf else None)
    for name, make, mf in (
        ("scores-missing", lambda f: f / "nope.parquet", True),
        ("scores-garbage", lambda f: (f / "s.parquet").write_bytes(b"PAR1garbage") and f / "s.parquet", True),
        ("scores-empty-csv", lambda f: (f / "s.csv").write_text("") or f / "s.csv", True),
        ("scores-wrong-columns", lambda f: pd.DataFrame({"a": [1]}).to_parquet(f / "s.parquet") or f / "s.parquet", True),
        ("scores-zero-rows", lambda f: pd.read_parquet(S).iloc[:0].to_parquet(f / "s.parquet") or f / "s.parquet", True),
        ("scores-txt", lambda f: (f / "s.txt").write_text("hello") and f / "s.txt", True),
        ("scores-dir", lambda f: f, True),
        ("scores-nan-probs", lambda f: pd.read_parquet(S).assign(churn_probability=np.nan).to_parquet(f / "s.parquet")
         or f / "s.parquet", False),
        ("scores-summary-corrupt", lambda f: (shutil.copy(S, f / "churn_risk.parquet"),
                                              (f / "churn_risk_summary.json").write_text("{not json"))
         and f / "churn_risk.parquet", False),
    ):
        c(f"cli-report-{name}", lambda f, make=make: ["report", "--scores", make(f), "--out", f / "r", "--quiet"],
          area="report", must_fail=mf, project=False, timeout=120, ci=name in ("scores-garbage", "scores-summary-corrupt"))
        c(f"cli-track-{name}", lambda f, make=make: ["track", "--previous", S, "--current", make(f), "--out", f / "t",
                                                     "--quiet"],
          area="report", must_fail=mf, project=False, timeout=60, ci=name == "scores-wrong-columns")
    c("cli-track-same", lambda f: ["track", "--previous", S, "--current", S, "--out", f / "t"],
      area="report", project=False)
    c("cli-track-out-file", lambda f: (f / "afile").write_text("x") and ["track", "--previous", S, "--current", S,
                                                                        "--out", f / "afile"],
      must_fail=True, area="ops", project=False)
    return out


# ------------------------------------------------------------------------------------ file-system faults


def fs_cases(base: Base, rng: random.Random) -> list[Case]:
    out: list[Case] = []

    def c(cid, setup, argv_fn, *, must_fail=True, mode="inproc", as_nobody=False, ci=False, timeout=60, env=None,
          area="ops", desc=None):
        def build(folder: Path) -> Spec:
            _copy_project(base, folder)
            undo = setup(folder)
            if as_nobody and os.geteuid() == 0:
                subprocess.run(["chown", "-R", "65534:65534", str(folder)], check=True)
                for p in folder.rglob("*"):
                    if p.name == "RO":
                        subprocess.run(["chown", "-R", "0:0", str(p)], check=True)
                        os.chmod(p, 0o555)
            return Spec([str(a) for a in argv_fn(folder)], cwd=folder, must_fail=must_fail, as_nobody=as_nobody,
                        env=env or {}, cleanup=[undo] if callable(undo) else [])
        out.append(Case(cid, area, mode, build, desc or cid, ci=ci, timeout=timeout))

    db = lambda f: f / "mlruns" / "mlflow.db"  # noqa: E731
    corruptions = {
        "random-bytes": lambda f: db(f).write_bytes(random.Random(1).randbytes(50_000)),
        "truncated": lambda f: db(f).write_bytes(db(f).read_bytes()[: db(f).stat().st_size // 3]),
        "zero-bytes": lambda f: db(f).write_bytes(b""),
        "text": lambda f: db(f).write_text("this is not a database\n"),
        "directory": lambda f: (db(f).unlink(), db(f).mkdir()),
        "header-only": lambda f: db(f).write_bytes(db(f).read_bytes()[:100]),
    }
    for name, corrupt in corruptions.items():
        for cmd in ("models", "score", "promote", "train"):
            def argv(f, cmd=cmd):
                return {"models": ["models", "--workdir", f],
                        "score": ["score", "--clean", f / "clean", "--workdir", f, "--out", f / "o", "--quiet"],
                        "promote": ["promote", "loyalist-churn", "1", "--workdir", f],
                        "train": ["train", "--clean", f / "clean", "--workdir", f, "--only", "churn", "--quiet"]}[cmd]
            c(f"fs-mlflowdb-{name}-{cmd}", corrupt, argv, must_fail=name not in ("zero-bytes",),
              ci=(name, cmd) in (("random-bytes", "models"), ("truncated", "score")),
              timeout={"models": 60, "train": 300}.get(cmd, 120))  # train gets what every train case gets
    # truncated / garbage clean tables
    for table in ("orders", "customers", "tickets", "order_lines"):
        for name, corrupt in (("truncated", lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])),
                              ("zero-bytes", lambda p: p.write_bytes(b"")),
                              ("csv-text", lambda p: p.write_text("a,b\n1,2\n"))):
            for cmd in ("loyalty", "score", "train"):
                def argv(f, cmd=cmd):
                    return {"loyalty": ["loyalty", "--clean", f / "clean", "--out", f / "o", "--quiet"],
                            "score": ["score", "--clean", f / "clean", "--workdir", f, "--out", f / "o", "--quiet"],
                            "train": ["train", "--clean", f / "clean", "--workdir", f, "--only", "churn", "--quiet"]}[cmd]
                c(f"fs-clean-{table}-{name}-{cmd}", lambda f, corrupt=corrupt, table=table:
                  corrupt(f / "clean" / f"{table}.parquet"), argv,
                  ci=(table, name, cmd) in (("orders", "truncated", "loyalty"), ("customers", "csv-text", "score")),
                  timeout=120)
    c("fs-clean-orders-wrong-schema", lambda f: pd.DataFrame({"x": [1, 2]}).to_parquet(f / "clean" / "orders.parquet"),
      lambda f: ["loyalty", "--clean", f / "clean", "--out", f / "o", "--quiet"], ci=True)
    c("fs-clean-orders-dir", lambda f: ((f / "clean" / "orders.parquet").unlink(),
                                        (f / "clean" / "orders.parquet").mkdir()),
      lambda f: ["loyalty", "--clean", f / "clean", "--out", f / "o", "--quiet"])
    # read-only and full folders: a tmpfs mounted read-only / of 64 KB when the suite may mount (root in a
    # container), else chmod 0555 (real for an unprivileged user); neither -> the cases are left out
    ro_cmds = (
        ("prepare", lambda f: ["prepare", "--config", base.golden_yaml, "--out", f / "RO" / "clean", "--quiet"]),
        ("prepare-demo", lambda f: ["prepare", "--config", base.demo_yaml, "--out", f / "RO" / "clean", "--quiet"]),
        ("loyalty", lambda f: ["loyalty", "--clean", f / "clean", "--out", f / "RO" / "o", "--quiet"]),
        ("score", lambda f: ["score", "--clean", f / "clean", "--workdir", f, "--out", f / "RO" / "o", "--quiet"]),
        ("report", lambda f: ["report", "--scores", base.scores, "--out", f / "RO" / "r", "--quiet"]),
        ("track", lambda f: ["track", "--previous", base.scores, "--current", base.scores, "--out", f / "RO" / "t"]),
        ("export", lambda f: ["export", "loyalist-churn", "--workdir", f, "--out", f / "RO" / "m"]),
        ("demo", lambda f: ["demo", "--workdir", f / "RO", "--customers", "30", "--no-train", "--quiet"]),
    )
    how = _fs_method()
    if how:
        for kind in ("readonly", "full"):
            if kind == "full" and how != "mount":
                continue
            for cmd, argv_fn in ro_cmds:
                c(f"fs-{kind}-out-{cmd}", lambda f, kind=kind: _special_dir(f / "RO", kind), argv_fn,
                  ci=cmd in ("prepare", "score") and kind == "readonly", timeout=120)
            for cmd in ("score", "train", "models"):
                def argv(f, cmd=cmd):
                    t = _write_yaml(f / "t.yaml", {"tracking": {"tracking_uri": f"sqlite:///{f}/RO/mlflow.db"}})
                    return {"score": ["score", "--clean", f / "clean", "--workdir", f, "--out", f / "o", "--quiet",
                                      "--config", t],
                            "train": ["train", "--clean", f / "clean", "--workdir", f, "--only", "churn", "--quiet",
                                      "--config", t],
                            "models": ["models", "--workdir", f, "--config", t]}[cmd]

                def setup(f, kind=kind):
                    return _special_dir(f / "RO", kind, fill_from=f / "mlruns")  # the undo unmounts it
                # listing models only reads the store: a full folder need not stop it
                c(f"fs-{kind}-mlruns-{cmd}", setup, argv, timeout=180,
                  must_fail=not (cmd == "models" and kind == "full"))
    # unreachable tracking servers: must fail within the timeout (the issue asks for 10 s)
    for name, uri in (("refused", "http://127.0.0.1:9"), ("blackhole", "http://10.255.255.1:5000"),
                      ("bad-scheme", "ftp://example.invalid/x"), ("dns", "http://no-such-host.invalid:5000")):
        for cmd in ("models", "score"):
            def argv(f, cmd=cmd):
                return {"models": ["models", "--workdir", f],
                        "score": ["score", "--clean", f / "clean", "--workdir", f, "--out", f / "o", "--quiet"]}[cmd]
            c(f"fs-tracking-{name}-{cmd}", lambda f: None, argv, mode="subproc", env={"MLFLOW_TRACKING_URI": uri},
              timeout=30, ci=(name, cmd) == ("refused", "models"))
    return out


_FS_METHOD: list[str | None] = []


def _fs_method() -> str | None:
    """'mount' when tmpfs can be mounted here, 'chmod' when not root (0555 then binds), else None."""
    if not _FS_METHOD:
        how = None
        if os.geteuid() != 0:
            how = "chmod"
        elif shutil.which("mount"):
            import tempfile

            d = tempfile.mkdtemp(prefix="bi-mount-")
            ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", d], capture_output=True)
            if ok.returncode == 0:
                subprocess.run(["umount", d], capture_output=True)
                how = "mount"
            os.rmdir(d)
        _FS_METHOD.append(how)
    return _FS_METHOD[0]


def _special_dir(path: Path, kind: str, fill_from: Path | None = None):
    """Make ``path`` a read-only folder (``kind='readonly'``) or a nearly full one (``'full'``, 64 KB), holding a
    copy of ``fill_from`` when given; returns the undo."""
    path.mkdir(parents=True, exist_ok=True)
    if _fs_method() == "chmod":
        if fill_from is not None:
            shutil.copytree(fill_from, path, dirs_exist_ok=True)
        os.chmod(path, 0o555)
        return lambda: os.chmod(path, 0o755)
    size = "64m" if kind == "readonly" else ("64k" if fill_from is None else "16m")
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    if fill_from is not None:
        subprocess.run(["cp", "-a", f"{fill_from}/.", str(path)], capture_output=True)  # 'full' may not fit all
    if kind == "readonly":
        subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)
    else:
        try:
            with open(path / "filler.bin", "wb") as fh:
                while True:
                    fh.write(b"\0" * 4096)
                    fh.flush()
        except OSError:  # ENOSPC: the folder is full now
            pass
    return lambda: subprocess.run(["umount", "-l", str(path)], capture_output=True)


# ------------------------------------------------------------------------------------ kills, concurrency


def kill_cases(base: Base, rng: random.Random) -> list[Case]:
    out: list[Case] = []
    plans = [("prepare", 0.5, 4.0), ("loyalty", 0.5, 5.0), ("score", 1.0, 12.0), ("train", 2.0, 20.0),
             ("report", 1.0, 8.0)]
    sigs = [signal.SIGKILL, signal.SIGTERM, signal.SIGINT]
    for cmd, lo, hi in plans:
        for k in range(4):
            delay = round(rng.uniform(lo, hi), 2)
            sig = sigs[k % 3] if k < 3 else signal.SIGKILL
            cid = f"kill-{cmd}-{signal.Signals(sig).name.lower()}-{delay}s"

            def build(folder: Path, cmd=cmd, delay=delay, sig=sig) -> Spec:
                _copy_project(base, folder)
                argv = {
                    "prepare": ["prepare", "--config", str(base.demo_yaml), "--out", str(folder / "out"), "--quiet"],
                    "loyalty": ["loyalty", "--clean", str(folder / "clean"), "--out", str(folder / "out"), "--quiet"],
                    "score": ["score", "--clean", str(folder / "clean"), "--workdir", str(folder), "--out",
                              str(folder / "out"), "--quiet"],
                    "train": ["train", "--clean", str(folder / "clean"), "--workdir", str(folder), "--only", "churn",
                              "--quiet"],
                    "report": ["report", "--scores", str(base.scores), "--out", str(folder / "out"), "--quiet"],
                }[cmd]
                after = [_no_leftovers(folder / "out"), _no_leftovers(folder / "mlruns")]
                tmp = folder / "tmp"  # the job's TMPDIR: a job stopped by SIGTERM/SIGINT removes its temp folders
                tmp.mkdir()
                if sig != signal.SIGKILL:
                    after.append(_empty_folder(tmp, "the job's TMPDIR"))
                if sig != signal.SIGKILL and cmd in ("score", "train"):
                    after.append(_no_running_runs(folder / "mlruns" / "mlflow.db"))
                # the rerun gets the time a train/score case gets: 120 s of wall time is not enough at load 20
                rerun = _rerun(argv, folder, timeout=300 if cmd in ("score", "train") else 120)
                if sig == signal.SIGKILL:
                    # nothing can clean up after SIGKILL itself: the leftovers must be gone after the next run
                    after = [rerun, *after]
                else:
                    after.append(rerun)
                if cmd == "prepare":
                    after.append(lambda: "; ".join(prepare_ledger_problems(folder / "out", None)) or None)
                if cmd == "score":
                    after.append(_outputs_consistent(folder / "out"))
                if cmd == "train":
                    after.append(_rerun(["models", "--workdir", str(folder)], folder))
                return Spec(argv, cwd=folder, kill_after=delay, kill_signal=sig, after_kill=after,
                            env={"TMPDIR": str(tmp)})
            out.append(Case(cid, "ops", "kill", build, f"{cmd} killed by {signal.Signals(sig).name} after {delay} s",
                            timeout=300, ci=False))
    return out


def concurrent_cases(base: Base, rng: random.Random) -> list[Case]:
    out: list[Case] = []

    def train_pair(folder: Path) -> Spec:
        shutil.copytree(base.clean, folder / "clean")
        argv = ["train", "--clean", str(folder / "clean"), "--workdir", str(folder), "--only", "churn", "--quiet"]
        return Spec(argv, cwd=folder, copies=2, after_kill=[
            _rerun(["models", "--workdir", str(folder)], folder),
            _one_champion(folder / "mlruns" / "mlflow.db", "loyalist-churn")])
    for k in range(3):
        out.append(Case(f"conc-train-fresh-store-{k}", "ops", "concurrent", train_pair,
                        "two 'train' at once on a fresh store", timeout=400))

    def train_existing(folder: Path) -> Spec:
        _copy_project(base, folder)
        argv = ["train", "--clean", str(folder / "clean"), "--workdir", str(folder), "--only", "churn", "--quiet"]
        return Spec(argv, cwd=folder, copies=2, after_kill=[
            _rerun(["models", "--workdir", str(folder)], folder),
            _one_champion(folder / "mlruns" / "mlflow.db", "loyalist-churn")])
    out.append(Case("conc-train-existing-store", "ops", "concurrent", train_existing,
                    "two 'train' at once on a store with a champion", timeout=400))

    def same_out(cmd):
        def build(folder: Path) -> Spec:
            _copy_project(base, folder)
            argv = {
                "prepare": ["prepare", "--config", str(base.demo_yaml), "--out", str(folder / "out"), "--quiet"],
                "score": ["score", "--clean", str(folder / "clean"), "--workdir", str(folder), "--out",
                          str(folder / "out"), "--quiet"],
                "loyalty": ["loyalty", "--clean", str(folder / "clean"), "--out", str(folder / "out"), "--quiet"],
                "report": ["report", "--scores", str(base.scores), "--out", str(folder / "out"), "--quiet"],
            }[cmd]
            after = [_no_leftovers(folder / "out")]
            if cmd == "prepare":
                after.append(lambda: "; ".join(prepare_ledger_problems(folder / "out", None)) or None)
            if cmd == "score":
                after.append(_outputs_consistent(folder / "out"))
            return Spec(argv, cwd=folder, copies=2, after_kill=after)
        return build
    for cmd in ("prepare", "score", "loyalty", "report"):
        out.append(Case(f"conc-{cmd}-same-out", "ops", "concurrent", same_out(cmd),
                        f"two '{cmd}' at once into the same folder", timeout=300))

    def score_and_promote(folder: Path) -> Spec:
        _copy_project(base, folder)
        return Spec([], cwd=folder, argvs=[
            ["score", "--clean", str(folder / "clean"), "--workdir", str(folder), "--out", str(folder / "out"),
             "--quiet"],
            ["promote", "loyalist-churn", "1", "--workdir", str(folder)]], after_kill=[
            _outputs_consistent(folder / "out"), _one_champion(folder / "mlruns" / "mlflow.db", "loyalist-churn")])
    out.append(Case("conc-score-and-promote", "ops", "concurrent", score_and_promote,
                    "score while a person promotes", timeout=300))
    return out


# ------------------------------------------------------------------------------------------------ all


FAMILIES = (encoding_cases, delimiter_cases, quoting_cases, header_cases, amount_cases, date_cases, id_cases,
            size_cases, file_cases, parquet_cases, excel_cases, source_cases, config_cases, cli_cases, fs_cases,
            kill_cases, concurrent_cases)


def generate_cases(base: Base, seed: int = SEED) -> list[Case]:
    """Every case, in a fixed order; the same seed gives the same cases."""
    rng = random.Random(seed)
    cases: list[Case] = []
    for family in FAMILIES:
        cases.extend(family(base, rng))
    ids = [c.id for c in cases]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise ValueError(f"duplicate case ids: {sorted(dup)[:10]}")
    return cases
