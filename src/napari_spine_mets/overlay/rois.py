"""The case's drawn ROIs as outlines in napari world mm, for a case reopened without its ROI layer.

A :class:`~napari_spine_mets.case_parts.Roi` keeps its outline as LPS (x, y, z) polygons;
napari's world is LPS reversed (z, y, x), so each vertex is simply reversed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..case_parts import Roi

__all__ = ["RoiOutline", "roi_outlines"]


@dataclass(frozen=True)
class RoiOutline:
    """One polygon of one ROI, ready for a napari Shapes layer."""

    roi_id: int
    level: str | None
    kind: str
    origin: str
    vertices_world: np.ndarray
    text: str


def roi_outlines(rois: Iterable[Roi]) -> list[RoiOutline]:
    """Every polygon with at least three vertices, in world (z, y, x) mm, with a short label."""
    out = []
    for roi in rois:
        mean = roi.measurements.get("hu_mean")
        text = (roi.level or "?") + (f": {float(mean):.0f} HU" if isinstance(mean, (int, float)) else "")
        for polygon in roi.polygons:
            vertices = np.asarray(polygon.vertices_mm, dtype=float).reshape(-1, 3)
            if len(vertices) >= 3:
                out.append(RoiOutline(roi_id=roi.id, level=roi.level, kind=getattr(roi.kind, "value", str(roi.kind)),
                                      origin=getattr(roi.origin, "value", str(roi.origin)),
                                      vertices_world=vertices[:, ::-1].copy(), text=text))
    return out
