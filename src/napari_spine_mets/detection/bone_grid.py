"""The bone the detector works in: vertebra/sacrum labels, HU, smoothed HU and depth, cropped.

Everything is cropped to the bounding box of the bone labels (plus a margin) so that a
whole thoracolumbar CT costs only its spine. Smoothing is a *normalised* Gaussian
convolution restricted to bone (sum of HU x bone / sum of bone), so that the soft tissue,
discs and canal around a vertebra do not pull the HU of its outer voxels down (which
would look lytic). ``depth_mm`` is each bone voxel's distance to the surface of its own
label, used to keep the cortical shell out of the search for blastic bone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..volume import LabelMap, Volume

__all__ = ["BoneGrid", "prepare_bone_grid", "SMOOTHING_SIGMA_MM"]

#: Gaussian smoothing before thresholding (project heuristic: about the in-plane size of
#: one or two voxels, so noise falls well below lesion contrast while a 5 mm lesion survives).
SMOOTHING_SIGMA_MM = 1.0
#: Margin around the bone's bounding box (voxels), so filters see the bone's surroundings.
_MARGIN = 3


@dataclass
class BoneGrid:
    """Cropped arrays, all (z, y, x) on the CT's grid inside ``box``."""

    box: tuple[slice, slice, slice]
    labels: np.ndarray  # bone label ids (vertebrae, sacrum), 0 elsewhere
    hu: np.ndarray  # float32 HU
    smoothed: np.ndarray  # float32, normalised Gaussian within bone (NaN outside bone)
    depth_mm: np.ndarray  # float32 distance to the label's surface (0 outside bone)
    spacing: tuple[float, float, float]
    sigma_mm: float

    @property
    def voxel_mm3(self) -> float:
        return float(np.prod(self.spacing))

    def full(self, cropped: np.ndarray, shape: tuple[int, ...], dtype: type = np.int32) -> np.ndarray:
        """``cropped`` put back into an array of the whole volume's ``shape``."""
        out = np.zeros(shape, dtype=dtype)
        out[self.box] = cropped
        return out


def _surface_depth(labels: np.ndarray, spacing: tuple[float, float, float]) -> np.ndarray:
    """Distance (mm) from each bone voxel to the nearest voxel of another label (or none)."""
    from scipy import ndimage

    inner = labels > 0
    for axis in range(3):
        for shift in (1, -1):
            neighbour = np.roll(labels, shift, axis=axis)
            edge = [slice(None)] * 3
            edge[axis] = 0 if shift == 1 else -1
            neighbour[tuple(edge)] = 0  # no wrap-around
            inner &= neighbour == labels
    return ndimage.distance_transform_edt(inner, sampling=spacing).astype(np.float32)


def prepare_bone_grid(volume: Volume, vertebrae: LabelMap, bone_labels: list[int],
                      sigma_mm: float = SMOOTHING_SIGMA_MM) -> BoneGrid:
    """Crop to the bone, smooth within bone and measure depth (see the module docstring)."""
    from scipy import ndimage

    bone_full = np.isin(vertebrae.array, bone_labels)
    coords = [np.nonzero(bone_full.any(axis=tuple(a for a in range(3) if a != axis)))[0] for axis in range(3)]
    box = tuple(slice(max(int(c[0]) - _MARGIN, 0), min(int(c[-1]) + 1 + _MARGIN, n))
                for c, n in zip(coords, vertebrae.array.shape))
    bone = bone_full[box]
    labels = np.where(bone, vertebrae.array[box], 0).astype(np.int16)
    hu = volume.array[box].astype(np.float32)
    spacing = volume.spacing
    sigma = [sigma_mm / s for s in spacing]
    weight = ndimage.gaussian_filter(bone.astype(np.float32), sigma, mode="nearest", truncate=3.0)
    total = ndimage.gaussian_filter(np.where(bone, hu, 0.0).astype(np.float32), sigma, mode="nearest", truncate=3.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        smoothed = np.where(bone, total / np.maximum(weight, 1e-6), np.nan).astype(np.float32)
    return BoneGrid(box=box, labels=labels, hu=hu, smoothed=smoothed, depth_mm=_surface_depth(labels, spacing),
                    spacing=spacing, sigma_mm=float(sigma_mm))
