"""Typed configuration of loyalist (pydantic, ``extra="forbid"``, frozen).

The default values live in one place: ``src/loyalist/config/defaults/*.yaml`` (package data, one file per
concern, each value documented). Every config block (a :class:`Section`) holds no default of its own: before
validation it deep-merges what it is given over its block of those files, so ``FeatureConfig()`` is the
defaults and ``FeatureConfig(lookback_days=180)`` changes one key. Items of lists and user-named mappings
(sources, indicators, guards, actions) are not blocks: their optional fields keep the defaults stated here.
Users override any part with their own YAML files, applied in order (see
:func:`loyalist.config.load.load_config`). No library function reads user YAML or the environment: the CLI and
the jobs (:mod:`loyalist.jobs`) load a :class:`LoyalistConfig` once and pass its parts down as arguments.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

from loyalist.config.lgbm import lgbm_param_problems
from loyalist.config.metrics import metric_names
from loyalist.config.shipped import section_defaults

__all__ = [
    "Strict",
    "Section",
    "SourceConfig",
    "DataConfig",
    "CleaningConfig",
    "FeatureConfig",
    "ScalingConfig",
    "IndicatorConfig",
    "TierThresholds",
    "GuardRule",
    "ScoringConfig",
    "ControlGroupConfig",
    "PrivacyConfig",
    "SyntheticConfig",
    "TrainingConfig",
    "TrackingConfig",
    "ActionRule",
    "ScoringJobConfig",
    "SparkConfig",
    "CustomerTableConfig",
    "ComputeConfig",
    "COLUMN_TYPES",
    "LoyalistConfig",
    "TIERS",
    "SEED_INDICATORS",
]

#: Upper bound of every day count (about 100 years): larger windows overflow date arithmetic.
MAX_DAYS = 36_500
#: Random seeds: numpy takes 0 .. 2**32 - 1 (a negative seed raised ValueError deep inside a job).
MAX_SEED = 2**32 - 1



def _check_regex(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{pattern!r} is not a valid regular expression ({exc}); escape special characters "
                         "such as ( [ + * with a backslash") from None
    return pattern


def _check_date_format(fmt: str) -> str:
    sample = datetime(2024, 3, 5, 13, 45, 30)
    directives = set(re.findall(r"%([a-zA-Z])", fmt))
    try:
        parsed = datetime.strptime(sample.strftime(fmt), fmt)
    except ValueError:
        parsed = None
    if not directives & {"Y", "y"} or parsed is None or parsed.year != sample.year:
        raise ValueError(f"{fmt!r} is not a usable strptime date format; write one with a year (and month and "
                         "day) such as '%Y-%m-%d', '%d/%m/%Y' or '%Y年%m月%d日'")
    return fmt


def _check_mlflow_name(name: str, what: str) -> str:
    if not name.strip() or name != name.strip() or name in (".", "..") or len(name) > 256 \
            or any(c in name for c in "/:\\@"):
        raise ValueError(f"{name!r} cannot be an MLflow {what}; use letters, digits, '-', '_' or '.' "
                         "(no '/', ':', '\\', '@', no surrounding spaces, at most 256 characters)")
    return name


def _check_metric(name: str, kind: Literal["churn", "value"]) -> str:
    names = metric_names(kind)
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(f"{name!r} is not a {kind} metric; {hint}use one of {', '.join(names)}")
    return name


#: Tier codes from best to worst.
TIERS: tuple[str, ...] = ("devoted", "stable", "at_risk", "high_risk")

#: The five indicators of the source's composite score, in the source's order.
SEED_INDICATORS: tuple[str, ...] = (
    "repurchase_rate",
    "order_value_stability",
    "purchase_frequency",
    "nps",
    "complaint_rate",
)


class Strict(BaseModel):
    """Base for every config model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Section(Strict):
    """A config block whose defaults are the block ``section`` of the packaged defaults files.

    A key not given takes its default; a key given replaces the default (a nested block fills its own missing
    keys the same way, so ``LoyalistConfig(features={"lookback_days": 180})`` keeps the other windows). The
    loader (:func:`loyalist.config.load.load_config`) deep-merges YAML layers over the defaults first, so in
    files user-named mappings (indicators, status_map) merge key by key too.
    """

    section: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _over_defaults(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            return {**section_defaults(cls.section), **data}
        return data


# --------------------------------------------------------------------------------------------- data


class SourceConfig(Strict):
    """Where one canonical table comes from and how its columns map to the canonical names.

    ``columns`` maps canonical name -> the user's column name (Chinese names are fine), e.g.
    ``{customer_id: 客户编号, order_date: 下单日期}``. Canonical columns not listed are looked up by their own name.
    """

    path: Path | None = None
    format: Literal["auto", "csv", "excel", "parquet", "sql", "whitespace"] = "auto"
    encoding: str = "auto"  # auto: utf-8 (with or without BOM), else gb18030, detected
    sheet: str | int | None = None  # Excel sheet name or index
    # A query run by DuckDB instead of reading ``path`` directly; ``{path}`` in it is replaced by the resolved
    # path, e.g. "SELECT Invoice AS order_id, Quantity * Price AS amount FROM read_parquet('{path}')".
    sql: str | None = None
    delimiter: str | None = None  # CSV delimiter; None = sniffed
    header: bool = True  # False: columns are named by position ("0", "1", ...) for the mapping
    columns: dict[str, str] = Field(default_factory=dict)
    date_format: str | None = None  # strptime format of date columns; None = the cleaner's multi-format parser
    filters: dict[str, str] = Field(default_factory=dict)  # canonical column -> regex a row must match to be in scope
    # When the table's key column (order_id, ticket_id) is absent from the source, number the rows instead
    # ("<table>-<row position>"); for sources such as CDNOW that have no order ids.
    synthesize_key: bool = False

    @field_validator("filters")
    @classmethod
    def _filters_compile(cls, v: dict[str, str]) -> dict[str, str]:
        for column, pattern in v.items():
            try:
                _check_regex(pattern)
            except ValueError as exc:
                raise ValueError(f"the filter of {column!r}: {exc}") from None
        return v

    @field_validator("date_format")
    @classmethod
    def _date_format_works(cls, v: str | None) -> str | None:
        return None if v is None else _check_date_format(v)

    @model_validator(mode="after")
    def _one_source(self) -> SourceConfig:
        if self.path is None and self.sql is None:
            raise ValueError("a source needs 'path' (a file) or 'sql' (a DuckDB query)")
        return self


class CleaningConfig(Section):
    """Cleaning rules from the source toolkit (step 2). Every rule writes what it drops or changes to rejects.
    Defaults and meaning of each key: ``defaults/data.yaml``."""

    section: ClassVar[tuple[str, ...]] = ("data", "cleaning")

    # Test records: an order is a test when its status is 'test', its customer is flagged is_test, or its
    # order_id / customer_id matches one of these patterns (case-insensitive regular expressions).
    test_id_patterns: list[str]
    # Test products (Online Retail's "TEST001 This is a test product."): product_id or description patterns.
    test_product_patterns: list[str]
    # Non-product lines (postage, carriage, fees, discounts, manual adjustments) are not purchases: product_id
    # patterns (case-insensitive regular expressions); such order lines are set aside as rule non_product, with
    # their amounts stated by prepare and the report.
    non_product_codes: list[str]
    # Reject completed orders (lines) with amount 0 as zero_amount (off by default: CDNOW's $0 purchases count).
    reject_zero_amount: bool
    id_case: Literal["upper", "lower", "keep"]
    dayfirst: bool
    extreme_amounts: Literal["none", "flag", "cap", "drop"]
    extreme_quantile: float = Field(gt=0.5, lt=1.0)
    negative_amount_is_return: bool
    unknown_customers: Literal["reject", "keep"]
    drop_incomplete_customers: bool
    status_map: dict[str, Literal["completed", "returned", "cancelled", "test"]]
    complaint_kinds: list[str]

    @field_validator("test_id_patterns", "non_product_codes")
    @classmethod
    def _patterns_compile(cls, v: list[str]) -> list[str]:
        for pattern in v:
            _check_regex(pattern)
        return v


class DataConfig(Section):
    """The input tables. Only ``orders`` is mandatory."""

    section: ClassVar[tuple[str, ...]] = ("data",)

    orders: SourceConfig | None
    customers: SourceConfig | None
    tickets: SourceConfig | None
    surveys: SourceConfig | None
    cleaning: CleaningConfig
    # Dates that cannot be real are rejected (rule impossible_date): before min_date, after max_date (inclusive
    # days), after the day the job runs (the CLI passes it), or beyond what pandas holds (years 1678-2261).
    min_date: dt.date
    max_date: dt.date | None
    # Write the clean orders sorted by customer and date with each order's previous and first order
    # (loyalist.data.sequence): costs prepare a sort, saves every streamed snapshot of the folder its window pass.
    sequence_orders: bool


# ----------------------------------------------------------------------------------------- features


class FeatureConfig(Section):
    """Windows of the point-in-time snapshot and labels (days); defaults in ``defaults/features.yaml``."""

    section: ClassVar[tuple[str, ...]] = ("features",)

    lookback_days: int = Field(ge=30, le=MAX_DAYS)
    churn_horizon_days: int = Field(ge=1, le=MAX_DAYS)
    value_horizon_days: int = Field(ge=1, le=MAX_DAYS)
    trend_window_days: int = Field(ge=7, le=MAX_DAYS)  # spend trend: last N days vs the N before
    frequency_min_days: int = Field(ge=1, le=MAX_DAYS)  # floor of the observed span when annualising frequency
    value_basis: Literal["revenue", "margin"]
    rfm_bins: int = Field(ge=2, le=10)
    # Active customer (issue 11 §4, early warning): a completed order in the last N days up to the cut-off
    # (recency_days <= N). Training's churn table on the active customers, tune-weights' active-customer figures
    # and the scoring job's newly-at-risk block use it; the report states the window the training run used.
    active_days: int = Field(ge=1, le=MAX_DAYS)


# ------------------------------------------------------------------------------------------ scoring


class ScalingConfig(Strict):
    """How an indicator's raw value becomes 0-100.

    - ``ratio``: ``100 * clip(x, 0, 1)`` (rates and stability already in [0, 1]);
    - ``cap``: ``100 * clip(x / cap, 0, 1)`` (e.g. frequency, cap = orders per year that earns full marks);
    - ``inverse``: ``100 * (1 - clip(x / cap, 0, 1))`` (complaint rate: fewer is better);
    - ``nps``: ``(x + 100) / 2`` (NPS in [-100, 100]);
    - ``percentile``: the empirical percentile of x among the customers seen by ``fit`` (x 100); ``ties`` says
      what tied values earn: ``weak`` (the share of reference values <= x: a value shared by 60% of the
      customers, e.g. a repurchase rate of 0, earns 60) or ``mean`` (the mid-rank: the mean of the shares < x and
      <= x, so that value earns 30 and the bottom of a continuous indicator stays near 0).
    """

    method: Literal["ratio", "cap", "inverse", "nps", "percentile"] = "ratio"
    cap: float | None = Field(None, gt=0)
    ties: Literal["weak", "mean"] = "weak"

    @model_validator(mode="after")
    def _cap_when_needed(self) -> ScalingConfig:
        if self.method in ("cap", "inverse") and self.cap is None:
            raise ValueError(f"scaling method {self.method!r} needs 'cap' (the value that earns full marks)")
        return self


class IndicatorConfig(Strict):
    weight: float = Field(ge=0, allow_inf_nan=False)
    scaling: ScalingConfig = Field(default_factory=ScalingConfig)


class TierThresholds(Section):
    """Lower score bounds: >= devoted -> devoted, >= stable -> stable, >= at_risk -> at risk, else high risk."""

    section: ClassVar[tuple[str, ...]] = ("scoring", "tiers")

    devoted: float
    stable: float
    at_risk: float

    @model_validator(mode="after")
    def _ordered(self) -> TierThresholds:
        if not (100 >= self.devoted > self.stable > self.at_risk >= 0):
            raise ValueError(
                "tier thresholds must satisfy 100 >= devoted > stable > at_risk >= 0; "
                f"got devoted={self.devoted}, stable={self.stable}, at_risk={self.at_risk}"
            )
        return self


class GuardRule(Strict):
    """A rule that caps a customer's tier whatever the score (source, table 3: 3 months without purchase, or
    NPS < 30 -> high risk). Rules with a missing feature value do not fire."""

    name: str
    feature: str
    op: Literal["<", "<=", ">", ">=", "=="]
    value: float
    tier: Literal["stable", "at_risk", "high_risk"] = "high_risk"
    min_count_feature: str | None = None  # e.g. n_survey_responses: fire only when this count >= min_count
    min_count: int = 1


class ScoringConfig(Section):
    """The rule-based loyalty score; defaults (the source's five indicators, tiers, guards) in
    ``defaults/scoring.yaml``. In files, indicators merge by name into the defaults (``name: null`` drops
    one)."""

    section: ClassVar[tuple[str, ...]] = ("scoring",)

    indicators: dict[str, IndicatorConfig]
    tiers: TierThresholds
    guards: list[GuardRule]
    min_coverage: float = Field(ge=0, le=1)  # below this share of weight present the score is NaN

    @field_validator("indicators", mode="before")
    @classmethod
    def _drop_nulls(cls, v: Any) -> Any:
        # `nps: null` in a file removes an indicator the defaults (or a preset) define
        return {k: x for k, x in v.items() if x is not None} if isinstance(v, Mapping) else v

    @field_validator("indicators")
    @classmethod
    def _some_weight(cls, v: dict[str, IndicatorConfig]) -> dict[str, IndicatorConfig]:
        if not v or sum(i.weight for i in v.values()) <= 0:
            raise ValueError("scoring.indicators needs at least one indicator with a positive weight")
        return v


# ------------------------------------------------------------------------------------------ privacy


class PrivacyConfig(Section):
    """Masking and pseudonymisation. The key itself is never in config: only the NAME of the environment
    variable that holds it."""

    section: ClassVar[tuple[str, ...]] = ("privacy",)

    mask_columns: list[str]
    pseudonymize_ids: bool
    key_env: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    # Names and contacts stored unmasked in the clean tables (the prepare summary then says so).
    raw_pii_in_clean: bool


# ---------------------------------------------------------------------------------------- synthetic


class SyntheticConfig(Section):
    """The synthetic company of ``loyalist demo``; defaults in ``defaults/synthetic.yaml``."""

    section: ClassVar[tuple[str, ...]] = ("synthetic",)

    n_customers: int = Field(ge=10, le=10_000_000)
    start: str
    end: str
    seed: int = Field(ge=0, le=MAX_SEED)
    dirty: bool

    @model_validator(mode="after")
    def _dates(self) -> SyntheticConfig:
        try:
            start, end = (datetime.strptime(str(d), "%Y-%m-%d") for d in (self.start, self.end))
        except ValueError:
            raise ValueError(f"synthetic start and end must be dates written YYYY-MM-DD; got {self.start!r}, "
                             f"{self.end!r}") from None
        if (end - start).days < 365:
            raise ValueError(f"synthetic end {self.end} must be at least a year after start {self.start}")
        return self


# --------------------------------------------------------------------------------------- training


class TrainingConfig(Section):
    """Training cut-offs, the promotion gate and LightGBM overrides; defaults in ``defaults/training.yaml``."""

    section: ClassVar[tuple[str, ...]] = ("training",)

    cutoff_frequency: Literal["MS", "ME", "W", "QS"]  # pandas offset alias of the cut-off grid
    max_cutoffs: int = Field(ge=1, le=1000)
    min_history_days: int = Field(ge=0, le=MAX_DAYS)  # history before the first training cut-off
    # Out-of-time validation needs at least this many training cut-offs before the validation cut-off; with fewer,
    # training switches to the anchored short-history mode (see loyalist.modeling.supervised.training.plan_with_fallback).
    min_cutoffs_out_of_time: int = Field(ge=1, le=1000)
    # When history is too short for out-of-time validation at the full horizon, train on the longest shorter
    # horizon that fits (not below this), with the BG/NBD offset that transfers it to the full horizon.
    min_train_horizon_days: int = Field(ge=7, le=MAX_DAYS)
    random_state: int = Field(ge=0, le=MAX_SEED)
    promotion_metric: str  # churn gate; the value gate uses value_promotion_metric
    value_promotion_metric: str
    promotion_margin: float = Field(ge=0, allow_inf_nan=False)
    lgbm_params: dict[str, float | int | str]  # over loyalist's LightGBM defaults

    @field_validator("promotion_metric")
    @classmethod
    def _churn_metric(cls, v: str) -> str:
        return _check_metric(v, "churn")

    @field_validator("value_promotion_metric")
    @classmethod
    def _value_metric(cls, v: str) -> str:
        return _check_metric(v, "value")

    @field_validator("lgbm_params")
    @classmethod
    def _lightgbm_accepts(cls, v: dict[str, float | int | str]) -> dict[str, float | int | str]:
        problems = lgbm_param_problems(v) if v else []
        if problems:
            raise ValueError("; ".join(problems))
        return v


class TrackingConfig(Section):
    """The MLflow store, experiment and registered model names; defaults in ``defaults/tracking.yaml``."""

    section: ClassVar[tuple[str, ...]] = ("tracking",)

    tracking_uri: str = Field(min_length=1)
    experiment: str
    churn_model_name: str
    value_model_name: str
    #: Seconds MLflow waits for one answer of a tracking server (MLFLOW_HTTP_REQUEST_TIMEOUT; MLflow's own is 120).
    http_timeout_seconds: int = Field(ge=1, le=3600)
    #: Retries of a failed tracking-server request (MLFLOW_HTTP_REQUEST_MAX_RETRIES; MLflow's own is 7, ~4 min).
    http_max_retries: int = Field(ge=0, le=20)
    #: Seconds to wait for a tracking server to answer at start before the job stops with one sentence.
    connect_timeout_seconds: float = Field(gt=0, le=600)

    @field_validator("experiment")
    @classmethod
    def _experiment_name(cls, v: str) -> str:
        return _check_mlflow_name(v, "experiment name")

    @field_validator("churn_model_name", "value_model_name")
    @classmethod
    def _model_name(cls, v: str) -> str:
        return _check_mlflow_name(v, "registered model name")

    @model_validator(mode="after")
    def _two_names(self) -> TrackingConfig:
        if self.churn_model_name == self.value_model_name:
            raise ValueError(f"churn_model_name and value_model_name are both {self.churn_model_name!r}; give the "
                             "two models different names")
        return self


# -------------------------------------------------------------------------------------- scoring job


class ActionRule(Strict):
    """One row of the action table: for customers of ``tier`` (and, optionally, whose top churn driver falls in
    ``driver_group``, and whose churn-risk band is one of ``risk_bands``), the recommended action and its owning
    department, in Chinese and English. The first matching rule wins: the default table puts the problem rules
    first (a diagnosed driver group for customers at medium risk or above, any tier), then the tier's own rule as
    the fallback."""

    tier: Literal["devoted", "stable", "at_risk", "high_risk", "any"]
    driver_group: Literal["recency", "frequency", "value", "complaints", "service", "satisfaction"] | None = None
    risk_bands: list[Literal["low", "medium", "high", "very_high"]] | None = None  # None: any band
    action_zh: str
    action_en: str
    department_zh: str
    department_en: str
    deadline_days: int = Field(30, ge=1)  # action plan deadline = as-of + this many days
    expected_effect_zh: str = ""
    expected_effect_en: str = ""
    # what the action costs per treated customer, in the orders' currency (loyalist effect: value kept net of cost)
    cost: float = Field(0.0, ge=0, allow_inf_nan=False)


class ControlGroupConfig(Section):
    """Control groups in the action plan (``scoring_job.control_group``): a random ``share`` of each action's
    customers (stratified by action, tier and risk band; deterministic from ``seed`` and the published customer id)
    gets no action, so the action's effect can be measured (``loyalist effect``)."""

    section: ClassVar[tuple[str, ...]] = ("scoring_job", "control_group")

    enabled: bool
    share: float = Field(gt=0, lt=1, allow_inf_nan=False)  # held out per stratum, e.g. 0.1
    seed: int = Field(ge=0, le=MAX_SEED)
    campaign: str | None = Field(min_length=1, max_length=200)  # None: "retention-<as-of date>"
    # the CSV for the CRM: "flag" keeps control customers with control_group = True, "omit" leaves them out
    crm_export: Literal["flag", "omit"]


class ScoringJobConfig(Section):
    """The batch scoring job (``loyalist score``); defaults (with the source's action table) in
    ``defaults/scoring_job.yaml``."""

    section: ClassVar[tuple[str, ...]] = ("scoring_job",)

    # Risk bands on churn_probability: [0, medium) low, [medium, high) medium, [high, very_high) high, else very_high.
    risk_band_cuts: dict[Literal["medium", "high", "very_high"], float]
    # Customers explained one by one (SHAP reasons): at most this many, the very-high band first, then the top by
    # value at risk (default 10,000: a list people read). TreeSHAP costs about 1 ms per row and core.
    explain_top_k: int = Field(ge=0)
    explain_sample: int = Field(ge=0)  # random sample for the global drivers and the diagnosis
    drift_warn_psi: float = Field(gt=0, allow_inf_nan=False)
    actions: list[ActionRule]
    seed: int = Field(ge=0, le=MAX_SEED)
    control_group: ControlGroupConfig
    # the list's order: value_at_risk (default) or expected_saved_value (uplift x value if kept - action cost;
    # needs an uplift model registered by 'loyalist uplift')
    rank_by: Literal["value_at_risk", "expected_saved_value"]
    # DuckDB's memory limit while the job builds its snapshot (issue 14: the peak of a 1M-customer job); the smaller
    # of this and compute.duckdb_memory_limit wins; null: compute.duckdb_memory_limit alone
    duckdb_memory_limit: str | None

    @field_validator("duckdb_memory_limit")
    @classmethod
    def _memory(cls, v: str | None) -> str | None:
        return duckdb_memory_limit(v)

    @model_validator(mode="after")
    def _cuts_ordered(self) -> ScoringJobConfig:
        c = self.risk_band_cuts
        if set(c) != {"medium", "high", "very_high"} or not (0 < c["medium"] < c["high"] < c["very_high"] < 1):
            raise ValueError("risk_band_cuts needs medium < high < very_high, all in (0, 1)")
        return self


class SparkConfig(Section):
    """The Spark engine (``--engine spark``; needs ``pip install 'loyalist[spark]'`` and Java 17); defaults in
    ``defaults/spark.yaml``."""

    section: ClassVar[tuple[str, ...]] = ("spark",)

    # None: the master spark-submit (or a notebook) gave, else local[*]; e.g. spark://host:7077, yarn, local[4]
    master: str | None
    app_name: str
    # any Spark setting (spark.executor.memory, spark.sql.shuffle.partitions, ...); loyalist's own SQL settings win
    conf: dict[str, str]
    # the CSV (and single-file Parquet) handed to a CRM is written when the list has at most this many rows
    csv_row_limit: int = Field(ge=0)
    # customers collected for typical values, global drivers and drift; above it a random sample
    profile_rows: int = Field(ge=1)
    connect_timeout_seconds: float = Field(gt=0)


# ----------------------------------------------------------------------------------- customer table

#: Column types of customer-table mode (``customer_table.types``).
COLUMN_TYPES: tuple[str, ...] = ("numeric", "categorical", "date", "id", "text", "ignore")


class CustomerTableConfig(Section):
    """Customer-table mode: one row per customer with a churn flag (on when ``churn`` names a column); defaults
    and the meaning of each key in ``defaults/customer_table.yaml``."""

    section: ClassVar[tuple[str, ...]] = ("customer_table",)

    churn: str | None
    positive: str | int | float | bool | None
    tenure: str | None
    tenure_unit: Literal["months", "days", "years"]
    value: str | None
    value_kind: Literal["monthly_charge", "balance"]
    value_rate: float = Field(gt=0, allow_inf_nan=False)
    churn_window_months: float = Field(gt=0, le=1200, allow_inf_nan=False)
    max_remaining_months: int = Field(ge=1, le=1200)
    value_at_risk_months: float = Field(gt=0, le=1200, allow_inf_nan=False)
    snapshot_date: dt.date | None
    types: dict[str, Literal["numeric", "categorical", "date", "id", "text", "ignore"]]
    keep: list[str]
    leakage_auc: float = Field(gt=0.5, le=1.0)
    id_auc: float = Field(gt=0.5, le=1.0)
    max_categories: int = Field(ge=2, le=100_000)
    folds: int = Field(ge=2, le=20)
    segments: list[str]
    survival_exclude: list[str]
    survival: bool

    @property
    def enabled(self) -> bool:
        """True when a churn column is named (customer-table mode)."""
        return self.churn is not None


# ------------------------------------------------------------------------------------------ compute

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)\s*$", re.IGNORECASE)
_UNIT = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
         "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}
