"""Safe file names for exports built from patient, series or study names.

Such names come from DICOM headers, i.e. from whoever typed them at the scanner or from
a file a colleague sent: they can hold ``../``, slashes, control characters, Windows
reserved device names (``CON``, ``NUL``...) or thousands of characters. Used as a file
name unchanged they could write outside the export folder, fail on Windows or a network
share, or hide the extension. :func:`safe_filename` turns any text into one harmless
file name; :func:`safe_join` also checks the result stays inside its folder.
"""

from __future__ import annotations

import re
import unicodedata
from os import PathLike
from pathlib import Path

from ..errors import InputError

__all__ = ["MAX_NAME_BYTES", "RESERVED_NAMES", "safe_filename", "safe_join"]

#: Most file systems allow 255 bytes per name; keep room for suffixes a caller adds.
MAX_NAME_BYTES = 120
#: Device names Windows refuses as a file name, with any extension (case-insensitive).
RESERVED_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"}
    | {f"{dev}{n}" for dev in ("COM", "LPT") for n in (*"123456789", "\u00b9", "\u00b2", "\u00b3")}
)
# Separators, characters Windows forbids, and anything that is not a letter, digit or a few marks.
_UNSAFE = re.compile(r"[^\w.\- ()+,=@\[\]]+", flags=re.UNICODE)
_REPEATS = re.compile(r"([_ .])\1+")


def safe_filename(name: object, *, fallback: str = "export", suffix: str = "",
                  max_bytes: int = MAX_NAME_BYTES) -> str:
    """``name`` as a single safe file name (plus ``suffix``, e.g. ".nii.gz").

    Unicode is NFKC-normalised (so full-width slashes become slashes and are then
    removed); control and format characters, path separators and characters Windows
    forbids become ``_``; leading dots and trailing dots/spaces are stripped (no hidden
    files, no ``..``); a Windows reserved device name gets a leading ``_``; the result is
    cut to ``max_bytes`` of UTF-8 without splitting a character. An empty result is
    ``fallback``.
    """
    text = unicodedata.normalize("NFKC", str(name))
    text = "".join(" " if unicodedata.category(c).startswith(("C", "Z")) else c for c in text)
    text = _UNSAFE.sub("_", text)
    text = _REPEATS.sub(r"\1", text).strip(" ._")
    if not text:
        text = fallback
    if text.split(".")[0].strip().upper() in RESERVED_NAMES:
        text = "_" + text
    budget = max(1, max_bytes - len(suffix.encode("utf-8")))
    encoded = text.encode("utf-8")[:budget]
    text = encoded.decode("utf-8", errors="ignore").rstrip(" .")
    if not text or text.split(".")[0].strip().upper() in RESERVED_NAMES:
        text = fallback
    return text + suffix


def safe_join(folder: str | PathLike[str], name: object, *, suffix: str = "", fallback: str = "export") -> Path:
    """``folder / safe_filename(name)``, checked to resolve inside ``folder``."""
    base = Path(folder).resolve()
    target = (base / safe_filename(name, suffix=suffix, fallback=fallback)).resolve()
    if target.parent != base:
        raise InputError(folder, "an export name would leave the export folder")
    return target
