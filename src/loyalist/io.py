"""File output a scheduler can rely on: atomic files, whole output sets, the user's umask, no stale temp files.

One file (:func:`atomic_path`, :func:`write_parquet`, ...)
    Written to a hidden temporary file beside the target (``.<name>.<pid>.<random>.tmp``, created with mode 0666
    so the user's umask applies, not mkstemp's 0600), then renamed over the target: readers never see half a file.
    Temporary files left by a process that no longer runs are removed by the next write into that folder.

A set of files (:func:`output_set`)
    The files one run writes together (the churn-risk list Parquet + CSV + summary, the report HTML/PDF/JSON, the
    clean tables + rejects + summary) are replaced as a whole. They are written into a staging folder beside the
    targets (``.<set>.staging-<pid>-<random>/``) with a manifest (the run's id and every file's SHA-256 and size).
    The set is committed by one rename of the staging folder to ``.<set>.commit/``; its files are then moved into
    place and the manifest ``<set>.manifest.json`` comes last. A run killed before the commit leaves the previous
    set untouched (its staging folder is removed by the next run); a run killed after it is rolled forward by the
    next writer or reader (:func:`settle`), so the folder never holds a mix of two runs. Files of the previous set
    that the new set does not have are removed. Readers check a file against the manifest with :func:`verify`.
    Commits into one folder are serialised by an ``fcntl`` lock on the folder itself.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from loyalist.errors import InputFileError, OutputError

__all__ = [
    "OutputSet",
    "atomic_path",
    "check_writable",
    "clean_stale",
    "file_lock",
    "manifest_path",
    "output_set",
    "read_parquet",
    "settle",
    "verify",
    "write_parquet",
    "write_csv",
    "write_csv_parts",
    "whole_day_columns",
    "write_json",
    "write_text",
]

#: Name of the manifest inside a staging or commit folder; ``<set>.manifest.json`` once in place.
_MANIFEST = ".manifest.json"
_TMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp$")
_STAGING = re.compile(r"^\.(?P<set>.+)\.staging-(?P<pid>\d+)-[0-9a-f]{8}$")


# --------------------------------------------------------------------------------------- small helpers


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _errno(exc: OSError) -> int:
    """The errno of ``exc``; Arrow's OSError carries it only in its message ("[Errno 28] ...")."""
    if exc.errno:
        return exc.errno
    found = re.search(r"\[Errno (\d+)\]", str(exc))
    return int(found[1]) if found else 0


def _os_error(exc: OSError, path: Path, what: str) -> OutputError:
    """One sentence for a file-system fault while writing ``path``."""
    reason = {
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EROFS: "the file system is read-only",
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is exhausted",
        errno.ENOTDIR: "a path component is a file, not a folder",
        errno.EEXIST: "a file of that name exists",
        errno.EISDIR: "it is a folder",
    }.get(_errno(exc), exc.strerror or str(exc) or type(exc).__name__)
    return OutputError(
        f"Cannot write {what} '{path}': {reason}; free space, fix the permissions or choose another folder."
    )


