"""Geometry of a stack of DICOM frames: sort order, slice spacing, gaps, uneven spacing, tilt.

Slice spacing always comes from ImagePositionPatient projected on the slice normal
(never SliceThickness, which often differs). The analysis only looks at headers, so the
scanner can report problems without decoding a pixel, and the reader can plan how to
resample before it decodes anything.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .dicom_headers import FrameRecord

__all__ = ["StackGeometry", "analyse_stack", "orientation_name", "axis_codes"]

#: A step counts as regular when within this fraction of the nominal step (or 0.01 mm).
RELATIVE_STEP_TOLERANCE = 0.01
ABSOLUTE_STEP_TOLERANCE_MM = 0.01
#: In-plane drift (fraction of a pixel) from first to last slice above which we call it tilt.
TILT_PIXEL_FRACTION = 0.05
#: Beyond this angle (degrees) between the slice normal and every patient axis: "oblique".
OBLIQUE_DEGREES = 10.0


@dataclass
class StackGeometry:
    """How the frames of one series lie in space, sorted along the slice normal."""

    frames: list[FrameRecord]
    row_direction: np.ndarray
    column_direction: np.ndarray
    normal: np.ndarray
    pixel_spacing: tuple[float, float]
    first_position: np.ndarray
    #: Distance of each sorted frame from the first along the normal (mm), ascending.
    distances: np.ndarray
    #: In-plane offset of each sorted frame from the first, as (along columns, along rows) mm.
    inplane_offsets: np.ndarray
    nominal_step: float = 0.0
    grid_count: int = 1
    missing_slices: int = 0
    uneven: bool = False
    tilt_degrees: float = 0.0
    duplicates: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def tilted(self) -> bool:
        return self.tilt_degrees > 0.0

    @property
    def regular(self) -> bool:
        """True when the frames already sit on a regular orthogonal grid (no resampling needed)."""
        return not (self.tilted or self.uneven or self.missing_slices)

    @property
    def grid_step(self) -> float:
        """Spacing of the regular grid the reader produces (mm)."""
        if self.grid_count < 2:
            return 0.0
        return float(self.distances[-1] - self.distances[0]) / (self.grid_count - 1)


def analyse_stack(frames: Sequence[FrameRecord]) -> StackGeometry:
    """Sort ``frames`` along their normal and describe spacing, gaps and tilt.

    All frames must share orientation, size and pixel spacing (the scanner splits series
    by those first). Frames without a position are reported, not guessed.
    """
    first = frames[0]
    if first.orientation is None:
        orientation = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
        problems = ["no ImageOrientationPatient: assumed axial"]
    else:
        orientation = first.orientation
        problems = []
    row_dir = _unit(orientation[:3])
    col_dir = _unit(orientation[3:])
    normal = _unit(np.cross(row_dir, col_dir))
    spacing = first.pixel_spacing or (1.0, 1.0)
    if first.pixel_spacing is None:
        problems.append("no PixelSpacing: assumed 1 mm")
    if any(f.position is None for f in frames):
        problems.append("frames without ImagePositionPatient: slice order and spacing unknown")
        n = len(frames)
        return StackGeometry(
            frames=list(frames), row_direction=row_dir, column_direction=col_dir, normal=normal,
            pixel_spacing=spacing, first_position=np.zeros(3), distances=np.arange(n, dtype=float),
            inplane_offsets=np.zeros((n, 2)), grid_count=n, problems=problems,
        )
    positions = np.array([f.position for f in frames], dtype=float)
    projections = positions @ normal
    order = np.lexsort((np.arange(len(frames)), projections))
    sorted_frames = [frames[i] for i in order]
    positions = positions[order]
    distances = projections[order] - projections[order][0]
    delta = positions - positions[0]
    inplane = delta - np.outer(delta @ normal, normal)
    offsets = np.stack([inplane @ col_dir, inplane @ row_dir], axis=1)
    geo = StackGeometry(
        frames=sorted_frames, row_direction=row_dir, column_direction=col_dir, normal=normal,
        pixel_spacing=(float(spacing[0]), float(spacing[1])), first_position=positions[0],
        distances=distances, inplane_offsets=offsets, grid_count=len(frames), problems=problems,
    )
    if len(frames) < 2:
        return geo
    _classify_steps(geo)
    _detect_tilt(geo)
    return geo


def _classify_steps(geo: StackGeometry) -> None:
    steps = np.diff(geo.distances)
    tolerance = lambda step: max(ABSOLUTE_STEP_TOLERANCE_MM, RELATIVE_STEP_TOLERANCE * step)  # noqa: E731
    duplicates = int(np.sum(steps <= ABSOLUTE_STEP_TOLERANCE_MM))
    if duplicates:
        geo.duplicates = duplicates
        geo.problems.append(
            f"{duplicates} frame(s) share a position with another frame "
            "(several acquisitions, phases or echoes mixed in one series?)"
        )
        return
    nominal = float(np.median(steps))
    # A gap of k missing slices is a step of (k + 1) nominal steps; the nominal step is
    # the smallest common step when most steps are regular.
    smallest = float(np.min(steps))
    if np.sum(np.abs(steps - smallest) <= tolerance(smallest)) >= len(steps) / 2:
        nominal = smallest
    geo.nominal_step = nominal
    ratios = steps / nominal
    multiples = np.rint(ratios)
    on_multiple = np.abs(steps - multiples * nominal) <= tolerance(nominal) * np.maximum(multiples, 1)
    total = float(geo.distances[-1])
    if np.all(np.abs(steps - nominal) <= tolerance(nominal)):
        geo.grid_count = len(steps) + 1
    elif np.all(on_multiple) and np.all(multiples >= 1):
        geo.missing_slices = int(np.sum(multiples - 1))
        geo.grid_count = int(np.sum(multiples)) + 1
        gaps = [f"{geo.distances[i]:.2f}-{geo.distances[i + 1]:.2f} mm" for i in np.flatnonzero(multiples > 1)]
        geo.problems.append(
            f"{geo.missing_slices} missing slice(s) (gaps at {', '.join(gaps[:5])}"
            f"{' ...' if len(gaps) > 5 else ''} from the first slice; nominal spacing {nominal:.4g} mm)"
        )
    else:
        geo.uneven = True
        grid = float(np.median(steps))
        geo.nominal_step = grid
        geo.grid_count = max(2, int(round(total / grid)) + 1)
        geo.problems.append(
            f"uneven slice spacing ({float(steps.min()):.4g} to {float(steps.max()):.4g} mm, "
            f"median {grid:.4g} mm)"
        )


def _detect_tilt(geo: StackGeometry) -> None:
    drift = float(np.max(np.linalg.norm(geo.inplane_offsets, axis=1)))
    if drift <= TILT_PIXEL_FRACTION * min(geo.pixel_spacing) or geo.distances[-1] <= 0:
        return
    # Angle between the slice-to-slice direction and the normal, from a straight-line fit.
    along = float(geo.distances[-1])
    last = float(np.linalg.norm(geo.inplane_offsets[-1]))
    geo.tilt_degrees = max(1e-6, math.degrees(math.atan2(last, along)))
    geo.problems.append(
        f"gantry tilt (slices sheared by {geo.tilt_degrees:.2f} degrees, "
        f"{drift:.2f} mm in-plane drift from first to last slice)"
    )


def orientation_name(normal: np.ndarray) -> str:
    """'axial', 'coronal', 'sagittal', or 'oblique' (normal more than 10 degrees off every axis)."""
    n = np.abs(np.asarray(normal, dtype=float))
    axis = int(np.argmax(n))
    if n[axis] < math.cos(math.radians(OBLIQUE_DEGREES)):
        return "oblique"
    return ("sagittal", "coronal", "axial")[axis]


def axis_codes(*directions: np.ndarray) -> str:
    """Nearest LPS letter for each direction, e.g. 'SPL' for an axial stack (slice, row, column)."""
    letters = (("R", "L"), ("A", "P"), ("I", "S"))
    out = []
    for d in directions:
        d = np.asarray(d, dtype=float)
        axis = int(np.argmax(np.abs(d)))
        out.append(letters[axis][int(d[axis] > 0)])
    return "".join(out)


def _unit(v: Sequence[float] | np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=float)
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v
