"""Save a :class:`~napari_spine_mets.case.Case` to a folder and load it back, crash-safely.

Folder layout::

    case.json        schema_version and everything but arrays and identifiers; each array
                     is referenced by file name with the SHA-256 of the file and of its content
    identity.json    patient name/ID/birth date, file paths and DICOM UIDs (optional):
                     leave it out to share the case de-identified
    volumes/<name>-<hash16>.nii.gz   one NIfTI per volume (content-addressed name)
    labels/<name>-<hash16>.nii.gz    one NIfTI per label map

Atomicity: every file is written to a temporary name in its folder, fsync'ed, renamed
into place, and the folder fsync'ed (:mod:`napari_spine_mets.io.atomic`). A save writes
the array files first, then identity.json, then case.json last; array names carry a
hash of their content, so the previous case.json keeps pointing at complete files
until the new one replaces it, and only then are unreferenced array files removed. A
crash at any moment leaves a folder that loads as the previous or the new save. An
array whose file already holds the same content is not rewritten, so autosave is cheap
(it costs one hash of each array). One writer per folder at a time: a thread lock guards
saves within a process, and the case-folder lock file
(:class:`~napari_spine_mets.safety.lock.CaseLock`) refuses a save from another process
(a second napari window, the CLI) with :class:`~napari_spine_mets.safety.lock.CaseLockedError`.

Schema evolution: :data:`SCHEMA_VERSION` is written into case.json. To change the
format, bump it and add ``MIGRATIONS[old] = function(data) -> data`` that turns a
version-``old`` case.json dict into a version-``old + 1`` one; :func:`load_case` applies
them in turn. Files from a newer version are refused rather than half-read.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__, case_arrays
from .case import Case
from .case_codec import decode, encode
from .case_parts import ClinicalEntries, Finding, Lesion, Provenance, Roi
from .errors import CaseFormatError, InputError
from .io.atomic import atomic_write_text, file_sha256, fsync_directory, is_temporary_name
from .safety.lock import CaseLock
from .volume import LabelMap, PatientIdentity, Volume, VolumeMetadata

__all__ = ["SCHEMA_VERSION", "MIGRATIONS", "CASE_FILE", "IDENTITY_FILE", "save_case", "load_case"]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
CASE_FILE = "case.json"
IDENTITY_FILE = "identity.json"
#: from-version -> function turning that version's case.json dict into the next version's.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}

_SUBFOLDERS = {"volumes": "volumes", "label_maps": "labels"}
#: VolumeMetadata fields that can identify a patient: kept in identity.json, not case.json.
_IDENTIFYING = ("source", "study_instance_uid", "series_instance_uid", "frame_of_reference_uid")
_PARTS: dict[str, Any] = {"lesions": list[Lesion], "rois": list[Roi], "clinical": ClinicalEntries,
                          "findings": list[Finding], "provenance": Provenance}
_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()


def save_case(case: Case, folder: str | PathLike[str], overwrite: bool = False) -> Path:
    """Save ``case`` into ``folder`` (created if needed); returns the path of case.json.

    A folder that holds a *different* case (another ``case_id``) is refused unless
    ``overwrite`` is True, so picking the wrong folder never replaces someone's work.
    Raises :class:`~napari_spine_mets.safety.lock.CaseLockedError` when another process
    holds the folder's lock (hold a ``CaseLock`` for a whole session to keep it).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with _lock(folder), CaseLock(folder):
        previous_doc = _previous_doc(folder / CASE_FILE)
        if not overwrite and previous_doc.get("case_id") not in (None, case.case_id):
            raise CaseFormatError(folder / CASE_FILE, "holds another case: choose another folder, "
                                                      "or overwrite it explicitly")
        previous = {r["file"]: r for kind in _SUBFOLDERS for r in previous_doc.get(kind, {}).values()}
        doc: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "saved_by": __version__,
                               "save_id": uuid.uuid4().hex, "case_id": case.case_id, "notes": case.notes}
        identity: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "case_id": case.case_id}
        for kind, sub in _SUBFOLDERS.items():
            (folder / sub).mkdir(exist_ok=True)
            doc[kind], identity[kind] = {}, {}
            for key, image in list(getattr(case, kind).items()):
                doc[kind][key], private = _save_image(folder, sub, key, image, previous)
                identity[kind][key] = [private]
            fsync_directory(folder / sub)
        _keep_previous_identity(identity, previous_doc, _previous_doc(folder / IDENTITY_FILE, arrays=False))
        doc.update({name: encode(getattr(case, name)) for name in _PARTS})
        atomic_write_text(folder / IDENTITY_FILE, json.dumps(identity, indent=1))
        path = atomic_write_text(folder / CASE_FILE, json.dumps(doc, indent=1))
        _collect_garbage(folder, doc)
    log.info("saved case %s (%d volumes, %d label maps)", case.case_id, len(case.volumes), len(case.label_maps))
    return path


