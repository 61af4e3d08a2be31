"""Inputs of the report and of period tracking: the scored list, its summary JSON and the clean tables.

Reading files is the edge of the report; everything after works on the frames and dicts returned here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from loyalist.batch.columns import RISK_LIST_COLUMNS
from loyalist.errors import DataQualityError, InputFileError
from loyalist.io import verify
from loyalist.schema import require_columns

__all__ = [
    "REQUIRED_COLUMNS",
    "CleanInputs",
    "summary_path",
    "read_scored_list",
    "read_list_summary",
    "read_clean_inputs",
    "prepare_list",
    "EFFECT_FILE",
    "find_effect",
    "read_effect",
    "UPLIFT_FILE",
    "find_uplift",
    "read_uplift",
]

#: The file a ``loyalist effect`` run writes (:mod:`loyalist.jobs.effect`).
EFFECT_FILE = "effect.json"

#: The file a ``loyalist uplift`` run writes (:mod:`loyalist.jobs.uplift`), with its ``qini.png`` beside it.
UPLIFT_FILE = "uplift.json"

#: Columns the report cannot do without; the other RISK_LIST_COLUMNS are optional (added empty when absent,
#: and the report says which numbers are unavailable).
REQUIRED_COLUMNS: tuple[str, ...] = ("customer_id", "as_of", "loyalty_score", "loyalty_tier")
_DAYS_PER_MONTH = 365.25 / 12

_TEXT = (
    "customer_id", "name", "industry", "size", "region", "loyalty_tier", "tier_reason", "top_complaint_stage",
    "risk_band", "rfm_segment", "reason_1", "reason_2", "reason_3", "top_driver_group", "recommended_action",
    "owner_department", "next_products", "churn_model_version", "value_model_version",
)


@dataclass(frozen=True)
class CleanInputs:
    """What the report uses from a ``loyalist prepare`` folder.

    ``tables``: clean tables by name (orders, customers, tickets, surveys, order_lines when present);
    ``rejects``: the rejects table (``schemas.REJECT_COLUMNS``) or None; ``rows``: summary.csv (table, rows_in,
    rows_kept, rows_rejected, rows_changed) or None.
    """

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    rejects: pd.DataFrame | None = None
    rows: pd.DataFrame | None = None


def summary_path(scores_path: Path | str) -> Path:
    """``churn_risk.parquet -> churn_risk_summary.json`` (beside the list)."""
    p = Path(scores_path)
    return p.with_name(f"{p.stem}_summary.json")


def read_scored_list(path: Path | str) -> pd.DataFrame:
    """Read a scored list (Parquet or CSV, as written by the scoring job) with its dtypes restored.

    Returns the frame with text columns as ``string``, ``as_of`` as datetime64 and the rest numeric as stored.

    Raises
    ------
    InputFileError
        The file is missing or not Parquet/CSV.
    """
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"The scored list '{p}' does not exist; pass the churn_risk.parquet (or .csv) "
                             "written by 'loyalist score'.")
    suffix = p.suffix.lower()
    if suffix not in (".parquet", ".pq", ".csv", ".txt"):
        raise InputFileError(f"The scored list '{p}' has the extension {suffix!r}; expected .parquet or .csv.")
    verify(p)  # the list is the one its scoring run wrote (not a mix of two runs)
    try:
        if suffix in (".parquet", ".pq"):
            df = pd.read_parquet(p)
        else:
            df = pd.read_csv(p, encoding="utf-8-sig", dtype=dict.fromkeys(_TEXT, "string"), keep_default_na=True)
    except (OSError, ValueError, pa.ArrowException, pd.errors.ParserError) as exc:  # ArrowInvalid, UnicodeError ...
        raise InputFileError(
            f"The scored list '{p}' cannot be read as {'Parquet' if suffix in ('.parquet', '.pq') else 'CSV'} "
            f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); it is truncated or not a list "
            "written by 'loyalist score'; score again or pass the right file to --scores."
        ) from exc
    return df


def read_list_summary(scores_path: Path | str) -> dict[str, Any] | None:
    """The ``<stem>_summary.json`` beside a scored list, or None when there is none."""
    p = summary_path(scores_path)
    if not p.is_file():
        return None
    verify(p)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise InputFileError(f"The list summary '{p}' is not valid JSON ({exc}); re-run the scoring job or "
                             "delete the file.") from exc


def _read_result(path: Path | str, file: str, what: str, command: str) -> tuple[Path, Any]:
    """The parsed JSON of a job's result file ``file`` (``path`` is the file or its folder), for ``read_effect`` and
    ``read_uplift``; a missing or unreadable file stops with a sentence naming the option (``--<command>``) and the
    job ('loyalist <command>') that writes it."""
    p = Path(path)
    if p.is_dir():
        p = p / file
    if not p.is_file():
        raise InputFileError(f"The {what} '{p}' does not exist; pass to --{command} the {file} (or its folder) "
                             f"written by 'loyalist {command}'.")
    try:
        return p, json.loads(p.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise InputFileError(f"The {what} '{p}' is not valid JSON ({exc}); rerun 'loyalist {command}'.") from exc


def read_effect(path: Path | str) -> dict[str, Any]:
    """A measured campaign effect: the ``effect.json`` of ``loyalist effect`` (a file, or the folder holding it).

    Raises
    ------
    InputFileError
        The file is missing, not JSON, or not an effect result.
    """
    p, data = _read_result(path, EFFECT_FILE, "campaign effect", "effect")
    if not isinstance(data, dict) or not isinstance(data.get("summary"), list) or "campaign_date" not in data:
        raise InputFileError(f"'{p}' is not a campaign effect (no 'summary' rows and 'campaign_date'); pass the "
                             "effect.json written by 'loyalist effect' (version with customers saved and cost).")
    return data | {"path": str(p)}


def find_effect(scores_path: Path | str, as_of: Any = None) -> Path | None:
    """The latest measured campaign effect for a report on ``scores_path``, or None when none was measured.

    Looks for ``effect.json`` in the scored list's folder and its sub-folders, and in the ``effect`` folder beside
    the list's folder (the defaults: ``outputs/scores/churn_risk.parquet`` and ``outputs/effect/effect.json``);
    the latest is the one with the latest campaign date (then the most recently written). Effects of campaigns
    after ``as_of`` (the list's date) are ignored, and so are files that are not an effect result.
    """
    return _find_result(scores_path, EFFECT_FILE, "effect", read_effect, as_of)


def _result_date(data: Mapping[str, Any]) -> pd.Timestamp:
    """The campaign date of an effect or uplift result: for an uplift model learned from several campaigns pooled
    (``campaign_date`` "2024-06-30 + 2024-09-30", ``loyalist uplift --assignment A --assignment B``) the latest of
    them, since the model has seen outcomes up to that campaign's. Raises ValueError/TypeError when it is no date."""
    text = str(data["campaign_date"])
    days = [pd.Timestamp(part.strip()) for part in text.split(" + ")] if " + " in text else [pd.Timestamp(text)]
    if any(pd.isna(d) for d in days):
        raise ValueError(f"campaign_date {text!r} is not a date")
    return max(days)


def _find_result(scores_path: Path | str, file: str, sub: str, read: Callable[[Path], dict[str, Any]],
                 as_of: Any, prefer: Callable[[dict[str, Any]], bool] = lambda data: False) -> Path | None:
    """The result file ``file`` for a report on ``scores_path`` (in the list's folder, its sub-folders, or the
    ``sub`` folder beside the list's folder) that ``read`` accepts, of a campaign on or before ``as_of``: those
    ``prefer`` picks first, then the latest campaign date, then the most recently written; None when there is none."""
    folder = Path(scores_path).resolve().parent
    found = {p.resolve() for base, pattern in ((folder, file), (folder, f"*/{file}"), (folder.parent, f"{sub}/{file}"))
             for p in base.glob(pattern)}
    limit = None if as_of is None else pd.Timestamp(as_of).normalize()
    best: tuple[bool, pd.Timestamp, float, Path] | None = None
    for p in found:
        try:
            data = read(p)
            day = _result_date(data)
        except (InputFileError, ValueError, TypeError):
            continue
        if limit is not None and day > limit:
            continue
        key = (prefer(data), day, p.stat().st_mtime, p)
        if best is None or key[:3] > best[:3]:
            best = key
    return None if best is None else best[3]


def read_uplift(path: Path | str) -> dict[str, Any]:
    """A trained uplift model's evaluation: the ``uplift.json`` of ``loyalist uplift`` (a file, or its folder), with
    ``path`` and ``qini_png`` (the picture beside it, or None) added.

    Raises
    ------
    InputFileError
        The file is missing, not JSON, or not an uplift result.
    """
    p, data = _read_result(path, UPLIFT_FILE, "uplift model result", "uplift")
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict) or "campaign_date" not in data:
        raise InputFileError(f"'{p}' is not an uplift model result (no 'metrics' and 'campaign_date'); pass the "
                             "uplift.json written by 'loyalist uplift'.")
    png = p.with_name("qini.png")
    return data | {"path": str(p), "qini_png": str(png) if png.is_file() else None}


