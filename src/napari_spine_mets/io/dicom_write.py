"""Write a :class:`Volume` as a single-frame CT or MR DICOM series (Explicit VR Little Endian).

Geometry comes from the affine (see ``geometry``): array axis 2 (x index) runs along
ImageOrientationPatient's row direction, axis 1 along its column direction, axis 0 is the
slice step; ImagePositionPatient of slice k is the affine applied to (k, 0, 0).
Values round-trip exactly for integer arrays: they are stored as 16-bit integers with a
RescaleIntercept chosen so that ``stored * slope + intercept`` gives them back.
UIDs are derived from ``uid_seed`` when given, so the same input writes identical files.
"""

from __future__ import annotations

import logging
from os import PathLike
from pathlib import Path

import numpy as np

from ..volume import Volume
from . import geometry

__all__ = ["CT_IMAGE_STORAGE", "MR_IMAGE_STORAGE", "write_dicom_series"]

log = logging.getLogger(__name__)

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
_FIXED_DATE = "20000101"  # synthetic and derived series carry no real acquisition date


def _uid(seed: str | None, *parts: str) -> str:
    from pydicom.uid import generate_uid

    if seed is None:
        return str(generate_uid())
    return str(generate_uid(entropy_srcs=[seed, *parts]))


def _geometry_tags(affine: np.ndarray) -> tuple[list[float], list[float], float, np.ndarray]:
    """ImageOrientationPatient, PixelSpacing, slice spacing and the slice step vector."""
    a = np.asarray(affine, dtype=float)
    step_slice, step_row, step_col = a[:3, 0], a[:3, 1], a[:3, 2]
    row_spacing, col_spacing = float(np.linalg.norm(step_row)), float(np.linalg.norm(step_col))
    row_dir, col_dir = step_col / col_spacing, step_row / row_spacing
    if abs(float(np.dot(row_dir, col_dir))) > 1e-4:
        raise ValueError("the in-plane axes of the affine are not orthogonal; DICOM cannot store that")
    normal = np.cross(row_dir, col_dir)
    slice_spacing = float(np.linalg.norm(step_slice))
    if slice_spacing == 0 or abs(abs(float(np.dot(normal, step_slice))) - slice_spacing) > 1e-3 * slice_spacing:
        raise ValueError("the slice axis of the affine is not perpendicular to the slices (sheared grid)")
    iop = [round(float(v), 8) for v in (*row_dir, *col_dir)]
    return iop, [round(row_spacing, 6), round(col_spacing, 6)], slice_spacing, step_slice


def _stored_values(array: np.ndarray, modality: str) -> tuple[np.ndarray, float, float, int]:
    """Stored pixels, slope, intercept and PixelRepresentation that reproduce ``array``."""
    if np.issubdtype(array.dtype, np.integer) or np.array_equal(np.rint(array), array):
        values = np.rint(array).astype(np.int64)
        lo, hi = int(values.min()), int(values.max())
        if modality == "CT" and lo >= -1024 and hi + 1024 <= 65535:
            return (values + 1024).astype(np.uint16), 1.0, -1024.0, 0
        if lo >= 0 and hi <= 65535:
            return values.astype(np.uint16), 1.0, 0.0, 0
        if lo >= -32768 and hi <= 32767:
            return values.astype(np.int16), 1.0, 0.0, 1
        if hi - lo <= 65535:
            return (values - lo).astype(np.uint16), 1.0, float(lo), 0
    # Non-integer (or too wide) data: linear rescale to 16 bits, which is lossy.
    lo, hi = float(np.min(array)), float(np.max(array))
    slope = (hi - lo) / 65535.0 if hi > lo else 1.0
    log.warning("values are not 16-bit integers; stored with slope %.6g (lossy)", slope)
    stored = np.rint((np.asarray(array, dtype=float) - lo) / slope).astype(np.uint16)
    return stored, slope, lo, 0