def load_case(folder: str | PathLike[str]) -> Case:
    """Load a case saved by :func:`save_case`; raises CaseFormatError naming the bad file."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CaseFormatError(folder, "no such case folder")
    path = folder / CASE_FILE
    doc = _migrate(_read_json(path, "this folder holds no saved case"), path)
    try:
        case = Case(case_id=str(doc["case_id"]), notes=str(doc.get("notes", "")),
                    **{name: decode(kind, doc[name], name) for name, kind in _PARTS.items()})
        records = {kind: dict(doc[kind]) for kind in _SUBFOLDERS}
    except (KeyError, TypeError, ValueError) as exc:
        raise CaseFormatError(path, f"malformed case description ({exc})") from exc
    identity = _read_identity(folder, case.case_id)
    for kind in _SUBFOLDERS:
        for key, record in records[kind].items():
            private = _identity_entry(identity, kind, key, record)
            getattr(case, kind)[key] = _load_image(folder, kind, key, record, private)
    log.info("loaded case %s", case.case_id)
    return case


def _identity_entry(identity: dict[str, Any], kind: str, key: str, record: Any) -> dict[str, Any]:
    """The identity.json entry for this array's content ({} when there is none)."""
    section = identity.get(kind)
    entries = section.get(key) if isinstance(section, dict) else None
    content = record.get("array_sha256") if isinstance(record, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("array_sha256") == content:
            return entry
    if identity:
        log.warning("%s has no entry for %s '%s'", IDENTITY_FILE, kind, key)
    return {}


def _save_image(folder: Path, sub: str, key: str, image: Volume | LabelMap,
                previous: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Write one array file unless the same content is already there; its two JSON records."""
    from .io.nifti import write_nifti

    affine = np.array(image.affine, dtype=float)  # snapshot: the caller may edit during a save
    content = case_arrays.array_sha256(image.array, affine)
    relative = f"{sub}/{case_arrays.file_stem(key)}-{content[:16]}.nii.gz"
    target = folder / relative
    old = previous.get(relative)
    if old and old.get("array_sha256") == content and target.is_file() and target.stat().st_size == old.get("file_size"):
        file_hash, size, dtype, shape = old["file_sha256"], old["file_size"], image.array.dtype, image.array.shape
        log.debug("array %s unchanged, not rewritten", relative)
    else:
        # Write a copy and hash that copy: an in-place edit (a paint stroke on another thread)
        # during the save then cannot make the file and its recorded hash disagree.
        snapshot = np.array(image.array, copy=True)
        dtype, shape = snapshot.dtype, snapshot.shape
        content = case_arrays.array_sha256(snapshot, affine)
        relative = f"{sub}/{case_arrays.file_stem(key)}-{content[:16]}.nii.gz"
        target = folder / relative
        stored = case_arrays.storable(snapshot, f"{sub} '{key}'")
        write_nifti(Volume(stored, affine) if isinstance(image, Volume) else LabelMap(stored, affine), target)
        file_hash, size = file_sha256(target), target.stat().st_size
    record = {"name": image.name, "file": relative, "file_sha256": file_hash, "file_size": size,
              **case_arrays.describe(dtype, shape, affine, content)}
    private: dict[str, Any] = {"array_sha256": content}
    if isinstance(image, Volume):
        meta = image.metadata.to_json()
        private.update({f: meta.pop(f) for f in _IDENTIFYING})
        ident = image.metadata.identity
        private.update(name=ident.name, patient_id=ident.patient_id, birth_date=ident.birth_date)
        record["metadata"] = meta
    else:
        record["names"] = {str(k): v for k, v in image.names.items()}
        private["source"] = image.source
    previous[relative] = record  # another key with the same content reuses this file
    return record, private


def _load_image(folder: Path, kind: str, key: str, record: Any, private: Any) -> Volume | LabelMap:
    from .io.nifti import read_label_nifti, read_nifti

    case_path = folder / CASE_FILE
    try:
        relative = Path(str(record["file"]))
        if relative.is_absolute() or ".." in relative.parts or relative.parts[0] != _SUBFOLDERS[kind]:
            raise ValueError(f"file {relative} is outside {_SUBFOLDERS[kind]}/")
        expected_hash = str(record["file_sha256"])
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise CaseFormatError(case_path, f"malformed entry for {kind} '{key}' ({exc})") from exc
    path = folder / relative
    if not path.is_file():
        raise CaseFormatError(path, f"missing: case.json refers to it for {kind} '{key}'")
    if file_sha256(path) != expected_hash:
        raise CaseFormatError(path, "SHA-256 does not match case.json: the file is damaged or was changed")
    try:
        loaded = read_nifti(path) if kind == "volumes" else read_label_nifti(path)
    except InputError as exc:
        raise case_arrays.as_case_error(path, exc) from exc
    array, affine = case_arrays.restore(loaded, record, path)
    private = private or {}
    try:
        if kind == "label_maps":
            names = {int(k): str(v) for k, v in dict(record.get("names", {})).items()}
            return LabelMap(array, affine, names=names, name=str(record["name"]), source=str(private.get("source", "")))
        meta = VolumeMetadata.from_json({**dict(record.get("metadata", {})),
                                         **{f: str(private[f]) for f in _IDENTIFYING if f in private}})
        meta.identity = PatientIdentity(**{f: str(private.get(f, "")) for f in ("name", "patient_id", "birth_date")})
        return Volume(array, affine, metadata=meta, name=str(record["name"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise CaseFormatError(case_path, f"malformed entry for {kind} '{key}' ({exc})") from exc


def _read_json(path: Path, missing: str) -> dict[str, Any]:
    if not path.is_file():
        raise CaseFormatError(path, f"missing: {missing}")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CaseFormatError(path, f"not UTF-8 text ({exc.reason}); the file is damaged") from exc
    except json.JSONDecodeError as exc:
        raise CaseFormatError(path, f"invalid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from exc
    if not isinstance(data, dict):
        raise CaseFormatError(path, "invalid: expected a JSON object")
    return data


def _migrate(doc: dict[str, Any], path: Path) -> dict[str, Any]:
    """Bring a case.json dict to :data:`SCHEMA_VERSION` through :data:`MIGRATIONS`."""
    version = doc.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise CaseFormatError(path, f"no valid schema_version (found {version!r})")
    if version > SCHEMA_VERSION:
        raise CaseFormatError(path, f"schema_version {version} is newer than this software reads "
                                    f"({SCHEMA_VERSION}): update napari-spine-mets (now {__version__})")
    while version < SCHEMA_VERSION:
        if version not in MIGRATIONS:
            raise CaseFormatError(path, f"no migration from schema_version {version}")
        doc = MIGRATIONS[version](doc)
        version += 1
        doc["schema_version"] = version
        log.info("migrated case description to schema %d", version)
    return doc


def _read_identity(folder: Path, case_id: str) -> dict[str, Any]:
    """identity.json's content, {} when absent (a de-identified copy)."""
    path = folder / IDENTITY_FILE
    if not path.exists():
        log.info("no %s: the case is loaded without patient identity", IDENTITY_FILE)
        return {}
    data = _read_json(path, "")
    if data.get("case_id") != case_id:
        raise CaseFormatError(path, "belongs to another case (case_id differs from case.json)")
    return data


def _previous_doc(path: Path, arrays: bool = True) -> dict[str, Any]:
    """The JSON now in place at ``path`` ({} if none or unreadable: the save then rewrites all)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict):
            return {}
        for kind in _SUBFOLDERS if arrays else ():  # the shape the save relies on
            for record in doc.get(kind, {}).values():
                record["file"], record["array_sha256"]  # noqa: B018
        return doc
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def _keep_previous_identity(identity: dict[str, Any], previous_doc: dict[str, Any], previous: dict[str, Any]) -> None:
    """Keep identity entries the case.json still in place refers to, so a crash before it is
    replaced leaves identity.json matching it (they are dropped at the next save)."""
    if previous.get("case_id") != identity["case_id"]:
        return
    for kind in _SUBFOLDERS:
        for key, record in previous_doc.get(kind, {}).items():
            entries = identity[kind].setdefault(key, [])
            if any(e["array_sha256"] == record["array_sha256"] for e in entries):
                continue
            old = previous.get(kind, {}).get(key)
            entries.extend(e for e in (old if isinstance(old, list) else [])
                           if isinstance(e, dict) and e.get("array_sha256") == record["array_sha256"])


def _collect_garbage(folder: Path, doc: dict[str, Any]) -> None:
    """Remove array files and crash leftovers no longer referenced by the case.json just written."""
    keep = {r["file"] for kind in _SUBFOLDERS for r in doc[kind].values()}
    candidates = [p for sub in _SUBFOLDERS.values() for p in (folder / sub).iterdir()]
    candidates += [p for p in folder.iterdir()
                   if is_temporary_name(p.name) and p.name.startswith((f".{CASE_FILE}.", f".{IDENTITY_FILE}."))]
    for path in candidates:
        relative = path.relative_to(folder).as_posix()
        if relative in keep or not path.is_file():
            continue
        if is_temporary_name(path.name) or case_arrays.FILE_PATTERN.match(path.name):
            try:
                path.unlink()
                log.debug("removed %s", relative)
            except OSError as exc:
                log.warning("could not remove old file %s: %s", relative, exc)


def _lock(folder: Path) -> threading.Lock:
    key = folder.resolve()
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())
