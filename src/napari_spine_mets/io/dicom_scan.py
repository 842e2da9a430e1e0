"""Find DICOM files under a path and group them into series, reading headers only.

Grouping: by SeriesInstanceUID when present; when it is empty (some anonymisers blank it,
as in the project's reference data) by FrameOfReferenceUID (else StudyInstanceUID) +
SeriesNumber + Modality + SeriesDescription. Each group is then split by geometry
(orientation, matrix size, pixel spacing), so a localizer or a mixed-orientation folder
becomes several series instead of one broken volume. Files that are not DICOM images are
listed in :attr:`DicomScan.skipped` with the reason, never raised.
"""

from __future__ import annotations

import hashlib
import logging
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import NoImageDataError
from .dicom_headers import FileHeader, FrameRecord, header_from_dataset
from .dicom_pixels import transfer_syntax_problem
from .dicom_stack import StackGeometry, analyse_stack, axis_codes, orientation_name

__all__ = ["SkippedFile", "SeriesInfo", "DicomScan", "scan_dicom", "group_series"]

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]

NOT_DICOM = "not a DICOM file"
NO_PIXELS = "no pixel data (e.g. a DICOMDIR/structured report)"
#: What pydicom (which decodes elements lazily, on first access) raises for a damaged header.
_HEADER_ERRORS: tuple[type[BaseException], ...] = (
    OSError, EOFError, ValueError, TypeError, KeyError, AttributeError, IndexError, NotImplementedError,
    OverflowError, struct.error,
)


@dataclass(frozen=True)
class SkippedFile:
    """A file the scan could not use, and why."""

    path: Path
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"path": str(self.path), "reason": self.reason}


