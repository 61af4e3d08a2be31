"""Outputs a scheduler can rely on: whole output sets, the user's umask, no stale temp files, one-sentence faults."""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from loyalist.errors import InputFileError, OutputError
from loyalist.io import (
    atomic_path,
    clean_stale,
    manifest_path,
    output_set,
    read_parquet,
    settle,
    verify,
    write_csv,
    write_json,
    write_parquet,
    write_text,
)


def _frame(as_of: str) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": ["C1", "C2"], "as_of": [as_of, as_of], "p": [0.1, 0.9]})


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# ------------------------------------------------------------------------------------------- umask


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_files_get_the_users_umask_not_0600(tmp_path, mask, mode):
    old = os.umask(mask)
    try:
        written = [
            write_parquet(_frame("2024-12-31"), tmp_path / "a.parquet"),
            write_csv(_frame("2024-12-31"), tmp_path / "a.csv"),
            write_json({"a": 1}, tmp_path / "a.json"),
            write_text("x", tmp_path / "a.html"),
        ]
        with output_set(tmp_path / "set", "s") as out:
            write_parquet(_frame("2024-12-31"), out.path("b.parquet"))
        written += [out.target("b.parquet"), manifest_path(tmp_path / "set", "s")]
    finally:
        os.umask(old)
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in written} == {p.name: oct(mode) for p in written}


# -------------------------------------------------------------------------------------- output sets


def test_a_set_is_written_with_a_manifest_naming_the_run_and_every_hash(tmp_path):
    with output_set(tmp_path, "churn_risk", as_of="2024-12-31") as out:
        write_parquet(_frame("2024-12-31"), out.path("churn_risk.parquet"))
        write_csv(_frame("2024-12-31"), out.path("churn_risk.csv"))
    manifest = json.loads(manifest_path(tmp_path, "churn_risk").read_text(encoding="utf-8"))
    assert manifest["set"] == "churn_risk" and manifest["as_of"] == "2024-12-31" and len(manifest["run"]) == 16
    assert sorted(manifest["files"]) == ["churn_risk.csv", "churn_risk.parquet"]
    import hashlib

    for name, entry in manifest["files"].items():
        data = (tmp_path / name).read_bytes()
        assert entry == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    assert _hidden(tmp_path) == []  # no staging folder, temp file or lock file left
    assert verify(tmp_path / "churn_risk.csv")["run"] == manifest["run"]


def test_an_error_inside_the_set_keeps_the_previous_set_whole(tmp_path):
    with output_set(tmp_path, "s") as out:
        write_parquet(_frame("2024-11-30"), out.path("s.parquet"))
        write_csv(_frame("2024-11-30"), out.path("s.csv"))
    with pytest.raises(RuntimeError), output_set(tmp_path, "s") as out:
        write_parquet(_frame("2024-12-31"), out.path("s.parquet"))
        raise RuntimeError("killed between two files")
    assert read_parquet(tmp_path / "s.parquet")["as_of"].unique().tolist() == ["2024-11-30"]
    assert pd.read_csv(tmp_path / "s.csv")["as_of"].unique().tolist() == ["2024-11-30"]
    assert _hidden(tmp_path) == []


