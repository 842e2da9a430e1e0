"""The bone the detector works in: vertebra/sacrum labels, HU, smoothed HU and depth, cropped.

Everything is cropped to the bounding box of the bone labels (plus a margin) so that a
whole thoracolumbar CT costs only its spine. Smoothing is a *normalised* Gaussian
convolution restricted to bone (sum of HU x bone / sum of bone), so that the soft tissue,
discs and canal around a vertebra do not pull the HU of its outer voxels down (which
would look lytic). ``depth_mm`` is each bone voxel's distance to the surface of its own
label, used to keep the cortical shell out of the search for blastic bone.

A second, coarser smoothing (``coarse``, sigma 2 mm) is kept for large deposits of low
contrast: averaging over more voxels lowers the noise about twofold, so a large lytic
deposit in the pale bone of an old patient (lytic tissue ~80 HU below the bone) stands out
at the coarse scale when it does not at the fine one (scale-space detection). It averages
the medulla only (bone at least ``MEDULLA_MM`` under the surface; NaN elsewhere): at 2 mm
the cortex would otherwise leak in by an amount that depends on the local shape of the bone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..volume import LabelMap, Volume

__all__ = ["BoneGrid", "prepare_bone_grid", "SMOOTHING_SIGMA_MM", "COARSE_SIGMA_MM", "MEDULLA_MM"]

#: Gaussian smoothing before thresholding (project heuristic: about the in-plane size of
#: one or two voxels, so noise falls well below lesion contrast while a 5 mm lesion survives).
SMOOTHING_SIGMA_MM = 1.0
#: The coarse scale (project heuristic: twice the fine one; a 5 mm lesion is not found at it alone).
COARSE_SIGMA_MM = 2.0
#: The coarse smoothing averages bone this deep only (the cortical shell of :mod:`.normal_bone`).
MEDULLA_MM = 1.5
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
    #: Normalised smoothing of the medulla at ``coarse_sigma_mm`` (NaN elsewhere); None when not computed.
    coarse: np.ndarray | None = None
    coarse_sigma_mm: float | None = None

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
    # per label, in its own bounding box: exact (a label's inner voxels are enclosed by its own
    # surface voxels) and much cheaper than one transform over the whole crop of a curved spine
    depth = np.zeros(labels.shape, dtype=np.float32)
    for label, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        own = labels[box] == label
        distance = ndimage.distance_transform_edt(inner[box] & own, sampling=spacing)
        depth[box][own] = distance[own]
    return depth


def _smooth_within(masked_hu: np.ndarray, weight: np.ndarray, bone: np.ndarray, spacing: tuple[float, float, float],
                   sigma_mm: float) -> np.ndarray:
    """Gaussian of HU (0 outside bone) over the Gaussian of the bone mask: bone-only smoothing, NaN outside bone."""
    from scipy import ndimage

    sigma = [sigma_mm / s for s in spacing]
    norm = ndimage.gaussian_filter(weight, sigma, mode="nearest", truncate=3.0)
    out = ndimage.gaussian_filter(masked_hu, sigma, mode="nearest", truncate=3.0)
    np.maximum(norm, np.float32(1e-6), out=norm)
    out /= norm
    out[~bone] = np.nan
    return out


def prepare_bone_grid(volume: Volume, vertebrae: LabelMap, bone_labels: list[int],
                      sigma_mm: float = SMOOTHING_SIGMA_MM,
                      coarse_sigma_mm: float | None = COARSE_SIGMA_MM) -> BoneGrid:
    """Crop to the bone, smooth within bone (fine and coarse) and measure depth (see the module docstring)."""
    lookup = np.zeros(max(int(vertebrae.array.max()), max(bone_labels)) + 1, dtype=bool)
    lookup[list(bone_labels)] = True
    bone_full = lookup[vertebrae.array]
    coords = [np.nonzero(bone_full.any(axis=tuple(a for a in range(3) if a != axis)))[0] for axis in range(3)]
    box = tuple(slice(max(int(c[0]) - _MARGIN, 0), min(int(c[-1]) + 1 + _MARGIN, n))
                for c, n in zip(coords, vertebrae.array.shape))
    bone = bone_full[box]
    labels = np.where(bone, vertebrae.array[box], 0).astype(np.int16)
    hu = volume.array[box].astype(np.float32)
    spacing = volume.spacing
    weight = bone.astype(np.float32)
    smoothed = _smooth_within(hu * weight, weight, bone, spacing, sigma_mm)
    depth = _surface_depth(labels, spacing)
    coarse = None
    if coarse_sigma_mm:
        medulla = depth >= MEDULLA_MM
        weight = medulla.astype(np.float32)
        coarse = _smooth_within(hu * weight, weight, medulla, spacing, coarse_sigma_mm)
    return BoneGrid(box=box, labels=labels, hu=hu, smoothed=smoothed, depth_mm=depth,
                    spacing=spacing, sigma_mm=float(sigma_mm), coarse=coarse,
                    coarse_sigma_mm=float(coarse_sigma_mm) if coarse_sigma_mm else None)
