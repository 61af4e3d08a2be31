"""The scoring job against its floor in the same run (issue 14 §2): `loyalist score` as a child process vs LightGBM
alone (predict of both models on every customer plus `pred_contrib` on the explained rows, on the same rows).

    python benchmarks/bench_scoring.py [--train-customers 20000] [--score-customers 200000] [--no-record]

Companies, training and registration are bench_pipeline.py's phases (generated under benchmarks/_work/, reused).
Reported: wall, CPU seconds (user + system), cores used (CPU / wall), peak RSS, the job's own stages (from its
summary: wall, CPU seconds of every thread and the peak memory so far at each stage's end), the floor
(wall and CPU of the booster calls alone, the matrices built beforehand and not timed), the ratios, and the load
average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "benchmarks"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "src"))

import bench_pipeline as bp  # noqa: E402
from _machine import machine_line  # noqa: E402
from _measure import measure  # noqa: E402


def phase_floor(n: int, explained: int) -> dict:
    """LightGBM alone on the scoring rows: predict (raw) for both models on every customer, pred_contrib of the churn
    model on ``explained`` rows; matrices built first (not timed). Threads: compute.lgbm_threads auto."""
    import numpy as np

    from loyalist.compute import lgbm_threads
    from loyalist.config import LoyalistConfig
    from loyalist.data.prepare import STREAMED_TABLES, read_clean
    from loyalist.features.cutoffs import resolve_as_of
    from loyalist.features.snapshot import build_snapshot

    with open(bp.WORK / "models.pkl", "rb") as fh:
        models = pickle.load(fh)
    tables = read_clean(bp._tables_dir(n), lazy=STREAMED_TABLES)
    snapshot = build_snapshot(tables, resolve_as_of(tables, None), LoyalistConfig().features)
    threads = lgbm_threads("auto")
    mats = {kind: models[kind]._matrix(snapshot)[0] for kind in ("churn", "value")}
    rows = np.random.default_rng(0).choice(len(snapshot), size=min(explained, len(snapshot)), replace=False)
    contrib_x = mats["churn"].iloc[np.sort(rows)]
    out = {"rows": len(snapshot), "explained": len(contrib_x), "threads": threads}
    c0, w0 = time.process_time(), time.perf_counter()
    for kind in ("churn", "value"):
        models[kind].booster_.predict(mats[kind], raw_score=True, num_threads=threads)
    c1, w1 = time.process_time(), time.perf_counter()
    models["churn"].booster_.predict(contrib_x, pred_contrib=True, num_threads=threads)
    c2, w2 = time.process_time(), time.perf_counter()
    out.update(predict_wall=w1 - w0, predict_cpu=c1 - c0, contrib_wall=w2 - w1, contrib_cpu=c2 - c1,
               wall=w2 - w0, cpu=c2 - c0)
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in out.items()}


def score_job(n: int) -> dict:
    out = bp.WORK / "scores"
    cli = Path(sys.executable).with_name("loyalist")
    command = [str(cli), "score", "--clean", str(bp._tables_dir(n)), "--workdir", str(bp.WORK / "serve"),
               "--out", str(out), "--quiet"]
    env = {**os.environ, "MLFLOW_TRACKING_URI": bp._serve_uri(), "MLFLOW_DISABLE_TELEMETRY": "true"}
    m = measure(command, env=env)
    summary = json.loads((out / "churn_risk_summary.json").read_text(encoding="utf-8"))
    return {**m.row(), "customers": summary["customers"], "orders": summary["inputs"]["orders"]["rows"],
            "explained": summary["explained"],
            "stages": {k: round(v, 1) for k, v in summary["timings_seconds"].items()},
            "stage_cpu": {k: round(v, 2) for k, v in summary.get("cpu_seconds", {}).items()},
            "stage_peak_mb": {k: round(v) for k, v in summary.get("peak_mb", {}).items()}}


def run(train_n: int, score_n: int) -> dict:
    bp.WORK.mkdir(parents=True, exist_ok=True)
    for n in sorted({train_n, score_n}):
        bp._sub("generate", n)
    saved = bp.WORK / f"train_result_{train_n}.json"
    if not (saved.exists() and (bp.WORK / "models.pkl").exists()
            and json.loads(saved.read_text()).get("customers") == train_n):
        saved.write_text(json.dumps(bp._sub("train", train_n)))
    bp._sub("register", train_n)
    job = score_job(score_n)
    explained = job["explained"]["customers"] + job["explained"]["sample"]
    floor = measure([sys.executable, __file__, "--phase", "floor", "--n", str(score_n), "--explained",
                     str(explained)])
    f = json.loads(floor.output.strip().splitlines()[-1])
    return {"train_customers": train_n, "score_customers": score_n, "job": job, "floor": f,
            "ratio_wall": round(job["wall"] / f["wall"], 1) if f["wall"] else None,
            "ratio_cpu": round(job["cpu"] / f["cpu"], 1) if f["cpu"] else None}


def stage_table(j: dict) -> list[str]:
    """Per stage: CPU seconds of the whole process (every thread), wall seconds, cores used (CPU / wall) and the
    peak memory so far; the rest of the process (after the summary was written: the MLflow run, exit) last."""
    cpu, wall, peak = j.get("stage_cpu", {}), j.get("stages", {}), j.get("stage_peak_mb", {})
    if not cpu:
        return []
    rows = ["| stage | CPU s | wall s | cores | peak MB so far |", "|---|---|---|---|---|"]
    for k, c in cpu.items():
        w = wall.get(k)
        cores = f"{c / w:.2f}" if w else ""
        rows.append(f"| {k} | {c:.2f} | {'' if w is None else f'{w:.1f}'} | {cores} | {peak.get(k, '')} |")
    rest = j["cpu"] - sum(cpu.values())
    rows.append(f"| rest (MLflow run, exit) | {rest:.2f} | | | {j['peak_mb']:.0f} (process) |")
    return ["", *rows, ""]


def report(r: dict) -> str:
    j, f = r["job"], r["floor"]
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return "\n".join([
        f"### Scoring job vs its LightGBM floor ({when}): `loyalist score`, {j['customers']:,} customers from "
        f"{j['orders']:,} orders (models trained on {r['train_customers']:,})", "",
        f"Machine: {machine_line()}. Command: `python benchmarks/bench_scoring.py --train-customers "
        f"{r['train_customers']} --score-customers {r['score_customers']}`.", "",
        "| run | wall s | CPU s | cores used | peak MB | load before / after |", "|---|---|---|---|---|---|",
        f"| `loyalist score` (child process, start to exit) | {j['wall']:.1f} | {j['cpu']:.1f} | {j['cores']:.2f} | "
        f"{j['peak_mb']:.0f} | {j['load_before']:.1f} / {j['load_after']:.1f} |",
        f"| floor: LightGBM predict x2 on {f['rows']:,} rows + pred_contrib on {f['explained']:,} rows "
        f"({f['threads']} threads) | {f['wall']:.1f} | {f['cpu']:.1f} | {f['cpu'] / max(f['wall'], 1e-9):.2f} | | |",
        "", f"Ratios: job / floor = {r['ratio_wall']}x wall, {r['ratio_cpu']}x CPU. Explained: "
        f"{j['explained']['customers']:,} customers + a {j['explained']['sample']:,} sample. Stages (s): {j['stages']}.",
        f"Floor split: predict {f['predict_wall']} s wall / {f['predict_cpu']} s CPU, pred_contrib {f['contrib_wall']} s "
        f"wall / {f['contrib_cpu']} s CPU.", *stage_table(j), ""])


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train-customers", type=int, default=20_000)
    ap.add_argument("--score-customers", type=int, default=200_000)
    ap.add_argument("--no-record", action="store_true")
    ap.add_argument("--phase", choices=["floor"])
    ap.add_argument("--n", type=int)
    ap.add_argument("--explained", type=int, default=20_000)
    args = ap.parse_args(argv)
    if args.phase == "floor":
        print(json.dumps(phase_floor(args.n, args.explained)))
        return {}
    r = run(args.train_customers, args.score_customers)
    text = report(r)
    print(text)
    if not args.no_record:
        from bench_all import record

        record(text)
    return r


if __name__ == "__main__":
    main()
