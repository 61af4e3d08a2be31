"""Charts of the report, drawn with matplotlib from the summary's plain data and returned as inline SVG text.

Chinese labels need a CJK font: :func:`find_cjk_font` looks for one with matplotlib's font manager (Noto Sans
CJK, Source Han Sans, WenQuanYi, Droid Sans Fallback, ...; Debian package ``fonts-noto-cjk``). Without one,
Chinese charts fall back to English labels and :func:`render_charts` says so. Text is drawn as paths
(``svg.fonttype = 'path'``), so the SVG shows the same glyphs in any browser and in the PDF without fonts; text
comments are removed and element ids are prefixed per chart, so several SVGs live in one HTML page safely.
Only ``matplotlib.figure.Figure`` is used (no pyplot, no global figure state); rc settings apply inside
``matplotlib.rc_context`` only.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib
from matplotlib import font_manager
from matplotlib.figure import Figure

from loyalist.config.models import TIERS
from loyalist.report.text import Lang, code_label

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

__all__ = ["CJK_FONT_NAMES", "find_cjk_font", "render_charts", "figure_svg", "CHART_NAMES", "qini_figure"]

#: Font families tried for Chinese labels, in order.
CJK_FONT_NAMES: tuple[str, ...] = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei", "Droid Sans Fallback", "Noto Sans CJK JP", "Noto Sans CJK TC", "Noto Serif CJK SC",
    "SimHei", "Microsoft YaHei", "PingFang SC", "Heiti SC", "Arial Unicode MS",
)
_CJK_FILE_HINTS = ("notosanscjk", "notoserifcjk", "sourcehansans", "wqy", "droidsansfallback", "simhei", "msyh")

#: Chart key -> (zh title, en title).
CHART_NAMES: dict[str, tuple[str, str]] = {
    "score_hist": ("忠诚度得分分布", "Loyalty score distribution"),
    "trend": ("平均得分趋势", "Mean score trend"),
    "industry_means": ("各行业平均得分", "Mean score by industry"),
    "tier_shares": ("各等级客户占比", "Share of customers per tier"),
    "deciles": ("预期价值十分位", "Expected value by decile"),
    "drivers": ("流失驱动因素（平均|SHAP|）", "Churn drivers (mean |SHAP|)"),
    "migration": ("等级迁移矩阵", "Tier migration"),
    "effect": ("各措施流失率：处理组与对照组（95%置信区间）", "Churn by action: treated vs control (95% CI)"),
    "survival": ("各等级预计仍活跃客户占比（BG/NBD）", "Expected share still active per tier (BG/NBD)"),
    "survival_calibration": ("仍在购买客户占比：预测与实际（训练验证期）",
                             "Share still buying: predicted vs observed (training validation window)"),
    "qini": ("Qini 曲线（留出客户）", "Qini curve (held-out customers)"),
}
_COLORS = {"devoted": "#1b7837", "stable": "#7fbf7b", "at_risk": "#f1a340", "high_risk": "#d73027"}
_ACCENT, _GREY = "#2c5d8f", "#9aa5b1"


def _has_regular(name: str) -> bool:
    """Whether matplotlib knows a regular-weight (< 600) face of the family ``name``."""
    for f in font_manager.fontManager.ttflist:
        if f.name == name:
            w = f.weight if isinstance(f.weight, int) else font_manager.weight_dict.get(str(f.weight), 400)
            if w < 600:
                return True
    return False


def find_cjk_font() -> str | None:
    """The family name of an installed CJK-capable font with a regular weight (else a bold-only one), or None.

    Looks in matplotlib's font list first. When no known family has a regular face (fonts installed after
    matplotlib's cache was built, where the cache may hold only the bold file, which draws every label bold),
    every CJK font file on the system is added to the font manager, regular files first, and the list is read
    again.
    """
    known = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONT_NAMES:
        if name in known and _has_regular(name):
            return name
    files = []
    for path in font_manager.findSystemFonts():
        flat = re.sub(r"[^a-z]", "", path.lower().rsplit("/", 1)[-1])
        if any(h in flat for h in _CJK_FILE_HINTS):
            files.append(path)
    loaded = {f.fname for f in font_manager.fontManager.ttflist if f.name in CJK_FONT_NAMES}
    for path in sorted(files, key=lambda p: ("bold" in p.lower() or "black" in p.lower(), p)):
        if path in loaded:
            continue
        try:
            font_manager.fontManager.addfont(path)
        except (OSError, RuntimeError, ValueError):
            continue
    known = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONT_NAMES:
        if name in known and _has_regular(name):
            return name
    return next((name for name in CJK_FONT_NAMES if name in known), None)


def _rc(font: str | None) -> dict[RcKeyType, Any]:
    families = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    return {
        "font.family": "sans-serif", "font.sans-serif": families, "svg.fonttype": "path",
        "svg.hashsalt": "loyalist-report", "axes.unicode_minus": False, "font.size": 9,
        "axes.spines.top": False, "axes.spines.right": False, "font.weight": "normal",
    }


_ID = re.compile(r'\bid="([^"]+)"')


def figure_svg(fig: Figure, prefix: str) -> str:
    """The figure as an ``<svg>`` element for inline HTML: no XML prologue or comments, ids prefixed with
    ``prefix`` (and every reference to them), sized by CSS through its viewBox."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    ids = set(_ID.findall(svg))
    svg = _ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}-{m.group(1)})" if m.group(1) in ids else m.group(0), svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}-{m.group(1)}"' if m.group(1) in ids else m.group(0),
                 svg)
    svg = re.sub(r'<svg ([^>]*?)width="[^"]*" height="[^"]*"', r'<svg \1', svg, count=1)
    return svg.replace("<svg ", f'<svg class="chart-svg" role="img" data-chart="{prefix}" ', 1).strip()


