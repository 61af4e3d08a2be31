"""A real PostgreSQL and an ``mlflow server`` on localhost for the team-setup tests.

PostgreSQL comes from the machine (``initdb``/``pg_ctl`` on the PATH or under /usr/lib/postgresql/*/bin; ``.ci/run``
installs the Debian package). ``initdb`` refuses to run as root, so as root the cluster is created and run by the
``postgres`` system user. The database password is made up here and reaches the server only through the
environment (``PGPASSWORD``), never through a command line or a URI.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_owner(argv: list[str], env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    """Run ``argv`` as the postgres user when we are root (initdb and postgres refuse root)."""
    if os.geteuid() == 0:
        argv = ["runuser", "-u", "postgres", "--", *argv]
    return subprocess.run(argv, env=env, check=True, capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="session")
def postgres():
    pytest.importorskip("psycopg", reason="psycopg is a test dependency: pip install -e '.[test]'")
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("PostgreSQL is not installed (no initdb/pg_ctl); .ci/run installs the 'postgresql' package")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL as the postgres user")
    root = Path(tempfile.mkdtemp(prefix="loyalist-pg-"))
    data = root / "data"
    superpass = secrets.token_urlsafe(16)
    password = secrets.token_urlsafe(16)
    pwfile = root / "pw"
    pwfile.write_text(superpass + "\n", encoding="utf-8")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(pwfile, "postgres")
    port = _free_port()
    _as_owner([initdb, "-D", str(data), "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256",
               f"--pwfile={pwfile}", "-E", "UTF8"])
    pwfile.unlink()
    _as_owner([pg_ctl, "-D", str(data), "-l", str(root / "postgres.log"), "-w", "-t", "60", "start",
               "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1"])
    import psycopg
    from psycopg import sql

    try:
        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", password=superpass, dbname="postgres",
                             autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE ROLE loyalist LOGIN PASSWORD {}").format(sql.Literal(password)))
            admin.execute("CREATE DATABASE mlflow OWNER loyalist")
        yield {"host": "127.0.0.1", "port": port, "user": "loyalist", "password": password, "db": "mlflow",
               "root": root}
    finally:
        subprocess.run((["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else [])
                       + [pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def mlflow_server(postgres, tmp_path_factory):
    """``mlflow server`` with the PostgreSQL backend store and a served artifact root; yields its URL and log."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    log = root / "server.log"
    env = {**os.environ, "PGPASSWORD": postgres["password"], "MLFLOW_DISABLE_TELEMETRY": "true"}
    backend = f"postgresql://{postgres['user']}@{postgres['host']}:{postgres['port']}/{postgres['db']}"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", backend,
             "--artifacts-destination", str(root / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
             "--workers", "1"],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        import urllib.request

        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("mlflow server did not start:\n" + log.read_text(errors="replace")[-3000:])
            time.sleep(1)
        yield {"url": url, "log": log, "artifacts": root / "artifacts"}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