def find_uplift(scores_path: Path | str, as_of: Any = None, version: Any = None) -> Path | None:
    """The uplift model result for a report on ``scores_path``, or None when no uplift model has been trained.

    Looks where :func:`find_effect` looks (the list's folder, its sub-folders, and the ``uplift`` folder beside
    the list's folder: the defaults ``outputs/scores/churn_risk.parquet`` and ``outputs/uplift/uplift.json``).
    Results from campaigns after ``as_of`` are ignored. When ``version`` (the uplift model version the list was
    scored with, from its summary) is given, a result of that version wins; otherwise the latest campaign date,
    then the most recently written file.
    """
    return _find_result(scores_path, UPLIFT_FILE, "uplift", read_uplift, as_of,
                        prefer=lambda data: version is not None and str(data.get("version")) == str(version))


def read_clean_inputs(folder: Path | str) -> CleanInputs:
    """Read the clean tables, ``rejects.parquet`` and ``summary.csv`` of a ``loyalist prepare`` folder."""
    from loyalist.data.prepare import read_clean

    folder = Path(folder)
    if not folder.is_dir():
        raise InputFileError(f"The clean data folder '{folder}' does not exist; pass the folder written by "
                             "'loyalist prepare' to --clean, or leave --clean out.")
    tables = read_clean(folder)
    rejects = pd.read_parquet(folder / "rejects.parquet") if (folder / "rejects.parquet").is_file() else None
    rows = pd.read_csv(folder / "summary.csv", encoding="utf-8-sig") if (folder / "summary.csv").is_file() else None
    return CleanInputs(tables=tables, rejects=rejects, rows=rows)