def _ensure_folder(folder: Path, what: str = "the output folder") -> None:
    """Create ``folder`` (and parents); a file in the way or a fault is one :class:`OutputError` sentence."""
    if folder.exists() and not folder.is_dir():
        raise OutputError(
            f"{what[0].upper() + what[1:]} '{folder}' is an existing file, not a folder; pass a folder path or move "
            "the file away."
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        raise OutputError(
            f"{what[0].upper() + what[1:]} '{folder}' cannot be created because a parent path is a file; pass a "
            "folder path whose parents are folders."
        ) from exc
    except OSError as exc:
        raise _os_error(exc, folder, what) from exc


def check_writable(folder: Path | str, *, what: str = "the output folder") -> Path:
    """Create ``folder`` if needed and prove it can be written (a probe file is created and removed), before a job
    spends minutes on work it could not save. A file in the way, a read-only or full folder: one
    :class:`OutputError` sentence naming ``what`` and the folder."""
    folder = Path(folder)
    _ensure_folder(folder, what)
    probe = folder / f".write-probe.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        os.close(fd)
        probe.unlink()
    except OSError as exc:
        raise _os_error(exc, folder, what) from exc
    return folder


def clean_stale(folder: Path) -> list[Path]:
    """Remove temporary files and staging folders in ``folder`` left by processes that no longer run.

    Returns the paths removed. Entries of live processes (another run writing now) are kept.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith("."):
            continue
        match = _TMP.match(entry.name) or _STAGING.match(entry.name)
        if match is None or _pid_alive(int(match["pid"])):
            continue
        path = Path(entry.path)
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path)
            else:
                path.unlink()
        except FileNotFoundError:
            pass
        except OSError:
            continue
        removed.append(path)
    return removed


@contextmanager
def file_lock(path: Path | str, *, shared: bool = False) -> Iterator[None]:
    """Hold an ``fcntl`` lock on ``path`` (a folder, or a file created if needed and never deleted) for the
    ``with`` block.

    Exclusive by default; ``shared=True`` lets several readers hold it together. It is released when the block ends
    or the process dies (the kernel drops it), so a killed run never leaves the lock held.
    """
    import fcntl

    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY) if path.is_dir() else os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise _os_error(exc, path, "the lock file") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


# ------------------------------------------------------------------------------------------ one file


def _new_tmp(target: Path) -> Path:
    """Create an empty hidden temporary file beside ``target``; mode 0666 minus the umask (like ``open``)."""
    while True:
        tmp = target.parent / f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        except OSError as exc:
            raise _os_error(exc, target, "the output file") from exc
        os.close(fd)
        return tmp


@contextmanager
def atomic_path(target: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it over ``target``, on error delete it.

    The file gets the user's umask (mode 0666 & ~umask). A target that is an existing folder, a read-only or full
    folder give one :class:`~loyalist.errors.OutputError` sentence. Stale temporary files of dead processes in the
    folder are removed first.
    """
    target = Path(target)
    _ensure_folder(target.parent)
    if target.is_dir():
        raise OutputError(
            f"Cannot write the output file '{target}': a folder of that name exists; move it away or choose "
            "another --out folder."
        )
    clean_stale(target.parent)
    tmp_path = _new_tmp(target)
    try:
        try:
            yield tmp_path
        except OSError as exc:
            if _errno(exc) in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM):
                raise _os_error(exc, target, "the output file") from exc
            raise
        try:
            os.replace(tmp_path, target)
        except OSError as exc:
            raise _os_error(exc, target, "the output file") from exc
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def _write(target: Path | str, writer: Callable[[Path], Any]) -> Path:
    with atomic_path(target) as tmp:
        writer(tmp)
    return Path(target)