#: Smallest DuckDB memory limit accepted: below it even a small snapshot fails to run.
MIN_DUCKDB_MEMORY = 64 * 10**6


def memory_bytes(text: str) -> int:
    """Bytes of a memory size written like ``1GB``, ``512MB`` or ``2GiB`` (ValueError otherwise)."""
    m = _SIZE.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a memory size; write a number and a unit such as '1GB', '512MB' or '2GiB'")
    return int(float(m.group(1)) * _UNIT[m.group(2).upper()])


def duckdb_memory_limit(v: str | None) -> str | None:
    """A DuckDB memory limit as written (None = no limit), refused below :data:`MIN_DUCKDB_MEMORY`."""
    if v is not None and memory_bytes(v) < MIN_DUCKDB_MEMORY:
        raise ValueError(f"{v!r} is too small a DuckDB memory limit; give at least 64MB (e.g. '1GB')")
    return v


class ComputeConfig(Section):
    """Threads and memory of LightGBM and DuckDB (:mod:`loyalist.compute`); defaults and meaning in
    ``defaults/compute.yaml``."""

    section: ClassVar[tuple[str, ...]] = ("compute",)

    lgbm_threads: Literal["auto", "free"] | StrictInt = Field(union_mode="left_to_right")
    duckdb_threads: Literal["auto"] | StrictInt = Field(union_mode="left_to_right")
    blas_threads: Literal["auto"] | StrictInt = Field(union_mode="left_to_right")
    duckdb_memory_limit: str | None
    duckdb_temp_directory: Path | None

    @field_validator("lgbm_threads", "duckdb_threads", "blas_threads")
    @classmethod
    def _threads(cls, v: str | int) -> str | int:
        if isinstance(v, int) and not 1 <= v <= 1024:
            raise ValueError(f"{v} threads is out of range; use an integer from 1 to 1024 or 'auto'")
        return v

    @field_validator("duckdb_memory_limit")
    @classmethod
    def _memory(cls, v: str | None) -> str | None:
        return duckdb_memory_limit(v)


# ------------------------------------------------------------------------------------------- root


class LoyalistConfig(Section):
    """The whole configuration: every block over the packaged defaults (``LoyalistConfig()`` is the defaults)."""

    name: str  # recorded with every run (MLflow tag loyalist.config_name)
    preset: str | None  # the industry preset applied (applied by the loader, recorded here)
    data: DataConfig
    features: FeatureConfig
    scoring: ScoringConfig
    privacy: PrivacyConfig
    synthetic: SyntheticConfig
    training: TrainingConfig
    tracking: TrackingConfig
    scoring_job: ScoringJobConfig
    spark: SparkConfig
    customer_table: CustomerTableConfig
    compute: ComputeConfig