def test_files_the_new_set_no_longer_has_are_removed(tmp_path):
    with output_set(tmp_path, "report") as out:
        write_text("html", out.path("report_en.html"))
        write_text("pdf", out.path("report_en.pdf"))
    with output_set(tmp_path, "report") as out:
        write_text("html 2", out.path("report_en.html"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.manifest.json", "report_en.html"]


def test_two_sets_in_one_folder_do_not_touch_each_other(tmp_path):
    with output_set(tmp_path, "loyalty_scores") as out:
        write_text("a", out.path("loyalty_scores.csv"))
    with output_set(tmp_path, "churn_risk") as out:
        write_text("b", out.path("churn_risk.csv"))
    with output_set(tmp_path, "churn_risk") as out:
        write_text("c", out.path("churn_risk.csv"))
    assert (tmp_path / "loyalty_scores.csv").read_text() == "a" and (tmp_path / "churn_risk.csv").read_text() == "c"


_WRITER = textwrap.dedent("""
    import os, signal, sys
    import pandas as pd
    from loyalist.io import output_set, write_csv, write_parquet

    folder, as_of, die_at = sys.argv[1], sys.argv[2], sys.argv[3]
    frame = pd.DataFrame({"customer_id": ["C1", "C2"], "as_of": [as_of, as_of]})
    if die_at == "moving":  # killed after the commit point, half-way through moving the files into place
        real = os.replace
        moved = []
        def replace(src, dst, *a, **k):
            real(src, dst, *a, **k)
            moved.append(dst)
            if os.path.dirname(str(dst)) == folder and str(dst).endswith(".parquet"):
                os.kill(os.getpid(), signal.SIGKILL)
        os.replace = replace
    with output_set(folder, "churn_risk", as_of=as_of) as out:
        write_parquet(frame, out.path("churn_risk.parquet"))
        if die_at == "between":
            os.kill(os.getpid(), signal.SIGKILL)
        write_csv(frame, out.path("churn_risk.csv"))
""")


def _write_in_child(folder: Path, as_of: str, die_at: str = "never") -> int:
    proc = subprocess.run([sys.executable, "-c", _WRITER, str(folder), as_of, die_at], capture_output=True,
                          text=True, timeout=120)
    return proc.returncode


def _as_of_of(folder: Path) -> set[str]:
    return {*read_parquet(folder / "churn_risk.parquet")["as_of"], *pd.read_csv(folder / "churn_risk.csv")["as_of"]}


def test_a_run_killed_between_two_files_leaves_the_previous_set(tmp_path):
    assert _write_in_child(tmp_path, "2024-11-30") == 0
    assert _write_in_child(tmp_path, "2024-12-31", die_at="between") == -signal.SIGKILL
    assert _as_of_of(tmp_path) == {"2024-11-30"}  # not a Parquet of one date and a CSV of another
    verify(tmp_path / "churn_risk.parquet")
    verify(tmp_path / "churn_risk.csv")
    assert [n.split("-")[0] for n in _hidden(tmp_path)] == [".churn_risk.staging"]  # the dead run's folder...
    assert _write_in_child(tmp_path, "2025-01-31") == 0
    assert _hidden(tmp_path) == []  # ...is removed by the next run
    assert _as_of_of(tmp_path) == {"2025-01-31"}


def test_a_run_killed_while_moving_files_into_place_is_rolled_forward_by_the_next_reader(tmp_path):
    assert _write_in_child(tmp_path, "2024-11-30") == 0
    assert _write_in_child(tmp_path, "2024-12-31", die_at="moving") == -signal.SIGKILL
    assert (tmp_path / ".churn_risk.commit").is_dir()  # the dead run got past its commit point
    settle(tmp_path, "churn_risk")
    assert _as_of_of(tmp_path) == {"2024-12-31"}
    assert verify(tmp_path / "churn_risk.csv")["as_of"] == "2024-12-31"
    assert _hidden(tmp_path) == []


def test_verify_refuses_a_file_of_another_run(tmp_path):
    with output_set(tmp_path, "churn_risk") as out:
        write_csv(_frame("2024-12-31"), out.path("churn_risk.csv"))
    write_csv(_frame("2024-11-30"), tmp_path / "churn_risk.csv")  # replaced outside its set
    with pytest.raises(OutputError, match=r"'.*churn_risk\.csv' does not match the manifest .*rerun the job"):
        verify(tmp_path / "churn_risk.csv")


def test_verify_accepts_a_file_no_manifest_names(tmp_path):
    write_csv(_frame("2024-12-31"), tmp_path / "mine.csv")
    assert verify(tmp_path / "mine.csv") is None


# ------------------------------------------------------------------------------------ stale temp files


def test_temp_files_of_dead_processes_are_removed_by_the_next_write(tmp_path):
    dead = _dead_pid()
    stale_file = tmp_path / f".a.csv.{dead}.0badc0de.tmp"
    stale_file.write_text("half a file")
    stale_dir = tmp_path / f".s.staging-{dead}-0badc0de"
    stale_dir.mkdir()
    (stale_dir / "x.parquet").write_text("half")
    live = tmp_path / f".b.csv.{os.getpid()}.0badc0de.tmp"  # a write in progress in a live process
    live.write_text("in progress")
    write_csv(_frame("2024-12-31"), tmp_path / "a.csv")
    assert _hidden(tmp_path) == [live.name]
    live.unlink()
    assert clean_stale(tmp_path) == []


def test_an_error_while_writing_leaves_no_temp_file(tmp_path):
    with pytest.raises(ZeroDivisionError), atomic_path(tmp_path / "x.csv"):
        1 / 0
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------- file-system faults


def test_out_naming_an_existing_file_is_one_sentence(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match=r"The output folder '.*file' is an existing file, not a folder"):
        write_csv(_frame("2024-12-31"), tmp_path / "file" / "a.csv")
    with pytest.raises(OutputError, match=r"existing file, not a folder"):
        with output_set(tmp_path / "file", "s"):
            pass


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "the disk is full"), (errno.EROFS, "the file system is read-only"),
                                         (errno.EACCES, "permission denied")])
def test_a_full_or_read_only_folder_is_one_sentence(tmp_path, code, words):
    def writer(path):
        raise OSError(code, os.strerror(code))

    with pytest.raises(OutputError, match=rf"Cannot write the output file '.*a\.csv': {words}; free space"):
        with atomic_path(tmp_path / "a.csv") as tmp:
            writer(tmp)
    assert list(tmp_path.iterdir()) == []


def test_arrow_disk_full_errors_are_named_too(tmp_path):
    with pytest.raises(OutputError, match="the disk is full"):
        with atomic_path(tmp_path / "a.parquet"):
            raise OSError("[Errno 28] Error writing bytes to file. Detail: [errno 28] No space left on device")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders; the fault is simulated above")
