"""The source series a SEG or SR refers to: its headers and how its slices map to our grid.

Readers reorient volumes to (S, P, L) by transposing and flipping, so a label map's
array axes need not follow the DICOM files' slice/row/column order. This module finds
that signed permutation from the two affines and moves arrays between the grids without
interpolation; the affine it reports is computed exactly as the reader computes it, so
a label map that lies on the series read by :func:`~napari_spine_mets.io.dicom.read_dicom_series`
matches it exactly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from ..io import geometry
from .errors import DicomExportError

__all__ = ["SourceSeries", "load_source_series"]

log = logging.getLogger(__name__)


@dataclass
class SourceSeries:
    """Headers of a single-frame series sorted along the slice normal, and its grids."""

    folder: Path
    datasets: list[Any]
    #: (slices, rows, columns) of the files, sorted along the normal.
    stack_shape: tuple[int, int, int]
    stack_affine: np.ndarray
    #: The affine of the volume the project's reader builds (axes along S, P, L).
    grid_affine: np.ndarray
    grid_shape: tuple[int, int, int]
    #: For each stack axis: the grid axis it runs along and whether it is flipped.
    axes: tuple[tuple[int, bool], ...]

    @property
    def study_uid(self) -> str:
        return str(self.datasets[0].StudyInstanceUID)

    @property
    def series_uid(self) -> str:
        return str(self.datasets[0].SeriesInstanceUID)

    @property
    def frame_of_reference_uid(self) -> str:
        return str(self.datasets[0].get("FrameOfReferenceUID", ""))

    @property
    def sop_instance_uids(self) -> list[str]:
        return [str(ds.SOPInstanceUID) for ds in self.datasets]

    def to_stack(self, array: np.ndarray) -> np.ndarray:
        """Array on the reader's grid -> array in file order (slice, row, column)."""
        order = [grid_axis for grid_axis, _ in self.axes]
        out = np.transpose(array, order)
        for stack_axis, (_, flipped) in enumerate(self.axes):
            if flipped:
                out = np.flip(out, axis=stack_axis)
        return np.ascontiguousarray(out)

    def from_stack(self, stack: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`to_stack`."""
        out = stack
        for stack_axis, (_, flipped) in enumerate(self.axes):
            if flipped:
                out = np.flip(out, axis=stack_axis)
        inverse = np.argsort([grid_axis for grid_axis, _ in self.axes])
        return np.ascontiguousarray(np.transpose(out, inverse))


def load_source_series(path: str | PathLike[str], series: str | None = None) -> SourceSeries:
    """Scan ``path`` for the series (headers only) and check it can be referenced by a SEG/SR."""
    from pydicom import dcmread
    from pydicom.uid import UID

    from ..io.dicom import select_series
    from ..io.dicom_scan import scan_dicom

    root = Path(path)
    info = select_series(scan_dicom(root), series)
    geo = info.geometry
    assert geo is not None
    if any(f.frame != 0 for f in geo.frames) or len({f.path for f in geo.frames}) != len(geo.frames):
        raise DicomExportError(root, "multi-frame source images are not supported for SEG/SR export yet")
    if not geo.regular or geo.duplicates or any(f.position is None for f in geo.frames):
        raise DicomExportError(
            root,
            "the series is not a regular stack of slices (gaps, uneven spacing, tilt or duplicates); "
            "a SEG must follow the original slices, which the labels (on a resampled grid) do not",
        )
    datasets = [dcmread(f.path, stop_before_pixels=True) for f in geo.frames]
    for ds in datasets:
        for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
            value = str(ds.get(keyword, "") or "")
            if not value or not UID(value).is_valid:
                raise DicomExportError(
                    root,
                    f"{keyword} is empty or invalid in the source files: give the series valid UIDs "
                    "first (spine-mets assign-uids) and use the copy it writes",
                )
    first = geo.frames[0]
    stack_shape = (len(geo.frames), first.rows, first.columns)
    stack_affine = geometry.affine_from_dicom(
        geo.first_position, geo.row_direction, geo.column_direction, geo.normal * geo.grid_step, geo.pixel_spacing
    )
    dummy = np.broadcast_to(np.zeros((), dtype=np.uint8), stack_shape)
    grid, grid_affine = geometry.reorient_to_lps(dummy, stack_affine)
    axes = _axes(stack_affine, grid_affine, stack_shape)
    return SourceSeries(
        folder=root, datasets=datasets, stack_shape=stack_shape, stack_affine=stack_affine,
        grid_affine=grid_affine, grid_shape=tuple(int(s) for s in grid.shape),  # type: ignore[arg-type]
        axes=axes,
    )


def _axes(stack_affine: np.ndarray, grid_affine: np.ndarray, stack_shape: tuple[int, int, int]) -> tuple[tuple[int, bool], ...]:
    """Signed permutation taking stack indices to grid indices (from the two affines)."""
    m = np.linalg.inv(grid_affine) @ stack_affine
    axes = []
    for stack_axis in range(3):
        column = m[:3, stack_axis]
        grid_axis = int(np.argmax(np.abs(column)))
        if not np.isclose(abs(column[grid_axis]), 1.0, atol=1e-6):
            raise DicomExportError(None, "internal error: the reader's grid is not a permutation of the slices")
        axes.append((grid_axis, bool(column[grid_axis] < 0)))
    return tuple(axes)
