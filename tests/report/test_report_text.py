"""zh / en text: number formats, labels and sentence templates."""

from __future__ import annotations

import math
import string

import pytest

from loyalist.report.text import (
    SECTION_TITLES,
    SENTENCES,
    code_label,
    fmt_int,
    fmt_money,
    fmt_num,
    fmt_pct,
    fmt_pp,
    header,
    sentence,
)


def test_number_formats():
    assert fmt_pct(0.4523) == "45.2%" and fmt_pct(1) == "100.0%" and fmt_pct(0.4523, 0) == "45%"
    assert fmt_pp(0.031, "zh") == "+3.1 个百分点" and fmt_pp(-0.0042, "en") == "-0.4 pp"
    assert fmt_num(1234.56) == "1,234.6" and fmt_int(1234567.4) == "1,234,567" and fmt_money(9876543.5) == "9,876,544"
    for f in (fmt_pct, fmt_num, fmt_int, fmt_money):
        assert f(None) == "—" and f(math.nan) == "—" and f(math.inf) == "—"


def test_labels_fall_back_to_the_code():
    assert code_label("tier", "at_risk", "zh") == "潜在流失" and code_label("tier", "at_risk", "en") == "at risk"
    assert code_label("industry", "manufacturing", "zh") == "制造业"
    assert code_label("rfm", "champions", "zh") == "冠军客户"
    assert code_label("industry", "航天", "en") == "航天"  # a user's own code is shown as it is
    assert code_label("stage", None) == "—"
    assert header("deadline", "zh") == "时间节点" and header("no-such-key", "en") == "no-such-key"


def test_sentence_fills_both_languages_and_capitalises_english():
    s = sentence("tier_profile", tier={"zh": "铁杆忠诚", "en": "devoted"}, industry={"zh": "制造业", "en": "manufacturing"},
                 industry_share="45.0%", tenure="36", score="93.1")
    assert s["zh"] == "铁杆忠诚客户以制造业为主（占 45.0%），平均合作 36 个月，平均得分 93.1。"
    assert s["en"] == ("Devoted customers: mostly manufacturing (45.0%), 36 months of tenure on average, "
                       "mean score 93.1.")


@pytest.mark.parametrize("key", sorted(SENTENCES))
def test_templates_use_the_same_fields_in_both_languages(key):
    fields = {lang: {f for _, f, _, _ in string.Formatter().parse(SENTENCES[key][lang]) if f}
              for lang in ("zh", "en")}
    assert fields["zh"] == fields["en"]


def test_section_titles_in_the_source_order():
    assert list(SECTION_TITLES) == ["overview", "status", "segments", "diagnosis", "recommendations", "tracking",
                                    "appendix"]
    assert SECTION_TITLES["overview"]["zh"] == "一、分析概述" and SECTION_TITLES["diagnosis"]["zh"] == "四、问题诊断"


def test_a_change_that_rounds_to_nothing_has_no_sign():
    # Online Retail's at-risk share 4.31% -> 4.30% printed "-0.0 pp" beside "+0.0 pp"
    assert fmt_pp(-0.0004, "en") == "0.0 pp" and fmt_pp(0.0004, "zh") == "0.0 个百分点"
    assert fmt_pp(-0.0006, "en") == "-0.1 pp"


def test_the_churn_level_warning_says_which_way_the_probabilities_moved():
    from loyalist.report.summarize import level_sentence

    # the power g of P(no purchase)^g is a factor on the purchase rate: 0.835 raised the mean churn probability
    # from 0.399 to 0.455 on Online Retail, so "x0.835" alone read as the opposite
    block = {"method": "bgnbd_anchor", "months": [1, 2, 3], "horizon_days": 90, "factor": 1.0, "power": 0.8347}
    churn = level_sentence("churn", block)
    assert "(purchase rate x0.835, which raises the churn probabilities)" in churn["en"]
    assert "购买速率 ×0.835，流失概率因此上调" in churn["zh"]
    assert "which lowers" in level_sentence("churn", {**block, "power": 1.2})["en"]
    value = level_sentence("value", {**block, "factor": 0.7964, "power": 1.0, "horizon_days": 365})
    assert "(x0.796)" in value["en"] and "purchase rate" not in value["en"]
