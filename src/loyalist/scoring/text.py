"""Chinese and English labels of tiers, indicators and guard rules (from the source toolkit's tables).

Plain data and two lookup helpers; the report and the churn-risk list use them. Codes are the ones of
:data:`~loyalist.config.models.TIERS`, the snapshot columns (:mod:`loyalist.features.columns`) and the guard
names of ``scoring.guards``.
"""

from __future__ import annotations

from typing import Literal

from loyalist.scoring.tiers import NO_SCORE_REASON

__all__ = [
    "Lang",
    "TIER_LABELS",
    "TIER_TRAITS",
    "TIER_TYPICAL_TRAITS",
    "INDICATOR_LABELS",
    "GUARD_LABELS",
    "REASON_LABELS",
    "label",
    "tier_label",
]

Lang = Literal["zh", "en"]

#: Tier code -> label (source: 客户忠诚度分级标准).
TIER_LABELS: dict[str, dict[str, str]] = {
    "devoted": {"zh": "铁杆忠诚", "en": "devoted"},
    "stable": {"zh": "稳定忠诚", "en": "stable"},
    "at_risk": {"zh": "潜在流失", "en": "at risk"},
    "high_risk": {"zh": "高风险流失", "en": "high risk"},
}

#: Tier code -> traits (source: 客户忠诚度分级标准, 特征描述).
TIER_TRAITS: dict[str, dict[str, str]] = {
    "devoted": {
        "zh": "高复购、高推荐、低投诉，深度认可品牌",
        "en": "high repurchase, high recommendation, few complaints; deeply committed to the brand",
    },
    "stable": {
        "zh": "定期消费，满意度良好，有潜在升级空间",
        "en": "regular purchases, good satisfaction, room to upgrade",
    },
    "at_risk": {
        "zh": "消费频次下降或投诉增加，需干预挽留",
        "en": "falling purchase frequency or rising complaints; intervene to retain",
    },
    "high_risk": {
        "zh": "长期未消费或负面反馈集中，紧急关注",
        "en": "long without purchase or concentrated negative feedback; needs urgent attention",
    },
}

#: Tier code -> typical traits (source: table 3, 客户忠诚度分级与运营策略建议表, 典型特征).
TIER_TYPICAL_TRAITS: dict[str, dict[str, str]] = {
    "devoted": {
        "zh": "高复购、高NPS、低投诉，合作时长>2年",
        "en": "high repurchase, high NPS, few complaints, tenure > 2 years",
    },
    "stable": {"zh": "定期消费，满意度中等，有升级潜力", "en": "regular purchases, medium satisfaction, room to upgrade"},
    "at_risk": {"zh": "消频下降，或近期有投诉记录", "en": "falling frequency, or recent complaints"},
    "high_risk": {"zh": "3个月无消费，或NPS<30", "en": "no purchase for 3 months, or NPS < 30"},
}

#: Snapshot column -> label (source: 关键指标定义 for the seed five; the others name loyalist's extra features).
INDICATOR_LABELS: dict[str, dict[str, str]] = {
    "repurchase_rate": {"zh": "复购率", "en": "repurchase rate"},
    "order_value_stability": {"zh": "客单价稳定性", "en": "order-value stability"},
    "purchase_frequency": {"zh": "消费频次", "en": "purchase frequency"},
    "nps": {"zh": "NPS值", "en": "NPS"},
    "complaint_rate": {"zh": "客户投诉率", "en": "complaint rate"},
    "brand_mention_rate": {"zh": "品牌提及度", "en": "brand mention rate"},
    "satisfaction_mean": {"zh": "满意度", "en": "satisfaction"},
    "recency_days": {"zh": "最近消费距今天数", "en": "days since last order"},
    "tenure_days": {"zh": "合作时长(天)", "en": "tenure (days)"},
    "n_orders": {"zh": "订单数", "en": "orders"},
    "monetary_total": {"zh": "消费金额", "en": "spend"},
    "monetary_mean": {"zh": "平均客单价", "en": "average order value"},
    "margin_total": {"zh": "利润贡献", "en": "profit contribution"},
    "spend_trend": {"zh": "消费趋势", "en": "spend trend"},
    "return_rate": {"zh": "退货率", "en": "return rate"},
    "n_complaints": {"zh": "投诉次数", "en": "complaints"},
    "resolution_hours_mean": {"zh": "平均处理时长(小时)", "en": "mean resolution time (hours)"},
    "open_tickets": {"zh": "未解决工单", "en": "open tickets"},
    "n_survey_responses": {"zh": "调研回复数", "en": "survey responses"},
    "recency_ipt_ratio": {"zh": "逾期程度(距今/平均间隔)", "en": "overdue ratio (recency / mean gap)"},
}

#: Guard name -> label (the base guards and those of the industry presets).
GUARD_LABELS: dict[str, dict[str, str]] = {
    "no_order_90_days": {"zh": "90天无消费", "en": "no order in 90 days"},
    "no_order_60_days": {"zh": "60天无消费", "en": "no order in 60 days"},
    "no_order_180_days": {"zh": "180天无消费", "en": "no order in 180 days"},
    "nps_below_30": {"zh": "NPS低于30", "en": "NPS below 30"},
}

#: Fixed tier_reason texts -> label.
REASON_LABELS: dict[str, dict[str, str]] = {
    NO_SCORE_REASON: {"zh": "无可用指标", "en": "no indicator available"},
}

_TABLES = {
    "tier": TIER_LABELS,
    "traits": TIER_TRAITS,
    "typical_traits": TIER_TYPICAL_TRAITS,
    "indicator": INDICATOR_LABELS,
    "guard": GUARD_LABELS,
    "reason": REASON_LABELS,
}


def label(kind: Literal["tier", "traits", "typical_traits", "indicator", "guard", "reason"], code: str,
          lang: Lang = "zh") -> str:
    """The ``lang`` label of ``code`` in the table ``kind``; the code itself when it has no label.

    ``lang`` other than ``'zh'`` falls back to English. A user's own indicator or guard (not in the tables)
    is shown by its code.
    """
    entry = _TABLES[kind].get(code)
    if entry is None:
        return code
    return entry["zh"] if lang == "zh" else entry["en"]


def tier_label(tier: str, lang: Lang = "zh") -> str:
    """``tier_label('at_risk') -> '潜在流失'``, ``tier_label('at_risk', 'en') -> 'at risk'``."""
    return label("tier", tier, lang)
