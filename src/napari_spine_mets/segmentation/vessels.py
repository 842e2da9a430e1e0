"""Contrast-filled vessels beside the spine: blood that is as dense as marrow.

On a contrast-enhanced CT (most staging CTs) the aorta's lumen reads 150-300 HU, the
density of trabecular bone. Where it lies against a vertebral body, and a calcified
aortic wall closes the ring, the refinement would take the lumen for marrow and grow the
vertebra into the aorta. Blood differs from marrow in texture: trabecular bone is
uneven at the scale of a few mm (its local SD is 35-90 HU on the real series), a vessel's
lumen is even (below ``_MAX_SD_HU``). A large even region mostly outside the network's
body class is a vessel (or an enhancing organ), never marrow.

``uniform_instances`` is the same question asked of whole vertebrae: a "vertebra" whose
voxels are all of one density is a contrast-filled vessel or a phantom's insert that the
network took for one (a phantom with a 300 HU tube and no spine got a 85 cm³ "vertebra").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["blood_pool", "uniform_instances"]

_SCALE_MM = 1.5  # in-plane Gaussian over which mean and SD are taken
_MIN_HU, _MAX_HU = 100.0, 450.0  # enhanced blood (and marrow) lie here
_MAX_SD_HU = 30.0  # a lumen's local SD; trabecular bone's is higher
_MIN_VOLUME_MM3 = 500.0  # a vessel segment, not a patch of even marrow
_MAX_BODY_FRACTION = 0.3  # of the region inside the network's body class
#: The lumen's rim (blood beside the wall or the body's cortex) is uneven, so it is not
#: found as even: blood extends this far in-plane from what was found, where not denser
#: than ``_RIM_MAX_HU`` (which keeps a touching cortex out).
_RIM_MM = 3.0
_RIM_MAX_HU = 350.0
#: A vertebra's 95th minus 25th HU percentile (cortex against marrow): 393-866 on the scan's
#: grid, 446-858 on the 2 mm working grid where it is now asked (synthetic cases and the
#: real series); an even lumen's is its noise.
_MIN_SPREAD_HU = 150.0
#: An even instance denser than this is an ivory (diffusely sclerotic) vertebra: it stays.
_MAX_EVEN_MEDIAN_HU = 700.0


def blood_pool(hu: np.ndarray, spacing: Sequence[float], network_body: np.ndarray) -> np.ndarray:
    """Voxels of large, even, marrow-dense regions that lie mostly outside ``network_body``,
    and their rim.

    ``network_body`` is the network's body class on the same grid: a fatty or
    osteoporotic body can be even too, and it is the body, so a region mostly inside the
    body class is never called blood.
    """
    from scipy import ndimage

    # a lumen is many mm across: every other in-plane voxel of a fine scan is enough (4x less work)
    step = 2 if min(spacing[1:]) < 1.0 else 1
    image = np.asarray(hu[:, ::step, ::step], dtype=np.float32)
    body = network_body[:, ::step, ::step]
    coarse = (float(spacing[0]), float(spacing[1]) * step, float(spacing[2]) * step)
    # thick slices: at most one slice either way, so an even lumen is not blurred into bone
    sigma = [min(_SCALE_MM / coarse[0], 0.75)] + [_SCALE_MM / s for s in coarse[1:]]
    mean = ndimage.gaussian_filter(image, sigma)
    variance = ndimage.gaussian_filter(image * image, sigma) - mean * mean
    even = (mean >= _MIN_HU) & (mean <= _MAX_HU) & (variance < _MAX_SD_HU**2)
    regions, n = ndimage.label(even)
    vessel = np.zeros(n + 1, dtype=bool)
    if n:
        index = np.arange(1, n + 1)
        voxels = np.bincount(regions.ravel(), minlength=n + 1)[1:].astype(np.float64)
        in_body = np.asarray(ndimage.sum(body, regions, index=index), dtype=np.float64)
        vessel[1:] = (voxels * float(np.prod(coarse)) >= _MIN_VOLUME_MM3) & (in_body < _MAX_BODY_FRACTION * voxels)
    found = vessel[regions]
    if found.any():
        in_plane = np.zeros((3, 3, 3), dtype=bool)
        in_plane[1] = ndimage.generate_binary_structure(2, 1)
        rim_steps = max(1, int(round(_RIM_MM / min(coarse[1:]))))
        found |= ndimage.binary_dilation(found, in_plane, iterations=rim_steps) & (mean < _RIM_MAX_HU)
    if step > 1:
        found = found.repeat(step, axis=1).repeat(step, axis=2)[:, : hu.shape[1], : hu.shape[2]]
    return found


def uniform_instances(hu: np.ndarray, labels: np.ndarray) -> list[int]:
    """Ids of the instances in ``labels`` whose HU are all of one density and not ivory-dense.

    Bone has cortex denser than its marrow, whatever the disease: a lytic vertebra keeps
    cortex around its hole, an osteoporotic one dense endplates. Only an even instance
    below ``_MAX_EVEN_MEDIAN_HU`` is refused, so a diffusely sclerotic vertebra is kept.
    """
    from scipy import ndimage

    even = []
    for instance, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        values = hu[box][labels[box] == instance]
        if values.size == 0:
            continue
        p25, p50, p95 = np.percentile(values, (25, 50, 95))
        if p95 - p25 < _MIN_SPREAD_HU and p50 < _MAX_EVEN_MEDIAN_HU:
            even.append(instance)
    return even
