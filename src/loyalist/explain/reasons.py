"""Per-customer churn reasons in plain words (Chinese and English), with the customer's value and the typical value.

:data:`FEATURE_TEXT` holds, for every model feature (the snapshot features of
:data:`~loyalist.features.columns.FEATURE_COLUMNS`, the categorical columns and the BG/NBD features of
:data:`~loyalist.modeling.btyd.features.BTYD_FEATURES`), its labels, its diagnosis group, its number format and
the sentence templates. A reason reads "无订单已 142 天（同类客户通常 35 天） / 142 days since last order
(similar customers: 35)".

Diagnosis groups (``group`` in :data:`FEATURE_TEXT`): the snapshot features keep their group of
:data:`~loyalist.features.columns.FEATURE_GROUPS`. The BG/NBD features: ``bg_p_alive`` and ``bg_p_no_purchase``
-> ``recency`` (P(alive) is driven by the time since the last purchase relative to the purchase rate),
``bg_expected_purchases`` -> ``frequency``, ``gg_expected_value`` and ``btyd_value`` -> ``value``. Categorical
features: ``industry``, ``size``, ``region`` -> ``profile``; ``rfm_segment`` -> ``recency``;
``top_complaint_stage`` -> ``complaints``. A feature unknown to the table (a user's own) is in group ``other``.

"Similar customers" (:func:`typical_values`): the median of each feature among the customers of the same
industry (when the industry is known and has at least ``min_size`` reference customers), else among all
customers. The reference customers are the ``reference`` mask when given; a scoring job passes its low-risk
customers (e.g. the ``low`` and ``medium`` risk bands) so the typical value is *healthy* behaviour, which is what a
reason should be compared with; without a mask every customer counts.

Only contributions that raise the churn risk (positive SHAP values) are reasons; ``bias`` and ``offset`` never are
(the offset is the BG/NBD starting point, not a centred contribution). Reasons are observable behaviours
(:func:`actionable_contributions`): a model-derived quantity (P(alive), BG/NBD and Gamma-Gamma outputs, RFM scores)
is credited to the behaviour it summarises, and a behaviour is a reason only where the customer's value is on the
risky side of the value it is compared with: days since the last order against the customer's own usual gap
("无订单已 142 天（通常每 35 天下单一次） / 142 days since last order; usually every 35 days"), everything else
against similar customers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TypedDict

import numpy as np
import pandas as pd

from loyalist.catalogue import GROUP_TEXT, INDICATOR_LABELS
from loyalist.errors import ConfigError, SchemaError
from loyalist.explain.contributions import _plain, feature_columns
from loyalist.features.columns import CATEGORICAL_COLUMNS, FEATURE_GROUPS
from loyalist.features.rfm import RFM_SEGMENTS
from loyalist.schema import require_columns

__all__ = [
    "GROUPS",
    "GROUP_TEXT",
    "FEATURE_TEXT",
    "CATEGORY_LABELS",
    "ALL_KEY",
    "feature_group",
    "feature_label",
    "format_value",
    "category_label",
    "reason_text",
    "typical_values",
    "top_reasons",
    "actionable_contributions",
    "PROXY_FEATURES",
    "OWN_TYPICAL",
]

#: Diagnosis groups, in report order; ``other`` is added for features unknown to :data:`FEATURE_TEXT`.
GROUPS: tuple[str, ...] = ("service", "complaints", "recency", "frequency", "satisfaction", "value", "profile")

#: Group -> labels and the diagnosis phrase (from the catalogue, :data:`loyalist.catalogue.GROUP_TEXT`).

#: Key of the "all customers" row of :func:`typical_values`.
ALL_KEY = "__all__"

_EXTRA_GROUPS = {
    "bg_p_alive": "recency", "bg_p_no_purchase": "recency", "bg_expected_purchases": "frequency",
    "gg_expected_value": "value", "btyd_value": "value",
    "industry": "profile", "size": "profile", "region": "profile",
    "rfm_segment": "recency", "top_complaint_stage": "complaints",
}
_GROUP_OF: dict[str, str] = {f: g for g, feats in FEATURE_GROUPS.items() for f in feats} | _EXTRA_GROUPS


def _entry(fmt: str, direction: str | None, zh: str, en: str, reason_zh: str, reason_en: str, *,
           unit_zh: str = "", unit_en: str = "", issue: tuple[str, str] | None = None, plural: bool = False) -> dict:
    """One :data:`FEATURE_TEXT` entry; the typical-value suffixes follow from the units."""
    return {
        "format": fmt, "direction": direction, "zh": zh, "en": en,
        "reason_zh": reason_zh, "reason_en": reason_en,
        "typical_zh": f"（同类客户通常 {{typical}}{unit_zh}）", "typical_en": f" (similar customers: {{typical}}{unit_en})",
        "issue_zh": issue[0] if issue else None, "issue_en": issue[1] if issue else None, "plural": plural,
    }


class _Units(TypedDict, total=False):
    """The unit keywords of :func:`_entry`, shared by many entries as ``**_DAYS`` and the like."""

    unit_zh: str
    unit_en: str


_DAYS: _Units = {"unit_zh": " 天"}
_TIMES: _Units = {"unit_zh": " 次"}
_ORDERS: _Units = {"unit_zh": " 笔"}
_ITEMS: _Units = {"unit_zh": " 张"}

# format: days | hours | count | per_year | pct | signed_pct | money | ratio | stability | nps | stars | level |
# category
# direction: which values raise the churn risk ("high" / "low"), or None; the diagnosis names the issue only when
# the customers' values lie on that side of the population median.
_TEXT: dict[str, dict] = {
    # recency
    "recency_days": _entry("days", "high", "最近消费距今天数", "days since last order", "无订单已 {value} 天",
                           "{value} days since last order", **_DAYS,
                           issue=("长时间未下单", "a long time since the last order")),
    "recency_ipt_ratio": _entry("ratio", "high", "逾期程度(距今/平均间隔)", "overdue ratio (recency / mean gap)",
                                "距上次下单已达平均间隔的 {value} 倍", "{value}x the usual gap since the last order",
                                unit_zh=" 倍", unit_en="x",
                                issue=("超出惯常下单周期", "orders overdue against the usual rhythm")),
    "btyd_recency": _entry("days", "low", "首末次下单间隔", "days from first to last order", "首末次下单相隔 {value} 天",
                           "{value} days between first and last order", **_DAYS),
    "btyd_T": _entry("days", None, "首次下单距今天数", "days since first order", "首次下单距今 {value} 天",
                     "first order {value} days ago", **_DAYS),
    "tenure_days": _entry("days", "low", "合作时长(天)", "tenure (days)", "合作时长 {value} 天",
                          "customer for {value} days", **_DAYS, issue=("合作时间短", "a short relationship")),
    "ipt_last": _entry("days", "high", "最近两次下单间隔", "gap between the last two orders",
                       "最近两次下单间隔 {value} 天", "{value} days between the last two orders", **_DAYS,
                       issue=("下单间隔拉长", "longer gaps between orders"), plural=True),
    "rfm_r": _entry("level", "low", "R评分(最近消费)", "recency score R", "R（最近消费）评分 {value}/5",
                    "recency score R = {value} of 5", issue=("最近消费评分低", "a low recency score")),
    "bg_p_alive": _entry("pct", "low", "仍活跃概率", "probability of still being active", "仍活跃概率 {value}",
                         "probability of still being active {value}",
                         issue=("仍活跃概率低", "a low probability of still being active")),
    "bg_p_no_purchase": _entry("pct", "high", "预测期内不下单概率", "probability of no order in the horizon",
                               "预测期内不下单概率 {value}", "{value} chance of no order in the horizon",
                               issue=("预计不再下单", "a high chance of no further order")),
    "rfm_segment": {
        "format": "category", "direction": None, "zh": "RFM分群", "en": "RFM segment",
        "reason_zh": "RFM 分群：{value}", "reason_en": "RFM segment: {value}",
        "typical_zh": "（同类客户多为{typical}）", "typical_en": " (most similar customers: {typical})",
        "issue_zh": None, "issue_en": None, "plural": False,
    },
    # frequency
    "purchase_frequency": _entry("per_year", "low", "消费频次", "purchase frequency", "年均下单 {value} 次",
                                 "{value} orders per year", **_TIMES, issue=("购买频次低", "low purchase frequency")),
    "repurchase_rate": _entry("pct", "low", "复购率", "repurchase rate", "复购率 {value}", "repurchase rate {value}",
                              issue=("复购率低", "a low repurchase rate")),
    "n_orders": _entry("count", "low", "订单数", "orders", "统计期内订单 {value} 笔", "{value} orders in the period",
                       **_ORDERS, issue=("订单少", "few orders"), plural=True),
    "n_orders_total": _entry("count", "low", "累计订单数", "orders in total", "累计订单 {value} 笔",
                             "{value} orders in total", **_ORDERS, issue=("累计订单少", "few orders in total"), plural=True),
    "btyd_frequency": _entry("count", "low", "复购天数", "repeat purchase days", "复购 {value} 天次",
                             "{value} repeat purchase days", unit_zh=" 天次", issue=("复购少", "few repeat purchases"),
                             plural=True),
    "ipt_mean": _entry("days", "high", "平均下单间隔", "mean days between orders", "平均下单间隔 {value} 天",
                       "{value} days between orders on average", **_DAYS,
                       issue=("下单间隔长", "long gaps between orders"), plural=True),
    "ipt_std": _entry("days", "high", "下单间隔波动", "variation of the order gaps", "下单间隔波动 {value} 天",
                      "order gaps vary by {value} days", **_DAYS, issue=("下单不规律", "irregular ordering")),
    "rfm_f": _entry("level", "low", "F评分(消费频次)", "frequency score F", "F（消费频次）评分 {value}/5",
                    "frequency score F = {value} of 5", issue=("消费频次评分低", "a low frequency score")),
    "bg_expected_purchases": _entry("per_year", "low", "预计下单次数", "expected orders in the horizon",
                                    "预测期内预计下单 {value} 次", "{value} expected orders in the horizon", **_TIMES,
                                    issue=("预计下单少", "few expected orders"), plural=True),
    # value
    "monetary_total": _entry("money", "low", "消费金额", "spend", "统计期内消费 {value}", "spend of {value} in the period",
                             issue=("消费金额低", "low spend")),
    "monetary_mean": _entry("money", "low", "平均客单价", "average order value", "平均客单价 {value}",
                            "average order value {value}", issue=("客单价低", "a low order value")),
    "monetary_std": _entry("money", None, "客单价标准差", "order value std", "客单价标准差 {value}",
                           "order value std {value}"),
    "order_value_stability": _entry("stability", "low", "客单价稳定性", "order-value stability", "客单价稳定性 {value}",
                                    "order-value stability {value}", issue=("客单价不稳定", "unstable order values"),
                                    plural=True),
    "margin_total": _entry("money", "low", "利润贡献", "profit contribution", "利润贡献 {value}",
                           "profit contribution {value}", issue=("利润贡献低", "a low profit contribution")),
    "spend_last": _entry("money", "low", "近期消费金额", "recent spend", "近期消费 {value}", "recent spend {value}",
                         issue=("近期消费少", "low recent spend")),
    "spend_prev": _entry("money", None, "前期消费金额", "earlier spend", "前期消费 {value}", "earlier spend {value}"),
    "spend_trend": _entry("signed_pct", "low", "消费趋势", "spend trend", "消费趋势 {value}", "spend trend {value}",
                          issue=("消费下滑", "falling spend")),
    "btyd_monetary": _entry("money", "low", "复购客单价", "repeat-order value", "复购平均客单价 {value}",
                            "average repeat-order value {value}", issue=("复购客单价低", "a low repeat-order value")),
    "rfm_m": _entry("level", "low", "M评分(消费金额)", "monetary score M", "M（消费金额）评分 {value}/5",
                    "monetary score M = {value} of 5", issue=("消费金额评分低", "a low monetary score")),
    "gg_expected_value": _entry("money", "low", "预计客单价", "expected order value", "预计客单价 {value}",
                                "expected order value {value}", issue=("预计客单价低", "a low expected order value")),
    "btyd_value": _entry("money", "low", "预计客户价值", "expected value", "预测期内预计价值 {value}",
                         "expected value {value} in the horizon", issue=("预计价值低", "a low expected value")),
    # complaints
    "complaint_rate": _entry("pct", "high", "客户投诉率", "complaint rate", "投诉率 {value}", "complaint rate {value}",
                             issue=("投诉率高", "a high complaint rate")),
    "n_complaints": _entry("count", "high", "投诉次数", "complaints", "投诉 {value} 次", "{value} complaints", **_TIMES,
                           issue=("投诉多", "repeated complaints"), plural=True),
    "n_complaints_recent": _entry("count", "high", "近期投诉次数", "recent complaints", "近期投诉 {value} 次",
                                  "{value} recent complaints", **_TIMES, issue=("近期投诉", "recent complaints"),
                                  plural=True),
    "n_returns": _entry("count", "high", "退货次数", "returns", "退货 {value} 次", "{value} returns", **_TIMES,
                        issue=("退货多", "returns"), plural=True),
    "return_rate": _entry("pct", "high", "退货率", "return rate", "退货率 {value}", "return rate {value}",
                          issue=("退货率高", "a high return rate")),
    "n_cancelled": _entry("count", "high", "取消订单数", "cancelled orders", "取消订单 {value} 笔",
                          "{value} cancelled orders", **_ORDERS, issue=("取消订单", "cancelled orders"), plural=True),
    "top_complaint_stage": {
        "format": "category", "direction": None, "zh": "投诉最多的环节", "en": "stage with most complaints",
        "reason_zh": "投诉集中在{value}环节", "reason_en": "complaints mostly about {value}",
        "typical_zh": "", "typical_en": "", "issue_zh": None, "issue_en": None, "plural": True,
    },
    # service
    "n_tickets": _entry("count", "high", "服务工单数", "service tickets", "服务工单 {value} 张", "{value} service tickets",
                        **_ITEMS, issue=("服务工单多", "many service tickets"), plural=True),
    "resolution_hours_mean": _entry("hours", "high", "平均处理时长(小时)", "mean resolution time (hours)",
                                    "工单平均处理 {value} 小时", "tickets take {value} hours to resolve on average",
                                    unit_zh=" 小时", unit_en=" h", issue=("售后响应慢", "slow after-sales response")),
    "open_tickets": _entry("count", "high", "未解决工单", "open tickets", "未解决工单 {value} 张", "{value} open tickets",
                           **_ITEMS, issue=("工单未解决", "unresolved tickets"), plural=True),
    # satisfaction
    "nps": _entry("nps", "low", "NPS值", "NPS", "NPS {value}", "NPS {value}", issue=("NPS低", "a low NPS")),
    "n_survey_responses": _entry("count", None, "调研回复数", "survey responses", "调研回复 {value} 次",
                                 "{value} survey answers", **_TIMES),
    "satisfaction_mean": _entry("stars", "low", "满意度", "satisfaction", "满意度 {value}/5 分",
                                "satisfaction {value} of 5", issue=("满意度低", "low satisfaction")),
    "brand_mention_rate": _entry("pct", "low", "品牌提及度", "brand mention rate", "品牌提及率 {value}",
                                 "brand mention rate {value}", issue=("品牌提及少", "few brand mentions"), plural=True),
    # profile
    "industry": {"format": "category", "direction": None, "zh": "行业", "en": "industry", "reason_zh": "行业：{value}",
                 "reason_en": "industry: {value}", "typical_zh": "", "typical_en": "", "issue_zh": None,
                 "issue_en": None, "plural": False},
    "size": {"format": "category", "direction": None, "zh": "规模", "en": "company size", "reason_zh": "规模：{value}",
             "reason_en": "company size: {value}", "typical_zh": "", "typical_en": "", "issue_zh": None,
             "issue_en": None, "plural": False},
    "region": {"format": "category", "direction": None, "zh": "地区", "en": "region", "reason_zh": "地区：{value}",
               "reason_en": "region: {value}", "typical_zh": "", "typical_en": "", "issue_zh": None,
               "issue_en": None, "plural": False},
    # early warning (loyalist.features.columns)
    "order_trend": _entry("signed_pct", "low", "订单趋势", "order trend", "近期订单数较前期 {value}",
                          "orders {value} against the previous period", issue=("下单减少", "fewer orders")),
    "ipt_last_ratio": _entry("ratio", "high", "最近间隔/惯常间隔", "latest gap vs usual gap",
                             "最近一次下单间隔是惯常的 {value} 倍", "latest gap between orders {value}x the usual",
                             unit_zh=" 倍", unit_en="x", issue=("下单间隔拉长", "longer gaps between orders"),
                             plural=True),
    "n_categories": _entry("count", "low", "购买品类数", "categories bought", "购买 {value} 个品类",
                           "{value} categories bought", unit_zh=" 个", issue=("购买品类少", "few categories")),
    "category_range_trend": _entry("signed_pct", "low", "品类范围变化", "category range trend",
                                   "近期购买品类较前期 {value}", "category range {value} against the previous period",
                                   issue=("购买品类收窄", "a shrinking category range")),
    "product_range_trend": _entry("signed_pct", "low", "产品范围变化", "basket breadth trend",
                                  "近期购买产品种类较前期 {value}", "product range {value} against the previous period",
                                  issue=("购买产品收窄", "narrower baskets"), plural=True),
    "complaint_trend": _entry("count", "high", "投诉增加", "rise in complaints", "近期投诉比前期多 {value} 次",
                              "{value} more complaints than in the previous period", **_TIMES,
                              issue=("投诉增加", "rising complaints"), plural=True),
    "days_since_complaint": _entry("days", "low", "距上次投诉天数", "days since the last complaint",
                                   "{value} 天前投诉过", "complained {value} days ago", **_DAYS,
                                   issue=("近期投诉", "a recent complaint")),
    "n_slow_tickets": _entry("count", "high", "处理超时工单", "slow tickets", "处理超过 72 小时的工单 {value} 张",
                             "{value} tickets took over 72 hours", **_ITEMS,
                             issue=("工单处理超时", "slow ticket resolution")),
    "resolution_hours_trend": _entry("hours", "high", "处理时长变化(小时)", "change in resolution time (hours)",
                                     "工单处理时长较前期增加 {value} 小时", "tickets take {value} hours longer than before",
                                     unit_zh=" 小时", unit_en=" h", issue=("处理变慢", "slower resolution")),
    "nps_last": _entry("ratio", "low", "最近一次NPS评分", "latest NPS answer", "最近一次 NPS 评分 {value}/10",
                       "latest NPS answer {value} of 10", issue=("最近评分低", "a low latest NPS answer")),
    "nps_change": _entry("number", "low", "NPS评分变化", "NPS change", "NPS 评分较此前变化 {value} 分",
                         "NPS answer changed by {value} points since the earlier surveys",
                         issue=("NPS下降", "a falling NPS")),
    "amount_ratio": _entry("ratio", "low", "近期单笔金额/惯常金额", "recent order size vs own usual",
                           "近期单笔金额是此前的 {value} 倍", "recent orders {value}x the customer's earlier size",
                           unit_zh=" 倍", unit_en="x", issue=("单笔金额下降", "smaller orders"), plural=True),
    "order_rate_ratio": _entry("ratio", "low", "近期下单频率/惯常频率", "recent order pace vs own usual",
                               "近期下单频率是此前的 {value} 倍", "ordering at {value}x the customer's earlier pace",
                               unit_zh=" 倍", unit_en="x", issue=("下单变慢", "a slower order pace")),
    "complaints_total": _entry("count", "high", "累计投诉", "complaints ever", "累计投诉 {value} 次",
                               "{value} complaints in total", **_TIMES, issue=("投诉多", "many complaints"),
                               plural=True),
    "slow_tickets_total": _entry("count", "high", "累计处理超时工单", "slow tickets ever",
                                 "累计处理超过 72 小时的工单 {value} 张", "{value} tickets in total took over 72 hours",
                                 **_ITEMS, issue=("工单处理超时", "slow ticket resolution")),
    "detractor_answers_total": _entry("count", "high", "累计贬损评分", "detractor answers ever",
                                      "累计 NPS 贬损评分(0-6) {value} 次", "{value} NPS answers of 0-6 in total",
                                      **_TIMES, issue=("贬损评分", "detractor answers"), plural=True),
    "nps_recent": _entry("ratio", "low", "近期NPS平均评分", "recent NPS answers", "近期 NPS 平均评分 {value}/10",
                         "recent NPS answers {value} of 10 on average", issue=("近期评分低", "low recent NPS answers"),
                         plural=True),
    "nps_recent_change": _entry("number", "low", "近期NPS评分变化", "recent NPS change",
                                "近期 NPS 评分较以往变化 {value} 分",
                                "recent NPS answers changed by {value} points against the earlier ones",
                                issue=("NPS下降", "a falling NPS")),
    "main_category_share": _entry("pct", "high", "近期主品类占比", "recent main-category share",
                                  "近期 {value} 的购买集中在主品类", "{value} of recent lines in the main category",
                                  issue=("购买集中于单一品类", "buying from one category only")),
    "main_category_share_trend": _entry("signed_pct", "high", "主品类占比变化", "main-category share trend",
                                        "主品类占比较此前 {value}", "main-category share {value} against before",
                                        issue=("购买品类收窄", "a shrinking category range")),
}

#: English reasons for a count of exactly one (singular).
_ONE_EN: dict[str, str] = {
    "n_orders": "1 order in the period", "n_orders_total": "1 order in total",
    "btyd_frequency": "1 repeat purchase day", "n_complaints": "1 complaint",
    "n_complaints_recent": "1 recent complaint",
    "n_returns": "1 return", "n_cancelled": "1 cancelled order", "n_tickets": "1 service ticket",
    "open_tickets": "1 open ticket", "n_survey_responses": "1 survey answer",
    "complaint_trend": "1 more complaint than in the previous period", "n_slow_tickets": "1 ticket took over 72 hours",
    "complaints_total": "1 complaint in total", "slow_tickets_total": "1 ticket in total took over 72 hours",
    "detractor_answers_total": "1 NPS answer of 0-6 in total",
}

#: Feature -> {group, format, direction, zh, en, reason_zh, reason_en, typical_zh, typical_en, issue_zh, issue_en,
#: plural, reason_en_one}. ``reason_*`` templates take ``{value}`` (``reason_en_one``: the English reason for a
#: count of one, or None), ``typical_*`` suffixes take ``{typical}`` (empty: no typical
#: value is quoted); ``issue_*`` is the diagnosis phrase ("slow after-sales response"), None for the label.
#: Labels follow :data:`~loyalist.scoring.text.INDICATOR_LABELS` where it has the feature.
FEATURE_TEXT: dict[str, dict] = {
    f: {"group": _GROUP_OF[f], **entry, "reason_en_one": _ONE_EN.get(f),
        **({"zh": INDICATOR_LABELS[f]["zh"], "en": INDICATOR_LABELS[f]["en"]} if f in INDICATOR_LABELS else {})}
    for f, entry in _TEXT.items()
}

#: Model-derived quantities (BG/NBD and Gamma-Gamma outputs) and scores derived from other features (RFM) are never
#: shown as reasons: their contribution is credited to the observable behaviour they summarise.
PROXY_FEATURES: dict[str, str] = {
    "bg_p_alive": "recency_days", "bg_p_no_purchase": "recency_days", "bg_expected_purchases": "purchase_frequency",
    "gg_expected_value": "monetary_mean", "btyd_value": "monetary_total",
    "rfm_r": "recency_days", "rfm_f": "n_orders", "rfm_m": "monetary_total", "rfm_segment": "recency_days",
}
#: Feature -> (the customer's own usual value, zh suffix, en suffix): the reason compares the customer with their own
#: rhythm ("no order for 142 days; usually every 35") when that value is known, else with similar customers.
OWN_TYPICAL: dict[str, tuple[str, str, str]] = {
    "recency_days": ("ipt_mean", "（通常每 {typical} 天下单一次）", "; usually every {typical} days"),
}
#: Groups whose counts and rates are a problem as soon as they are above 0 (a complaint, a slow ticket, a return).
_ANY_IS_A_SIGNAL = frozenset({"complaints", "service"})
#: Profile attributes are not behaviours a manager can act on: never reasons.
_NEVER_REASONS = frozenset({"industry", "size", "region"})

#: Categorical feature -> code -> {zh, en}: the codes of the synthetic generator and common stage names; a code not
#: listed is shown as it is (underscores as spaces in English).
CATEGORY_LABELS: dict[str, dict[str, dict[str, str]]] = {
    "industry": {
        "manufacturing": {"zh": "制造业", "en": "manufacturing"}, "it": {"zh": "信息技术", "en": "IT"},
        "retail": {"zh": "零售", "en": "retail"}, "healthcare": {"zh": "医疗健康", "en": "healthcare"},
        "logistics": {"zh": "物流", "en": "logistics"},
    },
    "size": {"small": {"zh": "小型", "en": "small"}, "medium": {"zh": "中型", "en": "medium"},
             "large": {"zh": "大型", "en": "large"}},
    "region": {"east": {"zh": "华东", "en": "east"}, "south": {"zh": "华南", "en": "south"},
               "north": {"zh": "华北", "en": "north"}, "west": {"zh": "西部", "en": "west"}},
    "top_complaint_stage": {
        "delivery": {"zh": "交付", "en": "delivery"}, "after_sales": {"zh": "售后", "en": "after-sales"},
        "after-sales": {"zh": "售后", "en": "after-sales"}, "billing": {"zh": "账单", "en": "billing"},
        "installation": {"zh": "安装", "en": "installation"}, "product": {"zh": "产品", "en": "the product"},
    },
    "rfm_segment": {code: {"zh": seg["zh"], "en": seg["en"].lower()} for code, seg in RFM_SEGMENTS.items()},
}

_GENERIC = {"format": "number", "direction": None, "reason_zh": "{label}：{value}", "reason_en": "{label}: {value}",
            "reason_en_one": None,
            "typical_zh": "（同类客户通常 {typical}）", "typical_en": " (similar customers: {typical})",
            "issue_zh": None, "issue_en": None, "plural": False}


def _text(feature: str) -> dict:
    entry = FEATURE_TEXT.get(feature)
    if entry is not None:
        return entry
    return {**_GENERIC, "group": "other", "zh": feature, "en": feature.replace("_", " ")}


def feature_group(feature: str) -> str:
    """The diagnosis group of ``feature`` (``other`` for a feature unknown to :data:`FEATURE_TEXT`)."""
    return _GROUP_OF.get(feature, "other")


def feature_label(feature: str, lang: str = "zh") -> str:
    """The ``zh`` or ``en`` label of ``feature`` (its name for an unknown feature)."""
    return _text(feature)["zh" if lang == "zh" else "en"]


def category_label(feature: str, code, lang: str = "zh") -> str:
    """The label of a categorical value (the code itself when unknown; '' for a missing value)."""
    if code is None or code is pd.NA or (isinstance(code, float) and math.isnan(code)):
        return ""
    code = str(code)
    entry = CATEGORY_LABELS.get(feature, {}).get(code)
    if entry is not None:
        return entry["zh" if lang == "zh" else "en"]
    return code if lang == "zh" else code.replace("_", " ")


def _number(v: float, decimals: int) -> str:
    text = f"{v:,.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text[1:].replace(",", "")) == 0 else text


def format_value(value, fmt: str) -> str:
    """A number as a reason shows it: ``days``/``hours`` whole, ``pct`` as a percentage (one decimal below 10%),
    ``money`` with thousands separators, ``count`` whole (one decimal for a non-integer median), ... ;
    '' for a missing value."""
    if value is None or value is pd.NA:
        return ""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(v):
        return ""
    if fmt in ("days", "hours", "money", "nps"):
        return _number(v, 0)
    if fmt in ("count", "level"):
        return _number(v, 0 if v == round(v) else 1)
    if fmt in ("per_year", "ratio", "stars"):
        return _number(v, 1)
    if fmt == "number":
        return _number(v, 0 if v == round(v) else 2)
    if fmt == "stability":
        return _number(v, 2)
    if fmt == "pct":
        p = v * 100.0
        return _number(p, 1 if 0 < abs(p) < 10 and abs(p - round(p)) >= 0.05 else 0) + "%"
    if fmt == "signed_pct":
        p = round(v * 100.0)
        return ("+" if p > 0 else "") + _number(p, 0) + "%"
    raise ConfigError(f"Unknown number format {fmt!r}; expected one of days, hours, money, count, pct, signed_pct, ...")


def _missing(value) -> bool:
    if value is None or value is pd.NA:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def _is_one(value) -> bool:
    try:
        return float(value) == 1.0
    except (TypeError, ValueError):
        return False


def _main_text(feature: str, entry: dict, value) -> tuple[str, str]:
    """The (zh, en) statement of the customer's value."""
    if _missing(value):
        return f"{entry['zh']}：无数据", f"{entry['en']}: no data"
    if entry["format"] == "category":
        shown_zh, shown_en = category_label(feature, value, "zh"), category_label(feature, value, "en")
    else:
        shown_zh = shown_en = format_value(value, entry["format"])
    en = entry["reason_en_one"] if entry.get("reason_en_one") and _is_one(value) else entry["reason_en"]
    return (entry["reason_zh"].format(value=shown_zh, label=entry["zh"]),
            en.format(value=shown_en, label=entry["en"]))


