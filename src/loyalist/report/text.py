"""Chinese and English text of the report: section titles, labels of codes, sentence templates, number formats.

Plain data and small pure helpers. A *bilingual text* is a dict ``{"zh": str, "en": str}``; the summary carries
every generated sentence in that form (see :func:`sentence`) so the rendered report and other tools read the same
words. Codes without a label (a user's own industry, stage, ...) are shown as they are.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from loyalist.features.rfm import RFM_SEGMENTS
from loyalist.scoring.text import INDICATOR_LABELS, TIER_LABELS, TIER_TYPICAL_TRAITS

__all__ = [
    "Lang",
    "LANGS",
    "SECTION_TITLES",
    "CODE_LABELS",
    "HEADERS",
    "SENTENCES",
    "code_label",
    "header",
    "sentence",
    "both",
    "tier_adjective",
    "pick",
    "fmt_pct",
    "fmt_pp",
    "fmt_num",
    "fmt_int",
    "fmt_money",
]

Lang = Literal["zh", "en"]
LANGS: tuple[str, ...] = ("zh", "en")

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
#: :data:`loyalist.features.rfm.RFM_SEGMENTS`; the rest name the synthetic generator's codes.
CODE_LABELS: dict[str, dict[str, dict[str, str]]] = {
    "tier": TIER_LABELS,
    "typical_traits": TIER_TYPICAL_TRAITS,
    "indicator": INDICATOR_LABELS,
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
    "repurchase_rate": ("复购率", "repurchase rate"),
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
    "repurchase_pct": ("复购率(%)", "repurchase (%)"),
    "complaint_pct": ("投诉率(%)", "complaints (%)"),
    "loyalty_score": ("综合忠诚度得分", "loyalty score"),
    "customer_or_tier": ("客户编号/等级", "customer or tier"),
    "problem": ("当前问题", "current problem"),
    "action": ("具体措施", "action"),
    "department": ("责任部门", "department"),
    "deadline": ("时间节点", "deadline"),
    "expected_effect": ("预期效果", "expected effect"),
    "typical_traits": ("典型特征", "typical traits"),
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
        "zh": "周期内复购率为 {rate}（{repeat} / {active} 位客户下单两次及以上）。",
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
        "zh": "忠诚度得分平均 {mean}，中位数 {median}，四分位区间 {q1}–{q3}；{below_60} 的客户得分低于 60 分。",
        "en": "Loyalty scores average {mean} (median {median}, interquartile range {q1}-{q3}); {below_60} of "
              "customers score below 60.",
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
        "zh": "复购率最高的三个客户群：{groups}。",
        "en": "The three customer groups with the highest repurchase rate: {groups}.",
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
        "zh": "行动计划按风险价值列出前 {n} 位客户，并按等级列出客户群措施；时间节点 = 截止日期 + 行动表规定天数。",
        "en": "The action plan lists the top {n} customers by value at risk and one line per tier group; "
              "deadline = as-of date + the action table's days.",
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
    "chart_font_missing": {
        "zh": "未找到中文字体，图表使用英文标签（安装 fonts-noto-cjk 可显示中文）。",
        "en": "No CJK font was found; charts use English labels (install fonts-noto-cjk for Chinese labels).",
    },
}


def code_label(kind: str, code: Any, lang: Lang = "zh") -> str:
    """Label of ``code`` in ``CODE_LABELS[kind]`` for ``lang``; the code itself (as text) when unknown."""
    if code is None or (isinstance(code, float) and math.isnan(code)):
        return "—"
    entry = CODE_LABELS.get(kind, {}).get(str(code))
    if entry is None:
        return str(code)
    return entry["zh"] if lang == "zh" else entry["en"]


def both(kind: str, code: Any) -> dict[str, str]:
    """``{"zh": ..., "en": ...}`` labels of ``code``."""
    return {lang: code_label(kind, code, lang) for lang in LANGS}  # type: ignore[arg-type]


def tier_adjective(tier: str) -> dict[str, str]:
    """Tier label for use before a noun: ``at_risk`` -> ``{"zh": "潜在流失", "en": "at-risk"}``."""
    labels = both("tier", tier)
    return {"zh": labels["zh"], "en": labels["en"].replace(" ", "-")}


def header(key: str, lang: Lang = "zh") -> str:
    """A table header from :data:`HEADERS` (the key itself when unknown)."""
    entry = HEADERS.get(key)
    return key if entry is None else entry[lang]


def pick(value: Any, lang: Lang) -> Any:
    """``value[lang]`` for a bilingual dict, else ``value`` unchanged."""
    if isinstance(value, Mapping) and "zh" in value and "en" in value:
        return value[lang]
    return value


def sentence(key: str, **values: Any) -> dict[str, str]:
    """Fill template ``key`` of :data:`SENTENCES` in both languages.

    Each value is either plain (the same in both languages, e.g. a formatted number) or a bilingual dict; for
    ``en`` a sentence-initial lowercase letter is capitalised.
    """
    out: dict[str, str] = {}
    for lang in LANGS:
        filled = SENTENCES[key][lang].format(**{k: pick(v, lang) for k, v in values.items()})  # type: ignore[arg-type]
        out[lang] = filled[:1].upper() + filled[1:] if lang == "en" else filled
    return out


def _bad(x: Any) -> bool:
    return x is None or (isinstance(x, float) and not math.isfinite(x))


def fmt_pct(x: Any, digits: int = 1) -> str:
    """``0.4523 -> '45.2%'``; missing -> ``'—'``."""
    return "—" if _bad(x) else f"{100 * float(x):.{digits}f}%"


def fmt_pp(x: Any, lang: Lang = "zh", digits: int = 1) -> str:
    """A change of a share in percentage points with its sign: ``+3.1 个百分点`` / ``+3.1 pp``."""
    if _bad(x):
        return "—"
    unit = "个百分点" if lang == "zh" else "pp"
    return f"{100 * float(x):+.{digits}f} {unit}"


def fmt_num(x: Any, digits: int = 1) -> str:
    """A plain number with thousands separators: ``1234.56 -> '1,234.6'``."""
    return "—" if _bad(x) else f"{float(x):,.{digits}f}"


def fmt_int(x: Any) -> str:
    """An integer count with thousands separators."""
    return "—" if _bad(x) else f"{int(round(float(x))):,}"


def fmt_money(x: Any) -> str:
    """An amount rounded to whole units with thousands separators."""
    return "—" if _bad(x) else f"{float(x):,.0f}"