def read_parquet(path: Path | str, columns: list[str] | None = None, exclude: Collection[str] = ()) -> pd.DataFrame:
    """Read a Parquet file into pandas one column at a time, handing freed Arrow memory back after each.
    ``columns``: only these; else every column but ``exclude``.

    Same result as ``pd.read_parquet``, but the peak memory stays near the size of the frame: reading a 34M-row
    orders table at once peaks at about twice the frame (Arrow's decode buffers plus the pandas copy, and the
    allocator keeps the freed pages).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise InputFileError(
            f"'{path}' is not a readable Parquet file ({exc}); it is truncated or of another format; write it again "
            "with the job that produced it."
        ) from exc
    names = columns if columns is not None else [c for c in pf.schema_arrow.names
                                                 if not c.startswith("__index") and c not in exclude]
    parts = {}
    for name in names:
        parts[name] = pd.read_parquet(path, columns=[name])[name]
        pa.default_memory_pool().release_unused()
    if not parts:
        return pd.DataFrame(index=pd.RangeIndex(pf.metadata.num_rows))
    return pd.DataFrame(parts, copy=False)


def write_parquet(df: pd.DataFrame, target: Path | str) -> Path:
    """Write ``df`` (index dropped) as Parquet, atomically."""
    return _write(target, lambda p: df.to_parquet(p, index=False))


def write_csv(df: pd.DataFrame, target: Path | str, *, encoding: str = "utf-8-sig") -> Path:
    """Write ``df`` as CSV (UTF-8 with BOM by default, so Excel opens Chinese text correctly), atomically.

    UTF-8 output goes through Arrow's CSV writer (several times faster than pandas on millions of rows);
    categoricals are written as their values, missing values as empty fields, whole-day timestamp columns as dates
    (2024-12-31)."""
    if encoding.replace("_", "-").lower() not in ("utf-8", "utf-8-sig", "utf8"):
        return _write(target, lambda p: df.to_csv(p, index=False, encoding=encoding))
    return write_csv_parts([df], target, dates=whole_day_columns(df), encoding=encoding)


def whole_day_columns(df: pd.DataFrame) -> list[str]:
    """The timestamp columns of ``df`` whose values (missing ones aside) are all midnights: :func:`write_csv` writes
    them as dates."""
    out = []
    for name in df.columns:
        col = df[name]
        if pd.api.types.is_datetime64_any_dtype(col.dtype):
            present = col.dropna()
            if (present == present.dt.normalize()).all():
                out.append(name)
    return out


def write_csv_parts(
    parts: Iterable[pd.DataFrame], target: Path | str, *, dates: Collection[str] = (), encoding: str = "utf-8-sig"
) -> Path:
    """Write the row slices ``parts`` (same columns, in order) as one UTF-8 CSV file, atomically, holding one slice
    at a time: the same bytes as :func:`write_csv` of their concatenation when ``dates`` are the columns it would
    write as dates (:func:`whole_day_columns` of the whole; decided before the first slice is seen). ``parts`` may
    be a generator that makes each slice when asked (e.g. a CSV view of a list, slice by slice). The header comes
    from the first slice; each slice is formatted by its own values' types, so a column that is all missing in one
    slice (empty fields) and text in another gives the text the whole would give.
    """
    if encoding.replace("_", "-").lower() not in ("utf-8", "utf-8-sig", "utf8"):
        raise ValueError(f"write_csv_parts writes UTF-8 only; got encoding {encoding!r} (use write_csv).")

    def arrow_csv(path: Path) -> None:
        from concurrent.futures import Future, ThreadPoolExecutor

        import pyarrow.csv as pacsv

        names: list[str] | None = None
        rows_only = pacsv.WriteOptions(include_header=False)
        # a slice is formatted and written by Arrow in a thread (without the GIL) while the next one is made; at most
        # one slice waits, so two are in memory at once
        with open(path, "wb") as fh, ThreadPoolExecutor(max_workers=1, thread_name_prefix="loyalist-csv") as pool:
            if encoding.lower().endswith("sig"):
                fh.write(b"\xef\xbb\xbf")
            writing: Future | None = None
            for part in parts:
                table = _csv_table(part, dates)
                if names is None:
                    names = table.column_names
                    pacsv.write_csv(table.slice(0, 0), fh)  # the header alone, before any slice
                elif table.column_names != names:
                    raise ValueError(f"A CSV slice has the columns {table.column_names}, the first one {names}.")
                if writing is not None:
                    writing.result()
                    writing = None
                if table.num_rows:
                    writing = pool.submit(pacsv.write_csv, table, fh, rows_only)
            if writing is not None:
                writing.result()

    return _write(target, arrow_csv)


def _csv_table(df: pd.DataFrame, dates: Collection[str]) -> Any:
    """``df`` as the Arrow table the CSV writer formats: index dropped, categoricals as their values, the ``dates``
    columns (timestamps) as dates."""
    import pyarrow as pa

    plain = df.reset_index(drop=True)
    cats = [c for c in plain.columns if isinstance(plain[c].dtype, pd.CategoricalDtype)]
    if cats:
        plain = plain.assign(**{c: plain[c].astype("string") for c in cats})
    table = pa.Table.from_pandas(plain, preserve_index=False)
    for i, field in enumerate(table.schema):
        if field.name in dates and pa.types.is_timestamp(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(pa.date32()))
    return table


def write_json(data: Any, target: Path | str) -> Path:
    """Write JSON (UTF-8, Chinese kept readable), atomically."""
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    return _write(target, lambda p: p.write_text(text + "\n", encoding="utf-8"))


def write_text(text: str, target: Path | str) -> Path:
    """Write text (UTF-8), atomically."""
    return _write(target, lambda p: p.write_text(text, encoding="utf-8"))


# ----------------------------------------------------------------------------------------- file sets


def manifest_path(folder: Path | str, name: str) -> Path:
    """Where the manifest of set ``name`` lives once committed: ``<folder>/<name>.manifest.json``."""
    return Path(folder) / f"{name}.manifest.json"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_manifest(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise OutputError(
            f"The manifest '{path}' cannot be read ({exc}); delete it and rerun the job that writes this folder."
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        raise OutputError(
            f"The manifest '{path}' has no 'files' table; delete it and rerun the job that writes this folder."
        )
    return data


def _roll_forward(folder: Path, name: str) -> bool:
    """Finish a committed set whose run was killed while moving files into place (caller holds the lock).

    Idempotent: files already moved are skipped; the manifest is moved last. Returns True when there was one.
    """
    commit = folder / f".{name}.commit"
    if not commit.is_dir():
        return False
    new = _read_manifest(commit / _MANIFEST)
    if new is None:  # cannot happen for a folder renamed after its manifest was written; drop it
        shutil.rmtree(commit, ignore_errors=True)
        return True
    old = _read_manifest(manifest_path(folder, name)) or {"files": {}}
    for filename in new["files"]:
        staged = commit / filename
        if staged.exists():
            os.replace(staged, folder / filename)
    for filename in set(old["files"]) - set(new["files"]):
        (folder / filename).unlink(missing_ok=True)
    os.replace(commit / _MANIFEST, manifest_path(folder, name))
    shutil.rmtree(commit, ignore_errors=True)
    return True


def settle(folder: Path | str, name: str) -> None:
    """Before reading set ``name`` in ``folder``: finish a commit a killed run left half done, and remove stale
    staging folders and temporary files. Does nothing when the folder does not exist or cannot be written."""
    folder = Path(folder)
    if not (folder / f".{name}.commit").is_dir():
        return
    try:
        with file_lock(folder):
            _roll_forward(folder, name)
            clean_stale(folder)
    except OSError:  # a reader without write access: verify() then names the files that do not match
        return


def verify(path: Path | str, name: str | None = None) -> dict[str, Any] | None:
    """Check ``path`` against the manifest of its set (``name``, or any ``*.manifest.json`` beside it naming it).

    Returns the manifest (None when no manifest names the file: a file written by hand or by an older version).

    Raises
    ------
    OutputError
        The file is missing, or its size or SHA-256 differs from the manifest: it was changed or replaced
        outside the run that wrote its set.
    """
    path = Path(path)
    folder = path.parent
    names = [name] if name else sorted(p.name.removesuffix(".manifest.json") for p in folder.glob("*.manifest.json"))
    for set_name in names:
        settle(folder, set_name)
        manifest = _read_manifest(manifest_path(folder, set_name))
        if manifest is None or path.name not in manifest["files"]:
            continue
        entry = manifest["files"][path.name]
        if not path.is_file():
            raise OutputError(
                f"'{path}' is missing but the manifest '{manifest_path(folder, set_name)}' of run "
                f"{manifest.get('run')} lists it; rerun the job that writes '{folder}'."
            )
        if path.stat().st_size != entry.get("bytes") or _sha256(path) != entry.get("sha256"):
            raise OutputError(
                f"'{path}' does not match the manifest '{manifest_path(folder, set_name)}' of run "
                f"{manifest.get('run')} (different size or SHA-256): it was changed or replaced after that run; "
                f"rerun the job that writes '{folder}', or delete the manifest to accept the file as it is."
            )
        return manifest
    return None


class OutputSet:
    """The files of one run, staged together; see :func:`output_set`.

    Attributes
    ----------
    folder : Path
        Where the files land.
    name : str
        The set's name (``churn_risk``, ``report``, ``clean`` ...); the manifest is ``<name>.manifest.json``.
    run : str
        A random id of this run, recorded in the manifest.
    staging : Path
        The hidden staging folder the files are written into.
    """

    def __init__(self, folder: Path, name: str, staging: Path, run: str, meta: dict[str, Any]) -> None:
        self.folder, self.name, self.staging, self.run, self.meta = folder, name, staging, run, meta
        self._files: list[str] = []

    def path(self, filename: str) -> Path:
        """The staging path to write ``filename`` to (a plain file name, no folders); the final path is
        ``folder / filename``, returned by :meth:`target`."""
        if not filename or "/" in filename or "\\" in filename or filename.startswith("."):
            raise ValueError(f"An output set file name must be a plain visible name; got {filename!r}.")
        if filename not in self._files:
            self._files.append(filename)
        return self.staging / filename

    def target(self, filename: str) -> Path:
        """Where ``filename`` is once the set is committed."""
        return self.folder / filename

    @property
    def files(self) -> dict[str, Path]:
        """Final path of every file written so far, by file name."""
        return {f: self.folder / f for f in self._files}

    def _commit(self) -> None:
        entries: dict[str, dict[str, Any]] = {}
        for filename in self._files:
            staged = self.staging / filename
            if not staged.is_file():
                raise OutputError(
                    f"The output set {self.name!r} names '{filename}' but nothing was written to it; this is a bug "
                    "in the job, please report it."
                )
            entries[filename] = {"sha256": _sha256(staged), "bytes": staged.stat().st_size}
        manifest = {"set": self.name, "run": self.run, **self.meta, "files": entries}
        try:
            with open(self.staging / _MANIFEST, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(manifest, ensure_ascii=False, indent=2, default=str) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            for filename in self._files:  # the data must be on disk before the rename that publishes it
                fd = os.open(self.staging / filename, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            with file_lock(self.folder):
                _roll_forward(self.folder, self.name)  # an earlier killed run's set, so the order stays right
                os.rename(self.staging, self.folder / f".{self.name}.commit")  # the commit point
                _roll_forward(self.folder, self.name)
        except OSError as exc:
            raise _os_error(exc, self.folder, f"the output set {self.name!r} in") from exc


@contextmanager
def output_set(folder: Path | str, name: str, **meta: Any) -> Iterator[OutputSet]:
    """Write a set of files that replaces the previous set of the same ``name`` in ``folder`` as a whole.

    Write each file to ``out.path(filename)`` inside the block (with :func:`write_parquet` etc. or any writer);
    when the block ends without error the set is committed (see the module docstring); on error or a kill the
    staging folder is removed and the previous set stays as it was. ``meta`` (JSON-safe values, e.g. ``as_of``)
    goes into the manifest.

    Example
    -------
    >>> with output_set(out_dir, "churn_risk", as_of="2024-12-31") as out:   # doctest: +SKIP
    ...     write_parquet(df, out.path("churn_risk.parquet"))
    ...     write_json(summary, out.path("churn_risk_summary.json"))
    >>> out.files["churn_risk.parquet"]                                       # doctest: +SKIP
    """
    folder = Path(folder)
    _ensure_folder(folder)
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name):
        raise ValueError(f"An output set name must be letters, digits, '_', '-' or '.'; got {name!r}.")
    clean_stale(folder)
    run = secrets.token_hex(8)
    staging = folder / f".{name}.staging-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        os.mkdir(staging, 0o777)
    except OSError as exc:
        raise _os_error(exc, folder, "the output folder") from exc
    out = OutputSet(folder, name, staging, run, meta)
    try:
        try:
            yield out
        except OSError as exc:  # a writer that wrote straight into the staging folder ran out of space, ...
            if _errno(exc) in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM):
                raise _os_error(exc, folder, f"the output set {name!r} in") from exc
            raise
        out._commit()
    finally:
        shutil.rmtree(staging, ignore_errors=True)