def prepare_list(scores: pd.DataFrame, what: str = "scored list") -> tuple[pd.DataFrame, list[str]]:
    """Check a scored list and bring it to the report's working form.

    Parameters
    ----------
    scores : DataFrame
        One row per customer with at least :data:`REQUIRED_COLUMNS` (normally all of
        :data:`~loyalist.batch.columns.RISK_LIST_COLUMNS`) and a single ``as_of`` date.
    what : str
        How to name the table in error sentences.

    Returns
    -------
    (DataFrame, list of str)
        A new frame with every RISK_LIST_COLUMNS column (absent ones added empty), ``customer_id`` and the
        other text columns as ``string``, ``as_of`` as datetime64, numeric columns as float64; and the list of
        columns that were absent (``tenure_months`` is derived from ``tenure_days`` when only that is given, as
        in the loyalty table of ``loyalist loyalty``).

    Raises
    ------
    SchemaError
        A required column is missing.
    DataQualityError
        The list is empty, has duplicate customers or several as-of dates.
    """
    require_columns(scores, REQUIRED_COLUMNS, what=f"The {what}", show_columns=False,
                    fix=f"expected the churn-risk list written by 'loyalist score' (columns {list(REQUIRED_COLUMNS)} "
                        "at least)")
    if len(scores) == 0:
        raise DataQualityError(f"The {what} has no rows; score at least one customer before writing a report.")
    absent = [c for c in RISK_LIST_COLUMNS if c not in scores.columns]
    df = scores.assign(**dict.fromkeys(absent, pd.NA)) if absent else scores.copy()
    if "tenure_months" in absent and "tenure_days" in df.columns:  # the loyalty table carries days
        df = df.assign(tenure_months=pd.to_numeric(df["tenure_days"], errors="coerce") / _DAYS_PER_MONTH)
        absent.remove("tenure_months")
    text = {c: "string" for c in _TEXT if c in df.columns}
    df = df.astype(text)
    numeric = [c for c in RISK_LIST_COLUMNS if c not in _TEXT and c != "as_of"]
    df = df.assign(**{c: pd.to_numeric(df[c], errors="coerce").astype("float64") for c in numeric})
    df = df.assign(as_of=pd.to_datetime(df["as_of"]))
    dates = df["as_of"].dropna().unique()
    if len(dates) != 1:
        raise DataQualityError(f"The {what} has {len(dates)} distinct 'as_of' dates; expected exactly one "
                               "(one scoring run per list).")
    dupes = int(df["customer_id"].duplicated().sum())
    if dupes:
        raise DataQualityError(f"The {what} lists {dupes} customer(s) more than once in 'customer_id'; expected one "
                               "row per customer.")
    return df, absent
