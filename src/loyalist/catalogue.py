"""The one catalogue of loyalist's bilingual text (Chinese and English): labels of codes, table headers, section
titles and sentence templates, for the churn-risk list, the report, the reasons and the command line.

Plain data only (it imports only the RFM segment names of :mod:`loyalist.features.rfm`, so scoring and every layer
above it read it). A *bilingual text* is a dict
``{"zh": str, "en": str}``. :data:`LABELS` maps a kind (``tier``, ``indicator``, ``guard``, ``clean_rule``,
``metric``, ...) to its codes; :func:`label` looks one up, falling back to the code itself for a user's own code.
``tests/test_catalogue.py`` checks that every entry has both languages, non-empty.
Source of the tier, indicator and strategy wording: ``shared/SOURCE-TABLES.md`` (the source toolkit's tables).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from loyalist.features.rfm import RFM_SEGMENTS

__all__ = [
    "Lang", "LANGS", "LABELS", "TIER_LABELS", "TIER_TRAITS", "TIER_TYPICAL_TRAITS", "INDICATOR_LABELS",
    "GUARD_LABELS", "REASON_LABELS", "TIER_REASON_TEXT", "NO_SCORE_REASON", "SECTION_TITLES", "HEADERS", "SENTENCES", "GROUP_TEXT",
    "label", "both",
]

Lang = Literal["zh", "en"]
LANGS: tuple[str, ...] = ("zh", "en")

#: tier_reason of a customer who has no indicator at all and no fired guard.
NO_SCORE_REASON = "no indicator available"

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
    "repurchase_rate": {"zh": "月度复购率", "en": "monthly repurchase rate"},
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
    "no_order_120_days": {"zh": "120天无消费", "en": "no order in 120 days"},
    "no_order_180_days": {"zh": "180天无消费", "en": "no order in 180 days"},
    "nps_below_30": {"zh": "NPS低于30", "en": "NPS below 30"},
}

#: tier_reason templates (see :mod:`loyalist.scoring.tiers`): the score's tier, a guard that moved the tier down.
TIER_REASON_TEXT: dict[str, dict[str, str]] = {
    "score": {"zh": "得分 {score} {op} {bound}，{tier}", "en": "score {score} {op} {bound}: {tier}"},
    "score_plain": {"zh": "按得分为{tier}", "en": "{tier} by score"},
    "guard": {"zh": "守卫规则“{guard}”：{feature} {value} {op} {bound}", "en": "guard '{guard}': {feature} {value} {op} "
              "{bound}"},
    "coverage": {"zh": "指标覆盖率 {coverage} 低于最低要求 {minimum}，不评分",
                 "en": "score coverage {coverage} below the minimum {minimum}: not scored"},
}

#: Fixed tier_reason texts -> label.
REASON_LABELS: dict[str, dict[str, str]] = {
    NO_SCORE_REASON: {"zh": "无可用指标", "en": "no indicator available"},
}

#: Section key -> numbered title, in the source's order (报告内容).
SECTION_TITLES: dict[str, dict[str, str]] = {
    "overview": {"zh": "一、分析概述", "en": "1. Overview"},
    "status": {"zh": "二、忠诚度现状", "en": "2. Loyalty status"},
    "segments": {"zh": "三、客户分群特征", "en": "3. Segment profiles"},
    "diagnosis": {"zh": "四、问题诊断", "en": "4. Diagnosis"},
    "recommendations": {"zh": "五、改进建议与行动计划", "en": "5. Recommendations and action plan"},
    "tracking": {"zh": "六、效果跟踪", "en": "6. Tracking"},
    "appendix": {"zh": "附录", "en": "Appendix"},
}

_INDUSTRIES = {
    "manufacturing": ("制造业", "manufacturing"), "it": ("信息技术", "IT"), "retail": ("零售", "retail"),
    "healthcare": ("医疗健康", "healthcare"), "logistics": ("物流", "logistics"),
}
_SIZES = {"small": ("小型", "small"), "medium": ("中型", "medium"), "large": ("大型", "large")}
_REGIONS = {"east": ("华东", "east"), "south": ("华南", "south"), "north": ("华北", "north"), "west": ("西部", "west")}
_STAGES = {
    "delivery": ("交付", "delivery"), "after_sales": ("售后", "after-sales"), "billing": ("账单", "billing"),
    "installation": ("安装", "installation"), "pre_sales": ("售前", "pre-sales"),
}
_GROUPS = {
    "recency": ("长期未消费", "recency (time since last order)"),
    "frequency": ("消费频次下降", "falling purchase frequency"),
    "value": ("消费金额波动或下降", "falling or unstable spend"),
    "complaints": ("投诉增加", "complaints"),
    "service": ("售后服务问题（工单积压或响应慢）", "after-sales service (open or slow tickets)"),
    "satisfaction": ("满意度/NPS偏低", "low satisfaction / NPS"),
    "profile": ("客户属性", "customer profile"),
}
_BANDS = {"low": ("低", "low"), "medium": ("中", "medium"), "high": ("高", "high"), "very_high": ("极高", "very high")}
_DIMENSIONS = {"industry": ("行业", "industry"), "size": ("规模", "size"), "region": ("区域", "region")}
_SOURCES = {"clean": ("清洗数据", "clean data"), "list summary": ("名单摘要", "list summary"),
            "scored list": ("评分名单", "scored list"), "list": ("评分名单", "scored list")}
_TABLES = {
    "orders": ("订单", "orders"), "order_lines": ("订单明细", "order lines"), "customers": ("客户", "customers"),
    "tickets": ("服务工单", "service tickets"), "surveys": ("满意度调研", "surveys"),
    "scored_list": ("流失风险名单", "churn-risk list"),
}


def _pairs(table: Mapping[str, tuple[str, str]]) -> dict[str, dict[str, str]]:
    return {k: {"zh": zh, "en": en} for k, (zh, en) in table.items()}


#: kind -> code -> {"zh", "en"}. ``tier`` and ``indicator`` come from :mod:`loyalist.scoring.text`, ``rfm`` from
#: Cleaning rules (the ``rule`` column of the rejects, :data:`loyalist.data.clean.RULES`).
_CLEAN_RULES = {
    "out_of_scope": ("超出分析范围", "out of scope"), "missing_required": ("必填字段缺失", "required field missing"),
    "normalise_id": ("编号格式统一", "id normalised"), "unparseable_date": ("日期无法解析", "unparseable date"),
    "unparseable_amount": ("金额无法解析", "unparseable amount"), "invalid_nps": ("NPS取值无效", "invalid NPS"),
    "unparseable_number": ("数值无法解析", "unparseable number"),
    "invalid_satisfaction": ("满意度取值无效", "invalid satisfaction"),
    "unparseable_flag": ("标记无法解析", "unparseable flag"), "test_record": ("测试记录", "test record"),
    "incomplete_customer": ("客户信息不完整", "incomplete customer"), "duplicate": ("重复记录", "duplicate"),
    "duplicate_order_id": ("订单编号重复", "duplicate order id"),
    "duplicate_customer_id": ("客户编号重复", "duplicate customer id"),
    "duplicate_ticket_id": ("工单编号重复", "duplicate ticket id"),
    "order_conflict": ("订单信息冲突", "conflicting order"), "unknown_customer": ("未知客户", "unknown customer"),
    "unknown_status": ("未知订单状态", "unknown status"), "negative_amount": ("负金额", "negative amount"),
    "impossible_date": ("日期不合理", "impossible date"), "malformed_line": ("行格式错误", "malformed line"),
    "zero_amount": ("零金额", "zero amount"),
    "invalid_churn_flag": ("流失标记无效", "invalid churn flag"), "invalid_tenure": ("在网时长无效", "invalid tenure"),
    "extreme_amount": ("极端金额", "extreme amount"), "non_product": ("非商品行（运费、手工调整、费用等）", "non-product line"),
    "resolved_before_created": ("解决时间早于创建时间", "resolved before created"),
}
_CLEAN_ACTIONS = {"dropped": ("剔除", "dropped"), "changed": ("修正", "changed")}
#: Model-quality metrics (``model_metrics`` of the list summary) and the scorers they judge.
_METRICS = {
    "roc_auc": ("ROC AUC", "ROC AUC"), "pr_auc": ("PR AUC", "PR AUC"),
    "brier": ("Brier 分数", "Brier score"), "log_loss": ("对数损失", "log loss"),
    "lift_top_decile": ("前10%提升度", "lift, top decile"), "capture_top_decile": ("前10%捕获率", "capture, top decile"),
    "ece": ("校准误差", "calibration error"), "base_rate": ("流失基准率", "base rate"), "n": ("客户数", "customers"),
    "normalised_gini": ("归一化基尼系数", "normalised Gini"), "spearman": ("斯皮尔曼相关", "Spearman"),
    "mae": ("平均绝对误差", "MAE"), "rmse": ("均方根误差", "RMSE"), "decile_mape": ("十分位平均误差率", "decile MAPE"),
    "total_error": ("总额误差", "total error"), "auc": ("AUC", "AUC"),
}
_SCORERS = {
    "loyalist": ("loyalist 模型", "loyalist model"), "rule_score": ("规则忠诚度得分", "rule score"),
    "recency": ("最近消费天数", "recency"), "frequency": ("消费频次", "frequency"),
    "bgnbd_no_purchase": ("BG/NBD 不再购买概率", "BG/NBD no-purchase probability"),
    "bgnbd_gamma_gamma": ("BG/NBD × Gamma-Gamma", "BG/NBD x Gamma-Gamma"),
    "last_period_revenue": ("上期收入", "last-period revenue"),
}
_MODEL_KINDS = {"churn": ("流失模型", "churn model"), "value": ("价值模型", "value model"),
                "churn_active": ("流失模型：截止日仍活跃的客户", "churn model, customers active at the cut-off")}
#: Settings shown in the report's appendix (path in the resolved config).
_SETTINGS = {
    "name": ("配置名称", "config name"), "industry": ("行业预设", "industry preset"),
    "features.lookback_days": ("回看窗口(天)", "look-back window (days)"),
    "features.churn_horizon_days": ("流失预测期(天)", "churn horizon (days)"),
    "features.value_horizon_days": ("价值预测期(天)", "value horizon (days)"),
    "scoring.tiers": ("等级分数线", "tier thresholds"), "scoring_job.risk_band_cuts": ("风险等级分界", "risk band cuts"),
    "config_sha256": ("配置摘要(SHA-256)", "config SHA-256"), "actions_source": ("行动表来源", "action table from"),
    "churn_model_version": ("流失模型版本", "churn model version"),
    "value_model_version": ("价值模型版本", "value model version"),
}
#: Where the action table came from (:func:`loyalist.report.summarize.resolve_actions`).
_ACTION_SOURCES = {
    "argument": ("本次运行的配置", "this run's config"), "list summary": ("名单摘要中的配置", "the list summary's config"),
    "defaults": ("内置默认行动表", "built-in defaults"),
}
#: Tier keys as they appear in config text (``scoring.tiers``) and guard operators.
_OPS = {">": ("大于", "above"), ">=": ("不低于", "at least"), "<": ("低于", "below"), "<=": ("不高于", "at most"),
        "==": ("等于", "equal to"), "!=": ("不等于", "not equal to")}

#: Driver groups of the reasons (:data:`loyalist.explain.reasons.GROUPS`): labels and the diagnosis phrase
#: ("... is the top driver"); ``plural``: the English phrase takes "are".
GROUP_TEXT: dict[str, dict] = {
    "service": {"zh": "服务", "en": "service", "issue_zh": "服务问题", "issue_en": "service problems", "plural": True},
    "complaints": {"zh": "投诉", "en": "complaints", "issue_zh": "投诉", "issue_en": "complaints", "plural": True},
    "recency": {"zh": "最近消费", "en": "recency", "issue_zh": "长时间未下单",
                "issue_en": "a long time since the last order", "plural": False},
    "frequency": {"zh": "消费频次", "en": "frequency", "issue_zh": "购买频次低", "issue_en": "low purchase frequency",
                  "plural": False},
    "satisfaction": {"zh": "满意度", "en": "satisfaction", "issue_zh": "满意度低",
                     "issue_en": "low satisfaction or NPS", "plural": False},
    "value": {"zh": "消费金额", "en": "value", "issue_zh": "消费金额变化", "issue_en": "spend and order value",
              "plural": False},
    "profile": {"zh": "客户属性", "en": "profile", "issue_zh": "客户属性（行业、规模、地区）",
                "issue_en": "the customer profile (industry, size, region)", "plural": False},
    "other": {"zh": "其他", "en": "other", "issue_zh": "其他因素", "issue_en": "other factors", "plural": True},
}

#: kind -> code -> {"zh", "en"}.
#: Verdicts of a measured effect (:data:`loyalist.batch.effect.VERDICTS`).
_VERDICTS = {
    "works": ("有效：流失率下降", "works: churn fell"),
    "negative": ("负面：联系反而提高流失率", "negative: contact raised churn"),
    "no_effect": ("未见效果（样本充足）", "no effect seen (sample large enough)"),
    "inconclusive": ("尚无定论（样本不足）", "inconclusive (too few customers to tell)"),
    "chance": ("可能是偶然（多组同时检验后不显著）", "may be chance (not significant once the groups are tested together)"),
    "no_estimate": ("无法估计（缺少对照组客户）", "no estimate (too few control customers)"),
}

LABELS: dict[str, dict[str, dict[str, str]]] = {
    "tier": TIER_LABELS,
    "traits": TIER_TRAITS,
    "typical_traits": TIER_TYPICAL_TRAITS,
    "indicator": INDICATOR_LABELS,
    "guard": GUARD_LABELS,
    "reason": REASON_LABELS,
    "rfm": {k: {"zh": v["zh"], "en": v["en"]} for k, v in RFM_SEGMENTS.items()},
    "industry": _pairs(_INDUSTRIES),
    "size": _pairs(_SIZES),
    "region": _pairs(_REGIONS),
    "stage": _pairs(_STAGES),
    "driver_group": _pairs(_GROUPS),
    "band": _pairs(_BANDS),
    "dimension": _pairs(_DIMENSIONS),
    "table": _pairs(_TABLES),
    "source": _pairs(_SOURCES),
    "clean_rule": _pairs(_CLEAN_RULES),
    "clean_action": _pairs(_CLEAN_ACTIONS),
    "metric": _pairs(_METRICS),
    "scorer": _pairs(_SCORERS),
    "model_kind": _pairs(_MODEL_KINDS),
    "setting": _pairs(_SETTINGS),
    "actions_source": _pairs(_ACTION_SOURCES),
    "op": _pairs(_OPS),
    "section": SECTION_TITLES,
    "verdict": _pairs(_VERDICTS),
}

#: Table headers and short labels.
HEADERS: dict[str, dict[str, str]] = _pairs({
    "tier": ("忠诚度等级", "tier"),
    "customers": ("客户数", "customers"),
    "share": ("占比", "share"),
    "previous_share": ("上期占比", "previous share"),
    "change": ("变化", "change"),
    "mean_score": ("平均得分", "mean score"),
    "median_score": ("得分中位数", "median score"),
    "as_of": ("截止日期", "as of"),
    "industry": ("所属行业", "industry"),
    "size": ("规模", "size"),
    "region": ("区域", "region"),
    "dimension": ("维度", "dimension"),
    "group": ("客户群", "group"),
    "repurchase_rate": ("复购客户占比", "repeat-customer rate"),
    "stage": ("服务环节", "stage"),
    "complaint_rate": ("投诉率", "complaint rate"),
    "complaining_customers": ("投诉客户数", "complaining customers"),
    "complaints": ("投诉次数", "complaints"),
    "top_industry": ("主要行业", "main industry"),
    "top_size": ("主要规模", "main size"),
    "tenure_months": ("合作时长(月)", "tenure (months)"),
    "mean_tenure": ("平均合作时长(月)", "mean tenure (months)"),
    "devoted_share": ("铁杆忠诚占比", "devoted share"),
    "high_risk_share": ("高风险占比", "high-risk share"),
    "churn_probability": ("流失概率", "churn probability"),
    "mean_churn": ("平均流失概率", "mean churn probability"),
    "expected_value": ("预期价值", "expected value"),
    "value_at_risk": ("风险价值", "value at risk"),
    "expected_saved_value": ("预期挽回价值（扣除成本）", "expected saved value (net of cost)"),
    "value_share": ("价值占比", "value share"),
    "cumulative_share": ("累计占比", "cumulative share"),
    "decile": ("价值十分位", "value decile"),
    "segment": ("RFM分群", "RFM segment"),
    "monetary_total": ("消费金额", "spend"),
    "margin_total": ("利润贡献", "profit contribution"),
    "margin_rate": ("利润率", "margin rate"),
    "margin_share": ("利润占比", "share of profit"),
    "feature": ("驱动因素", "driver"),
    "mean_abs_shap": ("平均|SHAP|", "mean |SHAP|"),
    "driver_group": ("主要驱动类别", "top driver group"),
    "customer_id": ("客户编号", "customer id"),
    "name": ("客户名称", "name"),
    "contact": ("联系方式(脱敏)", "contact (masked)"),
    "nps": ("NPS值", "NPS"),
    "purchase_frequency": ("消费频次(次/年)", "frequency (orders/yr)"),
    "order_value_stability": ("客单价稳定性", "order-value stability"),
    "repurchase_pct": ("月度复购率(%)", "monthly repurchase (%)"),
    "tier_reason": ("等级原因", "why this tier"),
    "guard": ("守卫规则", "guard rule"),
    "condition": ("条件", "condition"),
    "tier_cap": ("最高等级", "tier at most"),
    "moved": ("被下调客户数", "customers moved down"),
    "var_share": ("风险价值占比", "share of value at risk"),
    "complaint_pct": ("投诉率(%)", "complaints (%)"),
    "loyalty_score": ("综合忠诚度得分", "loyalty score"),
    "customer_or_tier": ("客户编号/等级", "customer or tier"),
    "problem": ("当前问题", "current problem"),
    "action": ("具体措施", "action"),
    "department": ("责任部门", "department"),
    "deadline": ("时间节点", "deadline"),
    "expected_effect": ("预期效果", "expected effect"),
    "typical_traits": ("典型特征（本期数据）", "typical traits (this data)"),
    "strategy": ("核心运营策略", "core strategy"),
    "next_products": ("推荐产品", "next products"),
    "products": ("推荐产品", "product"),
    "times_recommended": ("推荐客户数", "customers recommended to"),
    "previous_tier": ("上期等级 \\ 本期等级", "previous \\ current tier"),
    "gone": ("本期不在名单", "not in current list"),
    "new": ("本期新增", "new this period"),
    "table": ("数据表", "table"),
    "rows_in": ("原始行数", "rows in"),
    "rows_kept": ("保留行数", "rows kept"),
    "rows_rejected": ("剔除行数", "rows rejected"),
    "rows": ("行数", "rows"),
    "rule": ("规则", "rule"),
    "action_kind": ("处理", "action"),
    "scorer": ("模型/基线", "model / baseline"),
    "metric": ("指标", "metric"),
    "model": ("模型", "model"),
    "version": ("版本", "version"),
    "run_id": ("运行编号", "run id"),
    "setting": ("配置项", "setting"),
    "value": ("取值", "value"),
    "bin": ("得分区间", "score range"),
    "band": ("风险等级", "risk band"),
    "psi": ("PSI", "PSI"),
    "recency_days": ("最近消费距今(天)", "days since last order"),
    "period": ("期次", "period"),
    "metric_value": ("数值", "value"),
    "fm": ("FM得分", "FM score"),
    "r": ("R得分", "R score"),
    "source": ("来源", "source"),
})

#: Sentence key -> template per language; ``{name}`` fields are filled by :func:`sentence`.
SENTENCES: dict[str, dict[str, str]] = {
    # overview
    "goal": {
        "zh": "本报告评估客户忠诚度与价值现状，识别流失风险及其驱动因素，并按忠诚度等级给出运营策略与行动计划。",
        "en": "This report assesses customer loyalty and value, identifies churn risk and what drives it, and "
              "sets out a strategy and an action plan per loyalty tier.",
    },
    "scope": {
        "zh": "分析范围：{customers} 位客户，覆盖 {n_industries} 个行业（{industries}），数据周期 {start} 至 {end}"
              "（回看 {lookback_days} 天），截止日期 {as_of}。",
        "en": "Scope: {customers} customers in {n_industries} industries ({industries}); data period {start} to "
              "{end} (look-back {lookback_days} days); as of {as_of}.",
    },
    # the data holds no industry column (a retailer's order export): no "0 industries"
    "scope_no_industry": {
        "zh": "分析范围：{customers} 位客户（数据中没有行业字段），数据周期 {start} 至 {end}"
              "（回看 {lookback_days} 天），截止日期 {as_of}。",
        "en": "Scope: {customers} customers (the data has no industry); data period {start} to "
              "{end} (look-back {lookback_days} days); as of {as_of}.",
    },
    # customers with orders only before the look-back window are not scored (CDNOW: 812 of 2,357 listed)
    "scope_lapsed": {
        "zh": "另有 {n} 位客户在回看窗口之前下过单、窗口内没有下单（已沉睡），不在名单与等级统计中。",
        "en": "{n} more customers ordered before the look-back window but not in it (lapsed); they are not in "
              "the list or the tier counts.",
    },
    "sources": {
        "zh": "数据来源：{sources}。",
        "en": "Data sources: {sources}.",
    },
    "finding_tiers": {
        "zh": "铁杆忠诚客户占 {devoted}，稳定忠诚占 {stable}，潜在流失占 {at_risk}，高风险流失占 {high_risk}；"
              "平均忠诚度得分 {mean_score}。",
        "en": "Devoted customers make up {devoted}, stable {stable}, at risk {at_risk} and high risk {high_risk}; "
              "the mean loyalty score is {mean_score}.",
    },
    "finding_var": {
        "zh": "风险价值合计 {var_total}，占预期价值 {var_share}；其中 {top_share} 集中在风险价值最高的 10% 客户"
              "（{top_n} 位）。",
        "en": "Value at risk totals {var_total}, {var_share} of expected value; {top_share} of it sits with the "
              "10% of customers with the highest value at risk ({top_n} customers).",
    },
    "finding_driver": {
        "zh": "{share} 的潜在流失及高风险客户，首要流失驱动因素为“{group}”。",
        "en": "For {share} of at-risk and high-risk customers the top churn driver is {group}.",
    },
    "finding_repurchase": {
        "zh": "复购客户占比为 {rate}（{repeat} / {active} 位下单客户在周期内下单两次及以上）。",
        "en": "The cohort repurchase rate is {rate} ({repeat} of {active} customers ordered at least twice in "
              "the period).",
    },
    "finding_tracking": {
        "zh": "与上期（{previous_as_of}）相比，铁杆忠诚占比变化 {devoted_change}，高风险客户召回率 {win_back}。",
        "en": "Since the previous period ({previous_as_of}) the devoted share changed by {devoted_change}; the "
              "win-back rate of high-risk customers is {win_back}.",
    },
    # status
    "score_distribution": {
        "zh": "忠诚度得分平均 {mean}，中位数 {median}，四分位区间 {q1}–{q3}；{below} 的客户得分低于 {bound} 分（高风险流失线）。",
        "en": "Loyalty scores average {mean} (median {median}, interquartile range {q1}-{q3}); {below} of "
              "customers score below {bound} (the high-risk bound).",
    },
    # the rule's high-risk tier far above the churn model's expectation (Online Retail II, a wholesaler: 92.4% high
    # risk while the model expects 45.5% to place no order and 55% of the earlier high-risk customers bought again)
    "tier_model_gap": {
        "zh": "注意：{high_share} 的客户按规则得分属于高风险流失，而流失模型预计只有 {mean_p} 会在未来 {horizon} 天内不再下单"
              "{win_back}：等级阈值（{tiers}）对本业务的购买节奏偏严，高风险等级不等于即将流失；"
              "挽留名单请按流失概率与风险价值排序，或用 'loyalist tune-weights' 按实际流失调整指标权重并调整 scoring.tiers{preset_hint}。",
        "en": "Caution: {high_share} of customers are high risk by the rule score, while the churn model expects "
              "{mean_p} to place no order in the next {horizon} days{win_back}: the tier thresholds ({tiers}) are "
              "strict for this business's buying rhythm, so the high-risk tier does not mean about to leave; rank "
              "retention by churn probability and value at risk, or tune the indicator weights against observed "
              "churn with 'loyalist tune-weights' and set scoring.tiers{preset_hint}.",
    },
    # the caution's remedy when the list was not scored with the wholesale preset (Online Retail II at 2010-09-09:
    # high risk 86% -> 49%, tier ROC AUC 0.584 -> 0.687; benchmarks/RESULTS.md "wholesale, session 16")
    "tier_model_gap_preset": {
        "zh": "；若客户每隔数周或数月批量采购（批发、分销），可用 'loyalist prepare --preset wholesale' 重新准备数据："
              "复购率与消费频次按本企业客户的百分位计分，等级阈值为 80/60/40",
        "en": "; if customers order every few weeks or months (wholesale, distribution), prepare the data again with "
              "'loyalist prepare --preset wholesale': repurchase rate and frequency are scored by their percentile "
              "among your own customers, with tiers at 80/60/40",
    },
    "tier_model_gap_win_back": {
        "zh": "，上期高风险客户中有 {win_back} 在此后再次下单",
        "en": ", and {win_back} of the previous period's high-risk customers ordered again",
    },
    "repurchase_definitions": {
        "zh": "两种复购率含义不同：复购客户占比（客户群层面，即来源的“周期内复购客户数 / 总客户数”）= 周期内下单两次及以上的"
              "客户 / 下单客户；月度复购率（单个客户，进入综合忠诚度得分，见表2）= 客户首单后有下单的月份占比。",
        "en": "Two repurchase rates mean different things: the repeat-customer rate (a cohort figure, the source's "
              "repeat customers / all customers) = customers with two or more orders in the period / customers with "
              "an order; the monthly repurchase rate (per customer, part of the loyalty score, table 2) = the share "
              "of months after the first order with an order.",
    },
    "guard_moves": {
        "zh": "得分之外，守卫规则会把满足条件的客户直接下调等级（从不上调）：{moves}；因此高风险流失占 {high_risk}，"
              "而得分低于 {bound} 的只有 {below}。",
        "en": "Beyond the score, guard rules move customers who meet their condition down (never up): {moves}; so "
              "{high_risk} of customers are high risk although only {below} score below {bound}.",
    },
    "guard_move": {
        "zh": "“{guard}”下调 {customers} 位",
        "en": "{guard} moved {customers} customers",
    },
    "var_by_band": {
        "zh": "风险价值按流失风险等级分布：{shares}。{lead}",
        "en": "Value at risk by churn-risk band: {shares}. {lead}",
    },
    "var_low_band_lead": {
        "zh": "{share} 的风险价值在低风险客户身上：他们流失概率低，但价值高、人数多，合计损失不可忽视。",
        "en": "{share} of the value at risk sits with low-risk customers: each is unlikely to leave, but they are "
              "many and valuable.",
    },
    "var_high_band_lead": {
        "zh": "{share} 的风险价值在中高风险客户身上，挽留应优先覆盖这些客户。",
        "en": "{share} of the value at risk sits with medium- to very-high-risk customers; retention should cover "
              "them first.",
    },
    # percentile-scaled indicators (the wholesale preset) are ranked within each list, so the mean score hides
    # a change of their level (Online Retail II: 47.4 -> 47.4 between 2010-09-09 and 2010-12-09)
    "score_trend_percentile": {
        "zh": "{indicators} 按本期客户的百分位计分（每期都与当期客户相比），其整体水平的升降不会体现在平均得分中；"
              "判断趋势请看等级迁移、召回率与实际流失。",
        "en": "{indicators} are scored by percentile among each list's own customers, so a rise or fall of their "
              "overall level does not show in the mean score; judge the trend by tier migration, win-back and "
              "observed churn.",
    },
    "score_trend": {
        "zh": "平均得分从 {first_as_of} 的 {first_mean} 变为 {last_as_of} 的 {last_mean}（{change}）。",
        "en": "The mean score moved from {first_mean} on {first_as_of} to {last_mean} on {last_as_of} "
              "({change}).",
    },
    "industry_means": {
        "zh": "各行业平均得分中，{best}最高（{best_mean}），{worst}最低（{worst_mean}），整体平均 {overall}。",
        "en": "Among industries, {best} scores highest ({best_mean}) and {worst} lowest ({worst_mean}); the "
              "overall mean is {overall}.",
    },
    "tier_share_change": {
        "zh": "与上期（{previous_as_of}）相比各等级占比：{changes}。",
        "en": "Tier shares compared with the previous period ({previous_as_of}): {changes}.",
    },
    "repurchase_groups": {
        "zh": "复购客户占比最高的三个客户群：{groups}。",
        "en": "The three customer groups with the highest repeat-customer rate: {groups}.",
    },
    "complaint_stage": {
        "zh": "投诉率最高的服务环节为“{stage}”：{customers} 位客户在该环节投诉，占客户总数 {rate}。",
        "en": "The service stage with the highest complaint rate is {stage}: {customers} customers complained "
              "there, {rate} of all customers.",
    },
    # segments
    "tier_profile": {
        "zh": "{tier}客户以{industry}为主（占 {industry_share}），平均合作 {tenure} 个月，平均得分 {score}。",
        "en": "{tier} customers: mostly {industry} ({industry_share}), {tenure} months of tenure on average, "
              "mean score {score}.",
    },
    "rfm_summary": {
        "zh": "RFM 分群中“{segment}”客户最多（{customers} 位，{share}）；“{value_segment}”贡献了 {value_share} 的预期价值。",
        "en": "The largest RFM segment is {segment} ({customers} customers, {share}); {value_segment} holds "
              "{value_share} of expected value.",
    },
    "deciles": {
        "zh": "按预期价值排序，前 10% 客户贡献 {top1} 的预期价值，前 20% 贡献 {top2}。",
        "en": "Ranked by expected value, the top 10% of customers hold {top1} of expected value and the top 20% "
              "hold {top2}.",
    },
    "profit": {
        "zh": "利润贡献合计 {margin}，利润率 {rate}；前 20% 客户贡献 {top20} 的利润，{negative} 位客户利润为负。",
        "en": "Profit contribution totals {margin} at a margin rate of {rate}; the top 20% of customers bring "
              "{top20} of it and {negative} customers have a negative margin.",
    },
    # diagnosis
    "global_driver": {
        "zh": "整体来看，影响流失风险最大的因素依次为：{drivers}。",
        "en": "Overall, the strongest churn drivers are, in order: {drivers}.",
    },
    "tier_driver": {
        "zh": "{share} 的{tier}客户：“{group}”是首要流失驱动因素（{customers} 位）。",
        "en": "{share} of {tier} customers: {group} is the top churn driver ({customers} customers).",
    },
    "nps_caution": {
        "zh": "{n} 位客户 NPS≥{nps_high} 但消费频次偏低（<{low_freq} 次/年或处于后 20%），可能是单项目客户，"
              "不能仅凭得分判断其忠诚度，需结合业务背景人工复核。",
        "en": "{n} customers have NPS >= {nps_high} but a low purchase frequency (< {low_freq} orders/yr or the "
              "bottom quintile): possibly single-project customers, so their loyalty is not a score-only "
              "judgement and needs a review in business context.",
    },
    # recommendations
    "strategy_intro": {
        "zh": "各等级运营策略如下表，占比为本期实际占比。",
        "en": "The strategy per tier is below; shares are this period's observed shares.",
    },
    "action_intro": {
        "zh": "行动计划{ranking}列出前 {n} 位客户，并按等级列出客户群措施；措施按诊断出的问题（首要流失驱动因素）选取，"
              "问题不明确或流失风险低时按等级选取；时间节点 = 截止日期 + 行动表规定天数。",
        "en": "The action plan lists the top {n} customers {ranking} and one line per tier group; the action "
              "follows the diagnosed problem (the top churn driver), and the tier when the problem is unclear or the "
              "churn risk is low; deadline = as-of date + the action table's days.",
    },
    "survival_intro": {
        "zh": "下图为各等级客户预计仍未流失的比例（BG/NBD 模型，截止日期后 30/90/180 天的平均概率）。行动计划的时间节点"
              "取行动表天数与该等级流失中位时间（客户预计流失天数的中位数，上限 365 天）中较早者，"
              "须在风险上升前采取行动；因流失时间而提前的时间节点以红色粗体显示。",
        "en": "The chart shows the expected share of each tier's customers still active (BG/NBD: the mean probability "
              "30/90/180 days after the as-of date). An action's deadline is the earlier of the action table's days "
              "and the tier's median time to churn (the median of its customers' expected days to churn, capped at "
              "365), so the action comes before the risk rises; deadlines brought forward that way are in bold red.",
    },
    "survival_calibration": {
        "zh": "模型检验：以 {cutoff} 为截止日期拟合 BG/NBD，预测至 {window_end} 每月仍在购买的客户占比，与实际对比，"
              "平均偏差 {mae} 个百分点；以流失模型概率校准后（名单采用）为 {mae_anchored} 个百分点（见图）。",
        "en": "Model check: BG/NBD fitted up to {cutoff} predicted the share of customers still buying in each month "
              "up to {window_end}; against what happened the mean gap is {mae} percentage points, and "
              "{mae_anchored} when anchored to the churn model (as the list is; see the chart).",
    },
    "crosssell": {
        "zh": "为 {n} 位铁杆忠诚及稳定忠诚客户生成了交叉销售推荐，最常推荐的产品：{products}。",
        "en": "Cross-sell recommendations exist for {n} devoted and stable customers; the most recommended "
              "products: {products}.",
    },
    # tracking
    "tracking_period": {
        "zh": "跟踪期：{previous_as_of} 至 {current_as_of}（{days} 天）；两期共有客户 {both} 位，本期新增 {new} 位，"
              "{gone} 位不在本期名单。",
        "en": "Tracking period: {previous_as_of} to {current_as_of} ({days} days); {both} customers are in both "
              "lists, {new} are new and {gone} are no longer listed.",
    },
    "win_back": {
        "zh": "上期 {previous_high_risk} 位高风险流失客户中，{won_back} 位在上期截止日后再次下单，召回率 {rate}。",
        "en": "Of {previous_high_risk} high-risk customers of the previous period, {won_back} ordered again after "
              "the previous as-of date: a win-back rate of {rate}.",
    },
    # data quality: a date column whose values carried a time zone (prepare's summary.csv time_zones)
    "data_time_zone": {
        "zh": "{table}表的日期列“{column}”带有{kind} {zone}（{n} 个值）；导入时已去掉，每个值保留其 {zone} 的时钟时间，"
              "因此日期与截止日按 {day_zone} 的自然日计算。如业务日以其他时区为准，请在 prepare 之前把该列换算为该时区的本地时间。",
        "en": "Date column '{column}' of the {table} table carried {kind} {zone} ({n} values); prepare dropped it and "
              "each value keeps its {zone} clock time, so days and cut-offs are {day_zone} days. If your business "
              "day is another zone's, convert the column to that zone's local time before prepare.",
    },
    "data_time_zones_mixed": {
        "zh": "{table}表的日期列“{column}”混有多个 UTC 偏移（{zones}）；导入时去掉偏移、每个值保留自身的时钟时间，因此其日期是"
              "不同偏移下的本地日期，而非同一时钟：同一时区的夏令时与冬令时这样处理无误，来自不同时区的时间则不然"
              "（请在 prepare 之前把该列统一换算到一个时区）。",
        "en": "Date column '{column}' of the {table} table mixes UTC offsets ({zones}); prepare dropped the offset and "
              "each value keeps its own clock time, so its days are the local days of different offsets, not one "
              "clock: right for one zone's summer and winter time, not for times from different zones (convert the "
              "column to one zone before prepare then).",
    },
    "model_quality_active": {
        "zh": "在截止日仍活跃的客户中（截止日前 {active_days} 天内有已完成订单；评估 {n} 行，流失率 {rate}），ROC AUC：{aucs}。",
        "en": "Among customers still active at the cut-off (a completed order in the last {active_days} days; {n} "
              "evaluation rows, churn rate {rate}), ROC AUC: {aucs}.",
    },
    "model_quality_active_below": {
        "zh": "在这些活跃客户中，loyalist 模型（{model}）低于最佳基线{baseline}（{best}，差 {gap}）：对仍在下单的客户，"
              "模型预警流失不如该基线。",
        "en": "Among these active customers the loyalist model ({model}) is below the best baseline, {baseline} "
              "({best}, {gap}): for customers still ordering, it warns of churn less well than that baseline.",
    },
    "model_quality_active_above": {
        "zh": "在这些活跃客户中，loyalist 模型（{model}）不低于最佳基线{baseline}（{best}，差 {gap}）。",
        "en": "Among these active customers the loyalist model ({model}) is at or above the best baseline, {baseline} "
              "({best}, {gap}).",
    },
    "newly_at_risk": {
        "zh": "与上期名单（{previous_as_of}）相比，{customers} 位活跃客户（近 {active_days} 天内有订单）新进入高或极高流失"
              "风险档；{rising} 位活跃客户的流失概率上升。",
        "en": "Since the previous list ({previous_as_of}), {customers} active customers (an order in the last "
              "{active_days} days) moved into the high or very high churn-risk band; {rising} active customers' churn "
              "probability rose.",
    },
    "devoted_change": {
        "zh": "铁杆忠诚占比由 {previous} 变为 {current}（{change}）。",
        "en": "The devoted share moved from {previous} to {current} ({change}).",
    },
    "var_recovered": {
        "zh": "上期潜在流失及高风险客户中 {n} 位本期已回到稳定或铁杆忠诚，对应上期风险价值 {value}"
              "（占上期风险客户风险价值 {share}）。",
        "en": "{n} at-risk or high-risk customers of the previous period are now stable or devoted; their "
              "previous value at risk was {value} ({share} of the previous at-risk value at risk).",
    },
    # notes
    "unavailable": {
        "zh": "{what}：无法计算（{why}）。",
        "en": "{what}: not available ({why}).",
    },
    "model_note": {
        "zh": "评分作业提示（英文原文）：{note}",
        "en": "Note from the scoring job: {note}",
    },
    # the level rule (loyalist.modeling.supervised.level): the horizon covers months no training label covered
    "level_warning": {
        "zh": "注意：{model}的 {horizon} 天预测期包含训练标签从未覆盖的月份（{months}），{how}；"
              "这些月份若有季节性高峰或低谷，总量与概率可能偏离。",
        "en": "Warning: the {model}'s {horizon}-day horizon covers calendar months no training label covered "
              "({months}); {how}. If those months have a seasonal peak or trough, its totals and probabilities may "
              "be off.",
    },
    "level_other_horizon": {
        "zh": "注意：{model}的水平是训练时为另一预测期设定的（{months}，{how}）；本名单截至 {as_of}，其 {horizon} 天预测期"
              "（{list_months}）不含这些月份，但该固定水平仍原样应用，因此本名单的水平未经校验；可用 --as-of {as_of} "
              "重新训练后核对。",
        "en": "Warning: the {model} carries the level it was given at training for another horizon ({months}; {how}). "
              "This list is as of {as_of}: its {horizon}-day horizon ({list_months}) has none of those months, yet "
              "the frozen level is applied unchanged, so this list's level is unchecked; train with --as-of {as_of} "
              "to check it.",
    },
    "level_how_seasonal_index": {
        "zh": "其水平已按历史同月的季节指数调整（×{factor}）",
        "en": "its level is set by a seasonal index from earlier years (x{factor})",
    },
    "level_how_bgnbd_anchor": {
        "zh": "历史数据中没有往年的这些月份，其水平已锚定到 BG/NBD 与近 90 天实际购买速率的平均水平（×{factor}）",
        "en": "the history holds no earlier year with those months, so its level is anchored to the mean of the "
              "BG/NBD level and the last 90 days' run rate (x{factor})",
    },
    # churn: the power g of P(no purchase)^g is the factor on the purchase rate; below 1 it raises the churn
    # probabilities, so "x0.835" alone read as churn scaled down (the console said 0.399 -> 0.455)
    "level_how_seasonal_index_churn": {
        "zh": "其水平已按历史同月的季节指数调整（购买速率 ×{factor}，{direction}）",
        "en": "its level is set by a seasonal index from earlier years (purchase rate x{factor}, {direction})",
    },
    "level_how_bgnbd_anchor_churn": {
        "zh": "历史数据中没有往年的这些月份，其水平已锚定到 BG/NBD 与近 90 天实际购买速率的平均水平（购买速率 ×{factor}，{direction}）",
        "en": "the history holds no earlier year with those months, so its level is anchored to the mean of the "
              "BG/NBD level and the last 90 days' run rate (purchase rate x{factor}, {direction})",
    },
    "level_churn_up": {"zh": "流失概率因此上调", "en": "which raises the churn probabilities"},
    "level_churn_down": {"zh": "流失概率因此下调", "en": "which lowers the churn probabilities"},
    "level_churn_same": {"zh": "流失概率不变", "en": "which leaves the churn probabilities as they are"},
    "level_how_model": {
        "zh": "无法用 BG/NBD 校验其水平，保留模型自身水平",
        "en": "BG/NBD could not check its level, so the model's own level is kept",
    },
    # measured effect of a campaign (效果跟踪, loyalist effect)
    "effect_none": {
        "zh": "尚未测量任何活动的效果：在活动的观察期结束后，对其对照组分配文件运行 'loyalist effect'，报告将在此显示结果。",
        "en": "No campaign has been measured yet: run 'loyalist effect' on a campaign's control assignment once its "
              "horizon has passed, and the report shows the result here.",
    },
    "effect_overall": {
        "zh": "活动 {campaign}（{campaign_date}）在其后 {horizon_days} 天的效果：处理组 {n_treatment} 位客户，"
              "对照组 {n_control} 位（未采取行动）；区间为 {confidence} 置信区间。",
        "en": "Campaign {campaign} of {campaign_date}, measured over the {horizon_days} days after it: "
              "{n_treatment} treated customers and {n_control} control customers (no action); intervals are "
              "{confidence} confidence intervals.",
    },
    "effect_action": {
        "zh": "{action}：流失率由对照组的 {control} {change}处理组的 {treatment}（{difference} 个百分点，"
              "{confidence} 置信区间 {ci_low} 至 {ci_high}）；处理客户 {n_treatment} 位，{kept} {saved} 位"
              "（{saved_low} 至 {saved_high}），扣除成本 {cost} 后保留价值 {net}（{net_low} 至 {net_high}）。",
        "en": "{action} {change} churn from {control} to {treatment}, {difference} points, {confidence} CI "
              "{ci_low} to {ci_high}; {n_treatment} treated customers, {saved} {kept} ({saved_low} to "
              "{saved_high}), {net} kept net of its {cost} cost ({net_low} to {net_high}).",
    },
    "effect_flag_negative": {
        "zh": "注意 {action}：区间显示联系客户反而提高了流失率（{difference} 个百分点，{ci_low} 至 {ci_high}），"
              "应停止或调整该措施。",
        "en": "Check {action}: the interval says contact raised churn ({difference} points, {ci_low} to "
              "{ci_high}); stop or change the action.",
    },
    "effect_flag_inconclusive": {
        "zh": "{action}尚无定论：对照组仅 {n_control} 位客户，只能识别 {mde} 个百分点以上的差异；保留对照组，"
              "在更大规模的活动中再次测量。",
        "en": "{action} is inconclusive: with {n_control} control customers only a difference of {mde} points "
              "or more can be told apart; keep the control group and measure again on a larger campaign.",
    },
    "effect_flag_chance": {
        "zh": "留意 {action}：流失率上升 {difference} 个百分点（{ci_low} 至 {ci_high}），但同时检验 {tests} 项措施后"
              "并不显著（Holm 校正 p = {p_adjusted}），可能只是偶然；保留对照组，在下一次活动中再次测量后再决定是否停止。",
        "en": "Watch {action}: churn rose {difference} points ({ci_low} to {ci_high}), but with {tests} actions "
              "tested together this is not significant (Holm-adjusted p = {p_adjusted}) and may be chance; keep the "
              "control group and measure again before stopping it.",
    },
    # targeting by uplift (loyalist uplift)
    "uplift_none": {
        "zh": "尚未训练提升（uplift）模型：对一次设有对照组的历史活动运行 'loyalist uplift' 后，名单将增加 uplift 与 "
              "expected_saved_value 两列，报告在此显示其 Qini 曲线；在此之前名单按风险价值排序。",
        "en": "No uplift model has been trained yet: run 'loyalist uplift' on a past campaign with a control group; "
              "the list then gets the uplift and expected_saved_value columns and the report shows its Qini curve "
              "here. Until then the list is ranked by value at risk.",
    },
    "uplift_qini": {
        "zh": "提升模型（{method}）基于活动 {campaign}（{campaign_date}，{customers} 位客户，其中对照组 {control} 位）"
              "训练，并在 {n_test} 位留出客户上评估：标准化 Qini 系数 {qini}，按流失风险排序为 {qini_churn_risk}，"
              "随机排序为 {qini_random}（第 95 百分位）；在排名前 {k} 的客户中，被联系客户与对照组的留存率之差为 "
              "{at_k} 个百分点（按流失风险排序为 {at_k_churn_risk}，随机为 {at_k_random}）。",
        "en": "The uplift model ({method}) learned from campaign {campaign} of {campaign_date} ({customers} "
              "customers, {control} control) and was judged on {n_test} held-out customers: normalised Qini "
              "{qini}, against {qini_churn_risk} when ranking by churn risk and {qini_random} for random rankings "
              "(95th percentile); in the top {k}, the stay rate of contacted minus control customers is {at_k} "
              "points, against {at_k_churn_risk} when ranking by churn risk and {at_k_random} at random.",
    },
    "uplift_pooled": {
        "zh": "该模型汇总了 {n} 次历史活动（{campaigns}）：同一客户在每次活动中各计一次，上述 {customers} 位客户实为 "
              "{distinct} 位不同客户；留出评估按客户整体留出（{held_out} 位不同的留出客户），区间与随机基准也按客户抽样。",
        "en": "It pools {n} past campaigns ({campaigns}): a customer counts once per campaign, so the {customers} "
              "customers above are {distinct} distinct ones; the held-out judgement holds customers out whole "
              "({held_out} distinct held-out customers), and the interval and the random benchmark draw customers.",
    },
    "uplift_qini_interval": {
        "zh": "留出 Qini 的 95% 区间为 {low} 至 {high}（留出客户中对照组 {control} 位，其中 {churned} 位流失）。",
        "en": "The held-out Qini's 95% interval is {low} to {high} ({control} held-out control customers, "
              "{churned} of them churned).",
    },
    "uplift_evidence_thin": {
        "zh": "证据不足：该区间包含 0，仅凭这一次活动的这一种划分，无法区分模型与随机联系（冠军门槛只比较点估计）；"
              "更大规模的活动或对照组才能判断。",
        "en": "The evidence is thin: the interval reaches 0, so this one split of the campaign cannot tell the "
              "model from random targeting (the champion gate compares the point estimate only); a larger campaign "
              "or control group would.",
    },
    "uplift_used": {
        "zh": "本期名单使用提升模型第 {version} 版给出 uplift 与 expected_saved_value，并{ranking}排序。",
        "en": "This list carries uplift and expected_saved_value from uplift model version {version} and is "
              "ranked {ranking}.",
    },
    "uplift_champion_unused": {
        "zh": "提升模型第 {version} 版已成为冠军模型，但本期名单评分时未使用它（名单没有 uplift 列）；"
              "重新运行 'loyalist score' 即可加入。",
        "en": "Uplift model version {version} is champion, but this list was scored without it (no uplift "
              "column); run 'loyalist score' again to add it.",
    },
    "uplift_not_champion": {
        "zh": "提升模型第 {version} 版的 Qini 未超过随机排序，因此未成为冠军模型，名单不使用它。",
        "en": "Uplift model version {version} does not beat random rankings on Qini, so it is not champion and "
              "the list does not use it.",
    },
    "chart_font_missing": {
        "zh": "未找到中文字体，图表使用英文标签（安装 fonts-noto-cjk 可显示中文）。",
        "en": "No CJK font was found; charts use English labels (install fonts-noto-cjk for Chinese labels).",
    },
}


def label(kind: str, code: Any, lang: Lang = "zh") -> str:
    """Label of ``code`` in ``LABELS[kind]`` for ``lang`` (any lang but ``'zh'`` reads English); the code itself
    (as text) when unknown, ``'—'`` when missing."""
    if code is None or (isinstance(code, float) and math.isnan(code)):
        return "—"
    entry = LABELS.get(kind, {}).get(str(code))
    if entry is None:
        return str(code)
    return entry["zh"] if lang == "zh" else entry["en"]


def both(kind: str, code: Any) -> dict[str, str]:
    """``{"zh": ..., "en": ...}`` labels of ``code``."""
    return {lang: label(kind, code, lang) for lang in LANGS}  # type: ignore[arg-type]
