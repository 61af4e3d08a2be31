"""Run the bad-input suite and print its tally.

    python -m tests.badinput --all            # every case (about 20-40 minutes on 2 cores)
    python -m tests.badinput                  # the fast CI subset
    python -m tests.badinput --match 'enc-*'  # cases whose id matches a glob
    python -m tests.badinput --all --findings # also print the failures as FINDINGS.md lines

Results go to ``<workdir>/results.json`` (default workdir: a folder under the system temp dir, kept between
runs so the shared fixtures are built once; ``--fresh`` rebuilds them).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from .cases import SEED, generate_cases
from .fixtures import build_base
from .oracle import OUTCOMES, Outcome, run_case

__all__ = ["main", "run"]


def _environment() -> None:
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    for k, v in {"OMP_WAIT_POLICY": "passive", "MLFLOW_DISABLE_TELEMETRY": "true",
                 "MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK": "true", "MLFLOW_LOGGING_LEVEL": "WARNING"}.items():
        os.environ.setdefault(k, v)


def run(workdir: Path, *, ci_only: bool, match: str | None = None, seed: int = SEED, fresh: bool = False,
        progress=print, shard: tuple[int, int] = (0, 1), base_dir: Path | None = None) -> list[Outcome]:
    _environment()
    workdir = Path(workdir)
    if fresh and workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    base = build_base(base_dir or workdir / "base")
    os.environ.pop("MLFLOW_TRACKING_URI", None)  # mlflow.set_tracking_uri exported the fixture's store
    progress(f"shared fixtures ready in {time.monotonic() - t0:.0f} s ({workdir / 'base'})")
    cases = generate_cases(base, seed)
    if ci_only:
        cases = [c for c in cases if c.ci]
    if match:
        cases = [c for c in cases if any(fnmatch.fnmatch(c.id, m) for m in match.split(","))]
    k, n = shard
    cases = cases[k::n]
    cases_dir = workdir / "cases"
    if cases_dir.exists():
        shutil.rmtree(cases_dir)
    results: list[Outcome] = []
    log = open(workdir / "progress.jsonl", "w", encoding="utf-8")
    for i, case in enumerate(cases, 1):
        r = run_case(case, cases_dir)
        results.append(r)
        log.write(json.dumps(_row(r), ensure_ascii=False) + "\n")
        log.flush()
        mark = "ok " if r.ok else "BAD"
        progress(f"[{i}/{len(cases)}] {mark} {r.outcome:12s} {r.seconds:6.1f}s {case.id}"
                 + ("" if r.ok else f"  -- {r.detail[:160]}"))
        if r.ok and case.mode == "inproc":
            shutil.rmtree(cases_dir / case.id, ignore_errors=True)
    if shard == (0, 1):
        results = rerun_hangs(results, cases_dir, progress)
    _save(workdir / "results.json", results, seed)
    return results


#: A case that ran past its timeout is run again, alone, with this many times the timeout before it is a hang: on a
#: shared 2-core machine at load 20 a job that needs 20 s of CPU can take 5 minutes of wall time.
RERUN_FACTOR = 3


def rerun_hangs(results: list, cases_dir: Path, progress=print, cases: dict | None = None) -> list:
    """Run each case whose outcome is ``hang`` again, alone (no other worker of the suite running), with
    :data:`RERUN_FACTOR` times its timeout. The rerun's outcome replaces the first one; its detail says what the
    first run saw, so a load timeout stays visible and a real hang is a hang twice."""
    from . import oracle

    out = list(results)
    for i, r in enumerate(out):
        if r.outcome != "hang":
            continue
        case = cases[r.case.id] if cases is not None else r.case
        oracle.TIME_SCALE[0] = RERUN_FACTOR
        try:
            again = run_case(case, cases_dir)
        finally:
            oracle.TIME_SCALE[0] = 1.0
        note = f"first run: hang after {r.seconds:.0f} s ({r.detail[:80]}); rerun alone: {again.outcome}"
        again.detail = note + (f": {again.detail}" if again.detail else "")
        progress(f"[rerun] {'ok ' if again.ok else 'BAD'} {again.outcome:12s} {again.seconds:6.1f}s {case.id}  -- {note}")
        out[i] = again
    return out


def _row(r: Outcome) -> dict:
    return {"id": r.case.id, "area": r.case.area, "mode": r.case.mode, "ci": r.case.ci, "outcome": r.outcome,
            "exit_code": r.exit_code, "seconds": round(r.seconds, 2), "detail": r.detail, "command": r.command,
            "desc": r.case.desc}


def _save(path: Path, results: list[Outcome], seed: int) -> None:
    rows = [_row(r) for r in results]
    path.write_text(json.dumps({"seed": seed, "tally": tally(results), "cases": rows}, indent=1, ensure_ascii=False))


class _Stored:
    """An outcome read back from a worker's results.json (enough for the tally and the failure list)."""

    def __init__(self, row: dict):
        from types import SimpleNamespace

        self.case = SimpleNamespace(id=row["id"], area=row["area"], mode=row["mode"], ci=row["ci"], desc=row["desc"])
        self.outcome, self.exit_code, self.detail = row["outcome"], row["exit_code"], row["detail"]
        self.seconds, self.command = row["seconds"], row["command"]

    @property
    def ok(self) -> bool:
        return self.outcome in ("clean_error", "handled")


