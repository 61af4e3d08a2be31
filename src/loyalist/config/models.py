"""Typed configuration of loyalist (pydantic, ``extra="forbid"``, frozen).

The defaults here are the base values; ``configs/base/*.yaml`` documents them file by file (a test checks that
the two agree). Users override any part with their own YAML files, applied in order (see
:func:`loyalist.config.load.load_config`). No library function reads YAML or the environment: the CLI and the
pipelines load a :class:`LoyalistConfig` once and pass its parts down as arguments.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "Strict",
    "SourceConfig",
    "DataConfig",
    "CleaningConfig",
    "FeatureConfig",
    "ScalingConfig",
    "IndicatorConfig",
    "TierThresholds",
    "GuardRule",
    "ScoringConfig",
    "PrivacyConfig",
    "SyntheticConfig",
    "TrainingConfig",
    "TrackingConfig",
    "ActionRule",
    "ScoringJobConfig",
    "SparkConfig",
    "LoyalistConfig",
    "TIERS",
    "SEED_INDICATORS",
]

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

    @model_validator(mode="after")
    def _one_source(self) -> "SourceConfig":
        if self.path is None and self.sql is None:
            raise ValueError("a source needs 'path' (a file) or 'sql' (a DuckDB query)")
        return self


class CleaningConfig(Strict):
    """Cleaning rules from the source toolkit (step 2). Every rule writes what it drops or changes to rejects."""

    # Test records: an order is a test when its status is 'test', its customer is flagged is_test, or its
    # order_id / customer_id matches one of these patterns (case-insensitive regular expressions).
    test_id_patterns: list[str] = Field(default_factory=lambda: [r"^test", r"^demo[-_]"])
    # Test products (Online Retail's "TEST001 This is a test product."): an order line whose product_id or
    # description matches one of these (case-insensitive regular expressions) is a test record.
    test_product_patterns: list[str] = Field(default_factory=lambda: [r"^test\d*$", r"\btest product\b"])
    # Reject completed orders (lines) with amount 0 as zero_amount (free samples, test lines). Off by default:
    # CDNOW's $0 purchases are transactions in the published BG/NBD fits.
    reject_zero_amount: bool = False
    # Identifier normalisation: strip spaces always; then upper/lower/keep case.
    id_case: Literal["upper", "lower", "keep"] = "upper"
    # Date parsing: also accept Chinese 年月日, slashes, Excel serial numbers. dayfirst decides 03/04/2024.
    dayfirst: bool = False
    # Extreme order amounts: flag (keep, mark), cap (winsorise at the quantile), drop, or none.
    extreme_amounts: Literal["none", "flag", "cap", "drop"] = "cap"
    extreme_quantile: float = Field(0.999, gt=0.5, lt=1.0)
    # Negative amounts: orders with status returned/cancelled may carry them; on completed orders they are
    # turned into status 'returned' (with a change record) when True, else rejected.
    negative_amount_is_return: bool = True
    # Orders whose customer_id is absent from the customers table (only checked when customers are given).
    unknown_customers: Literal["reject", "keep"] = "reject"
    # Customers missing a required field are rejected (with all their orders, tickets, surveys).
    drop_incomplete_customers: bool = True
    # Map free-text status values onto the canonical ones.
    status_map: dict[str, Literal["completed", "returned", "cancelled", "test"]] = Field(
        default_factory=lambda: {
            "completed": "completed", "complete": "completed", "paid": "completed", "shipped": "completed",
            "delivered": "completed", "已完成": "completed", "完成": "completed",
            "returned": "returned", "return": "returned", "refunded": "returned", "退货": "returned",
            "cancelled": "cancelled", "canceled": "cancelled", "cancel": "cancelled", "取消": "cancelled",
            "已取消": "cancelled",
            "test": "test", "测试": "test",
        }
    )
    complaint_kinds: list[str] = Field(default_factory=lambda: ["complaint", "投诉"])


class DataConfig(Strict):
    """The input tables. Only ``orders`` is mandatory."""

    orders: SourceConfig | None = None
    customers: SourceConfig | None = None
    tickets: SourceConfig | None = None
    surveys: SourceConfig | None = None
    cleaning: CleaningConfig = Field(default_factory=CleaningConfig)
    # Dates that cannot be real are rejected (rule impossible_date): before min_date, after max_date (inclusive
    # days), after the day the job runs (the CLI passes it), or beyond what pandas holds (years 1678-2261).
    min_date: dt.date = dt.date(1970, 1, 1)
    max_date: dt.date | None = None


# ----------------------------------------------------------------------------------------- features


class FeatureConfig(Strict):
    """Windows of the point-in-time snapshot and labels (days)."""

    lookback_days: int = Field(365, ge=30)
    churn_horizon_days: int = Field(90, ge=1)
    value_horizon_days: int = Field(365, ge=1)
    trend_window_days: int = Field(90, ge=7)  # spend trend: last N days vs the N before
    frequency_min_days: int = Field(90, ge=1)  # floor of the observed span when annualising frequency
    value_basis: Literal["revenue", "margin"] = "revenue"
    rfm_bins: int = Field(5, ge=2, le=10)


# ------------------------------------------------------------------------------------------ scoring


class ScalingConfig(Strict):
    """How an indicator's raw value becomes 0-100.

    - ``ratio``: ``100 * clip(x, 0, 1)`` (rates and stability already in [0, 1]);
    - ``cap``: ``100 * clip(x / cap, 0, 1)`` (e.g. frequency, cap = orders per year that earns full marks);
    - ``inverse``: ``100 * (1 - clip(x / cap, 0, 1))`` (complaint rate: fewer is better);
    - ``nps``: ``(x + 100) / 2`` (NPS in [-100, 100]);
    - ``percentile``: the empirical percentile of x among the customers seen by ``fit`` (x 100).
    """

    method: Literal["ratio", "cap", "inverse", "nps", "percentile"] = "ratio"
    cap: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _cap_when_needed(self) -> "ScalingConfig":
        if self.method in ("cap", "inverse") and self.cap is None:
            raise ValueError(f"scaling method {self.method!r} needs 'cap' (the value that earns full marks)")
        return self


class IndicatorConfig(Strict):
    weight: float = Field(ge=0)
    scaling: ScalingConfig = Field(default_factory=ScalingConfig)


class TierThresholds(Strict):
    """Lower score bounds: >= devoted -> devoted, >= stable -> stable, >= at_risk -> at risk, else high risk."""

    devoted: float = 90.0
    stable: float = 75.0
    at_risk: float = 60.0

    @model_validator(mode="after")
    def _ordered(self) -> "TierThresholds":
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


class ScoringConfig(Strict):
    indicators: dict[str, IndicatorConfig] = Field(
        default_factory=lambda: {
            "repurchase_rate": IndicatorConfig(weight=0.30, scaling=ScalingConfig(method="ratio")),
            "order_value_stability": IndicatorConfig(weight=0.20, scaling=ScalingConfig(method="ratio")),
            "purchase_frequency": IndicatorConfig(weight=0.15, scaling=ScalingConfig(method="cap", cap=12.0)),
            "nps": IndicatorConfig(weight=0.25, scaling=ScalingConfig(method="nps")),
            "complaint_rate": IndicatorConfig(weight=0.10, scaling=ScalingConfig(method="inverse", cap=1.0)),
        }
    )
    tiers: TierThresholds = Field(default_factory=TierThresholds)
    guards: list[GuardRule] = Field(
        default_factory=lambda: [
            GuardRule(name="no_order_90_days", feature="recency_days", op=">", value=90, tier="high_risk"),
            GuardRule(
                name="nps_below_30", feature="nps", op="<", value=30, tier="high_risk",
                min_count_feature="n_survey_responses", min_count=1,
            ),
        ]
    )
    min_coverage: float = Field(0.0, ge=0, le=1)  # below this share of weight present the score is NaN

    @field_validator("indicators")
    @classmethod
    def _some_weight(cls, v: dict[str, IndicatorConfig]) -> dict[str, IndicatorConfig]:
        if not v or sum(i.weight for i in v.values()) <= 0:
            raise ValueError("scoring.indicators needs at least one indicator with a positive weight")
        return v


# ------------------------------------------------------------------------------------------ privacy


class PrivacyConfig(Strict):
    """Masking and pseudonymisation. The key itself is never in config: only the NAME of the environment
    variable that holds it."""

    mask_columns: list[str] = Field(default_factory=lambda: ["name", "contact"])
    pseudonymize_ids: bool = False
    key_env: str = "LOYALIST_PSEUDONYM_KEY"
    # The clean tables are working files that get copied around: names and contacts are stored masked unless
    # this is on (then the prepare summary says that they are stored raw).
    raw_pii_in_clean: bool = False


# ---------------------------------------------------------------------------------------- synthetic


class SyntheticConfig(Strict):
    n_customers: int = Field(5000, ge=10)
    start: str = "2022-01-01"
    end: str = "2024-12-31"
    seed: int = 42
    dirty: bool = True


# --------------------------------------------------------------------------------------- training


class TrainingConfig(Strict):
    cutoff_frequency: Literal["MS", "ME", "W", "QS"] = "MS"  # pandas offset alias of the cut-off grid
    max_cutoffs: int = Field(12, ge=1)
    min_cutoffs: int = Field(1, ge=1)
    min_history_days: int = Field(180, ge=0)  # history before the first training cut-off
    # Out-of-time validation needs at least this many training cut-offs before the validation cut-off; with fewer,
    # training switches to the anchored short-history mode (see loyalist.modeling.training.plan_with_fallback).
    min_cutoffs_out_of_time: int = Field(4, ge=1)
    # When history is too short for out-of-time validation at the full horizon, train on the longest shorter
    # horizon that fits (not below this), with the BG/NBD offset that transfers it to the full horizon.
    min_train_horizon_days: int = Field(28, ge=7)
    random_state: int = 0
    promotion_metric: str = "roc_auc"  # churn gate; the value gate uses value_promotion_metric
    value_promotion_metric: str = "normalised_gini"
    promotion_margin: float = 0.0
    lgbm_params: dict[str, float | int | str] = Field(default_factory=dict)  # over loyalist's LightGBM defaults


class TrackingConfig(Strict):
    tracking_uri: str = "sqlite:///mlruns/mlflow.db"
    artifact_location: str = "mlruns"
    experiment: str = "loyalist"
    churn_model_name: str = "loyalist-churn"
    value_model_name: str = "loyalist-value"
    #: Seconds MLflow waits for one answer of a tracking server (MLFLOW_HTTP_REQUEST_TIMEOUT; MLflow's own is 120).
    http_timeout_seconds: int = Field(30, ge=1, le=3600)
    #: Retries of a failed tracking-server request (MLFLOW_HTTP_REQUEST_MAX_RETRIES; MLflow's own is 7, ~4 min).
    http_max_retries: int = Field(2, ge=0, le=20)
    #: Seconds to wait for a tracking server to answer at start before the job stops with one sentence.
    connect_timeout_seconds: float = Field(5.0, gt=0, le=600)


# -------------------------------------------------------------------------------------- scoring job


class ActionRule(Strict):
    """One row of the action table: for customers of ``tier`` (and, optionally, whose top churn driver falls in
    ``driver_group``), the recommended action and its owning department, in Chinese and English. The first
    matching rule wins, so put driver-specific rules before the tier's general rule."""

    tier: Literal["devoted", "stable", "at_risk", "high_risk", "any"]
    driver_group: Literal["recency", "frequency", "value", "complaints", "service", "satisfaction"] | None = None
    action_zh: str
    action_en: str
    department_zh: str
    department_en: str
    deadline_days: int = Field(30, ge=1)  # action plan deadline = as-of + this many days
    expected_effect_zh: str = ""
    expected_effect_en: str = ""


