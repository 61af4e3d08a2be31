"""Job: scored list (+ earlier lists, + clean data) -> report_summary.json -> report_<lang>.html / .pdf.

``lang='both'`` writes two reports, ``report_zh.*`` and ``report_en.*`` (one language per file keeps each
readable and printable on its own); ``report_summary.json`` holds every sentence in both languages.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from rich.markup import escape

from loyalist.config.models import LoyalistConfig
from loyalist.errors import ConfigError, LoyalistError
from loyalist.io import output_set, write_json, write_text
from loyalist.jobs._ui import Reporter
from loyalist.report.inputs import (
    find_effect,
    find_uplift,
    read_clean_inputs,
    read_effect,
    read_list_summary,
    read_scored_list,
    read_uplift,
)
from loyalist.report.render import BROWSER_NAMES, find_browser, render_html, render_pdf
from loyalist.report.summarize import ReportOptions, summarize

__all__ = ["LANGS", "FORMATS", "run", "parse_langs", "parse_formats", "drift_links"]

LANGS = ("zh", "en")
FORMATS = ("html", "pdf")


def parse_langs(lang: str) -> list[str]:
    """``'zh' | 'en' | 'both'`` -> the languages to write."""
    if lang == "both":
        return list(LANGS)
    if lang not in LANGS:
        raise ConfigError(f"The '--lang' option must be 'zh', 'en' or 'both'; got {lang!r}.")
    return [lang]


def parse_formats(formats: Sequence[str] | str) -> list[str]:
    """``'html,pdf'`` or ``['html', 'pdf']`` -> the formats to write (at least one of html, pdf)."""
    items = [f.strip().lower() for f in (formats.split(",") if isinstance(formats, str) else formats) if f.strip()]
    bad = [f for f in items if f not in FORMATS]
    if bad or not items:
        raise ConfigError(f"The '--format' option takes html and/or pdf separated by commas; got {bad or items!r}.")
    return list(dict.fromkeys(items))


def drift_links(scores: Path, out_dir: Path) -> dict[str, str]:
    """The drift pages the scoring job wrote beside the list (``<stem>_drift_<lang>.html``), as links relative to
    the report's folder; a language without its page is left out."""
    links = {}
    for code in LANGS:
        page = scores.parent / f"{scores.stem}_drift_{code}.html"
        if page.is_file():
            links[code] = Path(os.path.relpath(page.resolve(), Path(out_dir).resolve())).as_posix()
    return links


def run(
    scores: Path,
    previous: Sequence[Path] = (),
    lang: str = "both",
    formats: Sequence[str] | str = ("html",),
    out_dir: Path = Path("outputs/report"),
    clean_dir: Path | None = None,
    reporter: Reporter | None = None,
    *,
    config: LoyalistConfig | None = None,
    top_n: int = 10,
    browser: str | None = None,
    effect: Path | None = None,
    uplift: Path | None = None,
) -> dict[str, Path]:
    """Write the report; returns ``{"summary": path, "html_<lang>": path, "pdf_<lang>": path, ...}``.

    ``config`` (optional) gives the action table, the look-back window and the complaint kinds; without it they
    come from the list summary's config, else the defaults. ``effect``: a campaign's ``effect.json`` (or its
    folder) for the measured-effect block; default: the latest one found beside the list
    (:func:`~loyalist.report.inputs.find_effect`), else the report says no campaign has been measured yet.
    ``uplift``: an uplift model's ``uplift.json`` (or its folder) for the Qini block; default: the one found beside
    the list (:func:`~loyalist.report.inputs.find_uplift`), else the report says no uplift model has been trained.
    """
    reporter = reporter or Reporter(quiet=True)
    if isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1:
        raise ConfigError(f"The '--top' option must be a whole number of customers >= 1; got {top_n!r}.")
    langs, kinds = parse_langs(lang), parse_formats(formats)
    if "pdf" in kinds and find_browser([browser] if browser else None) is None:
        raise LoyalistError(
            f"PDF output needs a headless Chromium ('{browser or BROWSER_NAMES[0]}' was not found on PATH); install "
            "it with 'apt-get install chromium fonts-noto-cjk' or use --format html."
        )
    out_dir = Path(out_dir)
    list_summary = read_list_summary(scores)
    if list_summary is not None and list_summary.get("mode") == "customer_table":  # issue 15: one customer table
        from loyalist.jobs import table_mode

        return table_mode.run_report(Path(scores), list_summary, lang=lang, out_dir=out_dir, top_n=max(top_n, 20),
                                     formats=kinds, browser=browser, reporter=reporter, previous=list(previous))
    with reporter.step(f"Read the scored list {scores}"):
        current = read_scored_list(scores)
        list_summary = read_list_summary(scores)
        earlier = [read_scored_list(p) for p in previous]
        clean = read_clean_inputs(clean_dir) if clean_dir is not None else None
        as_of = current["as_of"].iloc[0] if "as_of" in current.columns and len(current) else None
        effect_path = Path(effect) if effect is not None else find_effect(scores, as_of)
        measured = read_effect(effect_path) if effect_path is not None else None
        used = ((list_summary or {}).get("models") or {}).get("uplift") or {}
        uplift_path = Path(uplift) if uplift is not None else find_uplift(
            scores, as_of, used.get("version") if isinstance(used, dict) else None)
        trained = read_uplift(uplift_path) if uplift_path is not None else None
    options = ReportOptions(top_n=top_n)
    actions = None
    if config is not None:
        options = ReportOptions(top_n=top_n, lookback_days=config.features.lookback_days,
                                complaint_kinds=tuple(config.data.cleaning.complaint_kinds))
        actions = config.scoring_job.actions
    with reporter.step("Summarise the report data"):
        summary = summarize(current, list_summary, previous=earlier, clean=clean, actions=actions, options=options,
                            effect=measured, uplift=trained)
    if config is not None:
        from loyalist.config.resolved import config_hash

        summary["config_hash"] = config_hash(config)
    elif list_summary is not None and list_summary.get("config_hash"):
        summary["config_hash"] = list_summary["config_hash"]
    summary["meta"]["drift_pages"] = drift_links(Path(scores), out_dir)
    with output_set(out_dir, "report") as files:  # HTML, PDF and JSON replaced as a whole
        write_json(summary, files.path("report_summary.json"))
        paths = {"summary": files.target("report_summary.json")}
        for code in langs:
            with reporter.step(f"Render the {code} report"):
                html = render_html(summary, code)  # type: ignore[arg-type]
                if "html" in kinds:
                    write_text(html, files.path(f"report_{code}.html"))
                    paths[f"html_{code}"] = files.target(f"report_{code}.html")
            if "pdf" in kinds:
                with reporter.step(f"Print the {code} PDF"):
                    render_pdf(html, files.path(f"report_{code}.pdf"), browser=browser)
                    paths[f"pdf_{code}"] = files.target(f"report_{code}.pdf")
    if list_summary is None:
        reporter.say(f"No summary JSON beside {escape(str(scores))}: drivers, model quality and versions are not in "
                     "the report.")
    for note in summary["notes"]:
        reporter.say(f"[dim]{escape(note['en'])}[/dim]")
    reporter.table("Report files", ["output", "path"], [[k, str(v)] for k, v in paths.items()])
    return paths