def _run_jobs(args) -> list:
    """Build the fixtures once, then run ``args.jobs`` worker processes over interleaved shards and merge."""
    import subprocess

    _environment()
    if args.fresh and args.workdir.exists():
        shutil.rmtree(args.workdir)
    args.workdir.mkdir(parents=True, exist_ok=True)
    build_base(args.workdir / "base")
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    procs = []
    for k in range(args.jobs):
        cmd = [sys.executable, "-m", "tests.badinput", "--shard", f"{k}/{args.jobs}", "--seed", str(args.seed),
               "--workdir", str(args.workdir / f"worker{k}")]
        cmd += ["--all"] if args.all else []
        cmd += ["--match", args.match] if args.match else []
        procs.append(subprocess.Popen(cmd, cwd=Path(__file__).resolve().parents[2]))
    for p in procs:
        p.wait()
    rows = []
    for k in range(args.jobs):
        data = json.loads((args.workdir / f"worker{k}" / "results.json").read_text())
        rows += data["cases"]
    all_cases = {c.id: c for c in generate_cases(build_base(args.workdir / "base"), args.seed)}
    order = {cid: i for i, cid in enumerate(all_cases)}
    rows.sort(key=lambda r: order.get(r["id"], 0))
    results = rerun_hangs([_Stored(r) for r in rows], args.workdir / "rerun", lambda m: print(m, flush=True),
                          all_cases)
    rows = [_row(r) for r in results]  # a _Stored row or a rerun's Outcome
    (args.workdir / "results.json").write_text(json.dumps({"seed": args.seed, "tally": tally(results),
                                                           "cases": rows}, indent=1, ensure_ascii=False))
    return results


def tally(results: list[Outcome]) -> dict[str, int]:
    c = Counter(r.outcome for r in results)
    return {"cases": len(results), **{k: c.get(k, 0) for k in OUTCOMES}}


def format_tally(results: list[Outcome]) -> str:
    t = tally(results)
    return (f"cases {t['cases']}, clean errors {t['clean_error']}, handled {t['handled']}, "
            f"tracebacks {t['traceback']}, hangs {t['hang']}, wrong answers {t['wrong_answer']}")


def finding_line(r: Outcome) -> str:
    what = {"traceback": "traceback", "hang": "hang", "wrong_answer": "wrong answer"}[r.outcome]
    return f"- [{r.case.area}] {r.case.id}: `{r.command}` ({r.case.desc}): {what}: {r.detail[:300]}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.badinput", description=__doc__.splitlines()[0])
    ap.add_argument("--all", action="store_true", help="every case (default: the CI subset)")
    ap.add_argument("--match", help="comma-separated globs of case ids")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "loyalist-badinput")
    ap.add_argument("--fresh", action="store_true", help="rebuild the shared fixtures")
    ap.add_argument("--findings", action="store_true", help="print failures as FINDINGS.md lines")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (each runs every n-th case)")
    ap.add_argument("--shard", help=argparse.SUPPRESS)  # k/n, used by --jobs
    args = ap.parse_args(argv)
    if args.list:
        from .fixtures import Base

        base = Base(*(args.workdir,) * 9, golden_rows=0)
        cases = generate_cases(base, args.seed)
        for c in cases:
            if (args.all or c.ci) and (not args.match or any(fnmatch.fnmatch(c.id, m) for m in args.match.split(","))):
                print(f"{c.id}\t{c.area}\t{c.mode}\t{'ci' if c.ci else ''}\t{c.desc}")
        return 0
    t0 = time.monotonic()
    if args.shard:
        k, n = (int(x) for x in args.shard.split("/"))
        run(args.workdir, ci_only=not args.all, match=args.match, seed=args.seed,
            shard=(k, n), base_dir=args.workdir.parent / "base", progress=lambda m: print(m, flush=True))
        return 0
    if args.jobs > 1:
        results = _run_jobs(args)
    else:
        results = run(args.workdir, ci_only=not args.all, match=args.match, seed=args.seed, fresh=args.fresh)
    bad = [r for r in results if not r.ok]
    print()
    for area in ("config", "data", "ops", "models", "report"):
        lines = [r for r in bad if r.case.area == area]
        if lines:
            print(f"{area}: {len(lines)} failing")
            for r in lines:
                print(finding_line(r) if args.findings else f"  {r.case.id}: {r.outcome}: {r.detail[:200]}")
    print(f"\nbad-input suite (seed {args.seed}, {'all cases' if args.all else 'CI subset'}, "
          f"{time.monotonic() - t0:.0f} s): {format_tally(results)}")
    print(f"results: {args.workdir / 'results.json'}")
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
