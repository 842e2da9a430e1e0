"""Neighbour gray levels of every ROI voxel (26 per distance), shared by GLDM and NGTDM.

Only ROI voxels are gathered -- (N, K) with N ROI voxels and K neighbours -- from a
zero-padded copy, so the work scales with the ROI, not with its bounding box.
"""

from __future__ import annotations

from typing import Any

from .texture import directions

__all__ = ["roi_neighbours"]


def roi_neighbours(q: Any, distances: list[int]) -> tuple[Any, Any]:
    """(gray level of each ROI voxel (N,), its neighbours' gray levels (N, K), 0 = outside)."""
    import torch

    steps = directions(tuple(q.shape), distances, both=True)
    r = max(max(abs(c) for c in s) for s in steps)
    padded = torch.nn.functional.pad(q, (r, r, r, r, r, r)).reshape(-1)
    zp, yp, xp = (n + 2 * r for n in q.shape)
    coords = torch.nonzero(q > 0) + r
    centre = (coords[:, 0] * yp + coords[:, 1]) * xp + coords[:, 2]
    offsets = torch.tensor([(dz * yp + dy) * xp + dx for dz, dy, dx in steps], device=q.device)
    return padded[centre], padded[centre[:, None] + offsets[None, :]]
