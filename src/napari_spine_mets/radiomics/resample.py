"""Resampling to a new (e.g. isotropic) spacing, as pyradiomics' ``resampleImage`` does.

Only the ROI's box plus ``pad_distance`` voxels is resampled, on a grid aligned to the
input origin; the image with B-spline (or linear/nearest), the mask with nearest
neighbour. Uses SimpleITK (CPU) so the interpolated values are pyradiomics' own.
"""

from __future__ import annotations

import logging

import numpy as np

from .errors import RadiomicsError
from .settings import RadiomicsSettings

__all__ = ["resample_roi"]

logger = logging.getLogger(__name__)

_INTERP = {"bspline": "sitkBSpline", "linear": "sitkLinear", "nearest": "sitkNearestNeighbor"}


def resample_roi(image: np.ndarray, roi: np.ndarray, spacing: tuple[float, float, float], settings: RadiomicsSettings) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
    """(image, roi, spacing) on the new grid; axes with target 0 (or a 1-voxel ROI extent) keep theirs."""
    try:
        import SimpleITK as sitk
    except ImportError as exc:
        raise RadiomicsError("resampling needs SimpleITK (pip install SimpleITK)") from exc
    assert settings.resampled_spacing is not None
    old = np.array(spacing[::-1], dtype=float)  # x, y, z as SimpleITK
    new = np.array(settings.resampled_spacing[::-1], dtype=float)
    new = np.where(new == 0, old, new)
    nz = np.argwhere(roi)
    lo = nz.min(0)[::-1]
    size_bb = (nz.max(0) - nz.min(0) + 1)[::-1]
    new = np.where(size_bb != 1, new, old)
    if np.allclose(old, new):
        # pyradiomics then only crops to the box plus pad_distance (filters see that crop)
        from .preprocess import bounding_box, crop

        box = bounding_box(roi)
        return crop(image, box, settings.pad_distance), crop(roi, box, settings.pad_distance), spacing
    ratio = old / new
    size = np.array(roi.shape[::-1])
    pad = settings.pad_distance
    new_lo = np.floor((lo - 0.5) * ratio - pad)
    new_hi = np.ceil((lo + size_bb - 0.5) * ratio + pad)
    max_hi = np.ceil(size * ratio) - 1
    new_lo = np.where(new_lo < 0, 0, new_lo)
    new_hi = np.where(new_hi > max_hi, max_hi, new_hi)
    new_size = np.array(new_hi - new_lo + 1, dtype=int).tolist()
    origin_index = 0.5 * (new - old) / old + new_lo / ratio
    img = sitk.GetImageFromArray(np.ascontiguousarray(image))
    img.SetSpacing(tuple(old))
    msk = sitk.GetImageFromArray(roi.astype(np.uint8))
    msk.SetSpacing(tuple(old))
    origin = msk.TransformContinuousIndexToPhysicalPoint(origin_index.tolist())
    rif = sitk.ResampleImageFilter()
    rif.SetOutputSpacing(tuple(new))
    rif.SetOutputDirection(msk.GetDirection())
    rif.SetSize(new_size)
    rif.SetOutputOrigin(origin)
    rif.SetOutputPixelType(img.GetPixelID())
    rif.SetInterpolator(getattr(sitk, _INTERP[settings.interpolator]))
    out_img = sitk.GetArrayFromImage(rif.Execute(img))
    rif.SetOutputPixelType(msk.GetPixelID())
    rif.SetInterpolator(sitk.sitkNearestNeighbor)
    out_roi = sitk.GetArrayFromImage(rif.Execute(msk)).astype(bool)
    logger.info("resampled from spacing %s to %s (box size %s)", old.tolist(), new.tolist(), new_size)
    return out_img, out_roi, tuple(float(s) for s in new[::-1])