def test_a_read_only_folder_is_one_sentence_for_real(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(OutputError, match="permission denied"):
            write_csv(_frame("2024-12-31"), folder / "a.csv")
        with pytest.raises(OutputError, match="permission denied"):
            with output_set(folder, "s"):
                pass
    finally:
        folder.chmod(0o755)


def test_a_truncated_parquet_file_is_one_sentence(tmp_path):
    path = write_parquet(_frame("2024-12-31"), tmp_path / "orders.parquet")
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(InputFileError, match=r"'.*orders\.parquet' is not a readable Parquet file .*truncated"):
        read_parquet(path)


# ------------------------------------------------------------------------------------------ readers


def test_a_corrupt_scores_file_is_one_sentence(tmp_path):
    from loyalist.report.inputs import read_scored_list

    path = write_parquet(_frame("2024-12-31"), tmp_path / "churn_risk.parquet")
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(InputFileError, match=r"The scored list '.*churn_risk\.parquet' cannot be read as Parquet"):
        read_scored_list(path)
    garbage = tmp_path / "churn_risk.csv"
    garbage.write_bytes(b"\xff\xfe\x00garbage\x00\x81" * 50)
    with pytest.raises(InputFileError, match=r"cannot be read as CSV .*pass the right file to --scores"):
        read_scored_list(garbage)


def test_a_truncated_clean_table_is_one_sentence(tmp_path):
    from loyalist.data.prepare import read_clean

    orders = pd.DataFrame({"order_id": ["O1"], "customer_id": ["C1"], "order_date": pd.to_datetime(["2024-01-02"]),
                           "amount": [3.0]})
    write_parquet(orders, tmp_path / "orders.parquet")
    write_parquet(orders[["customer_id"]], tmp_path / "customers.parquet")
    path = tmp_path / "customers.parquet"
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(InputFileError, match=r"'.*customers\.parquet' is not a readable Parquet file"):
        read_clean(tmp_path)


def test_an_export_killed_outright_leaves_nothing_the_next_export_does_not_clean(tmp_path):
    dead = _dead_pid()
    parent = tmp_path / "models" / "loyalist-churn"
    parent.mkdir(parents=True)
    stale = parent / f".3.staging-{dead}-0badc0de"
    (stale / "bundle").mkdir(parents=True)
    assert clean_stale(parent) == [stale] and list(parent.iterdir()) == []


def test_a_clean_table_copied_from_another_prepare_run_is_refused(tmp_path):
    import shutil

    from loyalist.config import CleaningConfig
    from loyalist.data.clean import clean_tables
    from loyalist.data.prepare import read_clean, write_clean
    from loyalist.data.synthetic import generate

    for seed, folder in ((1, tmp_path / "a"), (2, tmp_path / "b")):
        data = generate(n_customers=60, start="2023-01-01", end="2024-06-30", seed=seed, dirty=False)
        write_clean(clean_tables(data.tables(), CleaningConfig()), folder)
    assert set(read_clean(tmp_path / "a")) >= {"orders", "customers"}
    shutil.copy2(tmp_path / "b" / "orders.parquet", tmp_path / "a" / "orders.parquet")  # a mix of two runs
    with pytest.raises(OutputError, match=r"'.*a/orders\.parquet' does not match the manifest '.*clean\.manifest"):
        read_clean(tmp_path / "a")


def test_csv_parts_are_the_bytes_of_the_whole(tmp_path):
    """write_csv_parts over row slices = write_csv of the whole: header once, dates decided for the whole, a column
    missing in every row of one slice (object, all None) and text in another."""
    from loyalist.io import whole_day_columns, write_csv_parts

    whole = pd.DataFrame({
        "customer_id": ["C1", "C2", "C3", "C4", "C5"],
        "as_of": pd.to_datetime(["2024-12-31"] * 5),
        "seen": pd.to_datetime(["2024-12-30 10:00", None, "2024-12-31 00:00", None, None]),  # not whole days: a timestamp
        "note": [None, None, "a, \"quoted\" text", "b", None],
        "p": [0.1, float("nan"), 0.3, 0.4, 0.5],
        "tier": pd.Categorical(["x", "y", "x", "y", "x"]),
    })
    assert whole_day_columns(whole) == ["as_of"]
    expected = write_csv(whole, tmp_path / "whole.csv").read_bytes()
    parts = (whole.iloc[i:i + 2] for i in range(0, len(whole), 2))
    written = write_csv_parts(parts, tmp_path / "parts.csv", dates=whole_day_columns(whole))
    assert written.read_bytes() == expected
    assert expected.startswith(b"\xef\xbb\xbf") and len(expected.decode("utf-8-sig").splitlines()) == len(whole) + 1
    with pytest.raises(ValueError, match="columns"):
        write_csv_parts([whole.iloc[:2], whole.iloc[2:, :3]], tmp_path / "bad.csv")
    assert not (tmp_path / "bad.csv").exists()  # atomic: nothing left of a failed write
