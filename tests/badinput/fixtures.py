"""Shared inputs of the bad-input suite, built once per session.

- ``demo/``: ``loyalist demo`` on a small synthetic company (raw files, clean tables, loyalty and churn-risk lists,
  the report, an MLflow store with champion models), used by every case that needs a prepared project;
- ``golden/``: a hand-made orders file whose right answers are known (kept rows, the tier of two customers),
  the base every data mutation starts from.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

__all__ = ["Base", "build_base", "GOLDEN_HEADER", "golden_records", "GOLDEN_MAPPING", "write_golden_csv",
           "golden_yaml", "GOOD_CUSTOMER", "LOST_CUSTOMER", "LAST_DATE"]

DEMO_CUSTOMERS = 200
DEMO_SEED = 7

#: The golden orders file's header (user names) and its mapping onto canonical columns.
GOLDEN_HEADER = ["订单号", "客户编号", "下单日期", "金额", "状态", "渠道"]
GOLDEN_MAPPING = {"order_id": "订单号", "customer_id": "客户编号", "order_date": "下单日期", "amount": "金额",
                  "status": "状态", "channel": "渠道"}
#: Orders twice a month, same amount, up to the last date: repurchase 1, stability 1, frequency 24/yr -> devoted.
GOOD_CUSTOMER = "G01"
#: Two orders more than 90 days before the last date: the no_order_90_days guard makes it high risk.
LOST_CUSTOMER = "G03"
LAST_DATE = "2024-06-30"


def golden_records() -> list[list[str]]:
    """About 150 clean order rows (strings, in GOLDEN_HEADER order), every one of which must be kept."""
    rows: list[list[str]] = []
    n = 0

    def add(cust: str, day: str, amount: str, status: str = "completed", channel: str = "online") -> None:
        nonlocal n
        n += 1
        rows.append([f"O{n:05d}", cust, day, amount, status, channel])

    for year, month in [(2023, m) for m in range(1, 13)] + [(2024, m) for m in range(1, 7)]:
        add(GOOD_CUSTOMER, f"{year}-{month:02d}-01", "1000.00")
        add(GOOD_CUSTOMER, f"{year}-{month:02d}-15", "1000.00")
    add("G02", LAST_DATE, "250.00", channel="store")
    add(LOST_CUSTOMER, "2023-11-01", "800.00")
    add(LOST_CUSTOMER, "2023-12-01", "820.00")
    # 17 more customers with a deterministic spread of orders
    for i in range(4, 21):
        cust = f"G{i:02d}"
        for k in range(i % 7 + 3):
            month = 1 + (i * 3 + k * 5) % 18
            year, month = (2023, month) if month <= 12 else (2024, month - 12)
            day = 1 + (i * 7 + k * 11) % 28
            amount = f"{100 + (i * 37 + k * 53) % 900}.{(i + k) % 100:02d}"
            add(cust, f"{year}-{month:02d}-{day:02d}", amount, channel=("online", "store", "phone")[(i + k) % 3])
    rows.sort(key=lambda r: (r[2], r[0]))
    return rows


def write_golden_csv(path: Path, header: list[str], rows: list[list[str]], *, encoding: str = "utf-8",
                     delimiter: str = ",", quoting: int = csv.QUOTE_MINIMAL, newline: str = "\n") -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, quoting=quoting, lineterminator=newline)
    if header:
        w.writerow(header)
    w.writerows(rows)
    Path(path).write_bytes(buf.getvalue().encode(encoding))
    return Path(path)


def golden_yaml(path: Path, data_path: Path, source_extra: dict | None = None, top: dict | None = None,
                mapping: dict | None = None) -> Path:
    src = {"path": str(data_path), "columns": dict(GOLDEN_MAPPING if mapping is None else mapping)}
    src.update(source_extra or {})
    doc = {"data": {"orders": src}}
    for k, v in (top or {}).items():
        doc[k] = v
    Path(path).write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return Path(path)


@dataclass(frozen=True)
class Base:
    root: Path
    demo: Path          # workdir of the demo run (mlruns/ inside)
    raw: Path           # demo raw CSV files
    clean: Path         # demo clean tables
    outputs: Path       # outputs/demo: loyalty_scores, churn_risk, report/
    demo_yaml: Path     # a user config pointing at the demo raw files (absolute paths)
    golden_csv: Path
    golden_yaml: Path
    golden_clean: Path  # the golden file prepared
    golden_rows: int

    @property
    def scores(self) -> Path:
        return self.outputs / "churn_risk.parquet"


def build_base(root: Path) -> Base:
    """Build (or reuse, when ``root/READY`` exists) the shared inputs under ``root``."""
    root = Path(root)
    demo = root / "demo"
    raw = demo / "data" / "demo" / "raw"
    golden = root / "golden"
    if not (root / "READY").is_file():
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        from loyalist.jobs import demo as demo_job
        from loyalist.jobs import prepare as prepare_job

        from loyalist.config import load_config

        env = dict(os.environ)
        env.pop("MLFLOW_TRACKING_URI", None)
        demo_job.run(workdir=demo, n_customers=DEMO_CUSTOMERS, seed=DEMO_SEED, env=env, train=True)
        golden.mkdir()
        rows = golden_records()
        write_golden_csv(golden / "orders.csv", GOLDEN_HEADER, rows)
        golden_yaml(golden / "golden.yaml", golden / "orders.csv")
        prepare_job.run(load_config([golden / "golden.yaml"]), golden / "clean")
        _demo_yaml(root / "demo.yaml", raw)
        (root / "READY").write_text("ok\n")
    return Base(root=root, demo=demo, raw=raw, clean=demo / "data" / "demo" / "clean",
                outputs=demo / "outputs" / "demo", demo_yaml=root / "demo.yaml", golden_csv=golden / "orders.csv",
                golden_yaml=golden / "golden.yaml", golden_clean=golden / "clean", golden_rows=len(golden_records()))


def _demo_yaml(path: Path, raw: Path) -> None:
    """A user config naming the demo's raw files: the data block of the demo's own resolved config."""
    from loyalist.jobs.demo import demo_config

    from loyalist.config import config_to_dict

    data = config_to_dict(demo_config(raw, DEMO_CUSTOMERS, DEMO_SEED))["data"]
    sources = {t: {k: v for k, v in s.items() if v not in (None, {}, "auto")} for t, s in data.items()
               if t in ("orders", "customers", "tickets", "surveys") and s is not None}
    path.write_text(yaml.safe_dump({"data": sources}, allow_unicode=True, sort_keys=False), encoding="utf-8")
