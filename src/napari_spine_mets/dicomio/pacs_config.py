"""PACS connection settings, configured once and saved as JSON in the user's config folder.

The file is ``$SPINE_METS_PACS_CONFIG`` when set, else
``$XDG_CONFIG_HOME/napari-spine-mets/pacs.json`` (``~/.config/...`` by default). It holds
no secrets and no patient data: AE titles, host, port, timeouts and the retrieval method.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import asdict, dataclass, fields
from os import PathLike
from pathlib import Path
from typing import Any

from .errors import PacsConfigError

__all__ = ["PacsConfig", "config_path", "load_config", "save_config"]

log = logging.getLogger(__name__)

_AET = re.compile(r"[\x20-\x5b\x5d-\x7e]{1,16}")  # DICOM AE: 1-16 printable chars, no backslash


@dataclass
class PacsConfig:
    """How to reach the PACS, and who we are to it."""

    host: str = "127.0.0.1"
    port: int = 104
    #: The PACS's AE title (the "called" AE).
    called_aet: str = "PACS"
    #: Our AE title; the PACS administrator must register it (with our host and
    #: ``store_port``) for C-MOVE, and usually for C-FIND/C-GET too.
    calling_aet: str = "SPINEMETS"
    #: Seconds to wait for the connection, the association and each response.
    timeout_s: float = 30.0
    #: "get" (C-GET: no port to open on this computer) or "move" (C-MOVE to our storage SCP).
    retrieve: str = "get"
    #: Where our storage SCP listens for C-MOVE: address ("" = every interface) and port.
    store_host: str = ""
    store_port: int = 11112

    def problems(self) -> list[str]:
        """What is wrong with the settings, one line each (empty when valid)."""
        out = []
        if not self.host.strip():
            out.append("host is empty")
        for name in ("port", "store_port"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 1 <= value <= 65535:
                out.append(f"{name} must be a whole number from 1 to 65535, got {value!r}")
        for name in ("called_aet", "calling_aet"):
            value = getattr(self, name)
            if not isinstance(value, str) or not _AET.fullmatch(value) or not value.strip():
                out.append(f"{name} must be 1-16 printable characters without backslash, got {value!r}")
        if not isinstance(self.timeout_s, (int, float)) or not 0 < float(self.timeout_s) <= 3600:
            out.append(f"timeout_s must be between 0 and 3600 seconds, got {self.timeout_s!r}")
        if self.retrieve not in ("get", "move"):
            out.append(f"retrieve must be 'get' or 'move', got {self.retrieve!r}")
        return out

    def check(self, where: str | PathLike[str] | None = None) -> "PacsConfig":
        problems = self.problems()
        if problems:
            raise PacsConfigError(where, "invalid PACS settings: " + "; ".join(problems))
        return self

    def describe(self) -> str:
        """One line naming the PACS, for messages (no patient data)."""
        return f"PACS '{self.called_aet}' at {self.host}:{self.port} (we are '{self.calling_aet}')"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str | PathLike[str] | None = None) -> "PacsConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise PacsConfigError(where, f"unknown setting(s) {unknown}; known: {sorted(known)}")
        return cls(**data).check(where)


def config_path() -> Path:
    """The settings file this user's tools read and write."""
    explicit = os.environ.get("SPINE_METS_PACS_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "napari-spine-mets" / "pacs.json"


def load_config(path: str | PathLike[str] | None = None) -> PacsConfig:
    """Read and check the saved settings; a missing file says how to create it."""
    file = Path(path) if path is not None else config_path()
    if not file.is_file():
        raise PacsConfigError(
            file, "no PACS settings saved yet: run 'spine-mets pacs configure --host ... --port ... "
            "--called-aet ... --calling-aet ...' or use the PACS dock"
        )
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PacsConfigError(file, f"cannot read the PACS settings ({type(exc).__name__}: {exc})") from None
    if not isinstance(data, dict):
        raise PacsConfigError(file, "the PACS settings must be a JSON object")
    try:
        return PacsConfig.from_json(data, file)
    except TypeError as exc:
        raise PacsConfigError(file, f"invalid PACS settings ({exc})") from None


def save_config(config: PacsConfig, path: str | PathLike[str] | None = None) -> Path:
    """Check and save the settings atomically; returns the file written."""
    from ..io.atomic import atomic_write_text

    file = Path(path) if path is not None else config_path()
    config.check(file)
    file.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(file, json.dumps(config.to_json(), indent=2, sort_keys=True) + "\n")
    log.info("PACS settings saved to %s", file)
    return file
