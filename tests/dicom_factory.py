"""Test-only factory for tiny, valid DICOM series (written with pydicom into tmp_path).

Pixel values encode where a voxel came from: slice ``k`` (in acquisition order, before
any shuffling) holds ``base + 100 * k + row + column`` stored values, so tests can check
sorting, rescale and reorientation from the values alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4"
ENHANCED_CT = "1.2.840.10008.5.1.4.1.1.2.1"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
MPEG2 = "1.2.840.10008.1.2.4.100"

PHI_NAME = "Doe^Janet"
PHI_ID = "PID-4711-SECRET"
PHI_BIRTH = "19550102"


def slice_values(k: int, rows: int, cols: int, base: int = 0) -> np.ndarray:
    """Stored values of acquisition slice ``k``."""
    r, c = np.mgrid[0:rows, 0:cols]
    return (base + 100 * k + r + c).astype(np.uint16)


def _base_dataset(
    sop_class: str,
    *,
    modality: str,
    series_uid: str,
    study_uid: str,
    for_uid: str,
    series_number: int | None,
    description: str,
    transfer_syntax: str,
    patient_name: str,
    patient_id: str,
):
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import generate_uid

    sop_uid = generate_uid()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = transfer_syntax
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.Modality = modality
    ds.Manufacturer = "FACTORY"
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.PatientBirthDate = PHI_BIRTH
    ds.PatientSex = "F"
    ds.PatientAge = "067Y"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = for_uid
    ds.SeriesNumber = series_number
    ds.SeriesDescription = description
    if modality == "CT":
        ds.KVP = "120"
        ds.ContrastBolusAgent = "APPLIED"
        ds.ConvolutionKernel = ["B30f", "2"]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    return ds


def write_series(
    folder: Path,
    *,
    modality: str = "CT",
    n: int = 6,
    rows: int = 8,
    cols: int = 10,
    pixel_spacing: tuple[float, float] = (0.8, 0.7),
    step: float = 2.0,
    orientation: Sequence[float] = (1, 0, 0, 0, 1, 0),
    origin: Sequence[float] = (-10.0, -20.0, 30.0),
    distances: Sequence[float] | None = None,
    skip: Sequence[int] = (),
    tilt_shift: Sequence[float] = (0.0, 0.0, 0.0),
    series_uid: str | None = None,
    study_uid: str = "1.2.826.0.1.3680043.8.498.1",
    for_uid: str = "1.2.826.0.1.3680043.8.498.2",
    series_number: int | None = 3,
    description: str = "factory series",
    slope: float = 1.0,
    intercept: float = -1024.0,
    base: int = 0,
    patient_name: str = PHI_NAME,
    patient_id: str = PHI_ID,
    prefix: str = "img",
    reverse_files: bool = True,
) -> list[Path]:
    """Write a single-frame series; returns the files in acquisition order (k = 0..n-1, minus ``skip``).

    Slice k sits at ``origin + d_k * normal + k * tilt_shift`` where ``d_k = distances[k]``
    (default ``k * step``). File names run in reverse acquisition order by default, so a
    reader that trusts file order gets the slices backwards.
    """
    from pydicom.uid import generate_uid

    folder.mkdir(parents=True, exist_ok=True)
    series_uid = generate_uid() if series_uid is None else series_uid
    row_dir = np.asarray(orientation[:3], dtype=float)
    col_dir = np.asarray(orientation[3:], dtype=float)
    normal = np.cross(row_dir, col_dir)
    dist = list(distances) if distances is not None else [k * step for k in range(n)]
    sop = CT_IMAGE if modality == "CT" else MR_IMAGE
    written: list[Path] = []
    for k, d in enumerate(dist):
        if k in skip:
            continue
        ds = _base_dataset(
            sop, modality=modality, series_uid=series_uid, study_uid=study_uid, for_uid=for_uid,
            series_number=series_number, description=description, transfer_syntax=EXPLICIT_LE,
            patient_name=patient_name, patient_id=patient_id,
        )
        position = np.asarray(origin, dtype=float) + d * normal + k * np.asarray(tilt_shift, dtype=float)
        ds.ImagePositionPatient = [f"{v:.6f}" for v in position]
        ds.ImageOrientationPatient = [f"{v:.6f}" for v in orientation]
        ds.PixelSpacing = [f"{v}" for v in pixel_spacing]
        ds.SliceThickness = "3"
        ds.InstanceNumber = k + 1
        ds.Rows, ds.Columns = rows, cols
        if modality == "CT":
            ds.RescaleSlope = f"{slope}"
            ds.RescaleIntercept = f"{intercept}"
        ds.PixelData = slice_values(k, rows, cols, base).tobytes()
        index = (len(dist) - 1 - k) if reverse_files else k
        path = folder / f"{prefix}{index:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        written.append(path)
    return written


def write_enhanced_ct(
    path: Path,
    *,
    n: int = 5,
    rows: int = 6,
    cols: int = 7,
    pixel_spacing: tuple[float, float] = (0.5, 0.6),
    step: float = 1.25,
    origin: Sequence[float] = (5.0, -3.0, 100.0),
    descending: bool = True,
    intercept: float = -1000.0,
) -> Path:
    """One enhanced CT file with ``n`` axial frames (stored top-down when ``descending``)."""
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence as Seq
    from pydicom.uid import generate_uid

    path.parent.mkdir(parents=True, exist_ok=True)
    ds = _base_dataset(
        ENHANCED_CT, modality="CT", series_uid=generate_uid(), study_uid=generate_uid(),
        for_uid=generate_uid(), series_number=7, description="enhanced", transfer_syntax=EXPLICIT_LE,
        patient_name=PHI_NAME, patient_id=PHI_ID,
    )
    ds.NumberOfFrames = n
    ds.Rows, ds.Columns = rows, cols
    shared = Dataset()
    orient = Dataset()
    orient.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    measures = Dataset()
    measures.PixelSpacing = [str(v) for v in pixel_spacing]
    measures.SliceThickness = "5"
    transform = Dataset()
    transform.RescaleSlope = "1"
    transform.RescaleIntercept = f"{intercept}"
    transform.RescaleType = "HU"
    shared.PlaneOrientationSequence = Seq([orient])
    shared.PixelMeasuresSequence = Seq([measures])
    shared.PixelValueTransformationSequence = Seq([transform])
    ds.SharedFunctionalGroupsSequence = Seq([shared])
    per_frame = []
    frames = []
    for i in range(n):
        k = n - 1 - i if descending else i  # k: position index from the bottom
        item = Dataset()
        pos = Dataset()
        pos.ImagePositionPatient = [f"{origin[0]}", f"{origin[1]}", f"{origin[2] + k * step}"]
        item.PlanePositionSequence = Seq([pos])
        per_frame.append(item)
        frames.append(slice_values(k, rows, cols))
    ds.PerFrameFunctionalGroupsSequence = Seq(per_frame)
    ds.PixelData = np.stack(frames).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def write_encapsulated_series(folder: Path, transfer_syntax: str = MPEG2, n: int = 3) -> list[Path]:
    """Image files whose pixel data is dummy bytes in an encapsulated (compressed) syntax."""
    from pydicom.encaps import encapsulate

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for k in range(n):
        ds = _base_dataset(
            CT_IMAGE, modality="CT", series_uid="1.2.826.0.1.3680043.8.498.77",
            study_uid="1.2.826.0.1.3680043.8.498.78", for_uid="1.2.826.0.1.3680043.8.498.79",
            series_number=1, description="video", transfer_syntax=transfer_syntax,
            patient_name=PHI_NAME, patient_id=PHI_ID,
        )
        ds.Rows, ds.Columns = 8, 8
        ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
        ds.ImagePositionPatient = ["0", "0", str(2 * k)]
        ds.PixelSpacing = ["1", "1"]
        ds.PixelData = encapsulate([b"\x00\x00\x01\xb3" + bytes(60)])
        ds["PixelData"].VR = "OB"
        path = folder / f"enc{k:03d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        out.append(path)
    return out