def _title(key: str, lang: Lang) -> str:
    zh, en = CHART_NAMES[key]
    return zh if lang == "zh" else en


def _hist(ax, dist: Mapping[str, Any], lang: Lang) -> None:
    bins = dist["bins"]
    x = [b["from"] + 5 for b in bins]
    ax.bar(x, [b["customers"] for b in bins], width=9, color=_ACCENT)
    ax.set_xlim(0, 100)
    ax.set_xlabel("忠诚度得分" if lang == "zh" else "loyalty score")
    ax.set_ylabel("客户数" if lang == "zh" else "customers")
    bounds = dist.get("tier_bounds") or {"at_risk": 60, "stable": 75, "devoted": 90}  # the list's tiers (wholesale 40/60/80)
    for tier in ("at_risk", "stable", "devoted"):
        if tier in bounds:
            ax.axvline(float(bounds[tier]), color=_COLORS[tier], linestyle="--", linewidth=1)


def _tiers(ax, rows: Sequence[Mapping[str, Any]], lang: Lang) -> None:
    labels = [code_label("tier", r["tier"], lang) for r in rows]
    y = list(range(len(rows)))[::-1]
    ax.barh(y, [100 * r["share"] for r in rows], color=[_COLORS.get(r["tier"], _GREY) for r in rows], height=0.6,
            label="本期" if lang == "zh" else "current")
    if any(r.get("previous_share") is not None for r in rows):
        ax.scatter([100 * (r.get("previous_share") or 0) for r in rows], y, marker="|", s=300, color="black",
                   label="上期" if lang == "zh" else "previous", zorder=3)
        ax.legend(loc="lower right", frameon=False)
    ax.set_yticks(y, labels)
    ax.set_xlabel("占比 (%)" if lang == "zh" else "share (%)")


def _trend(ax, rows: Sequence[Mapping[str, Any]], lang: Lang) -> None:
    ax.plot([r["as_of"] for r in rows], [r["mean_score"] for r in rows], marker="o", color=_ACCENT)
    ax.set_ylabel("平均得分" if lang == "zh" else "mean score")
    ax.set_ylim(0, 100)


def _industry(ax, rows: Sequence[Mapping[str, Any]], lang: Lang) -> None:
    rows = [r for r in rows if r.get("mean_score") is not None][:12]
    y = list(range(len(rows)))[::-1]
    ax.barh(y, [r["mean_score"] for r in rows], color=_ACCENT, height=0.6)
    ax.set_yticks(y, [code_label("industry", r["industry"], lang) for r in rows])
    ax.set_xlim(0, 100)
    ax.set_xlabel("平均得分" if lang == "zh" else "mean score")


