"""Left-right comparison inside each vertebra: its midsagittal plane, mirror voxels, asymmetry.

Normal anatomy is nearly left-right symmetric, so dense *normal* bone (facets, pedicle
bases, costovertebral joints) is matched by its mirror image while a one-sided deposit is
not. The plane of a label starts at the median column (x) of its trabecular core (array
axis 2 runs from the patient's right to left) and is then moved, in half-voxel steps, to
where the bone is most symmetric (``_most_symmetric``): a median column is rounded to a
whole or half voxel, and half a voxel off mirrors every thin dense plate (fused sacral
endplates) onto the marrow beside it, which reads as one-sided dense bone. Assumes the
spine is not rotated much about its long axis (scoliosis breaks it; see docs/lesions.md).
"""

from __future__ import annotations

import numpy as np

from .bone_grid import BoneGrid

__all__ = ["midlines", "mirror_overlap", "mirror_difference"]


#: Half-voxel steps either side of the core's median column tried for the plane.
_SEARCH_STEPS = 3
#: At most this many of a label's voxels are compared per trial plane (evenly spread).
_SAMPLE = 20000


def midlines(grid: BoneGrid, core_mm: float = 3.0, voxels: dict | None = None) -> dict[int, float]:
    """Per label, the column (x) of its midsagittal plane (see the module docstring).

    ``voxels``: ``ndimage.value_indices(grid.labels, ignore_value=0)`` when the caller has it.
    """
    from scipy import ndimage

    core = ndimage.value_indices(grid.labels * (grid.depth_mm >= core_mm), ignore_value=0)
    if voxels is None:
        voxels = ndimage.value_indices(grid.labels, ignore_value=0)
    return {int(label): _most_symmetric(grid, int(label), voxels[label], float(np.median(idx[2])))
            for label, idx in core.items()}


def _most_symmetric(grid: BoneGrid, label: int, voxels: tuple[np.ndarray, ...], start: float) -> float:
    """The column near ``start`` (half-voxel steps) where the label's smoothed HU best matches
    its mirror image: least mean |difference| over voxels whose mirror is in the label (a mean,
    not a median: the plates that a wrong plane mismatches are a minority of the voxels)."""
    step = max(1, voxels[0].size // _SAMPLE)
    z, y, x = (v[::step] for v in voxels)
    nx = grid.labels.shape[2]
    best, best_cost = start, np.inf
    for k in range(-_SEARCH_STEPS, _SEARCH_STEPS + 1):
        centre = start + 0.5 * k
        xm = np.rint(2.0 * centre - x).astype(np.intp)
        ok = (xm >= 0) & (xm < nx)
        ok[ok] = grid.labels[z[ok], y[ok], xm[ok]] == label
        if ok.sum() < 0.5 * x.size:
            continue
        cost = float(np.mean(np.abs(grid.smoothed[z[ok], y[ok], x[ok]] - grid.smoothed[z[ok], y[ok], xm[ok]])))
        if cost < best_cost - 1e-6 or (abs(cost - best_cost) <= 1e-6 and abs(k) < abs(2 * (best - start))):
            best, best_cost = centre, cost
    return best


def mirror_overlap(mask: np.ndarray, box: tuple[slice, slice, slice], centre: float) -> float:
    """Fraction of ``mask`` (within ``box``) whose mirror voxel across column ``centre`` is also in it."""
    z, y, x = np.nonzero(mask)
    xm = np.rint(2.0 * centre - (x + box[2].start)).astype(np.intp) - box[2].start
    inside = (xm >= 0) & (xm < mask.shape[2])
    return float(mask[z[inside], y[inside], xm[inside]].sum()) / max(len(x), 1)


def mirror_difference(grid: BoneGrid, core_mm: float = 3.0, mid: dict[int, float] | None = None) -> np.ndarray:
    """Smoothed HU minus that of the mirror voxel across each label's midsagittal plane.

    The plane is ``mid`` (from :func:`midlines`, computed here when not given); NaN where
    the mirror voxel lies outside the label. Normal anatomy is nearly left-right symmetric,
    so dense *normal* bone (facets, processes) cancels while a one-sided sclerotic deposit
    stands out. Assumes the spine is not rotated much about its long axis.
    """
    from scipy import ndimage

    out = np.full(grid.labels.shape, np.nan, dtype=np.float32)
    nx = grid.labels.shape[2]
    voxels = ndimage.value_indices(grid.labels, ignore_value=0)
    if mid is None:
        mid = midlines(grid, core_mm, voxels)
    for label, (z, y, x) in voxels.items():
        if label not in mid:
            continue
        centre = mid[label]
        xm = np.rint(2.0 * centre - x).astype(np.intp)
        ok = (xm >= 0) & (xm < nx)
        z, y, x, xm = z[ok], y[ok], x[ok], xm[ok]
        same = grid.labels[z, y, xm] == label
        z, y, x, xm = z[same], y[same], x[same], xm[same]
        out[z, y, x] = grid.smoothed[z, y, x] - grid.smoothed[z, y, xm]
    return out
