"""Completion markers: a study is skipped on a rerun only when its finished result still applies.

A study's case folder gets two files beside ``case.json``, written last and atomically:
``pipeline_rows.json`` (its table rows, without the clinical columns, which are joined
from the manifest at the end of every run) and ``pipeline_done.json`` (the marker). The
marker records the pipeline settings hash, the software version, a fingerprint of the
inputs (file names and sizes, not times: a cohort copied to another disk still resumes)
and the SHA-256 of the rows file. A study is reused only when all of them match; a
worker killed mid-study leaves no marker, so the study is simply run again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from os import PathLike
from pathlib import Path
from typing import Any

from .. import __version__
from ..io.atomic import atomic_write_text, file_sha256
from .manifest import Study

__all__ = ["MARKER_FILE", "ROWS_FILE", "input_fingerprint", "write_done", "finished_rows", "clear_marker"]

log = logging.getLogger(__name__)

MARKER_FILE = "pipeline_done.json"
ROWS_FILE = "pipeline_rows.json"


def input_fingerprint(study: Study) -> str:
    """SHA-256 over the study ID, its input files (relative names and sizes) and its clinical values."""
    from .steps import input_files

    entries = []
    for role, root in study.files().items():
        for p in input_files(Study(study.study_id, root)):
            rel = p.relative_to(root).as_posix() if root.is_dir() else p.name
            entries.append([role, rel, p.stat().st_size])
    clinical = {k: (None if isinstance(v, float) and v != v else v) for k, v in sorted(study.clinical.items())}
    doc = {"study_id": study.study_id, "files": entries, "clinical": clinical}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def write_done(case_dir: str | PathLike[str], study: Study, settings_hash: str, rows: list[dict[str, Any]],
               extra: dict[str, Any] | None = None) -> Path:
    """Write the rows, then the marker naming their hash (the marker last: it means "complete")."""
    case_dir = Path(case_dir)
    rows_path = atomic_write_text(case_dir / ROWS_FILE, json.dumps(rows, sort_keys=True, allow_nan=True))
    marker = {"study_id": study.study_id, "settings_sha256": settings_hash, "software_version": __version__,
              "input_fingerprint": input_fingerprint(study), "rows_sha256": file_sha256(rows_path), **(extra or {})}
    return atomic_write_text(case_dir / MARKER_FILE, json.dumps(marker, indent=1, sort_keys=True))


def read_marker(case_dir: str | PathLike[str]) -> dict[str, Any] | None:
    try:
        doc = json.loads((Path(case_dir) / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def finished_rows(case_dir: str | PathLike[str], study: Study, settings_hash: str) -> list[dict[str, Any]] | None:
    """The stored rows when the study is complete for these settings, version and inputs; else None (rerun)."""
    case_dir = Path(case_dir)
    marker = read_marker(case_dir)
    if marker is None:
        return None
    why = None
    if marker.get("settings_sha256") != settings_hash:
        why = "settings changed"
    elif marker.get("software_version") != __version__:
        why = f"software version {marker.get('software_version')} -> {__version__}"
    elif marker.get("input_fingerprint") != input_fingerprint(study):
        why = "input files or clinical values changed"
    else:
        rows_path = case_dir / ROWS_FILE
        if not rows_path.is_file() or file_sha256(rows_path) != marker.get("rows_sha256"):
            why = "stored rows missing or damaged"
    if why:
        log.info("study %s is run again: %s", study.study_id, why)
        return None
    rows = json.loads((case_dir / ROWS_FILE).read_text(encoding="utf-8"))
    return rows if isinstance(rows, list) else None


def clear_marker(case_dir: str | PathLike[str]) -> None:
    """Remove the marker before a study is (re)computed, so a crash cannot leave a stale "complete"."""
    try:
        (Path(case_dir) / MARKER_FILE).unlink()
    except FileNotFoundError:
        pass
