"""Writing outputs safely: atomic files and folders, strict JSON, run-folder locks, leftovers of killed runs.

Every verb writes through this module, so the same guarantees hold everywhere:

- **Atomic.** :func:`atomic_write` / :func:`write_text` / :func:`write_json` write a temporary file beside the target
  and ``os.replace`` it over the target; :func:`atomic_dir` builds a whole folder beside its target and moves it in
  at the end. A crash (even ``kill -9``) leaves the target as it was: never half-written.
- **One temporary name.** Temporaries are called ``.NAME.infogauss-tmp-<host>-<pid>-<random>`` (:func:`temp_path`).
  The next write into the same parent folder removes those of this machine whose process is gone
  (:func:`remove_stale`) — only this pattern, only dead owners, never anything else.
- **The umask is honoured.** Files come out ``0666 & ~umask`` (0644 under umask 022), folders ``0777 & ~umask``
  (0755), like files written by ``open``; ``tempfile``'s private 0600 / 0700 modes never reach the user.
- **Checked before any work.** :func:`check_writable` refuses an output that cannot be written (``/proc/x``, below a
  file, a folder where a file is expected ...), :func:`refuse_input_as_output` one that is (or contains) an input,
  hard links included, and :func:`check_overwrite` a file the run did not make.
- **One writer per run folder.** :class:`RunLock` holds ``.NAME.infogauss-lock`` beside the folder (pid and host
  inside, ``flock``-ed while the run lives): a second live writer is refused with one line naming the first; the lock
  of a killed run is taken over.
- **Strict JSON.** :func:`to_jsonable` turns numpy / torch scalars and arrays into Python numbers and NaN / ±Inf into
  ``null``, so ``json.dumps(..., allow_nan=False)`` always works.

Every refusal is an :class:`~infogauss.errors.InputError` with a one-line message.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
import secrets
import shutil
import socket
from pathlib import Path

import numpy as np

from infogauss.errors import InputError

TMP_TAG = ".infogauss-tmp-"
LOCK_SUFFIX = ".infogauss-lock"
HOST_TAG = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:16] or "host"  # temporaries of other machines are kept
_TMP_RE = re.compile(r"^\..+\.infogauss-tmp-([A-Za-z0-9]+)-(\d+)-[0-9a-f]+(\.[A-Za-z0-9]+)?$")


# ---------------------------------------------------------------------------------------------- modes


def umask() -> int:
    """The process umask (read from ``/proc`` when possible, so no thread ever sees a changed umask)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:  # pragma: no cover - not Linux
        pass
    old = os.umask(0o022)  # pragma: no cover
    os.umask(old)  # pragma: no cover
    return old  # pragma: no cover


def file_mode() -> int:
    """Mode of a new output file: ``0o666 & ~umask`` (0644 under umask 022)."""
    return 0o666 & ~umask()


def dir_mode() -> int:
    """Mode of a new output folder: ``0o777 & ~umask`` (0755 under umask 022)."""
    return 0o777 & ~umask()


# ---------------------------------------------------------------------------------------------- temporaries


def temp_path(target, suffix: str = "", pid: int | None = None) -> Path:
    """``PARENT/.NAME.infogauss-tmp-<host>-<pid>-<random><suffix>``: the one name of this project's temporaries."""
    target = Path(target)
    pid = os.getpid() if pid is None else pid
    return target.parent / f".{target.name}{TMP_TAG}{HOST_TAG}-{pid}-{secrets.token_hex(4)}{suffix}"