def _typical_text(feature: str, entry: dict, typical) -> tuple[str, str]:
    """The (zh, en) typical-value suffixes ('' when unknown or not quoted for this feature)."""
    if not entry["typical_zh"] or _missing(typical):
        return "", ""
    if entry["format"] == "category":
        shown_zh, shown_en = category_label(feature, typical, "zh"), category_label(feature, typical, "en")
    else:
        shown_zh = shown_en = format_value(typical, entry["format"])
    if not shown_zh:
        return "", ""
    return entry["typical_zh"].format(typical=shown_zh), entry["typical_en"].format(typical=shown_en)


def _own_text(feature: str, typical) -> tuple[str, str]:
    """The (zh, en) suffix quoting the customer's own usual value ("; usually every 35 days")."""
    if _missing(typical):
        return "", ""
    shown = format_value(typical, "days")
    return OWN_TYPICAL[feature][1].format(typical=shown), OWN_TYPICAL[feature][2].format(typical=shown)


def _reason_texts(feature: str, values, typicals, own=None) -> list[str]:
    """:func:`reason_text` for many customers of one feature (each distinct value is formatted once). ``own``:
    per customer, the customer's own usual value (:data:`OWN_TYPICAL`), quoted instead of the typical one."""
    entry = _text(feature)
    mains: dict = {}
    suffixes: dict = {}
    out = []
    owns = own if own is not None else [None] * len(values)
    for v, t, o in zip(values, typicals, owns, strict=False):
        kv = None if _missing(v) else v
        kt = None if _missing(t) else t
        main = mains.get(kv)
        if main is None:
            main = mains[kv] = _main_text(feature, entry, kv)
        if not _missing(o):
            suffix = _own_text(feature, o)
        else:
            cached = suffixes.get(kt)
            if cached is None:
                cached = suffixes[kt] = _typical_text(feature, entry, kt)
            suffix = cached
        out.append(f"{main[0]}{suffix[0]} / {main[1]}{suffix[1]}")
    return out


