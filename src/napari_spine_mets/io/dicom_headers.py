"""Header parsing for DICOM files: one :class:`FileHeader` per file, one :class:`FrameRecord` per 2D frame.

Single-frame files (classic CT/MR) and enhanced multi-frame files (per-frame and shared
functional groups) are brought to the same shape here, so grouping, sorting and assembly
never need to know which kind of file a slice came from.

Nothing in this module logs or formats patient identifiers; they are collected into a
:class:`~napari_spine_mets.volume.PatientIdentity`, whose ``repr`` is redacted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..volume import PatientIdentity

#: More frames than this in one file is a damaged header, not a scan (and would take minutes to list).
MAX_FRAMES_PER_FILE = 65536

__all__ = ["FrameRecord", "FileHeader", "header_from_dataset", "parse_age_years", "pixel_value_range"]


@dataclass(frozen=True)
class FrameRecord:
    """Geometry and value mapping of one 2D frame (a slice) of a file."""

    path: Path
    frame: int
    position: tuple[float, float, float] | None
    orientation: tuple[float, float, float, float, float, float] | None
    pixel_spacing: tuple[float, float] | None
    rows: int
    columns: int
    slope: float
    intercept: float
    instance_number: int | None


@dataclass
class FileHeader:
    """What one file's header says, reduced to what the readers use."""

    path: Path
    transfer_syntax: str
    sop_class: str
    modality: str
    series_uid: str
    study_uid: str
    frame_of_reference_uid: str
    series_number: str
    series_description: str
    manufacturer: str
    kvp: float | None
    contrast_agent: str
    convolution_kernel: str
    patient_age_years: float | None
    patient_sex: str
    gantry_tilt: float | None
    bits_stored: int
    pixel_representation: int
    samples_per_pixel: int
    number_of_frames: int
    frames: list[FrameRecord]
    identity: PatientIdentity = field(default_factory=PatientIdentity, repr=False)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v).strip() for v in value if str(v).strip())
    return str(value).strip()


def _float(value: Any) -> float | None:
    try:
        if value is None or value == "":
            return None
        return float(value)
    except (TypeError, ValueError):
        return None


def _floats(value: Any, n: int) -> tuple[float, ...] | None:
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        return None
    return out if len(out) == n else None


def parse_age_years(age: str) -> float | None:
    """DICOM Age String ("045Y", "006M", "010W", "003D") -> years; None when blank or malformed."""
    match = re.fullmatch(r"\s*(\d{1,3})\s*([DWMY]?)\s*", age or "")
    if not match:
        return None
    number = float(match.group(1))
    divisor = {"Y": 1.0, "": 1.0, "M": 12.0, "W": 52.1775, "D": 365.25}[match.group(2)]
    return round(number / divisor, 3)


def pixel_value_range(bits_stored: int, pixel_representation: int) -> tuple[int, int]:
    """Smallest and largest stored value that BitsStored/PixelRepresentation allow."""
    bits = max(1, min(int(bits_stored or 16), 32))
    if pixel_representation == 1:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def _group_item(ds: Any, group_seq: str, index: int | None, macro: str) -> Any:
    """First item of ``macro`` inside a functional group (per-frame item ``index``, or shared)."""
    groups = ds.get(group_seq)
    if not groups:
        return None
    if index is None:
        item = groups[0]
    elif index < len(groups):
        item = groups[index]
    else:
        return None
    seq = item.get(macro)
    return seq[0] if seq else None


def _functional(ds: Any, frame: int, macro: str, keyword: str) -> Any:
    """Value from the per-frame group, else the shared group, else the top-level dataset."""
    for group_seq, index in (
        ("PerFrameFunctionalGroupsSequence", frame),
        ("SharedFunctionalGroupsSequence", None),
    ):
        item = _group_item(ds, group_seq, index, macro)
        if item is not None and keyword in item:
            return item.get(keyword)
    return ds.get(keyword)


