"""Job: learn targeting by uplift from a past campaign (issue 16 §3). A control assignment (churn_risk_control.parquet
written by 'loyalist score'), the clean tables (orders running past the campaign date and its horizon) ->
an uplift model of P(stay) judged on held-out customers (normalised Qini beside ranking by churn risk and at
random), registered in MLflow as ``<churn_model_name>-uplift`` with its Qini plot; uplift.json and qini.png in
``out_dir``, written as one output set (:func:`loyalist.io.output_set`, manifest ``uplift.manifest.json``). The
next 'loyalist score' adds ``uplift`` and ``expected_saved_value`` to the list with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from loyalist.batch.effect import campaign_outcomes
from loyalist.batch.outputs import pseudonym_key
from loyalist.config.models import LoyalistConfig
from loyalist.data.privacy import pseudonymize
from loyalist.errors import CampaignError, DataQualityError
from loyalist.io import output_set, write_json
from loyalist.jobs._common import config_tags, start_tracking
from loyalist.jobs._ui import Reporter

__all__ = ["UpliftJobResult", "uplift_model_name", "run"]


@dataclass(frozen=True)
class UpliftJobResult:
    metrics: dict[str, float]
    version: int | None
    champion: bool
    paths: dict[str, Path]
    run_id: str


def uplift_model_name(config: LoyalistConfig) -> str:
    """The registered name of the uplift model: ``<tracking.churn_model_name>-uplift``."""
    return f"{config.tracking.churn_model_name}-uplift"


def _snapshot(tables: Mapping[str, Any], day: pd.Timestamp, config: LoyalistConfig, key: bytes | None) -> pd.DataFrame:
    from loyalist.features.snapshot import build_snapshot

    snap = build_snapshot(dict(tables), day, config.features)
    if key is not None:
        snap = snap.assign(customer_id=pseudonymize(snap["customer_id"], key))
    return snap


def _thin(x: Any, y: Any, points: int = 201) -> dict[str, list[float]]:
    """A Qini curve cut to at most ``points`` points (first and last kept), for uplift.json and the report's
    picture."""
    import numpy as np

    x, y = np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")
    keep = np.unique(np.linspace(0, len(x) - 1, min(points, len(x))).round().astype(int))
    return {"x": [float(v) for v in x[keep]], "y": [round(float(v), 4) for v in y[keep]]}


def _selection(selection: Mapping[str, Any]) -> dict[str, Any]:
    """The auto learner's choice figures (:attr:`loyalist.uplift.CrossValidatedUplift.selection_`), rounded for
    uplift.json and MLflow; empty when there was no choice."""
    if not selection:
        return {}
    out: dict[str, Any] = {k: selection[k] for k in ("rule", "folds", "repeats", "best") if k in selection}
    out["se_multiple"] = float(selection["se_multiple"])
    out["margin"] = round(float(selection["margin"]), 5)
    out["mean"] = {n: round(float(v), 5) for n, v in selection["mean"].items()}
    out["se"] = {n: round(float(v), 5) for n, v in selection["se"].items()}
    return out


def _choice_words(learner: str, selection: Mapping[str, Any]) -> str:
    """How the auto learner was chosen, for the model's description: the rule, and why the choice is not the best
    mean when the rule kept a simpler learner."""
    folds = f"{selection['folds']}-fold" + (f" x {selection['repeats']}" if int(selection["repeats"]) > 1 else "")
    if not float(selection["se_multiple"]) > 0:
        return f"by {folds} cross-validated Qini (the best mean)"
    words = (f"by {folds} cross-validated Qini (the simplest learner within {selection['se_multiple']:g} "
             "standard error of the best")
    best = selection["best"]
    if learner != best:
        words += (f"; {best} scored {selection['mean'][best]:.4f} vs {selection['mean'][learner]:.4f}, within "
                  f"{selection['margin']:.4f}")
    return words + ")"


def run(
    assignment_path: Path | Sequence[Path],
    clean_dir: Path,
    *,
    config: LoyalistConfig,
    horizon_days: int,
    env: Mapping[str, str] | None = None,
    workdir: Path = Path("."),
    out_dir: Path = Path("outputs/uplift"),
    method: str = "auto",
    drop_uncontrolled_strata: bool = False,
    reporter: Reporter | None = None,
) -> UpliftJobResult:
    """Fit, judge and register an uplift model from one campaign, or from several past campaigns pooled
    (``assignment_path`` a list: each campaign's features are the snapshot at its own date and its outcomes the
    horizon after it; a customer in several campaigns is held out, and kept in one cross-validation fold, as a
    whole: :func:`loyalist.uplift.pool_campaigns`).

    ``method``: one of :data:`loyalist.uplift.UPLIFT_METHODS`; ``auto`` (default) chooses among the logistic
    T-learner and the LightGBM T- and X-learners by cross-validated Qini on the campaign with a one-standard-error
    rule (a LightGBM learner only when it beats the simpler one by more than the folds' noise; within the 70% used
    for judging, then again on every customer for the registered model; the figures are in uplift.json's
    ``learner_selection``).
    The model becomes champion when its held-out normalised Qini beats the 95th percentile of random rankings
    (else it stays challenger and the list gets no uplift columns from it)."""
    from loyalist.compute import lgbm_threads
    from loyalist.data.prepare import read_clean
    from loyalist.jobs.effect import _check_campaign, _customer_ids, _read_assignment
    from loyalist.report.charts import qini_figure
    from loyalist.tracking import CHAMPION, log_model, set_alias, set_version_description
    from loyalist.tracking import run as mlflow_run
    from loyalist.uplift import (
        campaign_training_set,
        evaluate_uplift,
        holdout_split,
        make_uplift_model,
        pool_campaigns,
    )
    from loyalist.uplift.models import CrossValidatedUplift

    reporter = reporter or Reporter(quiet=True)
    seed = int(config.training.random_state)
    make_uplift_model(method)  # an unknown method stops before any work
    given = [Path(assignment_path)] if isinstance(assignment_path, (str, Path)) else [Path(p) for p in assignment_path]
    if not given:
        raise CampaignError("No campaign assignment given; pass --assignment with a past campaign's "
                            "churn_risk_control.parquet (once per campaign to pool several).")
    seen = [str(p.resolve()) for p in given]
    if len(set(seen)) != len(seen):
        twice = next(p for p in given if seen.count(str(p.resolve())) > 1)
        raise CampaignError(f"The assignment {twice} is given twice; pass each campaign once.")
    tables = read_clean(Path(clean_dir))
    key = pseudonym_key(config.privacy, env or {})
    orders = tables["orders"]
    if not isinstance(orders, pd.DataFrame):  # pragma: no cover - read_clean without lazy returns frames
        raise DataQualityError(f"The orders of {clean_dir} could not be read as a table.")
    if key is not None:
        orders = orders.assign(customer_id=pseudonymize(orders["customer_id"], key))
    known = _customer_ids(Path(clean_dir), key)
    sets: list[Any] = []
    names: list[str] = []
    days: list[pd.Timestamp] = []
    for path in given:
        assignment = _read_assignment(path)
        # the checks of 'loyalist effect' (customers in the data and each once, both groups, a share in (0, 1),
        # outcomes after the campaign date): a customer on the file twice could land in both the training and the
        # held-out part and inflate the held-out Qini (the demo's campaign appended to itself: 0.022 -> 0.058)
        _check_campaign(assignment, path, orders, str(Path(clean_dir) / "orders.parquet"), known)
        name = (str(assignment["campaign"].iloc[0]) if "campaign" in assignment
                else path.stem if len(given) > 1 else "campaign")
        day = pd.Timestamp(pd.to_datetime(assignment["campaign_date"]).iloc[0]).normalize()
        if day in days:
            other = given[days.index(day)]
            raise CampaignError(f"The campaigns of {other} and {path} are both dated {day.date()}: pool one "
                                "campaign per date (merge the two assignments into one file, or pass one of them).")
        with reporter.step(f"Outcomes over {horizon_days} days and the snapshot at the campaign date"
                           + (f" {day.date()} ({name})" if len(given) > 1 else "")):
            try:
                outcomes = campaign_outcomes(assignment, orders, horizon_days=horizon_days)
                sets.append(campaign_training_set(_snapshot(tables, day, config, key), outcomes,
                                                  drop_strata_without_control=drop_uncontrolled_strata))
            except (CampaignError, DataQualityError) as exc:
                if len(given) == 1:
                    raise
                # several campaigns: say which one (a stratum without control, a horizon past the data's end)
                raise type(exc)(f"In the campaign {path} ({name}, {day.date()}): {exc}") from exc
        names.append(name)
        days.append(day)
    data = pool_campaigns(sets)
    day = max(days)
    # several campaigns: their names and dates joined, in the order given (uplift.json, MLflow, the report)
    campaign = " + ".join(names)
    campaign_date = " + ".join(str(d.date()) for d in days)

    threads = lgbm_threads(config.compute.lgbm_threads)

    def factory() -> Any:
        return make_uplift_model(method, random_state=seed, n_jobs=threads)

    with reporter.step(f"Judge a {method} uplift model on 30% held-out customers"):
        evaluation = evaluate_uplift(data, factory, seed=seed)
    with reporter.step("Fit on every campaign customer"):
        # an auto model keeps the learner chosen inside the judgement (on the training part) and refits it on
        # everyone: the registered learner is the one judged, and the choice's folds do not run twice
        judged = evaluation.model
        model = (judged.refit_choice(data.X, data.treatment, data.stay) if isinstance(judged, CrossValidatedUplift)
                 else factory().fit(data.X, data.treatment, data.stay))
    metrics = evaluation.as_metrics()
    champion = evaluation.qini > evaluation.qini_random_p95
    fig = qini_figure(evaluation.curves, qini={"uplift model": evaluation.qini,
                                               "churn risk": evaluation.qini_churn_risk})
    meta: dict[str, Any] = {
        "campaign": campaign, "campaign_date": campaign_date, "horizon_days": int(horizon_days),
        "method": method, "learner": str(getattr(model, "choice_", method)),
        "learner_cv_qini": {n: [round(float(v), 4) for v in vs] for n, vs in getattr(model, "cv_scores_", {}).items()},
        "learner_selection": _selection(getattr(model, "selection_", {})),
        "customers": int(len(data.X)), "control": int((data.treatment == 0).sum()),
        # pooled: "customers" counts a customer once per campaign; these count each person once (whole set, held out)
        **({"distinct_customers": int(data.customer_id.nunique()),
            "held_out_customers": int(data.customer_id.iloc[holdout_split(data, seed=seed)[1]].nunique())}
           if len(given) > 1 else {}),
        "campaigns": [{"campaign": n, "campaign_date": str(d.date()), "customers": int(rows), "assignment": str(p)}
                      for n, p, (d, rows) in zip(names, given, data.campaigns or [(day, len(data.X))], strict=True)],
        "dropped_strata": data.dropped_strata, "metrics": metrics, "champion": bool(champion),
        "features": list(model.feature_names_), "k": float(evaluation.k),
        "curves": {name: _thin(x, y) for name, (x, y) in evaluation.curves.items()}}
    name = uplift_model_name(config)
    start_tracking(config, workdir, env)
    with mlflow_run(f"uplift-{campaign}", tags={"campaign": campaign, "campaign_date": campaign_date,
                                              **config_tags(config)}) as h:
        h.log_params({"campaign": campaign, "campaign_date": campaign_date, "horizon_days": int(horizon_days),
                      "method": method, "learner": meta["learner"], "customers": meta["customers"],
                      "control": meta["control"],
                      "assignment": ", ".join(str(p) for p in given), "campaigns": len(given),
                      "outcome": "stay = 1 - churn",
                      **{f"learner_{k}": meta["learner_selection"][k] for k in ("rule", "folds", "repeats",
                                                                                 "se_multiple", "best", "margin")
                         if k in meta["learner_selection"]}})
        h.log_metrics(metrics)
        if meta["learner_selection"]:
            h.log_metrics({f"cv_qini_{n}": v for n, v in meta["learner_selection"]["mean"].items()})
            h.log_dict({"learner": meta["learner"], "cv_qini": meta["learner_cv_qini"],
                        "selection": meta["learner_selection"]}, "uplift_learner_choice.json")
        h.log_figure(fig, "plots/qini.png")
        info = log_model(h, model, registered_name=name, input_example=data.X.head(50),
                         tags={"qini": f"{evaluation.qini:.4f}", "campaign": campaign,
                               "campaign_date": campaign_date})
        if champion:
            set_alias(name, CHAMPION, info.version)
        learner = method if meta["learner"] == method else (
            f"{method}: {meta['learner']}, {_choice_words(meta['learner'], meta['learner_selection'])}"
            if meta["learner_selection"] else f"{method}: {meta['learner']}, too few customers to cross-validate")
        text = (f"Uplift model ({learner}) learned from campaign{'s' if len(given) > 1 else ''} {campaign} of "
                f"{campaign_date} ({meta['customers']:,} customers"
                + (f" counted once per campaign, {meta['distinct_customers']:,} distinct" if len(given) > 1 else "")
                + f", {meta['control']:,} control), outcome: still buying {horizon_days} days later. "
                f"Held-out normalised Qini {evaluation.qini:.3f} (95% interval {evaluation.qini_low:+.3f} to "
                f"{evaluation.qini_high:+.3f}; {evaluation.n_test:,} held-out customers"
                + (f" ({meta['held_out_customers']:,} distinct)" if len(given) > 1 else "")
                + f", {evaluation.n_test_control:,} "
                f"control, {evaluation.n_test_control_churned:,} of them churned) vs {evaluation.qini_churn_risk:.3f} "
                f"ranking by churn risk and {evaluation.qini_random_p95:.3f} for random (95th percentile); uplift in "
                f"the top 30%: {evaluation.uplift_at_k * 100:+.1f} points. "
                + ("Champion: the risk list gets uplift and expected_saved_value from it." if champion else
                   "Not better than random: stays challenger, the list gets no uplift columns from it.")
                + (" Thin evidence: the interval reaches 0, so this split cannot tell the model from random "
                   "targeting." if evaluation.evidence_is_thin else ""))
        h.set_description(text)
        set_version_description(name, info.version, text)
        meta |= {"run_id": h.run_id, "registered_model": name, "version": int(info.version)}
        run_id = h.run_id
    # one output set: qini.png and uplift.json (which the report and the demo read) are replaced as a whole, after
    # the MLflow run, or not at all when the run stops before (MLflow unreachable, a full disk, Ctrl-C): the job
    # used to save qini.png first, so a failed rerun left its picture beside the previous run's uplift.json
    with output_set(Path(out_dir), "uplift", campaign=campaign, campaign_date=campaign_date) as files:
        fig.savefig(files.path("qini.png"), bbox_inches="tight")
        write_json(meta, files.path("uplift.json"))
    paths = {"json": files.target("uplift.json"), "qini_png": files.target("qini.png")}
    reporter.say(text)
    return UpliftJobResult(metrics, int(info.version), bool(champion), paths, run_id)