@dataclass
class SeriesInfo:
    """One series as the scan found it; ``shape``/``spacing`` are (slice, row, column) of the grid the reader builds."""

    key: str
    series_instance_uid: str
    study_instance_uid: str
    frame_of_reference_uid: str
    modality: str
    series_description: str
    series_number: str
    manufacturer: str
    transfer_syntax: str
    n_files: int
    n_slices: int
    shape: tuple[int, int, int]
    spacing: tuple[float | None, float, float]
    orientation: str
    axis_codes: str
    kvp: float | None
    contrast_agent: str
    convolution_kernel: str
    problems: list[str]
    files: list[Path]
    headers: list[FileHeader] = field(repr=False, default_factory=list)
    geometry: StackGeometry | None = field(repr=False, default=None)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-able summary, without patient identifiers."""
        return {
            "key": self.key,
            "series_instance_uid": self.series_instance_uid,
            "study_instance_uid": self.study_instance_uid,
            "frame_of_reference_uid": self.frame_of_reference_uid,
            "modality": self.modality,
            "series_description": self.series_description,
            "series_number": self.series_number,
            "manufacturer": self.manufacturer,
            "transfer_syntax": self.transfer_syntax,
            "n_files": self.n_files,
            "n_slices": self.n_slices,
            "shape": list(self.shape),
            "spacing": list(self.spacing),
            "orientation": self.orientation,
            "axis_codes": self.axis_codes,
            "kvp": self.kvp,
            "contrast_agent": self.contrast_agent,
            "convolution_kernel": self.convolution_kernel,
            "problems": list(self.problems),
            "files": [str(p) for p in self.files],
        }

    def label(self) -> str:
        """One-line description for messages (no identifiers)."""
        desc = f" '{self.series_description}'" if self.series_description else ""
        return f"{self.key}: {self.modality or '?'}{desc}, {self.n_slices} slice(s), {self.orientation}"


@dataclass
class DicomScan:
    """Every series found under :attr:`root`, and every file skipped."""

    root: Path
    series: list[SeriesInfo] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)

    def find(self, key: str) -> SeriesInfo | None:
        """The series whose key is ``key`` (or whose SeriesInstanceUID is, when that is unique)."""
        for info in self.series:
            if info.key == key:
                return info
        by_uid = [s for s in self.series if s.series_instance_uid and s.series_instance_uid == key]
        return by_uid[0] if len(by_uid) == 1 else None

    def to_json(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "series": [s.to_json() for s in self.series],
            "skipped": [s.to_json() for s in self.skipped],
        }


def scan_dicom(path: str | PathLike[str], progress: ProgressCallback | None = None) -> DicomScan:
    """Scan a file or a folder (recursively) for DICOM series; headers only, no pixel decoding.

    Raises :class:`NoImageDataError` when ``path`` does not exist; an empty folder gives an
    empty scan (the reader turns that into an error, the CLI just reports it).
    """
    root = Path(path)
    if not root.exists():
        raise NoImageDataError(root, "no such file or folder")
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    scan = DicomScan(root=root)
    headers: list[FileHeader] = []
    for done, file in enumerate(files, start=1):
        header, reason = _read_header(file)
        if header is None:
            scan.skipped.append(SkippedFile(file, reason))
        else:
            headers.append(header)
        if progress is not None:
            progress(done, len(files))
    scan.series = group_series(headers)
    log.info(
        "scanned %s: %d file(s), %d series, %d skipped",
        root.name or str(root), len(files), len(scan.series), len(scan.skipped),
    )
    return scan


def _read_header(file: Path) -> tuple[FileHeader | None, str]:
    """Header of ``file``, or None and the reason it cannot be used."""
    from pydicom import dcmread
    from pydicom.errors import BytesLengthException, InvalidDicomError

    errors = (*_HEADER_ERRORS, BytesLengthException)
    try:
        with open(file, "rb") as handle:
            head = handle.read(132)
        force = False
        if head[128:132] != b"DICM":
            # Files written without the preamble still start with a group 0x0002/0x0008 tag.
            if len(head) < 8 or head[:2] not in (b"\x02\x00", b"\x08\x00"):
                return None, NOT_DICOM
            force = True
        ds = dcmread(file, stop_before_pixels=True, force=force)
    except InvalidDicomError:
        return None, NOT_DICOM
    except errors as exc:
        return None, f"truncated or corrupt: {type(exc).__name__}: {_short(exc)}"
    try:
        if "DirectoryRecordSequence" in ds or not ds.get("Rows") or not ds.get("Columns"):
            if "DirectoryRecordSequence" not in ds and _is_image_sop_class(ds):
                return None, "truncated or corrupt: an image file whose header ends before the image attributes"
            return None, NO_PIXELS
        header = header_from_dataset(ds, file)
    except errors as exc:
        return None, f"truncated or corrupt: {type(exc).__name__}: {_short(exc)}"
    return header, ""


def _is_image_sop_class(ds: Any) -> bool:
    from pydicom.uid import UID

    meta = getattr(ds, "file_meta", None)
    uid = str(ds.get("SOPClassUID") or (meta.get("MediaStorageSOPClassUID") if meta is not None else "") or "")
    return bool(uid) and "Image Storage" in UID(uid).name


def _short(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def group_series(headers: Iterable[FileHeader]) -> list[SeriesInfo]:
    """Group headers into series (by UID, else by frame of reference + number), then by geometry."""
    groups: dict[tuple[str, ...], list[FileHeader]] = {}
    for header in headers:
        if header.series_uid:
            identity: tuple[str, ...] = ("uid", header.series_uid)
        else:
            identity = (
                "nouid",
                header.frame_of_reference_uid or header.study_uid,
                header.series_number,
                header.modality,
                header.series_description,
            )
        groups.setdefault(identity, []).append(header)
    out: list[SeriesInfo] = []
    for identity, members in groups.items():
        subgroups = _split_by_geometry(members)
        for signature, frames in subgroups:
            out.append(_series_info(identity, signature, frames, members, len(subgroups)))
    out.sort(key=lambda s: (s.modality, s.series_number.zfill(6), s.series_description, -s.n_slices, s.key))
    return out


def _split_by_geometry(members: list[FileHeader]) -> list[tuple[str, list[FrameRecord]]]:
    clusters: list[tuple[tuple[float, ...], int, int, tuple[float, ...], list[FrameRecord]]] = []
    for header in members:
        for frame in header.frames:
            iop = frame.orientation or (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
            spacing = frame.pixel_spacing or (1.0, 1.0)
            for c_iop, rows, cols, c_spacing, bucket in clusters:
                if (
                    rows == frame.rows and cols == frame.columns
                    and np.allclose(c_iop, iop, atol=1e-3)
                    and np.allclose(c_spacing, spacing, rtol=1e-4, atol=1e-5)
                ):
                    bucket.append(frame)
                    break
            else:
                clusters.append((tuple(iop), frame.rows, frame.columns, tuple(spacing), [frame]))
    out = []
    for iop, rows, cols, spacing, bucket in clusters:
        signature = f"{','.join(f'{v:.3f}' for v in iop)}|{rows}x{cols}|{spacing[0]:.4f},{spacing[1]:.4f}"
        out.append((signature, bucket))
    return out


def _series_info(
    identity: tuple[str, ...],
    signature: str,
    frames: list[FrameRecord],
    members: list[FileHeader],
    n_geometries: int,
) -> SeriesInfo:
    paths = {f.path for f in frames}
    headers = [h for h in members if h.path in paths]
    first = headers[0]
    digest = hashlib.sha1("\x1f".join((*identity, signature)).encode()).hexdigest()[:10]
    geo = analyse_stack(frames)
    problems = list(geo.problems)
    if n_geometries > 1:
        problems.append(
            f"split from a series with {n_geometries} different geometries "
            "(orientation, matrix or pixel spacing)"
        )
    if len(frames) == 1:
        problems.append("a single 2D image, not a 3D volume")
    syntax_problem = transfer_syntax_problem(first.transfer_syntax)
    if syntax_problem:
        problems.append(syntax_problem)
    if len({h.transfer_syntax for h in headers}) > 1:
        problems.append("files use different transfer syntaxes")
    if first.samples_per_pixel != 1:
        problems.append("colour (RGB) images: not a grey-value volume")
    row_sp, col_sp = geo.pixel_spacing
    return SeriesInfo(
        key=digest,
        series_instance_uid=first.series_uid,
        study_instance_uid=first.study_uid,
        frame_of_reference_uid=first.frame_of_reference_uid,
        modality=first.modality,
        series_description=first.series_description,
        series_number=first.series_number,
        manufacturer=first.manufacturer,
        transfer_syntax=first.transfer_syntax,
        n_files=len(headers),
        n_slices=len(frames),
        shape=(geo.grid_count, first.frames[0].rows, first.frames[0].columns),
        spacing=(geo.grid_step if geo.grid_count > 1 else None, row_sp, col_sp),
        orientation=orientation_name(geo.normal),
        axis_codes=axis_codes(geo.normal, geo.column_direction, geo.row_direction),
        kvp=first.kvp,
        contrast_agent=first.contrast_agent,
        convolution_kernel=first.convolution_kernel,
        problems=problems,
        files=sorted(paths),
        headers=headers,
        geometry=geo,
    )
