"""Input checks, cropping, intensity normalisation and gray-level discretisation.

Discretisation follows pyradiomics exactly (``imageoperations.getBinEdges``/``binImage``):
fixed bin width puts edges at multiples of the width from 0 (floor of the ROI minimum),
fixed bin count uses ``numpy.histogram`` edges with the top edge raised by 1. The bin
edges are computed with numpy on the ROI values in their own dtype, as pyradiomics does,
so float32 filter outputs bin identically.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import RadiomicsGeometryError, RadiomicsInputError
from .settings import RadiomicsSettings

__all__ = ["Roi", "check_inputs", "bounding_box", "crop", "normalize_image", "bin_edges", "discretize"]

logger = logging.getLogger(__name__)


@dataclass
class Roi:
    """An ROI ready for feature classes: image and boolean mask cropped to the mask's box."""

    image: np.ndarray  # (z, y, x), the cropped (and filtered) intensities
    mask: np.ndarray  # bool, same shape
    spacing: tuple[float, float, float]  # (z, y, x) mm


def check_inputs(image: np.ndarray, mask: np.ndarray, spacing: Any, label: int) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
    """Validate shapes, spacing and ROI; returns (image, bool ROI mask, spacing)."""
    image = np.asarray(image)
    mask = np.asarray(mask)
    if image.ndim != 3:
        raise RadiomicsInputError(f"image must be 3D (z, y, x), got shape {image.shape}")
    if mask.shape != image.shape:
        raise RadiomicsGeometryError(
            f"mask shape {mask.shape} differs from image shape {image.shape}: image and mask must share one voxel "
            "grid (resample the mask onto the image first, or set correct_mask=True with geometry)"
        )
    spacing_t = tuple(float(s) for s in np.asarray(spacing, dtype=float).ravel())
    if len(spacing_t) != 3 or not all(np.isfinite(spacing_t)) or min(spacing_t) <= 0:
        raise RadiomicsInputError(f"spacing must be 3 positive values (z, y, x) mm, got {spacing!r}")
    if not (np.issubdtype(image.dtype, np.integer) or np.issubdtype(image.dtype, np.floating)):
        raise RadiomicsInputError(f"image dtype {image.dtype} is not numeric")
    roi = mask == label
    n = int(roi.sum())
    if n == 0:
        present = np.unique(mask)
        raise RadiomicsInputError(
            f"empty mask: no voxel has label {label} (labels present: {present[present != 0].tolist()[:20]})"
        )
    if n == 1:
        raise RadiomicsInputError("one-voxel mask: texture and shape features are undefined for a single voxel")
    box = bounding_box(roi)
    n_dims = sum((hi - lo) > 1 for lo, hi in box)
    if n_dims < 2:
        raise RadiomicsInputError(f"ROI is a line ({n} voxels along one axis): at least a 2D ROI is required")
    if np.issubdtype(image.dtype, np.floating):
        bad = ~np.isfinite(image[roi])
        if bad.any():
            raise RadiomicsInputError(f"image has {int(bad.sum())} NaN/inf voxel(s) inside the ROI")
    return image, roi, spacing_t  # type: ignore[return-value]


def bounding_box(roi: np.ndarray) -> list[tuple[int, int]]:
    """Half-open (lo, hi) per axis of the True voxels."""
    box = []
    for axis in range(roi.ndim):
        other = tuple(a for a in range(roi.ndim) if a != axis)
        idx = np.flatnonzero(roi.any(axis=other))
        box.append((int(idx[0]), int(idx[-1]) + 1))
    return box


def crop(array: np.ndarray, box: list[tuple[int, int]], pad: int = 0) -> np.ndarray:
    """Crop to ``box`` grown by ``pad`` voxels, clipped to the array (as pyradiomics' cropToTumorMask)."""
    sl = tuple(slice(max(lo - pad, 0), min(hi + pad, n)) for (lo, hi), n in zip(box, array.shape))
    return array[sl]


def normalize_image(image: np.ndarray, roi: np.ndarray, settings: RadiomicsSettings) -> np.ndarray:
    """Intensity normalisation for MR (float64 out); ``None`` returns the image unchanged.

    - ``zscore_image``: pyradiomics' ``normalize`` (mean/SD of the whole image, population SD),
      then optional outlier clipping at +-``remove_outliers`` SD, then ``normalize_scale``.
    - ``zscore_roi``: the same with mean and SD taken inside the ROI only.
    - ``percentile``: map the ROI's [p_low, p_high] percentiles to [0, 1] (values outside are
      clipped), then ``normalize_scale``.
    """
    mode = settings.normalize
    if mode is None:
        return image
    data = image.astype(np.float64)
    if mode in ("zscore_image", "zscore_roi"):
        ref = data if mode == "zscore_image" else data[roi]
        sd = float(ref.std())
        if sd == 0:
            raise RadiomicsInputError(f"cannot z-score normalise ({mode}): the reference region is constant")
        out = (data - float(ref.mean())) / sd
        if settings.remove_outliers is not None:
            out = np.clip(out, -settings.remove_outliers, settings.remove_outliers)
    else:
        lo, hi = np.percentile(data[roi], settings.normalize_percentiles)
        if hi <= lo:
            raise RadiomicsInputError("cannot percentile-normalise: the ROI percentiles are equal (constant ROI)")
        out = np.clip((data - lo) / (hi - lo), 0.0, 1.0)
    return out * settings.normalize_scale


def bin_edges(values: np.ndarray, settings: RadiomicsSettings) -> np.ndarray:
    """Bin edges as pyradiomics' ``getBinEdges`` (or IBSI's fixed bin size when asked)."""
    if settings.bin_count is not None:
        edges = np.histogram(values, int(settings.bin_count))[1]
        edges[-1] += 1
        return edges
    width = settings.bin_width
    width = int(width) if float(width).is_integer() else float(width)
    minimum = values.min()
    maximum = values.max()
    if settings.ibsi_discretization:
        # IBSI fixed bin size: edges start at the ROI minimum, not at a multiple of the width.
        edges = np.arange(minimum, maximum + 2 * width, width)
    else:
        low = minimum - (minimum % width)
        edges = np.arange(low, maximum + 2 * width, width)
    if len(edges) == 1:
        edges = np.array([edges[0] - 0.5, edges[0] + 0.5])
    return np.asarray(edges)


def discretize(values: np.ndarray, settings: RadiomicsSettings) -> np.ndarray:
    """int32 gray levels 1..Ng of the ROI intensities ``values`` (``numpy.digitize`` on the edges).

    int32 rather than int64 halves the memory traffic of the per-neighbour gathers and
    comparisons the texture classes do on these levels.
    """
    return np.digitize(values, bin_edges(values, settings)).astype(np.int32)
