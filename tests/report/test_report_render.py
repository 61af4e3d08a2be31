"""HTML rendering in both languages: sections, the summary's numbers, escaping, privacy, self-containment."""

from __future__ import annotations

import copy
import json
import re

import pytest
from markupsafe import escape

from loyalist.errors import LoyalistError
from loyalist.report import charts
from loyalist.report.render import render_html, render_pdf
from loyalist.report.summarize import summarize
from loyalist.report.text import SECTION_TITLES, fmt_int, fmt_money, fmt_pct


@pytest.fixture(scope="module")
def summary(scored, list_summary, previous, clean) -> dict:
    # through JSON, as other tools would read report_summary.json
    return json.loads(json.dumps(summarize(scored, list_summary, previous=[previous], clean=clean)))


@pytest.fixture(scope="module")
def pages(summary) -> dict[str, str]:
    return {lang: render_html(summary, lang) for lang in ("zh", "en")}


def _sentences(summary: dict) -> list[dict]:
    out = list(summary["overview"]["findings"])
    for key in ("status", "segments", "diagnosis", "recommendations", "tracking"):
        out += summary[key]["sentences"]
    return out + summary["diagnosis"]["summary_sentences"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_sections_in_order_and_every_generated_sentence(pages, summary, lang):
    page = pages[lang]
    positions = [page.index(f">{str(escape(t[lang]))}</h2>") for t in SECTION_TITLES.values()]
    assert positions == sorted(positions)
    for s in _sentences(summary):
        assert str(escape(s[lang])) in page, s[lang]
    assert f'lang="{"zh-CN" if lang == "zh" else "en"}"' in page


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_numbers_of_the_list_appear(pages, scored, lang):
    page = pages[lang]
    for tier in ("devoted", "stable", "at_risk", "high_risk"):
        share = (scored["loyalty_tier"] == tier).mean()
        row = re.search(rf'<tr data-tier="{tier}">(.*?)</tr>', page).group(1)
        assert f">{fmt_pct(share)}<" in row and f">{(scored['loyalty_tier'] == tier).sum()}<" in row
    top = scored.sort_values("value_at_risk", ascending=False).iloc[0]
    table1 = re.search(r'<table class="table1">(.*?)</table>', page, re.S).group(1)
    assert top["customer_id"] in table1
    plan = re.search(r'<table class="plan">(.*?)</table>', page, re.S).group(1)
    assert fmt_money(top["value_at_risk"]) in plan
    assert f"{fmt_int(len(scored))}" in page


def test_chinese_and_english_differ(pages):
    assert "忠诚度现状" in pages["zh"] and "忠诚度现状" not in pages["en"]
    assert "Loyalty status" in pages["en"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_self_contained(pages, lang):
    page = pages[lang]
    assert not re.search(r'(?:src|href)\s*=\s*["\']?(?:https?:)?//', page)
    assert "@import" not in page and "url(http" not in page and "<script" not in page and "<link" not in page
    assert page.count('<svg class="chart-svg"') == 9


def test_script_in_a_name_is_escaped(summary):
    evil = "<script>alert('x')</script>"
    s = copy.deepcopy(summary)
    s["recommendations"]["plan_customers"][0]["name"] = evil
    s["appendix"]["profiles"][0]["name"] = evil
    s["appendix"]["profiles"][1]["industry"] = evil
    page = render_html(s, "zh")
    assert "<script" not in page
    assert str(escape(evil)) in page


def test_markup_in_list_values_is_escaped_end_to_end(scored, factories):
    evil = scored.assign(
        name=scored["name"].where(scored.index != 0, factories.SCRIPT_NAME),  # masked to "<***", still escaped
        industry=scored["industry"].where(scored.index != 1, "<b onmouseover=x>bold</b>"),
    )
    page = render_html(summarize(evil), "en")
    assert "<script" not in page and "<b onmouseover" not in page and "<***" not in page
    assert "&lt;***" in page and "&lt;b onmouseover=x&gt;bold&lt;/b&gt;" in page


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_unmasked_contact(pages, summary, factories, lang):
    for raw in (factories.RAW_PHONE, factories.RAW_EMAIL, factories.RAW_COMPANY, "上海第"):
        assert raw not in pages[lang]
    table1 = re.search(r'<table class="table1">(.*?)</table>', pages[lang], re.S).group(1)
    assert "139****5678" in table1


def test_chart_font_fallback_is_stated(summary, monkeypatch):
    monkeypatch.setattr(charts, "find_cjk_font", lambda: None)
    page = render_html(summary, "zh")
    assert 'id="chart-note"' in page and "fonts-noto-cjk" in page
    assert 'id="chart-note"' not in render_html(summary, "en")


def test_without_extras_the_report_says_what_is_missing(scored):
    page = render_html(summarize(scored), "en")
    assert "No previous list (--previous) was given" in page
    assert "Data quality (rejects per rule): not available (no --clean folder given)." in page


def test_bad_language_and_missing_browser(summary, tmp_path):
    with pytest.raises(LoyalistError, match="'lang' parameter"):
        render_html(summary, "fr")  # type: ignore[arg-type]
    with pytest.raises(LoyalistError, match="needs a headless Chromium.*apt-get install chromium fonts-noto-cjk"):
        render_pdf("<html></html>", tmp_path / "r.pdf", browser="no-such-browser-xyz")
    assert not (tmp_path / "r.pdf").exists()


def test_the_scoring_job_and_its_drift_page_leave_matplotlib_out() -> None:
    """`loyalist score` imports the report package for its drift page: matplotlib (~0.4 CPU s) is imported only
    when a report with charts is rendered (issue 14)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import loyalist.cli, loyalist.jobs.score\n"
        "from loyalist.report.drift import render_drift_html, summarize_drift\n"
        "from loyalist.report.render import render_html\n"
        "assert 'matplotlib' not in sys.modules, 'imported with the scoring job'\n"
        "from loyalist.report.charts import render_charts\n"
        "assert 'matplotlib' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
