"""Render the report summary: HTML with Jinja2 (autoescape on), PDF with headless Chromium.

The HTML is one self-contained file: CSS inline, charts inline as SVG (text drawn as paths), no script, no
external reference, so it opens offline and prints identically. ``lang`` is ``'zh'`` or ``'en'``; a bilingual
report is two files (see :mod:`loyalist.jobs.report`).

The PDF is printed by a headless Chromium (Debian package ``chromium``; ``chromium-browser``, ``google-chrome``
are found too) from the same HTML, started offline with a fresh profile: ``--headless --no-sandbox
--disable-gpu --no-first-run --disable-background-networking --disable-component-update --disable-sync
--user-data-dir=<temporary> --no-pdf-header-footer --print-to-pdf=<file>``. Chinese text needs a CJK font on
the system (Debian ``fonts-noto-cjk``).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from loyalist.errors import LoyalistError
from loyalist.io import atomic_path
from loyalist.report.text import (
    SECTION_TITLES,
    SENTENCES,
    Lang,
    code_label,
    fmt_int,
    fmt_money,
    fmt_num,
    fmt_pct,
    fmt_pp,
    header,
    pick,
)

__all__ = ["BROWSER_NAMES", "REPORT_TITLE", "render_html", "render_pdf", "find_browser", "format_metric", "format_setting"]

#: Executables tried, in order, to print the PDF.
BROWSER_NAMES: tuple[str, ...] = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
REPORT_TITLE: dict[str, str] = {"zh": "客户忠诚度与价值分析报告", "en": "Customer loyalty and value report"}
_TEMPLATES = Path(__file__).resolve().parent / "templates"
_LANGS = ("zh", "en")


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(_TEMPLATES)), autoescape=True, undefined=StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )
    env.filters.update(pct=fmt_pct, num=fmt_num, int=fmt_int, money=fmt_money)
    return env


#: Model-quality columns that are counts or shares (the rest print with three decimals).
_COUNT_METRICS = frozenset({"n", "n_customers", "customers", "positives"})
_SHARE_METRICS = frozenset({"base_rate"})
_MONEY_METRICS = frozenset({"mae", "rmse"})
#: Config settings whose value is a mapping of catalogue codes: setting -> (label kind, comparison).
_CODE_MAPPINGS = {"scoring.tiers": ("tier", "≥"), "scoring_job.risk_band_cuts": ("band", "≥")}


def format_metric(name: str, value: Any) -> str:
    """A model-quality value: counts as integers (``2,223``), shares as percentages, the rest with 3 decimals."""
    if name in _COUNT_METRICS:
        return fmt_int(value)
    if name in _MONEY_METRICS:
        return fmt_money(value)
    if name in _SHARE_METRICS:
        return fmt_pct(value)
    return fmt_num(value, 3)


def format_setting(key: str, value: Any, lang: Lang) -> str:
    """A config value for the appendix, its codes in ``lang``: ``{"devoted": 90.0, ...}`` -> ``铁杆忠诚 ≥ 90；...``."""
    if isinstance(value, Mapping):
        kind, op = _CODE_MAPPINGS.get(key, ("", "="))
        sep = "；" if lang == "zh" else "; "
        return sep.join(f"{code_label(kind, k, lang) if kind else k} {op} {_plain(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ("、" if lang == "zh" else ", ").join(_plain(v) for v in value)
    return _plain(value)


def _plain(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def render_html(summary: Mapping[str, Any], lang: Lang = "zh") -> str:
    """The report as one self-contained HTML page in ``lang``.

    Parameters
    ----------
    summary : mapping
        The output of :func:`loyalist.report.summarize.summarize` (or the same read back from
        ``report_summary.json``).
    lang : {'zh', 'en'}

    Returns
    -------
    str
        HTML5 text; every value from the data is escaped (Jinja2 autoescape), charts are inline SVG.
    """
    if lang not in _LANGS:
        raise LoyalistError(f"The 'lang' parameter of render_html must be 'zh' or 'en'; got {lang!r}.")
    # matplotlib is imported when a report is drawn: `loyalist score` imports this module for its drift page only
    # (~0.4 CPU s of its start-up, issue 14)
    from loyalist.report.charts import render_charts

    charts, fallback = render_charts(summary, lang)
    env = _environment()

    def label(code: Any, kind: str) -> str:
        return code_label(kind, code, lang)

    def tr(value: Any) -> Any:
        return pick(value, lang)

    template = env.get_template("report.html.j2")
    return template.render(
        s=summary, lang=lang, title=REPORT_TITLE[lang], sections={k: v[lang] for k, v in SECTION_TITLES.items()},
        charts={k: Markup(v) for k, v in charts.items()},
        chart_note=SENTENCES["chart_font_missing"][lang] if fallback else None,
        label=label, tr=tr, h=lambda key: header(key, lang), pp=lambda x: fmt_pp(x, lang), metric=format_metric,
        setting_value=lambda key, value: format_setting(key, value, lang),
    )


def find_browser(candidates: Sequence[str] | None = None) -> str | None:
    """Path of the first headless-capable browser found on PATH (or of a given executable path)."""
    for name in candidates or BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def render_pdf(html: str, path: Path | str, *, browser: str | None = None, timeout: float = 180.0) -> Path:
    """Print ``html`` to a PDF at ``path`` (written atomically) with headless Chromium.

    Parameters
    ----------
    html : str
        A self-contained page (from :func:`render_html`).
    path : Path
        The PDF to write; its folder is created.
    browser : str, optional
        Executable name or path; default: the first of :data:`BROWSER_NAMES` on PATH.
    timeout : float
        Seconds before the browser is stopped.

    Raises
    ------
    LoyalistError
        No browser is installed, or it fails or times out.
    """
    exe = find_browser([browser] if browser else None)
    if exe is None:
        wanted = browser or " / ".join(BROWSER_NAMES[:3])
        raise LoyalistError(
            f"PDF output needs a headless Chromium ('{wanted}' was not found on PATH); install it with "
            "'apt-get install chromium fonts-noto-cjk' (Debian/Ubuntu) or ask for --format html only."
        )
    target = Path(path)
    with tempfile.TemporaryDirectory(prefix="loyalist-pdf-") as tmp, atomic_path(target) as out:
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        cmd = [
            exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-extensions", "--mute-audio",
            f"--user-data-dir={Path(tmp) / 'profile'}", "--no-pdf-header-footer", f"--print-to-pdf={out}",
            page.as_uri(),
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise LoyalistError(f"The browser '{exe}' did not print '{target}' within {timeout:.0f} s; retry, or "
                                "raise the timeout.") from exc
        if proc.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
            tail = " ".join((proc.stderr or "").strip().splitlines()[-2:])[:300]
            raise LoyalistError(f"The browser '{exe}' failed to print '{target}' (exit code {proc.returncode}: "
                                f"{tail or 'no message'}); check that it starts headless on this machine.")
    return target
