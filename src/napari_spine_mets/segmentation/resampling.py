"""Resampling between a scan's grid and the network's working grid (isotropic mm).

The network sees every scan at one spacing, whatever the scanner produced (0.5–3 mm),
so what it learned about vertebra size carries over. Images go through trilinear
interpolation, label maps through nearest neighbour, probabilities back through trilinear.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["working_shape", "resample_image", "resample_labels", "resample_probabilities", "normalise_ct"]


def working_shape(shape: Sequence[int], spacing: Sequence[float], target_spacing: float) -> tuple[int, int, int]:
    return tuple(max(1, int(round(s * sp / target_spacing))) for s, sp in zip(shape, spacing))  # type: ignore[return-value]


def resample_image(array: np.ndarray | torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """Trilinear resampling of a (z, y, x) image to ``shape`` (float32)."""
    data = torch.as_tensor(np.asarray(array, dtype=np.float32) if isinstance(array, np.ndarray) else array).float()
    if tuple(data.shape) == tuple(shape):
        return data
    return torch.nn.functional.interpolate(data[None, None], size=tuple(shape), mode="trilinear", align_corners=False)[0, 0]


def resample_labels(array: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Nearest-neighbour resampling of a label map to ``shape``."""
    if tuple(array.shape) == tuple(shape):
        return array
    data = torch.as_tensor(array.astype(np.int16))[None, None].float()
    out = torch.nn.functional.interpolate(data, size=tuple(shape), mode="nearest-exact")[0, 0]
    return out.to(torch.int16).numpy().astype(array.dtype)


def resample_probabilities(probabilities: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """Trilinear resampling of (classes, z, y, x) probabilities to ``shape``."""
    if tuple(probabilities.shape[1:]) == tuple(shape):
        return probabilities
    return torch.nn.functional.interpolate(probabilities[None], size=tuple(shape), mode="trilinear", align_corners=False)[0]


def normalise_ct(hu: torch.Tensor) -> torch.Tensor:
    """HU to the network's input range: air -1, water 0, dense cortex about +1.5."""
    return (hu.clamp(-1000.0, 2000.0) / 1000.0).float()