def _default_actions() -> list[ActionRule]:
    # Seeded with the source's strategy tables (SOURCE-TABLES.md: strategy per tier, table 3, table 4).
    return [
        ActionRule(tier="devoted", action_zh="优先供货、新品试用权、高管定期拜访；提供VIP服务，挖掘增量需求",
                   action_en="Priority supply, new-product trials, regular executive visits; VIP service, grow wallet share",
                   department_zh="大客户部", department_en="Key accounts", deadline_days=90,
                   expected_effect_zh="保持铁杆忠诚，提升客单价", expected_effect_en="Keep devoted, raise order value"),
        ActionRule(tier="stable", action_zh="交叉销售，推送个性化权益，提升互动频次",
                   action_en="Cross-sell, personalised benefits, more touchpoints",
                   department_zh="市场部", department_en="Marketing", deadline_days=60,
                   expected_effect_zh="升级为铁杆忠诚", expected_effect_en="Upgrade to devoted"),
        ActionRule(tier="at_risk", driver_group="service", action_zh="升级为VIP服务通道，48小时内响应",
                   action_en="Move to the VIP service channel, answer within 48 h",
                   department_zh="客服部", department_en="Customer service", deadline_days=30,
                   expected_effect_zh="投诉率降至<5%", expected_effect_en="Complaint rate below 5%"),
        ActionRule(tier="at_risk", driver_group="complaints", action_zh="主动关怀，解决投诉痛点，回访确认",
                   action_en="Proactive care: resolve the complaint's pain point and follow up",
                   department_zh="客服部", department_en="Customer service", deadline_days=30,
                   expected_effect_zh="投诉率降至<5%", expected_effect_en="Complaint rate below 5%"),
        ActionRule(tier="at_risk", action_zh="发放优惠券、推送服务使用教程；发放定向优惠",
                   action_en="Coupons and service how-to guides; targeted offers",
                   department_zh="市场部、客服部", department_en="Marketing, Customer service", deadline_days=30,
                   expected_effect_zh="恢复消费频次", expected_effect_en="Purchase frequency restored"),
        ActionRule(tier="high_risk", driver_group="recency", action_zh="推送老客户专享新品8折券+试用邀请",
                   action_en="20%-off coupon for new products plus a trial invitation for returning customers",
                   department_zh="市场部", department_en="Marketing", deadline_days=14,
                   expected_effect_zh="召回率≥20%", expected_effect_en="Win-back rate >= 20%"),
        ActionRule(tier="high_risk", action_zh="客户成功经理1对1访谈，解决核心痛点；分析流失原因，制定召回方案",
                   action_en="One-to-one interview by a customer-success manager; fix the core pain point, win-back plan",
                   department_zh="客户成功部", department_en="Customer success", deadline_days=14,
                   expected_effect_zh="召回率≥20%", expected_effect_en="Win-back rate >= 20%"),
        ActionRule(tier="any", action_zh="定期回访与关怀", action_en="Regular follow-up and care",
                   department_zh="客户成功部", department_en="Customer success", deadline_days=60),
    ]


