"""Why Telco's time-to-churn C stops near 0.864 (issue 15 §2): a learning curve and in-sample bounds.

    python benchmarks/bench_table_survival_ceiling.py [--dataset telco] [--fractions 0.25,0.5,0.75,1] [--no-record]

The same rows, columns and folds as ``loyalist train`` (customers with tenure > 0, the leakage alarm's and the
tenure-computed columns left out, stratified 5-fold CV on the flag, seed ``training.random_state``):

- **learning curve**: the Cox and LightGBM-hazard models fitted on a stratified ``fraction`` of each training fold
  and judged on the whole test fold (C, IBS months 1..60 or the 90th percentile of the tenures), so the gain per
  doubling of the customers says how much more data would buy;
- **combination**: the mean of the hazard and Cox curves (a generic blend of the two risk scores), out of fold;
- **in-sample bounds**: each model fitted and judged on every row (no new customers), and a flexible hazard
  (31 leaves, 20 rows per leaf, no early stopping) likewise: what the columns can order when the answers are known.

Appends a dated section to benchmarks/RESULTS.md (``--no-record``: print only).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"
sys.path.insert(0, str(HERE))

from _machine import machine_line


def _data(name: str):
    from loyalist.config.load import load_config
    from loyalist.tabular import read_customer_table
    from loyalist.tabular.evaluate import make_folds
    from loyalist.tabular.leakage import leakage_report
    from loyalist.tabular.models import feature_frame
    from loyalist.tabular.prepare import LABEL
    from loyalist.tabular.survival import duration_leaks, survival_data, tenure_months
    from loyalist.tabular.train import feature_kinds

    config_path = ROOT / "configs" / "datasets" / f"{name}.yaml"
    work = ROOT / "benchmarks" / "_work" / f"survival-ceiling-{name}"
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_WAIT_POLICY": "passive"}
    subprocess.run([sys.executable, "-m", "loyalist.cli", "prepare", "--config", str(config_path), "--out",
                    str(work / "clean"), "--quiet"], check=True, env=env)
    config = load_config([config_path])
    ct = config.customer_table
    seed = config.training.random_state
    table, types = read_customer_table(work / "clean")
    lab = table.loc[table[LABEL].notna()].reset_index(drop=True)
    y = lab[LABEL].astype(bool).to_numpy().astype(int)
    leak = leakage_report(lab, y, types, make_folds(y, ct.folds, seed), leakage_auc=ct.leakage_auc,
                          id_auc=ct.id_auc, keep=ct.keep)
    kinds = feature_kinds(types, set(leak.loc[leak["excluded"], "column"]))
    months = tenure_months(lab[ct.tenure], ct.tenure_unit)
    usable = survival_data(months, lab[LABEL].to_numpy(object))
    rows = lab.iloc[usable].reset_index(drop=True)
    d = months[usable]
    e = rows[LABEL].astype(bool).to_numpy()
    X = feature_frame(rows, {c: k for c, k in kinds.items() if c != ct.tenure}, None)
    out = set(ct.survival_exclude) | set(duration_leaks(X, d))
    X = X[[c for c in X.columns if c not in out]]
    return X, d, e, make_folds(e.astype(int), ct.folds, seed), seed, sorted(out)


def _judge(d_tr, e_tr, d_te, e_te, s, score, months):
    from loyalist.tabular.survival import concordance, integrated_brier

    return concordance(d_te, e_te, score), integrated_brier(d_tr, e_tr, d_te, e_te, s, months)[0]


def main() -> None:
    from sklearn.model_selection import train_test_split

    from loyalist.tabular.survival import CoxModel, HazardModel

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="telco")
    parser.add_argument("--fractions", default="0.25,0.5,0.75,1")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    fractions = [float(f) for f in args.fractions.split(",")]
    cpu0 = time.process_time()
    X, d, e, folds, seed, left_out = _data(args.dataset)
    months = np.arange(1, int(min(60, np.floor(np.quantile(d, 0.9)))) + 1, dtype=float)
    makers = {"cox": lambda: CoxModel(), "lightgbm_hazard": lambda: HazardModel(random_state=seed, n_jobs=1)}
    rows = []
    for k, (train, test) in enumerate(folds):
        fitted = {}
        for f in fractions:
            sub = train if f >= 1 else train[train_test_split(np.arange(len(train)), train_size=f,
                                                              stratify=e[train].astype(int),
                                                              random_state=seed + k)[0]]
            for name, make in makers.items():
                m = make().fit(X.iloc[sub], d[sub], e[sub])
                s = m.survival(X.iloc[test], months)
                c, ibs = _judge(d[sub], e[sub], d[test], e[test], s, m.score(X.iloc[test]), months)
                rows.append({"fold": k, "fraction": f, "customers": len(sub), "model": name, "c": c, "ibs": ibs})
                if f >= 1:
                    fitted[name] = (m, s)
            print(f"fold {k} fraction {f}: " + ", ".join(f"{r['model']} C {r['c']:.4f}" for r in rows[-2:]), flush=True)
        if len(fitted) == 2:
            s = (fitted["cox"][1] + fitted["lightgbm_hazard"][1]) / 2
            score = (fitted["cox"][0].score(X.iloc[test]) + fitted["lightgbm_hazard"][0].score(X.iloc[test])) / 2
            c, ibs = _judge(d[train], e[train], d[test], e[test], s, score, months)
            rows.append({"fold": k, "fraction": 1.0, "customers": len(train), "model": "mean of hazard and cox",
                         "c": c, "ibs": ibs})
    cv = pd.DataFrame(rows)
    insample = []
    for name, make in {**makers, "flexible hazard (31 leaves, 20 rows per leaf, 400 trees)":
                       lambda: _flexible(seed)}.items():
        m = make().fit(X, d, e)
        c, ibs = _judge(d, e, d, e, m.survival(X, months), m.score(X), months)
        insample.append({"model": name, "c": c, "ibs": ibs})
    cpu = time.process_time() - cpu0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    text = _markdown(args, cv, pd.DataFrame(insample), len(d), int(e.sum()), left_out, months, cpu, peak)
    print(text)
    if not args.no_record:
        with RESULTS.open("a", encoding="utf-8") as fh:
            fh.write("\n" + text)
        print(f"appended to {RESULTS}")


def _flexible(seed: int):
    from loyalist.tabular.survival import HazardModel

    class Flexible(HazardModel):
        def fit(self, X, durations, events):  # no early stopping: a fixed, generous number of trees
            from loyalist.tabular.survival import _categorical, _check_survival

            d, e = _check_survival(durations, events)
            self.feature_names_ = [str(c) for c in X.columns]
            self.categories_ = {c: sorted(X[c].dropna().astype(str).unique().tolist()) for c in _categorical(X)}
            self.max_month_ = int(np.ceil(d.max()))
            ax, ay = self._person_months(self._prepare(X).reset_index(drop=True), d, e)
            self.n_trees_ = 400
            self.booster_ = self._estimator(self.n_trees_).fit(ax, ay)
            return self

    return Flexible(num_leaves=31, min_child_samples=20, random_state=seed, n_jobs=1)


def _markdown(args, cv, insample, n, churned, left_out, months, cpu, peak) -> str:
    lines = [(f"## Time to churn, why the C stops (issue 15 §2): `python benchmarks/bench_table_survival_ceiling.py "
              f"--dataset {args.dataset}` ({time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC)"), "",
             machine_line() + f"; CPU {cpu:.0f} s, peak {peak:,.0f} MB", "",
             (f"{n:,} customers with tenure > 0 ({churned:,} churned), columns left out as computed from tenure: "
              f"{', '.join(left_out) or 'none'}; the folds of `loyalist train`; IBS months 1..{int(months[-1])}. "
              "Learning curve: each model fitted on a stratified fraction of every training fold, judged on the "
              "whole test fold (mean ± std over the 5 folds)."), "",
             "| model | fraction of the training fold | customers fitted (mean) | C | IBS |", "|---|---|---|---|---|"]
    g = cv.groupby(["model", "fraction"], sort=False).agg(n=("customers", "mean"), c=("c", "mean"),
                                                          c_sd=("c", "std"), ibs=("ibs", "mean"),
                                                          ibs_sd=("ibs", "std"))
    for (model, f), r in g.iterrows():
        lines.append(f"| {model} | {f:g} | {r.n:,.0f} | {r.c:.4f} ± {r.c_sd:.4f} | {r.ibs:.4f} ± {r.ibs_sd:.4f} |")
    lines += ["", "In sample (fitted and judged on every row: an upper bound of what the columns can order):", "",
              "| model | C | IBS |", "|---|---|---|"]
    for r in insample.itertuples():
        lines.append(f"| {r.model} | {r.c:.4f} | {r.ibs:.4f} |")
    per = g["c"].unstack("fraction")
    if 0.5 in per.columns and 1.0 in per.columns:
        gain = (per[1.0] - per[0.5]).dropna()
        lines += ["", "Gain in C from half to all of the training customers (one doubling): " +
                  ", ".join(f"{m} {v:+.4f}" for m, v in gain.items()) + "."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
