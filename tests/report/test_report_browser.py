"""The report in a real headless browser (Debian's chromium): no console errors, charts laid out, and the PDF has
the sections and readable Chinese (checked with pdftotext from poppler-utils).

Skipped with the reason when chromium or pdftotext is absent; ``.ci/run`` installs both.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from loyalist.report.render import find_browser, render_html, render_pdf
from loyalist.report.summarize import summarize
from loyalist.report.text import SECTION_TITLES, fmt_pct

pytestmark = pytest.mark.slow

BROWSER = find_browser()
needs_browser = pytest.mark.skipif(BROWSER is None, reason="no chromium on PATH (apt-get install chromium)")
needs_pdftotext = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                     reason="no pdftotext on PATH (apt-get install poppler-utils)")

# Appended to a COPY of the page: records what the browser laid out, read back from the dumped DOM.
PROBE = """<script>
(function () {
  var svgs = Array.prototype.slice.call(document.querySelectorAll('figure.chart svg.chart-svg'));
  var out = {
    charts: svgs.map(function (s) { var r = s.getBoundingClientRect();
      return {name: s.getAttribute('data-chart'), width: r.width, height: r.height,
              paths: s.querySelectorAll('path').length}; }),
    resources: performance.getEntriesByType('resource').map(function (r) { return r.name; }),
    sections: Array.prototype.map.call(document.querySelectorAll('section > h2'),
                                       function (h) { return h.textContent; }),
    sectionWidth: document.querySelector('section').getBoundingClientRect().width,
    dateLines: Array.prototype.map.call(document.querySelectorAll('td.date'), function (td) {
      var r = document.createRange(); r.selectNodeContents(td);
      var tops = {}; Array.prototype.forEach.call(r.getClientRects(), function (x) { tops[Math.round(x.top)] = 1; });
      return Object.keys(tops).length; }),
    crossRows: Array.prototype.map.call(document.querySelectorAll('table.crosssell-products tbody tr'),
                                        function (tr) { return tr.getBoundingClientRect().height; }),
    guardRows: document.querySelectorAll('table.guards tbody tr').length
  };
  var pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>"""


def _chromium(url: str, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}", *extra, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)


@pytest.fixture(scope="module")
def summary(scored, list_summary, previous, clean) -> dict:
    return summarize(scored, list_summary, previous=[previous], clean=clean)


@pytest.fixture(scope="module")
def pages(summary, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pages")
    out = {}
    for lang in ("zh", "en"):
        out[lang] = folder / f"report_{lang}.html"
        out[lang].write_text(render_html(summary, lang), encoding="utf-8")
    return out


@needs_browser
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_opens_without_console_errors(pages, tmp_path, lang):
    proc = _chromium(pages[lang].as_uri(), tmp_path / "profile", "--enable-logging=stderr", "--v=0", "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-500:]
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []
    dom = proc.stdout
    for section in ("overview", "status", "segments", "diagnosis", "recommendations", "tracking", "appendix"):
        assert f'<section id="{section}">' in dom
    assert dom.count('<svg class="chart-svg"') == 9  # the seven charts + survival per tier and its calibration


def test_console_check_can_fail(tmp_path):
    """The console check above does see errors: a page with a failing script logs one."""
    if BROWSER is None:
        pytest.skip("no chromium on PATH (apt-get install chromium)")
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><html><body><script>undefinedFunction();</script></body></html>")
    proc = _chromium(page.as_uri(), tmp_path / "profile", "--enable-logging=stderr", "--v=0", "--dump-dom")
    assert any(":CONSOLE" in line and "undefinedFunction" in line for line in proc.stderr.splitlines())


@needs_browser
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_charts_are_laid_out_and_nothing_is_fetched(pages, tmp_path, lang):
    probed = tmp_path / "probed.html"
    probed.write_text(pages[lang].read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    proc = _chromium(probed.as_uri(), tmp_path / "profile", "--dump-dom", "--window-size=1200,900")
    found = re.search(r'<pre id="probe">(.*?)</pre>', proc.stdout, re.S)
    assert found, proc.stderr[-500:]
    probe = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert probe["resources"] == []  # self-contained: the browser loaded nothing
    assert probe["sections"] == [t[lang] for t in SECTION_TITLES.values()]
    names = {c["name"] for c in probe["charts"]}
    assert names == {"chart-score_hist", "chart-trend", "chart-industry_means", "chart-tier_shares",
                     "chart-deciles", "chart-drivers", "chart-migration", "chart-survival",
                     "chart-survival_calibration"}
    for c in probe["charts"]:
        assert c["width"] > 150 and c["height"] > 80 and c["paths"] > 5, c
        assert c["width"] >= 0.95 * probe["sectionWidth"], c  # every chart spans the page's width
    assert probe["dateLines"] and set(probe["dateLines"]) == {1}  # deadlines never wrap ('2025-' / '01-14')
    assert probe["crossRows"] and max(probe["crossRows"]) < 2 * min(probe["crossRows"]) + 1  # rows not stretched
    assert probe["guardRows"] >= 1


@needs_browser
@needs_pdftotext
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_pdf_has_the_sections_and_readable_text(pages, summary, scored, factories, tmp_path, lang):
    pdf = render_pdf(pages[lang].read_text(encoding="utf-8"), tmp_path / f"report_{lang}.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    flat = re.sub(r"\s+", "", text)
    for title in SECTION_TITLES.values():
        assert re.sub(r"\s+", "", title[lang]) in flat
    devoted = fmt_pct((scored["loyalty_tier"] == "devoted").mean())
    if lang == "zh":
        assert "客户忠诚度与价值分析报告" in flat and f"铁杆忠诚客户占{devoted}" in flat
        assert "行动计划" in flat and "表1客户基础信息表" in flat
    else:
        assert "Customerloyaltyandvaluereport" in flat and f"Devotedcustomersmakeup{devoted}" in flat
    assert "139****5678" in flat  # masked contact in table 1
    assert not re.search(r"\d,\d{3}\.000", text)  # counts print as integers, never '2,223.000'
    if lang == "zh":
        _assert_chinese_throughout(text)
    for raw in (factories.RAW_PHONE, factories.RAW_EMAIL, factories.RAW_COMPANY):
        assert raw not in flat


#: Codes that must never reach the Chinese report (rule and action names, metric and scorer names, config keys).
_LATIN_CODES = ("duplicate", "normalise_id", "unknown_customer", "dropped", "changed", "argument", "roc_auc",
                "pr_auc", "lift_top_decile", "capture_top_decile", "high_risk", "at_risk", "rule_score",
                "bgnbd_no_purchase", "churn_model_version", "features.lookback_days", "scoring.tiers", "(churn)")


def _assert_chinese_throughout(text: str) -> None:
    from loyalist.data.clean import RULES

    for code in (*RULES, *_LATIN_CODES):
        assert not re.search(rf"(?<![A-Za-z_]){re.escape(code)}(?![A-Za-z_])", text), f"{code!r} in the zh PDF"