class ScoringJobConfig(Strict):
    """The batch scoring job (``loyalist score``)."""

    # Risk bands on churn_probability: [0, medium) low, [medium, high) medium, [high, very_high) high, else very_high.
    risk_band_cuts: dict[Literal["medium", "high", "very_high"], float] = Field(
        default_factory=lambda: {"medium": 0.3, "high": 0.5, "very_high": 0.7}
    )
    # Customers explained one by one (SHAP reasons): at most this many, the very-high band first, then the top by
    # value at risk. TreeSHAP costs about 800 s per million rows on 2 cores.
    explain_top_k: int = Field(100_000, ge=0)
    explain_sample: int = Field(10_000, ge=0)  # random sample for the global drivers and the diagnosis
    drift_warn_psi: float = Field(0.2, gt=0)
    actions: list[ActionRule] = Field(default_factory=_default_actions)
    seed: int = 0

    @model_validator(mode="after")
    def _cuts_ordered(self) -> "ScoringJobConfig":
        c = self.risk_band_cuts
        if set(c) != {"medium", "high", "very_high"} or not (0 < c["medium"] < c["high"] < c["very_high"] < 1):
            raise ValueError("risk_band_cuts needs medium < high < very_high, all in (0, 1)")
        return self


class SparkConfig(Strict):
    """The Spark engine (``--engine spark``; needs ``pip install 'loyalist[spark]'`` and Java 17)."""

    # None: the master spark-submit (or a notebook) gave, else local[*]; e.g. spark://host:7077, yarn, local[4]
    master: str | None = None
    app_name: str = "loyalist"
    # any Spark setting (spark.executor.memory, spark.sql.shuffle.partitions, ...); loyalist's own SQL settings win
    conf: dict[str, str] = Field(default_factory=dict)
    # the CSV (and single-file Parquet) handed to a CRM is written when the list has at most this many rows
    csv_row_limit: int = Field(1_000_000, ge=0)
    # customers collected for typical values, global drivers and drift; above it a random sample
    profile_rows: int = Field(2_000_000, ge=1)
    connect_timeout_seconds: float = Field(5.0, gt=0)


# ------------------------------------------------------------------------------------------- root


class LoyalistConfig(Strict):
    name: str = "loyalist"
    industry: str | None = None  # the preset applied, for the record
    data: DataConfig = Field(default_factory=DataConfig)
    features: FeatureConfig = Field(default_factory=FeatureConfig)
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)
    synthetic: SyntheticConfig = Field(default_factory=SyntheticConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    scoring_job: ScoringJobConfig = Field(default_factory=ScoringJobConfig)
    spark: SparkConfig = Field(default_factory=SparkConfig)
    output_dir: Path = Path("outputs")
