"""Valid UIDs for series whose UIDs were blanked (e.g. by an anonymiser), deterministically.

A PACS refuses instances without Study/Series/SOP Instance UIDs, and a SEG or SR cannot
reference them. :func:`assign_uids` writes a copy of the files with every empty or
invalid UID filled in and returns (and saves) the mapping, so the same input always gets
the same UIDs and anyone can trace a stored instance back to its original file:

* SOPInstanceUID: the file meta's MediaStorageSOPInstanceUID when that is valid (the
  anonymiser often leaves it), else derived from the series UID and the file's content;
* SeriesInstanceUID: derived from the scanner's grouping key of the series;
* StudyInstanceUID: derived from the FrameOfReferenceUID (else the folder's series keys);
* SOPClassUID, when blanked: the file meta's MediaStorageSOPClassUID (a PACS needs it to
  send the instance on: Orthanc fails C-GET/C-MOVE of instances without it).

Derived UIDs are pydicom's ``generate_uid(entropy_srcs=...)``: a SHA-512 of the inputs
under pydicom's UID root (a site with its own UID root can re-map them). Existing valid UIDs are never changed. Pixel data
is copied untouched (compressed data stays compressed).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from .errors import DicomExportError

__all__ = ["UidMapping", "assign_uids", "is_valid_uid"]

log = logging.getLogger(__name__)

_NAMESPACE = "napari-spine-mets/uids/1"


def is_valid_uid(value: Any) -> bool:
    """True for a non-empty, syntactically valid DICOM UID."""
    from pydicom.uid import UID

    text = str(value or "").strip()
    return bool(text) and UID(text).is_valid


@dataclass
class UidMapping:
    """What :func:`assign_uids` changed, file by file (paths relative to the folders)."""

    source: str
    output: str
    files: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"namespace": _NAMESPACE, "source": self.source, "output": self.output, "files": self.files}

    @property
    def n_changed(self) -> int:
        return sum(1 for f in self.files if f["assigned"])


def _derive(*parts: str) -> str:
    from pydicom.uid import generate_uid

    return str(generate_uid(entropy_srcs=[_NAMESPACE, *parts]))


def assign_uids(
    source: str | PathLike[str],
    output: str | PathLike[str],
    *,
    mapping_path: str | PathLike[str] | None = None,
) -> UidMapping:
    """Copy the DICOM series under ``source`` to ``output`` with valid UIDs; save the mapping.

    ``output`` must not exist (it is written in a temporary folder beside it and renamed
    when complete, so it never holds half the files). The mapping goes to ``mapping_path``
    (default: ``<output>.uid-mapping.json`` beside the folder).
    """
    from pydicom import dcmread

    from ..io.atomic import atomic_write_text
    from ..io.dicom_scan import scan_dicom

    src, out = Path(source), Path(output)
    if out.exists():
        raise DicomExportError(out, "already exists: choose a new output folder")
    scan = scan_dicom(src)
    if not scan.series:
        raise DicomExportError(src, "no DICOM image series found")
    mapping = UidMapping(source=str(src), output=str(out))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        for info in scan.series:
            study = info.study_instance_uid if is_valid_uid(info.study_instance_uid) else _derive(
                "study", info.frame_of_reference_uid or "|".join(s.key for s in scan.series)
            )
            series = info.series_instance_uid if is_valid_uid(info.series_instance_uid) else _derive(
                "series", study, info.key
            )
            for number, path in enumerate(sorted(info.files), start=1):
                ds = dcmread(path)
                relative = path.relative_to(src) if src.is_dir() else Path(path.name)
                before = {k: str(ds.get(k, "") or "") for k in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID")}
                meta_uid = str(ds.file_meta.get("MediaStorageSOPInstanceUID", "") or "")
                sop = before["SOPInstanceUID"]
                if not is_valid_uid(sop):
                    sop = meta_uid if is_valid_uid(meta_uid) else _derive("sop", series, _digest(path))
                sop_class = before["SOPClassUID"]
                if not is_valid_uid(sop_class):
                    sop_class = str(ds.file_meta.get("MediaStorageSOPClassUID", "") or "")
                    if not is_valid_uid(sop_class):
                        raise DicomExportError(path, "no SOP Class UID in the dataset nor in the file meta")
                ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = study, series, sop
                ds.SOPClassUID = sop_class
                ds.file_meta.MediaStorageSOPInstanceUID = sop
                target = tmp / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                ds.save_as(target, enforce_file_format=False)
                after = {"StudyInstanceUID": study, "SeriesInstanceUID": series, "SOPInstanceUID": sop,
                         "SOPClassUID": sop_class}
                mapping.files.append({
                    "file": str(relative), "series_key": info.key, "before": before, "after": after,
                    "assigned": before != after,
                })
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    target_json = Path(mapping_path) if mapping_path else out.with_name(out.name + ".uid-mapping.json")
    atomic_write_text(target_json, json.dumps(mapping.to_json(), indent=2, sort_keys=True) + "\n")
    log.info("assigned UIDs to %d of %d file(s); mapping in %s", mapping.n_changed, len(mapping.files), target_json.name)
    return mapping


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
