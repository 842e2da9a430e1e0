"""The classes the segmentation network predicts, and how ground truth maps onto them.

The network labels *parts*, not levels: levels are named afterwards by counting vertebral
bodies from an anchor (``labelling``), which keeps the network small and lets the user
correct a level by shifting names rather than repainting.
"""

from __future__ import annotations

import numpy as np

from ..anatomy import TOTALSEG_SACRUM, VertebraPart

__all__ = ["CLASS_NAMES", "N_CLASSES", "SACRUM_CLASS", "target_from_truth", "BONE_CLASSES"]

#: Network output channels.
CLASS_NAMES: dict[int, str] = {
    0: "background",
    1: "vertebral body",
    2: "posterior elements",
    3: "pedicle left",
    4: "pedicle right",
    5: "spinal canal",
    6: "intervertebral disc",
    7: "sacrum (below S1)",
}
N_CLASSES = len(CLASS_NAMES)
SACRUM_CLASS = 7
#: Classes that belong to a vertebra's bone.
BONE_CLASSES = (1, 2, 3, 4)


def target_from_truth(parts: np.ndarray, vertebrae: np.ndarray) -> np.ndarray:
    """Network target from the synthetic ground truth (parts codes + TotalSegmentator ids)."""
    target = np.zeros(parts.shape, dtype=np.uint8)
    for code, cls in (
        (VertebraPart.BODY, 1),
        (VertebraPart.POSTERIOR_ELEMENTS, 2),
        (VertebraPart.PEDICLE_LEFT, 3),
        (VertebraPart.PEDICLE_RIGHT, 4),
        (VertebraPart.CANAL, 5),
        (VertebraPart.CORD, 5),
        (VertebraPart.DISC, 6),
    ):
        target[parts == int(code)] = cls
    target[vertebrae == TOTALSEG_SACRUM] = SACRUM_CLASS
    return target
