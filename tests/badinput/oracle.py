"""Run one bad-input case and judge it.

The oracle, for every case: the exit code is 0 or 2; no traceback is printed; the case ends within its timeout;
wherever ``prepare`` succeeded, rows in = kept + rejected per table and rows in equals the records the suite
wrote itself; and, for cases with a known right answer, that answer (``Spec.checks``).

Outcomes: ``clean_error`` (exit 2 with a sentence), ``handled`` (exit 0, every check holds), ``traceback``,
``hang``, ``wrong_answer`` (exit 0 where the case must fail, a failed check, or an exit code other than 0/2).
Most cases run in-process through typer's CliRunner (a clean exit is a ``SystemExit`` with code 0 or 2); kills,
hangs and concurrent runs use subprocesses.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

__all__ = ["Spec", "Case", "Outcome", "run_case", "OUTCOMES", "prepare_ledger_problems"]

OUTCOMES = ("clean_error", "handled", "traceback", "hang", "wrong_answer")
#: Every time limit of a case is multiplied by this (the runner raises it when it reruns a timed-out case alone).
TIME_SCALE = [1.0]


def limit(seconds: float) -> float:
    """``seconds`` scaled by :data:`TIME_SCALE`."""
    return seconds * TIME_SCALE[0]
TRACEBACK = "Traceback (most recent call last)"

Check = Callable[[], "str | None"]


@dataclass
class Spec:
    """What to run for a case and what the right answer is."""

    argv: list[str]
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)
    must_fail: bool = False            # exit 0 is a wrong answer (the input cannot give a right result)
    must_succeed: bool = False         # exit 2 is a wrong answer (the input is fine)
    checks: list[Check] = field(default_factory=list)   # known answers, run after exit 0; return a problem or None
    prepare_out: Path | None = None    # folder prepare wrote: the row ledger is checked there after exit 0
    rows_in: dict[str, int] | None = None   # records the suite wrote itself, per table
    as_nobody: bool = False            # subprocess as an unprivileged user (read-only folders are real then)
    kill_after: float | None = None    # kill mode: seconds after start
    kill_signal: int = signal.SIGKILL
    after_kill: list[Check] = field(default_factory=list)  # kill / concurrent mode: checks after the processes end
    copies: int = 1                    # concurrent mode: processes started at once (argvs may differ: argvs)
    argvs: list[list[str]] | None = None
    cleanup: list[Callable[[], None]] = field(default_factory=list)  # run after the case (e.g. unmount)
    debug: bool = False                # --debug: the traceback is wanted, and must end in a loyalist error


@dataclass
class Case:
    id: str
    area: str                      # config | data | ops | models | report: the owner of a failure
    mode: str                      # inproc | subproc | kill | concurrent
    build: Callable[[Path], Spec]  # prepares the case folder, returns what to run
    desc: str
    ci: bool = False
    timeout: float = 90.0


@dataclass
class Outcome:
    case: Case
    outcome: str
    exit_code: int | None
    detail: str
    seconds: float
    command: str

    @property
    def ok(self) -> bool:
        return self.outcome in ("clean_error", "handled")


class _Hang(BaseException):
    """Raised by the alarm inside an in-process case that ran past its timeout."""


def _last_traceback_line(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    idx = max(i for i, ln in enumerate(lines) if TRACEBACK in ln)
    tail = [ln for ln in lines[idx + 1:] if not ln.startswith(" ")]
    return tail[0].strip() if tail else lines[-1].strip()


def prepare_ledger_problems(folder: Path, rows_in: dict[str, int] | None) -> list[str]:
    """Rows in = kept + rejected per table of ``folder/summary.csv``, and rows in = the suite's own count."""
    path = Path(folder) / "summary.csv"
    if not path.is_file():
        return [f"prepare exited 0 but wrote no {path.name} in {folder}"]
    s = pd.read_csv(path)
    problems = []
    for r in s.itertuples():
        if int(r.rows_in) != int(r.rows_kept) + int(r.rows_rejected):
            problems.append(f"{r.table}: rows_in {r.rows_in} != kept {r.rows_kept} + rejected {r.rows_rejected}")
    for table, n in (rows_in or {}).items():
        got = s.loc[s["table"] == table, "rows_in"]
        if got.empty:
            problems.append(f"{table}: no summary row, the file holds {n} records")
        elif int(got.iloc[0]) != n:
            problems.append(f"{table}: summary rows_in {int(got.iloc[0])} but the file holds {n} records")
    return problems