def _deciles(ax, rows: Sequence[Mapping[str, Any]], lang: Lang) -> None:
    x = [r["decile"] for r in rows]
    ax.bar(x, [100 * (r["share"] or 0) for r in rows], color=_ACCENT, label="占比" if lang == "zh" else "share")
    ax.plot(x, [100 * (r["cumulative_share"] or 0) for r in rows], marker="o", color=_COLORS["at_risk"],
            label="累计占比" if lang == "zh" else "cumulative")
    ax.set_xticks(x)
    ax.set_xlabel("价值十分位（1 = 最高）" if lang == "zh" else "decile (1 = most valuable)")
    ax.set_ylabel("预期价值占比 (%)" if lang == "zh" else "share of expected value (%)")
    ax.legend(frameon=False)


def _drivers(ax, rows: Sequence[Mapping[str, Any]], lang: Lang) -> None:
    rows = list(rows)[:10]
    y = list(range(len(rows)))[::-1]
    ax.barh(y, [r["mean_abs_shap"] or 0 for r in rows], color=_COLORS["high_risk"], height=0.6)
    ax.set_yticks(y, [r["label"][lang] for r in rows])
    ax.set_xlabel("平均|SHAP|" if lang == "zh" else "mean |SHAP|")


def _migration(ax, migration: Mapping[str, Mapping[str, int]], lang: Lang) -> None:
    rows = [t for t in TIERS if t in migration]
    cols = [t for t in TIERS if t in migration.get(rows[0], {})] if rows else []
    values = [[migration[r].get(c, 0) for c in cols] for r in rows]
    ax.imshow(values, cmap="Blues", aspect="auto")
    for i, row in enumerate(values):
        top = max(max(row), 1)
        for j, v in enumerate(row):
            ax.text(j, i, str(v), ha="center", va="center", color="white" if v > 0.6 * top else "black")
    ax.set_xticks(range(len(cols)), [code_label("tier", c, lang) for c in cols])
    ax.set_yticks(range(len(rows)), [code_label("tier", r, lang) for r in rows])
    ax.set_xlabel("本期等级" if lang == "zh" else "current tier")
    ax.set_ylabel("上期等级" if lang == "zh" else "previous tier")
    ax.spines[:].set_visible(False)


def _effect(ax, actions: Sequence[Mapping[str, Any]], lang: Lang) -> None:
    """Churn rate of the treated and the control customers per action, each with its interval; an action whose
    effect is negative is drawn red and one that is inconclusive grey, both marked (!) in the label."""
    rows = [a for a in actions if a.get("churn_treatment") is not None and a.get("churn_control") is not None][:12]
    y = list(range(len(rows)))[::-1]
    for yi, a in zip(y, rows, strict=True):
        colour = (_COLORS["high_risk"] if a.get("verdict") == "negative" else _GREY if a.get("verdict") != "works"
                  else _ACCENT)
        for rate, low, high, dy, c, marker in (
                (a["churn_control"], a.get("control_low"), a.get("control_high"), 0.15, "black", "s"),
                (a["churn_treatment"], a.get("treatment_low"), a.get("treatment_high"), -0.15, colour, "o")):
            err = [[100 * (rate - (low if low is not None else rate))], [100 * ((high if high is not None else rate) - rate)]]
            ax.errorbar([100 * rate], [yi + dy], xerr=err, fmt=marker, color=c, capsize=3, markersize=5)
    names = [("(!) " if a.get("flagged") else "") + _short(str(a["label"][lang]), 34) for a in rows]
    ax.set_yticks(y, names)
    ax.set_xlabel("流失率 (%)：■ 对照组  ● 处理组" if lang == "zh" else "churn rate (%): ■ control  ● treated")
    ax.set_ylim(-0.6, len(rows) - 0.4)


#: Qini curve names of ``uplift.json`` -> (zh, en) legend labels.
_QINI_LABELS = {"uplift model": ("提升模型", "uplift model"), "churn risk": ("按流失风险排序", "ranking by churn risk"),
                "random": ("随机", "random")}


