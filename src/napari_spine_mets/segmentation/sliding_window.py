"""Sliding-window inference with overlap blending, progress and cancellation.

Volumes are larger than what fits through the network at once (memory, and the network
was trained on patches): overlapping patches are predicted and blended with a Gaussian
weight that trusts patch centres more than borders, which removes seams. Progress is
reported per patch and a cancel callback is checked between patches, so the napari
widget can show a bar and a cancel button.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import numpy as np
import torch

from ..errors import OperationCancelled

__all__ = ["InferenceCancelled", "patch_starts", "fitted_patch", "gaussian_weight", "sliding_window_predict"]


class InferenceCancelled(OperationCancelled):
    """The user cancelled; nothing was written anywhere."""


def patch_starts(size: int, patch: int, overlap: float) -> list[int]:
    """Start indices covering ``size`` with patches of ``patch`` overlapping by about ``overlap``."""
    if size <= patch:
        return [0]
    step = max(1, int(round(patch * (1.0 - overlap))))
    starts = list(range(0, size - patch + 1, step))
    if starts[-1] != size - patch:
        starts.append(size - patch)
    return starts


def fitted_patch(shape: Sequence[int], patch: Sequence[int], divisor: int, stretch: float = 1.5) -> tuple[int, ...]:
    """The patch to infer with: along an axis the volume barely exceeds (up to ``stretch``
    times the trained patch), one patch as long as the volume (rounded up to ``divisor``)
    instead of two that overlap mostly.

    A spine crop is about 80 working voxels wide against a 64-voxel patch: two patches
    across it computed 48 voxels twice. The network is fully convolutional, so a longer
    patch gives the same kind of prediction (its instance norm sees a somewhat larger
    region); the accuracy benchmark measured it (docs/segmentation.md)."""
    fitted = []
    for size, trained in zip(shape, patch):
        if trained < size <= stretch * trained:
            fitted.append(-(-int(size) // divisor) * divisor)
        else:
            fitted.append(int(trained))
    return tuple(fitted)


def gaussian_weight(patch: Sequence[int], sigma_fraction: float = 0.125) -> torch.Tensor:
    """Blending weight: a Gaussian centred on the patch, never zero at the border."""
    axes = []
    for size in patch:
        coords = torch.arange(size, dtype=torch.float32) - (size - 1) / 2.0
        sigma = max(size * sigma_fraction, 1e-3)
        axes.append(torch.exp(-0.5 * (coords / sigma) ** 2))
    weight = axes[0][:, None, None] * axes[1][None, :, None] * axes[2][None, None, :]
    weight = weight / weight.max()
    return weight.clamp_min(1e-3)


def sliding_window_predict(
    model: torch.nn.Module,
    volume: np.ndarray | torch.Tensor,
    patch_size: Sequence[int],
    *,
    n_classes: int,
    overlap: float = 0.5,
    batch_size: int = 1,
    device: torch.device | None = None,
    precision: torch.dtype | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> torch.Tensor:
    """Class probabilities (n_classes, z, y, x) on the CPU for a normalised ``volume`` (z, y, x).

    The volume is padded up to at least one patch. ``precision``: the dtype the model runs
    in under ``torch.autocast`` (:func:`..devices.resolve_precision`); by default float16
    on CUDA and float32 elsewhere.
    """
    device = device or next(model.parameters()).device
    if precision is None:
        precision = torch.float16 if device.type == "cuda" else torch.float32
    amp = precision != torch.float32
    data = torch.as_tensor(np.ascontiguousarray(volume) if isinstance(volume, np.ndarray) else volume)
    data = data.to(torch.float32)
    original = tuple(int(s) for s in data.shape)
    pads = [max(0, int(p) - s) for p, s in zip(patch_size, original)]
    if any(pads):
        padding = (0, pads[2], 0, pads[1], 0, pads[0])
        data = torch.nn.functional.pad(data[None, None], padding, mode="replicate")[0, 0]
    shape = tuple(int(s) for s in data.shape)
    starts = [patch_starts(s, int(p), overlap) for s, p in zip(shape, patch_size)]
    corners = list(itertools.product(*starts))
    weight = gaussian_weight(patch_size)
    accumulated = torch.zeros((n_classes, *shape), dtype=torch.float32)
    norm = torch.zeros(shape, dtype=torch.float32)
    model.eval()
    done = 0
    with torch.inference_mode():
        for first in range(0, len(corners), batch_size):
            if cancel is not None and cancel():
                raise InferenceCancelled("segmentation cancelled by the user")
            batch_corners = corners[first : first + batch_size]
            patches = torch.stack(
                [data[z : z + patch_size[0], y : y + patch_size[1], x : x + patch_size[2]] for z, y, x in batch_corners]
            )[:, None].to(device)
            with torch.autocast(device_type=device.type, dtype=precision if amp else torch.float16, enabled=amp):
                logits = model(patches)
            probabilities = torch.softmax(logits.float(), dim=1).cpu()
            for (z, y, x), prob in zip(batch_corners, probabilities):
                region = (slice(z, z + patch_size[0]), slice(y, y + patch_size[1]), slice(x, x + patch_size[2]))
                accumulated[(slice(None), *region)] += prob * weight
                norm[region] += weight
            done += len(batch_corners)
            if progress is not None:
                progress(done, len(corners))
    result = accumulated / norm
    return result[:, : original[0], : original[1], : original[2]]
