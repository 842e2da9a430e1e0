"""One writer per case folder: an exclusive lock file naming its owner.

Two napari windows, or a window and the CLI, saving the same case folder would each
replace case.json with their own view and silently drop the other's corrections. The
lock is a file ``.case.lock`` in the case folder holding the owner's pid, host, process
start time and the time it was taken, so the refusal can say who holds it
("this case is open in another window (pid 4711 on ws-12, since 09:14)").

Mutual exclusion uses ``fcntl.flock`` where available: the kernel drops the lock when
its process dies (even on SIGKILL or a power cut), so a lock left by a crash is
recognised as stale and taken over, never blocking a user. Where ``flock`` is missing or
refused (Windows, some network shares) the lock file itself is the lock (created with
``O_EXCL``); it counts as stale when its process no longer runs on the same host, or
when a lock from another host has not been refreshed for :data:`STALE_AFTER_S`.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import socket
import sys
import threading
import time
from contextlib import suppress
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Any

from ..errors import InputError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_FILE", "STALE_AFTER_S", "CaseLockedError", "CaseLock", "lock_owner", "held_here"]

log = logging.getLogger(__name__)

LOCK_FILE = ".case.lock"
#: A lock file of another host (no way to check its pid) untouched this long is stale.
STALE_AFTER_S = 30 * 60

#: folder -> [lock file descriptor, number of CaseLock users in this process]
_held: dict[Path, list[int]] = {}
_held_guard = threading.Lock()


class CaseLockedError(InputError):
    """The case folder is open for writing in another window or process."""


def _start_time(pid: int) -> str:
    """Process start time (clock ticks since boot) from /proc, '' where unknown: tells a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _alive(pid: int, start: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return not start or not _start_time(pid) or _start_time(pid) == start


def lock_owner(folder: str | PathLike[str]) -> dict[str, Any] | None:
    """What the lock file of ``folder`` says about its owner (None when absent or unreadable)."""
    try:
        data = json.loads((Path(folder) / LOCK_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def held_here(folder: str | PathLike[str]) -> bool:
    """True when this process holds the lock of ``folder``."""
    with _held_guard:
        return Path(folder).resolve() in _held


def _describe(owner: dict[str, Any] | None) -> str:
    if not owner:
        return "this case is open in another window or program"
    since = owner.get("since")
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(since)) if isinstance(since, (int, float)) else "?"
    where = "" if owner.get("host") == socket.gethostname() else f" on {owner.get('host', '?')}"
    return (f"this case is open in another window (pid {owner.get('pid', '?')}{where}, "
            f"{owner.get('program', 'napari-spine-mets')}, since {when})")


class CaseLock:
    """Exclusive lock of a case folder; use as ``with CaseLock(folder): ...`` or acquire()/release().

    Re-entrant within a process: a second CaseLock on a folder this process already holds
    succeeds and does nothing, so ``save_case`` inside an open napari session works.
    """

    def __init__(self, folder: str | PathLike[str], program: str | None = None) -> None:
        self.folder = Path(folder)
        self.program = program or Path(sys.argv[0] if sys.argv and sys.argv[0] else "python").name
        self._active = False

    @property
    def path(self) -> Path:
        return self.folder / LOCK_FILE

    def acquire(self) -> "CaseLock":
        """Take the lock or raise :class:`CaseLockedError` naming the holder."""
        if self._active:
            return self
        key = self.folder.resolve()
        with _held_guard:
            if key in _held:
                _held[key][1] += 1
            else:
                self.folder.mkdir(parents=True, exist_ok=True)
                fd = self._take()
                _write_owner(fd, self.program)
                _held[key] = [fd, 1]
            self._active = True
        return self

    def release(self) -> None:
        """Give the lock back (the last user in the process removes the lock file); safe to call twice."""
        if not self._active:
            return
        key = self.folder.resolve()
        with _held_guard:
            self._active = False
            entry = _held.get(key)
            if entry is None:
                return
            entry[1] -= 1
            if entry[1] > 0:
                return
            del _held[key]
            with suppress(OSError):
                self.path.unlink()
            with suppress(OSError):
                os.close(entry[0])

    def refresh(self) -> None:
        """Touch the lock file (call now and then from a long session: keeps a no-flock lock fresh)."""
        if self._active:
            with suppress(OSError):
                os.utime(self.path)

    def __enter__(self) -> "CaseLock":
        return self.acquire()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()

    # ---------------------------------------------------------------- internals
    def _take(self) -> int:
        for _ in range(20):
            fd = self._take_flock() if fcntl is not None else None
            if fd is None:
                fd = self._take_exclusive()
            if fd is not None:
                return fd
        raise CaseLockedError(self.folder, "could not take the case lock (the lock file keeps changing)")

    def _take_flock(self) -> int | None:
        """flock the lock file; None means 'flock unsupported here, use the O_EXCL scheme'."""
        assert fcntl is not None
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise CaseLockedError(self.folder, _describe(lock_owner(self.folder))) from None
            log.debug("flock unsupported here (%s): using an exclusive lock file", exc.strerror)
            return None
        try:  # the file may have been removed by its previous owner between open and flock
            same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            os.close(fd)
            return self._take_flock()
        previous = lock_owner(self.folder)
        if previous and previous.get("pid") != os.getpid():
            log.info("took over a stale case lock (its process %s no longer holds it)", previous.get("pid"))
        return fd

    def _take_exclusive(self) -> int | None:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            pass
        owner = lock_owner(self.folder)
        if not self._stale(owner):
            raise CaseLockedError(self.folder, _describe(owner))
        log.info("removing a stale case lock (pid %s)", owner.get("pid") if owner else "?")
        with suppress(FileNotFoundError):
            self.path.unlink()
        return None

    def _stale(self, owner: dict[str, Any] | None) -> bool:
        if owner is None:  # being written by its new owner right now, unless long abandoned
            try:
                return time.time() - self.path.stat().st_mtime > 10
            except FileNotFoundError:
                return True
        if owner.get("host") == socket.gethostname() and isinstance(owner.get("pid"), int):
            return not _alive(owner["pid"], str(owner.get("start", "")))
        try:
            return time.time() - self.path.stat().st_mtime > STALE_AFTER_S
        except FileNotFoundError:
            return True


def _write_owner(fd: int, program: str) -> None:
    """Record who holds the lock, for the message another window shows."""
    owner = {"pid": os.getpid(), "host": socket.gethostname(), "start": _start_time(os.getpid()),
             "since": time.time(), "program": program}
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, json.dumps(owner).encode("utf-8"))
    os.fsync(fd)
