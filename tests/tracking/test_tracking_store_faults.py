"""The tracking store a scheduler can rely on: faults are one sentence and exit 2 quickly, creation, migrations and
promotions are serialised by a lock, killed runs do not stay RUNNING."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from loyalist.cli import app
from loyalist.errors import OutputError, StoreError
from loyalist.tracking import end_dead_runs, setup_tracking, store_lock
from loyalist.tracking.store import run

REPO = Path(__file__).resolve().parents[2]


def _cli(args, **env):
    return CliRunner().invoke(app, args, env={"COLUMNS": "200", "MLFLOW_TRACKING_URI": "", **env})


@contextmanager
def _immutable(folder: Path):
    """Make ``folder`` unwritable even for root (``chattr +i``); skip when the file system or user cannot."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot make a folder read-only as root here (chattr: {done.stderr.decode().strip()})")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


# ------------------------------------------------------------------------------------------- faults


@pytest.mark.parametrize("content, words", [
    (b"this is not a database\n", "is not a SQLite database"),
    (b"SQLite format 3\x00" + b"\x10\x00\x01\x01" + b"\x00" * 80, "is damaged"),
])
def test_a_non_sqlite_or_damaged_store_is_one_sentence(tmp_path, isolated_mlflow, content, words):
    db = tmp_path / "mlruns" / "mlflow.db"
    db.parent.mkdir()
    db.write_bytes(content)
    with pytest.raises(StoreError, match=rf"The MLflow store '.*mlflow\.db' {words}.*move it away"):
        setup_tracking(f"sqlite:///{db}", "x")
    result = _cli(["models", "--workdir", str(tmp_path)])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert words in result.output