def _judge_exit(case: Case, spec: Spec, code: int | None, text: str) -> tuple[str, str]:
    if TRACEBACK in text:
        return "traceback", _last_traceback_line(text)
    if code == 2:
        if spec.must_succeed:
            return "wrong_answer", "exit 2 on a valid input: " + _first_error(text)
        return "clean_error", _first_error(text)
    if code != 0:
        return "wrong_answer", f"exit code {code} (expected 0 or 2): {_first_error(text)}"
    if spec.must_fail:
        return "wrong_answer", "exit 0 on an input that cannot give a right result"
    problems: list[str] = []
    if spec.prepare_out is not None:
        problems += prepare_ledger_problems(spec.prepare_out, spec.rows_in)
    for check in spec.checks:
        try:
            p = check()
        except Exception as exc:  # a check that cannot even read the outputs is a wrong answer too
            p = f"check could not read the outputs ({type(exc).__name__}: {exc})"
        if p:
            problems.append(p)
    if problems:
        return "wrong_answer", "; ".join(problems)
    return "handled", ""


def _first_error(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in lines:
        if ln.startswith("Error") or "Error:" in ln or "Invalid value" in ln:
            return ln[:300]
    return (lines[-1][:300] if lines else "(no output)")


# --------------------------------------------------------------------------------------------- runners


def _run_inproc(case: Case, spec: Spec) -> tuple[str, int | None, str]:
    from typer.testing import CliRunner

    from loyalist import cli

    runner = CliRunner()
    _reset_mlflow_uri()
    old_cwd = os.getcwd()
    old_handler = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, limit(case.timeout))
    try:
        os.chdir(spec.cwd)
        result = runner.invoke(cli.app, spec.argv, env=spec.env or None, catch_exceptions=True)
    except _Hang:
        return "hang", None, f"no exit after {limit(case.timeout):.0f} s"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)
        os.chdir(old_cwd)
        cli._STATE["debug"] = False
        _end_mlflow_runs()
        _reset_mlflow_uri()
    text = (result.stdout or "") + "\n" + (_stderr(result) or "")
    exc = result.exception
    if exc is not None and not isinstance(exc, SystemExit):
        import traceback

        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return "traceback", result.exit_code, text + "\n" + tb
    return "exit", result.exit_code, text


def _stderr(result) -> str:
    try:
        return result.stderr
    except ValueError:
        return ""


def _alarm(signum, frame):
    raise _Hang()


def _reset_mlflow_uri() -> None:
    """mlflow.set_tracking_uri also exports MLFLOW_TRACKING_URI: without this reset, every in-process case after
    the first would talk to the previous case's store."""
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    mod = sys.modules.get("mlflow.tracking._tracking_service.utils")
    if mod is not None and hasattr(mod, "_tracking_uri"):
        mod._tracking_uri = None


def _end_mlflow_runs() -> None:
    mlflow = sys.modules.get("mlflow")
    if mlflow is None:
        return
    try:
        while mlflow.active_run() is not None:
            mlflow.end_run()
    except Exception:  # the store of the case may be the broken one; nothing to end then
        pass


def _base_env(spec: Spec) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("MLFLOW_TRACKING_URI", None)
    env.update({"OMP_WAIT_POLICY": "passive", "MLFLOW_DISABLE_TELEMETRY": "true",
                "MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK": "true", "PYTHONUNBUFFERED": "1"})
    env.update(spec.env)
    return env


def _command(argv: list[str]) -> list[str]:
    return [sys.executable, "-m", "loyalist.cli", *argv]


def _demote():  # preexec_fn for as_nobody
    os.setgid(65534)
    os.setuid(65534)


def _popen(spec: Spec, argv: list[str], log: Path) -> subprocess.Popen:
    demote = spec.as_nobody and os.geteuid() == 0
    env = _base_env(spec)
    if demote:
        env["HOME"] = str(spec.cwd)
    fh = open(log, "wb")
    return subprocess.Popen(_command(argv), cwd=spec.cwd, env=env, stdout=fh, stderr=subprocess.STDOUT,
                            start_new_session=True, preexec_fn=_demote if demote else None)


