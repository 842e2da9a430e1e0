"""Where each labelled vertebra is: voxel count, volume, centroid and extent in napari world mm.

Computed once per label map and reused by the metrics (volumes for lesion burden) and the
text labels (anchors). World coordinates are napari's: patient LPS reversed, (S, P, L) in
mm (:mod:`napari_spine_mets.io.geometry`), so they line up with every layer placed with
the grid's ``scale``/``translate``.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np

from ..anatomy import LEVELS, TOTALSEG_VERTEBRA_IDS, level_of_label
from ..io.geometry import world_from_index
from ..volume import LabelMap

__all__ = ["VertebraGeometry", "vertebra_geometry", "world_of_index", "median_values"]


@dataclass(frozen=True)
class VertebraGeometry:
    """One labelled vertebra: its id and level, size, centroid and bounding box."""

    label_id: int
    level: str
    n_voxels: int
    volume_mm3: float
    #: Centroid of the vertebra's voxels in napari world coordinates (z, y, x) mm.
    centroid_world: tuple[float, float, float]
    #: Bounding box (voxel edges included) in world mm: lowest and highest (z, y, x).
    lo_world: tuple[float, float, float]
    hi_world: tuple[float, float, float]
    #: The same box as index slices into the label array (for voxel counts inside it).
    bbox: tuple[slice, slice, slice]


def world_of_index(affine: np.ndarray, index_zyx: np.ndarray) -> np.ndarray:
    """napari world (z, y, x) mm of voxel indices ``(..., 3)``: the LPS position reversed."""
    return world_from_index(affine, index_zyx)[..., ::-1]


def vertebra_geometry(labels: LabelMap) -> dict[int, VertebraGeometry]:
    """Geometry of every vertebra id (TotalSegmentator levels) present, cranial to caudal.

    Other ids (sacrum, cord, anything unnamed) are left out: they have no level to show.
    """
    from scipy import ndimage

    array = np.asarray(labels.array)
    boxes = ndimage.find_objects(array, max_label=max(TOTALSEG_VERTEBRA_IDS.values()))
    ids = [i + 1 for i, box in enumerate(boxes) if box is not None and level_of_label(i + 1)]
    voxel_mm3 = float(abs(np.linalg.det(np.asarray(labels.affine, dtype=float)[:3, :3])))
    out: dict[int, VertebraGeometry] = {}
    for label_id in sorted(ids, key=lambda i: LEVELS.index(level_of_label(i))):
        box = boxes[label_id - 1]
        mask = array[box] == label_id
        idx = np.column_stack(np.nonzero(mask)).astype(float) + [s.start for s in box]
        centroid = world_of_index(labels.affine, idx.mean(axis=0))
        corners = np.array([[lo, hi] for lo, hi in ((s.start - 0.5, s.stop - 0.5) for s in box)])
        corner_points = np.array(list(product(*corners)))
        world_corners = world_of_index(labels.affine, corner_points)
        out[label_id] = VertebraGeometry(
            label_id=label_id,
            level=level_of_label(label_id) or "",
            n_voxels=int(len(idx)),
            volume_mm3=float(len(idx) * voxel_mm3),
            centroid_world=tuple(float(v) for v in centroid),  # type: ignore[arg-type]
            lo_world=tuple(float(v) for v in world_corners.min(axis=0)),  # type: ignore[arg-type]
            hi_world=tuple(float(v) for v in world_corners.max(axis=0)),  # type: ignore[arg-type]
            bbox=box,
        )
    return out



def median_values(image: np.ndarray, labels: LabelMap, geometry: dict[int, VertebraGeometry]) -> dict[int, float]:
    """Median image value (HU on CT) inside each vertebra: what a label's text is drawn over.

    ``image`` must lie on the labels' grid (same shape); vertebrae without voxels are left out.
    """
    image = np.asarray(image)
    if image.shape != labels.array.shape:
        raise ValueError(f"image {image.shape} and labels {labels.array.shape} are not on one grid")
    out: dict[int, float] = {}
    for label_id, geo in geometry.items():
        mask = np.asarray(labels.array[geo.bbox]) == label_id
        if mask.any():
            out[label_id] = float(np.median(image[geo.bbox][mask]))
    return out
