"""Resampling a sheared or irregular DICOM stack onto a regular orthogonal grid.

Used only when the headers say the slices do not already form one (gantry tilt, missing
slices, uneven spacing); a regular series is never touched, so its voxels stay exact.
Both steps use linear interpolation; slices that fall exactly on the new grid are copied
unchanged.
"""

from __future__ import annotations

import numpy as np

from .dicom_stack import StackGeometry

__all__ = ["untilt", "regularise_spacing"]


def untilt(stack: np.ndarray, geo: StackGeometry, fill: float) -> np.ndarray:
    """Shift each slice in-plane so the stack lies on the orthogonal grid of the first slice.

    Slice k of a tilted acquisition sits at ``first + d_k * normal + offset_k``; voxel
    (r, c) of the untilted grid is sampled from it at (r - offset_k / row spacing,
    c - offset_k / column spacing), in the in-plane directions of the offset. Voxels shifted in from outside the
    field of view get ``fill`` (the series' lowest value, i.e. air).
    """
    from scipy import ndimage

    out = np.empty(stack.shape, dtype=np.float32)
    row_spacing, col_spacing = geo.pixel_spacing
    for k in range(stack.shape[0]):
        along_col, along_row = geo.inplane_offsets[k]
        shift = (along_col / row_spacing, along_row / col_spacing)
        if abs(shift[0]) < 1e-6 and abs(shift[1]) < 1e-6:
            out[k] = stack[k]
            continue
        ndimage.shift(
            stack[k].astype(np.float32, copy=False), shift, output=out[k], order=1, mode="constant", cval=fill
        )
    return out


def regularise_spacing(stack: np.ndarray, distances: np.ndarray, count: int) -> np.ndarray:
    """Linear interpolation along the slice axis onto ``count`` evenly spaced slices.

    ``distances`` are the sorted positions (mm) of the input slices; the new grid runs
    from the first to the last of them, so both end slices are kept exactly.
    """
    distances = np.asarray(distances, dtype=float)
    grid = np.linspace(distances[0], distances[-1], count)
    out = np.empty((count, *stack.shape[1:]), dtype=np.float32)
    upper = np.clip(np.searchsorted(distances, grid, side="left"), 1, len(distances) - 1)
    for j, z in enumerate(grid):
        hi = int(upper[j])
        lo = hi - 1
        span = distances[hi] - distances[lo]
        w = 0.0 if span <= 0 else (z - distances[lo]) / span
        tolerance = 1e-4 / max(span, 1e-9)
        if w <= tolerance:
            out[j] = stack[lo]
        elif w >= 1 - tolerance:
            out[j] = stack[hi]
        else:
            np.multiply(stack[lo], 1.0 - w, out=out[j], casting="unsafe")
            out[j] += w * stack[hi].astype(np.float32, copy=False)
    return out
