"""Helpers for the report's Chinese and English text: number formats and filling the sentence templates.

The words themselves (section titles, labels of codes, headers, sentence templates) live in the one catalogue,
:mod:`loyalist.catalogue`, and are re-exported here. A *bilingual text* is a dict ``{"zh": str, "en": str}``; the summary carries
every generated sentence in that form (see :func:`sentence`) so the rendered report and other tools read the same
words. Codes without a label (a user's own industry, stage, ...) are shown as they are.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from loyalist.catalogue import HEADERS, LABELS, LANGS, SECTION_TITLES, SENTENCES, Lang
from loyalist.catalogue import both as both
from loyalist.catalogue import label as _label

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

#: kind -> code -> {"zh", "en"}: the catalogue's labels (:data:`loyalist.catalogue.LABELS`).
CODE_LABELS = LABELS


def code_label(kind: str, code: Any, lang: Lang = "zh") -> str:
    """Label of ``code`` in ``CODE_LABELS[kind]`` for ``lang``; the code itself (as text) when unknown."""
    return _label(kind, code, lang)


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
    text = f"{100 * float(x):+.{digits}f}"
    if float(text) == 0:  # -0.0004 rounds to "-0.0": no sign on a change that rounds to nothing
        text = text[1:]
    return f"{text} {unit}"


def fmt_num(x: Any, digits: int = 1) -> str:
    """A plain number with thousands separators: ``1234.56 -> '1,234.6'``."""
    return "—" if _bad(x) else f"{float(x):,.{digits}f}"


def fmt_int(x: Any) -> str:
    """An integer count with thousands separators."""
    return "—" if _bad(x) else f"{int(round(float(x))):,}"


def fmt_money(x: Any) -> str:
    """An amount rounded to whole units with thousands separators."""
    return "—" if _bad(x) else f"{float(x):,.0f}"
