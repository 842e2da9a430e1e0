"""Contrast-filled vessels beside the spine: blood that is as dense as marrow.

On a contrast-enhanced CT (most staging CTs) the aorta's lumen reads 150-300 HU, the
density of trabecular bone. Where it lies against a vertebral body, and a calcified
aortic wall closes the ring, the refinement would take the lumen for marrow and grow the
vertebra into the aorta. Blood differs from marrow in texture: trabecular bone is
uneven at the scale of a few mm (its local SD is 35-90 HU on the real series), a vessel's
lumen is even (below ``_MAX_SD_HU``). A large even region mostly outside the network's
body class is a vessel (or an enhancing organ), never marrow.

A calcified aortic wall hugs the lumen, as dense as cortex, and on the real series the
network's coarse bone class ran over it: ``vessel_wall`` is the thin band around the blood
pool that is the vessel's wall, never vertebra.

``uniform_instances`` is the same question asked of whole vertebrae: a "vertebra" whose
voxels are all of one density is a contrast-filled vessel or a phantom's insert that the
network took for one (a phantom with a 300 HU tube and no spine got a 85 cm³ "vertebra").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..morphology import IN_PLANE, ball, dilate

__all__ = ["blood_pool", "vessel_wall", "uniform_instances"]

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
#: In-plane reach (mm) of the wall around the blood pool (which already holds the lumen's
#: 3 mm rim). Real series: the plaque the vertebrae took lay 1-3.5 mm from it (median 2),
#: the true vertebra 8 mm and more (5th percentile).
_WALL_MM = 2.5
#: ...except within this much (mm, in-plane) of a body's interior (the network's body class one
#: coarse voxel in): that is the body's own cortex. Real series: 8 of 78 vertebra voxels in the
#: band lie further out, 559 of 751 plaque voxels; synthetic seed 200002 (aorta against T10-L1):
#: 412 of 4587 vertebra voxels.
_BODY_SHELL_MM = 3.0
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
        rim_steps = max(1, int(round(_RIM_MM / min(coarse[1:]))))
        found |= ndimage.binary_dilation(found, IN_PLANE, iterations=rim_steps) & (mean < _RIM_MAX_HU)
    if step > 1:
        found = found.repeat(step, axis=1).repeat(step, axis=2)[:, : hu.shape[1], : hu.shape[2]]
    return found


def vessel_wall(blood: np.ndarray, spacing: Sequence[float], body_core: np.ndarray) -> np.ndarray:
    """The in-plane band within ``_WALL_MM`` around ``blood`` (itself excluded), except within
    ``_BODY_SHELL_MM`` of ``body_core`` (the network's body interior): the vessel's wall.

    In-plane only: the aorta runs along the column, and its wall lies around it in each slice.
    Where the aorta lies against a body, that body's own cortex is within a few mm of its
    interior and stays bone; the plaque on the far side of the lumen does not.
    """
    from scipy import ndimage

    wall = np.zeros(blood.shape, dtype=bool)
    found = ndimage.find_objects(blood.astype(np.uint8))
    if not found or found[0] is None:
        return wall
    # the band's reach, and the shell's beyond it: a body just outside the band still guards it
    reach = [int(np.ceil(_WALL_MM / float(s))) + int(np.ceil(_BODY_SHELL_MM / float(s))) for s in spacing[1:]]
    box = (found[0][0],) + tuple(slice(max(b.start - r, 0), min(b.stop + r, n))
                                 for b, r, n in zip(found[0][1:], reach, blood.shape[1:]))
    inside = blood[box]
    band = dilate(inside, ball(_WALL_MM, spacing[1:])[None]) & ~inside
    shell = dilate(body_core[box], ball(_BODY_SHELL_MM, spacing[1:])[None])  # in-plane disks
    wall[box] = band & ~shell
    return wall


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