def reason_text(feature: str, value, typical=None) -> str:
    """The reason sentence for ``feature``: Chinese and English joined by ' / '.

    States the customer's ``value`` and, when known, the ``typical`` value of similar customers:
    ``reason_text('recency_days', 142, 35)`` -> "无订单已 142 天（同类客户通常 35 天） / 142 days since last order
    (similar customers: 35)". A missing customer value reads "<label>：无数据 / <label>: no data".
    """
    return _reason_texts(feature, [value], [typical])[0]


# --------------------------------------------------------------------------------------------- typical values


def _mode(values: pd.Series):
    m = values.dropna().mode()
    return m.iloc[0] if len(m) else None


def typical_values(
    snapshot: pd.DataFrame,
    by: str | None = "industry",
    *,
    reference: pd.Series | np.ndarray | None = None,
    min_size: int = 30,
    features: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The typical value of each feature among "similar customers": per ``by`` group and for all customers.

    Parameters
    ----------
    snapshot : DataFrame
        One row per customer with feature columns (add the BG/NBD features with
        :func:`~loyalist.explain.contributions.with_model_features` to quote them).
    by : the column defining similar customers (default ``industry``); None or an absent column: all customers.
    reference : boolean mask (array aligned by position, or Series aligned by index) of the customers whose
        behaviour is "typical" — pass the low-risk customers so the comparison is with healthy behaviour; all
        customers when None. When the mask selects nobody, all customers are used.
    min_size : a group with fewer reference customers is not kept: its customers are compared with all customers.
    features : the columns to summarise (default: every column of :data:`FEATURE_TEXT` present).

    Returns
    -------
    DataFrame
        Index (named ``by``): the kept group values, then :data:`ALL_KEY` for all customers. Columns: the median of
        each numeric feature, the most frequent value of each categorical feature, and ``n_customers`` (reference
        customers behind the row).
    """
    if features is None:
        features = [c for c in FEATURE_TEXT if c in snapshot.columns]
    else:
        require_columns(snapshot, features, what="The snapshot", kind="feature", show_columns=False,
                        fix="ask typical values only of snapshot columns")
    # only the columns summarised (a scoring job's frame has ~80 columns: selecting reference rows of all of them
    # copied ~1 GB at 1M customers, issue 14), and the reference rows of one column at a time (selecting them in
    # every summarised column at once still copied ~400 MB at 1M customers)
    ref = snapshot[list(dict.fromkeys([*features, *([by] if by is not None and by in snapshot.columns else [])]))]
    rows: np.ndarray | None = None
    if reference is not None:
        if isinstance(reference, pd.Series):
            mask = reference.reindex(snapshot.index).to_numpy(dtype=object, na_value=False).astype(bool)
        else:
            mask = np.asarray(reference, dtype=bool)
            if len(mask) != len(snapshot):
                raise ConfigError(
                    f"The 'reference' mask must have one entry per snapshot row ({len(snapshot)}); got {len(mask)}."
                )
        if mask.any():
            rows = mask
    n_ref = len(ref) if rows is None else int(rows.sum())
    categorical = [c for c in features if c in CATEGORICAL_COLUMNS or _text(c)["format"] == "category"]
    numeric = [c for c in features if c not in categorical]

    def column(name: str) -> pd.Series:
        """The reference rows of one column."""
        return ref[name] if rows is None else ref[name][rows]

    def number(name: str) -> pd.Series:
        return pd.to_numeric(column(name), errors="coerce").astype("float64")

    # One grouped pass (a median per group and feature), not one selection per group: 4 s -> well under 1 s on
    # 900k customers. One column at a time: the whole numeric frame as float64 and the grouped median's copies of
    # it were a ~1 GB spike at 1M customers (issue 14); the medians are the same numbers.

    def summarise(n: int) -> dict:
        out: dict = {c: number(c).median() for c in numeric}
        out.update({c: _mode(column(c)) for c in categorical})
        out["n_customers"] = n
        return out

    records, keys = [], []
    if by is not None and by in ref.columns:
        key = column(by).astype("string")
        sizes = key.value_counts(dropna=True).sort_index()
        kept = [str(v) for v, n in sizes.items() if n >= min_size]
        if kept:
            medians = pd.DataFrame({c: number(c).groupby(key, sort=True).median() for c in numeric}) \
                if numeric else None
            modes = {c: column(c).groupby(key, sort=True).agg(_mode) for c in categorical}
            for value in kept:
                record = medians.loc[value].to_dict() if medians is not None else {}
                record.update({c: modes[c].get(value) for c in categorical})
                record["n_customers"] = int(sizes[value])
                records.append(record)
                keys.append(value)
    records.append(summarise(n_ref))
    keys.append(ALL_KEY)
    frame = pd.DataFrame.from_records(records, columns=[*numeric, *categorical, "n_customers"])
    frame.index = pd.Index(keys, dtype="str", name=by if by is not None and by in ref.columns else None)
    return frame


def _typical_rows(typical: pd.DataFrame | Mapping, snapshot: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """The typical values aligned with ``index`` (one row per explained customer)."""
    if isinstance(typical, Mapping):
        return pd.DataFrame({f: [v] * len(index) for f, v in typical.items()}, index=index)
    by = typical.index.name
    keys = np.full(len(index), ALL_KEY, dtype=object)
    if by is not None and by in snapshot.columns:
        own = snapshot.loc[index, by].astype("string")
        known = own.isin(typical.index).fillna(False).to_numpy(dtype=bool)
        keys[known] = own.to_numpy(dtype=object, na_value=None)[known]
    rows = typical.reindex(pd.Index(keys, dtype=object))
    rows.index = index
    return rows


# --------------------------------------------------------------------------------------------- reasons


def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _own_usual(feature: str, snapshot: pd.DataFrame, index: pd.Index) -> np.ndarray:
    """The customer's own usual value for ``feature`` (NaN where unknown or the feature has none)."""
    if feature not in OWN_TYPICAL or OWN_TYPICAL[feature][0] not in snapshot.columns:
        return np.full(len(index), np.nan)
    return _numbers(snapshot.loc[index], OWN_TYPICAL[feature][0])


def _real_signal(feature: str, snapshot: pd.DataFrame, index: pd.Index, typ: pd.DataFrame | None) -> np.ndarray:
    """Per customer: whether ``feature`` is an observed behaviour on the risky side of its reference (the
    customer's own usual value, else the typical value, else the median of ``index``'s customers)."""
    n = len(index)
    if feature in _NEVER_REASONS or feature not in snapshot.columns:
        return np.zeros(n, dtype=bool)
    entry = FEATURE_TEXT.get(feature)
    if entry is None:  # a user's own feature: shown when the customer has a value
        return snapshot.loc[index, feature].notna().to_numpy(dtype=bool)
    if feature == "top_complaint_stage":
        has = snapshot.loc[index, feature].notna().to_numpy(dtype=bool)
        if "n_complaints" in snapshot.columns:
            has = has & (np.nan_to_num(_numbers(snapshot.loc[index], "n_complaints")) > 0)
        return has
    direction = entry["direction"]
    if direction is None or entry["format"] == "category":
        return np.zeros(n, dtype=bool)
    value = _numbers(snapshot.loc[index], feature)
    ref = _own_usual(feature, snapshot, index)
    if typ is not None and feature in typ.columns:
        ref = np.where(np.isfinite(ref), ref, pd.to_numeric(typ[feature], errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan))
    elif direction == "high" and entry["format"] in ("count", "pct") and _GROUP_OF.get(feature) in _ANY_IS_A_SIGNAL:
        ref = np.where(np.isfinite(ref), ref, 0.0)  # complaints, slow tickets, returns: any is a signal
    else:
        ref = np.where(np.isfinite(ref), ref, np.nanmedian(value) if np.isfinite(value).any() else np.nan)
    risky = value > ref if direction == "high" else value < ref
    return np.isfinite(value) & (risky | ~np.isfinite(ref))


def actionable_contributions(
    contribs: pd.DataFrame, snapshot: pd.DataFrame, typical: pd.DataFrame | Mapping | None = None
) -> pd.DataFrame:
    """The contributions a reason or a diagnosed problem may come from: observable behaviours only.

    1. The contribution of a model-derived quantity is credited to the behaviour it summarises
       (:data:`PROXY_FEATURES`: BG/NBD P(alive) -> days since the last order, ...), so P(alive) is never a reason.
    2. A positive contribution is kept only where the customer's own value is a real signal: present, and on the
       risky side of the customer's own usual value (:data:`OWN_TYPICAL`), else of the typical value of similar
       customers (``typical``, as from :func:`typical_values`), else of the median of the explained customers
       (for complaint and service counts and rates, such as complaints or slow tickets: above 0).
       Otherwise it is set to 0: a customer with no ticket never gets "slow after-sales response", one whose NPS is
       the typical one never gets "NPS" as a reason. Profile attributes (industry, size, region) and features
       without a risky direction are never kept.

    Returns a frame on ``contribs.index`` with one column per kept feature (``bias`` and ``offset`` dropped).
    """
    feats = feature_columns(contribs)
    index = contribs.index
    folded: dict[str, np.ndarray] = {}
    for f in feats:
        target = PROXY_FEATURES.get(f, f)
        if target not in snapshot.columns and f in snapshot.columns:
            target = f  # the proxy is not in the snapshot: keep the feature itself (then filtered below)
        v = np.nan_to_num(contribs[f].to_numpy(dtype="float64", na_value=np.nan))
        folded[target] = folded[target] + v if target in folded else v
    typ = None if typical is None else _typical_rows(typical, snapshot, index)
    out = {}
    for f, v in folded.items():
        if f in PROXY_FEATURES:
            continue
        ok = _real_signal(f, snapshot, index, typ)
        out[f] = np.where(ok, v, np.minimum(v, 0.0))
    return pd.DataFrame(out, index=index)


def top_reasons(
    contribs: pd.DataFrame,
    snapshot: pd.DataFrame,
    typical: pd.DataFrame | Mapping,
    *,
    k: int = 3,
) -> pd.DataFrame:
    """The ``k`` largest churn-raising contributions of each customer, in plain words.

    Parameters
    ----------
    contribs : DataFrame
        From :func:`~loyalist.explain.contributions.explain`: one row per explained customer (index = snapshot
        labels), one column per feature, plus ``bias`` and ``offset`` (never reasons).
    snapshot : DataFrame
        The customers' feature values (index covering ``contribs.index``); include the BG/NBD features with
        :func:`~loyalist.explain.contributions.with_model_features`.
    typical : the output of :func:`typical_values`, or a mapping feature -> typical value for everyone.
    k : the number of reasons (>= 1).

    Returns
    -------
    DataFrame
        Index: ``contribs.index``. Columns ``reason_1`` .. ``reason_k`` (zh / en joined by ' / '), ``reason_1_feature``
        .. ``reason_k_feature`` and ``top_driver_group`` (the group of reason 1). Only positive contributions of
        :func:`actionable_contributions` are reasons, largest first (ties in column order); fewer than ``k`` give
        empty strings.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ConfigError(f"The 'k' parameter of top_reasons must be an integer >= 1; got {k!r} instead.")
    k = int(k)
    index = contribs.index
    absent = index.difference(snapshot.index)
    if len(absent):
        raise SchemaError(
            f"The snapshot lacks {len(absent)} explained row(s) (first: {_plain(absent[0])!r}); pass the snapshot the "
            "contributions were computed from (same index)."
        )
    named = {PROXY_FEATURES.get(f, f) for f in feature_columns(contribs)}
    lacking = sorted(f for f in named if f not in snapshot.columns and f not in PROXY_FEATURES)
    if lacking:
        raise SchemaError(
            f"The snapshot lacks the feature column(s) {lacking} that the contributions name; pass the snapshot the "
            "model scored, with loyalist.explain.with_model_features(model, snapshot)."
        )
    actionable = actionable_contributions(contribs, snapshot, typical)
    feats = list(actionable.columns)
    n = len(index)
    values = actionable.to_numpy(dtype="float64", na_value=np.nan) if feats else np.zeros((n, 0))
    values = np.where(np.isnan(values), -np.inf, values)
    order = np.argsort(-values, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(values, order, axis=1)
    positive = top > 0
    names = np.asarray(feats, dtype=object)
    used = sorted({names[i] for i in np.unique(order[positive])}) if positive.any() else []
    missing = [f for f in used if f not in snapshot.columns]
    if missing:
        raise SchemaError(
            f"The snapshot lacks the feature column(s) {missing} that are reasons; add the model's BG/NBD features "
            "with loyalist.explain.with_model_features(model, snapshot)."
        )
    rows = snapshot.loc[index, used] if used else snapshot.loc[index, []]
    typ = _typical_rows(typical, snapshot, index)
    out: dict[str, np.ndarray] = {}
    feature_cols: dict[str, np.ndarray] = {}
    column_values: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for j in range(min(k, values.shape[1])):
        text = np.full(n, "", dtype=object)
        feat = np.full(n, "", dtype=object)
        for i in np.unique(order[positive[:, j], j]):
            f = names[i]
            mask = positive[:, j] & (order[:, j] == i)
            if f not in column_values:
                column_values[f] = (
                    rows[f].to_numpy(dtype=object, na_value=None),
                    typ[f].to_numpy(dtype=object, na_value=None) if f in typ.columns else np.full(n, None),
                )
            v, t = column_values[f]
            own = _own_usual(f, snapshot, index)
            text[mask] = _reason_texts(f, v[mask], t[mask], own[mask])
            feat[mask] = f
        out[f"reason_{j + 1}"], feature_cols[f"reason_{j + 1}_feature"] = text, feat
    for j in range(values.shape[1], k):  # fewer features than k
        out[f"reason_{j + 1}"] = np.full(n, "", dtype=object)
        feature_cols[f"reason_{j + 1}_feature"] = np.full(n, "", dtype=object)
    first = feature_cols["reason_1_feature"]
    groups = np.array([feature_group(f) if f else "" for f in first], dtype=object)
    data = {**out, **feature_cols, "top_driver_group": groups}
    return pd.DataFrame({c: pd.array(v, dtype="str") for c, v in data.items()}, index=index)