def _qini(ax, uplift: Mapping[str, Any], lang: Lang) -> None:
    """The held-out Qini curves of the uplift model, of ranking by churn risk and of random contact."""
    colors = {"uplift model": _ACCENT, "churn risk": _COLORS["at_risk"], "random": _GREY}
    qini = {"uplift model": uplift.get("qini"), "churn risk": uplift.get("qini_churn_risk")}
    for name, curve in uplift["curves"].items():
        zh, en = _QINI_LABELS.get(name, (name, name))
        text = zh if lang == "zh" else en
        if qini.get(name) is not None:
            text += f" (Qini {qini[name]:.3f})"
        ax.plot(curve["x"], curve["y"], color=colors.get(name, "#1b7837"), lw=1.6,
                ls="--" if name == "random" else "-", label=text)
    ax.axhline(0, color="#cccccc", lw=0.8)
    ax.set_xlabel("联系的客户数（按得分从高到低）" if lang == "zh" else "customers contacted (highest score first)")
    ax.set_ylabel("多挽留的客户数" if lang == "zh" else "extra customers kept")
    ax.legend(frameon=False, loc="best")


def _png(path: Any) -> str | None:
    """A PNG file as an inline ``<img>`` (the qini.png of an uplift result written without its curves)."""
    import base64
    from pathlib import Path

    p = Path(str(path)) if path else None
    if p is None or not p.is_file():
        return None
    data = base64.b64encode(p.read_bytes()).decode("ascii")
    return f'<img class="chart-png" alt="Qini" src="data:image/png;base64,{data}">'


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _survival(ax, rows: Sequence[Mapping[str, Any]], lang: Lang) -> None:
    """Mean P(still active) per tier at 30/90/180 days after the as-of date (issue 15 §2), median time to churn in
    the legend."""
    for r in rows:
        pts = [p for p in r["points"] if p["share"] is not None]
        median = r.get("median_days_to_churn")
        extra = "" if median is None else (f"（中位流失 {median:.0f} 天）" if lang == "zh" else f" (median {median:.0f} d)")
        ax.plot([p["days"] for p in pts], [100 * p["share"] for p in pts], marker="o",
                color=_COLORS.get(r["tier"], _GREY), label=code_label("tier", r["tier"], lang) + extra)
    ax.set_xticks([30, 90, 180])
    ax.set_xlim(0, 190)
    ax.set_ylim(0, 100)
    ax.set_xlabel("截止日期后天数" if lang == "zh" else "days after the as-of date")
    ax.set_ylabel("仍活跃 (%)" if lang == "zh" else "still active (%)")
    ax.legend(frameon=False, fontsize=8)


def _share_calibration(ax, rows: Sequence[Mapping[str, Any]], lang: Lang) -> None:
    """Predicted vs observed share of customers still buying per month of the window after the cut-off."""
    x = [r["period"] for r in rows]
    ax.plot(x, [100 * r["observed_share"] for r in rows], marker="o", color=_ACCENT,
            label="实际" if lang == "zh" else "observed")
    ax.plot(x, [100 * r["predicted_share"] for r in rows], marker="x", linestyle="--", color=_COLORS["at_risk"],
            label="BG/NBD 预测" if lang == "zh" else "BG/NBD predicted")
    if all(r.get("predicted_anchored_share") is not None for r in rows):
        ax.plot(x, [100 * r["predicted_anchored_share"] for r in rows], marker="+", linestyle=":",
                color=_COLORS["high_risk"], label="按流失模型校准（名单采用）" if lang == "zh"
                else "anchored to the churn model (the list's)")
    ax.set_xticks(x)
    ax.set_ylim(0, None)
    ax.set_xlabel("月份 m（第 30·m 天之后仍有购买）" if lang == "zh" else "month m (a purchase after day 30 m)")
    ax.set_ylabel("仍在购买 (%)" if lang == "zh" else "still buying (%)")
    ax.legend(frameon=False)


def _draw(key: str, drawer, data, lang: Lang, font: str | None, size=(10.0, 3.4)) -> str:
    with matplotlib.rc_context(_rc(font)):
        fig = Figure(figsize=size)
        ax = fig.add_subplot()
        drawer(ax, data, lang)
        ax.set_title(_title(key, lang), loc="left", fontsize=10)
        return figure_svg(fig, f"chart-{key}")


