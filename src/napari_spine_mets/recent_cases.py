"""The list of recently opened or saved case folders, so a user picks up where they left off.

Kept as a small JSON file in the user's config directory (``SPINE_METS_CONFIG_DIR``
overrides); only folder paths are stored, never patient data. A missing or damaged file
is an empty list, never an error: this is a convenience, not a record.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from .io.atomic import atomic_write_text

__all__ = ["recent_cases", "remember_case", "config_dir", "MAX_RECENT"]

log = logging.getLogger(__name__)

MAX_RECENT = 10
_FILE = "recent-cases.json"


def config_dir() -> Path:
    """The user's configuration folder for this plugin."""
    override = os.environ.get("SPINE_METS_CONFIG_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "napari-spine-mets"


def recent_cases(existing_only: bool = True) -> list[Path]:
    """Recent case folders, newest first (those still holding a case.json by default)."""
    path = config_dir() / _FILE
    try:
        entries = json.loads(path.read_text(encoding="utf-8")).get("cases", [])
    except FileNotFoundError:
        return []
    except (OSError, ValueError, AttributeError) as exc:
        log.warning("recent cases list %s unreadable (%s); starting a new one", path, exc)
        return []
    folders = [Path(e) for e in entries if isinstance(e, str)]
    return [f for f in folders if not existing_only or (f / "case.json").is_file()]


def remember_case(folder: str | os.PathLike[str]) -> list[Path]:
    """Put ``folder`` first in the recent list (deduplicated, at most :data:`MAX_RECENT`)."""
    folder = Path(folder).resolve()
    folders = [folder] + [f for f in recent_cases(existing_only=False) if f.resolve() != folder]
    folders = folders[:MAX_RECENT]
    target = config_dir()
    try:
        target.mkdir(parents=True, exist_ok=True)
        atomic_write_text(target / _FILE, json.dumps({"cases": [str(f) for f in folders]}, indent=1))
    except OSError as exc:  # a read-only home must not stop saving the case itself
        log.warning("could not update the recent cases list in %s: %s", target, exc)
    return folders