def pid_alive(pid: int) -> bool:
    """True when a process ``pid`` exists on this machine (or cannot be checked)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def remove_stale(parent) -> list[Path]:
    """Remove this project's temporaries in ``parent`` whose owning process is gone; returns what was removed.

    Only names matching ``.NAME.infogauss-tmp-<host>-<pid>-<hex>`` are considered, only those made on this machine
    (``<host>``: a shared folder may hold another machine's live run), and only when ``<pid>`` is not a live process
    (a killed run). Anything else in ``parent`` is never touched.
    """
    removed = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    for entry in entries:
        m = _TMP_RE.match(entry.name)
        if m is None or m.group(1) != HOST_TAG or int(m.group(2)) == os.getpid() or pid_alive(int(m.group(2))):
            continue
        path = Path(entry.path)
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
        except OSError:
            pass
    return removed


# ---------------------------------------------------------------------------------------------- files


def atomic_write(path, write, *, binary: bool = True) -> Path:
    """Call ``write(fh)`` on a temporary file beside ``path``, then rename it over ``path`` (mode ``file_mode()``).

    On any error (or interruption) the temporary file is removed and ``path`` is unchanged.
    """
    path = Path(path)
    remove_stale(path.parent)
    tmp = temp_path(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for open()
        with os.fdopen(fd, "wb" if binary else "w", newline=None if binary else "") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text(path, text: str) -> Path:
    """Atomically write ``text`` (UTF-8) to ``path``."""
    return atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def to_jsonable(x):
    """``x`` with numpy / torch scalars and arrays as Python values, tuples as lists, NaN / ±Inf as ``None``.

    Dict keys become strings; objects with ``to_dict()`` or ``_asdict()`` are converted through it.
    """
    if isinstance(x, dict):
        return {str(k): to_jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [to_jsonable(v) for v in x]
    if isinstance(x, bool | np.bool_):
        return bool(x)
    if isinstance(x, int | np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        v = float(x)
        return v if math.isfinite(v) else None
    if isinstance(x, np.ndarray):
        return to_jsonable(x.tolist())
    if type(x).__module__.startswith("torch") and hasattr(x, "tolist"):
        return to_jsonable(x.tolist())
    if hasattr(x, "to_dict"):
        return to_jsonable(x.to_dict())
    if hasattr(x, "_asdict"):
        return to_jsonable(x._asdict())
    if isinstance(x, Path):
        return str(x)
    return x


def dumps_json(obj, indent: int = 2) -> str:
    """Strict JSON text of :func:`to_jsonable` ``(obj)`` (never ``NaN`` / ``Infinity``), newline-terminated."""
    return json.dumps(to_jsonable(obj), indent=indent, allow_nan=False, default=str) + "\n"


def write_json(path, obj, indent: int = 2) -> Path:
    """Atomically write ``obj`` as strict JSON (see :func:`to_jsonable`)."""
    return write_text(path, dumps_json(obj, indent))


# ---------------------------------------------------------------------------------------------- folders


@contextlib.contextmanager
def atomic_dir(out, *, merge: bool = False, managed=()):
    """Yield a temporary folder beside ``out``; on success it becomes ``out``, on any error it is removed.

    A new ``out`` is one ``rename``. An existing ``out`` is swapped for the new folder (``merge=False``: the old
    folder goes, in one rename plus a removal) or, with ``merge=True``, keeps files this run did not write: each
    produced entry is moved in with ``os.replace`` and the ``managed`` names of an earlier run that this run did not
    produce are removed. The temporary folder follows :func:`temp_path`, so a killed run's folder is removed by the
    next one (:func:`remove_stale`).
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(out.parent)
    tmp = temp_path(out)
    os.mkdir(tmp, 0o777)  # the umask applies
    try:
        yield tmp
        if not out.exists():
            os.rename(tmp, out)
        elif merge:
            _merge_into(tmp, out, managed)
        else:
            old = temp_path(out, ".old")
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _merge_into(tmp: Path, out: Path, managed) -> None:
    made = {e.name for e in tmp.iterdir()}
    for name in managed:  # entries of an earlier run that this run did not make (e.g. --no-plots)
        old = out / name
        if name in made or not os.path.lexists(old):
            continue
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old)
        else:
            old.unlink()
    for entry in sorted(tmp.iterdir()):
        target = out / entry.name
        if entry.is_dir():
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            os.rename(entry, target)
        else:
            os.replace(entry, target)


# ---------------------------------------------------------------------------------------------- checks


def _nearest_existing(path: Path) -> Path:
    p = Path(os.path.abspath(path))
    while not os.path.lexists(p):
        p = p.parent
    return p


