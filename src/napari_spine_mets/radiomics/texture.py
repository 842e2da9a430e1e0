"""Shared helpers of the texture classes: neighbour directions and neighbour pairs in torch.

Gray-level arrays here are int64 tensors with 0 outside the ROI and 1..Ng inside, so
"in the ROI" is ``q > 0`` and out-of-bounds neighbours are simply not paired.
"""

from __future__ import annotations

import itertools
from typing import Any

__all__ = ["directions", "neighbour_pairs", "nanmean_angles"]


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


def _slices(n: int, d: int) -> tuple[slice, slice]:
    if d >= 0:
        return slice(0, max(n - d, 0)), slice(d, n)
    return slice(-d, n), slice(0, max(n + d, 0))


def neighbour_pairs(q: Any, step: tuple[int, int, int]) -> tuple[Any, Any]:
    """Flattened (value at v, value at v+step) for every v with v+step inside the array."""
    src, dst = zip(*(_slices(n, d) for n, d in zip(q.shape, step)))
    return q[src].reshape(-1), q[dst].reshape(-1)


def nanmean_angles(values: Any) -> Any:
    """Mean over the last axis ignoring NaN (numpy.nanmean); NaN only if all are NaN."""
    import torch

    return torch.nanmean(values, dim=-1)
