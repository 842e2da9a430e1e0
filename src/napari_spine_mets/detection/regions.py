"""Parts of each vertebra on the detector's cropped grid: body, left and right posterolateral bone.

With a parts map (:class:`~napari_spine_mets.anatomy.VertebraPart`) the body is ``BODY``;
without one it is derived from the whole-vertebra label by
:func:`~napari_spine_mets.measure.vertebral_body.find_vertebral_body`. The rest of the
vertebra is the posterior arch; its *posterolateral* part on each side (pedicle, facets,
transverse process, costovertebral joint: what SINS counts) is the arch more than
``midline_mm`` (5 mm, project heuristic) to that side of the midsagittal plane, so the
spinous process and the laminae's midline do not count for a side. Array axis 2 runs from
the patient's right to left (see :mod:`napari_spine_mets.io.geometry`).

On scans with pixels of 0.65 mm or finer the body finder runs on every second (third...)
row and column (pixels of at most 1.3 mm) and its outline is put back on the fine grid (:func:`body_finder_step`):
its per-slice 12 mm opening is what made this step the slowest of the detector.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from ..anatomy import VertebraPart, level_of_label
from ..volume import LabelMap
from .bone_grid import BoneGrid

__all__ = ["VertebraRegions", "vertebra_regions", "body_finder_step", "MIDLINE_MM", "BODY_FINDER_PIXEL_MM"]

log = logging.getLogger(__name__)

MIDLINE_MM = 5.0
#: Largest pixel (mm) the body finder is given by striding a finer scan (see :func:`body_finder_step`;
#: project heuristic: about the pixel of a routine abdominal CT).
BODY_FINDER_PIXEL_MM = 1.3


@dataclass
class VertebraRegions:
    """Masks (cropped grid) of one level; ``body`` is None when no body could be found."""

    label: int
    level: str
    body: np.ndarray | None
    left: np.ndarray
    right: np.ndarray
    midline_x: float
    body_method: str = ""
    body_truncated: bool = False
    notes: list[str] = field(default_factory=list)


def body_finder_step(spacing: tuple[float, float, float]) -> int:
    """In-plane stride for the body finder: the largest whose pixels stay within ``BODY_FINDER_PIXEL_MM``.

    The finder opens every slice with a 12 mm disc; at 0.6 mm pixels that is a 300-pixel
    element on 4 times the pixels of a 1.2 mm grid, about 16 times the work, for a body
    outline that the 6 mm opening has already rounded. The coarse outline is put back on the
    fine grid and cut to the vertebra's own voxels. Pixels of 0.66 mm or more are not strided.
    """
    return max(1, int(BODY_FINDER_PIXEL_MM / max(spacing[1], spacing[2])))


def _strided(labels: LabelMap, step: int) -> LabelMap:
    """Every ``step``-th row and column of ``labels``, with the affine that keeps it in place."""
    scale = np.diag([1.0, float(step), float(step), 1.0])
    return LabelMap(array=labels.array[:, ::step, ::step], affine=labels.affine @ scale, name=labels.name)


def _body_mask(grid: BoneGrid, vertebrae: LabelMap, cropped: LabelMap, parts: LabelMap | None, label: int,
               level: str) -> tuple[np.ndarray | None, str, bool, list[str]]:
    from ..measure.vertebral_body import NoBodyError, find_vertebral_body

    own = grid.labels == label
    if parts is not None:
        body = own & (parts.array[grid.box] == int(VertebraPart.BODY))
        return (body if body.any() else None), "parts map: voxels coded BODY", False, []
    step = body_finder_step(grid.spacing)
    try:
        vb = find_vertebral_body(cropped if step == 1 else _strided(cropped, step), level)
    except NoBodyError as exc:
        return None, "", False, [str(exc)]
    shape = (own.shape[0], -(-own.shape[1] // step), -(-own.shape[2] // step))
    body = np.zeros(shape, dtype=bool)
    y0, y1, x0, x1 = vb.box_yx
    for k, mask in enumerate(vb.masks):
        body[vb.z_first + k, y0:y1, x0:x1] = mask
    if step > 1:  # back to the fine grid: each coarse pixel covers step x step fine ones
        body = body.repeat(step, axis=1).repeat(step, axis=2)[:, :own.shape[1], :own.shape[2]]
    body &= own
    # the crop has a margin, so a body reaching its first/last slice reaches the scan's
    truncated = (vb.truncated_inferior and grid.box[0].start == 0) or \
        (vb.truncated_superior and grid.box[0].stop == vertebrae.array.shape[0])
    return body, vb.method, bool(truncated), list(vb.notes)


def vertebra_regions(grid: BoneGrid, vertebrae: LabelMap, parts: LabelMap | None = None,
                     midline_mm: float = MIDLINE_MM) -> dict[int, VertebraRegions]:
    """Regions of every vertebra (not the sacrum, which has no body/arch split here)."""
    out: dict[int, VertebraRegions] = {}
    shift = np.eye(4)
    shift[:3, 3] = [s.start for s in grid.box]
    cropped = LabelMap(array=grid.labels, affine=vertebrae.affine @ shift, name=vertebrae.name)
    for label in (int(v) for v in np.unique(grid.labels) if v):
        level = level_of_label(label)
        if level is None:
            continue
        own = grid.labels == label
        body, method, truncated, notes = _body_mask(grid, vertebrae, cropped, parts, label, level)
        reference = body if body is not None and body.any() else own
        midline = float(np.nonzero(reference)[2].mean())
        arch = own & ~body if body is not None else own
        x = np.arange(own.shape[2], dtype=np.float32)[None, None, :]
        offset = midline_mm / grid.spacing[2]
        if parts is not None:
            p = parts.array[grid.box]
            left = own & ((p == int(VertebraPart.PEDICLE_LEFT)) | (arch & (x > midline + offset)))
            right = own & ((p == int(VertebraPart.PEDICLE_RIGHT)) | (arch & (x < midline - offset)))
        else:
            left = arch & (x > midline + offset)
            right = arch & (x < midline - offset)
        out[label] = VertebraRegions(label, level, body, left, right, midline, method, truncated, notes)
    return out