def render_charts(summary: Mapping[str, Any], lang: Lang) -> tuple[dict[str, str], bool]:
    """SVG text per chart key of :data:`CHART_NAMES` that has data, and whether the labels had to fall back to
    English (``lang == 'zh'`` without a CJK font)."""
    font = find_cjk_font()
    fallback = lang == "zh" and font is None
    label_lang: Lang = "en" if fallback else lang
    status, segments = summary["status"], summary["segments"]
    charts: dict[str, str] = {}
    if any(b["customers"] for b in status["distribution"]["bins"]):
        charts["score_hist"] = _draw("score_hist", _hist, status["distribution"], label_lang, font, (10.0, 2.6))
    if len(status["trend"]) >= 2:
        charts["trend"] = _draw("trend", _trend, status["trend"], label_lang, font, (10.0, 2.4))
    if status["industry_means"]:
        charts["industry_means"] = _draw("industry_means", _industry, status["industry_means"], label_lang, font,
                                         (10.0, 2.4))
    charts["tier_shares"] = _draw("tier_shares", _tiers, status["tiers"], label_lang, font, (10.0, 2.2))
    if segments["deciles"]:
        charts["deciles"] = _draw("deciles", _deciles, segments["deciles"], label_lang, font, (10.0, 2.8))
    if summary["diagnosis"]["global_drivers"]:
        charts["drivers"] = _draw("drivers", _drivers, summary["diagnosis"]["global_drivers"], label_lang, font)
    survival = summary["recommendations"].get("survival")
    if survival:
        charts["survival"] = _draw("survival", _survival, survival, label_lang, font, (10.0, 3.0))
    share = summary["recommendations"].get("survival_calibration")
    if share:
        charts["survival_calibration"] = _draw("survival_calibration", _share_calibration, share["rows"],
                                               label_lang, font, (10.0, 2.8))
    tracking = summary.get("tracking")
    if tracking:
        charts["migration"] = _draw("migration", _migration, tracking["migration"], label_lang, font, (10.0, 3.0))
    effect = summary.get("effect") or {}
    if any(a.get("churn_treatment") is not None for a in effect.get("actions", [])):
        n = sum(a.get("churn_treatment") is not None for a in effect["actions"][:12])
        charts["effect"] = _draw("effect", _effect, effect["actions"], label_lang, font, (10.0, 1.0 + 0.55 * n))
    uplift = summary.get("uplift") or {}
    if uplift.get("trained") and uplift.get("curves"):
        charts["qini"] = _draw("qini", _qini, uplift, label_lang, font, (7.0, 3.6))
    elif uplift.get("trained") and (png := _png(uplift.get("qini_png"))) is not None:
        charts["qini"] = png
    return charts, fallback


def qini_figure(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]], *, qini: Mapping[str, float] | None = None,
                title: str = "Qini curve (held-out customers)") -> Figure:
    """The Qini curves of an uplift evaluation (issue 16 §3) as a matplotlib Figure (for MLflow ``log_figure`` or
    :func:`figure_svg`): x = customers contacted in score order, y = extra customers kept (treated outcomes minus
    control outcomes scaled to the treated count). ``curves``: name -> (x, y) from
    :func:`loyalist.uplift.qini_curve`; ``qini``: name -> normalised Qini shown in the legend."""
    colors = [_ACCENT, "#f1a340", _GREY, "#1b7837", "#d73027"]
    with matplotlib.rc_context(_rc(None)):
        fig = Figure(figsize=(6.0, 4.0))
        ax = fig.add_subplot(1, 1, 1)
        for i, (name, (x, y)) in enumerate(curves.items()):
            label = f"{name} (Qini {qini[name]:.3f})" if qini and name in qini else name
            ax.plot(list(x), list(y), color=colors[i % len(colors)], lw=1.6,
                    ls="--" if name == "random" else "-", label=label)
        ax.axhline(0, color="#cccccc", lw=0.8)
        ax.set_xlabel("customers contacted (ranked by score)")
        ax.set_ylabel("extra customers kept")
        ax.set_title(title)
        ax.legend(frameon=False, loc="best")
        fig.tight_layout()
    return fig
