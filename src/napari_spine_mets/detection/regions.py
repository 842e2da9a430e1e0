"""Parts of each vertebra on the detector's cropped grid: body, left and right posterolateral bone.

With a parts map (:class:`~napari_spine_mets.anatomy.VertebraPart`) the body is ``BODY``;
without one it is derived from the whole-vertebra label by
:func:`~napari_spine_mets.measure.vertebral_body.find_vertebral_body`. The rest of the
vertebra is the posterior arch; its *posterolateral* part on each side (pedicle, facets,
transverse process, costovertebral joint: what SINS counts) is the arch more than
``midline_mm`` (5 mm, project heuristic) to that side of the midsagittal plane, so the
spinous process and the laminae's midline do not count for a side. Array axis 2 runs from
the patient's right to left (see :mod:`napari_spine_mets.io.geometry`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from ..anatomy import VertebraPart, level_of_label
from ..volume import LabelMap
from .bone_grid import BoneGrid

__all__ = ["VertebraRegions", "vertebra_regions", "MIDLINE_MM"]

log = logging.getLogger(__name__)

MIDLINE_MM = 5.0


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


def _body_mask(grid: BoneGrid, vertebrae: LabelMap, cropped: LabelMap, parts: LabelMap | None, label: int,
               level: str) -> tuple[np.ndarray | None, str, bool, list[str]]:
    from ..measure.vertebral_body import NoBodyError, find_vertebral_body

    own = grid.labels == label
    if parts is not None:
        body = own & (parts.array[grid.box] == int(VertebraPart.BODY))
        return (body if body.any() else None), "parts map: voxels coded BODY", False, []
    try:
        vb = find_vertebral_body(cropped, level)
    except NoBodyError as exc:
        return None, "", False, [str(exc)]
    body = np.zeros(own.shape, dtype=bool)
    y0, y1, x0, x1 = vb.box_yx
    for k, mask in enumerate(vb.masks):
        body[vb.z_first + k, y0:y1, x0:x1] = mask
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
