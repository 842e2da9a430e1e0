"""The neighbour directions of the texture classes, in pyradiomics' order.

Which ROI voxels pair up along them is worked out once per ROI in ``plan.py``.
"""

from __future__ import annotations

import itertools

__all__ = ["directions"]


def directions(shape: tuple[int, ...], distances: list[int] | tuple[int, ...] = (1,), both: bool = False) -> list[tuple[int, int, int]]:
    """The 13 (or 26 with ``both``) 3D directions times each distance.

    As pyradiomics' ``generate_angles``, an axis of size 1 is not a moving axis, so
    directions that move along it are left out (a single-slice ROI has 4 directions).
    """
    moving = [n > 1 for n in shape]
    out: list[tuple[int, int, int]] = []
    for d in sorted({int(v) for v in distances}):
        for step in itertools.product((-1, 0, 1), repeat=3):
            if step == (0, 0, 0):
                continue
            if any(s != 0 and not m for s, m in zip(step, moving)):
                continue
            if not both and step < (0, 0, 0):  # keep one of each +-pair
                continue
            out.append((step[0] * d, step[1] * d, step[2] * d))
    return out
