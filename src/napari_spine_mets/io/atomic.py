"""Crash-safe file writes: a reader sees the old file or the new one, never half of one.

Each write goes to a temporary file in the destination's folder (same file system, so
the rename is atomic), is flushed and fsync'ed, renamed over the destination with
``os.replace``, and then the folder itself is fsync'ed so the rename survives a power
cut. Temporary names start with a dot and end in ``.tmp`` so that
:func:`is_temporary_name` can recognise leftovers of a crash and clean them up.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from os import PathLike
from pathlib import Path

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "fsync_directory",
    "file_sha256",
    "is_temporary_name",
]

log = logging.getLogger(__name__)

# Indirection so tests can make the final rename fail (simulating a crash at that moment).
_replace = os.replace


def _default_mode() -> int:
    """Permissions a plain ``open()`` would give a new file (mkstemp's are 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_NEW_FILE_MODE = _default_mode()


def fsync_directory(folder: str | PathLike[str]) -> None:
    """Flush a folder's entries (new names, renames) to disk; a no-op where unsupported."""
    if os.name == "nt":  # Windows cannot open a directory for fsync; NTFS journals renames
        return
    try:
        fd = os.open(str(folder), os.O_RDONLY)
    except OSError as exc:  # pragma: no cover - exotic file systems
        log.debug("cannot open folder for fsync: %s", exc)
        return
    try:
        os.fsync(fd)
    except OSError as exc:  # pragma: no cover - some network file systems refuse
        log.debug("fsync of folder failed: %s", exc)
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and durably (see the module docstring)."""
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        try:
            mode = path.stat().st_mode & 0o7777 if path.exists() else _NEW_FILE_MODE
            os.chmod(tmp, mode)  # a replaced file keeps its permissions
        except OSError as exc:  # pragma: no cover - file systems without permissions
            log.debug("cannot set permissions: %s", exc)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        _replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)
    return path


def atomic_write_text(path: str | PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Text version of :func:`atomic_write_bytes`."""
    return atomic_write_bytes(path, text.encode(encoding))


def file_sha256(path: str | PathLike[str], chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks to bound memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def is_temporary_name(name: str) -> bool:
    """True for names this module (or ``io.nifti.write_nifti``) uses for files in flight."""
    return name.startswith(".") and (name.endswith(".tmp") or ".tmp." in name)