def _kill_group(p: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    try:
        os.killpg(p.pid, sig)
    except ProcessLookupError:
        pass


def _run_subproc(case: Case, spec: Spec, folder: Path) -> tuple[str, int | None, str]:
    log = folder / "subprocess.log"
    p = _popen(spec, spec.argv, log)
    try:
        p.wait(timeout=limit(case.timeout))
    except subprocess.TimeoutExpired:
        _kill_group(p)
        p.wait()
        return "hang", None, f"no exit after {limit(case.timeout):.0f} s"
    return "exit", p.returncode, log.read_text(errors="replace")


def _run_kill(case: Case, spec: Spec, folder: Path) -> tuple[str, str]:
    log = folder / "killed.log"
    p = _popen(spec, spec.argv, log)
    try:
        p.wait(timeout=spec.kill_after)
    except subprocess.TimeoutExpired:
        _kill_group(p, spec.kill_signal)
        try:
            p.wait(timeout=limit(30))
        except subprocess.TimeoutExpired:
            _kill_group(p)
            p.wait()
            return "hang", f"still running {limit(30):.0f} s after signal {spec.kill_signal}"
    text = log.read_text(errors="replace")
    if spec.kill_signal == signal.SIGKILL or p.returncode in (0, 2) or p.returncode < 0:
        pass
    return _after(spec, text)


def _after(spec: Spec, text: str) -> tuple[str, str]:
    problems = []
    for check in spec.after_kill:
        try:
            p = check()
        except Exception as exc:
            p = f"after-check failed ({type(exc).__name__}: {exc})"
        if p:
            if p.startswith("TRACEBACK:"):
                return "traceback", p.removeprefix("TRACEBACK:")
            if p.startswith("HANG:"):
                return "hang", p.removeprefix("HANG:")
            problems.append(p)
    if problems:
        return "wrong_answer", "; ".join(problems)
    return "handled", ""


def _run_concurrent(case: Case, spec: Spec, folder: Path) -> tuple[str, str]:
    argvs = spec.argvs or [spec.argv] * spec.copies
    procs = [(_popen(spec, a, folder / f"proc{i}.log"), folder / f"proc{i}.log") for i, a in enumerate(argvs)]
    deadline = time.monotonic() + limit(case.timeout)
    hung = False
    for p, _ in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _kill_group(p)
            p.wait()
            hung = True
    if hung:
        return "hang", f"a concurrent process ran past {limit(case.timeout):.0f} s"
    for i, (p, log) in enumerate(procs):
        text = log.read_text(errors="replace")
        if TRACEBACK in text:
            return "traceback", f"process {i}: " + _last_traceback_line(text)
        if p.returncode not in (0, 2):
            return "wrong_answer", f"process {i} exit code {p.returncode}: {_first_error(text)}"
    return _after(spec, "")


def run_case(case: Case, workroot: Path) -> Outcome:
    """Build the case in ``workroot/<case id>`` and judge it."""
    folder = Path(workroot) / case.id
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    try:
        spec = case.build(folder)
    except Exception as exc:  # a broken case generator must show up in the tally, not stop the run
        return Outcome(case, "wrong_answer", None, f"SUITE ERROR building the case: {type(exc).__name__}: {exc}",
                       time.monotonic() - t0, "")
    try:
        return _run_built(case, spec, folder, t0)
    finally:
        for undo in spec.cleanup:
            try:
                undo()
            except Exception:
                pass


def _run_built(case: Case, spec: Spec, folder: Path, t0: float) -> Outcome:
    command = "loyalist " + " ".join(_quote(a) for a in spec.argv)
    if case.mode == "inproc":
        kind, code, text = _run_inproc(case, spec)
    elif case.mode == "subproc":
        kind, code, text = _run_subproc(case, spec, folder)
    elif case.mode == "kill":
        outcome, detail = _run_kill(case, spec, folder)
        return Outcome(case, outcome, None, detail, time.monotonic() - t0, command)
    elif case.mode == "concurrent":
        outcome, detail = _run_concurrent(case, spec, folder)
        return Outcome(case, outcome, None, detail, time.monotonic() - t0, command)
    else:
        raise ValueError(f"unknown case mode {case.mode!r}")
    if kind == "hang":
        return Outcome(case, "hang", None, text, time.monotonic() - t0, command)
    if kind == "traceback":
        last = _last_traceback_line(text)
        if spec.debug and last.startswith("loyalist.errors."):
            return Outcome(case, "clean_error", code, "--debug traceback of " + last, time.monotonic() - t0, command)
        return Outcome(case, "traceback", code, last, time.monotonic() - t0, command)
    outcome, detail = _judge_exit(case, spec, code, text)
    return Outcome(case, outcome, code, detail, time.monotonic() - t0, command)


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(str(arg))
