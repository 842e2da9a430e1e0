"""Put a label map onto another voxel grid, through the affines, never by array index.

Labels from another tool (TotalSegmentator's RAS NIfTI, a Slicer NRRD) often lie on the
same voxels as the scan but with axes transposed or flipped, or on a cropped copy of its
grid. Those cases are handled exactly (transpose, flip, shift: no interpolation at all).
Anything else (a different spacing, an oblique grid) is sampled nearest-neighbour at the
target voxel centres, a few slices at a time so memory stays bounded.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from ..volume import LabelMap
from . import geometry

__all__ = ["labels_onto_grid", "exact_onto_grid"]

log = logging.getLogger(__name__)

#: Target voxels sampled per chunk in the interpolating path (~50 MB of float64 coordinates).
_CHUNK_VOXELS = 2_000_000


def labels_onto_grid(labels: LabelMap, shape: Sequence[int], affine: np.ndarray) -> LabelMap:
    """``labels`` resampled (nearest neighbour) onto the grid ``shape``/``affine``.

    Returns a new :class:`LabelMap` (never a view of the input) with the target affine
    and the same names; voxels outside the source grid get 0.
    """
    shape = tuple(int(s) for s in shape)
    affine = np.asarray(affine, dtype=float)
    if len(shape) != 3 or affine.shape != (4, 4):
        raise ValueError(f"need a 3D shape and a 4x4 affine, got {shape} and {affine.shape}")
    exact = exact_onto_grid(labels.array, labels.affine, shape, affine)
    if exact is not None:
        log.debug("labels '%s' placed onto the grid exactly (no interpolation)", labels.name)
        array = exact
    else:
        log.debug("labels '%s' resampled nearest-neighbour onto %s", labels.name, shape)
        array = _nearest(labels.array, labels.affine, shape, affine)
    return LabelMap(
        array=array, affine=affine.copy(), names=dict(labels.names), name=labels.name, source=labels.source
    )


def exact_onto_grid(
    array: np.ndarray,
    affine: np.ndarray,
    shape: Sequence[int],
    target_affine: np.ndarray,
    tolerance_mm: float = 1e-3,
) -> np.ndarray | None:
    """``array`` moved onto the target grid by transpose/flip/shift only, or None.

    None means the grids do not share voxel centres (different spacing, rotation or a
    sub-voxel offset), so interpolation would be needed. The result is a new C-contiguous
    array of the target shape; voxels the source does not cover are 0.
    """
    shape = tuple(int(s) for s in shape)
    # target index -> source index
    mapping = np.linalg.inv(np.asarray(affine, dtype=float)) @ np.asarray(target_affine, dtype=float)
    linear, offset = mapping[:3, :3], mapping[:3, 3]
    rounded = np.rint(linear)
    spacing = max(min(geometry.spacing_of(affine)), 1e-9)
    if not np.allclose(linear, rounded, atol=tolerance_mm / spacing / max(shape + (1,))):
        return None
    if not np.all(np.abs(rounded).sum(axis=0) == 1) or not np.all(np.abs(rounded).sum(axis=1) == 1):
        return None
    if not np.allclose(offset, np.rint(offset), atol=tolerance_mm / spacing):
        return None
    shift = np.rint(offset).astype(int)
    # source axis s = src_axis[t] runs along target axis t, with sign[t]
    src_axis = [int(np.flatnonzero(rounded[:, t])[0]) for t in range(3)]
    sign = [int(rounded[src_axis[t], t]) for t in range(3)]
    out = np.zeros(shape, dtype=array.dtype)
    src_slices: list[slice] = []
    dst_slices: list[slice] = []
    for t in range(3):
        n_src = array.shape[src_axis[t]]
        # source index along this axis for target index j: i = sign * j + shift
        j = np.arange(shape[t])
        i = sign[t] * j + shift[src_axis[t]]
        inside = np.flatnonzero((i >= 0) & (i < n_src))
        if inside.size == 0:
            log.debug("source grid does not overlap the target grid")
            return out
        j0, j1 = int(inside[0]), int(inside[-1])
        i0, i1 = int(i[j0]), int(i[j1])
        dst_slices.append(slice(j0, j1 + 1))
        src_slices.append(slice(i0, i1 + 1) if sign[t] > 0 else slice(i0, i1 - 1 if i1 > 0 else None, -1))
    moved = np.transpose(array, src_axis)
    out[tuple(dst_slices)] = moved[tuple(src_slices)]
    return out


def _nearest(array: np.ndarray, affine: np.ndarray, shape: tuple[int, ...], target_affine: np.ndarray) -> np.ndarray:
    """Nearest-neighbour sampling of ``array`` at the target voxel centres, chunked along z."""
    from scipy import ndimage

    mapping = np.linalg.inv(np.asarray(affine, dtype=float)) @ np.asarray(target_affine, dtype=float)
    out = np.zeros(shape, dtype=array.dtype)
    nz, ny, nx = shape
    step = max(1, _CHUNK_VOXELS // max(1, ny * nx))
    yy, xx = np.meshgrid(np.arange(ny, dtype=float), np.arange(nx, dtype=float), indexing="ij")
    limits = np.asarray(array.shape, dtype=float)
    for z0 in range(0, nz, step):
        z1 = min(nz, z0 + step)
        zz = np.arange(z0, z1, dtype=float)[:, None, None]
        index = np.stack(np.broadcast_arrays(zz, yy[None], xx[None]))  # (3, chunk, ny, nx) target
        coords = np.tensordot(mapping[:3, :3], index, axes=1) + mapping[:3, 3][:, None, None, None]
        # a target centre belongs to a source voxel when it lies within half a voxel of one
        inside = np.all((coords >= -0.5) & (coords < limits[:, None, None, None] - 0.5), axis=0)
        sampled = ndimage.map_coordinates(array, coords, order=0, mode="nearest", output=array.dtype)
        sampled[~inside] = 0
        out[z0:z1] = sampled
    return out