def write_dicom_series(
    volume: Volume,
    folder: str | PathLike[str],
    *,
    modality: str = "CT",
    series_description: str | None = None,
    study_uid: str | None = None,
    series_uid: str | None = None,
    frame_of_reference_uid: str | None = None,
    uid_seed: str | None = None,
    series_number: int = 1,
) -> list[Path]:
    """Write ``volume`` as one file per slice (``IM00001.dcm``...) in ``folder``; returns the paths.

    ``modality`` is "CT" (CT Image Storage) or "MR" (MR Image Storage). Pass ``uid_seed``
    for deterministic UIDs; explicit UIDs win over derived ones.
    """
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian

    modality = modality.upper()
    if modality not in ("CT", "MR"):
        raise ValueError(f"modality must be CT or MR, got {modality!r}")
    meta = volume.metadata
    iop, pixel_spacing, slice_spacing, step = _geometry_tags(volume.affine)
    stored, slope, intercept, pixel_rep = _stored_values(np.asarray(volume.array), modality)
    study_uid = study_uid or meta.study_instance_uid or _uid(uid_seed, "study")
    series_uid = series_uid or _uid(uid_seed, "series", study_uid, str(series_number))
    frame_uid = frame_of_reference_uid or meta.frame_of_reference_uid or _uid(uid_seed, "frame", study_uid)
    sop_class = CT_IMAGE_STORAGE if modality == "CT" else MR_IMAGE_STORAGE
    normal = np.cross(np.array(iop[:3]), np.array(iop[3:]))
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for k in range(stored.shape[0]):
        position = geometry.world_from_index(volume.affine, np.array([k, 0.0, 0.0]))
        sop_uid = _uid(uid_seed, "sop", series_uid, str(k)) if uid_seed else _uid(None)
        fm = FileMetaDataset()
        fm.MediaStorageSOPClassUID = sop_class
        fm.MediaStorageSOPInstanceUID = sop_uid
        fm.TransferSyntaxUID = ExplicitVRLittleEndian
        fm.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        ds = Dataset()
        ds.file_meta = fm
        ds.SpecificCharacterSet = "ISO_IR 100"
        ds.ImageType = ["DERIVED", "SECONDARY", "AXIAL"]
        ds.SOPClassUID, ds.SOPInstanceUID = sop_class, sop_uid
        ds.StudyDate = ds.SeriesDate = ds.ContentDate = _FIXED_DATE
        ds.StudyTime = ds.SeriesTime = ds.ContentTime = "000000"
        ds.AccessionNumber = ""
        ds.Modality = modality
        ds.Manufacturer = meta.manufacturer
        ds.ReferringPhysicianName = ""
        ds.StudyDescription = "napari-spine-mets export"
        ds.SeriesDescription = series_description if series_description is not None else meta.series_description
        ds.PatientName = meta.identity.name
        ds.PatientID = meta.identity.patient_id
        ds.PatientBirthDate = meta.identity.birth_date
        ds.PatientSex = meta.patient_sex if meta.patient_sex in ("M", "F", "O") else ""
        if meta.patient_age_years is not None:
            ds.PatientAge = f"{int(meta.patient_age_years):03d}Y"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study_uid, series_uid, frame_uid
        ds.StudyID = "1"
        ds.SeriesNumber = series_number
        ds.InstanceNumber = k + 1
        ds.PositionReferenceIndicator = ""
        ds.ImagePositionPatient = [round(float(v), 6) for v in position]
        ds.ImageOrientationPatient = iop
        ds.SliceLocation = round(float(np.dot(position, normal)), 6)
        ds.PixelSpacing = pixel_spacing
        ds.SliceThickness = round(slice_spacing, 6)
        ds.SpacingBetweenSlices = round(slice_spacing, 6)
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows, ds.Columns = int(stored.shape[1]), int(stored.shape[2])
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
        ds.PixelRepresentation = pixel_rep
        ds.RescaleIntercept = f"{intercept:.10g}"
        ds.RescaleSlope = f"{slope:.10g}"
        ds.BurnedInAnnotation = "NO"
        if modality == "CT":
            ds.RescaleType = "HU"
            ds.KVP = f"{meta.kvp:g}" if meta.kvp is not None else ""
            ds.ConvolutionKernel = meta.convolution_kernel
            ds.WindowCenter, ds.WindowWidth = "40", "400"
            if meta.contrast_agent:
                ds.ContrastBolusAgent = meta.contrast_agent[:64]
        else:
            ds.ScanningSequence, ds.SequenceVariant, ds.ScanOptions = "RM", "NONE", ""
            ds.MRAcquisitionType = "3D"
        ds.PixelData = np.ascontiguousarray(stored[k], dtype=stored.dtype.newbyteorder("<")).tobytes()
        path = folder / f"IM{k + 1:05d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    log.debug("wrote %d %s slices to %s", len(paths), modality, folder.name)
    return paths
