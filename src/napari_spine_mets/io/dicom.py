"""Reading one DICOM series as a :class:`~napari_spine_mets.volume.Volume`.

The reader scans headers (:func:`~napari_spine_mets.io.dicom_scan.scan_dicom`), picks the
series, decodes each file once, applies RescaleSlope/Intercept (CT -> HU), builds the
affine from ImagePositionPatient/ImageOrientationPatient, and hands the result through
:func:`~napari_spine_mets.io.geometry.reorient_to_lps`.

Geometry problems are handled like this (each adds a line to ``metadata.warnings`` and
is logged):

* **missing slices** (a gap that is a whole number of slice steps) and **uneven
  spacing**: linear interpolation along the slice axis onto a regular grid (the
  nominal step for gaps, the median step for uneven spacing); slices on the grid keep
  their exact values. Downstream tools assume one slice spacing, and a silently wrong
  spacing would distort every measurement.
* **gantry tilt** (slices sheared along the table): each slice is shifted in-plane
  (linear interpolation) onto the orthogonal grid of the first slice, as dcm2niix does,
  because a sheared affine breaks every tool that assumes orthogonal voxels.
* **several frames at one position**, frames without positions, a single 2D image,
  mixed orientations within the selected series: :class:`SeriesGeometryError`.

Resampled volumes are float32; otherwise values are int16 when every rescaled value fits
exactly, else float32.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from os import PathLike
from pathlib import Path

import numpy as np

from ..errors import (
    AmbiguousSeriesError,
    CorruptFileError,
    ModalityError,
    NoImageDataError,
    SeriesGeometryError,
    SpineMetsError,
    UnsupportedTransferSyntaxError,
)
from ..safety.memory import check_volume_memory
from ..volume import Volume, VolumeMetadata
from . import geometry
from .dicom_headers import FileHeader
from .dicom_pixels import transfer_syntax_problem
from .dicom_scan import DicomScan, SeriesInfo, scan_dicom
from .dicom_stack import StackGeometry

__all__ = ["LoadCancelled", "read_dicom_series", "read_scanned_series"]

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]
CancelCallback = Callable[[], bool]

_INT16 = np.iinfo(np.int16)


class LoadCancelled(SpineMetsError):
    """The user cancelled a load; nothing was returned."""


def read_dicom_series(
    path: str | PathLike[str],
    *,
    series: str | None = None,
    require_ct_hu: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
) -> Volume:
    """Read the DICOM series under ``path`` (a file or a folder) as a Volume reoriented to (S, P, L).

    ``series`` is a :attr:`SeriesInfo.key` (or a unique SeriesInstanceUID) from
    :func:`scan_dicom`; it is required when ``path`` holds several series. ``progress``
    gets (done, total) over the slices decoded; ``cancel`` is polled between slices and
    a True makes the reader raise :class:`LoadCancelled`.
    See the module docstring for how tilt, gaps and uneven spacing are handled.
    """
    root = Path(path)
    scan = scan_dicom(root)
    if cancel is not None and cancel():
        raise LoadCancelled("loading cancelled")
    info = select_series(scan, series)
    return read_scanned_series(info, root, require_ct_hu=require_ct_hu, progress=progress, cancel=cancel)


def select_series(scan: DicomScan, key: str | None) -> SeriesInfo:
    """The series ``key`` names, or the only one; project errors otherwise."""
    root = scan.root
    if not scan.series:
        if scan.skipped:
            reasons = sorted({s.reason.split(":")[0] for s in scan.skipped})
            raise NoImageDataError(root, f"no DICOM image series ({len(scan.skipped)} file(s) skipped: {'; '.join(reasons)})")
        raise NoImageDataError(root, "empty: no files found" if root.is_dir() else "no DICOM image found")
    if key is not None:
        found = scan.find(key)
        if found is None:
            listing = "; ".join(s.label() for s in scan.series)
            raise AmbiguousSeriesError(root, f"no series with key '{key}'; found: {listing}")
        return found
    if len(scan.series) > 1:
        listing = "; ".join(s.label() for s in scan.series)
        raise AmbiguousSeriesError(
            root, f"{len(scan.series)} series found, choose one by key: {listing}"
        )
    return scan.series[0]


def read_scanned_series(
    info: SeriesInfo,
    source: Path,
    *,
    require_ct_hu: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
) -> Volume:
    """Decode and assemble a series already found by :func:`scan_dicom`."""
    started = time.perf_counter()
    first = info.headers[0]
    folder = source
    _check_readable(info, folder, require_ct_hu)
    geo = info.geometry
    assert geo is not None
    # float32 worst case, plus the reoriented/resampled copy: refuse before decoding anything
    check_volume_memory(folder, (geo.grid_count, first.frames[0].rows, first.frames[0].columns), 4, copies=2.5)
    stack = _decode_stack(info, geo, progress, cancel)
    warnings_: list[str] = []
    if not geo.regular:
        stack, warnings_ = _regularise(stack, geo)
    step = geo.grid_step
    affine = geometry.affine_from_dicom(
        geo.first_position, geo.row_direction, geo.column_direction, geo.normal * step, geo.pixel_spacing
    )
    array, affine = geometry.reorient_to_lps(stack, affine)
    array = np.ascontiguousarray(array)
    for line in warnings_:
        log.warning("%s: %s", _where(folder), line)
    metadata = _metadata(info, first, folder, warnings_)
    log.info(
        "read %s series %s: %d slices %s in %.2f s",
        info.modality, info.key, len(geo.frames), array.shape, time.perf_counter() - started,
    )
    name = info.modality or "image"
    return Volume(array=array, affine=affine, metadata=metadata, name=name)


def _where(path: Path) -> str:
    return path.name or str(path)


def _check_readable(info: SeriesInfo, folder: Path, require_ct_hu: bool) -> None:
    geo = info.geometry
    assert geo is not None
    if require_ct_hu and info.modality != "CT":
        raise ModalityError(
            folder, f"{info.modality or 'unknown-modality'} series: CT Hounsfield units are required"
        )
    if info.n_slices < 2:
        raise SeriesGeometryError(info.files[0], "a single 2D image, not a 3D volume")
    problem = transfer_syntax_problem(info.transfer_syntax)
    if problem:
        raise UnsupportedTransferSyntaxError(info.files[0], problem)
    if info.headers[0].samples_per_pixel != 1:
        raise ModalityError(info.files[0], "colour (RGB) images cannot be read as a grey-value volume")
    if any(f.position is None for f in geo.frames):
        raise SeriesGeometryError(folder, "frames without ImagePositionPatient: slice order unknown")
    if geo.duplicates:
        raise SeriesGeometryError(
            folder,
            f"series {info.key}: {geo.duplicates} frame(s) share a position with another "
            "(several acquisitions, phases or echoes?); cannot make one volume",
        )
    if geo.grid_count > 4 * len(geo.frames) + 8:
        raise SeriesGeometryError(
            folder, f"series {info.key}: slice spacing too irregular to resample ({'; '.join(geo.problems)})"
        )


def _output_dtype(geo: StackGeometry) -> type[np.generic]:
    """int16 when integer rescale can only produce int16 values, else float32 (checked again per slice)."""
    slopes = {f.slope for f in geo.frames}
    intercepts = {f.intercept for f in geo.frames}
    if not all(float(v).is_integer() for v in slopes | intercepts):
        return np.float32
    return np.int16


def _decode_stack(
    info: SeriesInfo, geo: StackGeometry, progress: ProgressCallback | None, cancel: CancelCallback | None
) -> np.ndarray:
    """Rescaled frames in sorted order (int16 while every value fits exactly, else float32)."""
    from .dicom_pixels import DecodeFailure, decode_files

    rows, cols = geo.frames[0].rows, geo.frames[0].columns
    slot: dict[tuple[Path, int], int] = {(f.path, f.frame): k for k, f in enumerate(geo.frames)}
    frames_of: dict[Path, list[int]] = {}
    for f in geo.frames:
        frames_of.setdefault(f.path, []).append(f.frame)
    paths = list(frames_of)
    dtype = _output_dtype(geo)
    out = np.empty((len(geo.frames), rows, cols), dtype=dtype)
    total = len(geo.frames)
    done = 0
    cancelled = (lambda: bool(cancel())) if cancel is not None else None
    try:
        for index, raw in decode_files(paths, info.transfer_syntax, total, cancelled):
            path = paths[index]
            if raw.shape[1:] != (rows, cols):
                raise CorruptFileError(path, f"pixel data is {raw.shape[1:]} but the header says {(rows, cols)}")
            for frame in frames_of[path]:
                if frame >= raw.shape[0]:
                    raise CorruptFileError(path, f"frame {frame + 1} missing from the pixel data")
                k = slot[(path, frame)]
                out = _put(out, k, raw[frame], geo.frames[k].slope, geo.frames[k].intercept)
                done += 1
            if progress is not None:
                progress(done, total)
    except DecodeFailure as exc:
        raise CorruptFileError(exc.path, f"cannot decode pixel data ({exc.message})") from None
    if cancel is not None and cancel():
        raise LoadCancelled(f"loading {info.key} cancelled")
    if done != total:
        raise CorruptFileError(info.files[0], f"only {done} of {total} frames decoded")
    return out


def _put(out: np.ndarray, k: int, raw: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    """Write rescaled ``raw`` into slice k; promote ``out`` to float32 when int16 cannot hold it."""
    if out.dtype == np.int16:
        s, b = int(slope), int(intercept)
        ends = (int(raw.min()) * s + b, int(raw.max()) * s + b)
        if _INT16.min <= min(ends) and max(ends) <= _INT16.max:
            if s == 1:
                np.add(raw, np.int32(b), out=out[k], casting="unsafe")
            else:
                out[k] = raw.astype(np.int32) * s + b
            return out
        log.debug("rescaled values outside int16: promoting the volume to float32")
        out = out.astype(np.float32)
    if slope == 1.0 and intercept == 0.0:
        out[k] = raw
    else:
        np.multiply(raw, slope, out=out[k], casting="unsafe")
        out[k] += np.float32(intercept)
    return out


def _regularise(stack: np.ndarray, geo: StackGeometry) -> tuple[np.ndarray, list[str]]:
    from .dicom_resample import regularise_spacing, untilt

    notes: list[str] = []
    if geo.tilted:
        stack = untilt(stack, geo, fill=float(stack.min()))
        notes.append(
            f"gantry tilt of {geo.tilt_degrees:.2f} degrees corrected: each slice shifted in-plane "
            "onto an orthogonal grid (linear interpolation; edges filled with the lowest value)"
        )
    if geo.missing_slices or geo.uneven:
        what = f"{geo.missing_slices} missing slice(s)" if geo.missing_slices else "uneven slice spacing"
        stack = regularise_spacing(stack, geo.distances, geo.grid_count)
        notes.append(
            f"{what}: {len(geo.frames)} slices resampled onto {geo.grid_count} slices "
            f"{geo.grid_step:.4g} mm apart (linear interpolation between neighbours)"
        )
    return stack, notes


def _metadata(info: SeriesInfo, first: FileHeader, folder: Path, warnings_: list[str]) -> VolumeMetadata:
    return VolumeMetadata(
        modality=info.modality,
        manufacturer=first.manufacturer,
        kvp=first.kvp,
        contrast_agent=first.contrast_agent,
        convolution_kernel=first.convolution_kernel,
        series_description=first.series_description,
        patient_age_years=first.patient_age_years,
        patient_sex=first.patient_sex,
        study_instance_uid=first.study_uid,
        series_instance_uid=first.series_uid,
        frame_of_reference_uid=first.frame_of_reference_uid,
        source=str(folder),
        warnings=list(warnings_) + [p for p in info.problems if p.startswith("split from")],
        identity=first.identity,
    )
