"""The sacrum on the scan's grid: its own bone, and S1 meeting it on the fused endplates.

The network draws the sacrum below S1 as its own class on its coarse (2 mm) grid, so its
edge is blocky and the boundary between the S1 vertebra and the sacrum can land a few
millimetres off the bone's own junction: the dense plate of S1's inferior and S2's
superior endplates, fused in the adult. Cortex left inside either label lies deep below
that label's surface, where the lesion detector expects trabecular bone, and reads as a
large sclerotic lesion (it did on the sample case: 45 cm³ "blastic" over the sacrum).

``sacrum_bone`` keeps the sacrum to the scan's bone, as ``refine`` does for each vertebra:
the bone (marrow filled) within one coarse voxel of the network's sacrum, plus the
network's sacral interior whatever its density (a lytic deposit is not bone-dense).
``part_s1_from_sacrum`` then lets the image say where the plate is: S1 and the sacrum are
flooded from their interiors (the parts well away from the network's boundary) through
their marrow first, denser bone last, so that the two meet on the plate between them,
whichever side of it the network put its boundary.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..morphology import dilate

__all__ = ["sacrum_bone", "part_s1_from_sacrum", "INTERIOR_MM"]

#: Voxels this far from the network's S1/sacrum boundary are certainly on their own side
#: (the network's boundary is off by a few mm; S1's body is ~30 mm tall, S2's ~24 mm).
INTERIOR_MM = 6.0
#: The sacrum's contact with a vertebra must be this large to be the S1 junction (mm²).
_MIN_CONTACT_MM2 = 100.0


def sacrum_bone(network_sacrum: np.ndarray, bone: np.ndarray, gather_to_fine: Callable[[np.ndarray], np.ndarray]
                ) -> np.ndarray:
    """The sacrum on the fine grid: fine ``bone`` near the coarse ``network_sacrum``, and its interior.

    ``gather_to_fine`` carries a coarse mask to the fine grid (nearest neighbour).
    """
    from scipy import ndimage

    if not network_sacrum.any():
        return gather_to_fine(network_sacrum)
    near = gather_to_fine(ndimage.binary_dilation(network_sacrum))
    interior = gather_to_fine(ndimage.binary_erosion(network_sacrum))
    return (near & bone) | interior


def _resting_on_sacrum(labels: np.ndarray, sacrum: np.ndarray, spacing: Sequence[float]) -> int:
    """The vertebra whose bone touches the sacrum most (0: none touches it enough)."""
    from scipy import ndimage

    rim = dilate(sacrum, ndimage.generate_binary_structure(3, 1)) & ~sacrum & (labels > 0)
    if not rim.any():
        return 0
    counts = np.bincount(labels[rim].ravel())
    best = int(np.argmax(counts))
    contact_mm2 = counts[best] * float(np.prod(spacing)) / float(min(spacing))
    return best if contact_mm2 >= _MIN_CONTACT_MM2 else 0


def part_s1_from_sacrum(labels: np.ndarray, sacrum: np.ndarray, smooth: np.ndarray,
                        spacing: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """(vertebra labels, sacrum mask) with S1 and the sacrum meeting on their fused endplates.

    ``labels``: vertebra instances on the fine grid; ``sacrum``: the sacrum's bone there (``sacrum_bone``);
    ``smooth``: lightly smoothed HU. Only the vertebra resting on the sacrum and the sacrum
    change; everything else is returned as it was.
    """
    from scipy import ndimage
    from skimage.segmentation import watershed

    from .refine import marrow_first

    s1 = _resting_on_sacrum(labels, sacrum, spacing)
    if s1 == 0:
        return labels, sacrum
    both = (labels == s1) | sacrum
    box = ndimage.find_objects(both.astype(np.uint8))[0]
    own, sac = labels[box] == s1, sacrum[box]
    region = own | sac
    from_sacrum = ndimage.distance_transform_edt(~sac, sampling=spacing)
    from_s1 = ndimage.distance_transform_edt(~own, sampling=spacing)
    markers = np.zeros(own.shape, dtype=np.int8)
    markers[own & (from_sacrum > INTERIOR_MM)] = 1
    markers[sac & (from_s1 > INTERIOR_MM)] = 2
    if not (markers == 1).any() or not (markers == 2).any():
        return labels, sacrum
    flooded = watershed(marrow_first(smooth[box]), markers=markers, mask=region)
    out_labels, out_sacrum = labels.copy(), sacrum.copy()
    sub_labels, sub_sacrum = out_labels[box], out_sacrum[box]
    sub_labels[flooded == 1] = s1
    sub_labels[flooded == 2] = 0
    sub_sacrum[flooded == 1] = False
    sub_sacrum[flooded == 2] = True
    return out_labels, out_sacrum
