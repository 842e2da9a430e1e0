"""Mask helpers shared across the package: structuring elements in millimetres (for scans
whose voxels are not cubes), and a mask's largest connected piece."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["ball", "largest_piece"]


def ball(radius_mm: float, spacing: Sequence[float]) -> np.ndarray:
    """The voxels within ``radius_mm`` of the centre on a grid of ``spacing`` (an ellipsoid in
    voxels): a dilation by it reaches the same distance along every axis."""
    half = [max(0, int(np.floor(radius_mm / s))) for s in spacing]
    grid = np.meshgrid(*[np.arange(-h, h + 1) * s for h, s in zip(half, spacing)], indexing="ij")
    return sum(g**2 for g in grid) <= radius_mm**2 + 1e-6


def largest_piece(mask: np.ndarray) -> np.ndarray:
    """The largest connected piece of ``mask`` (any dimension; faces connect): the structure
    itself without stray voxels of its label around it. The mask itself when it is one piece."""
    from scipy import ndimage

    pieces, count = ndimage.label(mask)
    if count <= 1:
        return mask
    return pieces == int(np.argmax(np.bincount(pieces.ravel())[1:])) + 1