def check_writable(out, kind: str = "file", what: str = "--out") -> None:
    """Refuse, before any work, an output that cannot be created: ``kind`` is ``"file"`` or ``"dir"``.

    Checks that an existing ``out`` has the right kind, that no ancestor is a file, and that the nearest existing
    ancestor accepts a new entry (probed by creating and removing one temporary folder of this project's pattern,
    since permissions alone do not tell for ``/proc``, read-only mounts or root).
    """
    if kind not in ("file", "dir"):
        raise ValueError(f"kind must be 'file' or 'dir', got {kind!r}")
    out = Path(out)
    if out.exists():
        if kind == "file" and out.is_dir():
            raise InputError(f"{what} {out}: is a directory; give a file name")
        if kind == "dir" and not out.is_dir():
            raise InputError(f"{what} {out}: exists and is not a directory; give a folder")
    base = _nearest_existing(out.parent if not out.exists() or kind == "file" else out)
    if not base.is_dir():
        raise InputError(f"{what} {out}: {base} is a file, so nothing can be created below it; choose another path")
    probe = temp_path(base / "probe")
    try:
        os.mkdir(probe)
        os.rmdir(probe)
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise InputError(f"{what} {out}: cannot write in {base} ({reason}); choose a writable location") from None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def refuse_input_as_output(out, inputs, what: str = "--out", kind: str = "file") -> None:
    """Refuse an output ``out`` that is one of ``inputs`` (same resolved path or same inode: hard links), or, for a
    folder (``kind="dir"``), one that contains an input (replacing the folder would delete it)."""
    out = Path(out)
    target = Path(os.path.realpath(out))
    for src in inputs:
        if src is None:
            continue
        src = Path(src)
        real = Path(os.path.realpath(src))
        if real == target or _same_file(src, out):
            raise InputError(f"{what} {out}: is the input {src}; write the output to another path")
        if kind == "dir" and target in real.parents:
            raise InputError(f"{what} {out}: contains the input {src}; choose an output folder that holds no input")


def check_overwrite(out, allowed_suffixes=(), what: str = "--out", force: bool = False) -> None:
    """Refuse to replace an existing file ``out`` unless ``force`` or its suffix is in ``allowed_suffixes``."""
    out = Path(out)
    if out.exists() and not force and out.suffix.lower() not in allowed_suffixes:
        raise InputError(f"{what} {out}: exists and is not an output of this command; choose a new name")


# ---------------------------------------------------------------------------------------------- locks


class RunLock:
    """Exclusive lock on a run folder ``out``, held in ``PARENT/.NAME.infogauss-lock`` (text: ``pid host``).

    ``with RunLock(out):`` refuses (:class:`InputError`, one line naming the other process) while another live
    process holds it. The lock is an ``flock`` on that file, so the kernel drops it when its process dies: the lock
    file of a killed run is simply taken over. The file is removed on release.
    """

    def __init__(self, out, what: str = "--out"):
        self.out = Path(out)
        self.what = what
        self.path = self.out.parent / f".{self.out.name}{LOCK_SUFFIX}"
        self.fd: int | None = None
        self.made: list[Path] = []  # parent folders this lock created (removed again on release when empty)

    def acquire(self) -> RunLock:
        import fcntl

        missing = [p for p in (self.path.parent, *self.path.parent.parents) if not p.exists()]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.made = missing
        for _ in range(20):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
                raise InputError(
                    f"{self.what} {self.out}: in use by another infogauss run ({self._holder()}); "
                    "wait for it to finish or choose another folder"
                ) from None
            if _same_inode(fd, self.path):  # not a file a releasing holder just unlinked
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
                self.fd = fd
                return self
            os.close(fd)
        raise InputError(f"{self.what} {self.out}: could not take the lock {self.path}; try again")  # pragma: no cover

    def _holder(self) -> str:
        try:
            pid, host = self.path.read_text().split()[:2]
            return f"pid {pid} on {host}"
        except (OSError, ValueError):
            return f"lock file {self.path}"

    def release(self) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self.fd)
        self.fd = None
        for folder in self.made:  # deepest first; only folders that stayed empty (a failed run)
            try:
                folder.rmdir()
            except OSError:
                break

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> bool:
        self.release()
        return False


def _same_inode(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False
