"""The report's targeting-by-uplift block (issue 16 §3): how well the uplift model ranks, beside ranking by churn
risk and at random, with its Qini curve.

Input: the ``uplift.json`` a ``loyalist uplift`` run wrote (:func:`loyalist.report.inputs.read_uplift`): campaign,
campaign_date, method, customers, control, champion, version, ``metrics`` (qini, qini_churn_risk, qini_random_p95,
``uplift_at_<k>`` and, from runs since the report shows them, ``uplift_at_<k>_churn_risk`` / ``_random``, n_test,
qini_low / qini_high / n_test_control / n_test_control_churned),
``k`` and ``curves`` (name -> {x, y}: customers contacted, extra customers kept), and the list summary (which
uplift version scored the list and its ``rank_by``).

Output of :func:`uplift_section` (JSON-able)::

    trained      False when no uplift model has been trained (then only ``sentence`` says so)
    sentence     bilingual: the campaign it learned from and the held-out Qini / uplift@k of the three rankings;
                 with results that carry it, the Qini's 95% interval (held-out control customers, how many churned)
                 and, when the interval reaches 0, that the evidence is thin
    use          bilingual: whether the list uses it (champion or not, the version, the ranking)
    champion, version, list_version, rank_by, qini, qini_churn_risk, qini_random_p95, k,
    uplift_at_k, uplift_at_k_churn_risk, uplift_at_k_random, n_test, qini_low, qini_high, n_test_control,
    n_test_control_churned (None when absent)
    evidence_thin  True when the interval reaches 0, False when it is above 0, None when the result has none
    curves       the Qini curves for the picture (name -> {x, y}); None in results written without them
    qini_png     path of the qini.png beside uplift.json (the picture when ``curves`` is absent), or None
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loyalist.report.summarize_base import num
from loyalist.report.text import fmt_int, sentence

__all__ = ["uplift_section"]


def _qini(x: Any) -> str:
    v = num(x)
    return "—" if v is None else f"{v:.3f}"


def _points(x: Any) -> str:
    v = num(x)
    return "—" if v is None else f"{100 * v:+.1f}".replace("-", "−")


def _signed(v: float) -> str:
    return f"{v:+.3f}".replace("-", "−")


def uplift_section(uplift: Mapping[str, Any] | None, list_summary: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The report's uplift block from an ``uplift.json`` (None: no uplift model trained yet)."""
    if not uplift or not isinstance(uplift.get("metrics"), Mapping):
        return {"trained": False, "sentence": sentence("uplift_none"), "use": None, "curves": None,
                "qini_png": None}
    m = uplift["metrics"]
    k = num(uplift.get("k"))
    if k is None:  # the k of the uplift_at_<k> key
        at = next((key for key in m if key.startswith("uplift_at_") and key[10:].isdigit()), "uplift_at_30")
        k = int(at[10:]) / 100
    at = f"uplift_at_{round(k * 100)}"
    figures = {"qini": num(m.get("qini")), "qini_churn_risk": num(m.get("qini_churn_risk")),
               "qini_random_p95": num(m.get("qini_random_p95")), "uplift_at_k": num(m.get(at)),
               "uplift_at_k_churn_risk": num(m.get(f"{at}_churn_risk")),
               "uplift_at_k_random": num(m.get(f"{at}_random")), "n_test": num(m.get("n_test")), "k": k}
    text = sentence(
        "uplift_qini", method=str(uplift.get("method") or "—"), campaign=str(uplift.get("campaign") or "—"),
        campaign_date=str(uplift.get("campaign_date")), customers=fmt_int(uplift.get("customers")),
        control=fmt_int(uplift.get("control")), n_test=fmt_int(figures["n_test"]), qini=_qini(figures["qini"]),
        qini_churn_risk=_qini(figures["qini_churn_risk"]), qini_random=_qini(figures["qini_random_p95"]),
        k=f"{k:.0%}", at_k=_points(figures["uplift_at_k"]), at_k_churn_risk=_points(figures["uplift_at_k_churn_risk"]),
        at_k_random=_points(figures["uplift_at_k_random"]))
    # pooled campaigns (loyalist uplift --assignment A --assignment B): "customers" counts a customer once per
    # campaign; say which campaigns and how many distinct customers (results that carry the count)
    pooled = uplift.get("campaigns")
    if isinstance(pooled, list) and len(pooled) > 1 and uplift.get("distinct_customers") is not None:
        each = [f"{c.get('campaign')} {c.get('campaign_date')}" for c in pooled if isinstance(c, Mapping)]
        listed = {"zh": "、".join(each), "en": ", ".join(each)}
        extra = sentence("uplift_pooled", n=str(len(pooled)), campaigns=listed,
                         customers=fmt_int(uplift.get("customers")), distinct=fmt_int(uplift.get("distinct_customers")),
                         held_out=fmt_int(uplift.get("held_out_customers")))
        text = {"zh": text["zh"] + extra["zh"], "en": text["en"] + " " + extra["en"]}
    # the held-out Qini's 95% interval and the thin-evidence verdict the uplift job and the demo print (results
    # written before the interval existed have no qini_low/qini_high: then neither is said)
    low, high = num(m.get("qini_low")), num(m.get("qini_high"))
    figures.update(qini_low=low, qini_high=high, n_test_control=num(m.get("n_test_control")),
                   n_test_control_churned=num(m.get("n_test_control_churned")))
    evidence_thin = None if low is None or high is None else not low > 0
    if low is not None and high is not None:
        parts = [text, sentence("uplift_qini_interval", low=_signed(low), high=_signed(high),
                                control=fmt_int(figures["n_test_control"]),
                                churned=fmt_int(figures["n_test_control_churned"]))]
        if not low > 0:
            parts.append(sentence("uplift_evidence_thin"))
        text = {"zh": "".join(p["zh"] for p in parts), "en": " ".join(p["en"] for p in parts)}
    used = ((list_summary or {}).get("models") or {}).get("uplift") or {}
    list_version = used.get("version") if isinstance(used, Mapping) else None
    rank_by = str((list_summary or {}).get("rank_by") or "value_at_risk")
    champion = bool(uplift.get("champion"))
    version = uplift.get("version")
    if list_version is not None:
        use = sentence("uplift_used", version=str(list_version), ranking={
            "zh": "按扣除成本后的预期挽回价值" if rank_by == "expected_saved_value" else "按风险价值",
            "en": "by expected saved value net of cost" if rank_by == "expected_saved_value" else
                  "by value at risk"})
    elif champion:
        use = sentence("uplift_champion_unused", version=str(version))
    else:
        use = sentence("uplift_not_champion", version=str(version))
    return {"trained": True, "sentence": text, "use": use, "champion": champion, "version": version,
            "list_version": list_version, "rank_by": rank_by, "campaign": uplift.get("campaign"),
            "campaign_date": uplift.get("campaign_date"), **figures, "evidence_thin": evidence_thin,
            "curves": uplift.get("curves") if isinstance(uplift.get("curves"), Mapping) else None,
            "qini_png": uplift.get("qini_png")}