def test_a_truncated_store_is_one_sentence(tmp_path, tracking_store, isolated_mlflow):
    whole = (tracking_store["mlruns"] / "mlflow.db").read_bytes()
    db = tmp_path / "mlruns" / "mlflow.db"
    db.parent.mkdir()
    db.write_bytes(whole[: len(whole) // 3])
    result = _cli(["models", "--workdir", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert f"The MLflow store '{db}' is damaged" in result.output.replace("\n", "")


def test_a_read_only_store_folder_is_one_sentence(tmp_path, isolated_mlflow):
    mlruns = tmp_path / "mlruns"
    mlruns.mkdir()
    with _immutable(mlruns):
        with pytest.raises(OutputError, match=r"Cannot write the MLflow store folder '.*mlruns'"):
            setup_tracking(f"sqlite:///{mlruns / 'mlflow.db'}", "x")
        result = _cli(["models", "--workdir", str(tmp_path)])
    assert result.exit_code == 2 and "Cannot write the MLflow store folder" in result.output, result.output


def test_a_read_only_output_folder_is_one_sentence(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with _immutable(out):
        result = _cli(["track", "--previous", "a.parquet", "--current", "b.parquet", "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert f"Cannot write the --out folder '{out}'" in result.output.replace("\n", "")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_tracking_server_is_one_sentence_not_four_minutes(isolated_mlflow):
    started = time.monotonic()
    result = _cli(["models"], MLFLOW_TRACKING_URI=f"http://127.0.0.1:{_closed_port()}")
    elapsed = time.monotonic() - started
    assert result.exit_code == 2, result.output
    assert "did not answer within 5 s" in result.output and "MLFLOW_TRACKING_URI" in result.output
    assert elapsed < 10, elapsed


def test_a_server_that_accepts_but_never_answers_times_out(isolated_mlflow):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)  # connections are accepted by the kernel, nothing ever answers
        port = server.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(StoreError, match=r"did not answer within 1 s .*start it or fix MLFLOW_TRACKING_URI"):
            setup_tracking(f"http://127.0.0.1:{port}", "x", connect_timeout=1)
        assert time.monotonic() - started < 5


def test_mlflow_http_timeout_and_retries_come_from_the_config(tmp_path, monkeypatch, isolated_mlflow):
    from loyalist.jobs._common import start_tracking

    from loyalist.config import load_config

    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_TIMEOUT", raising=False)
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)
    (tmp_path / "c.yaml").write_text("tracking: {http_timeout_seconds: 7, http_max_retries: 1}\n")
    start_tracking(load_config([tmp_path / "c.yaml"]), tmp_path, {})
    assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "7"
    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "1"


def test_a_garbage_model_bundle_is_one_sentence(tmp_path):
    from loyalist.errors import InputFileError
    from loyalist.tracking import load_exported

    bundle = tmp_path / "models" / "loyalist-churn" / "3"
    bundle.mkdir(parents=True)
    (bundle / "MLmodel").write_text("flavors: [unclosed\n")
    with pytest.raises(InputFileError, match=r"The model bundle '.*3' cannot be loaded .*'loyalist export'"):
        load_exported(bundle)
    (bundle / "MLmodel").write_bytes(os.urandom(300))
    with pytest.raises(InputFileError, match=r"cannot be loaded"):
        load_exported(bundle)
    (bundle / "registry.json").write_text("{not json")
    with pytest.raises(InputFileError, match=r"'.*registry\.json' cannot be read"):
        load_exported(bundle)


# ------------------------------------------------------------------------------------- killed runs


_KILLED = textwrap.dedent("""
    import os, signal, sys, time
    from loyalist.tracking import setup_tracking
    from loyalist.tracking.store import run
    from loyalist.cli import _terminate

    setup_tracking(sys.argv[1], "loyalist-test")
    signal.signal(signal.SIGTERM, _terminate)
    with run("train-churn") as h:
        print(h.run_id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL if sys.argv[2] == "kill" else signal.SIGTERM)
        time.sleep(30)
""")


def _killed_run(uri: str, how: str) -> tuple[str, int]:
    proc = subprocess.run([sys.executable, "-c", _KILLED, uri, how], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "MLFLOW_TRACKING_URI": ""})
    return proc.stdout.strip().splitlines()[0], proc.returncode


def test_a_run_stopped_by_sigterm_ends_killed(fresh_store):
    run_id, code = _killed_run(fresh_store["uri"], "term")
    assert code == 128 + signal.SIGTERM
    assert MlflowClient(fresh_store["uri"]).get_run(run_id).info.status == "KILLED"


def test_a_run_killed_outright_is_marked_killed_by_the_next_job(fresh_store):
    run_id, code = _killed_run(fresh_store["uri"], "kill")
    assert code == -signal.SIGKILL
    client = MlflowClient(fresh_store["uri"])
    assert client.get_run(run_id).info.status == "RUNNING"  # nobody could end it
    with run("still-running"):  # a live run of this process is left alone
        live = mlflow.active_run().info.run_id
        assert end_dead_runs(fresh_store["experiment_id"]) == [run_id]
        assert client.get_run(live).info.status == "RUNNING"
    assert client.get_run(run_id).info.status == "KILLED"


def test_an_error_ends_the_run_failed_and_ctrl_c_ends_it_killed(fresh_store):
    client = MlflowClient(fresh_store["uri"])
    with pytest.raises(ZeroDivisionError), run("boom") as h:
        1 / 0
    assert client.get_run(h.run_id).info.status == "FAILED"
    with pytest.raises(KeyboardInterrupt), run("ctrl-c") as h2:
        raise KeyboardInterrupt
    assert client.get_run(h2.run_id).info.status == "KILLED"
    assert mlflow.active_run() is None


# ------------------------------------------------------------------------------------------- locks


def test_the_store_lock_serialises_processes_and_is_reentrant(fresh_store, tmp_path):
    holder = textwrap.dedent("""
        import sys, time
        from loyalist.tracking import setup_tracking, store_lock
        setup_tracking(sys.argv[1], "loyalist-test")
        with store_lock():
            print("locked", flush=True)
            time.sleep(3)
    """)
    proc = subprocess.Popen([sys.executable, "-c", holder, fresh_store["uri"]], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "MLFLOW_TRACKING_URI": ""})
    try:
        assert proc.stdout.readline().strip() == "locked"
        waited = threading.Event()

        def take():
            with store_lock(), store_lock():  # re-entrant: the inner one does not wait for the outer one
                waited.set()

        taker = threading.Thread(target=take)
        taker.start()
        assert not waited.wait(1.0)  # the other process holds it
        taker.join(60)
        assert waited.is_set() and proc.wait(60) == 0
    finally:
        proc.kill()


def test_a_champion_whose_artifacts_are_damaged_is_one_sentence(fresh_store, frames, churn_model_factory):
    from loyalist.errors import RegistryError
    from loyalist.tracking import load, log_model, promote

    train, _ = frames
    with run("train") as handle:
        info = log_model(handle, churn_model_factory(), registered_name="loyalist-churn", input_example=train)
    promote("loyalist-churn", info.version)
    pickles = list(fresh_store["mlruns"].rglob("model.pkl"))
    assert pickles
    for path in pickles:
        path.write_bytes(b"not a pickle")
    with pytest.raises(RegistryError, match=r"The artifacts of model 'loyalist-churn' version 1 in .* cannot be "
                                            r"loaded .*'loyalist train'"):
        load("loyalist-churn")


def test_a_full_store_disk_while_logging_is_one_sentence(fresh_store, monkeypatch):
    from mlflow.exceptions import MlflowException

    full = MlflowException("(raised as a result of Query-invoked autoflush) (sqlite3.OperationalError) database or "
                           "disk is full")
    with pytest.raises(StoreError, match=r"The MLflow store '.*' cannot be written \(database or disk is full\); "
                                         r"free space"):
        with run("logging") as handle:
            monkeypatch.setattr(handle._client, "log_batch", lambda *a, **k: (_ for _ in ()).throw(full))
            handle.log_params({"a": 1})
    monkeypatch.setattr(mlflow, "start_run", lambda *a, **k: (_ for _ in ()).throw(full))
    with pytest.raises(StoreError, match=r"cannot be written \(database or disk is full\)"):
        with run("start"):
            pass


def test_a_server_refusing_the_host_name_says_allowed_hosts(isolated_mlflow):
    """MLflow >= 3.5 answers 403 'Invalid Host header' to any host name outside its --allowed-hosts (by default
    localhost and private IPs): a team server started as docs/team-setup.md said refused http://mlflow.internal:5000,
    and the sentence only said to check that the server is up."""
    import http.server

    class Refusing(http.server.BaseHTTPRequestHandler):
        def _refuse(self) -> None:
            body = b"Invalid Host header - possible DNS rebinding attack detected"
            self.send_response(403)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _refuse

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        result = _cli(["models"], MLFLOW_TRACKING_URI=f"http://127.0.0.1:{port}")
    finally:
        server.shutdown()
        server.server_close()
    assert result.exit_code == 2, result.output
    assert f"--allowed-hosts 127.0.0.1:{port}" in result.output, result.output
    assert "Traceback" not in result.output


def test_a_missing_database_driver_names_a_pip_line_that_runs_in_any_shell(monkeypatch):
    """The sentence said ``pip install psycopg[binary]``: zsh (macOS's shell) reads the brackets as a glob and
    stops with 'no matches found'; the package is quoted as in docs/team-setup.md."""
    import sqlalchemy

    def no_driver(*args, **kwargs):
        raise ImportError("No module named 'psycopg'")

    monkeypatch.setattr(sqlalchemy, "create_engine", no_driver)
    with pytest.raises(StoreError, match=r"pip install 'psycopg\[binary\]'"):
        setup_tracking("postgresql://loyalist:secret@127.0.0.1:1/mlflow", "x", connect_timeout=1)
