"""Preparing ROIs for the engine and grouping those that can share filter passes.

Filtering (LoG, wavelet) is the one step whose cost grows with the image rather than the
ROI. ROIs laid on the same image array share it: a group gets one filter pass per image
type over the union of its members' boxes, and each member takes its own voxels from it.
ROIs are grouped only where that changes no value: same image object and spacing, no
resampling (which makes a new image per ROI) and no ROI-dependent normalisation. Far-apart
ROIs of one image are kept in separate groups when one union box would cost more than
their own boxes (greedy, by the padded volume each filter pass touches).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import RadiomicsError
from .filters import LOG_MARGIN_SIGMAS
from .preprocess import bounding_box, check_inputs, crop, normalize_image
from .settings import RadiomicsSettings

__all__ = ["PreparedRoi", "Group", "prepare_roi", "group_rois", "tag_error"]

logger = logging.getLogger(__name__)

_WAVELET_MARGIN = 3  # coif1 needs 2 samples before and 3 after each voxel


@dataclass
class PreparedRoi:
    """One checked ROI: its (normalised, resampled) image, box, cropped mask and voxel list."""

    index: int
    image: np.ndarray
    spacing: tuple[float, float, float]
    box: list[tuple[int, int]]
    roi_c: np.ndarray  # bool, cropped to ``box``
    points: np.ndarray  # (N, 3) voxel indices in ``image``, C order (as ``roi_c`` nonzero)
    share_key: tuple[Any, ...] | None  # equal keys: same image values, may share filter passes
    source: Any = None  # the caller's image object, held so its id stays unique
    tag: bool = False  # name the ROI's position in errors (batches)

    def tagged(self, exc: Exception) -> Exception:
        """``exc`` re-made with 'ROI #k: ' in front when this ROI is part of a batch."""
        return tag_error(self.index, exc) if self.tag else exc


def tag_error(index: int, exc: Exception) -> Exception:
    """The same kind of error, its message starting 'ROI #index: ' (which item of a batch failed)."""
    problem = getattr(exc, "problem", None)  # InputError puts the path in front itself
    try:
        return type(exc)(f"ROI #{index}: {problem if problem else exc}")
    except TypeError:  # an error type with another signature: keep the message, lose the type
        return RadiomicsError(f"ROI #{index}: {exc}")


@dataclass
class Group:
    """ROIs that share filter passes: the image, the union box and everyone's voxels."""

    image: np.ndarray
    spacing: tuple[float, float, float]
    rois: list[PreparedRoi]
    box: list[tuple[int, int]] = field(default_factory=list)
    points: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.int64))
    slices: list[tuple[int, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.box = [(min(r.box[a][0] for r in self.rois), max(r.box[a][1] for r in self.rois)) for a in range(3)]
        self.points = np.concatenate([r.points for r in self.rois])
        ends = np.cumsum([len(r.points) for r in self.rois])
        self.slices = [(int(e - len(r.points)), int(e)) for r, e in zip(self.rois, ends)]


def prepare_roi(index: int, image: np.ndarray, mask: np.ndarray, spacing: Any, settings: RadiomicsSettings, cache: dict[Any, np.ndarray] | None = None, tag: bool = False) -> PreparedRoi:
    """Check, normalise and resample one ROI (pyradiomics' order) and list its voxels."""
    source = image
    image, roi, sp = check_inputs(image, mask, spacing, settings.label)
    shareable = settings.resampled_spacing is None and settings.normalize in (None, "zscore_image")
    key = (id(source), image.shape, sp, settings.normalize) if shareable else None
    if settings.normalize is not None:
        if key is not None and cache is not None and key in cache:
            image = cache[key]  # whole-image z-score: the same for every ROI of this image
        else:
            image = normalize_image(image, roi, settings)
            if key is not None and cache is not None:
                cache[key] = image
    if settings.resampled_spacing is not None:
        from .resample import resample_roi

        image, roi, sp = resample_roi(image, roi, sp, settings)
        if roi.sum() < 2:
            raise RadiomicsError("after resampling the ROI has fewer than 2 voxels")
    box = bounding_box(roi)
    roi_c = crop(roi, box)
    points = np.argwhere(roi_c) + np.array([lo for lo, _ in box])
    return PreparedRoi(index, image, sp, box, roi_c, points, key, source, tag)


def _padded_volume(box: list[tuple[int, int]], margin: np.ndarray, shape: tuple[int, ...]) -> int:
    return int(np.prod([min(hi + m, n) - max(lo - m, 0) for (lo, hi), m, n in zip(box, margin, shape)]))


def _union(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return [(min(x[0], y[0]), max(x[1], y[1])) for x, y in zip(a, b)]


def group_rois(rois: list[PreparedRoi], settings: RadiomicsSettings) -> list[Group]:
    """Groups of ROIs that share filter passes (a lone ROI is a group of one)."""
    buckets: dict[Any, list[PreparedRoi]] = {}
    groups: list[Group] = []
    for roi in rois:
        if roi.share_key is None:
            groups.append(Group(roi.image, roi.spacing, [roi]))
        else:
            buckets.setdefault(roi.share_key, []).append(roi)
    sigma = max((float(s) for s in settings.log_sigma), default=0.0)
    for members in buckets.values():
        image, sp = members[0].image, members[0].spacing
        margin = np.ceil(LOG_MARGIN_SIGMAS * sigma / np.array(sp)).astype(int) if sigma else np.full(3, _WAVELET_MARGIN)
        clusters: list[tuple[list[tuple[int, int]], list[PreparedRoi]]] = []
        for roi in sorted(members, key=lambda r: r.box):
            for k, (box, group_rois_) in enumerate(clusters):
                merged = _union(box, roi.box)
                if _padded_volume(merged, margin, image.shape) <= _padded_volume(box, margin, image.shape) + _padded_volume(roi.box, margin, image.shape):
                    clusters[k] = (merged, group_rois_ + [roi])
                    break
            else:
                clusters.append((roi.box, [roi]))
        for _, group_members in clusters:
            groups.append(Group(image, sp, sorted(group_members, key=lambda r: r.index)))
    if len(groups) < len(rois):
        logger.debug("%d ROIs share filter passes in %d group(s)", len(rois), len(groups))
    return groups
