"""How ``loyalist uplift --method auto`` should choose its learner (issue 16 §3): the raw material and the verdict.

    nice -n 10 python benchmarks/bench_uplift_rule.py collect --hillstrom 5-19 --generator 5-14 [--out FILE]
    python benchmarks/bench_uplift_rule.py analyse [--out FILE] [--hillstrom 5-19] [--generator 5-14]

``collect`` records, per seed, every candidate's inner-fold scores on the TRAINING part only (normalised Qini per
fold, as :class:`loyalist.uplift.CrossValidatedUplift` computes them, for several fold schemes: 3 or 5 folds,
repeated 1-3 times with the product's fold seeds) and the same candidate refitted on the whole training part,
judged where the benchmark judges it:

- Hillstrom (any e-mail vs none, visit; also conversion and Mens vs none with ``--setups``): the 70/30 split of
  ``bench_uplift.py`` (``train_test_split(random_state=seed)``), held-out normalised Qini on the 30%;
- the generator (``bench_uplift.run_generator``'s protocol): fitted on company ``seed``'s campaign, the true value
  kept by the top 20% of company ``seed + 1000`` by expected saved value, and by value at risk.

``analyse`` applies every selection rule to those records without refitting anything (the rule only reads the fold
scores) and prints what each would have chosen and scored, so that a rule can be chosen on some seeds and
confirmed on others. Records are JSON lines (default ``benchmarks/_work/uplift_rule.jsonl``, not committed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_uplift as bench  # noqa: E402

from loyalist.uplift.models import (  # noqa: E402
    AUTO_X_CANDIDATES,
    _fold_score,
    choose_candidate,
    cv_fold_seeds,
    make_uplift_model,
)

OUT = HERE / "_work" / "uplift_rule.jsonl"
CANDIDATES = list(AUTO_X_CANDIDATES)  # logistic, two_model, x_learner (simplest first)
SCHEMES = [(3, 3), (5, 2)]  # (folds, repeats): the records hold every repeat, rules use the first r of them


def _seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in filter(None, text.split(",")):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    return out


def _candidate(name: str, seed: int, n_jobs: int, outcome: str = "binary"):
    method, extra = AUTO_X_CANDIDATES[name]
    return make_uplift_model(method, outcome=outcome, random_state=seed, n_jobs=n_jobs, **dict(extra))


def fold_scores(X: pd.DataFrame, t: np.ndarray, y: np.ndarray, seed: int, n_jobs: int) -> dict:
    """scheme 'KxR' -> candidate -> list of per-fold scores (repeat after repeat), folds as the product cuts them."""
    from sklearn.model_selection import StratifiedKFold

    strata = t * 2 + y
    out: dict = {}
    for k, repeats in SCHEMES:
        key = f"{k}x{repeats}"
        out[key] = {n: [] for n in CANDIDATES}
        for rs in cv_fold_seeds(seed, repeats):
            for tr, te in StratifiedKFold(n_splits=k, shuffle=True, random_state=rs).split(np.zeros(len(t)), strata):
                for n in CANDIDATES:
                    pred = _candidate(n, seed, n_jobs).fit(X.iloc[tr], t[tr], y[tr]).predict(X.iloc[te])
                    out[key][n].append(_fold_score(y[te], pred, t[te], "binary"))
    return out


def collect_hillstrom(seeds: list[int], setups: list[str], out: Path, n_jobs: int) -> None:
    from sklearn.model_selection import train_test_split

    from loyalist.uplift import qini_auc_score, uplift_at_k

    frame = bench.load()
    for setup in setups:
        arm, outcome = setup.split(":")
        X, t, y = bench.setup(frame, arm, outcome)
        for seed in seeds:
            c0 = time.process_time()
            tr, te = train_test_split(np.arange(len(y)), test_size=0.3, random_state=seed, stratify=t * 2 + y)
            held = {}
            for n in CANDIDATES:
                s = _candidate(n, seed, n_jobs).fit(X.iloc[tr], t[tr], y[tr]).predict(X.iloc[te])
                held[n] = {"qini": float(qini_auc_score(y[te], s, t[te])),
                           "uplift_at_30": float(uplift_at_k(y[te], s, t[te], k=0.3))}
            rec = {"data": f"hillstrom:{setup}", "seed": seed, "held_out": held,
                   "folds": fold_scores(X.iloc[tr], t[tr], y[tr], seed, n_jobs),
                   "cpu_s": round(time.process_time() - c0, 1)}
            with out.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(rec) + "\n")
            print(setup, seed, {n: round(v["qini"], 4) for n, v in held.items()}, rec["cpu_s"], "CPU s", flush=True)


def collect_generator(seeds: list[int], out: Path, n_jobs: int, top: float = 0.2) -> None:
    from loyalist.uplift import expected_saved_value

    for seed in seeds:
        c0 = time.process_time()
        past, now = bench.generated_campaign(seed), bench.generated_campaign(seed + 1000)
        effect = now["truth"]["effect_revenue"].to_numpy()
        k = int(top * len(effect))
        held = {}
        for n in CANDIDATES:
            model = _candidate(n, seed, n_jobs).fit(past["X"], past["t"], past["stay"])
            p0, _ = model.predict_outcomes(now["X"])
            uplift = model.predict(now["X"])
            kept = {}
            for rank, score in (("saved", expected_saved_value(uplift, now["value"], p_stay=p0)),
                                ("at_risk", (1 - p0) * now["value"])):
                kept[rank] = float(effect[np.argsort(-score, kind="mergesort")[:k]].sum())
            held[n] = {"kept_saved": kept["saved"], "kept_at_risk": kept["at_risk"]}
        rec = {"data": "generator", "seed": seed, "held_out": held,
               "folds": fold_scores(past["X"], past["t"], past["stay"], seed, n_jobs),
               "cpu_s": round(time.process_time() - c0, 1)}
        with out.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(rec) + "\n")
        print("generator", seed, {n: round(v["kept_saved"] / v["kept_at_risk"], 3) for n, v in held.items()},
              rec["cpu_s"], "CPU s", flush=True)


def load(out: Path) -> list[dict]:
    recs = {}
    for line in out.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        recs[(r["data"], r["seed"])] = r  # a later record of the same seed replaces an earlier one
    return list(recs.values())


#: the rules compared: name -> (candidates, folds, repeats, se_multiple)
def rules() -> dict[str, tuple[list[str], int, int, float]]:
    out = {}
    for cands in (CANDIDATES[:2], CANDIDATES):
        for k, repeats in ((3, 1), (3, 2), (3, 3), (5, 1), (5, 2)):
            for se in (0.0, 0.5, 1.0, 1.5, 2.0):
                tag = "auto" if len(cands) == 2 else "auto_x"
                out[f"{tag} {k}x{repeats} se={se:g}"] = (cands, k, repeats, se)
    return out


def apply(rec: dict, cands: list[str], k: int, repeats: int, se: float) -> str:
    scheme = next((key for key in rec["folds"] if int(key.split("x")[0]) == k
                   and int(key.split("x")[1]) >= repeats), None)
    if scheme is None:
        return ""
    scores = {n: rec["folds"][scheme][n][: k * repeats] for n in cands}
    return choose_candidate(scores, se_multiple=se)[0]


def analyse(recs: list[dict], hill: list[int], gen: list[int], setups: list[str]) -> pd.DataFrame:
    rows = []
    for name, (cands, k, repeats, se) in rules().items():
        row: dict = {"rule": name}
        for setup in setups:
            part = [r for r in recs if r["data"] == f"hillstrom:{setup}" and r["seed"] in hill]
            if part:
                picks = [apply(r, cands, k, repeats, se) for r in part]
                if not all(picks):
                    continue
                q = [r["held_out"][p]["qini"] for r, p in zip(part, picks, strict=True)]
                row[f"{setup} qini"] = round(float(np.mean(q)), 4)
                row[f"{setup} n"] = len(q)
                row[f"{setup} picks"] = "".join(p[0] for p in picks)
        part = [r for r in recs if r["data"] == "generator" and r["seed"] in gen]
        if part:
            picks = [apply(r, cands, k, repeats, se) for r in part]
            if not all(picks):
                rows.append(row)
                continue
            saved = sum(r["held_out"][p]["kept_saved"] for r, p in zip(part, picks, strict=True))
            risk = sum(r["held_out"][p]["kept_at_risk"] for r, p in zip(part, picks, strict=True))
            row["generator pooled"] = round(saved / risk, 3)
            row["generator n"] = len(part)
            row["generator picks"] = "".join(p[0] for p in picks)
        rows.append(row)
    return pd.DataFrame(rows)


def oracle_rows(recs: list[dict], hill: list[int], gen: list[int], setups: list[str]) -> list[str]:
    """Each candidate alone (no choice), for reference."""
    out = []
    for n in CANDIDATES:
        cells = [n]
        for setup in setups:
            part = [r for r in recs if r["data"] == f"hillstrom:{setup}" and r["seed"] in hill]
            if part:
                cells.append(f"{setup} {np.mean([r['held_out'][n]['qini'] for r in part]):.4f}")
        part = [r for r in recs if r["data"] == "generator" and r["seed"] in gen]
        if part:
            saved = sum(r["held_out"][n]["kept_saved"] for r in part)
            cells.append(f"generator {saved / sum(r['held_out'][n]['kept_at_risk'] for r in part):.3f}")
        out.append("  ".join(cells))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mode", choices=["collect", "analyse"])
    ap.add_argument("--hillstrom", default="", help="split seeds, e.g. 5-19 or 0-4,42-46")
    ap.add_argument("--generator", default="", help="generator seeds, e.g. 5-14")
    ap.add_argument("--setups", default="any:visit", help="comma list of arm:outcome (any:visit, any:conversion, "
                    "mens:visit)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--schemes", default="3x3,5x2", help="fold schemes to record, FOLDSxREPEATS (collect)")
    args = ap.parse_args(argv)
    SCHEMES[:] = [(int(a), int(b)) for a, b in (x.split("x") for x in args.schemes.split(","))]
    setups = args.setups.split(",")
    if args.mode == "collect":
        args.out.parent.mkdir(parents=True, exist_ok=True)
        if args.hillstrom:
            collect_hillstrom(_seeds(args.hillstrom), setups, args.out, args.n_jobs)
        if args.generator:
            collect_generator(_seeds(args.generator), args.out, args.n_jobs)
        return
    recs = load(args.out)
    hill, gen = _seeds(args.hillstrom), _seeds(args.generator)
    print("\n".join(oracle_rows(recs, hill, gen, setups)))
    with pd.option_context("display.width", 250, "display.max_rows", 200, "display.max_columns", 30):
        print(analyse(recs, hill, gen, setups).to_string(index=False))


if __name__ == "__main__":
    main()
