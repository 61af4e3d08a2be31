"""The loyalty and value report: summarise a scored list into plain data, then render it (HTML, PDF; zh / en),
and compare two periods (tracking).

``summarize(...) -> dict`` (JSON-able, written as ``report_summary.json``) -> ``render_html(summary, lang)`` ->
``render_pdf(html, path)``; ``compare_periods(previous, current) -> dict`` for section 6 and ``loyalist track``.
"""

from loyalist.report.inputs import (
    CleanInputs,
    prepare_list,
    read_clean_inputs,
    read_list_summary,
    read_scored_list,
    summary_path,
)
from loyalist.report.render import find_browser, render_html, render_pdf
from loyalist.report.summarize import ReportOptions, summarize
from loyalist.report.tracking import TRACKING_KEYS, compare_periods, score_trend

__all__ = [
    "CleanInputs",
    "ReportOptions",
    "TRACKING_KEYS",
    "compare_periods",
    "find_browser",
    "prepare_list",
    "read_clean_inputs",
    "read_list_summary",
    "read_scored_list",
    "render_html",
    "render_pdf",
    "score_trend",
    "summarize",
    "summary_path",
]
