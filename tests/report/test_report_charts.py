"""Charts: inline SVG that is safe to embed several times, CJK font found, English fallback without one."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from matplotlib.figure import Figure

from loyalist.report import charts
from loyalist.report.charts import CHART_NAMES, figure_svg, find_cjk_font, render_charts
from loyalist.report.summarize import summarize


@pytest.fixture(scope="module")
def summary(scored, list_summary, previous) -> dict:
    return summarize(scored, list_summary, previous=[previous])


def test_figure_svg_is_inline_ready():
    fig = Figure(figsize=(2, 1))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1])
    ax.set_title("--> <b>not markup</b>")
    svg = figure_svg(fig, "chart-x")
    assert svg.startswith("<svg ") and svg.endswith("</svg>")
    assert "<!--" not in svg and "<?xml" not in svg and "<b>" not in svg
    root = ET.fromstring(svg)  # well-formed XML
    ids = [el.get("id") for el in root.iter() if el.get("id")]
    assert ids and all(i.startswith("chart-x-") for i in ids)
    for ref in re.findall(r'(?:href="#|url\(#)([^")]+)', svg):
        assert ref in ids  # every reference points to a renamed id


def test_charts_of_a_full_summary(summary):
    svgs, fallback = render_charts(summary, "en")
    assert not fallback
    # all have data here but the campaign effect (none measured) and the Qini curve (no uplift model)
    assert set(svgs) == set(CHART_NAMES) - {"effect", "qini"}
    for key, svg in svgs.items():
        assert f'data-chart="chart-{key}"' in svg
    all_ids = [i for svg in svgs.values() for i in re.findall(r'\bid="([^"]+)"', svg)]
    assert len(all_ids) == len(set(all_ids))  # no clash between charts in one page


def test_without_earlier_lists_there_is_no_trend_or_migration(scored):
    svgs, _ = render_charts(summarize(scored), "en")
    assert "trend" not in svgs and "migration" not in svgs and "drivers" not in svgs
    assert {"score_hist", "tier_shares", "industry_means", "deciles"} <= set(svgs)


@pytest.mark.skipif(find_cjk_font() is None, reason="no CJK font installed (Debian: apt-get install fonts-noto-cjk)")
def test_chinese_labels_use_a_cjk_font(summary):
    assert find_cjk_font() in charts.CJK_FONT_NAMES
    zh, fallback = render_charts(summary, "zh")
    en, _ = render_charts(summary, "en")
    assert not fallback
    assert zh["tier_shares"] != en["tier_shares"]  # different (Chinese) glyphs were drawn


def test_fallback_to_english_without_cjk_font(summary, monkeypatch):
    monkeypatch.setattr(charts, "find_cjk_font", lambda: None)
    zh, fallback = render_charts(summary, "zh")
    en, _ = render_charts(summary, "en")
    assert fallback
    assert zh["tier_shares"] == en["tier_shares"]  # same English labels


def test_cjk_font_found_when_matplotlib_cache_predates_it(monkeypatch):
    from matplotlib import font_manager

    if not any("cjk" in p.lower() or "wqy" in p.lower() for p in font_manager.findSystemFonts()):
        pytest.skip("no CJK font file installed (Debian: apt-get install fonts-noto-cjk)")
    stale = [f for f in font_manager.fontManager.ttflist if f.name not in charts.CJK_FONT_NAMES]
    monkeypatch.setattr(font_manager.fontManager, "ttflist", stale)
    assert find_cjk_font() in charts.CJK_FONT_NAMES  # found on disk and added to the font manager


def test_the_histogram_marks_the_lists_tier_bounds():
    """The score histogram drew its tier lines at 60/75/90 whatever the config; the wholesale preset cuts at
    40/60/80."""
    dist = {"bins": [{"from": b, "customers": 1} for b in range(0, 100, 10)]}
    for bounds, expected in (({"devoted": 80.0, "stable": 60.0, "at_risk": 40.0}, [40.0, 60.0, 80.0]),
                             (None, [60.0, 75.0, 90.0])):
        ax = Figure().subplots()
        charts._hist(ax, {**dist, **({"tier_bounds": bounds} if bounds else {})}, "en")
        assert sorted(line.get_xdata()[0] for line in ax.get_lines()) == expected