def header_from_dataset(ds: Any, path: Path) -> FileHeader:
    """Reduce a (header-only or full) pydicom dataset to a :class:`FileHeader`."""
    meta = getattr(ds, "file_meta", None)
    transfer_syntax = _text(meta.get("TransferSyntaxUID")) if meta is not None else ""
    sop_class = _text(ds.get("SOPClassUID")) or (_text(meta.get("MediaStorageSOPClassUID")) if meta is not None else "")
    n_frames = int(_float(ds.get("NumberOfFrames")) or 1)
    if not 1 <= n_frames <= MAX_FRAMES_PER_FILE:
        raise ValueError(f"NumberOfFrames {n_frames} is not between 1 and {MAX_FRAMES_PER_FILE}")
    rows = int(ds.get("Rows") or 0)
    columns = int(ds.get("Columns") or 0)
    enhanced = "PerFrameFunctionalGroupsSequence" in ds or "SharedFunctionalGroupsSequence" in ds
    frames: list[FrameRecord] = []
    instance = _float(ds.get("InstanceNumber"))
    for i in range(n_frames):
        if enhanced:
            position = _functional(ds, i, "PlanePositionSequence", "ImagePositionPatient")
            orientation = _functional(ds, i, "PlaneOrientationSequence", "ImageOrientationPatient")
            spacing = _functional(ds, i, "PixelMeasuresSequence", "PixelSpacing")
            slope = _functional(ds, i, "PixelValueTransformationSequence", "RescaleSlope")
            intercept = _functional(ds, i, "PixelValueTransformationSequence", "RescaleIntercept")
        else:
            position = ds.get("ImagePositionPatient") if n_frames == 1 else None
            orientation = ds.get("ImageOrientationPatient")
            spacing = ds.get("PixelSpacing")
            slope = ds.get("RescaleSlope")
            intercept = ds.get("RescaleIntercept")
        frames.append(
            FrameRecord(
                path=path,
                frame=i,
                position=_floats(position, 3),  # type: ignore[arg-type]
                orientation=_floats(orientation, 6),  # type: ignore[arg-type]
                pixel_spacing=_floats(spacing, 2),  # type: ignore[arg-type]
                rows=rows,
                columns=columns,
                slope=_float(slope) if _float(slope) is not None else 1.0,  # type: ignore[arg-type]
                intercept=_float(intercept) or 0.0,
                instance_number=int(instance) if instance is not None else None,
            )
        )
    kernel = ds.get("ConvolutionKernel")
    if kernel is None and enhanced:
        kernel = _functional(ds, 0, "CTReconstructionSequence", "ConvolutionKernel")
    identity = PatientIdentity(
        name=_text(ds.get("PatientName")),
        patient_id=_text(ds.get("PatientID")),
        birth_date=_text(ds.get("PatientBirthDate")),
    )
    return FileHeader(
        path=path,
        transfer_syntax=transfer_syntax,
        sop_class=sop_class,
        modality=_text(ds.get("Modality")).upper(),
        series_uid=_text(ds.get("SeriesInstanceUID")),
        study_uid=_text(ds.get("StudyInstanceUID")),
        frame_of_reference_uid=_text(ds.get("FrameOfReferenceUID")),
        series_number=_text(ds.get("SeriesNumber")),
        series_description=_text(ds.get("SeriesDescription")),
        manufacturer=_text(ds.get("Manufacturer")),
        kvp=_float(ds.get("KVP")) if ds.get("KVP") is not None else _float(
            _functional(ds, 0, "CTXRayDetailsSequence", "KVP") if enhanced else None
        ),
        contrast_agent=_text(ds.get("ContrastBolusAgent")),
        convolution_kernel=_text(kernel),
        patient_age_years=parse_age_years(_text(ds.get("PatientAge"))),
        patient_sex=_text(ds.get("PatientSex")).upper(),
        gantry_tilt=_float(ds.get("GantryDetectorTilt")),
        bits_stored=int(ds.get("BitsStored") or ds.get("BitsAllocated") or 16),
        pixel_representation=int(ds.get("PixelRepresentation") or 0),
        samples_per_pixel=int(ds.get("SamplesPerPixel") or 1),
        number_of_frames=n_frames,
        frames=frames,
        identity=identity,
    )
